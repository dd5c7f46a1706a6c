/**
 * cri-o's systemd units (contrib/systemd/*.service, taken from the build) adapted to the package:
 * upstream writes ExecStart=/usr/local/bin/crio because `make install` defaults to PREFIX=/usr/local;
 * the package installs crio in /usr/bin, so every command path under /usr/local/bin in an Exec*=
 * line (continuation lines included) is rewritten to /usr/bin. Nothing else is changed.
 */

/** Debian's directory for units shipped by packages (bookworm: /lib, dpkg's view of merged /usr). */
export const SYSTEMD_UNIT_DIR = '/lib/systemd/system';
/** The main unit and its alias, as `systemctl enable` would create it from Alias=cri-o.service. */
export const CRIO_UNIT = 'crio.service';
export const CRIO_UNIT_ALIAS = 'cri-o.service';
/** Units a branch may have; crio.service is required. */
export const CRIO_UNITS = ['crio.service', 'crio-shutdown.service', 'crio-wipe.service'] as const;

/** Rewrites /usr/local/bin/ to `binDir`/ in Exec*= settings (and their continuation lines). */
export function rewriteUnitPaths(unit: string, binDir = '/usr/bin'): string {
  const lines = unit.split('\n');
  let inExec = false;
  return lines
    .map((line) => {
      const starts = /^\s*Exec[A-Za-z]*\s*=/.test(line);
      const out = starts || inExec ? line.replace(/\/usr\/local\/bin\//g, `${binDir}/`) : line;
      // A trailing backslash continues the setting on the next line.
      inExec = (starts || inExec) && /\\\s*$/.test(line);
      return out;
    })
    .join('\n');
}

/** The WantedBy= targets of a unit's [Install] section (what `systemctl enable` links it into). */
export function wantedBy(unit: string): string[] {
  const out: string[] = [];
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    const h = /^\[(.+)\]$/.exec(line);
    if (h) {
      section = h[1] as string;
      continue;
    }
    const m = /^WantedBy\s*=\s*(.*)$/.exec(line);
    if (section === 'Install' && m) out.push(...(m[1] as string).split(/\s+/).filter(Boolean));
  }
  return out;
}

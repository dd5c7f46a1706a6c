/**
 * CRI-O configuration the cri-o package adds on top of the crio.conf the built crio generated.
 *
 * Since cri-o/cri-o#3123 (main, January 2020, first released in 1.18.0) and its backport #3172 to
 * release-1.17 (merged 2020-01-31, after v1.17.0), crio reads every file in /etc/crio/crio.conf.d
 * after /etc/crio/crio.conf, in lexical order, a later file winning. So our settings live in small
 * drop-ins and crio.conf stays exactly as crio printed it; an administrator adds a later file
 * (99-local.conf) instead of editing ours. For older branches, which ignore the directory, the same
 * settings are also written into crio.conf itself.
 *
 * The settings (from the Raspberry Pi guide this project replaces):
 *   cgroup_manager = "systemd"   the kubelet must then use cgroupDriver: systemd
 *   conmon = "/usr/bin/conmon"   where our conmon package installs it; cri-o 1.18's default is
 *                                /usr/libexec/crio/conmon, which no package provides
 *   log_level = "info"
 *   pause_image = "<image>"      only when given at build time (--pause-image), for sites whose
 *                                default registry (k8s.gcr.io) is unreachable
 */

export const CRIO_CONF_PATH = '/etc/crio/crio.conf';
export const CRIO_DROPIN_DIR = '/etc/crio/crio.conf.d';
export const SETTINGS_DROPIN = '01-crio-build.conf';
export const PAUSE_IMAGE_DROPIN = '02-crio-build-pause-image.conf';
export const CONMON_PATH = '/usr/bin/conmon';

export interface CrioSettings {
  cgroupManager: 'systemd' | 'cgroupfs';
  conmon: string;
  logLevel: string;
  pauseImage?: string;
}

export function defaultSettings(pauseImage?: string): CrioSettings {
  return { cgroupManager: 'systemd', conmon: CONMON_PATH, logLevel: 'info', ...(pauseImage !== undefined ? { pauseImage } : {}) };
}

/** The TOML table each key lives in, in the cri-o 1.13 to 1.18 crio.conf layout. */
const DEFAULT_TABLE: Record<string, string> = {
  cgroup_manager: 'crio.runtime',
  conmon: 'crio.runtime',
  log_level: 'crio.runtime',
  pause_image: 'crio.image',
};

/** An image reference we are willing to put between TOML quotes: registry/name[:tag][@digest]. */
export function checkPauseImage(image: string): void {
  // Conservative: the characters of registry hosts, ports, repository paths, tags and digests,
  // and nothing that could end the TOML string or the line.
  const ok = image.length <= 255 && /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*[A-Za-z0-9]$/.test(image) && !image.includes('//') && !image.includes('..');
  if (!ok) throw new Error(`pause image "${image}" is not an image reference such as registry.example.org/pause:3.2`);
}

/** major.minor.patch at the start of an upstream version ("1.18.1+git2020..." -> [1, 18, 1]). */
export function versionTriple(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) throw new Error(`cri-o version "${version}" does not start with major.minor`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** Whether this cri-o reads /etc/crio/crio.conf.d (1.18 and later, 1.17.1 and later 1.17s). */
export function supportsDropIns(criOVersion: string): boolean {
  const [major, minor, patch] = versionTriple(criOVersion);
  if (major !== 1) return major > 1;
  return minor > 17 || (minor === 17 && patch >= 1);
}

const TABLE_HEADER = /^\s*\[([A-Za-z0-9_.\-"]+)\]\s*(#.*)?$/;

/** The table a key is set (or commented out) in, in a crio.conf text; the 1.18 layout when absent. */
export function tableOf(crioConf: string | undefined, key: string): string {
  if (crioConf !== undefined) {
    let table = '';
    const keyLine = new RegExp(`^\\s*#?\\s*${key}\\s*=`);
    for (const line of crioConf.split('\n')) {
      const h = TABLE_HEADER.exec(line);
      if (h) table = h[1] as string;
      else if (table && keyLine.test(line)) return table;
    }
  }
  const t = DEFAULT_TABLE[key];
  if (!t) throw new Error(`no known crio.conf table for ${key}`);
  return t;
}

function tomlString(s: string): string {
  if (/["\\\x00-\x1f\x7f]/.test(s)) throw new Error(`value ${JSON.stringify(s)} cannot go into crio.conf`);
  return `"${s}"`;
}

function keyValues(settings: CrioSettings): Array<[string, string, string]> {
  // [key, value, comment]
  return [
    ['cgroup_manager', settings.cgroupManager, 'The kubelet must use the same driver (cgroupDriver: systemd).'],
    ['conmon', settings.conmon, 'Installed there by the conmon package.'],
    ['log_level', settings.logLevel, ''],
  ];
}

function renderTables(entries: Array<[string, string, string]>, crioConf: string | undefined): string {
  const byTable = new Map<string, Array<[string, string, string]>>();
  for (const e of entries) {
    const t = tableOf(crioConf, e[0]);
    byTable.set(t, [...(byTable.get(t) ?? []), e]);
  }
  const out: string[] = [];
  for (const [table, list] of byTable) {
    out.push(`[${table}]`);
    for (const [k, v, comment] of list) {
      if (comment) out.push(`# ${comment}`);
      out.push(`${k} = ${tomlString(v)}`);
    }
    out.push('');
  }
  return out.join('\n');
}

const DROPIN_HEADER = `# Installed by the cri-o package (crio-build). CRI-O reads this directory after
# /etc/crio/crio.conf, file by file in lexical order; a later file wins. To change a
# setting, put it in a file that sorts later, e.g. /etc/crio/crio.conf.d/99-local.conf.
`;

/** [file name, content] of the drop-ins for /etc/crio/crio.conf.d. */
export function crioDropIns(settings: CrioSettings, crioConf?: string): Array<[string, string]> {
  const files: Array<[string, string]> = [[SETTINGS_DROPIN, `${DROPIN_HEADER}\n${renderTables(keyValues(settings), crioConf)}`]];
  if (settings.pauseImage !== undefined) {
    checkPauseImage(settings.pauseImage);
    const body = renderTables([['pause_image', settings.pauseImage, 'Set when these packages were built (crio-build --pause-image).']], crioConf);
    files.push([PAUSE_IMAGE_DROPIN, `${DROPIN_HEADER}\n${body}`]);
  }
  return files;
}

/**
 * Sets `key = "value"` in its table of a crio.conf text: replaces the first (possibly commented)
 * assignment in that table, else adds it below the table header, else appends the table.
 */
export function setCrioConfValue(crioConf: string, table: string, key: string, value: string): string {
  const lines = crioConf.split('\n');
  const assignment = `${key} = ${tomlString(value)}`;
  const keyLine = new RegExp(`^\\s*#?\\s*${key}\\s*=`);
  let current = '';
  let headerAt = -1;
  for (let i = 0; i < lines.length; i++) {
    const h = TABLE_HEADER.exec(lines[i] as string);
    if (h) {
      if (current === table && headerAt >= 0) break; // left the table without finding the key
      current = h[1] as string;
      if (current === table) headerAt = i;
      continue;
    }
    if (current === table && keyLine.test(lines[i] as string)) {
      lines[i] = assignment;
      return lines.join('\n');
    }
  }
  if (headerAt >= 0) {
    lines.splice(headerAt + 1, 0, assignment);
    return lines.join('\n');
  }
  const tail = crioConf.endsWith('\n') || crioConf === '' ? '' : '\n';
  return `${crioConf}${tail}\n[${table}]\n${assignment}\n`;
}

/** crio.conf with the settings written in, for branches without drop-in support. */
export function applySettingsToCrioConf(crioConf: string, settings: CrioSettings): string {
  let text = crioConf;
  const entries: Array<[string, string]> = keyValues(settings).map(([k, v]) => [k, v]);
  if (settings.pauseImage !== undefined) {
    checkPauseImage(settings.pauseImage);
    entries.push(['pause_image', settings.pauseImage]);
  }
  for (const [k, v] of entries) text = setCrioConfValue(text, tableOf(crioConf, k), k, v);
  return text;
}

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
 *   conmon = "/usr/libexec/crio/conmon"   where our cri-o-conmon package installs it (upstream's
 *                                `make install` path); cri-o 1.16 to 1.18 default to "", the first
 *                                conmon in PATH, which would be Debian's /usr/bin/conmon when podman
 *                                is installed: not the version this branch is tested with
 *   log_level = "info"
 *   registries = ["docker.io"]   (cri-o 1.13 to 1.20, which have the option) where unqualified
 *                                names such as "busybox" are looked up; Debian's
 *                                /etc/containers/registries.conf names no search registry, and
 *                                these crios do not read registries.conf.d
 *   pause_image = "<image>"      always: the branch's own pause tag on registry.k8s.io by default
 *                                (k8s.gcr.io, the default of cri-o up to 1.24, no longer serves new
 *                                pulls), or the site's own given at build time (--pause-image)
 */
export const CRIO_CONF_PATH = '/etc/crio/crio.conf';
export const CRIO_DROPIN_DIR = '/etc/crio/crio.conf.d';
export const SETTINGS_DROPIN = '01-crio-build.conf';
export const PAUSE_IMAGE_DROPIN = '02-crio-build-pause-image.conf';
/** Where the cri-o-conmon package installs conmon (definitions/conmon.ts says why not /usr/bin). */
export const CONMON_PATH = '/usr/libexec/crio/conmon';

export interface CrioSettings {
  cgroupManager: 'systemd' | 'cgroupfs';
  conmon: string;
  logLevel: string;
  /** Search registries for unqualified image names (crio.image.registries, cri-o 1.13 to 1.20). */
  registries?: string[];
  pauseImage?: string;
  /** Where pauseImage came from: the branch's default (moved to registry.k8s.io) or the site (--pause-image). */
  pauseImageFrom?: 'default' | 'site';
}

/** The settings without the per-branch parts (registries, default pause image): see crioSettings. */
export function defaultSettings(pauseImage?: string): CrioSettings {
  return { cgroupManager: 'systemd', conmon: CONMON_PATH, logLevel: 'info', ...(pauseImage !== undefined ? { pauseImage, pauseImageFrom: 'site' as const } : {}) };
}

/** Where unqualified image names are looked up when nothing else says (what Docker and the kubelet assume). */
export const DEFAULT_SEARCH_REGISTRIES = ['docker.io'];

/** The registry that replaced k8s.gcr.io (frozen since April 2023: no new pulls). */
export const PAUSE_REGISTRY = 'registry.k8s.io';

/**
 * Each branch's own default pause tag, as its crio sets it (cri-o/cri-o: release-1.13
 * lib/config.go:17 and release-1.17 pkg/config/config.go:32 "k8s.gcr.io/pause:3.1";
 * release-1.18 pkg/config/config.go:572 "k8s.gcr.io/pause:3.2"; main pkg/config/config_linux.go:24
 * "registry.k8s.io/pause:3.10.1"). Used when the generated crio.conf names none.
 */
export function branchPauseTag(criOVersion: string): string {
  const [major, minor] = versionTriple(criOVersion);
  if (major === 1 && minor <= 17) return '3.1';
  if (major === 1 && minor === 18) return '3.2';
  return '3.10.1';
}

/**
 * The default pause image: the one the built crio prints in its crio.conf, moved from k8s.gcr.io to
 * registry.k8s.io (same repository, same tag, same multi-arch manifest list), else the branch's
 * own tag on registry.k8s.io.
 */
export function defaultPauseImage(criOVersion: string, crioConf?: string): string {
  const m = crioConf === undefined ? null : /^[ \t]*pause_image[ \t]*=[ \t]*"([^"]+)"/m.exec(crioConf);
  const generated = m?.[1];
  if (generated) {
    const moved = generated.replace(/^k8s\.gcr\.io\//, `${PAUSE_REGISTRY}/`);
    checkPauseImage(moved);
    return moved;
  }
  return `${PAUSE_REGISTRY}/pause:${branchPauseTag(criOVersion)}`;
}

/** Whether this cri-o has crio.image.registries (1.13 up to 1.20; v1.21.0's template dropped it). */
export function supportsRegistriesOption(criOVersion: string): boolean {
  const [major, minor] = versionTriple(criOVersion);
  return major === 1 && minor <= 20;
}

/**
 * Everything the package sets for this cri-o: the common settings, the search registries where the
 * option exists, and the pause image (the site's own when given, else the branch's default on
 * registry.k8s.io).
 */
export function crioSettings(o: { criOVersion: string; crioConf?: string; pauseImage?: string }): CrioSettings {
  const base = defaultSettings();
  return {
    ...base,
    ...(supportsRegistriesOption(o.criOVersion) ? { registries: [...DEFAULT_SEARCH_REGISTRIES] } : {}),
    ...(o.pauseImage !== undefined
      ? { pauseImage: o.pauseImage, pauseImageFrom: 'site' as const }
      : { pauseImage: defaultPauseImage(o.criOVersion, o.crioConf), pauseImageFrom: 'default' as const }),
  };
}

/** The TOML table each key lives in, in the cri-o 1.13 to 1.18 crio.conf layout. */
const DEFAULT_TABLE: Record<string, string> = {
  cgroup_manager: 'crio.runtime',
  conmon: 'crio.runtime',
  log_level: 'crio.runtime',
  registries: 'crio.image',
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

/** A TOML string, or an array of strings on one line. */
export type TomlValue = string | readonly string[];

function tomlValue(v: TomlValue): string {
  return typeof v === 'string' ? tomlString(v) : `[${v.map(tomlString).join(', ')}]`;
}

type Entry = [key: string, value: TomlValue, comment: string];

function keyValues(settings: CrioSettings): Entry[] {
  const out: Entry[] = [
    ['cgroup_manager', settings.cgroupManager, 'The kubelet must use the same driver (cgroupDriver: systemd).'],
    ['conmon', settings.conmon, 'Installed there by the cri-o-conmon package (Debian\'s conmon in /usr/bin is for podman).'],
    ['log_level', settings.logLevel, ''],
  ];
  if (settings.registries?.length) {
    out.push(['registries', settings.registries, 'Where unqualified image names ("busybox") are looked up; Debian\'s /etc/containers/registries.conf names none.']);
  }
  return out;
}

function pauseEntry(settings: CrioSettings): Entry | undefined {
  if (settings.pauseImage === undefined) return undefined;
  checkPauseImage(settings.pauseImage);
  const comment =
    settings.pauseImageFrom === 'default'
      ? `This crio's own pause tag, from ${PAUSE_REGISTRY} (k8s.gcr.io no longer serves new pulls): a multi-arch manifest list.`
      : 'Set when these packages were built (crio-build --pause-image).';
  return ['pause_image', settings.pauseImage, comment];
}

function renderTables(entries: Entry[], crioConf: string | undefined): string {
  const byTable = new Map<string, Entry[]>();
  for (const e of entries) {
    const t = tableOf(crioConf, e[0]);
    byTable.set(t, [...(byTable.get(t) ?? []), e]);
  }
  const out: string[] = [];
  for (const [table, list] of byTable) {
    out.push(`[${table}]`);
    for (const [k, v, comment] of list) {
      if (comment) out.push(`# ${comment}`);
      out.push(`${k} = ${tomlValue(v)}`);
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
  const pause = pauseEntry(settings);
  if (pause) files.push([PAUSE_IMAGE_DROPIN, `${DROPIN_HEADER}\n${renderTables([pause], crioConf)}`]);
  return files;
}

/**
 * Sets `key = "value"` in its table of a crio.conf text: replaces the first (possibly commented)
 * assignment in that table, else adds it below the table header, else appends the table.
 */
export function setCrioConfValue(crioConf: string, table: string, key: string, value: TomlValue): string {
  const lines = crioConf.split('\n');
  const assignment = `${key} = ${tomlValue(value)}`;
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
      const line = lines[i] as string;
      // An uncommented array spread over several lines: replace it up to its closing bracket.
      let end = i;
      if (!/^\s*#/.test(line)) {
        const code = line.replace(/#.*$/, '');
        const rhs = code.slice(code.indexOf('=') + 1);
        if (/^\s*\[/.test(rhs) && !rhs.includes(']')) {
          let j = i + 1;
          while (j < lines.length && !(lines[j] as string).replace(/#.*$/, '').includes(']')) j++;
          if (j < lines.length) end = j;
        }
      }
      lines.splice(i, end - i + 1, assignment);
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
  const entries: Entry[] = keyValues(settings);
  const pause = pauseEntry(settings);
  if (pause) entries.push(pause);
  for (const [k, v] of entries) text = setCrioConfValue(text, tableOf(crioConf, k), k, v);
  return text;
}

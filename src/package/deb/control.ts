// Renders DEBIAN/control: validated values, in the field order
// dpkg-gencontrol writes (Dpkg::Control::FieldsCore, CTRL_PKG_DEB), so our
// files diff cleanly against packages built the Debian way.
import type { ControlFields } from './types.js';
import {
  ControlFieldError,
  checkArchitecture,
  checkHomepage,
  checkMaintainer,
  checkOneOf,
  checkPackageName,
  checkRelations,
  checkSection,
  checkSingleLine,
  checkVersion,
} from './validate.js';

// Pre-Depends .. Static-Built-Using are dpkg's @bin_dep_fields sorted by dep_order.
export const CONTROL_FIELD_ORDER = [
  'Package', 'Package-Type', 'Source', 'Version', 'Kernel-Version', 'Built-For-Profiles',
  'Auto-Built-Package', 'Architecture', 'Subarchitecture', 'Installer-Menu-Item',
  'Build-Essential', 'Essential', 'Protected', 'Origin', 'Bugs', 'Maintainer', 'Installed-Size',
  'Pre-Depends', 'Depends', 'Recommends', 'Suggests', 'Enhances', 'Conflicts', 'Breaks',
  'Replaces', 'Provides', 'Built-Using', 'Static-Built-Using',
  'Section', 'Priority', 'Multi-Arch', 'Homepage', 'Description', 'Tag', 'Task',
] as const;

const REQUIRED = ['Package', 'Version', 'Architecture', 'Maintainer', 'Description'] as const;
const DEPENDS_LIKE = new Set(['Pre-Depends', 'Depends', 'Recommends', 'Suggests', 'Enhances']);
const UNION_LIKE = new Set(['Conflicts', 'Breaks', 'Replaces']);
const EQUALS_ONLY = new Set(['Provides', 'Built-Using', 'Static-Built-Using']);
const YES_NO = new Set(['Essential', 'Protected', 'Build-Essential']);
const KNOWN = new Map<string, string>(CONTROL_FIELD_ORDER.map((f) => [f.toLowerCase(), f]));
// deb822 field names: printable ASCII without ":" or space, not starting with "#" or "-".
const FIELD_NAME = /^[A-Za-z0-9][!-9;-~]*$/;

function normalize(name: string, value: string | readonly string[]): string {
  if (typeof value === 'string') return value;
  if (!(name === 'Provides' || DEPENDS_LIKE.has(name) || UNION_LIKE.has(name) || EQUALS_ONLY.has(name))) {
    throw new ControlFieldError(name, 'a list is only allowed for relationship fields; give a string');
  }
  return value.map((v) => v.trim()).join(', ');
}

function checkField(name: string, value: string): void {
  if (name === 'Description') return checkDescription(value);
  checkSingleLine(name, value);
  if (name === 'Package' || name === 'Source') {
    // Source may carry the source version: "name (version)".
    const m = name === 'Source' ? /^(\S+)(?: \((\S+)\))?$/.exec(value) : null;
    checkPackageName(name, m?.[1] ?? value);
    if (m?.[2] !== undefined) checkVersion(name, m[2]);
  } else if (name === 'Version') checkVersion(name, value);
  else if (name === 'Architecture') checkArchitecture(name, value);
  else if (name === 'Maintainer') checkMaintainer(name, value);
  else if (name === 'Section') checkSection(name, value);
  else if (name === 'Priority') checkOneOf(name, value, ['required', 'important', 'standard', 'optional', 'extra']);
  else if (name === 'Multi-Arch') checkOneOf(name, value, ['same', 'foreign', 'allowed', 'no']);
  else if (name === 'Homepage') checkHomepage(name, value);
  else if (YES_NO.has(name)) checkOneOf(name, value, ['yes', 'no']);
  else if (DEPENDS_LIKE.has(name)) checkRelations(name, value, { alternatives: true, onlyEquals: false });
  else if (UNION_LIKE.has(name)) checkRelations(name, value, { alternatives: false, onlyEquals: false });
  else if (EQUALS_ONLY.has(name)) checkRelations(name, value, { alternatives: false, onlyEquals: true });
}

function checkDescription(value: string): void {
  const [synopsis = ''] = value.split('\n');
  if (synopsis.trim() === '') throw new ControlFieldError('Description', 'the first line (synopsis) must not be empty');
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value.replace(/\n/g, ''))) {
    throw new ControlFieldError('Description', 'control characters other than newline and tab are not allowed');
  }
}

/** Synopsis on the field line; extended lines prefixed with one space, blank lines as " .". */
export function formatDescription(value: string): string {
  const lines = value.replace(/\s+$/, '').split('\n').map((l) => l.replace(/\s+$/, ''));
  const [synopsis = '', ...extended] = lines;
  const body = extended.map((l) => (l === '' || l === '.' ? ' .' : ` ${l}`));
  return [synopsis.trim(), ...body].join('\n');
}

/**
 * Validates the fields and returns the control file text (ending in "\n").
 * Throws ControlFieldError naming the field and what is allowed.
 */
export function renderControl(fields: ControlFields, installedSize: number): string {
  const values = new Map<string, string>();
  for (const [name, raw] of Object.entries(fields)) {
    if (raw === undefined) continue;
    if (!FIELD_NAME.test(name)) {
      throw new ControlFieldError(name, 'field names are printable ASCII without ":" or spaces, starting with a letter or digit');
    }
    const canonical = KNOWN.get(name.toLowerCase());
    if (canonical !== undefined && canonical !== name) {
      throw new ControlFieldError(name, `write it as "${canonical}"`);
    }
    if ([...values.keys()].some((k) => k.toLowerCase() === name.toLowerCase())) {
      throw new ControlFieldError(name, 'given twice (field names are case-insensitive)');
    }
    if (name === 'Installed-Size') {
      throw new ControlFieldError(name, 'is computed from the payload; do not set it');
    }
    const value = normalize(name, raw);
    checkField(name, value);
    values.set(name, value);
  }
  for (const name of REQUIRED) {
    if (!values.has(name)) throw new ControlFieldError(name, 'is required');
  }
  values.set('Installed-Size', String(installedSize));

  const known = new Set<string>(CONTROL_FIELD_ORDER);
  const ordered = [
    ...CONTROL_FIELD_ORDER.filter((f) => values.has(f)),
    ...[...values.keys()].filter((f) => !known.has(f)),
  ];
  return ordered
    .map((f) => {
      const v = values.get(f) as string;
      return `${f}: ${f === 'Description' ? formatDescription(v) : v}\n`;
    })
    .join('');
}

/** Version without the epoch, as used in file names (dpkg-name, nFPM). */
export function versionForFileName(version: string): string {
  const colon = version.indexOf(':');
  return colon >= 0 ? version.slice(colon + 1) : version;
}

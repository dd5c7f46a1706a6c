// Parses a package's control paragraph and writes it back as a Packages stanza the way
// dpkg-scanpackages does (Dpkg::Control::HashCore parse/output with the CTRL_INDEX_PKG field order
// of Dpkg::Control::FieldsCore), so our index diffs cleanly against one made by Debian's tools.
import { InvalidInputError } from '../../core/errors.js';
import { byteOrder } from '../../core/order.js';

/** dpkg's CTRL_INDEX_PKG output order; fields not listed follow, sorted by name. */
export const INDEX_FIELD_ORDER = [
  'Package', 'Package-Type', 'Source', 'Version', 'Kernel-Version', 'Built-For-Profiles',
  'Auto-Built-Package', 'Architecture', 'Subarchitecture', 'Installer-Menu-Item', 'Build-Essential',
  'Essential', 'Protected', 'Origin', 'Bugs', 'Maintainer', 'Installed-Size',
  'Pre-Depends', 'Depends', 'Recommends', 'Suggests', 'Enhances', 'Conflicts', 'Breaks', 'Replaces',
  'Provides', 'Built-Using', 'Static-Built-Using',
  'Filename', 'Size', 'MD5sum', 'SHA1', 'SHA256',
  'Section', 'Priority', 'Multi-Arch', 'Homepage', 'Description', 'Tag', 'Task',
] as const;

const RANK = new Map<string, number>(INDEX_FIELD_ORDER.map((f, i) => [f.toLowerCase(), i]));
const CANONICAL = new Map<string, string>(INDEX_FIELD_ORDER.map((f) => [f.toLowerCase(), f]));

/** Field name -> value in dpkg's internal form: continuation lines joined with "\n", without
 * their leading space, " ." stored as an empty line. Insertion order is the file's order. */
export type ControlParagraph = Map<string, string>;

/** Parses the single paragraph of DEBIAN/control; `where` names the file in errors. */
export function parseControl(text: string, where: string): ControlParagraph {
  const fields: ControlParagraph = new Map();
  const seen = new Set<string>();
  let current: string | undefined;
  let ended = false;
  const fail = (n: number, why: string): never => {
    throw new InvalidInputError(`${where}: control file line ${n}: ${why}`);
  };
  text.split('\n').forEach((line, idx) => {
    const n = idx + 1;
    if (/^\s*$/.test(line)) {
      if (current !== undefined) ended = true;
      return;
    }
    if (ended) fail(n, 'a second paragraph; a package control file has exactly one');
    const cont = /^\s(\s*\S.*)$/.exec(line);
    if (cont) {
      if (current === undefined) fail(n, 'a continuation line before any field');
      let value = (cont[1] as string).replace(/\s+$/, '');
      if (/^\.+$/.test(value)) value = value.slice(1);
      fields.set(current as string, `${fields.get(current as string)}\n${value}`);
      return;
    }
    const m = /^([^\s:]+)\s*:\s*(.*)$/.exec(line);
    if (!m || (m[1] as string).startsWith('-')) fail(n, `"${line.slice(0, 60)}" is neither "Field: value" nor a continuation line`);
    const name = CANONICAL.get((m?.[1] as string).toLowerCase()) ?? (m?.[1] as string);
    if (seen.has(name.toLowerCase())) fail(n, `field ${name} appears twice`);
    seen.add(name.toLowerCase());
    fields.set(name, (m?.[2] as string).replace(/\s+$/, ''));
    current = name;
  });
  return fields;
}


/** One stanza, ending in "\n" (without the blank line that separates stanzas). */
export function renderParagraph(fields: ControlParagraph): string {
  const names = [...fields.keys()].sort((a, b) => {
    const ra = RANK.get(a.toLowerCase());
    const rb = RANK.get(b.toLowerCase());
    if (ra !== undefined && rb !== undefined) return ra - rb;
    if (ra !== undefined) return -1;
    if (rb !== undefined) return 1;
    return byteOrder(a, b);
  });
  return names
    .map((name) => {
      const [first = '', ...rest] = (fields.get(name) as string).split('\n');
      let out = `${name}:${first.length > 0 ? ` ${first}` : ''}\n`;
      for (const raw of rest) {
        const line = raw.replace(/\s+$/, '');
        out += line === '' || /^\.+$/.test(line) ? ` .${line}\n` : ` ${line}\n`;
      }
      return out;
    })
    .join('');
}

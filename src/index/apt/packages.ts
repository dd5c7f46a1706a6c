// The Packages index: one stanza per .deb (its control fields plus Filename, Size, MD5sum,
// SHA256), sorted by package name, Debian version and architecture so the same set of packages
// always gives the same bytes, and its .gz and .xz forms, both reproducible.
import { Writable } from 'node:stream';
import { InvalidInputError } from '../../core/errors.js';
import { compressStream, gzipBuffer } from '../../package/deb/compress.js';
import { checkArchitecture, checkPackageName, checkVersion, ControlFieldError } from '../../package/deb/validate.js';
import { parseControl, renderParagraph, type ControlParagraph } from './control.js';
import type { DebFacts } from './debfile.js';
import { compareDebianVersions } from './version.js';
import { byteOrder } from '../../core/order.js';

export interface IndexedDeb {
  /** The .deb as given by the caller. */
  path: string;
  package: string;
  version: string;
  architecture: string;
  /** Source package name (the Source field without a version, else the package name). */
  source: string;
  fields: ControlParagraph;
  size: number;
  md5: string;
  sha256: string;
}

/** Validates the fields the index depends on; errors name the file and the field. */
export function describeDeb(path: string, facts: DebFacts): IndexedDeb {
  const fields = parseControl(facts.control, path);
  const get = (name: string): string => {
    const v = fields.get(name);
    if (v === undefined) throw new InvalidInputError(`${path}: the control file has no ${name} field`);
    return v;
  };
  const pkg = get('Package');
  const version = get('Version');
  const architecture = get('Architecture');
  const source = (fields.get('Source') ?? pkg).replace(/\s*\(.*\)$/, '');
  try {
    checkPackageName('Package', pkg);
    checkVersion('Version', version);
    checkArchitecture('Architecture', architecture);
    checkPackageName('Source', source);
  } catch (err) {
    if (err instanceof ControlFieldError) throw new InvalidInputError(`${path}: ${err.message}`);
    throw err;
  }
  // The index states these from the file itself; a value inside the package would be stale.
  for (const f of ['Filename', 'Size', 'MD5sum', 'SHA1', 'SHA256']) fields.delete(f);
  return { path, package: pkg, version, architecture, source, fields, size: facts.size, md5: facts.md5, sha256: facts.sha256 };
}


/** By Package (bytes), then Version (dpkg's order), then Architecture (bytes). */
export function compareDebs(a: IndexedDeb, b: IndexedDeb): number {
  return byteOrder(a.package, b.package) || compareDebianVersions(a.version, b.version) || byteOrder(a.architecture, b.architecture);
}

/** Two files claiming the same package, version and architecture cannot both be in one index
 * (versions dpkg considers equal, 1.0 and 1.00, are the same version to apt). */
export function checkUnique(debs: readonly IndexedDeb[]): void {
  const sorted = [...debs].sort(compareDebs);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as IndexedDeb;
    const b = sorted[i] as IndexedDeb;
    if (compareDebs(a, b) === 0) {
      throw new InvalidInputError(`${b.package} ${b.version} (${b.architecture}) is given twice: ${a.path} and ${b.path}`, 'give each package version and architecture once');
    }
  }
}

/** The stanza for `deb` stored at `filename` (relative to the repository's base URL). */
export function packagesStanza(deb: IndexedDeb, filename: string): string {
  const fields = new Map(deb.fields);
  fields.set('Filename', filename);
  fields.set('Size', String(deb.size));
  fields.set('MD5sum', deb.md5);
  fields.set('SHA256', deb.sha256);
  return renderParagraph(fields);
}

/** Stanzas in index order, each followed by a blank line, as dpkg-scanpackages prints them. */
export function renderPackages(entries: ReadonlyArray<{ deb: IndexedDeb; filename: string }>): string {
  return [...entries]
    .sort((a, b) => compareDebs(a.deb, b.deb))
    .map((e) => `${packagesStanza(e.deb, e.filename)}\n`)
    .join('');
}

async function xzBuffer(data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  // The package writer's deterministic xz (same preset and block layout whatever the machine).
  await compressStream((async function* () { yield data; })(), sink, { kind: 'xz', level: 6, threads: 1 });
  return Buffer.concat(chunks);
}

/** Packages, Packages.gz and Packages.xz contents. zlib's gzip header has no name and mtime 0. */
export async function packagesFiles(text: string): Promise<Array<{ name: string; data: Buffer }>> {
  const plain = Buffer.from(text, 'utf8');
  return [
    { name: 'Packages', data: plain },
    { name: 'Packages.gz', data: gzipBuffer(plain, 9) },
    { name: 'Packages.xz', data: await xzBuffer(plain) },
  ];
}

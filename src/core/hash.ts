/**
 * sha256, made in one place: of a string or buffer, of a file (streamed), and of a directory tree.
 * Every key, checksum and digest in crio-build is one of these, so equal content always gives the
 * same hex string wherever it is computed.
 *
 * Formats that need several digests of the same bytes in one pass (a .deb's md5 and sha256 for an
 * apt index, a document's md5, sha1 and sha256) keep their own createHash calls beside each other.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { byteOrder } from './order.js';

/** Lower-case hex sha256 of a string (as UTF-8) or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The raw 32 bytes of a sha256 (for base64 fingerprints and derived keys). */
export function sha256Bytes(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Lower-case hex sha256 of a file, streamed in 1 MiB reads (never held in memory whole). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

// ---- Directory trees --------------------------------------------------------------------------

/** One entry under a walked directory. */
export interface TreeEntry {
  /** Path relative to the walked directory, `/`-separated (`scripts/install.sh`). */
  rel: string;
  /** The path to read it from. */
  file: string;
  /** Never followed: a symlink is a 'symlink' whatever it points at; fifos, sockets, devices are 'other'. */
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** st_mode as lstat gives it (type and permission bits). */
  mode: number;
  /** Bytes (of a regular file; lstat's size otherwise). */
  size: number;
}

export interface WalkOptions {
  /** Leave out the entry at this relative path (and, for a directory, everything under it). */
  skip?: (rel: string) => boolean;
  /** A directory that cannot be read (the root too: a missing one) counts as empty instead of failing. */
  unreadableAsEmpty?: boolean;
}

/**
 * Every entry under `root`, depth first, a directory before what it holds, the names of each
 * directory in bytewise (UTF-8) order: the same tree gives the same list on any machine.
 */
export async function walkTree(root: string, opts: WalkOptions = {}): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (opts.unreadableAsEmpty) return;
      throw err;
    }
    names.sort(byteOrder);
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (opts.skip?.(r)) continue;
      const file = join(dir, name);
      const st = await lstat(file);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      out.push({ rel: r, file, type, mode: st.mode, size: st.size });
      if (type === 'dir') await walk(file, r);
    }
  };
  await walk(root, '');
  return out;
}

/**
 * What each entry puts into a directory digest. Only regular files count in the `content` layouts
 * (directories, symlinks and special files are left out, so an empty directory changes nothing):
 *
 * - `content`: `rel \0 bytes \0`. The bytes and names of a folder of text: the recipes, the
 *   compiled packaging code.
 * - `content+exec`: `rel \0 x|- \0 bytes \0`, `x` when any execute bit is set. The builder
 *   definition (only the executable bit: the rest of a checkout's mode follows the umask).
 * - `content+mode`: `\0 rel \0 (mode & 0o777, decimal) \0 bytes`. Everything a `docker build`
 *   context carries of a file: the builder image's recipe key (after its own prefix).
 * - `tree`: `d rel\0` for a directory, `l rel\0target\0` for a symlink, `f rel X sha256\0` for a
 *   file (X: its execute bits, `mode & 0o111` in octal; sha256: hex of its bytes); other types left
 *   out. A build output as the packages see it.
 */
export type DigestLayout = 'content' | 'content+exec' | 'content+mode' | 'tree';

export interface DigestOptions {
  /** Default `content`. */
  layout?: DigestLayout;
  /** Hashed before the entries (a key's own fields, in the form its callers have always used). */
  prefix?: string;
}

export interface DirDigestOptions extends WalkOptions, DigestOptions {
  /** Also return the total size of the regular files. */
  bytes?: boolean;
}

/** The hex sha256 of the entries (in the order given) in `layout`. */
export async function entriesDigest(entries: readonly Pick<TreeEntry, 'rel' | 'file' | 'mode' | 'type'>[], opts: DigestOptions = {}): Promise<string> {
  const layout = opts.layout ?? 'content';
  const hash = createHash('sha256');
  if (opts.prefix !== undefined) hash.update(opts.prefix);
  for (const e of entries) {
    if (layout === 'tree') {
      if (e.type === 'dir') hash.update(`d ${e.rel}\0`);
      else if (e.type === 'symlink') hash.update(`l ${e.rel}\0${await readlink(e.file)}\0`);
      else if (e.type === 'file') hash.update(`f ${e.rel} ${(e.mode & 0o111).toString(8)} ${await sha256File(e.file)}\0`);
      continue;
    }
    if (e.type !== 'file') continue;
    const bytes = await readFile(e.file);
    if (layout === 'content') hash.update(e.rel).update('\0').update(bytes).update('\0');
    else if (layout === 'content+exec') hash.update(e.rel).update('\0').update(e.mode & 0o111 ? 'x' : '-').update('\0').update(bytes).update('\0');
    else hash.update(`\0${e.rel}\0${e.mode & 0o777}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/** The digest of the tree under `dir` (see DigestLayout); with `bytes`, also its regular files' total size. */
export function dirDigest(dir: string, opts: DirDigestOptions & { bytes: true }): Promise<{ digest: string; bytes: number }>;
export function dirDigest(dir: string, opts?: DirDigestOptions & { bytes?: false }): Promise<string>;
export async function dirDigest(dir: string, opts: DirDigestOptions = {}): Promise<string | { digest: string; bytes: number }> {
  const entries = await walkTree(dir, opts);
  const digest = await entriesDigest(entries, opts);
  if (!opts.bytes) return digest;
  return { digest, bytes: entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0) };
}

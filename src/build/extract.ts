/**
 * Safe extraction of what a build container hands back (getArchive of one output path).
 * The container ran untrusted upstream build code, so its archive is treated as hostile:
 * every entry must lie under the output path that was asked for, and is refused when it has an
 * absolute name, a `..` component, is a device file or fifo, is a symlink whose target leaves the
 * output directory, or a hard link to anything but a regular file already extracted from the same
 * archive. Nothing is ever written through a symlink (each parent directory is checked) and set-id
 * bits are dropped. Ownership is not restored: files belong to whoever runs crio-build.
 * A refused archive leaves nothing behind: what this call created is removed again.
 */
import { chmod, copyFile, lstat, mkdir, open, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { CrioBuildError, ExitCode, quote } from '../core/errors.js';

export class UnsafeArchiveError extends CrioBuildError {
  constructor(message: string) {
    super(message, ExitCode.jobFailed, 'the build produced an output crio-build refuses to unpack; check the recipe outputs and the upstream build');
  }
}

export interface ExtractedFile {
  /** Relative to the destination root, with forward slashes. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
}

export interface ExtractOptions {
  /** Where relative paths are rooted (the job's outDir); nothing may land or point outside it. */
  root: string;
  /**
   * The output path asked for, relative to root ("bin/crio", "completions"). The archive's top
   * entry is its basename (that is how the engine's archive endpoint names things).
   */
  want: string;
}

/** Normalise a relative POSIX path; undefined when it is absolute, empty or climbs with `..`. */
export function safeRelative(p: string): string | undefined {
  if (!p || p.startsWith('/') || isAbsolute(p) || p.includes('\0')) return undefined;
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0 || parts.some((s) => s === '..')) return undefined;
  return parts.join('/');
}

function inside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

export async function extractSafely(archive: Readable | NodeJS.ReadableStream, opts: ExtractOptions): Promise<ExtractedFile[]> {
  const root = resolve(opts.root);
  const want = safeRelative(opts.want);
  if (!want) throw new UnsafeArchiveError(`output path ${JSON.stringify(opts.want)} is not a plain relative path`);
  const wantBase = posix.basename(want);
  const wantDir = posix.dirname(want) === '.' ? '' : posix.dirname(want);
  /** Paths this call made (the first new directory of a mkdir -p), removed again on refusal. */
  const created: string[] = [];
  const mkdirp = async (dir: string) => {
    const first = await mkdir(dir, { recursive: true });
    if (first) created.push(first);
  };
  await mkdirp(join(root, wantDir));

  const done: ExtractedFile[] = [];
  const regular = new Set<string>();
  let current = '';
  let currentEntry: { destroy(err?: Error): void } | undefined;
  let currentFile: FileHandle | undefined;
  const fail = (name: string, why: string): never => {
    throw new UnsafeArchiveError(`refusing archive entry ${quote(name, 200)} for output ${want}: ${why}`);
  };

  /** Archive name -> path under root, or a refusal. */
  const place = (name: string): string => {
    if (name.startsWith('/') || isAbsolute(name)) fail(name, 'absolute path');
    if (name.split('/').includes('..')) fail(name, 'path contains ..');
    if (/[\p{Cc}\p{Cf}]/u.test(name)) fail(name, 'control or invisible character in the name');
    const rel = safeRelative(name);
    if (!rel) fail(name, 'empty or invalid path');
    if (rel !== wantBase && !rel!.startsWith(wantBase + '/')) fail(name, `outside the requested ${wantBase}`);
    return wantDir ? `${wantDir}/${rel}` : rel!;
  };

  /** Refuse to write through any symlink: each existing parent must be a real directory. */
  const checkParents = async (rel: string) => {
    const parts = rel.split('/');
    let cur = root;
    for (const part of parts.slice(0, -1)) {
      cur = join(cur, part);
      const st = await lstat(cur).catch(() => undefined);
      if (!st) return;
      if (!st.isDirectory()) fail(rel, `${relative(root, cur)} is not a directory (a symlink?)`);
    }
  };

  const ex = tarExtract();
  const work = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      current = h.name;
      currentEntry = entry;
      const rel = place(h.name);
      const abs = join(root, rel);
      if (!inside(root, abs)) fail(h.name, 'resolves outside the output directory');
      await checkParents(rel);
      const existing = await lstat(abs).catch(() => undefined);
      const mode = (h.mode ?? 0o644) & 0o777; // no setuid/setgid/sticky from a build
      switch (h.type) {
        case 'directory':
          if (existing && !existing.isDirectory()) fail(h.name, 'a directory would replace a file or link');
          await mkdirp(abs);
          await chmod(abs, mode | 0o700);
          done.push({ path: rel, type: 'directory' });
          break;
        case 'file':
        case 'contiguous-file':
          if (existing) fail(h.name, 'duplicate entry');
          await mkdirp(join(abs, '..'));
          // 'wx': never follows or replaces something that appeared meanwhile. Opened here, not
          // lazily by the stream, so a refusal can close it and remove the file for sure.
          currentFile = await open(abs, 'wx', mode);
          created.push(abs);
          await pipeline(entry, currentFile.createWriteStream());
          currentFile = undefined;
          await chmod(abs, mode);
          if (h.mtime) await utimes(abs, h.mtime, h.mtime);
          regular.add(rel);
          done.push({ path: rel, type: 'file' });
          continue; // body consumed by the pipeline
        case 'symlink': {
          const target = h.linkname ?? '';
          if (!target || target.startsWith('/') || isAbsolute(target)) fail(h.name, `symlink to absolute path ${quote(target)}`);
          if (/[\p{Cc}\p{Cf}]/u.test(target)) fail(h.name, `symlink target ${quote(target)} has a control or invisible character`);
          const dest = resolve(join(abs, '..'), target);
          if (!inside(root, dest)) fail(h.name, `symlink points outside the output directory (${target})`);
          if (existing) fail(h.name, 'duplicate entry');
          await mkdirp(join(abs, '..'));
          await symlink(target, abs);
          created.push(abs);
          done.push({ path: rel, type: 'symlink' });
          break;
        }
        case 'link': {
          // Hard link names are archive names too; the target must be a file this archive made.
          const target = place(h.linkname ?? '');
          if (!regular.has(target)) fail(h.name, `hard link to ${JSON.stringify(h.linkname)}, which is not a file extracted from this archive`);
          if (existing) fail(h.name, 'duplicate entry');
          created.push(abs);
          await copyFile(join(root, target), abs);
          await chmod(abs, mode);
          regular.add(rel);
          done.push({ path: rel, type: 'file' });
          break;
        }
        default:
          fail(h.name, `${h.type} entries (device files, fifos) are not allowed`);
      }
      entry.resume();
    }
  })();
  // Feed the archive in; a refusal destroys the extractor, which ends the feed too.
  const feed = pipeline(archive as Readable, ex as unknown as NodeJS.WritableStream).then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  try {
    // A stream that ends inside an entry (a header claiming more data than follows) fails the feed
    // but leaves that entry's body waiting forever: the feed's failure ends the work too.
    await Promise.race([work, feed.then((err) => (err ? Promise.reject(err) : work))]);
  } catch (err) {
    ex.destroy();
    currentEntry?.destroy(err as Error);
    (archive as Readable).destroy?.();
    // An entry that died before its body was piped leaves the work waiting: it is abandoned, and
    // the file it was writing closed.
    work.catch(() => undefined);
    await currentFile?.close().catch(() => undefined);
    for (const p of created.reverse()) await rm(p, { recursive: true, force: true });
    if (err instanceof CrioBuildError) throw err;
    // A truncated or malformed stream (a header claiming more data than follows, bad checksums).
    throw new UnsafeArchiveError(`refusing archive for output ${want}${current ? ` at entry ${quote(current, 200)}` : ''}: ${(err as Error).message}`);
  }
  await feed;
  return done;
}

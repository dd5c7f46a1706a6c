// Publishing without half-written states: every file is first written (or linked) under a
// temporary name beside its final one and fsynced; only when all of them exist are they renamed
// into place: the packages, then the Packages indexes and keyrings, and last the Release files, so
// a reader never sees a Release listing an index that is not there yet. On any failure the
// temporary files are removed and the previous repository stays as it was.
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tempNameFor } from '../../core/atomic.js';

interface Staged {
  tmp: string;
  final: string;
  last: boolean;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class Staging {
  private readonly staged: Staged[] = [];

  constructor(private readonly root: string) {}

  /** `rel` uses "/" separators and is relative to the repository root. */
  private async prepare(rel: string): Promise<{ final: string; tmp: string }> {
    const final = join(this.root, ...rel.split('/'));
    await mkdir(dirname(final), { recursive: true });
    return { final, tmp: tempNameFor(final) };
  }

  /** Stages a file's content; `last` files (Release, InRelease, Release.gpg) are renamed after all others. */
  async write(rel: string, data: Buffer, last = false): Promise<void> {
    const { final, tmp } = await this.prepare(rel);
    this.staged.push({ tmp, final, last });
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Puts the package at `src` at `rel`: nothing to do when it is already that file (same inode);
   * else a hard link (instant, no extra space) or, across file systems, a copy that keeps the
   * mtime, so an unchanged copy is recognised on the next run and not copied again.
   */
  async placeDeb(src: string, rel: string): Promise<void> {
    const { final, tmp } = await this.prepare(rel);
    const from = await stat(src);
    const to = await stat(final).catch(() => undefined);
    if (to && to.dev === from.dev && to.ino === from.ino) return;
    // A copy made by an earlier run: same size and mtime (within a millisecond: utimes cannot set
    // the nanoseconds the source may have), as rsync's quick check.
    if (to && to.dev !== from.dev && to.size === from.size && Math.abs(to.mtimeMs - from.mtimeMs) < 1) return;
    this.staged.push({ tmp, final, last: false });
    try {
      await link(src, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
      await copyFile(src, tmp, constants.COPYFILE_FICLONE);
      await utimes(tmp, from.atimeMs / 1000, from.mtimeMs / 1000);
      await fsyncPath(tmp);
    }
  }

  async commit(): Promise<void> {
    const first = this.staged.filter((s) => !s.last);
    const last = this.staged.filter((s) => s.last);
    for (const s of first) await rename(s.tmp, s.final);
    // Make the indexes durable before the Release that names them.
    for (const dir of new Set(first.map((s) => dirname(s.final)))) await fsyncPath(dir);
    for (const s of last) await rename(s.tmp, s.final);
    for (const dir of new Set(last.map((s) => dirname(s.final)))) await fsyncPath(dir);
    this.staged.length = 0;
  }

  /** Removes every temporary file still staged (renamed ones are gone from the list). */
  async abort(): Promise<void> {
    await Promise.all(this.staged.map((s) => rm(s.tmp, { force: true })));
    this.staged.length = 0;
  }
}

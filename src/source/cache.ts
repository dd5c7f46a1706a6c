/**
 * The content-addressed source cache:
 *   blobs/sha256/<hex>   verified downloads, named by their sha256
 *   partial/<hex>.part   an interrupted download of <hex>, resumed with Range
 *   git/<key>.git        bare repos (git's objects are content-addressed already), one per upstream URL
 * Entries appear only by rename after verification, so a reader never sees a half-written one;
 * writers of the same entry serialise on a lock so two processes can share the cache.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { sha256Hex } from '../core/hash.js';

export class SourceCache {
  constructor(readonly root: string) {}

  blobPath(sha256: string): string {
    return join(this.root, 'blobs', 'sha256', sha256);
  }

  partialPath(sha256: string): string {
    return join(this.root, 'partial', `${sha256}.part`);
  }

  gitRepoPath(url: string): string {
    // Keyed by the URL actually fetched (after mirroring); the name keeps a readable hint.
    const hint = url.replace(/^[a-z]+:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(-60);
    const key = sha256Hex(url).slice(0, 16);
    return join(this.root, 'git', `${hint}-${key}.git`);
  }

  async ensureDirs(): Promise<void> {
    for (const d of ['blobs/sha256', 'partial', 'git', 'locks']) await mkdir(join(this.root, d), { recursive: true });
  }

  /** Run `fn` holding an inter-process lock named `name` (waits for another holder). */
  async withLock<T>(name: string, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
    await this.ensureDirs();
    const target = join(this.root, 'locks', name.replace(/[^A-Za-z0-9._-]+/g, '_'));
    const release = await acquire(target, onWait);
    try {
      return await fn();
    } finally {
      await release();
    }
  }
}

/** proper-lockfile keeps the lock fresh while held and treats a dead holder's lock as stale. */
async function acquire(target: string, onWait?: () => void): Promise<() => Promise<void>> {
  const opts = { realpath: false, stale: 30_000, update: 5_000 };
  try {
    return await lockfile.lock(target, { ...opts, retries: 0 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    onWait?.();
    return lockfile.lock(target, { ...opts, retries: { retries: 100_000, factor: 1.2, minTimeout: 100, maxTimeout: 1_000 } });
  }
}

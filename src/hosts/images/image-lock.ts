/**
 * One image build per content key at a time across processes on this machine: two runs (or a run
 * and a test suite) that need the same image wait for each other instead of both spending half an
 * hour under qemu and racing for the tag (the loser's image would be left dangling).
 * Locks live under the temp dir (proper-lockfile keeps them fresh while held and treats a dead
 * holder's lock as stale). Processes on other machines sharing one engine are not covered.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

const LOCK_DIR = join(tmpdir(), 'crio-build-image-locks');
const COMMON = { stale: 30_000, onCompromised: () => undefined }; // the lock only saves work

export async function withImageLock<T>(key: string, onWait: () => void, fn: () => Promise<T>): Promise<T> {
  await mkdir(LOCK_DIR, { recursive: true });
  const file = join(LOCK_DIR, key.replace(/[^A-Za-z0-9._-]/g, '_'));
  await writeFile(file, '', { flag: 'a' });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, COMMON);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ELOCKED') throw err;
    onWait();
    // Up to about three hours: an arm64 builder under qemu on a busy machine takes long.
    release = await lockfile.lock(file, { ...COMMON, retries: { retries: 1200, factor: 1.2, minTimeout: 500, maxTimeout: 10_000 } });
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

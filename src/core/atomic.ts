/**
 * Every output is written to a temporary name beside its final one and renamed into place, so a
 * crash or a full disk never leaves a half-written file where a reader would take it as complete.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export function tempNameFor(finalPath: string): string {
  return `${finalPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** `mode` applies from the first byte on (0o600 for a secret key: never readable by others, even briefly). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { mode?: number } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A JSON record (2-space indent, trailing newline), written atomically: every record file's form. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

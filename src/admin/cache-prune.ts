/**
 * `crio-build cache prune`: prune the cache dir (src/admin/cache-admin.ts) while no run uses it. A
 * run holds the cache dir's run lock: pruning waits for it, or fails at once without `wait`. A dry
 * run removes nothing, so it takes no lock.
 */
import { existsSync } from 'node:fs';
import { acquireRunLock, waitingMessage } from '../pipeline/run-lock.js';
import { pruneCache, type PruneOptions, type PruneResult } from './cache-admin.js';

export interface PruneCacheDirOptions extends Omit<PruneOptions, 'now'> {
  cacheDir: string;
  /** Wait for a run that holds the cache dir (else fail at once, exit 75). */
  wait: boolean;
  /** Told while this waits for a run that holds the cache dir. */
  onWaiting: (message: string) => void;
}

/** What was (or would be) removed; undefined when there is no cache dir, so nothing to prune. */
export async function pruneCacheDir(o: PruneCacheDirOptions): Promise<PruneResult | undefined> {
  if (!existsSync(o.cacheDir)) return undefined;
  const release = o.dryRun ? async () => undefined : await acquireRunLock(o.cacheDir, { wait: o.wait, onWaiting: (holder, dir) => o.onWaiting(waitingMessage(holder, dir)) });
  try {
    return await pruneCache(o.cacheDir, { olderThanDays: o.olderThanDays, keepLatestPerComponent: o.keepLatestPerComponent, kinds: o.kinds, dryRun: o.dryRun });
  } finally {
    await release();
  }
}

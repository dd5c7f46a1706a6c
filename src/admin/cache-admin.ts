/**
 * What is in the cache dir, and pruning it safely.
 *
 *   builds/<key>/{out/,result.json,used}   build outputs by content key (src/build/build-all.ts); `used` is
 *                                          touched on each cache hit (touchUsed)
 *   builds/<key>.tmp-<pid>-<hex>           a build's scratch dir while it runs (temp)
 *   blobs/sha256/<hex>                     verified downloads (source/cache.ts)
 *   partial/<hex>.part                     an interrupted download, resumed by the next fetch
 *   git/<hint>-<key>.git                   bare repos
 *   debootstrap/                           .debs debootstrap cached while making base images
 *   locks/                                 proper-lockfile locks of source/cache.ts (never listed)
 *   trash/                                 entries being removed (left only by a prune that was killed)
 *
 * Pruning removes one entry at a time, atomically: it takes the entry's lock, the same
 * proper-lockfile lock (locks/<name>) that SourceCache.withLock takes while writing that entry
 * (`blob-<sha256>` for a blob and its partial, `git-<repo dir>` for a repo, `build-<key>` for a
 * build), so an entry a running fetch or build holds is skipped, not touched; it renames the entry
 * into trash/ (so a reader sees the whole entry or none of it), releases the lock, then deletes it.
 * Docker builder images, and the Go build cache volumes on the engines (src/build/go-cache.ts),
 * are pruned by `crio-build builders prune`, not here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../core/atomic.js';

export const CACHE_KINDS = ['build', 'blob', 'git', 'partial', 'debootstrap', 'temp', 'trash', 'other'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];
/** 'other' (something crio-build did not put there) is listed but never pruned. */
export const PRUNABLE_KINDS = CACHE_KINDS.filter((k): k is Exclude<CacheKind, 'other'> => k !== 'other');
export type PrunableKind = (typeof PRUNABLE_KINDS)[number];

/** The marker the build stage touches on each cache hit (and touchUsed writes). */
export const USED_MARKER = 'used';
export const DAY_MS = 86_400_000;
/** A partial download younger than this may be resumed by the next fetch: pruned only when older. */
export const PARTIAL_MIN_AGE_MS = DAY_MS;

export interface CacheEntryDetails {
  component?: string;
  arch?: string;
  version?: string;
  strategy?: string;
  /** git: the readable part of the repo's name (the URL it was fetched from, flattened). */
  source?: string;
  /** temp and trash: the process that made it, and whether it still runs on this host. */
  pid?: number;
  running?: boolean;
  /** Anything else worth saying (e.g. "no result.json"). */
  note?: string;
}

export interface CacheEntry {
  kind: CacheKind;
  /** Build key, sha256, repo dir name, ... (the CLI shows 12 characters). */
  key: string;
  /** Relative to the cache dir, e.g. builds/<key>. */
  name: string;
  path: string;
  /** Apparent size in bytes of everything under it. */
  size: number;
  lastUsed: Date;
  /** A running fetch or build holds its lock right now. */
  inUse: boolean;
  details: CacheEntryDetails;
}

export interface CacheTotals {
  count: number;
  size: number;
  byKind: Partial<Record<CacheKind, { count: number; size: number }>>;
}

/** The lock name SourceCache.withLock uses for a build output (the build stage holds it while writing or reading one). */
export function buildLockName(key: string): string {
  return `build-${key}`;
}

/** Same path as SourceCache.withLock(name) locks. */
function lockTarget(cacheDir: string, name: string): string {
  return join(cacheDir, 'locks', name.replace(/[^A-Za-z0-9._-]+/g, '_'));
}
/** As in source/cache.ts: proper-lockfile, refreshed while held, stale after 30 s without a refresh. */
const LOCK_OPTS = { realpath: false, stale: 30_000, update: 5_000 } as const;

function lockNameOf(kind: CacheKind, key: string, base: string): string | undefined {
  switch (kind) {
    case 'build':
      return buildLockName(key);
    case 'blob':
    case 'partial':
      return `blob-${key}`;
    case 'git':
      return `git-${base}`;
    default:
      return undefined;
  }
}

/**
 * Mark a cache entry used now: for a directory (builds/<key>, a git repo) its `used` marker is
 * written (with `details`, e.g. the version, when given) or its mtime set; for a file (a blob) its
 * atime is set. Best effort: returns false instead of failing a build over a read-only cache.
 */
export async function touchUsed(path: string, details?: Pick<CacheEntryDetails, 'component' | 'arch' | 'version'>): Promise<boolean> {
  try {
    const st = await stat(path);
    const now = new Date();
    if (!st.isDirectory()) {
      await utimes(path, now, st.mtime);
      return true;
    }
    const marker = join(path, USED_MARKER);
    if (details) await writeFileAtomic(marker, JSON.stringify(details) + '\n');
    else {
      try {
        await utimes(marker, now, now);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await writeFile(marker, '');
      }
    }
    return true;
  } catch {
    return false;
  }
}

const TEMP_RE = /^(.*)\.tmp-(\d+)-[0-9a-f]{8}$/;
const TRASH_RE = /^([a-z]+)-(.*)\.(\d+)-[0-9a-f]{8}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Every entry in the cache dir (an empty list when it does not exist). */
export async function listCache(cacheDir: string): Promise<CacheEntry[]> {
  const entries: CacheEntry[] = [];
  const add = async (kind: CacheKind, key: string, name: string, details: CacheEntryDetails = {}) => {
    const path = join(cacheDir, name);
    const base = name.split('/').pop()!;
    const measured = await measure(path).catch(() => undefined);
    if (!measured) return; // vanished while we looked
    const lockName = lockNameOf(kind, key, base);
    const inUse = lockName ? await isLocked(cacheDir, lockName) : false;
    entries.push({ kind, key, name, path, size: measured.size, lastUsed: await lastUsedOf(kind, path, measured.newest), inUse, details: { ...details, ...(await detailsOf(kind, path, base)) } });
  };
  const temp = (dir: string, n: string) => {
    const m = TEMP_RE.exec(n)!;
    const pid = Number(m[2]);
    return add('temp', m[1]!, `${dir}/${n}`, { pid, running: pidRunning(pid), note: 'scratch of an unfinished write' });
  };

  for (const top of await names(cacheDir)) {
    if (top === '.crio-build.lock' || top.startsWith('.crio-build.lock.')) continue; // the run lock
    if (top === 'locks') continue;
    if (top === 'builds' && (await isDir(join(cacheDir, top)))) {
      for (const n of await names(join(cacheDir, 'builds'))) {
        if (TEMP_RE.test(n)) await temp('builds', n);
        else if (HEX64.test(n) && (await isDir(join(cacheDir, 'builds', n)))) await add('build', n, `builds/${n}`);
        else await add('other', n, `builds/${n}`);
      }
    } else if (top === 'blobs' && (await isDir(join(cacheDir, top)))) {
      for (const algo of await names(join(cacheDir, 'blobs'))) {
        for (const n of await names(join(cacheDir, 'blobs', algo))) {
          if (TEMP_RE.test(n)) await temp(`blobs/${algo}`, n);
          else await add(algo === 'sha256' && HEX64.test(n) ? 'blob' : 'other', n, `blobs/${algo}/${n}`);
        }
      }
    } else if (top === 'git' && (await isDir(join(cacheDir, top)))) {
      for (const n of await names(join(cacheDir, 'git'))) {
        if (TEMP_RE.test(n)) await temp('git', n);
        else await add(n.endsWith('.git') ? 'git' : 'other', n, `git/${n}`);
      }
    } else if (top === 'partial' && (await isDir(join(cacheDir, top)))) {
      for (const n of await names(join(cacheDir, 'partial'))) {
        const m = /^([0-9a-f]{64})\.part$/.exec(n);
        await add(m ? 'partial' : 'other', m ? m[1]! : n, `partial/${n}`);
      }
    } else if (top === 'trash' && (await isDir(join(cacheDir, top)))) {
      for (const n of await names(join(cacheDir, 'trash'))) {
        const m = TRASH_RE.exec(n);
        const pid = m ? Number(m[3]) : undefined;
        await add('trash', m ? m[2]! : n, `trash/${n}`, { pid, running: pid === undefined ? undefined : pidRunning(pid), note: m ? `left by an interrupted removal of a ${m[1]} entry` : undefined });
      }
    } else if (top === 'debootstrap') {
      await add('debootstrap', 'debootstrap', 'debootstrap', { note: 'Debian packages cached by debootstrap for base images' });
    } else {
      await add('other', top, top);
    }
  }
  return entries;
}

export function cacheTotals(entries: CacheEntry[]): CacheTotals {
  const byKind: CacheTotals['byKind'] = {};
  for (const e of entries) {
    const t = (byKind[e.kind] ??= { count: 0, size: 0 });
    t.count++;
    t.size += e.size;
  }
  return { count: entries.length, size: entries.reduce((s, e) => s + e.size, 0), byKind };
}

export interface PruneOptions {
  /**
   * Remove build, blob, git and debootstrap entries last used more than this many days ago
   * (0: all of them). Without it only garbage goes: partial downloads older than a day, scratch
   * dirs and trash of processes that are gone.
   */
  olderThanDays?: number;
  /** Keep the N most recently used builds of each component/arch even when older (default 0). */
  keepLatestPerComponent?: number;
  /** Only these kinds (default: every prunable kind). */
  kinds?: readonly PrunableKind[];
  /** Say what would go, remove nothing. */
  dryRun: boolean;
  /** For tests: the time ages are measured from. */
  now?: Date;
}

export type SkipReason = 'in-use' | 'changed' | 'latest' | 'recent-partial' | 'process-running' | 'gone' | 'error';

export interface PruneResult {
  dryRun: boolean;
  /** Removed (or with dryRun: would be removed). */
  removed: CacheEntry[];
  bytesFreed: number;
  /** Entries old enough to go that were kept, and why. */
  skipped: { entry: CacheEntry; reason: SkipReason; detail: string }[];
}

/** Prune the cache dir by the options; see PruneOptions. */
export async function pruneCache(cacheDir: string, opts: PruneOptions): Promise<PruneResult> {
  const now = (opts.now ?? new Date()).getTime();
  const kinds = new Set<CacheKind>(opts.kinds ?? PRUNABLE_KINDS);
  const keep = opts.keepLatestPerComponent ?? 0;
  const result: PruneResult = { dryRun: opts.dryRun, removed: [], bytesFreed: 0, skipped: [] };
  const skip = (entry: CacheEntry, reason: SkipReason, detail: string) => result.skipped.push({ entry, reason, detail });
  const entries = (await listCache(cacheDir)).filter((e) => kinds.has(e.kind));

  // The newest `keep` builds of each component/arch stay, whatever their age.
  const latest = new Set<CacheEntry>();
  if (keep > 0) {
    const groups = new Map<string, CacheEntry[]>();
    for (const e of entries) {
      if (e.kind !== 'build' || !e.details.component) continue;
      const g = `${e.details.component}/${e.details.arch ?? '?'}`;
      groups.set(g, [...(groups.get(g) ?? []), e]);
    }
    for (const group of groups.values()) for (const e of group.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime()).slice(0, keep)) latest.add(e);
  }

  const candidates: CacheEntry[] = [];
  for (const e of entries) {
    const age = now - e.lastUsed.getTime();
    switch (e.kind) {
      case 'partial':
        if (age > PARTIAL_MIN_AGE_MS) candidates.push(e);
        else if (opts.olderThanDays !== undefined && age >= opts.olderThanDays * DAY_MS) skip(e, 'recent-partial', 'a partial download less than a day old: the next fetch resumes it');
        break;
      case 'temp':
      case 'trash':
        if (e.details.running) skip(e, 'process-running', `its process ${e.details.pid} is still running`);
        else candidates.push(e);
        break;
      case 'other':
        break;
      default:
        if (opts.olderThanDays === undefined || age < opts.olderThanDays * DAY_MS) break;
        if (latest.has(e)) skip(e, 'latest', `the most recently used build of ${e.details.component}/${e.details.arch ?? '?'}`);
        else candidates.push(e);
    }
  }

  for (const e of candidates) {
    const lockName = lockNameOf(e.kind, e.key, e.name.split('/').pop()!);
    if (opts.dryRun) {
      if (lockName && (await isLocked(cacheDir, lockName))) skip(e, 'in-use', 'a running fetch or build holds it');
      else {
        result.removed.push(e);
        result.bytesFreed += e.size;
      }
      continue;
    }
    let outcome: Awaited<ReturnType<typeof removeEntry>>;
    try {
      outcome = await removeEntry(cacheDir, e, lockName);
    } catch (err) {
      // One entry that cannot go (permissions: debootstrap's files belong to root) does not stop the rest.
      skip(e, 'error', `could not remove it: ${(err as Error).message}`);
      continue;
    }
    if (outcome === 'removed') {
      result.removed.push(e);
      result.bytesFreed += e.size;
    } else skip(e, outcome, outcome === 'in-use' ? 'a running fetch or build holds it' : outcome === 'gone' ? 'removed by someone else meanwhile' : 'used again while pruning');
  }
  return result;
}

/** Take the entry's lock (never waiting), check it is unchanged, rename it into trash/, release, delete. */
async function removeEntry(cacheDir: string, e: CacheEntry, lockName: string | undefined): Promise<'removed' | 'in-use' | 'changed' | 'gone'> {
  let release: (() => Promise<void>) | undefined;
  if (lockName) {
    await mkdir(join(cacheDir, 'locks'), { recursive: true });
    try {
      release = await lockfile.lock(lockTarget(cacheDir, lockName), { ...LOCK_OPTS, retries: 0, onCompromised: () => undefined });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return 'in-use';
      throw err;
    }
  }
  const trashDir = join(cacheDir, 'trash');
  const trashed = join(trashDir, `${e.kind}-${e.key.replace(/[^A-Za-z0-9._-]+/g, '_')}.${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    if (!existsSync(e.path)) return 'gone';
    // Used again since it was listed (a cache hit touched it): keep it.
    const now = await measure(e.path).catch(() => undefined);
    if (!now) return 'gone';
    if ((await lastUsedOf(e.kind, e.path, now.newest)).getTime() > e.lastUsed.getTime()) return 'changed';
    await mkdir(trashDir, { recursive: true });
    try {
      await rename(e.path, trashed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw err;
    }
  } finally {
    await release?.().catch(() => undefined);
  }
  await rm(trashed, { recursive: true, force: true }).catch((err: Error) => {
    throw new Error(`moved out of the cache to ${trashed}, but deleting it failed: ${err.message}`);
  });
  return 'removed';
}

async function isLocked(cacheDir: string, lockName: string): Promise<boolean> {
  return lockfile.check(lockTarget(cacheDir, lockName), LOCK_OPTS).catch(() => false);
}

function pidRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

async function isDir(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** Apparent size of everything under `path`, and the newest mtime among its files (for debootstrap). */
async function measure(path: string): Promise<{ size: number; newest: number }> {
  const st = await lstat(path);
  if (!st.isDirectory()) return { size: st.size, newest: st.mtimeMs };
  let size = 0;
  let newest = st.mtimeMs;
  for (const n of await readdir(path)) {
    const sub = await measure(join(path, n)).catch(() => ({ size: 0, newest: 0 }));
    size += sub.size;
    newest = Math.max(newest, sub.newest);
  }
  return { size, newest };
}

async function mtimeMs(p: string): Promise<number> {
  return (await stat(p).catch(() => undefined))?.mtimeMs ?? 0;
}

/** When an entry was last used, from the marks each kind leaves. */
async function lastUsedOf(kind: CacheKind, path: string, newest: number): Promise<Date> {
  const st = await lstat(path);
  switch (kind) {
    case 'build': {
      const marker = await mtimeMs(join(path, USED_MARKER));
      return new Date(marker || (await mtimeMs(join(path, 'result.json'))) || st.mtimeMs);
    }
    case 'blob':
      // Reading it (a build sends the toolchain archive) sets its atime under relatime; touchUsed sets it too.
      return new Date(Math.max(st.atimeMs, st.mtimeMs));
    case 'git':
      // A fetch into the repo changes these; a cache hit calls touchUsed (the `used` marker).
      return new Date(Math.max(st.mtimeMs, await mtimeMs(join(path, USED_MARKER)), await mtimeMs(join(path, 'FETCH_HEAD')), await mtimeMs(join(path, 'refs', 'crio-build'))));
    case 'debootstrap':
      return new Date(newest);
    default:
      return new Date(st.mtimeMs);
  }
}

async function detailsOf(kind: CacheKind, path: string, base: string): Promise<CacheEntryDetails> {
  if (kind === 'git') return { source: base.replace(/-[0-9a-f]{16}\.git$/, '').replace(/\.git$/, '') };
  if (kind !== 'build') return {};
  const readJson = async (p: string) => JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const result = await readJson(join(path, 'result.json')).catch(() => undefined);
  const marker = await readJson(join(path, USED_MARKER)).catch(() => undefined);
  const d: CacheEntryDetails = {
    component: str(marker?.component) ?? str(result?.component),
    arch: str(marker?.arch) ?? str(result?.arch),
    version: str(marker?.version) ?? str(result?.version),
    strategy: str(result?.strategy),
  };
  if (!result) d.note = 'no result.json';
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as CacheEntryDetails;
}

/**
 * Run locks: one crio-build run at a time per cache dir and per artifacts dir, across processes.
 *
 *   <dir>/.crio-build.lock        proper-lockfile's lock (a directory made with mkdir, atomic); its
 *                                 mtime is refreshed while held, so a holder that died (even by
 *                                 SIGKILL) leaves a lock that goes stale after `staleMs` and is
 *                                 taken over by the next run
 *   <dir>/.crio-build.lock.json   who holds it: pid, host, command, since (written right after the
 *                                 lock is taken, removed before it is released)
 *
 * A second run waits and says why (onWaiting gets the holder), or with `wait: false` fails at once
 * with a RunLockBusyError naming the holder (exit code 75, EX_TEMPFAIL: try again later).
 * Locks are re-entrant within one process (the cache dir and the artifacts dir may be the same).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { CrioBuildError, ExitCode, type ExitCodeValue } from '../core/errors.js';
import { writeJsonAtomic } from '../core/atomic.js';

/** EX_TEMPFAIL from sysexits.h; ExitCode.busy once src/core/errors.ts has it. */
export const BUSY_EXIT_CODE = ((ExitCode as Record<string, number>)['busy'] ?? 75) as ExitCodeValue;

export const RUN_LOCK_NAME = '.crio-build.lock';
export const RUN_LOCK_INFO = '.crio-build.lock.json';
export const DEFAULT_STALE_MS = 60_000;
export const DEFAULT_POLL_MS = 1_000;

export interface RunLockHolder {
  pid: number;
  host: string;
  /** The command line of the holder, e.g. `crio-build release-1.18 --arch arm64`. */
  command: string;
  /** When it took the lock (ISO 8601). */
  since: string;
  /** The locked directory. */
  dir: string;
  /** Identifies one holding, so a release never removes a successor's info. */
  token: string;
}

export interface RunLockOptions {
  /** Wait for the holder (true) or fail at once with RunLockBusyError (false: --no-wait). */
  wait: boolean;
  /** Called when the run starts waiting, and again whenever the holder changes. null: holder unknown. */
  onWaiting?: (holder: RunLockHolder | null, dir: string) => void;
  /** How often to try again while waiting (default 1 s). */
  pollMs?: number;
  /** A lock not refreshed for this long belongs to a dead process and is taken over (default 60 s, at least 2 s). */
  staleMs?: number;
  /** Give up waiting after this long (default: wait as long as it takes). */
  timeoutMs?: number;
  /** What the holder info says this process is running (default: this process's command line). */
  command?: string;
  /**
   * The lock was lost while held (its refresh failed for longer than staleMs, e.g. the machine was
   * suspended, and another run may have taken it over). Default: say so on stderr and send this
   * process SIGTERM, so the CLI's cleanup runs and the run stops instead of racing the other one.
   */
  onCompromised?: (err: Error, dir: string) => void;
}

export type ReleaseRunLock = () => Promise<void>;

export class RunLockBusyError extends CrioBuildError {
  constructor(
    readonly dir: string,
    readonly holder: RunLockHolder | null,
    waitedMs?: number,
  ) {
    super(
      `${dir} is in use by another crio-build run: ${describeHolder(holder)}${waitedMs !== undefined ? ` (gave up after waiting ${Math.round(waitedMs / 1000)}s)` : ''}`,
      BUSY_EXIT_CODE,
      'run again once it has finished (without --no-wait a run waits for it); a lock left by a process that died is taken over about a minute after it stopped',
    );
  }
}

/** "pid 123 on host-a, `crio-build release-1.18 --arch arm64`, since 2020-06-01T12:00:00.000Z (5m ago)". */
export function describeHolder(holder: RunLockHolder | null, now = Date.now()): string {
  if (!holder) return 'a process that has not said who it is yet (no lock info file)';
  const since = Date.parse(holder.since);
  const ago = Number.isFinite(since) ? ` (${formatAgo(now - since)} ago)` : '';
  const alive = holder.host === hostname() && !pidAlive(holder.pid) ? '; that process is no longer running here, so the lock is taken over once it is stale' : '';
  return `pid ${holder.pid} on ${holder.host}, \`${holder.command}\`, since ${holder.since}${ago}${alive}`;
}

function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function runLockPaths(dir: string): { lock: string; info: string } {
  return { lock: join(dir, RUN_LOCK_NAME), info: join(dir, RUN_LOCK_INFO) };
}

/** Who holds the run lock on `dir` now (null when nobody does, or the holder has not written its info yet). */
export async function readRunLockHolder(dir: string): Promise<RunLockHolder | null> {
  const { info } = runLockPaths(dir);
  try {
    const parsed = JSON.parse(await readFile(info, 'utf8')) as Partial<RunLockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, command: String(parsed.command ?? '?'), since: String(parsed.since ?? '?'), dir: String(parsed.dir ?? dir), token: String(parsed.token ?? '') };
  } catch {
    return null;
  }
}

/** Is the run lock on `dir` held (and fresh) right now? */
export async function isRunLocked(dir: string, staleMs = DEFAULT_STALE_MS): Promise<boolean> {
  const abs = resolve(dir);
  return lockfile.check(abs, { realpath: false, stale: staleMs, lockfilePath: runLockPaths(abs).lock });
}

interface Held {
  count: number;
  release: () => Promise<void>;
}
/** Locks this process holds, by real path: a second acquire of the same dir only counts. */
const held = new Map<string, Held>();

/** `crio-build release-1.18 --arch arm64` when run through the launcher, else `node <script> <args>`. */
function defaultCommand(): string {
  const script = process.argv[1] ?? '';
  const head = basename(script).replace(/\.js$/, '') === 'crio-build' ? ['crio-build'] : [basename(process.execPath), script].filter(Boolean);
  return [...head, ...process.argv.slice(2)].join(' ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Take the run lock on `dir` (made if missing). Resolves to the release function once held;
 * rejects with RunLockBusyError when `wait` is false (or `timeoutMs` passed) and another run holds it.
 */
export async function acquireRunLock(dir: string, opts: RunLockOptions): Promise<ReleaseRunLock> {
  mkdirSync(dir, { recursive: true });
  const real = realpathSync(dir);
  const mine = held.get(real);
  if (mine) {
    mine.count++;
    return once(async () => {
      if (--mine.count === 0) {
        held.delete(real);
        await mine.release();
      }
    });
  }

  const staleMs = Math.max(opts.staleMs ?? DEFAULT_STALE_MS, 2_000);
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const { lock: lockPath, info: infoPath } = runLockPaths(real);
  const token = randomBytes(8).toString('hex');
  const onCompromised = (err: Error) => {
    held.delete(real);
    removeInfoSync(infoPath, token);
    (opts.onCompromised ?? defaultOnCompromised)(err, real);
  };
  const started = Date.now();
  let reported: string | undefined;

  for (;;) {
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lockfile.lock(real, { realpath: false, lockfilePath: lockPath, stale: staleMs, update: Math.max(1_000, Math.floor(staleMs / 4)), retries: 0, onCompromised });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    }
    if (release) {
      const holder: RunLockHolder = { pid: process.pid, host: hostname(), command: opts.command ?? defaultCommand(), since: new Date().toISOString(), dir: real, token };
      try {
        await writeJsonAtomic(infoPath, holder);
      } catch (err) {
        await release().catch(() => undefined);
        throw err;
      }
      const entry: Held = {
        count: 1,
        release: async () => {
          await removeInfo(infoPath, token);
          await release!().catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ERELEASED' && e.code !== 'ENOTACQUIRED') throw e;
          });
        },
      };
      held.set(real, entry);
      infoFilesHeld.set(infoPath, token);
      return once(async () => {
        if (--entry.count === 0) {
          held.delete(real);
          infoFilesHeld.delete(infoPath);
          await entry.release();
        }
      });
    }

    // Held by someone else: who? (A new holder writes its info just after taking the lock.)
    let holder = await readRunLockHolder(real);
    if (!holder) {
      await sleep(Math.min(pollMs, 200));
      holder = await readRunLockHolder(real);
    }
    if (!opts.wait) throw new RunLockBusyError(real, holder);
    if (opts.timeoutMs !== undefined && Date.now() - started >= opts.timeoutMs) throw new RunLockBusyError(real, holder, Date.now() - started);
    const id = holder ? `${holder.host}/${holder.pid}/${holder.token}` : 'unknown';
    if (id !== reported) {
      reported = id;
      opts.onWaiting?.(holder, real);
    }
    await sleep(pollMs);
  }
}

/**
 * Take the run locks on several dirs (e.g. the cache dir and the artifacts dir), always in the same
 * order (by real path, duplicates once), so two runs needing an overlapping set never deadlock.
 */
export async function acquireRunLocks(dirs: string[], opts: RunLockOptions): Promise<ReleaseRunLock> {
  const reals = [
    ...new Set(
      dirs.map((d) => {
        mkdirSync(d, { recursive: true });
        return realpathSync(d);
      }),
    ),
  ].sort();
  const releases: ReleaseRunLock[] = [];
  const releaseAll = once(async () => {
    for (const r of releases.reverse()) await r();
  });
  try {
    for (const d of reals) releases.push(await acquireRunLock(d, opts));
  } catch (err) {
    await releaseAll();
    throw err;
  }
  return releaseAll;
}

/** The message the CLI prints while waiting. */
export function waitingMessage(holder: RunLockHolder | null, dir: string): string {
  return `waiting for ${dir}: another crio-build run holds it: ${describeHolder(holder)} (use --no-wait to fail instead of waiting)`;
}

function defaultOnCompromised(err: Error, dir: string): void {
  process.stderr.write(`crio-build: error: lost the run lock on ${dir} (${err.message}); another run may be using it now, so this one stops\n`);
  process.exitCode = BUSY_EXIT_CODE;
  process.kill(process.pid, 'SIGTERM');
}

function once(fn: () => Promise<void>): ReleaseRunLock {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

async function removeInfo(infoPath: string, token: string): Promise<void> {
  try {
    const cur = JSON.parse(await readFile(infoPath, 'utf8')) as { token?: string };
    if (cur.token === token) await rm(infoPath, { force: true });
  } catch {
    // gone already, or unreadable: not ours to fix
  }
}

function removeInfoSync(infoPath: string, token: string): void {
  try {
    const cur = JSON.parse(readFileSync(infoPath, 'utf8')) as { token?: string };
    if (cur.token === token) unlinkSync(infoPath);
  } catch {
    // as above
  }
}

/** Info files of locks held at exit: proper-lockfile removes its lock dirs then, we remove our info. */
const infoFilesHeld = new Map<string, string>();
process.on('exit', () => {
  for (const [path, token] of infoFilesHeld) removeInfoSync(path, token);
});

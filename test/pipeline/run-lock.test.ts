/**
 * Run locks between real processes: a second run waits and says who holds the lock, proceeds when
 * the first releases; with no-wait it fails at once naming the holder; a SIGKILLed holder's lock
 * goes stale and is taken over; holders never overlap.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  acquireRunLock,
  acquireRunLocks,
  BUSY_EXIT_CODE,
  isRunLocked,
  readRunLockHolder,
  RunLockBusyError,
  runLockPaths,
  type RunLockHolder,
} from '../../src/pipeline/run-lock.js';
import { tempDir } from '../helpers/tmp.js';

const MODULE = new URL('../../src/pipeline/run-lock.js', import.meta.url).href;

/**
 * A child process that takes the run lock on DIR (waiting, or not with `nowait`), prints LOCKED,
 * optionally appends start/end lines to DIR/log around a pause, and holds the lock until it reads
 * `release` on stdin (or, with `auto`, releases by itself after the pause).
 */
const CHILD = `
import { acquireRunLock, waitingMessage } from ${JSON.stringify(MODULE)};
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
const [dir, mode, staleMs, label] = process.argv.slice(1);
try {
  const release = await acquireRunLock(dir, {
    wait: mode !== 'nowait',
    pollMs: 100,
    staleMs: Number(staleMs),
    command: 'crio-build test-holder ' + label,
    onWaiting: (h, d) => console.log('WAITING ' + JSON.stringify(h) + ' MESSAGE ' + waitingMessage(h, d)),
  });
  console.log('LOCKED ' + process.pid);
  if (mode === 'auto') {
    appendFileSync(join(dir, 'log'), 'start ' + label + '\\n');
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(join(dir, 'log'), 'end ' + label + '\\n');
  } else {
    process.stdin.setEncoding('utf8');
    for await (const chunk of process.stdin) if (chunk.includes('release')) break;
  }
  await release();
  console.log('RELEASED');
} catch (e) {
  console.log('ERROR ' + e.name + ' ' + e.exitCode + ' ' + e.message);
  process.exitCode = typeof e.exitCode === 'number' ? e.exitCode : 1;
}
`;

interface Holder {
  child: ChildProcess;
  out: () => string;
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function holder(dir: string, mode: 'wait' | 'nowait' | 'auto', label: string, staleMs = 60_000): Holder {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir, mode, String(staleMs), label], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    child,
    out: () => out,
    exited,
    waitFor: async (re, timeoutMs = 20_000) => {
      const t0 = Date.now();
      for (;;) {
        const m = out.match(re);
        if (m) return m;
        if (child.exitCode !== null && !out.match(re)) {
          await new Promise((r) => setTimeout(r, 50));
          const late = out.match(re);
          if (late) return late;
          throw new Error(`${label} exited (${child.exitCode}) without ${re}: stdout ${out} stderr ${err}`);
        }
        if (Date.now() - t0 > timeoutMs) throw new Error(`${label}: no ${re} after ${timeoutMs} ms: stdout ${out} stderr ${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

describe('run lock between processes', () => {
  test('a second run waits, says who holds the lock and why, and proceeds when the first releases', async () => {
    const dir = await tempDir();
    const a = holder(dir, 'wait', 'first');
    const pidA = Number((await a.waitFor(/LOCKED (\d+)/))[1]);
    assert.equal(pidA, a.child.pid);

    const b = holder(dir, 'wait', 'second');
    const waiting = await b.waitFor(/WAITING (.*) MESSAGE (.*)/);
    const seen = JSON.parse(waiting[1]!) as RunLockHolder;
    assert.equal(seen.pid, pidA, 'the waiter names the holder pid');
    assert.equal(seen.host, hostname());
    assert.equal(seen.command, 'crio-build test-holder first');
    assert.ok(Date.now() - Date.parse(seen.since) < 60_000, `since is a recent time: ${seen.since}`);
    const message = waiting[2]!;
    assert.match(message, new RegExp(`pid ${pidA} on ${hostname()}`));
    assert.match(message, /`crio-build test-holder first`/);
    assert.match(message, /--no-wait/);

    // Still waiting a while later: it did not take the lock while the first holds it.
    await new Promise((r) => setTimeout(r, 700));
    assert.doesNotMatch(b.out(), /LOCKED/);

    a.child.stdin!.write('release\n');
    await a.waitFor(/RELEASED/);
    const pidB = Number((await b.waitFor(/LOCKED (\d+)/))[1]);
    assert.equal(pidB, b.child.pid);
    assert.equal((await readRunLockHolder(dir))?.pid, pidB, 'the info file now names the second run');
    b.child.stdin!.write('release\n');
    await b.waitFor(/RELEASED/);
    assert.equal(await a.exited, 0);
    assert.equal(await b.exited, 0);
    assert.ok(!existsSync(runLockPaths(dir).lock), 'released: no lock left');
    assert.ok(!existsSync(runLockPaths(dir).info), 'released: no info file left');
  });

  test('with no-wait a second run fails at once with exit code 75, naming the holder', async () => {
    const dir = await tempDir();
    const a = holder(dir, 'wait', 'first');
    const pidA = Number((await a.waitFor(/LOCKED (\d+)/))[1]);
    const t0 = Date.now();
    const c = holder(dir, 'nowait', 'impatient');
    const code = await c.exited;
    const elapsed = Date.now() - t0;
    assert.equal(code, 75);
    assert.match(c.out(), new RegExp(`ERROR RunLockBusyError 75 .*is in use by another crio-build run: pid ${pidA} on ${hostname()}, \`crio-build test-holder first\`, since `));
    assert.doesNotMatch(c.out(), /WAITING|LOCKED/);
    assert.ok(elapsed < 5_000, `failed at once (${elapsed} ms, most of it node start-up)`);
    a.child.stdin!.write('release\n');
    assert.equal(await a.exited, 0);
  });

  test('a lock left by a SIGKILLed process goes stale and is taken over', async () => {
    const dir = await tempDir();
    const staleMs = 2_000;
    const a = holder(dir, 'wait', 'doomed', staleMs);
    const pidA = Number((await a.waitFor(/LOCKED (\d+)/))[1]);
    a.child.kill('SIGKILL');
    assert.equal(await a.exited, null, 'killed by a signal');
    assert.ok(existsSync(runLockPaths(dir).lock), 'SIGKILL left the lock behind');
    assert.equal((await readRunLockHolder(dir))?.pid, pidA, 'and its info');

    const t0 = Date.now();
    const b = holder(dir, 'wait', 'successor', staleMs);
    const waiting = await b.waitFor(/WAITING (.*) MESSAGE (.*)/);
    assert.equal((JSON.parse(waiting[1]!) as RunLockHolder).pid, pidA);
    assert.match(waiting[2]!, /no longer running here/, 'the waiter sees the holder is gone');
    const pidB = Number((await b.waitFor(/LOCKED (\d+)/, 15_000))[1]);
    const took = Date.now() - t0;
    assert.equal(pidB, b.child.pid);
    assert.equal((await readRunLockHolder(dir))?.pid, pidB);
    assert.ok(took < 12_000, `taken over about staleMs after the kill (${took} ms)`);
    b.child.stdin!.write('release\n');
    assert.equal(await b.exited, 0);
  });

  test('runs that all wait hold the lock one at a time (no overlapping start/end)', async () => {
    const dir = await tempDir();
    const runs = ['r1', 'r2', 'r3', 'r4'].map((l) => holder(dir, 'auto', l));
    const codes = await Promise.all(runs.map((r) => r.exited));
    assert.deepEqual(codes, [0, 0, 0, 0], runs.map((r) => r.out()).join('\n'));
    const log = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');
    assert.equal(log.length, 8);
    for (let i = 0; i < log.length; i += 2) {
      const label = log[i]!.replace(/^start /, '');
      assert.equal(log[i + 1], `end ${label}`, `interleaved: ${log.join(' | ')}`);
    }
  });
});

describe('run lock in one process', () => {
  test('re-entrant per directory; info written while held and removed on release', async () => {
    const dir = await tempDir();
    const r1 = await acquireRunLock(dir, { wait: false, command: 'crio-build unit' });
    const info = await readRunLockHolder(dir);
    assert.equal(info?.pid, process.pid);
    assert.equal(info?.command, 'crio-build unit');
    assert.ok(await isRunLocked(dir));
    const r2 = await acquireRunLock(dir, { wait: false });
    await r2();
    assert.ok(await isRunLocked(dir), 'still held by the outer holder');
    await r1();
    await r1(); // releasing twice is harmless
    assert.equal(await isRunLocked(dir), false);
    assert.equal(await readRunLockHolder(dir), null);
  });

  test('acquireRunLocks takes each distinct dir once, in a fixed order, and releases all', async () => {
    const a = await tempDir();
    const b = await tempDir();
    const release = await acquireRunLocks([b, a, b], { wait: false });
    assert.ok(await isRunLocked(a));
    assert.ok(await isRunLocked(b));
    await release();
    assert.equal(await isRunLocked(a), false);
    assert.equal(await isRunLocked(b), false);
  });

  test('a missing dir is made; a busy dir with wait and a timeout gives up with the holder named', async () => {
    const dir = join(await tempDir(), 'not', 'yet');
    const other = holder(dir, 'wait', 'holder');
    await other.waitFor(/LOCKED/);
    const seen: (RunLockHolder | null)[] = [];
    await assert.rejects(
      acquireRunLock(dir, { wait: true, pollMs: 50, timeoutMs: 400, onWaiting: (h) => seen.push(h) }),
      (err: unknown) => {
        assert.ok(err instanceof RunLockBusyError);
        assert.equal(err.exitCode, BUSY_EXIT_CODE);
        assert.equal(err.holder?.pid, other.child.pid);
        assert.match(err.message, /gave up after waiting/);
        return true;
      },
    );
    assert.equal(seen.length, 1, 'told once while the holder stayed the same');
    other.child.stdin!.write('release\n');
    assert.equal(await other.exited, 0);
  });
});

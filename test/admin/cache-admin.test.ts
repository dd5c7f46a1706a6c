/**
 * Cache administration on a real cache dir: blobs and git repos made by the real fetchers
 * (download, fetchCommit), build outputs laid out as the build stage stores them, leftovers of
 * interrupted work. Locks are held by real child processes through SourceCache.withLock, as a
 * running fetch or build holds them. The CLI (`cache list|prune`) runs in a child process.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { lstat, mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { buildLockName, cacheTotals, listCache, pruneCache, touchUsed, DAY_MS, type CacheEntry } from '../../src/admin/cache-admin.js';
import { acquireRunLock } from '../../src/pipeline/run-lock.js';
import { SourceCache } from '../../src/source/cache.js';
import { fetchCommit } from '../../src/source/git.js';
import { download } from '../../src/source/http.js';
import { makeBareRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/tmp.js';

const here = (rel: string) => new URL(rel, import.meta.url).href;

/** Set atime and mtime of `path` and everything under it to `days` ago. */
async function age(path: string, days: number): Promise<void> {
  const t = new Date(Date.now() - days * DAY_MS);
  const st = await lstat(path);
  if (st.isDirectory()) for (const n of await readdir(path)) await age(join(path, n), days);
  if (!st.isSymbolicLink()) await utimes(path, t, t);
}

/** A build output as the build stage stores it: builds/<key>/{out/..., result.json}. */
async function makeBuild(cacheDir: string, component: string, arch: string, bytes: number): Promise<{ key: string; dir: string }> {
  const key = randomBytes(32).toString('hex');
  const dir = join(cacheDir, 'builds', key);
  await mkdir(join(dir, 'out', 'bin'), { recursive: true });
  await writeFile(join(dir, 'out', 'bin', component), Buffer.alloc(bytes, 1));
  const result = { component, arch, strategy: 'cross', outputs: [], shlibsDepends: '', builderImage: 'x', logFile: '/dev/null', seconds: 1 };
  await writeFile(join(dir, 'result.json'), JSON.stringify(result));
  return { key, dir };
}

/** A verified download made by the real downloader. */
async function makeBlob(cache: SourceCache, work: string, bytes: number): Promise<{ sha: string; path: string }> {
  const content = randomBytes(bytes);
  const sha = createHash('sha256').update(content).digest('hex');
  const src = join(work, `src-${sha.slice(0, 8)}`);
  await writeFile(src, content);
  const d = await download(cache, pathToFileURL(src).href, sha);
  return { sha, path: d.path };
}

/** A bare repo in the cache made by the real git fetcher. */
async function makeGit(cache: SourceCache, work: string): Promise<string> {
  const bare = join(work, `upstream-${randomBytes(3).toString('hex')}.git`);
  const { second } = makeBareRepo(join(work, `w-${randomBytes(3).toString('hex')}`), bare);
  return (await fetchCommit(cache, pathToFileURL(bare).href, second)).repoPath;
}

/** A child process holding SourceCache locks (as a running fetch or build does) until told to release. */
async function holdLocks(cacheDir: string, names: string[]): Promise<{ child: ChildProcess; release: () => Promise<void> }> {
  const code = `
    import { SourceCache } from ${JSON.stringify(here('../../src/source/cache.js'))};
    const [dir, ...names] = process.argv.slice(1);
    const cache = new SourceCache(dir);
    const hold = async (i) => {
      if (i < names.length) return cache.withLock(names[i], () => hold(i + 1));
      console.log('HELD');
      process.stdin.setEncoding('utf8');
      for await (const c of process.stdin) if (c.includes('release')) return;
    };
    await hold(0);
    console.log('RELEASED');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, cacheDir, ...names], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  for (let i = 0; !out.includes('HELD'); i++) {
    if (i > 400 || child.exitCode !== null) throw new Error(`lock holder did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    child,
    release: async () => {
      child.stdin!.write('release\n');
      await closed;
      assert.match(out, /RELEASED/);
    },
  };
}

const CLI_HARNESS = `
  import yargs from ${JSON.stringify(import.meta.resolve('yargs'))};
  import { cacheCommand } from ${JSON.stringify(here('../../src/cli/commands/cache.js'))};
  import { CrioBuildError, UsageError } from ${JSON.stringify(here('../../src/core/errors.js'))};
  try {
    await yargs(process.argv.slice(1)).scriptName('crio-build').command(cacheCommand).strict()
      .fail((msg, err) => { if (err) throw err; throw new UsageError(msg ?? 'bad arguments', 'see \`crio-build --help\`'); })
      .parseAsync();
  } catch (err) {
    if (err instanceof CrioBuildError) {
      process.stderr.write('crio-build: error: ' + err.message + '\\n' + (err.hint ? 'crio-build: ' + err.hint + '\\n' : ''));
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write('internal error: ' + (err && err.stack) + '\\n');
      process.exitCode = 70;
    }
  }
`;

interface CliRun {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `crio-build cache ...` as main.ts runs a command: yargs strict, CrioBuildError -> message + exit code. */
function startCacheCli(args: string[]): CliRun {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CLI_HARNESS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_CONFIG_HOME: '/nonexistent-crio-build-test', CRIO_BUILD_CONFIG: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on('close', (code) => r({ code, stdout, stderr })));
  return { child, stderr: () => stderr, done };
}

const runCacheCli = (args: string[]) => startCacheCli(args).done;

const byKey = (entries: CacheEntry[], key: string) => entries.find((e) => e.key === key);
const trashLeft = (cacheDir: string) => (existsSync(join(cacheDir, 'trash')) ? readdirSync(join(cacheDir, 'trash')) : []);

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('listCache', () => {
  test('lists builds, blobs, git repos, partials, leftovers and unknown things, with sizes, last use and details', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const blob = await makeBlob(cache, work, 3000);
    const repo = await makeGit(cache, work);
    const crio = await makeBuild(cacheDir, 'cri-o', 'arm64', 5000);
    await touchUsed(crio.dir, { component: 'cri-o', arch: 'arm64', version: '1.18.1+git20200601120000.abcdef1' });
    const conmon = await makeBuild(cacheDir, 'conmon', 'amd64', 100);
    await age(conmon.dir, 9);
    const partialHex = 'ab'.repeat(32);
    await writeFile(cache.partialPath(partialHex), Buffer.alloc(700));
    const scratch = join(cacheDir, 'builds', `${'cd'.repeat(32)}.tmp-${process.pid}-0badf00d`);
    await mkdir(join(scratch, 'out'), { recursive: true });
    await writeFile(join(cacheDir, 'stray.txt'), 'x');
    // The run lock's files and the lock dir are not entries.
    const releaseRun = await acquireRunLock(cacheDir, { wait: false });
    try {
      const entries = await listCache(cacheDir);
      assert.deepEqual(entries.map((e) => e.kind).sort(), ['blob', 'build', 'build', 'git', 'other', 'partial', 'temp']);

      const b = byKey(entries, blob.sha)!;
      assert.equal(b.kind, 'blob');
      assert.equal(b.size, 3000);
      assert.equal(b.name, `blobs/sha256/${blob.sha}`);
      assert.ok(Date.now() - b.lastUsed.getTime() < 60_000);

      const g = entries.find((e) => e.kind === 'git')!;
      assert.equal(g.path, repo);
      assert.equal(g.key, basename(repo));
      assert.ok(g.size > 0);
      assert.match(g.details.source!, /upstream-[0-9a-f]{6}$/, 'the readable part of the repo name');

      const c = byKey(entries, crio.key)!;
      assert.equal(c.kind, 'build');
      assert.deepEqual(c.details, { component: 'cri-o', arch: 'arm64', version: '1.18.1+git20200601120000.abcdef1', strategy: 'cross' });
      assert.ok(c.size >= 5000);
      const m = byKey(entries, conmon.key)!;
      assert.deepEqual(m.details, { component: 'conmon', arch: 'amd64', strategy: 'cross' });
      assert.ok(Math.abs(Date.now() - m.lastUsed.getTime() - 9 * DAY_MS) < 60_000, 'last used: when the result was stored (no hit since)');

      assert.equal(byKey(entries, partialHex)!.size, 700);
      const t = entries.find((e) => e.kind === 'temp')!;
      assert.deepEqual([t.details.pid, t.details.running], [process.pid, true]);
      assert.equal(entries.find((e) => e.kind === 'other')!.name, 'stray.txt');

      const totals = cacheTotals(entries);
      assert.equal(totals.count, 7);
      assert.equal(totals.size, entries.reduce((s, e) => s + e.size, 0));
      assert.equal(totals.byKind.build!.count, 2);
    } finally {
      await releaseRun();
    }
  });

  test('an entry whose lock a running process holds is marked in use', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const blob = await makeBlob(cache, work, 10);
    const build = await makeBuild(cacheDir, 'cri-o', 'arm64', 10);
    const holder = await holdLocks(cacheDir, [`blob-${blob.sha}`, buildLockName(build.key)]);
    try {
      const entries = await listCache(cacheDir);
      assert.equal(byKey(entries, blob.sha)!.inUse, true);
      assert.equal(byKey(entries, build.key)!.inUse, true);
    } finally {
      await holder.release();
    }
    assert.ok((await listCache(cacheDir)).every((e) => !e.inUse));
  });

  test('a missing cache dir lists nothing', async () => {
    assert.deepEqual(await listCache(join(await tempDir(), 'none')), []);
  });
});

describe('touchUsed', () => {
  test('a cache hit makes an old build, blob or repo recent again', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const build = await makeBuild(cacheDir, 'cri-o', 'arm64', 10);
    const blob = await makeBlob(cache, work, 10);
    const repo = await makeGit(cache, work);
    for (const p of [build.dir, blob.path, repo]) await age(p, 30);
    const before = await listCache(cacheDir);
    assert.ok(before.every((e) => Date.now() - e.lastUsed.getTime() > 29 * DAY_MS), 'all old');
    const blobMtime = (await lstat(blob.path)).mtimeMs;

    assert.equal(await touchUsed(build.dir), true);
    assert.equal(await touchUsed(blob.path), true);
    assert.equal(await touchUsed(repo), true);
    const after = await listCache(cacheDir);
    assert.ok(after.every((e) => Date.now() - e.lastUsed.getTime() < 60_000), 'all recent');
    assert.equal((await lstat(blob.path)).mtimeMs, blobMtime, "a blob's mtime is kept (only its atime moves)");
    assert.equal(await touchUsed(join(work, 'missing')), false, 'best effort: false, never a failure');
  });
});

describe('pruneCache', () => {
  test('by default removes only leftovers: old partial downloads, scratch and trash of dead processes', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    await cache.ensureDirs();
    const build = await makeBuild(cacheDir, 'cri-o', 'arm64', 10);
    await age(build.dir, 400);
    const oldPart = 'aa'.repeat(32);
    const newPart = 'bb'.repeat(32);
    await writeFile(cache.partialPath(oldPart), Buffer.alloc(1000));
    await age(cache.partialPath(oldPart), 2);
    await writeFile(cache.partialPath(newPart), Buffer.alloc(500));
    await age(cache.partialPath(newPart), 0.5);
    const dead = deadPid();
    const deadScratch = join(cacheDir, 'builds', `${'cc'.repeat(32)}.tmp-${dead}-0badf00d`);
    const liveScratch = join(cacheDir, 'builds', `${'dd'.repeat(32)}.tmp-${process.pid}-0badf00d`);
    await mkdir(join(deadScratch, 'out'), { recursive: true });
    await writeFile(join(deadScratch, 'out', 'f'), Buffer.alloc(300));
    await mkdir(liveScratch, { recursive: true });
    const trash = join(cacheDir, 'trash', `build-${'ee'.repeat(32)}.${dead}-0badf00d`);
    await mkdir(trash, { recursive: true });
    await writeFile(join(trash, 'f'), Buffer.alloc(200));

    const dry = await pruneCache(cacheDir, { dryRun: true });
    assert.deepEqual(dry.removed.map((e) => e.kind).sort(), ['partial', 'temp', 'trash']);
    assert.equal(dry.bytesFreed, 1500);
    assert.ok(existsSync(cache.partialPath(oldPart)) && existsSync(deadScratch) && existsSync(trash), 'a dry run removes nothing');

    const r = await pruneCache(cacheDir, { dryRun: false });
    assert.deepEqual(r.removed.map((e) => e.name).sort(), dry.removed.map((e) => e.name).sort(), 'the dry run said exactly what goes');
    assert.equal(r.bytesFreed, 1500);
    assert.ok(!existsSync(cache.partialPath(oldPart)));
    assert.ok(!existsSync(deadScratch));
    assert.ok(existsSync(cache.partialPath(newPart)), 'a partial less than a day old stays (the next fetch resumes it)');
    assert.ok(existsSync(liveScratch), "a running process's scratch dir stays");
    assert.ok(existsSync(build.dir), 'builds stay without --older-than');
    assert.deepEqual(
      r.skipped.map((s) => [s.reason, s.entry.name]),
      [['process-running', `builds/${basename(liveScratch)}`]],
    );
    assert.deepEqual(trashLeft(cacheDir), [], 'nothing left in trash');
  });

  test('--older-than: removes what was not used for that long, keeps the newest build per component/arch', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const crio = await Promise.all([20, 30, 40].map(async (days) => ({ days, ...(await makeBuild(cacheDir, 'cri-o', 'arm64', 1000)) })));
    for (const b of crio) await age(b.dir, b.days);
    const crioAmd = await makeBuild(cacheDir, 'cri-o', 'amd64', 1000);
    await age(crioAmd.dir, 50);
    const fresh = await makeBuild(cacheDir, 'conmon', 'arm64', 1000);
    await age(fresh.dir, 3);
    const oldBlob = await makeBlob(cache, work, 2000);
    await age(oldBlob.path, 15);
    const newBlob = await makeBlob(cache, work, 2000);
    const repo = await makeGit(cache, work);
    await age(repo, 12);
    // Used yesterday by a cache hit, though stored long ago:
    const hit = await makeBuild(cacheDir, 'cri-tools', 'arm64', 1000);
    await age(hit.dir, 90);
    await touchUsed(hit.dir);

    const r = await pruneCache(cacheDir, { olderThanDays: 10, keepLatestPerComponent: 1, dryRun: false });
    const removed = new Set(r.removed.map((e) => e.path));
    assert.deepEqual(
      [...removed].sort(),
      [crio[1]!.dir, crio[2]!.dir, oldBlob.path, repo].sort(),
      'the two older cri-o/arm64 builds, the old blob and the old repo',
    );
    assert.equal(r.bytesFreed, r.removed.reduce((s, e) => s + e.size, 0));
    assert.ok(existsSync(crio[0]!.dir), 'the newest cri-o/arm64 build is kept though 20 days old');
    assert.ok(existsSync(crioAmd.dir), 'and the only cri-o/amd64 one');
    for (const p of [fresh.dir, newBlob.path, hit.dir]) assert.ok(existsSync(p), `${p} is recent`);
    assert.deepEqual(r.skipped.map((s) => s.reason).sort(), ['latest', 'latest']);
    assert.deepEqual(trashLeft(cacheDir), []);

    // The remaining entries still work: the fetcher finds no blob and downloads again, etc.
    assert.equal((await listCache(cacheDir)).length, 5);
  });

  test('olderThanDays 0 with keep 0 (--all) removes everything not in use; kinds restricts it', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const b1 = await makeBuild(cacheDir, 'cri-o', 'arm64', 10);
    const blob = await makeBlob(cache, work, 10);
    const repo = await makeGit(cache, work);
    await writeFile(join(cacheDir, 'stray.txt'), 'not ours');

    const onlyBlobs = await pruneCache(cacheDir, { olderThanDays: 0, kinds: ['blob'], dryRun: false });
    assert.deepEqual(onlyBlobs.removed.map((e) => e.path), [blob.path]);
    assert.ok(existsSync(b1.dir) && existsSync(repo));

    const all = await pruneCache(cacheDir, { olderThanDays: 0, keepLatestPerComponent: 0, dryRun: false });
    assert.deepEqual(all.removed.map((e) => e.path).sort(), [b1.dir, repo].sort());
    assert.ok(existsSync(join(cacheDir, 'stray.txt')), 'what crio-build did not put there is never removed');
  });

  test('never touches an entry whose lock a running fetch or build holds; takes it once released', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const blob = await makeBlob(cache, work, 100);
    const repo = await makeGit(cache, work);
    const build = await makeBuild(cacheDir, 'cri-o', 'arm64', 100);
    const partial = 'ff'.repeat(32);
    await writeFile(cache.partialPath(partial), Buffer.alloc(100));
    await age(cache.partialPath(partial), 3);
    // The lock names are the ones the real code takes: http.ts blob-<sha>, git.ts git-<repo dir>.
    const holder = await holdLocks(cacheDir, [`blob-${blob.sha}`, `git-${repo.split('/').pop()}`, buildLockName(build.key), `blob-${partial}`]);
    try {
      const dry = await pruneCache(cacheDir, { olderThanDays: 0, dryRun: true });
      assert.deepEqual(dry.removed, []);
      const r = await pruneCache(cacheDir, { olderThanDays: 0, dryRun: false });
      assert.deepEqual(r.removed, []);
      assert.deepEqual(r.skipped.map((s) => s.reason), ['in-use', 'in-use', 'in-use', 'in-use']);
      for (const p of [blob.path, repo, build.dir, cache.partialPath(partial)]) assert.ok(existsSync(p), `${p} untouched`);
    } finally {
      await holder.release();
    }
    const r = await pruneCache(cacheDir, { olderThanDays: 0, dryRun: false });
    assert.equal(r.removed.length, 4);
    assert.deepEqual(await listCache(cacheDir), []);
  });
});

describe('crio-build cache (CLI)', () => {
  test('cache list: a table with kind, 12-character key, size, last used, details, and totals; --json', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const build = await makeBuild(cacheDir, 'cri-o', 'arm64', 4096);
    await touchUsed(build.dir, { component: 'cri-o', arch: 'arm64', version: '1.18.1' });
    const blob = await makeBlob(cache, work, 2048);

    const r = await runCacheCli(['cache', 'list', '--cache-dir', cacheDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Cache ${cacheDir}: 2 entries`));
    assert.match(r.stdout, /kind\s+key\s+size\s+last used \(UTC\)\s+details/);
    assert.match(r.stdout, new RegExp(`build\\s+${build.key.slice(0, 12)}\\s+4\\.\\d KiB\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\((just now|\\d+m ago)\\)\\s+cri-o arm64 1\\.18\\.1 cross`));
    assert.match(r.stdout, new RegExp(`blob\\s+${blob.sha.slice(0, 12)}\\s+2\\.0 KiB`));
    assert.doesNotMatch(r.stdout, new RegExp(build.key.slice(0, 13)), 'keys shortened to 12 characters');
    assert.match(r.stdout, /Totals:[\s\S]*all\s+2\s+/);

    const j = await runCacheCli(['cache', 'list', '--cache-dir', cacheDir, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const parsed = JSON.parse(j.stdout) as { cacheDir: string; entries: { kind: string; key: string; size: number; lastUsed: string }[]; totals: { count: number } };
    assert.equal(parsed.cacheDir, cacheDir);
    assert.equal(parsed.totals.count, 2);
    assert.ok(parsed.entries.some((e) => e.key === build.key && e.kind === 'build' && !Number.isNaN(Date.parse(e.lastUsed))));
  });

  test('cache prune --dry-run, then --older-than, then --all', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    const cache = new SourceCache(cacheDir);
    const old1 = await makeBuild(cacheDir, 'cri-o', 'arm64', 1024);
    const old2 = await makeBuild(cacheDir, 'cri-o', 'arm64', 1024);
    await age(old1.dir, 40);
    await age(old2.dir, 50);
    const blob = await makeBlob(cache, work, 10);

    const dry = await runCacheCli(['cache', 'prune', '--cache-dir', cacheDir, '--older-than', '30', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would remove\\s+build\\s+${old2.key.slice(0, 12)}`));
    assert.match(dry.stdout, new RegExp(`kept\\s+build\\s+${old1.key.slice(0, 12)}.*most recently used build of cri-o/arm64`));
    assert.match(dry.stdout, /Would remove 1 entries, freeing 1\.\d KiB.*dry run: nothing was removed/);
    assert.ok(existsSync(old2.dir));

    const pr = await runCacheCli(['cache', 'prune', '--cache-dir', cacheDir, '--older-than', '30']);
    assert.equal(pr.code, 0, pr.stderr);
    assert.match(pr.stdout, /Removed 1 entries, freed 1\.\d KiB/);
    assert.ok(!existsSync(old2.dir) && existsSync(old1.dir) && existsSync(blob.path));

    const all = await runCacheCli(['cache', 'prune', '--cache-dir', cacheDir, '--all', '--json']);
    assert.equal(all.code, 0, all.stderr);
    const j = JSON.parse(all.stdout) as { removed: { kind: string }[]; bytesFreed: number; dryRun: boolean };
    assert.deepEqual(j.removed.map((e) => e.kind).sort(), ['blob', 'build']);
    assert.equal(j.dryRun, false);
    assert.deepEqual(await listCache(cacheDir), []);
    assert.ok(!existsSync(join(cacheDir, '.crio-build.lock')), 'the run lock was released');
  });

  test('bad values exit 2 naming what is allowed', async () => {
    const dir = '/nonexistent/cache';
    const cases: [string[], RegExp][] = [
      [['--older-than', 'abc'], /--older-than: expected a number of days \(e\.g\. 30 or 0\.5\), got "abc"/],
      [['--older-than', '-3'], /--older-than: expected a number of days/],
      [['--older-than', '3', '--older-than', '4'], /--older-than was given 2 times/],
      [['--kind', 'bogus'], /--kind: unknown kind "bogus"[\s\S]*allowed kinds: build, blob, git, partial, debootstrap, temp, trash/],
      [['--kind', 'build,other'], /unknown kind "other"/],
      [['--all', '--older-than', '3'], /--all and --older-than exclude each other/],
      [['--older-than', '3', '--keep-latest', 'two'], /--keep-latest: expected a whole number/],
      [['--keep-latest', '2'], /--keep-latest needs --older-than DAYS/],
      [['--bogus-flag'], /Unknown argument/],
    ];
    for (const [args, re] of cases) {
      const r = await runCacheCli(['cache', 'prune', '--cache-dir', dir, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const none = await runCacheCli(['cache']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /say `cache list` or `cache prune`/);
  });

  test('cache prune waits for a run holding the cache, or with --no-wait fails with exit 75 naming it', async () => {
    const work = await tempDir();
    const cacheDir = join(work, 'cache');
    await makeBuild(cacheDir, 'cri-o', 'arm64', 10);
    const code = `
      import { acquireRunLock } from ${JSON.stringify(here('../../src/pipeline/run-lock.js'))};
      const release = await acquireRunLock(process.argv[1], { wait: false, command: 'crio-build release-1.18 --arch arm64' });
      console.log('HELD');
      process.stdin.setEncoding('utf8');
      for await (const c of process.stdin) if (c.includes('release')) break;
      await release();
    `;
    const run = spawn(process.execPath, ['--input-type=module', '-e', code, cacheDir], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    run.stdout!.on('data', (d) => (out += d));
    const runClosed = new Promise((r) => run.on('close', r));
    while (!out.includes('HELD')) await new Promise((r) => setTimeout(r, 25));
    try {
      const r = await runCacheCli(['cache', 'prune', '--cache-dir', cacheDir, '--all', '--no-wait']);
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, new RegExp(`in use by another crio-build run: pid ${run.pid} .*\`crio-build release-1\\.18 --arch arm64\``));
      assert.equal((await listCache(cacheDir)).length, 1, 'nothing removed');
      const dry = await runCacheCli(['cache', 'prune', '--cache-dir', cacheDir, '--all', '--dry-run', '--no-wait']);
      assert.equal(dry.code, 0, 'a dry run removes nothing, so it needs no lock');
      assert.match(dry.stdout, /Would remove 1 entries/);

      // Without --no-wait it waits, says why, and prunes once the run has finished.
      const waiting = startCacheCli(['cache', 'prune', '--cache-dir', cacheDir, '--all']);
      for (let i = 0; !/waiting for /.test(waiting.stderr()); i++) {
        if (i > 400) throw new Error(`prune did not say it waits: ${waiting.stderr()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.match(waiting.stderr(), new RegExp(`waiting for ${cacheDir}: another crio-build run holds it: pid ${run.pid} on .*\`crio-build release-1\\.18 --arch arm64\``));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(waiting.child.exitCode, null, 'still waiting while the run holds the cache');
      run.stdin!.write('release\n');
      const w = await waiting.done;
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stdout, /Removed 1 entries/);
      assert.deepEqual(await listCache(cacheDir), []);
    } finally {
      if (run.exitCode === null) run.stdin!.write('release\n');
      await runClosed;
    }
  });
});

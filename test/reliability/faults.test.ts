/**
 * Fault injection: each fault is injected into a real `crio-build release-1.18 --arch arm64` run
 * (the real CLI, the real recipes, the miniature upstreams, Debian's Go), then the run is made again
 * with the fault cleared. After each: nothing partial under artifacts/ or in the cache (./leftovers.ts),
 * a message saying what failed, and a rerun that converges to the result of one undisturbed run of
 * the same site (packages/SHA256SUMS and the release directory's Packages, .debs, bundle and
 * checksums identical; on GitHub exactly the release directory's files, each once, same sha256).
 *
 *   1. the builder container killed mid-compile (docker kill)      engine 2 (a second dockerd)
 *   2. the Docker engine restarted mid-build                        engine 2
 *   3. a toolchain download that returns corrupt bytes; one cut off halfway
 *   4. GitHub answering 502 and a secondary rate limit during uploads (the local fake GitHub)
 *   5. the process SIGKILLed between two asset uploads
 *   6. the disk filling up while packaging (the artifacts dir on a small tmpfs)
 *
 * Faults 1 and 2 run on a second, private Docker engine (test/helpers/second-dockerd.ts, seeded with
 * the builder image from the main one) that the farm config names as its only host: containers there
 * are this suite's alone, so one can be killed and the engine restarted without touching the main
 * engine other tests use. Each fault gets its own copy of the reference run's cache, minus the entry
 * the fault needs made again (cri-o's build, the toolchain download), so only that part runs for real.
 * The three groups (downloads and disk; engine 2; GitHub) run at the same time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HostConfig } from '../../src/settings/settings.js';
import { baseImageTag } from '../../src/hosts/images/base-image.js';
import { connectDocker, transferImage } from '../../src/hosts/docker.js';
import { startFakeGitHub, type FakeGitHub, type FakeRelease } from '../helpers/fake-github.js';
import { startSecondDockerd, type SecondEngine } from '../helpers/second-dockerd.js';
import { tempDir } from '../helpers/tmp.js';
import {
  ARCH,
  assertConverged,
  BRANCH,
  cacheCopy,
  cliArgs,
  escapeRe,
  jobState,
  makeFaultSite,
  packagesOf,
  referenceRun,
  releaseFiles,
  runCli,
  sha256,
  startCli,
  TAG,
  until,
  type FaultSite,
  type Reference,
} from './fault-run.js';
import { downloadTraces, leftovers } from './leftovers.js';

const TOKEN = 'ghp_faultSuiteFakeToken0000000000000001';

describe('leftovers(): what it reports (so that its silence below means something)', () => {
  test('each kind of partial file in an artifacts and a cache dir is listed; whole files and the run lock are not', async () => {
    const root = await tempDir('crio-build-leftovers-');
    const art = join(root, 'artifacts');
    const cache = join(root, 'cache');
    const hex = (c: string) => c.repeat(64);
    const files: Record<string, string> = {
      'artifacts/release-1.18/arm64/packages/cri-o_1.0-1_arm64.deb': 'whole',
      'artifacts/release-1.18/arm64/packages/empty_1.0-1_arm64.deb': '',
      'artifacts/release-1.18/arm64/packages/SHA256SUMS.tmp-123-abcd': 'x',
      'artifacts/release-1.18/arm64/packages/.conmon_1-1_arm64.deb.123.0a0b0c0d0e0f.data.tmp': 'x',
      'artifacts/release-1.18/arm64/packages/.package-work-Ab12Cd/cri-o/crio': 'x',
      'artifacts/releases/.nightly-release-1.18.tmp-123-abcdef/Packages': 'x',
      'artifacts/.crio-build.lock.json': '{}',
      'artifacts/releases/nightly-release-1.18/Packages': 'whole',
      [`cache/builds/${hex('a')}/result.json`]: '{}',
      [`cache/builds/${hex('b')}/out/x`]: 'x',
      [`cache/builds/${hex('c')}.tmp-123-abcd/out/x`]: 'x',
      [`cache/blobs/sha256/${hex('d')}`]: 'x',
      [`cache/partial/${hex('d')}.part`]: 'x',
      [`cache/partial/${hex('e')}.part`]: 'x',
      'cache/trash/build-ff-123-abcd/x': 'x',
      'cache/downloads/go.tar.gz.partial': 'x',
    };
    for (const [f, body] of Object.entries(files)) {
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), body);
    }
    mkdirSync(join(art, '.crio-build.lock'));
    assert.deepEqual((await leftovers({ artifactsDir: art, cacheDir: cache })).sort(), [
      'artifacts/release-1.18/arm64/packages/.conmon_1-1_arm64.deb.123.0a0b0c0d0e0f.data.tmp: temporary name (.tmp)',
      'artifacts/release-1.18/arm64/packages/.package-work-Ab12Cd: package stage scratch dir',
      'artifacts/release-1.18/arm64/packages/SHA256SUMS.tmp-123-abcd: temporary name (.tmp-)',
      'artifacts/release-1.18/arm64/packages/empty_1.0-1_arm64.deb: zero-size package',
      'artifacts/releases/.nightly-release-1.18.tmp-123-abcdef: temporary name (.tmp-)',
      `cache/builds/${hex('b')}: no result.json (an unfinished build entry)`,
      `cache/builds/${hex('c')}.tmp-123-abcd: temporary name (.tmp-)`,
      'cache/downloads/go.tar.gz.partial: partial download (.partial)',
      `cache/partial/${hex('d')}.part: partial file of a completed download`,
      'cache/trash/build-ff-123-abcd: removal left unfinished',
    ].sort());
    assert.deepEqual(downloadTraces(cache, hex('d')).length, 2);
    assert.deepEqual(downloadTraces(cache, hex('e')).length, 1, 'a partial of an unfinished download is a trace, not a leftover');
  });
});
const OTHERS = ['conmon', 'cni-plugins', 'cri-tools'];
const row = (job: string) => `${BRANCH}/${ARCH} ${job}`;
/** The run's own account of the failure (error line and hint), for the test's diagnostics. */
const said = (stderr: string) => stderr.split('\n').filter((l) => /^crio-build: /.test(l) && !/^crio-build: (finished|done)/.test(l)).map((l) => l.slice(0, 400)).join(' | ');

describe('fault injection: a fault in a real run, then a rerun that converges to the undisturbed result', { concurrency: 3 }, () => {
  let site: FaultSite;
  let ref: Reference;
  const timings: string[] = [];

  before(async () => {
    const t0 = Date.now();
    site = await makeFaultSite();
    ref = await referenceRun(site);
    timings.push(`site ${((Date.now() - t0) / 1000 - ref.seconds).toFixed(0)}s, reference run ${ref.seconds.toFixed(0)}s`);
  });
  after(async () => {
    await site?.close();
    console.log(`# fault suite timings: ${timings.join('; ')}`);
  });

  const artifactsDir = async (name: string) => join(await tempDir(`crio-build-faults-${name}-art-`), 'artifacts');

  // ---------------------------------------------------------------------------------------------
  // Each group runs its faults one after the other (a suite's concurrency is inherited otherwise).
  describe('downloads and disk', { concurrency: 1 }, () => {
    let mount: string | undefined;
    let mounted = false;
    after(() => {
      if (mounted) execFileSync('umount', ['-l', mount!]);
    });

    test('fault 3a: the toolchain download returns corrupt bytes: exit 4 naming the URL and both sha256; nothing cached; the rerun converges', async (t) => {
      const t0 = Date.now();
      const tc = ref.toolchain;
      const cache = await cacheCopy(ref, 'corrupt', { blobs: [tc.sha256] });
      const art = await artifactsDir('corrupt');
      const args = cliArgs(site.config('downloads'), cache, art);
      // Every attempt gets corrupt bytes (a corrupt answer is not retried, but the run gets no second chance either way).
      site.server.faults.set(tc.path, Array(5).fill('corrupt'));
      const r = await runCli(args, site.env);
      site.server.faults.delete(tc.path);
      t.diagnostic(`said: ${said(r.stderr)}`);
      const corrupted = Buffer.from(tc.bytes);
      corrupted[Math.floor(corrupted.length / 2)]! ^= 0xff;
      assert.equal(r.code, 4, r.stderr.slice(-3000));
      assert.ok(
        r.stderr.includes(`crio-build: error: checksum mismatch for ${tc.url}: expected sha256 ${tc.sha256}, got ${sha256(corrupted)}`),
        `the message names the URL, the expected and the actual sha256:\n${r.stderr.slice(-1500)}`,
      );
      assert.equal(jobState(r.stderr, row('fetch')), 'FAILED');
      assert.deepEqual(downloadTraces(cache, tc.sha256), [], 'neither the blob nor a partial file is in the cache');
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache }), []);
      assert.ok(!existsSync(join(art, BRANCH, ARCH, 'build')), 'nothing was built from it');

      const again = await runCli(args, site.env);
      assert.equal(again.code, 0, again.stderr.slice(-3000));
      assert.match(again.stderr, /fetch +ok .*\(1 downloaded\)/);
      assert.equal(sha256(readFileSync(join(cache, 'blobs', 'sha256', tc.sha256))), tc.sha256);
      for (const c of ['cri-o', ...OTHERS]) assert.equal(jobState(again.stderr, row(`build:${c}`)), 'cached');
      assertConverged(ref, art, 'corrupt download, rerun');
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache }), []);
      timings.push(`3a ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    });

    test('fault 3b: the toolchain download is cut off halfway: the run resumes it with Range (206) and succeeds; converges', async (t) => {
      const t0 = Date.now();
      const tc = ref.toolchain;
      const cache = await cacheCopy(ref, 'cut', { blobs: [tc.sha256] });
      const art = await artifactsDir('cut');
      const mark = site.server.requests.length;
      site.server.faults.set(tc.path, ['cut-half']);
      const r = await runCli(cliArgs(site.config('downloads'), cache, art), site.env);
      site.server.faults.delete(tc.path);
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      const reqs = site.server.requests.slice(mark).filter((q) => q.path === tc.path);
      assert.equal(reqs[0]?.status, 200, JSON.stringify(reqs));
      const resumed = reqs.find((q) => q.status === 206);
      assert.ok(resumed, `a ranged request resumed the download: ${JSON.stringify(reqs)}`);
      const from = Number(/^bytes=(\d+)-$/.exec(resumed.range ?? '')?.[1]);
      assert.ok(from > 0 && from < tc.bytes.length, `it resumed from byte ${from} of ${tc.bytes.length}`);
      t.diagnostic(`said: ${/toolchain \S+: attempt 1 failed.*/.exec(r.stderr)?.[0] ?? '(nothing)'}`);
      assert.match(r.stderr, /toolchain go1\.13\.10:\S+: attempt 1 failed \((connection (lost|closed) after \d+[^)]*)\); retrying/, 'the retry is said');
      assert.equal(sha256(readFileSync(join(cache, 'blobs', 'sha256', tc.sha256))), tc.sha256);
      assertConverged(ref, art, 'cut-off download');
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache }), []);
      timings.push(`3b ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    });

    test('fault 6: the disk fills up while packaging: exit 5, "no space left on device" and the file; nothing half-written; with more room the rerun converges', async (t) => {
      const t0 = Date.now();
      const cache = await cacheCopy(ref, 'diskfull');
      mount = await artifactsDir('diskfull');
      mkdirSync(mount, { recursive: true });
      // Room for the build outputs (copied from the cache into artifacts/<b>/<arch>/build) and the
      // logs, plus 1.5 MiB: the packages (8 MiB, a 2 MiB cri-o .deb and a 5.5 MiB bundle) do not fit.
      const kb = (dir: string) => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);
      const outputs = kb(join(ref.artifactsDir, BRANCH, ARCH, 'build')) + kb(join(ref.artifactsDir, BRANCH, ARCH, 'logs'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${outputs + 1536}k,mode=0755`, 'tmpfs', mount]);
      mounted = true;
      const args = cliArgs(site.config('disk'), cache, mount);
      const r = await runCli(args, site.env);
      t.diagnostic(`said: ${said(r.stderr)}`);
      assert.equal(r.code, 5, r.stderr.slice(-3000));
      const pk = packagesOf(mount);
      const m = new RegExp(`crio-build: error: package: no space left on device while writing (${escapeRe(pk)}/\\S+); [\\d.]+ MiB free there now`).exec(r.stderr);
      assert.ok(m, `the message says the disk is full and which file:\n${r.stderr.slice(-1500)}`);
      assert.match(r.stderr, /crio-build: free space on the filesystem of .* and rerun/);
      assert.equal(jobState(r.stderr, row('package')), 'FAILED');
      assert.equal(jobState(r.stderr, `${BRANCH} index`), 'skipped');
      assert.deepEqual(await leftovers({ artifactsDir: mount, cacheDir: cache }), []);
      // What is there is whole: each file is byte for byte the undisturbed run's.
      const refSums = new Map(ref.packagesSums.trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)] as const));
      for (const f of existsSync(pk) ? readdirSync(pk) : []) {
        if (f === 'SHA256SUMS') assert.fail('SHA256SUMS written although packaging failed');
        assert.equal(sha256(readFileSync(join(pk, f))), refSums.get(f), `${f} is complete`);
      }
      assert.ok(!existsSync(join(mount, 'releases')), 'nothing was released');

      execFileSync('mount', ['-o', `remount,size=${outputs * 4 + 16384}k`, mount]);
      const again = await runCli(args, site.env);
      assert.equal(again.code, 0, again.stderr.slice(-3000));
      assert.equal(jobState(again.stderr, row('package')), 'ok');
      assertConverged(ref, mount, 'disk full, rerun');
      assert.deepEqual(await leftovers({ artifactsDir: mount, cacheDir: cache }), []);
      timings.push(`6 ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('Docker: the build container and the engine (a second, private engine)', { concurrency: 1 }, () => {
    let engine2: SecondEngine;
    let hosts: HostConfig[];

    before(async () => {
      const t0 = Date.now();
      const main = await connectDocker({ host: 'unix:///var/run/docker.sock' });
      engine2 = await startSecondDockerd();
      // The builder the reference run used, and the base image its content key is computed from.
      const builder = (JSON.parse(readFileSync(join(ref.cacheDir, 'builds', ref.buildKeys['cri-o']!, 'result.json'), 'utf8')) as { builderImage: string }).builderImage;
      const hostArch = await main.hostArch();
      for (const image of [baseImageTag(hostArch), builder]) await transferImage(main, engine2.driver, image);
      hosts = [{ name: 'engine2', endpoint: engine2.endpoint, platforms: [hostArch], concurrency: 2 }];
      timings.push(`engine 2 up and seeded ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    });
    after(async () => {
      await engine2?.cleanup();
    });

    const engines = () => [{ name: 'engine2', driver: engine2.driver }];
    /** Start a run that must build cri-o on engine 2, and wait until cri-o's compile has begun. */
    async function runUntilCompiling(name: string) {
      const cache = await cacheCopy(ref, name, { builds: ['cri-o'] });
      const art = await artifactsDir(name);
      const args = cliArgs(site.config('engine2', hosts), cache, art);
      const run = startCli(args, site.env);
      let ended = false;
      void run.done.then(() => (ended = true));
      const log = join(art, BRANCH, ARCH, 'logs', 'cri-o.log');
      await until('cri-o compiling on engine 2', () => (existsSync(log) && /^==> \$ make /m.test(readFileSync(log, 'utf8'))) || undefined, { everyMs: 50, stop: () => ended });
      return { cache, art, args, run, log };
    }

    async function rerunConverges(label: string, cache: string, art: string, args: string[]): Promise<string> {
      const again = await runCli(args, site.env);
      assert.equal(again.code, 0, again.stderr.slice(-3000));
      assert.equal(jobState(again.stderr, row('build:cri-o')), 'ok', 'cri-o is built by the rerun');
      assert.match(again.stderr, new RegExp(`^  ${escapeRe(row('build:cri-o'))} +ok +[\\d.]+s +engine2 `, 'm'), 'on engine 2');
      for (const c of OTHERS) assert.equal(jobState(again.stderr, row(`build:${c}`)), 'cached');
      assertConverged(ref, art, label);
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache, engines: engines() }), [], 'nothing left, no container on engine 2');
      return again.stderr;
    }

    test('fault 1: the builder container is killed mid-compile: exit 1 naming cri-o, the signal and the log; no half outputs; the rerun converges', async (t) => {
      const t0 = Date.now();
      const { cache, art, args, run, log } = await runUntilCompiling('kill');
      const list = await engine2.driver.client.listContainers({ filters: JSON.stringify({ label: ['io.crio-build.kind=build', 'io.crio-build.component=cri-o'] }) });
      assert.equal(list.length, 1, 'one cri-o build container runs on engine 2');
      const victim = engine2.driver.client.getContainer(list[0]!.Id);
      // The log names the step just before its exec starts: wait until make really runs in the container.
      await until('make running in the container', async () => ((await victim.inspect()).ExecIDs?.length ? true : undefined), { everyMs: 50, timeoutMs: 60_000 });
      await victim.kill();
      const r = await run.done;
      t.diagnostic(`said: ${said(r.stderr.replace(/\n--- last[\s\S]*?\ncrio-build: full log/, '\ncrio-build: full log'))}`);

      assert.equal(r.code, 1, r.stderr.slice(-3000));
      assert.match(r.stderr, /crio-build: error: building cri-o for arm64 \(cross\) failed: step 1\/1 \(make .*\) exited \d+: the build container stopped \(exit code 137: killed by SIGKILL; docker kill or stop, the engine stopping, or the memory limit\)$/m);
      assert.ok(r.stderr.includes(`crio-build: full log: ${log}`), 'the log is named');
      assert.match(readFileSync(log, 'utf8'), /==> FAILED in step 1\/1: .*the build container stopped/);
      assert.equal(jobState(r.stderr, row('build:cri-o')), 'FAILED');
      for (const c of OTHERS) assert.equal(jobState(r.stderr, row(`build:${c}`)), 'cached');
      assert.equal(jobState(r.stderr, row('package')), 'skipped');
      // No half outputs: cri-o's outputs appear only whole (from the cache, by rename), and were not.
      const build = join(art, BRANCH, ARCH, 'build');
      assert.deepEqual(readdirSync(build).sort(), OTHERS.flatMap((c) => [c, `${c}.json`]).sort(), 'only the cached components are under build/');
      assert.ok(!existsSync(join(cache, 'builds', ref.buildKeys['cri-o']!)), 'no cache entry for the killed build');
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache, engines: engines() }), []);

      await rerunConverges('container killed, rerun', cache, art, args);
      timings.push(`1 ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    });

    test('fault 2: the Docker engine restarts mid-build: exit 1 saying the host went away; the rerun removes the stopped container and converges', async (t) => {
      const t0 = Date.now();
      const { cache, art, args, run } = await runUntilCompiling('restart');
      // `systemctl restart docker`: stop the daemon (SIGTERM; it stops its containers), start it again on the same data root and socket.
      const restarted = engine2.restart();
      const r = await run.done;
      t.diagnostic(`said: ${said(r.stderr)}`);
      await restarted;

      assert.equal(r.code, 1, r.stderr.slice(-3000));
      // Either the farm finds the engine gone (its health probe fails while it restarts: the usual
      // case), or, if the engine answers again by the time it asks, the step fails because its
      // container stopped under it. Both are said plainly.
      if (/build: host engine2 went away \(/.test(r.stderr)) {
        assert.match(r.stderr, /^\[ *[\d.]+s\] +release-1\.18\/arm64 build: host engine2 went away \([^)\n]+\)$/m);
        assert.match(r.stderr, /crio-build: error: release-1\.18\/arm64 cri-o: no Docker host of the farm is left \(engine2: [^)]+\)/);
        assert.match(r.stderr, /crio-build: check the Docker hosts of the farm config/);
      } else {
        assert.match(r.stderr, /crio-build: error: building cri-o for arm64 \(cross\) failed: step 1\/1 \(make .*\) exited \d+: the build container stopped \(exit code 143: killed by SIGTERM; .*the engine stopping/);
      }
      assert.equal(jobState(r.stderr, row('build:cri-o')), 'FAILED');
      for (const c of OTHERS) assert.equal(jobState(r.stderr, row(`build:${c}`)), 'cached');
      assert.ok(!existsSync(join(art, BRANCH, ARCH, 'build', 'cri-o')), 'no cri-o outputs');
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache }), []);
      // The build container died with the engine; the run could not remove it while the engine was down.
      const stopped = await leftovers({ engines: engines() });
      t.diagnostic(`on engine 2 after the restart: ${stopped.join('; ') || 'nothing'}`);
      assert.ok(stopped.every((s) => /container crio-build-cri-o-arm64-\S+ \(build cri-o\) (exited|dead)/.test(s)), stopped.join('\n'));

      const stderr = await rerunConverges('engine restarted, rerun', cache, art, args);
      if (stopped.length > 0) assert.match(stderr, new RegExp(`host engine2: removed ${stopped.length} stopped container\\(s\\) an earlier run left`));
      timings.push(`2 ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('GitHub', { concurrency: 1 }, () => {
    let fake: FakeGitHub;
    before(async () => {
      fake = await startFakeGitHub({ tokens: [TOKEN], repos: ['o/r502', 'o/killed'] });
    });
    after(() => fake?.close());

    const envFor = () => ({ ...site.env, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: fake.apiUrl, GITHUB_SERVER_URL: 'https://github.com' });
    const nameOf = (url: string) => new URL(url, 'http://x').searchParams.get('name') ?? '';
    const uploadsTo = (repo: string) => fake.requests.filter((q) => q.route === 'upload-asset' && q.url.startsWith(`/repos/${repo}/`));

    function theRelease(repo: string): FakeRelease {
      const rels = fake.releases(repo);
      assert.equal(rels.length, 1, `${repo}: one release: ${rels.map((x) => `${x.tag_name}${x.draft ? ' (draft)' : ''}`).join(', ')}`);
      return rels[0]!;
    }

    /** Exactly the release directory's files, each once, uploaded, same bytes; published. */
    function assertReleaseIsTheDirectory(repo: string, art: string): FakeRelease {
      const rel = theRelease(repo);
      assert.equal(rel.tag_name, TAG);
      assert.equal(rel.draft, false, 'published, not a draft');
      const want = releaseFiles(art);
      const names = rel.assets.map((a) => a.name);
      assert.equal(new Set(names).size, names.length, `no duplicate assets: ${names.join(' ')}`);
      assert.deepEqual([...names].sort(), [...want.keys()].sort(), 'the assets are exactly the release directory');
      for (const a of rel.assets) {
        assert.equal(a.state, 'uploaded', `${a.name} is complete`);
        assert.equal(sha256(a.bytes), want.get(a.name), `${a.name}: same sha256 as the release directory's file`);
      }
      return rel;
    }

    test('fault 4: GitHub answers 502 twice and a secondary rate limit during uploads: retried, the rate limit said without the token; the asset set exact', async (t) => {
      const t0 = Date.now();
      const cache = await cacheCopy(ref, 'github502');
      const art = await artifactsDir('github502');
      fake.resetCounters();
      fake.inject('upload-asset', { kind: 'status', status: 502 }, 1, (q) => q.name?.startsWith('cri-o_') ?? false);
      fake.inject('upload-asset', { kind: 'status', status: 502 }, 1, (q) => q.name?.startsWith('cri-o-conmon_') ?? false);
      fake.inject('upload-asset', { kind: 'secondary-rate-limit', retryAfter: 1 }, 1, (q) => q.name === 'Packages');
      const r = await runCli(cliArgs(site.config('github'), cache, art, ['--publish', '--repo', 'o/r502']), envFor());
      assert.equal(r.code, 0, r.stderr.slice(-3000));

      const ups = uploadsTo('o/r502');
      assert.deepEqual(ups.filter((q) => q.status === 502).map((q) => nameOf(q.url).replace(/_.*/, '_')).sort(), ['cri-o-conmon_', 'cri-o_'], 'two 502s were answered');
      assert.deepEqual(ups.filter((q) => q.status === 403).map((q) => nameOf(q.url)), ['Packages'], 'one secondary rate limit was answered');
      t.diagnostic(`said: ${r.stderr.split('\n').filter((l) => l.startsWith('github: ')).join(' | ')}`);
      assert.match(r.stderr, /^github: secondary rate limit on POST \S+\?name=Packages\S*; waiting 1s before retry 1 of 3$/m, 'the rate limit is said');
      assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN), 'the token is not printed');
      assert.equal(jobState(r.stderr, `${BRANCH} publish`), 'ok');

      const rel = assertReleaseIsTheDirectory('o/r502', art);
      // Each file went up once in the end: the retries after a 502 replaced the half upload GitHub kept ("starter").
      const ok = ups.filter((q) => q.status === 201).map((q) => nameOf(q.url)).sort();
      assert.deepEqual(ok, rel.assets.map((a) => a.name).sort(), 'one successful upload per asset');
      assertConverged(ref, art, 'GitHub 502 and rate limit');
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache }), []);
      timings.push(`4 ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    });

    test('fault 5: the process is SIGKILLed between two asset uploads: a draft with 3 assets is left; the rerun keeps them, uploads the rest once, publishes', async (t) => {
      const t0 = Date.now();
      const cache = await cacheCopy(ref, 'killed');
      const art = await artifactsDir('killed');
      const args = cliArgs(site.config('github'), cache, art, ['--publish', '--repo', 'o/killed']);
      fake.resetCounters();
      const run = startCli(args, envFor());
      let uploaded = 0;
      fake.onAnswer = (q) => {
        if (q.route === 'upload-asset' && q.url.startsWith('/repos/o/killed/') && q.status === 201 && ++uploaded === 3) run.child.kill('SIGKILL');
      };
      const r = await run.done;
      fake.onAnswer = undefined;
      assert.equal(r.signal, 'SIGKILL', `the run was killed (it exited ${r.code}):\n${r.stderr.slice(-2000)}`);

      const draft = theRelease('o/killed');
      assert.equal(draft.draft, true, 'the release is still a draft');
      assert.deepEqual(draft.assets.map((a) => a.state), ['uploaded', 'uploaded', 'uploaded'], `three assets are up: ${draft.assets.map((a) => `${a.name} (${a.state})`).join(' ')}`);
      const kept = new Map(draft.assets.map((a) => [a.name, a.id]));
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache }), [], 'no partial file locally (the run lock is taken over by the next run)');

      fake.resetCounters();
      const again = await runCli(args, envFor());
      t.diagnostic(`rerun said: ${again.stderr.split('\n').filter((l) => /waiting for|publish +ok/.test(l)).join(' | ')}`);
      assert.equal(again.code, 0, again.stderr.slice(-3000));
      const total = releaseFiles(art).size;
      assert.match(again.stderr, new RegExp(`${escapeRe(BRANCH)} publish +ok +[\\d.]+s +uploaded ${total - 3}, replaced 0, deleted 0, unchanged 3\\b`));
      const rel = assertReleaseIsTheDirectory('o/killed', art);
      assert.equal(rel.id, draft.id, 'the draft was completed, not a second release made');
      for (const [name, id] of kept) assert.equal(rel.assets.find((a) => a.name === name)?.id, id, `${name} was kept, not uploaded again`);
      const ups = uploadsTo('o/killed').map((q) => nameOf(q.url));
      assert.equal(ups.length, total - 3, `the rerun uploaded only what was missing: ${ups.join(' ')}`);
      assert.ok(ups.every((n) => !kept.has(n)));
      assertConverged(ref, art, 'killed between uploads, rerun');
      assert.deepEqual(await leftovers({ artifactsDir: art, cacheDir: cache }), []);
      timings.push(`5 ${((Date.now() - t0) / 1000).toFixed(0)}s (rerun ${again.seconds.toFixed(0)}s)`);
    });
  });
});

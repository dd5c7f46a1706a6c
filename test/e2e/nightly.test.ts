/**
 * `crio-build nightly` through the real CLI, as GitHub Actions runs it: two branches x arm64 and
 * amd64, one branch broken upstream, as one job graph. From the job records (their start and end
 * times): the branches and arches run at once; the CNI plugins' build (the same key for both
 * branches) is made once per arch and waited for by the other branch; the healthy branch is
 * indexed once, after both its arches are packaged, with both in the release. The broken branch's
 * cri-o build fails on both arches; its other components still build, its packages and release
 * are skipped; the summary (stderr, and the job summary under GitHub Actions) lists every job; the
 * exit code is 1; the manifest says what was made from what. And a second run on the same dirs with
 * --no-wait fails at once with exit 75, naming the run that holds them.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_CACHE } from '../build/fixtures.js';
import { acquireRunLock } from '../../src/pipeline/run-lock.js';
import { addCommit } from '../fixtures/upstreams.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { runCli } from '../helpers/cli.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';
import { tempDir } from '../helpers/tmp.js';

interface Manifest {
  ok: boolean;
  jobs: Array<{ id: string; state: string; seconds: number; detail: string; startedAt?: string; endedAt?: string }>;
  releases: Array<{ tag: string; files: Array<{ file: string; sha256: string }>; provenance: { arches: Array<{ arch: string; components: Array<{ name: string; commit: string; buildKey: string; builderImage: string; toolchain: { sha256: string } }> }> } }>;
}

const ARCHES = ['arm64', 'amd64'] as const;

describe('crio-build nightly: two branches x two arches as one job graph, one branch broken upstream', () => {
  let site: TestSite;
  let summaryFile: string;
  let manifestFile: string;
  let r: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
    // Upstream breaks release-1.17's build (as a bad merge would): make stops with an error.
    await addCommit(site.upstreams.crio.path, 'release-1.17', 'Makefile', '$(error this commit breaks the build)\n', 'Makefile: broken on purpose');
    const out = await tempDir('crio-build-nightly-');
    summaryFile = join(out, 'step-summary.md');
    manifestFile = join(out, 'manifest.json');
    r = await runCli(['nightly', '--branch', 'release-1.18', '--branch', 'release-1.17', '--arch', 'arm64', '--arch', 'amd64', '--manifest', manifestFile, ...site.args], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summaryFile, GITHUB_TOKEN: '' },
    });
  });
  after(() => site?.close());

  test('exit code 1; the broken branch fails only where it must, the healthy one is released', () => {
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    const row = (id: string) => new RegExp(`^  ${id.replace(/[./]/g, (c) => `\\${c}`)} +(\\S+)`, 'm').exec(r.stderr)?.[1];
    const table = r.stderr.slice(r.stderr.lastIndexOf('crio-build: finished'));
    for (const arch of ARCHES) {
      assert.equal(row(`release-1.17/${arch} build:cri-o`), 'FAILED', table);
      for (const c of ['conmon', 'cni-plugins', 'cri-tools']) assert.match(row(`release-1.17/${arch} build:${c}`) ?? '', /^(ok|cached)$/, `release-1.17/${arch} ${c} still built`);
      assert.equal(row(`release-1.17/${arch} package`), 'skipped');
      for (const j of [`release-1.18/${arch} build:cri-o`, `release-1.18/${arch} package`]) assert.equal(row(j), 'ok', j);
    }
    assert.equal(row('release-1.17 index'), 'skipped');
    assert.equal(row('release-1.18 index'), 'ok');
    assert.ok(existsSync(join(site.artifactsDir, 'releases', 'nightly-release-1.18', 'InRelease')));
    assert.ok(!existsSync(join(site.artifactsDir, 'releases', 'nightly-release-1.17')), 'nothing released for the broken branch');
    assert.match(r.stderr, /this commit breaks the build/, 'the failure says why');
  });

  test('shares what it can: the CNI plugins (same pin) are built once per arch for both branches, at once or not; conmon (v2.0.19 and v2.0.15) twice', () => {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    const job = (id: string) => m.jobs.find((j) => j.id === id);
    for (const arch of ARCHES) {
      const cni = ['release-1.18', 'release-1.17'].map((b) => job(`${b}/${arch} build:cni-plugins`)!);
      assert.deepEqual(cni.map((j) => j.state).sort(), ['cached', 'ok'], `cni-plugins/${arch}: ${cni.map((j) => j.state).join(', ')}`);
      // The branch that did not build it waited for the one that did, in this run (the cache was empty).
      const builder = cni.find((j) => j.state === 'ok')!;
      const waiter = cni.find((j) => j.state === 'cached')!;
      assert.match(waiter.detail, new RegExp(`built in this run for ${builder.id.split(' ')[0]!.replace(/[./]/g, (c) => `\\${c}`)}$`), waiter.detail);
      // Each branch pins the conmon its own CI tests with: different pins are different builds.
      const conmon = ['release-1.18', 'release-1.17'].map((b) => job(`${b}/${arch} build:conmon`)?.state);
      assert.deepEqual(conmon, ['ok', 'ok'], `conmon/${arch}: ${conmon.join(', ')}`);
    }
    // One build job per key in the whole run: nothing was built twice.
    const builtKeys = m.jobs.filter((j) => / build:/.test(j.id) && j.state === 'ok').map((j) => /key ([0-9a-f]{12})/.exec(j.detail)![1]);
    assert.equal(new Set(builtKeys).size, builtKeys.length, `keys built: ${builtKeys.join(' ')}`);
  });

  test('one job graph: branches and arches run at once; each branch is indexed once, after all its arches are packaged', () => {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    const ran = m.jobs.filter((j) => j.startedAt && j.endedAt && j.state !== 'skipped').map((j) => ({ ...j, t0: Date.parse(j.startedAt!), t1: Date.parse(j.endedAt!) }));
    const overlap = (a: (typeof ran)[number], b: (typeof ran)[number]) => a.t0 < b.t1 && b.t0 < a.t1;
    const pairs = (same: (a: string, b: string) => boolean) => ran.flatMap((a) => ran.filter((b) => a.id < b.id && overlap(a, b) && same(a.id, b.id)).map((b) => `${a.id} | ${b.id}`));
    const branchOf = (id: string) => id.split(/[/ ]/)[0]!;
    const archOf = (id: string) => /^\S+\/(\S+) /.exec(id)?.[1];
    const builds = (id: string) => / build:/.test(id);
    const acrossBranches = pairs((a, b) => builds(a) && builds(b) && branchOf(a) !== branchOf(b));
    const acrossArches = pairs((a, b) => builds(a) && builds(b) && !!archOf(a) && !!archOf(b) && archOf(a) !== archOf(b));
    const timeline = ran.map((j) => `${j.id} ${j.startedAt} .. ${j.endedAt}`).join('\n');
    assert.ok(acrossBranches.length > 0, `builds of both branches ran at once:\n${timeline}`);
    assert.ok(acrossArches.length > 0, `arm64 and amd64 builds ran at once:\n${timeline}`);

    const index = m.jobs.filter((j) => j.id === 'release-1.18 index');
    assert.equal(index.length, 1, 'release-1.18 is indexed once');
    const packaged = ran.filter((j) => /^release-1\.18\/\S+ package$/.test(j.id));
    assert.equal(packaged.length, 2, 'both arches packaged');
    assert.ok(Date.parse(index[0]!.startedAt!) >= Math.max(...packaged.map((j) => j.t1)), `index after every package:\n${timeline}`);
    const rel = m.releases.find((x) => x.tag === 'nightly-release-1.18')!;
    assert.deepEqual(rel.provenance.arches.map((a) => a.arch).sort(), ['amd64', 'arm64'], 'the release has both arches');
    for (const arch of ARCHES) assert.ok(rel.files.some((f) => f.file.endsWith(`_${arch}.deb`)), `${arch} .debs in the release`);
    // Both arches of a branch were built from the one lock: the same commits.
    const commits = rel.provenance.arches.map((a) => a.components.map((c) => `${c.name}@${c.commit}`).sort().join(' '));
    assert.equal(commits[0], commits[1]);
  });

  test('under GitHub Actions: log groups, and the summary table in the job summary', () => {
    // The runs go on at once and Actions groups cannot nest: a stage is a group when none is open.
    const marks = r.stderr.split('\n').filter((l) => /^::(group|endgroup)::/.test(l));
    assert.ok(marks.some((l) => /^::group::release-1\.1[78]\/(arm64|amd64) \w+$/.test(l)), marks.join('\n'));
    let open = false;
    for (const m of marks) {
      assert.ok(!(open && m.startsWith('::group::')), `a group opened inside another:\n${marks.join('\n')}`);
      open = m.startsWith('::group::');
    }
    const md = readFileSync(summaryFile, 'utf8');
    assert.match(md, /^\| job \| result \| time \| host \| detail \|$/m);
    assert.match(md, /^\| release-1\.17\/arm64 build:cri-o \| FAILED \|/m);
    assert.match(md, /^\| release-1\.18 index \| ok \|/m);
  });

  test('the manifest: every job, and each released artifact with the inputs it came from', () => {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    assert.equal(m.ok, false);
    assert.ok(m.jobs.some((j) => j.id === 'release-1.17/arm64 build:cri-o' && j.state === 'failed'));
    const rel = m.releases.find((x) => x.tag === 'nightly-release-1.18');
    assert.ok(rel, 'release-1.18 is in the manifest');
    const crio = rel.provenance.arches[0]?.components.find((c) => c.name === 'cri-o');
    assert.equal(crio?.commit, site.upstreams.crio.branches['release-1.18']);
    assert.match(crio?.buildKey ?? '', /^[0-9a-f]{64}$/);
    assert.match(crio?.builderImage ?? '', /^crio-build\/builder-/);
    assert.match(crio?.toolchain.sha256 ?? '', /^[0-9a-f]{64}$/);
    const sums = readFileSync(join(site.artifactsDir, 'releases', 'nightly-release-1.18', 'SHA256SUMS'), 'utf8');
    for (const f of rel.files.filter((x) => x.file.endsWith('.deb'))) assert.ok(sums.includes(`${f.sha256}  ${f.file}`), f.file);
  });

  test('--no-wait while another run holds the dirs: exit 75 at once, naming the holder', async () => {
    const release = await acquireRunLock(site.artifactsDir, { wait: false, command: 'crio-build nightly (the other run)' });
    try {
      const t0 = Date.now();
      const busy = await runCli(['nightly', '--branch', 'release-1.18', '--arch', 'arm64', '--no-wait', ...site.args]);
      assert.equal(busy.code, 75, busy.stderr);
      assert.match(busy.stderr, new RegExp(`pid ${process.pid}`));
      assert.match(busy.stderr, /the other run/);
      assert.ok(Date.now() - t0 < 20_000, 'failed at once, without building');
    } finally {
      await release();
    }
  });
});

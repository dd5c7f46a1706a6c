/**
 * The plan for release-1.18/arm64, made from the REAL recipes with mirrors pointing at the
 * miniature upstreams, through the CLI as a user runs it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addCommit } from '../fixtures/upstreams.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';

interface PlanJson {
  branch: string;
  kubernetes: string;
  arch: string;
  lock: string;
  components: { name: string; version: string; commit: string; pinnedBy: string; strategy: string; builder: string; fetchUrl: string; url: string; toolchain: { name: string; arch: string; fetchUrl: string; sha256: string; overridden: boolean }; package: { name: string; version: string; file: string }; key: string }[];
  jobs: { id: string; kind: string; deps: string[]; key: string; keyFrom?: string; inputs?: string }[];
  artifacts: { name: string; job: string; key: string }[];
}

describe('plan and fetch (real recipes, fixture upstreams)', () => {
  let site: TestSite;
  before(async () => {
    site = await makeTestSite();
  });
  after(() => site.close());

  const plan = async (extra: string[] = []) => {
    const r = await runCli(['plan', 'release-1.18', '--arch', 'arm64', '--json', ...site.args, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PlanJson;
  };

  test('resolves every pin and lists components, toolchain, builder, strategy and artifacts with keys', async () => {
    const p = await plan();
    const up = site.upstreams;
    assert.equal(p.branch, 'release-1.18');
    assert.equal(p.kubernetes, '1.18');
    const byName = Object.fromEntries(p.components.map((c) => [c.name, c]));
    assert.deepEqual(Object.keys(byName).sort(), ['cni-plugins', 'conmon', 'cri-o', 'cri-tools']);

    const crio = byName['cri-o']!;
    assert.equal(crio.commit, up.crio.branches['release-1.18']);
    assert.equal(crio.pinnedBy, 'branch-head');
    assert.equal(crio.url, 'https://github.com/cri-o/cri-o', 'the recipe URL is kept');
    assert.equal(crio.fetchUrl, `${up.mirror.to}cri-o/cri-o`, 'and fetched through the mirror');
    // The head is one commit past v1.18.1: a nightly version above 1.18.1.
    assert.match(crio.version, new RegExp(`^1\\.18\\.1\\+git\\d{14}\\.${crio.commit.slice(0, 7)}$`));
    assert.match(crio.package.file, /^cri-o_1\.18\.1_git\d{14}\.[0-9a-f]{7}-1_arm64\.deb$/);

    // release-1.18's CI tests with conmon v2.0.19; every pin is the fixture's, swapped in by the config.
    assert.equal(byName.conmon!.commit, up.conmon.tags['v2.0.19']);
    assert.equal(byName.conmon!.pinnedBy, 'config');
    assert.equal(byName.conmon!.version, '2.0.19');
    assert.equal(byName['cni-plugins']!.commit, up.cniPlugins.tags['v0.8.1']);
    assert.equal(byName['cni-plugins']!.pinnedBy, 'config');
    assert.equal(byName['cri-tools']!.commit, up.criTools.tags['v1.18.0']);
    assert.equal(byName['cri-tools']!.package.name, 'cri-tools');

    for (const c of p.components) {
      assert.equal(c.strategy, 'cross');
      assert.equal(c.builder, 'debian-bookworm');
      assert.equal(c.toolchain.name, 'go1.13.10');
      assert.equal(c.toolchain.overridden, true);
      assert.equal(c.toolchain.arch, 'amd64', 'cross builds run the host toolchain');
      assert.equal(c.toolchain.fetchUrl, site.toolchains.amd64.url);
      // A build's key needs its builder's, which comes from what the builder image holds: it is
      // decided when the image exists (the build stage), and the plan says so.
      assert.equal(c.key, 'pending:builder');
    }
    for (const j of p.jobs) {
      if (j.kind === 'source' || j.kind === 'toolchain') assert.match(j.key, /^[0-9a-f]{64}$/, `${j.id} is keyed when planning`);
      else {
        assert.equal(j.key, 'pending:builder', `${j.id} waits for the builder image`);
        assert.ok(j.keyFrom && j.keyFrom.length > 10, `${j.id} says what decides its key`);
      }
      if (j.kind === 'build') assert.match(j.inputs ?? '', /^[0-9a-f]{64}$/, `${j.id} has the digest of its inputs`);
    }
    assert.match(p.jobs.find((j) => j.kind === 'builder')!.keyFrom!, /dpkg-query/);
    const names = p.artifacts.map((a) => a.name);
    for (const expected of ['cri-o-conmon_2.0.19-1_arm64.deb', 'containernetworking-plugins_0.8.1-1_arm64.deb', 'cri-tools_1.18.0-1_arm64.deb', 'SHA256SUMS', 'InRelease', 'Packages']) {
      assert.ok(names.includes(expected), `artifacts lack ${expected}: ${names.join(' ')}`);
    }
    assert.ok(names.some((n) => /^cri-o\.arm64\.v1\.18\.1_git\d{14}\.[0-9a-f]{7}\.tar\.gz$/.test(n)), 'bundle named like cri-o\'s release bundle');
    for (const a of p.artifacts) assert.equal(a.key, 'pending:builder');
    // The job graph is in dependency order.
    const seen = new Set<string>();
    for (const j of p.jobs) {
      for (const d of j.deps) assert.ok(seen.has(d), `${j.id} comes before its dependency ${d}`);
      seen.add(j.id);
    }
    assert.ok(existsSync(p.lock));
  });

  test('the text plan shows the same in tables', async () => {
    const r = await runCli(['plan', 'release-1.18', '--arch', 'arm64', ...site.args]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Plan for cri-o release-1\.18 \(Kubernetes 1\.18\), linux\/arm64/);
    assert.match(r.stdout, /conmon\s+2\.0\.19\s+tag v2\.0\.19\s+[0-9a-f]{12} \(pin swapped by config\)\s+cross/);
    assert.match(r.stdout, /cni-plugins\s+0\.8\.1\s+tag v0\.8\.1\s+[0-9a-f]{12} \(pin swapped by config\)/);
    assert.match(r.stdout, /Artifacts:/);
    assert.match(r.stdout, /builder:debian-bookworm:amd64:cross-arm64:go1\.13\.10\s+pending:builder/);
  });

  const inputs = (p: PlanJson) => p.jobs.filter((j) => j.kind === 'build').map((j) => j.inputs);
  const buildInputs = (p: PlanJson, component: string) => p.jobs.find((j) => j.id === `build:${component}:arm64`)!.inputs;

  test('emulate uses the target toolchain; build inputs are stable and change only with their inputs', async () => {
    const cross = await plan();
    const again = await plan();
    assert.deepEqual(inputs(again), inputs(cross), 'same inputs, same digests');
    const emulate = await plan(['--strategy', 'emulate']);
    for (const c of emulate.components) {
      assert.equal(c.toolchain.arch, 'arm64');
      assert.equal(c.toolchain.sha256, site.toolchains.arm64.sha256);
    }
    assert.notDeepEqual(inputs(emulate), inputs(cross));
    assert.notEqual(emulate.jobs.find((j) => j.kind === 'builder')!.id, cross.jobs.find((j) => j.kind === 'builder')!.id, 'another builder');
  });

  test('fetch puts every source and toolchain in the cache, verified', async () => {
    const r = await runCli(['fetch', 'release-1.18', '--arch', 'arm64', '--json', ...site.args]);
    assert.equal(r.code, 0, r.stderr);
    const f = JSON.parse(r.stdout) as { sources: Record<string, { commit: string; repoPath: string }>; toolchains: Record<string, { path: string; sha256: string }> };
    assert.deepEqual(Object.keys(f.sources).sort(), ['cni-plugins', 'conmon', 'cri-o', 'cri-tools']);
    assert.equal(f.toolchains['go1.13.10:amd64']!.sha256, site.toolchains.amd64.sha256);
    assert.ok(existsSync(f.toolchains['go1.13.10:amd64']!.path));
  });

  test('a tag in the mirror that differs from the recipe pin is refused (exit 4)', async () => {
    // Without the config's pin swap, the fixture's tags are not the real upstream commits.
    const r = await runCli(['plan', 'release-1.18', '--arch', 'arm64', '--mirror', site.upstreams.mirror.from + '=' + site.upstreams.mirror.to, '--cache-dir', site.cacheDir, '--artifacts', join(site.root, 'other')]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /cri-tools: tag v1\.18\.0 at .* points at [0-9a-f]{40}, but the recipe pins fad4c4ea1c3a3208050e9f8e34fa4a38065f8af2|conmon: tag v2\.0\.19 at .* points at [0-9a-f]{40}, but the recipe pins 25585dd8e8ebff68baa00f695115eff4191ca1f9|cni-plugins: tag v0\.8\.1 at .* points at [0-9a-f]{40}, but the recipe pins fe60fcddb897079746ec1523fd1837ab05b1e689/);
    assert.equal(hasStackTrace(r.stderr), false);
  });

  test('an upstream commit changes the nightly version and cri-o key only; --lock replays the old inputs offline', async () => {
    const before = await plan();
    const lock = readFileSync(before.lock, 'utf8');
    const lockCopy = join(site.root, 'saved.lock.json');
    (await import('node:fs')).writeFileSync(lockCopy, lock);
    const newHead = await addCommit(site.upstreams.crio.path, 'release-1.18', 'README.md', 'one more change\n', 'docs: one more change');
    const afterChange = await plan();
    const key = (p: PlanJson, n: string) => p.components.find((c) => c.name === n)!;
    assert.equal(key(afterChange, 'cri-o').commit, newHead);
    assert.notEqual(buildInputs(afterChange, 'cri-o'), buildInputs(before, 'cri-o'));
    assert.equal(buildInputs(afterChange, 'conmon'), buildInputs(before, 'conmon'));
    const cmp = (await import('node:child_process')).spawnSync('dpkg', ['--compare-versions', key(afterChange, 'cri-o').package.version, 'gt', key(before, 'cri-o').package.version]);
    assert.equal(cmp.status, 0, 'each nightly sorts above the previous one');

    // Take the upstreams away: the lock and the cache are enough.
    renameSync(site.upstreams.root, site.upstreams.root + '.gone');
    try {
      const replay = await plan(['--lock', lockCopy]);
      assert.deepEqual(replay.components.map((c) => [c.name, c.commit]), before.components.map((c) => [c.name, c.commit]));
      assert.deepEqual(inputs(replay), inputs(before));
      const r = await runCli(['fetch', 'release-1.18', '--arch', 'arm64', '--lock', lockCopy, ...site.args]);
      assert.equal(r.code, 0, r.stderr);
      const live = await runCli(['plan', 'release-1.18', '--arch', 'arm64', ...site.args]);
      assert.equal(live.code, 4, 'without the lock, the unreachable upstream is a source error');
      assert.match(live.stderr, /cannot list refs of file:\/\//);
    } finally {
      renameSync(site.upstreams.root + '.gone', site.upstreams.root);
    }
  });

  test('a lock for another branch, or a malformed lock, is refused with exit 3', async () => {
    const p = await plan();
    let r = await runCli(['plan', 'release-1.17', '--arch', 'arm64', '--lock', p.lock, ...site.args]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /this lock is for branch "release-1\.18", not "release-1\.17"/);
    const bad = join(site.root, 'bad.lock.json');
    (await import('node:fs')).writeFileSync(bad, readFileSync(p.lock, 'utf8').replace(/"commit": "[0-9a-f]{40}"/, '"commit": "HEAD"'));
    r = await runCli(['plan', 'release-1.18', '--arch', 'arm64', '--lock', bad, ...site.args]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /bad\.lock\.json:\d+: components\.[a-z-]+\.commit: 40 lower-case hex digits/);
  });
});

describe('per-branch and per-component overrides', () => {
  let site: TestSite;
  before(async () => {
    site = await makeTestSite();
  });
  after(() => site.close());

  test('a branch gives one component another Go and toolchain-dependent env; the plan and keys show it', async () => {
    const { cpSync, writeFileSync } = await import('node:fs');
    const recipes = join(site.root, 'recipes');
    cpSync(new URL('../../../recipes', import.meta.url), recipes, { recursive: true });
    // Another toolchain, with env that only builds using it get (GOPATH-mode era Go).
    writeFileSync(
      join(recipes, 'toolchains', 'go1.12.17.yaml'),
      ['kind: toolchain', 'name: go1.12.17', 'language: go', 'version: 1.12.17', 'root: go', 'archives:', `  amd64: { url: "${site.toolchains.amd64.url}", sha256: ${site.toolchains.amd64.sha256} }`, 'env:', '  GO111MODULE: "off"', ''].join('\n'),
    );
    const branch = join(recipes, 'branches', 'release-1.18.yaml');
    writeFileSync(branch, readFileSync(branch, 'utf8') + 'overrides:\n  cri-tools:\n    toolchain: go1.12.17\n    env: { GOFLAGS: -mod=vendor }\n');
    const r = await runCli(['plan', 'release-1.18', '--arch', 'arm64', '--json', '--recipes', recipes, ...site.args]);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as PlanJson;
    const tools = p.components.find((c) => c.name === 'cri-tools')!;
    assert.equal(tools.toolchain.name, 'go1.12.17');
    assert.equal(tools.toolchain.overridden, false);
    assert.equal(p.components.find((c) => c.name === 'cri-o')!.toolchain.name, 'go1.13.10', 'other components keep the branch toolchain');
    assert.ok(p.jobs.some((j) => j.id === 'toolchain:go1.12.17:amd64'));
    const base = await runCli(['plan', 'release-1.18', '--arch', 'arm64', '--json', ...site.args]);
    const basePlan = JSON.parse(base.stdout) as PlanJson;
    const inputsOf = (q: PlanJson) => q.jobs.find((j) => j.id === 'build:cri-tools:arm64')!.inputs;
    assert.notEqual(inputsOf(p), inputsOf(basePlan), 'another toolchain and env: other build inputs');
    assert.equal(p.jobs.find((j) => j.id === 'build:cri-o:arm64')!.inputs, basePlan.jobs.find((j) => j.id === 'build:cri-o:arm64')!.inputs);
    // cri-tools now builds in a builder with another toolchain: a builder job of its own.
    assert.deepEqual(p.jobs.filter((j) => j.kind === 'builder').map((j) => j.id).sort(), ['builder:debian-bookworm:amd64:cross-arm64:go1.12.17', 'builder:debian-bookworm:amd64:cross-arm64:go1.13.10']);
  });
});

describe('branches that differ: main follows its tree, tags are targets, 1.15 builds its own conmon', () => {
  let site: TestSite;
  before(async () => {
    site = await makeTestSite();
  });
  after(() => site.close());

  const planOf = async (target: string, extra: string[] = []) => {
    const r = await runCli(['plan', target, '--arch', 'arm64', '--json', ...site.args, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PlanJson;
  };

  test('main reads its Kubernetes minor, Go and companions from the commit it builds', async () => {
    const p = await planOf('main');
    const up = site.upstreams;
    assert.equal(p.kubernetes, '1.37', 'from internal/version/version.go');
    const byName = Object.fromEntries(p.components.map((c) => [c.name, c]));
    assert.equal(byName['cri-o']!.commit, up.crio.branches.main);
    assert.match(byName['cri-o']!.version, /^1\.37\.0~dev\+git\d{14}\.[0-9a-f]{7}$/, 'a nightly below the first 1.37 release');
    // dependencies.yaml names them; the config swaps the fixture's commits in as for any pin.
    assert.equal(byName.conmon!.version, '2.1.13');
    assert.equal(byName.conmon!.commit, up.conmon.tags['v2.1.13']);
    assert.equal(byName['cni-plugins']!.version, '1.8.0');
    assert.equal(byName['cri-tools']!.version, '1.36.0');
    for (const c of p.components) assert.equal(c.toolchain.name, 'go1.26.4', `${c.name}: go.mod's go directive, matched in the catalog`);
    const lock = JSON.parse(readFileSync(join(site.artifactsDir, 'main', 'crio-build.lock.json'), 'utf8')) as { toolchain: string; kubernetes: string };
    assert.deepEqual([lock.toolchain, lock.kubernetes], ['go1.26.4', '1.37'], 'the lock records what was read, so a replay needs no tree');
  });

  test('main moving to a dependency version or a Go the recipes lack: named, before anything is built', async () => {
    const up = site.upstreams;
    const goMod = (await import('../fixtures/upstreams.js')).git;
    const current = await goMod(['show', `${up.crio.branches.main}:go.mod`], { gitDir: up.crio.path });
    await addCommit(up.crio.path, 'main', 'go.mod', current.replace(/^go .*$/m, 'go 1.99') + '\n', 'go.mod: go 1.99');
    const r = await runCli(['main', '--arch', 'arm64', ...site.args]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /cri-o main at [0-9a-f]{12} asks for Go 1\.99 \(go\.mod\), which no toolchain recipe or setting provides \(have: go1\.13\.10, go1\.26\.4\)/);
    assert.match(r.stderr, /recipes\/toolchains\/go1\.99\.yaml .* toolchains: \{ go1\.99:/);
    assert.doesNotMatch(r.stderr, /\bbuild\b.*cri-o\/arm64/, 'it stopped at resolve');
    assert.equal(hasStackTrace(r.stderr), false);
  });

  test('a cri-o release tag is a target: built with its branch\'s recipe, released and locked under the tag', async () => {
    const p = await planOf('v1.18.1');
    const crio = p.components.find((c) => c.name === 'cri-o')!;
    assert.equal(p.branch, 'v1.18.1');
    assert.equal(p.kubernetes, '1.18');
    assert.equal(crio.commit, site.upstreams.crio.tags['v1.18.1']);
    assert.equal(crio.version, '1.18.1');
    assert.equal(p.components.find((c) => c.name === 'conmon')!.version, '2.0.19', "release-1.18's companions");
    assert.ok(existsSync(join(site.artifactsDir, 'v1.18.1', 'crio-build.lock.json')));
    const r = await runCli(['plan', 'v1.18.9', '--arch', 'arm64', ...site.args]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"v1\.18\.9" is not a cri-o release tag crio-build has pinned/);
    assert.match(r.stderr, /v1\.18\.6/, 'lists the pinned tags');
  });

  test('release-1.15 builds conmon from cri-o\'s own tree, at cri-o\'s commit and version', async () => {
    const p = await planOf('release-1.15');
    const crio = p.components.find((c) => c.name === 'cri-o')!;
    const conmon = p.components.find((c) => c.name === 'conmon')!;
    assert.equal(conmon.commit, crio.commit);
    assert.equal(conmon.version, crio.version);
    assert.equal(conmon.pinnedBy, 'in-tree');
    assert.equal(conmon.fetchUrl, crio.fetchUrl);
    assert.equal(p.components.find((c) => c.name === 'cri-tools')!.version, '1.14.0', 'the crictl its CI image installs');
  });
});

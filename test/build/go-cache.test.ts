/**
 * Go's build cache kept in a volume between builds (src/build/go-cache.ts): a build that starts
 * warm gives the same bytes as one that starts cold, recompiles only what changed, and a corrupted
 * cache entry is removed and recompiled instead of changing the binary. A tiny Go module built in the
 * native amd64 builder (seconds per build); its own component name, so its volume is fresh and is
 * removed at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilderImage, builderSpecFor, type BuilderImage } from '../../src/hosts/images/builder-image.js';
import { defaultRunId, labelsFor, type DockerDriver } from '../../src/hosts/docker.js';
import { removeContainer, startContainer } from '../../src/hosts/containers.js';
import { execArgv } from '../../src/hosts/exec.js';
import { GO_CACHE_DIR, goCacheMount, goCacheVolume, listGoCacheVolumes, pruneGoCacheVolumes } from '../../src/build/go-cache.js';
import { runBuild } from '../../src/build/run-build.js';
import type { BuildJob, BuildResult } from '../../src/plan/build-job.js';
import type { BuildDefinition } from '../../src/recipe/schema.js';
import { tempDir } from '../helpers/tmp.js';
import { testDriver, toolchain } from './fixtures.js';
import { assertNoLeaks } from './leaks.js';
import { tinyRepo } from './tiny-repo.js';

const component = `gocache-test-${randomBytes(4).toString('hex')}`;
const build: BuildDefinition = {
  language: 'go',
  cgo: false,
  builder: 'debian-bookworm',
  strategy: 'cross',
  libraries: [],
  buildTags: [],
  env: {},
  // -v names each package as it is compiled: a package taken from the cache is not named.
  steps: [['go', 'build', '-v', '-o', 'bin/tiny', './cmd/tiny']],
  generate: [],
  outputs: [{ path: 'bin/tiny', type: 'binary' }],
};

/** A module of three packages; `greeting` is what one upstream commit changes. */
function tree(greeting: string): Record<string, string> {
  return {
    'go.mod': 'module example.invalid/tiny\n\ngo 1.13\n',
    'stable/stable.go': 'package stable\n\nimport "strings"\n\n// Shout is never changed by the commits of this test.\nfunc Shout(s string) string { return strings.ToUpper(s) + "!" }\n',
    'changed/changed.go': `package changed\n\nimport "fmt"\n\nfunc Greeting(n int) string { return fmt.Sprintf("${greeting} %d", n) }\n`,
    'cmd/tiny/main.go': 'package main\n\nimport (\n\t"fmt"\n\n\t"example.invalid/tiny/changed"\n\t"example.invalid/tiny/stable"\n)\n\nfunc main() { fmt.Println(stable.Shout(changed.Greeting(1))) }\n',
  };
}

let driver: DockerDriver;
let image: BuilderImage;
const sources: Record<'A' | 'B', Awaited<ReturnType<typeof tinyRepo>>> = {} as never;

async function job(commit: 'A' | 'B'): Promise<BuildJob> {
  const dir = await tempDir('crio-build-gocache-');
  return { component, arch: 'amd64', strategy: 'cross', build, source: sources[commit], version: '1.0.0', toolchain: await toolchain('amd64'), outDir: join(dir, 'out'), logFile: join(dir, 'build.log') };
}

async function buildOf(commit: 'A' | 'B', cache: 'warm' | 'cold', maxMiB = 4096): Promise<{ result: BuildResult; binary: string; compiled: string[] }> {
  const j = await job(commit);
  const result = await runBuild(j, { driver, builderImage: image, goCache: { enabled: cache === 'warm', maxMiB } });
  const { readFile } = await import('node:fs/promises');
  const log = await readFile(j.logFile, 'utf8');
  const compiled = ['example.invalid/tiny/stable', 'example.invalid/tiny/changed'].filter((p) => new RegExp(`^${p.replace(/\./g, '\\.')}$`, 'm').test(log));
  return { result, binary: result.outputs.find((o) => o.path === 'bin/tiny')!.sha256, compiled };
}

/** Run a shell script as `builder` in a throwaway container with the volume at GOCACHE; its stdout as a number. */
async function inVolume(volume: string, script: string): Promise<number> {
  const vol = goCacheVolume({ builderKey: image.key, toolchainSha256: (await toolchain('amd64')).sha256, arch: 'amd64', strategy: 'cross', component });
  assert.equal(vol.name, volume);
  const c = await startContainer(driver, {
    Image: image.tag,
    Cmd: ['/bin/sleep', 'infinity'],
    User: 'builder',
    Labels: labelsFor('build', defaultRunId),
    HostConfig: { NetworkMode: 'none', Mounts: [goCacheMount(vol)] },
  });
  try {
    const out: Buffer[] = [];
    assert.equal(await execArgv(c, ['/bin/sh', '-c', script], { user: 'builder', onStdout: (b) => out.push(b) }), 0);
    return Number(Buffer.concat(out).toString().trim());
  } finally {
    await removeContainer(c);
  }
}

/** Overwrite the first bytes of every cached output in the volume, keeping its size (Go checks only the size). */
const POISON = `find ${GO_CACHE_DIR} -type f -name '*-d' -size +8c -exec sh -c 'for f; do printf POISONED | dd of="$f" bs=8 count=1 conv=notrunc 2>/dev/null; done; echo $#' sh {} + | awk '{ n += $1 } END { print n }'`;
/** Make every entry look unused for two hours (the bound never removes what was used in the last hour). */
const AGE = `find ${GO_CACHE_DIR} -type f -exec touch -d '2 hours ago' {} + && echo 0`;
/**
 * Make every entry look used just now. The standard library entries the volume got from the image
 * carry the image's build time, and the builds here use only a few of them: once the image is more
 * than an hour old the others are rightly trimmable, so "used within the hour" is set, not assumed.
 */
const FRESH = `find ${GO_CACHE_DIR} -type f -exec touch {} + && echo 0`;

before(async () => {
  driver = await testDriver();
  sources.A = await tinyRepo(tree('hello'));
  sources.B = await tinyRepo(tree('good morning'));
  const first = await job('A');
  image = await ensureBuilderImage(driver, builderSpecFor(first, 'amd64'));
});

after(async () => {
  const vols = (await listGoCacheVolumes(driver)).filter((v) => v.labels['io.crio-build.component'] === component);
  for (const v of vols) await driver.client.getVolume(v.name).remove();
  await assertNoLeaks(driver, defaultRunId);
});

describe('Go build cache volume', () => {
  it('warm after a one-commit change: only the changed package is compiled, and the binary is byte-identical to a cold build; a corrupted cache is recompiled, not used; the bound trims it', async () => {
    // Commit A warms the (new, empty) volume: the engine copies in the image's standard library.
    const a = await buildOf('A', 'warm');
    assert.ok(a.result.goCache, 'the build used a volume');
    assert.match(a.result.goCache.volume, new RegExp(`^crio-build-gocache-${component}-amd64-cross-[0-9a-f]{16}$`));
    assert.ok(a.result.goCache.entries > 100, `the image's standard library is in the volume at first use (${a.result.goCache.entries} entries)`);
    assert.deepEqual(a.compiled, ['example.invalid/tiny/stable', 'example.invalid/tiny/changed']);

    // Commit B warm: A's packages are there; only `changed` is compiled again.
    const warm = await buildOf('B', 'warm');
    assert.ok(warm.result.goCache!.entries > a.result.goCache.entries, 'A added its packages');
    assert.equal(warm.result.goCache!.corrupt, 0);
    assert.deepEqual(warm.compiled, ['example.invalid/tiny/changed'], 'stable came from the cache');

    // Commit B cold (--no-build-cache): everything compiled, the same bytes.
    const cold = await buildOf('B', 'cold');
    assert.equal(cold.result.goCache, undefined);
    assert.deepEqual(cold.compiled, ['example.invalid/tiny/stable', 'example.invalid/tiny/changed']);
    assert.equal(warm.binary, cold.binary, 'warm and cold builds are byte-identical');
    assert.notEqual(a.binary, cold.binary, 'the commit changed the binary');

    // Every cached output overwritten at its start, size kept: each is found, removed and recompiled.
    const poisoned = await inVolume(warm.result.goCache!.volume, POISON);
    assert.ok(poisoned > 100, `poisoned ${poisoned} outputs`);
    const after = await buildOf('B', 'warm');
    assert.equal(after.result.goCache!.corrupt, poisoned, 'every poisoned output was found');
    assert.deepEqual(after.compiled, ['example.invalid/tiny/stable', 'example.invalid/tiny/changed'], 'recompiled, not taken from the poisoned cache');
    assert.equal(after.binary, cold.binary, 'the binary is the cold one');

    // A bound of 4 MiB (the 256 directories take 1): least recently used files not used in the last
    // hour go before the build, down to 3 MiB; the build still gives the same bytes.
    assert.ok(after.result.goCache!.bytes > 4 * 1048576, 'the volume is above the bound');
    // Everything used within the hour: nothing is trimmed (a build running beside it may need it).
    await inVolume(warm.result.goCache!.volume, FRESH);
    const recent = await buildOf('B', 'warm', 4);
    assert.equal(recent.result.goCache!.trimmed, 0);
    assert.equal(recent.binary, cold.binary);
    await inVolume(warm.result.goCache!.volume, AGE);
    const bounded = await buildOf('B', 'warm', 4);
    assert.ok(bounded.result.goCache!.trimmed > 0);
    assert.ok(bounded.result.goCache!.bytes <= 3 * 1048576, `${bounded.result.goCache!.bytes} bytes after trimming`);
    assert.equal(bounded.binary, cold.binary);
  });

  it('`builders prune --build-cache-only --component C` drops that component\'s volumes (pruneGoCacheVolumes); a kept builder key keeps them', async () => {
    const ours = () => listGoCacheVolumes(driver).then((l) => l.filter((v) => v.labels['io.crio-build.component'] === component).map((v) => v.name));
    const [name] = await ours();
    assert.ok(name);
    assert.deepEqual((await pruneGoCacheVolumes(driver, { components: [component], keepBuilderKeys: [image.key] })).removed, []);
    assert.deepEqual(await ours(), [name]);
    assert.deepEqual((await pruneGoCacheVolumes(driver, { components: [component] })).removed, [name]);
    assert.deepEqual(await ours(), []);
  });
});

/** Pure parts of the builder: ELF headers, the build environment, placeholders, binfmt checks. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HostNotReadyError } from '../../src/core/errors.js';
import { buildEnv, recordableEnvironment, sourceDir, substitute } from '../../src/build/build-env.js';
import { builderSpecFor } from '../../src/hosts/images/builder-image.js';
import { checkBinfmt } from '../../src/hosts/qemu.js';
import { checkElf, elfMachine, EM_AARCH64, EM_X86_64, VerifyError } from '../../src/build/verify-outputs.js';
import type { BuildJob } from '../../src/plan/build-job.js';
import { tempDir } from '../helpers/tmp.js';

function elfHeader(machine: number, cls = 2, data = 1): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, cls, data, 1], 0);
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(machine, 18);
  return b;
}

const job = (over: Partial<BuildJob> = {}): BuildJob => ({
  component: 'cri-o',
  arch: 'arm64',
  strategy: 'cross',
  build: {
    language: 'go', cgo: true, builder: 'debian-bookworm', strategy: 'cross', libraries: [], buildTags: ['seccomp', 'selinux'],
    env: { GOFLAGS: '-trimpath', STAMP: 'v{version}' }, steps: [['make']], generate: [], outputs: [{ path: 'bin/crio', type: 'binary' }],
  },
  source: { repoPath: '/r', commit: 'a'.repeat(40), commitTime: 1589803200, url: 'https://github.com/cri-o/cri-o' },
  version: '1.18.1',
  toolchain: { name: 'go', version: '1.19', tarball: '/t', sha256: 'b'.repeat(64), root: 'go', arch: 'amd64', env: { GO111MODULE: 'on' } },
  outDir: '/o',
  logFile: '/l',
  ...over,
});

describe('ELF checks', () => {
  it('reads e_machine from a 64-bit little-endian header', () => {
    assert.equal(elfMachine(elfHeader(EM_AARCH64)), 183);
    assert.equal(elfMachine(elfHeader(EM_X86_64)), 62);
    assert.equal(elfMachine(elfHeader(EM_AARCH64, 1)), undefined, '32-bit');
    assert.equal(elfMachine(elfHeader(EM_AARCH64, 2, 2)), undefined, 'big-endian');
    assert.equal(elfMachine(Buffer.from('#!/bin/sh\necho hi\n')), undefined);
    assert.equal(elfMachine(Buffer.alloc(10)), undefined);
  });

  it('accepts the right machine and names the wrong one', async () => {
    const d = await tempDir();
    await writeFile(join(d, 'a'), elfHeader(EM_AARCH64));
    await writeFile(join(d, 'x'), elfHeader(EM_X86_64));
    await writeFile(join(d, 's'), '#!/bin/sh\n');
    await checkElf(join(d, 'a'), 'arm64');
    await assert.rejects(checkElf(join(d, 'x'), 'arm64'), (e: Error) => e instanceof VerifyError && /built for x86-64, expected arm64/.test(e.message));
    await assert.rejects(checkElf(join(d, 's'), 'amd64'), /not a 64-bit little-endian ELF/);
  });
});

describe('build environment', () => {
  it('substitutes the known placeholders and leaves other braces alone', () => {
    const j = job();
    assert.equal(substitute('v{version}-{commit}', j), `v1.18.1-${'a'.repeat(40)}`);
    assert.equal(substitute('BUILDTAGS={buildTags}', j), 'BUILDTAGS=seccomp selinux');
    assert.equal(substitute('{arch}:{sourceDateEpoch}:{buildDate}', j), 'arm64:1589803200:2020-05-18T12:00:00Z');
    assert.equal(substitute('{{.Version}} {} {unknown}', j), '{{.Version}} {} {unknown}');
  });

  it('sets the cross compiler and target pkg-config for a cross build, recipe env last', () => {
    const env = buildEnv(job(), true);
    assert.equal(env.GOARCH, 'arm64');
    assert.equal(env.CGO_ENABLED, '1');
    assert.equal(env.CC, 'aarch64-linux-gnu-gcc');
    assert.equal(env.PKG_CONFIG_LIBDIR, '/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig');
    assert.equal(env.GOPROXY, 'off');
    assert.equal(env.SOURCE_DATE_EPOCH, '1589803200');
    assert.equal(env.GO111MODULE, 'on', 'toolchain env');
    assert.equal(env.GOFLAGS, '-trimpath', 'the recipe overrides ours');
    assert.equal(env.STAMP, 'v1.18.1', 'placeholders in env values');
    const native = buildEnv(job({ arch: 'amd64' }), false);
    assert.equal(native.CC, undefined);
    assert.equal(native.GOARCH, 'amd64');
  });

  it('what provenance and .buildinfo record of it: everything that shapes the build, sorted; no build user, nothing named like a secret', () => {
    const env = buildEnv(job({ build: { ...job().build, env: { GOFLAGS: '-trimpath', REGISTRY_TOKEN: 'x', SIGNING_KEY: 'y', MY_PASSWORD: 'z', KEYRING: 'k' } } }), true);
    const rec = recordableEnvironment(env);
    assert.deepEqual(Object.keys(rec), Object.keys(rec).sort());
    for (const k of ['SOURCE_DATE_EPOCH', 'GOOS', 'GOARCH', 'CGO_ENABLED', 'GOFLAGS', 'CC', 'PKG_CONFIG', 'GO111MODULE', 'KEYRING']) assert.equal(rec[k], env[k], k);
    for (const k of ['HOME', 'USER', 'REGISTRY_TOKEN', 'SIGNING_KEY', 'MY_PASSWORD']) assert.equal(rec[k], undefined, k);
    assert.equal(Object.keys(rec).length, Object.keys(env).length - 5);
  });

  it('places GOPATH-mode sources under GOPATH/src/<import path>', () => {
    assert.equal(sourceDir(job()), '/build/src');
    const j = job();
    j.build.gopath = 'github.com/cri-o/cri-o';
    assert.equal(sourceDir(j), '/build/go/src/github.com/cri-o/cri-o');
  });

  it('chooses the builder: emulate = target platform, cross = host platform + target, same arch = native', () => {
    assert.deepEqual(builderSpecFor(job({ strategy: 'emulate' }), 'amd64').platform, 'arm64');
    const cross = builderSpecFor(job(), 'amd64');
    assert.equal(cross.platform, 'amd64');
    assert.equal(cross.crossTarget, 'arm64');
    const native = builderSpecFor(job({ arch: 'amd64' }), 'amd64');
    assert.equal(native.platform, 'amd64');
    assert.equal(native.crossTarget, undefined);
  });
});

describe('binfmt check', () => {
  it('names the fix when the registration is missing, disabled or lacks F', async () => {
    const root = await tempDir();
    await mkdir(root, { recursive: true });
    const fix = /update-binfmts --enable qemu-aarch64/;
    await assert.rejects(checkBinfmt('arm64', 'amd64', root), (e: Error) => e instanceof HostNotReadyError && /missing/.test(e.message) && fix.test(e.hint ?? ''));
    await writeFile(join(root, 'qemu-aarch64'), 'disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n');
    await assert.rejects(checkBinfmt('arm64', 'amd64', root), (e: Error) => e instanceof HostNotReadyError && /disabled/.test(e.message) && fix.test(e.hint ?? ''));
    await writeFile(join(root, 'qemu-aarch64'), 'enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: P\n');
    await assert.rejects(checkBinfmt('arm64', 'amd64', root), /lacks the F/);
    await writeFile(join(root, 'qemu-aarch64'), 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n');
    await checkBinfmt('arm64', 'amd64', root);
    await checkBinfmt('amd64', 'amd64', join(root, 'nowhere')); // same arch: nothing to check
  });
});

describe('Go build cache: scope and settings', () => {
  it('one volume per builder key, toolchain, arch, strategy and component; any of them changes the volume', async () => {
    const { goCacheVolume } = await import('../../src/build/go-cache.js');
    const scope = { builderKey: 'b'.repeat(64), toolchainSha256: 't'.repeat(64), arch: 'arm64', strategy: 'cross', component: 'cri-o' };
    const v = goCacheVolume(scope);
    assert.match(v.name, /^crio-build-gocache-cri-o-arm64-cross-[0-9a-f]{16}$/);
    assert.equal(goCacheVolume({ ...scope }).name, v.name);
    for (const k of Object.keys(scope) as (keyof typeof scope)[]) assert.notEqual(goCacheVolume({ ...scope, [k]: `${scope[k]}x` }).name, v.name, k);
    assert.equal(v.labels['io.crio-build.managed'], undefined, 'not a run leftover: cleanup leaves it');
  });

  it('settings: on with 4096 MiB by default; goBuildCache in the file; --no-build-cache turns it off; a bound under 64 MiB is refused', async () => {
    const { loadSettings } = await import('../../src/settings/settings.js');
    const dir = await tempDir('crio-build-gocache-settings-');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'mirrors: []\n');
    assert.deepEqual((await loadSettings({ config: file, cacheDir: dir })).goBuildCache, { enabled: true, maxMiB: 4096 });
    writeFileSync(file, 'goBuildCache: { maxMiB: 512 }\n');
    assert.deepEqual((await loadSettings({ config: file, cacheDir: dir })).goBuildCache, { enabled: true, maxMiB: 512 });
    assert.deepEqual((await loadSettings({ config: file, cacheDir: dir, noBuildCache: true })).goBuildCache, { enabled: false, maxMiB: 512 });
    writeFileSync(file, 'goBuildCache: { maxMiB: 8 }\n');
    await assert.rejects(loadSettings({ config: file, cacheDir: dir }), /goBuildCache\.maxMiB/);
  });
});

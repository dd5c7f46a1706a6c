/**
 * The builder's key comes from what is in its image: two builder images made from the same
 * definition, base and toolchain that differ in one Debian package's version get different keys,
 * and so do the builds made in them. The difference is made the way it happens in real life (the
 * mirror moves between two unpinned builds) with a pins file: the second image is the first one's
 * recorded package set with one package at another version the mirror has. Also: pins recorded
 * through the CLI, a pinned version the mirror no longer has (refused, naming it and what the
 * mirror has), and `builders pin --check`.
 *
 * The real amd64 builder (which the rest of the suite makes anyway) shows the key read back from a
 * full image. The two images that differ by one package are made from a small builder instead, so
 * that the pair costs about two minutes rather than two full builder builds: the real
 * install-packages.sh, apt-sources.list and pins mechanism, with a Dockerfile that stops after the
 * native packages and a package list of one (openssl, which bookworm and bookworm-security carry in
 * different versions).
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  checkPins,
  DEFAULT_BUILDERS_DIR,
  ensureBuilderImage,
  parsePins,
  pinDifferences,
  type BuilderImage,
  type BuilderSpec,
} from '../../src/hosts/images/builder-image.js';
import { baseImageTag } from '../../src/hosts/images/base-image.js';
import type { DockerDriver } from '../../src/hosts/docker.js';
import { SourceError } from '../../src/core/errors.js';
import { builderKey, buildKey, PENDING_KEY, type BuilderContent } from '../../src/plan/keys.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { testDriver, toolchain } from '../build/fixtures.js';

/** The first steps of builders/debian-bookworm/Dockerfile: the suites, the pins, the native packages. */
const SMALL_DOCKERFILE = [
  'ARG BASE',
  'FROM ${BASE}',
  'ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8',
  'COPY packages.txt install-packages.sh apt-sources.list /opt/crio-build/',
  'COPY pins/ /opt/crio-build/pins/',
  'RUN ["/bin/sh", "/opt/crio-build/install-packages.sh", "native"]',
  '',
].join('\n');

const content = (over: Partial<BuilderContent> = {}): BuilderContent => ({
  definition: 'd'.repeat(64),
  platform: 'amd64',
  crossTarget: null,
  toolchain: { sha256: 'a'.repeat(64), root: 'go' },
  base: `sha256:${'b'.repeat(64)}`,
  packages: ['gcc-12:amd64 12.2.0-14', 'libseccomp-dev:amd64 2.5.4-1+b3', 'libc6:amd64 2.36-9+deb12u13'],
  ...over,
});

describe('builder keys (units)', () => {
  it('are made from the content: package order does not matter, one version does', () => {
    const k = builderKey(content());
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(builderKey(content({ packages: [...content().packages].reverse() })), k);
    assert.notEqual(builderKey(content({ packages: ['gcc-12:amd64 12.2.0-14', 'libseccomp-dev:amd64 2.5.4-1+b4', 'libc6:amd64 2.36-9+deb12u13'] })), k, 'another libseccomp');
    assert.notEqual(builderKey(content({ base: `sha256:${'c'.repeat(64)}` })), k, 'another base');
    assert.notEqual(builderKey(content({ crossTarget: 'arm64' })), k);
    assert.notEqual(builderKey(content({ toolchain: { sha256: 'e'.repeat(64), root: 'go' } })), k);
  });

  it('a build key needs a builder key (never a pending one) and follows it', () => {
    const inputs = { component: 'cri-o', build: { steps: [['make']] }, commit: 'f'.repeat(40), toolchain: 'a'.repeat(64), toolchainEnv: {}, strategy: 'cross', arch: 'arm64' };
    const k1 = buildKey(inputs, builderKey(content()));
    assert.notEqual(buildKey(inputs, builderKey(content({ packages: ['gcc-12:amd64 12.2.0-15'] }))), k1);
    assert.throws(() => buildKey(inputs, PENDING_KEY), /needs the builder's key/);
  });

  it('pins: parsed strictly, compared exactly', () => {
    assert.deepEqual(parsePins('# comment\nb:amd64 1.0\n\na:all 2:3.4-5+deb12u1  # note\n', 'x.lock'), ['a:all 2:3.4-5+deb12u1', 'b:amd64 1.0']);
    assert.throws(() => parsePins('a 1.0\n', 'x.lock'), /x\.lock:1: "a 1\.0" is not a pin \(allowed: "name:arch version"/);
    assert.deepEqual(pinDifferences(['a:all 1', 'b:amd64 2'], ['a:all 1', 'b:amd64 3', 'c:amd64 4']), ['b:amd64: 3 installed, pinned 2', 'c:amd64: 4 installed, not in the pins']);
  });
});

describe('builder images that differ by one package version', () => {
  let driver: DockerDriver;
  let spec: BuilderSpec;
  let unpinned: BuilderImage;
  let work: string;
  const timings: string[] = [];

  before(async () => {
    driver = await testDriver();
    spec = { name: 'debian-bookworm', platform: 'amd64', toolchain: await toolchain('amd64') };
    const t0 = Date.now();
    unpinned = await ensureBuilderImage(driver, spec);
    timings.push(`unpinned native amd64 builder ${unpinned.built ? 'built' : 'found'} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    work = await tempDir('crio-build-builder-key-');
  });

  /** A copy of builders/ with (or without) a pins file for the native amd64 builder; `small`: see the file's head. */
  const buildersCopy = async (name: string, lock?: string, small = false): Promise<string> => {
    const dir = join(work, name);
    await cp(join(DEFAULT_BUILDERS_DIR, 'debian-bookworm'), join(dir, 'debian-bookworm'), { recursive: true, preserveTimestamps: true });
    if (small) {
      await writeFile(join(dir, 'debian-bookworm', 'packages.txt'), 'openssl host\n');
      await writeFile(join(dir, 'debian-bookworm', 'Dockerfile'), SMALL_DOCKERFILE);
    }
    if (lock !== undefined) await writeFile(join(dir, 'debian-bookworm', 'pins', 'amd64.lock'), lock);
    return dir;
  };

  it('the builder key is read back from the image: every installed package, recorded on it; a reuse inspects only', async () => {
    assert.match(unpinned.key, /^[0-9a-f]{64}$/);
    assert.ok(unpinned.provenance.packages.length > 100, `${unpinned.provenance.packages.length} packages`);
    for (const p of ['build-essential:amd64', 'libseccomp-dev:amd64', 'libgpgme-dev:amd64', 'libglib2.0-dev:amd64', 'git:amd64']) {
      assert.ok(unpinned.provenance.packages.some((x) => x.startsWith(`${p} `)), `${p} is recorded with its version`);
    }
    assert.equal(unpinned.provenance.base.digest.length, 'sha256:'.length + 64);
    const t = Date.now();
    const again = await ensureBuilderImage(driver, spec);
    assert.equal(again.built, false);
    assert.equal(again.key, unpinned.key);
    assert.deepEqual(again.provenance.packages, unpinned.provenance.packages);
    assert.ok(Date.now() - t < 3000, `reuse took ${Date.now() - t} ms`);
    // The same definition elsewhere is the same image (and key).
    const copy = await ensureBuilderImage(driver, spec, { buildersDir: await buildersCopy('plain') });
    assert.equal(copy.tag, unpinned.tag);
    assert.equal(copy.key, unpinned.key);
  });

  it('pins recorded through the CLI, one package moved to another version the mirror has: a new image whose key differs by that package alone', async (t) => {
    // The unpinned image: the small builder (see the file's head), packages as the mirror has them today.
    const t0 = Date.now();
    const plain = await buildersCopy('small-plain', undefined, true);
    const unpinned = await ensureBuilderImage(driver, spec, { buildersDir: plain });
    timings.push(`small unpinned image ${unpinned.built ? 'built' : 'found'} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    assert.ok(unpinned.provenance.packages.some((p) => p.startsWith('openssl:amd64 ')), 'openssl is installed');
    // Record the image's package set as pins (the CLI), in a copy of builders/.
    const dir = await buildersCopy('small-pinned', undefined, true);
    const rec = await runCli(['builders', 'pin', '--arch', 'amd64', '--builders', dir, '--image', unpinned.tag]);
    assert.equal(rec.code, 0, rec.stderr);
    const lockFile = join(dir, 'debian-bookworm', 'pins', 'amd64.lock');
    assert.match(rec.stdout, new RegExp(`pinned builder debian-bookworm amd64 to the ${unpinned.provenance.packages.length} Debian packages of .*: ${lockFile.replace(/[.]/g, '\\.')}`));
    const recorded = parsePins(await readFile(lockFile, 'utf8'), lockFile);
    assert.deepEqual(recorded, unpinned.provenance.packages, 'the pins are exactly the image\'s packages');

    // Which installed package has another version on the mirror (openssl preferred: a leaf).
    const probe = await checkPins(driver, spec, unpinned.provenance.packages.map((p) => `${p.split(' ')[0]} 0~not-a-version`), { baseTag: baseImageTag('amd64') });
    const other = (name: string) => {
      const installed = unpinned.provenance.packages.find((p) => p.startsWith(`${name} `))?.split(' ')[1];
      const alt = probe.find((m) => m.pin.startsWith(`${name} `))?.available.find((v) => v !== installed);
      return installed && alt ? { name, installed, alt } : undefined;
    };
    const change = other('openssl:amd64') ?? probe.map((m) => other(m.pin.split(' ')[0]!)).find((x) => x !== undefined);
    assert.ok(change, 'some package of the image has a second version on the mirror (bookworm and bookworm-updates/-security)');
    t.diagnostic(`pinning ${change.name} to ${change.alt} (the unpinned image has ${change.installed})`);
    await writeFile(lockFile, recorded.map((p) => (p.startsWith(`${change.name} `) ? `${change.name} ${change.alt}` : p)).join('\n') + '\n');

    const t1 = Date.now();
    const pinned = await ensureBuilderImage(driver, spec, { buildersDir: dir });
    timings.push(`small pinned image ${pinned.built ? 'built' : 'found'} in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
    t.diagnostic(timings.join('; '));
    // Made here, or by an earlier run on this engine (the same pins give the same image): either
    // way it is another image than the unpinned one, and what it holds is checked below.
    assert.notEqual(pinned.tag, unpinned.tag);
    assert.equal(pinned.provenance.pins, 'pins/amd64.lock');
    // Same definition (pins are not part of it), same base, same toolchain: only the package differs.
    assert.equal(pinned.provenance.definition, unpinned.provenance.definition);
    assert.equal(pinned.provenance.base.digest, unpinned.provenance.base.digest);
    const onlyA = unpinned.provenance.packages.filter((p) => !pinned.provenance.packages.includes(p));
    const onlyB = pinned.provenance.packages.filter((p) => !unpinned.provenance.packages.includes(p));
    assert.deepEqual([onlyA, onlyB], [[`${change.name} ${change.installed}`], [`${change.name} ${change.alt}`]], 'the images differ in that one package');
    assert.notEqual(pinned.key, unpinned.key, 'and so do their keys');
    assert.notEqual(pinned.recipeKey, unpinned.recipeKey);
    // The key is the content's: recomputed from the recorded content it is the same.
    const contentOf = (img: BuilderImage): BuilderContent => ({ definition: img.provenance.definition, platform: 'amd64', crossTarget: null, toolchain: { sha256: spec.toolchain.sha256, root: 'go' }, base: img.provenance.base.digest, packages: img.provenance.packages });
    assert.equal(builderKey(contentOf(pinned)), pinned.key);
    assert.equal(builderKey(contentOf(unpinned)), unpinned.key);
    // Builds in them: different keys, from the same inputs.
    const inputs = { component: 'conmon', build: {}, commit: '0'.repeat(40), toolchain: spec.toolchain.sha256, toolchainEnv: {}, strategy: 'cross', arch: 'amd64' };
    assert.notEqual(buildKey(inputs, pinned.key), buildKey(inputs, unpinned.key));

    // The mirror still has every pinned version: --check says so.
    const check = await runCli(['builders', 'pin', '--check', '--arch', 'amd64', '--builders', dir]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, new RegExp(`all ${recorded.length} pinned versions are on the mirror`));
  });

  it('a pinned version the mirror no longer has: the image is not made, and the message names it and what the mirror has', async () => {
    const gone = 'openssl:amd64 0.0.1~crio-build-gone';
    const lock = unpinned.provenance.packages.map((p) => (p.startsWith('openssl:amd64 ') ? gone : p)).join('\n') + '\n';
    const dir = await buildersCopy('gone', lock);
    const check = await runCli(['builders', 'pin', '--check', '--arch', 'amd64', '--builders', dir]);
    assert.equal(check.code, 4, check.stderr);
    assert.match(check.stderr, /the Debian mirror no longer has 1 of \d+ pinned versions:\n {2}openssl:amd64 0\.0\.1~crio-build-gone \(the mirror has: [^)]*3\.0\.[^)]*\)/);
    assert.match(check.stderr, /snapshot\.debian\.org/);
    await assert.rejects(ensureBuilderImage(driver, spec, { buildersDir: dir }), (e: Error) => {
      assert.ok(e instanceof SourceError, String(e));
      assert.match(e.message, /is pinned to debian-bookworm\/pins\/amd64\.lock, but the Debian mirror no longer has:\n {2}openssl:amd64 0\.0\.1~crio-build-gone \(the mirror has: [^)]*3\.0\./);
      assert.match((e as SourceError).hint ?? '', /record new pins .*crio-build builders pin/);
      return true;
    });
  });
});

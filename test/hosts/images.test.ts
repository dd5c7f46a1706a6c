/**
 * Base and builder images against the real Docker engine. The first run makes them (minutes: a
 * debootstrap under qemu, apt-get under qemu); every later run, and every later ensure in the same
 * run, reuses them by content key in well under a second or two.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HostNotReadyError, InvalidInputError, SourceError } from '../../src/core/errors.js';
import { baseImageTag, ensureBaseImage } from '../../src/hosts/images/base-image.js';
import {
  builderFiles,
  builderImageKey,
  DEFAULT_BUILDERS_DIR,
  ensureBuilderImage,
  listBuilders,
  pruneBuilders,
  type BuilderSpec,
} from '../../src/hosts/images/builder-image.js';
import { connectDocker, defaultRunId, type DockerDriver } from '../../src/hosts/docker.js';
import { tempDir } from '../helpers/tmp.js';
import { testDriver, toolchain } from '../build/fixtures.js';
import { assertNoLeaks } from '../build/leaks.js';

let driver: DockerDriver;
before(async () => {
  driver = await testDriver();
});
after(async () => {
  await assertNoLeaks(driver, defaultRunId);
});

/** A stand-in toolchain archive for throwaway builders: an empty tar (two zero blocks). */
async function emptyToolchain(dir: string) {
  const tarball = join(dir, 'tc.tar');
  await writeFile(tarball, Buffer.alloc(1024));
  const sha256 = createHash('sha256').update(Buffer.alloc(1024)).digest('hex');
  return { name: 'none', version: '0', tarball, sha256, root: 'go', arch: 'amd64' as const, env: {} };
}

describe('docker driver', () => {
  it('reports an unreachable engine as HostNotReadyError naming the fix', async () => {
    await assert.rejects(connectDocker({ host: 'unix:///nonexistent/docker.sock' }), (e: Error) => {
      assert.ok(e instanceof HostNotReadyError);
      assert.match(e.message, /nonexistent\/docker\.sock/);
      assert.match(e.hint ?? '', /dockerd/);
      return true;
    });
  });
});

describe('base images', () => {
  for (const arch of ['arm64', 'amd64'] as const) {
    it(`${arch}: records the right Architecture; a second ensure reuses it at once`, async () => {
      const events: string[] = [];
      const first = await ensureBaseImage(driver, { arch, onEvent: (e) => events.push(`${e.phase}: ${e.message}`) });
      assert.equal(first.tag, baseImageTag(arch));
      assert.ok(events.length > 0, 'says what it is doing');
      const info = await driver.inspectImage(first.tag);
      assert.equal(info?.Architecture, arch);
      assert.equal(info?.Os, 'linux');
      const t = Date.now();
      const again = await ensureBaseImage(driver, { arch });
      assert.equal(again.source, 'cache');
      assert.equal(again.id, first.id);
      assert.ok(Date.now() - t < 2000, `reuse took ${Date.now() - t} ms`);
    });
  }

  it('a fresh cache dir: the debootstrap package cache is made before debootstrap sees it', async () => {
    // An engine without the base image and without a registry, so the real debootstrap runs; its
    // mirror is a closed port on loopback, so it stops right after reading its options. Before the
    // fix it stopped earlier still: "E: <cache>/debootstrap: No such directory".
    const cache = join(await tempDir('crio-build-fresh-cache-'), 'cache');
    const debCacheDir = join(cache, 'debootstrap');
    const noImages = { ...driver, inspectImage: async () => undefined, pull: async () => Promise.reject(new Error('no registry')) } as unknown as DockerDriver;
    await assert.rejects(ensureBaseImage(noImages, { arch: 'amd64', source: 'debootstrap', debCacheDir, mirror: 'http://127.0.0.1:9/debian' }), (e: Error) => {
      assert.ok(e instanceof HostNotReadyError, String(e));
      assert.doesNotMatch(e.message, /No such directory/);
      assert.match(e.message, /127\.0\.0\.1:9|Release|release file/i, 'debootstrap got as far as the mirror');
      return true;
    });
    assert.ok(existsSync(debCacheDir), 'the cache dir was made');
  });
});

describe('builder images', () => {
  it('builds the cross builder once, then reuses it by content key; listBuilders shows it', async () => {
    const spec: BuilderSpec = { name: 'debian-bookworm', platform: 'amd64', crossTarget: 'arm64', toolchain: await toolchain('amd64') };
    const first = await ensureBuilderImage(driver, spec);
    const t = Date.now();
    const again = await ensureBuilderImage(driver, spec);
    assert.equal(again.built, false);
    assert.equal(again.id, first.id);
    assert.equal(again.tag, `crio-build/builder-debian-bookworm:${again.recipeKey}`);
    assert.equal(again.key, first.key, 'the builder key is read back from the image, not made again');
    assert.match(again.key, /^[0-9a-f]{64}$/);
    assert.ok(again.provenance.packages.some((p) => /^gcc-12-aarch64-linux-gnu:amd64 /.test(p)), 'the cross compiler is among the packages');
    assert.ok(Date.now() - t < 3000, `reuse took ${Date.now() - t} ms`);
    const listed = (await listBuilders(driver)).find((b) => b.id === first.id);
    assert.ok(listed, 'listed');
    assert.equal(listed.platform, 'amd64');
    assert.equal(listed.crossTarget, 'arm64');
    // The key has the toolchain's sha256, not its name: whoever built it first named it.
    assert.equal(listed.key, first.key);
    assert.equal(listed.recipeKey, first.recipeKey);
    assert.equal(listed.packages, first.provenance.packages.length);
    // The image really has the target's compiler and libraries, and the toolchain from the context.
    const ok = await driver.client.run(first.tag, ['sh', '-c', 'aarch64-linux-gnu-gcc --version && aarch64-linux-gnu-pkg-config --libs glib-2.0 libseccomp && go version && id -un'], process.stderr, {
      Labels: { 'io.crio-build.managed': 'true', 'io.crio-build.run': defaultRunId },
      HostConfig: { AutoRemove: true, NetworkMode: 'none' },
    });
    assert.equal((ok[0] as { StatusCode: number }).StatusCode, 0);
  });

  it('the recipe key (the tag) follows the toolchain, the base, the platform and the builder files', async () => {
    const files = await builderFiles(join(DEFAULT_BUILDERS_DIR, 'debian-bookworm'));
    const tc = await toolchain('amd64');
    const spec: BuilderSpec = { name: 'debian-bookworm', platform: 'amd64', toolchain: tc };
    const k = await builderImageKey(spec, 'sha256:base', files);
    assert.equal(await builderImageKey(spec, 'sha256:base', files), k);
    assert.notEqual(await builderImageKey({ ...spec, toolchain: { ...tc, sha256: '0'.repeat(64) } }, 'sha256:base', files), k);
    assert.notEqual(await builderImageKey(spec, 'sha256:other', files), k);
    assert.notEqual(await builderImageKey({ ...spec, crossTarget: 'arm64' }, 'sha256:base', files), k);
    const d = await tempDir();
    await writeFile(join(d, 'Dockerfile'), 'FROM scratch\n');
    assert.notEqual(await builderImageKey(spec, 'sha256:base', await builderFiles(d)), k);
  });

  it('refuses a toolchain for the wrong arch, and an archive that does not match its sha256', async () => {
    const tc = await toolchain('amd64');
    await assert.rejects(ensureBuilderImage(driver, { name: 'debian-bookworm', platform: 'arm64', toolchain: tc }), InvalidInputError);
    await assert.rejects(
      ensureBuilderImage(driver, { name: 'debian-bookworm', platform: 'amd64', toolchain: { ...tc, sha256: 'f'.repeat(64) } }),
      (e: Error) => e instanceof SourceError && /expected f{64}/.test(e.message),
    );
  });

  it('a failing builder Dockerfile fails with its output and leaves none of its step images', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'broken'));
    // A unique first step, so nothing comes from the engine's build cache and its image can be found.
    const stamp = `stamp-${process.pid}-${Date.now()}`;
    await writeFile(join(dir, 'broken', 'Dockerfile'), `ARG BASE\nFROM \${BASE}\nRUN ["/bin/sh", "-c", "echo ${stamp} > /stamp"]\nRUN ["/bin/sh", "-c", "echo about to fail; exit 3"]\n`);
    const t0 = Math.floor(Date.now() / 1000) - 1;
    await assert.rejects(ensureBuilderImage(driver, { name: 'broken', platform: 'amd64', toolchain: await emptyToolchain(dir) }, { buildersDir: dir }), (e: Error) => {
      assert.match(e.message, /about to fail/);
      assert.match(e.message, /returned a non-zero code: 3/);
      return true;
    });
    const recent = (await driver.client.listImages({ all: true })).filter((i) => i.Created >= t0);
    for (const i of recent) {
      const info = await driver.inspectImage(i.Id);
      assert.doesNotMatch(JSON.stringify(info?.ContainerConfig?.Cmd ?? []), new RegExp(stamp), `step image ${i.Id} of the failed build left behind`);
    }
  });

  it('prune removes builders that are not kept (a throwaway builder here)', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'throwaway'));
    await writeFile(join(dir, 'throwaway', 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nADD toolchain.tar /opt/toolchain/\nRUN ["/bin/true"]\n');
    const img = await ensureBuilderImage(driver, { name: 'throwaway', platform: 'amd64', toolchain: await emptyToolchain(dir) }, { buildersDir: dir });
    const keep = (await listBuilders(driver)).map((b) => b.id).filter((id) => id !== img.id);
    const res = await pruneBuilders(driver, { keep });
    assert.deepEqual(res.removed, [img.tag]);
    assert.equal(await driver.inspectImage(img.tag), undefined);
  });
});

/**
 * Hermetic and safe: the compile has no network, hostile outputs are refused, failed and
 * interrupted builds leave no container behind. Uses small throwaway repositories built in the
 * native amd64 builder (cheap: no compile, no qemu).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ensureBuilderImage } from '../../src/hosts/images/builder-image.js';
import { defaultRunId, LABEL_RUN, type DockerDriver } from '../../src/hosts/docker.js';
import { BuildFailedError, runBuild } from '../../src/build/run-build.js';
import type { BuildJob } from '../../src/plan/build-job.js';
import type { BuildDefinition } from '../../src/recipe/schema.js';
import { tempDir } from '../helpers/tmp.js';
import { testDriver, toolchain } from './fixtures.js';
import { assertNoLeaks } from './leaks.js';
import { tinyRepo } from './tiny-repo.js';

let driver: DockerDriver;
before(async () => {
  driver = await testDriver();
});
after(async () => {
  await assertNoLeaks(driver, defaultRunId);
});

function def(over: Partial<BuildDefinition>): BuildDefinition {
  return { language: 'c', cgo: false, builder: 'debian-bookworm', strategy: 'cross', libraries: [], buildTags: [], env: {}, steps: [['make']], generate: [], outputs: [], ...over };
}

async function tinyJob(files: Record<string, string>, build: BuildDefinition, executable: string[] = []): Promise<BuildJob> {
  const dir = await tempDir('crio-build-hermetic-');
  return {
    component: 'tiny',
    arch: 'amd64',
    strategy: 'cross',
    build,
    source: await tinyRepo(files, executable),
    version: '1.0.0',
    toolchain: await toolchain('amd64'),
    outDir: join(dir, 'out'),
    logFile: join(dir, 'build.log'),
  };
}

async function ourContainers(runId = defaultRunId): Promise<string[]> {
  const list = await driver.client.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_RUN}=${runId}`] }) });
  return list.map((c) => c.Names[0] ?? c.Id);
}

// Tries DNS and a TCP connection to Debian's mirror, the way a build that fetches would.
const FETCH = 'fetch:\n\tgetent hosts deb.debian.org\n\tbash -c "exec 3<>/dev/tcp/deb.debian.org/80 && echo connected"\n\ttouch fetched\n';

describe('hermetic builds', () => {
  it('a step that reaches for the network fails (networking is off), with the log tail and path', async () => {
    const job = await tinyJob({ Makefile: FETCH }, def({ steps: [['make', 'fetch']], outputs: [{ path: 'fetched', type: 'doc' }] }));
    await assert.rejects(runBuild(job, { driver }), (e: Error) => {
      assert.ok(e instanceof BuildFailedError, String(e));
      assert.match(e.message, /step 1\/1 \(make fetch\) exited 2/);
      assert.match(e.message, new RegExp(`last \\d+ lines of ${job.logFile}`));
      assert.equal(e.logFile, job.logFile);
      assert.match(e.hint ?? '', /full log/);
      return true;
    });
    assert.doesNotMatch(await readFile(job.logFile, 'utf8'), /connected/);
    assert.deepEqual(await ourContainers(), [], 'the failed build removed its container');
  });

  it('control: the same commands succeed in that image when it has a network (so the failure above is the sandbox)', async () => {
    const spec = { name: 'debian-bookworm', platform: 'amd64' as const, toolchain: await toolchain('amd64') };
    const img = await ensureBuilderImage(driver, spec);
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
    const [res] = (await driver.client.run(img.tag, ['bash', '-c', 'getent hosts deb.debian.org && exec 3<>/dev/tcp/deb.debian.org/80 && echo connected'], sink, {
      Labels: { 'io.crio-build.managed': 'true', [LABEL_RUN]: defaultRunId },
      HostConfig: { AutoRemove: true },
    })) as [{ StatusCode: number }];
    assert.equal(res.StatusCode, 0, Buffer.concat(chunks).toString());
  });

  it('builds as the unprivileged builder user with only the declared environment', async () => {
    const job = await tinyJob(
      { Makefile: 'all:\n\tid -un > who\n\tenv | sort > env.txt\n' },
      def({ env: { STAMP: 'v{version}-{arch}' }, outputs: [{ path: 'who', type: 'doc' }, { path: 'env.txt', type: 'doc' }] }),
    );
    const res = await runBuild(job, { driver });
    assert.equal((await readFile(join(job.outDir, 'who'), 'utf8')).trim(), 'builder');
    const env = await readFile(join(job.outDir, 'env.txt'), 'utf8');
    assert.match(env, /^GOPROXY=off$/m);
    assert.match(env, /^SOURCE_DATE_EPOCH=1591012800$/m);
    assert.match(env, /^STAMP=v1\.0\.0-amd64$/m);
    assert.match(env, /^GOFLAGS=-mod=vendor -trimpath$/m);
    assert.equal(res.outputs.length, 2);
  });
});

describe('hostile outputs', () => {
  it('a symlink output pointing at the host is refused, nothing is written, the container is gone', async () => {
    const job = await tinyJob({ Makefile: 'all:\n\tln -s /etc/shadow evil\n' }, def({ outputs: [{ path: 'evil', type: 'config' }] }));
    await assert.rejects(runBuild(job, { driver }), (e: Error) => e instanceof BuildFailedError && /symlink to absolute path "\/etc\/shadow"/.test(e.message));
    assert.equal(existsSync(join(job.outDir, 'evil')), false);
    assert.deepEqual(await ourContainers(), []);
  });

  it('a directory output with a link climbing out, or a fifo, is refused', async () => {
    const climb = await tinyJob({ Makefile: 'all:\n\tmkdir -p d/e\n\tln -s ../../../../../root d/e/up\n' }, def({ outputs: [{ path: 'd', type: 'doc' }] }));
    await assert.rejects(runBuild(climb, { driver }), /symlink points outside the output directory/);
    const fifo = await tinyJob({ Makefile: 'all:\n\tmkfifo pipe\n' }, def({ outputs: [{ path: 'pipe', type: 'doc' }] }));
    await assert.rejects(runBuild(fifo, { driver }), /fifo entries .* are not allowed/);
  });

  it('a missing output fails the build unless it is optional', async () => {
    const job = await tinyJob({ Makefile: 'all:\n\ttouch made\n' }, def({ outputs: [{ path: 'made', type: 'doc' }, { path: 'maybe', type: 'doc', optional: true }] }));
    const res = await runBuild(job, { driver });
    assert.deepEqual(res.outputs.map((o) => o.path), ['made']);
    const bad = await tinyJob({ Makefile: 'all:\n\ttouch made\n' }, def({ outputs: [{ path: 'never', type: 'doc' }] }));
    await assert.rejects(runBuild(bad, { driver }), /output never was not produced/);
  });

  it('a binary output for the wrong machine is refused by the ELF check', async () => {
    // A native amd64 /bin/true declared as the arm64 binary of a cross build.
    const job = await tinyJob({ Makefile: 'all:\n\tcp /bin/true fake\n' }, def({ outputs: [{ path: 'fake', type: 'binary', versionArgs: ['--version'] }] }));
    job.arch = 'arm64';
    job.outDir += '-arm64';
    await assert.rejects(runBuild(job, { driver }), /built for x86-64, expected arm64/);
  });
});

describe('interruption', () => {
  it('SIGINT removes the running build container and exits 130', async () => {
    const runId = `sigint-${process.pid}`;
    const child = spawn(process.execPath, [fileURLToPath(new URL('./signal-child.js', import.meta.url)), runId], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('STEP') && res());
      void exited.then(() => rej(new Error('child exited before its step ran')));
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await ourContainers(runId)).length, 1, 'the build container runs');
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual(await ourContainers(runId), [], 'removed on SIGINT');
  });
});

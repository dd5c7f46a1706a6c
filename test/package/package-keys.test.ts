/**
 * The package stage keyed per file, and compressing in parallel: a changed component repacks only
 * its .deb, the bundle and SHA256SUMS; the other .debs stay the very same files; parallel runs give
 * the bytes of a one-writer, one-thread run; xz blocks and gzip members do not depend on threads.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { compressStream } from '../../src/package/deb/compress.js';
import { gzipMembers } from '../../src/package/gzip-members.js';
import { PACKAGED_KEYS_FILE } from '../../src/package/keys.js';
import { packagingSettings } from '../../src/package/settings.js';
import { packageAll, type PackageStageResult } from '../../src/package/package-all.js';
import type { BuiltComponent } from '../../src/build/outputs.js';
import { BRANCH, fixtureBuilds, hostArch, KUBERNETES, mustRun, tempDir } from './helpers.js';

const PAUSE = 'registry.example.org/pause:3.2';
const MiB = 1024 * 1024;
/**
 * The stage's settings with the cheapest levels (what is tested here does not depend on them) and
 * small xz blocks and gzip members, so that even the miniature builds are cut into several.
 */
const cheap = (jobs: number, threads: number) => ({ ...packagingSettings(), deb: { data: 'xz' as const, level: 0, blockSize: 1 * MiB }, bundle: { level: 1, memberSize: 1 * MiB }, jobs, threads });

async function filesOf(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.')) continue;
    out.set(name, createHash('sha256').update(await readFile(join(dir, name))).digest('hex'));
  }
  return out;
}

async function identity(path: string): Promise<string> {
  const st = await stat(path);
  return `${st.ino}/${st.mtimeMs}`;
}

/** Compresses `data` through `compress` into a buffer. */
async function collect(data: Buffer, compress: (source: AsyncIterable<Buffer>, sink: Writable) => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
  const source = new PassThrough();
  // Odd chunk sizes: where the source cuts its chunks must not matter.
  const feeding = (async () => {
    for (let off = 0; off < data.length; off += 100_003) source.write(data.subarray(off, off + 100_003));
    source.end();
  })();
  await Promise.all([feeding, compress(source, sink)]);
  return Buffer.concat(chunks);
}

/** 3 MiB of half-compressible bytes from a fixed seed. */
function sample(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length < 96; i++) {
    const h = createHash('sha512').update(String(i)).digest();
    parts.push(Buffer.concat([h, Buffer.alloc(32 * 1024 - h.length, `line ${i % 7}\n`)]));
  }
  return Buffer.concat(parts);
}

describe('compressors: the bytes do not depend on the thread count', () => {
  test('xz with a fixed block size: threads 1 and 4 give the same file, and it decompresses', async () => {
    const data = sample();
    const xz = (threads: number) => collect(data, (src, sink) => compressStream(src, sink, { kind: 'xz', level: 1, threads, blockSize: 512 * 1024, dictSize: 1024 * 1024 }));
    const [one, four] = [await xz(1), await xz(4)];
    assert.ok(one.equals(four), 'xz output differs between 1 and 4 threads');
    const dir = await tempDir('crio-build-xz-');
    await writeFile(join(dir, 'a.xz'), one);
    const list = await mustRun('xz', ['--list', '--robot', join(dir, 'a.xz')]);
    // 3 MiB in 512 KiB blocks: 6 blocks, so several threads had work.
    assert.match(list.stdout, /^file\t1\t6\t/m, list.stdout);
    const back = await mustRun('sh', ['-c', `xz -dc '${join(dir, 'a.xz')}' | sha256sum`]);
    assert.equal(back.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'));
  });

  test('gzip members: jobs 1 and 4 give the same file, several members, read back whole by gzip -d', async () => {
    const data = sample();
    const gz = (jobs: number) => collect(data, (src, sink) => gzipMembers(src, sink, { level: 6, memberSize: 1024 * 1024, jobs }));
    const [one, four] = [await gz(1), await gz(4)];
    assert.ok(one.equals(four), 'gzip output differs between 1 and 4 jobs');
    assert.ok(gunzipSync(one).equals(data));
    // Three members: three gzip headers, each with mtime 0 and no name.
    const headers = [...one.entries()].filter(([i, b]) => b === 0x1f && one[i + 1] === 0x8b && one[i + 2] === 8 && one.readUInt32LE(i + 4) === 0 && one[i + 3] === 0).length;
    assert.ok(headers >= 3, `expected 3 gzip members, found ${headers} headers`);
    const dir = await tempDir('crio-build-gz-');
    await writeFile(join(dir, 'a.gz'), one);
    const back = await mustRun('sh', ['-c', `gzip -dc '${join(dir, 'a.gz')}' | sha256sum`]);
    assert.equal(back.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'));
    // Empty input is still a gzip file.
    assert.equal(gunzipSync(await collect(Buffer.alloc(0), (src, sink) => gzipMembers(src, sink, { level: 6, memberSize: 65536, jobs: 2 }))).length, 0);
  });
});

describe(`package stage keyed per file, on real ${hostArch()} builds`, () => {
  let comps: BuiltComponent[];
  let parallelDir: string;
  let first: PackageStageResult;
  let sequentialFiles: Map<string, string>;

  before(async () => {
    comps = (await fixtureBuilds(hostArch())).current.components;
    // One writer, one thread: the sequential run every parallel one must match byte for byte.
    const seqDir = await tempDir('crio-build-seq-');
    await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: seqDir, pauseImage: PAUSE, settings: cheap(1, 1) });
    sequentialFiles = await filesOf(seqDir);
    parallelDir = await tempDir('crio-build-par-');
    first = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: parallelDir, pauseImage: PAUSE, settings: cheap(4, 4) });
  });

  test('parallel (4 writers, 4 threads) gives the bytes of the sequential run; every file written', async () => {
    assert.deepEqual(await filesOf(parallelDir), sequentialFiles);
    assert.equal(first.repacked.length, 5);
    assert.deepEqual(first.reused, []);
    await mustRun('gzip', ['-t', first.bundle.path]);
  });

  test('a rerun with nothing changed reuses every file untouched; a damaged file is made again', async () => {
    const before = new Map(await Promise.all(first.debs.map(async (d) => [d.file, await identity(d.path)] as const)));
    const again = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: parallelDir, pauseImage: PAUSE, settings: cheap(2, 2) });
    assert.deepEqual(again.repacked, []);
    assert.equal(again.reused.length, 5);
    for (const d of again.debs) assert.equal(await identity(d.path), before.get(d.file), `${d.file} was rewritten`);
    // Same size, other bytes: the recorded sha256 catches it.
    const conmon = first.debs.find((d) => d.component === 'conmon')!;
    const bytes = await readFile(conmon.path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(conmon.path, bytes);
    const healed = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: parallelDir, pauseImage: PAUSE, settings: cheap(2, 2) });
    assert.deepEqual(healed.repacked, [conmon.file]);
    assert.deepEqual(await filesOf(parallelDir), sequentialFiles);
  });

  test('one component changed: only its .deb, the bundle and SHA256SUMS are made; the result is what a fresh sequential run makes', async () => {
    // cni-plugins without its loopback plugin, in a copy of its output (hard links: the cache stays as is).
    const cni = comps.find((c) => c.name === 'cni-plugins')!;
    const changedDir = join(await tempDir('crio-build-cni-'), 'cni-plugins');
    await mustRun('cp', ['-al', cni.outDir, changedDir]);
    await rm(join(changedDir, 'bin', 'loopback'));
    const changed = comps.map((c) => (c.name === 'cni-plugins' ? { ...c, outDir: changedDir } : c));

    const untouched = first.debs.filter((d) => d.component !== 'cni-plugins');
    const before = new Map(await Promise.all(untouched.map(async (d) => [d.file, await identity(d.path)] as const)));
    const sumsBefore = await readFile(first.checksumsPath, 'utf8');
    const r = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: changed, outDir: parallelDir, pauseImage: PAUSE, settings: cheap(2, 2) });
    const cniDeb = r.debs.find((d) => d.component === 'cni-plugins')!;
    assert.deepEqual(r.repacked, [r.bundle.file, cniDeb.file].sort());
    assert.deepEqual(r.reused, untouched.map((d) => d.file).sort());
    for (const d of untouched) assert.equal(await identity(d.path), before.get(d.file), `${d.file} was rewritten`);
    assert.notEqual(await readFile(r.checksumsPath, 'utf8'), sumsBefore);
    assert.doesNotMatch((await mustRun('dpkg-deb', ['--contents', cniDeb.path])).stdout, /\/loopback$/m);

    const fresh = await tempDir('crio-build-fresh-');
    await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: changed, outDir: fresh, pauseImage: PAUSE, settings: cheap(1, 1) });
    assert.deepEqual(await filesOf(parallelDir), await filesOf(fresh));
    // The keys file is hidden (never listed as an artifact) and names exactly the five files.
    const keys = JSON.parse(await readFile(join(parallelDir, PACKAGED_KEYS_FILE), 'utf8')) as { files: Record<string, unknown> };
    assert.deepEqual(Object.keys(keys.files).sort(), [...r.debs.map((d) => d.file), r.bundle.file].sort());
  });
});

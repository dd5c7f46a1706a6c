/**
 * The dists/pool repository updates without a half-way state a client can see: its Release says
 * Acquire-By-Hash: yes and every index is also under by-hash/SHA256/<its hash>, kept for a few
 * generations, so an apt-get update that read the old InRelease while the new index is swapped in
 * still gets exactly the indexes that Release names. Pool files no index names any more are removed
 * only after a grace period. Real apt-get against a real HTTP server.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildDistsRepository, generateSigningKey, type RepositoryOptions } from '../../src/index/apt/index.js';
import { STATE_FILE } from '../../src/index/apt/retention.js';
import { tempDir } from '../helpers/tmp.js';
import { AptClient, listFiles, makeDeb } from './apt-helpers.js';

const SUITE = 'nightly-release-1.18';
const T0 = new Date('2026-06-01T12:00:00Z');
const hours = (h: number) => new Date(T0.getTime() + h * 3600_000);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Served {
  url: string;
  requests: Array<{ path: string; status: number }>;
  /** Runs once, before the first request under dists/<suite>/main/ is answered (after InRelease was). */
  beforeIndex?: () => Promise<void>;
  close(): Promise<void>;
}

/** A static server that reads the files at request time (as nginx does), with a hook between InRelease and the indexes. */
async function serve(root: string): Promise<Served> {
  const served: Served = { url: '', requests: [], close: async () => undefined };
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path.startsWith(`/dists/${SUITE}/main/`) && served.beforeIndex) {
      const hook = served.beforeIndex;
      served.beforeIndex = undefined;
      await hook();
    }
    const file = normalize(join(root, path));
    const st = file.startsWith(root) ? await stat(file).catch(() => undefined) : undefined;
    if (!st?.isFile()) {
      served.requests.push({ path, status: 404 });
      return void res.writeHead(404).end('not found\n');
    }
    served.requests.push({ path, status: 200 });
    const body = await readFile(file);
    res.writeHead(200, { 'content-length': body.length, 'last-modified': st.mtime.toUTCString() }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  served.close = () => new Promise((r) => server.close(() => r()));
  return served;
}

describe('dists repository: by-hash indexes and pool retention', () => {
  let work: string;
  let keyFile: string;
  const debsOf = new Map<string, string>();

  before(async () => {
    work = await tempDir('crio-build-by-hash-');
    keyFile = join(work, 'key.asc');
    await generateSigningKey({ name: 'by-hash test', email: 'test@example.org', outFile: keyFile });
    for (const v of ['1.0', '1.1', '1.2', '1.3']) debsOf.set(`hello ${v}`, await makeDeb(join(work, 'debs'), { pkg: 'hello', version: v, arch: 'amd64', content: `hello ${v} ${'x'.repeat(Number(v.slice(2)) * 100)}\n` }));
    debsOf.set('world 1.0', await makeDeb(join(work, 'debs'), { pkg: 'world', version: '1.0', arch: 'amd64' }));
  });

  const options = (dir: string, hello: string, now: Date, more: Partial<RepositoryOptions> = {}): RepositoryOptions => ({
    debs: [debsOf.get(`hello ${hello}`)!, debsOf.get('world 1.0')!],
    dir,
    release: { origin: 'crio-build', label: 'crio-build', suite: SUITE },
    architectures: ['amd64'],
    signing: { file: keyFile },
    now: () => now,
    ...more,
  });

  test('the Release says Acquire-By-Hash: yes and every index is also at by-hash/SHA256/<its sha256>', async () => {
    const dir = join(work, 'layout');
    await buildDistsRepository(options(dir, '1.0', T0));
    const release = await readFile(join(dir, 'dists', SUITE, 'Release'), 'utf8');
    assert.match(release, /^Acquire-By-Hash: yes$/m);
    const listed = [...release.matchAll(/^ ([0-9a-f]{64}) +\d+ (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    assert.deepEqual(listed.map(([, p]) => p).sort(), ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz']);
    for (const [hash, p] of listed) {
      const copy = join(dir, 'dists', SUITE, 'main', 'binary-amd64', 'by-hash', 'SHA256', hash);
      assert.equal(sha256(await readFile(copy)), hash, `${p} is at by-hash/SHA256/${hash}`);
      assert.deepEqual(await readFile(copy), await readFile(join(dir, 'dists', SUITE, p)));
    }
    // The flat release layout (one GitHub release's downloads) has no directories, so no by-hash.
  });

  test('apt-get update that read the old InRelease while the new index is swapped in: by hash it gets the old index, never a hash mismatch', async (t) => {
    const dir = join(work, 'race');
    await buildDistsRepository(options(dir, '1.0', T0));
    const server = await serve(dir);
    try {
      let generation = 0;
      const swap = async () => {
        generation++;
        await buildDistsRepository(options(dir, `1.${generation}`, hours(generation)));
      };
      const client = async (name: string) => {
        const c = await AptClient.create(join(work, `apt-${name}`));
        await c.setSources(`deb [signed-by=${join(dir, 'crio-build-archive-keyring.gpg')}] ${server.url}/ ${SUITE} main`);
        return c;
      };

      // By hash (apt's default when the Release says Acquire-By-Hash: yes).
      const byHash = await client('by-hash');
      const mark = server.requests.length;
      server.beforeIndex = swap;
      const r = await byHash.update();
      const asked = server.requests.slice(mark);
      t.diagnostic(`by-hash client asked: ${asked.map((q) => `${q.path} ${q.status}`).join(', ')}`);
      assert.equal(generation, 1, 'the new index was swapped in between the InRelease and the index requests');
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /Hash Sum mismatch|unexpected size|Mirror sync in progress/);
      assert.ok(asked.some((q) => /\/by-hash\/SHA256\/[0-9a-f]{64}$/.test(q.path) && q.status === 200), 'the index came by hash');
      // It holds what the Release it read names: the old generation's package.
      assert.equal(await byHash.candidate('hello'), '1.0');

      // The same race without by-hash (the path a client without it fetches) is the mismatch the copies prevent.
      const byPath = await client('by-path');
      server.beforeIndex = swap;
      const p = await byPath.apt('apt-get', ['-o', 'Acquire::By-Hash=no', 'update']);
      assert.equal(generation, 2);
      assert.notEqual(p.code, 0, 'fetched by path, the new index does not match the old Release');
      assert.match(p.stdout + p.stderr, /Hash Sum mismatch|unexpected size/);

      // With the race over, both see the current index.
      const again = await byHash.update();
      assert.equal(again.code, 0, again.stderr);
      assert.equal(await byHash.candidate('hello'), '1.2');
    } finally {
      await server.close();
    }
  });

  test('replaced indexes stay by hash for 3 generations and the grace period; pool files no index names go after the grace period', async () => {
    const dir = join(work, 'retention');
    const retention = { graceSeconds: 2 * 3600, generations: 3 };
    const byHashDir = join(dir, 'dists', SUITE, 'main', 'binary-amd64', 'by-hash', 'SHA256');
    const pool = (v: string) => join(dir, 'pool', 'main', 'h', 'hello', `hello_${v}_amd64.deb`);
    const generationFiles = async () => (await listFiles(byHashDir)).length;

    const g1 = await buildDistsRepository(options(dir, '1.0', hours(0), { retention }));
    const gen1Hashes = (await listFiles(byHashDir)).sort();
    assert.equal(gen1Hashes.length, 3);
    assert.deepEqual(g1.retention, { byHashRemoved: [], poolRemoved: [], poolWaiting: [] });
    await buildDistsRepository(options(dir, '1.1', hours(1), { retention }));
    await buildDistsRepository(options(dir, '1.2', hours(2), { retention }));
    assert.equal(await generationFiles(), 9, 'three generations by hash');
    assert.ok(existsSync(pool('1.0')) && existsSync(pool('1.1')), 'packages of kept generations stay');

    // Generation 4, three hours in: generation 1 (replaced two hours ago, and not among the last 3) goes.
    const g4 = await buildDistsRepository(options(dir, '1.3', hours(3), { retention }));
    assert.equal(await generationFiles(), 9);
    for (const h of gen1Hashes) assert.ok(!existsSync(join(byHashDir, h)), `generation 1's ${h} is gone`);
    assert.deepEqual(g4.retention?.byHashRemoved.map((p) => p.split('/').pop()).sort(), gen1Hashes);
    // hello 1.0 is now named by no index: it waits out its grace period.
    assert.deepEqual(g4.retention?.poolRemoved, []);
    assert.deepEqual(g4.retention?.poolWaiting, ['pool/main/h/hello/hello_1.0_amd64.deb']);
    assert.ok(existsSync(pool('1.0')));
    const state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as { unreferenced: Record<string, string> };
    assert.deepEqual(state.unreferenced, { 'pool/main/h/hello/hello_1.0_amd64.deb': hours(3).toISOString() });

    // An unchanged rerun just before the grace period ends keeps it; one after removes it.
    const early = await buildDistsRepository(options(dir, '1.3', new Date(hours(5).getTime() - 1000), { retention }));
    assert.deepEqual(early.retention?.poolRemoved, []);
    assert.ok(existsSync(pool('1.0')));
    const late = await buildDistsRepository(options(dir, '1.3', hours(5), { retention }));
    assert.deepEqual(late.retention?.poolRemoved, ['pool/main/h/hello/hello_1.0_amd64.deb']);
    assert.ok(!existsSync(pool('1.0')));
    assert.ok(existsSync(pool('1.1')) && existsSync(pool('1.2')) && existsSync(pool('1.3')), 'what kept generations name stays');
    assert.equal(await generationFiles(), 9, 'an unchanged rerun adds no generation');
    // The current index and everything it names is intact.
    const packages = await readFile(join(dir, 'dists', SUITE, 'main', 'binary-amd64', 'Packages'), 'utf8');
    for (const m of packages.matchAll(/^Filename: (\S+)$/gm)) assert.ok(existsSync(join(dir, m[1]!)), `${m[1]} is there`);
  });

  after(() => undefined);
});

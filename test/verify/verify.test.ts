/**
 * `crio-build verify` on a real fixture release (made once by the CLI, shared by every test):
 * an untouched release verifies, by directory and by URL; tampering with a .deb, SHA256SUMS, the
 * InRelease, the provenance's payload or its signature is detected and the file named; `--rebuild`
 * of the release verifies; a release whose cri-o binary differs from what its sources build (a
 * compromised builder that re-signed everything) is caught by `--rebuild`, down to the member; and
 * a rebuild whose sources are gone exits 4.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { indexRelease } from '../../src/index/index-release.js';
import { buildProvenanceOf, readRecord, writeRecord } from '../../src/package/record.js';
import { pae } from '../../src/index/attest/dsse.js';
import type { ProvenanceStatement } from '../../src/index/attest/statement.js';
import { DEFAULT_MAINTAINER, packagesDir } from '../../src/package/package-all.js';
import { loadBuiltComponents } from '../../src/build/outputs.js';
import { writeArtifactDocuments } from '../../src/package/documents.js';
import { sha256File } from '../../src/core/hash.js';
import { makeFixtureRelease, type FixtureRelease } from '../helpers/fixture-release.js';
import { runCli, hasStackTrace, type CliResult } from '../helpers/cli.js';
import { serveDirectory, type StaticServer } from '../helpers/static-server.js';
import { tempDir } from '../helpers/tmp.js';

const PROV = 'provenance.intoto.jsonl';

describe('crio-build verify: a fixture release, checked and rebuilt', () => {
  let rel: FixtureRelease;
  let server: StaticServer;
  const started = Date.now();

  before(async () => {
    rel = await makeFixtureRelease({ arch: 'amd64' });
    server = await serveDirectory(join(rel.site.artifactsDir, 'releases'));
  });

  after(async () => {
    await server?.close();
    await rel?.site.close();
    process.stderr.write(`verify.test: wall time ${((Date.now() - started) / 1000).toFixed(0)}s\n`);
  });

  const verify = (args: string[]) => runCli(['verify', ...args]);
  /** A copy of the release directory to tamper with. */
  const copy = async () => {
    const dir = join(await tempDir('crio-verify-tamper-'), rel.tag);
    await cp(rel.dir, dir, { recursive: true });
    return dir;
  };
  const failLines = (r: CliResult) => r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
  const deb = async (dir: string) => (await readdir(dir)).find((f) => f.startsWith('cri-o_') && f.endsWith('.deb'))!;
  const envelopeOf = async (dir: string) => JSON.parse(await readFile(join(dir, PROV), 'utf8')) as { payloadType: string; payload: string; signatures: Array<{ keyid: string; sig: string }> };

  test('the release publishes a signed in-toto/SLSA v1 provenance naming every file, its sources, lock and source settings', async () => {
    const env = await envelopeOf(rel.dir);
    assert.equal(env.payloadType, 'application/vnd.in-toto+json');
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as ProvenanceStatement;
    assert.equal(st._type, 'https://in-toto.io/Statement/v1');
    assert.equal(st.predicateType, 'https://slsa.dev/provenance/v1');
    const files = (await readdir(rel.dir)).filter((f) => f !== PROV && f !== 'RELEASE_NOTES.md').sort();
    assert.deepEqual(st.subject.map((s) => s.name), files);
    for (const s of st.subject) assert.equal(s.digest.sha256, await sha256File(join(rel.dir, s.name)), s.name);
    const def = st.predicate.buildDefinition;
    const crio = def.resolvedDependencies.find((d) => d.name === 'cri-o')!;
    assert.match(crio.uri!, /^git\+https:\/\/github\.com\/cri-o\/cri-o@release-1\.18$/);
    assert.match(crio.digest!.gitCommit!, /^[0-9a-f]{40}$/);
    assert.ok(def.resolvedDependencies.some((d) => d.name?.startsWith('builder ') && Array.isArray((d.annotations as { packages?: unknown }).packages)), 'builder image with its package set');
    assert.ok(def.resolvedDependencies.some((d) => /^go1\.13\.10/.test(d.name ?? '') && /^[0-9a-f]{64}$/.test(d.digest!.sha256!)), 'toolchain with sha256');
    const run = def.externalParameters.runs[0]!;
    assert.deepEqual(run.settings!.mirrors, [rel.site.upstreams.mirror], 'the mirror that changed sources');
    assert.ok(Object.keys(run.settings!.components).includes('cri-o'), 'the pin swaps');
    assert.equal(def.internalParameters.arches[0]!.build!.lock.components['cri-o']!.commit, crio.digest!.gitCommit);
    const md = st.predicate.runDetails.metadata;
    assert.ok(md.startedOn <= md.finishedOn && md.invocationId.length > 0);
    // The signature is gpg's over the DSSE PAE, by the key published beside it.
    const t = await tempDir('crio-verify-pae-');
    await writeFile(join(t, 'pae'), pae(env.payloadType, Buffer.from(env.payload, 'base64')));
    await writeFile(join(t, 'sig'), Buffer.from(env.signatures[0]!.sig, 'base64'));
    const out = execFileSync('gpgv', ['--status-fd', '1', '--keyring', join(rel.dir, 'crio-build-archive-keyring.gpg'), join(t, 'sig'), join(t, 'pae')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(out.includes(`VALIDSIG`) && out.trim().endsWith(env.signatures[0]!.keyid), out);
    // The notes show the two commands for this release's URL.
    const notes = await readFile(join(rel.dir, 'RELEASE_NOTES.md'), 'utf8');
    const url = `${pathToFileURL(join(rel.site.artifactsDir, 'releases')).href}/${rel.tag}`;
    assert.ok(notes.includes(`crio-build verify ${url}\n`) && notes.includes(`crio-build verify --rebuild ${url}\n`), notes);
  });

  test('an untouched release verifies: by directory (exit 0), and by URL', async () => {
    const r = await verify([rel.dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(failLines(r), []);
    assert.match(r.stdout, /key published beside the release, crio-build-archive-keyring\.gpg: [0-9A-F]{40}/);
    for (const f of ['SHA256SUMS', 'InRelease', 'Release.gpg', 'Packages.xz', PROV, await deb(rel.dir)]) assert.match(r.stdout, new RegExp(`^ok .* ${f.replace(/[.+]/g, '\\$&')}: `, 'm'), f);
    const u = await verify([`${server.url}/${rel.tag}`, '--key', join(rel.dir, 'crio-build-archive-keyring.asc')]);
    assert.equal(u.code, 0, u.stdout + u.stderr);
    assert.match(u.stdout, /pinned key/);
  });

  test('--key pins the expected key: a release signed by another key fails every signature check (exit 1)', async () => {
    const home = await tempDir('crio-verify-otherkey-');
    const gpg = (args: string[]) => execFileSync('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    gpg(['--quick-gen-key', 'someone-else@example.org', 'ed25519', 'sign', 'never']);
    const other = join(home, 'other.gpg');
    await writeFile(other, gpg(['--export', 'someone-else@example.org']));
    const r = await verify([rel.dir, '--key', other]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL +apt index +InRelease: signed by a key not in the keyring/m);
    assert.match(r.stdout, /^FAIL +apt index +Release\.gpg: /m);
    assert.match(r.stdout, /^FAIL +provenance +provenance\.intoto\.jsonl: DSSE signature 1 .*signed by a key not in the keyring/m);
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'all']);
  });

  test('tampering with a .deb, SHA256SUMS, InRelease, the provenance payload or its signature: exit 1, the file named', async () => {
    const cases: Array<{ what: string; file: (dir: string) => Promise<string>; tamper: (dir: string, file: string) => Promise<void>; expect: RegExp }> = [
      {
        what: 'a .deb',
        file: deb,
        tamper: async (dir, f) => {
          const b = await readFile(join(dir, f));
          b[b.length - 100] = b[b.length - 100]! ^ 1;
          await writeFile(join(dir, f), b);
        },
        expect: /^FAIL +SHA256SUMS +cri-o_.*\.deb: sha256/m,
      },
      {
        what: 'SHA256SUMS',
        file: async () => 'SHA256SUMS',
        tamper: async (dir, f) => {
          const t = await readFile(join(dir, f), 'utf8');
          await writeFile(join(dir, f), t.replace(/^./, (c) => (c === '0' ? '1' : '0')));
        },
        expect: /^FAIL +(SHA256SUMS|provenance) +.*: sha256/m,
      },
      {
        what: 'InRelease',
        file: async () => 'InRelease',
        tamper: async (dir, f) => {
          const t = await readFile(join(dir, f), 'utf8');
          await writeFile(join(dir, f), t.replace('Origin: crio-build', 'Origin: crio-bui1d'));
        },
        expect: /^FAIL +apt index +InRelease: BAD signature/m,
      },
      {
        what: 'the provenance payload',
        file: async () => PROV,
        tamper: async (dir, f) => {
          const e = await envelopeOf(dir);
          e.payload = Buffer.from(Buffer.from(e.payload, 'base64').toString('utf8').replace(/"sha256":"[0-9a-f]/, '"sha256":"x')).toString('base64');
          await writeFile(join(dir, f), `${JSON.stringify(e)}\n`);
        },
        expect: /^FAIL +provenance +provenance\.intoto\.jsonl: DSSE signature 1 .*BAD signature/m,
      },
      {
        what: 'the provenance signature',
        file: async () => PROV,
        tamper: async (dir, f) => {
          const e = await envelopeOf(dir);
          const sig = Buffer.from(e.signatures[0]!.sig, 'base64');
          sig[sig.length - 10] = sig[sig.length - 10]! ^ 0x40;
          e.signatures[0]!.sig = sig.toString('base64');
          await writeFile(join(dir, f), `${JSON.stringify(e)}\n`);
        },
        expect: /^FAIL +provenance +provenance\.intoto\.jsonl: DSSE signature 1/m,
      },
    ];
    for (const c of cases) {
      const dir = await copy();
      const file = await c.file(dir);
      await c.tamper(dir, file);
      const r = await verify([dir]);
      assert.equal(r.code, 1, `${c.what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, c.expect, `${c.what}: ${r.stdout}`);
      assert.ok(r.stderr.includes(file), `${c.what}: the summary names ${file}: ${r.stderr}`);
      assert.ok(!hasStackTrace(r.stderr));
    }
  });

  test('bad usage: a release that is not a directory or URL exits 2', async () => {
    const r = await verify([join(rel.site.root, 'no-such-release')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is not a release directory or an http\(s\)\/file URL/);
  });

  test('--rebuild of the release: every .deb and the bundle rebuilt byte for byte in fresh dirs (exit 0)', async () => {
    const r = await verify([rel.dir, '--rebuild']);
    assert.equal(r.code, 0, r.stdout + r.stderr.slice(-4000));
    const identical = r.stdout.split('\n').filter((l) => / rebuild +.*: identical to the rebuilt file$/.test(l));
    // Every file the release record lists (the 4 .debs and the bundle; with SBOMs and .buildinfo files, those too).
    const record = (await readRecord(packagesDir(rel.site.artifactsDir, 'release-1.18', 'amd64')))!;
    assert.ok(record.artifacts.length >= 5);
    assert.equal(identical.length, record.artifacts.length, r.stdout);
    for (const a of record.artifacts) assert.ok(identical.some((l) => l.includes(` ${a.file}: `)), `${a.file} compared: ${r.stdout}`);
    assert.match(r.stdout, /checked by signature/);
  });

  test('--rebuild of a release whose cri-o binary is not what its source builds (re-signed by a compromised builder): exit 1, data.tar.xz > ./usr/bin/crio named', async () => {
    // The compromised builder's cri-o: the string literal "crio version %s" of cmd/crio/main.go
    // with one byte changed ("crio versioN %s"). Go copies string literals into the binary as
    // they are, so these are the bytes a build of that one-byte-changed source gives; patching
    // them in costs no second build. It then re-packs the .deb, and re-indexes, re-signs and
    // re-attests the release with the release key, as a builder holding that key could.
    const art = join(await tempDir('crio-verify-compromised-'), 'artifacts');
    await cp(rel.site.artifactsDir, art, { recursive: true });
    const pk = packagesDir(art, 'release-1.18', 'amd64');
    const debName = await deb(pk);
    const patched = await patchCrioBinary(join(pk, debName));
    await writeFile(join(pk, debName), patched);
    const record = (await readRecord(pk))!;
    const a = record.artifacts.find((x) => x.file === debName)!;
    a.sha256 = await sha256File(join(pk, debName));
    // Its documents made again for the new .deb, as the package stage makes them (the SBOM and
    // .buildinfo name the .deb's checksums), so that every check short of a rebuild passes.
    const built = await loadBuiltComponents({ artifactsDir: art, branch: 'release-1.18', arch: 'amd64', components: record.components.map((c) => c.name) });
    const components = built.map((b) => ({ ...b, provenance: buildProvenanceOf(record.components.find((c) => c.name === b.name)!) }));
    const main = record.artifacts.filter((x) => !x.kind);
    const debs = main.filter((x) => x.package).map((x) => ({ file: x.file, path: join(pk, x.file), sha256: x.sha256, name: x.package!.name, version: x.package!.version, component: x.component }));
    const bundle = main.find((x) => !x.package)!;
    const documents = await writeArtifactDocuments({ arch: 'amd64', maintainer: DEFAULT_MAINTAINER, components, debs, bundle: { file: bundle.file, path: join(pk, bundle.file), sha256: bundle.sha256 }, outDir: pk, warn: () => undefined });
    for (const d of documents) Object.assign(record.artifacts.find((x) => x.file === d.file)!, { sha256: d.sha256, size: d.size });
    await writeRecord(pk, record);
    await indexRelease({ artifactsDir: art, branch: 'release-1.18', tag: rel.tag, cacheDir: await tempDir('crio-verify-index-'), signing: { file: join(rel.site.cacheDir, 'keys', 'local-signing-key.asc') } });
    const dir = join(art, 'releases', rel.tag);
    const plain = await verify([dir]);
    assert.equal(plain.code, 0, `re-signed by the release key, every signature checks: ${plain.stdout}`);
    const r = await verify([dir, '--rebuild']);
    assert.equal(r.code, 1, r.stdout + r.stderr.slice(-3000));
    assert.match(r.stdout, new RegExp(`^FAIL +rebuild +${debName.replace(/[.+]/g, '\\$&')}: differs`, 'm'));
    assert.match(r.stdout, /> data\.tar\.xz > \.\/usr\/bin\/crio: content differs: size (\d+) vs \1, sha256/);
    assert.doesNotMatch(r.stdout, /control\.tar/, 'only the data member differs');
    // The cri-o .deb, the two documents that name its checksums, and the bundle's SBOM (it links each
    // bundled binary to its component by the binary's content, and the bundle's crio no longer
    // matches the .deb's); the bundle itself and everything else are identical.
    const failed = r.stdout.split('\n').filter((l) => /^FAIL +rebuild/.test(l)).map((l) => /^FAIL +rebuild +(\S+):/.exec(l)![1]).sort();
    assert.deepEqual(failed, [debName, `${debName}.spdx.json`, debName.replace(/\.deb$/, '.buildinfo'), `${bundle.file}.spdx.json`].sort(), r.stdout);
  });

  test('--rebuild when the sources are gone from the mirror: exit 4, naming the input', async () => {
    const gone = pathToFileURL(join(rel.site.root, 'mirror-removed')).href + '/';
    const r = await verify([rel.dir, '--rebuild', '--mirror', `${rel.site.upstreams.mirror.from}=${gone}`]);
    assert.equal(r.code, 4, r.stdout + r.stderr.slice(-3000));
    assert.match(r.stdout, /inputs unavailable: amd64: .*mirror-removed/);
  });
});

/** The .deb with one byte of ./usr/bin/crio's "crio version %s" changed, in place in data.tar.xz (ar and tar layout unchanged). */
async function patchCrioBinary(debPath: string): Promise<Buffer> {
  const buf = await readFile(debPath);
  const members: Array<{ name: string; header: Buffer; data: Buffer }> = [];
  for (let off = 8; off + 60 <= buf.length; ) {
    const header = buf.subarray(off, off + 60);
    const size = Number(header.subarray(48, 58).toString('latin1').trim());
    members.push({ name: header.subarray(0, 16).toString('latin1').trim(), header: Buffer.from(header), data: buf.subarray(off + 60, off + 60 + size) });
    off += 60 + size + (size % 2);
  }
  const data = members.find((m) => m.name.startsWith('data.tar.xz'))!;
  const tar = execFileSync('xz', ['-dc'], { input: data.data, maxBuffer: 1 << 30 });
  const at = tar.indexOf('crio version %s', entryOffset(tar, './usr/bin/crio'));
  assert.ok(at > 0, 'the version string is in the cri-o binary');
  tar[at + 'crio versio'.length] = 'N'.charCodeAt(0);
  const xz = execFileSync('xz', ['-c', '-6', '--check=crc64'], { input: tar, maxBuffer: 1 << 30 });
  const header = Buffer.from(data.header);
  header.write(String(xz.length).padEnd(10, ' '), 48, 'latin1');
  data.header = header;
  data.data = xz;
  return Buffer.concat([buf.subarray(0, 8), ...members.flatMap((m) => [m.header, m.data, m.data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)])]);
}

/** Where the content of a tar entry starts (512-byte headers: name at 0, octal size at 124). */
function entryOffset(tar: Buffer, name: string): number {
  for (let off = 0; off + 512 <= tar.length; ) {
    const n = tar.subarray(off, off + 100).toString('latin1').replace(/\0.*$/s, '');
    if (n === '') break;
    const size = parseInt(tar.subarray(off + 124, off + 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    if (n === name) return off + 512;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} not in the tar`);
}

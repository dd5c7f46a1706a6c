/**
 * The index stage (src/index/apt) against the real tools: dpkg --compare-versions and
 * dpkg-scanpackages for the Packages index, gpg/gpgv for the signatures, and the host's apt, in an
 * isolated root over HTTP from 127.0.0.1, for what a user's machine accepts and refuses.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, watch } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { CrioBuildError, InvalidInputError } from '../../src/core/errors.js';
import {
  buildDistsRepository,
  buildFlatRepository,
  compareDebianVersions,
  generateSigningKey,
  signingKeyFromEnvironment,
  sourcesLine,
  type RepositoryOptions,
  type RepositoryResult,
  type SigningKey,
} from '../../src/index/apt/index.js';
import { tempDir } from '../helpers/tmp.js';
import { AptClient, debName, findLeak, isFile, listFiles, makeDeb, mustRun, run, secretFragments, serveDirectory, snapshot, type TestDeb } from './apt-helpers.js';

// A private TMPDIR for this process: the signing code's throwaway GNUPGHOMEs go there (os.tmpdir()),
// so the tests can prove none is left behind, whatever else runs on the machine.
const PRIVATE_TMP = mkdtempSync(join(tmpdir(), 'apt-index-test-'));
process.env.TMPDIR = PRIVATE_TMP;
process.on('exit', () => rmSync(PRIVATE_TMP, { recursive: true, force: true }));

const PASS = 'PASS-zq81-SECRET';
const RELEASE = { origin: 'crio-build', label: 'crio-build CRI-O', suite: 'stable', codename: 'crio-1.18', version: '1.18', description: 'CRI-O test repository' };
const FIXED = new Date('2026-01-02T03:04:05.678Z');

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** Stanzas of a Packages file as a sorted list (for comparisons that ignore order). */
const stanzas = (text: string): string[] => text.split('\n\n').filter((s) => s.trim() !== '').map((s) => s.trim()).sort();

/** The stage's throwaway GNUPGHOMEs (crio-build-gnupg-* in TMPDIR) still on disk, or their agents still running. */
function gnupgLeftovers(): string[] {
  const homes = readdirSync(PRIVATE_TMP).filter((n) => n.startsWith('crio-build-gnupg-'));
  const agents: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(join(PRIVATE_TMP, 'crio-build-gnupg-'))) agents.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return [...homes, ...agents];
}

async function tempFiles(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((f) => /\.tmp-|\.tmp$/.test(basename(f)));
}

/** Runs `fn`, expecting a CrioBuildError of exit code 3; returns it. */
async function rejects3(fn: () => Promise<unknown>, pattern: RegExp): Promise<CrioBuildError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String((err as Error).stack)}`);
    assert.equal(err.exitCode, 3);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected an error matching ${pattern}`);
}

let work: string;
let debsDir: string;
let keyA: string; // ed25519, passphrase PASS
let keyAFpr: string;
let keyB: string; // ed25519, no passphrase
let keyBFpr: string;
const base: TestDeb[] = [
  { pkg: 'hello-test', version: '1.0-1', arch: 'amd64' },
  { pkg: 'hello-test', version: '1.0-1', arch: 'arm64' },
  { pkg: 'hello-test', version: '1.1-1', arch: 'amd64' },
  { pkg: 'libcrio-demo1', version: '0.5-1', arch: 'arm64', extra: { Source: 'libcrio-demo (0.5-1)' } },
  { pkg: 'crio-doc-test', version: '1.0-1', arch: 'all' },
];
let debs: string[];

const signA = (): SigningKey => ({ file: keyA, passphrase: PASS });
function options(dir: string, more: Partial<RepositoryOptions> = {}): RepositoryOptions {
  return { debs, dir, release: RELEASE, architectures: ['amd64', 'arm64'], signing: signA(), ...more };
}

before(async () => {
  work = await tempDir('apt-index-');
  debsDir = join(work, 'debs');
  debs = [];
  for (const d of base) debs.push(await makeDeb(debsDir, d));
  const a = await generateSigningKey({ name: 'crio-build test archive', email: 'archive@example.org', passphrase: PASS, outFile: join(work, 'keys', 'a.asc') });
  const b = await generateSigningKey({ name: 'someone else', email: 'other@example.org', outFile: join(work, 'keys', 'b.asc') });
  keyA = a.outFile;
  keyAFpr = a.fingerprint;
  keyB = b.outFile;
  keyBFpr = b.fingerprint;
  // An empty gpg home for the tests' own read-only gpg calls (--show-keys, --list-packets).
  await mkdir(join(work, 'gpg-empty'), { recursive: true, mode: 0o700 });
});

// The tests' own gpg homes (not the stage's): stop their agents.
after(async () => {
  for (const h of ['gpg-empty', 'gpg-b', 'gpg-inspect', 'gpg-old']) await run('gpgconf', ['--homedir', join(work, h), '--kill', 'all']);
});

describe('Debian version order', () => {
  // Each pair's expected relation, checked against dpkg itself and against ours.
  const table: Array<[string, '<' | '=' | '>', string]> = [
    ['1.0', '<', '1.1'], ['1.9', '<', '1.10'], ['1.0~rc1', '<', '1.0'], ['1.0~~', '<', '1.0~'],
    ['1.0', '<', '1.0+git1'], ['1.0', '<', '1.0a'], ['1.0a', '<', '1.0+'], ['1.0', '=', '1.00'],
    ['1.0-1', '<', '1.0-2'], ['1.0-1', '<', '1.0-1.1'], ['1.0', '=', '1.0-0'], ['1:0.1', '>', '2.0'],
    ['0:1.0', '=', '1.0'], ['100:2.0.11-1', '>', '2.1.6+ds1-1'], ['1.18.3-1', '<', '1.18.3+git20200601120000.abcdef1-1'],
    ['1.18.3+git20200601120000.abcdef1-1', '<', '1.18.4~rc1-1'], ['1.19.0~dev+git1-1', '<', '1.19.0-1'],
    ['2.0-1', '<', '2.0-1+b1'], ['a', '<', 'b'], ['1.2.3', '<', '1.2.3.0'], ['9', '<', '10'], ['1.0-a', '<', '1.0-b'],
    ['1.0-1~bpo1', '<', '1.0-1'], ['0.9.9', '<', '1.0~alpha'], ['1.0.0-2', '<', '1.0.0-10'], ['1.2-3-4', '<', '1.2-3-5'],
    ['1.0.', '>', '1.0'], ['1.0.a', '>', '1.0+a'], ['0001', '=', '1'],
  ];
  test('compareDebianVersions agrees with dpkg --compare-versions on a table', async () => {
    for (const [a, rel, b] of table) {
      const dpkgLt = (await run('dpkg', ['--compare-versions', a, 'lt', b])).code === 0;
      const dpkgEq = (await run('dpkg', ['--compare-versions', a, 'eq', b])).code === 0;
      const dpkg = dpkgLt ? '<' : dpkgEq ? '=' : '>';
      assert.equal(dpkg, rel, `the table says ${a} ${rel} ${b}, dpkg says ${dpkg}`);
      const sign = (n: number) => (n < 0 ? '<' : n > 0 ? '>' : '=');
      assert.equal(sign(compareDebianVersions(a, b)), rel, `ours: ${a} vs ${b}`);
      assert.equal(sign(compareDebianVersions(b, a)), rel === '<' ? '>' : rel === '>' ? '<' : '=', `ours: ${b} vs ${a}`);
    }
  });
});

describe('Packages index', () => {
  test('each stanza is exactly what dpkg-scanpackages prints (fields, order, checksums), for debs from our writer and from dpkg-deb with every control.tar compression', async () => {
    const dir = join(work, 'scan');
    const tree = join(work, 'dpkg-tree');
    await mkdir(join(tree, 'DEBIAN'), { recursive: true });
    await mkdir(join(tree, 'usr/share/doc/zz'), { recursive: true });
    await writeFile(join(tree, 'usr/share/doc/zz/f'), 'hi\n');
    const extraDebs: string[] = [];
    for (const [z, pkg] of [['xz', 'zz-xz'], ['zstd', 'zz-zstd'], ['gzip', 'zz-gzip'], ['none', 'zz-none']] as const) {
      // Unusual but valid fields: an X- field, Source with version, relationship fields in an
      // unusual order, an extended description with " ." and " .." lines and trailing spaces.
      await writeFile(
        join(tree, 'DEBIAN/control'),
        `Package: ${pkg}\nVersion: 1:2.0~rc1-3\nArchitecture: arm64\nDescription: synopsis here   \n first line\n .\n ..\n indented  \nX-Custom-Field: yes\nHomepage: https://example.org/\nMaintainer: A B <a@example.org>\nMulti-Arch: foreign\nSection: admin\nPriority: optional\nBreaks: old-thing (<< 1)\nDepends: libc6 (>= 2.28), conmon | crun\nSource: zz-src (1.0)\nBuilt-Using: go (= 1.13)\nInstalled-Size: 12\n`,
      );
      const out = join(work, 'dpkg-debs', `${pkg}_2.0~rc1-3_arm64.deb`);
      await mkdir(join(work, 'dpkg-debs'), { recursive: true });
      await mustRun('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', tree, out]);
      extraDebs.push(out);
    }
    await buildFlatRepository(options(dir, { debs: [...debs, ...extraDebs] }));
    const ours = await readFile(join(dir, 'Packages'), 'utf8');
    const theirs = await mustRun('dpkg-scanpackages', ['--multiversion', '--hash', 'md5,sha256', '.'], { cwd: dir });
    assert.deepEqual(stanzas(ours), stanzas(theirs.stdout));
    assert.equal(stanzas(ours).length, debs.length + 4);
    assert.ok(ours.endsWith('\n\n'), 'every stanza, the last too, is followed by a blank line');
    assert.match(ours, /^Package: zz-xz\nSource: zz-src \(1\.0\)\nVersion: 1:2\.0~rc1-3\n/m);
  });

  test('sorted by package name, then Debian version (not string order), then architecture', async () => {
    const dir = join(work, 'order');
    const src = join(work, 'order-debs');
    const set: TestDeb[] = [
      { pkg: 'b-pkg', version: '1.10-1', arch: 'amd64' },
      { pkg: 'b-pkg', version: '1:0.1-1', arch: 'amd64' },
      { pkg: 'b-pkg', version: '1.9-1', arch: 'arm64' },
      { pkg: 'b-pkg', version: '1.9-1', arch: 'amd64' },
      { pkg: 'b-pkg', version: '1.9~rc1-1', arch: 'amd64' },
      { pkg: 'a-pkg', version: '2.0-1', arch: 'arm64' },
    ];
    const paths = [];
    for (const d of set) paths.push(await makeDeb(src, d, `${d.pkg}_${d.version.replace(':', '-')}_${d.arch}.deb`));
    await buildFlatRepository(options(dir, { debs: paths }));
    const text = await readFile(join(dir, 'Packages'), 'utf8');
    const got = [...text.matchAll(/^Package: (\S+)\nVersion: (\S+)\nArchitecture: (\S+)$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    assert.deepEqual(got, ['a-pkg 2.0-1 arm64', 'b-pkg 1.9~rc1-1 amd64', 'b-pkg 1.9-1 amd64', 'b-pkg 1.9-1 arm64', 'b-pkg 1.10-1 amd64', 'b-pkg 1:0.1-1 amd64']);
    // Plain string order would differ: the test is not passing by accident.
    const naive = [...got].sort();
    assert.notDeepEqual(naive, got);
  });

  test('Packages.gz and Packages.xz hold the same bytes; gzip has no file name and mtime 0', async () => {
    const dir = join(work, 'compress');
    await buildFlatRepository(options(dir));
    const plain = await readFile(join(dir, 'Packages'));
    const gz = await readFile(join(dir, 'Packages.gz'));
    assert.deepEqual(gunzipSync(gz), plain);
    assert.equal(gz[3], 0, 'FLG: no FNAME/FCOMMENT/FEXTRA');
    assert.equal(gz.readUInt32LE(4), 0, 'MTIME 0');
    const xz = await mustRun('sh', ['-c', `xz -dc < "${join(dir, 'Packages.xz')}"`]);
    assert.equal(xz.stdout, plain.toString('utf8'));
    assert.equal((await mustRun('xz', ['--robot', '--list', join(dir, 'Packages.xz')])).stdout.includes('CRC64'), true);
  });
});

describe('Release file', () => {
  test('flat: fields in order, Date and Valid-Until from the injected clock, checksums and sizes of every index file', async () => {
    const dir = join(work, 'release-flat');
    await buildFlatRepository(options(dir, { now: () => FIXED, release: { ...RELEASE, validFor: 7 * 86400 } }));
    const release = await readFile(join(dir, 'Release'), 'utf8');
    const head = release.slice(0, release.indexOf('MD5Sum:'));
    assert.equal(
      head,
      'Origin: crio-build\nLabel: crio-build CRI-O\nSuite: stable\nVersion: 1.18\nCodename: crio-1.18\n' +
        'Date: Fri, 02 Jan 2026 03:04:05 UTC\nValid-Until: Fri, 09 Jan 2026 03:04:05 UTC\nArchitectures: amd64 arm64\nDescription: CRI-O test repository\n',
    );
    let expected = 'MD5Sum:\n';
    const names = ['Packages', 'Packages.gz', 'Packages.xz'];
    const data = await Promise.all(names.map((n) => readFile(join(dir, n))));
    names.forEach((n, i) => (expected += ` ${md5(data[i] as Buffer)} ${String((data[i] as Buffer).length).padStart(16)} ${n}\n`));
    expected += 'SHA256:\n';
    names.forEach((n, i) => (expected += ` ${sha256(data[i] as Buffer)} ${String((data[i] as Buffer).length).padStart(16)} ${n}\n`));
    assert.equal(release.slice(head.length), expected);
  });

  test('dists: Components main, one Packages set per architecture (arch all in each), pool paths, checksums relative to dists/<suite>', async () => {
    const dir = join(work, 'release-dists');
    const r = await buildDistsRepository(options(dir, { now: () => FIXED }));
    const release = await readFile(join(dir, 'dists/stable/Release'), 'utf8');
    assert.match(release, /^Architectures: amd64 arm64\nComponents: main\n/m);
    assert.doesNotMatch(release, /Valid-Until/);
    for (const arch of ['amd64', 'arm64']) {
      for (const n of ['Packages', 'Packages.gz', 'Packages.xz']) {
        const rel = `main/binary-${arch}/${n}`;
        const data = await readFile(join(dir, 'dists/stable', rel));
        assert.ok(release.includes(` ${sha256(data)} ${String(data.length).padStart(16)} ${rel}\n`), `SHA256 line for ${rel}`);
        assert.ok(release.includes(` ${md5(data)} ${String(data.length).padStart(16)} ${rel}\n`), `MD5Sum line for ${rel}`);
      }
      const packages = await readFile(join(dir, `dists/stable/main/binary-${arch}/Packages`), 'utf8');
      const archs = [...packages.matchAll(/^Architecture: (\S+)$/gm)].map((m) => m[1]);
      assert.ok(archs.every((a) => a === arch || a === 'all'), `${arch} index holds only ${arch} and all: ${archs.join(',')}`);
      assert.ok(archs.includes('all'));
    }
    const arm = await readFile(join(dir, 'dists/stable/main/binary-arm64/Packages'), 'utf8');
    assert.match(arm, /^Filename: pool\/main\/libc\/libcrio-demo\/libcrio-demo1_0\.5-1_arm64\.deb$/m);
    assert.match(arm, /^Filename: pool\/main\/h\/hello-test\/hello-test_1\.0-1_arm64\.deb$/m);
    assert.ok(await isFile(join(dir, 'pool/main/c/crio-doc-test/crio-doc-test_1.0-1_all.deb')));
    assert.equal(r.sourcesLine, 'deb [signed-by=/usr/share/keyrings/crio-build-archive-keyring.gpg] {baseUrl} stable main');
    assert.deepEqual(
      r.files.map((f) => f.name).filter((n) => !n.startsWith('pool/')),
      ['crio-build-archive-keyring.asc', 'crio-build-archive-keyring.gpg', 'dists/stable/InRelease', 'dists/stable/Release', 'dists/stable/Release.gpg',
        ...['amd64', 'arm64'].flatMap((a) => [
          ...['', '.gz', '.xz'].map((x) => `dists/stable/main/binary-${a}/Packages${x}`),
          // Each index also by its hash (Acquire-By-Hash: see by-hash.test.ts).
          ...r.files.filter((f) => f.name.startsWith(`dists/stable/main/binary-${a}/by-hash/SHA256/`)).map((f) => f.name),
        ])],
    );
    assert.equal(r.files.filter((f) => f.name.includes('/by-hash/SHA256/')).length, 6);
    assert.match(release, /^Acquire-By-Hash: yes$/m);
    for (const f of r.files) {
      const data = await readFile(f.path);
      assert.equal(f.sha256, sha256(data), f.name);
      assert.equal(f.size, data.length, f.name);
    }
  });

  test('same inputs and clock give byte-identical Packages* and Release; another clock changes only Date', async () => {
    const one = join(work, 'det-1');
    const two = join(work, 'det-2');
    const three = join(work, 'det-3');
    // Different input order, and a different (passphrase-less) signing key: neither may matter.
    await buildFlatRepository(options(one, { now: () => FIXED }));
    await buildFlatRepository(options(two, { now: () => FIXED, debs: [...debs].reverse(), signing: { file: keyB } }));
    await buildFlatRepository(options(three, { now: () => new Date(FIXED.getTime() + 86400_000) }));
    for (const n of ['Packages', 'Packages.gz', 'Packages.xz', 'Release']) {
      assert.deepEqual(await readFile(join(one, n)), await readFile(join(two, n)), n);
    }
    const r1 = (await readFile(join(one, 'Release'), 'utf8')).split('\n');
    const r3 = (await readFile(join(three, 'Release'), 'utf8')).split('\n');
    const differing = r1.filter((l, i) => l !== r3[i]);
    assert.deepEqual(differing, ['Date: Fri, 02 Jan 2026 03:04:05 UTC']);
  });
});

describe('apt on this machine accepts the repository and refuses tampering, foreign keys and expiry', () => {
  let flatDir: string;
  let distsDir: string;
  let keyring: string;
  let flat: RepositoryResult;
  let dists: RepositoryResult;

  before(async () => {
    flatDir = join(work, 'apt-flat');
    distsDir = join(work, 'apt-dists');
    flat = await buildFlatRepository(options(flatDir, { release: { ...RELEASE, validFor: 86400 } }));
    dists = await buildDistsRepository(options(distsDir));
    keyring = join(work, 'client-keyring.gpg');
    await copyFile(join(flatDir, 'crio-build-archive-keyring.gpg'), keyring);
  });

  async function client(name: string, repoDir: string, result: RepositoryResult) {
    const server = await serveDirectory(repoDir);
    const apt = await AptClient.create(join(work, 'apt-roots', name));
    await apt.setSources(sourcesLine(result.sourcesLine, server.url, keyring));
    return { server, apt };
  }

  for (const layout of ['flat', 'dists'] as const) {
    test(`${layout}: signature accepted, both architectures visible with the right versions, downloads verify`, async () => {
      const { server, apt } = await client(`ok-${layout}`, layout === 'flat' ? flatDir : distsDir, layout === 'flat' ? flat : dists);
      try {
        const up = await apt.update();
        assert.equal(up.code, 0, up.stdout + up.stderr);
        assert.doesNotMatch(up.stdout + up.stderr, /^[WE]:/m, 'no warnings or errors');
        assert.ok(server.requests.some((r) => r.path.endsWith('/InRelease') && r.status === 200), 'apt used InRelease');
        assert.equal(await apt.candidate('hello-test'), '1.1-1', 'the highest amd64 version');
        assert.equal(await apt.candidate('hello-test:arm64'), '1.0-1');
        assert.equal(await apt.candidate('libcrio-demo1:arm64'), '0.5-1');
        assert.equal(await apt.candidate('libcrio-demo1:amd64'), undefined, 'no amd64 build of it');
        assert.equal(await apt.candidate('crio-doc-test'), '1.0-1');
        const show = await apt.apt('apt-cache', ['show', 'hello-test:arm64']);
        assert.match(show.stdout, /^Version: 1\.0-1$/m);
        for (const pkg of ['hello-test', 'libcrio-demo1:arm64']) {
          const dl = await apt.download(pkg);
          assert.equal(dl.code, 0, dl.stdout + dl.stderr);
        }
        assert.deepEqual((await apt.archives()).sort(), ['hello-test_1.1-1_amd64.deb', 'libcrio-demo1_0.5-1_arm64.deb']);
      } finally {
        await server.close();
      }
    });

    test(`${layout}: a Packages index changed after signing is refused (hash mismatch)`, async () => {
      const dir = join(work, `tampered-${layout}`);
      await cp(layout === 'flat' ? flatDir : distsDir, dir, { recursive: true });
      const indexDirs = layout === 'flat' ? [dir] : ['amd64', 'arm64'].map((a) => join(dir, `dists/stable/main/binary-${a}`));
      for (const d of indexDirs) {
        // A consistent forgery: all three forms say the same, only the Release does not vouch for it.
        const forged = (await readFile(join(d, 'Packages'), 'utf8')).replace(/^Version: 1\.1-1$/m, 'Version: 9.9-9');
        await writeFile(join(d, 'Packages'), forged);
        await mustRun('sh', ['-c', 'gzip -9n < Packages > Packages.gz && xz -c < Packages > Packages.xz'], { cwd: d });
        // dists: what apt fetches is the by-hash copy the Release names; the forger replaces those too.
        if (layout === 'dists') {
          for (const h of await readdir(join(d, 'by-hash', 'SHA256'))) {
            const old = await readFile(join(d, 'by-hash', 'SHA256', h));
            const form = old[0] === 0x1f && old[1] === 0x8b ? 'Packages.gz' : old[0] === 0xfd && old.subarray(1, 5).toString() === '7zXZ' ? 'Packages.xz' : 'Packages';
            await writeFile(join(d, 'by-hash', 'SHA256', h), await readFile(join(d, form)));
          }
        }
      }
      const { server, apt } = await client(`tampered-${layout}`, dir, layout === 'flat' ? flat : dists);
      try {
        const up = await apt.update();
        assert.notEqual(up.code, 0, up.stdout + up.stderr);
        assert.match(up.stdout + up.stderr, /Hash Sum mismatch|unexpected size/);
        assert.notEqual(await apt.candidate('hello-test'), '9.9-9');
      } finally {
        await server.close();
      }
    });

    test(`${layout}: a repository signed by another key is refused (NO_PUBKEY)`, async () => {
      const dir = join(work, `otherkey-${layout}`);
      const build = layout === 'flat' ? buildFlatRepository : buildDistsRepository;
      const r = await build(options(dir, { signing: { file: keyB } }));
      assert.equal(r.fingerprint, keyBFpr);
      const { server, apt } = await client(`otherkey-${layout}`, dir, r);
      try {
        const up = await apt.update();
        assert.notEqual(up.code, 0, up.stdout + up.stderr);
        assert.match(up.stdout + up.stderr, new RegExp(`NO_PUBKEY ${keyBFpr.slice(-16)}`));
        assert.match(up.stdout + up.stderr, /is not signed/);
        assert.equal(await apt.candidate('hello-test'), undefined);
      } finally {
        await server.close();
      }
    });

    test(`${layout}: a Release whose Valid-Until has passed is refused (expired)`, async () => {
      const dir = join(work, `expired-${layout}`);
      const build = layout === 'flat' ? buildFlatRepository : buildDistsRepository;
      const r = await build(options(dir, { release: { ...RELEASE, validFor: 3600 }, now: () => new Date(Date.now() - 2 * 86400_000) }));
      const { server, apt } = await client(`expired-${layout}`, dir, r);
      try {
        const up = await apt.update();
        assert.notEqual(up.code, 0, up.stdout + up.stderr);
        assert.match(up.stdout + up.stderr, /is expired/);
        assert.equal(await apt.candidate('hello-test'), undefined);
      } finally {
        await server.close();
      }
    });
  }

  test('gpgv verifies InRelease and Release.gpg with the binary keyring (and not with another key); the .asc dearmors to the keyring', async () => {
    for (const d of [flatDir, join(distsDir, 'dists/stable')]) {
      const ok1 = await run('gpgv', ['--keyring', keyring, join(d, 'InRelease')]);
      assert.equal(ok1.code, 0, ok1.stderr);
      const ok2 = await run('gpgv', ['--keyring', keyring, join(d, 'Release.gpg'), join(d, 'Release')]);
      assert.equal(ok2.code, 0, ok2.stderr);
      assert.match(ok1.stderr + ok2.stderr, /Good signature/);
      // SHA512 digests, as asked.
      assert.match(await readFile(join(d, 'InRelease'), 'utf8'), /^Hash: SHA512$/m);
      const packets = await mustRun('gpg', ['--list-packets'], { input: await readFile(join(d, 'Release.gpg')), env: { ...process.env, GNUPGHOME: join(work, 'gpg-empty') } });
      assert.match(packets.stdout, /digest algo 10/, 'digest algo 10 is SHA512');
      // The clearsigned text is exactly the Release file.
      const inRelease = await readFile(join(d, 'InRelease'), 'utf8');
      const release = await readFile(join(d, 'Release'), 'utf8');
      assert.ok(inRelease.includes(`\n\n${release}-----BEGIN PGP SIGNATURE-----`));
    }
    const otherKeyring = join(work, 'other.gpg');
    await mkdir(join(work, 'gpg-b'), { recursive: true, mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: join(work, 'gpg-b') };
    await mustRun('gpg', ['--batch', '--import', keyB], { env });
    await mustRun('sh', ['-c', `gpg --batch --export ${keyBFpr} > "${otherKeyring}"`], { env });
    const bad = await run('gpgv', ['--keyring', otherKeyring, join(flatDir, 'InRelease')]);
    assert.notEqual(bad.code, 0, 'another key does not verify');
    await mustRun('gpgconf', ['--kill', 'all'], { env });
    const dearmored = await mustRun('sh', ['-c', `gpg --dearmor < "${join(flatDir, 'crio-build-archive-keyring.asc')}" | sha256sum`]);
    assert.equal(dearmored.stdout.split(' ')[0], sha256(await readFile(keyring)));
    const asc = await readFile(join(flatDir, 'crio-build-archive-keyring.asc'), 'utf8');
    assert.match(asc, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    assert.notEqual((await readFile(keyring))[0], '-'.charCodeAt(0), 'the .gpg keyring is binary, not armored');
    const listed = await mustRun('gpg', ['--show-keys', '--with-colons', keyring], { env: { ...process.env, GNUPGHOME: join(work, 'gpg-empty') } });
    assert.match(listed.stdout, new RegExp(`^fpr:+${keyAFpr}:`, 'm'));
  });
});

describe('signing keys, passphrases and secrets', () => {
  let fragments: { binary: Buffer[]; text: string[] };
  let armoredSecret: string;

  before(async () => {
    // The secret key in its binary and armored forms, and the public key, to tell secret bytes apart.
    const home = join(work, 'gpg-inspect');
    await mkdir(home, { recursive: true, mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: home };
    armoredSecret = await readFile(keyA, 'utf8');
    const secretBinary = Buffer.from((await mustRun('sh', ['-c', `gpg --dearmor < "${keyA}" | base64 -w0`])).stdout, 'base64');
    await mustRun('gpg', ['--batch', '--import', keyA], { env });
    const publicBinary = Buffer.from((await mustRun('sh', ['-c', 'gpg --batch --export | base64 -w0'], { env })).stdout, 'base64');
    await mustRun('gpgconf', ['--kill', 'all'], { env });
    fragments = secretFragments(secretBinary, publicBinary);
    assert.ok(fragments.binary.length > 2 && fragments.text.length > 2, 'there is secret-only material to look for');
  });

  test('generateSigningKey: armored secret key, mode 0600, one signing key; rsa3072 too; bad options are refused', async () => {
    const st = await stat(keyA);
    assert.equal(st.mode & 0o777, 0o600);
    assert.match(armoredSecret, /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    assert.ok(!armoredSecret.includes(PASS));
    // Protected with gpg's full-strength S2K (the signing side's fast throwaway setting must not reach it).
    const packets = await mustRun('gpg', ['--list-packets', keyA], { env: { ...process.env, GNUPGHOME: join(work, 'gpg-empty') } });
    const count = Number(/protect count: (\d+)/.exec(packets.stdout)?.[1]);
    assert.ok(count >= 1_000_000, `S2K count ${count}`);
    const out = join(work, 'keys', 'rsa.asc');
    const rsa = await generateSigningKey({ name: 'rsa test', email: 'rsa@example.org', algorithm: 'rsa3072', expire: '30d', outFile: out });
    const shown = await mustRun('gpg', ['--show-keys', '--with-colons', out], { env: { ...process.env, GNUPGHOME: join(work, 'gpg-empty') } });
    assert.match(shown.stdout, /^sec:[^:]*:3072:1:/m, 'RSA 3072');
    assert.match(shown.stdout, new RegExp(`^fpr:+${rsa.fingerprint}:`, 'm'));
    const ed = await mustRun('gpg', ['--show-keys', '--with-colons', keyA], { env: { ...process.env, GNUPGHOME: join(work, 'gpg-empty') } });
    assert.match(ed.stdout, /^sec:[^:]*:255:22:[^:]*:[^:]*:[0-9]+:/m, 'ed25519 (EdDSA, algo 22), with an expiry date');
    // The RSA key signs a repository too.
    const r = await buildFlatRepository(options(join(work, 'rsa-repo'), { signing: { file: out } }));
    assert.equal(r.fingerprint, rsa.fingerprint);
    await rejects3(() => generateSigningKey({ name: 'x <y>', email: 'a@b', outFile: join(work, 'keys', 'no.asc') }), /key name .* not allowed \(allowed:/);
    await rejects3(() => generateSigningKey({ name: 'x', email: 'not an email', outFile: join(work, 'keys', 'no.asc') }), /email .* not allowed/);
    await rejects3(() => generateSigningKey({ name: 'x', email: 'a@b', expire: 'tomorrow', outFile: join(work, 'keys', 'no.asc') }), /expiry "tomorrow" is not allowed/);
    assert.equal(await isFile(join(work, 'keys', 'no.asc')), false);
    assert.deepEqual(gnupgLeftovers(), []);
  });

  test('a binary key file and an armored key from the environment sign as well as the armored file', async () => {
    const bin = join(work, 'keys', 'a.gpg');
    await mustRun('sh', ['-c', `gpg --dearmor < "${keyA}" > "${bin}"`]);
    const r1 = await buildFlatRepository(options(join(work, 'bin-key'), { signing: { file: bin, passphrase: PASS } }));
    assert.equal(r1.fingerprint, keyAFpr);
    const key = signingKeyFromEnvironment({ CRIO_BUILD_SIGNING_KEY: armoredSecret, CRIO_BUILD_SIGNING_PASSPHRASE: PASS });
    assert.ok(key);
    const r2 = await buildFlatRepository(options(join(work, 'env-key'), { signing: key }));
    assert.equal(r2.fingerprint, keyAFpr);
    assert.equal(signingKeyFromEnvironment({}), undefined);
    assert.throws(() => signingKeyFromEnvironment({ CRIO_BUILD_SIGNING_KEY: armoredSecret }, bin), /give one/);
  });

  test('missing or wrong passphrase, a public-only key, two secret keys, not a key: each says so, exit 3, no secret in the message', async () => {
    const errors: CrioBuildError[] = [];
    const dir = join(work, 'bad-keys');
    errors.push(await rejects3(() => buildFlatRepository(options(dir, { signing: { file: keyA } })), /is protected by a passphrase and none was given/));
    errors.push(await rejects3(() => buildFlatRepository(options(dir, { signing: { file: keyA, passphrase: `${PASS}-wrong` } })), /passphrase given does not unlock/));
    errors.push(await rejects3(() => buildFlatRepository(options(dir, { signing: { armored: armoredSecret, passphrase: 'nope' } })), /does not unlock/));
    assert.match(errors[0]?.hint ?? '', /CRIO_BUILD_SIGNING_PASSPHRASE/);
    // Public key only.
    errors.push(await rejects3(() => buildFlatRepository(options(dir, { signing: { file: join(flatDirOf(), 'crio-build-archive-keyring.asc') } })), new RegExp(`holds no secret key, only the public key ${keyAFpr}`)));
    // Two secret keys in one file.
    const both = join(work, 'keys', 'both.asc');
    await writeFile(both, `${armoredSecret}\n${await readFile(keyB, 'utf8')}`);
    errors.push(await rejects3(() => buildFlatRepository(options(dir, { signing: { file: both, passphrase: PASS } })), /holds 2 secret keys .*exactly one is allowed/));
    // Garbage that looks secret: never echoed back.
    const garbage = `-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: TOPSECRET-garbage-1234\n\nnot-base64 ${PASS}\n-----END PGP PRIVATE KEY BLOCK-----\n`;
    const e = await rejects3(() => buildFlatRepository(options(dir, { signing: { armored: garbage, description: '$CRIO_BUILD_SIGNING_KEY' } })), /\$CRIO_BUILD_SIGNING_KEY is not an OpenPGP key/);
    assert.doesNotMatch(`${e.message} ${e.hint}`, /TOPSECRET|not-base64/);
    errors.push(e);
    errors.push(await rejects3(() => buildFlatRepository(options(dir, { signing: { file: join(work, 'keys', 'missing.asc') } })), /cannot read signing key file .*missing\.asc: ENOENT/));
    // A key that expired (made with gpg's clock set to 2020, valid one day).
    const oldHome = join(work, 'gpg-old');
    await mkdir(oldHome, { recursive: true, mode: 0o700 });
    const oldEnv = { ...process.env, GNUPGHOME: oldHome };
    await mustRun('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--faked-system-time', '20200101T000000!', '--quick-gen-key', 'old key <old@example.org>', 'ed25519', 'sign', '1d'], { env: oldEnv });
    const expired = join(work, 'keys', 'expired.asc');
    await writeFile(expired, (await mustRun('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--export-secret-keys'], { env: oldEnv })).stdout);
    await mustRun('gpgconf', ['--kill', 'all'], { env: oldEnv });
    errors.push(await rejects3(() => buildFlatRepository(options(dir, { signing: { file: expired } })), /key [0-9A-F]{40} cannot sign \(expired, revoked, or without a signing capability\)/));
    for (const err of errors) {
      const text = `${err.message}\n${err.hint ?? ''}\n${err.stack ?? ''}`;
      assert.equal(findLeak(text, PASS, fragments), undefined, `leak in: ${err.message}`);
    }
    assert.equal(await isFile(join(dir, 'Release')), false, 'nothing published');
    assert.deepEqual(gnupgLeftovers(), [], 'no GNUPGHOME or gpg-agent left behind, also after errors');
  });

  test('gpg never gets the passphrase or the key in its argv or environment, even when the parent has them in its own environment', async () => {
    const real = (await mustRun('sh', ['-c', 'command -v gpg'])).stdout.trim();
    const wrapDir = join(work, 'gpg-wrapper');
    const log = join(work, 'gpg-wrapper.log');
    await mkdir(wrapDir, { recursive: true });
    await writeFile(
      join(wrapDir, 'gpg'),
      `#!/bin/sh\n{ printf 'ARGV:'; for a in "$@"; do printf ' %s' "$a"; done; printf '\\n'; tr '\\0' '\\n' < /proc/$$/environ; printf 'END\\n'; } >> "${log}"\nexec "${real}" "$@"\n`,
    );
    await chmod(join(wrapDir, 'gpg'), 0o755);
    const saved = { PATH: process.env.PATH, key: process.env.CRIO_BUILD_SIGNING_KEY, pass: process.env.CRIO_BUILD_SIGNING_PASSPHRASE };
    process.env.PATH = `${wrapDir}:${process.env.PATH}`;
    process.env.CRIO_BUILD_SIGNING_KEY = armoredSecret;
    process.env.CRIO_BUILD_SIGNING_PASSPHRASE = PASS;
    try {
      const key = signingKeyFromEnvironment(process.env);
      assert.ok(key);
      await buildFlatRepository(options(join(work, 'wrapped'), { signing: key }));
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.key === undefined) delete process.env.CRIO_BUILD_SIGNING_KEY;
      else process.env.CRIO_BUILD_SIGNING_KEY = saved.key;
      if (saved.pass === undefined) delete process.env.CRIO_BUILD_SIGNING_PASSPHRASE;
      else process.env.CRIO_BUILD_SIGNING_PASSPHRASE = saved.pass;
    }
    const text = await readFile(log, 'utf8');
    const calls = text.split('END\n').filter((c) => c.startsWith('ARGV:'));
    assert.ok(calls.some((c) => /--clearsign/.test(c) && /--passphrase-fd 3/.test(c) && /--pinentry-mode loopback/.test(c)), 'the signing call went through the wrapper');
    assert.ok(calls.some((c) => /--detach-sign/.test(c)));
    assert.equal(findLeak(text, PASS, fragments), undefined);
    assert.doesNotMatch(text, /CRIO_BUILD_SIGNING/);
    for (const c of calls) {
      const env = c.split('\n').slice(1).filter((l) => l !== '').map((l) => l.split('=')[0]).sort();
      assert.deepEqual(env, ['GNUPGHOME', 'LANG', 'LC_ALL', 'PATH'], 'gpg gets a minimal environment');
    }
  });

  test('no file written by the stage holds the passphrase or secret key material', async () => {
    const dirs = ['apt-flat', 'apt-dists', 'bin-key', 'env-key', 'wrapped', 'compress'].map((d) => join(work, d));
    const cacheFile = join(work, 'secret-scan-cache.json');
    await buildDistsRepository(options(join(work, 'scan-dists'), { cacheFile }));
    dirs.push(join(work, 'scan-dists'));
    let scanned = 0;
    for (const d of dirs) {
      for (const f of await listFiles(d)) {
        const data = await readFile(join(d, f));
        assert.equal(findLeak(data, PASS, fragments), undefined, `${d}/${f}`);
        // Armored signatures and keys: also their decoded bytes.
        if (/-----BEGIN PGP/.test(data.toString('latin1'))) {
          const decoded = await run('gpg', ['--dearmor'], { input: data });
          assert.equal(findLeak(Buffer.from(decoded.stdout, 'latin1'), PASS, fragments), undefined, `${d}/${f} dearmored`);
        }
        scanned++;
      }
    }
    assert.equal(findLeak(await readFile(cacheFile), PASS, fragments), undefined, 'stanza cache');
    assert.ok(scanned > 40, `scanned ${scanned} files`);
    // And the scan does find what it looks for (a check of the check).
    assert.ok(findLeak(await readFile(keyA), PASS, fragments) !== undefined);
  });
});

function flatDirOf(): string {
  return join(work, 'apt-flat');
}

describe('incremental rebuilds (stanza cache)', () => {
  test('adding one .deb reads only that one; the rest come from the cache (proved by a planted cache value)', async () => {
    const dir = join(work, 'inc-1');
    const cacheFile = join(work, 'cache', 'inc-1.json');
    const first = await buildFlatRepository(options(dir, { cacheFile, debs: debs.slice(0, 3) }));
    assert.deepEqual(first.stats, { read: 3, reused: 0 });
    assert.equal((await listFiles(dir)).some((f) => f.endsWith('.json')), false, 'the cache is not in the published tree');
    // Plant a marker in the cached control text of an old package: if the file were read again, the marker would vanish.
    const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as { entries: Record<string, { control: string }> };
    const key = Object.keys(cache.entries).find((k) => k.endsWith('hello-test_1.0-1_arm64.deb'));
    assert.ok(key);
    (cache.entries[key] as { control: string }).control = (cache.entries[key] as { control: string }).control.replace(/^Description: .*$/m, 'Description: PLANTED-IN-CACHE');
    await writeFile(cacheFile, JSON.stringify(cache));
    const second = await buildFlatRepository(options(dir, { cacheFile, debs: debs.slice(0, 4) }));
    assert.deepEqual(second.stats, { read: 1, reused: 3 });
    const packages = await readFile(join(dir, 'Packages'), 'utf8');
    assert.equal(stanzas(packages).length, 4);
    assert.match(packages, /Description: PLANTED-IN-CACHE/);
    // No cache: everything is read.
    const third = await buildFlatRepository(options(join(work, 'inc-1b'), { debs: debs.slice(0, 4) }));
    assert.deepEqual(third.stats, { read: 4, reused: 0 });
  });

  test('a .deb touched (new mtime) or rewritten in place at the same size is read again and gets its new hashes; so does one replaced under the same name', async () => {
    const src = join(work, 'inc-src');
    const dir = join(work, 'inc-2');
    const cacheFile = join(work, 'cache', 'inc-2.json');
    const set: TestDeb[] = [
      { pkg: 'alpha', version: '1.0-1', arch: 'amd64', content: 'A' },
      { pkg: 'beta', version: '1.0-1', arch: 'amd64', content: 'B' },
      { pkg: 'gamma', version: '1.0-1', arch: 'arm64', content: 'C' },
    ];
    const paths = [];
    for (const d of set) paths.push(await makeDeb(src, d));
    const opts = options(dir, { cacheFile, debs: paths });
    assert.deepEqual((await buildFlatRepository(opts)).stats, { read: 3, reused: 0 });
    assert.deepEqual((await buildFlatRepository(opts)).stats, { read: 0, reused: 3 });

    // Touch: same bytes, new mtime.
    const t = new Date(Date.now() + 60_000);
    await utimes(paths[0] as string, t, t);
    assert.deepEqual((await buildFlatRepository(opts)).stats, { read: 1, reused: 2 });

    // Same size, different bytes, rewritten in place (same inode), new mtime.
    const other = await makeDeb(join(work, 'inc-other'), { ...(set[1] as TestDeb), content: 'Z' });
    const newBytes = await readFile(other);
    const oldBytes = await readFile(paths[1] as string);
    assert.equal(newBytes.length, oldBytes.length, 'same size');
    assert.notDeepEqual(newBytes, oldBytes);
    const ino = (await stat(paths[1] as string)).ino;
    await writeFile(paths[1] as string, newBytes);
    const t2 = new Date(Date.now() + 120_000);
    await utimes(paths[1] as string, t2, t2);
    assert.equal((await stat(paths[1] as string)).ino, ino, 'rewritten in place');
    assert.deepEqual((await buildFlatRepository(opts)).stats, { read: 1, reused: 2 });
    let packages = await readFile(join(dir, 'Packages'), 'utf8');
    assert.ok(packages.includes(`SHA256: ${sha256(newBytes)}`), 'new hash of the rewritten file');
    assert.ok(!packages.includes(`SHA256: ${sha256(oldBytes)}`));

    // Replaced under the same name by a different package build (a new inode, via rename).
    const replacement = await makeDeb(join(work, 'inc-other'), { ...(set[2] as TestDeb), content: 'a longer payload', description: 'gamma rebuilt\nwith a new description' }, 'gamma-new.deb');
    await rename(replacement, paths[2] as string);
    const r = await buildFlatRepository(opts);
    assert.deepEqual(r.stats, { read: 1, reused: 2 });
    packages = await readFile(join(dir, 'Packages'), 'utf8');
    const bytes = await readFile(paths[2] as string);
    assert.ok(packages.includes(`SHA256: ${sha256(bytes)}\nDescription: gamma rebuilt\n with a new description\n`));
    assert.ok(packages.includes(`Size: ${bytes.length}\n`));
    // The published copy is the new file too.
    assert.equal(sha256(await readFile(join(dir, debName(set[2] as TestDeb)))), sha256(bytes));
  });
});

describe('placing the .debs', () => {
  test('from another file system they are copied with their mtime, and an unchanged copy is not copied again; a changed source is', async () => {
    const shm = mkdtempSync('/dev/shm/apt-index-test-');
    process.on('exit', () => rmSync(shm, { recursive: true, force: true }));
    const dir = join(work, 'cross-device');
    assert.notEqual((await stat(shm)).dev, (await stat(work)).dev, '/dev/shm must be another file system for this test');
    const src = await makeDeb(shm, { pkg: 'crossdev', version: '1.0-1', arch: 'amd64' });
    const opts = options(dir, { debs: [src], cacheFile: join(work, 'cache', 'cross.json') });
    await buildFlatRepository(opts);
    const published = join(dir, basename(src));
    const [s1, p1] = [await stat(src), await stat(published)];
    assert.notEqual(p1.dev, s1.dev, 'a copy, not a link');
    assert.ok(Math.abs(p1.mtimeMs - s1.mtimeMs) < 1, `mtime kept: ${p1.mtimeMs} ${s1.mtimeMs}`);
    assert.deepEqual(await readFile(published), await readFile(src));
    const r2 = await buildFlatRepository(opts);
    assert.deepEqual(r2.stats, { read: 0, reused: 1 });
    assert.equal((await stat(published)).ino, p1.ino, 'not copied again');
    // A new build of the file (new content, new mtime) under the same name.
    const rebuilt = await makeDeb(join(shm, 'new'), { pkg: 'crossdev', version: '1.0-1', arch: 'amd64', content: 'rebuilt with other content\n' });
    const later = new Date(Date.now() + 60_000);
    await utimes(rebuilt, later, later);
    await rename(rebuilt, src);
    const r3 = await buildFlatRepository(opts);
    assert.deepEqual(r3.stats, { read: 1, reused: 0 });
    assert.deepEqual(await readFile(published), await readFile(src));
    assert.ok((await readFile(join(dir, 'Packages'), 'utf8')).includes(`SHA256: ${sha256(await readFile(src))}`));
    assert.deepEqual(await tempFiles(dir), []);
  });

  test('a .deb already in the flat directory stays where it is (same inode); dists hard-links into the pool', async () => {
    const dir = join(work, 'in-place');
    await mkdir(dir, { recursive: true });
    const inside = join(dir, basename(debs[0] as string));
    await copyFile(debs[0] as string, inside);
    const ino = (await stat(inside)).ino;
    const r = await buildFlatRepository(options(dir, { debs: [inside] }));
    assert.equal((await stat(inside)).ino, ino);
    assert.deepEqual(r.files.filter((f) => f.name.endsWith('.deb')).map((f) => f.name), [basename(inside)]);
    const distsDir = join(work, 'pool-links');
    await buildDistsRepository(options(distsDir, { debs: [debs[0] as string] }));
    assert.equal((await stat(join(distsDir, 'pool/main/h/hello-test', basename(debs[0] as string)))).ino, (await stat(debs[0] as string)).ino);
  });
});

describe('atomic output and input errors', () => {
  test('a failed rebuild (wrong passphrase, unreadable key) leaves the previous repository byte-identical and no temporary files', async () => {
    for (const build of [buildFlatRepository, buildDistsRepository]) {
      const dir = join(work, `atomic-${build.name}`);
      await build(options(dir, { debs: debs.slice(0, 2) }));
      const before = await snapshot(dir);
      await rejects3(() => build(options(dir, { debs: debs.slice(0, 4), signing: { file: keyA, passphrase: 'wrong' } })), /does not unlock/);
      await rejects3(() => build(options(dir, { debs: debs.slice(0, 4), signing: { file: join(work, 'nope.asc') } })), /cannot read/);
      assert.deepEqual(await snapshot(dir), before);
      assert.deepEqual(await tempFiles(dir), []);
      assert.deepEqual(gnupgLeftovers(), []);
    }
  });

  test('a process that exits while the key is imported (Ctrl-C in the CLI ends in process.exit) leaves no GNUPGHOME and no gpg-agent', async () => {
    const childTmp = join(work, 'exit-tmp');
    await mkdir(childTmp, { recursive: true });
    const signModule = new URL('../../src/index/apt/sign.js', import.meta.url).href;
    const script = `
      import { withSigner } from ${JSON.stringify(signModule)};
      import { readdirSync } from 'node:fs';
      await withSigner({ file: ${JSON.stringify(keyA)}, passphrase: ${JSON.stringify(PASS)} }, async (s) => {
        await s.sign('Origin: x\\n'); // the agent is running and holds the key now
        console.log('homes while signing: ' + readdirSync(process.env.TMPDIR).filter((n) => n.startsWith('crio-build-gnupg-')).length);
        process.exit(130);
      });`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: childTmp } });
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /homes while signing: 1/);
    assert.deepEqual(readdirSync(childTmp), []);
    const agents = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(childTmp);
      } catch {
        return false;
      }
    });
    assert.deepEqual(agents, []);
  });

  test('Release, Release.gpg and InRelease appear after every Packages file, keyring and .deb (rename order seen by inotify)', async () => {
    const dir = join(work, 'order-watch');
    await mkdir(dir, { recursive: true });
    const events: string[] = [];
    const watcher = watch(dir, (_type, name) => {
      if (name) events.push(String(name));
    });
    try {
      await buildFlatRepository(options(dir));
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      watcher.close();
    }
    const finals = events.filter((n) => !n.includes('.tmp-'));
    const lastOf = (names: string[]) => Math.max(...names.map((n) => finals.lastIndexOf(n)));
    const firstOf = (names: string[]) => Math.min(...names.map((n) => finals.indexOf(n)));
    const early = ['Packages', 'Packages.gz', 'Packages.xz', 'crio-build-archive-keyring.asc', 'crio-build-archive-keyring.gpg', ...base.map(debName)];
    const late = ['Release', 'Release.gpg', 'InRelease'];
    for (const n of [...early, ...late]) assert.ok(finals.includes(n), `saw ${n} appear (${finals.join(' ')})`);
    assert.ok(lastOf(early) < firstOf(late), `order: ${finals.join(' ')}`);
    assert.deepEqual(await tempFiles(dir), []);
  });

  test('bad inputs fail before anything is written, naming the problem and what is allowed', async () => {
    const dir = join(work, 'bad-inputs');
    const fake = join(work, 'fake', 'fake_1.0_amd64.deb');
    await mkdir(join(work, 'fake'), { recursive: true });
    await writeFile(fake, 'this is not an ar archive\n');
    const cases: Array<[Partial<RepositoryOptions>, RegExp]> = [
      [{ debs: [...debs, fake] }, /fake_1\.0_amd64\.deb is not a Debian binary package \(\.deb\): it does not start with the ar signature/],
      [{ debs: [join(work, 'keys', 'a.asc')] }, /a\.asc is not a \.deb file \(allowed: files named \*\.deb\)/],
      [{ release: { ...RELEASE, suite: 'stable/../../etc' } }, /suite "stable\/\.\.\/\.\.\/etc" is not allowed \(allowed: letters, digits and "\. \+ _ -"/],
      [{ release: { ...RELEASE, suite: '..' } }, /suite "\.\." is not allowed/],
      [{ release: { ...RELEASE, codename: 'crio 1.18' } }, /codename "crio 1\.18" is not allowed/],
      [{ release: { ...RELEASE, origin: 'a\nSuite: evil' } }, /release origin .* is not allowed \(allowed: one non-empty line/],
      [{ release: { ...RELEASE, validFor: -5 } }, /validFor -5 is not allowed \(allowed: a positive whole number of seconds\)/],
      [{ architectures: ['amd64'] }, /hello-test_1\.0-1_arm64\.deb is for architecture arm64, which this repository does not serve \(allowed: amd64, all\)/],
      [{ architectures: ['amd64', 'Arm64'] }, /architecture "Arm64" is not allowed \(allowed: Debian architecture names/],
      [{ debs: [...debs, debs[0] as string] }, /hello-test 1\.0-1 \(amd64\) is given twice/],
      [{ keyringName: '../evil' }, /keyring name "\.\.\/evil" is not allowed/],
    ];
    for (const [more, pattern] of cases) {
      await rejects3(() => buildDistsRepository(options(dir, more)), pattern);
      await rejects3(() => buildFlatRepository(options(dir, more)), pattern);
    }
    // Same package/version/arch under two names; the same file name from two directories.
    const copyDir = join(work, 'dup');
    await mkdir(copyDir, { recursive: true });
    await copyFile(debs[0] as string, join(copyDir, 'renamed.deb'));
    await rejects3(() => buildFlatRepository(options(dir, { debs: [debs[0] as string, join(copyDir, 'renamed.deb')] })), /is given twice: .*renamed\.deb/);
    const same = await makeDeb(copyDir, { pkg: 'hello-test', version: '7.0-1', arch: 'amd64' }, basename(debs[0] as string));
    await rejects3(() => buildFlatRepository(options(dir, { debs: [debs[0] as string, same] })), /would both be published as hello-test_1\.0-1_amd64\.deb/);
    const odd = join(copyDir, 'has space.deb');
    await copyFile(debs[0] as string, odd);
    await rejects3(() => buildFlatRepository(options(dir, { debs: [odd] })), /file name "has space\.deb" is not allowed in a repository \(allowed:/);
    assert.equal(await isFile(join(dir, 'Release')), false);
    assert.equal(await isFile(join(dir, 'dists/stable/Release')), false);
  });
});

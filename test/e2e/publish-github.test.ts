/**
 * `crio-build release-1.18 --arch arm64 --publish --repo o/r` through the real CLI, against the
 * local fake GitHub (test/helpers/fake-github.ts) via GITHUB_API_URL, with GITHUB_TOKEN and the
 * operator's signing key (with a passphrase) in the environment. One site, one cold build; the
 * later steps reuse it:
 *
 *   1. --dry-run: exit 0, every action printed (create the release, upload each file), no writes;
 *   2. the publish: one prerelease `nightly-release-1.18` holding exactly the release directory's
 *      files (same sha256), uploaded packages first and the signed index last; its body is
 *      RELEASE_NOTES.md; stderr ends with where it is and the two lines a Pi needs;
 *   3. a rerun with nothing changed: everything cached or unchanged, GitHub gets no write at all;
 *   4. a new upstream commit on cri-o release-1.18: only cri-o rebuilt; on GitHub the old cri-o
 *      .deb and bundle deleted, the new ones and the index replaced, the other .debs untouched;
 *   5. GITHUB_TOKEN without a signing key: exit 3 naming CRIO_BUILD_SIGNING_KEY and
 *      `crio-build keys generate`, before anything is resolved, fetched or built.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { addCommit, CNI_PLUGINS_TAG, CONMON_TAG_2_0_19, CRI_TOOLS_TAG, versionOf } from '../fixtures/upstreams.js';
import { hasStackTrace, runCli, type CliResult } from '../helpers/cli.js';
import { startFakeGitHub, type FakeAsset, type FakeGitHub, type FakeRelease } from '../helpers/fake-github.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';
import { tempDir } from '../helpers/tmp.js';
import { generateSigningKey } from '../../src/index/apt/index.js';

const TOKEN = 'ghp_e2eFakeToken0publishGitHub000001';
const PASSPHRASE = 'PASS-e2e-publish-github-4471';
const REPO = 'o/r';
const TAG = 'nightly-release-1.18';
const DOWNLOAD = `https://github.com/${REPO}/releases/download/${TAG}`;
const KEYRING = 'crio-build-archive-keyring.gpg';
const APT_LINES = [
  `curl -fsSL ${DOWNLOAD}/${KEYRING} | sudo tee /usr/share/keyrings/${KEYRING} >/dev/null`,
  `echo "deb [signed-by=/usr/share/keyrings/${KEYRING}] ${DOWNLOAD} ./" | sudo tee /etc/apt/sources.list.d/crio-build.list`,
];
const INDEX = ['Packages', 'Packages.gz', 'Packages.xz', 'Release', 'InRelease', 'Release.gpg'];
const COMPONENTS = ['cri-o', 'conmon', 'cni-plugins', 'cri-tools'];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const nameOf = (url: string) => new URL(url, 'http://x').searchParams.get('name');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('crio-build release-1.18 --arch arm64 --publish --repo o/r (GitHub, through the CLI)', () => {
  let site: TestSite;
  let fake: FakeGitHub;
  let env: Record<string, string>;
  let args: string[];
  let relDir: string;

  before(async () => {
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
    fake = await startFakeGitHub({ tokens: [TOKEN], repos: [REPO] });
    const key = await generateSigningKey({ name: 'crio-build e2e github', email: 'e2e-github@crio-build.invalid', passphrase: PASSPHRASE, outFile: join(await tempDir('crio-build-gh-keys-'), 'key.asc') });
    env = {
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: '',
      GITHUB_ACTIONS: '',
      CRIO_BUILD_SIGNING_KEY: readFileSync(key.outFile, 'utf8'),
      CRIO_BUILD_SIGNING_PASSPHRASE: PASSPHRASE,
    };
    args = ['release-1.18', '--arch', 'arm64', ...site.args, '--publish', '--repo', REPO];
    relDir = join(site.artifactsDir, 'releases', TAG);
  });

  after(async () => {
    await fake?.close();
    await site?.close();
  });

  /** The release directory as GitHub should hold it: every file but the notes, with its sha256. */
  function releaseFiles(): Map<string, string> {
    const names = readdirSync(relDir).filter((f) => !f.startsWith('.') && f !== 'RELEASE_NOTES.md');
    return new Map(names.map((f) => [f, sha256(readFileSync(join(relDir, f)))]));
  }

  function theRelease(): FakeRelease {
    const rels = fake.releases(REPO);
    assert.equal(rels.length, 1, `exactly one release: ${rels.map((r) => `${r.tag_name}${r.draft ? ' (draft)' : ''}`).join(', ')}`);
    return rels[0]!;
  }

  /** The release holds exactly the release directory's files, byte for byte. */
  function assertMatchesDirectory(rel: FakeRelease): void {
    const want = releaseFiles();
    assert.deepEqual(rel.assets.map((a) => a.name).sort(), [...want.keys()].sort(), 'the assets are exactly the release directory (minus RELEASE_NOTES.md)');
    for (const a of rel.assets) {
      assert.equal(a.state, 'uploaded', `${a.name} finished uploading`);
      assert.equal(sha256(a.bytes), want.get(a.name), `${a.name}: the bytes on GitHub are the file's`);
    }
  }

  const uploads = () => fake.requests.filter((r) => r.route === 'upload-asset' && r.status === 201).map((r) => nameOf(r.url)!);
  const run = async (extra: string[] = [], over: Record<string, string> = {}): Promise<CliResult> => runCli([...args, ...extra], { env: { ...env, ...over } });

  test('--dry-run: prints the release it would create and every upload; GitHub sees reads only', async () => {
    const r = await run(['--dry-run']);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const files = [...releaseFiles().keys()];
    assert.ok(files.length >= 14, `release directory: ${files.join(' ')}`);
    assert.match(r.stderr, /publish: \(dry run\) create-release: no release has tag nightly-release-1\.18/);
    // Every file, each announced as an upload, in the order a real run would upload them.
    const announced = [...r.stderr.matchAll(/publish: \(dry run\) upload (\S+): new release/g)].map((m) => m[1]!);
    assert.deepEqual([...announced].sort(), [...files].sort(), 'one upload line per file of the release');
    assert.deepEqual(announced.slice(-3), ['Release.gpg', 'InRelease', 'provenance.intoto.jsonl'], `the signatures go last, then the provenance: ${announced.join(' ')}`);
    assert.match(r.stderr, /release-1\.18 publish +ok +[\d.]+s +dry run: would upload \d+, replaced 0, deleted 0/);
    assert.equal(fake.writes(), 0, `writes: ${JSON.stringify(fake.requests.filter((q) => q.method !== 'GET'))}`);
    assert.ok(fake.requests.length > 0, 'it did ask GitHub whether the release exists');
    assert.ok(fake.requests.every((q) => q.method === 'GET' && q.authorization), 'only authenticated GETs');
    assert.equal(fake.releases(REPO).length, 0, 'no release was created');
    assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN), 'the token is not printed');
  });

  test('publish: one prerelease holding exactly the release directory, index last, notes as body, the Pi lines at the end', async () => {
    fake.resetCounters();
    const r = await run();
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    for (const c of COMPONENTS) assert.match(r.stderr, new RegExp(`release-1\\.18/arm64 build:${c} +cached`), 'the dry run built everything already');
    assert.match(r.stderr, /release-1\.18 publish +ok +[\d.]+s +uploaded \d+, replaced 0, deleted 0, unchanged 0/);

    const rel = theRelease();
    assert.equal(rel.tag_name, TAG);
    assert.equal(rel.draft, false, 'published');
    assert.equal(rel.prerelease, true, 'a nightly is a prerelease');
    assert.match(rel.name ?? '', /^CRI-O release-1\.18 nightly \(1\.18\.1\+git\d{14}\.[0-9a-f]{7}\)$/);
    assertMatchesDirectory(rel);

    // Uploaded once each, packages first, the index after them, InRelease and Release.gpg last but
    // for the provenance, which names every other file.
    const order = uploads();
    assert.equal(order.length, rel.assets.length, `each file uploaded once: ${order.join(' ')}`);
    assert.deepEqual(order.slice(-3), ['Release.gpg', 'InRelease', 'provenance.intoto.jsonl'], `signatures last, then the provenance: ${order.join(' ')}`);
    const firstIndex = Math.min(...INDEX.map((f) => order.indexOf(f)));
    assert.ok(INDEX.every((f) => order.includes(f)), 'the whole index is uploaded');
    for (const [i, f] of order.entries()) if (/\.(deb|tar\.gz)$/.test(f)) assert.ok(i < firstIndex, `${f} goes before the index: ${order.join(' ')}`);
    assert.ok(order.indexOf('Release') < order.indexOf('InRelease') && order.indexOf('Release') < order.indexOf('Release.gpg'));
    const debs = order.filter((f) => f.endsWith('.deb'));
    for (const p of ['cri-o_', 'cri-o-conmon_', 'containernetworking-plugins_', 'cri-tools_']) assert.equal(debs.filter((d) => d.startsWith(p)).length, 1, `${p}*.deb: ${debs.join(' ')}`);
    assert.equal(order.filter((f) => /^cri-o\.arm64\.v.+\.tar\.gz$/.test(f)).length, 1, 'the bundle');
    assert.equal(fake.count('upload-asset', 'POST'), order.length, 'no failed or repeated uploads');

    // The body is the notes, and the notes say what is in it and how to install it.
    const notes = readFileSync(join(relDir, 'RELEASE_NOTES.md'), 'utf8');
    assert.equal(rel.body, notes);
    const up = site.upstreams;
    const crioCommit = up.crio.branches['release-1.18']!;
    const rows: Array<[string, RegExp, string]> = [
      ['cri-o', new RegExp(`1\\.18\\.1\\+git\\d{14}\\.${crioCommit.slice(0, 7)}`), crioCommit],
      ['conmon', new RegExp(escape(versionOf(CONMON_TAG_2_0_19))), up.conmon.tags[CONMON_TAG_2_0_19]!],
      ['cni-plugins', new RegExp(escape(versionOf(CNI_PLUGINS_TAG))), up.cniPlugins.tags[CNI_PLUGINS_TAG]!],
      ['cri-tools', new RegExp(escape(versionOf(CRI_TOOLS_TAG))), up.criTools.tags[CRI_TOOLS_TAG]!],
    ];
    for (const [name, version, commit] of rows) {
      const row = new RegExp(`^\\| arm64 \\| ${name} \\| ${version.source}\\S* \\| \`${commit.slice(0, 12)}\` \\| go1\\.13\\.10 \\(fixture\\) \\| cross \\|$`, 'm');
      assert.match(notes, row, `${name}: version, commit and Go toolchain in the notes`);
    }
    assert.match(notes, /Kubernetes 1\.18/);
    assert.match(notes, /^Kubernetes minor served: 1\.18\.$/m);
    const sums = readFileSync(join(relDir, 'SHA256SUMS'), 'utf8').trimEnd();
    assert.ok(sums.split('\n').length >= 5 && notes.includes(sums), 'the checksums are in the notes');
    for (const line of APT_LINES) assert.ok(notes.split('\n').includes(line), `notes lack: ${line}`);

    // What GitHub holds is a working signed repository: checksums and the InRelease signature hold.
    const copy = await tempDir('crio-build-gh-download-');
    for (const a of rel.assets) writeFileSync(join(copy, a.name), a.bytes);
    execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: copy, stdio: 'pipe' });
    execFileSync('gpgv', ['--keyring', join(copy, KEYRING), join(copy, 'InRelease')], { stdio: 'pipe' });
    execFileSync('gpgv', ['--keyring', join(copy, KEYRING), join(copy, 'Release.gpg'), join(copy, 'Release')], { stdio: 'pipe' });

    // The run ends with where the release is and the lines a Pi needs.
    const end = [
      `Release ${TAG}: ${relDir}`,
      `  published: https://github.com/${REPO}/releases/tag/${TAG}`,
      '  On a Pi:',
      ...APT_LINES.map((l) => `    ${l}`),
      '    sudo apt-get update && sudo apt-get install cri-o',
      '',
    ].join('\n');
    assert.ok(r.stderr.endsWith(end), `stderr should end with:\n${end}\n--- it ends with:\n${r.stderr.slice(-800)}`);
    assert.doesNotMatch(r.stderr, /this machine's own key|making a key for this machine/, 'signed with the operator\'s key');
  });

  test('a rerun with nothing changed: every build cached, package cached, index unchanged; GitHub gets no upload, delete or edit', async () => {
    const before = new Map(theRelease().assets.map((a) => [a.name, a.id]));
    fake.resetCounters();
    const r = await run();
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    for (const c of COMPONENTS) assert.match(r.stderr, new RegExp(`release-1\\.18/arm64 build:${c} +cached`));
    assert.match(r.stderr, /release-1\.18\/arm64 package +cached/);
    assert.match(r.stderr, /release-1\.18 index +unchanged/);
    assert.match(r.stderr, new RegExp(`release-1\\.18 publish +unchanged +[\\d.]+s +uploaded 0, replaced 0, deleted 0, unchanged ${before.size}\\b`));
    assert.equal(fake.count('upload-asset'), 0, 'no uploads');
    assert.equal(fake.count('delete-asset'), 0, 'no deletes');
    assert.equal(fake.writes(), 0, `no writes at all: ${JSON.stringify(fake.requests.filter((q) => q.method !== 'GET'))}`);
    const rel = theRelease();
    assert.deepEqual(new Map(rel.assets.map((a) => [a.name, a.id])), before, 'the same assets (same ids) as before');
    assertMatchesDirectory(rel);
  });

  test('a new upstream commit on cri-o release-1.18: only cri-o rebuilt; stale cri-o files deleted, index replaced, other .debs untouched', async () => {
    const old = theRelease();
    const oldAssets = new Map<string, FakeAsset>(old.assets.map((a) => [a.name, a]));
    const oldCrioDeb = [...oldAssets.keys()].find((n) => n.startsWith('cri-o_') && n.endsWith('.deb'))!;
    const oldBundle = [...oldAssets.keys()].find((n) => /^cri-o\.arm64\..*\.tar\.gz$/.test(n))!;
    const others = [...oldAssets.keys()].filter((n) => n.endsWith('.deb') && n !== oldCrioDeb);
    assert.equal(others.length, 3, others.join(' '));
    const commit = await addCommit(site.upstreams.crio.path, 'release-1.18', 'README.md', '# cri-o (miniature)\n\nA change for the next nightly on GitHub.\n', 'README: the next nightly');

    fake.resetCounters();
    const r = await run();
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /release-1\.18\/arm64 build:cri-o +ok/, 'cri-o rebuilt');
    for (const c of COMPONENTS.slice(1)) assert.match(r.stderr, new RegExp(`release-1\\.18/arm64 build:${c} +cached`), `${c} did not change`);
    assert.match(r.stderr, /release-1\.18 index +ok/);
    // New: the cri-o .deb, the bundle, and their documents (two SBOMs, cri-o's .buildinfo); the provenance is replaced.
    assert.match(r.stderr, /release-1\.18 publish +ok +[\d.]+s +uploaded 5, replaced 9, deleted 5, unchanged \d+/);

    const rel = theRelease();
    assert.equal(rel.id, old.id, 'the same rolling release, updated in place');
    assert.equal(rel.draft, false);
    assertMatchesDirectory(rel);
    const names = rel.assets.map((a) => a.name);
    const newCrioDeb = names.find((n) => n.startsWith('cri-o_') && n.endsWith('.deb'))!;
    const newBundle = names.find((n) => /^cri-o\.arm64\..*\.tar\.gz$/.test(n))!;
    assert.ok(newCrioDeb.includes(commit.slice(0, 7)) && newCrioDeb !== oldCrioDeb, `new cri-o .deb ${newCrioDeb} (was ${oldCrioDeb})`);
    assert.ok(newBundle.includes(commit.slice(0, 7)) && newBundle !== oldBundle, `new bundle ${newBundle} (was ${oldBundle})`);
    assert.ok(!names.includes(oldCrioDeb) && !names.includes(oldBundle), 'the old cri-o .deb and bundle are gone');
    const docsOf = (deb: string, bundle: string) => [`${deb}.spdx.json`, deb.replace(/\.deb$/, '.buildinfo'), `${bundle}.spdx.json`];
    for (const n of docsOf(oldCrioDeb, oldBundle)) assert.ok(!names.includes(n), `${n} is gone with what it described`);

    // Uploaded: the new cri-o files and their documents, and every index/metadata file that changed; nothing else.
    const REPLACED = [...INDEX, 'SHA256SUMS', 'crio-build-manifest.json', 'provenance.intoto.jsonl'];
    assert.deepEqual(uploads().sort(), [newCrioDeb, newBundle, ...docsOf(newCrioDeb, newBundle), ...REPLACED].sort(), `uploads: ${uploads().join(' ')}`);
    assert.deepEqual(uploads().slice(-3), ['Release.gpg', 'InRelease', 'provenance.intoto.jsonl'], 'signatures still last, the provenance (which names every file) after them');
    for (const n of others) assert.equal(rel.assets.find((a) => a.name === n)?.id, oldAssets.get(n)!.id, `${n} not re-uploaded`);
    for (const n of ['crio-build-archive-keyring.gpg', 'crio-build-archive-keyring.asc']) assert.equal(rel.assets.find((a) => a.name === n)?.id, oldAssets.get(n)!.id, `${n} (same key) not re-uploaded`);

    // Deleted: the replaced files' old versions, then the stale cri-o files, after every upload.
    const deletes = fake.requests.filter((q) => q.route === 'delete-asset' && q.status === 204);
    const deletedIds = deletes.map((q) => Number(/\/assets\/(\d+)$/.exec(q.url)![1]));
    const byId = new Map([...oldAssets.values()].map((a) => [a.id, a.name]));
    assert.deepEqual(deletedIds.map((id) => byId.get(id) ?? `unknown id ${id}`).sort(), [oldCrioDeb, oldBundle, ...docsOf(oldCrioDeb, oldBundle), ...REPLACED].sort());
    const lastUpload = fake.requests.map((q) => q.route === 'upload-asset').lastIndexOf(true);
    for (const stale of [oldCrioDeb, oldBundle, ...docsOf(oldCrioDeb, oldBundle)]) {
      const at = fake.requests.findIndex((q) => q.route === 'delete-asset' && q.url.endsWith(`/assets/${oldAssets.get(stale)!.id}`));
      assert.ok(at > lastUpload, `${stale} is deleted after the last upload (a client never meets an index naming a missing file)`);
    }

    // The body follows the notes of the new nightly.
    const notes = readFileSync(join(relDir, 'RELEASE_NOTES.md'), 'utf8');
    assert.equal(rel.body, notes);
    assert.ok(notes.includes(`\`${commit.slice(0, 12)}\``), 'the notes name the new commit');
    assert.equal(fake.count('update-release', 'PATCH'), 1, 'the release title/body updated once');
  });

  test('GITHUB_TOKEN without a signing key: exit 3 naming CRIO_BUILD_SIGNING_KEY and `crio-build keys generate`, before building anything', async () => {
    fake.resetCounters();
    const root = await tempDir('crio-build-gh-nokey-');
    const cache = join(root, 'cache');
    const artifacts = join(root, 'artifacts');
    const t0 = Date.now();
    const r = await runCli(['release-1.18', '--arch', 'arm64', '--config', site.configPath, '--cache-dir', cache, '--artifacts', artifacts, '--publish', '--repo', REPO], {
      env: { ...env, CRIO_BUILD_SIGNING_KEY: '', CRIO_BUILD_SIGNING_PASSPHRASE: '' },
    });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(r.code, 3, r.stderr.slice(-2000));
    assert.match(r.stderr, /CRIO_BUILD_SIGNING_KEY/);
    assert.match(r.stderr, /`crio-build keys generate/);
    assert.match(r.stderr, /signing key/);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
    // Nothing ran: no stage, no cache or artifacts written, no request to GitHub.
    assert.doesNotMatch(r.stderr, /release-1\.18\/arm64 (resolve|fetch|build)/, `stages ran before the refusal:\n${r.stderr.slice(0, 2000)}`);
    assert.ok(!existsSync(cache) || readdirSync(cache).length === 0, `the cache dir was written: ${existsSync(cache) ? readdirSync(cache).join(' ') : ''}`);
    assert.ok(!existsSync(artifacts) || readdirSync(artifacts).length === 0, `the artifacts dir was written: ${existsSync(artifacts) ? readdirSync(artifacts).join(' ') : ''}`);
    assert.equal(fake.requests.length, 0, 'GitHub was not asked anything');
    assert.ok(seconds < 30, `refused in ${seconds}s`);

    // With the warm site as well (everything cached), the same refusal, and the release stays as it was.
    const assetsBefore = theRelease().assets.map((a) => a.id);
    const warm = await run([], { CRIO_BUILD_SIGNING_KEY: '', CRIO_BUILD_SIGNING_PASSPHRASE: '' });
    assert.equal(warm.code, 3, warm.stderr.slice(-2000));
    assert.match(warm.stderr, /CRIO_BUILD_SIGNING_KEY.*`crio-build keys generate --out FILE`/);
    assert.equal(fake.writes(), 0);
    assert.deepEqual(theRelease().assets.map((a) => a.id), assetsBefore);
  });
});

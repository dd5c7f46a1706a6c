/**
 * The Pi test (`npm run e2e`): the user's last mile, end to end with the real tools.
 *
 *   1. `crio-build release-1.18 --arch arm64 --publish` with the operator's signing key (from the
 *      environment, with a passphrase) and no GITHUB_TOKEN: the directory publisher leaves the
 *      release under artifacts/e2e/releases/<tag>/, served by a static web server on 127.0.0.1.
 *   2. A Debian bookworm arm64 root (our debootstrapped base image, cached by content key) runs
 *      under qemu as the Pi: the key and source lines are taken from RELEASE_NOTES.md and run as
 *      written (no trusted=yes), then `apt-get update && apt-get install cri-o`; the binaries run,
 *      the config, drop-ins and the unit are in place.
 *   3. Upstream moves (a new commit on release-1.18): the next run publishes a newer nightly into
 *      the same rolling release, and `apt-get upgrade` on the Pi moves to it.
 *   4. apt refuses a tampered Packages, a Release signed by another key, and an expired Release.
 *
 * The published repository stays under artifacts/e2e/ for inspection.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_CACHE } from '../build/fixtures.js';
import { addCommit } from '../fixtures/upstreams.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { runCli } from '../helpers/cli.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';
import { serveDirectory, type StaticServer } from '../helpers/static-server.js';
import { tempDir } from '../helpers/tmp.js';
import { Container, piImage, REPO_ROOT } from '../package/helpers.js';
import { buildFlatRepository, generateSigningKey } from '../../src/index/apt/index.js';

const TAG = 'nightly-release-1.18';
const E2E = resolve(REPO_ROOT, 'artifacts', 'e2e');
const PASSPHRASE = 'PASS-pi-e2e-7731';
const KEYRING = '/usr/share/keyrings/crio-build-archive-keyring.gpg';

/** The ```sh block of the release notes: the lines a user copies. */
function setupLines(notes: string): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(notes)?.[1];
  assert.ok(block, `release notes have no sh block:\n${notes}`);
  return block.trim().split('\n');
}

/** Our repository only, for the refusal checks (Debian's lists stay as they are). */
function updateOnly(list: string): string[] {
  return ['apt-get', 'update', '-o', `Dir::Etc::SourceList=${list}`, '-o', 'Dir::Etc::SourceParts=-', '-o', 'APT::Get::List-Cleanup=0'];
}

describe('the Pi: add the key and the source line, apt install cri-o, apt upgrade to the next nightly', () => {
  let site: TestSite;
  let server: StaticServer;
  let pi: Container;
  let env: Record<string, string>;
  let args: string[];
  let firstVersion = '';

  before(async () => {
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
    await rm(E2E, { recursive: true, force: true });
    await mkdir(E2E, { recursive: true });
    const keys = await tempDir('crio-build-pi-keys-');
    const key = await generateSigningKey({ name: 'crio-build e2e', email: 'e2e@crio-build.invalid', passphrase: PASSPHRASE, outFile: join(keys, 'key.asc') });
    env = { CRIO_BUILD_SIGNING_KEY: await readFile(key.outFile, 'utf8'), CRIO_BUILD_SIGNING_PASSPHRASE: PASSPHRASE, GITHUB_TOKEN: '' };
    server = await serveDirectory(E2E);
    args = ['release-1.18', '--arch', 'arm64', '--config', site.configPath, '--cache-dir', site.cacheDir, '--artifacts', E2E, '--publish', '--base-url', `${server.url}/releases`];
    pi = await Container.start(await piImage('arm64'), 'arm64', [], { hostNetwork: true });
  });

  after(async () => {
    await pi?.remove();
    await server?.close();
    await site?.close();
  });

  test('publish: the directory publisher leaves a signed repository and prints the two lines a Pi needs', async () => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /release-1\.18 publish +ok/);
    assert.match(r.stderr, new RegExp(`On a Pi:\\n +curl -fsSL ${server.url}/releases/${TAG}/crio-build-archive-keyring\\.gpg`));
    assert.match(r.stderr, new RegExp(`deb \\[signed-by=${KEYRING}\\] ${server.url}/releases/${TAG} \\./`));
    assert.doesNotMatch(r.stderr + r.stdout, new RegExp(PASSPHRASE), 'the passphrase is never printed');
    assert.doesNotMatch(r.stderr, /making a key for this machine/, 'the operator\'s key was used');
  });

  test('install: the notes\' lines as written, apt-get update, apt-get install cri-o; everything runs', async () => {
    assert.equal((await pi.must(['uname', '-m'])).stdout.trim(), 'aarch64');
    const notes = await readFile(join(E2E, 'releases', TAG, 'RELEASE_NOTES.md'), 'utf8');
    const lines = setupLines(notes);
    assert.equal(lines.length, 3);
    assert.doesNotMatch(lines.join('\n'), /trusted=yes/);
    for (const line of lines) await pi.must(['sh', '-ec', line.replace('apt-get install cri-o', 'apt-get install -y cri-o')]);
    const dpkg = (await pi.must(['dpkg-query', '-W', '-f', '${Package} ${Version} ${db:Status-Abbrev}\n', 'cri-o', 'cri-o-conmon', 'containernetworking-plugins', 'cri-tools'])).stdout;
    for (const pkg of ['cri-o', 'cri-o-conmon', 'containernetworking-plugins', 'cri-tools']) assert.match(dpkg, new RegExp(`^${pkg} 100:\\S+ ii`, 'm'), dpkg);
    firstVersion = /^cri-o (\S+)/m.exec(dpkg)?.[1] ?? '';

    assert.match((await pi.must(['crio', '--version'])).stdout, /^Version:\s+1\.18\.1$/m);
    assert.match((await pi.must(['/usr/libexec/crio/conmon', '--version'])).stdout, /conmon version 2\.0\.19/);
    assert.match((await pi.must(['crictl', '--version'])).stdout, /crictl version v?1\.18\.0/);
    const bridge = await pi.exec(['/opt/cni/bin/bridge']);
    assert.match(bridge.stdout + bridge.stderr, /bridge.*v0\.8\.1/);
    for (const f of ['/etc/crio/crio.conf', '/etc/crio/crio.conf.d/01-crio-build.conf', '/lib/systemd/system/crio.service', '/etc/cni/net.d/100-crio-bridge.conf', '/etc/crictl.yaml', KEYRING]) {
      await pi.must(['test', '-s', f]);
    }
    // The source line is the one from the notes, with the key it names.
    assert.match((await pi.must(['cat', '/etc/apt/sources.list.d/crio-build.list'])).stdout, new RegExp(`^deb \\[signed-by=${KEYRING}\\] ${server.url}/releases/${TAG} \\./$`, 'm'));
  });

  test('upgrade: a new upstream commit gives a newer nightly in the same release; apt-get upgrade moves to it', async () => {
    await addCommit(site.upstreams.crio.path, 'release-1.18', 'README.md', '# cri-o (miniature)\n\nThe next nightly.\n', 'README: a change for the next nightly');
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /release-1\.18\/arm64 build:cri-o +ok/, 'cri-o was rebuilt');
    assert.match(r.stderr, /release-1\.18\/arm64 build:conmon +cached/, 'conmon did not change');
    await pi.must(['sh', '-ec', 'apt-get update && apt-get upgrade -y']);
    const v = (await pi.must(['dpkg-query', '-W', '-f', '${Version}', 'cri-o'])).stdout.trim();
    assert.notEqual(v, firstVersion);
    assert.equal((await pi.exec(['dpkg', '--compare-versions', v, 'gt', firstVersion])).code, 0, `${v} > ${firstVersion}`);
  });

  describe('apt refuses what it must not trust', () => {
    const LIST = '/etc/apt/sources.list.d/refuse.list';
    async function refusal(name: string): Promise<string> {
      await pi.must(['sh', '-ec', `echo "deb [signed-by=${KEYRING}] ${server.url}/${name}/${TAG} ./" > ${LIST}`]);
      const r = await pi.exec(updateOnly(LIST));
      await pi.must(['rm', '-f', LIST]);
      return `${r.code} ${r.stdout}\n${r.stderr}`;
    }
    async function copyRelease(name: string): Promise<string> {
      const dir = join(E2E, name, TAG);
      await rm(join(E2E, name), { recursive: true, force: true });
      await cp(join(E2E, 'releases', TAG), dir, { recursive: true });
      return dir;
    }

    test('the untouched copy is accepted (the refusals below are about what was changed)', async () => {
      await copyRelease('copy');
      const out = await refusal('copy');
      assert.match(out, /^0 /, out);
    });

    test('a tampered Packages', async () => {
      const dir = await copyRelease('tampered');
      for (const f of ['Packages.xz', 'Packages.gz']) await rm(join(dir, f));
      const p = await readFile(join(dir, 'Packages'), 'utf8');
      await writeFile(join(dir, 'Packages'), p.replace(/^Depends: .*$/m, 'Depends: evil-package'));
      const out = await refusal('tampered');
      assert.match(out, /Hash Sum mismatch|hashes don't match|File has unexpected size/i, out);
    });

    test('a repository signed by another key', async () => {
      const dir = await copyRelease('other-key');
      const keys = await tempDir('crio-build-pi-other-');
      const other = await generateSigningKey({ name: 'someone else', email: 'other@crio-build.invalid', outFile: join(keys, 'other.asc') });
      const debs = (await readFile(join(dir, 'SHA256SUMS'), 'utf8')).split('\n').filter((l) => l.endsWith('.deb')).map((l) => join(dir, l.slice(66)));
      await buildFlatRepository({ debs, dir, release: { origin: 'crio-build', label: 'crio-build', suite: TAG }, signing: { file: other.outFile } });
      const out = await refusal('other-key');
      assert.match(out, /NO_PUBKEY|not signed|signatures couldn't be verified|public key is not available/i, out);
    });

    test('a Release past its Valid-Until', async () => {
      const dir = await copyRelease('expired');
      const debs = (await readFile(join(dir, 'SHA256SUMS'), 'utf8')).split('\n').filter((l) => l.endsWith('.deb')).map((l) => join(dir, l.slice(66)));
      const signing = { armored: env.CRIO_BUILD_SIGNING_KEY!, passphrase: PASSPHRASE };
      const monthAgo = new Date(Date.now() - 30 * 86400_000);
      await buildFlatRepository({ debs, dir, release: { origin: 'crio-build', label: 'crio-build', suite: TAG, validFor: 86400 }, signing, now: () => monthAgo });
      const out = await refusal('expired');
      assert.match(out, /expired|no longer valid/i, out);
    });
  });
});

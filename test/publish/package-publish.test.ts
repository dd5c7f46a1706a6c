/**
 * Through the CLI, as a CI matrix runs it: `crio-build <branch> --stop-after build`, then
 * `crio-build package`, then `crio-build publish` with a key made by `crio-build keys generate`.
 * The package command writes the release record (from the provenance the build left beside the
 * outputs, provenance/<component>.json: builder key and every Debian package of the builder), so publish releases exactly what
 * was packaged; outputs without provenance get no record, and a stale one is removed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';

const BRANCH = 'release-1.18';
const ARCH = 'amd64';
const COMPONENTS = ['cni-plugins', 'conmon', 'cri-o', 'cri-tools'];

interface Provenance {
  name: string;
  buildKey: string;
  builderImage: string;
  builder: { key: string; image: string; platform: string; base: { digest: string }; definition: string; packages: string[] };
}

describe('crio-build package, then crio-build publish (CLI)', () => {
  let site: TestSite;
  let keyFile: string;
  let fingerprint: string;
  const env = { GITHUB_TOKEN: '', CRIO_BUILD_SIGNING_KEY: '', CRIO_BUILD_SIGNING_PASSPHRASE: '' };
  const packages = () => join(site.artifactsDir, BRANCH, ARCH, 'packages');
  const provenance = () => join(site.artifactsDir, BRANCH, ARCH, 'provenance');

  before(async () => {
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
  });
  after(() => site?.close());

  test('keys generate makes the signing key: armored secret key, mode 0600, fingerprint printed', async () => {
    keyFile = join(site.root, 'signing-key.asc');
    const r = await runCli(['keys', 'generate', '--out', keyFile, '--name', 'crio-build test archive', '--email', 'archive@example.org'], { env });
    assert.equal(r.code, 0, r.stderr);
    fingerprint = /^fingerprint ([0-9A-F]{40})$/m.exec(r.stdout)?.[1] ?? '';
    assert.match(fingerprint, /^[0-9A-F]{40}$/, r.stdout);
    assert.match(r.stdout, new RegExp(`secret key {2}${keyFile.replace(/[.]/g, '\\.')} \\(no passphrase\\)`));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.match(readFileSync(keyFile, 'utf8'), /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    const again = await runCli(['keys', 'generate', '--out', keyFile], { env });
    assert.equal(again.code, 2, 'an existing key file is not replaced');
    assert.match(again.stderr, /exists: not replacing a signing key/);
    assert.match(readFileSync(keyFile, 'utf8'), /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    assert.equal(hasStackTrace(again.stderr), false);
  });

  test('the build leaves each output\'s provenance; package writes the release record; publish releases it', async (t) => {
    const t0 = Date.now();
    const b = await runCli([BRANCH, '--arch', ARCH, '--stop-after', 'build', ...site.args], { env });
    const t1 = Date.now();
    assert.equal(b.code, 0, b.stderr.slice(-4000));
    assert.ok(!existsSync(join(packages(), 'release.json')), 'nothing is packaged yet');
    const prov = Object.fromEntries(COMPONENTS.map((c) => [c, JSON.parse(readFileSync(join(provenance(), `${c}.json`), 'utf8')) as Provenance]));
    const builderKeys = new Set(Object.values(prov).map((p) => p.builder.key));
    assert.equal(builderKeys.size, 1, 'one builder for the four');
    for (const p of Object.values(prov)) {
      assert.match(p.buildKey, /^[0-9a-f]{64}$/);
      assert.ok(existsSync(join(site.cacheDir, 'builds', p.buildKey, 'result.json')), `${p.name} is cached under its key`);
      assert.equal(p.builder.platform, 'amd64');
      assert.ok(p.builder.packages.some((x) => /^libseccomp-dev:amd64 \S+$/.test(x)), 'the builder\'s libseccomp version is recorded');
      assert.equal(p.builderImage, p.builder.image);
    }

    const pk = await runCli(['package', BRANCH, '--arch', ARCH, ...site.args], { env });
    const t2 = Date.now();
    assert.equal(pk.code, 0, pk.stderr);
    assert.match(pk.stderr, /release record .*release\.json \(release nightly-release-1\.18\)/);
    const record = JSON.parse(readFileSync(join(packages(), 'release.json'), 'utf8')) as { releaseTag: string; arch: string; components: Provenance[]; artifacts: { file: string; sha256: string; kind?: string; of?: string; component: string }[] };
    assert.equal(record.releaseTag, 'nightly-release-1.18');
    assert.deepEqual(record.components.map((c) => [c.name, c.buildKey]).sort(), COMPONENTS.map((c) => [c, prov[c]!.buildKey]));
    const sums = readFileSync(join(packages(), 'SHA256SUMS'), 'utf8');
    for (const a of record.artifacts) assert.ok(sums.includes(`${a.sha256}  ${a.file}`), `${a.file} is recorded as packaged`);
    // Beside every artifact its SBOM, beside every .deb its .buildinfo: recorded with their kind.
    const debs = record.artifacts.filter((a) => a.file.endsWith('.deb'));
    const bundle = record.artifacts.find((a) => a.component === 'bundle' && !a.kind)!;
    assert.equal(debs.length, 4);
    assert.deepEqual(
      record.artifacts.filter((a) => a.kind).map((a) => [a.kind, a.of, a.file]).sort(),
      [...debs.flatMap((d) => [['sbom', d.file, `${d.file}.spdx.json`], ['buildinfo', d.file, d.file.replace(/\.deb$/, '.buildinfo')]]), ['sbom', bundle.file, `${bundle.file}.spdx.json`]].sort(),
    );
    // `crio-build package` read the provenance the build left: the .buildinfo names the builder's
    // packages and the build's environment, the SBOM the recipe's repository and licence.
    const crioDeb = debs.find((d) => d.file.startsWith('cri-o_'))!;
    const buildinfo = readFileSync(join(packages(), crioDeb.file.replace(/\.deb$/, '.buildinfo')), 'utf8');
    const seccomp = prov['cri-o']!.builder.packages.find((x) => x.startsWith('libseccomp-dev:amd64 '))!.split(' ')[1]!;
    assert.match(buildinfo, new RegExp(`^ libseccomp-dev \\(= ${seccomp.replace(/[.+]/g, '\\$&')}\\),$`, 'm'));
    assert.match(buildinfo, /^Build-Architecture: amd64$/m);
    assert.match(buildinfo, /^Build-Path: \/build\/src$/m);
    for (const v of ['GOARCH="amd64"', 'GOOS="linux"', 'CGO_ENABLED="1"', 'GOPROXY="off"']) assert.match(buildinfo, new RegExp(`^ ${v}$`, 'm'), v);
    assert.match(buildinfo, /^ GOFLAGS="[^"]*-trimpath[^"]*"$/m);
    assert.match(buildinfo, /^ SOURCE_DATE_EPOCH="\d+"$/m);
    assert.doesNotMatch(buildinfo, /HOME=|USER=/);
    const sbom = JSON.parse(readFileSync(join(packages(), `${crioDeb.file}.spdx.json`), 'utf8')) as { packages: Array<{ SPDXID: string; downloadLocation: string; licenseDeclared: string }> };
    const src = sbom.packages.find((p) => p.SPDXID === 'SPDXRef-Source-cri-o')!;
    assert.match(src.downloadLocation, /^git\+https:\/\/github\.com\/cri-o\/cri-o@[0-9a-f]{40}$/, 'the recipe\'s repository, not the test mirror');
    assert.equal(src.licenseDeclared, 'Apache-2.0');

    const pub = await runCli(['publish', BRANCH, '--arch', ARCH, '--signing-key', keyFile, ...site.args], { env });
    const t3 = Date.now();
    assert.equal(pub.code, 0, pub.stderr);
    const rel = join(site.artifactsDir, 'releases', 'nightly-release-1.18');
    for (const a of record.artifacts) assert.ok(existsSync(join(rel, a.file)), `${a.file} is released`);
    // The release's SHA256SUMS lists every packaged file, the SBOMs and .buildinfo files too.
    const relSums = readFileSync(join(rel, 'SHA256SUMS'), 'utf8');
    for (const a of record.artifacts) assert.ok(relSums.includes(`${a.sha256}  ${a.file}\n`), `${a.file} is in the release's SHA256SUMS`);
    assert.equal(record.artifacts.filter((a) => a.kind).length, 9);
    execFileSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: rel });
    const verify = execFileSync('gpgv', ['--status-fd', '1', '--keyring', join(rel, 'crio-build-archive-keyring.gpg'), join(rel, 'InRelease')], { encoding: 'utf8' });
    assert.match(verify, new RegExp(`VALIDSIG ${fingerprint}`), 'signed with the key keys generate made');
    const manifest = JSON.parse(readFileSync(join(rel, 'crio-build-manifest.json'), 'utf8')) as { arches: { arch: string; components: Provenance[] }[] };
    const crio = manifest.arches.find((a) => a.arch === ARCH)!.components.find((c) => c.name === 'cri-o')!;
    assert.deepEqual(crio.builder.packages, prov['cri-o']!.builder.packages, 'the manifest carries the builder\'s package versions');
    assert.equal(crio.builder.key, [...builderKeys][0]);
    t.diagnostic(`build ${((t1 - t0) / 1000).toFixed(1)}s, package ${((t2 - t1) / 1000).toFixed(1)}s, publish ${((t3 - t2) / 1000).toFixed(1)}s`);
  });

  test('outputs without provenance: package warns, writes no record and removes the stale one; publish then finds nothing', async () => {
    rmSync(join(provenance(), 'conmon.json'));
    const pk = await runCli(['package', BRANCH, '--arch', ARCH, ...site.args], { env });
    assert.equal(pk.code, 0, pk.stderr);
    assert.match(pk.stderr, /warning: no release record written: the build left no provenance for .*provenance\/conmon\.json/);
    assert.match(pk.stderr, /warning: cri-o-conmon_[^:]+\.deb: no build provenance recorded for conmon .*no \.buildinfo written/);
    const listed = readFileSync(join(packages(), 'SHA256SUMS'), 'utf8').split('\n').map((l) => l.slice(66));
    assert.ok(!listed.some((f) => f.startsWith('cri-o-conmon_') && f.endsWith('.buildinfo')), 'no .buildinfo without a builder to name');
    assert.ok(listed.some((f) => f.startsWith('cri-o-conmon_') && f.endsWith('.deb.spdx.json')), 'the SBOM is still written: it describes the .deb\'s own contents');
    assert.ok(listed.some((f) => f.startsWith('cri-o_') && f.endsWith('.buildinfo')), 'the others keep theirs');
    assert.ok(!existsSync(join(packages(), 'release.json')), 'the stale record is gone');
    assert.ok(readdirSync(packages()).some((f) => f.endsWith('.deb')), 'the packages are still made');
    const pub = await runCli(['publish', BRANCH, '--signing-key', keyFile, ...site.args], { env });
    assert.equal(pub.code, 2, pub.stderr);
    assert.match(pub.stderr, /nothing of release-1\.18 is packaged/);
  });
});

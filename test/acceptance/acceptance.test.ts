/**
 * The acceptance run (`npm run acceptance`) on a fixture release: the real CLI builds the
 * miniature upstreams for amd64 and publishes them through the directory publisher (the notes
 * name the release directory as a file:// URL), then the acceptance command takes that directory
 * as a user would. The miniature's binaries only print versions, so the run must go as far as a
 * miniature can (install from the notes' lines, the default configuration, crio-preflight, the
 * image policy and registries.conf through Debian's skopeo, the CNI configurations through
 * Debian's plugins in a network namespace, the units through systemd-analyze verify, podman,
 * buildah and skopeo installed beside ours and each side removed) and say plainly which steps
 * need a real build. The per-step report is asserted from the JSON it writes and the table it
 * prints.
 *
 * Needs Docker, Debian's mirror, and the project's base image (made by the builder tests, or
 * here on first use).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parseArgs } from '../../acceptance/main.js';
import { layerTar } from '../../acceptance/oci.js';
import { baseUrlOf, parsePackages, setupLinesOf } from '../../acceptance/release.js';
import type { AcceptanceReport, StepStatus } from '../../acceptance/report.js';
import { makeFixtureRelease, type FixtureRelease } from '../helpers/fixture-release.js';
import { tempDir } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../acceptance/main.js', import.meta.url));

function runAcceptanceCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: 90 * 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('acceptance: parsing what a release says', () => {
  test('the notes\' sh block, its repository URL, and the Packages index', () => {
    const notes = 'cri-o x\n\n```sh\ncurl -fsSL file:///srv/r/nightly/crio-build-archive-keyring.gpg | sudo tee /usr/share/keyrings/k.gpg >/dev/null\necho "deb [signed-by=/usr/share/keyrings/k.gpg] file:///srv/r/nightly ./" | sudo tee /etc/apt/sources.list.d/crio-build.list\nsudo apt-get update && sudo apt-get install cri-o\n```\n';
    const lines = setupLinesOf(notes);
    assert.equal(lines.length, 3);
    assert.equal(baseUrlOf(lines), 'file:///srv/r/nightly');
    assert.equal(baseUrlOf(['echo "deb [signed-by=/k.gpg] https://example.org/r/t ./" | sudo tee x']), 'https://example.org/r/t');
    assert.throws(() => setupLinesOf('no block'), /no ```sh block/);
    assert.deepEqual(parsePackages('Package: cri-o\nVersion: 100:1.18.6-1\nArchitecture: arm64\n\nPackage: cri-o-conmon\nVersion: 100:2.0.11-1\nArchitecture: arm64\n'), [
      { name: 'cri-o', version: '100:1.18.6-1', arch: 'arm64' },
      { name: 'cri-o-conmon', version: '100:2.0.11-1', arch: 'arm64' },
    ]);
  });

  test('arguments: one release, --arch, --json; usage errors', () => {
    assert.deepEqual(parseArgs(['rel', '--arch', 'arm64', '--json=x.json']), { release: 'rel', arch: 'arm64', json: 'x.json', keep: false, coexistence: true, quiet: false });
    assert.match(String(parseArgs([])), /required/);
    assert.match(String(parseArgs(['a', 'b'])), /one release only/);
    assert.match(String(parseArgs(['a', '--arch', 'riscv64'])), /--arch must be one of/);
    assert.match(String(parseArgs(['a', '--bogus'])), /unknown option/);
  });

  test('image layers come from our tar writer: parents first, sorted, root-owned, fixed mtime', async () => {
    const tar = await layerTar([{ path: 'www/index.html', content: Buffer.from('x') }, { path: 'bin/busybox', content: Buffer.from('y'), mode: 0o755 }, { path: 'bin/sh', symlink: 'busybox' }]);
    const dir = await tempDir('crio-acceptance-layer-');
    await writeFile(join(dir, 'l.tar'), tar);
    const list = await new Promise<string>((res, rej) => execFile('tar', ['--numeric-owner', '-tvf', join(dir, 'l.tar')], { env: { TZ: 'UTC' } }, (e, o) => (e ? rej(e) : res(o))));
    const rows = list.trim().split('\n');
    assert.deepEqual(rows.map((r) => r.split(/\s+/).slice(5).join(' ')), ['bin/', 'bin/busybox', 'bin/sh -> busybox', 'www/', 'www/index.html']);
    for (const r of rows) assert.match(r, / 0\/0 .* 2020-01-01 00:00 /);
  });
});

describe('acceptance: the fixture release on a fresh amd64 Debian root', () => {
  let rel: FixtureRelease;
  let report: AcceptanceReport;
  let result: { code: number; stdout: string; stderr: string };
  const status = (id: string): StepStatus | undefined => report.steps.find((s) => s.id === id)?.status;
  const step = (id: string) => report.steps.find((s) => s.id === id);

  before(async () => {
    rel = await makeFixtureRelease({ arch: 'amd64' });
    const json = join(await tempDir('crio-acceptance-report-'), 'report.json');
    result = await runAcceptanceCli([rel.dir, '--arch', 'amd64', '--json', json]);
    report = JSON.parse(await readFile(json, 'utf8')) as AcceptanceReport;
  });

  after(async () => {
    await rel?.site.close();
  });

  test('the run ends without a failed step, and says it is a miniature', () => {
    const failedSteps = report.steps.filter((s) => s.status === 'failed' || s.status === 'not-run');
    assert.deepEqual(failedSteps.map((s) => `${s.id}: ${s.summary}\n${s.details.join('\n')}`), [], result.stdout.slice(-6000));
    assert.equal(result.code, 0, result.stderr.slice(-3000));
    assert.equal(report.build, 'miniature');
    assert.equal(report.arch, 'amd64');
    assert.match(report.init, /^systemd \d+ .* as PID 1 \((running|degraded)\)$/);
  });

  test('install: the notes\' lines as written; our four packages at the release\'s versions; policy and registries from Debian', () => {
    assert.equal(status('release'), 'ok');
    assert.equal(status('node'), 'ok');
    assert.match(step('node')?.details.join('\n') ?? '', /the notes name file:\/\/.*: the release directory is mounted there read-only/);
    assert.equal(status('install'), 'ok');
    const install = step('install');
    assert.match(install?.summary ?? '', /^containernetworking-plugins 100:0\.8\.1-1, cri-o 100:1\.18\.1\+git\d{14}\.[0-9a-f]{7}-1, cri-o-conmon 100:2\.0\.19-1, cri-tools 100:1\.18\.0-1$/);
    const details = install?.details.join('\n') ?? '';
    assert.match(details, /^\$ curl -fsSL file:\/\/.*crio-build-archive-keyring\.gpg \| sudo tee/m);
    assert.match(details, /^\$ sudo apt-get update && sudo apt-get install cri-o$/m);
    assert.doesNotMatch(details, /trusted=yes/);
    assert.match(details, /policy and registries from: golang-github-containers-common: \/etc\/containers\/policy\.json; golang-github-containers-image: \/etc\/containers\/registries\.conf/);
  });

  test('the configuration a miniature can show: the default pause image, crio-preflight, skopeo, the CNI configs, the units', () => {
    assert.equal(status('default-config'), 'ok');
    assert.match(step('default-config')?.summary ?? '', /^pause_image = "registry\.k8s\.io\/pause:3\.2" \(the package's default\)/);
    assert.match(step('default-config')?.details.join('\n') ?? '', /^\/etc\/crio\/crio\.conf\.d\/01-crio-build\.conf:conmon = "\/usr\/libexec\/crio\/conmon"$/m);
    assert.equal(status('preflight'), 'ok');
    assert.match(step('preflight')?.details.join('\n') ?? '', /^crio-preflight: what cri-o 1\.18\.1\+git.* needs from this node$/m);
    assert.equal(status('registry'), 'ok');
    assert.match(step('registry')?.details.join('\n') ?? '', /acceptance\/pause:3\.2: \["application\/vnd\.oci\.image\.index\.v1\+json",\["amd64","arm64"\]\]/);
    assert.equal(status('policy-registries'), 'ok');
    assert.match(step('policy-registries')?.summary ?? '', /^skopeo version [\d.]+: copy from 127\.0\.0\.1:5000 allowed by the node's policy\.json with its registries\.conf; a reject-all policy refuses it/);
    assert.equal(status('cni-configs'), 'ok');
    assert.match(step('cni-configs')?.summary ?? '', /^100-crio-bridge\.conf, 200-loopback\.conf: ADD and DEL ok with Debian's containernetworking-plugins/);
    assert.match(step('cni-configs')?.details.join('\n') ?? '', /100-crio-bridge\.conf \(bridge\): ADD ok \(10\.88\.0\.\d+\/16 1100:200::\S+\/24\), DEL ok/);
    assert.equal(status('units'), 'ok');
    assert.match(step('units')?.summary ?? '', /crio\.service.* verified; crio\.service enabled, inactive after installation/);
  });

  test('what needs a real build is said plainly', () => {
    for (const id of ['cni-configs-packaged', 'crio-start', 'crictl-info', 'pull', 'runp', 'create', 'start', 'logs', 'exec', 'pod-network', 'restart-keeps-containers', 'stop', 'rm', 'remove-stops-crio']) {
      assert.equal(status(id), 'needs-a-real-build', `${id}: ${step(id)?.summary}`);
    }
    assert.match(step('crio-start')?.summary ?? '', /^crio is the test suite's miniature, which says: .*cannot run the daemon/);
    assert.match(step('pull')?.summary ?? '', /^needs crictl-info, which need a real build$/);
    assert.match(result.stdout, /^ ?\d+ crio-start +needs-a-real-build +crio is the test suite's miniature/m);
    assert.match(result.stdout, /^summary: \d+ ok, 0 failed, 14 need a real build, 0 not run$/m);
  });

  test('beside Debian\'s podman, buildah and skopeo: no file conflict, podman runs a container, removing either side loses nothing of the other', () => {
    const all = report.steps.map((x) => `${x.id}: ${x.status}: ${x.summary}`).join('\n');
    assert.equal(status('coexist-install'), 'ok', all);
    // Debian's conmon stays podman's (/usr/bin/conmon); ours is cri-o-conmon in /usr/libexec/crio, which crio uses.
    assert.match(
      step('coexist-install')?.summary ?? '',
      /installed together, no file conflict, dpkg --verify clean; podman's conmon: conmon 2\.\d+\.\S+ \(\/usr\/bin\/conmon\); crio's: cri-o-conmon 100:2\.0\.19-1 \(\/usr\/libexec\/crio\/conmon, conmon = "\/usr\/libexec\/crio\/conmon"\)$/,
    );
    // podman runs a real container (Debian's conmon and runc, --network none) from the run's registry: before the
    // fix, our conmon 2.0.x replaced Debian's and podman failed with "Unknown option --full-attach".
    for (const id of ['coexist-podman-run', 'coexist-podman-run-without-ours', 'coexist-podman-run-theirs-first']) {
      assert.equal(status(id), 'ok', `${id}: ${step(id)?.summary}\n${step(id)?.details.join('\n')}`);
      assert.match(step(id)?.summary ?? '', /^podman ran a container .*, with \/usr\/bin\/conmon conmon version 2\.\d+\.\d+.*: it printed "hello from the acceptance pod"$/);
    }
    assert.equal(status('coexist-remove-ours'), 'ok', step('coexist-remove-ours')?.summary);
    assert.match(step('coexist-remove-ours')?.summary ?? '', /skopeo copy from the registry works/);
    assert.equal(status('coexist-remove-theirs'), 'ok', step('coexist-remove-theirs')?.summary);
    assert.match(step('coexist-remove-theirs')?.summary ?? '', /^cri-o, cri-o-conmon, plugins, containers-common intact \(dpkg --verify clean\); conmon version 2\.0\.19 at \/usr\/libexec\/crio\/conmon; crio config works$/);
    // The other order: Debian's podman stack with its own conmon and plugins first; then cri-o keeps Debian's conmon
    // and replaces only the plugins (same name, epoch 100).
    assert.equal(status('coexist-theirs-first'), 'ok', step('coexist-theirs-first')?.summary);
    assert.match(
      step('coexist-theirs-first')?.summary ?? '',
      /^Debian's conmon (2\.1\.\S+), containernetworking-plugins 1\.1\.\S+; after apt-get install cri-o: conmon \1, containernetworking-plugins 100:0\.8\.1-1, cri-o-conmon 100:2\.0\.19-1 \(Debian's conmon kept, its plugins replaced by ours\); no file conflict/,
    );
  });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('crio-build CLI', () => {
  test('--help shows the commands, the main usage and the exit codes', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const s of ['crio-build <branch> --arch <arch>', 'plan <branch>', 'fetch <branch>', 'recipes', 'doctor', 'Exit codes:', '130  interrupted', '--mirror', '--lock']) {
      assert.ok(r.stdout.includes(s), `--help lacks ${s}`);
    }
  });

  test('an unknown branch fails with exit 2, listing the known ones', async () => {
    const r = await runCli(['plan', 'release-9.99', '--arch', 'arm64']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown branch "release-9\.99"/);
    assert.match(r.stderr, /known branches: main, release-1\.13, release-1\.14, release-1\.15, release-1\.16, release-1\.17, release-1\.18/);
    assert.equal(hasStackTrace(r.stderr), false);
  });

  test('an unknown arch fails with exit 2, listing the supported ones', async () => {
    const r = await runCli(['release-1.18', '--arch', 'riscv64']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown arch "riscv64"/);
    assert.match(r.stderr, /supported arches: arm64, amd64/);
    assert.equal(hasStackTrace(r.stderr), false);
  });

  test('hostile branch and arch names are refused before anything runs', async () => {
    for (const [branch, arch] of [['release-1.18;rm -rf /', 'arm64'], ['../../etc', 'arm64'], ['release 1.18', 'arm64'], ['release-1.18', 'arm64 --x'], ['release-1.18', '$(id)']]) {
      const dir = await tempDir();
      const r = await runCli(['plan', branch!, '--arch', arch!, '--artifacts', join(dir, 'out')], { cwd: dir });
      assert.equal(r.code, 2, `${branch} ${arch}: ${r.stderr}`);
      assert.equal(hasStackTrace(r.stderr), false);
    }
  });

  test('a leading-dash branch is an option error, not a branch', async () => {
    const r = await runCli(['plan', '--arch', 'arm64', '--', '-rf']);
    assert.equal(r.code, 2);
    assert.equal(hasStackTrace(r.stderr), false);
  });

  test('an unknown strategy or option fails with exit 2', async () => {
    let r = await runCli(['plan', 'release-1.18', '--strategy', 'teleport']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown strategy "teleport".*\n.*supported strategies: emulate, cross/);
    r = await runCli(['plan', 'release-1.18', '--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown argument: frobnicate/);
  });

  test('recipes list and show', async () => {
    let r = await runCli(['recipes', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /release-1\.18\s+1\.18\s+go1\.13\.10\s+cri-o@release-1\.18 conmon@v2\.0\.19 cni-plugins@v0\.8\.1 cri-tools@v1\.18\.0/);
    assert.match(r.stdout, /main\s+\(from internal\/version\/version\.go\)\s+\(from go\.mod\)/, 'main follows its tree');
    // cri-o pins every tag of six release lines: one range per line, not 51 tags in a cell.
    assert.match(r.stdout, /cri-o\s+v1\.13\.0…v1\.13\.12 v1\.14\.0…v1\.14\.12 .* v1\.18\.0…v1\.18\.6\s+https:\/\/github\.com\/cri-o\/cri-o/);
    r = await runCli(['recipes', 'show', 'go1.13.10', '--json']);
    assert.equal(r.code, 0);
    const t = JSON.parse(r.stdout) as { archives: { arm64: { sha256: string } } };
    assert.equal(t.archives.arm64.sha256, 'f16f19947855b410e48f395ca488bd39223c7b35e8b69c7f15ec00201e20b572');
    r = await runCli(['recipes', 'show', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no recipe named "nope"/);
  });

  test('a malformed config file fails with exit 3 naming file, line and field', async () => {
    const dir = await tempDir();
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, 'mirrors:\n  - from: https://github.com/\n    too: file:///srv/\n');
    const r = await runCli(['plan', 'release-1.18', '--config', cfg]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`${cfg}:3: mirrors\\.0\\.too: unknown key "too" \\(allowed: from, to\\)`));
    assert.match(r.stderr, new RegExp(`${cfg}:2: mirrors\\.0\\.to: missing required field`));
  });

  test('a bad --mirror flag says the expected form', async () => {
    const r = await runCli(['plan', 'release-1.18', '--mirror', 'github.com']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--mirror "github\.com": expected FROM=TO/);
  });

  test('doctor reports each finding with its fix', async () => {
    const r = await runCli(['doctor', '--json']);
    const findings = JSON.parse(r.stdout) as { check: string; ok: boolean; fix?: string }[];
    // Everything a run needs and the error messages send people here for (test/admin/doctor.test.ts goes through each).
    assert.deepEqual(findings.map((f) => f.check), ['docker', 'qemu arm64', 'debootstrap', 'root', 'git', 'tar', 'gpg', 'xz', 'dpkg-deb', 'strip arm64', 'disk (cache)', 'disk (artifacts)', 'disk (docker)']);
    for (const f of findings) if (!f.ok) assert.ok(f.fix, `${f.check} failed without a fix`);
    assert.equal(r.code, findings.every((f) => f.ok) ? 0 : 5);
  });

  test('doctor without a Docker daemon says how to get one, exit 5', async () => {
    const r = await runCli(['doctor'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    assert.equal(r.code, 5);
    assert.match(r.stdout, /FAIL\s+docker\s+no Docker daemon answers at unix:\/\/\/nonexistent\/docker\.sock/);
    assert.match(r.stdout, /fix: sudo apt-get install -y docker\.io/);
  });

  test('builders list shows the builder images this tool made, with platform and key', async () => {
    const r = await runCli(['builders', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { name: string; platform: string; tag: string }[];
    for (const b of list) {
      assert.match(b.platform, /^(amd64|arm64)$/);
      assert.match(b.tag, /^crio-build\/builder-/);
    }
    const bad = await runCli(['builders', 'bootstrap', '--arch', 'mips']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown arch "mips"/);
  });
});

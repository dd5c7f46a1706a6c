/**
 * `crio-build doctor` checks everything the error messages send people to it for, each finding
 * with its fix: the engine, qemu binfmt for the other arch (x86_64 on an arm64 machine too),
 * debootstrap and root (for the base images), git, tar, gpg, xz, dpkg-deb, strip for the other
 * arch, free disk (cache, artifacts, the engine's data root). Through the CLI: on this machine as
 * it is, with tools taken off PATH, and as an unprivileged user. (Each host of a settings file:
 * trust.test.ts, against real TLS and ssh endpoints.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runDoctor, type Finding } from '../../src/admin/doctor.js';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const EVERY_CHECK = ['docker', 'qemu arm64', 'debootstrap', 'root', 'git', 'tar', 'gpg', 'xz', 'dpkg-deb', 'strip arm64', 'disk (cache)', 'disk (artifacts)', 'disk (docker)'];

const byCheck = (findings: Finding[]) => new Map(findings.map((f) => [f.check, f]));

describe('crio-build doctor', () => {
  test('on this machine: every prerequisite is checked, and each is there', async () => {
    const dir = await tempDir('crio-build-doctor-');
    const r = await runCli(['doctor', '--json', '--cache-dir', join(dir, 'cache'), '--artifacts', join(dir, 'artifacts')], { env: { CRIO_BUILD_CONFIG: '' } });
    const findings = JSON.parse(r.stdout) as Finding[];
    const f = byCheck(findings);
    assert.deepEqual(EVERY_CHECK.filter((c) => !f.has(c)), [], `checked: ${[...f.keys()].join(', ')}`);
    assert.deepEqual(findings.filter((x) => !x.ok), [], 'this machine is ready');
    assert.equal(r.code, 0, r.stderr);
    assert.match(f.get('docker')!.detail, /Docker Engine 20\.10/);
    assert.match(f.get('qemu arm64')!.detail, /enabled, with the F flag/);
    assert.match(f.get('root')!.detail, /running as root/);
    assert.match(f.get('tar')!.detail, /GNU tar/);
    const text = await runCli(['doctor', '--cache-dir', join(dir, 'cache'), '--artifacts', join(dir, 'artifacts')], { env: { CRIO_BUILD_CONFIG: '' } });
    assert.match(text.stdout, /^ok {2,}debootstrap +debootstrap \S+/m);
  });

  test('tools missing from PATH: each is a finding with the package that brings it', async () => {
    const dir = await tempDir('crio-build-doctor-path-');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // Only git and docker's client are left.
    for (const tool of ['git']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    const r = await runCli(['doctor', '--json', '--cache-dir', join(dir, 'cache'), '--artifacts', join(dir, 'artifacts')], { env: { PATH: bin, CRIO_BUILD_CONFIG: '' } });
    assert.equal(r.code, 5, r.stderr);
    const f = byCheck(JSON.parse(r.stdout) as Finding[]);
    const expect: Record<string, RegExp> = {
      gpg: /apt-get install -y gnupg/,
      xz: /apt-get install -y xz-utils/,
      'dpkg-deb': /apt-get install -y dpkg/,
      tar: /apt-get install -y tar/,
      'strip arm64': /apt-get install -y binutils-aarch64-linux-gnu/,
    };
    for (const [check, fix] of Object.entries(expect)) {
      assert.equal(f.get(check)?.ok, false, `${check}: ${JSON.stringify(f.get(check))}`);
      assert.match(f.get(check)!.fix ?? '', fix, check);
      assert.match(f.get(check)!.detail, /not on PATH|not installed/, check);
    }
    assert.equal(f.get('git')?.ok, true);
    // debootstrap is needed only while base images are missing; the engine here has both.
    assert.equal(f.get('debootstrap')?.ok, true);
    assert.match(f.get('debootstrap')!.detail, /not installed \(not needed now: the base images are there\)/);
  });

  test('not root, no access to the engine: the base images cannot be made, and doctor says how to make them', async () => {
    const dir = await tempDir('crio-build-doctor-user-');
    chmodSync(dir, 0o777);
    const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, BIN, 'doctor', '--json', '--cache-dir', join(dir, 'cache'), '--artifacts', join(dir, 'artifacts')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: dir, CRIO_BUILD_CONFIG: '' },
    });
    assert.equal(r.status, 5, r.stderr);
    const f = byCheck(JSON.parse(r.stdout) as Finding[]);
    assert.equal(f.get('docker')?.ok, false);
    assert.match(f.get('docker')!.fix ?? '', /docker\.io/);
    assert.equal(f.get('root')?.ok, false);
    assert.match(f.get('root')!.detail, /not running as root .*base images crio-build\/base:bookworm-arm64, crio-build\/base:bookworm-amd64 are not there yet/);
    assert.match(f.get('root')!.fix ?? '', /sudo crio-build builders bootstrap/);
  });

  test('on an arm64 machine the x86_64 registration is checked (a fake binfmt_misc here)', async () => {
    const dir = await tempDir('crio-build-doctor-binfmt-');
    const root = join(dir, 'binfmt_misc');
    mkdirSync(root);
    writeFileSync(join(root, 'status'), 'enabled\n');
    const opts = { cacheDir: dir, artifactsDir: dir, hostArch: 'arm64' as const, binfmtRoot: root };
    let f = byCheck(await runDoctor(opts));
    assert.equal(f.has('qemu arm64'), false, 'an arm64 machine runs arm64 natively');
    assert.equal(f.get('qemu amd64')?.ok, false);
    assert.match(f.get('qemu amd64')!.detail, /no qemu binfmt registration for amd64 binaries/);
    assert.match(f.get('qemu amd64')!.fix ?? '', /update-binfmts --enable qemu-x86_64/);
    assert.ok(f.has('strip amd64'));
    writeFileSync(join(root, 'qemu-x86_64'), 'enabled\ninterpreter /usr/libexec/qemu-binfmt/x86_64-binfmt-P\nflags: PF\n');
    f = byCheck(await runDoctor(opts));
    assert.equal(f.get('qemu amd64')?.ok, true);
  });
});

// The .deb writer against the real Debian tools: dpkg-deb reads what we
// write, md5sum checks our md5sums, lintian finds no format-level problem,
// and two builds from different trees with the same SOURCE_DATE_EPOCH match.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { debPackager, writeDeb, type DebInput } from '../../src/package/deb/index.js';
import type { PackageFile } from '../../src/package/packager.js';

const run = promisify(execFile);
const EPOCH = 1700000000;
const tmpRoots: string[] = [];

after(async () => {
  await Promise.all(tmpRoots.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(label: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `deb-writer-${label}-`));
  tmpRoots.push(d);
  return d;
}

/** Deterministic pseudo-random bytes (xorshift32), so both trees hold the same content. */
function pseudoRandom(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** A small source tree on disk; `mtime` varies between trees on purpose. */
async function makeSourceTree(mtime: number): Promise<string> {
  const dir = await tempDir('src');
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin', 'crio'), '#!/bin/sh\necho crio\n');
  await chmod(join(dir, 'bin', 'crio'), 0o775); // group-writable: the writer normalizes to 0755
  await writeFile(join(dir, 'bin', 'blob'), pseudoRandom(300 * 1024 + 7, 42));
  await chmod(join(dir, 'bin', 'blob'), 0o664);
  await writeFile(join(dir, 'empty'), '');
  await writeFile(join(dir, 'crio.conf'), '[crio.runtime]\ncgroup_manager = "systemd"\n');
  for (const f of ['bin/crio', 'bin/blob', 'empty', 'crio.conf']) {
    await utimes(join(dir, f), mtime, mtime);
  }
  return dir;
}

function files(src: string): PackageFile[] {
  return [
    { path: '/usr/bin/crio', source: join(src, 'bin', 'crio') },
    { path: '/usr/lib/crio/blob', source: join(src, 'bin', 'blob') },
    { path: '/usr/share/crio/empty', source: join(src, 'empty') },
    { path: '/etc/crio/crio.conf', source: join(src, 'crio.conf'), conffile: true },
    { path: '/etc/crictl.yaml', content: 'runtime-endpoint: unix:///var/run/crio/crio.sock\n', conffile: true },
    { path: '/usr/libexec/crio/conmon', content: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { path: '/usr/sbin/crio', symlink: '../bin/crio' },
    { path: '/var/lib/crio', directory: true, mode: 0o700 },
  ];
}

function input(src: string, data: 'gzip' | 'xz', fileList = files(src)): DebInput {
  return {
    control: {
      Package: 'cri-o',
      Version: '1:1.18.1-1',
      Architecture: 'arm64',
      Maintainer: 'crio-build <crio-build@example.org>',
      Description: 'OCI-based Kubernetes container runtime\nCRI-O implements the Kubernetes CRI.\n\nIt runs OCI containers.',
      Homepage: 'https://cri-o.io',
      Section: 'admin',
      Priority: 'optional',
      Depends: ['libc6 (>= 2.28)', 'conmon (>= 2.0) | podman'],
      Conflicts: 'docker.io',
    },
    files: fileList,
    scripts: {
      postinst: '#!/bin/sh\nset -e\nsystemctl daemon-reload || true\n',
      prerm: '#!/bin/sh\nset -e\nexit 0\n',
    },
    sourceDateEpoch: EPOCH,
    compression: { data },
  };
}

/** Parses the ar headers: [name, mtime, uid, gid, mode, size] per member. */
function arMembers(deb: Buffer): Array<{ name: string; mtime: number; uid: number; gid: number; mode: string; data: Buffer }> {
  assert.equal(deb.subarray(0, 8).toString('latin1'), '!<arch>\n');
  const out = [];
  let off = 8;
  while (off < deb.length) {
    const h = deb.subarray(off, off + 60).toString('latin1');
    assert.equal(h.slice(58), '`\n', 'ar header terminator');
    const size = Number(h.slice(48, 58).trim());
    out.push({
      name: h.slice(0, 16).trim(),
      mtime: Number(h.slice(16, 28).trim()),
      uid: Number(h.slice(28, 34).trim()),
      gid: Number(h.slice(34, 40).trim()),
      mode: h.slice(40, 48).trim(),
      data: deb.subarray(off + 60, off + 60 + size),
    });
    off += 60 + size + (size % 2);
  }
  assert.equal(off, deb.length, 'ar members cover the file exactly');
  return out;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const data of ['gzip', 'xz'] as const) {
  describe(`deb with data.tar.${data === 'gzip' ? 'gz' : 'xz'}`, () => {
    let src: string;
    let deb: string;
    let bytes: Buffer;

    test('is written under its conventional name with the right size and sha256', async () => {
      src = await makeSourceTree(EPOCH + 1000);
      const out = await tempDir('out');
      const res = await debPackager.package(input(src, data), out);
      deb = res.path;
      assert.equal(deb, join(out, 'cri-o_1.18.1-1_arm64.deb'));
      assert.deepEqual(await readdir(out), ['cri-o_1.18.1-1_arm64.deb'], 'no temporary files left');
      bytes = await readFile(deb);
      assert.equal(res.size, bytes.length);
      assert.equal(res.sha256, sha256(bytes));
    });

    test('has the ar layout of dpkg-deb: members, order, header fields, gzip headers', () => {
      const members = arMembers(bytes);
      assert.deepEqual(members.map((m) => m.name), ['debian-binary', 'control.tar.gz', `data.tar.${data === 'gzip' ? 'gz' : 'xz'}`]);
      assert.equal(members[0]?.data.toString(), '2.0\n');
      for (const m of members) {
        assert.deepEqual([m.mtime, m.uid, m.gid, m.mode], [EPOCH, 0, 0, '100644'], m.name);
      }
      // gzip: magic, deflate, FLG 0 (no file name), MTIME 0.
      const gzHeader = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]);
      assert.deepEqual(members[1]?.data.subarray(0, 8), gzHeader);
      if (data === 'gzip') assert.deepEqual(members[2]?.data.subarray(0, 8), gzHeader);
      else assert.deepEqual(members[2]?.data.subarray(0, 6), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
    });

    test('dpkg-deb --field and --info read the control file in dpkg-gencontrol order', async () => {
      const { stdout: fields } = await run('dpkg-deb', ['--field', deb, 'Package', 'Version', 'Architecture']);
      assert.equal(fields, 'Package: cri-o\nVersion: 1:1.18.1-1\nArchitecture: arm64\n');
      const { stdout: control } = await run('dpkg-deb', ['--field', deb]);
      // Installed-Size: dirs ./ etc etc/crio usr usr/bin usr/lib usr/lib/crio usr/libexec
      // usr/libexec/crio usr/sbin usr/share usr/share/crio var var/lib var/lib/crio = 15;
      // files crio 1 + blob 301 + empty 0 + crio.conf 1 + crictl.yaml 1 + conmon 1 = 305;
      // symlink 1 => 321.
      assert.equal(
        control,
        [
          'Package: cri-o',
          'Version: 1:1.18.1-1',
          'Architecture: arm64',
          'Maintainer: crio-build <crio-build@example.org>',
          'Installed-Size: 321',
          'Depends: libc6 (>= 2.28), conmon (>= 2.0) | podman',
          'Conflicts: docker.io',
          'Section: admin',
          'Priority: optional',
          'Homepage: https://cri-o.io',
          'Description: OCI-based Kubernetes container runtime',
          ' CRI-O implements the Kubernetes CRI.',
          ' .',
          ' It runs OCI containers.',
          '',
        ].join('\n'),
      );
      const { stdout: info } = await run('dpkg-deb', ['--info', deb]);
      assert.match(info, /new Debian package, version 2\.0\./);
      for (const member of ['control', 'md5sums', 'conffiles', 'postinst', 'prerm']) {
        assert.match(info, new RegExp(`\\s${member}\\s`), member);
      }
    });

    test('dpkg-deb --contents lists every entry once, parents first, symlinks last, owned by root', async () => {
      const { stdout } = await run('dpkg-deb', ['--contents', deb]);
      const rows = stdout.trimEnd().split('\n').map((l) => l.split(/\s+/));
      const names = rows.map((r) => r[5]);
      assert.deepEqual(names, [
        './', './etc/', './etc/crictl.yaml', './etc/crio/', './etc/crio/crio.conf',
        './usr/', './usr/bin/', './usr/bin/crio', './usr/lib/', './usr/lib/crio/', './usr/lib/crio/blob',
        './usr/libexec/', './usr/libexec/crio/', './usr/libexec/crio/conmon',
        './usr/sbin/', './usr/share/', './usr/share/crio/', './usr/share/crio/empty',
        './var/', './var/lib/', './var/lib/crio/', './usr/sbin/crio',
      ]);
      for (const r of rows) assert.equal(r[1], 'root/root', `${r[5]} owner`);
      const perms = Object.fromEntries(rows.map((r) => [r[5], r[0]]));
      assert.equal(perms['./usr/bin/crio'], '-rwxr-xr-x');
      assert.equal(perms['./usr/lib/crio/blob'], '-rw-r--r--');
      assert.equal(perms['./var/lib/crio/'], 'drwx------');
      assert.equal(perms['./usr/sbin/crio'], 'lrwxrwxrwx');
      assert.match(stdout, /\.\/usr\/sbin\/crio -> \.\.\/bin\/crio/);
    });

    test('lists exactly what dpkg-deb --build lists for the same tree', async () => {
      // Stage the same tree the Debian way, then compare the full listings
      // (type, mode, owner, size, date, name, link target).
      const stage = await tempDir('stage');
      await chmod(stage, 0o755); // mkdtemp makes it 0700
      for (const f of files(src)) {
        const p = join(stage, f.path);
        await mkdir(dirname(p), { recursive: true });
        if (f.symlink !== undefined) await symlink(f.symlink, p);
        else if (f.directory) await mkdir(p, { recursive: true });
        else await writeFile(p, f.source !== undefined ? await readFile(f.source) : (f.content as string | Buffer));
      }
      for (const f of files(src)) {
        let d = dirname(f.path);
        while (d !== '/') {
          await chmod(join(stage, d), 0o755); // independent of the umask
          d = dirname(d);
        }
      }
      for (const f of files(src)) {
        if (f.symlink === undefined) await chmod(join(stage, f.path), f.mode ?? (f.directory ? 0o755 : f.path === '/usr/bin/crio' ? 0o755 : 0o644));
      }
      await mkdir(join(stage, 'DEBIAN'));
      await writeFile(join(stage, 'DEBIAN', 'control'), 'Package: cri-o\nVersion: 1.0\nArchitecture: arm64\nMaintainer: A <a@example.org>\nDescription: x\n');
      const theirs = join(stage, '..', `${data}-dpkg.deb`);
      await run('dpkg-deb', ['--root-owner-group', `-Z${data}`, '--build', stage, theirs], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) } });
      const listing = async (p: string) => (await run('dpkg-deb', ['--contents', p])).stdout;
      assert.equal(await listing(deb), await listing(theirs));
    });

    test('dpkg-deb -x extracts the input content and modes; md5sums and conffiles are right', async () => {
      const x = await tempDir('x');
      await run('dpkg-deb', ['-x', deb, x]);
      await run('dpkg-deb', ['-e', deb, join(x, 'DEBIAN')]);
      for (const f of files(src)) {
        const st = await lstat(join(x, f.path));
        if (f.symlink !== undefined) {
          assert.ok(st.isSymbolicLink(), f.path);
          assert.equal(await readlink(join(x, f.path)), f.symlink);
        } else if (f.directory) {
          assert.ok(st.isDirectory(), f.path);
          assert.equal(st.mode & 0o7777, f.mode);
        } else {
          const expected = f.source !== undefined ? await readFile(f.source) : Buffer.from(f.content as string | Buffer);
          assert.deepEqual(await readFile(join(x, f.path)), expected, f.path);
          const mode = f.mode ?? (f.path === '/usr/bin/crio' ? 0o755 : 0o644);
          assert.equal((st.mode & 0o7777).toString(8), mode.toString(8), `${f.path} mode`);
        }
      }
      const check = await run('md5sum', ['-c', 'DEBIAN/md5sums'], { cwd: x });
      assert.equal(check.stdout.split('\n').filter((l) => l.endsWith(': OK')).length, 6);
      const md5sums = await readFile(join(x, 'DEBIAN', 'md5sums'), 'utf8');
      const paths = md5sums.trimEnd().split('\n').map((l) => l.slice(34));
      assert.deepEqual(paths, [...paths].sort(), 'md5sums sorted by path');
      assert.ok(md5sums.split('\n').every((l) => l === '' || /^[0-9a-f]{32} {2}[^/]/.test(l)), 'format "hash  path"');
      assert.equal(await readFile(join(x, 'DEBIAN', 'conffiles'), 'utf8'), '/etc/crictl.yaml\n/etc/crio/crio.conf\n');
      for (const s of ['postinst', 'prerm']) {
        assert.equal((await lstat(join(x, 'DEBIAN', s))).mode & 0o777, 0o755, s);
      }
    });

    test('lintian reports no archive-format problem', async () => {
      const lintianTags = [
        // deb-format
        'malformed-deb-archive', 'misplaced-extra-member-in-deb', 'lzma-deb-archive',
        'uses-no-compression-for-control-tarball', 'uses-no-compression-for-data-tarball',
        'uses-deprecated-compression-for-data-tarball', 'unpack-message-for-deb-control',
        'unpack-message-for-deb-data',
        // control-files, md5sums, conffiles, ownership
        'control-file-has-bad-permissions', 'control-file-has-bad-owner', 'control-file-is-empty',
        'control-file-is-not-a-file', 'not-allowed-control-file', 'unknown-control-file',
        'malformed-md5sums-control-file', 'md5sum-mismatch', 'md5sums-lists-nonexistent-file',
        'file-missing-in-md5sums', 'no-md5sums-control-file', 'missing-conffile', 'relative-conffile',
        'duplicate-conffile', 'conffile-has-bad-file-type', 'wrong-file-owner-uid-or-gid',
        // control fields we write
        'bad-package-name', 'bad-version-number', 'bad-relation', 'trimmed-deb822-field',
        'description-starts-with-leading-spaces', 'extended-description-is-empty', 'malformed-contact',
      ];
      // Guard against a stale list: every name must be a tag of the installed lintian.
      for (const tag of lintianTags) {
        assert.ok(existsSync(join('/usr/share/lintian/tags', tag[0] as string, `${tag}.tag`)), `lintian tag ${tag} exists`);
      }
      const res = await run('lintian', ['--no-tag-display-limit', deb]).catch((e: { stdout: string }) => e);
      const reported = res.stdout.split('\n').map((l) => /^[EWIPX]: \S+: (\S+)/.exec(l)?.[1]).filter(Boolean);
      assert.ok(reported.length > 0, 'lintian ran and reported the expected bare-package tags');
      const formatTags = reported.filter((t) => lintianTags.includes(t as string));
      assert.deepEqual(formatTags, [], res.stdout);
    });
  });
}

describe('reproducibility', () => {
  for (const data of ['gzip', 'xz'] as const) {
    test(`${data}: two trees with different mtimes and input order give identical bytes`, async () => {
      const [srcA, srcB] = [await makeSourceTree(EPOCH + 5000), await makeSourceTree(EPOCH - 99999)];
      const [outA, outB] = [await tempDir('outA'), await tempDir('outB')];
      const a = await debPackager.package(input(srcA, data), outA);
      const b = await debPackager.package(input(srcB, data, files(srcB).reverse()), outB);
      assert.equal(a.sha256, b.sha256);
      assert.deepEqual(await readFile(a.path), await readFile(b.path));
      const c = await debPackager.package({ ...input(srcA, data), sourceDateEpoch: EPOCH + 1 }, await tempDir('outC'));
      assert.notEqual(c.sha256, a.sha256, 'SOURCE_DATE_EPOCH is recorded');
      if (data === 'xz') {
        const d = await debPackager.package({ ...input(srcA, data), compression: { data, threads: 2 } }, await tempDir('outD'));
        assert.equal(d.sha256, a.sha256, 'the xz thread count does not change the output');
      }
    });
  }
});

describe('validation and failure', () => {
  const base = (): DebInput => ({
    control: { Package: 'crictl', Version: '1.18.0-1', Architecture: 'arm64', Maintainer: 'A <a@example.org>', Description: 'CRI tool' },
    files: [{ path: '/usr/bin/crictl', content: '#!/bin/sh\n', mode: 0o755 }],
    sourceDateEpoch: EPOCH,
  });

  const rejectsNaming = async (info: DebInput, pattern: RegExp) => {
    const out = await tempDir('bad');
    await assert.rejects(debPackager.package(info, out), pattern);
    assert.deepEqual(await readdir(out), [], 'nothing written');
  };

  test('bad package names are rejected naming the field', async () => {
    for (const name of ['CRI-O', 'a', '-crio', 'cri_o', 'cri o']) {
      await rejectsNaming({ ...base(), control: { ...base().control, Package: name } }, /control field Package: .*allowed are lower-case/);
    }
  });

  test('bad versions are rejected naming the field', async () => {
    for (const v of ['v1.18', '1.18-', 'x:1.0', '1.0-1_2', '1.0 beta', '']) {
      await rejectsNaming({ ...base(), control: { ...base().control, Version: v } }, /control field Version: .*\[epoch:\]upstream\[-revision\]/);
    }
    assert.equal(debPackager.conventionalFileName({ ...base(), control: { ...base().control, Version: '2:1.0~rc1+dfsg-0.1' } }), 'crictl_1.0~rc1+dfsg-0.1_arm64.deb');
  });

  test('newlines cannot inject fields; relations and enumerations are checked', async () => {
    await rejectsNaming({ ...base(), control: { ...base().control, Depends: 'libc6\nEssential: yes' } }, /control field Depends: must be a single line/);
    await rejectsNaming({ ...base(), control: { ...base().control, Maintainer: 'A <a@example.org>\nX: y' } }, /control field Maintainer/);
    await rejectsNaming({ ...base(), control: { ...base().control, Depends: 'libc6 (> 2.28)' } }, /control field Depends: .*obsolete/);
    await rejectsNaming({ ...base(), control: { ...base().control, Conflicts: 'a | b' } }, /control field Conflicts: .*alternatives/);
    await rejectsNaming({ ...base(), control: { ...base().control, Priority: 'high' as 'optional' } }, /control field Priority: .*one of required/);
    await rejectsNaming({ ...base(), control: { ...base().control, 'Installed-Size': '5' } }, /control field Installed-Size: is computed/);
    await rejectsNaming({ ...base(), control: { ...base().control, depends: 'x' } }, /control field depends: write it as "Depends"/);
  });

  test('bad file lists and scripts are rejected', async () => {
    await rejectsNaming({ ...base(), files: [{ path: 'usr/bin/x', content: '' }] }, /must be absolute/);
    await rejectsNaming({ ...base(), files: [{ path: '/usr/../x', content: '' }] }, /normalized/);
    await rejectsNaming({ ...base(), files: [{ path: '/a', content: '' }, { path: '/a', content: '' }] }, /listed twice/);
    await rejectsNaming({ ...base(), files: [{ path: '/a', content: '' }, { path: '/a/b', content: '' }] }, /not a directory/);
    await rejectsNaming({ ...base(), files: [{ path: '/a', content: '', symlink: 'b' }] }, /exactly one of/);
    await rejectsNaming({ ...base(), scripts: { postinst: 'echo hi\n' } }, /postinst: must be a string starting with an interpreter line/);
    await rejectsNaming({ ...base(), compression: { data: 'xz', level: 12 } }, /xz level 12/);
  });

  test('a failure while streaming (missing source file) leaves nothing in the out dir', async () => {
    const src = await makeSourceTree(EPOCH);
    for (const data of ['gzip', 'xz'] as const) {
      const info = input(src, data, [...files(src), { path: '/zzz/missing', source: join(src, 'does-not-exist') }]);
      const out = await tempDir('fail');
      await assert.rejects(writeDeb(info, join(out, 'x.deb')), /\/zzz\/missing: cannot read source .*does-not-exist/);
      assert.deepEqual(await readdir(out), [], `${data}: temporary files removed`);
    }
  });

  test('a source that is a directory or a symlink to nothing fails cleanly', async () => {
    const src = await makeSourceTree(EPOCH);
    await symlink(join(src, 'nowhere'), join(src, 'dangling'));
    for (const source of [join(src, 'bin'), join(src, 'dangling')]) {
      const out = await tempDir('fail2');
      await assert.rejects(writeDeb({ ...base(), files: [...files(src), { path: '/usr/x', source }] }, join(out, 'x.deb')), /\/usr\/x: /);
      assert.deepEqual(await readdir(out), []);
    }
  });
});

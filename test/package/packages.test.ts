/**
 * The package stage on real builds of the miniature upstreams (native arch), judged by Debian's
 * own tools: dpkg-deb --info/--contents/--field, lintian (no E: or W: left; every override
 * justified and used), systemd-analyze verify on the units as installed, sha256sum -c, and the
 * bundle's install Makefile run with DESTDIR and PREFIX.
 *
 * Needs: dpkg-dev, lintian, systemd (systemd-analyze), make, and what test/fixtures needs to build
 * the fixtures (Debian's golang-1.19, gcc, libseccomp-dev, libglib2.0-dev; go-md2man optional).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, open, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { sha256File } from '../../src/core/hash.js';
import { parseSha256Sums } from '../../src/package/checksums.js';
import { debVersion } from '../../src/plan/naming.js';
import { PACKAGED_KEYS_FILE } from '../../src/package/keys.js';
import { packageAll, PackageError, PackageInputError, type PackageStageResult } from '../../src/package/package-all.js';
import { BuildOutputsMissingError, loadBuiltComponents, type BuiltComponent } from '../../src/build/outputs.js';
import { BRANCH, fixtureBuilds, hostArch, KUBERNETES, mustRun, run, tempDir, type FixtureBuilds } from './helpers.js';

const PAUSE = 'registry.example.org/google_containers/pause:3.2';

function field(deb: string, name: string): Promise<string> {
  return mustRun('dpkg-deb', ['--field', deb, name]).then((r) => r.stdout.trim());
}

async function contents(deb: string): Promise<Map<string, string>> {
  // "drwxr-xr-x root/root 0 2020-05-26 12:00 ./etc/" -> path -> "mode owner [-> target]"
  const out = new Map<string, string>();
  for (const line of (await mustRun('dpkg-deb', ['--contents', deb])).stdout.split('\n').filter(Boolean)) {
    const m = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.(\/\S*?)(?: -> (\S+))?$/.exec(line);
    assert.ok(m, `unexpected dpkg-deb --contents line: ${line}`);
    out.set(m[3] as string, `${m[1]} ${m[2]}${m[4] ? ` -> ${m[4]}` : ''}`);
  }
  return out;
}

describe(`package stage on real ${hostArch()} builds`, () => {
  let builds: FixtureBuilds;
  let comps: BuiltComponent[];
  let crio: BuiltComponent;
  let out: string;
  let result: PackageStageResult;
  const deb = (name: string) => result.debs.find((d) => d.name === name)?.path as string;

  before(async () => {
    builds = await fixtureBuilds(hostArch());
    comps = builds.current.components;
    crio = comps.find((c) => c.name === 'cri-o') as BuiltComponent;
    out = await tempDir('crio-build-packages-');
    result = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: out, pauseImage: PAUSE });
  });

  test('four .debs, the bundle, their SBOMs and .buildinfo files, and SHA256SUMS over all of them; nothing else left behind', async () => {
    assert.deepEqual(result.debs.map((d) => d.name), ['cri-o', 'cri-o-conmon', 'containernetworking-plugins', 'cri-tools']);
    assert.equal(result.debs[0]?.version, debVersion(crio.version));
    assert.match(result.debs[0]?.file ?? '', /^cri-o_1\.18\.1_git\d{14}\.[0-9a-f]{7}-1_(amd64|arm64)\.deb$/);
    assert.match(result.bundle.file, /^cri-o\.(amd64|arm64)\.v1\.18\.1_git\d{14}\.[0-9a-f]{7}\.tar\.gz$/);
    for (const f of [...result.debs, result.bundle]) assert.equal(await sha256File(f.path), f.sha256, f.file);
    const sums = parseSha256Sums(await readFile(result.checksumsPath, 'utf8'));
    const documents = [...result.debs.flatMap((d) => [`${d.file}.spdx.json`, d.file.replace(/\.deb$/, '.buildinfo')]), `${result.bundle.file}.spdx.json`];
    assert.deepEqual(result.documents.map((d) => d.file).sort(), documents.sort());
    assert.deepEqual(sums.map((s) => s.file).sort(), [...result.debs.map((d) => d.file), result.bundle.file, ...documents].sort());
    const check = await mustRun('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });
    assert.equal(check.stdout.trim().split('\n').length, 5 + 9, '4 .debs, the bundle, 5 SBOMs and 4 .buildinfo files');
    // Besides them only the stage's hidden record of each file's key (src/package/keys.ts).
    assert.deepEqual((await readdir(out)).sort(), [...sums.map((s) => s.file), 'SHA256SUMS', PACKAGED_KEYS_FILE].sort());
    // The miniature conmon is v2.0.11, older than podman needs; no warning, since ours is cri-o-conmon
    // beside Debian's conmon, not a replacement for it.
    assert.deepEqual(result.warnings, []);
  });

  test('dpkg-deb --field: names, versions, architecture and the Depends', async () => {
    const arch = hostArch();
    for (const d of result.debs) {
      assert.equal(await field(d.path, 'Package'), d.name);
      assert.equal(await field(d.path, 'Version'), d.version);
      assert.equal(await field(d.path, 'Architecture'), arch);
      assert.match(await field(d.path, 'Maintainer'), /^.+ <.+@.+>$/);
    }
    const byName = (n: string) => comps.find((c) => c.name === n) as BuiltComponent;
    const crioDepends = await field(deb('cri-o'), 'Depends');
    assert.equal(
      crioDepends,
      [crio.shlibsDepends, `cri-o-conmon (>= ${debVersion(byName('conmon').version)})`, `containernetworking-plugins (>= ${debVersion(byName('cni-plugins').version)})`, 'runc | crun', 'golang-github-containers-common | containers-common', 'procps'].join(', '),
    );
    assert.match(crioDepends, /^libc6 \(>= [\d.]+\), libseccomp2 \(>= [\d.]+\), cri-o-conmon \(>= 100:2\.0\.11-1\), containernetworking-plugins \(>= 100:0\.8\.1-1\), runc \| crun, golang-github-containers-common \| containers-common, procps$/);
    assert.equal(await field(deb('cri-o'), 'Recommends'), 'cri-tools');
    assert.match(await field(deb('cri-o-conmon'), 'Depends'), /^libc6 \(>= [\d.]+\), libglib2\.0-0 \(>= [\d.]+\)$/);
    // Static Go programs need nothing; the plugins run iptables (ipMasq, portmap), as Debian's package says.
    assert.equal(await field(deb('containernetworking-plugins'), 'Depends'), 'iptables');
    assert.equal(await field(deb('cri-tools'), 'Depends'), '');
    // Ours replaces Debian's, so it provides what golang-github-containers-common depends on, like Debian's.
    assert.equal(await field(deb('containernetworking-plugins'), 'Provides'), 'container-network-stack (= 1)');
    // Nothing of ours replaces or provides Debian's conmon: podman needs Debian's (see definitions/conmon.ts).
    for (const d of result.debs) for (const f of ['Breaks', 'Replaces', 'Conflicts']) assert.equal(await field(d.path, f), '', `${d.name} ${f}`);
    assert.equal(await field(deb('cri-o-conmon'), 'Provides'), '');
    assert.doesNotMatch(crioDepends, /(^|, )conmon\b/, 'cri-o does not depend on the name conmon');
    assert.equal(await field(deb('containernetworking-plugins'), 'Section'), 'net');
  });

  test('dpkg-deb --info: control members, conffiles and maintainer scripts of cri-o', async () => {
    const info = (await mustRun('dpkg-deb', ['--info', deb('cri-o')])).stdout;
    for (const member of ['control', 'md5sums', 'conffiles', 'postinst', 'prerm', 'postrm']) assert.match(info, new RegExp(`\\s${member}\\s`), member);
    const conffiles = (await mustRun('dpkg-deb', ['--info', deb('cri-o'), 'conffiles'])).stdout.trim().split('\n').sort();
    assert.deepEqual(conffiles, [
      '/etc/cni/net.d/100-crio-bridge.conf',
      '/etc/cni/net.d/200-loopback.conf',
      '/etc/crictl.yaml',
      '/etc/crio/crio.conf',
      '/etc/crio/crio.conf.d/01-crio-build.conf',
      '/etc/crio/crio.conf.d/02-crio-build-pause-image.conf',
    ]);
    for (const other of ['cri-o-conmon', 'containernetworking-plugins', 'cri-tools']) {
      const i = (await mustRun('dpkg-deb', ['--info', deb(other)])).stdout;
      assert.doesNotMatch(i, /conffiles|postinst/, `${other} has no conffiles or scripts`);
    }
  });

  test('dpkg-deb --contents: what each package installs, owned by root', async () => {
    const c = await contents(deb('cri-o'));
    for (const [path, desc] of c) assert.match(desc, / root\/root/, path);
    const expect: Record<string, RegExp> = {
      '/usr/bin/crio': /^-rwxr-xr-x/,
      '/usr/bin/crio-status': /^-rwxr-xr-x/,
      '/usr/bin/pinns': /^-rwxr-xr-x/,
      '/usr/bin/crio-preflight': /^-rwxr-xr-x/,
      '/usr/share/man/man8/crio-preflight.8.gz': /^-rw-r--r--/,
      '/etc/crio/crio.conf': /^-rw-r--r--/,
      '/etc/crictl.yaml': /^-rw-r--r--/,
      '/etc/cni/net.d/100-crio-bridge.conf': /^-rw/,
      '/etc/cni/net.d/200-loopback.conf': /^-rw/,
      '/usr/share/containers/oci/hooks.d/': /^drwxr-xr-x/,
      '/lib/systemd/system/crio.service': /^-rw-r--r--/,
      '/lib/systemd/system/crio-shutdown.service': /^-rw/,
      '/lib/systemd/system/crio-wipe.service': /^-rw/,
      '/lib/systemd/system/cri-o.service': /^lrwxrwxrwx .* -> crio\.service$/,
      '/usr/share/bash-completion/completions/crio': /^-rw-r--r--/,
      '/usr/share/fish/vendor_completions.d/crio.fish': /^-rw/,
      '/usr/share/zsh/vendor-completions/_crio': /^-rw/,
      '/usr/share/doc/cri-o/copyright': /^-rw/,
      '/usr/share/doc/cri-o/changelog.Debian.gz': /^-rw/,
      '/usr/share/doc/cri-o/README.Debian': /^-rw/,
      '/usr/share/lintian/overrides/cri-o': /^-rw/,
      '/usr/share/oci-umount/oci-umount.d/crio-umount.conf': /^-rw/,
    };
    if (existsSync(join(crio.outDir, 'docs', 'crio.8'))) {
      expect['/usr/share/man/man8/crio.8.gz'] = /^-rw/;
      expect['/usr/share/man/man5/crio.conf.5.gz'] = /^-rw/;
    }
    for (const [path, re] of Object.entries(expect)) assert.match(c.get(path) ?? 'MISSING', re, path);
    assert.ok(![...c.keys()].some((p) => p.startsWith('/usr/local')), 'nothing in /usr/local');
    // The image policy and registries.conf are the distribution's (golang-github-containers-common/-image): not ours.
    assert.ok(![...c.keys()].some((p) => p.startsWith('/etc/containers')), 'no file in /etc/containers');
    // release-1.18 has no in-tree pause (1.13 to 1.16 do: see the next test).
    assert.ok(!c.has('/usr/libexec/crio/pause'));

    const cni = await contents(deb('containernetworking-plugins'));
    for (const p of ['bridge', 'host-local', 'loopback']) assert.match(cni.get(`/opt/cni/bin/${p}`) ?? 'MISSING', /^-rwxr-xr-x/);
    // CRI-O's conmon in /usr/libexec/crio (upstream's make install path), never /usr/bin/conmon (Debian's conmon, for podman).
    const conmonFiles = await contents(deb('cri-o-conmon'));
    assert.match(conmonFiles.get('/usr/libexec/crio/conmon') ?? 'MISSING', /^-rwxr-xr-x/);
    assert.ok(![...conmonFiles.keys()].some((p) => p.startsWith('/usr/bin/')), [...conmonFiles.keys()].join(' '));
    assert.match((await contents(deb('cri-tools'))).get('/usr/bin/crictl') ?? 'MISSING', /^-rwxr-xr-x/);
    for (const d of result.debs) {
      const files = await contents(d.path);
      assert.ok(files.has(`/usr/share/doc/${d.name}/copyright`) && files.has(`/usr/share/doc/${d.name}/changelog.Debian.gz`), d.name);
    }
  });

  test('the installed files: units in /usr/bin, our drop-ins, crio.conf as crio generated it', async () => {
    const root = await tempDir('crio-build-x-');
    await mustRun('dpkg-deb', ['-x', deb('cri-o'), root]);
    const unit = await readFile(join(root, 'lib/systemd/system/crio.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/crio \\$/m);
    assert.doesNotMatch(unit, /\/usr\/local/);
    assert.match(await readFile(join(root, 'lib/systemd/system/crio-wipe.service'), 'utf8'), /^ExecStart=\/usr\/bin\/crio \\$/m);
    assert.equal(await readFile(join(root, 'etc/crio/crio.conf'), 'utf8'), await readFile(join(crio.outDir, 'crio.conf'), 'utf8'));
    const dropIn = await readFile(join(root, 'etc/crio/crio.conf.d/01-crio-build.conf'), 'utf8');
    assert.match(dropIn, /^\[crio\.runtime\]$[^[]*^cgroup_manager = "systemd"$[^[]*^conmon = "\/usr\/libexec\/crio\/conmon"$[^[]*^log_level = "info"$/m);
    assert.match(dropIn, /^\[crio\.image\]\n#.*\nregistries = \["docker\.io"\]$/m);
    const preflight = await readFile(join(root, 'usr/bin/crio-preflight'), 'utf8');
    assert.match(preflight, /^#!\/bin\/sh\n/);
    assert.match(preflight, new RegExp(`^CRIO_VERSION='${crio.version.replace(/[.+]/g, '\\$&')}'$`, 'm'));
    assert.match(preflight, /^CNI_PLUGINS_VERSION='0\.8\.1'$/m);
    // It runs as installed (against this machine here; its verdict depends on the machine).
    const pf = await run('sh', [join(root, 'usr/bin/crio-preflight'), '--root', '/']);
    assert.ok(pf.code === 0 || pf.code === 1, pf.stdout + pf.stderr);
    assert.match(pf.stdout, /^crio-preflight: what cri-o .* needs from this node$/m);
    assert.match(await readFile(join(root, 'etc/crio/crio.conf.d/02-crio-build-pause-image.conf'), 'utf8'), new RegExp(`^\\[crio\\.image\\]\\n#.*\\npause_image = "${PAUSE.replace(/[./]/g, '\\$&')}"$`, 'm'));
    assert.match(await readFile(join(root, 'etc/crictl.yaml'), 'utf8'), /^runtime-endpoint: unix:\/\/\/var\/run\/crio\/crio\.sock$/m);
    const copyright = await readFile(join(root, 'usr/share/doc/cri-o/copyright'), 'utf8');
    assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
    assert.match(copyright, /^License: Apache-2\.0$/m);
    const changelog = (await mustRun('sh', ['-c', `zcat ${join(root, 'usr/share/doc/cri-o/changelog.Debian.gz')}`])).stdout;
    assert.ok(changelog.startsWith(`cri-o (${debVersion(crio.version)}) unstable; urgency=medium\n`), changelog);
    assert.ok(changelog.includes(crio.commit), 'the upstream commit is named');
    // dpkg-parsechangelog reads it as a debian/changelog.
    const parsed = await mustRun('dpkg-parsechangelog', ['-l', '-', '-S', 'Version'], { input: changelog });
    assert.equal(parsed.stdout.trim(), debVersion(crio.version));
    const readme = await readFile(join(root, 'usr/share/doc/cri-o/README.Debian'), 'utf8');
    assert.match(readme, /enabled, but not started/);
    assert.match(readme, /crio-preflight/);
    assert.match(readme, /golang-github-containers-common/);
    assert.match(readme, /^CRI-O runs its containers through \/usr\/libexec\/crio\/conmon, from the cri-o-conmon$/m);
    assert.match(readme, new RegExp(`skopeo inspect --raw docker://${PAUSE.replace(/[./]/g, '\\$&')} \\| jq`));
    assert.match(readme, /crictl inspecti /);
    if (existsSync(join(root, 'usr/share/man/man8/crio.8.gz'))) {
      const man = (await mustRun('sh', ['-c', `zcat ${join(root, 'usr/share/man/man8/crio.8.gz')}`])).stdout;
      assert.match(man, /^\.TH "crio" "8" "" "cri-o [^"]+" "Open Container Initiative Daemon"$/m);
    }
  });

  test('cri-o 1.13 to 1.16: the in-tree pause binary goes to /usr/libexec/crio/pause; settings written into crio.conf', async () => {
    // A 1.16-style build output: the 1.18 fixture's tree plus bin/pause (any static ELF of this arch: pinns).
    const old = join(await tempDir('crio-build-116-'), 'cri-o');
    await cp(crio.outDir, old, { recursive: true });
    await copyFile(join(crio.outDir, 'bin/pinns'), join(old, 'bin/pause'));
    await chmod(join(old, 'bin/pause'), 0o755);
    const comps116 = comps.map((c) => (c.name === 'cri-o' ? { ...c, version: '1.16.6', outDir: old } : c));
    const o = await tempDir('crio-build-packages-116-');
    const r = await packageAll({ branch: 'release-1.16', kubernetes: '1.16', arch: hostArch(), components: comps116, outDir: o });
    const d = r.debs.find((x) => x.name === 'cri-o')?.path as string;
    assert.match((await contents(d)).get('/usr/libexec/crio/pause') ?? 'MISSING', /^-rwxr-xr-x root\/root/);
    const x = await tempDir('crio-build-x-');
    await mustRun('dpkg-deb', ['-x', d, x]);
    const conf = await readFile(join(x, 'etc/crio/crio.conf'), 'utf8');
    assert.match(conf, /^pause_image = "registry\.k8s\.io\/pause:3\.2"$/m, 'the generated default, moved to registry.k8s.io');
    assert.match(conf, /^\[crio\.image\]\nregistries = \["docker\.io"\]$/m);
    assert.match(conf, /^cgroup_manager = "systemd"$/m);
    assert.ok(!existsSync(join(x, 'etc/crio/crio.conf.d')), 'no drop-ins before 1.17.1');
    const overrides = await readFile(join(x, 'usr/share/lintian/overrides/cri-o'), 'utf8');
    assert.match(overrides, /^cri-o: statically-linked-binary \[usr\/libexec\/crio\/pause\]$/m);
    // The release-1.18 package has none.
    assert.ok(!(await contents(deb('cri-o'))).has('/usr/libexec/crio/pause'));
  });

  test('lintian: no errors or warnings; every override has a reason and is used', async () => {
    const debs = result.debs.map((d) => d.path);
    const r = await run('lintian', ['--display-info', '--show-overrides', '--no-tag-display-limit', ...debs]);
    const lines = r.stdout.split('\n').filter((l) => /^[EWIOPX]: /.test(l));
    const bad = lines.filter((l) => /^[EW]: /.test(l));
    assert.deepEqual(bad, [], `lintian output:\n${r.stdout}\n${r.stderr}`);
    assert.ok(!lines.some((l) => /unused-override|mismatched-override/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('O: ')), 'overrides are applied');
    // Every override line in the shipped files is preceded by its reason.
    for (const d of result.debs) {
      const root = await tempDir('crio-build-x-');
      await mustRun('dpkg-deb', ['-x', d.path, root]);
      const text = await readFile(join(root, 'usr/share/lintian/overrides', d.name), 'utf8');
      const ls = text.split('\n');
      ls.forEach((l, i) => {
        if (l.startsWith(`${d.name}: `)) assert.match(ls[i - 1] ?? '', /^# \S/, `${d.name}: override without a reason: ${l}`);
      });
    }
  });

  test('systemd-analyze verify on the units as installed', async () => {
    // A root holding the host's systemd units and the commands the units run, plus the package.
    const root = await tempDir('crio-build-verify-');
    await mkdir(join(root, 'usr/lib'), { recursive: true });
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await mkdir(join(root, 'etc'), { recursive: true });
    for (const [l, t] of [['lib', 'usr/lib'], ['bin', 'usr/bin'], ['sbin', 'usr/bin']]) await symlink(t as string, join(root, l as string));
    await cp('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    const x = await tempDir('crio-build-x-');
    await mustRun('dpkg-deb', ['-x', deb('cri-o'), x]);
    await cp(join(x, 'lib/systemd/system'), join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    await cp(join(x, 'usr/bin'), join(root, 'usr/bin'), { recursive: true });
    for (const cmd of ['kill', 'rm', 'env', 'bash', 'mkdir', 'touch']) await copyFile(`/usr/bin/${cmd}`, join(root, 'usr/bin', cmd));
    const units = ['crio.service', 'crio-wipe.service', 'crio-shutdown.service', 'cri-o.service'].map((u) => `/lib/systemd/system/${u}`);
    const r = await run('systemd-analyze', ['verify', '--man=no', `--root=${root}`, ...units]);
    assert.equal(r.code, 0, `systemd-analyze verify:\n${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim(), '', r.stderr);
    // The check has teeth: upstream's unit as it is (ExecStart in /usr/local/bin) fails.
    await copyFile(join(crio.outDir, 'contrib/systemd/crio.service'), join(root, 'usr/lib/systemd/system/upstream.service'));
    const bad = await run('systemd-analyze', ['verify', '--man=no', `--root=${root}`, '/lib/systemd/system/upstream.service']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /\/usr\/local\/bin\/crio is not executable/);
  });

  test('reproducible: the same inputs give byte-identical files; the pause image only changes cri-o', async () => {
    const again = await tempDir('crio-build-packages-');
    const r2 = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: again, pauseImage: PAUSE });
    assert.deepEqual(r2.debs.map((d) => d.sha256), result.debs.map((d) => d.sha256));
    assert.equal(r2.bundle.sha256, result.bundle.sha256);
    assert.deepEqual(r2.documents.map((d) => [d.file, d.sha256]), result.documents.map((d) => [d.file, d.sha256]), 'the SBOMs and .buildinfo files too');
    assert.equal(await readFile(r2.checksumsPath, 'utf8'), await readFile(result.checksumsPath, 'utf8'));
    const third = await tempDir('crio-build-packages-');
    const r3 = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: third });
    assert.notEqual(r3.debs[0]?.sha256, result.debs[0]?.sha256);
    assert.deepEqual(r3.debs.slice(1).map((d) => d.sha256), result.debs.slice(1).map((d) => d.sha256));
    // Only the documents of what changed change: cri-o's SBOM and .buildinfo, and the bundle's SBOM.
    const changed = r3.documents.filter((d, i) => d.sha256 !== result.documents[i]?.sha256).map((d) => d.of);
    assert.deepEqual(changed, [r3.debs[0]!.file, r3.debs[0]!.file, r3.bundle.file]);
    // Without --pause-image: the branch's own tag on registry.k8s.io.
    const x3 = await tempDir('crio-build-x-');
    await mustRun('dpkg-deb', ['-x', r3.debs[0]?.path as string, x3]);
    assert.match(await readFile(join(x3, 'etc/crio/crio.conf.d/02-crio-build-pause-image.conf'), 'utf8'), /^pause_image = "registry\.k8s\.io\/pause:3\.2"$/m);
    assert.match(await readFile(join(x3, 'usr/share/doc/cri-o/README.Debian'), 'utf8'), /skopeo inspect --raw docker:\/\/registry\.k8s\.io\/pause:3\.2 \| jq/);
  });

  test('the bundle: cri-o release bundle layout, deterministic tar, install Makefile with DESTDIR and PREFIX', async () => {
    const listing = (await mustRun('tar', ['--numeric-owner', '-tvzf', result.bundle.path])).stdout.trim().split('\n');
    const names = listing.map((l) => l.split(/\s+/)[5] as string);
    for (const l of listing) assert.match(l, /^\S+ 0\/0 /, l);
    const stamp = new Date(crio.commitTime * 1000).toISOString().slice(0, 16).replace('T', ' ');
    // tar prints local time; compare the UTC stamp with TZ=UTC.
    const utc = (await mustRun('tar', ['--numeric-owner', '-tvzf', result.bundle.path], { env: { ...process.env, TZ: 'UTC' } })).stdout.trim().split('\n');
    for (const l of utc) assert.ok(l.includes(stamp), `${l} has mtime ${stamp}`);
    assert.equal(names[0], 'cri-o/');
    assert.ok(names.every((n) => n.startsWith('cri-o/')));
    for (const p of ['cri-o/bin/crio', 'cri-o/bin/crio-status', 'cri-o/bin/pinns', 'cri-o/bin/conmon', 'cri-o/bin/crictl', 'cri-o/etc/crio.conf', 'cri-o/etc/crictl.yaml', 'cri-o/etc/crio.conf.d/01-crio-build.conf', 'cri-o/contrib/crio.service', 'cri-o/contrib/100-crio-bridge.conf', 'cri-o/contrib/200-loopback.conf', 'cri-o/cni-plugins/bridge', 'cri-o/completions/bash/crio', 'cri-o/Makefile', 'cri-o/README.md', 'cri-o/LICENSE']) {
      assert.ok(names.includes(p), `bundle lacks ${p}`);
    }
    // Sorted like tar --sort=name within each directory, parents first.
    const gz = await open(result.bundle.path, 'r');
    const head = Buffer.alloc(10);
    await gz.read(head, 0, 10, 0);
    await gz.close();
    assert.equal(head.readUInt32LE(4), 0, 'gzip header without mtime');
    assert.equal(head[3], 0, 'gzip header without a file name');

    const x = await tempDir('crio-build-bundle-');
    await mustRun('tar', ['-xzf', result.bundle.path, '-C', x]);
    const stage = join(x, 'stage');
    await mustRun('make', ['-C', join(x, 'cri-o'), 'install', `DESTDIR=${stage}`, 'PREFIX=/usr']);
    for (const f of ['usr/bin/crio', 'usr/bin/conmon', 'usr/bin/crictl', 'usr/bin/pinns', 'opt/cni/bin/bridge', 'etc/crio/crio.conf', 'etc/crictl.yaml', 'etc/cni/net.d/100-crio-bridge.conf', 'usr/lib/systemd/system/crio.service', 'usr/share/bash-completion/completions/crio']) {
      assert.ok(existsSync(join(stage, f)), `make install DESTDIR PREFIX=/usr: missing ${f}`);
    }
    assert.equal(await readlink(join(stage, 'usr/lib/systemd/system/cri-o.service')), 'crio.service');
    assert.match(await readFile(join(stage, 'usr/lib/systemd/system/crio.service'), 'utf8'), /^ExecStart=\/usr\/bin\/crio \\$/m);
    assert.match(await readFile(join(stage, 'etc/crio/crio.conf.d/01-crio-build.conf'), 'utf8'), /^conmon = "\/usr\/bin\/conmon"$/m);
    assert.ok(!(await readFile(join(stage, 'usr/lib/systemd/system/crio.service'), 'utf8')).includes(stage), 'DESTDIR never reaches a file');
    assert.ok(existsSync(join(stage, 'usr/share/containers/oci/hooks.d')));

    const local = join(x, 'local');
    await mustRun('make', ['-C', join(x, 'cri-o'), `DESTDIR=${local}`]);
    assert.match(await readFile(join(local, 'usr/local/lib/systemd/system/crio.service'), 'utf8'), /^ExecStart=\/usr\/local\/bin\/crio \\$/m);
    assert.match(await readFile(join(local, 'etc/crio/crio.conf.d/01-crio-build.conf'), 'utf8'), /^conmon = "\/usr\/local\/bin\/conmon"$/m);
    // The installed binaries run.
    if (hostArch() === crio.arch) {
      const v = await mustRun(join(stage, 'usr/bin/crio'), ['--version']);
      assert.match(v.stdout, /^Version:\s+1\.18\.1$/m);
    }
    await mustRun('make', ['-C', join(x, 'cri-o'), 'uninstall', `DESTDIR=${stage}`, 'PREFIX=/usr']);
    const left = (await mustRun('find', [stage, '-type', 'f'])).stdout.trim();
    assert.equal(left, '', `make uninstall left files:\n${left}`);
  });

  test('refusals: wrong arch, missing outputs, bad pause image; no partial files', async () => {
    const bad = await tempDir('crio-build-packages-');
    await assert.rejects(packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: bad, pauseImage: 'x"y' }), (err: unknown) => {
      assert.ok(err instanceof PackageInputError && err.exitCode === 3, String(err));
      assert.match((err as Error).message, /pause image/);
      return true;
    });
    await assert.rejects(packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps.filter((c) => c.name !== 'cri-o'), outDir: bad }), /cri-o component is required/);
    await assert.rejects(packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: [...comps, { ...crio, name: 'runc' }], outDir: bad }), /no package definition for component "runc"/);

    // A copy of cri-o's outputs whose crio is an ELF of the other architecture.
    const fake = join(await tempDir('crio-build-fake-'), 'cri-o');
    await cp(crio.outDir, fake, { recursive: true });
    const fh = await open(join(fake, 'bin/crio'), 'r+');
    const machine = Buffer.alloc(2);
    machine.writeUInt16LE(hostArch() === 'amd64' ? 183 : 62);
    await fh.write(machine, 0, 2, 18);
    await fh.close();
    await assert.rejects(
      packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps.map((c) => (c.name === 'cri-o' ? { ...c, outDir: fake } : c)), outDir: bad }),
      /bin\/crio is built for .* but the packages are for/,
    );
    // A missing crio.conf.
    await rm(join(fake, 'crio.conf'));
    await copyFile(join(crio.outDir, 'bin/crio'), join(fake, 'bin/crio'));
    await chmod(join(fake, 'bin/crio'), 0o755);
    await assert.rejects(
      packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps.map((c) => (c.name === 'cri-o' ? { ...c, outDir: fake } : c)), outDir: bad }),
      (err: unknown) => {
        assert.ok(err instanceof PackageError && err.exitCode === 1, String(err));
        assert.match((err as Error).message, /cri-o: the build output .*crio\.conf is missing/);
        return true;
      },
    );
    const left = await readdir(bad);
    assert.ok(left.every((n) => /\.deb$/.test(n) && !n.startsWith('cri-o_')), `only complete .debs of other packages may remain: ${left.join(', ')}`);
    assert.ok(!left.some((n) => n.includes('.tmp') || n.startsWith('.')), left.join(', '));
  });

  test('loadBuiltComponents finds build outputs under artifacts/<branch>/<arch>/build and explains what is missing', async () => {
    const loaded = await loadBuiltComponents({ artifactsDir: builds.current.artifactsDir, branch: BRANCH, arch: hostArch(), components: ['cri-o', 'conmon'] });
    assert.deepEqual(loaded.map((c) => c.name), ['cri-o', 'conmon']);
    const empty = await tempDir('crio-build-artifacts-');
    await assert.rejects(loadBuiltComponents({ artifactsDir: empty, branch: BRANCH, arch: hostArch(), components: ['cri-o'] }), (err: unknown) => {
      assert.ok(err instanceof BuildOutputsMissingError);
      assert.match((err as Error).message, /no build of cri-o for release-1\.18\/(amd64|arm64): expected .*\(run `crio-build release-1\.18 --arch (amd64|arm64)` first\)/);
      return true;
    });
    const dir = join(empty, BRANCH, hostArch(), 'build');
    await mkdir(join(dir, 'cri-o'), { recursive: true });
    await writeFile(join(dir, 'cri-o.json'), JSON.stringify({ name: 'cri-o', version: '1.18.1', commit: 'a'.repeat(40), commitTime: '1', arch: hostArch(), shlibsDepends: '' }));
    await assert.rejects(loadBuiltComponents({ artifactsDir: empty, branch: BRANCH, arch: hostArch(), components: ['cri-o'] }), /field commitTime must be a number/);
  });
});

/**
 * The pieces the packages are made of, checked one by one: CRI-O configuration drop-ins, systemd
 * unit rewriting, man page titles, maintainer scripts (sh -n), CNI and crictl configuration,
 * dpkg-shlibdeps (the real one), SHA256SUMS (checked by the real sha256sum), ELF reading.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sha256File } from '../../src/core/hash.js';
import { parseSha256Sums, renderSha256Sums, writeSha256Sums } from '../../src/package/checksums.js';
import { readElf, prepareBinary } from '../../src/package/definitions/elf.js';
import { mergeRelations } from '../../src/package/definitions/common.js';
import { CNI_CONFIGS, CRIO_BRIDGE_CONF, LOOPBACK_CONF } from '../../src/package/files/cni.js';
import { CRICTL_YAML, crictlYamlProblem } from '../../src/package/files/crictl.js';
import {
  applySettingsToCrioConf,
  branchPauseTag,
  checkPauseImage,
  crioDropIns,
  crioSettings,
  defaultPauseImage,
  defaultSettings,
  setCrioConfValue,
  supportsDropIns,
  supportsRegistriesOption,
  tableOf,
} from '../../src/package/files/crio-config.js';
import { changelogDate, changelogText, gzip9n, lintianOverrides } from '../../src/package/files/docs.js';
import { serviceScripts } from '../../src/package/files/maintainer-scripts.js';
import { fixManTitle } from '../../src/package/files/manpages.js';
import { rewriteUnitPaths, wantedBy } from '../../src/package/files/systemd.js';
import { computeShlibsDepends, parseShlibdepsOutput, SHLIBS_CONTROL, shlibdepsCommand } from '../../src/build/shlibs.js';
import { gunzipSync } from 'node:zlib';
import { hostArch, mustRun, run, tempDir } from './helpers.js';

const CRIO_CONF_118 = `[crio]
root = "/var/lib/containers/storage"

[crio.api]
listen = "/var/run/crio/crio.sock"

[crio.runtime]
conmon = "/usr/libexec/crio/conmon"
cgroup_manager = "systemd"
log_level = "error"

[crio.runtime.runtimes.runc]
runtime_path = ""

[crio.image]
pause_image = "k8s.gcr.io/pause:3.2"
`;

describe('CRI-O configuration', () => {
  test('drop-ins: our settings in the tables crio.conf uses; the pause image only when given', () => {
    const [main, ...rest] = crioDropIns(defaultSettings(), CRIO_CONF_118);
    assert.equal(rest.length, 0);
    assert.equal(main?.[0], '01-crio-build.conf');
    const text = main?.[1] ?? '';
    assert.match(text, /^\[crio\.runtime\]\n(#.*\n)?cgroup_manager = "systemd"\n(#.*\n)?conmon = "\/usr\/libexec\/crio\/conmon"\nlog_level = "info"\n/m);
    assert.doesNotMatch(text, /pause_image/);
    assert.equal(text.match(/^\[/gm)?.length, 1, 'one table');

    const withPause = crioDropIns(defaultSettings('registry.example.org:5000/google_containers/pause:3.2'), CRIO_CONF_118);
    assert.equal(withPause.length, 2);
    assert.equal(withPause[1]?.[0], '02-crio-build-pause-image.conf');
    assert.match(withPause[1]?.[1] ?? '', /^\[crio\.image\]\n#.*\npause_image = "registry\.example\.org:5000\/google_containers\/pause:3\.2"\n/m);
  });

  test('a key found in another table of crio.conf is set there', () => {
    const moved = CRIO_CONF_118.replace('log_level = "error"\n', '').replace('[crio.api]\n', '[crio.api]\n# log_level = "error"\n');
    assert.equal(tableOf(moved, 'log_level'), 'crio.api');
    assert.equal(tableOf(undefined, 'pause_image'), 'crio.image');
    const [[, text] = ['', '']] = crioDropIns(defaultSettings(), moved);
    assert.match(text, /\[crio\.runtime\]\n[^[]*cgroup_manager[^[]*\n\[crio\.api\]\nlog_level = "info"\n/);
  });

  test('pause images that could break out of the TOML string are refused', () => {
    for (const ok of ['k8s.gcr.io/pause:3.2', 'pause:3.1', 'registry.cn-hangzhou.aliyuncs.com/google_containers/pause:3.2', `r.io/p@sha256:${'a'.repeat(64)}`]) checkPauseImage(ok);
    for (const bad of ['', 'k8s.gcr.io/pause:3.2"\nconmon = "/x', 'a b', 'k8s.gcr.io//pause', '../../etc', 'x'.repeat(300), 'pause:3.2 ']) {
      assert.throws(() => checkPauseImage(bad), /not an image reference/, JSON.stringify(bad));
    }
  });

  test('drop-in support by version (cri-o#3123 in 1.18, backported to 1.17.1)', () => {
    for (const v of ['1.18.0', '1.18.1+git20200601120000.abcdef1', '1.19.0~dev+git20200601120000.1234567', '1.17.1', '2.0.0']) assert.ok(supportsDropIns(v), v);
    for (const v of ['1.17.0', '1.16.6', '1.13.0']) assert.ok(!supportsDropIns(v), v);
  });

  test('the default pause image: the branch\'s own tag, moved from k8s.gcr.io to registry.k8s.io', () => {
    assert.equal(defaultPauseImage('1.18.6', CRIO_CONF_118), 'registry.k8s.io/pause:3.2');
    // What each branch's crio prints (the notes: 1.13 to 1.17 pause:3.1, 1.18 pause:3.2, main 3.10.1).
    assert.equal(defaultPauseImage('1.16.6', CRIO_CONF_118.replace('pause:3.2', 'pause:3.1')), 'registry.k8s.io/pause:3.1');
    assert.equal(defaultPauseImage('1.37.0', CRIO_CONF_118.replace('k8s.gcr.io/pause:3.2', 'registry.k8s.io/pause:3.10.1')), 'registry.k8s.io/pause:3.10.1');
    // A commented default is not taken; without one the branch's tag is used.
    assert.equal(defaultPauseImage('1.17.5', CRIO_CONF_118.replace('pause_image', '# pause_image')), 'registry.k8s.io/pause:3.1');
    for (const [v, tag] of [['1.13.12', '3.1'], ['1.14.0', '3.1'], ['1.15.4', '3.1'], ['1.16.6', '3.1'], ['1.17.5', '3.1'], ['1.18.0', '3.2'], ['1.18.6', '3.2'], ['1.37.0', '3.10.1']] as const) {
      assert.equal(branchPauseTag(v), tag, v);
      assert.equal(defaultPauseImage(v), `registry.k8s.io/pause:${tag}`);
    }
    const def = crioSettings({ criOVersion: '1.18.6', crioConf: CRIO_CONF_118 });
    assert.equal(def.pauseImage, 'registry.k8s.io/pause:3.2');
    assert.equal(def.pauseImageFrom, 'default');
    const [, pause] = crioDropIns(def, CRIO_CONF_118);
    assert.equal(pause?.[0], '02-crio-build-pause-image.conf');
    assert.match(pause?.[1] ?? '', /^\[crio\.image\]\n# This crio's own pause tag, from registry\.k8s\.io \(k8s\.gcr\.io no longer serves new pulls\): a multi-arch manifest list\.\npause_image = "registry\.k8s\.io\/pause:3\.2"\n/m);
    // --pause-image still sets the site's own.
    const site = crioSettings({ criOVersion: '1.18.6', crioConf: CRIO_CONF_118, pauseImage: 'registry.example.org/pause:3.2' });
    assert.equal(site.pauseImage, 'registry.example.org/pause:3.2');
    assert.match(crioDropIns(site, CRIO_CONF_118)[1]?.[1] ?? '', /^# Set when these packages were built \(crio-build --pause-image\)\.\npause_image = "registry\.example\.org\/pause:3\.2"$/m);
  });

  test('search registries for unqualified names where crio has the option (1.13 to 1.20)', () => {
    for (const v of ['1.13.12', '1.17.5', '1.18.6', '1.20.0']) assert.ok(supportsRegistriesOption(v), v);
    for (const v of ['1.21.0', '1.37.0']) assert.ok(!supportsRegistriesOption(v), v);
    const s118 = crioSettings({ criOVersion: '1.18.6', crioConf: CRIO_CONF_118 });
    assert.deepEqual(s118.registries, ['docker.io']);
    const [[, main] = ['', '']] = crioDropIns(s118, CRIO_CONF_118);
    assert.match(main, /^\[crio\.image\]\n#.*\nregistries = \["docker\.io"\]\n/m);
    assert.equal(crioSettings({ criOVersion: '1.37.0' }).registries, undefined);
    // Written into crio.conf over the commented multi-line default of 1.13 to 1.18 ...
    const old = `[crio.image]\n#insecure_registries = ""\n# List of registries\n#registries = [\n# \t"quay.io",\n# ]\n\n[crio.network]\n`;
    const out = applySettingsToCrioConf(old, crioSettings({ criOVersion: '1.16.6', crioConf: old }));
    assert.match(out, /\n#insecure_registries = ""\n# List of registries\nregistries = \["docker\.io"\]\n# \t"quay\.io",\n# \]\n\n\[crio\.network\]/);
    assert.equal(out.match(/registries = /g)?.length, 2, 'insecure_registries is left alone');
    // ... and over an uncommented multi-line array, up to its closing bracket.
    assert.equal(setCrioConfValue('[crio.image]\nregistries = [\n  "quay.io",\n  "docker.io",\n]\nx = "1"\n', 'crio.image', 'registries', ['docker.io']), '[crio.image]\nregistries = ["docker.io"]\nx = "1"\n');
    assert.throws(() => setCrioConfValue('[a]\n', 'a', 'registries', ['x"y']), /cannot go into crio\.conf/);
  });

  test('older branches get the settings written into crio.conf itself', () => {
    const old = CRIO_CONF_118.replace('cgroup_manager = "systemd"', 'cgroup_manager = "cgroupfs"').replace('log_level = "error"\n', '');
    const out = applySettingsToCrioConf(old, defaultSettings('my.registry/pause:3.1'));
    assert.match(out, /^cgroup_manager = "systemd"$/m);
    assert.match(out, /^conmon = "\/usr\/libexec\/crio\/conmon"$/m);
    assert.match(out, /\[crio\.runtime\]\nlog_level = "info"\n/, 'added below the table header when absent');
    assert.match(out, /^pause_image = "my\.registry\/pause:3\.1"$/m);
    assert.equal(out.match(/^conmon =/gm)?.length, 1);
    // A commented assignment in the right table is replaced; a missing table is appended.
    assert.equal(setCrioConfValue('[a]\n# k = "x"\n[b]\n', 'a', 'k', 'y'), '[a]\nk = "y"\n[b]\n');
    assert.equal(setCrioConfValue('[a]\nk = "x"\n', 'b', 'k', 'y'), '[a]\nk = "x"\n\n[b]\nk = "y"\n');
  });
});

describe('files shipped as they are', () => {
  test('CNI configurations: valid JSON, 1.18-era contents, names that let flannel sort first', () => {
    const bridge = JSON.parse(CRIO_BRIDGE_CONF) as Record<string, unknown>;
    assert.equal(bridge.name, 'crio-bridge');
    assert.equal(bridge.type, 'bridge');
    assert.deepEqual((bridge.ipam as { ranges: unknown }).ranges, [[{ subnet: '10.88.0.0/16' }], [{ subnet: '1100:200::/24' }]]);
    assert.deepEqual(JSON.parse(LOOPBACK_CONF), { cniVersion: '0.3.1', type: 'loopback' });
    assert.equal(Buffer.byteLength(LOOPBACK_CONF), 54);
    const names = [...CNI_CONFIGS.map(([n]) => n), '10-flannel.conflist'].sort();
    assert.equal(names[0], '10-flannel.conflist');
  });

  test('crictl.yaml points at CRI-O', () => {
    assert.match(CRICTL_YAML, /^runtime-endpoint: unix:\/\/\/var\/run\/crio\/crio\.sock$/m);
    assert.equal(crictlYamlProblem(CRICTL_YAML), undefined);
    assert.match(crictlYamlProblem('runtime-endpoint: unix:///run/containerd/containerd.sock\n') ?? '', /containerd/);
  });

  test('systemd units: /usr/local/bin becomes /usr/bin in Exec lines only', () => {
    const unit = `[Unit]\nDescription=x /usr/local/bin/crio\n\n[Service]\nExecStart=/usr/local/bin/crio \\\n          $OPTS \\\n          /usr/local/bin/y\nExecReload=/bin/kill -s HUP $MAINPID\nEnvironment=P=/usr/local/bin/z\n\n[Install]\nWantedBy=multi-user.target other.target\n`;
    const out = rewriteUnitPaths(unit);
    assert.match(out, /^ExecStart=\/usr\/bin\/crio \\$/m);
    assert.match(out, /^ {10}\/usr\/bin\/y$/m);
    assert.match(out, /^Description=x \/usr\/local\/bin\/crio$/m);
    assert.match(out, /^Environment=P=\/usr\/local\/bin\/z$/m);
    assert.deepEqual(wantedBy(out), ['multi-user.target', 'other.target']);
  });

  test('man page titles go-md2man mangles are rewritten; others are left alone', () => {
    const page = '.nh\n.TH crio(8) Open Container Initiative Daemon\n\n.SH NAME\n';
    assert.equal(fixManTitle(page, 'cri-o 1.18.1'), '.nh\n.TH "crio" "8" "" "cri-o 1.18.1" "Open Container Initiative Daemon"\n\n.SH NAME\n');
    const good = '.TH CRIO 8 "2020" "cri-o" "Manual"\n';
    assert.equal(fixManTitle(good, 'x'), good);
  });

  test('changelog and gzip -9n: deterministic, maximum compression, no timestamp', () => {
    assert.equal(changelogDate(1590494400), 'Tue, 26 May 2020 12:00:00 +0000');
    const text = changelogText({ pkg: 'cri-o', version: '100:1.18.1-1', changes: ['word '.repeat(40).trim()], maintainer: 'A B <a@b.example>', date: 1590494400 });
    assert.match(text, /^cri-o \(100:1\.18\.1-1\) unstable; urgency=medium\n\n {2}\* word/);
    for (const line of text.split('\n')) assert.ok(line.length <= 80, line);
    assert.match(text, /\n -- A B <a@b\.example> {2}Tue, 26 May 2020 12:00:00 \+0000\n$/);
    const gz = gzip9n(text);
    assert.equal(gz.readUInt32LE(4), 0, 'mtime 0');
    assert.equal(gz[3], 0, 'no FNAME');
    assert.equal(gz[8], 2, 'XFL: maximum compression');
    assert.equal(gunzipSync(gz).toString(), text);
    assert.deepEqual(gzip9n(text), gzip9n(text));
  });

  test('lintian overrides: each with its reason as a comment', () => {
    const text = lintianOverrides('cri-o', [{ tag: 'no-manual-page', context: '[usr/bin/pinns]', reason: 'because' }]);
    assert.equal(text, '# because\ncri-o: no-manual-page [usr/bin/pinns]\n');
  });

  test('relations: shlibs first, then ours, no duplicates', () => {
    assert.deepEqual(mergeRelations('libc6 (>= 2.34),  libseccomp2 (>= 2.3.0)', ['libc6 (>= 2.34)', 'runc | crun']), ['libc6 (>= 2.34)', 'libseccomp2 (>= 2.3.0)', 'runc | crun']);
    assert.deepEqual(mergeRelations(''), []);
  });
});

describe('maintainer scripts', () => {
  const scripts = serviceScripts({ pkg: 'cri-o', unit: 'crio.service', unitDir: '/lib/systemd/system', wantedBy: ['multi-user.target'] });

  test('POSIX sh syntax (sh -n and dash -n)', async () => {
    const dir = await tempDir('crio-build-scripts-');
    for (const [name, body] of Object.entries(scripts)) {
      const p = join(dir, name);
      await writeFile(p, body, { mode: 0o755 });
      await mustRun('sh', ['-n', p]);
      if ((await run('sh', ['-c', 'command -v dash'])).code === 0) await mustRun('dash', ['-n', p]);
      assert.match(body, /^#!\/bin\/sh\n/);
      assert.match(body, /\nset -e\n/);
      assert.match(body, /\nexit 0\n$/);
    }
  });

  test('enable on first install without starting; systemctl only for daemon-reload', () => {
    const { postinst, prerm, postrm } = scripts;
    assert.match(postinst, /deb-systemd-helper enable crio\.service/);
    assert.match(postinst, /ln -s "\/lib\/systemd\/system\/crio\.service" "\/etc\/systemd\/system\/multi-user\.target\.wants\/crio\.service"/);
    for (const s of [postinst, prerm, postrm]) {
      assert.doesNotMatch(s, /deb-systemd-invoke (start|restart) /, 'never starts the service');
      for (const line of s.split('\n').filter((l) => /^\s*systemctl\b/.test(l))) assert.match(line, /daemon-reload/);
      // Every call that needs a running systemd is guarded by /run/systemd/system.
      assert.ok(!/systemctl/.test(s) || /\[ -d \/run\/systemd\/system \]/.test(s));
    }
    assert.match(postinst, /try-restart crio\.service/);
    assert.match(prerm, /\[ "\$1" = "remove" \][^\n]*\n\tdeb-systemd-invoke stop crio\.service/);
    assert.match(postrm, /deb-systemd-helper purge crio\.service/);
    assert.match(postrm, /readlink "\/etc\/systemd\/system\/multi-user\.target\.wants\/crio\.service"/);
  });

  test('the first installation prints the message (crio-preflight); upgrades do not', async () => {
    const withMessage = serviceScripts({ pkg: 'cri-o', unit: 'crio.service', unitDir: '/lib/systemd/system', wantedBy: ['multi-user.target'], firstInstallMessage: ['Run crio-preflight:', 'it says what is missing.'] });
    assert.match(withMessage.postinst, /\tif \[ "\$1" = "configure" \] && \[ -z "\$2" \]; then\n\t\techo 'Run crio-preflight:'\n\t\techo 'it says what is missing\.'\n\tfi\n/);
    // Run just that block (the rest of postinst would enable the unit on this machine).
    const block = /\tif \[ "\$1" = "configure" \] && \[ -z "\$2" \]; then\n[\s\S]*?\n\tfi\n/.exec(withMessage.postinst)?.[0] ?? '';
    const first = await run('sh', ['-ec', block, 'postinst', 'configure', '']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'Run crio-preflight:\nit says what is missing.\n');
    const upgrade = await run('sh', ['-ec', block, 'postinst', 'configure', '100:1.18.1-1']);
    assert.equal(upgrade.stdout, '');
    assert.throws(() => serviceScripts({ pkg: 'x', unit: 'a.service', unitDir: '/lib/systemd/system', wantedBy: [], firstInstallMessage: ["it's"] }), /cannot go into the script/);
  });

  test('unit and target names are checked before they reach a script', () => {
    assert.throws(() => serviceScripts({ pkg: 'x', unit: 'a;rm -rf /.service', unitDir: '/lib/systemd/system', wantedBy: [] }), /bad unit name/);
    assert.throws(() => serviceScripts({ pkg: 'x', unit: 'a.service', unitDir: '/lib/systemd/system', wantedBy: ['$(x).target'] }), /bad WantedBy/);
  });
});

describe('dpkg-shlibdeps', () => {
  test('the exact argv, shell-free, and the control file it needs', () => {
    const cmd = shlibdepsCommand(['/out/bin/crio', '/out/bin/pinns'], { hostArch: 'arm64' });
    assert.deepEqual(cmd.argv, ['dpkg-shlibdeps', '-O', '-e/out/bin/crio', '-e/out/bin/pinns']);
    assert.deepEqual(cmd.env, { LC_ALL: 'C', DEB_HOST_ARCH: 'arm64' });
    assert.deepEqual(cmd.files, { 'debian/control': SHLIBS_CONTROL });
    assert.throws(() => shlibdepsCommand(['bin/crio']), /absolute/);
    assert.throws(() => shlibdepsCommand([]), /no binaries/);
    assert.throws(() => shlibdepsCommand(['/x'], { hostArch: 'arm64; rm' }), /not a Debian architecture/);
    assert.equal(parseShlibdepsOutput('shlibs:Depends=libc6 (>= 2.34), libseccomp2 (>= 2.3.0)\n'), 'libc6 (>= 2.34), libseccomp2 (>= 2.3.0)');
    assert.equal(parseShlibdepsOutput('misc:Foo=bar\n'), '');
  });

  test('real dpkg-shlibdeps on this machine\'s binaries', async () => {
    const ls = await computeShlibsDepends(['/bin/ls']);
    assert.match(ls, /^libc6 \(>= [\d.]+\)/);
    assert.match(ls, /libselinux1/);
    // A static binary needs nothing (ldconfig is static on Debian).
    assert.equal(await computeShlibsDepends(['/sbin/ldconfig']), '');
  });
});

describe('SHA256SUMS', () => {
  test('sorted, sha256sum -c accepts it, and it parses back', async () => {
    const dir = await tempDir('crio-build-sums-');
    await writeFile(join(dir, 'b.deb'), 'bbb');
    await writeFile(join(dir, 'a+b.tar.gz'), 'aaa');
    const entries = [
      { file: 'b.deb', sha256: await sha256File(join(dir, 'b.deb')) },
      { file: 'a+b.tar.gz', sha256: await sha256File(join(dir, 'a+b.tar.gz')) },
    ];
    const path = await writeSha256Sums(dir, entries);
    const r = await mustRun('sha256sum', ['-c', path], { cwd: dir });
    assert.equal(r.stdout, 'a+b.tar.gz: OK\nb.deb: OK\n');
    assert.deepEqual(parseSha256Sums(renderSha256Sums(entries)).map((e) => e.file), ['a+b.tar.gz', 'b.deb']);
    assert.throws(() => renderSha256Sums([{ file: '../x', sha256: 'a'.repeat(64) }]), /plain file name/);
    assert.throws(() => renderSha256Sums([{ file: 'x', sha256: 'A'.repeat(64) }]), /sha256/);
    assert.throws(() => renderSha256Sums([entries[0]!, entries[0]!]), /twice/);
  });
});

describe('ELF checks', () => {
  test('machine, linking and symbols are read like lintian reads them', async () => {
    const ls = await readElf('/bin/ls');
    assert.ok(ls);
    assert.equal(ls.machine, hostArch() === 'amd64' ? 62 : 183);
    assert.equal(ls.dynamic, true);
    assert.equal(ls.pie, true);
    assert.equal(ls.relro, true);
    assert.equal(ls.hasSymtab, false);
    assert.equal((await readElf('/sbin/ldconfig'))?.dynamic, false);
    const dir = await tempDir('crio-build-elf-');
    await writeFile(join(dir, 'script'), '#!/bin/sh\n');
    assert.equal(await readElf(join(dir, 'script')), undefined);
  });

  test('a binary of the wrong architecture is refused', async () => {
    const other = hostArch() === 'amd64' ? 'arm64' : 'amd64';
    await assert.rejects(prepareBinary('/bin/ls', other, await tempDir('crio-build-elf-'), () => {}), /is built for .* but the packages are for/);
    await assert.rejects(prepareBinary('/etc/hostname', hostArch(), await tempDir('crio-build-elf-'), () => {}), /not an ELF/);
  });
});

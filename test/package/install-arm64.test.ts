/**
 * The packages on a Debian bookworm arm64 system, in containers under qemu: arm64 builds of the
 * miniature upstreams (made in an arm64 container, dpkg-shlibdeps run there as the builder would),
 * packaged by the stage, served as a local apt repository next to Debian's own archive.
 *
 *   - apt-cache policy: our containernetworking-plugins wins over Debian's higher-numbered one; our
 *     cri-o-conmon leaves Debian's conmon the candidate of its own name (podman needs that one);
 *   - apt-get install cri-o on a minimal system (no systemd, no init-system-helpers): dependencies
 *     resolve, binaries run, crio finds our conmon in /usr/libexec/crio, the service is enabled (links) but not started;
 *   - upgrade to a newer build keeps a modified conffile; remove keeps conffiles; purge removes them;
 *   - with systemd installed (not running): deb-systemd-helper enables the unit, systemctl sees it,
 *     systemd-analyze verify accepts the installed units, purge cleans up.
 *
 * Needs a Docker engine (/var/run/docker.sock), qemu-user-static with binfmt for aarch64 when the
 * host is not arm64, and the Debian mirror (first run only: images and downloads are cached).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { debVersion } from '../../src/plan/naming.js';
import { packageAll, type PackageStageResult } from '../../src/package/package-all.js';
import { BRANCH, Container, fixtureBuilds, KUBERNETES, mustRun, run, targetImage, tempDir, type FixtureBuilds } from './helpers.js';

const ARCH = 'arm64' as const;
const PAUSE = 'registry.example.org/google_containers/pause:3.2';
const SOURCES = '/etc/apt/sources.list.d/crio-build.list';
/** apt-get update of our repository only; Debian's lists in the image stay as they are. */
const UPDATE_OURS = ['apt-get', 'update', '-o', `Dir::Etc::SourceList=${SOURCES}`, '-o', 'Dir::Etc::SourceParts=-', '-o', 'APT::Get::List-Cleanup=0'];
// Without Debian's Recommends (runc recommends criu, which brings python3: minutes under qemu);
// our own Recommends are checked with a simulated install instead.
const APT_INSTALL = ['apt-get', 'install', '-y', '--no-install-recommends', '-o', 'Acquire::Retries=3'];
const WANTS_LINK = '/etc/systemd/system/multi-user.target.wants/crio.service';

async function skipReason(): Promise<string | undefined> {
  if (process.env.CRIO_BUILD_SKIP_DOCKER_TESTS === '1') return 'CRIO_BUILD_SKIP_DOCKER_TESTS=1';
  return undefined;
}

/** Copies debs into the repository directory and (re)writes its Packages index. */
async function publish(repo: string, debs: string[]): Promise<void> {
  for (const d of debs) await copyFile(d, join(repo, d.split('/').pop() as string));
  const r = await mustRun('dpkg-scanpackages', ['-m', '.', '/dev/null'], { cwd: repo });
  await writeFile(join(repo, 'Packages'), r.stdout);
}

function policy(text: string): { installed: string; candidate: string; table: string } {
  return {
    installed: /^\s*Installed:\s*(\S+)$/m.exec(text)?.[1] ?? '',
    candidate: /^\s*Candidate:\s*(\S+)$/m.exec(text)?.[1] ?? '',
    table: text.slice(text.indexOf('Version table:')),
  };
}

describe('arm64: install, run, upgrade, remove and purge in Debian bookworm under qemu', async () => {
  const skip = await skipReason();
  let builds: FixtureBuilds;
  let previous: PackageStageResult;
  let current: PackageStageResult;
  let repo: string;
  let image: string;
  const containers: Container[] = [];

  before(async () => {
    if (skip) return;
    const binfmt = await run('sh', ['-c', 'cat /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null | head -1']);
    if (process.arch !== 'arm64') {
      assert.equal(binfmt.stdout.trim(), 'enabled', 'qemu binfmt for aarch64 is not enabled: apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64');
    }
    [builds, image] = await Promise.all([fixtureBuilds(ARCH), targetImage(ARCH)]);
    const out = await tempDir('crio-build-arm64-debs-');
    previous = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: ARCH, components: builds.previous.components, outDir: join(out, 'previous'), pauseImage: PAUSE });
    current = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: ARCH, components: builds.current.components, outDir: join(out, 'current'), pauseImage: PAUSE });
    repo = join(out, 'repo');
    await mkdir(repo);
    await publish(repo, previous.debs.map((d) => d.path));
  });

  after(async () => {
    for (const c of containers) await c.remove();
  });

  test('the arm64 packages: Depends from dpkg-shlibdeps run in an arm64 container; lintian has no E: or W:', { skip }, async () => {
    const warnings = [...previous.warnings, ...current.warnings];
    assert.deepEqual(warnings, [], 'binaries stripped (needs binutils-aarch64-linux-gnu on an amd64 host)');
    const crioDeb = current.debs[0]?.path as string;
    assert.equal((await mustRun('dpkg-deb', ['--field', crioDeb, 'Architecture'])).stdout.trim(), 'arm64');
    assert.match((await mustRun('dpkg-deb', ['--field', crioDeb, 'Depends'])).stdout, /^libc6 \(>= [\d.]+\), libseccomp2 \(>= [\d.]+\), cri-o-conmon \(>= 100:2\.0\.11-1\)/);
    assert.match((await mustRun('dpkg-deb', ['--field', current.debs[1]?.path as string, 'Depends'])).stdout, /libglib2\.0-0 \(>= [\d.]+\)/);
    const r = await run('lintian', ['--show-overrides', '--no-tag-display-limit', ...current.debs.map((d) => d.path)]);
    const bad = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
    assert.deepEqual(bad, [], r.stdout + r.stderr);
  });

  async function minimalSystem(): Promise<Container> {
    const c = await Container.start(image, ARCH, [[repo, '/repo']]);
    containers.push(c);
    await c.sh(`echo 'deb [trusted=yes] file:/repo ./' > ${SOURCES}`);
    await c.must(UPDATE_OURS);
    return c;
  }

  describe('a minimal system: no systemd, no init-system-helpers', { skip }, () => {
    let c: Container;
    before(async () => {
      c = await minimalSystem();
      assert.equal((await c.must(['uname', '-m'])).stdout.trim(), 'aarch64');
      // bookworm marks init-system-helpers Essential, but older Debian, Ubuntu and Raspberry Pi OS
      // releases do not, and a stripped container may lack it: the scripts must cope.
      await c.must(['dpkg', '--remove', '--force-remove-essential', '--force-depends', 'init-system-helpers']);
      assert.notEqual((await c.exec(['sh', '-c', 'command -v deb-systemd-helper'])).code, 0);
      assert.notEqual((await c.exec(['sh', '-c', 'command -v systemctl'])).code, 0);
    });

    test('apt-cache policy: our containernetworking-plugins is the candidate over Debian\'s; Debian\'s conmon stays the candidate of its name', async () => {
      for (const [pkg, ours] of [['containernetworking-plugins', '0.8.1']] as const) {
        const p = policy((await c.must(['apt-cache', 'policy', pkg])).stdout);
        assert.equal(p.candidate, debVersion(ours), `${pkg}:\n${p.table}`);
        assert.match(p.table, new RegExp(`${debVersion(ours).replace(/[.+]/g, '\\$&')} 500\\n\\s+500 file:/repo \\./ Packages`), p.table);
        // Debian's own, higher-numbered version is there too, and loses.
        const debian = /^\s+(\S+) 500\n\s+500 http\S*debian\.org\S* bookworm\/main arm64 Packages$/m.exec(p.table)?.[1];
        assert.ok(debian, `Debian's ${pkg} is in the version table:\n${p.table}`);
        assert.ok((await mustRun('dpkg', ['--compare-versions', debian, 'lt', debVersion(ours)])).code === 0);
      }
      assert.equal(policy((await c.must(['apt-cache', 'policy', 'cri-o'])).stdout).candidate, previous.debs[0]?.version);
      // Ours is cri-o-conmon: the name conmon is only Debian's (2.1.x, which podman needs).
      const conmon = policy((await c.must(['apt-cache', 'policy', 'conmon'])).stdout);
      assert.match(conmon.candidate, /^2\.\d+\.\d+/, conmon.table);
      assert.doesNotMatch(conmon.table, /file:\/repo/, conmon.table);
      assert.equal(policy((await c.must(['apt-cache', 'policy', 'cri-o-conmon'])).stdout).candidate, debVersion('2.0.11'));
    });

    test('apt-get install cri-o pulls our cri-o-conmon, CNI plugins, cri-tools and Debian\'s runc', async () => {
      // What apt would do with Recommends on (the default): our cri-tools comes along.
      const plan = (await c.must(['apt-get', 'install', '-s', 'cri-o'])).stdout;
      for (const [pkg, v] of [['cri-o', previous.debs[0]?.version], ['cri-o-conmon', debVersion('2.0.11')], ['containernetworking-plugins', debVersion('0.8.1')], ['cri-tools', debVersion('1.18.0')]] as const) {
        assert.match(plan, new RegExp(`^Inst ${pkg} \\(${(v as string).replace(/[.+]/g, '\\$&')} `, 'm'), plan);
      }
      assert.match(plan, /^Inst runc \((?!100:)/m, plan);
      assert.doesNotMatch(plan, /^Inst conmon /m, 'Debian\'s conmon is not needed by cri-o');
      const r = await c.must([...APT_INSTALL, 'cri-o', 'cri-tools']);
      assert.doesNotMatch(r.stdout + r.stderr, /dpkg: error|Errors were encountered/);
      const versions = Object.fromEntries(
        (await c.must(['dpkg-query', '-W', '-f', '${Package} ${Version} ${db:Status-Abbrev}\n', 'cri-o', 'cri-o-conmon', 'containernetworking-plugins', 'cri-tools', 'runc'])).stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string, string])
          .map(([p, v, s]) => [p, `${v} ${s}`]),
      );
      assert.deepEqual(versions, {
        'cri-o': `${previous.debs[0]?.version} ii`,
        'cri-o-conmon': `${debVersion('2.0.11')} ii`,
        'containernetworking-plugins': `${debVersion('0.8.1')} ii`,
        'cri-tools': `${debVersion('1.18.0')} ii`,
        runc: `${versions.runc?.split(' ')[0]} ii`,
      });
      assert.ok(!versions.runc?.startsWith('100:'), 'runc comes from Debian');
      assert.equal(policy((await c.must(['apt-cache', 'policy', 'cri-o-conmon'])).stdout).installed, debVersion('2.0.11'));
      assert.notEqual((await c.exec(['test', '-e', '/usr/bin/conmon'])).code, 0, 'nothing of ours in /usr/bin/conmon');
    });

    test('the arm64 binaries run; crio reads our drop-ins and finds our conmon in /usr/libexec/crio', async () => {
      assert.match((await c.must(['crio', '--version'])).stdout, /^Version:\s+1\.18\.1$/m);
      const json = JSON.parse((await c.must(['crio', 'version', '--json'])).stdout) as Record<string, string>;
      assert.equal(json.gitCommit, builds.previous.components.find((x) => x.name === 'cri-o')?.commit);
      assert.equal(json.platform, 'linux/arm64');
      assert.equal((await c.must(['crio-status', '--version'])).stdout, 'crio-status version 1.18.1\n');
      assert.match((await c.must(['/usr/libexec/crio/conmon', '--version'])).stdout, /^conmon version 2\.0\.11\n/);
      assert.equal((await c.must(['crictl', '--version'])).stdout, 'crictl version 1.18.0\n');
      const bridge = await c.must(['/opt/cni/bin/bridge'], { CNI_COMMAND: 'VERSION' });
      assert.equal((JSON.parse(bridge.stdout) as { cniVersion: string }).cniVersion, '0.4.0');
      const pinns = await c.exec(['pinns']);
      assert.match(pinns.stderr, /Path for pinning namespaces not specified/);
      // The effective configuration: /etc/crio/crio.conf, then /etc/crio/crio.conf.d/*.
      const config = (await c.must(['crio', 'config'])).stdout;
      assert.match(config, /^conmon = "\/usr\/libexec\/crio\/conmon"$/m);
      assert.match(config, /^cgroup_manager = "systemd"$/m);
      assert.match(config, /^log_level = "info"$/m);
      assert.match(config, new RegExp(`^pause_image = "${PAUSE.replace(/[./]/g, '\\$&')}"$`, 'm'));
      await c.must(['test', '-x', '/usr/libexec/crio/conmon']);
      await c.must(['grep', '-qx', 'runtime-endpoint: unix:///var/run/crio/crio.sock', '/etc/crictl.yaml']);
    });

    test('the service is enabled but not started; nothing failed without systemd', async () => {
      assert.equal((await c.must(['readlink', WANTS_LINK])).stdout.trim(), '/lib/systemd/system/crio.service');
      assert.equal((await c.must(['readlink', '/lib/systemd/system/cri-o.service'])).stdout.trim(), 'crio.service');
      const procs = (await c.must(['sh', '-c', 'cat /proc/[0-9]*/comm 2>/dev/null'])).stdout.split('\n');
      assert.ok(!procs.includes('crio'), 'crio was not started');
    });

    test('upgrade to a newer build keeps a modified conffile', async () => {
      const oldConf = await readFile(join(builds.previous.components[0]?.outDir as string, 'crio.conf'), 'utf8');
      const newConf = await readFile(join(builds.current.components[0]?.outDir as string, 'crio.conf'), 'utf8');
      await c.sh('echo "# changed by the administrator" >> /etc/crio/crio.conf && echo "[crio.runtime]" > /etc/crio/crio.conf.d/99-local.conf');
      await publish(repo, current.debs.map((d) => d.path));
      await c.must(UPDATE_OURS);
      assert.equal(policy((await c.must(['apt-cache', 'policy', 'cri-o'])).stdout).candidate, current.debs[0]?.version);
      // When the shipped crio.conf changed too, dpkg would ask; keep ours as unattended upgrades do.
      const keep = oldConf === newConf ? [] : ['-o', 'Dpkg::Options::=--force-confold'];
      await c.must([...APT_INSTALL, ...keep, '--only-upgrade', 'cri-o']);
      assert.equal((await c.must(['dpkg-query', '-W', '-f', '${Version}', 'cri-o'])).stdout, current.debs[0]?.version);
      assert.equal((await c.must(['tail', '-n', '1', '/etc/crio/crio.conf'])).stdout.trim(), '# changed by the administrator');
      assert.notEqual((await c.exec(['test', '-e', '/etc/crio/crio.conf.dpkg-new'])).code, 0);
      await c.must(['test', '-f', '/etc/crio/crio.conf.d/99-local.conf']);
      const json = JSON.parse((await c.must(['crio', 'version', '--json'])).stdout) as Record<string, string>;
      assert.equal(json.gitCommit, builds.current.components.find((x) => x.name === 'cri-o')?.commit, 'the new crio is installed');
      // Still enabled, not started.
      assert.equal((await c.must(['readlink', WANTS_LINK])).stdout.trim(), '/lib/systemd/system/crio.service');
    });

    test('remove keeps the conffiles; purge removes them and the enable links', async () => {
      await c.must(['apt-get', 'remove', '-y', 'cri-o']);
      await c.must(['test', '!', '-e', '/usr/bin/crio']);
      assert.equal((await c.must(['dpkg-query', '-W', '-f', '${db:Status-Abbrev}', 'cri-o'])).stdout.trim(), 'rc');
      assert.match((await c.must(['cat', '/etc/crio/crio.conf'])).stdout, /# changed by the administrator/);
      await c.must(['test', '-f', '/etc/crictl.yaml']);
      await c.must(['test', '-f', '/etc/cni/net.d/100-crio-bridge.conf']);
      await c.must(['dpkg', '--purge', 'cri-o']);
      for (const gone of ['/etc/crio/crio.conf', '/etc/crio/crio.conf.d/01-crio-build.conf', '/etc/crictl.yaml', '/etc/cni/net.d/100-crio-bridge.conf', '/etc/cni/net.d/200-loopback.conf', WANTS_LINK]) {
        assert.notEqual((await c.exec(['test', '-e', gone])).code, 0, `${gone} is gone after purge`);
      }
      // The administrator's own drop-in is not ours to delete.
      await c.must(['test', '-f', '/etc/crio/crio.conf.d/99-local.conf']);
      const status = await c.exec(['dpkg-query', '-W', '-f', '${db:Status-Abbrev}', 'cri-o']);
      assert.ok(status.code !== 0 || /^[up]n/.test(status.stdout.trim()), `cri-o is not known to dpkg any more: ${status.stdout}`);
      // The other packages stay installed and working.
      await c.must(['/usr/libexec/crio/conmon', '--version']);
    });
  });

  describe('with systemd installed but not running (a container)', { skip }, () => {
    let c: Container;
    before(async () => {
      c = await minimalSystem();
      await publish(repo, current.debs.map((d) => d.path));
      await c.must(UPDATE_OURS);
      await c.must([...APT_INSTALL, 'systemd']);
      await c.must(['test', '!', '-d', '/run/systemd/system']);
    });

    test('deb-systemd-helper enables crio.service; systemctl reports it enabled', async () => {
      await c.must([...APT_INSTALL, 'cri-o']);
      assert.equal((await c.must(['readlink', WANTS_LINK])).stdout.trim(), '/lib/systemd/system/crio.service');
      assert.equal((await c.exec(['systemctl', 'is-enabled', 'crio.service'])).stdout.trim(), 'enabled');
      assert.equal((await c.exec(['systemctl', 'is-enabled', 'cri-o.service'])).stdout.trim(), 'alias');
      await c.must(['test', '-f', '/var/lib/systemd/deb-systemd-helper-enabled/crio.service.dsh-also']);
    });

    test('systemd-analyze verify accepts the installed units', async () => {
      const r = await c.exec(['systemd-analyze', 'verify', '--man=no', '/lib/systemd/system/crio.service', '/lib/systemd/system/crio-wipe.service', '/lib/systemd/system/crio-shutdown.service']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });

    test('purge disables and forgets the unit', async () => {
      await c.must(['apt-get', 'purge', '-y', 'cri-o']);
      assert.notEqual((await c.exec(['test', '-e', WANTS_LINK])).code, 0);
      assert.notEqual((await c.exec(['test', '-e', '/var/lib/systemd/deb-systemd-helper-enabled/crio.service.dsh-also'])).code, 0);
      assert.notEqual((await c.exec(['test', '-e', '/etc/systemd/system/crio.service'])).code, 0, 'no mask left behind');
      assert.notEqual((await c.exec(['test', '-e', '/etc/crio/crio.conf'])).code, 0);
    });
  });
});

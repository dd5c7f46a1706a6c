/**
 * crio-preflight, the node check the cri-o package ships, run by the real /bin/sh (dash) against
 * made-up /proc, /sys, /etc and /var/lib/kubelet trees: a Raspberry Pi that is ready, and one for
 * each thing a node can lack (the memory cgroup a Pi kernel disables, a cgroup v2 only host under
 * a 1.18 crio, hugetlb under 1.18.0, the CPU CFS quota, the kubelet's cgroup driver and its
 * accounting drop-in, the image policy, bridge VLAN filtering under CNI plugins 0.8.1). Each case
 * asserts the exit code and the message. shellcheck (Debian's) must find nothing.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { before, describe, test } from 'node:test';
import { bridgeNeedsVlanFiltering, needsHugetlb, preflightManPage, preflightScript, supportsCgroupV2, type PreflightFacts } from '../../src/package/files/preflight.js';
import { run, tempDir } from './helpers.js';

const V1_CONTROLLERS = ['cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event', 'net_prio', 'hugetlb', 'pids'];

interface NodeSpec {
  /** 'v1' (controllers mounted one per directory), 'v2' (unified only). */
  cgroups: 'v1' | 'v2';
  /** Controllers missing from /proc/cgroups' enabled column (v1) or cgroup.controllers (v2), and not mounted. */
  disabled?: string[];
  /** No cpu.cfs_quota_us (v1) / no cpu controller (v2). */
  noCfs?: boolean;
  cmdline?: string;
  kubeletDriver?: string | null; // null: config.yaml without cgroupDriver; undefined: no kubelet at all
  kubeletDropIn?: boolean;
  crioManager?: string;
  policy?: boolean;
  vlanFiltering?: boolean | 'unreadable';
}

const PI_READY: NodeSpec = { cgroups: 'v1', cmdline: 'console=serial0,115200 root=PARTUUID=1-02 rootwait cgroup_enable=memory cgroup_memory=1', kubeletDriver: 'systemd', kubeletDropIn: true, crioManager: 'systemd', policy: true, vlanFiltering: true };

async function put(root: string, rel: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), content);
}

/** A node's /proc, /sys, /etc, /boot and /var/lib/kubelet as crio-preflight reads them. */
async function makeNode(spec: NodeSpec): Promise<string> {
  const root = await tempDir('crio-preflight-node-');
  const off = new Set(spec.disabled ?? []);
  if (spec.cgroups === 'v1') {
    // /proc/cgroups as a Raspberry Pi kernel prints it: memory listed, enabled 0, when disabled.
    const rows = V1_CONTROLLERS.map((c, i) => `${c}\t${off.has(c) ? 0 : i + 1}\t1\t${off.has(c) ? 0 : 1}`);
    await put(root, 'proc/cgroups', `#subsys_name\thierarchy\tnum_cgroups\tenabled\n${rows.join('\n')}\n`);
    for (const c of V1_CONTROLLERS) if (!off.has(c) && c !== 'cpu' && c !== 'cpuacct') await mkdir(join(root, 'sys/fs/cgroup', c), { recursive: true });
    await mkdir(join(root, 'sys/fs/cgroup/cpu,cpuacct'), { recursive: true });
    await mkdir(join(root, 'sys/fs/cgroup/systemd'), { recursive: true });
    if (!spec.noCfs) await put(root, 'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us', '-1\n');
    await put(root, 'sys/fs/cgroup/cpu,cpuacct/cpu.shares', '1024\n');
  } else {
    const controllers = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'].filter((c) => !off.has(c) && !(spec.noCfs && c === 'cpu'));
    await put(root, 'sys/fs/cgroup/cgroup.controllers', `${controllers.join(' ')}\n`);
    await put(root, 'proc/cgroups', `#subsys_name\thierarchy\tnum_cgroups\tenabled\n${V1_CONTROLLERS.map((c) => `${c}\t0\t50\t1`).join('\n')}\n`);
  }
  await put(root, 'proc/cmdline', `${spec.cmdline ?? 'root=/dev/mmcblk0p2 rootwait'}\n`);
  await put(root, 'proc/sys/kernel/osrelease', '6.1.0-rpi7-rpi-v8\n');
  if (spec.vlanFiltering !== 'unreadable') {
    const config = `CONFIG_BRIDGE=m\n${spec.vlanFiltering === false ? '# CONFIG_BRIDGE_VLAN_FILTERING is not set' : 'CONFIG_BRIDGE_VLAN_FILTERING=y'}\nCONFIG_CGROUPS=y\n`;
    await put(root, 'proc/config.gz', gzipSync(config));
  }
  if (spec.policy) await put(root, 'etc/containers/policy.json', '{"default":[{"type":"insecureAcceptAnything"}]}\n');
  await put(root, 'etc/crio/crio.conf', '[crio.runtime]\n# cgroup_manager = "cgroupfs"\ncgroup_manager = "systemd"\n');
  if (spec.crioManager) await put(root, 'etc/crio/crio.conf.d/01-crio-build.conf', `[crio.runtime]\n  cgroup_manager = "${spec.crioManager}"  # the kubelet must match\n`);
  if (spec.kubeletDriver !== undefined) {
    await put(root, 'lib/systemd/system/kubelet.service', '[Service]\nExecStart=/usr/bin/kubelet\n');
    await put(root, 'var/lib/kubelet/config.yaml', `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n${spec.kubeletDriver === null ? '' : `cgroupDriver: ${spec.kubeletDriver}\n`}`);
  }
  if (spec.kubeletDropIn) await put(root, 'etc/systemd/system/kubelet.service.d/11-cgroups.conf', '[Service]\nCPUAccounting=true\nMemoryAccounting=true\n');
  return root;
}

let scriptDir: string;
async function script(facts: PreflightFacts): Promise<string> {
  const path = join(scriptDir, `crio-preflight-${facts.criOVersion}-${facts.cniPluginsVersion ?? 'x'}`);
  await writeFile(path, preflightScript(facts));
  await chmod(path, 0o755);
  return path;
}

const CRIO_118 = { criOVersion: '1.18.6', cgroupManager: 'systemd', cniPluginsVersion: '0.8.1' } as const;

async function preflight(facts: PreflightFacts, node: NodeSpec, args: string[] = []): Promise<{ code: number; out: string; missing: string[] }> {
  const root = await makeNode(node);
  const r = await run('/bin/sh', [await script(facts), '--root', root, ...args], { env: { PATH: '/usr/bin:/bin' } });
  assert.equal(r.stderr, '', r.stderr);
  return { code: r.code, out: r.stdout, missing: r.stdout.split('\n').filter((l) => l.startsWith('MISSING')) };
}

describe('crio-preflight on made-up /proc and /sys trees', () => {
  before(async () => {
    scriptDir = await tempDir('crio-preflight-');
  });

  test('the version facts: cgroup v2 from 1.20, hugetlb for 1.18.0 only, VLAN filtering before CNI v0.8.5', () => {
    for (const v of ['1.13.12', '1.17.5', '1.18.6', '1.19.1', '1.18.1+git20200601120000.abcdef1']) assert.ok(!supportsCgroupV2(v), v);
    for (const v of ['1.20.0', '1.37.0', '1.37.0~dev+git20260821000000.f954a17']) assert.ok(supportsCgroupV2(v), v);
    assert.ok(needsHugetlb('1.18.0'));
    for (const v of ['1.18.1', '1.18.6', '1.17.5']) assert.ok(!needsHugetlb(v), v);
    assert.ok(bridgeNeedsVlanFiltering('0.8.1') && bridgeNeedsVlanFiltering('0.8.4'));
    assert.ok(!bridgeNeedsVlanFiltering('0.8.5') && !bridgeNeedsVlanFiltering('1.1.1'));
  });

  test('shellcheck (POSIX sh) finds nothing in the generated script', async () => {
    // scripts/provision-host.sh installs Debian's shellcheck; without it this test fails, not skips.
    const which = await run('sh', ['-c', 'command -v shellcheck']);
    assert.equal(which.code, 0, 'shellcheck is not installed (scripts/provision-host.sh installs it: apt-get install shellcheck)');
    for (const facts of [CRIO_118, { criOVersion: '1.18.0', cgroupManager: 'systemd' as const }, { criOVersion: '1.37.0', cgroupManager: 'systemd' as const, cniPluginsVersion: '1.8.0' }]) {
      const r = await run('shellcheck', ['--shell=sh', '--severity=style', await script(facts)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
  });

  test('a Raspberry Pi that is ready: exit 0, every need ok', async () => {
    const r = await preflight(CRIO_118, PI_READY);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.missing, []);
    for (const re of [/^ok +cgroup v1 hierarchies/m, /^ok +the memory cgroup is enabled/m, /^ok +the CPU CFS quota/m, /^ok +the kubelet's cgroup driver \(systemd\) matches/m, /^ok +a kubelet\.service\.d drop-in sets CPUAccounting=true and MemoryAccounting=true/m, /^ok +the image policy/m, /^ok +the kernel has bridge VLAN filtering/m]) {
      assert.match(r.out, re);
    }
    assert.match(r.out, /^crio-preflight: what cri-o 1\.18\.6 needs from this node$/m);
    assert.match(r.out, /^crio-preflight: nothing missing$/m);
    // --quiet prints only the verdict; the environment variable works like --root.
    const quiet = await preflight(CRIO_118, PI_READY, ['--quiet']);
    assert.equal(quiet.code, 0);
    assert.doesNotMatch(quiet.out, /^ok /m);
    const root = await makeNode(PI_READY);
    const env = await run('/bin/sh', [await script(CRIO_118)], { env: { PATH: '/usr/bin:/bin', CRIO_PREFLIGHT_ROOT: `${root}/` } });
    assert.equal(env.code, 0, env.stdout);
  });

  test('memory cgroup missing (a Pi kernel without cgroup_enable=memory): exit 1, says what to add to cmdline.txt', async () => {
    const r = await preflight(CRIO_118, { ...PI_READY, disabled: ['memory'], cmdline: 'console=serial0,115200 root=PARTUUID=1-02 rootwait cgroup_disable=memory' });
    assert.equal(r.code, 1, r.out);
    assert.equal(r.missing.length, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +the memory cgroup is disabled \(the kernel command line has cgroup_disable=memory\): Raspberry Pi kernels turn it off unless the kernel command line has cgroup_enable=memory cgroup_memory=1; add both to the single line of cmdline\.txt \(\/boot\/firmware\/cmdline\.txt/);
    assert.match(r.out, /^crio-preflight: 1 missing/m);
  });

  test('cgroup v2 only host with a 1.18 crio: exit 1, names the version and the boot option; a 1.20+ crio is fine there', async () => {
    const v2 = { ...PI_READY, cgroups: 'v2' as const };
    const r = await preflight(CRIO_118, v2);
    assert.equal(r.code, 1, r.out);
    assert.equal(r.missing.length, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +this node has cgroup v2 only \(unified hierarchy at \/sys\/fs\/cgroup\); cri-o 1\.18\.6 runs on cgroup v1 only \(cgroup v2 support came with cri-o 1\.20\): add systemd\.unified_cgroup_hierarchy=0 to the kernel command line/);
    // The other needs are read from the unified hierarchy.
    assert.match(r.out, /^ok +the memory cgroup is enabled/m);
    assert.match(r.out, /^ok +the CPU CFS quota/m);
    const main = await preflight({ criOVersion: '1.37.0', cgroupManager: 'systemd', cniPluginsVersion: '1.8.0' }, v2);
    assert.equal(main.code, 0, main.out);
    assert.match(main.out, /^ok +cgroup v2 \(unified hierarchy\): supported by cri-o 1\.37\.0/m);
    assert.doesNotMatch(main.out, /VLAN/, 'CNI plugins 1.8.0 need no VLAN filtering');
  });

  test('hugetlb missing with cri-o 1.18.0: exit 1; the same node under 1.18.1 is fine', async () => {
    const node = { ...PI_READY, disabled: ['hugetlb'] };
    const r = await preflight({ criOVersion: '1.18.0', cgroupManager: 'systemd', cniPluginsVersion: '0.8.1' }, node);
    assert.equal(r.code, 1, r.out);
    assert.equal(r.missing.length, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +cri-o 1\.18\.0 fails to create containers without the hugetlb cgroup \(\/sys\/fs\/cgroup\/hugetlb\); fixed in cri-o 1\.18\.1/);
    const later = await preflight({ criOVersion: '1.18.1', cgroupManager: 'systemd', cniPluginsVersion: '0.8.1' }, node);
    assert.equal(later.code, 0, later.out);
    assert.match(later.out, /^info +no hugetlb cgroup: cri-o 1\.18\.1 ignores hugepage limits without it/m);
  });

  test('no CPU CFS quota: exit 1, names cpu.cfs_quota_us and CONFIG_CFS_BANDWIDTH', async () => {
    const r = await preflight(CRIO_118, { ...PI_READY, noCfs: true });
    assert.equal(r.code, 1, r.out);
    assert.equal(r.missing.length, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +no CPU CFS quota \(cpu\.cfs_quota_us; kernel option CONFIG_CFS_BANDWIDTH\): containers with CPU limits cannot start/);
  });

  test('kubelet with cgroupDriver: cgroupfs (or none, its default) against crio\'s systemd: exit 1', async () => {
    const r = await preflight(CRIO_118, { ...PI_READY, kubeletDriver: 'cgroupfs' });
    assert.equal(r.code, 1, r.out);
    assert.equal(r.missing.length, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +the kubelet uses the cgroupfs cgroup driver \(\/var\/lib\/kubelet\/config\.yaml\) but crio uses cgroup_manager = "systemd": set cgroupDriver: systemd in \/var\/lib\/kubelet\/config\.yaml/);
    const unset = await preflight(CRIO_118, { ...PI_READY, kubeletDriver: null });
    assert.equal(unset.code, 1, unset.out);
    assert.match(unset.missing[0] ?? '', /the kubelet uses the cgroupfs cgroup driver \(the kubelet's default \(no cgroupDriver in \/var\/lib\/kubelet\/config\.yaml\)\)/);
    // crio switched to cgroupfs by a later drop-in: then cgroupfs matches.
    const both = await preflight(CRIO_118, { ...PI_READY, kubeletDriver: 'cgroupfs', crioManager: 'cgroupfs' });
    assert.equal(both.code, 0, both.out);
  });

  test('kubelet without the CPUAccounting/MemoryAccounting drop-in: exit 1; no kubelet yet: only a note', async () => {
    const r = await preflight(CRIO_118, { ...PI_READY, kubeletDropIn: false });
    assert.equal(r.code, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +no kubelet\.service\.d drop-in with CPUAccounting=true and MemoryAccounting=true/);
    const none = await preflight(CRIO_118, { ...PI_READY, kubeletDriver: undefined, kubeletDropIn: false });
    assert.equal(none.code, 0, none.out);
    assert.match(none.out, /^info +no kubelet configuration yet \(\/var\/lib\/kubelet\/config\.yaml\): give the kubelet cgroupDriver: systemd/m);
  });

  test('no image policy: exit 1, names the Debian package that has it', async () => {
    const r = await preflight(CRIO_118, { ...PI_READY, policy: false });
    assert.equal(r.code, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +no image policy \/etc\/containers\/policy\.json: .*apt-get install golang-github-containers-common/);
  });

  test('a kernel without bridge VLAN filtering under CNI plugins 0.8.1: exit 1 with the bridge plugin\'s error; unreadable config: a note', async () => {
    const r = await preflight(CRIO_118, { ...PI_READY, vlanFiltering: false });
    assert.equal(r.code, 1, r.out);
    assert.match(r.missing[0] ?? '', /^MISSING +the kernel lacks CONFIG_BRIDGE_VLAN_FILTERING: the CNI bridge plugin 0\.8\.1 .*could not add "cni0": operation not supported.*fixed in CNI plugins v0\.8\.5/);
    const unreadable = await preflight(CRIO_118, { ...PI_READY, vlanFiltering: 'unreadable' });
    assert.equal(unreadable.code, 0, unreadable.out);
    assert.match(unreadable.out, /^info +the kernel configuration is not readable/m);
    // /boot/config-<release> is read when /proc/config.gz is absent (Debian's kernels).
    const root = await makeNode({ ...PI_READY, vlanFiltering: 'unreadable' });
    await put(root, 'boot/config-6.1.0-rpi7-rpi-v8', '# CONFIG_BRIDGE_VLAN_FILTERING is not set\n');
    const boot = await run('/bin/sh', [await script(CRIO_118), '--root', root]);
    assert.equal(boot.code, 1, boot.stdout);
    assert.match(boot.stdout, /^MISSING +the kernel lacks CONFIG_BRIDGE_VLAN_FILTERING/m);
    const newer = await preflight({ ...CRIO_118, cniPluginsVersion: '0.8.5' }, { ...PI_READY, vlanFiltering: false });
    assert.equal(newer.code, 0, newer.out);
  });

  test('several things missing at once are all listed; usage errors exit 2', async () => {
    const r = await preflight(CRIO_118, { ...PI_READY, disabled: ['memory'], noCfs: true, kubeletDriver: 'cgroupfs' });
    assert.equal(r.code, 1);
    assert.equal(r.missing.length, 3, r.out);
    assert.match(r.out, /^crio-preflight: 3 missing/m);
    const s = await script(CRIO_118);
    for (const args of [['--bogus'], ['--root'], ['--root', '/nonexistent/crio-preflight']]) {
      const u = await run('/bin/sh', [s, ...args]);
      assert.equal(u.code, 2, `${args.join(' ')}: ${u.stdout}${u.stderr}`);
      assert.match(u.stderr, /usage: crio-preflight|is not a directory/);
    }
    const help = await run('/bin/sh', [s, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: crio-preflight \[--root DIR\] \[--quiet\]$/m);
    await rm(s);
  });

  test('the manual page renders with man(1) conventions', async () => {
    const page = preflightManPage(CRIO_118, 1590000000);
    assert.match(page, /^\.TH "crio-preflight" "8" "2020-05-20" "cri-o 1\.18\.6" "System Administration"$/m);
    const r = await run('sh', ['-c', 'command -v groff']);
    if (r.code !== 0) return;
    const out = await run('groff', ['-man', '-Tutf8', '-ww'], { input: page });
    assert.equal(out.stderr, '', out.stderr);
    assert.match(out.stdout, /crio-preflight/);
  });
});

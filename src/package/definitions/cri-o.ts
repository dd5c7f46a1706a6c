/**
 * The cri-o package: crio, crio-status and pinns in /usr/bin; the in-tree pause binary of cri-o
 * 1.13 to 1.16 in /usr/libexec/crio; /etc/crio/crio.conf as the built crio generated it, our
 * drop-ins, /etc/crictl.yaml and the CNI configurations (all conffiles); the systemd units with
 * ExecStart in /usr/bin and the cri-o.service alias; crio-preflight (what the node lacks); man
 * pages, completions, copyright, changelog, README.Debian; maintainer scripts that enable (not
 * start) crio.service.
 *
 * The image policy (/etc/containers/policy.json) and the registries configuration
 * (/etc/containers/registries.conf) come from the distribution: golang-github-containers-common
 * (policy.json, registries.conf.d/shortnames.conf) and golang-github-containers-image, which it
 * depends on (registries.conf), are what Debian's podman, buildah and skopeo use too, so the two
 * sides share one copy and neither owns a file of the other. containers-common is the name the
 * upstream (Kubic) repositories gave the same files.
 */
import { readFile } from 'node:fs/promises';
import type { DebInput } from '../deb/index.js';
import { debName } from '../../plan/naming.js';
import type { PackageFile } from '../packager.js';
import { CNI_CONFIG_DIR, CNI_CONFIGS } from '../files/cni.js';
import { CRICTL_YAML, CRICTL_YAML_PATH, crictlYamlProblem } from '../files/crictl.js';
import { applySettingsToCrioConf, CRIO_CONF_PATH, CRIO_DROPIN_DIR, crioDropIns, crioSettings, supportsDropIns } from '../files/crio-config.js';
import { PREFLIGHT_PATH, preflightManPage, preflightScript } from '../files/preflight.js';
import { gzip9n, type LintianOverride, type UpstreamInfo } from '../files/docs.js';
import { serviceScripts } from '../files/maintainer-scripts.js';
import { fixManTitle } from '../files/manpages.js';
import { crioReadmeDebian } from '../files/readme-debian.js';
import { CRIO_UNIT, CRIO_UNIT_ALIAS, CRIO_UNITS, rewriteUnitPaths, SYSTEMD_UNIT_DIR, wantedBy } from '../files/systemd.js';
import { binaryFiles, control, docFiles, mergeRelations, siblingRelation } from './common.js';
import { completions, COMPLETION_DIRS, manPages, optionalFile, requiredFile, type InventoryFile } from './inventory.js';
import { binaryOverrides, criOOverrides } from './lintian.js';
import type { PackageContext, PackageDefinition } from './types.js';

export const CRIO_UPSTREAM: UpstreamInfo = {
  name: 'cri-o',
  source: 'https://github.com/cri-o/cri-o',
  holder: 'The CRI-O Authors',
  // the project began in 2016 as kubernetes-incubator/ocid
  since: 2016,
  license: 'Apache-2.0',
};

export const OCI_HOOKS_DIR = '/usr/share/containers/oci/hooks.d';
export const OCI_UMOUNT_DIR = '/usr/share/oci-umount/oci-umount.d';

/** Where upstream's `make install.bin` puts the in-tree pause of cri-o 1.13 to 1.16 ($(LIBEXECDIR)/crio/pause). */
export const PAUSE_BINARY_DIR = '/usr/libexec/crio';

/** The distribution's package with /etc/containers/policy.json (and, through its Depends, registries.conf). */
export const CONTAINERS_COMMON = 'golang-github-containers-common | containers-common';

/** The binaries, in the order of cri-o's `make install.bin`; crio is required. */
export const CRIO_BINARIES = ['crio', 'crio-status', 'pinns'] as const;

export async function crioBinaries(outDir: string): Promise<InventoryFile[]> {
  const out: InventoryFile[] = [{ name: 'crio', path: await requiredFile(outDir, 'bin/crio', 'cri-o') }];
  for (const name of CRIO_BINARIES.slice(1)) {
    const path = await optionalFile(outDir, `bin/${name}`);
    if (path) out.push({ name, path });
  }
  return out;
}

/** The units the branch has (crio.service required), as [name, path]. */
export async function crioUnits(outDir: string): Promise<InventoryFile[]> {
  const out: InventoryFile[] = [];
  for (const name of CRIO_UNITS) {
    const path = name === CRIO_UNIT ? await requiredFile(outDir, `contrib/systemd/${name}`, 'cri-o') : await optionalFile(outDir, `contrib/systemd/${name}`);
    if (path) out.push({ name, path });
  }
  return out;
}

/** crictl.yaml from the build when it points at CRI-O's socket, else ours. */
export async function crictlYaml(ctx: Pick<PackageContext, 'warn'>, outDir: string): Promise<string> {
  const built = await optionalFile(outDir, 'crictl.yaml');
  if (!built) return CRICTL_YAML;
  const text = await readFile(built, 'utf8');
  const problem = crictlYamlProblem(text);
  if (problem) {
    ctx.warn(`cri-o: the build's crictl.yaml is not used: ${problem}`);
    return CRICTL_YAML;
  }
  return text;
}

export const criO: PackageDefinition = {
  component: 'cri-o',
  debName: debName('cri-o'),
  // Depends: conmon (>= ...), cni-plugins (>= ...); crio-preflight names the CNI plugins' version.
  reads: { siblings: ['conmon', 'cni-plugins'], pauseImage: true },
  async describe(ctx: PackageContext): Promise<DebInput> {
    const c = ctx.component;
    const pkg = this.debName;
    const root = c.outDir;
    const files: PackageFile[] = [];

    const bins = await crioBinaries(root);
    files.push(...(await binaryFiles(ctx, bins, '/usr/bin')));
    // cri-o 1.13 to 1.16 build a static pause (pause/Makefile) that `make install.bin` installs in
    // $(LIBEXECDIR)/crio.
    const pausePath = await optionalFile(root, 'bin/pause');
    const pause = pausePath ? { name: 'pause', path: pausePath } : undefined;
    if (pause) files.push(...(await binaryFiles(ctx, [pause], PAUSE_BINARY_DIR)));

    // Configuration: crio.conf as generated, our settings as drop-ins (or written in, before 1.17.1).
    const generated = await readFile(await requiredFile(root, 'crio.conf', 'cri-o'), 'utf8');
    const settings = crioSettings({ criOVersion: c.version, crioConf: generated, ...(ctx.pauseImage !== undefined ? { pauseImage: ctx.pauseImage } : {}) });
    const dropIns = supportsDropIns(c.version);
    files.push({ path: CRIO_CONF_PATH, content: dropIns ? generated : applySettingsToCrioConf(generated, settings), conffile: true });
    if (dropIns) {
      for (const [name, content] of crioDropIns(settings, generated)) files.push({ path: `${CRIO_DROPIN_DIR}/${name}`, content, conffile: true });
    }
    files.push({ path: CRICTL_YAML_PATH, content: await crictlYaml(ctx, root), conffile: true });
    for (const [name, content] of CNI_CONFIGS) files.push({ path: `${CNI_CONFIG_DIR}/${name}`, content, conffile: true });
    files.push({ path: OCI_HOOKS_DIR, directory: true });
    const umount = await optionalFile(root, 'crio-umount.conf');
    if (umount) files.push({ path: `${OCI_UMOUNT_DIR}/crio-umount.conf`, source: umount, mode: 0o644 });

    // systemd units, ExecStart in /usr/bin; the alias as `systemctl enable` would make it from Alias=.
    const units = await crioUnits(root);
    let crioUnitText = '';
    let usesKill = false;
    for (const u of units) {
      const text = rewriteUnitPaths(await readFile(u.path, 'utf8'));
      if (u.name === CRIO_UNIT) crioUnitText = text;
      // ExecReload=/bin/kill -s HUP $MAINPID: Debian's /bin/kill is in procps (Priority important, not Essential).
      if (/^\s*Exec[A-Za-z]*\s*=\s*[-@:+!]*\/bin\/kill\b/m.test(text)) usesKill = true;
      files.push({ path: `${SYSTEMD_UNIT_DIR}/${u.name}`, content: text });
    }
    files.push({ path: `${SYSTEMD_UNIT_DIR}/${CRIO_UNIT_ALIAS}`, symlink: CRIO_UNIT });

    // Man pages (gzip -9n) and completions, where the branch built them.
    const mans = await manPages(root);
    for (const m of mans) {
      const page = fixManTitle(await readFile(m.path, 'utf8'), `cri-o ${c.version}`);
      files.push({ path: `/usr/share/man/man${m.section}/${m.name}.gz`, content: gzip9n(page) });
    }

    // crio-preflight: what this crio needs from the node (memory cgroup, cgroup v1, ...), and its page.
    const cni = ctx.components.get('cni-plugins');
    const preflight = { criOVersion: c.version, cgroupManager: settings.cgroupManager, ...(cni ? { cniPluginsVersion: cni.version } : {}) };
    files.push({ path: PREFLIGHT_PATH, content: preflightScript(preflight), mode: 0o755 });
    files.push({ path: '/usr/share/man/man8/crio-preflight.8.gz', content: gzip9n(preflightManPage(preflight, c.commitTime)) });
    for (const comp of await completions(root)) {
      files.push({ path: `${COMPLETION_DIRS[comp.shell]}/${comp.name}`, source: comp.path, mode: 0o644 });
    }

    const readme: PackageFile = {
      path: `/usr/share/doc/${pkg}/README.Debian`,
      content: crioReadmeDebian({ kubernetes: ctx.kubernetes, criOVersion: c.version, settings, dropIns, maintainer: ctx.maintainer, date: c.commitTime }),
    };
    const prepared = await Promise.all(bins.map(async (b) => ({ name: b.name, elf: (await ctx.prepareBinary(b.path)).elf })));
    const overrides: LintianOverride[] = criOOverrides({ binaries: prepared, manPages: mans.map((m) => m.name) });
    if (pause) {
      const { elf } = await ctx.prepareBinary(pause.path);
      overrides.push(...binaryOverrides([{ path: `${PAUSE_BINARY_DIR.slice(1)}/pause`, elf, language: 'c', staticReason: "upstream's pause/Makefile links it with -static (override CFLAGS += -static), so it runs alone in an empty pause image" }]));
    }
    files.push(...docFiles(ctx, pkg, CRIO_UPSTREAM, overrides, [readme]));

    const depends = mergeRelations(
      c.shlibsDepends,
      [siblingRelation(ctx, 'conmon', debName('conmon')), siblingRelation(ctx, 'cni-plugins', debName('cni-plugins')), 'runc | crun', CONTAINERS_COMMON],
      usesKill ? ['procps'] : [],
    );
    const unitTargets = wantedBy(crioUnitText);
    return {
      control: control(ctx, {
        pkg,
        section: 'admin',
        homepage: CRIO_UPSTREAM.source,
        description: `OCI-based implementation of the Kubernetes Container Runtime Interface
CRI-O is a lightweight container runtime for Kubernetes: it pulls images,
runs containers through an OCI runtime (runc or crun) and conmon, and
serves the kubelet over the CRI socket.

This build is for Kubernetes ${ctx.kubernetes}: CRI-O's minor version must match the
kubelet's. crio.service is enabled, but not started, on first installation.`,
        depends,
        recommends: [debName('cri-tools')],
      }),
      files,
      scripts: serviceScripts({
        pkg,
        unit: CRIO_UNIT,
        unitDir: SYSTEMD_UNIT_DIR,
        wantedBy: unitTargets.length ? unitTargets : ['multi-user.target'],
        firstInstallMessage: [
          `crio.service is enabled but not started. Before starting it, run ${PREFLIGHT_PATH.slice(PREFLIGHT_PATH.lastIndexOf('/') + 1)}:`,
          `it says what cri-o ${c.version} needs from this node and what is missing (memory cgroup,`,
          'cgroup v1, CPU CFS quota, the kubelet cgroup driver). See /usr/share/doc/cri-o/README.Debian.',
        ],
      }),
      sourceDateEpoch: c.commitTime,
    };
  },
};

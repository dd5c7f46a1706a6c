/**
 * The containernetworking-plugins package: every plugin the build made, in /opt/cni/bin, where
 * CRI-O's default plugin_dirs, the kubelet's default --cni-bin-dir and pod network add-ons such as
 * flannel look for them (cri-o contrib/cni/README.md: "install the CNI plugins ... into
 * /opt/cni/bin"). Debian's own package of the same name uses /usr/lib/cni instead.
 *
 * Ours replaces Debian's (same name, epoch 100), so it keeps the relations Debian's has
 * (containernetworking-plugins 1.1.1+ds1-3 in bookworm: "Provides: container-network-stack (= 1)",
 * "Depends: iptables"): golang-github-containers-common, which podman, buildah, skopeo and our
 * cri-o depend on, needs some container-network-stack (netavark provides "= 2"), and the bridge
 * and portmap plugins run iptables for ipMasq and port mappings. Podman's CNI backend finds the
 * plugins in /opt/cni/bin too (containers.conf's default cni_plugin_dirs lists it).
 */
import type { DebInput } from '../deb/index.js';
import { CNI_PLUGIN_DIR } from '../files/cni.js';
import type { LintianOverride, UpstreamInfo } from '../files/docs.js';
import { debName } from '../../plan/naming.js';
import { binaryFiles, control, docFiles, mergeRelations } from './common.js';
import { filesIn } from './inventory.js';
import { binaryOverrides } from './lintian.js';
import { join } from 'node:path';
import type { PackageContext, PackageDefinition } from './types.js';

export const CNI_UPSTREAM: UpstreamInfo = {
  name: 'plugins',
  source: 'https://github.com/containernetworking/plugins',
  holder: 'The CNI Authors',
  // file headers such as plugins/main/bridge/bridge.go: "Copyright 2014 CNI authors"
  since: 2014,
  license: 'Apache-2.0',
};

/** The virtual package golang-github-containers-common depends on; "= 1" is the CNI stack, as Debian's plugins provide it. */
export const CONTAINER_NETWORK_STACK = 'container-network-stack (= 1)';

export async function cniPluginFiles(outDir: string) {
  const plugins = await filesIn(join(outDir, 'bin'));
  if (plugins.length === 0) throw new Error(`cni-plugins: no plugins in ${join(outDir, 'bin')}`);
  return plugins;
}

export const cniPlugins: PackageDefinition = {
  component: 'cni-plugins',
  debName: debName('cni-plugins'),
  async describe(ctx: PackageContext): Promise<DebInput> {
    const c = ctx.component;
    const pkg = this.debName;
    const plugins = await cniPluginFiles(c.outDir);
    const files = await binaryFiles(ctx, plugins, CNI_PLUGIN_DIR);
    const facts = await Promise.all(
      plugins.map(async (p) => ({
        path: `${CNI_PLUGIN_DIR.slice(1)}/${p.name}`,
        elf: (await ctx.prepareBinary(p.path)).elf,
        language: 'go' as const,
        staticReason: 'a Go program built with CGO_ENABLED=0, as upstream\'s scripts/release.sh builds the plugins',
      })),
    );
    const overrides: LintianOverride[] = [
      {
        tag: 'dir-or-file-in-opt',
        reason: `The CNI plugins must be in ${CNI_PLUGIN_DIR}: it is where CRI-O's default plugin_dirs, the kubelet's default --cni-bin-dir and pod network add-ons (flannel copies its own plugin there) look for them, a convention of the CNI project older than Debian's /usr/lib/cni.`,
      },
      ...binaryOverrides(facts),
    ];
    files.push(...docFiles(ctx, pkg, CNI_UPSTREAM, overrides));
    return {
      control: control(ctx, {
        pkg,
        section: 'net',
        homepage: CNI_UPSTREAM.source,
        description: `Container Network Interface plugins
The reference CNI plugins maintained by the CNI team: bridge, loopback,
host-local, portmap and the others, installed in ${CNI_PLUGIN_DIR}.

This is the plugin version CRI-O's ${ctx.branch} branch is tested with.`,
        depends: mergeRelations(c.shlibsDepends, ['iptables']),
        provides: [CONTAINER_NETWORK_STACK],
      }),
      files,
      sourceDateEpoch: c.commitTime,
    };
  },
};

/**
 * The cri-tools package: /usr/bin/crictl. Its configuration, /etc/crictl.yaml pointing at CRI-O's
 * socket, comes with the cri-o package (as cri-o's own `make install.config` installs it).
 */
import type { DebInput } from '../deb/index.js';
import type { UpstreamInfo } from '../files/docs.js';
import { debName } from '../../plan/naming.js';
import { binaryFiles, control, docFiles, mergeRelations } from './common.js';
import { requiredFile } from './inventory.js';
import { binaryOverrides } from './lintian.js';
import type { PackageContext, PackageDefinition } from './types.js';

export const CRI_TOOLS_UPSTREAM: UpstreamInfo = {
  name: 'cri-tools',
  source: 'https://github.com/kubernetes-sigs/cri-tools',
  holder: 'The Kubernetes Authors',
  // file headers: "Copyright 2017 The Kubernetes Authors."
  since: 2017,
  license: 'Apache-2.0',
};

export const criTools: PackageDefinition = {
  component: 'cri-tools',
  debName: debName('cri-tools'),
  async describe(ctx: PackageContext): Promise<DebInput> {
    const c = ctx.component;
    const pkg = this.debName;
    const bin = { name: 'crictl', path: await requiredFile(c.outDir, '_output/crictl', 'cri-tools') };
    const files = await binaryFiles(ctx, [bin], '/usr/bin');
    const { elf } = await ctx.prepareBinary(bin.path);
    const overrides = binaryOverrides([
      {
        path: 'usr/bin/crictl',
        elf,
        language: 'go',
        staticReason: "a Go program built with CGO_ENABLED=0, as cri-tools' Makefile builds crictl",
        noManPageReason: 'cri-tools ships no manual page for crictl; crictl --help and docs/crictl.md upstream document it.',
      },
    ]);
    files.push(...docFiles(ctx, pkg, CRI_TOOLS_UPSTREAM, overrides));
    return {
      control: control(ctx, {
        pkg,
        section: 'admin',
        homepage: CRI_TOOLS_UPSTREAM.source,
        description: `CLI and validation tools for the Kubernetes Container Runtime Interface
crictl inspects and debugs any CRI runtime such as CRI-O: pods,
containers, images, logs and exec. The cri-o package configures it
(/etc/crictl.yaml) to talk to CRI-O.`,
        depends: mergeRelations(c.shlibsDepends),
      }),
      files,
      sourceDateEpoch: c.commitTime,
    };
  },
};

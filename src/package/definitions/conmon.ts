/**
 * The conmon package: /usr/bin/conmon, where Debian's own conmon package installs it (so tools that
 * look for it there keep working when ours replaces Debian's). cri-o 1.18's crio.conf defaults to
 * /usr/libexec/crio/conmon, so the cri-o package's drop-in sets `conmon = "/usr/bin/conmon"`.
 */
import type { DebInput } from '../deb/index.js';
import type { UpstreamInfo } from '../files/docs.js';
import { debName } from '../naming.js';
import { binaryFiles, control, docFiles, mergeRelations } from './common.js';
import { requiredFile } from './inventory.js';
import { binaryOverrides } from './lintian.js';
import type { PackageContext, PackageDefinition } from './types.js';

export const CONMON_UPSTREAM: UpstreamInfo = {
  name: 'conmon',
  source: 'https://github.com/containers/conmon',
  holder: 'The conmon Authors',
  // conmon began in cri-o's tree in 2016 and moved to containers/conmon in 2018
  since: 2016,
  license: 'Apache-2.0',
};

export const conmon: PackageDefinition = {
  component: 'conmon',
  debName: debName('conmon'),
  async describe(ctx: PackageContext): Promise<DebInput> {
    const c = ctx.component;
    const pkg = this.debName;
    const bin = { name: 'conmon', path: await requiredFile(c.outDir, 'bin/conmon', 'conmon') };
    const files = await binaryFiles(ctx, [bin], '/usr/bin');
    const { elf } = await ctx.prepareBinary(bin.path);
    const overrides = binaryOverrides([
      {
        path: 'usr/bin/conmon',
        elf,
        language: 'c',
        noManPageReason: 'the conmon build produces no manual page; conmon is started by CRI-O, not by users, and conmon --help lists its options.',
      },
    ]);
    files.push(...docFiles(ctx, pkg, CONMON_UPSTREAM, overrides));
    return {
      control: control(ctx, {
        pkg,
        section: 'admin',
        homepage: CONMON_UPSTREAM.source,
        description: `OCI container runtime monitor
conmon watches one container for CRI-O: it holds the container's terminal
and log, and reports its exit code.

This is the conmon version CRI-O's ${ctx.branch} branch is tested with.`,
        depends: mergeRelations(c.shlibsDepends),
      }),
      files,
      sourceDateEpoch: c.commitTime,
    };
  },
};

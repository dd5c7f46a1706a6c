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

/**
 * The first conmon with --full-attach (containers/conmon 93f5b30 "conn_sock: add full-attach
 * option", first in v2.0.23), which podman passes to conmon unconditionally since v3.2.0
 * (containers/podman fdfff1dab2, 2021-01-14): Debian bookworm's podman 4.3.1 and Ubuntu 22.04's
 * 3.4.4 fail with "conmon: option parsing failed: Unknown option --full-attach" under an older one.
 * Ours replaces the distribution's conmon (epoch 100), so the packaging says so when it is older.
 */
export const PODMAN_MIN_CONMON = '2.0.23';

export function conmonBreaksPodman(version: string): boolean {
  const v = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!v) return false;
  const [a, b, c] = [Number(v[1]), Number(v[2]), Number(v[3])];
  return a < 2 || (a === 2 && (b === 0 && c < 23));
}

export const conmon: PackageDefinition = {
  component: 'conmon',
  debName: debName('conmon'),
  async describe(ctx: PackageContext): Promise<DebInput> {
    const c = ctx.component;
    const pkg = this.debName;
    if (conmonBreaksPodman(c.version)) {
      ctx.warn(
        `conmon ${c.version} lacks --full-attach (first in conmon v${PODMAN_MIN_CONMON}), which podman 3.2 and later pass to it: installed beside Debian's podman (bookworm 4.3.1) or Ubuntu 22.04's (3.4.4), this conmon replaces theirs and \`podman run\` fails with "conmon: option parsing failed: Unknown option --full-attach"; pin conmon v${PODMAN_MIN_CONMON} or later for podman to keep working`,
      );
    }
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

/**
 * The cri-o-conmon package: the conmon this CRI-O branch is tested with, at /usr/libexec/crio/conmon,
 * where cri-o's own `make install.bin` puts it with PREFIX=/usr (cri-o/cri-o release-1.15 Makefile:351
 * "install ... bin/conmon $(LIBEXECDIR)/crio/conmon", LIBEXECDIR ?= ${PREFIX}/libexec; and the
 * default crio of release-1.13 to 1.15 looks there: lib/config_unix.go conmonPath
 * "/usr/local/libexec/crio/conmon" for the default PREFIX). The cri-o package's settings set
 * `conmon = "/usr/libexec/crio/conmon"`, since 1.16 to 1.18 default to "" (the first conmon in PATH).
 *
 * It has a name and a path of its own, and neither Provides nor Replaces Debian's conmon: Debian
 * bookworm's podman 4.3.1 (and every podman since 3.2.0, containers/podman fdfff1dab2) passes
 * --full-attach to conmon, which conmon has only since v2.0.23 (containers/conmon 93f5b30), so a
 * CRI-O 1.18 conmon (v2.0.19) in /usr/bin, replacing Debian's 2.1.6, made `podman run` fail with
 * "conmon: option parsing failed: Unknown option --full-attach". Debian's conmon stays in /usr/bin
 * for podman, buildah and friends; ours serves CRI-O only.
 */
import type { DebInput } from '../deb/index.js';
import type { UpstreamInfo } from '../files/docs.js';
import { debName } from '../../plan/naming.js';
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

/** Where the cri-o-conmon package installs conmon, and what crio.conf's `conmon` names. */
export const CRIO_CONMON_DIR = '/usr/libexec/crio';

export const conmon: PackageDefinition = {
  component: 'conmon',
  debName: debName('conmon'),
  async describe(ctx: PackageContext): Promise<DebInput> {
    const c = ctx.component;
    const pkg = this.debName;
    const bin = { name: 'conmon', path: await requiredFile(c.outDir, 'bin/conmon', 'conmon') };
    const files = await binaryFiles(ctx, [bin], CRIO_CONMON_DIR);
    const { elf } = await ctx.prepareBinary(bin.path);
    const overrides = binaryOverrides([
      {
        path: `${CRIO_CONMON_DIR.slice(1)}/conmon`,
        elf,
        language: 'c',
      },
    ]);
    files.push(...docFiles(ctx, pkg, CONMON_UPSTREAM, overrides));
    return {
      control: control(ctx, {
        pkg,
        section: 'admin',
        homepage: CONMON_UPSTREAM.source,
        description: `OCI container runtime monitor for CRI-O
conmon watches one container for CRI-O: it holds the container's terminal
and log, and reports its exit code.

This is the conmon version CRI-O's ${ctx.branch} branch is tested with,
installed as ${CRIO_CONMON_DIR}/conmon for CRI-O alone. It does not
replace the distribution's conmon package (/usr/bin/conmon), which
podman and buildah use.`,
        depends: mergeRelations(c.shlibsDepends),
      }),
      files,
      sourceDateEpoch: c.commitTime,
    };
  },
};

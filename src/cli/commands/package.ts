/**
 * `crio-build package <branch>`: package outputs already built (under artifacts/<branch>/<arch>/build)
 * into .debs, the bundle, their SBOMs and .buildinfo files, and SHA256SUMS, with the release
 * record that `crio-build publish` releases.
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { checkArch } from '../../plan/planner.js';
import { packageBuilt } from '../../pipeline/package-built.js';
import { branchOptions, branchRecipe, PAUSE_IMAGE_OPTION, pauseImageOption, type BranchArgs } from '../options.js';
import { packagedAsText, stderrEvents } from '../render.js';

export const packageCommand: CommandModule<object, BranchArgs> = {
  command: 'package <branch>',
  describe: 'package outputs already built (under artifacts/<branch>/<arch>/build) into .debs, the bundle and SHA256SUMS',
  builder: (y) =>
    branchOptions(y)
      .option('pause-image', PAUSE_IMAGE_OPTION)
      .option('force', { type: 'boolean', default: false, describe: 'make every file again, even those unchanged since the last run' }) as unknown as Argv<BranchArgs>,
  handler: async (a) => {
    const arch = checkArch(a.arch);
    const pauseImage = pauseImageOption(a['pause-image']);
    const branch = await branchRecipe(a);
    const { packaged, recorded } = await packageBuilt(
      { branch, arch, artifactsDir: resolve(a.artifacts), ...(a.lock ? { lockFile: resolve(a.lock) } : {}), pauseImage, force: a.force === true },
      stderrEvents(a.quiet),
    );
    if (!recorded.record) {
      process.stderr.write(`crio-build: warning: no release record written: the build left no provenance for ${recorded.missing.join(', ')} (built by an older crio-build?); \`crio-build publish\` will not release these packages until they are built again\n`);
    }
    process.stdout.write(a.json ? JSON.stringify({ ...packaged, record: recorded.record ? recorded.path : null }, null, 2) + '\n' : packagedAsText(packaged));
  },
};

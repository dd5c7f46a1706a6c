/**
 * `crio-build publish <branch>`: index and publish what is already packaged for a branch, the
 * last step of a CI matrix whose build jobs stopped after the package stage.
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { checkArch } from '../../plan/planner.js';
import { publishPackaged } from '../../pipeline/publish-packaged.js';
import { branchRecipe, commonOptions, settingsFrom, type CommonArgs } from '../options.js';
import { releaseOptions, releaseSettings, type ReleaseArgs } from '../run-options.js';
import { finishRun } from '../run-output.js';
import { createReporter } from '../reporter.js';
import { removeContainersOnSignal } from '../signals.js';

type PublishArgs = CommonArgs & ReleaseArgs & { branch: string; json: boolean; arch?: string[] };

export const publishCommand: CommandModule<object, PublishArgs> = {
  command: 'publish <branch>',
  describe: 'index and publish what is already packaged for a branch (every arch under artifacts/<branch>/*/packages): the last step of a CI matrix',
  builder: (y) =>
    releaseOptions(
      commonOptions(y)
        .positional('branch', { type: 'string', demandOption: true, describe: 'cri-o branch recipe, e.g. release-1.18' })
        .option('json', { type: 'boolean', default: false, describe: 'print the run manifest as JSON on stdout' })
        .option('arch', { type: 'string', array: true, describe: 'an arch that must be in the release (repeatable): refuse to publish without it rather than drop it' }),
    ).option('publish', { type: 'boolean', default: true, hidden: true }) as unknown as Argv<PublishArgs>,
  handler: async (a) => {
    const settings = await settingsFrom(a);
    const branch = await branchRecipe(a);
    const required = (a.arch ?? []).map(checkArch);
    const release = await releaseSettings({ ...a, publish: true });
    const reporter = createReporter(a.quiet);
    removeContainersOnSignal();
    const run = await publishPackaged(
      { branch: branch.name, required, artifactsDir: resolve(a.artifacts), cacheDir: settings.cacheDir, index: release.index, publish: release.publish, wait: a.wait },
      reporter,
    );
    await finishRun(a, reporter, run);
  },
};

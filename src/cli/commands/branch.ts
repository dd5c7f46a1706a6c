/**
 * `crio-build <branch>` (the default command): build everything for a branch and arch, up to the
 * index (and the publish with --publish, or the stage --stop-after names).
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../../core/errors.js';
import { checkArch } from '../../plan/planner.js';
import type { StageName } from '../../pipeline/pipeline.js';
import { releaseBranch } from '../../pipeline/release-branch.js';
import { branchOptions, branchRecipe, checkStrategy, PAUSE_IMAGE_OPTION, pauseImageOption, recipesDir, settingsFrom, type BranchArgs } from '../options.js';
import { releaseOptions, releaseSettings, type ReleaseArgs } from '../run-options.js';
import { finishRun } from '../run-output.js';
import { createReporter } from '../reporter.js';
import { removeContainersOnSignal } from '../signals.js';

type BranchCommandArgs = BranchArgs & ReleaseArgs & { 'stop-after'?: string };

const STOP_STAGES = ['fetch', 'build', 'package', 'index', 'publish'] as const;

function stopAfter(stage: string | undefined, publish: boolean): StageName {
  if (stage === undefined) return publish ? 'publish' : 'index';
  if (!(STOP_STAGES as readonly string[]).includes(stage)) throw new UsageError(`--stop-after ${JSON.stringify(stage.slice(0, 40))}: not a stage`, `stages: ${STOP_STAGES.join(', ')}`);
  if (publish && stage !== 'publish') throw new UsageError(`--publish and --stop-after ${stage} exclude each other`);
  if (stage === 'publish' && !publish) throw new UsageError('--stop-after publish needs --publish');
  return stage as StageName;
}

export const branchCommand: CommandModule<object, BranchCommandArgs> = {
  command: '$0 <branch>',
  describe: 'build everything for a branch and arch: plan, fetch, build, package, index (and publish with --publish)',
  builder: (y) =>
    releaseOptions(
      branchOptions(y)
        .option('force', { type: 'boolean', default: false, describe: 'rebuild even what the cache already has' })
        .option('pause-image', PAUSE_IMAGE_OPTION)
        .option('stop-after', { type: 'string', requiresArg: true, describe: `stop after this stage: ${STOP_STAGES.join(', ')} (e.g. package in a CI build job whose release is published by \`crio-build publish\`)` }),
    ) as unknown as Argv<BranchCommandArgs>,
  handler: async (a) => {
    const arch = checkArch(a.arch);
    const strategy = checkStrategy(a.strategy);
    const pauseImage = pauseImageOption(a['pause-image']);
    const settings = await settingsFrom(a);
    // A branch that is not a recipe is refused before anything is locked, created or shown.
    await branchRecipe(a);
    const release = await releaseSettings(a);
    const until = stopAfter(a['stop-after'], a.publish);
    const reporter = createReporter(a.quiet);
    removeContainersOnSignal();
    const run = await releaseBranch(
      { branch: a.branch, arch, strategy, settings, recipesDir: recipesDir(a), artifactsDir: resolve(a.artifacts), lockFile: a.lock, until, force: a.force, pauseImage, index: release.index, publish: release.publish, wait: a.wait },
      reporter,
    );
    await finishRun(a, reporter, run);
  },
};

/**
 * `crio-build nightly`: the nightly matrix, every branch x arch asked for, each branch released
 * once. Which branches and arches: from flags (repeatable --branch/--arch), else every branch
 * recipe on every supported arch.
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../../core/errors.js';
import { checkArch } from '../../plan/planner.js';
import { loadRecipes, type RecipeSet } from '../../recipe/loader.js';
import { findBranch } from '../../source/resolver.js';
import { STRATEGIES, SUPPORTED_ARCHES, type Arch } from '../../recipe/schema.js';
import { releaseNightly } from '../../pipeline/release-nightly.js';
import { checkStrategy, commonOptions, pauseImageOption, recipesDir, settingsFrom, type CommonArgs } from '../options.js';
import { releaseOptions, releaseSettings, type ReleaseArgs } from '../run-options.js';
import { finishRun } from '../run-output.js';
import { createReporter } from '../reporter.js';
import { removeContainersOnSignal } from '../signals.js';

interface NightlyArgs extends CommonArgs, ReleaseArgs {
  branch?: string[];
  arch?: string[];
  strategy?: string;
  force: boolean;
  'pause-image'?: string;
  json: boolean;
}

function nightlyOptions<T>(y: Argv<T>) {
  return y
    .option('branch', { type: 'string', array: true, requiresArg: true, describe: 'a branch recipe (repeatable; default: every branch in recipes/branches)' })
    .option('arch', { type: 'string', array: true, requiresArg: true, describe: `an arch (repeatable; default: ${SUPPORTED_ARCHES.join(' and ')})` })
    .option('strategy', { type: 'string', requiresArg: true, describe: `override every component's strategy: ${STRATEGIES.join(', ')}` })
    .option('force', { type: 'boolean', default: false, describe: 'rebuild even what the cache already has' })
    .option('pause-image', { type: 'string', requiresArg: true, describe: 'pause_image written into a crio.conf.d drop-in' })
    .option('json', { type: 'boolean', default: false, describe: 'print the run manifest as JSON on stdout' });
}

/** The branches and arches of the matrix: those given, each once, else every branch on every arch. */
function nightlyMatrix(a: NightlyArgs, recipes: RecipeSet): { branches: string[]; arches: Arch[] } {
  const branches = a.branch?.length ? a.branch.map((b) => findBranch(recipes, b).name) : [...recipes.branches.keys()].sort();
  const arches = a.arch?.length ? a.arch.map(checkArch) : [...SUPPORTED_ARCHES];
  for (const [what, list] of [['--branch', branches], ['--arch', arches]] as const) {
    const dup = (list as readonly string[]).find((x, i) => list.indexOf(x as never) !== i);
    if (dup) throw new UsageError(`${what} ${dup} is given twice`);
  }
  return { branches, arches };
}

export const nightlyCommand: CommandModule<object, NightlyArgs> = {
  command: 'nightly',
  describe: 'the nightly matrix: every branch x arch asked for (default: all branches, arm64 and amd64), each released once',
  builder: (y) => releaseOptions(nightlyOptions(commonOptions(y))) as unknown as Argv<NightlyArgs>,
  handler: async (a) => {
    const settings = await settingsFrom(a);
    const { branches, arches } = nightlyMatrix(a, await loadRecipes(recipesDir(a)));
    const release = await releaseSettings(a);
    const strategy = checkStrategy(a.strategy);
    const pauseImage = pauseImageOption(a['pause-image']);
    const reporter = createReporter(a.quiet);
    reporter.note(`nightly: ${branches.join(', ')} x ${arches.join(', ')}`);
    removeContainersOnSignal();
    const run = await releaseNightly(
      { branches, arches, strategy, settings, recipesDir: recipesDir(a), artifactsDir: resolve(a.artifacts), force: a.force, pauseImage, index: release.index, publish: release.publish, publishing: a.publish, wait: a.wait },
      reporter,
    );
    await finishRun(a, reporter, run);
  },
};

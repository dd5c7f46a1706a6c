/**
 * `crio-build nightly`: which branches and arches the matrix covers. From flags (repeatable
 * --branch/--arch), else every branch recipe on every supported arch.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../core/errors.js';
import { checkArch } from '../plan/planner.js';
import type { RecipeSet } from '../recipe/loader.js';
import { findBranch } from '../source/resolver.js';
import { STRATEGIES, SUPPORTED_ARCHES, type Arch } from '../recipe/schema.js';

export interface NightlyArgs {
  branch?: string[];
  arch?: string[];
  strategy?: string;
  force: boolean;
  'pause-image'?: string;
  json: boolean;
}

export function nightlyOptions<T>(y: Argv<T>) {
  return y
    .option('branch', { type: 'string', array: true, requiresArg: true, describe: 'a branch recipe (repeatable; default: every branch in recipes/branches)' })
    .option('arch', { type: 'string', array: true, requiresArg: true, describe: `an arch (repeatable; default: ${SUPPORTED_ARCHES.join(' and ')})` })
    .option('strategy', { type: 'string', requiresArg: true, describe: `override every component's strategy: ${STRATEGIES.join(', ')}` })
    .option('force', { type: 'boolean', default: false, describe: 'rebuild even what the cache already has' })
    .option('pause-image', { type: 'string', requiresArg: true, describe: 'pause_image written into a crio.conf.d drop-in' })
    .option('json', { type: 'boolean', default: false, describe: 'print the run manifest as JSON on stdout' });
}

export function nightlyMatrix(a: NightlyArgs, recipes: RecipeSet): { branches: string[]; arches: Arch[] } {
  const branches = a.branch?.length ? a.branch.map((b) => findBranch(recipes, b).name) : [...recipes.branches.keys()].sort();
  const arches = a.arch?.length ? a.arch.map(checkArch) : [...SUPPORTED_ARCHES];
  for (const [what, list] of [['--branch', branches], ['--arch', arches]] as const) {
    const dup = (list as readonly string[]).find((x, i) => list.indexOf(x as never) !== i);
    if (dup) throw new UsageError(`${what} ${dup} is given twice`);
  }
  return { branches, arches };
}

/**
 * The options most commands share (settings, cache, recipes, artifacts; a branch and its arch)
 * and their checks: a bad value is a usage error (exit 2) before any work starts.
 */
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { loadSettings, type Settings } from '../settings/settings.js';
import { quote, UsageError } from '../core/errors.js';
import { loadRecipes } from '../recipe/loader.js';
import { findBranch } from '../source/resolver.js';
import { checkPauseImage } from '../package/package-all.js';
import { STRATEGIES, SUPPORTED_ARCHES, type BranchRecipe, type Strategy } from '../recipe/schema.js';
import { checkArch } from '../plan/planner.js';
import type { PipelineOptions, StageName } from '../pipeline/pipeline.js';

export interface CommonArgs {
  config?: string;
  mirror?: string[];
  'cache-dir'?: string;
  'build-cache': boolean;
  recipes?: string;
  artifacts: string;
  quiet: boolean;
}

export interface BranchArgs extends CommonArgs {
  branch: string;
  arch: string;
  strategy?: string;
  lock?: string;
  json: boolean;
  force?: boolean;
  'pause-image'?: string;
}

export function commonOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', requiresArg: true, describe: 'settings file (mirrors, toolchain swaps, cache dir); default $CRIO_BUILD_CONFIG or ~/.config/crio-build/config.yaml' })
    .option('mirror', { type: 'string', array: true, describe: 'rewrite a URL prefix, FROM=TO (repeatable; longest match wins)' })
    .option('cache-dir', { type: 'string', requiresArg: true, describe: 'source cache (default $CRIO_BUILD_CACHE or ~/.cache/crio-build)' })
    .option('build-cache', { type: 'boolean', default: true, describe: "keep Go's build cache between builds in a Docker volume per builder, arch and component (--no-build-cache: off)" })
    .option('recipes', { type: 'string', requiresArg: true, describe: 'recipes directory (default: the recipes shipped with crio-build)' })
    .option('artifacts', { type: 'string', requiresArg: true, default: 'artifacts', describe: 'output root' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' });
}

export function branchOptions<T>(y: Argv<T>) {
  return commonOptions(y)
    .positional('branch', { type: 'string', demandOption: true, describe: 'cri-o branch recipe, e.g. release-1.18, or a pinned cri-o release tag, e.g. v1.18.3 (see `crio-build recipes list`)' })
    .option('arch', { type: 'string', requiresArg: true, default: 'arm64', describe: `target architecture: ${SUPPORTED_ARCHES.join(', ')}` })
    .option('strategy', { type: 'string', requiresArg: true, describe: `override every component's strategy: ${STRATEGIES.join(', ')}` })
    .option('lock', { type: 'string', requiresArg: true, describe: 'use this lock record (from an earlier plan) instead of asking the remotes' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout' });
}

/** Options that name a file or directory: an empty value is a mistake, not "the default". */
function checkPaths(a: Record<string, unknown>): void {
  // (--config and --cache-dir are checked where the settings are read, src/settings/settings.ts.)
  for (const k of ['recipes', 'artifacts', 'lock', 'manifest', 'signing-key', 'publish-dir']) {
    if (a[k] === '') throw new UsageError(`--${k} is empty`, `give a path, or leave --${k} out for the default`);
  }
}

export async function settingsFrom(a: CommonArgs): Promise<Settings> {
  checkPaths(a as unknown as Record<string, unknown>);
  return loadSettings({ config: a.config, mirror: a.mirror, cacheDir: a['cache-dir'], noBuildCache: a['build-cache'] === false });
}

/** The recipes directory the options name (undefined: the shipped recipes). */
export function recipesDir(a: Pick<CommonArgs, 'recipes'>): string | undefined {
  return a.recipes && resolve(a.recipes);
}

/** The recipe of the branch (or pinned release tag) named on the command line: an unknown one is refused. */
export async function branchRecipe(a: Pick<CommonArgs, 'recipes'> & { branch: string }): Promise<BranchRecipe> {
  return findBranch(await loadRecipes(recipesDir(a)), a.branch);
}

export function checkStrategy(s: string | undefined): Strategy | undefined {
  if (s === undefined) return undefined;
  if (!(STRATEGIES as readonly string[]).includes(s)) throw new UsageError(`unknown strategy ${quote(s)}`, `supported strategies: ${STRATEGIES.join(', ')}`);
  return s as Strategy;
}

export const PAUSE_IMAGE_OPTION = { type: 'string', describe: 'pause_image written into a crio.conf.d drop-in, for sites whose default registry is unreachable' } as const;

export function pauseImageOption(image: string | undefined): string | undefined {
  if (image === undefined) return undefined;
  try {
    checkPauseImage(image);
  } catch (err) {
    throw new UsageError(`--pause-image: ${(err as Error).message}`);
  }
  return image;
}

/** A branch command's options, checked, as the pipeline's options for a run up to `until` (plan, fetch). */
export async function branchPipelineOptions(a: BranchArgs, until: StageName): Promise<PipelineOptions> {
  const arch = checkArch(a.arch);
  const strategy = checkStrategy(a.strategy);
  const pauseImage = pauseImageOption(a['pause-image']);
  const settings = await settingsFrom(a);
  return { branch: a.branch, arch, strategy, settings, recipesDir: recipesDir(a), artifactsDir: resolve(a.artifacts), lockFile: a.lock, until, force: a.force, pauseImage };
}

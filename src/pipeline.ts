/**
 * The stage order, in one place (GoReleaser-style): each stage is a name and one run function that
 * takes the previous stages' typed results from the context. The CLI calls runPipeline and renders
 * events; it never does a stage's work itself.
 */
import { join, resolve as resolvePath } from 'node:path';
import type { Settings } from './config.js';
import { CrioBuildError, ExitCode } from './errors.js';
import { plan, type Plan } from './farm/planner.js';
import { loadRecipes, type RecipeSet } from './recipe/loader.js';
import { readLock, writeLock } from './recipe/lock.js';
import { findBranch, resolve, type Resolution } from './recipe/resolver.js';
import type { Arch, Strategy } from './recipe/schema.js';
import { fetchAll, type Fetched } from './source/fetch.js';
import { buildAll, type BuiltComponentOutcome } from './farm/build-stage.js';
import { packageAll, packagesDir, type PackageStageResult } from './package/stage.js';

export interface PipelineOptions {
  branch: string;
  arch: Arch;
  strategy?: Strategy;
  settings: Settings;
  recipesDir?: string;
  artifactsDir: string;
  /** Use this lock record instead of asking the remotes. */
  lockFile?: string;
  /** The last stage to run. */
  until: StageName;
  /** Rebuild even what the cache has. */
  force?: boolean;
  /** pause_image for sites whose default registry is unreachable (--pause-image). */
  pauseImage?: string;
}

export interface PipelineEvents {
  stage?: (name: StageName, state: 'start' | 'done' | 'skipped', detail?: string) => void;
  step?: (stage: StageName, message: string) => void;
  progress?: (stage: StageName, what: string, done: number, total: number | undefined) => void;
}

export interface Context {
  opts: PipelineOptions;
  events: PipelineEvents;
  recipes?: RecipeSet;
  resolution?: Resolution;
  lockPath?: string;
  plan?: Plan;
  fetched?: Fetched;
  built?: BuiltComponentOutcome[];
  packaged?: PackageStageResult;
}

interface Stage {
  name: StageName;
  run(ctx: Context): Promise<void>;
}

export const STAGE_NAMES = ['load', 'resolve', 'plan', 'fetch', 'build', 'package', 'index', 'publish'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Stages later issues add; until they exist the pipeline says so instead of pretending success. */
export class StageNotBuiltError extends CrioBuildError {
  constructor(readonly stages: StageName[]) {
    super(`stages not built yet: ${stages.join(', ')}; nothing was built or published`, ExitCode.notBuiltYet, 'the plan and the fetched sources are ready; `crio-build plan` shows them');
  }
}

export function lockPathFor(artifactsDir: string, branch: string): string {
  return join(artifactsDir, branch, 'crio-build.lock.json');
}

const stages: Stage[] = [
  {
    name: 'load',
    async run(ctx) {
      ctx.recipes = await loadRecipes(ctx.opts.recipesDir);
      findBranch(ctx.recipes, ctx.opts.branch);
    },
  },
  {
    name: 'resolve',
    async run(ctx) {
      const recipes = ctx.recipes!;
      const branch = findBranch(recipes, ctx.opts.branch);
      if (ctx.opts.lockFile) {
        ctx.resolution = await readLock(ctx.opts.lockFile, branch.name, Object.keys(branch.components));
        ctx.lockPath = resolvePath(ctx.opts.lockFile);
        ctx.events.step?.('resolve', `using lock ${ctx.opts.lockFile} (resolved ${ctx.resolution.resolvedAt})`);
        return;
      }
      ctx.resolution = await resolve(recipes, branch.name, ctx.opts.settings, { onStep: (m) => ctx.events.step?.('resolve', m) });
      ctx.lockPath = lockPathFor(ctx.opts.artifactsDir, branch.name);
      await writeLock(ctx.lockPath, ctx.resolution);
    },
  },
  {
    name: 'plan',
    async run(ctx) {
      ctx.plan = await plan(ctx.recipes!, ctx.resolution!, ctx.opts.settings, { arch: ctx.opts.arch, strategy: ctx.opts.strategy });
    },
  },
  {
    name: 'fetch',
    async run(ctx) {
      ctx.fetched = await fetchAll(ctx.plan!, ctx.opts.settings, {
        onStep: (m) => ctx.events.step?.('fetch', m),
        onProgress: (what, done, total) => ctx.events.progress?.('fetch', what, done, total),
      });
    },
  },
  {
    name: 'build',
    async run(ctx) {
      ctx.built = await buildAll(ctx.plan!, ctx.fetched!, {
        settings: ctx.opts.settings,
        artifactsDir: ctx.opts.artifactsDir,
        force: ctx.opts.force,
        onEvent: (e) => ctx.events.step?.('build', e.message),
      });
      for (const b of ctx.built) {
        ctx.events.step?.('build', `${b.component.name}: ${b.cacheHit ? 'cached' : `built in ${b.result.seconds.toFixed(0)}s`} -> ${b.outDir}`);
      }
    },
  },
  {
    name: 'package',
    async run(ctx) {
      const plan = ctx.plan!;
      ctx.packaged = await packageAll({
        branch: plan.branch,
        kubernetes: plan.kubernetes,
        arch: plan.arch,
        components: ctx.built!.map((b) => ({
          name: b.component.name,
          version: b.component.source.version,
          commit: b.component.source.commit,
          commitTime: b.component.source.commitTime,
          arch: plan.arch,
          outDir: b.outDir,
          shlibsDepends: b.result.shlibsDepends,
        })),
        outDir: packagesDir(ctx.opts.artifactsDir, plan.branch, plan.arch),
        pauseImage: ctx.opts.pauseImage,
        onStep: (m) => ctx.events.step?.('package', m),
      });
      for (const w of ctx.packaged.warnings) ctx.events.step?.('package', `warning: ${w}`);
    },
  },
];

export async function runPipeline(opts: PipelineOptions, events: PipelineEvents = {}): Promise<Context> {
  const ctx: Context = { opts, events };
  const last = STAGE_NAMES.indexOf(opts.until);
  for (const stage of stages) {
    if (STAGE_NAMES.indexOf(stage.name) > last) break;
    events.stage?.(stage.name, 'start');
    await stage.run(ctx);
    events.stage?.(stage.name, 'done');
  }
  const missing = STAGE_NAMES.filter((n, i) => i <= last && !stages.some((s) => s.name === n));
  if (missing.length) throw Object.assign(new StageNotBuiltError(missing), { context: ctx });
  return ctx;
}

/**
 * The stage order, in one place (GoReleaser-style): each stage is a name and one run function that
 * takes the previous stages' typed results from the context. The CLI calls runPipeline and renders
 * events; it never does a stage's work itself.
 */
import { join, resolve as resolvePath } from 'node:path';
import type { Settings } from '../settings/settings.js';
import { plan, type Plan } from '../plan/planner.js';
import { loadRecipes, type RecipeSet } from '../recipe/loader.js';
import { readLock, writeLock } from '../source/lock.js';
import { findBranch, resolveSources, type Resolution } from '../source/resolver.js';
import type { Arch, Strategy } from '../recipe/schema.js';
import { fetchAll, type Fetched } from '../fetch/fetch-all.js';
import { buildAll, type BuiltComponentOutcome } from '../build/build-all.js';
import { packageAll, packagesDir, type PackageStageResult } from '../package/package-all.js';
import { firstLine as firstLineOf, JobLog, ranFrom, type JobRecord } from './jobs.js';
import type { HostPool } from '../hosts/pool.js';
import { buildProvenanceOf, makeRecord, readRecord, releaseTagFor, writeRecord } from '../package/record.js';
import { recordedComponent } from '../build/outputs.js';
import { packagedKey, recordIntact, resultFromRecord } from '../package/package-cache.js';
import { recordedBuild, runStart, type RunStart } from '../package/invocation.js';
import { indexRelease, type IndexedRelease, type IndexOptions } from '../index/index-release.js';
import { publishRelease, type PublishOptions, type PublishOutcome } from '../publish/publish-release.js';

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
  /** Signing key, Valid-Until, base URL for the apt index (the index stage). */
  index?: Omit<IndexOptions, 'artifactsDir' | 'branch' | 'tag' | 'onStep' | 'cacheDir'>;
  /** Where the publish stage sends the release; the directory publisher when absent. */
  publish?: PublishOptions;
  /** Summary records are added here (a nightly passes one log for the whole matrix). */
  jobs?: JobLog;
  /** Prefix of job ids in the summary; "<branch>/<arch>" when absent. */
  label?: string;
  /** The farm's hosts, shared with other runs (a nightly's branches and arches); the build stage connects its own when absent. */
  pool?: HostPool;
  /** Runs each stage (`run`): a nightly uses it to take turns on what its runs must not do at once. */
  around?: (stage: StageName, run: () => Promise<void>) => Promise<void>;
}

/** Where a run's progress goes; the CLI implements it (src/cli/reporter.ts), per terminal, Actions or log. */
export interface Reporter {
  /** Events for one branch/arch run, shown under `label`. */
  events(label: string): PipelineEvents;
  /** A line that is not about one job (a note, a warning). */
  note(message: string): void;
  /** Stops the live display and prints the summary table (and the Actions job summary). */
  finish(jobs: JobRecord[], title: string, footer?: string[]): void;
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
  packagedFromCache?: boolean;
  indexed?: IndexedRelease;
  published?: PublishOutcome;
  jobs: JobLog;
  /** When and how this run started, for the release record's provenance. */
  start: RunStart;
}

interface Stage {
  name: StageName;
  run(ctx: Context): Promise<void>;
}

export const STAGE_NAMES = ['load', 'resolve', 'plan', 'fetch', 'build', 'package', 'index', 'publish'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

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
      ctx.resolution = await resolveSources(recipes, branch.name, ctx.opts.settings, { onStep: (m) => ctx.events.step?.('resolve', m) });
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
        pool: ctx.opts.pool,
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
      const outDir = packagesDir(ctx.opts.artifactsDir, plan.branch, plan.arch);
      const key = await packagedKey(plan, ctx.opts.pauseImage);
      const previous = await readRecord(outDir);
      if (!ctx.opts.force && previous?.key === key && (await recordIntact(outDir, previous))) {
        ctx.packaged = resultFromRecord(outDir, previous);
        ctx.packagedFromCache = true;
        ctx.events.step?.('package', `unchanged (key ${key.slice(0, 12)}): ${ctx.packaged.debs.length} packages and the bundle in ${outDir}`);
        return;
      }
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
          // Source, licence, toolchain, builder and environment: for the SBOMs and .buildinfo files.
          provenance: buildProvenanceOf(recordedComponent(b.component, b)),
        })),
        outDir,
        pauseImage: ctx.opts.pauseImage,
        // Unless --force, the stage keeps each file whose own key is unchanged (package/keys.ts).
        force: ctx.opts.force,
        onStep: (m) => ctx.events.step?.('package', m),
      });
      for (const w of ctx.packaged.warnings) ctx.events.step?.('package', `warning: ${w}`);
      const build = await recordedBuild({ start: ctx.start, settings: ctx.opts.settings, lock: ctx.resolution!, recipesDir: ctx.opts.recipesDir, strategy: ctx.opts.strategy, pauseImage: ctx.opts.pauseImage });
      await writeRecord(outDir, makeRecord(plan, ctx.built!, ctx.packaged, key, new Date(), build));
    },
  },
  {
    name: 'index',
    async run(ctx) {
      const plan = ctx.plan!;
      ctx.indexed = await indexRelease({
        ...ctx.opts.index,
        cacheDir: ctx.opts.settings.cacheDir,
        artifactsDir: ctx.opts.artifactsDir,
        branch: plan.branch,
        tag: releaseTagFor(plan).tag,
        onStep: (m) => ctx.events.step?.('index', m),
      });
    },
  },
  {
    name: 'publish',
    async run(ctx) {
      ctx.published = await publishRelease(ctx.indexed!, ctx.opts.publish ?? { target: 'directory' }, (m) => ctx.events.step?.('publish', m));
    },
  },
];

export async function runPipeline(opts: PipelineOptions, events: PipelineEvents = {}): Promise<Context> {
  const ctx: Context = { opts, events, jobs: opts.jobs ?? new JobLog(), start: runStart() };
  return runStages(ctx, 0, opts.until);
}

/**
 * Go on with a run that stopped after `ctx.opts.until`, up to `until`, with the same context (its
 * plan and packages): a nightly packages every arch of a branch first, then indexes and publishes
 * the branch once from one of them.
 */
export async function resumePipeline(ctx: Context, until: StageName, events: PipelineEvents = ctx.events): Promise<Context> {
  const from = STAGE_NAMES.indexOf(ctx.opts.until) + 1;
  ctx.opts = { ...ctx.opts, until };
  ctx.events = events;
  return runStages(ctx, from, until);
}

async function runStages(ctx: Context, from: number, until: StageName): Promise<Context> {
  const { opts, events } = ctx;
  const label = opts.label ?? `${opts.branch}/${opts.arch}`;
  // index and publish make the branch's release (every arch in it), so they are the branch's jobs.
  const jobId = (name: StageName) => (name === 'index' || name === 'publish' ? `${opts.branch} ${name}` : `${label} ${name}`);
  const last = STAGE_NAMES.indexOf(until);
  const todo = stages.filter((s) => STAGE_NAMES.indexOf(s.name) >= from && STAGE_NAMES.indexOf(s.name) <= last);
  for (const [i, stage] of todo.entries()) {
    events.stage?.(stage.name, 'start');
    // From when the stage itself starts (not while `around` makes it wait its turn).
    let t0 = Date.now();
    const run = () => {
      t0 = Date.now();
      return stage.run(ctx);
    };
    try {
      await (opts.around ? opts.around(stage.name, run) : run());
    } catch (err) {
      if (stage.name !== 'build') ctx.jobs.add({ id: jobId(stage.name), state: 'failed', ...ranFrom(t0), detail: firstLine(err) });
      else recordBuilds(ctx, label, err);
      for (const later of todo.slice(i + 1)) ctx.jobs.skip(jobId(later.name), `${stage.name} failed`);
      throw Object.assign(err as object, { context: ctx });
    }
    if (stage.name === 'build') recordBuilds(ctx, label);
    else if (JOB_STAGES.has(stage.name)) ctx.jobs.add({ id: jobId(stage.name), ...stageDetail(ctx, stage.name), ...ranFrom(t0) });
    events.stage?.(stage.name, 'done');
  }
  return ctx;
}

/** Stages that are jobs in the summary (load, resolve and plan are bookkeeping). */
const JOB_STAGES = new Set<StageName>(['fetch', 'package', 'index', 'publish']);

function stageDetail(ctx: Context, name: StageName): { state: 'ok' | 'cached' | 'unchanged'; detail: string } {
  switch (name) {
    case 'fetch': {
      const f = ctx.fetched!;
      const downloaded = Object.values(f.toolchains).filter((t) => t.downloaded).length;
      return { state: downloaded ? 'ok' : 'cached', detail: `${Object.keys(f.sources).length} sources, ${Object.keys(f.toolchains).length} toolchains (${downloaded} downloaded)` };
    }
    case 'package':
      return { state: ctx.packagedFromCache ? 'cached' : 'ok', detail: `${ctx.packaged!.debs.length} .debs + ${ctx.packaged!.bundle.file}` };
    case 'index':
      return { state: ctx.indexed!.changed ? 'ok' : 'unchanged', detail: `${ctx.indexed!.tag}: ${ctx.indexed!.files.length} files${ctx.indexed!.signed ? ', signed' : ', UNSIGNED'}` };
    case 'publish':
      return { state: ctx.published!.changed ? 'ok' : 'unchanged', detail: ctx.published!.summary };
    default:
      return { state: 'ok', detail: '' };
  }
}

function recordBuilds(ctx: Context, label: string, err?: unknown): void {
  // On failure the build stage's error carries what did build (cached for the rerun) and what failed.
  const partial = err as { built?: BuiltComponentOutcome[]; failures?: Array<{ name: string; error: Error }> } | undefined;
  const platform = (b: BuiltComponentOutcome) => (b.component.strategy === 'emulate' ? ctx.plan!.arch : ctx.plan!.hostArch);
  for (const b of ctx.built ?? partial?.built ?? []) {
    ctx.jobs.add({
      id: `${label} build:${b.component.name}`,
      state: b.cacheHit ? 'cached' : 'ok',
      seconds: b.cacheHit ? 0 : b.result.seconds,
      detail: `${b.component.source.version} (${b.component.strategy}) key ${b.component.buildKey.slice(0, 12)}${b.sharedFrom ? `, built in this run for ${b.sharedFrom}` : ''}`,
      ...(b.host ? { host: b.host } : {}),
      ...(b.startedAt !== undefined ? { startedAt: new Date(b.startedAt).toISOString(), endedAt: new Date(b.endedAt ?? b.startedAt).toISOString() } : {}),
      platform: platform(b),
    });
  }
  if (partial?.failures) {
    for (const f of partial.failures) ctx.jobs.add({ id: `${label} build:${f.name}`, state: 'failed', seconds: 0, detail: firstLine(f.error) });
  } else if (err) ctx.jobs.add({ id: `${label} build`, state: 'failed', seconds: 0, detail: firstLine(err) });
}

function firstLine(err: unknown): string {
  return firstLineOf((err as Error)?.message ?? String(err));
}

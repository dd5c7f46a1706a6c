/**
 * Build stage: Plan + fetched sources -> one build per component, spread over the farm's Docker
 * hosts (src/hosts/pool.ts: a p-queue per host, native hosts first, jobs moved off a host that goes away),
 * each output stored in the cache under its content key. A job whose key is already there is a
 * cache hit and is not built again (unless forced). The host is not part of the key.
 *
 * A build's key includes its builder's key, which comes from what is in the builder image (every
 * installed Debian package's version, the base's content): so the builder images are found (or
 * made) first, on whichever host has them, the plan's keys are settled from them, and only then is
 * the cache asked. An unchanged rerun only inspects the images.
 */
import { cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultHostConfig, type HostConfig, type Settings } from '../settings/settings.js';
import { CrioBuildError, ExitCode } from '../core/errors.js';
import { builderSpecFor, type BuilderImage, type BuilderProvenance, type BuilderSpec } from '../hosts/images/builder-image.js';
import type { OnBuilderEvent } from '../hosts/events.js';
import { runBuild } from './run-build.js';
import { removeStoppedContainers } from '../hosts/containers.js';
import type { BuildJob, BuildResult } from '../plan/build-job.js';
import type { Fetched } from '../fetch/fetch-all.js';
import { tempNameFor, writeFileAtomic } from '../core/atomic.js';
import { refreshKeys, settleKeys, type Plan, type PlannedComponent } from '../plan/planner.js';
import { buildKey } from '../plan/keys.js';
import { recordedComponent, writeBuiltComponentRecord, writeComponentProvenance } from './outputs.js';
import { HostPool, type AttemptContext, type FarmJob, type PoolOptions } from '../hosts/pool.js';

export interface BuildStageOptions {
  settings: Settings;
  artifactsDir: string;
  /** Build again even when the cache has this key. */
  force?: boolean;
  /** Builds at once on the local engine, when no hosts are configured (default 2). */
  concurrency?: number;
  /** The farm's Docker hosts; default `settings.hosts`, else the local engine. */
  hosts?: HostConfig[];
  /** An already connected pool (it is not closed here); `hosts` is then ignored. */
  pool?: HostPool;
  /** Retries, health-check interval and ping timeout of the pool made here. */
  poolOptions?: Omit<PoolOptions, 'onEvent'>;
  onEvent?: OnBuilderEvent;
  onLine?: (component: string, line: string) => void;
}

/** What a build recorded in the cache: the builder's result and the farm host that ran it. */
export interface FarmBuildResult extends BuildResult {
  /** The farm host that built it (absent in results cached before hosts were recorded). */
  host?: string;
  /** The builder it was built in: its key, image, base and every installed Debian package. */
  builder?: BuilderProvenance;
}

export interface BuiltComponentOutcome {
  component: PlannedComponent;
  result: FarmBuildResult;
  /** Where the outputs are, under artifacts/<branch>/<arch>/build/<component>. */
  outDir: string;
  cacheHit: boolean;
  /** The host that built the outputs: this run's, or for a cache hit the one that built the cached outputs, if recorded. */
  host?: string;
  /** Attempts this run made (2 or more when a host went away under it); 0 for a cache hit. */
  attempts: number;
  /** When the attempt that made it ran (ms since the epoch); absent for a cache hit. */
  startedAt?: number;
  endedAt?: number;
  /** Built in this run for another branch or arch sharing the pool (same key): its "<branch>/<arch>". */
  sharedFrom?: string;
}

/** What the one build of a key tells the other runs sharing the pool that waited for it. */
interface SharedBuild {
  /** The key it was stored under (a host that made its own builder changes it). */
  key: string;
  /** "<branch>/<arch>" of the run that built it (or found it in the cache). */
  by: string;
  /** Found in the cache, not built in this run. */
  cached: boolean;
}

export function buildCacheDir(settings: Settings, key: string): string {
  return join(settings.cacheDir, 'builds', key);
}

export async function buildAll(plan: Plan, fetched: Fetched, opts: BuildStageOptions): Promise<BuiltComponentOutcome[]> {
  const base = join(opts.artifactsDir, plan.branch, plan.arch);
  const outcomes = new Map<string, BuiltComponentOutcome>();
  // Keys this run claimed for every run sharing the pool; each settled when its build is.
  const mine = new Map<string, { resolve: (s: SharedBuild) => void; reject: (e: Error) => void }>();
  const pool = opts.pool ?? (await HostPool.connect(opts.hosts ?? opts.settings.hosts ?? [defaultHostConfig(opts.concurrency ?? 2)], { ...opts.poolOptions, onEvent: opts.onEvent }));
  try {
    const builderOptions = { onEvent: opts.onEvent, base: { debCacheDir: join(opts.settings.cacheDir, 'debootstrap') } };
    // Containers an earlier run could not remove (its engine restarted or went away under it).
    // Not on a pool shared with other runs (a nightly): one of their builds may just have exited.
    for (const h of opts.pool ? [] : pool.upHosts()) {
      const removed = await removeStoppedContainers(h.driver).catch(() => [] as string[]);
      if (removed.length > 0) opts.onEvent?.({ scope: 'build', phase: 'host', message: `host ${h.name}: removed ${removed.length} stopped container(s) an earlier run left (${removed.join(', ')})` });
    }

    // The builders first: their keys (from what their images hold) decide the builds' keys.
    const specs = new Map<string, BuilderSpec>();
    for (const c of plan.components) specs.set(c.builderJob, builderSpecFor(toJob(c, fetched, plan, ''), plan.hostArch));
    const images = new Map<string, BuilderImage>();
    await Promise.all([...specs].map(async ([job, spec]) => images.set(job, await pool.anyBuilderImage(spec, builderOptions))));
    settleKeys(plan, new Map([...images].map(([job, img]) => [job, { key: img.key, baseDigest: img.provenance.base.digest }])));

    const label = `${plan.branch}/${plan.arch}`;
    const misses: PlannedComponent[] = [];
    // Keys another run of the pool builds (or built): waited for, not built again.
    const others: Array<{ c: PlannedComponent; result: Promise<SharedBuild> }> = [];
    for (const c of plan.components) {
      const cached = buildCacheDir(opts.settings, c.buildKey);
      // Checked and claimed with no await in between: two runs never both claim a key.
      const claim = pool.once<SharedBuild>(c.buildKey, () => new Promise((resolve, reject) => mine.set(c.name, { resolve, reject })));
      if (!claim.first) {
        others.push({ c, result: claim.result });
        continue;
      }
      if (opts.force || !existsSync(join(cached, 'result.json'))) {
        misses.push(c);
        continue;
      }
      mine.get(c.name)!.resolve({ key: c.buildKey, by: label, cached: true });
      mine.delete(c.name);
      opts.onEvent?.({ scope: 'build', phase: 'cache', message: `${c.name}/${plan.arch}: cache hit ${c.buildKey.slice(0, 12)} (builder ${images.get(c.builderJob)!.key.slice(0, 12)})` });
      const result = JSON.parse(await readFile(join(cached, 'result.json'), 'utf8')) as FarmBuildResult;
      const outDir = join(base, 'build', c.name);
      await publishOutputs(join(cached, 'out'), outDir);
      const outcome: BuiltComponentOutcome = { component: c, result: { ...result, builder: result.builder ?? images.get(c.builderJob)!.provenance }, outDir, cacheHit: true, host: result.host, attempts: 0 };
      await recordFor(outcome, plan, base);
      outcomes.set(c.name, outcome);
    }

    const failed: Array<{ name: string; error: Error }> = [];
    // Waiting for the builds other runs of the pool make, while this run's own go on.
    const waitForOthers = Promise.all(
      others.map(async ({ c, result }) => {
        let made: SharedBuild;
        try {
          made = await result;
        } catch (err) {
          failed.push({ name: c.name, error: new CrioBuildError(`the same build (key ${c.buildKey.slice(0, 12)}) failed for another branch or arch of this run: ${(err as Error).message}`, ExitCode.jobFailed) });
          return;
        }
        try {
          await takeShared(c, made);
        } catch (err) {
          failed.push({ name: c.name, error: err as Error });
        }
      }),
    );
    // A build another run of the pool made: its outputs from the cache, as for a cache hit.
    async function takeShared(c: PlannedComponent, made: SharedBuild): Promise<void> {
      opts.onEvent?.({ scope: 'build', phase: 'cache', message: `${c.name}/${plan.arch}: ${made.cached ? 'cache hit' : `built in this run for ${made.by}`} (key ${made.key.slice(0, 12)})` });
      c.buildKey = made.key;
      const stored = buildCacheDir(opts.settings, made.key);
      const result0 = JSON.parse(await readFile(join(stored, 'result.json'), 'utf8')) as FarmBuildResult;
      const outDir = join(base, 'build', c.name);
      await publishOutputs(join(stored, 'out'), outDir);
      const outcome: BuiltComponentOutcome = { component: c, result: result0, outDir, cacheHit: true, host: result0.host, attempts: 0, ...(made.cached ? {} : { sharedFrom: made.by }) };
      await recordFor(outcome, plan, base);
      outcomes.set(c.name, outcome);
    }

    if (misses.length > 0) {
      // One attempt of one component on one host: ensure the builder image there (seeded from
      // another host when it has it), build into a scratch dir, then move it into the cache.
      const attempt = async (c: PlannedComponent, spec: BuilderSpec, ctx: AttemptContext): Promise<BuiltComponentOutcome> => {
        const startedAt = Date.now();
        const outDir = join(base, 'build', c.name);
        const logFile = join(base, 'logs', `${c.name}.log`);
        // The log of the attempt on the host that went away is kept beside the new one.
        if (ctx.movedFrom) await rename(logFile, join(base, 'logs', `${c.name}.attempt${ctx.attempt - 1}-${ctx.movedFrom.host}.log`)).catch(() => undefined);
        const job = toJob(c, fetched, plan, logFile);
        const builderImage = await pool.builderImage(ctx.host, spec, builderOptions);
        // Copied from the host that had it, the image is the same; a host that had to make its own
        // may have other package versions, and then this build is another build with its own key.
        if (builderImage.key !== images.get(c.builderJob)!.key) {
          const key = buildKey(c.buildInputs, builderImage.key);
          opts.onEvent?.({ scope: 'build', phase: 'host', message: `${c.name}: host ${ctx.host.name} made its own builder (key ${builderImage.key.slice(0, 12)}, not ${images.get(c.builderJob)!.key.slice(0, 12)}): build key ${key.slice(0, 12)}` });
          c.buildKey = key;
          refreshKeys(plan);
        }
        const cached = buildCacheDir(opts.settings, c.buildKey);
        const scratch = tempNameFor(cached);
        job.outDir = join(scratch, 'out');
        try {
          const built = await runBuild(job, { driver: ctx.host.driver, hostArch: plan.hostArch, builderImage, goCache: opts.settings.goBuildCache, onEvent: opts.onEvent, onLine: (l) => opts.onLine?.(c.name, l) });
          // Given up on (its host was declared gone): the retry elsewhere owns the cache entry.
          if (ctx.signal.aborted) throw new Error(`${c.name}: attempt on ${ctx.host.name} was given up`);
          const result: FarmBuildResult = { ...built, host: ctx.host.name, builder: builderImage.provenance };
          await writeFileAtomic(join(scratch, 'result.json'), JSON.stringify(result, null, 2) + '\n');
          await rm(cached, { recursive: true, force: true });
          await mkdir(join(cached, '..'), { recursive: true });
          await rename(scratch, cached);
          await publishOutputs(join(cached, 'out'), outDir);
          const outcome: BuiltComponentOutcome = { component: c, result, outDir, cacheHit: false, host: ctx.host.name, attempts: ctx.attempt, startedAt, endedAt: Date.now() };
          await recordFor(outcome, plan, base);
          // Those waiting for this key (other branches or arches) take it from the cache now.
          mine.get(c.name)?.resolve({ key: c.buildKey, by: label, cached: false });
          return outcome;
        } finally {
          await rm(scratch, { recursive: true, force: true });
        }
      };

      const jobs: FarmJob<BuiltComponentOutcome>[] = misses.map((c) => {
        // The builder is the plan's (its strategy and toolchain arch); the host is picked by where that platform is native.
        const spec = specs.get(c.builderJob)!;
        // The id names the branch and arch: runs of a nightly share the pool and its messages.
        return { id: `${label} ${c.name}`, platform: spec.platform, run: (ctx) => attempt(c, spec, ctx) };
      });
      // Every build runs to its end even when another fails: what succeeded is cached for the rerun.
      const settled = await pool.run(jobs);
      settled.forEach((s, i) => {
        const c = misses[i]!;
        if (s.status === 'done') outcomes.set(c.name, s.value);
        else {
          failed.push({ name: c.name, error: s.error });
          mine.get(c.name)?.reject(s.error);
        }
      });
    }
    await waitForOthers;
    if (others.length > 0) refreshKeys(plan); // a waited-for build's key may be another (its host made its own builder)
    if (failed.length > 0) {
      const err = failed.length === 1 ? failed[0]!.error : new CrioBuildError(`${failed.length} builds failed:\n${failed.map((f) => `- ${f.name}: ${f.error.message}`).join('\n')}`, ExitCode.jobFailed);
      // The summary lists every component: what was built (and cached for the rerun) and what failed.
      throw Object.assign(err, { built: [...outcomes.values()], failures: failed });
    }
    return plan.components.map((c) => outcomes.get(c.name)!);
  } finally {
    if (!opts.pool) await pool.close();
    // Nothing left for a waiter to hang on (a throw before or inside the build).
    for (const d of mine.values()) d.reject(new Error('the build was not made (the run stopped before it)'));
  }
}

/**
 * Beside the outputs: build/<component>.json, what `crio-build package` packages them with, and
 * provenance/<component>.json, what it records them with (so `crio-build publish` finds them).
 */
async function recordFor(o: BuiltComponentOutcome, plan: Plan, base: string): Promise<void> {
  const c = o.component;
  await writeBuiltComponentRecord(join(base, 'build'), {
    name: c.name,
    version: c.source.version,
    commit: c.source.commit,
    commitTime: c.source.commitTime,
    arch: plan.arch,
    shlibsDepends: o.result.shlibsDepends,
  });
  await writeComponentProvenance(join(base, 'provenance'), recordedComponent(c, o));
}

function toJob(c: PlannedComponent, fetched: Fetched, plan: Plan, logFile: string): BuildJob {
  const source = fetched.sources[c.name]!;
  const tarball = fetched.toolchains[`${c.toolchain.name}:${c.toolchain.arch}`]!;
  return {
    component: c.name,
    arch: plan.arch,
    strategy: c.strategy,
    build: c.build,
    source: { repoPath: source.repoPath, commit: source.commit, commitTime: source.commitTime, url: c.source.url },
    version: c.source.version,
    toolchain: { name: c.toolchain.name, version: c.toolchain.version, tarball: tarball.path, sha256: c.toolchain.sha256, root: c.toolchain.root, arch: c.toolchain.arch, env: c.toolchain.env },
    outDir: '',
    logFile,
  };
}

/** Replace artifacts/.../build/<component> with a copy of the cached outputs, atomically. */
async function publishOutputs(from: string, to: string): Promise<void> {
  const tmp = tempNameFor(to);
  await mkdir(join(to, '..'), { recursive: true });
  try {
    await cp(from, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await rm(to, { recursive: true, force: true });
    await rename(tmp, to);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

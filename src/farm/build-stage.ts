/**
 * Build stage: Plan + fetched sources -> one build per component, run in parallel through p-queue,
 * each output stored in the cache under its content key. A job whose key is already there is a
 * cache hit and is not built again (unless forced).
 */
import { cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { Settings } from '../config.js';
import { CrioBuildError, ExitCode } from '../errors.js';
import { ensureBuilderImage, builderSpecFor, type BuilderImage } from '../builder/builder-image.js';
import { connectDocker, type DockerDriver } from '../builder/docker.js';
import type { OnBuilderEvent } from '../builder/events.js';
import { runBuild } from '../builder/run-build.js';
import type { BuildJob, BuildResult } from '../builder/types.js';
import type { Fetched } from '../source/fetch.js';
import { tempNameFor, writeFileAtomic } from '../util/atomic.js';
import type { Plan, PlannedComponent } from './planner.js';
import { writeBuiltComponentRecord } from '../package/stage.js';

export interface BuildStageOptions {
  settings: Settings;
  artifactsDir: string;
  /** Build again even when the cache has this key. */
  force?: boolean;
  /** Builds at once on the local engine. */
  concurrency?: number;
  onEvent?: OnBuilderEvent;
  onLine?: (component: string, line: string) => void;
}

export interface BuiltComponentOutcome {
  component: PlannedComponent;
  result: BuildResult;
  /** Where the outputs are, under artifacts/<branch>/<arch>/build/<component>. */
  outDir: string;
  cacheHit: boolean;
}

export function buildCacheDir(settings: Settings, key: string): string {
  return join(settings.cacheDir, 'builds', key);
}

export async function buildAll(plan: Plan, fetched: Fetched, opts: BuildStageOptions): Promise<BuiltComponentOutcome[]> {
  const driver = await connectDocker();
  await driver.ping();
  const hostArch = await driver.hostArch();
  const images = new Map<string, Promise<BuilderImage>>();
  const queue = new PQueue({ concurrency: opts.concurrency ?? 2 });
  const base = join(opts.artifactsDir, plan.branch, plan.arch);

  const one = async (c: PlannedComponent): Promise<BuiltComponentOutcome> => {
    const cached = buildCacheDir(opts.settings, c.buildKey);
    const outDir = join(base, 'build', c.name);
    if (!opts.force && existsSync(join(cached, 'result.json'))) {
      opts.onEvent?.({ scope: 'build', phase: 'cache', message: `${c.name}/${plan.arch}: cache hit ${c.buildKey.slice(0, 12)}` });
      const result = JSON.parse(await readFile(join(cached, 'result.json'), 'utf8')) as BuildResult;
      await publishOutputs(join(cached, 'out'), outDir);
      await recordFor(c, plan, result, base);
      return { component: c, result, outDir, cacheHit: true };
    }
    const job = toJob(c, fetched, plan, join(base, 'logs', `${c.name}.log`));
    const spec = builderSpecFor(job, hostArch);
    const imageKey = JSON.stringify([spec.name, spec.platform, spec.crossTarget ?? null, spec.toolchain.sha256]);
    // One builder image per spec, shared by the components that need it (not built twice in parallel).
    if (!images.has(imageKey)) images.set(imageKey, ensureBuilderImage(driver, spec, { onEvent: opts.onEvent, base: { debCacheDir: join(opts.settings.cacheDir, 'debootstrap') } }));
    const builderImage = await images.get(imageKey)!;

    const scratch = tempNameFor(cached);
    job.outDir = join(scratch, 'out');
    try {
      const result = await runBuild(job, { driver, hostArch, builderImage, onEvent: opts.onEvent, onLine: (l) => opts.onLine?.(c.name, l) });
      await writeFileAtomic(join(scratch, 'result.json'), JSON.stringify(result, null, 2) + '\n');
      await rm(cached, { recursive: true, force: true });
      await mkdir(join(cached, '..'), { recursive: true });
      await rename(scratch, cached);
      await publishOutputs(join(cached, 'out'), outDir);
      await recordFor(c, plan, result, base);
      return { component: c, result, outDir, cacheHit: false };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
  // Every build runs to its end even when another fails: what succeeded is cached for the rerun.
  const settled = await Promise.allSettled(plan.components.map((c) => queue.add(() => one(c)) as Promise<BuiltComponentOutcome>));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ name: plan.components[i]!.name, error: s.reason as Error }] : []));
  if (failed.length === 1) throw failed[0]!.error;
  if (failed.length > 1) {
    throw new CrioBuildError(`${failed.length} builds failed:\n${failed.map((f) => `- ${f.name}: ${f.error.message}`).join('\n')}`, ExitCode.jobFailed);
  }
  return settled.map((s) => (s as PromiseFulfilledResult<BuiltComponentOutcome>).value);
}

/** build/<component>.json beside the outputs: what `crio-build package` reads to package them later. */
async function recordFor(c: PlannedComponent, plan: Plan, result: BuildResult, base: string): Promise<void> {
  await writeBuiltComponentRecord(join(base, 'build'), {
    name: c.name,
    version: c.source.version,
    commit: c.source.commit,
    commitTime: c.source.commitTime,
    arch: plan.arch,
    shlibsDepends: result.shlibsDepends,
  });
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

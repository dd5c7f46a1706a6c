/**
 * The matrix run behind `crio-build nightly`: every branch x arch as one job graph over the farm's
 * Docker hosts, all at once where the hosts and the dependencies allow.
 *
 *   per branch:  <first arch>: resolve (writes the lock) -> plan, fetch -> builds -> package
 *                <other arch>:        (waits for the lock) -> plan, fetch -> builds -> package
 *                when every arch is packaged: index -> publish (once, every arch in the release)
 *
 * Every run shares one HostPool: the builds of all branches and arches go through the same
 * per-host queues (a slot freed by any run goes to the next waiting build of any run), and a build
 * whose content key another run already builds is waited for, not built twice (HostPool.once).
 * The first arch's resolution is the branch's lock, so every arch of a release is built from the
 * same commits. What must not run twice at once in one cache takes turns (the source stages: git
 * and downloads into the cache; index and publish: the signing key, the release tree).
 *
 * A failed job stops only what depends on it: the other arches and branches go on, but a branch
 * with a failed arch is not indexed or published (that would drop the arch from its release).
 */
import { defaultHostConfig } from '../settings/settings.js';
import { removeStoppedContainers } from '../hosts/containers.js';
import { lockPathFor, resumePipeline, runPipeline, type Context, type PipelineOptions, type Reporter, type StageName } from './pipeline.js';
import type { Arch } from '../recipe/schema.js';
import { HostPool } from '../hosts/pool.js';
import { JobLog, ranFrom, type JobRecord } from './jobs.js';

export interface MatrixOptions extends Omit<PipelineOptions, 'branch' | 'arch' | 'until' | 'lockFile' | 'jobs' | 'label' | 'pool' | 'around'> {
  branches: string[];
  arches: Arch[];
  /** Run the publish stage after index (with `publish` as its target). */
  publishing: boolean;
  reporter: Reporter;
  /** Where job records go (the caller's, to render them even when the run throws). */
  jobs?: JobLog;
  /** The farm's hosts, already connected (not closed here); else `settings.hosts`, else the local engine. */
  pool?: HostPool;
}

export interface MatrixResult {
  jobs: JobLog;
  /** The context of every run that got as far as packaging or further. */
  runs: Context[];
}

/** Stages that touch the shared source cache (git fetches, downloads): one run at a time. */
const SOURCE_STAGES = new Set<StageName>(['load', 'resolve', 'plan', 'fetch']);
/** Stages that write a release (signing, the release tree, the publisher): one branch at a time. */
const RELEASE_STAGES = new Set<StageName>(['index', 'publish']);

export async function runMatrix(o: MatrixOptions): Promise<MatrixResult> {
  const jobs = o.jobs ?? new JobLog();
  const runs: Context[] = [];
  const pool = o.pool ?? (await HostPool.connect(o.settings.hosts ?? [defaultHostConfig(2)], { onEvent: (e) => o.reporter.note(e.message) }));
  try {
    // Containers an earlier run could not remove: once, before any build of this run exists.
    for (const h of pool.upHosts()) {
      const removed = await removeStoppedContainers(h.driver).catch(() => [] as string[]);
      if (removed.length > 0) o.reporter.note(`host ${h.name}: removed ${removed.length} stopped container(s) an earlier run left (${removed.join(', ')})`);
    }
    const sources = turns();
    const releases = turns();
    const around = (stage: StageName, run: () => Promise<void>) => (SOURCE_STAGES.has(stage) ? sources(run) : RELEASE_STAGES.has(stage) ? releases(run) : run());

    const runBranch = async (branch: string): Promise<void> => {
      let lockReady!: (ok: boolean) => void;
      const locked = new Promise<boolean>((r) => (lockReady = r));
      const [firstArch] = o.arches;

      const runArch = async (arch: Arch, i: number): Promise<Context | undefined> => {
        const label = `${branch}/${arch}`;
        if (i > 0 && !(await locked)) {
          // Without a resolution there is no lock for the other arches: they would fail the same way.
          jobs.skip(label, `${branch}/${firstArch} could not resolve the pins`);
          return undefined;
        }
        const events = o.reporter.events(label);
        let resolveStarted = 0;
        const first = i === 0;
        try {
          const ctx = await runPipeline(
            {
              ...pipelineOptions(o),
              branch,
              arch,
              until: 'package',
              jobs,
              label,
              pool,
              ...(first ? {} : { lockFile: lockPathFor(o.artifactsDir, branch) }),
              around: (stage, run) =>
                around(stage, async () => {
                  if (!first || stage !== 'resolve') return run();
                  // The branch's resolution is a job of its own: the other arches wait for it.
                  resolveStarted = Date.now();
                  await run();
                  jobs.add({ id: `${branch} resolve`, state: 'ok', ...ranFrom(resolveStarted), detail: `lock for every arch: ${lockPathFor(o.artifactsDir, branch)}` });
                  lockReady(true);
                }),
            },
            events,
          );
          runs.push(ctx);
          return ctx;
        } catch (err) {
          const ctx = (err as { context?: Context }).context;
          if (first) lockReady(Boolean(ctx?.resolution));
          if (!ctx) throw err; // not a job failure (bad recipes dir): the whole run stops
          // The whole message (a failed build's log tail and log path): the summary has one line only.
          o.reporter.note(`${label}: error: ${(err as Error).message}`);
          return undefined;
        }
      };

      const arches = await settleAll(o.arches.map(runArch));
      const release = o.publishing ? ['index', 'publish'] : ['index'];
      if (arches.some((c) => !c)) {
        for (const s of release) jobs.skip(`${branch} ${s}`, 'an arch of this branch failed; its release is left as it was');
        return;
      }
      try {
        // Once, after every arch is packaged: the index gathers every arch's packages.
        await resumePipeline(arches[0]!, o.publishing ? 'publish' : 'index', o.reporter.events(branch));
      } catch (err) {
        if (!(err as { context?: Context }).context) throw err;
        o.reporter.note(`${branch}: error: ${(err as Error).message}`);
      }
    };

    await settleAll(o.branches.map(runBranch));
  } finally {
    if (!o.pool) await pool.close();
    inMatrixOrder(jobs.records, o.branches, o.arches);
  }
  return { jobs, runs };
}

/** Like Promise.all, but only once every promise has settled (nothing left running behind a throw). */
async function settleAll<T>(ps: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(ps);
  const bad = settled.find((s) => s.status === 'rejected');
  if (bad) throw bad.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** One at a time: each call runs after the previous one settled. */
function turns(): (run: () => Promise<void>) => Promise<void> {
  let tail: Promise<unknown> = Promise.resolve();
  return (run) => {
    const next = tail.then(run);
    tail = next.catch(() => undefined);
    return next;
  };
}

/**
 * The jobs finished interleaved; the summary lists them by branch, then arch (the branch's own
 * jobs, resolve first and its release last), each group in the order its jobs finished.
 */
function inMatrixOrder(records: JobRecord[], branches: string[], arches: Arch[]): void {
  const rank = (id: string) => {
    const m = /^(\S+?)(?:\/(\S+))? (\S+)/.exec(id) ?? /^(\S+?)\/(\S+)$/.exec(id);
    const b = m ? branches.indexOf(m[1]!) : -1;
    if (b < 0) return [branches.length, 0];
    const a = m![2] ? arches.indexOf(m![2] as Arch) : m![3] === 'resolve' ? -1 : arches.length;
    return [b, a];
  };
  const ranked = records.map((r, i) => ({ r, i, k: rank(r.id) }));
  ranked.sort((x, y) => x.k[0]! - y.k[0]! || x.k[1]! - y.k[1]! || x.i - y.i);
  records.splice(0, records.length, ...ranked.map((x) => x.r));
}

function pipelineOptions(o: MatrixOptions): Omit<PipelineOptions, 'branch' | 'arch' | 'until'> {
  const { branches: _b, arches: _a, publishing: _p, reporter: _r, jobs: _j, pool: _pool, ...rest } = o;
  return rest;
}

/**
 * The bookkeeping of a build-and-release run, shared by `crio-build <branch>`, `nightly` and
 * `publish`: one run at a time per cache dir and per artifacts dir (a second one waits, and says
 * why, or fails at once), one job log for the summary, and what the run left even when it failed,
 * so that the caller can always end with the summary table and the manifest.
 */
import { JobLog } from './jobs.js';
import type { Context, Reporter } from './pipeline.js';
import { acquireRunLocks, waitingMessage } from './run-lock.js';

/** What a run leaves: a pipeline context, or just a release (the publish command). */
export type RunOutcome = Pick<Context, 'plan' | 'packaged' | 'packagedFromCache' | 'indexed' | 'published'>;

export interface ReleaseRunOptions {
  cacheDir: string;
  artifactsDir: string;
  /** Wait while another run holds the cache or artifacts dir (else fail at once, exit 75). */
  wait: boolean;
}

/** A finished run: its jobs and outcomes, and what stopped it, if anything did. */
export interface ReleaseRun {
  /** When the run started (once it held its locks). */
  startedAt: Date;
  jobs: JobLog;
  runs: RunOutcome[];
  /**
   * An error that stopped the run before or outside a job (bad input, a refused publish), or a
   * failed stage's error: present when the run threw. The caller renders the run, then rethrows it.
   */
  failure?: unknown;
}

/**
 * Runs `run` holding the run locks of the cache and artifacts dirs, with a fresh job log. A run
 * that throws is returned with its failure (and the context of the stage that failed, if any),
 * not thrown: its jobs still go into the summary. Only a lock that cannot be taken throws.
 */
export async function releaseRun(o: ReleaseRunOptions, reporter: Pick<Reporter, 'note'>, run: (jobs: JobLog) => Promise<RunOutcome[]>): Promise<ReleaseRun> {
  const unlock = await acquireRunLocks([o.cacheDir, o.artifactsDir], { wait: o.wait, onWaiting: (holder, dir) => reporter.note(waitingMessage(holder, dir)) });
  const out: ReleaseRun = { startedAt: new Date(), jobs: new JobLog(), runs: [] };
  try {
    out.runs = await run(out.jobs);
  } catch (err) {
    out.failure = err;
    const ctx = (err as { context?: Context }).context;
    if (ctx) out.runs = [ctx];
  } finally {
    await unlock();
  }
  return out;
}

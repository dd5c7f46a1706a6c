/**
 * The matrix run behind `crio-build nightly`: branches x arches on this machine's Docker hosts.
 *
 * For each branch the first arch resolves the pins (one ls-remote per upstream) and writes the lock;
 * the other arches replay that lock, so every arch of a release is built from the same commits. The
 * last arch of a branch also runs index and publish, which gather every arch's packages for the
 * release. A failed job stops only what depends on it: another arch or branch goes on, but a branch
 * with a failed arch is not published (that would drop the arch from its release).
 * Sources, toolchains, builder images and build outputs are shared through the content-keyed cache.
 */
import type { Reporter } from '../cli/reporter.js';
import { lockPathFor, runPipeline, type Context, type PipelineOptions } from '../pipeline.js';
import type { Arch } from '../recipe/schema.js';
import { JobLog } from './jobs.js';

export interface MatrixOptions extends Omit<PipelineOptions, 'branch' | 'arch' | 'until' | 'lockFile' | 'jobs' | 'label'> {
  branches: string[];
  arches: Arch[];
  /** Run the publish stage after index (with `publish` as its target). */
  publishing: boolean;
  reporter: Reporter;
  /** Where job records go (the caller's, to render them even when the run throws). */
  jobs?: JobLog;
}

export interface MatrixResult {
  jobs: JobLog;
  /** The context of every run that got as far as packaging or further. */
  runs: Context[];
}

export async function runMatrix(o: MatrixOptions): Promise<MatrixResult> {
  const jobs = o.jobs ?? new JobLog();
  const runs: Context[] = [];
  for (const branch of o.branches) {
    let armFailed = false;
    for (const [i, arch] of o.arches.entries()) {
      const last = i === o.arches.length - 1;
      const releaseHere = last && !armFailed;
      const until = releaseHere ? (o.publishing ? 'publish' : 'index') : 'package';
      const label = `${branch}/${arch}`;
      try {
        const ctx = await runPipeline(
          { ...pipelineOptions(o), branch, arch, until, jobs, label, ...(i > 0 ? { lockFile: lockPathFor(o.artifactsDir, branch) } : {}) },
          o.reporter.events(label),
        );
        runs.push(ctx);
      } catch (err) {
        armFailed = true;
        const ctx = (err as { context?: Context }).context;
        if (!ctx) throw err; // not a job failure (bad recipes dir, host not ready): the whole run stops
        // The whole message (a failed build's log tail and log path): the summary has one line only.
        o.reporter.note(`${label}: error: ${(err as Error).message}`);
        if (i === 0 && !ctx.resolution) {
          // Without a resolution there is no lock for the other arches: they fail the same way.
          for (const other of o.arches.slice(1)) jobs.skip(`${branch}/${other}`, `${label} could not resolve the pins`);
          break;
        }
      }
      if (last && !releaseHere) jobs.skip(`${branch} index+publish`, 'an arch of this branch failed; its release is left as it was');
    }
  }
  return { jobs, runs };
}

function pipelineOptions(o: MatrixOptions): Omit<PipelineOptions, 'branch' | 'arch' | 'until'> {
  const { branches: _b, arches: _a, publishing: _p, reporter: _r, jobs: _j, ...rest } = o;
  return rest;
}

/**
 * `crio-build <branch>`: one branch and arch through every stage up to `until` (the index, or the
 * publish with --publish), as one run holding the cache and artifacts dirs.
 */
import { runPipeline, type PipelineOptions, type Reporter } from './pipeline.js';
import { releaseRun, type ReleaseRun } from './release-run.js';

export interface BranchReleaseOptions extends Omit<PipelineOptions, 'jobs' | 'label' | 'pool' | 'around'> {
  /** Wait while another run holds the cache or artifacts dir (else fail at once, exit 75). */
  wait: boolean;
}

export async function releaseBranch(o: BranchReleaseOptions, reporter: Reporter): Promise<ReleaseRun> {
  const { wait, ...pipeline } = o;
  return releaseRun({ cacheDir: o.settings.cacheDir, artifactsDir: o.artifactsDir, wait }, reporter, async (jobs) => [await runPipeline({ ...pipeline, jobs }, reporter.events(`${o.branch}/${o.arch}`))]);
}

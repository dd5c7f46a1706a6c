/**
 * `crio-build nightly`: the matrix (src/pipeline/nightly.ts) as one run holding the cache and
 * artifacts dirs, its jobs in one log.
 */
import { runMatrix, type MatrixOptions } from './nightly.js';
import type { Reporter } from './pipeline.js';
import { releaseRun, type ReleaseRun } from './release-run.js';

export interface NightlyReleaseOptions extends Omit<MatrixOptions, 'jobs' | 'reporter' | 'pool'> {
  /** Wait while another run holds the cache or artifacts dir (else fail at once, exit 75). */
  wait: boolean;
}

export async function releaseNightly(o: NightlyReleaseOptions, reporter: Reporter): Promise<ReleaseRun> {
  const { wait, ...matrix } = o;
  return releaseRun({ cacheDir: o.settings.cacheDir, artifactsDir: o.artifactsDir, wait }, reporter, async (jobs) => (await runMatrix({ ...matrix, jobs, reporter })).runs);
}

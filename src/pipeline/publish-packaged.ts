/**
 * `crio-build publish <branch>`: the last step of a CI matrix. Index and publish what is already
 * packaged for the branch (every arch under artifacts/<branch>/<arch>/packages whose release
 * record names the branch's current release), as the branch's index and publish jobs.
 */
import type { Arch } from '../recipe/schema.js';
import { releaseToPublish } from '../index/release-tree.js';
import { indexRelease } from '../index/index-release.js';
import { publishRelease, type PublishOptions } from '../publish/publish-release.js';
import type { PipelineOptions, Reporter } from './pipeline.js';
import { releaseRun, type ReleaseRun } from './release-run.js';

export interface PublishPackagedOptions {
  /** The branch recipe's name. */
  branch: string;
  /** Arches that must be in the release: refuse to publish without one rather than drop it. */
  required: readonly Arch[];
  artifactsDir: string;
  cacheDir: string;
  /** Signing key, Valid-Until, base URL for the apt index. */
  index: NonNullable<PipelineOptions['index']>;
  /** Where the release goes; the directory publisher when absent. */
  publish?: PublishOptions;
  /** Wait while another run holds the cache or artifacts dir (else fail at once, exit 75). */
  wait: boolean;
}

export async function publishPackaged(o: PublishPackagedOptions, reporter: Reporter): Promise<ReleaseRun> {
  return releaseRun({ cacheDir: o.cacheDir, artifactsDir: o.artifactsDir, wait: o.wait }, reporter, async (jobs) => {
    const tag = await releaseToPublish(o.artifactsDir, o.branch, o.required);
    const events = reporter.events(o.branch);
    const step = (stage: 'index' | 'publish') => (m: string) => events.step?.(stage, m);
    const indexed = await jobs.run(
      `${o.branch} index`,
      () => indexRelease({ ...o.index, artifactsDir: o.artifactsDir, branch: o.branch, tag, cacheDir: o.cacheDir, onStep: step('index') }),
      (i) => ({ state: i.changed ? 'ok' : 'unchanged', detail: `${i.tag}: ${i.files.length} files, signed` }),
    );
    const published = await jobs.run(`${o.branch} publish`, () => publishRelease(indexed, o.publish ?? { target: 'directory' }, step('publish')), (p) => ({ state: p.changed ? 'ok' : 'unchanged', detail: p.summary }));
    return [{ indexed, published }];
  });
}

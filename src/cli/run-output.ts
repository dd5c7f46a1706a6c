/**
 * What a build-and-release run leaves for people and machines at its end: the footer (where the
 * packages are, the two lines a Pi needs) and the manifest (--json / --manifest): every job, every
 * release with every artifact's checksum and the inputs it was made from (provenance).
 */
import { TOOL_VERSION } from '../core/keys.js';
import type { JobLog } from '../pipeline/jobs.js';
import type { Context } from '../pipeline/pipeline.js';
import { manifest as releaseManifest } from '../index/release-tree.js';

/** What a run leaves: a pipeline context, or just a release (the publish command). */
export type RunOutcome = Pick<Context, 'plan' | 'packaged' | 'packagedFromCache' | 'indexed' | 'published'>;

export function runManifest(jobs: JobLog, runs: RunOutcome[], startedAt: Date, failure?: unknown) {
  const releases = new Map<string, NonNullable<Context['indexed']> & { published?: Context['published'] }>();
  for (const r of runs) if (r.indexed) releases.set(r.indexed.tag, { ...r.indexed, published: r.published });
  return {
    tool: 'crio-build',
    version: TOOL_VERSION,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ok: !jobs.failed && failure === undefined,
    // An error that stopped the run before or outside a job (bad input, a refused publish, busy).
    ...(failure !== undefined ? { error: (failure as Error)?.message ?? String(failure) } : {}),
    jobs: jobs.records,
    packaged: runs
      .filter((r) => r.packaged && r.plan)
      .map((r) => ({
        branch: r.plan!.branch,
        arch: r.plan!.arch,
        fromCache: Boolean(r.packagedFromCache),
        artifacts: [...r.packaged!.debs.map((d) => ({ file: d.file, path: d.path, sha256: d.sha256, size: d.size })), { file: r.packaged!.bundle.file, path: r.packaged!.bundle.path, sha256: r.packaged!.bundle.sha256, size: r.packaged!.bundle.size }],
      })),
    releases: [...releases.values()].map((i) => ({
      tag: i.tag,
      dir: i.dir,
      published: i.published ? { target: i.published.target, location: i.published.location, changed: i.published.changed, summary: i.published.summary } : undefined,
      signingKey: i.fingerprint,
      apt: i.aptLines,
      files: i.files.map((f) => ({ file: f.file, sha256: f.sha256, size: f.size })),
      provenance: releaseManifest(i.tag, i.records),
    })),
  };
}

/** The closing lines: where each release is and how a Pi installs it. */
export function footer(runs: RunOutcome[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const r of runs) {
    const i = r.indexed;
    if (!i || seen.has(i.tag)) continue;
    seen.add(i.tag);
    out.push('', `Release ${i.tag}: ${i.dir}${r.published && r.published.target === 'github' ? `\n  published: ${r.published.location}` : ''}`);
    if (i.localKey) out.push('  (signed with this machine\'s own key: set CRIO_BUILD_SIGNING_KEY to sign with yours)');
    out.push('  On a Pi:', ...i.aptLines.map((l) => `    ${l}`), '    sudo apt-get update && sudo apt-get install cri-o');
  }
  return out;
}

/**
 * What a build-and-release run leaves for people and machines at its end: the summary table and
 * the footer (where the packages are, the two lines a Pi needs), the manifest (--json / --manifest):
 * every job, every release with every artifact's checksum and the inputs it was made from
 * (provenance), and the exit code.
 */
import { resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { ExitCode } from '../core/errors.js';
import { TOOL_VERSION } from '../core/keys.js';
import type { JobLog } from '../pipeline/jobs.js';
import type { Context, Reporter } from '../pipeline/pipeline.js';
import type { ReleaseRun, RunOutcome } from '../pipeline/release-run.js';
import { manifest as releaseManifest } from '../index/release-tree.js';

/**
 * Ends a run, even one that failed: the summary table (and the footer), the manifest to the
 * --manifest file and with --json to stdout; then the run's failure is thrown, or a failed job
 * makes the exit code 1.
 */
export async function finishRun(a: { manifest?: string; json?: boolean }, reporter: Reporter, run: ReleaseRun): Promise<void> {
  reporter.finish(run.jobs.records, runTitle(run.jobs, run.failure), footer(run.runs));
  const m = runManifest(run.jobs, run.runs, run.startedAt, run.failure);
  if (a.manifest) await writeFileAtomic(resolve(a.manifest), `${JSON.stringify(m, null, 2)}\n`);
  if (a.json) process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
  if (run.failure) throw run.failure;
  if (run.jobs.failed) process.exitCode = ExitCode.jobFailed;
}

function runTitle(jobs: JobLog, failure: unknown): string {
  if (jobs.failed || failure) return 'crio-build: finished with failures';
  const idle = jobs.records.length > 0 && jobs.records.every((j) => j.state === 'cached' || j.state === 'unchanged');
  return idle ? 'crio-build: nothing changed (nothing built, nothing published)' : 'crio-build: done';
}

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

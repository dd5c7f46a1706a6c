/**
 * The release record: what one branch/arch run packaged and from what (provenance). Written beside
 * the packages as artifacts/<branch>/<arch>/packages/release.json after the package stage, so that a
 * later run for another arch (or `crio-build nightly`) can assemble one release holding every arch,
 * and `--json` can print a manifest of every artifact with its inputs.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltComponentOutcome } from '../farm/build-stage.js';
import type { Plan } from '../farm/planner.js';
import type { PackageStageResult } from '../package/stage.js';
import type { Arch } from '../recipe/schema.js';
import { writeFileAtomic } from '../util/atomic.js';

export const RECORD_FILE = 'release.json';
export const RECORD_FORMAT = 1;

export interface RecordedArtifact {
  file: string;
  sha256: string;
  size: number;
  /** The Debian package (name, full version) for a .deb; absent for the bundle. */
  package?: { name: string; version: string };
  /** The component it was made from; 'bundle' for the bundle. */
  component: string;
}

export interface RecordedComponent {
  name: string;
  version: string;
  url: string;
  ref: string;
  commit: string;
  commitTime: number;
  pinnedBy: string;
  strategy: string;
  builderImage: string;
  buildKey: string;
  toolchain: { name: string; version: string; sha256: string; url: string };
  /** Which Docker host built it (absent when it came from the cache). */
  host?: string;
  cacheHit: boolean;
}

export interface ReleaseRecord {
  format: typeof RECORD_FORMAT;
  branch: string;
  kubernetes: string;
  arch: Arch;
  /** The GitHub release / release directory this belongs to: the cri-o tag, or nightly-<branch>. */
  releaseTag: string;
  nightly: boolean;
  criOVersion: string;
  packagedAt: string;
  /** Content key of the packaging inputs (builds, pause image, packaging code): equal means reusable. */
  key: string;
  components: RecordedComponent[];
  artifacts: RecordedArtifact[];
}

/** A tag build of cri-o is released under its tag; a branch head goes to the branch's rolling nightly release. */
export function releaseTagFor(plan: Plan): { tag: string; nightly: boolean } {
  const crio = plan.components.find((c) => c.name === 'cri-o');
  if (crio && crio.source.ref.kind === 'tag') return { tag: crio.source.ref.name, nightly: false };
  return { tag: `nightly-${plan.branch}`, nightly: true };
}

export function makeRecord(plan: Plan, built: BuiltComponentOutcome[], packaged: PackageStageResult, key: string, now = new Date()): ReleaseRecord {
  const { tag, nightly } = releaseTagFor(plan);
  const crio = plan.components.find((c) => c.name === 'cri-o');
  return {
    format: RECORD_FORMAT,
    branch: plan.branch,
    kubernetes: plan.kubernetes,
    arch: plan.arch,
    releaseTag: tag,
    nightly,
    criOVersion: crio?.source.version ?? 'unknown',
    packagedAt: now.toISOString(),
    key,
    components: plan.components.map((c) => {
      const b = built.find((x) => x.component.name === c.name);
      const host = (b?.result as { host?: string } | undefined)?.host;
      return {
        name: c.name,
        version: c.source.version,
        url: c.source.url,
        ref: `${c.source.ref.kind} ${c.source.ref.name}`,
        commit: c.source.commit,
        commitTime: c.source.commitTime,
        pinnedBy: c.source.pinnedBy,
        strategy: c.strategy,
        builderImage: b?.result.builderImage ?? c.builder,
        buildKey: c.buildKey,
        toolchain: { name: c.toolchain.name, version: c.toolchain.version, sha256: c.toolchain.sha256, url: c.toolchain.url },
        ...(host ? { host } : {}),
        cacheHit: b?.cacheHit ?? false,
      };
    }),
    artifacts: [
      ...packaged.debs.map((d) => ({ file: d.file, sha256: d.sha256, size: d.size, package: { name: d.name, version: d.version }, component: d.component })),
      { file: packaged.bundle.file, sha256: packaged.bundle.sha256, size: packaged.bundle.size, component: 'bundle' },
    ],
  };
}

export function recordPath(packagesDir: string): string {
  return join(packagesDir, RECORD_FILE);
}

export async function writeRecord(packagesDir: string, record: ReleaseRecord): Promise<string> {
  const path = recordPath(packagesDir);
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

/** The record in a packages dir, or undefined when there is none (never packaged, or an older format). */
export async function readRecord(packagesDir: string): Promise<ReleaseRecord | undefined> {
  let text: string;
  try {
    text = await readFile(recordPath(packagesDir), 'utf8');
  } catch {
    return undefined;
  }
  const r = JSON.parse(text) as ReleaseRecord;
  return r.format === RECORD_FORMAT ? r : undefined;
}

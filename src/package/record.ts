/**
 * The release record: what one branch/arch run packaged and from what (provenance). Written beside
 * the packages as artifacts/<branch>/<arch>/packages/release.json after the package stage, so that a
 * later run for another arch (or `crio-build nightly`) can assemble one release holding every arch,
 * and `--json` can print a manifest of every artifact with its inputs.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltComponentOutcome } from '../build/build-all.js';
import { provenanceDir, provenancePath, readComponentProvenance, recordedComponent, type RecordedComponent } from '../build/outputs.js';
import type { Plan } from '../plan/planner.js';
import { packagesDir, type PackageStageResult } from './package-all.js';
import type { BuildProvenance } from '../build/provenance.js';
import type { Mirror, Settings } from '../settings/settings.js';
import type { Resolution } from '../source/resolver.js';
import type { Arch, Strategy } from '../recipe/schema.js';
import { writeJsonAtomic } from '../core/atomic.js';
import { packagedKey } from './package-cache.js';

export const RECORD_FILE = 'release.json';
export const RECORD_FORMAT = 1;

export interface RecordedArtifact {
  file: string;
  sha256: string;
  size: number;
  /** The Debian package (name, full version) for a .deb; absent for the bundle. */
  package?: { name: string; version: string };
  /** The component it was made from; 'bundle' for the bundle (and for the bundle's SBOM). */
  component: string;
  /**
   * Set for a document beside an artifact: its SPDX SBOM or its .buildinfo; absent for the .debs
   * and the bundle themselves (and in records made before documents were written).
   */
  kind?: 'sbom' | 'buildinfo';
  /** For a document: the file name of the artifact it describes. */
  of?: string;
}

/**
 * How the run that packaged a record was invoked: what `crio-build verify --rebuild` needs to make
 * the same files again, and what the release's signed provenance states. Absent in records made
 * before provenance (and in those of `crio-build package`, which has no run to describe).
 */
export interface RecordedBuild {
  /** The command line, as given (secrets never travel in argv: keys come from files or the environment). */
  command: string[];
  invocationId: string;
  startedOn: string;
  finishedOn: string;
  /** The machine the run was on (os.hostname()). */
  host: string;
  toolVersion: string;
  /** The recipes directory the run read: dirDigest (src/core/hash.ts), `content` layout. */
  recipesDigest: string;
  /** The resolution the run built from (the lock record, as saved). */
  lock: Resolution;
  /** The settings that changed where sources came from. */
  settings: { mirrors: Mirror[]; toolchains: Settings['toolchains']; components: Settings['components'] };
  /** --strategy, when the run overrode the recipes' strategies. */
  strategy?: Strategy;
  pauseImage?: string;
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
  /** How the run was invoked (optional: older records and `crio-build package` have none). */
  build?: RecordedBuild;
}

/** A tag build of cri-o is released under its tag; a branch head goes to the branch's rolling nightly release. */
export function releaseTagFor(plan: Plan): { tag: string; nightly: boolean } {
  const crio = plan.components.find((c) => c.name === 'cri-o');
  if (crio && crio.source.ref.kind === 'tag') return { tag: crio.source.ref.name, nightly: false };
  return { tag: `nightly-${plan.branch}`, nightly: true };
}

/** The same, from recorded components (ref: "tag v1.18.3" or "branch release-1.18"). */
export function releaseTagOf(branch: string, components: readonly RecordedComponent[]): { tag: string; nightly: boolean } {
  const m = /^tag (\S+)$/.exec(components.find((c) => c.name === 'cri-o')?.ref ?? '');
  return m ? { tag: m[1]!, nightly: false } : { tag: `nightly-${branch}`, nightly: true };
}

/** What the documents beside the artifacts need of a recorded build: the package stage's BuiltComponent.provenance. */
export function buildProvenanceOf(c: RecordedComponent): BuildProvenance {
  return {
    url: c.url,
    ref: c.ref,
    toolchain: c.toolchain,
    ...(c.license ? { license: c.license } : {}),
    ...(c.builder ? { builder: c.builder } : {}),
    ...(c.environment ? { environment: c.environment } : {}),
    ...(c.buildPath ? { buildPath: c.buildPath } : {}),
  };
}

export function makeRecord(plan: Plan, built: BuiltComponentOutcome[], packaged: PackageStageResult, key: string, now = new Date(), build?: RecordedBuild): ReleaseRecord {
  const components = plan.components.map((c) => recordedComponent(c, built.find((x) => x.component.name === c.name)));
  const record = recordFrom({ branch: plan.branch, kubernetes: plan.kubernetes, arch: plan.arch, components, packaged, key, now });
  return build ? { ...record, build } : record;
}

function recordFrom(o: { branch: string; kubernetes: string; arch: Arch; components: RecordedComponent[]; packaged: PackageStageResult; key: string; now: Date }): ReleaseRecord {
  const { tag, nightly } = releaseTagOf(o.branch, o.components);
  return {
    format: RECORD_FORMAT,
    branch: o.branch,
    kubernetes: o.kubernetes,
    arch: o.arch,
    releaseTag: tag,
    nightly,
    criOVersion: o.components.find((c) => c.name === 'cri-o')?.version ?? 'unknown',
    packagedAt: o.now.toISOString(),
    key: o.key,
    components: o.components,
    artifacts: [
      ...o.packaged.debs.map((d) => ({ file: d.file, sha256: d.sha256, size: d.size, package: { name: d.name, version: d.version }, component: d.component })),
      { file: o.packaged.bundle.file, sha256: o.packaged.bundle.sha256, size: o.packaged.bundle.size, component: 'bundle' },
      ...o.packaged.documents.map((x) => ({
        file: x.file,
        sha256: x.sha256,
        size: x.size,
        component: o.packaged.debs.find((d) => d.file === x.of)?.component ?? 'bundle',
        kind: x.kind,
        of: x.of,
      })),
    ],
  };
}

/**
 * After `crio-build package`: the release record of what was packaged, made from the provenance
 * the build stage left beside the outputs (what was built, not what a newer plan says), so that
 * `crio-build publish` finds it. Without the provenance of every component (outputs built by an
 * older crio-build) no record is written, and a record left from an earlier packaging is removed:
 * it would describe other files. Returns the record, or why there is none.
 */
export async function recordPackaged(o: {
  artifactsDir: string;
  branch: string;
  kubernetes: string;
  arch: Arch;
  components: readonly string[];
  packaged: PackageStageResult;
  pauseImage?: string;
  now?: Date;
}): Promise<{ record: ReleaseRecord; path: string } | { record?: undefined; missing: string[] }> {
  const dir = provenanceDir(o.artifactsDir, o.branch, o.arch);
  const recorded = await readComponentProvenance(dir, o.components);
  const components: RecordedComponent[] = [];
  const missing: string[] = [];
  for (const name of o.components) {
    const c = recorded.get(name);
    if (!c) missing.push(provenancePath(dir, name));
    else components.push(c);
  }
  const out = packagesDir(o.artifactsDir, o.branch, o.arch);
  if (missing.length > 0) {
    await rm(recordPath(out), { force: true });
    return { missing };
  }
  // The same key the pipeline's package stage gives these builds (publish/package-cache.ts), so a
  // later full run sees these packages as up to date.
  const asPlan = {
    branch: o.branch,
    kubernetes: o.kubernetes,
    arch: o.arch,
    components: components.map((c) => ({ name: c.name, buildKey: c.buildKey, license: c.license, source: { url: c.url, version: c.version, commit: c.commit, commitTime: c.commitTime } })),
  } as unknown as Plan;
  const key = await packagedKey(asPlan, o.pauseImage);
  const record = recordFrom({ branch: o.branch, kubernetes: o.kubernetes, arch: o.arch, components, packaged: o.packaged, key, now: o.now ?? new Date() });
  return { record, path: await writeRecord(out, record) };
}

export function recordPath(packagesDir: string): string {
  return join(packagesDir, RECORD_FILE);
}

export async function writeRecord(packagesDir: string, record: ReleaseRecord): Promise<string> {
  const path = recordPath(packagesDir);
  await writeJsonAtomic(path, record);
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

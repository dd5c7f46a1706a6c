/**
 * What the build stage hands on, and leaves on disk for a later `crio-build package`:
 *
 *   artifacts/<branch>/<arch>/build/<component>/            the outputs, laid out as in the source tree
 *   artifacts/<branch>/<arch>/build/<component>.json        BuiltComponentRecord (loadBuiltComponents)
 *   artifacts/<branch>/<arch>/provenance/<component>.json   RecordedComponent: how it was built
 *
 * BuiltComponent is the package stage's input; RecordedComponent is what the release record
 * (src/package/record.ts) keeps of each component.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CrioBuildError, ExitCode } from '../core/errors.js';
import { writeJsonAtomic } from '../core/atomic.js';
import type { PlannedComponent } from '../plan/planner.js';
import type { Arch } from '../recipe/schema.js';
import type { BuilderProvenance } from '../hosts/images/builder-image.js';
import type { BuiltComponentOutcome } from './build-all.js';
import { buildEnv, recordableEnvironment, sourceDir } from './build-env.js';
import type { BuildProvenance } from './provenance.js';

/** One component as the build stage hands it over. */
export interface BuiltComponent {
  /** Component recipe name: 'cri-o' | 'conmon' | 'cni-plugins' | 'cri-tools'. */
  name: string;
  /** Upstream version: "1.18.1", or "1.18.1+git20200601120000.abcdef1" for a nightly. */
  version: string;
  /** Full source commit id. */
  commit: string;
  /** Committer time of `commit`, seconds since the epoch: the SOURCE_DATE_EPOCH of the packages. */
  commitTime: number;
  arch: Arch;
  /** The build outputs, laid out as in the upstream source tree. */
  outDir: string;
  /** shlibs:Depends of the component's ELF binaries as dpkg-shlibdeps computed them ("" for static ones). */
  shlibsDepends: string;
  /**
   * How it was built (source URL, licence, toolchain, builder, environment): what its SBOM and
   * .buildinfo record. Absent for outputs built without provenance (then there is no .buildinfo).
   */
  provenance?: BuildProvenance;
}

/** artifacts/<branch>/<arch>/build: one directory per component, plus <component>.json records. */
export function buildDir(artifactsDir: string, branch: string, arch: Arch): string {
  return join(artifactsDir, branch, arch, 'build');
}

/** What the build stage records beside each output directory: BuiltComponent without outDir. */
export type BuiltComponentRecord = Omit<BuiltComponent, 'outDir'>;

export function builtRecordPath(dir: string, component: string): string {
  return join(dir, `${component}.json`);
}

/** Writes the record `loadBuiltComponents` reads (for the build stage). */
export async function writeBuiltComponentRecord(dir: string, record: BuiltComponentRecord): Promise<string> {
  const path = builtRecordPath(dir, record.name);
  await writeJsonAtomic(path, record);
  return path;
}

/** `crio-build package` before a build: exit code 2 with the command to run first. */
export class BuildOutputsMissingError extends CrioBuildError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/**
 * The components built earlier for `branch`/`arch`: for each name, the directory
 * build/<component>/ and its record build/<component>.json.
 */
export async function loadBuiltComponents(o: { artifactsDir: string; branch: string; arch: Arch; components: readonly string[] }): Promise<BuiltComponent[]> {
  const dir = buildDir(o.artifactsDir, o.branch, o.arch);
  const out: BuiltComponent[] = [];
  for (const name of o.components) {
    const outDir = join(dir, name);
    const recordPath = builtRecordPath(dir, name);
    let text: string;
    try {
      if (!(await stat(outDir)).isDirectory()) throw new Error('not a directory');
      text = await readFile(recordPath, 'utf8');
    } catch {
      throw new BuildOutputsMissingError(`no build of ${name} for ${o.branch}/${o.arch}: expected ${outDir}/ and ${recordPath} (run \`crio-build ${o.branch} --arch ${o.arch}\` first)`);
    }
    let r: BuiltComponentRecord;
    try {
      r = JSON.parse(text) as BuiltComponentRecord;
    } catch (err) {
      throw new BuildOutputsMissingError(`${recordPath}: not JSON (${(err as Error).message})`);
    }
    const fields: Array<[keyof BuiltComponentRecord, string]> = [['name', 'string'], ['version', 'string'], ['commit', 'string'], ['commitTime', 'number'], ['arch', 'string'], ['shlibsDepends', 'string']];
    for (const [k, type] of fields) {
      if (typeof r[k] !== type) throw new BuildOutputsMissingError(`${recordPath}: field ${k} must be a ${type}`);
    }
    if (r.name !== name || r.arch !== o.arch) throw new BuildOutputsMissingError(`${recordPath}: records ${r.name}/${r.arch}, expected ${name}/${o.arch}`);
    out.push({ ...r, outDir });
  }
  return out;
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
  /**
   * The build environment: the builder's key and what it was made from, with the version of every
   * Debian package installed in it (read back from the image), as Debian's .buildinfo records it.
   * Absent in records made before builders were recorded.
   */
  builder?: BuilderProvenance;
  toolchain: { name: string; version: string; sha256: string; url: string };
  /** The component's licence (SPDX expression) from its recipe; absent in older records. */
  license?: string;
  /** The environment the build ran with (src/build/build-env.ts; no secret is ever in it); absent in older records. */
  environment?: Record<string, string>;
  /** Where the source tree was in the builder; absent in older records. */
  buildPath?: string;
  /** Which Docker host built it (absent when it came from the cache). */
  host?: string;
  cacheHit: boolean;
}

/** One component as the record keeps it: its source, toolchain, builder and build key. */
export function recordedComponent(c: PlannedComponent, b?: BuiltComponentOutcome): RecordedComponent {
  const host = b?.result.host;
  const builder = b?.result.builder;
  // A cross build ran in a builder of another platform than the target (its crossTarget).
  const build = builder ? recordedBuild(c, builder.crossTarget ?? builder.platform, builder.crossTarget !== undefined) : undefined;
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
    ...(builder ? { builder } : {}),
    toolchain: { name: c.toolchain.name, version: c.toolchain.version, sha256: c.toolchain.sha256, url: c.toolchain.url },
    ...(c.license ? { license: c.license } : {}),
    ...(build ? { environment: build.environment, buildPath: build.path } : {}),
    ...(host ? { host } : {}),
    cacheHit: b?.cacheHit ?? false,
  };
}

/** The environment and source path the builder gave this build (the same function the builder uses). */
function recordedBuild(c: PlannedComponent, arch: Arch, cross: boolean): { environment: Record<string, string>; path: string } {
  const job = {
    arch,
    build: c.build,
    version: c.source.version,
    source: { commit: c.source.commit, commitTime: c.source.commitTime },
    toolchain: { root: c.toolchain.root, env: c.toolchain.env },
  };
  return { environment: recordableEnvironment(buildEnv(job, cross)), path: sourceDir(job) };
}

// ---- Provenance beside the build outputs, for `crio-build package` --------------------------------

/**
 * artifacts/<branch>/<arch>/provenance/<component>.json: how the build stage recorded one
 * component's build (beside build/, which holds only the outputs and what packaging reads).
 */
export function provenanceDir(artifactsDir: string, branch: string, arch: Arch): string {
  return join(artifactsDir, branch, arch, 'provenance');
}

export function provenancePath(dir: string, component: string): string {
  return join(dir, `${component}.json`);
}

/**
 * The provenance the build stage left for `components`, by name; a component whose file is
 * missing or unreadable (built by an older crio-build) is absent from the map.
 */
export async function readComponentProvenance(dir: string, components: readonly string[]): Promise<Map<string, RecordedComponent>> {
  const out = new Map<string, RecordedComponent>();
  for (const name of components) {
    const text = await readFile(provenancePath(dir, name), 'utf8').catch(() => undefined);
    let c: RecordedComponent | undefined;
    try {
      c = text === undefined ? undefined : (JSON.parse(text) as RecordedComponent);
    } catch {
      c = undefined;
    }
    if (c && c.name === name && /^[0-9a-f]{64}$/.test(c.buildKey)) out.set(name, c);
  }
  return out;
}

export async function writeComponentProvenance(dir: string, c: RecordedComponent): Promise<string> {
  const path = provenancePath(dir, c.name);
  await writeJsonAtomic(path, c);
  return path;
}


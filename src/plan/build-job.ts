/**
 * The contract between the farm (which decides what to build) and the builder (which builds it).
 * The builder never reads recipes or resolves anything: it gets everything it needs in a BuildJob.
 */
import type { Arch, BuildDefinition, Strategy } from '../recipe/schema.js';

export interface ToolchainInput {
  name: string; // recipe name, e.g. go1.13.10 (may be overridden to another Go for tests)
  version: string;
  /** Verified archive in the cache; sent to the builder in the build context, never downloaded there. */
  tarball: string;
  sha256: string;
  /** Directory the archive unpacks to (`go`). */
  root: string;
  /** The arch the toolchain runs on: the target's for emulate, the host's for cross. */
  arch: Arch;
  env: Record<string, string>;
}

export interface SourceInput {
  /** A git repository (bare, in the cache) that holds `commit`. */
  repoPath: string;
  commit: string;
  /** Committer time of `commit`, seconds since the epoch: the SOURCE_DATE_EPOCH of the build. */
  commitTime: number;
  /** Upstream URL, for logs and provenance only (the builder never fetches). */
  url: string;
}

export interface BuildJob {
  component: string;
  arch: Arch;
  strategy: Strategy;
  /** The component's build definition with the branch's overrides already applied. */
  build: BuildDefinition;
  source: SourceInput;
  /** Upstream version being built (e.g. 1.18.1, or 1.18.1+git20200601120000.abcdef1 for a nightly). */
  version: string;
  toolchain: ToolchainInput;
  /** Empty directory the outputs are extracted into. */
  outDir: string;
  logFile: string;
}

export interface BuiltOutput {
  /** Path relative to outDir. */
  path: string;
  type: BuildDefinition['outputs'][number]['type'];
  sha256: string;
  /** For binaries: what `--version` printed when run (under qemu for a foreign arch). */
  versionOutput?: string;
}

export interface BuildResult {
  component: string;
  arch: Arch;
  strategy: Strategy;
  outputs: BuiltOutput[];
  /** shlibs:Depends of the binaries as dpkg-shlibdeps computed them in the builder ("" when all are static). */
  shlibsDepends: string;
  builderImage: string;
  logFile: string;
  seconds: number;
  /** The Go build cache volume the build used, as it was when the build started (absent: none). */
  goCache?: GoCacheReport;
}

/** What the Go build cache was when a build started (src/build/go-cache.ts). */
export interface GoCacheReport {
  volume: string;
  /** Action entries in the volume once maintained (0: the build starts cold). */
  entries: number;
  bytes: number;
  /** Output files whose content did not match their name, removed before the build. */
  corrupt: number;
  /** Files removed to keep the volume under its bound. */
  trimmed: number;
}

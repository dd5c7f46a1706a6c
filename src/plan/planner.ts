/**
 * Plan stage: Resolution + recipes + arch -> the job graph. Each job carries a content key and
 * the artifacts it produces, so the plan says exactly what a run will make before it makes it.
 */
import { quote, UsageError } from '../core/errors.js';
import type { Settings } from '../settings/settings.js';
import type { RecipeSet } from '../recipe/loader.js';
import { findBranch, type LockedArchive, type LockedComponent, type Resolution } from '../source/resolver.js';
import { SUPPORTED_ARCHES, type Arch, type BranchRecipe, type BuildDefinition, type BuildOverride, type Strategy } from '../recipe/schema.js';
import { applyMirrors } from '../source/mirror.js';
import { bundleFileName, CHECKSUMS_FILE, debFileName, debName, debVersion } from './naming.js';
import { baseImageJobKey, buildInputsDigest, buildKey, checksumsKey, indexKey, PENDING_KEY, plannedBundleKey, plannedPackageKey, sourceKey, toolchainKey, type BuildInputs } from './keys.js';

export type JobKind = 'toolchain' | 'source' | 'base-image' | 'builder' | 'build' | 'package' | 'bundle' | 'checksums' | 'index';

export interface Job {
  id: string;
  kind: JobKind;
  deps: string[];
  /**
   * The content key; PENDING_KEY for the base image, the builder and everything made from them
   * until the builder image exists (its key comes from what is in it: see settleKeys).
   */
  key: string;
  /** For a pending key: what will decide it. */
  keyFrom?: string;
  /** A build's inputs other than its builder (commit, build definition, toolchain), as a digest: known when planning. */
  inputs?: string;
  /** File names this job adds to the release (packages, bundle, checksums, index files). */
  artifacts: string[];
  describe: string;
}

export interface PlannedToolchain {
  name: string;
  version: string;
  /** The arch the toolchain runs on (the target's for emulate, the host's for cross). */
  arch: Arch;
  root: string;
  url: string;
  fetchUrl: string;
  sha256: string;
  overridden: boolean;
  /** Build environment this toolchain needs (from its recipe), under the component's own env. */
  env: Record<string, string>;
}

export interface PlannedComponent {
  name: string;
  /** The component's licence (an SPDX expression), from its recipe: for the SBOMs. */
  license: string;
  source: LockedComponent & { fetchUrl: string };
  strategy: Strategy;
  builder: string;
  toolchain: PlannedToolchain;
  /** The component's build with the branch's overrides applied. */
  build: BuildDefinition;
  package: { name: string; version: string; file: string };
  /** The build's content key: PENDING_KEY until settleKeys has the builder's key. */
  buildKey: string;
  /** What the build is made from, besides its builder (known now). */
  buildInputs: BuildInputs;
  /** The ids of its base-image and builder jobs. */
  baseJob: string;
  builderJob: string;
}

export interface Plan {
  branch: string;
  kubernetes: string;
  arch: Arch;
  hostArch: Arch;
  resolution: Resolution;
  components: PlannedComponent[];
  jobs: Job[];
}

export function hostArch(): Arch {
  if (process.arch === 'x64') return 'amd64';
  if (process.arch === 'arm64') return 'arm64';
  throw new UsageError(`this host's architecture (${process.arch}) is not supported`, `supported hosts: ${SUPPORTED_ARCHES.join(', ')}`);
}

export function checkArch(arch: string): Arch {
  if (!(SUPPORTED_ARCHES as readonly string[]).includes(arch)) {
    throw new UsageError(`unknown arch ${quote(arch)}`, `supported arches: ${SUPPORTED_ARCHES.join(', ')}`);
  }
  return arch as Arch;
}

export interface PlanOptions {
  arch: Arch;
  strategy?: Strategy;
}

export async function plan(recipes: RecipeSet, resolution: Resolution, settings: Settings, opts: PlanOptions): Promise<Plan> {
  const branch = findBranch(recipes, resolution.branch);
  const host = hostArch();
  const jobs: Job[] = [];
  const add = (job: Job) => {
    if (!jobs.some((j) => j.id === job.id)) jobs.push(job);
    return job;
  };
  const components: PlannedComponent[] = [];

  for (const [name, locked] of Object.entries(resolution.components)) {
    const recipe = recipes.components.get(name)!.recipe;
    const override = branch.overrides[name] ?? {};
    const build = mergeBuild(recipe.build, override);
    const strategy = opts.strategy ?? override.strategy ?? recipe.build.strategy;
    const toolchainName = override.toolchain ?? branchToolchain(resolution, branch);
    // Emulated builds run the target's toolchain under qemu; cross builds run the host's.
    const toolchainArch: Arch = strategy === 'emulate' ? opts.arch : host;
    const toolchain = plannedToolchain(resolution, toolchainName, toolchainArch, settings, recipes.toolchains.get(toolchainName)?.recipe.env ?? {});
    const platform: Arch = strategy === 'emulate' ? opts.arch : host;

    const source = add({ id: `source:${name}`, kind: 'source', deps: [], key: sourceKey(locked.url, locked.commit), artifacts: [], describe: `${locked.url} ${locked.ref.name} @ ${locked.commit.slice(0, 12)}` });
    const tc = add({ id: `toolchain:${toolchain.name}:${toolchain.arch}`, kind: 'toolchain', deps: [], key: toolchainKey(toolchain.sha256), artifacts: [], describe: `${toolchain.name} (${toolchain.version}) linux-${toolchain.arch} sha256:${toolchain.sha256.slice(0, 12)}` });
    const base = add({
      id: `base-image:bookworm-${platform}`,
      kind: 'base-image',
      deps: [],
      key: PENDING_KEY,
      keyFrom: 'the content of its root filesystem (its layers\' digest), once the image exists',
      artifacts: [],
      describe: `Debian bookworm linux/${platform}`,
    });
    const builderVariant = strategy === 'cross' && platform !== opts.arch ? `cross-${opts.arch}` : 'native';
    const builder = add({
      id: `builder:${build.builder}:${platform}:${builderVariant}:${toolchain.name}`,
      kind: 'builder',
      deps: [base.id, tc.id],
      key: PENDING_KEY,
      keyFrom: `what is in its image once made: the base's content, the version of every Debian package installed (dpkg-query), builders/${build.builder} and the toolchain (sha256:${toolchain.sha256.slice(0, 12)})`,
      artifacts: [],
      describe: `${build.builder} image for linux/${platform}${builderVariant === 'native' ? '' : ` (cross to ${opts.arch})`} with ${toolchain.name}`,
    });
    const buildInputs: BuildInputs = { component: name, build, commit: locked.commit, toolchain: toolchain.sha256, toolchainEnv: toolchain.env, strategy, arch: opts.arch };
    add({ id: `build:${name}:${opts.arch}`, kind: 'build', deps: [source.id, builder.id], key: PENDING_KEY, keyFrom: 'its inputs (commit, build steps, toolchain) and the builder\'s key', inputs: buildInputsDigest(buildInputs), artifacts: [], describe: `${name} ${locked.version} for linux/${opts.arch} (${strategy})` });

    const pkgName = debName(name);
    const pkgVersion = debVersion(locked.version);
    const file = debFileName(pkgName, pkgVersion, opts.arch);
    add({ id: `package:${pkgName}:${opts.arch}`, kind: 'package', deps: [`build:${name}:${opts.arch}`], key: PENDING_KEY, keyFrom: 'the build\'s key', artifacts: [file], describe: `${pkgName} ${pkgVersion} (.deb)` });

    components.push({
      name,
      license: recipe.license,
      source: { ...locked, fetchUrl: applyMirrors(locked.url, settings.mirrors) },
      strategy,
      builder: build.builder,
      toolchain,
      build,
      package: { name: pkgName, version: pkgVersion, file },
      buildKey: PENDING_KEY,
      buildInputs,
      baseJob: base.id,
      builderJob: builder.id,
    });
  }

  const packageJobs = jobs.filter((j) => j.kind === 'package');
  const criO = resolution.components['cri-o'];
  const bundle = add({
    id: `bundle:${opts.arch}`,
    kind: 'bundle',
    deps: packageJobs.map((j) => j.deps[0]!),
    key: PENDING_KEY,
    keyFrom: 'the builds\' keys',
    artifacts: [bundleFileName(opts.arch, criO?.version ?? 'unknown')],
    describe: `tarball bundle in cri-o's release-bundle layout`,
  });
  const sums = add({
    id: `checksums:${opts.arch}`,
    kind: 'checksums',
    deps: [...packageJobs.map((j) => j.id), bundle.id],
    key: PENDING_KEY,
    keyFrom: 'the packages\' and the bundle\'s keys',
    artifacts: [CHECKSUMS_FILE],
    describe: 'SHA256SUMS over every artifact',
  });
  add({
    id: 'index',
    kind: 'index',
    deps: [sums.id],
    key: PENDING_KEY,
    keyFrom: 'the checksums\' key',
    artifacts: ['Packages', 'Packages.gz', 'Packages.xz', 'Release', 'Release.gpg', 'InRelease'],
    describe: 'signed apt repository index',
  });

  return { branch: resolution.branch, kubernetes: resolution.kubernetes, arch: opts.arch, hostArch: host, resolution, components, jobs };
}

/** What the build stage learnt of a builder image: its key, and the content digest of its base. */
export interface SettledBuilder {
  key: string;
  baseDigest: string;
}

/**
 * Fill in the keys the plan could not know: once the builder images exist, each component's build
 * key is made from its inputs and its builder's key (the one formula, src/plan/keys.ts buildKey),
 * and every job key downstream follows. The plan is updated in place (the package stage and the
 * release record read the keys from it) and returned.
 */
export function settleKeys(plan: Plan, builders: ReadonlyMap<string, SettledBuilder>): Plan {
  for (const c of plan.components) {
    const b = builders.get(c.builderJob);
    if (!b) throw new Error(`settleKeys: no builder key for ${c.builderJob}`);
    c.buildKey = buildKey(c.buildInputs, b.key);
    setKey(plan, c.builderJob, b.key);
    setKey(plan, c.baseJob, baseImageJobKey(b.baseDigest));
    setKey(plan, `build:${c.name}:${plan.arch}`, c.buildKey);
  }
  refreshKeys(plan);
  return plan;
}

/** Job keys made from the builds' keys (packages, bundle, checksums, index), again after a build key changed. */
export function refreshKeys(plan: Plan): void {
  const settled = plan.components.every((c) => c.buildKey !== PENDING_KEY);
  for (const c of plan.components) {
    setKey(plan, `build:${c.name}:${plan.arch}`, c.buildKey);
    setKey(plan, `package:${c.package.name}:${plan.arch}`, c.buildKey === PENDING_KEY ? PENDING_KEY : plannedPackageKey(c.buildKey, c.package.name, c.package.version));
  }
  if (!settled) return;
  const packageKeys = plan.jobs.filter((j) => j.kind === 'package').map((j) => j.key);
  const bundle = plannedBundleKey(plan.components.map((c) => c.buildKey));
  setKey(plan, `bundle:${plan.arch}`, bundle);
  const sums = checksumsKey([...packageKeys, bundle]);
  setKey(plan, `checksums:${plan.arch}`, sums);
  setKey(plan, 'index', indexKey(sums));
}

function setKey(plan: Plan, id: string, key: string): void {
  const job = plan.jobs.find((j) => j.id === id);
  if (!job) return;
  job.key = key;
  if (key !== PENDING_KEY) delete job.keyFrom;
}

/** The branch's toolchain: as resolved (a followed go.mod), else as the recipe names it (older locks). */
function branchToolchain(resolution: Resolution, branch: BranchRecipe): string {
  if (resolution.toolchain) return resolution.toolchain;
  if (typeof branch.toolchain === 'string') return branch.toolchain;
  throw new UsageError(`the lock for ${branch.name} does not say which toolchain ${branch.toolchain.follow} asked for`, 'make a new lock with `crio-build plan`');
}

function plannedToolchain(resolution: Resolution, name: string, arch: Arch, settings: Settings, env: Record<string, string>): PlannedToolchain {
  const t = resolution.toolchains[name];
  const a: LockedArchive | undefined = t?.archives[arch];
  if (!t || !a) {
    throw new UsageError(`toolchain ${name} has no linux-${arch} archive`, `a ${arch === hostArch() ? 'cross' : 'emulated'} build needs one: add it to the recipe, or swap the toolchain in your config (toolchains: ${name}: archives: ${arch}: {url, sha256})`);
  }
  return { name, version: t.version, arch, root: t.root, url: a.url, fetchUrl: applyMirrors(a.url, settings.mirrors), sha256: a.sha256, overridden: t.overridden, env };
}

function mergeBuild(base: BuildDefinition, o: BuildOverride): BuildDefinition {
  return {
    ...base,
    buildTags: o.buildTags ?? base.buildTags,
    gopath: o.gopath ?? base.gopath,
    env: { ...base.env, ...(o.env ?? {}) },
    steps: o.steps ?? base.steps,
    generate: o.generate ?? base.generate,
    outputs: o.outputs ?? base.outputs,
  };
}

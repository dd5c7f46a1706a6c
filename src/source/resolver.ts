/**
 * Resolve stage: RecipeSet + branch -> Resolution (every branch head and tag turned into a commit,
 * every toolchain into a URL and sha256). The Resolution is also the lock record: a later run
 * given it with --lock uses exactly those inputs and asks no remote anything.
 */
import { quote, SourceError, UsageError } from '../core/errors.js';
import type { Settings } from '../settings/settings.js';
import { SourceCache } from './cache.js';
import { fetchCommit, lsRemote, readTreeFile, type RemoteRefs } from './git.js';
import { applyMirrors } from './mirror.js';
import { PRIMARY, type RecipeSet } from '../recipe/loader.js';
import { dependencyVersion, goDirective, minorOf, toolchainFor, versionConst } from '../recipe/follow.js';
import { refName, type BranchRecipe, type ComponentRecipe } from '../recipe/schema.js';
import { globMatch, upstreamVersion } from '../recipe/version.js';

export interface LockedComponent {
  /** Upstream URL as the recipe gives it (mirrors apply at fetch time, so locks stay portable). */
  url: string;
  ref: { kind: 'branch' | 'tag'; name: string };
  commit: string;
  /** Committer time of the commit (seconds): orders nightlies and is the build's SOURCE_DATE_EPOCH. */
  commitTime: number;
  /** Upstream version: the tag, or last tag + git time + short commit for a branch head. */
  version: string;
  /**
   * Where the commit came from: a recipe pin, the user's pin swap, the tag on first use, a branch
   * head, or another component's tree (built from that component's commit).
   */
  pinnedBy: 'recipe' | 'config' | 'trust-on-first-use' | 'branch-head' | 'in-tree';
}

export interface LockedArchive {
  url: string;
  sha256: string;
}

export interface LockedToolchain {
  version: string;
  root: string;
  /** True when the user's config swapped the recipe's archives (tests, air-gapped sites). */
  overridden: boolean;
  archives: { amd64?: LockedArchive; arm64?: LockedArchive };
}

export interface Resolution {
  lockVersion: 1;
  branch: string;
  kubernetes: string;
  /** The branch's Go toolchain (a name in `toolchains`): the recipe's, or the one its go.mod asked for. Absent in older locks. */
  toolchain?: string;
  resolvedAt: string;
  components: Record<string, LockedComponent>;
  toolchains: Record<string, LockedToolchain>;
}


/**
 * The branch recipe to build for `name`: a branch (release-1.18, main), or one of cri-o's release
 * tags (v1.18.3), which builds with the recipe of the branch whose release tags it matches, with
 * cri-o pinned to that tag and the release named after it.
 */
export function findBranch(recipes: RecipeSet, name: string): BranchRecipe {
  const b = recipes.branches.get(name);
  if (b) return b.recipe;
  if (/^v\d+\.\d+\.\d+/.test(name)) {
    const releases = recipes.components.get(PRIMARY)?.recipe.releases ?? {};
    const owner = [...recipes.branches.values()].map((l) => l.recipe).find((r) => typeof r.kubernetes === 'string' && globMatch(versionTagsOf(r, r.kubernetes), name));
    if (owner && Object.hasOwn(releases, name)) return { ...owner, name, components: { ...owner.components, [PRIMARY]: { tag: name } } };
    const pinned = Object.keys(releases).filter((t) => /^v\d/.test(t));
    throw new UsageError(
      `${quote(name)} is not a cri-o release tag crio-build has pinned${owner ? '' : ' (no branch recipe serves it)'}`,
      `pinned tags (recipes/components/${PRIMARY}.yaml): ${pinned.sort(compareTags).join(', ') || '(none)'}`,
    );
  }
  throw new UsageError(`unknown branch ${quote(name)}`, `known branches: ${[...recipes.branches.keys()].sort().join(', ')}; or a cri-o release tag such as v1.18.3`);
}

/** The branch's release tag glob: its own, or v<kubernetes>.* */
export function versionTagsOf(branch: Pick<BranchRecipe, 'versionTags'>, kubernetes: string): string {
  return branch.versionTags ?? `v${kubernetes}.*`;
}

function compareTags(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export interface ResolveHooks {
  onStep?: (message: string) => void;
}

/** What a branch reads from its primary component's commit (or states itself). */
interface BranchFacts {
  kubernetes: string;
  versionTags: string;
  toolchain: string;
}

export async function resolveSources(recipes: RecipeSet, branchName: string, settings: Settings, hooks: ResolveHooks = {}): Promise<Resolution> {
  const branch = findBranch(recipes, branchName);
  const cache = new SourceCache(settings.cacheDir);
  const components: Record<string, LockedComponent> = {};
  let facts: BranchFacts | undefined;
  const followed = new Map<string, string>();

  for (const name of componentOrder(branch)) {
    const declared = branch.components[name]!;
    if ('inTreeOf' in declared) {
      // Built from the other component's tree (same commit): cri-o 1.15 ships its own conmon.
      components[name] = { ...components[declared.inTreeOf]!, pinnedBy: 'in-tree' };
      continue;
    }
    const recipe = recipes.components.get(name)!.recipe;
    const url = recipe.source.git;
    const fetchUrl = applyMirrors(url, settings.mirrors);
    const ref: TagOrBranch = 'follow' in declared ? { tag: followed.get(name)! } : declared;
    hooks.onStep?.(`resolving ${name} ${describeRef(ref)}${'follow' in declared ? ` (named by ${PRIMARY}'s ${declared.follow})` : ''} at ${fetchUrl}`);
    const refs = await lsRemote(fetchUrl);
    const releases = { ...recipe.releases, ...settings.components[name]?.releases };
    const commit = pickCommit(name, ref, refs, releases, fetchUrl, 'follow' in declared);
    // The commit's time is part of the version of a nightly: fetch the commit (shallow) to read it.
    // The fetch lands in the cache, so the fetch stage finds it there.
    const fetched = await fetchCommit(cache, fetchUrl, commit, 'branch' in ref ? `refs/heads/${ref.branch}` : `refs/tags/${ref.tag}`);
    if (name === PRIMARY || !facts) {
      facts = await branchFacts(recipes, branch, settings, fetched.repoPath, commit, url);
      for (const [other, r] of Object.entries(branch.components)) {
        if ('follow' in r) followed.set(other, await readFollowed(fetched.repoPath, commit, r.follow, other, url));
      }
    }
    components[name] = {
      url,
      ref: 'branch' in ref ? { kind: 'branch', name: ref.branch } : { kind: 'tag', name: ref.tag },
      commit,
      commitTime: fetched.commitTime,
      version: upstreamVersion(ref, commit, fetched.commitTime, refs.tags, facts),
      pinnedBy: pinSource(ref, recipe.releases, settings.components[name]?.releases),
    };
  }

  const toolchainNames = new Set<string>([facts!.toolchain]);
  for (const o of Object.values(branch.overrides)) if (o.toolchain) toolchainNames.add(o.toolchain);
  const toolchains: Record<string, LockedToolchain> = {};
  for (const name of [...toolchainNames].sort()) {
    const t = recipes.toolchains.get(name)?.recipe;
    const swap = settings.toolchains[name];
    // A toolchain only the settings know (a followed go.mod asking for a Go not in the catalog).
    if (!t) toolchains[name] = { version: swap!.version ?? name.replace(/^go/, ''), root: 'go', overridden: true, archives: swap!.archives };
    else toolchains[name] = { version: swap?.version ?? t.version, root: t.root, overridden: Boolean(swap), archives: swap ? swap.archives : t.archives };
  }
  return {
    lockVersion: 1,
    branch: branch.name,
    kubernetes: facts!.kubernetes,
    toolchain: facts!.toolchain,
    resolvedAt: new Date().toISOString(),
    components,
    toolchains,
  };
}

type TagOrBranch = { tag: string } | { branch: string };

/** The primary first (followed files are read from it), then the rest; in-tree copies after their host. */
function componentOrder(branch: BranchRecipe): string[] {
  const names = Object.keys(branch.components);
  const first = names.filter((n) => n === PRIMARY);
  const inTree = names.filter((n) => 'inTreeOf' in branch.components[n]!);
  return [...first, ...names.filter((n) => n !== PRIMARY && !inTree.includes(n)), ...inTree];
}

async function branchFacts(recipes: RecipeSet, branch: BranchRecipe, settings: Settings, repoPath: string, commit: string, url: string): Promise<BranchFacts> {
  const kubernetes = typeof branch.kubernetes === 'string'
    ? branch.kubernetes
    : minorOf(versionConst(await readTreeFile(repoPath, commit, branch.kubernetes.follow, url), where(url, commit, branch.kubernetes.follow)));
  let toolchain: string;
  if (typeof branch.toolchain === 'string') toolchain = branch.toolchain;
  else {
    const path = branch.toolchain.follow;
    const goVersion = goDirective(await readTreeFile(repoPath, commit, path, url), where(url, commit, path));
    const available = new Map([...recipes.toolchains.values()].map((l) => [l.recipe.name, l.recipe.version] as const));
    for (const [name, swap] of Object.entries(settings.toolchains)) if (!available.has(name)) available.set(name, swap.version ?? name.replace(/^go/, ''));
    const found = toolchainFor(goVersion, available);
    if (!found) {
      throw new SourceError(
        `${PRIMARY} ${branch.name} at ${commit.slice(0, 12)} asks for Go ${goVersion} (${path}), which no toolchain recipe or setting provides (have: ${[...available.keys()].sort().join(', ')})`,
        `add recipes/toolchains/go${goVersion}.yaml with the official download URLs and sha256 of go${goVersion}.linux-{amd64,arm64}.tar.gz, or supply one in your settings: toolchains: { go${goVersion}: { version: "${goVersion}", archives: { amd64: { url: ..., sha256: ... }, arm64: { url: ..., sha256: ... } } } }`,
      );
    }
    toolchain = found;
  }
  return { kubernetes, versionTags: versionTagsOf(branch, kubernetes), toolchain };
}

async function readFollowed(repoPath: string, commit: string, path: string, component: string, url: string): Promise<string> {
  const version = dependencyVersion(await readTreeFile(repoPath, commit, path, url), component, where(url, commit, path));
  if (!refName.safeParse(version).success) throw new SourceError(`${where(url, commit, path)}: ${component}'s version ${quote(version)} is not a tag name`);
  return version;
}

function where(url: string, commit: string, path: string): string {
  return `${url}@${commit.slice(0, 12)}:${path}`;
}

function pinSource(ref: TagOrBranch, recipe: ComponentRecipe['releases'], swapped: Record<string, unknown> | undefined): LockedComponent['pinnedBy'] {
  if ('branch' in ref) return 'branch-head';
  if (swapped && Object.hasOwn(swapped, ref.tag)) return 'config';
  return 'commit' in (recipe[ref.tag] ?? {}) ? 'recipe' : 'trust-on-first-use';
}

function describeRef(ref: TagOrBranch): string {
  return 'branch' in ref ? `branch ${ref.branch}` : `tag ${ref.tag}`;
}

function pickCommit(name: string, ref: TagOrBranch, refs: RemoteRefs, releases: ComponentRecipe['releases'], url: string, followed: boolean): string {
  if ('branch' in ref) {
    const head = refs.heads.get(ref.branch);
    if (!head) {
      const near = [...refs.heads.keys()].filter((h) => h.startsWith(ref.branch.split(/[-.]/)[0] ?? '')).sort().slice(0, 20);
      throw new SourceError(`${name}: branch "${ref.branch}" not found at ${url}`, near.length ? `branches there include: ${near.join(', ')}` : undefined);
    }
    return head;
  }
  const release = Object.hasOwn(releases, ref.tag) ? releases[ref.tag] : undefined;
  const remote = refs.tags.get(ref.tag);
  if (!release && !followed) throw new SourceError(`${name}: tag ${ref.tag} is not a release in its recipe`, `releases: ${Object.keys(releases).sort().join(', ')}`);
  if (!release || !('commit' in release)) {
    // A tag a moving branch names that we have not pinned yet is trusted on first use like an
    // unpinned release: the lock records the commit, and the next pin in the recipe checks it.
    if (!remote) throw new SourceError(`${name}: tag ${ref.tag} not found at ${url}`);
    return remote;
  }
  const pinned = release.commit;
  if (remote && remote !== pinned) {
    throw new SourceError(`${name}: tag ${ref.tag} at ${url} points at ${remote}, but the recipe pins ${pinned}`, 'a moved tag is a supply-chain red flag: check upstream before changing the pin');
  }
  // A mirror may lack the tag but still hold the pinned commit: the fetch checks that.
  return pinned;
}

/**
 * Resolve stage: RecipeSet + branch -> Resolution (every branch head and tag turned into a commit,
 * every toolchain into a URL and sha256). The Resolution is also the lock record: a later run
 * given it with --lock uses exactly those inputs and asks no remote anything.
 */
import { quote, SourceError, UsageError } from '../errors.js';
import type { Settings } from '../config.js';
import { SourceCache } from '../source/cache.js';
import { fetchCommit, lsRemote, type RemoteRefs } from '../source/git.js';
import { applyMirrors } from '../source/mirror.js';
import type { RecipeSet } from './loader.js';
import type { BranchRecipe, ComponentRecipe, ComponentRef } from './schema.js';
import { upstreamVersion } from './version.js';

export interface LockedComponent {
  /** Upstream URL as the recipe gives it (mirrors apply at fetch time, so locks stay portable). */
  url: string;
  ref: { kind: 'branch' | 'tag'; name: string };
  commit: string;
  /** Committer time of the commit (seconds): orders nightlies and is the build's SOURCE_DATE_EPOCH. */
  commitTime: number;
  /** Upstream version: the tag, or last tag + git time + short commit for a branch head. */
  version: string;
  /** Where the commit came from: a recipe pin, the user's pin swap, the tag on first use, or a branch head. */
  pinnedBy: 'recipe' | 'config' | 'trust-on-first-use' | 'branch-head';
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
  resolvedAt: string;
  components: Record<string, LockedComponent>;
  toolchains: Record<string, LockedToolchain>;
}

export function findBranch(recipes: RecipeSet, name: string): BranchRecipe {
  const b = recipes.branches.get(name);
  if (!b) {
    throw new UsageError(`unknown branch ${quote(name)}`, `known branches: ${[...recipes.branches.keys()].sort().join(', ')}`);
  }
  return b.recipe;
}

export interface ResolveHooks {
  onStep?: (message: string) => void;
}

export async function resolve(recipes: RecipeSet, branchName: string, settings: Settings, hooks: ResolveHooks = {}): Promise<Resolution> {
  const branch = findBranch(recipes, branchName);
  const cache = new SourceCache(settings.cacheDir);
  const components: Record<string, LockedComponent> = {};
  const toolchainNames = new Set<string>([branch.toolchain]);

  for (const [name, ref] of Object.entries(branch.components)) {
    const recipe = recipes.components.get(name)!.recipe;
    const url = recipe.source.git;
    const fetchUrl = applyMirrors(url, settings.mirrors);
    hooks.onStep?.(`resolving ${name} ${describeRef(ref)} at ${fetchUrl}`);
    const refs = await lsRemote(fetchUrl);
    const releases = { ...recipe.releases, ...settings.components[name]?.releases };
    const commit = pickCommit(name, ref, refs, releases, fetchUrl);
    // The commit's time is part of the version of a nightly: fetch the commit (shallow) to read it.
    // The fetch lands in the cache, so the fetch stage finds it there.
    const fetched = await fetchCommit(cache, fetchUrl, commit, 'branch' in ref ? `refs/heads/${ref.branch}` : `refs/tags/${ref.tag}`);
    components[name] = {
      url,
      ref: 'branch' in ref ? { kind: 'branch', name: ref.branch } : { kind: 'tag', name: ref.tag },
      commit,
      commitTime: fetched.commitTime,
      version: upstreamVersion(ref, commit, fetched.commitTime, refs.tags, branch),
      pinnedBy: pinSource(ref, recipe.releases, settings.components[name]?.releases),
    };
    const override = branch.overrides[name];
    if (override?.toolchain) toolchainNames.add(override.toolchain);
  }

  const toolchains: Record<string, LockedToolchain> = {};
  for (const name of [...toolchainNames].sort()) {
    const t = recipes.toolchains.get(name)!.recipe;
    const swap = settings.toolchains[name];
    toolchains[name] = {
      version: swap?.version ?? t.version,
      root: t.root,
      overridden: Boolean(swap),
      archives: swap ? swap.archives : t.archives,
    };
  }
  return {
    lockVersion: 1,
    branch: branch.name,
    kubernetes: branch.kubernetes,
    resolvedAt: new Date().toISOString(),
    components,
    toolchains,
  };
}

function pinSource(ref: ComponentRef, recipe: ComponentRecipe['releases'], swapped: Record<string, unknown> | undefined): LockedComponent['pinnedBy'] {
  if ('branch' in ref) return 'branch-head';
  if (swapped && Object.hasOwn(swapped, ref.tag)) return 'config';
  return 'commit' in (recipe[ref.tag] ?? {}) ? 'recipe' : 'trust-on-first-use';
}

function describeRef(ref: ComponentRef): string {
  return 'branch' in ref ? `branch ${ref.branch}` : `tag ${ref.tag}`;
}

function pickCommit(name: string, ref: ComponentRef, refs: RemoteRefs, releases: ComponentRecipe['releases'], url: string): string {
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
  if (!release) throw new SourceError(`${name}: tag ${ref.tag} is not a release in its recipe`, `releases: ${Object.keys(releases).sort().join(', ')}`);
  if (!('commit' in release)) {
    // Trust on first use: the recipe says why no commit is pinned; the lock records what we got.
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

/**
 * Fetch stage: Plan -> every source commit and toolchain archive in the cache, verified (git by
 * commit id, archives by sha256). After it, a build needs no network. It comes after the plan
 * because which toolchain archive a build needs depends on the plan's arch and strategy.
 */
import type { Settings } from '../settings/settings.js';
import { SourceError } from '../core/errors.js';
import type { Plan } from '../plan/planner.js';
import { SourceCache } from '../source/cache.js';
import { fetchCommit, type FetchedCommit } from '../source/git.js';
import { download, type Downloaded } from '../source/http.js';

export interface FetchEvents {
  onStep?: (message: string) => void;
  onProgress?: (what: string, received: number, total: number | undefined) => void;
}

export interface Fetched {
  sources: Record<string, FetchedCommit>;
  /** Keyed `${toolchain}:${arch}`. */
  toolchains: Record<string, Downloaded>;
}

export async function fetchAll(plan: Plan, settings: Settings, events: FetchEvents = {}): Promise<Fetched> {
  const cache = new SourceCache(settings.cacheDir);
  const fetched: Fetched = { sources: {}, toolchains: {} };
  for (const c of plan.components) {
    events.onStep?.(`source ${c.name}: ${c.source.ref.name} @ ${c.source.commit.slice(0, 12)} from ${c.source.fetchUrl}`);
    const ref = c.source.ref.kind === 'branch' ? `refs/heads/${c.source.ref.name}` : `refs/tags/${c.source.ref.name}`;
    fetched.sources[c.name] = await fetchCommit(cache, c.source.fetchUrl, c.source.commit, ref);
  }
  for (const c of plan.components) {
    const t = c.toolchain;
    const id = `${t.name}:${t.arch}`;
    if (fetched.toolchains[id]) continue;
    events.onStep?.(`toolchain ${t.name} linux-${t.arch} from ${t.fetchUrl}`);
    fetched.toolchains[id] = await download(cache, t.fetchUrl, t.sha256, {
      onProgress: (received, total) => events.onProgress?.(id, received, total),
      onRetry: (attempt, reason) => events.onStep?.(`toolchain ${id}: attempt ${attempt} failed (${reason}); retrying`),
    }).catch((err: unknown) => {
      if (!(err instanceof SourceError) || t.overridden || /sha256/.test(err.message)) throw err;
      // Before any build: say which Go this run needs and the two ways a site without the network supplies it.
      throw new SourceError(
        `${plan.branch} needs ${t.name} (Go ${t.version}, linux-${t.arch}) and it could not be downloaded: ${err.message}`,
        `supply it: put ${t.url.split('/').pop()} (sha256 ${t.sha256}) behind a mirror (--mirror ${t.url.replace(/[^/]*$/, '')}=URL, or mirrors: in the settings), or swap the toolchain in the settings (toolchains: { ${t.name}: { version: ..., archives: { ${t.arch}: { url: ..., sha256: ... } } } })`,
      );
    });
  }
  return fetched;
}

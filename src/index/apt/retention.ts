// What a dists/pool repository keeps after an update, so that a client never sees it half-way:
//
//  by-hash: every index is also written as <its dir>/by-hash/SHA256/<its sha256>, and the Release
//           says Acquire-By-Hash: yes, so apt fetches the index a Release names by its hash. A client
//           that read the previous Release while the new one was swapped in still finds the indexes
//           it names: the copies of the last few generations stay (at least `generations`, and any
//           replaced less than `graceSeconds` ago).
//  pool:    a package no index of any suite (current or kept by hash) names any more is removed
//           once it has gone unreferenced for `graceSeconds`, not at once: clients whose lists
//           predate the update still download it meanwhile. Debian's archive (dak) does the same
//           ("stay of execution", 36 hours there).
//
// The bookkeeping is a small file at the repository's root, .crio-build-repository.json (a dot
// file: no index names it, web servers commonly do not list it).
import { readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeJsonAtomic } from '../../core/atomic.js';

export const STATE_FILE = '.crio-build-repository.json';
const FORMAT = 1;

export interface RetentionOptions {
  /** How long something no longer referenced stays (default 36 h, as Debian's archive). */
  graceSeconds?: number;
  /** How many index generations per suite always stay reachable by hash (default 3). */
  generations?: number;
}

export const DEFAULT_GRACE_SECONDS = 36 * 3600;
export const DEFAULT_GENERATIONS = 3;

interface Generation {
  /** When it became the suite's current index (ISO). */
  since: string;
  /** When a newer one replaced it (ISO); absent for the current one. */
  replaced?: string;
  /** by-hash paths of this generation's indexes. */
  files: string[];
  /** by-hash paths of its uncompressed Packages files (read for the pool files they name). */
  packages: string[];
}

interface State {
  format: typeof FORMAT;
  suites: Record<string, Generation[]>;
  /** Pool files no index names, and since when (ISO). */
  unreferenced: Record<string, string>;
}

async function load(root: string): Promise<State> {
  try {
    const s = JSON.parse(await readFile(join(root, STATE_FILE), 'utf8')) as State;
    if (s.format === FORMAT && s.suites && s.unreferenced) return s;
  } catch {
    /* none yet, or unreadable: start afresh (nothing is removed that the indexes name) */
  }
  return { format: FORMAT, suites: {}, unreferenced: {} };
}

export interface RetentionResult {
  /** by-hash files removed (relative paths). */
  byHashRemoved: string[];
  /** Pool files removed. */
  poolRemoved: string[];
  /** Pool files no index names, kept until their grace period ends. */
  poolWaiting: string[];
}

/**
 * After `suite`'s new Release is in place: record its generation (`files`: the by-hash paths it
 * wrote; `packages`: those of uncompressed Packages), drop by-hash copies of generations no longer
 * kept, and remove pool files unreferenced for longer than the grace period.
 */
export async function retain(root: string, suite: string, current: { files: string[]; packages: string[] }, now: Date, opts: RetentionOptions = {}): Promise<RetentionResult> {
  const grace = (opts.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  const keepCount = Math.max(1, opts.generations ?? DEFAULT_GENERATIONS);
  const state = await load(root);
  const gens = state.suites[suite] ?? [];
  const same = gens[0] && gens[0].files.length === current.files.length && gens[0].files.every((f) => current.files.includes(f));
  if (!same) {
    if (gens[0]) gens[0].replaced = now.toISOString();
    gens.unshift({ since: now.toISOString(), files: [...current.files].sort(), packages: [...current.packages].sort() });
  }
  const kept = gens.filter((g, i) => i < keepCount || !g.replaced || now.getTime() - Date.parse(g.replaced) < grace);
  state.suites[suite] = kept;

  // by-hash files of this suite that no kept generation names.
  const keepFiles = new Set(kept.flatMap((g) => g.files));
  const byHashRemoved: string[] = [];
  for (const dir of new Set(current.files.map((f) => dirname(f)))) {
    for (const name of await readdir(join(root, dir)).catch(() => [] as string[])) {
      const rel = `${dir}/${name}`;
      if (keepFiles.has(rel) || name.includes('.tmp-')) continue;
      await rm(join(root, rel), { force: true });
      byHashRemoved.push(rel);
    }
  }

  // Pool files: referenced by any suite's current indexes or kept generations.
  const referenced = new Set<string>();
  for (const gs of Object.values(state.suites)) {
    for (const g of gs) {
      for (const p of g.packages) {
        const text = await readFile(join(root, p), 'utf8').catch(() => '');
        for (const m of text.matchAll(/^Filename: (\S+)$/gm)) referenced.add(m[1]!);
      }
    }
  }
  for (const p of await currentPackagesFiles(root)) {
    for (const m of (await readFile(join(root, p), 'utf8').catch(() => '')).matchAll(/^Filename: (\S+)$/gm)) referenced.add(m[1]!);
  }
  const poolRemoved: string[] = [];
  const poolWaiting: string[] = [];
  const unreferenced: Record<string, string> = {};
  for (const rel of await filesUnder(root, 'pool')) {
    if (referenced.has(rel) || rel.includes('.tmp-')) continue;
    const since = state.unreferenced[rel] ?? now.toISOString();
    if (now.getTime() - Date.parse(since) >= grace) {
      await rm(join(root, rel), { force: true });
      await removeEmptyParents(root, rel);
      poolRemoved.push(rel);
    } else {
      unreferenced[rel] = since;
      poolWaiting.push(rel);
    }
  }
  state.unreferenced = unreferenced;
  await writeJsonAtomic(join(root, STATE_FILE), state);
  return { byHashRemoved: byHashRemoved.sort(), poolRemoved: poolRemoved.sort(), poolWaiting: poolWaiting.sort() };
}

/** dists/<suite>/<component>/binary-<arch>/Packages of every suite. */
async function currentPackagesFiles(root: string): Promise<string[]> {
  return (await filesUnder(root, 'dists')).filter((f) => /^dists\/[^/]+\/[^/]+\/binary-[^/]+\/Packages$/.test(f));
}

async function filesUnder(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk(dir);
  return out.sort();
}

async function removeEmptyParents(root: string, rel: string): Promise<void> {
  let dir = dirname(rel);
  while (dir !== 'pool' && dir !== '.' && dir !== '') {
    try {
      await rmdir(join(root, dir));
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

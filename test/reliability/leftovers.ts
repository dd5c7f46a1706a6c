/**
 * What a disturbed run may have left behind, listed so a test can assert the list is empty: anything
 * partial or temporary under the artifacts dir and the cache dir, and containers on Docker engines.
 *
 *   artifacts/ and cache/   names with `.tmp-` (core/atomic.ts tempNameFor: files, build scratch
 *                           dirs builds/<key>.tmp-*, release work dirs releases/.<tag>.tmp-*, and
 *                           their `.old` twins), `*.partial`, `*.tmp` (the .deb writer's
 *                           .<file>.<pid>.<hex>.tmp and .data.tmp), `.package-work-*` (the package
 *                           stage's scratch), .debs and bundles of zero bytes
 *   cache/builds/<key>      an entry without result.json (a build that never finished)
 *   cache/partial/<h>.part  a partial download whose blob is complete (partials of downloads that
 *                           failed midway are kept on purpose: the next fetch resumes them)
 *   cache/trash/            anything (entries a prune renamed away and did not delete)
 *   engines                 containers labelled io.crio-build.managed: running ones always, stopped
 *                           ones too unless `runningOnly` (use it for an engine other runs share)
 *
 * The run locks (.crio-build.lock, .crio-build.lock.json) are not listed: a killed run's lock is
 * taken over by the next run once it is stale, by design (src/pipeline/run-lock.ts).
 */
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { DockerDriver } from '../../src/hosts/docker.js';

export interface LeftoverOptions {
  artifactsDir?: string;
  cacheDir?: string;
  engines?: Array<{ name: string; driver: DockerDriver; runningOnly?: boolean }>;
}

const LOCK_NAMES = /^\.crio-build\.lock(\.json)?$/;

/** Why `name` (a file or dir of size `size`) is partial, or undefined. */
export function partialName(name: string, isFile: boolean, size: number): string | undefined {
  if (name.includes('.tmp-')) return 'temporary name (.tmp-)';
  if (name.endsWith('.partial')) return 'partial download (.partial)';
  if (name.endsWith('.tmp')) return 'temporary name (.tmp)';
  if (name.startsWith('.package-work-')) return 'package stage scratch dir';
  if (isFile && size === 0 && /\.(deb|tar\.gz)$/.test(name)) return 'zero-size package';
  return undefined;
}

async function walk(root: string, visit: (path: string, name: string, isDir: boolean, size: number) => Promise<boolean | void>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  for (const name of names.sort()) {
    const p = join(root, name);
    let st;
    try {
      st = await lstat(p);
    } catch {
      continue; // vanished
    }
    const descend = await visit(p, name, st.isDirectory(), st.size);
    if (st.isDirectory() && descend !== false) await walk(p, visit);
  }
}

export async function leftovers(o: LeftoverOptions): Promise<string[]> {
  const out: string[] = [];
  const scan = async (label: string, root: string) => {
    await walk(root, async (path, name, isDir, size) => {
      if (LOCK_NAMES.test(name)) return false;
      const why = partialName(name, !isDir, size);
      if (why) {
        out.push(`${label}/${relative(root, path)}: ${why}`);
        return false;
      }
      return true;
    });
  };
  if (o.artifactsDir) await scan('artifacts', o.artifactsDir);
  if (o.cacheDir) {
    const c = o.cacheDir;
    await scan('cache', c);
    for (const key of await readdir(join(c, 'builds')).catch(() => [] as string[])) {
      if (/^[0-9a-f]{64}$/.test(key) && !existsSync(join(c, 'builds', key, 'result.json'))) out.push(`cache/builds/${key}: no result.json (an unfinished build entry)`);
    }
    for (const n of await readdir(join(c, 'partial')).catch(() => [] as string[])) {
      const m = /^([0-9a-f]{64})\.part$/.exec(n);
      if (!m || existsSync(join(c, 'blobs', 'sha256', m[1]!))) out.push(`cache/partial/${n}: partial file of a completed download`);
    }
    for (const n of await readdir(join(c, 'trash')).catch(() => [] as string[])) out.push(`cache/trash/${n}: removal left unfinished`);
  }
  for (const e of o.engines ?? []) {
    const list = await e.driver.client.listContainers({ all: !e.runningOnly, filters: JSON.stringify({ label: ['io.crio-build.managed=true'] }) });
    // An image build's step containers inherit the labels of the image they start from (kind base
    // or builder) and are the engine's to remove when the build ends: a build running beside the
    // test (scripts/run-tests.js makes images in the background) is not a leftover.
    for (const c of list.filter((x) => !['base', 'builder'].includes(x.Labels['io.crio-build.kind'] ?? ''))) out.push(`engine ${e.name}: container ${(c.Names[0] ?? c.Id).replace(/^\//, '')} (${c.Labels['io.crio-build.kind'] ?? '?'} ${c.Labels['io.crio-build.component'] ?? ''}) ${c.State}: ${c.Status}`);
  }
  return out;
}

/** Files of a download that is not there (for "nothing in the cache for it"): the blob and its partial. */
export function downloadTraces(cacheDir: string, sha256: string): string[] {
  return [join(cacheDir, 'blobs', 'sha256', sha256), join(cacheDir, 'partial', `${sha256}.part`)].filter((p) => existsSync(p));
}

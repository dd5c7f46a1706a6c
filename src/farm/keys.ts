/**
 * Content keys: a job's key is the sha256 of everything that can change its output, so equal keys
 * mean an output can be reused and a changed input always changes the key.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));

/** crio-build's own version takes part in every key: a new release of the tool rebuilds. */
export const TOOL_VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

/** JSON with sorted keys, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function contentKey(kind: string, inputs: unknown): string {
  return createHash('sha256').update(canonicalJson({ kind, tool: TOOL_VERSION, inputs })).digest('hex');
}

/** Digest of a builder definition folder (Dockerfile and scripts), path and content of each file. */
export async function dirDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await listFiles(dir)) {
    hash.update(relative(dir, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

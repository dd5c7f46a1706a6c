/**
 * Content keys: a job's or an artifact's key is the sha256 of everything that can change it, so
 * equal keys mean an output can be reused and a changed input always changes the key. Every kind
 * of key (a builder's, a build's, a package's: src/plan/keys.ts, src/package/keys.ts) is one
 * contentKey call with its kind's name.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from './hash.js';

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

/** The key of a `kind` of thing made from `inputs` (any JSON value) by this version of crio-build. */
export function contentKey(kind: string, inputs: unknown): string {
  return sha256Hex(canonicalJson({ kind, tool: TOOL_VERSION, inputs }));
}

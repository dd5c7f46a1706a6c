/**
 * Content keys: a job's key is the sha256 of everything that can change its output, so equal keys
 * mean an output can be reused and a changed input always changes the key.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
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

// ---- The keys of the build environment and of a build, each made in one place ------------------

/**
 * A key that is not known when the plan is made. A builder's key comes from what is in its image
 * (read back once the image exists), and every key made from it (a build's, a package's) waits for
 * it; `crio-build plan` shows this instead of a key.
 */
export const PENDING_KEY = 'pending:builder';

/** What is in a builder image: everything that can change the bytes of a build made in it. */
export interface BuilderContent {
  /** builders/<name>/: Dockerfile and scripts (paths, modes, bytes), without pins/ (see packages). */
  definition: string;
  /** The arch its containers run as. */
  platform: string;
  /** The arch a cross builder compiles for; null for a native (or emulated) builder. */
  crossTarget: string | null;
  /** The Go toolchain archive it holds (verified by sha256 before it goes in) and where it unpacks. */
  toolchain: { sha256: string; root: string };
  /** The base image's content: the digest of its root filesystem layers (not its id, which has a date in it). */
  base: string;
  /** Every installed Debian package as `name:arch version`, read back from the image with dpkg-query, sorted. */
  packages: readonly string[];
}

/** The builder's key: computed once, when its image exists, from what is in it. */
export function builderKey(content: BuilderContent): string {
  return contentKey('builder', { ...content, packages: [...content.packages].sort() });
}

/** What a build is made from, besides its builder: known when the plan is made. */
export interface BuildInputs {
  component: string;
  build: unknown;
  commit: string;
  toolchain: string;
  toolchainEnv: Record<string, string>;
  strategy: string;
  arch: string;
}

/** A build's key: its inputs and the key of the builder it runs in. */
export function buildKey(inputs: BuildInputs, builder: string): string {
  if (!/^[0-9a-f]{64}$/.test(builder)) throw new Error(`a build key needs the builder's key, got ${JSON.stringify(builder)}`);
  return contentKey('build', { ...inputs, builder });
}

/** The digest of a builder definition folder without its pins/ (they are covered by the packages). */
export async function definitionDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await listFiles(dir)) {
    const rel = relative(dir, file);
    if (rel === 'pins' || rel.startsWith('pins/')) continue;
    // The executable bit only: the rest of a checkout's mode follows the umask of whoever made it.
    const exec = (await stat(file)).mode & 0o111 ? 'x' : '-';
    hash.update(rel).update('\0').update(exec).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

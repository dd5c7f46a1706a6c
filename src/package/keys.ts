/**
 * Content keys of the package stage's outputs, one per file: each .deb's key covers its own
 * component's build output (its bytes, not its name), what its definition declares it reads (the
 * siblings whose versions it names, the pause image), the branch, arch, maintainer, compression and
 * the packaging code; the bundle's key covers every component. A change to one component therefore
 * repacks its .deb, the bundle and SHA256SUMS, and leaves the other .debs as they are.
 *
 * The keys of what is in a packages dir are kept beside it in PACKAGED_KEYS_FILE; a file is reused
 * only when its key matches and its bytes still hash to what was recorded.
 */
import { lstat, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentKey } from '../core/keys.js';
import { dirDigest, sha256File } from '../core/hash.js';
import { writeJsonAtomic } from '../core/atomic.js';
import type { BuiltComponent } from './definitions/types.js';

/** Hidden, so the release tree and the publishers, which take the listed artifacts, never ship it. */
export const PACKAGED_KEYS_FILE = '.crio-build-packaged-keys.json';
const FORMAT = 1;

let packagingCode: Promise<string> | undefined;

/** The compiled packaging code (dist/src/package): a change to how packages are made changes every key. */
export function packagingCodeDigest(): Promise<string> {
  packagingCode ??= dirDigest(fileURLToPath(new URL('.', import.meta.url)), { layout: 'content', unreadableAsEmpty: true });
  return packagingCode;
}

/** What identifies a component's build in a key: its record and the digest of its output. */
export interface ComponentIdentity {
  name: string;
  version: string;
  commit: string;
  commitTime: number;
  shlibsDepends: string;
  output: string;
}

/**
 * The identity, and the output's size in bytes (the stage starts the biggest writers first). The
 * output is read as the packages see it: every path under outDir with its type, its execute bits
 * (they choose 0755 or 0644), and its bytes or link target (dirDigest's `tree` layout). Reading it
 * costs a sha256 pass over the output (about 0.2 s for real cri-o), far less than compressing it again.
 */
export async function componentIdentity(c: BuiltComponent): Promise<{ identity: ComponentIdentity; bytes: number }> {
  const { digest, bytes } = await dirDigest(c.outDir, { layout: 'tree', bytes: true });
  return { identity: { name: c.name, version: c.version, commit: c.commit, commitTime: c.commitTime, shlibsDepends: c.shlibsDepends, output: digest }, bytes };
}

/** The shared part of every key: where and how the packages are made. */
export interface StageIdentity {
  branch: string;
  kubernetes: string;
  arch: string;
  maintainer: string;
  /** The compression settings that change bytes (not jobs or threads, which never do). */
  compression: unknown;
}

export async function debKey(o: { stage: StageIdentity; definition: string; component: ComponentIdentity; siblings: ReadonlyArray<{ name: string; version: string }>; pauseImage: string | null }): Promise<string> {
  return contentKey('packaged-deb', { ...o, code: await packagingCodeDigest() });
}

export async function bundleKey(o: { stage: StageIdentity; components: readonly ComponentIdentity[]; pauseImage: string | null }): Promise<string> {
  return contentKey('packaged-bundle', { ...o, code: await packagingCodeDigest() });
}

export interface KeyedFile {
  key: string;
  sha256: string;
  size: number;
}

/** file name -> the key it was made for and its bytes' digest. */
export type PackagedKeys = Record<string, KeyedFile>;

export async function readPackagedKeys(outDir: string): Promise<PackagedKeys> {
  try {
    const state = JSON.parse(await readFile(join(outDir, PACKAGED_KEYS_FILE), 'utf8')) as { format?: number; files?: PackagedKeys };
    return state.format === FORMAT && state.files && typeof state.files === 'object' ? state.files : {};
  } catch {
    return {};
  }
}

export function writePackagedKeys(outDir: string, files: PackagedKeys): Promise<void> {
  return writeJsonAtomic(join(outDir, PACKAGED_KEYS_FILE), { format: FORMAT, files });
}

/** Forgets every key first, so a run that fails half-way never leaves a key beside a file it did not make. */
export function clearPackagedKeys(outDir: string): Promise<void> {
  return rm(join(outDir, PACKAGED_KEYS_FILE), { force: true });
}

/** The recorded file when `file` in outDir was made for `key` and still has the recorded bytes. */
export async function reusable(outDir: string, keys: PackagedKeys, file: string, key: string): Promise<KeyedFile | undefined> {
  const k = keys[file];
  if (!k || k.key !== key) return undefined;
  const path = join(outDir, file);
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile() || st.size !== k.size) return undefined;
  return (await sha256File(path)) === k.sha256 ? k : undefined;
}

/**
 * The keys of the build environment and of a build: a builder's (from what is in its image) and a
 * build's (its inputs and its builder's key), each one contentKey (src/core/keys.ts) of its kind.
 */
import { contentKey } from '../core/keys.js';
import { dirDigest } from '../core/hash.js';

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

/**
 * The digest of a builder definition folder without its pins/ (they are covered by the packages):
 * each file's path, executable bit (the rest of a checkout's mode follows the umask of whoever made
 * it) and bytes (the `content+exec` layout of dirDigest).
 */
export function definitionDigest(dir: string): Promise<string> {
  return dirDigest(dir, { layout: 'content+exec', skip: (rel) => rel === 'pins', unreadableAsEmpty: true });
}

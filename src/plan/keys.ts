/**
 * Every key of a plan's jobs, one function per kind, each one contentKey (src/core/keys.ts) of its
 * kind: a source's, a toolchain's, the base image job's, a builder's (from what is in its image), a
 * build's (its inputs and its builder's key), and the planned package, bundle, checksums and index
 * keys that follow from the builds'. The package stage's own per-file keys, made from the build
 * outputs' content once they exist, are in src/package/keys.ts.
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

/** A source job's key: the repository and the commit. */
export function sourceKey(url: string, commit: string): string {
  return contentKey('source', { url, commit });
}

/** A toolchain job's key: the archive's sha256. */
export function toolchainKey(sha256: string): string {
  return contentKey('toolchain', { sha256 });
}

/** The digest of a build's inputs, known when planning (shown until the builder's key settles). */
export function buildInputsDigest(inputs: BuildInputs): string {
  return contentKey('build-inputs', inputs);
}

/** The base image job's key: the digest of its root filesystem layers. */
export function baseImageJobKey(baseDigest: string): string {
  return contentKey('base-image', { digest: baseDigest });
}

/** A planned .deb's key: its build's key, name and version. */
export function plannedPackageKey(buildKey: string, name: string, version: string): string {
  return contentKey('package', { build: buildKey, name, version });
}

/** The planned bundle's key: every build's key. */
export function plannedBundleKey(buildKeys: readonly string[]): string {
  return contentKey('bundle', { builds: buildKeys });
}

/** SHA256SUMS's key: the packages' and the bundle's keys. */
export function checksumsKey(parts: readonly string[]): string {
  return contentKey('checksums', { parts });
}

/** The index job's key: the checksums key of the arch. */
export function indexKey(checksums: string): string {
  return contentKey('index', { parts: checksums });
}

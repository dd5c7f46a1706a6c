/**
 * The index stage: a signed apt repository from a list of .deb files.
 *
 *   buildFlatRepository(opts: RepositoryOptions): Promise<RepositoryResult>
 *     One directory holds the .debs (linked or copied in unless already there), Packages{,.gz,.xz},
 *     Release, InRelease, Release.gpg and the public key: <keyringName>.asc (armored) and
 *     <keyringName>.gpg (binary keyring, for /usr/share/keyrings). Filename: ./<file>.deb. Sources
 *     line: deb [signed-by=/usr/share/keyrings/<keyringName>.gpg] <base-url> ./ , so the downloads
 *     of one GitHub release (.../releases/download/TAG/) are the repository.
 *   buildDistsRepository(opts: RepositoryOptions): Promise<RepositoryResult>
 *     pool/main/<prefix>/<source>/<file>.deb (hard links, or copies across file systems),
 *     dists/<suite>/main/binary-<arch>/Packages{,.gz,.xz} per architecture (arch "all" in each),
 *     dists/<suite>/{Release,InRelease,Release.gpg}, keyring files at the root.
 *     Sources line: deb [signed-by=...] <base-url> <suite> main
 *   sourcesLine(template: string, baseUrl: string, signedBy?: string): string
 *     fills in RepositoryResult.sourcesLine ({baseUrl}); signedBy replaces the keyring path.
 *   generateSigningKey(opts: GenerateKeyOptions): Promise<GeneratedKey>
 *     {name, email, passphrase?, expire? ("2y"), algorithm? ("ed25519" | "rsa3072"), outFile}
 *     -> {fingerprint, outFile}; the armored secret key is written with mode 0600 via temp+rename.
 *   signingKeyFromEnvironment(env, keyFile?): SigningKey | undefined
 *     $CRIO_BUILD_SIGNING_KEY or a key file (not both), passphrase from $CRIO_BUILD_SIGNING_PASSPHRASE.
 *   compareDebianVersions(a: string, b: string): number      dpkg --compare-versions order
 *
 * RepositoryOptions: debs, dir, release: ReleaseInfo {origin, label, suite, codename? (default
 * suite), version?, description?, validFor? (seconds until Valid-Until)}, architectures? (default:
 * those of the debs), signing: SigningKey ({armored} | {file}, passphrase?, description?),
 * keyringName? (crio-build-archive-keyring), cacheFile? (stanza cache, keep it outside dir), now?.
 * RepositoryResult: layout, dir, files [{name, path, sha256, size}] (the .debs and every file
 * written: what a publisher uploads), sourcesLine, fingerprint, stats {read, reused}.
 *
 * Guarantees: Packages stanzas as dpkg-scanpackages prints them, sorted by package, Debian version,
 * architecture; the same inputs and clock give byte-identical Packages* and Release. Nothing is
 * written until the Release is signed; files appear by rename, Release/Release.gpg/InRelease last;
 * a failure leaves the previous repository as it was and no temporary files. The key is imported
 * into a fresh private GNUPGHOME that is deleted afterwards (also when the process exits midway);
 * the passphrase reaches gpg through a pipe only. User errors are InvalidInputError (exit 3),
 * naming what is wrong and what is allowed, never containing the key or the passphrase.
 * Not done: old pool files, and the indexes of architectures no longer served, stay in place
 * (nothing refers to them); no by-hash indexes (Acquire-By-Hash), no Contents or Translation files.
 */
import { UsageError } from '../../core/errors.js';
import type { SigningKey } from './sign.js';

export { buildDistsRepository, buildFlatRepository, sourcesLine, BASE_URL_PLACEHOLDER, DEFAULT_KEYRING_NAME } from './repository.js';
export type { RepositoryFile, RepositoryOptions, RepositoryResult } from './repository.js';
export type { ReleaseInfo } from './release.js';
export type { SigningKey } from './sign.js';
export type { ReadStats } from './cache.js';
export { generateSigningKey, type GenerateKeyOptions, type GeneratedKey } from './keys.js';
export { compareDebianVersions } from './version.js';

export const SIGNING_KEY_ENV = 'CRIO_BUILD_SIGNING_KEY';
export const SIGNING_PASSPHRASE_ENV = 'CRIO_BUILD_SIGNING_PASSPHRASE';

/** The signing key the CLI was given: a key file (option) or $CRIO_BUILD_SIGNING_KEY, not both;
 * the passphrase from $CRIO_BUILD_SIGNING_PASSPHRASE. Undefined when there is no key. */
export function signingKeyFromEnvironment(env: NodeJS.ProcessEnv, keyFile?: string): SigningKey | undefined {
  const armored = env[SIGNING_KEY_ENV];
  const passphrase = env[SIGNING_PASSPHRASE_ENV];
  const extra = passphrase ? { passphrase } : {};
  if (keyFile !== undefined && armored) {
    throw new UsageError(`both a signing key file and $${SIGNING_KEY_ENV} are given; give one`);
  }
  if (keyFile !== undefined) return { file: keyFile, ...extra };
  if (armored) return { armored, description: `the key in $${SIGNING_KEY_ENV}`, ...extra };
  return undefined;
}

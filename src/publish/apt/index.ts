/**
 * The index stage: a signed apt repository from a list of .deb files.
 *
 *   buildFlatRepository(opts: RepositoryOptions): Promise<RepositoryResult>
 *     One directory holds the .debs, Packages{,.gz,.xz}, Release, InRelease, Release.gpg and the
 *     public key (<keyringName>.asc armored, <keyringName>.gpg binary keyring). Filename: ./x.deb.
 *     Sources line: deb [signed-by=/usr/share/keyrings/<keyringName>.gpg] <base-url> ./
 *     (so the downloads of one GitHub release, .../releases/download/TAG/, are the repository).
 *   buildDistsRepository(opts: RepositoryOptions): Promise<RepositoryResult>
 *     pool/main/<prefix>/<source>/x.deb, dists/<suite>/main/binary-<arch>/Packages{,.gz,.xz},
 *     dists/<suite>/{Release,InRelease,Release.gpg}, the keyring files at the root.
 *     Sources line: deb [signed-by=...] <base-url> <suite> main
 *   sourcesLine(template, baseUrl, signedBy?): string   fills in RepositoryResult.sourcesLine
 *   generateSigningKey(opts: GenerateKeyOptions): Promise<GeneratedKey>   (crio-build keys generate)
 *   signingKeyFromEnvironment(env, keyFile?): SigningKey | undefined      (what the CLI passes on)
 *   compareDebianVersions(a, b): number                                   (dpkg --compare-versions)
 *
 * RepositoryOptions: debs, dir, release {origin, label, suite, codename?, version?, description?,
 * validFor? (seconds: Valid-Until)}, architectures? (default: those of the debs), signing
 * ({armored} | {file}, passphrase?), keyringName?, cacheFile? (stanza cache, outside dir), now?.
 * RepositoryResult: files [{name, path, sha256, size}], sourcesLine, fingerprint,
 * stats {read, reused} (.debs read vs. taken from the cache).
 *
 * Guarantees: Packages sorted by package, Debian version, architecture, in dpkg-scanpackages'
 * field order; same inputs and clock give byte-identical Packages* and Release. Nothing is written
 * until the Release is signed; files appear by rename, Release/Release.gpg/InRelease last; a
 * failure leaves the previous repository as it was and no temporary files. The key is imported
 * into a fresh private GNUPGHOME that is deleted afterwards; the passphrase goes to gpg through a
 * pipe only. User errors are InvalidInputError (exit 3) naming what is wrong and what is allowed;
 * they never contain the key or the passphrase. Old pool files and indexes of architectures no
 * longer served are left in place (nothing refers to them).
 */
import { UsageError } from '../../errors.js';
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

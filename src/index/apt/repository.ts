// The index stage's two entry points, one per layout. The order of work is what keeps a published
// repository consistent: read and check every .deb, render the indexes and the Release, sign it
// (a bad key or passphrase fails here, before anything is written), then stage all files under
// temporary names and rename them into place, Release files last.
import { resolve } from 'node:path';
import { InvalidInputError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { StanzaCache, type ReadStats } from './cache.js';
import { planLayout, type LayoutKind } from './layout.js';
import { checkUnique, describeDeb, packagesFiles, renderPackages, type IndexedDeb } from './packages.js';
import { checkReleaseInfo, renderRelease, type ReleaseInfo } from './release.js';
import { retain, type RetentionOptions, type RetentionResult } from './retention.js';
import { withSigner, type SigningKey } from './sign.js';
import { Staging } from './staging.js';

export const DEFAULT_KEYRING_NAME = 'crio-build-archive-keyring';
/** The placeholder for the repository's URL in RepositoryResult.sourcesLine. */
export const BASE_URL_PLACEHOLDER = '{baseUrl}';

export interface RepositoryOptions {
  /** The .deb files to index. */
  debs: readonly string[];
  /** The repository's root directory (created if missing). */
  dir: string;
  release: ReleaseInfo;
  /** Architectures the repository serves (Release's Architectures; one index each with dists).
   * Default: those of the .debs. A .deb of another architecture (other than "all") is an error. */
  architectures?: readonly string[];
  signing: SigningKey;
  /** Base name of the public key files <name>.asc and <name>.gpg. Default crio-build-archive-keyring. */
  keyringName?: string;
  /** Stanza cache file (outside `dir`); none: every .deb is read. */
  cacheFile?: string;
  /** The clock for Date and Valid-Until. Default: the system clock. */
  now?: () => Date;
  /** dists layout: how long replaced by-hash indexes and unreferenced pool files stay (retention.ts). */
  retention?: RetentionOptions;
}

export interface RepositoryFile {
  /** Path relative to the repository root, with "/" separators. */
  name: string;
  path: string;
  sha256: string;
  size: number;
}

export interface RepositoryResult {
  layout: LayoutKind;
  dir: string;
  /** Every file of the repository (the .debs and the files written), sorted by name: what a publisher uploads. */
  files: RepositoryFile[];
  /** The apt sources line, with BASE_URL_PLACEHOLDER where the repository's URL goes. */
  sourcesLine: string;
  /** Fingerprint of the signing key. */
  fingerprint: string;
  stats: ReadStats;
  /** dists layout: what the update removed, and the pool files waiting out their grace period. */
  retention?: RetentionResult;
}

const ARCH = /^[a-z0-9][a-z0-9-]*$/;
const KEYRING_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function resolveArchitectures(given: readonly string[] | undefined, debs: readonly IndexedDeb[]): string[] {
  if (given !== undefined) {
    for (const a of given) {
      if (!ARCH.test(a) || a === 'all' || a === 'any') {
        throw new InvalidInputError(`architecture "${a}" is not allowed (allowed: Debian architecture names such as amd64, arm64, armhf; "all" packages go into every architecture's index)`);
      }
    }
    if (new Set(given).size !== given.length) throw new InvalidInputError(`architectures ${given.join(', ')}: each may be given once`);
  }
  const archs = given !== undefined ? [...given] : [...new Set(debs.map((d) => d.architecture).filter((a) => a !== 'all'))];
  if (archs.length === 0) throw new InvalidInputError('no architecture to index: give the architectures the repository serves');
  for (const d of debs) {
    if (d.architecture !== 'all' && !archs.includes(d.architecture)) {
      throw new InvalidInputError(`${d.path} is for architecture ${d.architecture}, which this repository does not serve (allowed: ${archs.join(', ')}, all)`);
    }
  }
  return archs.sort();
}

async function readAll(paths: readonly string[], cache: StanzaCache): Promise<IndexedDeb[]> {
  // A few at a time: hashing is I/O bound, and a few reads in flight keep the disk busy.
  const out: IndexedDeb[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      const p = paths[i] as string;
      if (!p.endsWith('.deb')) throw new InvalidInputError(`${p} is not a .deb file (allowed: files named *.deb)`);
      out[i] = describeDeb(p, await cache.facts(p));
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, paths.length) }, worker));
  return out;
}


async function build(kind: LayoutKind, opts: RepositoryOptions): Promise<RepositoryResult> {
  checkReleaseInfo(opts.release);
  const keyringName = opts.keyringName ?? DEFAULT_KEYRING_NAME;
  if (!KEYRING_NAME.test(keyringName)) {
    throw new InvalidInputError(`keyring name "${keyringName}" is not allowed (allowed: letters, digits and ". _ + -", starting with a letter or digit)`);
  }
  const dir = resolve(opts.dir);
  const cache = await StanzaCache.load(opts.cacheFile);
  const debs = await readAll(opts.debs, cache);
  checkUnique(debs);
  const architectures = resolveArchitectures(opts.architectures, debs);
  const plan = planLayout(kind, debs, architectures, opts.release.suite);

  const indexFiles: Array<{ rel: string; data: Buffer }> = [];
  for (const index of plan.indexes) {
    for (const f of await packagesFiles(renderPackages(index.entries))) {
      indexFiles.push({ rel: index.dir === '' ? f.name : `${index.dir}/${f.name}`, data: f.data });
    }
  }
  const underRelease = (rel: string): string => (plan.releaseDir === '' ? rel : rel.slice(plan.releaseDir.length + 1));
  // dists: each index also under its content hash, so a client holding the previous Release still
  // finds the indexes that one names while this one is swapped in (retention.ts keeps them).
  const byHash = kind === 'dists';
  const hashed = byHash ? indexFiles.map((f) => ({ rel: `${f.rel.slice(0, f.rel.lastIndexOf('/'))}/by-hash/SHA256/${sha256Hex(f.data)}`, data: f.data, packages: f.rel.endsWith('/Packages') })) : [];
  const now = (opts.now ?? (() => new Date()))();
  const release = Buffer.from(
    renderRelease(opts.release, {
      date: now,
      architectures,
      ...(plan.components ? { components: plan.components } : {}),
      files: indexFiles.map((f) => ({ path: underRelease(f.rel), data: f.data })),
      acquireByHash: byHash,
    }),
  );
  // The key lives on disk (in a private temporary home) only while these two run.
  const { signatures, publicKey, fingerprint } = await withSigner(opts.signing, async (signer) => ({
    signatures: await signer.sign(release.toString('utf8')),
    publicKey: await signer.publicKey(),
    fingerprint: signer.fingerprint,
  }));

  const rel = (name: string): string => (plan.releaseDir === '' ? name : `${plan.releaseDir}/${name}`);
  const written: Array<{ rel: string; data: Buffer; last: boolean }> = [
    ...hashed.map((f) => ({ rel: f.rel, data: f.data, last: false })),
    ...indexFiles.map((f) => ({ ...f, last: false })),
    { rel: `${keyringName}.asc`, data: publicKey.armored, last: false },
    { rel: `${keyringName}.gpg`, data: publicKey.binary, last: false },
    { rel: rel('Release'), data: release, last: true },
    { rel: rel('Release.gpg'), data: signatures.releaseGpg, last: true },
    { rel: rel('InRelease'), data: signatures.inRelease, last: true },
  ];
  const staging = new Staging(dir);
  try {
    for (const p of plan.placements) await staging.placeDeb(p.deb.path, p.rel);
    for (const w of written) await staging.write(w.rel, w.data, w.last);
    await staging.commit();
  } catch (err) {
    await staging.abort();
    throw err;
  }
  await cache.save();
  const retention = byHash ? await retain(dir, opts.release.suite, { files: hashed.map((f) => f.rel), packages: hashed.filter((f) => f.packages).map((f) => f.rel) }, now, opts.retention) : undefined;

  const files: RepositoryFile[] = [
    ...plan.placements.map((p) => ({ name: p.rel, sha256: p.deb.sha256, size: p.deb.size })),
    ...written.map((w) => ({ name: w.rel, sha256: sha256Hex(w.data), size: w.data.length })),
  ]
    .map((f) => ({ ...f, path: resolve(dir, ...f.name.split('/')) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    layout: kind,
    dir,
    files,
    sourcesLine: `deb [signed-by=/usr/share/keyrings/${keyringName}.gpg] ${BASE_URL_PLACEHOLDER} ${plan.sourcesSuffix}`,
    fingerprint,
    stats: { ...cache.stats },
    ...(retention ? { retention } : {}),
  };
}

/** A flat repository: the .debs (copied or linked in unless already there) and the index in `dir`. */
export function buildFlatRepository(opts: RepositoryOptions): Promise<RepositoryResult> {
  return build('flat', opts);
}

/** A dists/pool repository under `dir` for suite `release.suite`, component main. */
export function buildDistsRepository(opts: RepositoryOptions): Promise<RepositoryResult> {
  return build('dists', opts);
}

/** The sources line for a repository served at `baseUrl`; `signedBy` overrides the keyring path. */
export function sourcesLine(template: string, baseUrl: string, signedBy?: string): string {
  let line = template.replace(BASE_URL_PLACEHOLDER, baseUrl.replace(/\/+$/, ''));
  if (signedBy !== undefined) line = line.replace(/\[signed-by=[^\]]*\]/, `[signed-by=${signedBy}]`);
  return line;
}

/**
 * The index stage.
 *
 *   indexRelease(opts)     every arch packaged for a release -> artifacts/releases/<tag>/: the .debs,
 *                          bundles, SHA256SUMS, manifest, signed flat apt index, public key, notes,
 *                          signed provenance; and the same packages in the dists/pool layout
 *
 * The publish stage (src/publish/publish-release.ts) takes the IndexedRelease it returns.
 *
 * A rerun with nothing changed rewrites nothing anyone downloads: when the new Packages equal the
 * old ones and the old Release is still fresh, the old Release and its signatures are kept (a new
 * signature would differ in its timestamp only), so a no-op nightly uploads nothing. A nightly's
 * Release is re-signed once half its validity has passed, before apt would call it expired.
 */
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from '../core/errors.js';
import { sha256File } from '../core/hash.js';
import { buildDistsRepository, buildFlatRepository, DEFAULT_KEYRING_NAME, generateSigningKey, type SigningKey } from './apt/index.js';
import { aptSetupLines, releaseNotes, releaseTitle } from './notes.js';
import type { ReleaseRecord } from '../package/record.js';
import { writeProvenance } from './attest/provenance.js';
import { PROVENANCE_FILE } from './attest/statement.js';
import { assembleRelease, recordsForRelease, releaseDir, releaseFileHashes, releasesRoot, NOTES_FILE } from './release-tree.js';
import { writeFileAtomic } from '../core/atomic.js';
import { packagesDir } from '../package/package-all.js';

export const DEFAULT_VALID_DAYS = 14;

/** artifacts/apt: every release as a suite of one Debian-layout repository (dists/, pool/). */
export function distsRoot(artifactsDir: string): string {
  return join(artifactsDir, 'apt');
}

export interface IndexOptions {
  artifactsDir: string;
  branch: string;
  tag: string;
  /** Where the stanza cache and a locally made signing key live. */
  cacheDir: string;
  /** The repository key; absent: a key made for this machine (with a warning), unless requireKey. */
  signing?: SigningKey;
  /** Publishing to the world needs the operator's own key, not one made on the fly. */
  requireKey?: boolean;
  /** Nightlies' Valid-Until, in days from the Release's Date. */
  validDays?: number;
  /** Where the releases are served, without the tag: GitHub's .../releases/download, or a web root. */
  baseUrl?: string;
  now?: () => Date;
  onStep?: (message: string) => void;
}

export interface IndexedFile {
  file: string;
  path: string;
  sha256: string;
  size: number;
}

export interface IndexedRelease {
  tag: string;
  dir: string;
  /** Upload order: packages first, the signed index last. */
  files: IndexedFile[];
  records: ReleaseRecord[];
  nightly: boolean;
  title: string;
  notes: string;
  /** The two lines a Pi needs (key, source). */
  aptLines: [string, string];
  baseUrl: string;
  fingerprint: string;
  signed: true;
  localKey: boolean;
  /** False when every file is as it was before this run. */
  changed: boolean;
}

const LOCAL_KEY = 'local-signing-key.asc';
const KEYRING_FILE = `${DEFAULT_KEYRING_NAME}.gpg`;

async function signingKeyFor(o: IndexOptions): Promise<{ key: SigningKey; local: boolean }> {
  if (o.signing) return { key: o.signing, local: false };
  if (o.requireKey) {
    throw new InvalidInputError(
      'publishing needs the repository signing key: none was given',
      'set CRIO_BUILD_SIGNING_KEY (an armored secret key) or --signing-key FILE; make one with `crio-build keys generate --out FILE`',
    );
  }
  const file = join(o.cacheDir, 'keys', LOCAL_KEY);
  if (!existsSync(file)) {
    o.onStep?.(`warning: no signing key given; making a key for this machine at ${file}`);
    await generateSigningKey({ name: 'crio-build local repository', email: 'crio-build@localhost', outFile: file });
  } else o.onStep?.(`warning: no signing key given; signing with this machine's key ${file}`);
  return { key: { file }, local: true };
}

export async function indexRelease(o: IndexOptions): Promise<IndexedRelease> {
  const records = await recordsForRelease(o.artifactsDir, o.branch, o.tag);
  const first = records[0];
  if (!first) throw new InvalidInputError(`release ${o.tag}: nothing of ${o.branch} is packaged for it under ${o.artifactsDir}`, `run \`crio-build ${o.branch} --arch <arch>\` first`);
  const { key, local } = await signingKeyFor(o);
  const final = releaseDir(o.artifactsDir, o.tag);
  const before = await releaseFileHashes(final);
  const flatBefore = await snapshotSigned(final, join(final, KEYRING_FILE));
  const distsRelease = join(distsRoot(o.artifactsDir), 'dists', o.tag);
  const distsBefore = await snapshotSigned(distsRelease, join(distsRoot(o.artifactsDir), KEYRING_FILE));
  const baseUrl = (o.baseUrl ?? pathToFileURL(releasesRoot(o.artifactsDir)).href).replace(/\/+$/, '');
  const apt = { baseUrl: `${baseUrl}/${o.tag}`, keyringFile: `${DEFAULT_KEYRING_NAME}.gpg` };
  const validFor = first.nightly ? (o.validDays ?? DEFAULT_VALID_DAYS) * 86400 : undefined;
  const now = o.now ?? (() => new Date());
  let fingerprint = '';
  let notes = '';
  o.onStep?.(`${o.tag}: ${records.map((r) => `${r.arch} (${r.artifacts.length} files)`).join(', ')}`);
  const assembled = await assembleRelease({
    artifactsDir: o.artifactsDir,
    tag: o.tag,
    records,
    writeIndex: async (dir, debs) => {
      const r = await buildFlatRepository({
        debs,
        dir,
        release: {
          origin: 'crio-build',
          label: 'crio-build',
          suite: o.tag,
          codename: o.branch,
          version: first.kubernetes,
          description: releaseTitle(records, o.tag),
          ...(validFor ? { validFor } : {}),
        },
        architectures: records.map((x) => x.arch),
        signing: key,
        cacheFile: join(o.cacheDir, 'apt-index', `${o.tag}.json`),
        now,
      });
      fingerprint = r.fingerprint;
      o.onStep?.(`index: ${r.stats.read} .debs read, ${r.stats.reused} from the stanza cache; signed by ${r.fingerprint}`);
      if (await keepPreviousSignature(flatBefore, dir, join(dir, KEYRING_FILE), validFor, now())) o.onStep?.('index unchanged: the previous Release and its signatures are kept');
    },
    notes: (checksums) => (notes = releaseNotes({ tag: o.tag, records, checksums, apt })),
    attest: async (dir) => {
      const p = await writeProvenance({ dir, tag: o.tag, records, key, notPublished: [NOTES_FILE], previous: join(final, PROVENANCE_FILE) });
      o.onStep?.(`provenance: ${PROVENANCE_FILE} ${p.reused ? 'unchanged (the previous signature is kept)' : `signed by ${p.fingerprint}`}`);
    },
  });
  // The same packages in Debian's dists/pool layout under artifacts/apt, one suite per release,
  // for any static web host: deb [signed-by=...] <url>/apt <tag> main
  const debs = records.flatMap((r) => r.artifacts.filter((a) => a.package).map((a) => join(packagesDir(o.artifactsDir, r.branch, r.arch), a.file)));
  await buildDistsRepository({
    debs,
    dir: distsRoot(o.artifactsDir),
    release: { origin: 'crio-build', label: 'crio-build', suite: o.tag, codename: o.tag, version: first.kubernetes, description: releaseTitle(records, o.tag), ...(validFor ? { validFor } : {}) },
    architectures: records.map((x) => x.arch),
    signing: key,
    cacheFile: join(o.cacheDir, 'apt-index', `dists-${o.tag}.json`),
    now,
  });
  await keepPreviousSignature(distsBefore, distsRelease, join(distsRoot(o.artifactsDir), KEYRING_FILE), validFor, now());
  o.onStep?.(`dists layout: ${distsRoot(o.artifactsDir)} (suite ${o.tag})`);
  const files = await Promise.all(
    assembled.files.map(async (f) => {
      return { ...f, sha256: await sha256File(f.path), size: (await stat(f.path)).size };
    }),
  );
  const after = new Map(files.map((f) => [f.file, f.sha256]));
  const changed = after.size !== before.size || [...after].some(([name, h]) => before.get(name) !== h);
  return {
    tag: o.tag,
    dir: assembled.dir,
    files,
    records,
    nightly: first.nightly,
    title: releaseTitle(records, o.tag),
    notes,
    aptLines: aptSetupLines(apt),
    baseUrl: apt.baseUrl,
    fingerprint,
    signed: true,
    localKey: local,
    changed,
  };
}


const SIGNED = ['Release', 'InRelease', 'Release.gpg'] as const;

/** A signed Release as it was before this run: the three files and the key that signed them. */
interface SignedSnapshot {
  files: Map<string, Buffer>;
  keyring: Buffer;
}

async function snapshotSigned(releaseDir: string, keyringPath: string): Promise<SignedSnapshot | undefined> {
  try {
    const files = new Map<string, Buffer>();
    for (const f of SIGNED) files.set(f, await readFile(join(releaseDir, f)));
    return { files, keyring: await readFile(keyringPath) };
  } catch {
    return undefined;
  }
}

/** Release without the lines that only say when it was signed. */
const unstamped = (release: string) => release.replace(/^(Date|Valid-Until): .*\n/gm, '');

/**
 * Puts the previous Release, InRelease and Release.gpg back when they sign exactly what the new
 * Release lists (same index files and hashes, same fields but the dates) with the same key, and the
 * old one stays valid for more than half its window. Returns whether it did.
 */
async function keepPreviousSignature(old: SignedSnapshot | undefined, releaseDir: string, keyringPath: string, validFor: number | undefined, now: Date): Promise<boolean> {
  if (!old) return false;
  const release = await readFile(join(releaseDir, 'Release'), 'utf8');
  if (unstamped(release) !== unstamped(old.files.get('Release')!.toString('utf8'))) return false;
  if (!(await readFile(keyringPath)).equals(old.keyring)) return false;
  if (validFor !== undefined) {
    const m = /^Valid-Until: (.+)$/m.exec(old.files.get('Release')!.toString('utf8'));
    const until = m ? Date.parse(m[1] as string) : NaN;
    if (!(until - now.getTime() > (validFor * 1000) / 2)) return false;
  }
  for (const f of SIGNED) await writeFileAtomic(join(releaseDir, f), old.files.get(f)!);
  return true;
}

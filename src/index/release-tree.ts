/**
 * The release directory: artifacts/releases/<tag>/ holds exactly what one GitHub release holds —
 * every arch's .debs and bundle packaged for this tag, SHA256SUMS, the provenance manifest, the
 * signed flat apt index and the public key. Served as it is by any static web server, it is the
 * same repository as https://github.com/OWNER/REPO/releases/download/<tag> (the directory
 * publisher); the GitHub publisher uploads this directory.
 *
 * The directory is made beside the old one and swapped in by rename, so a reader (or a web server)
 * never sees a half-made release; files are hard links to the packages, so nothing is copied and the
 * index's stanza cache (keyed by inode, size and mtime) still knows them.
 */
import { link, copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256File } from '../core/hash.js';
import { renderSha256Sums } from '../package/checksums.js';
import { CHECKSUMS_FILE } from '../plan/naming.js';
import { packagesDir } from '../package/package-all.js';
import { BuildOutputsMissingError } from '../build/outputs.js';
import { CrioBuildError, ExitCode } from '../core/errors.js';
import { SUPPORTED_ARCHES, type Arch } from '../recipe/schema.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.js';
import { readRecord, type ReleaseRecord } from '../package/record.js';
import { PROVENANCE_FILE } from './attest/statement.js';

export const MANIFEST_FILE = 'crio-build-manifest.json';
export const NOTES_FILE = 'RELEASE_NOTES.md';

export function releasesRoot(artifactsDir: string): string {
  return join(artifactsDir, 'releases');
}

export function releaseDir(artifactsDir: string, tag: string): string {
  return join(releasesRoot(artifactsDir), tag);
}

/** The packaged records of every arch of `branch` that belong to release `tag`, in arch order. */
export async function recordsForRelease(artifactsDir: string, branch: string, tag: string): Promise<ReleaseRecord[]> {
  const out: ReleaseRecord[] = [];
  for (const arch of SUPPORTED_ARCHES) {
    const r = await readRecord(packagesDir(artifactsDir, branch, arch));
    if (r && r.releaseTag === tag && r.branch === branch) out.push(r);
  }
  return out;
}

/**
 * The release a branch's packages belong to now: the tag of the most recently packaged arch
 * (arches packaged for an older tag are left out of it). Undefined when nothing is packaged.
 */
export async function currentReleaseTag(artifactsDir: string, branch: string): Promise<string | undefined> {
  let best: ReleaseRecord | undefined;
  for (const arch of SUPPORTED_ARCHES) {
    const r = await readRecord(packagesDir(artifactsDir, branch, arch));
    if (r && r.branch === branch && (!best || r.packagedAt > best.packagedAt)) best = r;
  }
  return best?.releaseTag;
}

/**
 * The release `crio-build publish` makes from what is packaged: the branch's current tag, refused
 * when an arch that must be in it is not packaged for it (publishing would drop that arch).
 */
export async function releaseToPublish(artifactsDir: string, branch: string, required: readonly Arch[]): Promise<string> {
  const tag = await currentReleaseTag(artifactsDir, branch);
  if (!tag) throw new BuildOutputsMissingError(`nothing of ${branch} is packaged under ${artifactsDir}`, `run \`crio-build ${branch} --arch <arch>\` (or the CI build jobs) first`);
  const present = (await recordsForRelease(artifactsDir, branch, tag)).map((r) => r.arch);
  const missing = required.filter((x) => !present.includes(x));
  if (missing.length) {
    throw new CrioBuildError(`${tag}: ${missing.join(', ')} not packaged for this release (have: ${present.join(', ') || 'none'}); not publishing, which would drop ${missing.length > 1 ? 'them' : 'it'} from the release`, ExitCode.jobFailed);
  }
  return tag;
}

export interface TreeFile {
  file: string;
  path: string;
}

export interface AssembleInput {
  artifactsDir: string;
  tag: string;
  records: ReleaseRecord[];
  /**
   * Places the .debs (given by their paths under the packages dirs, which stay stable so the index's
   * stanza cache knows them) into the new directory and writes the apt index and keyring files.
   */
  writeIndex: (dir: string, debs: string[]) => Promise<void>;
  /** The release notes, given SHA256SUMS' text. */
  notes: (checksums: string) => string;
  /** Writes the signed provenance into the new directory, once every file it names is there. */
  attest?: (dir: string) => Promise<void>;
}

export interface AssembledRelease {
  dir: string;
  checksums: string;
  /** Every file of the release, in upload order: packages first, signatures last. */
  files: TreeFile[];
}

/**
 * Upload order: what apt reads last (the signed index) goes last, so a client never sees an index
 * naming files not there yet; the provenance, which names every file, after all of them.
 */
const LAST = ['Packages', 'Packages.gz', 'Packages.xz', 'Release', 'Release.gpg', 'InRelease', PROVENANCE_FILE];

export function uploadOrder(names: string[]): string[] {
  const rank = (n: string) => {
    const i = LAST.indexOf(n);
    return i < 0 ? -1 : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export async function assembleRelease(input: AssembleInput): Promise<AssembledRelease> {
  const root = releasesRoot(input.artifactsDir);
  const final = releaseDir(input.artifactsDir, input.tag);
  await mkdir(root, { recursive: true });
  await sweepAbandoned(root);
  const work = join(root, `.${input.tag}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
  await mkdir(work);
  try {
    const debs: string[] = [];
    const sums: Array<{ file: string; sha256: string }> = [];
    for (const r of input.records) {
      const from = packagesDir(input.artifactsDir, r.branch, r.arch);
      for (const a of r.artifacts) {
        if (a.file.endsWith('.deb')) debs.push(join(from, a.file));
        else await linkOrCopy(join(from, a.file), join(work, a.file));
        sums.push({ file: a.file, sha256: a.sha256 });
      }
    }
    const checksums = renderSha256Sums(sums);
    await writeFileAtomic(join(work, CHECKSUMS_FILE), checksums);
    await writeJsonAtomic(join(work, MANIFEST_FILE), manifest(input.tag, input.records));
    await input.writeIndex(work, debs);
    await writeFileAtomic(join(work, NOTES_FILE), input.notes(checksums));
    await input.attest?.(work);
    await swapIn(work, final);
    const names = (await readdir(final)).filter((n) => n !== NOTES_FILE && !n.startsWith('.'));
    return { dir: final, checksums, files: uploadOrder(names).map((file) => ({ file, path: join(final, file) })) };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

/** The provenance manifest: every artifact with the inputs it was made from. No secrets go in here. */
export function manifest(tag: string, records: ReleaseRecord[]) {
  return {
    release: tag,
    arches: records.map((r) => ({
      branch: r.branch,
      kubernetes: r.kubernetes,
      arch: r.arch,
      criOVersion: r.criOVersion,
      packagedAt: r.packagedAt,
      components: r.components,
      artifacts: r.artifacts,
    })),
  };
}

/** Work directories of runs that died (killed, power cut) before their swap: their pid is gone. */
async function sweepAbandoned(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    const m = /^\..+\.tmp-(\d+)-[0-9a-f]+(\.old)?$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    // Another filesystem (or one without hard links): a copy, still renamed into place with the dir.
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    await copyFile(from, to);
  }
}

/** Replaces directory `final` with `work` by rename (the old one removed after), so readers never see a half-made one. */
export async function swapIn(work: string, final: string): Promise<void> {
  const exists = await stat(final).then(() => true, () => false);
  if (!exists) {
    await rename(work, final);
    return;
  }
  const trash = `${work}.old`;
  await rename(final, trash);
  try {
    await rename(work, final);
  } catch (err) {
    await rename(trash, final);
    throw err;
  }
  await rm(trash, { recursive: true, force: true });
}

/** sha256 of each published file in a release directory (the notes are not published as a file). */
export async function releaseFileHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) if (!n.startsWith('.') && n !== NOTES_FILE) out.set(n, await sha256File(join(dir, n)));
  return out;
}

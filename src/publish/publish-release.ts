/**
 * The publish stage: an IndexedRelease (src/index/index-release.ts) -> GitHub Releases (octokit),
 * or left where it is / copied to a directory (the directory publisher, the default without a
 * token). A rerun with nothing changed uploads nothing (./github/sync.ts compares by sha256).
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempNameFor, writeFileAtomic } from '../core/atomic.js';
import type { IndexedRelease } from '../index/index-release.js';
import { NOTES_FILE, releaseFileHashes, swapIn } from '../index/release-tree.js';
import { publishRelease as publishToGitHub, type PublishAction } from './github/index.js';

export type PublishOptions =
  | { target: 'directory'; /** Copy the release directory here (as <dir>/<tag>/); absent: it stays under artifacts/releases. */ dir?: string }
  | { target: 'github'; owner: string; repo: string; token: string; apiUrl?: string; dryRun?: boolean };

export interface PublishOutcome {
  target: 'directory' | 'github';
  changed: boolean;
  summary: string;
  /** Where people find it: the release page, or the directory. */
  location: string;
}

export async function publishRelease(indexed: IndexedRelease, o: PublishOptions, onStep?: (m: string) => void): Promise<PublishOutcome> {
  if (o.target === 'directory') return publishToDirectory(indexed, o.dir, onStep);
  const r = await publishToGitHub({
    owner: o.owner,
    repo: o.repo,
    tag: indexed.tag,
    name: indexed.title,
    body: indexed.notes,
    prerelease: indexed.nightly,
    assets: indexed.files.map((f) => ({ name: f.file, path: f.path, sha256: f.sha256, size: f.size })),
    token: o.token,
    ...(o.apiUrl ? { apiUrl: o.apiUrl } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    onAction: (a: PublishAction) => onStep?.(`${o.dryRun ? '(dry run) ' : ''}${a.kind}${a.asset ? ` ${a.asset}` : ''}${a.reason ? `: ${a.reason}` : ''}`),
  });
  const changed = r.created || r.uploaded.length + r.replaced.length + r.deleted.length > 0;
  const summary = `${o.dryRun ? 'dry run: would upload' : 'uploaded'} ${r.uploaded.length}, replaced ${r.replaced.length}, deleted ${r.deleted.length}, unchanged ${r.unchanged.length}`;
  return { target: 'github', changed, summary, location: r.htmlUrl ?? `https://github.com/${o.owner}/${o.repo}/releases/tag/${indexed.tag}` };
}

/** The directory publisher: the release directory is already servable; optionally mirror it elsewhere. */
async function publishToDirectory(indexed: IndexedRelease, dir: string | undefined, onStep?: (m: string) => void): Promise<PublishOutcome> {
  if (!dir) return { target: 'directory', changed: indexed.changed, summary: `${indexed.files.length} files in ${indexed.dir}`, location: indexed.dir };
  const dest = join(dir, indexed.tag);
  const before = await releaseFileHashes(dest);
  const work = tempNameFor(dest);
  await mkdir(work, { recursive: true });
  try {
    for (const f of indexed.files) await copyFile(f.path, join(work, f.file));
    await writeFileAtomic(join(work, NOTES_FILE), indexed.notes);
    await swapIn(work, dest);
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  const changed = before.size !== indexed.files.length || indexed.files.some((f) => before.get(f.file) !== f.sha256);
  onStep?.(`copied ${indexed.files.length} files to ${dest}`);
  return { target: 'directory', changed, summary: `${indexed.files.length} files in ${dest}${changed ? '' : ' (unchanged)'}`, location: dest };
}

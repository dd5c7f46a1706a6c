/**
 * Makes one GitHub release hold exactly the desired assets: finds or creates the release, compares
 * what is there by sha256, uploads what is new or changed in the caller's order, deletes what is
 * stale at the end. Every step is safe to interrupt; a rerun converges.
 */
import { stat } from 'node:fs/promises';
import { InvalidInputError, UsageError } from '../../core/errors.js';
import {
  createRelease,
  deleteAsset,
  downloadSha256,
  findRelease,
  listAssets,
  statedSha256,
  updateRelease,
  uploadAsset,
  type GhAsset,
  type GhRelease,
  type RepoTarget,
} from './api.js';
import { createClient, toPublishError, type ClientOptions } from './client.js';
import { parseRepoSlug } from './remote.js';

export interface ReleaseAsset {
  /** The asset name on the release (also its download file name). */
  name: string;
  /** The file to upload. */
  path: string;
  /** Hex sha256 of the file, as the package stage recorded it. */
  sha256: string;
  size: number;
  /** Default: from the name (.deb, .tar.gz, .gpg, ...), else application/octet-stream. */
  contentType?: string;
}

export type PublishActionKind = 'create-release' | 'update-release' | 'upload' | 'replace' | 'keep' | 'delete';

export interface PublishAction {
  kind: PublishActionKind;
  /** The asset concerned (absent for release actions). */
  asset?: string;
  reason: string;
}

export interface PublishRequest {
  owner: string;
  repo: string;
  /** 'v1.18.6' for an upstream release, 'nightly-release-1.18' for a rolling one. */
  tag: string;
  /** Release title and notes (markdown). */
  name: string;
  body: string;
  prerelease: boolean;
  /** Where GitHub creates the tag if it does not exist yet (default: the default branch). */
  targetCommitish?: string;
  /** The complete desired set, in upload order: anything else on the release is stale. */
  assets: ReleaseAsset[];
  /** GITHUB_TOKEN; never printed, logged, or put in an error. Optional only with dryRun. */
  token: string;
  /** Report every action, write nothing (reads, including asset downloads for hashing, happen). */
  dryRun?: boolean;
  /** Default https://api.github.com. */
  apiUrl?: string;
  /** GitHub's make_latest when a release is published; default 'legacy' (by date and semver). */
  makeLatest?: 'true' | 'false' | 'legacy';
  onAction?: (a: PublishAction) => void;
  /** Retry, rate-limit and spacing knobs, and the log line sink (see ClientOptions). */
  client?: Omit<ClientOptions, 'token' | 'apiUrl'>;
}

export interface PublishResult {
  /** Absent only in a dry run for a release that does not exist yet. */
  releaseId?: number;
  htmlUrl?: string;
  dryRun: boolean;
  /** The release was created by this run (or would be, in a dry run). */
  created: boolean;
  uploaded: string[];
  replaced: string[];
  unchanged: string[];
  deleted: string[];
}

/** Asset names GitHub keeps as they are: it renames anything else (docs: "Upload a release asset"). */
const ASSET_NAME = /^[A-Za-z0-9._-]+$/;

export async function validateAssets(assets: ReleaseAsset[]): Promise<void> {
  // The set is complete by contract: an empty one would delete every asset of the release.
  if (assets.length === 0) throw new InvalidInputError('no release assets to publish', 'an empty set would delete every asset of the release; package first');
  const seen = new Set<string>();
  for (const a of assets) {
    const rule = assetNameProblem(a.name);
    if (rule) {
      throw new InvalidInputError(
        `release asset "${a.name}": ${rule}`,
        'GitHub renames such assets on upload, so the name the apt index and users expect would not exist; name the file with letters, digits, ".", "_" and "-" only',
      );
    }
    if (seen.has(a.name)) throw new InvalidInputError(`release asset "${a.name}" is listed twice`, 'each asset name may appear once on a release');
    seen.add(a.name);
    if (!/^[0-9a-f]{64}$/i.test(a.sha256)) throw new InvalidInputError(`release asset "${a.name}": sha256 "${a.sha256}" is not 64 hex digits`);
    if (!Number.isSafeInteger(a.size) || a.size < 0) throw new InvalidInputError(`release asset "${a.name}": size ${a.size} is not a byte count`);
    let st;
    try {
      st = await stat(a.path);
    } catch {
      throw new InvalidInputError(`release asset "${a.name}": file ${a.path} does not exist`);
    }
    if (!st.isFile()) throw new InvalidInputError(`release asset "${a.name}": ${a.path} is not a regular file`);
    if (st.size !== a.size) throw new InvalidInputError(`release asset "${a.name}": ${a.path} has ${st.size} bytes, the asset list says ${a.size}`, 'the file changed after packaging; package again');
  }
}

/** Why GitHub would not keep `name` as given, or undefined when it would. */
export function assetNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length > 255) return `the name has ${name.length} characters; at most 255 are allowed`;
  const bad = [...new Set(name.replace(/[A-Za-z0-9._-]/g, ''))];
  if (!ASSET_NAME.test(name)) return `only A-Z a-z 0-9 . _ - are allowed (found ${bad.map((c) => JSON.stringify(c)).join(' ')})`;
  if (name.startsWith('.')) return 'the name may not start with "."';
  if (name.endsWith('.')) return 'the name may not end with "."';
  return undefined;
}

const CONTENT_TYPES: [RegExp, string][] = [
  [/\.deb$/, 'application/vnd.debian.binary-package'],
  [/\.(tar\.gz|tgz|gz)$/, 'application/gzip'],
  [/\.xz$/, 'application/x-xz'],
  [/\.bz2$/, 'application/x-bzip2'],
  [/\.zst$/, 'application/zstd'],
  [/\.(gpg|asc|sig)$/, 'application/pgp-signature'],
  [/\.json$/, 'application/json'],
  [/(^InRelease|^Release|^Packages|^SHA256SUMS|\.txt|\.md)$/, 'text/plain'],
];

export function contentTypeFor(name: string): string {
  return CONTENT_TYPES.find(([re]) => re.test(name))?.[1] ?? 'application/octet-stream';
}

interface Planned {
  asset: ReleaseAsset;
  kind: 'upload' | 'replace' | 'keep';
  existing?: GhAsset;
  reason: string;
}

export async function publishRelease(req: PublishRequest): Promise<PublishResult> {
  const dryRun = req.dryRun ?? false;
  // Everything checkable is checked before the first request.
  parseRepoSlug(`${req.owner}/${req.repo}`);
  if (!req.tag || /\s/.test(req.tag)) throw new UsageError(`release tag "${req.tag}" is empty or has spaces`);
  if (!req.token && !dryRun) throw new UsageError('GITHUB_TOKEN is not set', 'publishing needs a token with contents: write on the repository');
  await validateAssets(req.assets);

  const token = req.token ?? '';
  const gh = createClient({ ...req.client, token, apiUrl: req.apiUrl });
  const t: RepoTarget = { owner: req.owner, repo: req.repo };
  const act = (a: PublishAction) => req.onAction?.(a);
  const result: PublishResult = { dryRun, created: false, uploaded: [], replaced: [], unchanged: [], deleted: [] };
  let step = `finding the release ${req.tag}`;
  try {
    let release: GhRelease | undefined = await findRelease(gh, t, req.tag);
    if (!release) {
      step = `creating the release ${req.tag}`;
      act({ kind: 'create-release', reason: `no release has tag ${req.tag}; created as a draft, published once its assets are up` });
      result.created = true;
      if (!dryRun) release = await createRelease(gh, t, { tag: req.tag, name: req.name, body: req.body, prerelease: req.prerelease, targetCommitish: req.targetCommitish }, true);
    } else {
      const changed: Record<string, string | boolean> = {};
      if ((release.name ?? '') !== req.name) changed.name = req.name;
      if ((release.body ?? '') !== req.body) changed.body = req.body;
      if (release.prerelease !== req.prerelease) changed.prerelease = req.prerelease;
      if (Object.keys(changed).length > 0) {
        step = `updating the release ${req.tag}`;
        act({ kind: 'update-release', reason: `${Object.keys(changed).join(', ')} changed` });
        if (!dryRun) release = await updateRelease(gh, t, release.id, changed);
      }
    }

    step = `listing the assets of ${req.tag}`;
    const existing = release ? await listAssets(gh, t, release.id) : [];
    const byName = new Map<string, GhAsset>();
    const starters: GhAsset[] = [];
    const stale: GhAsset[] = [];
    for (const a of existing) {
      if (a.state !== 'uploaded') starters.push(a);
      else if (byName.has(a.name)) stale.push(a);
      else byName.set(a.name, a);
    }
    const wanted = new Set(req.assets.map((a) => a.name));
    for (const a of byName.values()) if (!wanted.has(a.name)) stale.push(a);

    const plan: Planned[] = [];
    for (const asset of req.assets) {
      const have = byName.get(asset.name);
      if (!have) {
        plan.push({ asset, kind: 'upload', reason: release ? 'not on the release' : 'new release' });
        continue;
      }
      if (have.size !== asset.size) {
        plan.push({ asset, kind: 'replace', existing: have, reason: `size differs (${have.size} on GitHub, ${asset.size} here)` });
        continue;
      }
      let remote = statedSha256(have);
      let how = 'digest';
      if (!remote) {
        step = `downloading ${asset.name} to compare it`;
        remote = await downloadSha256(gh, t, have.id);
        how = 'downloaded and hashed';
      }
      if (remote === asset.sha256.toLowerCase()) plan.push({ asset, kind: 'keep', existing: have, reason: `sha256 matches (${how})` });
      else plan.push({ asset, kind: 'replace', existing: have, reason: `sha256 differs (${how})` });
    }

    for (const s of starters) {
      step = `deleting the unfinished upload ${s.name}`;
      act({ kind: 'delete', asset: s.name, reason: `an earlier upload never finished (state ${s.state})` });
      if (!dryRun) await deleteAsset(gh, t, s.id);
      result.deleted.push(s.name);
    }

    for (const p of plan) {
      const name = p.asset.name;
      act({ kind: p.kind, asset: name, reason: p.reason });
      if (p.kind === 'keep') {
        result.unchanged.push(name);
        continue;
      }
      if (!dryRun && release) {
        if (p.kind === 'replace' && p.existing) {
          step = `deleting the old ${name}`;
          await deleteAsset(gh, t, p.existing.id);
        }
        step = `uploading ${name}`;
        await uploadAsset(gh, t, release, { name, path: p.asset.path, size: p.asset.size, contentType: p.asset.contentType ?? contentTypeFor(name) });
      }
      (p.kind === 'replace' ? result.replaced : result.uploaded).push(name);
    }

    for (const s of stale) {
      step = `deleting the stale ${s.name}`;
      act({ kind: 'delete', asset: s.name, reason: 'not in the desired asset set' });
      if (!dryRun) await deleteAsset(gh, t, s.id);
      result.deleted.push(s.name);
    }

    if (result.created || release?.draft) {
      step = `publishing the release ${req.tag}`;
      act({ kind: 'update-release', reason: 'publish the draft: every asset is up' });
      if (!dryRun && release) {
        const latest: Record<string, string> = req.prerelease ? {} : { make_latest: req.makeLatest ?? 'legacy' };
        release = await updateRelease(gh, t, release.id, { draft: false, ...latest });
      }
    }
    result.releaseId = release?.id;
    result.htmlUrl = release?.html_url;
    return result;
  } catch (err) {
    throw toPublishError(err, token, `publishing ${req.owner}/${req.repo} ${req.tag}: ${step}`);
  }
}

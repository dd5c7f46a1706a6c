/**
 * The release and release-asset calls the publisher makes, one function each, as GitHub's REST
 * documentation describes them (docs.github.com/rest/releases/releases and .../releases/assets).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { GitHubClient } from './client.js';
import { errorCodes, GitHubPublishError, isRequestError } from './client.js';
import { expandUriTemplate } from './uri-template.js';

/** The fields of a release object we read. */
export interface GhRelease {
  id: number;
  tag_name: string;
  name: string | null;
  body?: string | null;
  draft: boolean;
  prerelease: boolean;
  html_url: string;
  upload_url: string;
  target_commitish: string;
}

/** The fields of a release asset object we read. `digest` is absent on older servers. */
export interface GhAsset {
  id: number;
  name: string;
  label?: string | null;
  state: 'uploaded' | 'starter' | string;
  size: number;
  content_type: string;
  digest?: string | null;
}

export interface RepoTarget {
  owner: string;
  repo: string;
}

/**
 * The release for `tag`: GET /releases/tags/{tag} finds published releases only, so on 404 the
 * paginated list is searched for a draft with that tag_name (left by an interrupted run); the
 * newest such draft wins.
 */
export async function findRelease(gh: GitHubClient, t: RepoTarget, tag: string): Promise<GhRelease | undefined> {
  try {
    const res = await gh.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner: t.owner, repo: t.repo, tag });
    return res.data as unknown as GhRelease;
  } catch (err) {
    if (!(isRequestError(err) && err.status === 404)) throw err;
  }
  let draft: GhRelease | undefined;
  for await (const page of gh.paginate.iterator('GET /repos/{owner}/{repo}/releases', { owner: t.owner, repo: t.repo, per_page: 100 })) {
    for (const r of page.data as unknown as GhRelease[]) {
      if (r.draft && r.tag_name === tag && (!draft || r.id > draft.id)) draft = r;
    }
  }
  return draft;
}

export interface ReleaseFields {
  tag: string;
  name: string;
  body: string;
  prerelease: boolean;
  targetCommitish?: string;
}

export async function createRelease(gh: GitHubClient, t: RepoTarget, f: ReleaseFields, draft: boolean): Promise<GhRelease> {
  const res = await gh.request('POST /repos/{owner}/{repo}/releases', {
    owner: t.owner,
    repo: t.repo,
    tag_name: f.tag,
    name: f.name,
    body: f.body,
    prerelease: f.prerelease,
    draft,
    ...(f.targetCommitish ? { target_commitish: f.targetCommitish } : {}),
  });
  return res.data as unknown as GhRelease;
}

export async function updateRelease(gh: GitHubClient, t: RepoTarget, id: number, patch: Record<string, string | boolean>): Promise<GhRelease> {
  const res = await gh.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', { owner: t.owner, repo: t.repo, release_id: id, ...patch });
  return res.data as unknown as GhRelease;
}

/** Every asset of a release, 100 per page, following the Link headers. */
export async function listAssets(gh: GitHubClient, t: RepoTarget, releaseId: number): Promise<GhAsset[]> {
  const all = await gh.paginate('GET /repos/{owner}/{repo}/releases/{release_id}/assets', { owner: t.owner, repo: t.repo, release_id: releaseId, per_page: 100 });
  return all as unknown as GhAsset[];
}

export async function deleteAsset(gh: GitHubClient, t: RepoTarget, assetId: number): Promise<void> {
  await gh.request('DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}', { owner: t.owner, repo: t.repo, asset_id: assetId });
}

/** The hex sha256 GitHub states for an asset (`digest: "sha256:<hex>"`), if it states one. */
export function statedSha256(asset: GhAsset): string | undefined {
  const m = /^sha256:([0-9a-f]{64})$/i.exec(asset.digest ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * Downloads an asset and hashes it as it streams: GET the asset with Accept:
 * application/octet-stream, which GitHub answers with a 302 to a signed download URL on another
 * origin (fetch follows it and drops Authorization on the way) or with the bytes themselves.
 */
export async function downloadSha256(gh: GitHubClient, t: RepoTarget, assetId: number, attempts = 3): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const res = await gh.request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
      owner: t.owner,
      repo: t.repo,
      asset_id: assetId,
      headers: { accept: 'application/octet-stream' },
      request: { parseSuccessResponseBody: false },
    });
    const body = res.data as unknown as AsyncIterable<Uint8Array> | null;
    const hash = createHash('sha256');
    try {
      if (body) for await (const chunk of body) hash.update(chunk);
      return hash.digest('hex');
    } catch (err) {
      // The body broke off after the answer started: plugin-retry only sees failed answers.
      if (attempt >= attempts) throw new GitHubPublishError(`download of release asset ${assetId} broke off after ${attempt} attempts: ${(err as Error).message}`, undefined, 'rerun when the network is steady');
    }
  }
}

/**
 * A file as a request body that can be sent more than once: each iteration opens the file anew,
 * so plugin-retry and plugin-throttling can resend an upload without holding it in memory.
 * (A class instance, not a plain object, so @octokit/request does not JSON-encode it.)
 */
export class FileBody {
  constructor(readonly path: string) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(this.path)) yield chunk as Buffer;
  }
}

export interface UploadInput {
  name: string;
  path: string;
  size: number;
  contentType: string;
  label?: string;
}

/**
 * Uploads one file through the release's `upload_url` (an RFC 6570 template on the uploads
 * origin), streaming it with Content-Type and Content-Length. A 422 `already_exists` means an asset
 * of that name is there (another run, or a `starter` left by a broken upload): it is looked up,
 * deleted, and the upload tried once more.
 */
export async function uploadAsset(
  gh: GitHubClient,
  t: RepoTarget,
  release: Pick<GhRelease, 'id' | 'upload_url'>,
  input: UploadInput,
  onConflict?: (existing: GhAsset | undefined) => void,
): Promise<GhAsset> {
  const url = expandUriTemplate(release.upload_url, { name: input.name, label: input.label });
  const post = async () => {
    const res = await gh.request({
      method: 'POST',
      url,
      headers: { 'content-type': input.contentType, 'content-length': input.size },
      data: new FileBody(input.path),
    });
    return res.data as unknown as GhAsset;
  };
  try {
    return await post();
  } catch (err) {
    if (!(isRequestError(err) && err.status === 422 && errorCodes(err).includes('already_exists'))) throw err;
  }
  const existing = (await listAssets(gh, t, release.id)).find((a) => a.name === input.name);
  onConflict?.(existing);
  if (existing) await deleteAsset(gh, t, existing.id);
  return post();
}

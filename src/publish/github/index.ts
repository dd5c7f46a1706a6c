/**
 * Publishing to GitHub Releases.
 *
 * ```ts
 * import { publishRelease, resolveRepo } from './publish/github/index.js';
 * const { owner, repo } = await resolveRepo({ flag: argv.repo });   // --repo OWNER/REPO, or origin
 * const res = await publishRelease({
 *   owner, repo,
 *   tag: 'v1.18.6',                  // or 'nightly-release-1.18' (a rolling release, updated in place)
 *   name: 'CRI-O 1.18.6 for arm64', body: notesMarkdown, prerelease: false,
 *   assets: [...debs, bundle, ...indexFiles, inRelease, releaseGpg],  // upload order; the complete set
 *   token: process.env.GITHUB_TOKEN ?? '',
 *   dryRun: argv.dryRun,
 *   onAction: (a) => console.log(`${a.kind} ${a.asset ?? ''}: ${a.reason}`),
 * });
 * // res: { releaseId, htmlUrl, created, uploaded[], replaced[], unchanged[], deleted[], dryRun }
 * ```
 *
 * What it does, in order (GitHub REST API, docs.github.com/rest/releases):
 * 1. Checks every input before any request: asset names GitHub would keep as given
 *    ([A-Za-z0-9._-], no leading or trailing ".", at most 255), no duplicates, each file present
 *    with the stated size. A problem throws InvalidInputError (exit 3) naming the asset and rule.
 * 2. Finds the release: GET /releases/tags/{tag}; on 404 a draft with that tag_name from an
 *    interrupted run, searched in the paginated release list. None: creates it as a draft (so a
 *    half-uploaded release is never public). Name, body or prerelease differing: PATCH.
 * 3. Lists its assets (100 per page, Link headers). An asset of a desired name is unchanged when
 *    its sha256 matches: GitHub's `digest` field, or, where absent, the asset downloaded and
 *    hashed as it streams. Assets not in state `uploaded` (a `starter` left by a broken upload)
 *    count as absent and are deleted first.
 * 4. Uploads new assets and replaces changed ones (delete, then upload) in the order given, so
 *    the caller puts debs and the bundle first, Packages and Release next, InRelease and
 *    Release.gpg last. Uploads stream from disk through the release's upload_url (RFC 6570
 *    template, uploads origin). A 422 already_exists: the asset is looked up, deleted, retried once.
 * 5. Deletes stale assets, then publishes the draft (make_latest 'legacy' unless told otherwise).
 *
 * 5xx answers and network failures are retried by plugin-retry, rate limits by plugin-throttling
 * (honouring retry-after, one log line each). Failures become GitHubPublishError (exit 1) saying
 * step, status, method, URL and GitHub's message, never headers; the token is scrubbed from every
 * message. dryRun reads (GETs only), reports every action through onAction, writes nothing.
 * Idempotent: a rerun after an interruption anywhere converges to one release holding exactly the
 * desired assets.
 */
export { publishRelease, validateAssets, assetNameProblem, contentTypeFor } from './sync.js';
export type { PublishRequest, PublishResult, PublishAction, PublishActionKind, ReleaseAsset } from './sync.js';
export { resolveRepo, parseRepoSlug, parseRemoteUrl, acceptedForms, type RepoRef } from './remote.js';
export { createClient, GitHubPublishError, DEFAULT_API_URL, type ClientOptions, type GitHubClient } from './client.js';
export { expandUriTemplate } from './uri-template.js';

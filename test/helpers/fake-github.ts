/**
 * A local GitHub for publisher tests: the releases and release-assets REST endpoints as
 * docs.github.com/rest/releases describes them, on two origins like the real service (the API, and
 * the uploads host that a release's `upload_url` points at). Asset downloads with
 * `Accept: application/octet-stream` answer 302 to a signed URL on the uploads origin, which
 * serves the bytes without authentication, like GitHub's object storage.
 *
 * Besides the happy path it does what GitHub does when things go wrong: 401 Bad credentials, 403
 * for a read-only token, 404 JSON, 422 Validation Failed with `already_exists` for a duplicate tag
 * or asset name, `starter` assets left by uploads that broke off or got a 502. Faults are injected
 * per route: N x status (502...), secondary rate limit (403 + retry-after and GitHub's message),
 * primary rate limit (403 + x-ratelimit-remaining: 0), a connection dropped (mid-body for uploads).
 * Counters per route and the whole state are open to inspection.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeRoute =
  | 'list-releases'
  | 'get-release-by-tag'
  | 'get-release'
  | 'create-release'
  | 'update-release'
  | 'delete-release'
  | 'list-assets'
  | 'get-asset'
  | 'download-asset'
  | 'update-asset'
  | 'delete-asset'
  | 'upload-asset'
  | 'object';

export type Fault =
  /** Answer this status (after reading the body). A 5xx on an upload leaves a `starter` asset, as GitHub documents. */
  | { kind: 'status'; status: number; leaveStarter?: boolean }
  /** 403 with retry-after and GitHub's secondary rate limit message. */
  | { kind: 'secondary-rate-limit'; retryAfter?: number }
  /** 403 with x-ratelimit-remaining: 0 and a reset time. */
  | { kind: 'rate-limit'; resetInSeconds?: number }
  /** Destroy the connection; an upload first gets its starter asset and half its body. */
  | { kind: 'drop' };

export interface FakeAsset {
  id: number;
  name: string;
  label: string | null;
  state: 'uploaded' | 'starter';
  content_type: string;
  bytes: Buffer;
  created_at: string;
}

export interface FakeRelease {
  id: number;
  tag_name: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  target_commitish: string;
  make_latest?: string;
  created_at: string;
  published_at: string | null;
  untagged: string;
  assets: FakeAsset[];
}

export interface FakeRequest {
  origin: 'api' | 'uploads';
  method: string;
  route: FakeRoute | 'unknown';
  url: string;
  status: number;
  /** The request carried an Authorization header. */
  authorization: boolean;
  contentType?: string;
  contentLength?: string;
}

export interface FakeGitHubOptions {
  /** Tokens with contents: write (default ['ghp_FAKEtoken1234567890SECRET']). */
  tokens?: string[];
  /** Tokens with contents: read only: writes get 403. */
  readOnlyTokens?: string[];
  /** Give assets the `digest: "sha256:..."` field (GitHub since 2025). Default true. */
  digests?: boolean;
  /** Repositories that exist, as OWNER/REPO (default ['crio-build/crio-arm64']). */
  repos?: string[];
}

export interface FakeGitHub {
  apiUrl: string;
  uploadsUrl: string;
  /** Switch the digest field on or off for later answers. */
  digests: boolean;
  requests: FakeRequest[];
  count(route: FakeRoute, method?: string): number;
  /** Requests other than GET (POST, PATCH, DELETE) answered below 500, on both origins. */
  writes(): number;
  resetCounters(): void;
  /**
   * Called after each answer is sent (its status set), e.g. to kill a client right after its Nth
   * upload completed. Settable at any time; undefined: nothing is called.
   */
  onAnswer?: (r: FakeRequest) => void;
  /** The next `times` requests to `route` (and, when given, matching `when`) get `fault`. */
  inject(route: FakeRoute, fault: Fault, times?: number, when?: (r: { name?: string }) => boolean): void;
  releases(repo: string): FakeRelease[];
  /** The published release of a tag, else the newest draft with that tag_name. */
  release(repo: string, tag: string): FakeRelease | undefined;
  seedRelease(repo: string, r: { tag: string; name?: string; body?: string; draft?: boolean; prerelease?: boolean }): FakeRelease;
  seedAsset(release: FakeRelease, a: { name: string; bytes: Buffer | string; state?: 'uploaded' | 'starter'; contentType?: string }): FakeAsset;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest/releases';
const SECONDARY_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:00000:0000000:0000000:00000000.';

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const notFound = (doc: string) => new HttpAnswer(404, { message: 'Not Found', documentation_url: `${DOCS}/${doc}`, status: '404' });
const validationFailed = (resource: string, code: string, field: string, doc: string) =>
  new HttpAnswer(422, { message: 'Validation Failed', errors: [{ resource, code, field }], documentation_url: `${DOCS}/${doc}`, status: '422' });

/** GitHub renames asset names with special characters and leading or trailing periods (approximated). */
export function githubAssetName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '.').replace(/^\.+|\.+$/g, '');
}

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const writeTokens = new Set(opts.tokens ?? ['ghp_FAKEtoken1234567890SECRET']);
  const readTokens = new Set(opts.readOnlyTokens ?? []);
  const repos = new Map<string, FakeRelease[]>((opts.repos ?? ['crio-build/crio-arm64']).map((r) => [r.toLowerCase(), []]));
  const faults: { route: FakeRoute; fault: Fault; when?: (r: { name?: string }) => boolean }[] = [];
  const requests: FakeRequest[] = [];
  const signatures = new Map<string, number>();
  let nextId = 1000;
  const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  let apiUrl = '';
  let uploadsUrl = '';

  const fake: FakeGitHub = {
    apiUrl: '',
    uploadsUrl: '',
    digests: opts.digests ?? true,
    requests,
    count: (route, method) => requests.filter((r) => r.route === route && (!method || r.method === method)).length,
    writes: () => requests.filter((r) => r.method !== 'GET' && r.status > 0 && r.status < 500).length,
    resetCounters: () => void requests.splice(0),
    inject(route, fault, times = 1, when) {
      for (let i = 0; i < times; i++) faults.push({ route, fault, when });
    },
    releases: (repo) => repoReleases(repo) ?? [],
    release(repo, tag) {
      const rs = repoReleases(repo) ?? [];
      return rs.find((r) => !r.draft && r.tag_name === tag) ?? rs.filter((r) => r.draft && r.tag_name === tag).sort((a, b) => b.id - a.id)[0];
    },
    seedRelease(repo, r) {
      const rel: FakeRelease = {
        id: nextId++,
        tag_name: r.tag,
        name: r.name ?? r.tag,
        body: r.body ?? '',
        draft: r.draft ?? false,
        prerelease: r.prerelease ?? false,
        target_commitish: 'main',
        created_at: now(),
        published_at: r.draft ? null : now(),
        untagged: randomBytes(10).toString('hex'),
        assets: [],
      };
      const rs = repoReleases(repo);
      if (!rs) throw new Error(`fake-github: no repository ${repo}`);
      rs.push(rel);
      return rel;
    },
    seedAsset(release, a) {
      const bytes = typeof a.bytes === 'string' ? Buffer.from(a.bytes) : a.bytes;
      const asset: FakeAsset = {
        id: nextId++,
        name: a.name,
        label: null,
        state: a.state ?? 'uploaded',
        content_type: a.contentType ?? 'application/octet-stream',
        bytes: a.state === 'starter' ? Buffer.alloc(0) : bytes,
        created_at: now(),
      };
      release.assets.push(asset);
      return asset;
    },
    close: () => Promise.all([api, uploads].map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };

  function repoReleases(repo: string): FakeRelease[] | undefined {
    return repos.get(repo.toLowerCase());
  }

  function takeFault(route: FakeRoute, name?: string): Fault | undefined {
    const i = faults.findIndex((f) => f.route === route && (!f.when || f.when({ name })));
    return i < 0 ? undefined : faults.splice(i, 1)[0]!.fault;
  }

  // ---- JSON shapes, as GitHub returns them (keys as in the recorded @octokit/fixtures answers) ----

  const user = {
    login: 'crio-build-bot',
    id: 1,
    node_id: 'MDQ6VXNlcjE=',
    avatar_url: 'https://avatars.githubusercontent.com/u/1?v=4',
    gravatar_id: '',
    url: 'https://api.github.com/users/crio-build-bot',
    html_url: 'https://github.com/crio-build-bot',
    type: 'User',
    site_admin: false,
  };

  function assetJson(repo: string, rel: FakeRelease, a: FakeAsset): Record<string, unknown> {
    const json: Record<string, unknown> = {
      url: `${apiUrl}/repos/${repo}/releases/assets/${a.id}`,
      id: a.id,
      node_id: Buffer.from(`ReleaseAsset${a.id}`).toString('base64'),
      name: a.name,
      label: a.label,
      uploader: user,
      content_type: a.content_type,
      state: a.state,
      size: a.bytes.length,
      download_count: 0,
      created_at: a.created_at,
      updated_at: a.created_at,
      browser_download_url: `https://github.com/${repo}/releases/download/${rel.draft ? `untagged-${rel.untagged}` : rel.tag_name}/${a.name}`,
    };
    if (fake.digests) json.digest = a.state === 'uploaded' ? `sha256:${createHash('sha256').update(a.bytes).digest('hex')}` : null;
    return json;
  }

  function releaseJson(repo: string, r: FakeRelease): Record<string, unknown> {
    return {
      url: `${apiUrl}/repos/${repo}/releases/${r.id}`,
      assets_url: `${apiUrl}/repos/${repo}/releases/${r.id}/assets`,
      upload_url: `${uploadsUrl}/repos/${repo}/releases/${r.id}/assets{?name,label}`,
      html_url: `https://github.com/${repo}/releases/tag/${r.draft ? `untagged-${r.untagged}` : encodeURIComponent(r.tag_name)}`,
      id: r.id,
      author: user,
      node_id: Buffer.from(`Release${r.id}`).toString('base64'),
      tag_name: r.tag_name,
      target_commitish: r.target_commitish,
      name: r.name,
      draft: r.draft,
      prerelease: r.prerelease,
      created_at: r.created_at,
      published_at: r.published_at,
      assets: r.assets.map((a) => assetJson(repo, r, a)),
      tarball_url: `${apiUrl}/repos/${repo}/tarball/${r.tag_name}`,
      zipball_url: `${apiUrl}/repos/${repo}/zipball/${r.tag_name}`,
      body: r.body,
    };
  }

  /** per_page (default 30, at most 100) and page, with a Link header like GitHub's. */
  function paginate<T>(url: URL, items: T[]): HttpAnswer {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number) => {
      const u = new URL(url.pathname + url.search, apiUrl);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return u.toString();
    };
    const rels: string[] = [];
    if (page > 1) rels.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < last) rels.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    if (page > 1) rels.push(`<${link(1)}>; rel="first"`);
    return new HttpAnswer(200, items.slice((page - 1) * perPage, page * perPage), rels.length ? { link: rels.join(', ') } : {});
  }

  // ---- request plumbing ----

  function send(res: ServerResponse, a: HttpAnswer): void {
    const headers: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': '0000:00000:0000000:0000000:00000000',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      ...a.headers,
    };
    if (a.status === 204 || a.body === undefined) {
      res.writeHead(a.status, headers).end();
      return;
    }
    const text = JSON.stringify(a.body);
    res.writeHead(a.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) }).end(text);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | HttpAnswer> {
    const buf = await readBody(req);
    if (buf.length === 0) return {};
    try {
      const v = JSON.parse(buf.toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // falls through
    }
    return new HttpAnswer(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' });
  }

  type Auth = 'write' | 'read' | HttpAnswer;
  function authorize(req: IncomingMessage): Auth {
    const h = req.headers.authorization;
    if (!h) return new HttpAnswer(401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest', status: '401' });
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(h);
    if (m && writeTokens.has(m[1]!)) return 'write';
    if (m && readTokens.has(m[1]!)) return 'read';
    return new HttpAnswer(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
  }

  function route(origin: 'api' | 'uploads', method: string, path: string): { route: FakeRoute | 'unknown'; params: string[] } {
    const m = (re: RegExp) => re.exec(path)?.slice(1).map(decodeURIComponent);
    let p: string[] | undefined;
    if (origin === 'uploads') {
      if ((p = m(/^\/repos\/([^/]+\/[^/]+)\/releases\/(\d+)\/assets$/)) && method === 'POST') return { route: 'upload-asset', params: p };
      if ((p = m(/^\/_objects\/(\d+)$/)) && method === 'GET') return { route: 'object', params: p };
      return { route: 'unknown', params: [] };
    }
    if ((p = m(/^\/repos\/([^/]+\/[^/]+)\/releases$/))) return { route: method === 'POST' ? 'create-release' : 'list-releases', params: p };
    if ((p = m(/^\/repos\/([^/]+\/[^/]+)\/releases\/tags\/(.+)$/))) return { route: 'get-release-by-tag', params: p };
    if ((p = m(/^\/repos\/([^/]+\/[^/]+)\/releases\/assets\/(\d+)$/)))
      return { route: method === 'PATCH' ? 'update-asset' : method === 'DELETE' ? 'delete-asset' : 'get-asset', params: p };
    if ((p = m(/^\/repos\/([^/]+\/[^/]+)\/releases\/(\d+)\/assets$/))) return { route: 'list-assets', params: p };
    if ((p = m(/^\/repos\/([^/]+\/[^/]+)\/releases\/(\d+)$/)))
      return { route: method === 'PATCH' ? 'update-release' : method === 'DELETE' ? 'delete-release' : 'get-release', params: p };
    return { route: 'unknown', params: [] };
  }

  const ALLOWED: Record<FakeRoute, string> = {
    'list-releases': 'GET',
    'get-release-by-tag': 'GET',
    'get-release': 'GET',
    'create-release': 'POST',
    'update-release': 'PATCH',
    'delete-release': 'DELETE',
    'list-assets': 'GET',
    'get-asset': 'GET',
    'download-asset': 'GET',
    'update-asset': 'PATCH',
    'delete-asset': 'DELETE',
    'upload-asset': 'POST',
    object: 'GET',
  };

  async function handle(origin: 'api' | 'uploads', req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin === 'api' ? apiUrl : uploadsUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    let { route: r, params } = route(origin, method, url.pathname);
    if (r === 'get-asset' && /application\/octet-stream/i.test(req.headers.accept ?? '')) r = 'download-asset';
    const log: FakeRequest = {
      origin,
      method,
      route: r,
      url: url.pathname + url.search,
      status: 0,
      authorization: req.headers.authorization !== undefined,
      contentType: req.headers['content-type'],
      contentLength: req.headers['content-length'],
    };
    requests.push(log);
    const answer = (a: HttpAnswer) => {
      log.status = a.status;
      send(res, a);
      fake.onAnswer?.(log);
    };
    if (r === 'unknown' || ALLOWED[r] !== method) {
      await readBody(req);
      return answer(new HttpAnswer(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' }));
    }

    if (r === 'object') {
      const id = Number(params[0]);
      if (signatures.get(url.searchParams.get('sig') ?? '') !== id) return answer(new HttpAnswer(403, { message: 'Request has expired or the signature does not match' }));
      for (const rs of repos.values())
        for (const rel of rs)
          for (const a of rel.assets)
            if (a.id === id) {
              log.status = 200;
              res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(a.bytes.length) }).end(a.bytes);
              return;
            }
      return answer(notFound('assets#get-a-release-asset'));
    }

    const uploadName = r === 'upload-asset' ? (url.searchParams.get('name') ?? undefined) : undefined;
    const fault = takeFault(r, uploadName);
    const repo = params[0]!;
    const releases = repoReleases(repo);
    const rel = r === 'upload-asset' || r === 'list-assets' || r === 'get-release' || r === 'update-release' || r === 'delete-release' ? releases?.find((x) => x.id === Number(params[1])) : undefined;

    if (fault) {
      const leave = r === 'upload-asset' && rel && uploadName && (fault.kind === 'drop' || (fault.kind === 'status' && fault.status >= 500 && fault.leaveStarter !== false));
      if (leave && !rel.assets.some((a) => a.name === githubAssetName(uploadName))) fake.seedAsset(rel, { name: githubAssetName(uploadName), bytes: '', state: 'starter' });
      if (fault.kind === 'drop') {
        log.status = -1;
        const half = Number(req.headers['content-length'] ?? 0) / 2;
        let got = 0;
        if (r !== 'upload-asset' || half < 1) return void req.socket.destroy();
        req.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= half) req.socket.destroy();
        });
        return;
      }
      await readBody(req);
      if (fault.kind === 'status') return answer(new HttpAnswer(fault.status, { message: fault.status >= 500 ? 'Server Error' : 'Injected', status: String(fault.status) }));
      if (fault.kind === 'secondary-rate-limit') {
        return answer(
          new HttpAnswer(
            403,
            { message: SECONDARY_MESSAGE, documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits', status: '403' },
            { 'retry-after': String(fault.retryAfter ?? 1) },
          ),
        );
      }
      const reset = Math.floor(Date.now() / 1000) + (fault.resetInSeconds ?? 1);
      return answer(
        new HttpAnswer(
          403,
          { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit', status: '403' },
          { 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': String(reset) },
        ),
      );
    }

    const auth = authorize(req);
    if (auth instanceof HttpAnswer) {
      await readBody(req);
      return answer(auth);
    }
    if (!releases) {
      await readBody(req);
      return answer(notFound('releases#list-releases'));
    }
    if (method !== 'GET' && auth === 'read') {
      await readBody(req);
      return answer(new HttpAnswer(403, { message: 'Resource not accessible by personal access token', documentation_url: `${DOCS}/releases`, status: '403' }));
    }
    return answer(await routeHandler(r, repo, releases, rel, params, url, req));
  }

  async function routeHandler(
    r: FakeRoute,
    repo: string,
    releases: FakeRelease[],
    rel: FakeRelease | undefined,
    params: string[],
    url: URL,
    req: IncomingMessage,
  ): Promise<HttpAnswer> {
    const findAsset = (id: number) => {
      for (const x of releases) {
        const a = x.assets.find((y) => y.id === id);
        if (a) return { rel: x, asset: a };
      }
      return undefined;
    };
    switch (r) {
      case 'list-releases':
        return paginate(
          url,
          [...releases].sort((a, b) => b.id - a.id).map((x) => releaseJson(repo, x)),
        );
      case 'get-release-by-tag': {
        // Published releases only: drafts have no tag yet.
        const x = releases.find((y) => !y.draft && y.tag_name === params[1]);
        return x ? new HttpAnswer(200, releaseJson(repo, x)) : notFound('releases#get-a-release-by-tag-name');
      }
      case 'get-release':
        return rel ? new HttpAnswer(200, releaseJson(repo, rel)) : notFound('releases#get-a-release');
      case 'create-release': {
        const body = await readJson(req);
        if (body instanceof HttpAnswer) return body;
        const tag = body.tag_name;
        if (typeof tag !== 'string' || tag === '') return validationFailed('Release', 'missing_field', 'tag_name', 'releases#create-a-release');
        if (/[\s~^:?*[\\]|\.\.|^\/|\/$|\.lock$|@\{/.test(tag)) return validationFailed('Release', 'invalid', 'tag_name', 'releases#create-a-release');
        const draft = body.draft === true;
        if (!draft && releases.some((y) => !y.draft && y.tag_name === tag)) return validationFailed('Release', 'already_exists', 'tag_name', 'releases#create-a-release');
        const x = fake.seedRelease(repo, {
          tag,
          name: typeof body.name === 'string' ? body.name : tag,
          body: typeof body.body === 'string' ? body.body : '',
          draft,
          prerelease: body.prerelease === true,
        });
        if (typeof body.target_commitish === 'string') x.target_commitish = body.target_commitish;
        if (typeof body.make_latest === 'string') x.make_latest = body.make_latest;
        return new HttpAnswer(201, releaseJson(repo, x), { location: `${apiUrl}/repos/${repo}/releases/${x.id}` });
      }
      case 'update-release': {
        const body = await readJson(req);
        if (body instanceof HttpAnswer) return body;
        if (!rel) return notFound('releases#update-a-release');
        const tag = typeof body.tag_name === 'string' ? body.tag_name : rel.tag_name;
        const draft = typeof body.draft === 'boolean' ? body.draft : rel.draft;
        if (!draft && releases.some((y) => y !== rel && !y.draft && y.tag_name === tag)) return validationFailed('Release', 'already_exists', 'tag_name', 'releases#update-a-release');
        if (rel.draft && !draft) rel.published_at = now();
        rel.tag_name = tag;
        rel.draft = draft;
        if (typeof body.name === 'string') rel.name = body.name;
        if (typeof body.body === 'string') rel.body = body.body;
        if (typeof body.prerelease === 'boolean') rel.prerelease = body.prerelease;
        if (typeof body.target_commitish === 'string') rel.target_commitish = body.target_commitish;
        if (typeof body.make_latest === 'string') rel.make_latest = body.make_latest;
        return new HttpAnswer(200, releaseJson(repo, rel));
      }
      case 'delete-release': {
        if (!rel) return notFound('releases#delete-a-release');
        releases.splice(releases.indexOf(rel), 1);
        return new HttpAnswer(204, undefined);
      }
      case 'list-assets':
        if (!rel) return notFound('assets#list-release-assets');
        return paginate(
          url,
          rel.assets.map((a) => assetJson(repo, rel, a)),
        );
      case 'get-asset': {
        const f = findAsset(Number(params[1]));
        return f ? new HttpAnswer(200, assetJson(repo, f.rel, f.asset)) : notFound('assets#get-a-release-asset');
      }
      case 'download-asset': {
        const f = findAsset(Number(params[1]));
        if (!f || f.asset.state !== 'uploaded') return notFound('assets#get-a-release-asset');
        const sig = randomBytes(8).toString('hex');
        signatures.set(sig, f.asset.id);
        return new HttpAnswer(302, undefined, { location: `${uploadsUrl}/_objects/${f.asset.id}?sig=${sig}` });
      }
      case 'update-asset': {
        const body = await readJson(req);
        if (body instanceof HttpAnswer) return body;
        const f = findAsset(Number(params[1]));
        if (!f) return notFound('assets#update-a-release-asset');
        if (typeof body.name === 'string') {
          const name = githubAssetName(body.name);
          if (f.rel.assets.some((a) => a !== f.asset && a.name === name)) return validationFailed('ReleaseAsset', 'already_exists', 'name', 'assets#update-a-release-asset');
          f.asset.name = name;
        }
        if (typeof body.label === 'string') f.asset.label = body.label;
        return new HttpAnswer(200, assetJson(repo, f.rel, f.asset));
      }
      case 'delete-asset': {
        const f = findAsset(Number(params[1]));
        if (!f) return notFound('assets#delete-a-release-asset');
        f.rel.assets.splice(f.rel.assets.indexOf(f.asset), 1);
        return new HttpAnswer(204, undefined);
      }
      case 'upload-asset':
        return upload(repo, rel, url, req);
      case 'object':
        return notFound('assets');
    }
  }

  async function upload(repo: string, rel: FakeRelease | undefined, url: URL, req: IncomingMessage): Promise<HttpAnswer> {
    const raw = url.searchParams.get('name');
    if (!rel) {
      await readBody(req);
      return notFound('assets#upload-a-release-asset');
    }
    if (!raw) {
      await readBody(req);
      return validationFailed('ReleaseAsset', 'missing_field', 'name', 'assets#upload-a-release-asset');
    }
    const length = req.headers['content-length'];
    if (length === undefined) {
      await readBody(req);
      return new HttpAnswer(411, { message: 'Length Required', documentation_url: `${DOCS}/assets#upload-a-release-asset`, status: '411' });
    }
    const name = githubAssetName(raw);
    if (rel.assets.some((a) => a.name === name)) {
      await readBody(req);
      return validationFailed('ReleaseAsset', 'already_exists', 'name', 'assets#upload-a-release-asset');
    }
    // The asset exists from the first byte, as `starter`, until the body is complete.
    const asset = fake.seedAsset(rel, { name, bytes: '', state: 'starter', contentType: req.headers['content-type'] ?? 'application/octet-stream' });
    const label = url.searchParams.get('label');
    if (label !== null) asset.label = label;
    const bytes = await readBody(req);
    if (bytes.length !== Number(length)) return new HttpAnswer(400, { message: 'Bad Content-Length', status: '400' });
    asset.bytes = bytes;
    asset.state = 'uploaded';
    return new HttpAnswer(201, assetJson(repo, rel, asset));
  }

  const listen = (origin: 'api' | 'uploads'): Server =>
    createServer((req, res) => {
      handle(origin, req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(err) }));
      });
    });
  const api = listen('api');
  const uploads = listen('uploads');
  await Promise.all([api, uploads].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  uploadsUrl = `http://127.0.0.1:${(uploads.address() as AddressInfo).port}`;
  fake.apiUrl = apiUrl;
  fake.uploadsUrl = uploadsUrl;
  return fake;
}

/**
 * The Octokit client the publisher uses, and the conversion of GitHub failures into errors a user
 * can act on. `octokit`'s Octokit class already carries @octokit/plugin-retry (5xx and network
 * failures) and @octokit/plugin-throttling (primary and secondary rate limits); this module only
 * configures them, so tests can make every wait a millisecond.
 */
import { Octokit } from 'octokit';
import { CrioBuildError, ExitCode } from '../../core/errors.js';

export const DEFAULT_API_URL = 'https://api.github.com';

export interface ClientOptions {
  /** Sent as `Authorization: token ...`; never logged and never part of an error. */
  token: string;
  /** REST API root (default https://api.github.com; GitHub Enterprise: https://HOST/api/v3). */
  apiUrl?: string;
  /** Retries of a request that failed with a 5xx answer or a network error (default 3). */
  retries?: number;
  /** Milliseconds per retry unit: the n-th retry waits n² units (default 1000). */
  retryBaseMs?: number;
  /** Retries after a primary or secondary rate limit answer (default 3). */
  rateLimitRetries?: number;
  /** Milliseconds per second of GitHub's `retry-after` (default 1000; tests use 1). */
  rateLimitBaseMs?: number;
  /**
   * Spacing of write requests. Unset: plugin-throttling's own queues, which follow GitHub's advice
   * of one second between writes (three after creating a release). Tests set 0.
   */
  writeSpacingMs?: number;
  /** One line per retry or rate-limit wait (default: stderr). Never given headers or the token. */
  log?: (line: string) => void;
}

export type GitHubClient = InstanceType<typeof Octokit>;

export function createClient(opts: ClientOptions): GitHubClient {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rateLimitRetries = opts.rateLimitRetries ?? 3;
  const onLimit = (kind: string) => (retryAfter: number, options: { method?: string; url?: string }, _octokit: unknown, retryCount: number) => {
    const what = `${options.method ?? '?'} ${redactUrl(String(options.url ?? ''))}`;
    if (retryCount < rateLimitRetries) {
      log(`github: ${kind} on ${what}; waiting ${retryAfter}s before retry ${retryCount + 1} of ${rateLimitRetries}`);
      return true;
    }
    log(`github: ${kind} on ${what}; giving up after ${rateLimitRetries} retries`);
    return false;
  };
  const spacing = opts.writeSpacingMs === undefined ? {} : { write: spacedGroup(opts.writeSpacingMs), notifications: spacedGroup(opts.writeSpacingMs) };
  return new Octokit({
    auth: opts.token,
    baseUrl: (opts.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, ''),
    userAgent: 'crio-build',
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log(`github: ${m}`), error: (m: string) => log(`github: ${m}`) },
    retry: { retries: opts.retries ?? 3, retryAfterBaseValue: opts.retryBaseMs ?? 1000 },
    throttle: {
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
      retryAfterBaseValue: opts.rateLimitBaseMs ?? 1000,
      ...spacing,
    },
  });
}

/**
 * A stand-in for the Bottleneck.Group plugin-throttling takes as `write`/`notifications`: one queue
 * that runs jobs in order, `ms` apart. The plugin only calls `group.key(id).schedule(opts, fn, ...args)`.
 */
function spacedGroup(ms: number): never {
  let tail: Promise<unknown> = Promise.resolve();
  let lastStart = 0;
  const limiter = {
    schedule(_jobOptions: unknown, fn: (...args: unknown[]) => unknown, ...args: unknown[]): Promise<unknown> {
      const run = tail.then(async () => {
        const wait = lastStart + ms - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        lastStart = Date.now();
        return fn(...args);
      });
      tail = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
  };
  return { key: () => limiter } as never;
}

/** A publish step that GitHub refused or that could not reach GitHub. */
export class GitHubPublishError extends CrioBuildError {
  constructor(
    message: string,
    readonly status: number | undefined,
    hint?: string,
  ) {
    super(message, ExitCode.jobFailed, hint);
  }
}

/** The shape of @octokit/request-error's RequestError that we read (never its request headers). */
interface RequestErrorLike {
  name: string;
  status: number;
  message: string;
  request: { method?: string; url?: string };
  response?: { data?: unknown; headers?: Record<string, string | undefined> };
}

export function isRequestError(err: unknown): err is RequestErrorLike {
  return (
    err instanceof Error &&
    err.name === 'HttpError' &&
    typeof (err as Partial<RequestErrorLike>).status === 'number' &&
    typeof (err as Partial<RequestErrorLike>).request === 'object'
  );
}

/** GitHub's validation error codes in a 422 answer (`already_exists`, `missing_field`, ...). */
export function errorCodes(err: unknown): string[] {
  if (!isRequestError(err)) return [];
  const data = err.response?.data as { errors?: { code?: unknown }[] } | undefined;
  return (data?.errors ?? []).map((e) => String(e?.code ?? ''));
}

/**
 * A RequestError carries `request.headers.authorization`; whatever reaches the user is rebuilt
 * here from status, method, URL and GitHub's own message only, with the token scrubbed besides.
 */
export function toPublishError(err: unknown, token: string, context: string): unknown {
  if (err instanceof CrioBuildError || !isRequestError(err)) return scrubError(err, token);
  const method = err.request.method ?? '?';
  const url = redactUrl(err.request.url ?? '?');
  const data = err.response?.data as { message?: unknown; errors?: unknown[] } | string | undefined;
  let detail: string;
  if (err.status === 500 && !err.response) {
    // No answer at all: @octokit/request reports network failures as status 500 without a response.
    detail = `no answer from GitHub (${err.message})`;
  } else {
    const msg = typeof data === 'object' && data && typeof data.message === 'string' ? data.message : typeof data === 'string' && data ? data.slice(0, 200) : err.message;
    const errors = typeof data === 'object' && data && Array.isArray(data.errors) ? data.errors.map((e) => JSON.stringify(e)).join(', ') : '';
    detail = `${err.status} ${msg}${errors ? ` (${errors})` : ''}`;
  }
  const message = scrub(`${context}: ${method} ${url}: ${detail}`, token);
  return new GitHubPublishError(message, err.response ? err.status : undefined, hintFor(err));
}

function hintFor(err: RequestErrorLike): string | undefined {
  const text = JSON.stringify(err.response?.data ?? '');
  if (err.status === 401) return 'GITHUB_TOKEN was refused: set it to a valid token that has contents: write on the repository';
  if ((err.status === 403 || err.status === 429) && /rate limit/i.test(text))
    return 'GitHub rate-limited this token; wait a few minutes and rerun: the rerun keeps what is already uploaded';
  if (err.status === 403) return 'GITHUB_TOKEN needs contents: write on the repository (fine-grained token: Contents read and write; classic token: repo or public_repo)';
  if (err.status === 404) return 'check OWNER/REPO, and that GITHUB_TOKEN can see that repository (a token without access gets 404)';
  if (err.status >= 500 || !err.response) return 'GitHub or the network failed; rerun: the rerun keeps what is already uploaded and cleans up half-finished uploads';
  return undefined;
}

function scrubError(err: unknown, token: string): unknown {
  if (err instanceof Error && token && err.message.includes(token)) err.message = scrub(err.message, token);
  return err;
}

export function scrub(text: string, token: string): string {
  return token ? text.split(token).join('***') : text;
}

/** A URL for messages: no userinfo, and the query kept only for our own upload parameters. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) if (!['name', 'label', 'per_page', 'page'].includes(key)) u.searchParams.delete(key);
    return u.toString();
  } catch {
    return raw;
  }
}

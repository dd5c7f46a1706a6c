/**
 * Which repository to publish to: `--repo OWNER/REPO`, or else the `origin` remote of the
 * checkout, in any of the URL forms git and GitHub use.
 */
import { UsageError } from '../../core/errors.js';
import { runText } from '../../core/run.js';

export interface RepoRef {
  owner: string;
  repo: string;
}

const ACCEPTED_FORMS = [
  'OWNER/REPO',
  'https://github.com/OWNER/REPO(.git)',
  'git@github.com:OWNER/REPO(.git)',
  'ssh://git@github.com(:PORT)/OWNER/REPO(.git)',
];

export function acceptedForms(host = 'github.com'): string {
  return ACCEPTED_FORMS.map((f) => f.replace('github.com', host)).join(', ');
}

// GitHub: owner = letters, digits and single hyphens, at most 39; repo = [A-Za-z0-9._-], at most 100.
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

function checkNames(owner: string, repo: string): RepoRef | undefined {
  if (repo.endsWith('.git')) repo = repo.slice(0, -4);
  if (!OWNER.test(owner) || !REPO.test(repo) || repo === '.' || repo === '..') return undefined;
  return { owner, repo };
}

/** Userinfo (a token in `https://x-access-token:TOKEN@github.com/...`) never reaches a message. */
function forMessage(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/** `OWNER/REPO`, as given to --repo. */
export function parseRepoSlug(value: string): RepoRef {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(value.trim());
  const ref = m ? checkNames(m[1]!, m[2]!) : undefined;
  if (!ref) throw new UsageError(`--repo "${forMessage(value)}" is not OWNER/REPO`, `accepted: ${acceptedForms()}`);
  return ref;
}

/** A git remote URL on `host` (github.com unless GitHub Enterprise). */
export function parseRemoteUrl(url: string, host = 'github.com'): RepoRef {
  const value = url.trim();
  const h = host.toLowerCase();
  let path: string | undefined;
  const scp = /^(?:[A-Za-z0-9._-]+@)?([^:/\s]+):(?!\/\/)(.+)$/.exec(value);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      const hostOk = u.hostname.toLowerCase() === h || u.hostname.toLowerCase() === `www.${h}`;
      if (hostOk && ['https:', 'http:', 'ssh:', 'git+ssh:', 'git:'].includes(u.protocol)) path = decodeURIComponent(u.pathname);
    } catch {
      path = undefined;
    }
  } else if (scp && scp[1]!.toLowerCase() === h) {
    path = scp[2];
  }
  const m = path !== undefined ? /^\/?([^/]+)\/([^/]+?)\/?$/.exec(path) : null;
  const ref = m ? checkNames(m[1]!, m[2]!) : undefined;
  if (!ref) {
    throw new UsageError(
      `cannot tell the GitHub repository from the git remote "${forMessage(value)}"`,
      `pass --repo OWNER/REPO, or use an origin remote in one of these forms: ${acceptedForms(host)}`,
    );
  }
  return ref;
}

/** `--repo` when given, else the checkout's `origin` remote. */
export async function resolveRepo(opts: { flag?: string; cwd?: string; host?: string }): Promise<RepoRef> {
  if (opts.flag) return parseRepoSlug(opts.flag);
  let url: string;
  try {
    url = (await runText('git', ['remote', 'get-url', 'origin'], { cwd: opts.cwd ?? process.cwd() })).trim();
  } catch {
    throw new UsageError('no --repo given and no git remote "origin" to read it from', `pass --repo OWNER/REPO (accepted: ${acceptedForms(opts.host)})`);
  }
  return parseRemoteUrl(url, opts.host);
}

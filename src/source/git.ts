/**
 * Git sources: ls-remote to turn branches and tags into commits, and a shallow fetch of exactly one
 * commit into a bare repo in the cache. git is always run with an argv array (never a shell) and
 * with `--` before user-derived operands.
 */
import { existsSync } from 'node:fs';
import { SourceError } from '../core/errors.js';
import { RunError, runText, start } from '../core/run.js';
import { SourceCache } from './cache.js';

/** Over the environment the runner gives (the user's, without crio-build's secrets). */
const gitEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  GIT_TERMINAL_PROMPT: '0', // never hang on a credentials prompt in CI
  GIT_ASKPASS: 'true',
  LC_ALL: 'C',
});

export async function git(args: string[], cwd?: string): Promise<string> {
  try {
    return await runText('git', args, { ...(cwd !== undefined ? { cwd } : {}), env: gitEnv(), maxOutput: 64 * 1024 * 1024, installHint: 'install git' });
  } catch (err) {
    const e = err as Error;
    const detail = ((e instanceof RunError && e.stderr) || e.message).trim().split('\n').slice(-3).join(' | ');
    throw new SourceError(`git ${args.filter((a) => a !== '--').slice(0, 2).join(' ')} failed: ${detail}`);
  }
}

export interface RemoteRefs {
  heads: Map<string, string>;
  /** Tag name -> the commit it points at (annotated tags are peeled). */
  tags: Map<string, string>;
}

export async function lsRemote(url: string): Promise<RemoteRefs> {
  let out: string;
  try {
    out = await git(['ls-remote', '--heads', '--tags', '--', url]);
  } catch (err) {
    throw new SourceError(`cannot list refs of ${url}: ${(err as Error).message}`, 'check the URL, your network, or add a mirror (--mirror FROM=TO or mirrors: in the config file)');
  }
  const heads = new Map<string, string>();
  const tags = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [commit, ref] = line.split('\t');
    if (!commit || !ref) continue;
    if (ref.startsWith('refs/heads/')) heads.set(ref.slice(11), commit);
    else if (ref.startsWith('refs/tags/')) {
      const name = ref.slice(10);
      // "v1.0^{}" is the peeled commit of annotated tag v1.0: it wins over the tag object id.
      if (name.endsWith('^{}')) tags.set(name.slice(0, -3), commit);
      else if (!tags.has(name)) tags.set(name, commit);
    }
  }
  return { heads, tags };
}

export interface FetchedCommit {
  repoPath: string;
  commit: string;
  /** Committer time, seconds since the epoch. */
  commitTime: number;
}

/**
 * Make sure the cache's bare repo for `url` holds `commit` (depth 1). `ref` is fetched instead
 * when the server refuses a bare commit id, and the result must still be exactly `commit`.
 */
export async function fetchCommit(cache: SourceCache, url: string, commit: string, ref?: string): Promise<FetchedCommit> {
  const repoPath = cache.gitRepoPath(url);
  return cache.withLock(`git-${repoPath.split('/').pop()}`, async () => {
    if (!existsSync(repoPath)) await git(['init', '--bare', '--quiet', '--', repoPath]);
    if (!(await hasCommit(repoPath, commit))) {
      const fetch = (what: string) => git(['-C', repoPath, 'fetch', '--quiet', '--depth=1', '--no-tags', '--', url, what]);
      try {
        await fetch(commit).catch((err) => (ref ? fetch(ref) : Promise.reject(err)));
      } catch (err) {
        throw new SourceError(`cannot fetch commit ${commit}${ref ? ` (${ref})` : ''} from ${url}: ${(err as Error).message.replace(/^git [^:]*: /, '')}`, 'check the URL and the pin, or add a mirror (--mirror FROM=TO)');
      }
      if (!(await hasCommit(repoPath, commit))) {
        throw new SourceError(`${url}: fetched ${ref ?? commit} but commit ${commit} is not in it`, 'the branch or tag moved since the plan was made: re-run `crio-build plan` or update the recipe pin');
      }
      // Keep the commit reachable so `git gc` in the cache never drops it.
      await git(['-C', repoPath, 'update-ref', `refs/crio-build/${commit}`, commit]);
    }
    return { repoPath, commit, commitTime: await commitTime(repoPath, commit) };
  });
}

export async function hasCommit(repoPath: string, commit: string): Promise<boolean> {
  if (!existsSync(repoPath)) return false;
  return git(['-C', repoPath, 'cat-file', '-e', `${commit}^{commit}`]).then(
    () => true,
    () => false,
  );
}

async function commitTime(repoPath: string, commit: string): Promise<number> {
  const out = await git(['-C', repoPath, 'show', '-s', '--format=%ct', commit, '--']);
  return Number.parseInt(out.trim(), 10);
}

/** One file of a fetched commit, as text (a followed go.mod, version file, dependencies.yaml). */
export async function readTreeFile(repoPath: string, commit: string, path: string, url: string): Promise<string> {
  try {
    return await git(['-C', repoPath, 'show', `${commit}:${path}`, '--']);
  } catch (err) {
    throw new SourceError(`${url}@${commit.slice(0, 12)} has no readable ${path}: ${(err as Error).message.replace(/^git [^:]*: /, '')}`);
  }
}

/** The tree of `commit` as a tar stream (for a builder's putArchive), straight from git. */
export function archiveCommit(repoPath: string, commit: string, prefix = ''): NodeJS.ReadableStream {
  const args = ['-C', repoPath, 'archive', '--format=tar'];
  if (prefix) args.push(`--prefix=${prefix}`);
  args.push(commit);
  const child = start('git', args, { env: gitEnv(), stdout: 'pipe', installHint: 'install git' });
  child.done.catch((err: Error) => {
    const detail = err instanceof RunError ? err.stderr.trim() || err.message : err.message;
    child.stdout?.emit('error', new SourceError(`git archive ${commit} failed: ${detail}`));
  });
  return child.stdout!;
}

/** Tiny bare repos for fetcher tests, made with real git and fixed dates (deterministic ids). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function gitIn(cwd: string, args: string[], date = '2020-06-01T12:00:00Z'): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    encoding: 'utf8',
  }).trim();
}

/** A bare repo at `bare` with branch `main` (two commits) and annotated tag v1.0.0 on the first. */
export function makeBareRepo(work: string, bare: string): { first: string; second: string } {
  mkdirSync(work, { recursive: true });
  gitIn(work, ['init', '--quiet']);
  writeFileSync(join(work, 'README'), 'one\n');
  gitIn(work, ['add', 'README']);
  gitIn(work, ['commit', '--quiet', '-m', 'first'], '2020-06-01T12:00:00Z');
  const first = gitIn(work, ['rev-parse', 'HEAD']);
  gitIn(work, ['tag', '-a', 'v1.0.0', '-m', 'v1.0.0']);
  writeFileSync(join(work, 'README'), 'two\n');
  gitIn(work, ['commit', '--quiet', '-am', 'second'], '2020-06-02T12:00:00Z');
  const second = gitIn(work, ['rev-parse', 'HEAD']);
  gitIn(work, ['clone', '--quiet', '--bare', '.', bare]);
  return { first, second };
}

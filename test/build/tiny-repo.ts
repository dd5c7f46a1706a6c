/** A throwaway bare git repository with the given files in one commit (for hostile/edge builds). */
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/tmp.js';
import type { SourceInput } from '../../src/plan/build-job.js';

const run = promisify(execFile);
const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'crio-build tests',
  GIT_AUTHOR_EMAIL: 'tests@crio-build.invalid',
  GIT_COMMITTER_NAME: 'crio-build tests',
  GIT_COMMITTER_EMAIL: 'tests@crio-build.invalid',
  GIT_AUTHOR_DATE: '2020-06-01T12:00:00Z',
  GIT_COMMITTER_DATE: '2020-06-01T12:00:00Z',
};

export async function tinyRepo(files: Record<string, string>, executable: string[] = []): Promise<SourceInput> {
  const work = await tempDir('crio-build-tiny-');
  const tree = join(work, 'tree');
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(tree, rel)), { recursive: true });
    await writeFile(join(tree, rel), content);
    if (executable.includes(rel)) await chmod(join(tree, rel), 0o755);
  }
  const git = (args: string[], cwd = tree) => run('git', ['-c', 'init.defaultBranch=main', ...args], { cwd, env });
  await git(['init', '-q']);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'tiny']);
  const commit = (await git(['rev-parse', 'HEAD'])).stdout.trim();
  const bare = join(work, 'repo.git');
  await run('git', ['clone', '-q', '--bare', tree, bare], { env });
  return { repoPath: bare, commit, commitTime: 1591012800, url: 'https://example.invalid/tiny' };
}

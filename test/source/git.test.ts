import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SourceError } from '../../src/core/errors.js';
import { SourceCache } from '../../src/source/cache.js';
import { fetchCommit, git, hasCommit, lsRemote } from '../../src/source/git.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { makeBareRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/tmp.js';

describe('git fetcher', () => {
  let root: string;
  let commits: { first: string; second: string };
  let http: GitHttpServer;
  before(async () => {
    root = await tempDir();
    commits = makeBareRepo(join(root, 'work'), join(root, 'srv', 'org', 'proj'));
    http = await startGitHttpServer(join(root, 'srv'));
  });
  after(() => http.close());

  for (const scheme of ['file', 'http'] as const) {
    const urlOf = () => (scheme === 'file' ? `file://${root}/srv/org/proj` : `${http.url}/org/proj`);

    test(`ls-remote maps branches and peeled annotated tags to commits (${scheme})`, async () => {
      const refs = await lsRemote(urlOf());
      assert.equal(refs.heads.get('main'), commits.second);
      assert.equal(refs.tags.get('v1.0.0'), commits.first, 'annotated tag must resolve to its commit, not the tag object');
    });

    test(`fetches exactly one commit, shallowly, into the cache (${scheme})`, async () => {
      const cache = new SourceCache(join(root, `cache-${scheme}`));
      const got = await fetchCommit(cache, urlOf(), commits.first, 'refs/tags/v1.0.0');
      assert.equal(got.commit, commits.first);
      assert.equal(got.commitTime, Date.parse('2020-06-01T12:00:00Z') / 1000);
      assert.ok(await hasCommit(got.repoPath, commits.first));
      assert.equal(await hasCommit(got.repoPath, commits.second), false, 'only the asked-for commit is fetched');
      const shallow = await git(['-C', got.repoPath, 'rev-parse', '--is-shallow-repository']);
      assert.equal(shallow.trim(), 'true');
    });
  }

  test('a cached commit needs no remote', async () => {
    const cache = new SourceCache(join(root, 'cache-offline'));
    const url = `file://${root}/srv/org/proj`;
    await fetchCommit(cache, url, commits.second);
    // Same URL, remote now unreachable: answered from the cache.
    const moved = join(root, 'srv', 'org', 'proj');
    await git(['-C', moved, 'update-ref', '-d', 'refs/heads/main']).catch(() => undefined);
    const got = await fetchCommit(cache, url, commits.second);
    assert.equal(got.commit, commits.second);
  });

  test('a commit the remote does not have is a SourceError naming the URL', async () => {
    const cache = new SourceCache(join(root, 'cache-missing'));
    const url = `file://${root}/srv/org/proj`;
    await assert.rejects(fetchCommit(cache, url, 'f'.repeat(40)), (err: Error) => err instanceof SourceError && err.message.includes('srv/org/proj'));
  });

  test('user text is never shell-parsed: a URL with shell metacharacters is just a bad URL', async () => {
    const marker = join(root, 'pwned');
    await assert.rejects(lsRemote(`file://${root}/nope;touch ${marker}`), SourceError);
    await assert.rejects(lsRemote(`--upload-pack=touch ${marker}`), SourceError);
    assert.equal(existsSync(marker), false);
  });
});

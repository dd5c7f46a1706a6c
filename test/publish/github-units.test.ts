import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { ExitCode, InvalidInputError, UsageError } from '../../src/core/errors.js';
import { redactUrl, toPublishError } from '../../src/publish/github/client.js';
import { assetNameProblem, contentTypeFor, expandUriTemplate, parseRemoteUrl, parseRepoSlug, resolveRepo, validateAssets } from '../../src/publish/github/index.js';
import { tempDir } from '../helpers/tmp.js';

const TOKEN = 'ghp_FAKEtoken1234567890SECRET';

describe('owner/repo from --repo and from the origin remote', () => {
  const good: [string, string, string][] = [
    ['https://github.com/cri-o/cri-o', 'cri-o', 'cri-o'],
    ['https://github.com/cri-o/cri-o.git', 'cri-o', 'cri-o'],
    ['https://github.com/cri-o/cri-o/', 'cri-o', 'cri-o'],
    ['http://github.com/Owner-1/repo.name_x', 'Owner-1', 'repo.name_x'],
    ['https://www.github.com/o/r.git', 'o', 'r'],
    [`https://x-access-token:${TOKEN}@github.com/o/r.git`, 'o', 'r'],
    ['https://user@github.com/o/r', 'o', 'r'],
    ['git@github.com:cri-o/cri-o.git', 'cri-o', 'cri-o'],
    ['git@github.com:cri-o/cri-o', 'cri-o', 'cri-o'],
    ['github.com:o/r.git', 'o', 'r'],
    ['ssh://git@github.com/o/r.git', 'o', 'r'],
    ['ssh://git@github.com:22/o/r.git', 'o', 'r'],
    ['git+ssh://git@github.com/o/r', 'o', 'r'],
    ['git://github.com/o/r.git', 'o', 'r'],
    ['  https://github.com/o/r.git\n', 'o', 'r'],
  ];
  for (const [url, owner, repo] of good) {
    test(`${url.trim()} -> ${owner}/${repo}`, () => assert.deepEqual(parseRemoteUrl(url), { owner, repo }));
  }

  const bad = [
    'https://gitlab.com/o/r.git',
    'git@gitlab.com:o/r.git',
    'https://github.com/o',
    'https://github.com/o/r/tree/main',
    'git@github.com:o',
    'ssh://git@github.com/o/r/x.git',
    '/srv/git/o/r.git',
    'file:///srv/git/o/r.git',
    'https://github.com/-bad/r',
    'https://github.com/o/..',
    '',
  ];
  for (const url of bad) {
    test(`rejects ${JSON.stringify(url)} with the accepted forms`, () => {
      assert.throws(
        () => parseRemoteUrl(url),
        (err: unknown) => {
          assert.ok(err instanceof UsageError);
          assert.equal(err.exitCode, ExitCode.usage);
          assert.match(err.hint ?? '', /--repo OWNER\/REPO/);
          assert.match(err.hint ?? '', /git@github\.com:OWNER\/REPO/);
          assert.match(err.hint ?? '', /ssh:\/\/git@github\.com/);
          assert.match(err.hint ?? '', /https:\/\/github\.com\/OWNER\/REPO/);
          return true;
        },
      );
    });
  }

  test('a token in the remote URL never reaches the message', () => {
    assert.throws(
      () => parseRemoteUrl(`https://x-access-token:${TOKEN}@gitlab.com/o/r.git`),
      (err: Error) => !err.message.includes(TOKEN) && /gitlab\.com\/o\/r\.git/.test(err.message),
    );
  });

  test('GitHub Enterprise host', () => {
    assert.deepEqual(parseRemoteUrl('git@ghe.example.com:team/app.git', 'ghe.example.com'), { owner: 'team', repo: 'app' });
    assert.throws(() => parseRemoteUrl('git@github.com:team/app.git', 'ghe.example.com'), UsageError);
  });

  test('--repo OWNER/REPO', () => {
    assert.deepEqual(parseRepoSlug('cri-o/cri-o'), { owner: 'cri-o', repo: 'cri-o' });
    assert.deepEqual(parseRepoSlug('o/r.git'), { owner: 'o', repo: 'r' });
    for (const v of ['o', 'o/r/x', '/r', 'o/', 'o r/x', 'https://github.com/o/r']) assert.throws(() => parseRepoSlug(v), UsageError, v);
  });

  test('resolveRepo: the flag wins; else git remote get-url origin; no origin is a usage error', async () => {
    const dir = await tempDir();
    execFileSync('git', ['init', '-q', dir]);
    await assert.rejects(resolveRepo({ cwd: dir }), (err: Error) => err instanceof UsageError && /origin/.test(err.message));
    execFileSync('git', ['-C', dir, 'remote', 'add', 'origin', 'git@github.com:crio-build/crio-arm64.git']);
    assert.deepEqual(await resolveRepo({ cwd: dir }), { owner: 'crio-build', repo: 'crio-arm64' });
    assert.deepEqual(await resolveRepo({ cwd: dir, flag: 'a/b' }), { owner: 'a', repo: 'b' });
  });
});

describe('RFC 6570 expansion of upload_url', () => {
  const upload = 'https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}';
  const cases: [string, Record<string, string | undefined>, string][] = [
    [upload, { name: 'cri-o_1.18.6-1_arm64.deb' }, 'https://uploads.github.com/repos/o/r/releases/1/assets?name=cri-o_1.18.6-1_arm64.deb'],
    [upload, { name: 'test-upload.txt', label: 'test' }, 'https://uploads.github.com/repos/o/r/releases/1/assets?name=test-upload.txt&label=test'],
    [upload, { name: 'a b+c&d=e', label: 'über/x' }, 'https://uploads.github.com/repos/o/r/releases/1/assets?name=a%20b%2Bc%26d%3De&label=%C3%BCber%2Fx'],
    [upload, {}, 'https://uploads.github.com/repos/o/r/releases/1/assets'],
    [upload, { name: '' }, 'https://uploads.github.com/repos/o/r/releases/1/assets?name='],
    // RFC 6570 section 1.2 examples (level 3).
    ['{var}', { var: 'value' }, 'value'],
    ['{hello}', { hello: 'Hello World!' }, 'Hello%20World%21'],
    ['{+path}/here', { path: '/foo/bar' }, '/foo/bar/here'],
    ['{#x,hello,y}', { x: '1024', hello: 'Hello World!', y: '768' }, '#1024,Hello%20World!,768'],
    ['X{.x,y}', { x: '1024', y: '768' }, 'X.1024.768'],
    ['{/var,x}/here', { var: 'value', x: '1024' }, '/value/1024/here'],
    ['{;x,y,empty}', { x: '1024', y: '768', empty: '' }, ';x=1024;y=768;empty'],
    ['{?x,y,empty}', { x: '1024', y: '768', empty: '' }, '?x=1024&y=768&empty='],
    ['?fixed=yes{&x}', { x: '1024' }, '?fixed=yes&x=1024'],
  ];
  for (const [tpl, vars, want] of cases) test(`${tpl} ${JSON.stringify(vars)}`, () => assert.equal(expandUriTemplate(tpl, vars), want));
  test('level 4 modifiers are refused, not misread', () => assert.throws(() => expandUriTemplate('{var:3}', { var: 'value' }), /not supported/));
});

describe('asset names GitHub would rename', () => {
  const ok = ['cri-o_1.18.6-1_arm64.deb', 'cri-o.arm64.v1.18.6.tar.gz', 'InRelease', 'Release.gpg', 'Packages.xz', 'SHA256SUMS', 'a', 'x'.repeat(255)];
  for (const n of ok) test(`keeps ${n.length > 40 ? `${n.length} chars` : n}`, () => assert.equal(assetNameProblem(n), undefined));
  const bad: [string, RegExp][] = [
    ['cri-o_1.18.3+git20200601120000.abcdef1-1_arm64.deb', /"\+"/],
    ['conmon_2.0.11~rc1_arm64.deb', /"~"/],
    ['epoch:1.deb', /":"/],
    ['with space.deb', /" "/],
    ['.hidden', /start with "\."/],
    ['trailing.', /end with "\."/],
    ['x'.repeat(256), /256 characters; at most 255/],
    ['', /empty/],
    ['dir/file.deb', /"\/"/],
  ];
  for (const [n, why] of bad) test(`refuses ${n.length > 40 ? `${n.length} chars` : JSON.stringify(n)}`, () => assert.match(assetNameProblem(n) ?? '', why));

  test('validateAssets: InvalidInputError (exit 3) naming the asset and the rule; duplicates; files and sizes', async () => {
    const dir = await tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/a.deb`, 'abc');
    const sha = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    const ok = { name: 'a.deb', path: `${dir}/a.deb`, sha256: sha, size: 3 };
    await validateAssets([ok]);
    const expectInvalid = async (assets: Parameters<typeof validateAssets>[0], re: RegExp) =>
      assert.rejects(validateAssets(assets), (err: unknown) => err instanceof InvalidInputError && err.exitCode === ExitCode.invalidInput && re.test(err.message));
    await expectInvalid([{ ...ok, name: 'a+b.deb' }], /release asset "a\+b\.deb": only A-Z a-z 0-9 \. _ - are allowed \(found "\+"\)/);
    await expectInvalid([ok, { ...ok }], /"a\.deb" is listed twice/);
    await expectInvalid([{ ...ok, path: `${dir}/missing.deb` }], /missing\.deb does not exist/);
    await expectInvalid([{ ...ok, size: 4 }], /has 3 bytes, the asset list says 4/);
    await expectInvalid([{ ...ok, sha256: 'abc' }], /not 64 hex digits/);
  });

  test('content types by name', () => {
    assert.equal(contentTypeFor('cri-o_1.18.6-1_arm64.deb'), 'application/vnd.debian.binary-package');
    assert.equal(contentTypeFor('cri-o.arm64.v1.18.6.tar.gz'), 'application/gzip');
    assert.equal(contentTypeFor('Release.gpg'), 'application/pgp-signature');
    assert.equal(contentTypeFor('InRelease'), 'text/plain');
    assert.equal(contentTypeFor('Packages'), 'text/plain');
    assert.equal(contentTypeFor('Packages.xz'), 'application/x-xz');
    assert.equal(contentTypeFor('whatever.bin'), 'application/octet-stream');
  });
});

describe('errors rebuilt without headers or the token', () => {
  test('a RequestError-shaped failure keeps status, method, URL and GitHub message only', () => {
    const err = Object.assign(new Error('Bad credentials - https://docs.github.com/rest'), {
      name: 'HttpError',
      status: 401,
      request: { method: 'GET', url: 'https://api.github.com/repos/o/r/releases/tags/v1', headers: { authorization: `token ${TOKEN}` } },
      response: { status: 401, headers: {}, data: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } },
    });
    const out = toPublishError(err, TOKEN, 'publishing o/r v1: finding the release v1') as Error & { hint?: string; exitCode?: number };
    assert.equal(out.message, 'publishing o/r v1: finding the release v1: GET https://api.github.com/repos/o/r/releases/tags/v1: 401 Bad credentials');
    assert.match(out.hint ?? '', /contents: write/);
    assert.equal(out.exitCode, ExitCode.jobFailed);
    assert.ok(!JSON.stringify({ ...out, message: out.message, hint: out.hint }).includes(TOKEN));
    assert.equal((out as { cause?: unknown }).cause, undefined, 'the RequestError (with its headers) is not kept as cause');
  });
  test('the token is scrubbed wherever it shows up, and URLs lose userinfo and foreign query parameters', () => {
    const err = Object.assign(new Error('x'), { name: 'HttpError', status: 422, request: { method: 'POST', url: `https://u:${TOKEN}@uploads.github.com/a?name=n&sig=${TOKEN}` }, response: { data: { message: `echo ${TOKEN}` } } });
    const out = toPublishError(err, TOKEN, 'ctx') as Error;
    assert.ok(!out.message.includes(TOKEN), out.message);
    assert.equal(redactUrl(`https://u:${TOKEN}@uploads.github.com/a?name=n&sig=s`), 'https://uploads.github.com/a?name=n');
  });
});

/**
 * publishRelease against the local fake GitHub (test/helpers/fake-github.ts): first publish, reruns,
 * changes, stale assets, interruptions and reruns that converge, retries and rate limits, digests
 * absent, pagination, dry runs, bad tokens. Every error message, hint, action and log line of the
 * whole file is collected and checked for the token at the end.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ExitCode, InvalidInputError } from '../../src/core/errors.js';
import { GitHubPublishError, publishRelease, type PublishAction, type PublishRequest, type ReleaseAsset } from '../../src/publish/github/index.js';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { tempDir } from '../helpers/tmp.js';

const TOKEN = 'ghp_FAKEtoken1234567890SECRET';
const REPO = 'crio-build/crio-arm64';
const TAG = 'v1.18.6';
/** Every string the publisher showed anyone in this file: messages, hints, actions, log lines. */
const shown: string[] = [];

const NAMES = [
  'cri-o_1.18.6-1_arm64.deb',
  'conmon_2.0.18-1_arm64.deb',
  'containernetworking-plugins_0.8.6-1_arm64.deb',
  'cri-tools_1.18.0-1_arm64.deb',
  'cri-o.arm64.v1.18.6.tar.gz',
  'SHA256SUMS',
  'Packages',
  'Packages.gz',
  'Release',
  'InRelease',
  'Release.gpg',
];

async function files(names: string[], sizes?: (i: number) => number): Promise<ReleaseAsset[]> {
  const dir = await tempDir('crio-build-gh-');
  return names.map((name, i) => writeAsset(dir, name, randomBytes(sizes ? sizes(i) : 1000 + i * 37_001)));
}

function writeAsset(dir: string, name: string, bytes: Buffer): ReleaseAsset {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { name, path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

/** The same asset with new bytes (same size unless given), in a new file. */
async function changed(a: ReleaseAsset, size = a.size): Promise<ReleaseAsset> {
  return writeAsset(await tempDir('crio-build-gh-'), a.name, randomBytes(size));
}

interface Run {
  actions: PublishAction[];
  logs: string[];
}

function request(fake: FakeGitHub, assets: ReleaseAsset[], run: Run, over: Partial<PublishRequest> = {}): PublishRequest {
  return {
    owner: 'crio-build',
    repo: 'crio-arm64',
    tag: TAG,
    name: 'CRI-O 1.18.6 for arm64',
    body: 'Packages built from cri-o v1.18.6.',
    prerelease: false,
    assets,
    token: TOKEN,
    apiUrl: fake.apiUrl,
    onAction: (a) => {
      run.actions.push(a);
      shown.push(JSON.stringify(a));
    },
    client: {
      retries: 2,
      retryBaseMs: 1,
      rateLimitRetries: 2,
      rateLimitBaseMs: 1,
      writeSpacingMs: 0,
      log: (l) => {
        run.logs.push(l);
        shown.push(l);
      },
    },
    ...over,
  };
}

async function publish(fake: FakeGitHub, assets: ReleaseAsset[], over: Partial<PublishRequest> = {}) {
  const run: Run = { actions: [], logs: [] };
  const result = await publishRelease(request(fake, assets, run, over));
  return { result, ...run };
}

async function publishFails(fake: FakeGitHub, assets: ReleaseAsset[], over: Partial<PublishRequest> = {}) {
  const run: Run = { actions: [], logs: [] };
  const err = await publishRelease(request(fake, assets, run, over)).then(
    () => assert.fail('publish should have failed'),
    (e: unknown) => e,
  );
  if (err instanceof Error) shown.push(err.message, String(err), err.stack ?? '', JSON.stringify(err), (err as { hint?: string }).hint ?? '');
  return { err: err as GitHubPublishError, ...run };
}

/** The release of TAG holds exactly `assets` (bytes compared), once each, all uploaded, and is published. */
function assertConverged(fake: FakeGitHub, assets: ReleaseAsset[]): void {
  const rels = fake.releases(REPO).filter((r) => r.tag_name === TAG);
  assert.equal(rels.length, 1, 'one release for the tag');
  const rel = rels[0]!;
  assert.equal(rel.draft, false, 'published');
  assert.deepEqual(rel.assets.map((a) => a.name).sort(), assets.map((a) => a.name).sort(), 'exactly the desired assets, no duplicates');
  for (const a of rel.assets) {
    assert.equal(a.state, 'uploaded', `${a.name} uploaded`);
    const want = assets.find((x) => x.name === a.name)!;
    assert.equal(createHash('sha256').update(a.bytes).digest('hex'), want.sha256, `${a.name} bytes`);
  }
}

const uploadsInOrder = (fake: FakeGitHub) => fake.requests.filter((r) => r.route === 'upload-asset' && r.status === 201).map((r) => new URL(r.url, 'http://x').searchParams.get('name'));

describe('publishRelease against the fake GitHub', () => {
  const fakes: FakeGitHub[] = [];
  const fresh = async (opts?: Parameters<typeof startFakeGitHub>[0]) => {
    const f = await startFakeGitHub(opts);
    fakes.push(f);
    return f;
  };
  after(() => Promise.all(fakes.map((f) => f.close())));

  test('first publish: creates the release as a draft, uploads every asset in the given order, then publishes', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    const { result, actions } = await publish(fake, assets);

    assert.equal(result.created, true);
    assert.deepEqual(result.uploaded, NAMES);
    assert.deepEqual([result.replaced, result.unchanged, result.deleted], [[], [], []]);
    assertConverged(fake, assets);
    const rel = fake.release(REPO, TAG)!;
    assert.equal(result.releaseId, rel.id);
    assert.equal(result.htmlUrl, `https://github.com/${REPO}/releases/tag/${TAG}`);
    assert.equal(rel.name, 'CRI-O 1.18.6 for arm64');
    assert.equal(rel.body, 'Packages built from cri-o v1.18.6.');
    assert.equal(rel.make_latest, 'legacy');

    assert.deepEqual(uploadsInOrder(fake), NAMES, 'uploads in the given order');
    assert.deepEqual(uploadsInOrder(fake).slice(-2), ['InRelease', 'Release.gpg'], 'the signed index files last');
    for (const r of fake.requests.filter((x) => x.route === 'upload-asset')) {
      const name = new URL(r.url, 'http://x').searchParams.get('name');
      const a = assets.find((x) => x.name === name)!;
      assert.equal(r.origin, 'uploads', 'uploads go to the upload_url origin');
      assert.equal(r.contentLength, String(a.size), `${name} Content-Length`);
      assert.ok(r.contentType, `${name} Content-Type`);
      assert.ok(r.authorization);
    }
    assert.equal(rel.assets.find((a) => a.name === NAMES[0])!.content_type, 'application/vnd.debian.binary-package');
    assert.equal(fake.count('create-release'), 1);
    assert.equal(fake.count('update-release'), 1, 'one PATCH: publishing the draft');
    assert.deepEqual(
      actions.map((a) => a.kind),
      ['create-release', ...NAMES.map(() => 'upload'), 'update-release'],
    );
  });

  test('a rerun with nothing changed writes nothing: zero uploads, zero deletes (digests compared, nothing downloaded)', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    await publish(fake, assets);
    fake.resetCounters();
    const { result, actions } = await publish(fake, assets);
    assert.equal(result.created, false);
    assert.deepEqual(result.unchanged, NAMES);
    assert.deepEqual([result.uploaded, result.replaced, result.deleted], [[], [], []]);
    assert.equal(fake.count('upload-asset'), 0);
    assert.equal(fake.count('delete-asset'), 0);
    assert.equal(fake.writes(), 0, 'no write of any kind');
    assert.equal(fake.count('download-asset'), 0, 'digests made downloads unnecessary');
    assert.ok(actions.every((a) => a.kind === 'keep' && /sha256 matches \(digest\)/.test(a.reason)));
    assertConverged(fake, assets);
  });

  test('without the digest field: assets are downloaded (302 to another origin) and hashed; one changed file is replaced', async () => {
    const fake = await fresh({ digests: false });
    const assets = await files(NAMES);
    await publish(fake, assets);
    fake.resetCounters();
    const again = await publish(fake, assets);
    assert.deepEqual(again.result.unchanged, NAMES);
    assert.equal(fake.count('download-asset'), NAMES.length, 'each asset asked for with Accept: application/octet-stream');
    assert.equal(fake.count('object'), NAMES.length, 'each 302 followed to the download URL');
    assert.ok(fake.requests.filter((r) => r.route === 'object').every((r) => !r.authorization), 'the token is not sent to the download origin');
    assert.equal(fake.writes(), 0);

    const edited = [...assets];
    edited[1] = await changed(assets[1]!);
    fake.resetCounters();
    const third = await publish(fake, edited);
    assert.deepEqual(third.result.replaced, [NAMES[1]]);
    assert.equal(third.actions.find((a) => a.kind === 'replace')?.reason, 'sha256 differs (downloaded and hashed)');
    assert.equal(fake.count('delete-asset'), 1);
    assert.equal(fake.count('upload-asset'), 1);
    assertConverged(fake, edited);
  });

  test('one changed asset: exactly one delete and one upload, the delete first', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    await publish(fake, assets);
    const edited = [...assets];
    edited[6] = await changed(assets[6]!); // Packages, same size, other bytes
    fake.resetCounters();
    const { result, actions } = await publish(fake, edited);
    assert.deepEqual(result.replaced, ['Packages']);
    assert.equal(result.unchanged.length, NAMES.length - 1);
    assert.equal(actions.find((a) => a.kind === 'replace')?.reason, 'sha256 differs (digest)');
    assert.equal(fake.count('delete-asset'), 1);
    assert.equal(fake.count('upload-asset'), 1);
    assert.deepEqual(
      fake.requests.filter((r) => r.method !== 'GET').map((r) => r.route),
      ['delete-asset', 'upload-asset'],
    );
    assertConverged(fake, edited);

    // A size change is seen without reading any digest.
    const resized = [...edited];
    resized[8] = await changed(edited[8]!, edited[8]!.size + 10);
    const second = await publish(fake, resized);
    assert.match(second.actions.find((a) => a.kind === 'replace')?.reason ?? '', /^size differs/);
    assertConverged(fake, resized);
  });

  test('stale assets (dropped from the set, or foreign) are deleted after every upload', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    await publish(fake, assets);
    fake.seedAsset(fake.release(REPO, TAG)!, { name: 'notes-from-someone.txt', bytes: 'hi' });
    const [extra] = await files(['cri-o_1.18.6-2_arm64.deb']);
    const next = [extra!, ...assets.filter((a) => a.name !== 'conmon_2.0.18-1_arm64.deb')];
    fake.resetCounters();
    const { result } = await publish(fake, next);
    assert.deepEqual(result.uploaded, ['cri-o_1.18.6-2_arm64.deb']);
    assert.deepEqual(result.deleted.sort(), ['conmon_2.0.18-1_arm64.deb', 'notes-from-someone.txt']);
    assert.deepEqual(
      fake.requests.filter((r) => r.method !== 'GET').map((r) => r.route),
      ['upload-asset', 'delete-asset', 'delete-asset'],
    );
    assertConverged(fake, next);
  });

  test('connection dropped in the middle of an upload: the call fails clearly; a rerun reuses the draft and cleans the starter', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    const victim = NAMES[2]!;
    fake.inject('upload-asset', { kind: 'drop' }, 3, (r) => r.name === victim); // the first try and both retries
    const { err } = await publishFails(fake, assets);
    assert.ok(err instanceof GitHubPublishError, String(err));
    assert.equal(err.exitCode, ExitCode.jobFailed);
    assert.match(err.message, new RegExp(`uploading ${victim}: POST ${fake.uploadsUrl}/repos/${REPO}/releases/\\d+/assets\\?name=${victim}: no answer from GitHub`));
    assert.match(err.hint ?? '', /rerun/);

    const draft = fake.release(REPO, TAG)!;
    assert.equal(draft.draft, true, 'the half-done release is not public');
    assert.deepEqual(
      draft.assets.map((a) => [a.name, a.state]),
      [
        [NAMES[0], 'uploaded'],
        [NAMES[1], 'uploaded'],
        [victim, 'starter'],
      ],
    );

    fake.resetCounters();
    const { result, actions } = await publish(fake, assets);
    assert.equal(result.created, false, 'the draft of the interrupted run is reused');
    assert.equal(fake.count('create-release'), 0);
    assert.deepEqual(result.deleted, [victim]);
    assert.match(actions.find((a) => a.kind === 'delete')!.reason, /never finished \(state starter\)/);
    assert.deepEqual(result.unchanged, NAMES.slice(0, 2));
    assert.deepEqual(result.uploaded, NAMES.slice(2));
    assertConverged(fake, assets);
  });

  test('502 on every try of an upload while replacing: the call fails naming status and step; a rerun converges', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    await publish(fake, assets);
    const edited = [...assets];
    edited[0] = await changed(assets[0]!);
    edited[9] = await changed(assets[9]!);
    fake.inject('upload-asset', { kind: 'status', status: 502 }, 3, (r) => r.name === NAMES[0]);
    const { err } = await publishFails(fake, edited);
    assert.ok(err instanceof GitHubPublishError, String(err));
    assert.match(err.message, new RegExp(`uploading ${NAMES[0]}: POST .*: 502 Server Error`));
    assert.equal(err.status, 502);
    // The old asset was deleted before the upload; the 502 left a starter in its place.
    assert.equal(fake.release(REPO, TAG)!.assets.find((a) => a.name === NAMES[0])?.state, 'starter');

    const { result } = await publish(fake, edited);
    assert.deepEqual(result.deleted, [NAMES[0]], 'the starter');
    assert.deepEqual(result.uploaded, [NAMES[0]]);
    assert.deepEqual(result.replaced, [NAMES[9]]);
    assertConverged(fake, edited);
  });

  test('interrupted right after creating the release: the rerun finds the draft through the release list', async () => {
    const fake = await fresh();
    const assets = await files(NAMES.slice(0, 3));
    fake.inject('list-assets', { kind: 'status', status: 503 }, 3);
    const { err } = await publishFails(fake, assets);
    assert.match(err.message, /listing the assets of v1\.18\.6: GET .*\/assets\?per_page=100: 503/);
    assert.equal(fake.releases(REPO).length, 1);
    assert.equal(fake.releases(REPO)[0]!.draft, true);
    fake.resetCounters();
    const { result } = await publish(fake, assets);
    assert.equal(fake.count('get-release-by-tag'), 1, 'the draft is not found by tag...');
    assert.ok(fake.count('list-releases') >= 1, '...but in the release list');
    assert.equal(fake.count('create-release'), 0);
    assert.equal(result.created, false);
    assertConverged(fake, assets);
  });

  test('502s, a secondary rate limit and a primary rate limit along the way are waited out and retried; the call succeeds', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    fake.inject('get-release-by-tag', { kind: 'rate-limit', resetInSeconds: 1 });
    fake.inject('create-release', { kind: 'secondary-rate-limit', retryAfter: 2 });
    fake.inject('list-assets', { kind: 'status', status: 502 });
    fake.inject('upload-asset', { kind: 'status', status: 502 }, 2, (r) => r.name === NAMES[3]);
    fake.inject('upload-asset', { kind: 'secondary-rate-limit', retryAfter: 1 }, 1, (r) => r.name === NAMES[5]);
    fake.inject('upload-asset', { kind: 'drop' }, 1, (r) => r.name === NAMES[7]);
    const { result, logs } = await publish(fake, assets);
    assert.deepEqual(result.uploaded, NAMES);
    assertConverged(fake, assets);
    assert.equal(fake.count('create-release'), 2, 'one refused by the secondary limit, one retried');
    assert.ok(logs.some((l) => /secondary rate limit on POST .*waiting 2s before retry 1 of 2/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /github: rate limit on GET/.test(l)), logs.join('\n'));
  });

  test('another run uploads the same name between our listing and our upload: 422 already_exists, replaced once', async () => {
    const fake = await fresh();
    const assets = await files(NAMES.slice(0, 4));
    const racer = NAMES[2]!;
    let raced = false;
    const { result } = await publish(fake, assets, {
      onAction: (a) => {
        if (a.kind === 'upload' && a.asset === racer && !raced) {
          raced = true;
          fake.seedAsset(fake.release(REPO, TAG)!, { name: racer, bytes: 'from another run' });
        }
      },
    });
    assert.ok(raced);
    assert.deepEqual(result.uploaded, NAMES.slice(0, 4));
    const uploads = fake.requests.filter((r) => r.route === 'upload-asset' && r.url.includes(racer));
    assert.deepEqual(
      uploads.map((r) => r.status),
      [422, 201],
    );
    assertConverged(fake, assets);
  });

  test('production settings (GitHub write pacing, default retries) work end to end', async () => {
    const fake = await fresh();
    const assets = await files(NAMES.slice(0, 1));
    const logs: string[] = [];
    const result = await publishRelease({ ...request(fake, assets, { actions: [], logs: [] }), client: { log: (l) => logs.push(l) } });
    assert.deepEqual(result.uploaded, NAMES.slice(0, 1));
    assertConverged(fake, assets);
    shown.push(...logs);
  });

  test('pagination: 133 assets over two pages (3 stale on page 2), and a draft found on page 2 of 151 releases', async () => {
    const fake = await fresh();
    const names = Array.from({ length: 130 }, (_, i) => `pkg-${String(i).padStart(3, '0')}_1.0-1_arm64.deb`);
    const assets = await files(names, () => 64);
    const tag = 'nightly-release-1.18';
    const draft = fake.seedRelease(REPO, { tag, name: 'old title', draft: true });
    for (let i = 0; i < 150; i++) fake.seedRelease(REPO, { tag: `v0.${i}.0` });
    for (const a of assets) fake.seedAsset(draft, { name: a.name, bytes: (await import('node:fs')).readFileSync(a.path) });
    for (const s of ['stale-1.deb', 'stale-2.deb', 'stale-3.deb']) fake.seedAsset(draft, { name: s, bytes: 'old' });

    const { result } = await publish(fake, assets, { tag, prerelease: true, name: 'nightly 1.18' });
    assert.equal(fake.count('list-releases'), 2, 'releases: per_page=100, Link rel="next" followed once');
    assert.equal(fake.count('list-assets'), 2, 'assets: per_page=100, Link rel="next" followed once');
    assert.equal(result.created, false);
    assert.equal(result.releaseId, draft.id);
    assert.equal(result.unchanged.length, 130);
    assert.deepEqual(result.deleted, ['stale-1.deb', 'stale-2.deb', 'stale-3.deb']);
    assert.equal(fake.count('upload-asset'), 0);
    assert.equal(draft.draft, false, 'published');
    assert.equal(draft.prerelease, true);
    assert.equal(draft.name, 'nightly 1.18');
    assert.equal(draft.make_latest, undefined, 'a prerelease is never made latest');
    assert.equal(draft.assets.length, 130);
  });

  test('release title, notes or prerelease changed: one PATCH, no asset writes', async () => {
    const fake = await fresh();
    const assets = await files(NAMES.slice(0, 2));
    await publish(fake, assets);
    fake.resetCounters();
    const { actions } = await publish(fake, assets, { body: 'new notes', prerelease: true });
    assert.deepEqual(
      actions.filter((a) => a.kind === 'update-release').map((a) => a.reason),
      ['body, prerelease changed'],
    );
    assert.equal(fake.writes(), 1);
    assert.equal(fake.release(REPO, TAG)!.body, 'new notes');
    assert.equal(fake.release(REPO, TAG)!.prerelease, true);
  });

  test('dry run without a release: lists create, every upload and publish; writes nothing', async () => {
    const fake = await fresh();
    const assets = await files(NAMES);
    const { result, actions } = await publish(fake, assets, { dryRun: true });
    assert.equal(fake.writes(), 0);
    assert.equal(fake.releases(REPO).length, 0);
    assert.equal(result.dryRun, true);
    assert.equal(result.releaseId, undefined);
    assert.equal(result.created, true);
    assert.deepEqual(result.uploaded, NAMES);
    assert.deepEqual(
      actions.map((a) => [a.kind, a.asset]),
      [['create-release', undefined], ...NAMES.map((n) => ['upload', n]), ['update-release', undefined]],
    );
  });

  test('dry run on an existing release: reports update, replace, upload, delete; writes nothing', async () => {
    const fake = await fresh({ digests: false });
    const assets = await files(NAMES);
    await publish(fake, assets);
    const [added] = await files(['cri-o_1.18.6-2_arm64.deb']);
    const edited = [added!, ...assets.slice(1)];
    edited[2] = await changed(assets[2]!);
    fake.resetCounters();
    const { result, actions } = await publish(fake, edited, { dryRun: true, name: 'renamed' });
    assert.equal(fake.writes(), 0);
    assert.ok(fake.count('download-asset') > 0, 'reads are allowed: assets hashed by download');
    assert.deepEqual(
      actions.filter((a) => a.kind !== 'keep').map((a) => [a.kind, a.asset ?? '']),
      [
        ['update-release', ''],
        ['upload', 'cri-o_1.18.6-2_arm64.deb'],
        ['replace', NAMES[2]],
        ['delete', NAMES[0]],
      ],
    );
    assert.deepEqual([result.uploaded, result.replaced, result.deleted], [['cri-o_1.18.6-2_arm64.deb'], [NAMES[2]], [NAMES[0]]]);
    assertConverged(fake, assets); // untouched
    assert.equal(fake.release(REPO, TAG)!.name, 'CRI-O 1.18.6 for arm64');
  });

  test('a wrong token: a clear 401 error with the hint, not retried, without the token', async () => {
    const fake = await fresh();
    const assets = await files(NAMES.slice(0, 1));
    const wrong = 'ghp_WRONGtoken0000000000SECRET';
    const { err } = await publishFails(fake, assets, { token: wrong });
    assert.ok(err instanceof GitHubPublishError, String(err));
    assert.equal(err.status, 401);
    assert.equal(
      err.message,
      `publishing ${REPO} ${TAG}: finding the release ${TAG}: GET ${fake.apiUrl}/repos/${REPO}/releases/tags/${TAG}: 401 Bad credentials`,
    );
    assert.match(err.hint ?? '', /contents: write/);
    assert.equal(fake.count('get-release-by-tag'), 1, '401 is not retried');
    for (const s of [err.message, err.hint ?? '', String(err), err.stack ?? '', JSON.stringify(err)]) assert.ok(!s.includes(wrong) && !s.includes(TOKEN));
  });

  test('a read-only token: 403 on the first write, with "GITHUB_TOKEN needs contents: write"', async () => {
    const fake = await fresh({ readOnlyTokens: ['ghp_READonly000000000000000000'] });
    const assets = await files(NAMES.slice(0, 1));
    const { err } = await publishFails(fake, assets, { token: 'ghp_READonly000000000000000000' });
    assert.match(err.message, /creating the release v1\.18\.6: POST .*\/releases: 403 Resource not accessible by personal access token/);
    assert.match(err.hint ?? '', /^GITHUB_TOKEN needs contents: write/);
    assert.equal(fake.releases(REPO).length, 0);
  });

  test('secondary rate limit that does not let go: fails after the configured retries with a rate-limit hint', async () => {
    const fake = await fresh();
    const assets = await files(NAMES.slice(0, 2));
    fake.inject('upload-asset', { kind: 'secondary-rate-limit', retryAfter: 1 }, 3);
    const { err, logs } = await publishFails(fake, assets);
    assert.match(err.message, /403 You have exceeded a secondary rate limit/);
    assert.match(err.hint ?? '', /rate-limited/);
    assert.ok(logs.some((l) => /giving up after 2 retries/.test(l)));
  });

  test('bad asset names, duplicates and missing files are refused before any request (exit 3)', async () => {
    const fake = await fresh();
    const [good] = await files(['ok.deb']);
    const bad: [Partial<ReleaseAsset>, RegExp][] = [
      [{ name: 'cri-o_1.18.3+git20200601.abcdef1-1_arm64.deb' }, /release asset "cri-o_1\.18\.3\+git20200601\.abcdef1-1_arm64\.deb": only A-Z a-z 0-9 \. _ - are allowed \(found "\+"\)/],
      [{ name: '.InRelease' }, /may not start with "\."/],
      [{ name: 'a'.repeat(256) }, /at most 255/],
      [{ path: '/nonexistent/file.deb' }, /does not exist/],
    ];
    for (const [over, re] of bad) {
      await assert.rejects(
        publishRelease(request(fake, [{ ...good!, ...over }], { actions: [], logs: [] })),
        (err: unknown) => err instanceof InvalidInputError && err.exitCode === ExitCode.invalidInput && re.test(err.message),
      );
    }
    await assert.rejects(publishRelease(request(fake, [good!, good!], { actions: [], logs: [] })), /listed twice/);
    await assert.rejects(publishRelease(request(fake, [], { actions: [], logs: [] })), /no release assets to publish/);
    assert.equal(fake.requests.length, 0, 'nothing was sent');
  });

  test('the token never appeared in any error, hint, action or log line of this file', () => {
    assert.ok(shown.length > 50, `collected ${shown.length} strings`);
    for (const s of shown) assert.ok(!s.includes(TOKEN), s);
  });
});

/**
 * Replays real GitHub exchanges recorded by @octokit/fixtures (scenarios
 * api.github.com/release-assets and api.github.com/release-assets-conflict) against our client and
 * the publisher's own functions. The package's `fixtures.mock()` intercepts with nock 13, which does
 * not see Node's global fetch (what octokit v5 uses), so a small replay server here serves the
 * recorded answers in the recorded order on two origins (api and uploads, as recorded), and checks
 * each request against the recording: origin, method, path, query, body and the recorded headers.
 *
 * The last test holds the local fake GitHub to the same recordings: its release and asset objects
 * have the fields real GitHub sent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { deleteAsset, findRelease, listAssets, statedSha256, uploadAsset, type GhAsset } from '../../src/publish/github/api.js';
import { createClient } from '../../src/publish/github/client.js';
import { startFakeGitHub } from '../helpers/fake-github.js';

const require = createRequire(import.meta.url);
const FIXTURES = join(dirname(require.resolve('@octokit/fixtures/package.json')), 'scenarios', 'api.github.com');
/** The token the recordings were normalised to. */
const RECORDED_TOKEN = '0000000000000000000000000000000000000001';

interface Recorded {
  scope: string;
  method: string;
  path: string;
  body: unknown;
  status: number;
  response: unknown;
  reqheaders: Record<string, string | number>;
  headers: Record<string, string | number>;
}

interface Replay {
  apiUrl: string;
  uploadsUrl: string;
  /** Recorded exchanges not yet requested, as "METHOD scope path". */
  pending(): string[];
  /** Requests that did not match the next recorded exchange. */
  mismatches: string[];
  close(): Promise<void>;
}

function load(scenario: string): Recorded[] {
  return JSON.parse(readFileSync(join(FIXTURES, scenario, 'normalized-fixture.json'), 'utf8')) as Recorded[];
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function startReplay(recorded: Recorded[]): Promise<Replay> {
  const queue = [...recorded];
  const mismatches: string[] = [];
  const origins: Record<string, string> = {};
  const rewrite = (text: string) => text.replaceAll('https://api.github.com', origins.api!).replaceAll('https://uploads.github.com', origins.uploads!);

  const serve = (which: 'api' | 'uploads'): Server =>
    createServer(async (req, res) => {
      const body = await readAll(req);
      const url = new URL(req.url ?? '/', origins[which]);
      const next = queue.shift();
      const problems: string[] = [];
      if (!next) problems.push('no recorded exchange is left');
      else {
        const want = new URL(next.path, next.scope);
        const wantOrigin = want.hostname === 'uploads.github.com' ? 'uploads' : 'api';
        if (wantOrigin !== which) problems.push(`origin ${which}, recorded ${wantOrigin}`);
        if (next.method.toUpperCase() !== req.method) problems.push(`method ${req.method}, recorded ${next.method.toUpperCase()}`);
        if (want.pathname !== url.pathname) problems.push(`path ${url.pathname}, recorded ${want.pathname}`);
        for (const [k, v] of want.searchParams) if (url.searchParams.get(k) !== v) problems.push(`query ${k}=${url.searchParams.get(k)}, recorded ${v}`);
        if (typeof next.body === 'string') {
          if (next.body !== body.toString('utf8')) problems.push(`body ${JSON.stringify(body.toString('utf8'))}, recorded ${JSON.stringify(next.body)}`);
        } else if (next.body && JSON.stringify(JSON.parse(body.toString('utf8') || 'null')) !== JSON.stringify(next.body)) {
          problems.push(`body ${body.toString('utf8')}, recorded ${JSON.stringify(next.body)}`);
        }
        for (const [k, v] of Object.entries(next.reqheaders)) {
          if (k === 'host') continue;
          if (String(req.headers[k]) !== String(v)) problems.push(`header ${k}: ${String(req.headers[k])}, recorded ${String(v)}`);
        }
      }
      if (problems.length > 0 || !next) {
        mismatches.push(`${req.method} ${which} ${url.pathname}${url.search}: ${problems.join('; ')}`);
        res.writeHead(599, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `replay mismatch: ${problems.join('; ')}` }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(next.headers)) if (!['content-length', 'connection', 'transfer-encoding'].includes(k)) headers[k] = String(v);
      if (next.status === 204 || next.response === '') {
        res.writeHead(next.status, headers).end();
        return;
      }
      const text = rewrite(typeof next.response === 'string' ? next.response : JSON.stringify(next.response));
      res.writeHead(next.status, { ...headers, 'content-length': String(Buffer.byteLength(text)) }).end(text);
    });

  const api = serve('api');
  const uploads = serve('uploads');
  await Promise.all([api, uploads].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  origins.api = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  origins.uploads = `http://127.0.0.1:${(uploads.address() as AddressInfo).port}`;
  return {
    apiUrl: origins.api,
    uploadsUrl: origins.uploads,
    pending: () => queue.map((q) => `${q.method.toUpperCase()} ${q.scope} ${q.path}`),
    mismatches,
    close: () => Promise.all([api, uploads].map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}

const client = (apiUrl: string) => createClient({ token: RECORDED_TOKEN, apiUrl, retries: 0, rateLimitRetries: 0, writeSpacingMs: 0, log: () => {} });
const uploadFile = join(FIXTURES, 'release-assets', 'test-upload.txt');
const target = { owner: 'octokit-fixture-org', repo: '' };

describe('recorded GitHub exchanges (@octokit/fixtures) replayed against the publisher functions', () => {
  const replays: Replay[] = [];
  after(() => Promise.all(replays.map((r) => r.close())));

  test('release-assets: get release by tag, upload through upload_url, list, get, edit, delete', async () => {
    const replay = await startReplay(load('release-assets'));
    replays.push(replay);
    const gh = client(replay.apiUrl);
    const t = { ...target, repo: 'release-assets' };

    const release = await findRelease(gh, t, 'v1.0.0');
    assert.ok(release);
    assert.equal(release.id, 1000);
    assert.equal(release.upload_url, `${replay.uploadsUrl}/repos/octokit-fixture-org/release-assets/releases/1000/assets{?name,label}`);
    assert.equal(release.draft, false);

    // The recorded upload: POST to the uploads origin, ?name=test-upload.txt&label=test, text/plain, 14 bytes.
    const uploaded = await uploadAsset(gh, t, release, { name: 'test-upload.txt', path: uploadFile, size: 14, contentType: 'text/plain', label: 'test' });
    assert.equal(uploaded.state, 'uploaded');
    assert.equal(uploaded.size, 14);

    const assets = await listAssets(gh, t, release.id);
    assert.deepEqual(
      assets.map((a) => [a.id, a.name, a.state, a.size]),
      [[1000, 'test-upload.txt', 'uploaded', 14]],
    );
    // Recorded before GitHub added digests: the publisher has to download to compare such assets.
    assert.equal(statedSha256(assets[0]!), undefined);

    // Two recorded calls the publisher does not make itself, sent with the same client to finish the recording.
    const one = await gh.request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', { ...t, asset_id: 1000 });
    assert.equal(one.data.name, 'test-upload.txt');
    const edited = await gh.request('PATCH /repos/{owner}/{repo}/releases/assets/{asset_id}', { ...t, asset_id: 1000, name: 'new-filename.txt', label: 'new label' });
    assert.equal(edited.data.name, 'new-filename.txt');

    await deleteAsset(gh, t, 1000);
    assert.deepEqual(replay.mismatches, []);
    assert.deepEqual(replay.pending(), [], 'every recorded exchange was requested, in order');
  });

  test('release-assets-conflict: 422 already_exists -> list, delete the existing asset, upload once more', async () => {
    const replay = await startReplay(load('release-assets-conflict'));
    replays.push(replay);
    const gh = client(replay.apiUrl);
    const t = { ...target, repo: 'release-assets-conflict' };

    const release = await findRelease(gh, t, 'v1.0.0');
    assert.ok(release);
    const conflicts: (GhAsset | undefined)[] = [];
    const uploaded = await uploadAsset(gh, t, release, { name: 'test-upload.txt', path: uploadFile, size: 14, contentType: 'text/plain', label: 'test' }, (a) =>
      conflicts.push(a),
    );
    assert.deepEqual(
      conflicts.map((a) => a?.id),
      [1000],
      'the recorded 422 led to the recorded asset 1000 being found',
    );
    assert.equal(uploaded.id, 1001, 'the second upload answered with the recorded new asset');
    assert.deepEqual(replay.mismatches, []);
    assert.deepEqual(replay.pending(), [], 'POST 422, GET assets, DELETE asset 1000, POST 201: the recorded sequence exactly');
  });

  test('the fake GitHub answers with the fields real GitHub sent (release, asset, 422 shape)', async () => {
    const recorded = load('release-assets');
    const conflict = load('release-assets-conflict');
    const fake = await startFakeGitHub({ repos: ['o/r'], digests: false });
    try {
      const rel = fake.seedRelease('o/r', { tag: 'v1.0.0' });
      fake.seedAsset(rel, { name: 'test-upload.txt', bytes: 'Hello, world!\n' });
      const gh = createClient({ token: 'ghp_FAKEtoken1234567890SECRET', apiUrl: fake.apiUrl, retries: 0, writeSpacingMs: 0, log: () => {} });
      const got = await gh.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner: 'o', repo: 'r', tag: 'v1.0.0' });
      const keys = (o: unknown) => Object.keys(o as object).sort();
      const recordedRelease = recorded[0]!.response as Record<string, unknown>;
      assert.deepEqual(keys(got.data), keys(recordedRelease), 'release object fields');
      const assetsList = await gh.request('GET /repos/{owner}/{repo}/releases/{release_id}/assets', { owner: 'o', repo: 'r', release_id: rel.id });
      assert.deepEqual(keys(assetsList.data[0]), keys((recorded[2]!.response as unknown[])[0]), 'asset object fields (digest off)');
      // A second upload of the same name gets GitHub's recorded 422 body.
      const t = { owner: 'o', repo: 'r' };
      await uploadAsset(gh, t, got.data as never, { name: 'x.txt', path: uploadFile, size: 14, contentType: 'text/plain' });
      const again = gh.request({ method: 'POST', url: `${fake.uploadsUrl}/repos/o/r/releases/${rel.id}/assets?name=x.txt`, headers: { 'content-type': 'text/plain' }, data: 'Hello, world!\n' });
      await assert.rejects(again, (err: { status?: number; response?: { data?: { message?: string; errors?: unknown } } }) => {
        const want = conflict[1]!.response as { message: string; errors: unknown };
        assert.equal(err.status, 422);
        assert.equal(err.response?.data?.message, want.message);
        assert.deepEqual(err.response?.data?.errors, want.errors);
        return true;
      });
    } finally {
      await fake.close();
    }
  });
});

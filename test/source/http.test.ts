import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { SourceError } from '../../src/core/errors.js';
import { SourceCache } from '../../src/source/cache.js';
import { download } from '../../src/source/http.js';
import { startFileServer, type FileServer } from '../helpers/file-server.js';
import { tempDir } from '../helpers/tmp.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fast = { retryDelayMs: 10 };

describe('http fetcher', () => {
  let server: FileServer;
  let root: string;
  const body = randomBytes(3 * 1024 * 1024 + 17);
  before(async () => {
    server = await startFileServer();
    root = await tempDir();
    server.files.set('/go.tar.gz', body);
  });
  after(() => server.close());
  const freshCache = () => new SourceCache(join(root, `cache-${randomBytes(4).toString('hex')}`));
  const leftovers = (cache: SourceCache) => ['blobs/sha256', 'partial'].flatMap((d) => (existsSync(join(cache.root, d)) ? readdirSync(join(cache.root, d)) : []));

  test('downloads, verifies and stores by sha256; a second call is a cache hit', async () => {
    const cache = freshCache();
    const got = await download(cache, `${server.url}/go.tar.gz`, sha(body), fast);
    assert.equal(got.downloaded, true);
    assert.equal(got.path, cache.blobPath(sha(body)));
    assert.deepEqual(readFileSync(got.path), body);
    const n = server.requests.length;
    const again = await download(cache, `${server.url}/go.tar.gz`, sha(body), fast);
    assert.equal(again.downloaded, false);
    assert.equal(server.requests.length, n, 'a cache hit makes no request');
  });

  test('a checksum mismatch names URL, expected and actual hash, and caches nothing', async () => {
    const cache = freshCache();
    const wrong = 'a'.repeat(64);
    await assert.rejects(download(cache, `${server.url}/go.tar.gz`, wrong, fast), (err: Error) => {
      assert.ok(err instanceof SourceError);
      assert.match(err.message, new RegExp(`${server.url}/go.tar.gz`));
      assert.match(err.message, new RegExp(`expected sha256 ${wrong}`));
      assert.match(err.message, new RegExp(`got ${sha(body)}`));
      return true;
    });
    assert.deepEqual(leftovers(cache), []);
  });

  test('corrupt bytes from the server are caught by the hash and leave nothing behind', async () => {
    const cache = freshCache();
    server.faults.set('/go.tar.gz', ['corrupt']);
    await assert.rejects(download(cache, `${server.url}/go.tar.gz`, sha(body), fast), /checksum mismatch/);
    assert.deepEqual(leftovers(cache), []);
    // The rerun converges.
    const got = await download(cache, `${server.url}/go.tar.gz`, sha(body), fast);
    assert.deepEqual(readFileSync(got.path), body);
  });

  test('a connection cut halfway is resumed with Range', async () => {
    const cache = freshCache();
    server.faults.set('/go.tar.gz', ['cut-half']);
    const start = server.requests.length;
    const retries: string[] = [];
    const got = await download(cache, `${server.url}/go.tar.gz`, sha(body), { ...fast, onRetry: (_a, r) => retries.push(r) });
    assert.deepEqual(readFileSync(got.path), body);
    const reqs = server.requests.slice(start);
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.status, 200);
    assert.equal(reqs[1]!.status, 206, 'the second attempt asks only for the rest');
    assert.match(reqs[1]!.range ?? '', /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(reqs[1]!.range!)![0]) > 0);
    assert.equal(retries.length, 1);
  });

  test('a server that ignores Range makes the download start over, still correct', async () => {
    const cache = freshCache();
    server.faults.set('/go.tar.gz', ['cut-half', 'ignore-range']);
    const got = await download(cache, `${server.url}/go.tar.gz`, sha(body), fast);
    assert.deepEqual(readFileSync(got.path), body);
  });

  test('transient 503s are retried; a 404 is final and says so', async () => {
    const cache = freshCache();
    server.faults.set('/go.tar.gz', ['status-503', 'status-503']);
    const got = await download(cache, `${server.url}/go.tar.gz`, sha(body), fast);
    assert.deepEqual(readFileSync(got.path), body);
    const start = server.requests.length;
    await assert.rejects(download(freshCache(), `${server.url}/missing.tar.gz`, sha(body), fast), /HTTP 404/);
    assert.equal(server.requests.length - start, 1, '404 is not retried');
  });

  test('gives up after the attempts run out, naming the URL', async () => {
    server.faults.set('/go.tar.gz', ['status-503', 'status-503', 'status-503']);
    await assert.rejects(download(freshCache(), `${server.url}/go.tar.gz`, sha(body), { ...fast, attempts: 3 }), (err: Error) => err instanceof SourceError && /after 3 attempts/.test(err.message) && err.message.includes('/go.tar.gz'));
    server.faults.delete('/go.tar.gz');
  });

  test('file:// URLs are copied and verified the same way', async () => {
    const src = join(root, 'local.tar.gz');
    writeFileSync(src, body);
    const got = await download(freshCache(), `file://${src}`, sha(body), fast);
    assert.deepEqual(readFileSync(got.path), body);
    await assert.rejects(download(freshCache(), `file://${src}`, 'b'.repeat(64), fast), /checksum mismatch/);
  });

  test('two processes downloading the same file at once share one verified entry', async () => {
    const cache = freshCache();
    const script = `import('${new URL('../../src/source/http.js', import.meta.url).href}').then(async (h) => {
      const { SourceCache } = await import('${new URL('../../src/source/cache.js', import.meta.url).href}');
      const r = await h.download(new SourceCache(process.argv[1]), process.argv[2], process.argv[3]);
      console.log(JSON.stringify(r));
    })`;
    const run = () => promisify(execFile)(process.execPath, ['-e', script, cache.root, `${server.url}/go.tar.gz`, sha(body)]);
    const [a, b] = await Promise.all([run(), run()]);
    const ra = JSON.parse(a.stdout) as { path: string; downloaded: boolean };
    const rb = JSON.parse(b.stdout) as { path: string; downloaded: boolean };
    assert.equal(ra.path, rb.path);
    assert.deepEqual(readFileSync(ra.path), body);
    assert.equal([ra.downloaded, rb.downloaded].filter(Boolean).length, 1, 'exactly one process downloads; the other waits and reuses it');
    assert.deepEqual(readdirSync(join(cache.root, 'partial')), []);
  });
});

/**
 * HTTP (and file://) downloads into the content-addressed cache. The file streams to a partial
 * file while being hashed; it enters the cache only if its sha256 is the expected one. Transient
 * failures are retried, resuming with Range where the server allows it.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import fetch from 'node-fetch';
import { SourceError } from '../core/errors.js';
import { sha256File } from '../core/hash.js';
import { SourceCache } from './cache.js';

export interface DownloadOptions {
  /** Attempts in all, including the first. */
  attempts?: number;
  /** First back-off delay; doubles per attempt. */
  retryDelayMs?: number;
  /** Abort an attempt when no byte arrives for this long. */
  idleTimeoutMs?: number;
  onProgress?: (received: number, total: number | undefined) => void;
  onRetry?: (attempt: number, reason: string) => void;
}

export interface Downloaded {
  path: string;
  sha256: string;
  size: number;
  /** False when the cache already had it. */
  downloaded: boolean;
}

/** A failure worth another attempt (network, 5xx, 429), as opposed to a final one (404, bad hash). */
class TransientError extends Error {}

export async function download(cache: SourceCache, url: string, sha256: string, opts: DownloadOptions = {}): Promise<Downloaded> {
  const finalPath = cache.blobPath(sha256);
  if (existsSync(finalPath)) return { path: finalPath, sha256, size: (await stat(finalPath)).size, downloaded: false };
  return cache.withLock(`blob-${sha256}`, async () => {
    // Another process may have finished it while we waited for the lock.
    if (existsSync(finalPath)) return { path: finalPath, sha256, size: (await stat(finalPath)).size, downloaded: false };
    const partial = cache.partialPath(sha256);
    const attempts = opts.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        await fetchInto(url, partial, opts);
        break;
      } catch (err) {
        if (!(err instanceof TransientError) || attempt >= attempts) {
          if (err instanceof TransientError) throw new SourceError(`download of ${url} failed after ${attempt} attempts: ${err.message}`, 'a rerun resumes where this one stopped');
          throw err;
        }
        opts.onRetry?.(attempt, err.message);
        await sleep((opts.retryDelayMs ?? 500) * 2 ** (attempt - 1));
      }
    }
    const actual = await sha256File(partial);
    if (actual !== sha256) {
      await rm(partial, { force: true });
      throw new SourceError(`checksum mismatch for ${url}: expected sha256 ${sha256}, got ${actual}`, 'nothing was cached; if the upstream file legitimately changed, update the pin in the recipe or your toolchain override');
    }
    await rename(partial, finalPath);
    return { path: finalPath, sha256, size: (await stat(finalPath)).size, downloaded: true };
  });
}

async function fetchInto(url: string, partial: string, opts: DownloadOptions): Promise<void> {
  if (url.startsWith('file://')) return copyLocal(fileURLToPath(url), partial, opts);
  const have = existsSync(partial) ? (await stat(partial)).size : 0;
  const controller = new AbortController();
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(), opts.idleTimeoutMs ?? 60_000);
  };
  arm();
  try {
    const res = await fetch(url, {
      headers: have > 0 ? { Range: `bytes=${have}-` } : {},
      signal: controller.signal,
      redirect: 'follow',
    }).catch((err: Error) => {
      throw new TransientError(err.name === 'AbortError' ? 'no data for too long' : err.message);
    });
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new TransientError(`HTTP ${res.status} ${res.statusText}`);
    if (res.status === 416 && have > 0) {
      // Our partial is at least as long as the file: let the hash decide if it is complete.
      res.body?.resume();
      return;
    }
    if (res.status !== 200 && res.status !== 206) {
      throw new SourceError(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`, res.status === 404 ? 'the URL is wrong or the file was removed; check the recipe or your mirror' : undefined);
    }
    // 206 appends to what we have; 200 means the server ignored Range: start over.
    const resumed = res.status === 206 && have > 0;
    const total = totalSize(res.headers.get('content-range'), res.headers.get('content-length'), resumed ? have : 0);
    let received = resumed ? have : 0;
    const progress = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        arm();
        received += chunk.length;
        opts.onProgress?.(received, total);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res.body as unknown as Readable, progress, createWriteStream(partial, { flags: resumed ? 'a' : 'w' }));
    } catch (err) {
      throw new TransientError(`connection lost after ${received} bytes: ${(err as Error).message}`);
    }
    if (total !== undefined && received < total) throw new TransientError(`connection closed after ${received} of ${total} bytes`);
  } finally {
    clearTimeout(idle);
  }
}

function totalSize(contentRange: string | null, contentLength: string | null, offset: number): number | undefined {
  const m = contentRange?.match(/\/(\d+)$/);
  if (m?.[1]) return Number(m[1]);
  return contentLength ? offset + Number(contentLength) : undefined;
}

async function copyLocal(path: string, partial: string, opts: DownloadOptions): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    () => {
      throw new SourceError(`cannot read ${path}: no such file`);
    },
  );
  let received = 0;
  const progress = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      opts.onProgress?.(received, size);
      cb(null, chunk);
    },
  });
  await pipeline(createReadStream(path), progress, createWriteStream(partial));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

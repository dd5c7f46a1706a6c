// Streaming compressors for the tar members. gzip runs in node:zlib (off the
// main thread, in libuv's pool). xz runs as the system `xz` binary in a child
// process: it is faster than any JS port, needs no native npm module, and its
// memory (about 100 MB at -6) stays out of our heap.
import { pipeline } from 'node:stream/promises';
import { PassThrough, type TransformOptions, type Writable } from 'node:stream';
import { createGzip, gzipSync, type ZlibOptions } from 'node:zlib';
import { start } from '../../core/run.js';

/** Bytes of tar the producer may run ahead of the compressor (memory bound). */
const AHEAD = 4 * 1024 * 1024;

export interface Compressor {
  kind: 'gzip' | 'xz';
  level: number;
  /** xz only. */
  threads: number;
  /**
   * xz only: uncompressed bytes per xz block. Blocks are what xz's threads compress side by side, and
   * the output depends on the block size, never on the thread count. Absent: the preset's default
   * (3 x its dictionary: 24 MiB at -6), as dpkg-deb has it.
   */
  blockSize?: number;
  /**
   * xz only: the LZMA2 dictionary in bytes, instead of the preset's (1 MiB at -1, 8 MiB at -6). A
   * fast preset with a large dictionary still finds what repeats across files megabytes apart: the
   * CNI plugins are a dozen Go programs sharing most of their code.
   */
  dictSize?: number;
}

export function checkCompressor(c: Compressor): void {
  const [lo, hi] = c.kind === 'gzip' ? [1, 9] : [0, 9];
  if (!Number.isInteger(c.level) || c.level < lo || c.level > hi) {
    throw new Error(`compression: ${c.kind} level ${c.level} is not allowed; use an integer from ${lo} to ${hi}`);
  }
  if (!Number.isInteger(c.threads) || c.threads < 1) {
    throw new Error(`compression: threads ${c.threads} is not allowed; use an integer >= 1`);
  }
  if (c.blockSize !== undefined && (!Number.isInteger(c.blockSize) || c.blockSize < 64 * 1024)) {
    throw new Error(`compression: xz block size ${c.blockSize} is not allowed; use an integer number of bytes >= 65536`);
  }
  if (c.dictSize !== undefined && (!Number.isInteger(c.dictSize) || c.dictSize < 4096 || c.dictSize > 1536 * 1024 * 1024)) {
    throw new Error(`compression: xz dictionary size ${c.dictSize} is not allowed; use an integer number of bytes from 4096 to 1.5 GiB`);
  }
}

export function extension(kind: Compressor['kind']): string {
  return kind === 'gzip' ? 'gz' : 'xz';
}

/** gzip with zlib's header: no file name, mtime 0 (checked by the tests), so it is reproducible. */
export function gzipBuffer(data: Buffer, level: number): Buffer {
  return gzipSync(data, { level });
}

/**
 * Always xz's multi-threaded compressor ("+1" forces it for one thread, xz >=
 * 5.4): its blocks depend only on the preset, so the output is the same for
 * every thread count, and it is the encoder dpkg-deb uses (liblzma's
 * lzma_stream_encoder_mt). --no-adjust: fail rather than silently fall back
 * to the single-threaded compressor, whose output differs.
 */
export function xzArguments(c: Compressor): string[] {
  const threads = c.threads === 1 ? '+1' : String(c.threads);
  const block = c.blockSize === undefined ? [] : [`--block-size=${c.blockSize}`];
  const preset = c.dictSize === undefined ? `-${c.level}` : `--lzma2=preset=${c.level},dict=${c.dictSize}`;
  return ['--compress', '--stdout', '--format=xz', '--check=crc64', preset, `--threads=${threads}`, ...block, '--no-adjust'];
}

/** XZ_OPT and XZ_DEFAULTS could change block size or check: not from us. (The runner takes out the secrets.) */
export function xzEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.XZ_OPT;
  delete env.XZ_DEFAULTS;
  return env;
}

/**
 * Compresses `source` into `sink`. Resolves when the sink has finished and,
 * for xz, the child has exited with status 0. On failure the child is killed
 * and the error says which side failed.
 */
export async function compressStream(source: AsyncIterable<Buffer>, sink: Writable, c: Compressor): Promise<void> {
  if (c.kind === 'gzip') {
    // Bigger output chunks than zlib's 16 KiB default mean fewer callbacks.
    // The input buffer lets the main thread read and md5 the next chunks
    // while the pool thread compresses: without it the two alternate.
    // (node passes zlib options on to its Transform; @types/node omits that.)
    const options: ZlibOptions & TransformOptions = { level: c.level, chunkSize: 256 * 1024, writableHighWaterMark: AHEAD };
    await pipeline(source, createGzip(options), sink);
    return;
  }
  // stdin and stdout stream through xz: the tar is never held whole, in memory or on disk.
  const xz = start('xz', xzArguments(c), { env: xzEnvironment(), stdin: 'pipe', stdout: 'pipe', installHint: 'install xz-utils' });
  const exited = xz.done.then(() => undefined);
  try {
    // Same read-ahead as for gzip: the pipe alone holds only 64 KiB.
    const ahead = new PassThrough({ highWaterMark: AHEAD });
    await Promise.all([pipeline(source, ahead, xz.stdin!), pipeline(xz.stdout!, sink), exited]);
  } catch (err) {
    xz.kill('SIGKILL');
    // EPIPE on xz's stdin (or its stdout cut short) means xz died first: its exit status and stderr say why.
    const exitError = await exited.then(() => undefined, (e: unknown) => e);
    const code = (err as NodeJS.ErrnoException).code;
    throw (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') && exitError ? exitError : err;
  }
}

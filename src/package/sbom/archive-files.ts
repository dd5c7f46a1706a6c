/**
 * What is inside an artifact, read from the artifact itself (the .deb's data.tar, or the bundle's
 * tar.gz), so an SBOM describes exactly the bytes that were published: every regular file with its
 * SHA-1 and SHA-256 and, for ELF files, the Go build info and the shared libraries it needs.
 *
 * Streamed: each member is held in memory only while it is hashed and inspected.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { sha256Hex } from '../../core/hash.js';
import { RunError, start } from '../../core/run.js';
import { xzEnvironment } from '../deb/compress.js';
import { AR_HEADER_SIZE, AR_MAGIC, nextArMember, readArMemberAt, readAt, type ArMemberHeader } from '../ar.js';
import { elfImage } from '../definitions/elf.js';
import { dynamicLinking, type DynamicLinking } from './elf-needed.js';
import { readGoBuildInfo, type GoBuildInfo } from './go-buildinfo.js';

export interface ArchiveFile {
  /** The member's path without a leading "./" or "/": "usr/bin/crio", "cri-o/bin/crio". */
  path: string;
  size: number;
  sha1: string;
  sha256: string;
  /** Set for ELF files. */
  elf?: { go?: GoBuildInfo; linking: DynamicLinking };
  /** No NUL byte and valid UTF-8: a text file. */
  text: boolean;
}

/** The regular files of a .deb (its data.tar member) or of a .tar.gz, sorted by path. */
export async function archiveFiles(path: string): Promise<ArchiveFile[]> {
  const { stream, done } = path.endsWith('.deb') ? await debDataStream(path) : { stream: piped(createReadStream(path), createGunzip()), done: Promise.resolve() };
  return readTar(stream, path, done);
}

/** a.pipe(b), with a's errors passed on to b (pipe alone drops them). */
function piped(a: Readable, b: NodeJS.ReadWriteStream & Readable): Readable {
  a.on('error', (err) => b.destroy(err));
  return a.pipe(b);
}

/** The data.tar member of a .deb, decompressed. */
async function debDataStream(path: string): Promise<{ stream: Readable; done: Promise<void> }> {
  const fh = await open(path, 'r');
  let member: ArMemberHeader | undefined;
  try {
    const { size } = await fh.stat();
    if (!(await readAt(fh, 0, 8)).equals(AR_MAGIC)) throw new Error(`${path}: not a .deb (no ar signature)`);
    for (let off = 8; off + AR_HEADER_SIZE <= size; ) {
      const m = await readArMemberAt(fh, off, size).catch((err: Error) => {
        throw new Error(`${path}: ${err.message}`);
      });
      if (/^data\.tar(\.(gz|xz|zst))?$/.test(m.name)) {
        member = m;
        break;
      }
      off = nextArMember(m);
    }
  } finally {
    await fh.close();
  }
  if (!member) throw new Error(`${path}: no data.tar member`);
  const raw = createReadStream(path, { start: member.dataOffset, end: member.dataOffset + member.size - 1 });
  if (member.name === 'data.tar') return { stream: raw, done: Promise.resolve() };
  if (member.name === 'data.tar.gz') return { stream: piped(raw, createGunzip()), done: Promise.resolve() };
  const cmd = member.name.endsWith('.xz') ? 'xz' : 'zstd';
  // The member streams through the decompressor (stdin -> stdout): data.tar is never held whole.
  const child = start(cmd, ['--decompress', '--stdout'], { env: xzEnvironment(), stdin: raw, stdout: 'pipe', installHint: `install ${cmd === 'xz' ? 'xz-utils' : 'zstd'}` });
  const done = child.done.then(
    () => undefined,
    (err: Error) => {
      throw err instanceof RunError ? new Error(`${path}: ${err.message}`, { cause: err }) : err;
    },
  );
  return { stream: child.stdout!, done };
}

async function readTar(input: Readable, where: string, decompressed: Promise<void>): Promise<ArchiveFile[]> {
  const extract = tar.extract();
  const files: ArchiveFile[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (entry.header.type !== 'file') continue;
      const data = Buffer.concat(chunks);
      const path = entry.header.name.replace(/^\.?\/+/, '');
      files.push(describe(path, data, `${where}: ${path}`));
    }
  })();
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  // Both settle before anything is thrown (no stray rejection); the decompressor's error says more.
  const [r, d] = await Promise.allSettled([reading, decompressed]);
  if (d.status === 'rejected') throw d.reason;
  if (r.status === 'rejected') throw new Error(`${where}: not a readable tar archive (${(r.reason as Error).message})`);
  return files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

function describe(path: string, data: Buffer, where: string): ArchiveFile {
  const base = {
    path,
    size: data.length,
    sha1: createHash('sha1').update(data).digest('hex'),
    sha256: sha256Hex(data),
  };
  const img = elfImage(data, where);
  if (img) {
    const go = readGoBuildInfo(data, where);
    return { ...base, elf: { ...(go ? { go } : {}), linking: dynamicLinking(img) }, text: false };
  }
  return { ...base, text: !data.includes(0) && isUtf8(data) };
}

function isUtf8(data: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

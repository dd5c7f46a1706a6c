// Writes data.tar.{gz,xz} to a file in one streaming pass over the payload.
// Each source file is opened once; its chunks go to the md5 (for md5sums) and
// into the tar at the same time, so memory stays flat whatever the payload
// size and nothing is read twice.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { compressStream, type Compressor } from './compress.js';
import { addEntry, addStreamEntry, createPack, packOutput, type Pack } from './tar.js';
import { absolutePath, relativePath, type TreeEntry } from './tree.js';

export interface DataTarResult {
  /** [path without leading "./", hex md5] for every regular file, in tar order. */
  md5sums: Array<[string, string]>;
  /** Absolute paths of conffiles, in tar order. */
  conffiles: string[];
  /** In KiB, computed like dpkg-gencontrol: ceil(size / 1024) per regular file
   * and symlink (a symlink's size is its target's length), 1 per directory
   * including the root. */
  installedSize: number;
}

const READ_CHUNK = 1 << 20;

async function addSourceFile(pack: Pack, e: Extract<TreeEntry, { kind: 'file' }>, mtime: number): Promise<[number, string]> {
  const source = e.source as string;
  let fh;
  try {
    fh = await open(source, 'r');
  } catch (err) {
    throw new Error(`${absolutePath(e.tarPath)}: cannot read source ${source}: ${(err as Error).message}`, { cause: err });
  }
  const md5 = createHash('md5');
  try {
    // Size and mode come from the open descriptor, so they describe the bytes we read.
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${absolutePath(e.tarPath)}: source ${source} is not a regular file`);
    const mode = e.mode ?? (st.mode & 0o111 ? 0o755 : 0o644);
    const stream = fh.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false });
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        md5.update(chunk);
        yield chunk;
      }
    }
    await addStreamEntry(pack, { name: e.tarPath, type: 'file', mode, mtime, size: st.size }, hashed());
    return [st.size, md5.digest('hex')];
  } finally {
    await fh.close();
  }
}

async function feed(pack: Pack, entries: readonly TreeEntry[], mtime: number, result: DataTarResult): Promise<void> {
  for (const e of entries) {
    if (e.kind === 'dir') {
      await addEntry(pack, { name: e.tarPath, type: 'directory', mode: e.mode, mtime });
      result.installedSize += 1;
    } else if (e.kind === 'symlink') {
      await addEntry(pack, { name: e.tarPath, type: 'symlink', mode: 0o777, mtime, linkname: e.target });
      result.installedSize += Math.ceil(Buffer.byteLength(e.target) / 1024);
    } else {
      let size: number;
      let md5: string;
      if (e.content) {
        await addEntry(pack, { name: e.tarPath, type: 'file', mode: e.mode ?? 0o644, mtime }, e.content);
        [size, md5] = [e.content.length, createHash('md5').update(e.content).digest('hex')];
      } else {
        [size, md5] = await addSourceFile(pack, e, mtime);
      }
      result.installedSize += Math.ceil(size / 1024);
      result.md5sums.push([relativePath(e.tarPath), md5]);
      if (e.conffile) result.conffiles.push(absolutePath(e.tarPath));
    }
  }
  pack.finalize();
}

/**
 * Streams the entries as a compressed tar into `outPath` (created exclusively).
 * Every entry gets `mtime`. On error the partial file is left for the caller
 * to remove, which it must do anyway for its other temporary files.
 */
export async function writeDataTar(entries: readonly TreeEntry[], mtime: number, compressor: Compressor, outPath: string): Promise<DataTarResult> {
  const result: DataTarResult = { md5sums: [], conffiles: [], installedSize: 0 };
  const pack = createPack();
  const sink = createWriteStream(outPath, { flags: 'wx', mode: 0o600, highWaterMark: READ_CHUNK });
  // Keep the first error: later ones are consequences (destroyed streams).
  let failure: unknown;
  const fail = (err: unknown) => {
    failure ??= err;
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  const compressing = compressStream(packOutput(pack), sink, compressor).catch(fail);
  await feed(pack, entries, mtime, result).catch(fail);
  await compressing;
  if (failure !== undefined) {
    // Wait for the descriptor to close: an open still in flight would
    // otherwise create the file after the caller has removed it.
    if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()).destroy());
    throw failure;
  }
  return result;
}

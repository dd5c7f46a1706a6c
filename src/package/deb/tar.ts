// Thin promise layer over tar-stream's pack, with the header fields that make
// our archives reproducible and look like dpkg-deb's: owner root:root (0:0)
// and one fixed mtime for every entry.
import tar from 'tar-stream';
import type { Header, Pack } from 'tar-stream';

export type { Pack };

export function createPack(): Pack {
  const pack = tar.pack();
  // Errors reach callers through entry callbacks and the output iterator; an
  // 'error' event without a listener would crash the process instead.
  pack.on('error', () => {});
  return pack;
}

export interface EntrySpec {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: number;
  size?: number;
  linkname?: string;
}

function header(e: EntrySpec): Partial<Header> & { name: string } {
  return {
    name: e.name,
    type: e.type,
    mode: e.mode,
    size: e.size ?? 0,
    mtime: new Date(e.mtime * 1000),
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
  };
}

/** Adds an entry without a body (directory, symlink) or with an in-memory body. */
export function addEntry(pack: Pack, e: EntrySpec, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const h = header({ ...e, size: body?.length ?? 0 });
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    const entry = body ? pack.entry(h, body, cb) : pack.entry(h, cb);
    entry.on('error', () => {}); // reported through cb
  });
}

/**
 * Streams `chunks` into a file entry of the given size, honouring the pack's
 * backpressure, so only about one chunk per stage is ever in memory. tar-stream
 * fails the entry if fewer or more bytes than `size` arrive (the file changed
 * after it was measured). If the pack is destroyed meanwhile (the compressor
 * failed), the source iterator is closed and the promise rejects.
 */
export function addStreamEntry(pack: Pack, e: EntrySpec & { size: number }, chunks: AsyncIterable<Buffer>): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const entry = pack.entry(header(e), (err) => {
      settled = true;
      if (err) reject(err);
      else resolve();
    });
    entry.on('error', () => {}); // reported through the callback above
    const waitDrain = () =>
      new Promise<void>((done) => {
        const go = () => {
          entry.off('drain', go);
          entry.off('close', go);
          done();
        };
        entry.on('drain', go);
        entry.on('close', go);
      });
    const pump = async () => {
      for await (const chunk of chunks) {
        if (settled) return; // leaving the loop closes the source
        // 'close' follows the settle callback, so while unsettled it is still to come.
        if (!entry.write(chunk) && !settled) await waitDrain();
      }
      if (!settled) entry.end(undefined); // streamx's typings want an argument
    };
    pump().catch((err: unknown) => {
      if (!settled) entry.destroy(err instanceof Error ? err : new Error(String(err)));
      reject(err);
    });
  });
}

/** The pack's output as an async iterable (node's pipeline treats tar-stream's
 * streamx streams as legacy pipes; an iterator has exact semantics). */
export async function* packOutput(pack: Pack): AsyncGenerator<Buffer> {
  for await (const chunk of pack as AsyncIterable<Buffer>) yield chunk;
}

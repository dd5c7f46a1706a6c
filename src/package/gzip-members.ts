/**
 * gzip on every core, with bytes that do not depend on how many there are.
 *
 * A gzip file may be a series of members (RFC 1952, 2.2), and every reader decompresses them one
 * after the other as one stream: gzip -d and so `tar xzf`, Go's compress/gzip (multistream by
 * default), Python's gzip, busybox. So the input is cut at fixed offsets (every `memberSize`
 * bytes of uncompressed input), each piece is compressed as its own member in libuv's thread pool,
 * up to `jobs` at once, and the members are written in input order. Where the cuts fall depends
 * only on `memberSize`, never on `jobs`, the chunking of the source or the machine, so the output is
 * the same bytes everywhere (given node's zlib, as for every gzip we write). Each member starts
 * with an empty dictionary: at 4 MiB pieces that costs about 0.1 % of size against one stream
 * (measured in bench/README.md), plus 18 bytes of header and trailer per member.
 *
 * This is what pigz does in spirit, without a new host dependency and without pigz's output
 * differing from the fallback's on a machine that lacks it.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);

export interface GzipMembersOptions {
  /** zlib level, 1 to 9. */
  level: number;
  /** Uncompressed bytes per member (the last one may be shorter). */
  memberSize: number;
  /** Members compressed at once (memory: about 2 x jobs x memberSize). */
  jobs: number;
}

export function checkGzipMembers(o: GzipMembersOptions): void {
  if (!Number.isInteger(o.level) || o.level < 1 || o.level > 9) throw new Error(`gzip: level ${o.level} is not allowed; use an integer from 1 to 9`);
  if (!Number.isInteger(o.memberSize) || o.memberSize < 64 * 1024) throw new Error(`gzip: member size ${o.memberSize} is not allowed; use an integer number of bytes >= 65536`);
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new Error(`gzip: jobs ${o.jobs} is not allowed; use an integer >= 1`);
}

async function write(sink: Writable, data: Buffer): Promise<void> {
  // once() rejects on 'error' and removes its listeners either way.
  if (!sink.write(data)) await once(sink, 'drain');
}

/** Compresses `source` into `sink` as concatenated gzip members, then ends the sink and waits for it. */
export async function gzipMembers(source: AsyncIterable<Buffer>, sink: Writable, o: GzipMembersOptions): Promise<void> {
  checkGzipMembers(o);
  const gzipOptions = { level: o.level };
  const inFlight: Array<Promise<Buffer>> = [];
  // A member's promise may reject before its turn to be awaited: keep that from being "unhandled".
  const start = (piece: Buffer) => {
    const p = gzip(piece, gzipOptions);
    p.catch(() => {});
    inFlight.push(p);
  };
  const drainTo = async (limit: number) => {
    while (inFlight.length > limit) await write(sink, await (inFlight.shift() as Promise<Buffer>));
  };

  let parts: Buffer[] = [];
  let have = 0;
  let members = 0;
  try {
    for await (const chunk of source) {
      let rest = chunk;
      while (have + rest.length >= o.memberSize) {
        const take = o.memberSize - have;
        parts.push(rest.subarray(0, take));
        rest = rest.subarray(take);
        start(Buffer.concat(parts, o.memberSize));
        members++;
        parts = [];
        have = 0;
        await drainTo(o.jobs - 1);
      }
      if (rest.length > 0) {
        // Copy: a stream may reuse the buffer it handed us.
        parts.push(Buffer.from(rest));
        have += rest.length;
      }
    }
    // The tail, or one empty member so that empty input is still a gzip file.
    if (have > 0 || members === 0) start(Buffer.concat(parts, have));
    await drainTo(0);
    sink.end();
    await finished(sink);
  } catch (err) {
    sink.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

/**
 * Docker build contexts made in memory with tar-stream: small text files plus large files streamed
 * from disk (a root filesystem tar, a toolchain archive), so nothing is staged in a temp directory.
 * Entries get fixed metadata so the same inputs always give the same context.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pack as tarPack } from 'tar-stream';
import type { Readable } from 'node:stream';

export type ContextEntry = { name: string; content: string | Buffer; mode?: number } | { name: string; file: string; mode?: number };

export function buildContext(entries: ContextEntry[]): Readable {
  const pack = tarPack();
  (async () => {
    for (const e of entries) {
      const common = { name: e.name, mode: e.mode ?? 0o644, mtime: new Date(0), uid: 0, gid: 0 };
      if ('content' in e) {
        await new Promise<void>((res, rej) => pack.entry(common, e.content, (err) => (err ? rej(err) : res())));
      } else {
        const size = (await stat(e.file)).size;
        await new Promise<void>((res, rej) => {
          const entry = pack.entry({ ...common, size }, (err) => (err ? rej(err) : res()));
          const src = createReadStream(e.file);
          src.on('error', rej);
          src.pipe(entry);
        });
      }
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

/**
 * A small HTTP file server on 127.0.0.1 for download tests. It honours Range like a real static
 * server, and can inject the faults a real network shows: a connection cut halfway, corrupt bytes,
 * transient 5xx answers, a server that ignores Range.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'cut-half' | 'corrupt' | 'status-503' | 'ignore-range' | 'status-404';

export interface FileServer {
  url: string;
  files: Map<string, Buffer>;
  /** Faults to apply to the next requests of a path, one per request, in order. */
  faults: Map<string, Fault[]>;
  requests: { path: string; range?: string; status: number }[];
  close(): Promise<void>;
}

export async function startFileServer(): Promise<FileServer> {
  const files = new Map<string, Buffer>();
  const faults = new Map<string, Fault[]>();
  const requests: FileServer['requests'] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const fault = faults.get(path)?.shift();
    const body = files.get(path);
    const log = (status: number) => requests.push({ path, range: req.headers.range, status });
    if (!body || fault === 'status-404') {
      log(404);
      res.writeHead(404).end('not found');
      return;
    }
    if (fault === 'status-503') {
      log(503);
      res.writeHead(503).end('try later');
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && fault !== 'ignore-range') start = Number(m[1]);
    if (start >= body.length && m && fault !== 'ignore-range') {
      log(416);
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    let slice = body.subarray(start);
    if (fault === 'corrupt') {
      slice = Buffer.from(slice);
      slice[Math.floor(slice.length / 2)]! ^= 0xff;
    }
    const status = start > 0 ? 206 : 200;
    log(status);
    const headers: Record<string, string> = { 'content-length': String(slice.length), 'accept-ranges': 'bytes' };
    if (status === 206) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(status, headers);
    if (fault === 'cut-half') {
      res.write(slice.subarray(0, Math.floor(slice.length / 2)), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    faults,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

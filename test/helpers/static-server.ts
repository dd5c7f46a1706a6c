/**
 * A static web server on 127.0.0.1 over a directory, as a user would serve artifacts/releases with
 * nginx or `python3 -m http.server`: files only (no listings), 404 for anything else, paths kept
 * inside the root. It logs every request so tests can see what apt fetched.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface StaticServer {
  url: string;
  requests: Array<{ path: string; status: number }>;
  close(): Promise<void>;
}

export async function serveDirectory(root: string, host = '127.0.0.1'): Promise<StaticServer> {
  const requests: StaticServer['requests'] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path));
    const inside = file.startsWith(root.endsWith(sep) ? root : root + sep);
    const st = inside ? await stat(file).catch(() => undefined) : undefined;
    if (!st?.isFile() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      requests.push({ path, status: 404 });
      res.writeHead(404).end('not found\n');
      return;
    }
    requests.push({ path, status: 200 });
    res.writeHead(200, { 'content-length': st.size, 'last-modified': st.mtime.toUTCString() });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

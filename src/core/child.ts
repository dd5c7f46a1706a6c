// Runs a helper program (gpg, xz, zstd) with an argument list, never a shell, and collects what it
// writes. Extra file descriptors carry data that must not go through argv or the environment (a
// passphrase) and machine-readable output (gpg's --status-fd) apart from human messages.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface ChildOptions {
  /** The whole environment of the child (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  stdin?: string | Buffer;
  /** Data written to extra descriptors (fd number -> bytes), then closed. */
  inputFds?: Record<number, string | Buffer>;
  /** Extra descriptors the child writes to (fd number), collected like stdout. */
  outputFds?: number[];
  /** The name to use in "not found" errors, with the Debian package that provides it. */
  installHint?: string;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  fds: Map<number, Buffer>;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function feed(stream: Writable, data: string | Buffer | undefined): void {
  // A child that exits without reading its input makes the write fail with EPIPE; its exit status tells.
  stream.on('error', () => {});
  stream.end(data ?? '');
}

export async function runChild(cmd: string, args: string[], opts: ChildOptions): Promise<ChildResult> {
  const inputFds = opts.inputFds ?? {};
  const outputFds = opts.outputFds ?? [];
  const highest = Math.max(2, ...Object.keys(inputFds).map(Number), ...outputFds);
  const stdio: Array<'pipe' | 'ignore'> = Array.from({ length: highest + 1 }, (_, fd) =>
    fd <= 2 || fd in inputFds || outputFds.includes(fd) ? 'pipe' : 'ignore',
  );
  const child = spawn(cmd, args, { stdio, env: opts.env });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(`${cmd} not found in PATH${opts.installHint ? `: ${opts.installHint}` : ''}`) : err);
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  feed(child.stdin as Writable, opts.stdin);
  for (const [fd, data] of Object.entries(inputFds)) feed(child.stdio[Number(fd)] as Writable, data);
  const outputs = Promise.all([
    collect(child.stdout as Readable),
    collect(child.stderr as Readable),
    ...outputFds.map((fd) => collect(child.stdio[fd] as Readable)),
  ]);
  const [{ code, signal }, [stdout, stderr, ...extra]] = await Promise.all([exited, outputs]);
  const fds = new Map<number, Buffer>();
  outputFds.forEach((fd, k) => fds.set(fd, extra[k] ?? Buffer.alloc(0)));
  return { code, signal, stdout: stdout ?? Buffer.alloc(0), stderr: (stderr ?? Buffer.alloc(0)).toString('utf8'), fds };
}

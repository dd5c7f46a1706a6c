/**
 * Run one argv in a running container, without a shell (Docker exec with a Cmd array execs it
 * directly), streaming stdout/stderr as they come. The exit code comes from exec inspect.
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';

export interface ExecOptions {
  workdir?: string;
  user?: string;
  env?: string[];
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Kill nothing, just stop waiting and report a timeout (the caller removes the container). */
  timeoutMs?: number;
}

export class ExecTimeoutError extends Error {}

export async function execArgv(container: Docker.Container, argv: string[], opts: ExecOptions = {}): Promise<number> {
  const exec = await container.exec({
    Cmd: argv,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: false,
    Tty: false,
    WorkingDir: opts.workdir,
    User: opts.user,
    Env: opts.env,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (c: Buffer) => opts.onStdout?.(c));
  err.on('data', (c: Buffer) => opts.onStderr?.(c));
  container.modem.demuxStream(stream, out, err);
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    if (opts.timeoutMs) {
      await Promise.race([
        done,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ExecTimeoutError(`${argv[0]} did not finish within ${opts.timeoutMs! / 1000}s`)), opts.timeoutMs);
        }),
      ]);
    } else {
      await done;
    }
  } finally {
    if (timer) clearTimeout(timer);
  }
  // The stream can end a moment before the engine records the exit code.
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`exec of ${argv[0]} ended but the engine reports it still running`);
}

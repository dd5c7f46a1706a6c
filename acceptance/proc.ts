/**
 * Running commands for the acceptance run: the docker CLI on this machine, and commands inside the
 * node and tools containers. Every command gets an argument list (no shell on this side); scripts
 * that run inside a container are passed to its own sh as one argument.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds; the command is killed (SIGKILL) after it and the result says so. */
  timeoutMs?: number;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout: '', stderr: `${cmd}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: timedOut ? `${stderr}\n(killed after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s)` : stderr,
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export class CommandError extends Error {
  constructor(
    readonly what: string,
    readonly result: RunResult,
  ) {
    super(`${what} exited ${result.code}: ${lastLines(`${result.stderr}\n${result.stdout}`, 12)}`);
  }
}

/** The last `n` non-empty lines of a command's output, for error messages. */
export function lastLines(text: string, n: number): string {
  // dpkg's "(Reading database ... 5%" progress is one long line of carriage returns: keep its end.
  const lines = text
    .split('\n')
    .map((l) => (l.split('\r').pop() ?? '').replace(/^(\(Reading database \.\.\. (\d+%)?)+/, '').trimEnd())
    .filter(Boolean);
  return lines.slice(-n).join('\n');
}

export async function must(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(`${cmd} ${args.join(' ')}`, r);
  return r;
}

/** A running container (`docker exec` into it). */
export class Container {
  constructor(
    readonly id: string,
    readonly name: string,
  ) {}

  exec(argv: readonly string[], opts: RunOptions & { env?: Record<string, string>; user?: string } = {}): Promise<RunResult> {
    const env = Object.entries({ LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', ...(opts.env ?? {}) }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const input = opts.input !== undefined ? ['-i'] : [];
    return run('docker', ['exec', ...input, ...env, this.id, ...argv], { ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
  }

  /** `sh -c script` inside the container. */
  sh(script: string, opts: RunOptions & { env?: Record<string, string> } = {}): Promise<RunResult> {
    return this.exec(['sh', '-c', script], opts);
  }

  async mustSh(script: string, opts: RunOptions & { env?: Record<string, string> } = {}): Promise<RunResult> {
    const r = await this.sh(script, opts);
    if (r.code !== 0) throw new CommandError(`in ${this.name}: ${script.length > 200 ? `${script.slice(0, 200)}...` : script}`, r);
    return r;
  }

  async writeFile(path: string, content: string | Buffer, mode = '0644'): Promise<void> {
    const dir = path.slice(0, path.lastIndexOf('/')) || '/';
    const r = await this.exec(['sh', '-c', 'mkdir -p "$1" && cat > "$2" && chmod "$3" "$2"', 'sh', dir, path, mode], { input: content });
    if (r.code !== 0) throw new CommandError(`writing ${path} in ${this.name}`, r);
  }

  async readFile(path: string): Promise<string> {
    const r = await this.exec(['cat', path]);
    if (r.code !== 0) throw new CommandError(`reading ${path} in ${this.name}`, r);
    return r.stdout;
  }

  async remove(): Promise<void> {
    await run('docker', ['rm', '-f', '-v', this.id]);
  }
}

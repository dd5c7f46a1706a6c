/**
 * The one way crio-build starts a program on this machine (git, xz, zstd, gpg, gpgv, tar,
 * debootstrap, strip, dpkg-shlibdeps, the doctor's version probes):
 *
 *   - an argument list, never a shell (`shell: false`): user text reaches the program unchanged;
 *   - the environment without crio-build's secrets (SECRET_ENV), also when the caller gives its own
 *     smaller one (gpg does), and without any variable that carries a secret's value;
 *   - bounded output: captured stdout (and extra output fds) up to `maxOutput`, past which the
 *     program is stopped and the run fails naming the command and the limit; stderr kept as a tail;
 *     streaming modes for the big data (stdin and stdout as streams, or output as lines);
 *   - extra file descriptors for data that must go neither through argv nor the environment (a
 *     passphrase), and for machine-readable output kept apart from messages (gpg's --status-fd);
 *   - a clear error (RunError): the command with its arguments (secret-looking ones masked), the
 *     exit status or signal, and the tail of stderr; a missing program is "X is not installed";
 *   - an optional timeout and AbortSignal.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { HostNotReadyError, printable } from './errors.js';

/**
 * crio-build's own secrets, which no program it runs needs: the tools on the host get the user's
 * environment without them, gpg gets its own smaller environment (src/index/apt/gpg.ts), build
 * containers only their build env (src/build/build-env.ts).
 */
export const SECRET_ENV = ['GITHUB_TOKEN', 'GH_TOKEN', 'CRIO_BUILD_SIGNING_KEY', 'CRIO_BUILD_SIGNING_PASSPHRASE'] as const;

/** Captured stdout (and each extra output fd) beyond this fails the run, unless a caller sets its own limit. */
export const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
/** The end of stderr that is kept (for results and error messages). */
export const DEFAULT_STDERR_TAIL = 64 * 1024;
/** Lines kept in `tail` when output is streamed as lines. */
const TAIL_LINES = 100;
/** A "line" longer than this (no newline in sight) is passed on in pieces. */
const MAX_LINE = 64 * 1024;
/** After a timeout or abort: SIGTERM, then SIGKILL if the program is still there after this. */
const KILL_GRACE_MS = 5000;

/** The values of the secret variables set in `env`, long enough to be told apart from ordinary text. */
function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV.map((k) => env[k]).filter((v): v is string => typeof v === 'string' && v.length >= 8);
}

/** The strings to mask in messages: the caller's own secrets and the secret variables' values. */
function knownSecrets(extra: ReadonlyArray<string | undefined> = []): string[] {
  return extra.filter((s): s is string => typeof s === 'string' && s.length > 0).concat(secretValues());
}

/**
 * `base` without crio-build's secrets: the SECRET_ENV variables, and any other variable whose value
 * is one of their values (`{ TOKEN: process.env.GITHUB_TOKEN }` does not bring one back by accident).
 */
export function childEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const secrets = new Set(secretValues(process.env).concat(secretValues(base)));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || (SECRET_ENV as readonly string[]).includes(k) || secrets.has(v)) continue;
    env[k] = v;
  }
  return env;
}

export interface RunOptions {
  cwd?: string;
  /**
   * The whole environment of the program (nothing else is inherited). Default: this process's
   * environment. Either way the secrets are taken out (childEnv): there is no way to pass them.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * What the program reads: bytes (written, then closed), a stream or async iterable (piped in; the
   * program is stopped if it fails), or 'pipe' for start()'s `stdin`. Default: nothing (/dev/null).
   */
  stdin?: string | Buffer | Readable | AsyncIterable<Buffer | string> | 'pipe';
  /**
   * 'capture' (default): collected into the result, up to `maxOutput`. 'pipe': start() hands it
   * over as a stream (for data too big to hold). 'ignore': thrown away.
   */
  stdout?: 'capture' | 'pipe' | 'ignore';
  /**
   * Output as lines (debootstrap, git progress): stdout and stderr are split into lines and passed
   * here as they come, and the last ones are kept in the result's `tail`; stdout is then not captured.
   */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Data written to extra descriptors (fd number -> bytes), then closed: a passphrase for --passphrase-fd. */
  inputFds?: Record<number, string | Buffer>;
  /** Extra descriptors the program writes to (gpg's --status-fd), captured like stdout. */
  outputFds?: number[];
  /** Bytes of captured stdout (and of each output fd) allowed; more stops the program and fails the run. */
  maxOutput?: number;
  /** Bytes at the end of stderr to keep. */
  stderrTail?: number;
  /**
   * true (default): a non-zero exit status or a signal fails the run with a RunError. false: the
   * result says how it ended (for callers that read the status themselves: gpg, gpgv). A missing
   * program, a timeout, an abort and output over the limit fail the run either way.
   */
  check?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** How to get the program, for the "not installed" error: "install xz-utils". */
  installHint?: string;
  /** Strings to mask wherever they would appear in an error (arguments, stderr): a passphrase. */
  secrets?: ReadonlyArray<string | undefined>;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Captured stdout (empty unless stdout is 'capture' and there is no onLine). */
  stdout: Buffer;
  /** The end of stderr (the last `stderrTail` bytes). */
  stderr: string;
  /** Captured output fds. */
  fds: Map<number, Buffer>;
  /** With onLine: the last lines of output. */
  tail: string[];
}

export type RunFailure = 'exit' | 'signal' | 'spawn' | 'timeout' | 'aborted' | 'output-limit' | 'stdin';

/** A program that could not be run or did not succeed. The message names the command. */
export class RunError extends Error {
  constructor(
    message: string,
    /** The command and its arguments as shown (secret-looking arguments masked). */
    readonly command: string,
    readonly reason: RunFailure,
    readonly code: number | null = null,
    readonly signal: NodeJS.Signals | null = null,
    /** The end of stderr, secrets masked. */
    readonly stderr = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RunError';
  }
}

/** The program is not on PATH: the host lacks something the run needs. */
export class NotInstalledError extends HostNotReadyError {
  constructor(
    readonly program: string,
    installHint?: string,
  ) {
    super(`${program} is not installed (not found in PATH)${installHint ? `: ${installHint}` : ''}`, installHint);
    this.name = 'NotInstalledError';
  }
}

// ---- showing a command in a message -------------------------------------------------------------

const MASK = '***';
/** A flag whose value is secret ("--passphrase X", "--token=X"); not "--passphrase-fd 3" or "--password-file F". */
const SECRET_FLAG = /^--?[\w.-]*(pass(word|phrase)?|passwd|token|secret|credentials?|auth)$/i;
const TOKEN_SHAPED = /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g;

function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join(MASK);
  return out
    .replace(TOKEN_SHAPED, MASK)
    .replace(/(\/\/[^/:@\s]*):[^/@\s]+@/g, `$1:${MASK}@`) // https://user:token@host
    .replace(/(authorization:\s*)\S.*$/gim, `$1${MASK}`);
}

function maskArg(arg: string, previous: string | undefined, secrets: readonly string[]): string {
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(arg)) return MASK;
  if (previous !== undefined && !previous.includes('=') && SECRET_FLAG.test(previous)) return MASK;
  const eq = arg.indexOf('=');
  if (arg.startsWith('-') && eq > 0 && SECRET_FLAG.test(arg.slice(0, eq))) return `${arg.slice(0, eq + 1)}${MASK}`;
  return maskSecrets(arg, secrets);
}

function showArg(arg: string): string {
  return /^[\w@%+=:,./*-]+$/.test(arg) ? arg : `"${printable(arg.replace(/["\\]/g, (c) => `\\${c}`), 200)}"`;
}

/** `cmd arg...` for messages: secret-looking arguments masked, odd ones quoted, a long list shortened. */
export function showCommand(cmd: string, args: readonly string[], secrets: ReadonlyArray<string | undefined> = []): string {
  const known = knownSecrets(secrets);
  const words = [showArg(cmd)];
  let length = words[0]!.length;
  for (let i = 0; i < args.length; i++) {
    const w = showArg(maskArg(args[i]!, args[i - 1], known));
    if (length + w.length > 1000) {
      words.push(`…(${args.length - i} more arguments)`);
      break;
    }
    words.push(w);
    length += w.length + 1;
  }
  return words.join(' ');
}

/** The last few non-empty lines of stderr, on one line, for a message. */
function stderrLines(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => (l.split('\r').pop() ?? '').trim())
    .filter((l) => l !== '')
    .slice(-8)
    .map((l) => printable(l, 300))
    .join(' | ');
}

/** The error of a program that ended with a non-zero status or a signal. */
function endedBadly(shown: string, code: number | null, signal: NodeJS.Signals | null, stderr: string): RunError {
  const detail = stderrLines(stderr);
  return new RunError(`${shown} failed (${signal ? `killed by ${signal}` : `exit status ${code}`})${detail ? `: ${detail}` : ''}`, shown, signal ? 'signal' : 'exit', code, signal, stderr);
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

// ---- running ------------------------------------------------------------------------------------

/** A started program (start()): its streams when asked for, and how it ended. */
export interface Running {
  /** With `stdin: 'pipe'`: write the program's input here, then end it. */
  readonly stdin: Writable | null;
  /** With `stdout: 'pipe'`: the program's output. */
  readonly stdout: Readable | null;
  /**
   * Settles when the program has exited and its output is read: the result, or a RunError
   * (NotInstalledError for a missing program). Always await it.
   */
  readonly done: Promise<RunResult>;
  readonly pid: number | undefined;
  kill(signal?: NodeJS.Signals): void;
}

/** A tail of a byte stream: the last `max` bytes. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    if (this.size > 2 * this.max) this.compact();
  }
  private compact(): void {
    const all = Buffer.concat(this.chunks);
    const kept = all.subarray(Math.max(0, all.length - this.max));
    this.chunks = [kept];
    this.size = kept.length;
  }
  text(): string {
    this.compact();
    return this.chunks[0]?.toString('utf8') ?? '';
  }
}

/** Splits a stream's bytes into lines (utf-8, a character never cut). */
class Lines {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  constructor(private readonly emit: (line: string) => void) {}
  push(b: Buffer): void {
    const parts = (this.partial + this.decoder.write(b)).split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) this.emit(l);
    while (this.partial.length > MAX_LINE) {
      this.emit(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
  }
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest) this.emit(rest);
  }
}

/** Starts `cmd` with `args` (never through a shell). See RunOptions; run() for captured output. */
export function start(cmd: string, args: readonly string[], opts: RunOptions = {}): Running {
  const secrets = knownSecrets(opts.secrets);
  const shown = showCommand(cmd, args, secrets);
  const maxOutput = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const inputFds = opts.inputFds ?? {};
  const outputFds = opts.outputFds ?? [];
  for (const fd of [...Object.keys(inputFds).map(Number), ...outputFds]) {
    if (!Number.isInteger(fd) || fd < 3) throw new Error(`${shown}: extra file descriptors are 3 and up, not ${fd}`);
  }
  const stdinMode = opts.stdin === undefined ? 'ignore' : 'pipe';
  const stdoutMode = opts.onLine || opts.stdout !== 'ignore' ? 'pipe' : 'ignore';
  const highest = Math.max(2, ...Object.keys(inputFds).map(Number), ...outputFds);
  const stdio: StdioOptions = Array.from({ length: highest + 1 }, (_, fd) =>
    fd === 0 ? stdinMode : fd === 1 ? stdoutMode : fd === 2 ? 'pipe' : fd in inputFds || outputFds.includes(fd) ? 'pipe' : 'ignore',
  );

  let child: ChildProcess;
  try {
    child = spawn(cmd, [...args], { cwd: opts.cwd, env: childEnv(opts.env ?? process.env), stdio, shell: false, windowsHide: true });
  } catch (err) {
    // Invalid arguments (a NUL byte in one, a bad cwd type): a bug in the caller, said with the command.
    const e = new RunError(`${shown}: cannot be started: ${(err as Error).message}`, shown, 'spawn', null, null, '', { cause: err });
    const done = Promise.reject(e);
    done.catch(() => undefined);
    return { stdin: null, stdout: null, done, pid: undefined, kill: () => undefined };
  }

  // How it ended, when we ended it (or it could not start): that wins over the exit status.
  let failure: RunError | NotInstalledError | undefined;
  const fail = (e: RunError | NotInstalledError) => {
    failure ??= e;
  };
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    if (signal !== 'SIGKILL' && !killTimer) {
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    }
  };

  const stderrTail = new Tail(opts.stderrTail ?? DEFAULT_STDERR_TAIL);
  const tail: string[] = [];
  const lineOf = (stream: 'stdout' | 'stderr') =>
    new Lines((line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      opts.onLine?.(line, stream);
    });

  // Captured output, bounded.
  const capture = (stream: Readable, what: string): Promise<Buffer> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        if (size > maxOutput) return;
        size += c.length;
        if (size > maxOutput) {
          fail(new RunError(`${shown}: output over the limit of ${sizeText(maxOutput)} (more than ${maxOutput} bytes on ${what}); the command was stopped`, shown, 'output-limit'));
          stop();
          return;
        }
        chunks.push(c);
      });
      stream.on('error', () => undefined);
      stream.on('close', () => resolve(Buffer.concat(chunks)));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });

  const reading: Array<Promise<unknown>> = [];
  let stdout: Readable | null = null;
  let captured: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  if (child.stdout) {
    if (opts.onLine) {
      const lines = lineOf('stdout');
      child.stdout.on('data', (c: Buffer) => lines.push(c));
      reading.push(new Promise<void>((res) => child.stdout!.once('close', () => (lines.end(), res()))));
    } else if (opts.stdout === 'pipe') {
      stdout = child.stdout;
    } else {
      captured = capture(child.stdout, 'stdout');
      reading.push(captured);
    }
  }
  const stderrLinesOut = opts.onLine ? lineOf('stderr') : undefined;
  child.stderr!.on('data', (c: Buffer) => {
    stderrTail.push(c);
    stderrLinesOut?.push(c);
  });
  reading.push(new Promise<void>((res) => child.stderr!.once('close', () => (stderrLinesOut?.end(), res()))));
  const fdReads = outputFds.map((fd) => capture(child.stdio[fd] as Readable, `fd ${fd}`));
  reading.push(...fdReads);

  // Input: bytes, a stream, or the caller's pipe. A program that exits without reading its input
  // makes the write fail with EPIPE: its exit status says more, so that error is not ours to report.
  const feed = (stream: Writable, data: string | Buffer) => {
    stream.on('error', () => undefined);
    stream.end(data);
  };
  let stdin: Writable | null = null;
  if (child.stdin) {
    const input = opts.stdin;
    if (input === 'pipe') {
      stdin = child.stdin;
      child.stdin.on('error', () => undefined);
    } else if (typeof input === 'string' || Buffer.isBuffer(input)) {
      feed(child.stdin, input);
    } else if (input !== undefined) {
      const source = input instanceof Readable ? input : Readable.from(input);
      child.stdin.on('error', () => undefined);
      pipeline(source, child.stdin).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ERR_STREAM_DESTROYED') return;
        fail(new RunError(`${shown}: its input failed: ${err.message}`, shown, 'stdin', null, null, '', { cause: err }));
        stop();
      });
    }
  }
  for (const [fd, data] of Object.entries(inputFds)) feed(child.stdio[Number(fd)] as Writable, data);

  // Timeout and abort.
  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      fail(new RunError(`${shown}: timed out after ${opts.timeoutMs! >= 1000 ? `${Math.round(opts.timeoutMs! / 1000)} s` : `${opts.timeoutMs} ms`}; the command was stopped`, shown, 'timeout'));
      stop('SIGTERM');
    }, opts.timeoutMs);
  }
  const onAbort = () => {
    fail(new RunError(`${shown}: aborted; the command was stopped`, shown, 'aborted', null, null, '', { cause: opts.signal?.reason }));
    stop('SIGTERM');
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<RunResult>((resolve, reject) => {
    const finish = () => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      finish();
      if (err.code === 'ENOENT' && opts.cwd !== undefined && !existsSync(opts.cwd)) {
        fail(new RunError(`${shown}: cannot be started: the directory ${opts.cwd} does not exist`, shown, 'spawn', null, null, '', { cause: err }));
      } else if (err.code === 'ENOENT') {
        fail(new NotInstalledError(cmd, opts.installHint));
      } else if (err.code === 'EACCES') {
        fail(new RunError(`${shown}: cannot be started: ${cmd} is not executable (EACCES)`, shown, 'spawn', null, null, '', { cause: err }));
      } else {
        fail(new RunError(`${shown}: cannot be started: ${err.message}`, shown, 'spawn', null, null, '', { cause: err }));
      }
      for (const s of child.stdio) s?.destroy();
      reject(failure);
    });
    child.once('close', (code, signal) => {
      finish();
      void Promise.all(reading).then(async () => {
        const stderr = maskSecrets(stderrTail.text(), secrets);
        if (failure) return reject(failure);
        if (opts.check !== false && (code !== 0 || signal !== null)) return reject(endedBadly(shown, code, signal, stderr));
        const fds = new Map<number, Buffer>();
        const fdData = await Promise.all(fdReads);
        outputFds.forEach((fd, k) => fds.set(fd, fdData[k] ?? Buffer.alloc(0)));
        resolve({ code, signal, stdout: await captured, stderr, fds, tail });
      });
    });
  });
  // A caller that stops early (its own error first) may never await `done`: no unhandled rejection.
  done.catch(() => undefined);
  return { stdin, stdout, done, pid: child.pid, kill: (signal: NodeJS.Signals = 'SIGTERM') => stop(signal) };
}

/** Runs `cmd` with `args` (never through a shell) to the end; see RunOptions. */
export function run(cmd: string, args: readonly string[], opts: RunOptions & { stdin?: Exclude<RunOptions['stdin'], 'pipe'>; stdout?: 'capture' | 'ignore' } = {}): Promise<RunResult> {
  return start(cmd, args, opts).done;
}

/** run() for a program's text output: stdout as UTF-8. */
export async function runText(cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  return (await run(cmd, args, opts)).stdout.toString('utf8');
}

/**
 * The synchronous form, for the few places that cannot wait (an 'exit' handler): argv only, the
 * secrets out of the environment, output bounded, the same errors. No extra fds, no streaming.
 */
export function runSync(
  cmd: string,
  args: readonly string[],
  opts: Pick<RunOptions, 'cwd' | 'env' | 'maxOutput' | 'check' | 'timeoutMs' | 'installHint' | 'secrets'> & { stdin?: string | Buffer } = {},
): RunResult {
  const secrets = knownSecrets(opts.secrets);
  const shown = showCommand(cmd, args, secrets);
  const maxOutput = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const r = spawnSync(cmd, [...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env ?? process.env),
    input: opts.stdin ?? '',
    maxBuffer: maxOutput,
    shell: false,
    windowsHide: true,
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
  });
  const stderr = maskSecrets((r.stderr ?? Buffer.alloc(0)).subarray(-DEFAULT_STDERR_TAIL).toString('utf8'), secrets);
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ENOENT') throw new NotInstalledError(cmd, opts.installHint);
  if (err?.code === 'ENOBUFS') throw new RunError(`${shown}: output over the limit of ${sizeText(maxOutput)}; the command was stopped`, shown, 'output-limit');
  if (err?.code === 'ETIMEDOUT') throw new RunError(`${shown}: timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s; the command was stopped`, shown, 'timeout');
  if (err) throw new RunError(`${shown}: cannot be started: ${err.message}`, shown, 'spawn', null, null, '', { cause: err });
  if (opts.check !== false && (r.status !== 0 || r.signal !== null)) throw endedBadly(shown, r.status, r.signal, stderr);
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? Buffer.alloc(0), stderr, fds: new Map(), tail: [] };
}

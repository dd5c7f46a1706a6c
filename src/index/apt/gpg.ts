// gpg in a throwaway home: each use imports the key into a fresh GNUPGHOME (mode 0700) that is
// removed afterwards, its agent killed first, also on error, so no secret key outlives the call
// and the user's own keyrings and gpg.conf never take part. gpg runs in batch mode with loopback
// pinentry; a passphrase travels only through a pipe (--passphrase-fd 3), never argv or the
// environment, and the child's environment is built from scratch so nothing of ours leaks into it.
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runSync, type RunResult } from '../../core/run.js';

const PASSPHRASE_FD = 3;
const STATUS_FD = 4;

// Homes in use. If the process exits while one is (Ctrl-C: the CLI's signal handler ends with
// process.exit), `finally` never runs; this hook still stops the agent (a daemon in its own
// session, which the terminal's SIGINT does not reach) and deletes the home with the key in it.
const live = new Set<string>();
let exitHook = false;
function track(dir: string): void {
  live.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const d of live) {
      try {
        runSync('gpgconf', ['--homedir', d, '--kill', 'all'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GNUPGHOME: d }, check: false });
      } catch {
        // gpgconf missing must not keep the secret key on disk
      }
      rmSync(d, { recursive: true, force: true });
    }
  });
}

export interface GpgResult extends RunResult {
  /** The lines gpg wrote to --status-fd, without the "[GNUPG:] " prefix. */
  status: string[];
}

export interface GpgRunOptions {
  stdin?: string | Buffer;
  /** Sent through --passphrase-fd ("" when none: gpg then fails with "No passphrase given"
   * instead of waiting for a terminal, if the key needs one). */
  passphrase?: string;
}

export class GpgHome {
  private constructor(readonly dir: string) {}

  /**
   * `throwawayKeys`: for a home that only signs with an imported key. The agent re-protects an
   * imported key with an S2K count it first calibrates; both take seconds per run and buy nothing
   * here: that copy lives for seconds in a private directory that is then deleted. Never for a
   * home that exports a secret key: the export would carry the weak count.
   */
  static async create(opts: { throwawayKeys?: boolean } = {}): Promise<GpgHome> {
    const dir = await mkdtemp(join(tmpdir(), 'crio-build-gnupg-'));
    track(dir);
    await chmod(dir, 0o700);
    if (opts.throwawayKeys) await writeFile(join(dir, 'gpg-agent.conf'), 's2k-count 65536\n', { mode: 0o600 });
    return new GpgHome(dir);
  }

  private env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', GNUPGHOME: this.dir, LC_ALL: 'C', LANG: 'C' };
  }

  async run(args: string[], opts: GpgRunOptions = {}): Promise<GpgResult> {
    const argv = [
      '--homedir', this.dir, '--batch', '--no-tty', '--no-options', '--status-fd', String(STATUS_FD),
      '--pinentry-mode', 'loopback', '--passphrase-fd', String(PASSPHRASE_FD),
      ...args,
    ];
    const r = await run('gpg', argv, {
      env: this.env(),
      check: false,
      secrets: [opts.passphrase],
      ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      inputFds: { [PASSPHRASE_FD]: `${opts.passphrase ?? ''}\n` },
      outputFds: [STATUS_FD],
      installHint: 'install gnupg',
    });
    const status = (r.fds.get(STATUS_FD) ?? Buffer.alloc(0))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.startsWith('[GNUPG:] '))
      .map((l) => l.slice('[GNUPG:] '.length));
    return { ...r, status };
  }

  /** Stops the agent this home started, then deletes the home with the keys in it. */
  async dispose(): Promise<void> {
    try {
      await run('gpgconf', ['--homedir', this.dir, '--kill', 'all'], { env: this.env(), check: false });
    } catch {
      // gpgconf missing or failing must not keep the secret key on disk
    }
    await rm(this.dir, { recursive: true, force: true });
    live.delete(this.dir);
  }
}

/** Runs `fn` with a fresh home that is always disposed of. */
export async function withGpgHome<T>(fn: (home: GpgHome) => Promise<T>, opts: { throwawayKeys?: boolean } = {}): Promise<T> {
  const home = await GpgHome.create(opts);
  try {
    return await fn(home);
  } finally {
    await home.dispose();
  }
}

/** gpg's messages for an error report: the last lines, with every secret we hold cut out. */
export function gpgMessage(r: RunResult, secrets: ReadonlyArray<string | undefined>): string {
  let text = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-6)
    .join('; ');
  for (const s of secrets) if (s) text = text.split(s).join('[redacted]');
  return text || (r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`);
}

/** The libgpg-error code of the last FAILURE status line (code & 0xffff), if any. */
export function failureCode(status: readonly string[]): number | undefined {
  const line = [...status].reverse().find((l) => l.startsWith('FAILURE '));
  const n = Number(line?.split(' ')[2]);
  return Number.isFinite(n) ? n & 0xffff : undefined;
}

export const GPG_ERR_BAD_PASSPHRASE = 11;
export const GPG_ERR_NO_PASSPHRASE = 177;

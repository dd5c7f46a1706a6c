/**
 * Shared-library dependencies of ELF binaries, as Debian computes them: `dpkg-shlibdeps -O` run on
 * the binaries, in a scratch directory that holds the minimal debian/control it insists on.
 *
 * The builder calls this inside the build container (where the target's libraries and their
 * shlibs/symbols files are installed), so everything here is plain data a container exec can use:
 * `shlibdepsCommand()` gives the exact argv (no shell), the environment and the one file the working
 * directory must hold; `parseShlibdepsOutput()` reads the answer. `computeShlibsDepends()` does all
 * three on the local machine.
 *
 * Cross builds (an amd64 container compiling arm64 with Debian multiarch): set `hostArch`, which
 * becomes DEB_HOST_ARCH, so dpkg-shlibdeps searches /usr/lib/<triplet> and uses <triplet>-objdump
 * (Dpkg::Arch::get_host_arch reads DEB_HOST_ARCH; Dpkg::Shlibs::Objdump picks the triplet objdump).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { RunError, runText } from '../core/run.js';

/** The debian/control dpkg-shlibdeps reads (it only needs a source and a binary stanza). */
export const SHLIBS_CONTROL_PATH = 'debian/control';
export const SHLIBS_CONTROL = 'Source: crio-build-shlibs\n\nPackage: crio-build-shlibs\nArchitecture: any\n';

export interface ShlibdepsCommand {
  /** Run without a shell, in a directory that holds `files`. */
  argv: string[];
  /** Extra environment (merge over a sane PATH; LC_ALL=C keeps messages parseable). */
  env: Record<string, string>;
  /** Relative path -> content, to create in the working directory first. */
  files: Record<string, string>;
}

export interface ShlibdepsOptions {
  /** The Debian architecture the binaries are for, when it differs from the machine running dpkg-shlibdeps. */
  hostArch?: string;
  /** Program name or path (default: dpkg-shlibdeps). */
  program?: string;
}

/**
 * The command for `binaries` (absolute paths as seen by whoever runs it: inside a container, the
 * container's paths). Static binaries are allowed: they add nothing to the result.
 */
export function shlibdepsCommand(binaries: readonly string[], opts: ShlibdepsOptions = {}): ShlibdepsCommand {
  if (binaries.length === 0) throw new Error('shlibdeps: no binaries given');
  for (const b of binaries) {
    if (!isAbsolute(b)) throw new Error(`shlibdeps: binary path must be absolute: ${b}`);
    if (/[\0\n]/.test(b)) throw new Error(`shlibdeps: bad binary path ${JSON.stringify(b)}`);
  }
  if (opts.hostArch !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(opts.hostArch)) {
    throw new Error(`shlibdeps: "${opts.hostArch}" is not a Debian architecture name`);
  }
  // -O: print the substvars to stdout instead of writing debian/substvars.
  // -e<file>: the executables (one option each, so a name is never taken for an option).
  const argv = [opts.program ?? 'dpkg-shlibdeps', '-O', ...binaries.map((b) => `-e${b}`)];
  const env: Record<string, string> = { LC_ALL: 'C' };
  if (opts.hostArch) env.DEB_HOST_ARCH = opts.hostArch;
  return { argv, env, files: { [SHLIBS_CONTROL_PATH]: SHLIBS_CONTROL } };
}

/**
 * The value of shlibs:Depends in dpkg-shlibdeps -O output ("libc6 (>= 2.34), libseccomp2 (>= 2.3.0)"),
 * or "" when the binaries need no shared library (static ones).
 */
export function parseShlibdepsOutput(stdout: string): string {
  for (const line of stdout.split('\n')) {
    const m = /^shlibs:Depends=(.*)$/.exec(line.trimEnd());
    if (m) return (m[1] ?? '').trim();
  }
  return '';
}

export class ShlibdepsError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ShlibdepsError';
  }
}

/** Runs dpkg-shlibdeps on this machine for `binaries` and returns the shlibs:Depends value. */
export async function computeShlibsDepends(binaries: readonly string[], opts: ShlibdepsOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const cmd = shlibdepsCommand(binaries.map((b) => resolve(b)), opts);
  const dir = await mkdtemp(join(tmpdir(), 'crio-build-shlibs-'));
  try {
    for (const [rel, content] of Object.entries(cmd.files)) {
      await mkdir(join(dir, rel, '..'), { recursive: true });
      await writeFile(join(dir, rel), content);
    }
    const [program, ...args] = cmd.argv as [string, ...string[]];
    const stdout = await runText(program, args, {
      cwd: dir,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...(opts.env ?? process.env), ...cmd.env },
      maxOutput: 16 * 1024 * 1024,
      installHint: 'apt-get install dpkg-dev',
    }).catch((err: Error) => {
      throw new ShlibdepsError(err.message, err instanceof RunError ? err.stderr : '');
    });
    return parseShlibdepsOutput(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

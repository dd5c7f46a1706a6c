/**
 * The crio-build command line: parses arguments, calls the pipeline, renders what comes back. Each
 * command is a module of src/cli/commands/ (its options, their checks, one call, its output).
 * User errors print one clear message (and a hint) with a documented exit code, never a stack trace.
 */
import yargs, { type CommandModule } from 'yargs';
import { CrioBuildError, printable, UsageError } from '../core/errors.js';
import { TOOL_VERSION } from '../core/keys.js';
import { branchCommand } from './commands/branch.js';
import { nightlyCommand } from './commands/nightly.js';
import { publishCommand } from './commands/publish.js';
import { packageCommand } from './commands/package.js';
import { planCommand } from './commands/plan.js';
import { fetchCommand } from './commands/fetch.js';
import { recipesCommand } from './commands/recipes.js';
import { buildersCommand } from './commands/builders.js';
import { cacheCommand } from './commands/cache.js';
import { keysCommand } from './commands/keys.js';
import { verifyCommand } from './commands/verify.js';
import { doctorCommand } from './commands/doctor.js';

const EXIT_CODES = `Exit codes:
  0    success
  1    a build, package or publish job failed; for verify: a check failed or a file differs from the rebuild
  2    usage error (unknown branch, arch, option or command)
  3    invalid recipe, config or lock file (file:line: field: problem)
  4    source error (unreachable remote, missing commit, checksum mismatch); for verify --rebuild: an input is gone
  5    host not ready (Docker, qemu binfmt, disk), or a build host that is not who it says: run \`crio-build doctor\`
  75   another run holds the cache or artifacts dir (with --no-wait)
  130  interrupted (143 on SIGTERM)

Environment:
  GITHUB_TOKEN                   publish to GitHub Releases (needs contents: write)
  CRIO_BUILD_SIGNING_KEY         the apt repository's armored secret key (see \`crio-build keys generate\`)
  CRIO_BUILD_SIGNING_PASSPHRASE  its passphrase
  CRIO_BUILD_CONFIG, CRIO_BUILD_CACHE  the settings file and the cache dir
Secrets are never printed, logged or written into an artifact.`;

/** Options that may be given more than once (and --arch for the commands that take several arches). */
const REPEATABLE = new Set(['_', 'mirror', 'branch', 'kind']);
const MULTI_ARCH_COMMANDS = new Set(['nightly', 'publish', 'builders']);

/** yargs turns a single-value option given twice into an array: say so, rather than pick one or crash on it. */
function refuseRepeatedOptions(a: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(a)) {
    if (!Array.isArray(v) || REPEATABLE.has(k) || /[A-Z]/.test(k)) continue;
    if (k === 'arch' && MULTI_ARCH_COMMANDS.has(String((a._ as unknown[])[0]))) continue;
    throw new UsageError(`--${k} is given ${v.length} times`, `give --${k} once`);
  }
}

/** In the order `--help` lists them. */
const COMMANDS = [branchCommand, nightlyCommand, publishCommand, packageCommand, planCommand, fetchCommand, recipesCommand, buildersCommand, cacheCommand, keysCommand, verifyCommand, doctorCommand] as unknown as CommandModule[];

export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('crio-build')
    .middleware(refuseRepeatedOptions, true)
    .usage('$0 <branch> --arch <arch>\n\nBuild CRI-O and its companions from pinned upstream sources into .deb packages, a bundle and an apt repository.')
    .command(COMMANDS)
    .epilogue(EXIT_CODES)
    .version(TOOL_VERSION)
    .strict()
    .help()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      // yargs' own validation errors (YError: a missing option value) are usage errors; others are ours.
      if (err && err.name !== 'YError') throw err;
      msg = msg ?? err?.message;
      // yargs' messages carry what the user typed (an unknown option name): never raw control characters.
      throw new UsageError(printable(msg ?? 'bad arguments', 400), 'see `crio-build --help`');
    });
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli(argv).parseAsync();
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CrioBuildError) {
    process.stderr.write(`crio-build: error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`crio-build: ${err.hint}\n`);
    return err.exitCode;
  }
  process.stderr.write(`crio-build: internal error (please report it): ${(err as Error)?.stack ?? String(err)}\n`);
  return 70;
}

/**
 * npm run acceptance -- <release dir or URL> [--arch arm64|amd64] [--json FILE] [--keep] [--no-coexistence] [--quiet]
 *
 * The guide's pod flow on a fresh Debian root, from a published release (see run.ts). Prints one
 * line per step (ok, FAILED with the error, needs-a-real-build, not-run) with the evidence below
 * it, and what this machine refused. Exit status: 0 no step failed, 1 a step failed, 2 usage.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SUPPORTED_ARCHES, type Arch } from '../src/recipe/schema.js';
import { counts, renderReport } from './report.js';
import { runAcceptance } from './run.js';

const USAGE = `usage: npm run acceptance -- <release dir or URL> [--arch arm64|amd64] [--json FILE] [--keep] [--no-coexistence] [--quiet]

  <release dir or URL>  a published release: artifacts/releases/<tag>/ or the URL it is served at
  --arch A              the node's architecture (default: the host's; arm64 runs under qemu)
  --json FILE           also write the report as JSON
  --keep                keep the node and tools containers afterwards
  --no-coexistence      skip installing Debian's podman, buildah and skopeo beside ours
  --quiet               the step table without the evidence lines`;

export interface CliArgs {
  release: string;
  arch: Arch;
  json?: string;
  keep: boolean;
  coexistence: boolean;
  quiet: boolean;
}

export function parseArgs(argv: readonly string[]): CliArgs | string {
  let release: string | undefined;
  let arch: string = process.arch === 'arm64' ? 'arm64' : 'amd64';
  let json: string | undefined;
  let keep = false;
  let coexistence = true;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new Error(`${a.split('=')[0]} needs a value`);
      return v;
    };
    try {
      if (a === '--arch' || a.startsWith('--arch=')) arch = value();
      else if (a === '--json' || a.startsWith('--json=')) json = value();
      else if (a === '--keep') keep = true;
      else if (a === '--no-coexistence') coexistence = false;
      else if (a === '--quiet') quiet = true;
      else if (a === '--help' || a === '-h') return 'help';
      else if (a.startsWith('-')) return `unknown option ${a}`;
      else if (release === undefined) release = a;
      else return `one release only (got ${release} and ${a})`;
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (!release) return 'a release directory or URL is required';
  if (!(SUPPORTED_ARCHES as readonly string[]).includes(arch)) return `--arch must be one of ${SUPPORTED_ARCHES.join(', ')}`;
  return { release, arch: arch as Arch, ...(json ? { json } : {}), keep, coexistence, quiet };
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (typeof args === 'string') {
    process.stderr.write(`acceptance: ${args}\n${USAGE}\n`);
    return 2;
  }
  const report = await runAcceptance({
    release: args.release,
    arch: args.arch,
    keep: args.keep,
    skipCoexistence: !args.coexistence,
    onProgress: (l) => process.stderr.write(`[acceptance ${new Date().toISOString().slice(11, 19)}] ${l}\n`),
  });
  process.stdout.write(renderReport(report, !args.quiet));
  if (args.json) await writeFile(resolve(args.json), `${JSON.stringify(report, null, 2)}\n`);
  return counts(report).failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`acceptance: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

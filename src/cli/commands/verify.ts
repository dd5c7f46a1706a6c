/**
 * `crio-build verify <release dir or URL> [--rebuild]`: checks a release someone downloaded, and
 * with --rebuild makes it again from its signed provenance and compares every file.
 * Exit 0 verified, 1 a check failed or a file differs, 4 an input of the rebuild is gone.
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { loadSettings } from '../../settings/settings.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import type { Finding } from '../../verify/checks.js';
import { checkRelease } from '../../verify/check-release.js';
import { createReporter } from '../reporter.js';
import { removeContainersOnSignal } from '../signals.js';

interface VerifyArgs {
  release: string;
  key?: string;
  rebuild: boolean;
  keep: boolean;
  config?: string;
  mirror?: string[];
  recipes?: string;
  json: boolean;
  quiet: boolean;
}

function line(f: Finding): string {
  return `${f.ok ? 'ok  ' : 'FAIL'}  ${f.check.padEnd(10)}  ${f.file}: ${f.message}\n`;
}

export const verifyCommand: CommandModule<object, VerifyArgs> = {
  command: 'verify <release>',
  describe: 'check a downloaded release: SHA256SUMS, the signed apt index, SBOMs, the signed provenance; --rebuild: build it again and compare every file',
  builder: (y: Argv) =>
    y
      .positional('release', { type: 'string', demandOption: true, describe: 'a release directory (artifacts/releases/<tag>) or the URL its files are downloaded from (https://github.com/OWNER/REPO/releases/download/<tag>)' })
      .option('key', { type: 'string', requiresArg: true, describe: 'the keyring (binary or armored) the release must be signed with; default: the one published beside it' })
      .option('rebuild', { type: 'boolean', default: false, describe: 'rebuild the release from its provenance in fresh temp dirs and compare every .deb, bundle, SBOM and .buildinfo byte for byte' })
      .option('keep', { type: 'boolean', default: false, describe: 'keep the rebuild\'s temp cache and artifacts dirs' })
      .option('config', { type: 'string', requiresArg: true, describe: 'settings file: its mirrors (before the recorded ones) and hosts are used by --rebuild' })
      .option('mirror', { type: 'string', array: true, describe: 'FROM=TO: a mirror for --rebuild, before the ones the provenance records (repeatable)' })
      .option('recipes', { type: 'string', requiresArg: true, describe: 'recipes directory for --rebuild (default: the shipped recipes)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the findings and differences as JSON on stdout' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no rebuild progress on stderr' }) as unknown as Argv<VerifyArgs>,
  handler: async (a) => {
    if (a.release === '') throw new UsageError('the release is empty', 'give a release directory or URL');
    if (a.key === '') throw new UsageError('--key is empty', 'give a keyring file, or leave --key out');
    if (a.keep && !a.rebuild) throw new UsageError('--keep applies to --rebuild only');
    // Settings are read (and refused when bad) before any work.
    const rebuild = a.rebuild ? { user: await loadSettings({ config: a.config, mirror: a.mirror }), ...(a.recipes ? { recipesDir: resolve(a.recipes) } : {}), keep: a.keep, reporter: createReporter(a.quiet) } : undefined;
    const out = (s: string) => (a.json ? undefined : process.stdout.write(s));
    const result = await checkRelease(
      { source: a.release, ...(a.key ? { keyFile: resolve(a.key) } : {}), ...(rebuild ? { rebuild } : {}) },
      {
        checked: (r) => {
          out(`verifying ${r.release.source}\n${r.keyNote}\n`);
          for (const f of r.findings) out(line(f));
          if (a.rebuild && !r.provenance) out('not rebuilding: the provenance did not verify, so its inputs cannot be trusted\n');
        },
        rebuilding: () => {
          out('rebuilding: index files (Packages*, Release, InRelease, Release.gpg), the keyring, the manifest and the provenance carry dates and keys and are checked by signature above; every .deb, bundle, SBOM and .buildinfo is compared byte for byte\n');
          removeContainersOnSignal();
        },
      },
    );
    const failed = result.findings.filter((f) => !f.ok);
    const rebuilt = result.rebuilt;
    let differing = 0;
    if (rebuild && rebuilt) {
      rebuild.reporter.finish(rebuilt.runs.flatMap((c) => c.jobs.records), rebuilt.unavailable ? 'rebuild: an input is unavailable' : 'rebuild: done');
      for (const c of rebuilt.compared) {
        if (c.differences.length === 0) out(`ok    rebuild     ${c.file}: identical to the rebuilt file\n`);
        else {
          differing++;
          out(`FAIL  rebuild     ${c.file}: differs from the rebuilt file\n`);
          for (const d of c.differences) out(`        ${d.where}: ${d.what}\n`);
        }
      }
      if (rebuilt.unavailable) out(`inputs unavailable: ${rebuilt.unavailable}\n`);
    }
    const unavailable = rebuilt?.unavailable;
    if (a.json) process.stdout.write(`${JSON.stringify({ release: result.source, key: result.keyNote, findings: result.findings, rebuild: a.rebuild ? { compared: rebuilt?.compared ?? [], unavailable: unavailable ?? null } : null }, null, 2)}\n`);
    const bad = failed.length + differing;
    if (unavailable && bad === 0) {
      process.stderr.write('crio-build: verify: the checks passed, but the rebuild could not run: an input is no longer available (see above)\n');
      process.exitCode = ExitCode.source;
    } else if (bad > 0 || (a.rebuild && !result.provenanceVerified)) {
      process.stderr.write(`crio-build: verify: ${failed.length} check(s) failed${a.rebuild ? `, ${differing} file(s) differ from the rebuild` : ''}${failed.length ? `: ${[...new Set(failed.map((f) => f.file))].join(', ')}` : ''}\n`);
      process.exitCode = ExitCode.jobFailed;
    } else out(`verified${a.rebuild ? ', and rebuilt byte for byte' : ''}: ${result.source}\n`);
  },
};

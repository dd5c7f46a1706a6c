/**
 * The crio-build command line: parses arguments, calls the pipeline, renders what comes back.
 * User errors print one clear message (and a hint) with a documented exit code, never a stack trace.
 */
import { resolve } from 'node:path';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { loadSettings, type Settings } from '../settings/settings.js';
import { runDoctor } from '../admin/doctor.js';
import { CrioBuildError, ExitCode, printable, quote, UsageError } from '../core/errors.js';
import { checkArch } from '../plan/planner.js';
import { TOOL_VERSION } from '../core/keys.js';
import { lockPathFor, runPipeline, type Context, type StageName } from '../pipeline/pipeline.js';
import { JobLog } from '../pipeline/jobs.js';
import { runMatrix } from '../pipeline/nightly.js';
import { writeFileAtomic } from '../core/atomic.js';
import { createReporter, type Reporter } from './reporter.js';
import { footer, runManifest, type RunOutcome } from './run-output.js';
import { lockRun, releaseOptions, releaseSettings, type ReleaseArgs } from './run-options.js';
import { keysCommand } from './keys.js';
import { verifyCommand } from './verify.js';
import { cacheCommand } from './cache.js';
import { nightlyOptions, nightlyMatrix, type NightlyArgs } from './nightly.js';
import { checkPauseImage, packageBuiltOutputs } from '../package/package-all.js';
import { releaseToPublish } from '../index/release-tree.js';
import { buildProvenanceOf, recordPackaged } from '../package/record.js';
import { provenanceDir, readComponentProvenance } from '../build/outputs.js';
import { indexRelease } from '../index/index-release.js';
import { publishRelease } from '../publish/publish-release.js';
import { findBranch } from '../source/resolver.js';
import { loadRecipes } from '../recipe/loader.js';
import { kubernetesOf } from '../source/lock.js';
import { STRATEGIES, SUPPORTED_ARCHES, type Strategy } from '../recipe/schema.js';
import { findingsAsText, packagedAsText, planAsJson, planAsText, stderrEvents } from './render.js';
import { recipeShow, recipesList } from './recipes.js';
import { buildersCommand } from './builders.js';
import { installSignalCleanup } from '../build/index.js';

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

interface CommonArgs {
  config?: string;
  mirror?: string[];
  'cache-dir'?: string;
  'build-cache': boolean;
  recipes?: string;
  artifacts: string;
  quiet: boolean;
}

interface BranchArgs extends CommonArgs {
  branch: string;
  arch: string;
  strategy?: string;
  lock?: string;
  json: boolean;
  force?: boolean;
  'pause-image'?: string;
}

type MainArgs = BranchArgs & ReleaseArgs & { 'stop-after'?: string };

const STOP_STAGES = ['fetch', 'build', 'package', 'index', 'publish'] as const;

function stopAfter(stage: string | undefined, publish: boolean): StageName {
  if (stage === undefined) return publish ? 'publish' : 'index';
  if (!(STOP_STAGES as readonly string[]).includes(stage)) throw new UsageError(`--stop-after ${JSON.stringify(stage.slice(0, 40))}: not a stage`, `stages: ${STOP_STAGES.join(', ')}`);
  if (publish && stage !== 'publish') throw new UsageError(`--publish and --stop-after ${stage} exclude each other`);
  if (stage === 'publish' && !publish) throw new UsageError('--stop-after publish needs --publish');
  return stage as StageName;
}

function commonOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', requiresArg: true, describe: 'settings file (mirrors, toolchain swaps, cache dir); default $CRIO_BUILD_CONFIG or ~/.config/crio-build/config.yaml' })
    .option('mirror', { type: 'string', array: true, describe: 'rewrite a URL prefix, FROM=TO (repeatable; longest match wins)' })
    .option('cache-dir', { type: 'string', requiresArg: true, describe: 'source cache (default $CRIO_BUILD_CACHE or ~/.cache/crio-build)' })
    .option('build-cache', { type: 'boolean', default: true, describe: "keep Go's build cache between builds in a Docker volume per builder, arch and component (--no-build-cache: off)" })
    .option('recipes', { type: 'string', requiresArg: true, describe: 'recipes directory (default: the recipes shipped with crio-build)' })
    .option('artifacts', { type: 'string', requiresArg: true, default: 'artifacts', describe: 'output root' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' });
}

function branchOptions<T>(y: Argv<T>) {
  return commonOptions(y)
    .positional('branch', { type: 'string', demandOption: true, describe: 'cri-o branch recipe, e.g. release-1.18, or a pinned cri-o release tag, e.g. v1.18.3 (see `crio-build recipes list`)' })
    .option('arch', { type: 'string', requiresArg: true, default: 'arm64', describe: `target architecture: ${SUPPORTED_ARCHES.join(', ')}` })
    .option('strategy', { type: 'string', requiresArg: true, describe: `override every component's strategy: ${STRATEGIES.join(', ')}` })
    .option('lock', { type: 'string', requiresArg: true, describe: 'use this lock record (from an earlier plan) instead of asking the remotes' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout' });
}

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

/** Options that name a file or directory: an empty value is a mistake, not "the default". */
function checkPaths(a: Record<string, unknown>): void {
  // (--config and --cache-dir are checked where the settings are read, src/settings/settings.ts.)
  for (const k of ['recipes', 'artifacts', 'lock', 'manifest', 'signing-key', 'publish-dir']) {
    if (a[k] === '') throw new UsageError(`--${k} is empty`, `give a path, or leave --${k} out for the default`);
  }
}

async function settingsFrom(a: CommonArgs): Promise<Settings> {
  checkPaths(a as unknown as Record<string, unknown>);
  return loadSettings({ config: a.config, mirror: a.mirror, cacheDir: a['cache-dir'], noBuildCache: a['build-cache'] === false });
}

function checkStrategy(s: string | undefined): Strategy | undefined {
  if (s === undefined) return undefined;
  if (!(STRATEGIES as readonly string[]).includes(s)) throw new UsageError(`unknown strategy ${quote(s)}`, `supported strategies: ${STRATEGIES.join(', ')}`);
  return s as Strategy;
}

const PAUSE_IMAGE_OPTION = { type: 'string', describe: 'pause_image written into a crio.conf.d drop-in, for sites whose default registry is unreachable' } as const;

function pauseImageOption(image: string | undefined): string | undefined {
  if (image === undefined) return undefined;
  try {
    checkPauseImage(image);
  } catch (err) {
    throw new UsageError(`--pause-image: ${(err as Error).message}`);
  }
  return image;
}

async function runBranch(a: BranchArgs, until: StageName) {
  const arch = checkArch(a.arch);
  const strategy = checkStrategy(a.strategy);
  const pauseImage = pauseImageOption(a['pause-image']);
  const settings = await settingsFrom(a);
  return runPipeline(
    { branch: a.branch, arch, strategy, settings, recipesDir: a.recipes && resolve(a.recipes), artifactsDir: resolve(a.artifacts), lockFile: a.lock, until, force: a.force, pauseImage },
    stderrEvents(a.quiet),
  );
}

/**
 * A build-and-release run: one at a time per cache and artifacts dir; containers removed on Ctrl-C
 * or TERM; always ends with the summary table (and the manifest when asked), even when a job failed.
 */
async function releaseRun(
  a: CommonArgs & ReleaseArgs & { json?: boolean },
  settings: Settings,
  reporter: Reporter,
  run: (jobs: JobLog) => Promise<RunOutcome[]>,
): Promise<void> {
  installSignalCleanup({ onSignal: (sig, n) => process.stderr.write(`crio-build: ${sig}: removing ${n} container(s)\n`) });
  const unlock = await lockRun([settings.cacheDir, resolve(a.artifacts)], a.wait, (m) => reporter.note(m));
  const started = new Date();
  const jobs = new JobLog();
  let runs: RunOutcome[] = [];
  let failure: unknown;
  try {
    runs = await run(jobs);
  } catch (err) {
    failure = err;
    const ctx = (err as { context?: Context }).context;
    if (ctx) runs = [ctx];
  } finally {
    await unlock();
  }
  reporter.finish(jobs.records, runTitle(jobs, failure), footer(runs));
  const m = runManifest(jobs, runs, started, failure);
  if (a.manifest) await writeFileAtomic(resolve(a.manifest), `${JSON.stringify(m, null, 2)}\n`);
  if (a.json) process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
  if (failure) throw failure;
  if (jobs.failed) process.exitCode = ExitCode.jobFailed;
}

function runTitle(jobs: JobLog, failure: unknown): string {
  if (jobs.failed || failure) return 'crio-build: finished with failures';
  const idle = jobs.records.length > 0 && jobs.records.every((j) => j.state === 'cached' || j.state === 'unchanged');
  return idle ? 'crio-build: nothing changed (nothing built, nothing published)' : 'crio-build: done';
}

export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('crio-build')
    .middleware(refuseRepeatedOptions, true)
    .usage('$0 <branch> --arch <arch>\n\nBuild CRI-O and its companions from pinned upstream sources into .deb packages, a bundle and an apt repository.')
    .command<MainArgs>(
      '$0 <branch>',
      'build everything for a branch and arch: plan, fetch, build, package, index (and publish with --publish)',
      (y) =>
        releaseOptions(
          branchOptions(y)
            .option('force', { type: 'boolean', default: false, describe: 'rebuild even what the cache already has' })
            .option('pause-image', PAUSE_IMAGE_OPTION)
            .option('stop-after', { type: 'string', requiresArg: true, describe: `stop after this stage: ${STOP_STAGES.join(', ')} (e.g. package in a CI build job whose release is published by \`crio-build publish\`)` }),
        ) as unknown as Argv<MainArgs>,
      async (a) => {
        const arch = checkArch(a.arch);
        const strategy = checkStrategy(a.strategy);
        const pauseImage = pauseImageOption(a['pause-image']);
        const settings = await settingsFrom(a);
        // A branch that is not a recipe is refused before anything is locked, created or shown.
        findBranch(await loadRecipes(a.recipes && resolve(a.recipes)), a.branch);
        const release = await releaseSettings(a);
        const until = stopAfter(a['stop-after'], a.publish);
        const reporter = createReporter(a.quiet);
        await releaseRun(a, settings, reporter, async (jobs) => {
          const ctx = await runPipeline(
            { branch: a.branch, arch, strategy, settings, recipesDir: a.recipes && resolve(a.recipes), artifactsDir: resolve(a.artifacts), lockFile: a.lock, until, force: a.force, pauseImage, index: release.index, publish: release.publish, jobs },
            reporter.events(`${a.branch}/${arch}`),
          );
          return [ctx];
        });
      },
    )
    .command<NightlyArgs & ReleaseArgs & CommonArgs>(
      'nightly',
      'the nightly matrix: every branch x arch asked for (default: all branches, arm64 and amd64), each released once',
      (y) => releaseOptions(nightlyOptions(commonOptions(y))) as unknown as Argv<NightlyArgs & ReleaseArgs & CommonArgs>,
      async (a) => {
        const settings = await settingsFrom(a);
        const recipes = await loadRecipes(a.recipes && resolve(a.recipes));
        const { branches, arches } = nightlyMatrix(a, recipes);
        const release = await releaseSettings(a);
        const reporter = createReporter(a.quiet);
        reporter.note(`nightly: ${branches.join(', ')} x ${arches.join(', ')}`);
        await releaseRun(a, settings, reporter, async (jobs) => {
          const r = await runMatrix({
            jobs,
            branches,
            arches,
            strategy: checkStrategy(a.strategy),
            settings,
            recipesDir: a.recipes && resolve(a.recipes),
            artifactsDir: resolve(a.artifacts),
            force: a.force,
            pauseImage: pauseImageOption(a['pause-image']),
            index: release.index,
            publish: release.publish,
            publishing: a.publish,
            reporter,
          });
          return r.runs;
        });
      },
    )
    .command<CommonArgs & ReleaseArgs & { branch: string; json: boolean; arch?: string[] }>(
      'publish <branch>',
      'index and publish what is already packaged for a branch (every arch under artifacts/<branch>/*/packages): the last step of a CI matrix',
      (y) =>
        releaseOptions(
          commonOptions(y)
            .positional('branch', { type: 'string', demandOption: true, describe: 'cri-o branch recipe, e.g. release-1.18' })
            .option('json', { type: 'boolean', default: false, describe: 'print the run manifest as JSON on stdout' })
            .option('arch', { type: 'string', array: true, describe: 'an arch that must be in the release (repeatable): refuse to publish without it rather than drop it' }),
        ).option('publish', { type: 'boolean', default: true, hidden: true }) as unknown as Argv<CommonArgs & ReleaseArgs & { branch: string; json: boolean; arch?: string[] }>,
      async (a) => {
        const settings = await settingsFrom(a);
        const branch = findBranch(await loadRecipes(a.recipes && resolve(a.recipes)), a.branch);
        const required = (a.arch ?? []).map(checkArch);
        const release = await releaseSettings({ ...a, publish: true });
        const reporter = createReporter(a.quiet);
        await releaseRun(a, settings, reporter, async (jobs) => {
          const artifactsDir = resolve(a.artifacts);
          const tag = await releaseToPublish(artifactsDir, branch.name, required);
          const events = reporter.events(branch.name);
          const step = (stage: 'index' | 'publish') => (m: string) => events.step?.(stage, m);
          const indexed = await jobs.run(`${branch.name} index`, () => indexRelease({ ...release.index, artifactsDir, branch: branch.name, tag, cacheDir: settings.cacheDir, onStep: step('index') }), (i) => ({ state: i.changed ? 'ok' : 'unchanged', detail: `${i.tag}: ${i.files.length} files, signed` }));
          const published = await jobs.run(`${branch.name} publish`, () => publishRelease(indexed, release.publish ?? { target: 'directory' }, step('publish')), (p) => ({ state: p.changed ? 'ok' : 'unchanged', detail: p.summary }));
          return [{ indexed, published }];
        });
      },
    )
    .command<BranchArgs>(
      'package <branch>',
      'package outputs already built (under artifacts/<branch>/<arch>/build) into .debs, the bundle and SHA256SUMS',
      (y) =>
        branchOptions(y)
          .option('pause-image', PAUSE_IMAGE_OPTION)
          .option('force', { type: 'boolean', default: false, describe: 'make every file again, even those unchanged since the last run' }) as unknown as Argv<BranchArgs>,
      async (a) => {
        const arch = checkArch(a.arch);
        const pauseImage = pauseImageOption(a['pause-image']);
        const recipes = await loadRecipes(a.recipes && resolve(a.recipes));
        const branch = findBranch(recipes, a.branch);
        const events = stderrEvents(a.quiet);
        const artifactsDir = resolve(a.artifacts);
        const kubernetes = await kubernetesOf(branch, a.lock ? resolve(a.lock) : lockPathFor(artifactsDir, branch.name));
        const components = Object.keys(branch.components);
        // The provenance the build left beside the outputs: the SBOMs' sources and toolchains, the .buildinfo files' builders.
        const recordedBuilds = await readComponentProvenance(provenanceDir(artifactsDir, branch.name, arch), components);
        const provenance = new Map([...recordedBuilds].map(([name, c]) => [name, buildProvenanceOf(c)]));
        const result = await packageBuiltOutputs({ artifactsDir, branch: { name: branch.name, kubernetes, components }, arch, pauseImage, provenance, force: a.force === true, onStep: (m) => events.step?.('package', m) });
        // The release record beside the packages, from the provenance the build left: what
        // `crio-build publish` (and a nightly's other arches) release.
        const recorded = await recordPackaged({ artifactsDir, branch: branch.name, kubernetes, arch, components, packaged: result, pauseImage });
        if (recorded.record) events.step?.('package', `release record ${recorded.path} (release ${recorded.record.releaseTag})`);
        else process.stderr.write(`crio-build: warning: no release record written: the build left no provenance for ${recorded.missing.join(', ')} (built by an older crio-build?); \`crio-build publish\` will not release these packages until they are built again\n`);
        process.stdout.write(a.json ? JSON.stringify({ ...result, record: recorded.record ? recorded.path : null }, null, 2) + '\n' : packagedAsText(result));
      },
    )
    .command<BranchArgs>(
      'plan <branch>',
      'resolve every pin and print the job graph with content keys (saves a lock record)',
      (y) => branchOptions(y) as unknown as Argv<BranchArgs>,
      async (a) => {
        const ctx = await runBranch(a, 'plan');
        process.stdout.write(a.json ? JSON.stringify(planAsJson(ctx.plan!, ctx.lockPath), null, 2) + '\n' : planAsText(ctx.plan!, ctx.lockPath) + '\n');
      },
    )
    .command<BranchArgs>(
      'fetch <branch>',
      'download and verify every source and toolchain into the cache, so a build can run offline',
      (y) => branchOptions(y) as unknown as Argv<BranchArgs>,
      async (a) => {
        const ctx = await runBranch(a, 'fetch');
        const f = ctx.fetched!;
        if (a.json) process.stdout.write(JSON.stringify(f, null, 2) + '\n');
        else {
          for (const [name, s] of Object.entries(f.sources)) process.stdout.write(`source     ${name.padEnd(12)} ${s.commit}  ${s.repoPath}\n`);
          for (const [name, t] of Object.entries(f.toolchains)) process.stdout.write(`toolchain  ${name.padEnd(12)} sha256:${t.sha256}  ${t.path}${t.downloaded ? '' : ' (cached)'}\n`);
        }
      },
    )
    .command('recipes', 'list or show recipes', (y) =>
      commonOptions(y)
        .command<CommonArgs & { json: boolean }>(
          'list',
          'list branch, component and toolchain recipes',
          (yy) => yy.option('json', { type: 'boolean', default: false }) as unknown as Argv<CommonArgs & { json: boolean }>,
          async (a) => {
            process.stdout.write(recipesList(await loadRecipes(a.recipes && resolve(a.recipes)), a.json) + '\n');
          },
        )
        .command<CommonArgs & { name: string; json: boolean }>(
          'show <name>',
          'show one recipe as loaded (with defaults filled in)',
          (yy) => yy.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }) as unknown as Argv<CommonArgs & { name: string; json: boolean }>,
          async (a) => {
            process.stdout.write(recipeShow(await loadRecipes(a.recipes && resolve(a.recipes)), a.name, a.json) + '\n');
          },
        )
        .demandCommand(1, 'say `recipes list` or `recipes show <name>`'),
    )
    .command('builders', 'list, prune or bootstrap builder and base images', (y) => buildersCommand(y))
    .command(cacheCommand)
    .command(keysCommand)
    .command(verifyCommand as unknown as CommandModule)
    .command<CommonArgs & { json: boolean }>(
      'doctor',
      'check this host: Docker daemon, qemu binfmt for arm64, git, free disk',
      (y) => commonOptions(y).option('json', { type: 'boolean', default: false }) as unknown as Argv<CommonArgs & { json: boolean }>,
      async (a) => {
        const settings = await settingsFrom(a);
        const findings = await runDoctor({ cacheDir: settings.cacheDir, artifactsDir: resolve(a.artifacts), hosts: settings.hosts });
        process.stdout.write((a.json ? JSON.stringify(findings, null, 2) : findingsAsText(findings)) + '\n');
        if (findings.some((f) => !f.ok)) process.exitCode = ExitCode.hostNotReady;
      },
    )
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

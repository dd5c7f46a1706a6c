/**
 * The GitHub Actions workflows, checked twice: by GitHub's own workflow parser
 * (@actions/workflow-parser, what the Actions language server runs: schema, expression contexts,
 * cron syntax, job graph), and against this project's invariants. For nightly.yml
 * (select -> resolve per branch -> build per branch x arch -> publish per branch):
 *
 *  - the job graph, and the matrices are the select job's lists (exactly the branch recipes x
 *    SUPPORTED_ARCHES), one failing branch or arch never stopping the others;
 *  - the artifacts line up: the lock record resolve uploads is the file the build reads with --lock,
 *    the packages each build uploads are what the publish job downloads and puts back where
 *    `crio-build publish` reads them (the move step is run here, on a download-artifact layout);
 *  - every `npx crio-build ...` line, run as bash runs it (with npx recording its argv), parses
 *    with the REAL command line (yargs, strict, no handler run), says what it must (--lock,
 *    --stop-after package, --arch for every selected arch) and, for the build and publish lines,
 *    behaves as the workflow needs when run for real (reads the downloaded lock, stops after
 *    package, refuses to publish a release missing an arch);
 *  - one publisher per branch at a time; secrets only in the publish step's env, no job able to
 *    write the repository but publish; the build cache keyed by branch/arch and recipes/builders;
 *  - and CI runs exactly the test command README.md gives.
 *
 * Each invariant is a function returning its problems: [] for the workflow as it is, and a
 * matching problem for a deliberately broken copy (the "mutants" tests), so a check that could
 * never fail would be noticed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { buildCli } from '../../src/cli/main.js';
import { packagesDir } from '../../src/package/package-all.js';
import { lockPathFor } from '../../src/pipeline/pipeline.js';
import { RECORD_FORMAT } from '../../src/package/record.js';
import { currentReleaseTag, recordsForRelease } from '../../src/index/release-tree.js';
import { SUPPORTED_ARCHES } from '../../src/recipe/schema.js';

type Arch = (typeof SUPPORTED_ARCHES)[number];
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const CLI = join(ROOT, 'bin', 'crio-build.js');
const read = (name: string) => readFileSync(join(WORKFLOWS, name), 'utf8');

// The parser imports its JSON schema without an import attribute (it is built for bundlers); this
// loader hook adds `type: 'json'` for the parser's own .json files so Node loads it as it is.
register(
  'data:text/javascript,' +
    encodeURIComponent(
      `export async function load(url, context, next) {
        if (url.endsWith('.json') && url.includes('/@actions/')) return next(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
        return next(url, context);
      }`,
    ),
);
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import('@actions/workflow-parser');

/** GitHub's parser: schema errors from parsing, then semantic ones (cron, contexts, needs) from converting. */
async function validate(name: string, content: string): Promise<{ errors: string[]; jobs: string[] }> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const template = parsed.value ? await convertWorkflowTemplate(parsed.context, parsed.value) : undefined;
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  return { errors, jobs: template?.jobs?.map((j) => String(j.id.value)) ?? [] };
}

type Step = { name?: string; id?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string };
type Job = {
  name?: string;
  needs?: string | string[];
  if?: string;
  'runs-on': string;
  permissions?: Record<string, string>;
  strategy?: { matrix: Record<string, unknown>; 'fail-fast'?: boolean };
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
};
type Workflow = { name: string; on: Record<string, unknown>; permissions?: Record<string, string>; env?: Record<string, string>; concurrency?: unknown; jobs: Record<string, Job> };

const ci = parse(read('ci.yml')) as Workflow;
const nightly = parse(read('nightly.yml')) as Workflow;
const words = (s: string) => s.split(/[\s,]+/).filter(Boolean);
const needsOf = (j: Job | undefined) => (j?.needs === undefined ? [] : ([] as string[]).concat(j.needs)).sort();

const selectStepOf = (wf: Workflow) => wf.jobs.select?.steps.find((s) => s.id === 'select');
const ALL_BRANCHES = words(selectStepOf(nightly)!.env!.ALL_BRANCHES!);
const ALL_ARCHES = words(selectStepOf(nightly)!.env!.ALL_ARCHES!);

// ---- Finding the steps (by what they do, so a broken copy still finds them) ---------------------

const uses = (s: Step, action: string) => s.uses?.split('@')[0] === action;
const steps = (wf: Workflow, job: string) => wf.jobs[job]?.steps ?? [];
const find = (wf: Workflow, job: string, pred: (s: Step) => boolean) => steps(wf, job).find(pred);
const S = {
  plan: (wf: Workflow) => find(wf, 'resolve', (s) => /\bnpx crio-build plan\b/.test(s.run ?? '')),
  lockUpload: (wf: Workflow) => find(wf, 'resolve', (s) => uses(s, 'actions/upload-artifact')),
  lockDownload: (wf: Workflow) => find(wf, 'build', (s) => uses(s, 'actions/download-artifact')),
  cache: (wf: Workflow) => find(wf, 'build', (s) => uses(s, 'actions/cache')),
  build: (wf: Workflow) => find(wf, 'build', (s) => /\bnpx crio-build\b/.test(s.run ?? '') && !/crio-build cache/.test(s.run!)),
  packagesUpload: (wf: Workflow) => find(wf, 'build', (s) => uses(s, 'actions/upload-artifact') && String(s.with?.name).startsWith('packages-')),
  prune: (wf: Workflow) => find(wf, 'build', (s) => /\bnpx crio-build cache prune\b/.test(s.run ?? '')),
  buildManifestUpload: (wf: Workflow) => find(wf, 'build', (s) => uses(s, 'actions/upload-artifact') && !String(s.with?.name).startsWith('packages-')),
  packagesDownload: (wf: Workflow) => find(wf, 'publish', (s) => uses(s, 'actions/download-artifact')),
  move: (wf: Workflow) => find(wf, 'publish', (s) => /\bincoming\//.test(s.run ?? '')),
  publish: (wf: Workflow) => find(wf, 'publish', (s) => /\bnpx crio-build publish\b/.test(s.run ?? '')),
  publishManifestUpload: (wf: Workflow) => find(wf, 'publish', (s) => uses(s, 'actions/upload-artifact')),
};

// ---- Expressions, as the runner would give them to one matrix cell ------------------------------

interface Cell {
  branch: string;
  arch?: string;
  /** The select job's arches output (default: all). */
  arches?: string[];
  force?: boolean;
  /** The select job's runners output: each arch's runner label (default: every arch on x86). */
  runners?: Record<string, string>;
}

const X86_RUNNER = 'ubuntu-22.04';
const runnerOf = (cell: Cell) => (cell.arch ? (cell.runners ?? {})[cell.arch] ?? X86_RUNNER : X86_RUNNER);
/** runner.arch as GitHub sets it: ARM64 on its arm64 runners (labels ending in -arm), X64 on the x86 ones. */
const runnerArch = (label: string) => (/-arm(64)?$/.test(label) ? 'ARM64' : 'X64');

const RUNNER_TEMP = '/home/runner/work/_temp';

/** Expands the ${{ }} expressions this workflow uses; an unknown one throws (so a new one is looked at here). */
function expand(s: string, cell: Cell): string {
  return s.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, e: string) => {
    const secret = /^secrets\.([A-Z_]+)$/.exec(e);
    if (secret) return `test-value-of-${secret[1]}`;
    const known: Record<string, string | undefined> = {
      'matrix.branch': cell.branch,
      'matrix.arch': cell.arch,
      'inputs.force': String(cell.force ?? false),
      'runner.temp': RUNNER_TEMP,
      'runner.arch': runnerArch(runnerOf(cell)),
      'fromJSON(needs.select.outputs.runners)[matrix.arch]': cell.arch ? runnerOf(cell) : undefined,
      'github.run_id': '4242',
      "hashFiles('recipes/**', 'builders/**')": '0123abcd',
      "join(fromJSON(needs.select.outputs.arches), ' ')": (cell.arches ?? ALL_ARCHES).join(' '),
    };
    const v = known[e];
    if (v === undefined) throw new Error(`no test value for \${{ ${e} }} in a ${cell.arch ? 'branch x arch' : 'branch'} cell`);
    return v;
  });
}

const expandEnv = (env: Record<string, string> | undefined, cell: Cell) => Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, expand(String(v), cell)]));

// ---- Running a step's script as the runner does, with npx recording what it was asked ----------

const scratch = await tempDir('crio-build-workflows-');
const fakeBin = join(scratch, 'bin');
mkdirSync(fakeBin);
// Each call: its arguments NUL-terminated, then \x01.
writeFileSync(join(fakeBin, 'npx'), '#!/bin/bash\n{ printf \'%s\\0\' "$@"; printf \'\\1\'; } >> "$FAKE_NPX_LOG"\n', { mode: 0o755 });
let runs = 0;

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every npx call, its argv. */
  npx: string[][];
}

/** `shell: bash` on a runner is `bash --noprofile --norc -eo pipefail {0}`. */
function runScript(script: string, env: Record<string, string>, cwd: string): ScriptRun {
  const log = join(scratch, `npx-${++runs}.log`);
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd,
    encoding: 'utf8',
    env: { PATH: `${fakeBin}:${dirname(process.execPath)}:${process.env.PATH}`, HOME: process.env.HOME ?? '/nonexistent', ...env, FAKE_NPX_LOG: log },
  });
  const calls = existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\x01')
        .slice(0, -1)
        .map((c) => c.split('\0').slice(0, -1))
    : [];
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, npx: calls };
}

function runStep(step: Step, cell: Cell, cwd: string, env: Record<string, string> = {}): ScriptRun {
  return runScript(step.run!, { ...expandEnv(step.env, cell), ...env }, cwd);
}

// ---- The real command line, parsed without running anything -------------------------------------

class Parsed extends Error {
  constructor(readonly argv: Record<string, unknown>) {
    super('parsed');
  }
}

/**
 * crio-build's own yargs setup (strict: unknown options and commands are errors; positionals and
 * choices checked), stopped by a middleware after validation and before any command handler runs.
 */
async function dryParse(args: string[]): Promise<{ argv?: Record<string, unknown>; error?: string }> {
  try {
    await buildCli(args)
      .middleware((argv) => {
        throw new Parsed(argv as Record<string, unknown>);
      })
      .parseAsync();
    return { error: 'the command ran instead of stopping at the dry-run middleware' };
  } catch (err) {
    if (err instanceof Parsed) return { argv: err.argv };
    return { error: (err as Error).message };
  }
}

type Kind = 'plan' | 'build' | 'publish' | 'cache prune' | string;

interface Call {
  job: string;
  step: Step;
  cell: Cell;
  args: string[];
  kind: Kind;
  argv?: Record<string, unknown>;
  error?: string;
}

/** The cells a job runs: every branch (x every arch), plus --force on and a one-arch selection. */
function cellsOf(wf: Workflow, job: string): Cell[] {
  const matrix = wf.jobs[job]?.strategy?.matrix ?? {};
  const base = ALL_BRANCHES.flatMap((branch) => ('arch' in matrix ? ALL_ARCHES.map((arch) => ({ branch, arch })) : [{ branch }]));
  const first = base[0]!;
  return [...base, { ...first, force: true }, { ...first, arches: [ALL_ARCHES[0]!] }];
}

const memo = new WeakMap<Workflow, Promise<{ calls: Call[]; problems: string[] }>>();

/** Every `npx crio-build` call every script makes in every cell, dry-parsed by the real CLI. */
function crioBuildCalls(wf: Workflow): Promise<{ calls: Call[]; problems: string[] }> {
  let p = memo.get(wf);
  if (!p) {
    p = (async () => {
      const calls: Call[] = [];
      const problems: string[] = [];
      const cwd = await tempDir('crio-build-workflow-step-');
      for (const [job, j] of Object.entries(wf.jobs)) {
        for (const step of j.steps) {
          if (!/\bcrio-build\b/.test(step.run ?? '')) continue;
          const expected = (step.run!.match(/\bnpx crio-build\b/g) ?? []).length;
          for (const cell of cellsOf(wf, job)) {
            const r = runStep(step, cell, cwd);
            if (r.code !== 0) problems.push(`${job}: the script failed (${r.code}) in ${JSON.stringify(cell)}: ${r.stderr}`);
            if (r.npx.length !== expected) problems.push(`${job}: ${expected} \`npx crio-build\` in the script, ${r.npx.length} call(s) made`);
            for (const argv of r.npx) {
              if (argv[0] !== 'crio-build') {
                problems.push(`${job}: npx ${argv.join(' ')}: not crio-build`);
                continue;
              }
              const args = argv.slice(1);
              const parsed = await dryParse(args);
              const kind = parsed.argv ? ((parsed.argv._ as string[]).join(' ') || 'build') : 'unparsed';
              calls.push({ job, step, cell, args, kind, ...parsed });
              if (parsed.error) problems.push(`${job}: crio-build ${args.join(' ')}: the real CLI rejects it: ${parsed.error}`);
            }
          }
        }
      }
      return { calls, problems };
    })();
    memo.set(wf, p);
  }
  return p;
}

const callsOf = async (wf: Workflow, kind: Kind) => (await crioBuildCalls(wf)).calls.filter((c) => c.kind === kind && c.argv);
const sameCell = (a: Cell, b: Cell) => JSON.stringify(a) === JSON.stringify(b);

/** Minimatch as download-artifact uses it, for the only wildcard these patterns may use: `*`. */
function globMatches(pattern: string, name: string): boolean {
  if (/[?[\]{}!+@()\\]/.test(pattern)) throw new Error(`pattern ${pattern}: only * is understood here`);
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`).test(name);
}

/** The select step's script as the runner runs it, with these env values for the inputs and variables; its outputs parsed. */
function runSelectStep(wf: Workflow, env: Record<string, string>): { code: number | null; stdout: string; outputs: Record<string, unknown> } {
  const step = selectStepOf(wf)!;
  const out = join(scratch, `select-out-${Math.random().toString(16).slice(2)}`);
  const r = runScript(step.run!, { ...step.env, WANT_BRANCHES: '', WANT_ARCHES: '', ARM64_RUNNER_INPUT: '', ARM64_RUNNER_VAR: '', ...env, GITHUB_OUTPUT: out }, scratch);
  let outputs: Record<string, unknown> = {};
  try {
    outputs = Object.fromEntries(
      readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), JSON.parse(l.slice(l.indexOf('=') + 1))]),
    );
  } catch {
    // no outputs written
  }
  return { code: r.code, stdout: r.stdout, outputs };
}

// ---- The invariants, each returning its problems ------------------------------------------------

type Check = (wf: Workflow) => Promise<string[]>;

const SELECTED = (list: string) => `\${{ fromJSON(needs.select.outputs.${list}) }}`;
/** Runs after a failed cell of the jobs it needs (their other cells' work goes on), not after a cancel or a failed select. */
const AFTER_PARTIAL_FAILURE = "${{ !cancelled() && needs.select.result == 'success' }}";

const checks: Record<string, Check> = {
  async 'job graph'(wf) {
    const p: string[] = [];
    const { select, resolve, build, publish } = wf.jobs;
    if (Object.keys(wf.jobs).join() !== 'select,resolve,build,publish') p.push(`jobs: ${Object.keys(wf.jobs).join(', ')}`);
    if (needsOf(select).length) p.push('select needs nothing');
    if (needsOf(resolve).join() !== 'select') p.push(`resolve needs select, not [${needsOf(resolve)}]`);
    if (needsOf(build).join() !== 'resolve,select') p.push(`build needs select and resolve, not [${needsOf(build)}]`);
    if (needsOf(publish).join() !== 'build,select') p.push(`publish needs select and build, not [${needsOf(publish)}]`);
    if (resolve?.if !== undefined) p.push('resolve runs when select succeeded (the default), no if');
    // A matrix job's result is failure when any cell failed: without this, one branch's failed
    // resolve would skip every branch's build (and one failed build, every branch's publish).
    if (build?.if !== AFTER_PARTIAL_FAILURE) p.push(`build if: ${build?.if} (want ${AFTER_PARTIAL_FAILURE}: one branch's failed resolve must not skip the other branches' builds)`);
    if (publish?.if !== AFTER_PARTIAL_FAILURE) p.push(`publish if: ${publish?.if} (want ${AFTER_PARTIAL_FAILURE}: a failed build cell must not stop the other branches' publish)`);
    return p;
  },

  async 'matrices from the select outputs, fail-fast off'(wf) {
    const p: string[] = [];
    const want: Record<string, Record<string, string>> = {
      resolve: { branch: SELECTED('branches') },
      build: { branch: SELECTED('branches'), arch: SELECTED('arches') },
      publish: { branch: SELECTED('branches') },
    };
    for (const [job, matrix] of Object.entries(want)) {
      const s = wf.jobs[job]?.strategy;
      if (JSON.stringify(s?.matrix) !== JSON.stringify(matrix)) p.push(`${job} matrix: ${JSON.stringify(s?.matrix)} (want ${JSON.stringify(matrix)})`);
      if (s?.['fail-fast'] !== false) p.push(`${job}: fail-fast must be false (one branch or arch failing does not cancel the others)`);
    }
    const select = wf.jobs.select;
    if (JSON.stringify(select?.outputs) !== JSON.stringify({ branches: '${{ steps.select.outputs.branches }}', arches: '${{ steps.select.outputs.arches }}', runners: '${{ steps.select.outputs.runners }}' })) p.push(`select outputs: ${JSON.stringify(select?.outputs)}`);
    const env = selectStepOf(wf)?.env ?? {};
    if (env.WANT_BRANCHES !== '${{ inputs.branches }}' || env.WANT_ARCHES !== '${{ inputs.arches }}') p.push('the select step reads the dispatch inputs');
    return p;
  },

  async 'arm64 builds on a native arm64 runner when the input or the repository variable names one, else cross on x86 with qemu'(wf) {
    const p: string[] = [];
    const env = selectStepOf(wf)?.env ?? {};
    if (env.ARM64_RUNNER_INPUT !== '${{ inputs.arm64-runner }}' || env.ARM64_RUNNER_VAR !== '${{ vars.ARM64_RUNNER }}') p.push(`the select step reads the arm64-runner input and the ARM64_RUNNER variable: ${JSON.stringify(env)}`);
    const qemu = find(wf, 'build', (s) => uses(s, 'docker/setup-qemu-action'));
    // Each way of choosing, through the real select script, then the build cells it gives.
    for (const [input, variable, arm64] of [
      ['', '', X86_RUNNER],
      ['', 'ubuntu-24.04-arm', 'ubuntu-24.04-arm'],
      ['cross', 'ubuntu-24.04-arm', X86_RUNNER],
      ['ubuntu-24.04-arm', '', 'ubuntu-24.04-arm'],
    ] as const) {
      const sel = runSelectStep(wf, { ARM64_RUNNER_INPUT: input, ARM64_RUNNER_VAR: variable });
      const runners = sel.outputs.runners as Record<string, string> | undefined;
      const how = `input ${JSON.stringify(input)}, variable ${JSON.stringify(variable)}`;
      if (sel.code !== 0 || JSON.stringify(runners) !== JSON.stringify({ arm64, amd64: X86_RUNNER })) {
        p.push(`${how}: select gives runners ${JSON.stringify(runners)} (exit ${sel.code}), want arm64 on ${arm64}, amd64 on ${X86_RUNNER}`);
        continue;
      }
      for (const arch of ALL_ARCHES) {
        const cell: Cell = { branch: ALL_BRANCHES[0]!, arch, runners };
        const runsOn = (() => {
          try {
            return expand(String(wf.jobs.build?.['runs-on']), cell);
          } catch (err) {
            return `unknown (${(err as Error).message})`;
          }
        })();
        if (runsOn !== runners![arch]) p.push(`${how}: the ${arch} build runs on ${runsOn}, want ${runners![arch]}`);
        // qemu where the runner is x86 (arm64 cross builds run arm64 tools), never on a native arm64 runner.
        const onX64 = "${{ runner.arch == 'X64' }}";
        if (qemu?.if !== undefined && qemu.if !== onX64) p.push(`the qemu step's if: ${qemu.if} (want ${onX64})`);
        const qemuRuns = qemu !== undefined && (qemu.if === undefined || runnerArch(runsOn) === 'X64');
        if (qemuRuns !== (runnerArch(runsOn) === 'X64')) p.push(`${how}: qemu set up ${qemuRuns ? 'on' : 'not on'} the ${arch} build's ${runsOn} runner`);
      }
    }
    const bad = runSelectStep(wf, { ARM64_RUNNER_INPUT: 'ubuntu-24.04-arm; rm -rf /', ARM64_RUNNER_VAR: '' });
    if (bad.code === 0 || !/::error::arm64 runner/.test(bad.stdout)) p.push(`a bad runner label is refused by select: exit ${bad.code}`);
    return p;
  },

  async 'the lock record: resolve uploads it, every build of the branch reads it'(wf) {
    const p: string[] = [];
    const up = S.lockUpload(wf);
    const down = S.lockDownload(wf);
    if (!up || !down) return ['resolve uploads and build downloads the lock'];
    if (up.with?.name !== down.with?.name) p.push(`artifact names differ: resolve uploads ${up.with?.name}, build downloads ${down.with?.name}`);
    if (!String(up.with?.name).includes('${{ matrix.branch }}')) p.push(`one lock artifact per branch (upload-artifact@v4 names are unique per run): ${up.with?.name}`);
    if (down.with?.pattern !== undefined || down.with?.name === undefined) p.push('the build downloads its lock by name (extracted into path as it is)');
    if (up.with?.['if-no-files-found'] !== 'error') p.push('a resolve that wrote no lock fails its upload');
    const resolveSteps = steps(wf, 'resolve');
    if (resolveSteps.indexOf(up) < resolveSteps.indexOf(S.plan(wf)!)) p.push('the lock is uploaded after plan wrote it');
    const buildSteps = steps(wf, 'build');
    if (!(buildSteps.indexOf(down) < buildSteps.indexOf(S.build(wf)!))) p.push('the lock is downloaded before the build reads it');
    for (const plan of await callsOf(wf, 'plan')) {
      const written = lockPathFor(String(plan.argv!.artifacts), plan.cell.branch);
      const uploaded = expand(String(up.with?.path), plan.cell);
      if (uploaded !== written) p.push(`${plan.cell.branch}: plan writes ${written}, resolve uploads ${uploaded}`);
    }
    for (const b of await callsOf(wf, 'build')) {
      // A one-file artifact holds the file at its root; download-by-name extracts it into path.
      const arrives = join(expand(String(down.with?.path), b.cell), basename(expand(String(up.with?.path), b.cell)));
      if (b.argv!.lock !== arrives) p.push(`${b.cell.branch}/${b.cell.arch}: the lock arrives at ${arrives}, the build reads --lock ${b.argv!.lock}`);
    }
    return p;
  },

  async 'the packages: each build uploads them, its branch publish gets every arch and puts them back'(wf) {
    const p: string[] = [];
    const up = S.packagesUpload(wf);
    const down = S.packagesDownload(wf);
    const move = S.move(wf);
    if (!up || !down || !move) return ['build uploads the packages, publish downloads and moves them'];
    if (up.with?.['if-no-files-found'] !== 'error') p.push('a build that packaged nothing fails its upload');
    // download-artifact@v4 extracts each artifact a pattern matches into <path>/<artifact name>/,
    // even a single match (later majors extract a single match straight into <path>; then the move
    // step below must change). No merge-multiple: it would mix the arches' release.json.
    if (down.uses !== 'actions/download-artifact@v4' || down.with?.['merge-multiple'] !== undefined || down.with?.name !== undefined) p.push(`publish downloads by pattern with download-artifact@v4, each artifact in its own directory: ${JSON.stringify(down)}`);
    for (const b of await callsOf(wf, 'build')) {
      const made = packagesDir(String(b.argv!.artifacts), b.cell.branch, b.cell.arch as Arch);
      const uploaded = expand(String(up.with?.path), b.cell);
      if (uploaded !== made) p.push(`${b.cell.branch}/${b.cell.arch}: the build packages into ${made}, the upload takes ${uploaded}`);
    }
    // Every artifact name a run can have, and which of them each branch's publish downloads.
    const uploads = Object.entries(wf.jobs).flatMap(([job, j]) => j.steps.filter((s) => uses(s, 'actions/upload-artifact')).flatMap((s) => cellsOf(wf, job).map((cell) => ({ s, cell, name: expand(String(s.with?.name), cell) }))));
    for (const branch of ALL_BRANCHES) {
      const pattern = expand(String(down.with?.pattern), { branch });
      const got = [...new Set(uploads.filter((u) => globMatches(pattern, u.name)).map((u) => u.name))].sort();
      const want = ALL_ARCHES.map((arch) => expand(String(up.with?.name), { branch, arch })).sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) p.push(`${branch}: publish downloads ${pattern} = [${got}], want its packages of every arch [${want}]`);
    }
    // The move step, run on what download-artifact@v4 leaves; then crio-build's own reader.
    const publishCall = (await callsOf(wf, 'publish'))[0];
    const artifacts = String(publishCall?.argv?.artifacts ?? 'artifacts');
    for (const arches of [ALL_ARCHES, [ALL_ARCHES[0]!]]) {
      const branch = ALL_BRANCHES[ALL_BRANCHES.length - 1]!;
      const cwd = await tempDir('crio-build-move-');
      for (const arch of arches) {
        const dir = join(cwd, expand(String(down.with?.path), { branch }), expand(String(up.with?.name), { branch, arch }));
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'release.json'), JSON.stringify(fakeRecord(branch, arch)));
        writeFileSync(join(dir, `cri-o_1.0_${arch}.deb`), arch);
      }
      const r = runStep(move, { branch }, cwd);
      if (r.code !== 0) p.push(`the move step failed (${r.code}): ${r.stderr}`);
      for (const arch of arches) {
        const at = join(cwd, packagesDir(artifacts, branch, arch as Arch));
        if (!existsSync(join(at, 'release.json')) || !existsSync(join(at, `cri-o_1.0_${arch}.deb`))) p.push(`${branch}/${arch}: the packages are not in ${at} after the move step`);
      }
      const found = (await recordsForRelease(join(cwd, artifacts), branch, `nightly-${branch}`)).map((x) => x.arch);
      if (JSON.stringify(found) !== JSON.stringify(arches) || (await currentReleaseTag(join(cwd, artifacts), branch)) !== `nightly-${branch}`) p.push(`crio-build publish finds [${found}] of [${arches}] after the move step`);
    }
    return p;
  },

  async 'the manifests are uploaded, also after a failure'(wf) {
    const p: string[] = [];
    for (const [kind, upload, cell] of [
      ['build', S.buildManifestUpload(wf), { branch: 'the-branch', arch: 'the-arch' }],
      ['publish', S.publishManifestUpload(wf), { branch: 'the-branch' }],
    ] as const) {
      const call = (await callsOf(wf, kind))[0];
      if (!upload || !call) {
        p.push(`${kind}: a manifest upload`);
        continue;
      }
      if (upload.with?.path !== call.argv!.manifest) p.push(`${kind}: writes --manifest ${call.argv!.manifest}, uploads ${upload.with?.path}`);
      if (upload.if !== '${{ !cancelled() }}') p.push(`${kind}: the manifest upload runs when the job failed too (if: \${{ !cancelled() }}), not ${upload.if}`);
      const name = expand(String(upload.with?.name), cell);
      if (!name.includes(cell.branch) || ('arch' in cell && !name.includes(cell.arch))) p.push(`${kind}: one manifest artifact per cell: ${upload.with?.name}`);
    }
    return p;
  },

  async 'every crio-build line parses with the real CLI and says what the job needs'(wf) {
    const { calls, problems } = await crioBuildCalls(wf);
    const p = [...problems];
    const kinds = (job: string) => [...new Set(calls.filter((c) => c.job === job).map((c) => c.kind))].sort().join(', ');
    for (const [job, want] of [
      ['resolve', 'plan'],
      ['build', 'build, cache prune'],
      ['publish', 'publish'],
    ]) {
      if (kinds(job!) !== want) p.push(`${job} runs crio-build [${kinds(job!)}], want [${want}]`);
    }
    for (const c of calls) {
      if (!c.argv) continue;
      const a = c.argv;
      const where = `${c.job} ${JSON.stringify(c.cell)}: crio-build ${c.args.join(' ')}`;
      const want = (ok: boolean, what: string) => ok || p.push(`${where}: ${what}`);
      if (c.kind === 'plan') {
        want(a.branch === c.cell.branch, 'plans the cell branch');
        want((SUPPORTED_ARCHES as readonly unknown[]).includes(a.arch), 'a supported arch (the lock is the same for every arch)');
      } else if (c.kind === 'build') {
        want(a.branch === c.cell.branch && a.arch === c.cell.arch, "builds the cell's branch and arch");
        want(typeof a.lock === 'string', 'builds from the lock record (--lock), so every arch of a branch has the same commits');
        want(a['stop-after'] === 'package', 'stops after package (--stop-after package): the publish job indexes and publishes');
        want(a.publish === false, 'does not publish');
        want(a.force === (c.cell.force ?? false), `--force exactly when the force input is true (got ${a.force})`);
        want(typeof a.manifest === 'string', 'writes a manifest');
      } else if (c.kind === 'publish') {
        want(a.branch === c.cell.branch, 'publishes the cell branch');
        want(JSON.stringify(a.arch) === JSON.stringify(c.cell.arches ?? ALL_ARCHES), `--arch for every selected arch, so a missing one refuses instead of being dropped (got ${JSON.stringify(a.arch)})`);
        want(typeof a.manifest === 'string', 'writes a manifest');
      } else if (c.kind === 'cache prune') {
        want(/^\d+$/.test(String(a['older-than'])), 'prunes by age (--older-than DAYS)');
      } else p.push(`${where}: a command this test does not know (${c.kind})`);
    }
    return p;
  },

  async 'one publisher per branch at a time, never cancelled'(wf) {
    const p: string[] = [];
    const c = wf.jobs.publish?.concurrency;
    if (!c || !/\$\{\{\s*matrix\.branch\s*\}\}/.test(c.group) || !c.group.startsWith('nightly-')) p.push(`publish concurrency group per branch: ${JSON.stringify(c)}`);
    if (c?.['cancel-in-progress'] !== false) p.push('publish concurrency: cancel-in-progress false (a cancelled publish can leave a release half synced)');
    if (wf.concurrency !== undefined) p.push('no workflow-level concurrency (a dispatch would cancel or queue behind the whole nightly)');
    return p;
  },

  async 'the build cache: keyed by branch, arch, recipes and builders; the dir the CLI uses'(wf) {
    const p: string[] = [];
    const cache = S.cache(wf);
    if (!cache) return ['the build job restores the crio-build cache'];
    const w = cache.with as { path: string; key: string; 'restore-keys': string };
    for (const part of ['${{ matrix.branch }}', '${{ matrix.arch }}', '${{ runner.arch }}', "${{ hashFiles('recipes/**', 'builders/**') }}"]) if (!w.key.includes(part)) p.push(`cache key has ${part}: ${w.key}`);
    const restore = String(w['restore-keys'] ?? '')
      .split('\n')
      .map((k) => k.trim())
      .filter(Boolean);
    if (!restore.length || !restore.every((k) => w.key.startsWith(k))) p.push('restore keys are prefixes of the key');
    if (!restore.every((k) => k.includes('${{ matrix.branch }}-${{ matrix.arch }}-${{ runner.arch }}-'))) p.push('restore keys stay within the branch/arch and the runner\'s arch (another arch\'s builds, or a native arm64 one for a cross one, are no use)');
    for (const step of [S.build(wf), S.prune(wf)]) if (step?.env?.CRIO_BUILD_CACHE !== w.path) p.push(`${step?.name ?? step?.run}: CRIO_BUILD_CACHE is the restored and saved ${w.path}, not ${step?.env?.CRIO_BUILD_CACHE}`);
    const order = steps(wf, 'build');
    if (!(order.indexOf(cache) < order.indexOf(S.build(wf)!) && order.indexOf(S.build(wf)!) < order.indexOf(S.prune(wf)!))) p.push('cache restored before the build, pruned after it (before the post step saves it)');
    for (const job of ['select', 'resolve', 'publish']) if (steps(wf, job).some((s) => uses(s, 'actions/cache'))) p.push(`${job}: no build cache`);
    return p;
  },

  async 'secrets only in the publish step, write access only in the publish job'(wf) {
    return [...secretProblems(wf, { job: 'publish', step: S.publish(wf) }), ...permissionProblems(wf)];
  },
};

function fakeRecord(branch: string, arch: string) {
  return { format: RECORD_FORMAT, branch, arch, releaseTag: `nightly-${branch}`, nightly: true, packagedAt: new Date().toISOString(), artifacts: [] };
}

/** Every string in the workflow with its path. */
function* strings(v: unknown, path: string[] = []): Generator<[string[], string]> {
  if (typeof v === 'string') yield [path, v];
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) yield* strings(x, [...path, String(i)]);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) yield* strings(x, [...path, k]);
}

const SECRET_HOLDERS = ['CRIO_BUILD_SIGNING_KEY', 'CRIO_BUILD_SIGNING_PASSPHRASE', 'GITHUB_TOKEN'];

/**
 * Secrets (and the automatic token, github.token) only in one step's env, each value exactly one
 * secret; no script names a variable holding one or could print the environment; no script has a
 * ${{ }} in it (inputs and secrets reach scripts through env, never spliced into bash).
 */
function secretProblems(wf: Workflow, allowed?: { job: string; step: Step | undefined }): string[] {
  const p: string[] = [];
  const holders: string[] = [];
  for (const [path, value] of strings(wf)) {
    if (!/\bsecrets\.|\bgithub\.token\b/.test(value)) continue;
    const at = path.join('.');
    if (!(path.length === 6 && path[0] === 'jobs' && path[2] === 'steps' && path[4] === 'env')) {
      p.push(`a secret outside a step's env: ${at}`);
      continue;
    }
    const step = wf.jobs[path[1]!]!.steps[Number(path[3])];
    if (!allowed || path[1] !== allowed.job || step !== allowed.step) p.push(`a secret in ${at}: only the ${allowed ? `${allowed.job} job's publish step` : 'no step'} may have one`);
    if (!/^\$\{\{ secrets\.[A-Z_]+ \}\}$/.test(value)) p.push(`${at} is exactly one secret: ${value}`);
    holders.push(path[5]!);
  }
  for (const [path, value] of strings(wf)) {
    if (path[path.length - 1] !== 'run') continue;
    for (const h of new Set([...holders, ...SECRET_HOLDERS])) if (value.includes(h)) p.push(`${path.join('.')} mentions ${h}`);
    if (/set -x|set -o xtrace|\benv\b\s*$|printenv|export -p|declare -p/m.test(value)) p.push(`${path.join('.')} could print the environment`);
    if (value.includes('${{')) p.push(`${path.join('.')} has a \${{ }} in the script (use env)`);
  }
  if (wf.env !== undefined) p.push('no workflow-level env');
  for (const [job, j] of Object.entries(wf.jobs)) {
    if (j.env !== undefined) p.push(`${job}: no job-level env`);
    for (const s of j.steps) if (s.run?.trim() === 'npm ci' && s.env !== undefined) p.push(`${job}: npm ci (which runs install scripts of dependencies) has no env`);
  }
  const want = allowed ? SECRET_HOLDERS : [];
  if (JSON.stringify(holders.sort()) !== JSON.stringify(want)) p.push(`secrets held in [${holders}], want [${want}]`);
  return p;
}

/** Read-only token everywhere but the publish job, and no checkout leaving it in .git/config. */
function permissionProblems(wf: Workflow): string[] {
  const p: string[] = [];
  if (JSON.stringify(wf.permissions) !== JSON.stringify({ contents: 'read' })) p.push(`workflow permissions ${JSON.stringify(wf.permissions)}: want { contents: read } (write only where publishing)`);
  for (const [job, j] of Object.entries(wf.jobs)) {
    const want = job === 'publish' ? { contents: 'write' } : undefined;
    if (JSON.stringify(j.permissions) !== JSON.stringify(want)) p.push(`${job} permissions ${JSON.stringify(j.permissions)}, want ${JSON.stringify(want)}`);
    for (const s of j.steps) if (uses(s, 'actions/checkout') && s.with?.['persist-credentials'] !== false) p.push(`${job}: checkout with persist-credentials: false (npm ci and builds run after it)`);
  }
  return p;
}

// ---- The tests ----------------------------------------------------------------------------------

describe('GitHub workflow parser', () => {
  for (const name of ['ci.yml', 'nightly.yml']) {
    test(`${name} has no errors`, async () => {
      const r = await validate(name, read(name));
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.jobs, Object.keys(name === 'ci.yml' ? ci.jobs : nightly.jobs));
    });
  }

  test('every workflow in .github/workflows is one of them', () => {
    assert.deepEqual(readdirSync(WORKFLOWS).sort(), ['ci.yml', 'nightly.yml']);
  });

  test('reports broken workflows (so a clean result above means something)', async () => {
    const ok = 'jobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n      - run: echo hi\n';
    assert.deepEqual((await validate('ok.yml', `on: push\n${ok}`)).errors, [], 'the baseline is valid');
    const cases: [string, string, RegExp][] = [
      ['unknown event in on', `on: [pushy]\n${ok}`, /Line: 1.*Unexpected value 'pushy'/],
      ['on missing', ok, /Required property is missing: on/],
      ['on is a number', `on: 5\n${ok}`, /Line: 1/],
      ['unknown job key', 'on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n    steps:\n      - run: echo\n', /Line: 5.*Unexpected value 'stepz'/],
      ['bad cron', 'on:\n  schedule:\n    - cron: "99 * * * *"\n' + ok, /Invalid cron expression/],
      ['matrix in a workflow-level concurrency group', `on: push\nconcurrency: { group: "x-\${{ matrix.branch }}" }\n${ok}`, /Unrecognized named-value: 'matrix'/],
      ['matrix in a job-level if (evaluated before the matrix expands)', 'on: push\njobs:\n  a:\n    if: matrix.branch\n    strategy: { matrix: { branch: [x] } }\n    runs-on: x\n    steps:\n      - run: echo\n', /Unrecognized named-value: 'matrix'/],
      ['secrets where they are not allowed', 'on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n        if: secrets.X\n', /Unrecognized named-value: 'secrets'/],
      ['a job needing a missing job', 'on: push\njobs:\n  a:\n    needs: nope\n    runs-on: x\n    steps:\n      - run: echo\n', /at least one job with no dependencies/],
    ];
    for (const [what, content, re] of cases) {
      const r = await validate('broken.yml', content);
      assert.ok(r.errors.some((e) => re.test(e)), `${what}: expected ${re}, got ${JSON.stringify(r.errors)}`);
    }
  });
});

describe('nightly.yml', () => {
  test('runs nightly on a schedule and by hand with branches, arches and force inputs', () => {
    const on = nightly.on as { schedule: { cron: string }[]; workflow_dispatch: { inputs: Record<string, { type: string; default: unknown }> } };
    assert.equal(on.schedule.length, 1);
    const [min, hour, dom, mon, dow] = words(on.schedule[0]!.cron);
    assert.ok(/^\d+$/.test(min!) && /^\d+$/.test(hour!) && dom === '*' && mon === '*' && dow === '*', `once a day: ${on.schedule[0]!.cron}`);
    assert.deepEqual(Object.keys(nightly.on).sort(), ['schedule', 'workflow_dispatch']);
    const inputs = on.workflow_dispatch.inputs;
    assert.deepEqual(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, [v.type, v.default]])), { branches: ['string', ''], arches: ['string', ''], force: ['boolean', false], 'arm64-runner': ['string', ''] });
  });

  test('the matrix lists are exactly the branch recipes and SUPPORTED_ARCHES', () => {
    const recipes = readdirSync(join(ROOT, 'recipes', 'branches'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    assert.deepEqual([...ALL_BRANCHES].sort(), [...recipes].sort(), 'every matrix branch has recipes/branches/<b>.yaml and every recipe is built');
    for (const b of recipes) assert.equal((parse(readFileSync(join(ROOT, 'recipes', 'branches', `${b}.yaml`), 'utf8')) as { name: string }).name, b);
    assert.deepEqual(ALL_ARCHES, [...SUPPORTED_ARCHES]);
  });

  test("the select step's script, run as the runner runs it: all by default, the inputs checked otherwise", async () => {
    const runSelect = (wantBranches: string, wantArches: string) => runSelectStep(nightly, { WANT_BRANCHES: wantBranches, WANT_ARCHES: wantArches });
    const all = runSelect('', '');
    assert.equal(all.code, 0, all.stdout);
    assert.deepEqual(all.outputs, { branches: ALL_BRANCHES, arches: [...SUPPORTED_ARCHES], runners: { arm64: X86_RUNNER, amd64: X86_RUNNER } });

    const some = runSelect('main, release-1.18', 'arm64');
    assert.equal(some.code, 0);
    assert.deepEqual(some.outputs, { branches: ['release-1.18', 'main'], arches: ['arm64'], runners: { arm64: X86_RUNNER, amd64: X86_RUNNER } });

    const bad = runSelect('release-1.99 main', 'riscv64');
    assert.equal(bad.code, 1);
    assert.deepEqual(bad.outputs, {}, 'no matrix for bad inputs');
    assert.match(bad.stdout, /::error::unknown branches: release-1\.99 \(allowed: release-1\.13, .*, main\)/);
    assert.match(bad.stdout, /::error::unknown arches: riscv64 \(allowed: arm64, amd64\)/);
  });

  for (const [name, check] of Object.entries(checks)) {
    test(name, async () => {
      assert.deepEqual(await check(nightly), []);
    });
  }

  test('steps of each job, in order; actions pinned by major; Node 20', () => {
    const at = (job: string, pred: (s: Step) => boolean) => steps(nightly, job).findIndex(pred);
    const inOrder = (job: string, preds: [string, (s: Step) => boolean][]) => {
      const order = preds.map(([, f]) => at(job, f));
      assert.ok(order.every((i) => i >= 0), `${job}: all of ${preds.map(([w]) => w).join(', ')} present: ${order}`);
      assert.deepEqual([...order].sort((a, b) => a - b), order, `${job}: in order ${preds.map(([w]) => w).join(', ')}: ${order}`);
    };
    const is = (s: Step | undefined) => (x: Step) => x === s;
    const npmCi = (s: Step) => s.run === 'npm ci';
    const checkout: [string, (s: Step) => boolean] = ['checkout', (s) => s.uses === 'actions/checkout@v4'];
    const node: [string, (s: Step) => boolean] = ['setup-node', (s) => s.uses === 'actions/setup-node@v4'];
    inOrder('resolve', [checkout, node, ['npm ci', npmCi], ['plan', is(S.plan(nightly))], ['lock upload', is(S.lockUpload(nightly))]]);
    inOrder('build', [
      checkout,
      node,
      ['qemu', (s) => s.uses === 'docker/setup-qemu-action@v3'],
      ['cache', is(S.cache(nightly))],
      ['npm ci', npmCi],
      ['lock download', is(S.lockDownload(nightly))],
      ['build', is(S.build(nightly))],
      ['packages upload', is(S.packagesUpload(nightly))],
      ['prune', is(S.prune(nightly))],
      ['manifest upload', is(S.buildManifestUpload(nightly))],
    ]);
    inOrder('publish', [checkout, node, ['npm ci', npmCi], ['download', is(S.packagesDownload(nightly))], ['move', is(S.move(nightly))], ['publish', is(S.publish(nightly))], ['manifest upload', is(S.publishManifestUpload(nightly))]]);

    const used = (job: string) => steps(nightly, job).flatMap((s) => (s.uses ? [s.uses] : []));
    assert.deepEqual(used('select'), []);
    assert.deepEqual(used('resolve'), ['actions/checkout@v4', 'actions/setup-node@v4', 'actions/upload-artifact@v4']);
    assert.deepEqual(used('build'), ['actions/checkout@v4', 'actions/setup-node@v4', 'docker/setup-qemu-action@v3', 'actions/cache@v4', 'actions/download-artifact@v4', 'actions/upload-artifact@v4', 'actions/upload-artifact@v4']);
    assert.deepEqual(used('publish'), ['actions/checkout@v4', 'actions/setup-node@v4', 'actions/download-artifact@v4', 'actions/upload-artifact@v4']);
    for (const wf of [nightly, ci]) for (const j of Object.values(wf.jobs)) for (const s of j.steps) if (s.uses) assert.match(s.uses, /^[a-z0-9-]+\/[a-z0-9-]+@v\d+$/, 'actions pinned by major version');
    for (const job of ['resolve', 'build', 'publish']) {
      const setup = find(nightly, job, (s) => uses(s, 'actions/setup-node'))!;
      assert.equal(String(setup.with!['node-version']), '20', job);
      assert.equal(setup.with!.cache, 'npm', job);
    }
    assert.equal(find(nightly, 'build', (s) => uses(s, 'docker/setup-qemu-action'))!.with!.platforms, 'arm64');
    for (const [job, j] of Object.entries(nightly.jobs)) assert.equal(j['runs-on'], job === 'build' ? '${{ fromJSON(needs.select.outputs.runners)[matrix.arch] }}' : X86_RUNNER, job);
  });

  test('every crio-build command form: --help on the real CLI exits 0 and lists each option the workflow passes', async () => {
    const { calls } = await crioBuildCalls(nightly);
    const forms = new Map<string, string[]>();
    for (const c of calls) if (!forms.has(c.kind) || c.args.length > forms.get(c.kind)!.length) forms.set(c.kind, c.args);
    assert.deepEqual([...forms.keys()].sort(), ['build', 'cache prune', 'plan', 'publish']);
    const help = (args: string[]) => {
      const r = spawnSync(process.execPath, [CLI, ...args, '--help'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `crio-build ${args.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, /^Options:$/m);
      return r.stdout;
    };
    for (const [kind, args] of forms) {
      help(args);
      // The listing from the command's own help: yargs leaves out of --help a hyphenated option
      // already given a value on the line (--stop-after package --help lists no --stop-after).
      const command = args.slice(0, args.findIndex((a) => a.startsWith('--')));
      const text = help(command);
      const options = args.filter((a) => a.startsWith('--'));
      assert.ok(options.length > 0, kind);
      for (const o of options) assert.match(text, new RegExp(`^\\s+(-\\w, )?${o}\\s`, 'm'), `crio-build ${command.join(' ')} --help lists ${o}`);
    }
    // All together: the options the workflow relies on.
    const all = new Set(calls.flatMap((c) => c.args.filter((a) => a.startsWith('--'))));
    for (const o of ['--stop-after', '--lock', '--manifest', '--arch', '--older-than', '--force', '--artifacts']) assert.ok(all.has(o), `the workflow passes ${o}`);
  });

  test("the build line, run for real: reads the lock where the download put it, stops after package, writes the manifest", async () => {
    const call = (await callsOf(nightly, 'build')).find((c) => c.cell.arch === 'amd64' && !c.cell.force)!;
    const cwd = await tempDir('crio-build-workflow-build-');
    // No lock downloaded: the run gets as far as reading it (arguments, arch and stage checked,
    // run locks taken) and stops there, before anything touches the network or Docker.
    const env = { ...process.env, ...expandEnv(S.build(nightly)!.env, call.cell), CRIO_BUILD_CACHE: join(cwd, 'cache'), XDG_CONFIG_HOME: '/nonexistent-crio-build-test', CRIO_BUILD_CONFIG: '' };
    const r = spawnSync(process.execPath, [CLI, ...call.args], { cwd, encoding: 'utf8', env });
    const lock = join(expand(String(S.lockDownload(nightly)!.with!.path), call.cell), 'crio-build.lock.json');
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`crio-build: error: ${lock.replace(/\./g, '\\.')}: no such file`));
    const manifest = JSON.parse(readFileSync(join(cwd, String(call.argv!.manifest)), 'utf8')) as { ok: boolean; jobs: { id: string; state: string }[] };
    assert.equal(manifest.ok, false);
    assert.deepEqual(
      manifest.jobs.map((j) => [j.id, j.state]),
      ['resolve', 'plan', 'fetch', 'build', 'package'].map((s, i) => [`${call.cell.branch}/amd64 ${s}`, i === 0 ? 'failed' : 'skipped']),
      'the run ends with package: no index or publish job',
    );
  });

  test('the publish line, run for real after the move step: refuses a release an arch is missing from', async () => {
    const branch = ALL_BRANCHES[0]!;
    const cwd = await tempDir('crio-build-workflow-publish-');
    // amd64's build failed: only arm64's packages were uploaded.
    const incoming = join(cwd, String(S.packagesDownload(nightly)!.with!.path), expand(String(S.packagesUpload(nightly)!.with!.name), { branch, arch: 'arm64' }));
    mkdirSync(incoming, { recursive: true });
    writeFileSync(join(incoming, 'release.json'), JSON.stringify(fakeRecord(branch, 'arm64')));
    assert.equal(runStep(S.move(nightly)!, { branch }, cwd).code, 0);
    const call = (await callsOf(nightly, 'publish')).find((c) => c.cell.branch === branch && !c.cell.arches)!;
    // Without GITHUB_TOKEN (the directory publisher): the refusal comes before anything is published.
    const env: NodeJS.ProcessEnv = { ...process.env, ...expandEnv(S.publish(nightly)!.env, call.cell), CRIO_BUILD_CACHE: join(cwd, 'cache'), XDG_CONFIG_HOME: '/nonexistent-crio-build-test', CRIO_BUILD_CONFIG: '' };
    for (const k of SECRET_HOLDERS) delete env[k];
    const r = spawnSync(process.execPath, [CLI, ...call.args], { cwd, encoding: 'utf8', env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`nightly-${branch.replace(/\./g, '\\.')}: amd64 not packaged for this release \\(have: arm64\\); not publishing`));
    assert.ok(!existsSync(join(cwd, 'artifacts', 'releases')), 'no release directory made');
  });

  test('the cache prune line, run for real (dry run) on an empty cache', async () => {
    const call = (await callsOf(nightly, 'cache prune'))[0]!;
    const cache = await tempDir();
    const r = spawnSync(process.execPath, [CLI, ...call.args, '--dry-run'], { encoding: 'utf8', env: { ...process.env, CRIO_BUILD_CACHE: cache, XDG_CONFIG_HOME: '/nonexistent-crio-build-test', CRIO_BUILD_CONFIG: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Would remove 0 entries/);
  });
});

describe('nightly.yml mutants: each check catches its breakage', () => {
  const edit = (step: Step | undefined, from: string | RegExp, to: string) => {
    assert.ok(step?.run, 'the step to edit');
    const after = step.run.replace(from, to);
    assert.notEqual(after, step.run, `the mutation applies: ${from}`);
    step.run = after;
  };
  const mutants: [string, (wf: Workflow) => void, string, RegExp][] = [
    ['publish without the !cancelled() condition', (wf) => delete wf.jobs.publish!.if, 'job graph', /publish if: undefined/],
    ['build with the default if (skipped on any failed resolve)', (wf) => delete wf.jobs.build!.if, 'job graph', /one branch's failed resolve/],
    ['publish not waiting for build', (wf) => (wf.jobs.publish!.needs = ['select']), 'job graph', /publish needs select and build/],
    ['build not waiting for resolve', (wf) => (wf.jobs.build!.needs = 'select'), 'job graph', /build needs select and resolve/],
    ['the build matrix without arches', (wf) => delete wf.jobs.build!.strategy!.matrix.arch, 'matrices from the select outputs, fail-fast off', /build matrix/],
    ['resolve over the raw input', (wf) => (wf.jobs.resolve!.strategy!.matrix.branch = '${{ fromJSON(inputs.branches) }}'), 'matrices from the select outputs, fail-fast off', /resolve matrix/],
    ['arm64 always on x86', (wf) => (wf.jobs.build!['runs-on'] = 'ubuntu-22.04'), 'arm64 builds on a native arm64 runner when the input or the repository variable names one, else cross on x86 with qemu', /the arm64 build runs on ubuntu-22\.04, want ubuntu-24\.04-arm/],
    ['qemu on the native arm64 runner too', (wf) => delete find(wf, 'build', (s) => uses(s, 'docker/setup-qemu-action'))!.if, 'arm64 builds on a native arm64 runner when the input or the repository variable names one, else cross on x86 with qemu', /qemu set up on the arm64 build's ubuntu-24\.04-arm runner/],
    ['the repository variable ignored', (wf) => (selectStepOf(wf)!.env!.ARM64_RUNNER_VAR = ''), 'arm64 builds on a native arm64 runner when the input or the repository variable names one, else cross on x86 with qemu', /reads the arm64-runner input and the ARM64_RUNNER variable/],
    ['the variable winning over the input', (wf) => edit(selectStepOf(wf), 'process.env.ARM64_RUNNER_INPUT || process.env.ARM64_RUNNER_VAR', 'process.env.ARM64_RUNNER_VAR || process.env.ARM64_RUNNER_INPUT'), 'arm64 builds on a native arm64 runner when the input or the repository variable names one, else cross on x86 with qemu', /input "cross", variable "ubuntu-24\.04-arm": select gives runners/],
    ['a cache shared by native and cross builds', (wf) => (S.cache(wf)!.with!.key = String(S.cache(wf)!.with!.key).replace('-${{ runner.arch }}', '')), 'the build cache: keyed by branch, arch, recipes and builders; the dir the CLI uses', /cache key has \$\{\{ runner\.arch \}\}/],
    ['build fail-fast', (wf) => (wf.jobs.build!.strategy!['fail-fast'] = true), 'matrices from the select outputs, fail-fast off', /build: fail-fast/],
    ['the lock downloaded under another name', (wf) => (S.lockDownload(wf)!.with!.name = 'lock-${{ matrix.arch }}'), 'the lock record: resolve uploads it, every build of the branch reads it', /artifact names differ/],
    ['the lock uploaded from where plan does not write it', (wf) => (S.lockUpload(wf)!.with!.path = 'artifacts/crio-build.lock.json'), 'the lock record: resolve uploads it, every build of the branch reads it', /plan writes artifacts\/.*\/crio-build\.lock\.json, resolve uploads artifacts\/crio-build\.lock\.json/],
    ['the lock downloaded into another dir', (wf) => (S.lockDownload(wf)!.with!.path = 'artifacts'), 'the lock record: resolve uploads it, every build of the branch reads it', /the lock arrives at artifacts\/crio-build\.lock\.json/],
    ['the build reading another lock path', (wf) => edit(S.build(wf), '--lock "artifacts/$BRANCH/crio-build.lock.json"', '--lock "artifacts/$BRANCH/$ARCH/crio-build.lock.json"'), 'the lock record: resolve uploads it, every build of the branch reads it', /the build reads --lock artifacts\/.*\/(arm64|amd64)\/crio-build\.lock\.json/],
    ['the build without --lock', (wf) => edit(S.build(wf), / --lock "[^"]*"/, ''), 'every crio-build line parses with the real CLI and says what the job needs', /builds from the lock record/],
    ['the build publishing', (wf) => edit(S.build(wf), '--stop-after package', '--publish'), 'every crio-build line parses with the real CLI and says what the job needs', /stops after package/],
    ['a misspelt option', (wf) => edit(S.build(wf), '--stop-after', '--stop-at'), 'every crio-build line parses with the real CLI and says what the job needs', /the real CLI rejects it: Unknown arguments: stop-at/],
    ['publish without --arch', (wf) => edit(S.publish(wf), /for arch in \$ARCHES; do args\+=\(--arch "\$arch"\); done\n/, ''), 'every crio-build line parses with the real CLI and says what the job needs', /--arch for every selected arch/],
    ['publish with a fixed arch list', (wf) => edit(S.publish(wf), 'for arch in $ARCHES;', 'for arch in arm64 amd64;'), 'every crio-build line parses with the real CLI and says what the job needs', /--arch for every selected arch.*got \["arm64","amd64"\]/],
    ['--force always', (wf) => edit(S.build(wf), 'if [ "$FORCE" = true ]; then args+=(--force); fi', 'args+=(--force)'), 'every crio-build line parses with the real CLI and says what the job needs', /--force exactly when/],
    ['the packages uploaded from the wrong dir', (wf) => (S.packagesUpload(wf)!.with!.path = 'artifacts/${{ matrix.branch }}/packages'), 'the packages: each build uploads them, its branch publish gets every arch and puts them back', /the build packages into artifacts\/.*\/packages, the upload takes/],
    ['publish downloading every branch', (wf) => (S.packagesDownload(wf)!.with!.pattern = 'packages-*'), 'the packages: each build uploads them, its branch publish gets every arch and puts them back', /publish downloads packages-\* = /],
    ['publish downloading merged', (wf) => (S.packagesDownload(wf)!.with!['merge-multiple'] = true), 'the packages: each build uploads them, its branch publish gets every arch and puts them back', /each artifact in its own directory/],
    ['the move step putting them elsewhere', (wf) => edit(S.move(wf), 'mv "incoming/packages-$BRANCH-$arch" "artifacts/$BRANCH/$arch/packages"', 'mv "incoming/packages-$BRANCH-$arch" "artifacts/$BRANCH/$arch/debs"'), 'the packages: each build uploads them, its branch publish gets every arch and puts them back', /the packages are not in .* after the move step/],
    ['the build manifest not uploaded after a failure', (wf) => delete S.buildManifestUpload(wf)!.if, 'the manifests are uploaded, also after a failure', /build: the manifest upload runs when the job failed too/],
    ['the publish manifest uploaded from another file', (wf) => (S.publishManifestUpload(wf)!.with!.path = 'manifest.json'), 'the manifests are uploaded, also after a failure', /publish: writes --manifest nightly-manifest\.json, uploads manifest\.json/],
    ['one publish group for all branches', (wf) => (wf.jobs.publish!.concurrency!.group = 'nightly-publish'), 'one publisher per branch at a time, never cancelled', /group per branch/],
    ['a publish cancelled by the next run', (wf) => (wf.jobs.publish!.concurrency!['cancel-in-progress'] = true), 'one publisher per branch at a time, never cancelled', /cancel-in-progress false/],
    ['a cache key without the recipes', (wf) => (S.cache(wf)!.with!.key = 'crio-build-${{ matrix.branch }}-${{ matrix.arch }}-${{ github.run_id }}'), 'the build cache: keyed by branch, arch, recipes and builders; the dir the CLI uses', /cache key has \$\{\{ hashFiles/],
    ['a cache key shared by the arches', (wf) => (S.cache(wf)!.with!.key = String(S.cache(wf)!.with!.key).replace('-${{ matrix.arch }}', '')), 'the build cache: keyed by branch, arch, recipes and builders; the dir the CLI uses', /cache key has \$\{\{ matrix\.arch \}\}/],
    ['the build using another cache dir', (wf) => (S.build(wf)!.env!.CRIO_BUILD_CACHE = '/tmp/cache'), 'the build cache: keyed by branch, arch, recipes and builders; the dir the CLI uses', /CRIO_BUILD_CACHE is the restored and saved/],
    ['a secret in the build job env', (wf) => (wf.jobs.build!.env = { CRIO_BUILD_SIGNING_KEY: '${{ secrets.CRIO_BUILD_SIGNING_KEY }}' }), 'secrets only in the publish step, write access only in the publish job', /a secret outside a step's env: jobs\.build\.env\.CRIO_BUILD_SIGNING_KEY/],
    ['a secret in the build step env', (wf) => (S.build(wf)!.env!.GITHUB_TOKEN = '${{ secrets.GITHUB_TOKEN }}'), 'secrets only in the publish step, write access only in the publish job', /a secret in jobs\.build\.steps\.\d+\.env\.GITHUB_TOKEN: only the publish job's publish step/],
    ['the token in the resolve step', (wf) => (S.plan(wf)!.env!.TOKEN = '${{ github.token }}'), 'secrets only in the publish step, write access only in the publish job', /a secret in jobs\.resolve\.steps\.\d+\.env\.TOKEN/],
    ['a secret given to an action', (wf) => (S.packagesDownload(wf)!.with!['github-token'] = '${{ secrets.GITHUB_TOKEN }}'), 'secrets only in the publish step, write access only in the publish job', /a secret outside a step's env: jobs\.publish\.steps\.\d+\.with\.github-token/],
    ['npm ci seeing a secret', (wf) => (find(wf, 'publish', (s) => s.run === 'npm ci')!.env = { NODE_AUTH_TOKEN: '${{ secrets.GITHUB_TOKEN }}' }), 'secrets only in the publish step, write access only in the publish job', /npm ci .* has no env/],
    ['a secret at the workflow level', (wf) => (wf.env = { GITHUB_TOKEN: '${{ secrets.GITHUB_TOKEN }}' }), 'secrets only in the publish step, write access only in the publish job', /a secret outside a step's env: env\.GITHUB_TOKEN/],
    ['a script printing the key', (wf) => edit(S.publish(wf), 'npx crio-build publish', 'echo "$CRIO_BUILD_SIGNING_KEY" | head -c 4; npx crio-build publish'), 'secrets only in the publish step, write access only in the publish job', /mentions CRIO_BUILD_SIGNING_KEY/],
    ['a traced script', (wf) => edit(S.build(wf), /^/, 'set -x\n'), 'secrets only in the publish step, write access only in the publish job', /could print the environment/],
    ['an input spliced into a script', (wf) => edit(selectStepOf(wf), "node - <<'EOF'", 'echo "${{ inputs.branches }}"\nnode - <<\'EOF\''), 'secrets only in the publish step, write access only in the publish job', /has a \$\{\{ \}\} in the script/],
    ['write access for the build', (wf) => (wf.jobs.build!.permissions = { contents: 'write' }), 'secrets only in the publish step, write access only in the publish job', /build permissions \{"contents":"write"\}/],
    ['write access for every job', (wf) => (wf.permissions = { contents: 'write' }), 'secrets only in the publish step, write access only in the publish job', /workflow permissions/],
    ['a checkout leaving the token in .git/config', (wf) => delete find(wf, 'publish', (s) => uses(s, 'actions/checkout'))!.with, 'secrets only in the publish step, write access only in the publish job', /publish: checkout with persist-credentials: false/],
  ];

  test('every check has at least one mutant', () => {
    const covered = new Set(mutants.map(([, , c]) => c));
    for (const name of Object.keys(checks)) assert.ok(covered.has(name), name);
  });

  for (const [what, mutate, checkName, re] of mutants) {
    test(what, async () => {
      const wf = structuredClone(nightly);
      mutate(wf);
      const check = checks[checkName];
      assert.ok(check, checkName);
      const problems = await check(wf);
      assert.ok(problems.some((p) => re.test(p)), `${checkName}: expected a problem matching ${re}, got ${JSON.stringify(problems, null, 1)}`);
    });
  }
});

describe('ci.yml', () => {
  test('secrets: none, and no script could print the environment', () => {
    assert.deepEqual(secretProblems(ci), []);
  });

  test("runs exactly README's test command, after checkout and Node 20", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lines = blocks.flatMap((b) => b.split('\n')).filter((l) => /\bnpm install-test\b/.test(l) && !l.trim().startsWith('#'));
    assert.equal(lines.length, 1, `one test command in README: ${JSON.stringify(lines)}`);
    const commands = lines[0]!.split('&&').map((c) => c.trim());
    assert.deepEqual(commands, ['sudo scripts/provision-host.sh', 'npm install-test'], 'the README command as this test understands it');

    assert.deepEqual(Object.keys(ci.jobs), ['test']);
    const ciSteps = ci.jobs.test!.steps;
    assert.deepEqual(
      ciSteps.filter((s) => s.run).map((s) => s.run!.trim()),
      commands,
      'the run steps are the README command, in order (one step each: a failing step stops the job, as && does)',
    );
    assert.deepEqual(ciSteps.slice(0, 2).map((s) => s.uses), ['actions/checkout@v4', 'actions/setup-node@v4']);
    assert.equal(String(ciSteps[1]!.with!['node-version']), '20');
    assert.deepEqual(ci.on, { push: { branches: ['main'] }, pull_request: null });
    assert.deepEqual(ci.permissions, { contents: 'read' });
  });
});

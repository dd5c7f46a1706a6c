/**
 * Benchmark: the three figures of the "Nightly farm" issue, each beside its baseline in the same run,
 * against a test site (test/helpers/site.ts: the miniature upstreams as local bare repos, the REAL
 * recipes pointed at them through mirrors, Debian's Go swapped in for go1.13.10):
 *
 *   npx tsc -p . && node dist/bench/nightly.js [--repeat 3] [--only a,b,c]
 *
 *   other options: --build-repeat 2 (repeats of each side of (c)); --concurrency 1,4 (the sides of (c), the
 *   first is the serial baseline); --profile (a V8 CPU profile of every CLI run, in bench/tmp/nightly-prof/)
 *
 * Every run is `crio-build nightly --branch release-1.18 --arch arm64 --manifest FILE` through bin/crio-build.js
 * in a child process, as a user runs it, from a private copy of the compiled CLI (others recompile this
 * checkout meanwhile, and the package stage's key covers the compiled packaging code). (a) and (b) run in
 * --repeat rounds, interleaved so that the machine's drifting load falls on all of them alike:
 *
 *   cold-i    the baseline: an empty cache and artifacts dir (builder images warm in Docker), builds all.
 *             Round 1 runs on the site's own dirs and warms them; later rounds on fresh dirs, removed after.
 * (a) noop-i  nothing changed: every build `cached`, package `cached`, index `unchanged` (checked), and the
 *             published trees (artifacts/releases, artifacts/apt) hashed before and after: what changed.
 * (b) change-cri-o-i   a README.md commit on cri-o's release-1.18 branch (not docs/*.md: the fixture's
 *             `make docs` builds every docs/*.md, like upstream), then the next run; the manifest must say
 *             only build:cri-o was built (the rest `cached`) and the release changed (index ok).
 *     change-conmon-i  conmon is pinned to tag v2.0.11, so its change comes the way a patched fork's does:
 *             a commit on top of the tag, the site's tag moved to it, and the pin swapped in the settings
 *             file (the resolver refuses a moved tag whose pin is not swapped with it). Same checks.
 *
 * For each run: wall time; user+sys CPU of the CLI and its children (git, gpg, strip, xz; not the compiles,
 * which run in containers under dockerd) by /usr/bin/time; where the time goes, from the stderr lines
 * timestamped on arrival and split at the stage lines (startup, load, resolve, plan, fetch, build, package,
 * index, summary and exit), the first line's own stamp giving node's boot plus the module graph; the
 * manifest's job seconds; the largest gaps between lines; per packaged file, the time from its "writing"
 * line to the next, and whether it came out byte-identical to the run before. Ratios: no-op/cold and
 * change/cold, medians and bests (other work on a shared machine only slows a run down).
 *
 * (c) the four builds of the plan (runPipeline until fetch gives the plan and the fetched sources) through
 *     buildAll with force, on one local host with concurrency 1 (serial) vs 4 (parallel), alternating which
 *     goes first; ratio parallel/serial. On 2 cores the gain is bounded: the core count and load are printed.
 *
 * Writes everything (timelines, manifests' job lists, samples) to bench/tmp/nightly.json.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { defaultHostConfig, loadSettings } from '../src/settings/settings.js';
import { buildAll } from '../src/build/build-all.js';
import type { JobRecord } from '../src/pipeline/jobs.js';
import { runPipeline } from '../src/pipeline/pipeline.js';
import { TEST_CACHE } from '../test/build/fixtures.js';
import { addCommit, git } from '../test/fixtures/upstreams.js';
import { makeGoToolchainTarball } from '../test/fixtures/toolchain.js';
import { BIN } from '../test/helpers/cli.js';
import { tempDir } from '../test/helpers/tmp.js';
import { makeTestSite, writeSiteConfig, type TestSite } from '../test/helpers/site.js';

const BRANCH = 'release-1.18';
const ARCH = 'arm64';
const COMPONENTS = ['cri-o', 'conmon', 'cni-plugins', 'cri-tools'];
const GOALS = { noop: 10, change: 180 };

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const repeat = Number(arg('repeat', '3'));
const buildRepeat = Number(arg('build-repeat', '2'));
/** (c): the first is the serial baseline. */
const concurrencies = arg('concurrency', '1,4').split(',').map(Number);
/** Writes a V8 CPU profile of every CLI run to bench/tmp/nightly-prof/<run>/. */
const profile = process.argv.includes('--profile');
const only = new Set(arg('only', 'a,b,c').split(','));
for (const o of only) if (!['a', 'b', 'c'].includes(o)) throw new Error(`--only: unknown figure ${o} (a, b, c)`);

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const best = (xs: number[]) => Math.min(...xs);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

// ---- one CLI run, timestamped line by line ----------------------------------------------------

interface Line {
  /** Seconds since spawn, when the parent received it. */
  t: number;
  text: string;
}
interface Run {
  name: string;
  wall: number;
  /** user + sys CPU seconds of the run and its children (git, gpg, xz; not the Docker daemon's), by /usr/bin/time. */
  cpu: number;
  /** Spawn until the reporter module was evaluated: node's boot and the CLI's module graph (from the first line's stamp). */
  imports: number;
  code: number | null;
  loadBefore: string;
  loadAfter: string;
  lines: Line[];
  jobs: JobRecord[];
  phases: Record<string, number>;
  gaps: Array<{ seconds: number; after: string; before: string }>;
  /** The packaged files of the run (manifest): name -> path, sha256 and size. */
  artifacts: Record<string, { path: string; sha256: string; size: number }>;
  /** Seconds the package stage spent writing each file (from its "writing X" line to the next line). */
  packageFiles: Record<string, number>;
}

const STAGE_LINE = new RegExp(`^\\[\\s*[\\d.]+s\\] ${BRANCH}/${ARCH} (load|resolve|plan|fetch|build|package|index|publish)$`);
const PHASES = ['startup', 'pre-load', 'load', 'resolve', 'plan', 'fetch', 'build', 'package', 'index', 'summary+exit'];

/**
 * A private copy of the compiled CLI (bin, dist/src, recipes, builders, package.json; node_modules linked):
 * others recompile this shared checkout while the bench runs, and the package stage's key covers the
 * compiled packaging code, so a recompile between two runs would repackage everything on a "no-op".
 */
async function snapshotCli(): Promise<string> {
  const repo = dirname(dirname(BIN));
  const snap = await tempDir('crio-build-bench-cli-');
  for (const p of ['bin', 'dist/src', 'recipes', 'builders', 'package.json']) await cp(join(repo, p), join(snap, p), { recursive: true, preserveTimestamps: true });
  await symlink(join(repo, 'node_modules'), join(snap, 'node_modules'));
  return join(snap, 'bin', 'crio-build.js');
}

/** One `crio-build nightly` run on the site, or with `dirs` on another cache and artifacts dir (a cold run). */
async function nightly(site: TestSite, name: string, manifestDir: string, dirs?: { cacheDir: string; artifactsDir: string }): Promise<Run> {
  const manifest = join(manifestDir, `${name}.json`);
  const env = { ...process.env };
  for (const k of ['GITHUB_ACTIONS', 'CI', 'CRIO_BUILD_SIGNING_KEY', 'CRIO_BUILD_SIGNING_PASSPHRASE', 'GITHUB_TOKEN', 'CRIO_BUILD_CONFIG']) delete env[k];
  const timeFile = join(manifestDir, `${name}.time`);
  const siteArgs = dirs ? ['--config', site.configPath, '--cache-dir', dirs.cacheDir, '--artifacts', dirs.artifactsDir] : site.args;
  const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(process.cwd(), 'bench', 'tmp', 'nightly-prof', name)}`] : [];
  const args = ['-o', timeFile, '-f', '%e %U %S %M', process.execPath, ...prof, cli, 'nightly', '--branch', BRANCH, '--arch', ARCH, ...siteArgs, '--manifest', manifest];
  const loadBefore = load();
  const t0 = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const lines: Line[] = [];
  let partial = '';
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('/usr/bin/time', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      const t = now();
      stderr += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ t, text });
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  const wall = now();
  if (partial) lines.push({ t: wall, text: partial });
  if (code !== 0) throw new Error(`${name}: crio-build nightly exited ${code}\n${stderr.slice(-4000)}`);
  const [, user, sys] = (await readFile(timeFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number);
  const firstStamp = /^\[\s*([\d.]+)s\]/.exec(lines[0]?.text ?? '');
  const imports = firstStamp ? lines[0]!.t - Number(firstStamp[1]) : NaN;
  const m = JSON.parse(await readFile(manifest, 'utf8')) as { jobs: JobRecord[]; packaged: Array<{ artifacts: Array<{ file: string; path: string; sha256: string; size: number }> }> };
  const jobs = m.jobs;
  const artifacts = Object.fromEntries(m.packaged.flatMap((p) => p.artifacts).map((a) => [a.file, { path: a.path, sha256: a.sha256, size: a.size }]));
  const packageFiles: Record<string, number> = {};
  for (const [i, l] of lines.entries()) {
    const w = / package: writing (\S+)$/.exec(l.text);
    if (w && lines[i + 1]) packageFiles[w[1]!] = lines[i + 1]!.t - l.t;
  }

  // Phases: from spawn to the first line (node, imports, settings, recipes), then stage to stage, then
  // from the summary table to the exit.
  const phases: Record<string, number> = {};
  const marks: Array<{ name: string; t: number }> = [{ name: 'startup', t: 0 }];
  // The first line is the "nightly: ..." note (after settings and recipes are read); the load stage follows.
  if (lines[0] && !STAGE_LINE.test(lines[0].text)) marks.push({ name: 'pre-load', t: lines[0].t });
  let summaryAt: number | undefined;
  for (const l of lines) {
    const m = STAGE_LINE.exec(l.text);
    if (m) marks.push({ name: m[1]!, t: l.t });
    else if (marks.length > 2 && summaryAt === undefined && !l.text.startsWith('[')) summaryAt = l.t;
  }
  marks.push({ name: 'summary+exit', t: summaryAt ?? wall });
  for (const [i, m] of marks.entries()) {
    if (m.name === 'summary+exit') phases[m.name] = wall - m.t;
    else phases[m.name] = (phases[m.name] ?? 0) + (marks[i + 1]!.t - m.t);
  }
  const gaps = lines.slice(1).map((l, i) => ({ seconds: l.t - lines[i]!.t, after: lines[i]!.text.slice(0, 140), before: l.text.slice(0, 140) }));
  gaps.sort((a, b) => b.seconds - a.seconds);
  const run: Run = { name, wall, cpu: user! + sys!, imports, code, loadBefore, loadAfter: load(), lines, jobs, phases, gaps: gaps.slice(0, 8), artifacts, packageFiles };
  const states = jobs.map((j) => `${j.id.replace(`${BRANCH}/${ARCH} `, '').replace(`${BRANCH} `, '')}=${j.state}`).join(' ');
  console.log(`  ${name.padEnd(16)} ${f1(wall).padStart(6)} s  (cpu ${f1(run.cpu)} s)  load ${run.loadBefore} -> ${run.loadAfter}   ${states}`);
  return run;
}

/** sha256 of every file under `dir` (relative path -> hash): what a client of the release could download. */
async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else if (e.isFile()) out.set(`${rel}${e.name}`, createHash('sha256').update(await readFile(join(d, e.name))).digest('hex'));
    }
  };
  await walk(dir, '');
  return out;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((f) => before.get(f) !== after.get(f)).sort();
}

/** Files the package stage wrote again with the same bytes as the run before: work a per-file cache would skip. */
function rewrittenSame(prev: Run, run: Run): Array<{ file: string; seconds: number; size: number }> {
  return Object.entries(run.packageFiles)
    .filter(([f]) => prev.artifacts[f] && prev.artifacts[f]!.sha256 === run.artifacts[f]?.sha256)
    .map(([file, seconds]) => ({ file, seconds, size: run.artifacts[file]!.size }));
}

function jobState(run: Run, id: string): JobRecord['state'] | undefined {
  return run.jobs.find((j) => j.id === id)?.state;
}

/** The manifest's story for a one-component change: only that build ran, the release changed. */
function checkOnlyRebuilt(run: Run, component: string): string[] {
  const problems: string[] = [];
  for (const c of COMPONENTS) {
    const want = c === component ? 'ok' : 'cached';
    const got = jobState(run, `${BRANCH}/${ARCH} build:${c}`);
    if (got !== want) problems.push(`build:${c} is ${got}, expected ${want}`);
  }
  const index = jobState(run, `${BRANCH} index`);
  if (index !== 'ok') problems.push(`index is ${index}, expected ok (the release changed)`);
  return problems;
}

type Group = { label: string; runs: Run[] };

/** Median of each phase over a group's runs, groups side by side. */
function phaseTable(groups: Group[]): string {
  const gs = groups.filter((g) => g.runs.length);
  const head = `| phase (median s) | ${gs.map((g) => `${g.label} (n=${g.runs.length})`).join(' | ')} |`;
  const rows = [head, `|---|${gs.map(() => '---:').join('|')}|`];
  const med = (g: Group, f: (r: Run) => number) => f2(median(g.runs.map(f)));
  for (const p of PHASES) {
    if (!gs.some((g) => g.runs.some((r) => r.phases[p] !== undefined))) continue;
    rows.push(`| ${p} | ${gs.map((g) => med(g, (r) => r.phases[p] ?? 0)).join(' | ')} |`);
  }
  rows.push(`| **wall** | ${gs.map((g) => `**${med(g, (r) => r.wall)}**`).join(' | ')} |`);
  rows.push(`| startup: node boot + module graph | ${gs.map((g) => med(g, (r) => r.imports)).join(' | ')} |`);
  rows.push(`| CPU user+sys, run + children | ${gs.map((g) => med(g, (r) => r.cpu)).join(' | ')} |`);
  return rows.join('\n');
}

/** The manifest's jobs: state(s) and median seconds per group. */
function jobTable(groups: Group[]): string {
  const gs = groups.filter((g) => g.runs.length);
  const ids = [...new Set(gs.flatMap((g) => g.runs.flatMap((r) => r.jobs.map((j) => j.id))))];
  const rows = [`| job (manifest) | ${gs.map((g) => g.label).join(' | ')} |`, `|---|${gs.map(() => '---').join('|')}|`];
  for (const id of ids) {
    rows.push(`| ${id} | ${gs.map((g) => {
      const js = g.runs.map((r) => r.jobs.find((x) => x.id === id)).filter((j): j is JobRecord => Boolean(j));
      if (!js.length) return '-';
      return `${[...new Set(js.map((j) => j.state))].join('/')} ${f2(median(js.map((j) => j.seconds)))} s`;
    }).join(' | ')} |`);
  }
  return rows.join('\n');
}

function gapList(run: Run, n = 5): string {
  return run.gaps.slice(0, n).map((g) => `    ${f2(g.seconds).padStart(6)} s  before: ${g.before}\n             after:  ${g.after}`).join('\n');
}

function dpkgField(deb: string, field: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('dpkg-deb', ['--field', deb, field], { stdio: ['ignore', 'pipe', 'ignore'] });
    let o = '';
    child.stdout.on('data', (d) => (o += d));
    child.on('close', () => resolve(o.trim()));
    child.on('error', () => resolve('?'));
  });
}

// ---- the site ----------------------------------------------------------------------------------

const host = `${cpus().length} x ${cpus()[0]?.model ?? '?'}`;
console.log(`host: ${host}; load average at start ${load()}`);
const tcDir = join(TEST_CACHE, 'toolchains');
const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', tcDir), makeGoToolchainTarball('arm64', tcDir)]);
const site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
const cli = await snapshotCli();
const revision = await git(['describe', '--always', '--dirty'], { cwd: dirname(dirname(BIN)) }).catch(() => '?');
console.log(`cli: ${cli} (a copy of this checkout's compiled CLI at ${revision})`);
const manifestDir = join(site.root, 'manifests');
await mkdir(manifestDir, { recursive: true });
console.log(`site: ${site.root} (toolchain ${arm64.goVersion} from Debian's packages)`);

const out: Record<string, unknown> = { when: new Date().toISOString(), revision, host, cores: cpus().length, loadStart: load(), repeat, buildRepeat, concurrencies, only: [...only] };
const summary: string[] = [];
const strip = (r: Run) => ({ ...r, lines: r.lines.map((l) => `${f3(l.t).padStart(8)} ${l.text}`) });

try {
  if (only.has('a') || only.has('b')) {
    const groups = { cold: { label: 'cold', runs: [] as Run[] }, noop: { label: 'no-op', runs: [] as Run[] }, crio: { label: 'cri-o change', runs: [] as Run[] }, conmon: { label: 'conmon change', runs: [] as Run[] } };
    const noopChanges: Record<string, string[]> = {};
    const problems: Record<string, string[]> = {};
    const rewritten: Record<string, ReturnType<typeof rewrittenSame>> = {};
    const published = ['releases', 'apt'].map((d) => join(site.artifactsDir, d));
    const conmon = site.upstreams.conmon;
    const TAG = 'v2.0.11';
    /** The site's run before the next one, to tell which packaged files came out byte-identical. */
    let prev: Run | undefined;
    const what = [only.has('a') ? 'a no-op run' : '', only.has('b') ? 'a cri-o change, a conmon change' : ''].filter(Boolean).join(', ');
    console.log(`\n(a, b) ${repeat} rounds of: a cold run (empty cache and artifacts dir; builder images warm; round 1 on the site's own dirs, which it warms), ${what}`);
    for (let i = 1; i <= repeat; i++) {
      const coldRoot = join(site.root, `cold-${i}`);
      const cold = await nightly(site, `cold-${i}`, manifestDir, i === 1 ? undefined : { cacheDir: join(coldRoot, 'cache'), artifactsDir: join(coldRoot, 'artifacts') });
      for (const c of COMPONENTS) if (jobState(cold, `${BRANCH}/${ARCH} build:${c}`) !== 'ok') throw new Error(`${cold.name}: build:${c} was not built`);
      groups.cold.runs.push(cold);
      if (i === 1) prev = cold;
      else await rm(coldRoot, { recursive: true, force: true });

      if (only.has('a')) {
        const before = await Promise.all(published.map(treeHashes));
        const r = await nightly(site, `noop-${i}`, manifestDir);
        const after = await Promise.all(published.map(treeHashes));
        const changed = published.flatMap((d, k) => changedFiles(before[k]!, after[k]!).map((f) => `${d.slice(site.artifactsDir.length + 1)}/${f}`));
        noopChanges[r.name] = changed;
        if (changed.length) console.log(`    ${r.name} changed published files: ${changed.join(', ')}`);
        const wrong = r.jobs.filter((j) => (j.id.includes(' build:') || j.id.endsWith(' package') ? j.state !== 'cached' : j.id.endsWith(' index') ? j.state !== 'unchanged' : false));
        if (wrong.length) throw new Error(`${r.name}: not a no-op: ${wrong.map((j) => `${j.id} ${j.state}`).join(', ')}`);
        groups.noop.runs.push(r);
        prev = r;
      }

      if (only.has('b')) {
        // cri-o: a commit on its branch (README.md: docs/*.md would change what `make docs` builds).
        await addCommit(site.upstreams.crio.path, BRANCH, 'README.md', `# cri-o (miniature)\n\nChange ${i} for the nightly bench.\n`, `README: change ${i} for the nightly bench`);
        const crio = await nightly(site, `change-cri-o-${i}`, manifestDir);
        problems[crio.name] = checkOnlyRebuilt(crio, 'cri-o');
        rewritten[crio.name] = rewrittenSame(prev!, crio);
        groups.crio.runs.push(crio);
        prev = crio;
        // conmon is pinned to a tag: a patched fork's change is a commit on top of the tag, the tag moved
        // to it (annotated, like upstream's) and the pin swapped in the settings file.
        if (i === 1) await git(['branch', '-f', 'bench-patched', conmon.tags[TAG]!], { gitDir: conmon.path });
        const commit = await addCommit(conmon.path, 'bench-patched', 'README.md', `# conmon (miniature, patched)\n\nChange ${i} for the nightly bench.\n`, `README: patched fork, change ${i}`);
        await git(['tag', '-f', '-a', TAG, '-m', `${TAG} (patched fork, change ${i})`, commit], { gitDir: conmon.path });
        conmon.tags[TAG] = commit;
        writeSiteConfig(site.configPath, site.upstreams, site.toolchains);
        const con = await nightly(site, `change-conmon-${i}`, manifestDir);
        problems[con.name] = checkOnlyRebuilt(con, 'conmon');
        rewritten[con.name] = rewrittenSame(crio, con);
        groups.conmon.runs.push(con);
        prev = con;
        for (const r of [crio, con]) if (problems[r.name]!.length) console.log(`    ${r.name}: ${problems[r.name]!.join('; ')}`);
      }
    }

    const all = [groups.cold, groups.noop, groups.crio, groups.conmon];
    console.log(`\nWhere the time goes: stderr lines timestamped on arrival, split at the stage lines (medians, seconds)\n\n${phaseTable(all)}\n\n${jobTable(all)}`);
    for (const g of [groups.noop, groups.crio, groups.conmon]) if (g.runs.length) console.log(`\nlargest gaps between consecutive stderr lines, ${g.runs.at(-1)!.name}:\n${gapList(g.runs.at(-1)!)}`);

    const coldWalls = groups.cold.runs.map((r) => r.wall);
    const coldMed = median(coldWalls);
    const coldBest = best(coldWalls);
    const coldText = `cold ${coldWalls.map(f1).join(', ')} s (median ${f1(coldMed)})`;
    // CPU of the CLI and its children (git, gpg, strip, xz; not the containers' compiles, which belong to
    // dockerd): steadier than wall time on a shared machine.
    const cpuMed = (g: Group) => median(g.runs.map((r) => r.cpu));
    const coldCpu = cpuMed(groups.cold);
    out.cold = { walls: coldWalls, median: coldMed, best: coldBest, runs: groups.cold.runs.map(strip) };
    console.log('');
    if (only.has('a')) {
      const walls = groups.noop.runs.map((r) => r.wall);
      const a = {
        walls,
        best: best(walls),
        median: median(walls),
        ratioMedian: median(walls) / coldMed,
        ratioBest: best(walls) / coldBest,
        goal: GOALS.noop,
        met: median(walls) < GOALS.noop,
        cpu: groups.noop.runs.map((r) => r.cpu),
        publishedFilesChanged: noopChanges,
        medianPhases: Object.fromEntries(PHASES.map((p) => [p, median(groups.noop.runs.map((r) => r.phases[p] ?? 0))])),
        runs: groups.noop.runs.map(strip),
      };
      out.a = a;
      const dirty = [...new Set(Object.values(noopChanges).flat())];
      const lines = [
        `(a) no-op nightly: ${walls.map(f1).join(', ')} s: best ${f2(a.best)} s, median ${f2(a.median)} s (goal < ${GOALS.noop} s: ${a.met ? 'met' : 'MISSED'}); ${coldText}; no-op/cold = ${f3(a.ratioMedian)} (medians), ${f3(a.ratioBest)} (bests); CPU median ${f2(cpuMed(groups.noop))} s vs cold ${f2(coldCpu)} s = ${f3(cpuMed(groups.noop) / coldCpu)}`,
        `    published files a no-op run changed: ${dirty.length ? `${dirty.join(' ')} (in ${Object.values(noopChanges).filter((f) => f.length).length} of ${walls.length} runs)` : 'none (releases/ and apt/ byte-identical)'}`,
      ];
      console.log(lines.join('\n'));
      summary.push(...lines);
    }
    if (only.has('b')) {
      const b: Record<string, unknown> = { goal: GOALS.change };
      for (const [component, g] of [['cri-o', groups.crio], ['conmon', groups.conmon]] as const) {
        const walls = g.runs.map((r) => r.wall);
        const bad = g.runs.flatMap((r) => problems[r.name]!.map((p) => `${r.name}: ${p}`));
        const last = g.runs.at(-1)!;
        const same = rewritten[last.name]!;
        const pkgFiles = Object.keys(last.packageFiles);
        // A nightly's file names carry its commit: compare files across rounds by their names without it.
        const norm = (f: string) => f.replace(/_git\d+\.[0-9a-f]+/, '_git…');
        const perFile = pkgFiles.map(norm).map((f) => `${f} ${f1(median(g.runs.map((r) => Object.entries(r.packageFiles).find(([k]) => norm(k) === f)?.[1] ?? 0)))}`);
        const crioDeb = Object.entries(last.artifacts).find(([f]) => f.startsWith('cri-o_'));
        const installed = crioDeb ? await dpkgField(crioDeb[1].path, 'Installed-Size') : '?';
        b[component] = {
          walls,
          median: median(walls),
          best: best(walls),
          ratioMedian: median(walls) / coldMed,
          ratioBest: best(walls) / coldBest,
          met: median(walls) < GOALS.change && bad.length === 0,
          problems: bad,
          rewrittenSame: rewritten,
          crioDeb: crioDeb ? { file: crioDeb[0], size: crioDeb[1].size, installedSizeKiB: Number(installed) } : undefined,
          runs: g.runs.map(strip),
        };
        const lines = [
          `(b) ${component} change: ${walls.map(f1).join(', ')} s: median ${f2(median(walls))} s, best ${f2(best(walls))} s (goal < ${GOALS.change} s: ${median(walls) < GOALS.change ? 'met' : 'MISSED'}); only build:${component} built and index ok in every round: ${bad.length ? `NO (${bad.join('; ')})` : 'yes'}; ${coldText}; change/cold = ${f3(median(walls) / coldMed)} (medians), ${f3(best(walls) / coldBest)} (bests); CPU median ${f2(cpuMed(g))} s vs cold ${f2(coldCpu)} s = ${f3(cpuMed(g) / coldCpu)}`,
          `    package stage median ${f1(median(g.runs.map((r) => r.phases.package ?? 0)))} s; per file (median s): ${perFile.join(', ')}`,
          `    written again byte-identical to the run before (${last.name}): ${same.length ? same.map((x) => `${x.file} (${f1(x.seconds)} s, ${f1(x.size / 2 ** 20)} MiB)`).join(', ') : 'none'}${crioDeb ? `; the cri-o .deb is ${f1(crioDeb[1].size / 2 ** 20)} MiB, Installed-Size ${installed} KiB` : ''}`,
        ];
        console.log(lines.join('\n'));
        summary.push(...lines);
      }
      out.b = b;
    }
  }

  if (only.has('c')) {
    console.log(`\n(c) the four builds through buildAll (force): one local host, concurrency ${concurrencies.join(' vs ')}`);
    const settings = await loadSettings({ config: site.configPath, cacheDir: site.cacheDir });
    const artifactsDir = join(site.root, 'bench-c-artifacts');
    const ctx = await runPipeline({ branch: BRANCH, arch: ARCH, settings, artifactsDir, until: 'fetch' });
    const plan = ctx.plan!;
    const fetched = ctx.fetched!;
    console.log(`  plan: ${plan.components.map((c) => `${c.name} ${c.source.version} (${c.strategy})`).join(', ')}`);
    const samples: Record<number, Array<{ wall: number; perComponent: Record<string, number>; loadBefore: string; loadAfter: string }>> = {};
    for (let r = 1; r <= buildRepeat; r++) {
      // Alternate which side goes first: the machine's load drifts.
      const order = r % 2 ? concurrencies : [...concurrencies].reverse();
      for (const concurrency of order) {
        const loadBefore = load();
        const t = process.hrtime.bigint();
        const built = await buildAll(plan, fetched, { settings, artifactsDir, force: true, hosts: [defaultHostConfig(concurrency)] });
        const wall = Number(process.hrtime.bigint() - t) / 1e9;
        const perComponent = Object.fromEntries(built.map((b) => [b.component.name, b.result.seconds]));
        (samples[concurrency] ??= []).push({ wall, perComponent, loadBefore, loadAfter: load() });
        const sum = Object.values(perComponent).reduce((x, y) => x + y, 0);
        console.log(`  round ${r} concurrency ${concurrency}: ${f1(wall).padStart(6)} s  (each build ${Object.entries(perComponent).map(([n, s]) => `${n} ${f1(s)}`).join(', ')}; sum ${f1(sum)} s)  load ${loadBefore} -> ${load()}`);
      }
    }
    const serialC = concurrencies[0]!;
    const sides = Object.fromEntries(concurrencies.map((n) => {
      const w = samples[n]!.map((x) => x.wall);
      return [n, { median: median(w), best: best(w), walls: w }];
    }));
    const c = { cores: cpus().length, concurrencies, sides, samples, ratios: Object.fromEntries(concurrencies.slice(1).map((n) => [n, { median: sides[n]!.median / sides[serialC]!.median, best: sides[n]!.best / sides[serialC]!.best }])) };
    out.c = c;
    console.log('');
    for (const n of concurrencies.slice(1)) {
      const line = `(c) 4 builds: serial (concurrency ${serialC}) ${sides[serialC]!.walls.map(f1).join(', ')} s, median ${f1(sides[serialC]!.median)} s; parallel (concurrency ${n}) ${sides[n]!.walls.map(f1).join(', ')} s, median ${f1(sides[n]!.median)} s; parallel/serial = ${f3(c.ratios[n]!.median)} (medians), ${f3(c.ratios[n]!.best)} (bests), on ${cpus().length} cores`;
      console.log(line);
      summary.push(line);
    }
  }
} finally {
  out.loadEnd = load();
  out.summary = summary;
  await mkdir('bench/tmp', { recursive: true });
  await writeFile('bench/tmp/nightly.json', JSON.stringify(out, null, 2) + '\n');
  await site.close();
}
console.log(`\n${summary.join('\n')}\nhost: ${host}; load average at end ${load()}`);

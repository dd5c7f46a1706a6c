/**
 * How close a nightly's schedule comes to what its job graph allows. A nightly matrix (the fixture
 * upstreams: release-1.18 and release-1.17 x arm64 and amd64) on two real Docker engines on this
 * machine (the main one and a second dockerd started here), one build slot each:
 *
 *   npm run bench:schedule            (= npx tsc -p . && node dist/bench/schedule.js)
 *
 * 1. A first nightly fills the cache and seeds the second engine with the builder images (copied
 *    from the first, docker save | docker load); not measured.
 * 2. The measured nightly: the same matrix with --force (every build again, nothing from the
 *    cache), --manifest for its job records (start, end, host of every job).
 * 3. From those records, the job graph (resolve -> fetch -> builds -> package per branch/arch,
 *    index per branch after every arch's package; a build another branch shares waits for the
 *    one that made it) and its lower bound: max(critical path, build work / build slots). The
 *    makespan (first job's start to last job's end) against it; goal: within 1.2x.
 * 4. src/hosts/schedule-sim.ts on the same graph and times, on 1, 2, 4 and 8 hosts (one slot each;
 *    amd64 hosts and native arm64 hosts, half and half from 2 on), by the real scheduler's policy.
 *
 * Figures to stdout and bench/tmp/schedule.json. Needs root (a second dockerd) and the builder
 * images the test suite makes (made on the first run if missing).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { lowerBound, simulate, type SimHost, type SimJob } from '../src/hosts/schedule-sim.js';
import type { JobRecord } from '../src/pipeline/jobs.js';
import type { Arch } from '../src/recipe/schema.js';
import { TEST_CACHE } from '../test/build/fixtures.js';
import { makeGoToolchainTarball } from '../test/fixtures/toolchain.js';
import { runCli } from '../test/helpers/cli.js';
import { startSecondDockerd } from '../test/helpers/second-dockerd.js';
import { makeTestSite } from '../test/helpers/site.js';
import { tempDir } from '../test/helpers/tmp.js';

const BRANCHES = ['release-1.18', 'release-1.17'];
const ARCHES: Arch[] = ['arm64', 'amd64'];
/** An amd64 build on an arm64 host runs under qemu: bench/README's emulate-vs-cross ratio. */
const QEMU_FACTOR = 6.64;

const say = (m: string) => console.log(`schedule: ${m}`);
const secs = (j: JobRecord) => (Date.parse(j.endedAt!) - Date.parse(j.startedAt!)) / 1000;

/**
 * The job graph of a nightly from its records. Builds take a host slot; the coordinator's jobs
 * (resolve, fetch, package, index) do not. `platform` is the build's target arch (on a farm with
 * native arm64 hosts that is where it runs natively), for the simulation.
 */
export function graphOf(records: JobRecord[]): SimJob[] {
  const ran = records.filter((r) => r.startedAt && r.endedAt && r.state !== 'skipped' && r.state !== 'failed');
  const ids = new Set(ran.map((r) => r.id));
  const jobs: SimJob[] = [];
  for (const r of ran) {
    const m = /^(\S+?)(?:\/(\S+))? (\S+)$/.exec(r.id);
    if (!m) continue;
    const [, branch, arch, what] = m as unknown as [string, string, string | undefined, string];
    const fetch = `${branch}/${arch} fetch`;
    if (what === 'resolve') jobs.push({ id: r.id, seconds: secs(r), deps: [] });
    else if (what === 'fetch') jobs.push({ id: r.id, seconds: secs(r), deps: ids.has(`${branch} resolve`) ? [`${branch} resolve`] : [] });
    else if (what.startsWith('build:')) jobs.push({ id: r.id, seconds: secs(r), deps: [fetch], platform: arch as Arch });
    else if (what === 'package') jobs.push({ id: r.id, seconds: secs(r), deps: [...ids].filter((i) => i.startsWith(`${branch}/${arch} build:`)).concat(sharedOf(records, branch, arch!)) });
    else if (what === 'index') jobs.push({ id: r.id, seconds: secs(r), deps: [...ids].filter((i) => i.startsWith(`${branch}/`) && i.endsWith(' package')) });
    else if (what === 'publish') jobs.push({ id: r.id, seconds: secs(r), deps: [`${branch} index`] });
  }
  return jobs;
}

/** The builds of other branches this branch/arch took from the run ("built in this run for X"). */
function sharedOf(records: JobRecord[], branch: string, arch: string): string[] {
  return records
    .filter((r) => r.id.startsWith(`${branch}/${arch} build:`) && r.state === 'cached')
    .flatMap((r) => {
      const by = /built in this run for (\S+)$/.exec(r.detail)?.[1];
      return by ? [`${by} ${r.id.split(' ')[1]}`] : [];
    });
}

function hostsFor(n: number): SimHost[] {
  if (n === 1) return [{ name: 'x86-1', platforms: ['amd64'], slots: 1 }];
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? { name: `x86-${i / 2 + 1}`, platforms: ['amd64'] as Arch[], slots: 1 } : { name: `arm-${(i + 1) / 2}`, platforms: ['arm64'] as Arch[], slots: 1 }));
}

async function main(): Promise<number> {
  const figures: Record<string, unknown> = { cpus: cpus().length, loadavgAtStart: loadavg()[0], branches: BRANCHES, arches: ARCHES };
  const dir = join(TEST_CACHE, 'toolchains');
  const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
  const site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
  const engine = await startSecondDockerd();
  try {
    const root = await tempDir('crio-build-schedule-');
    const config = join(root, 'config.yaml');
    const hosts = [
      { name: 'engine1', endpoint: 'unix:///var/run/docker.sock', platforms: ['amd64'], concurrency: 1 },
      { name: 'engine2', endpoint: engine.endpoint, platforms: ['amd64'], concurrency: 1 },
    ];
    writeFileSync(config, stringify({ ...(parse(readFileSync(site.configPath, 'utf8')) as object), hosts }));
    const args = ['nightly', ...BRANCHES.flatMap((b) => ['--branch', b]), ...ARCHES.flatMap((a) => ['--arch', a]), '--config', config, '--cache-dir', site.cacheDir, '--artifacts', site.artifactsDir];

    let t = Date.now();
    const warm = await runCli(args);
    say(`warm-up nightly (cache, images on engine2): exit ${warm.code} in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    if (warm.code !== 0) throw new Error(`the warm-up nightly failed:\n${warm.stderr.slice(-4000)}`);

    const manifest = join(root, 'manifest.json');
    t = Date.now();
    const run = await runCli([...args, '--force', '--manifest', manifest]);
    const wall = (Date.now() - t) / 1000;
    if (run.code !== 0) throw new Error(`the measured nightly failed:\n${run.stderr.slice(-4000)}`);
    const records = (JSON.parse(readFileSync(manifest, 'utf8')) as { jobs: JobRecord[] }).jobs;
    const timed = records.filter((r) => r.startedAt && r.endedAt);
    const t0 = Math.min(...timed.map((r) => Date.parse(r.startedAt!)));
    const t1 = Math.max(...timed.map((r) => Date.parse(r.endedAt!)));
    const makespan = (t1 - t0) / 1000;
    const jobs = graphOf(records);
    const slots = hosts.reduce((s, h) => s + h.concurrency, 0);
    const lb = lowerBound(jobs, slots);
    const builds = jobs.filter((j) => j.platform);
    const perHost = Object.fromEntries(hosts.map((h) => [h.name, records.filter((r) => r.host === h.name && r.state === 'ok' && / build:/.test(r.id)).length]));
    const shared = records.filter((r) => / build:/.test(r.id) && /built in this run for/.test(r.detail)).length;
    figures.run = { wallSeconds: +wall.toFixed(1), makespan: +makespan.toFixed(1), builds: builds.length, sharedBuilds: shared, buildsPerHost: perHost, ...lb, ratio: +(makespan / lb.bound).toFixed(3), ratioWithTail: +(makespan / lb.boundWithTail).toFixed(3) };
    say(`measured nightly (--force): ${wall.toFixed(1)} s wall; job graph ${makespan.toFixed(1)} s from the first job's start to the last one's end`);
    say(`  ${builds.length} builds (${shared} more taken from another branch's build of the same key), per host ${JSON.stringify(perHost)}`);
    say(`  lower bound max(critical path ${lb.criticalPath.toFixed(1)} s, work ${lb.work.toFixed(1)} s / ${slots} slots = ${(lb.work / slots).toFixed(1)} s) = ${lb.bound.toFixed(1)} s`);
    say(`  makespan / bound = ${(makespan / lb.bound).toFixed(2)} (goal <= 1.2)`);
    say(`  with the tail (the last build's package and index follow it: min ${lb.minTail.toFixed(1)} s): bound ${lb.boundWithTail.toFixed(1)} s, makespan / bound = ${(makespan / lb.boundWithTail).toFixed(2)}`);

    const sims = [1, 2, 4, 8].map((n) => {
      const hs = hostsFor(n);
      const foreignFactor = { amd64: QEMU_FACTOR, arm64: 1 };
      const any = simulate(jobs, hs, { foreignFactor, maxForeignFactor: Infinity });
      const native = simulate(jobs, hs, { foreignFactor, maxForeignFactor: 1 });
      const b = lowerBound(jobs, n);
      return { hosts: n, layout: `${hs.filter((h) => h.platforms[0] === 'amd64').length} amd64 + ${hs.filter((h) => h.platforms[0] === 'arm64').length} arm64`, anyFreeHost: +any.makespan.toFixed(1), noQemu: +native.makespan.toFixed(1), bound: +b.bound.toFixed(1), boundWithTail: +b.boundWithTail.toFixed(1) };
    });
    figures.simulation = sims;
    say('simulation from the measured times (one slot per host; arm64 builds native on arm64 hosts, or cross on x86 at the same time; an amd64 build on an arm64 host runs under qemu at 6.64x):');
    say('  hosts             | earlier policy (any free host) | HostPool now (wait for a native slot) | bound | bound with tail');
    for (const s of sims) say(`  ${s.layout.padEnd(17)} | ${s.anyFreeHost.toFixed(1).padStart(8)} s | ${s.noQemu.toFixed(1).padStart(8)} s | ${s.bound.toFixed(1).padStart(6)} s | ${s.boundWithTail.toFixed(1).padStart(6)} s`);
    figures.jobs = timed;
    figures.loadavgAtEnd = loadavg()[0];
    mkdirSync('bench/tmp', { recursive: true });
    writeFileSync('bench/tmp/schedule.json', JSON.stringify(figures, null, 2) + '\n');
    say('figures in bench/tmp/schedule.json');
    return makespan / lb.bound <= 1.2 ? 0 : 1;
  } finally {
    await engine.cleanup();
    await site.close();
  }
}

if (process.argv[1]?.endsWith('schedule.js')) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}

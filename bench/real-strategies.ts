/**
 * Benchmark: emulate against cross on REAL upstream sources, side by side in one run.
 *
 *   npx tsc -p . && node dist/bench/real-strategies.js --config SETTINGS [--branch release-1.18] [--arch arm64] [--repeat 1]
 *
 * SETTINGS is an air-gapped settings file of the operator's (README: `mirrors:` from
 * https://github.com/ to local copies of cri-o/cri-o, containers/conmon, containernetworking/plugins
 * and kubernetes-sigs/cri-tools, and a `toolchains:` swap where go1.13.10 cannot be downloaded). It is
 * not in this repository: the benchmark only runs what a user runs, the CLI:
 *
 *   crio-build <branch> --arch arm64 --strategy cross|emulate --stop-after build --force --json
 *
 * once per strategy per round, alternating (cross, emulate, cross, ...), sharing one cache dir (sources,
 * toolchains and builder images are resolved before the clock matters: a first untimed `fetch` and one
 * build of each strategy's builder image through `builders bootstrap`-like warm-up), each round in a
 * fresh artifacts dir with --force so every component compiles. Per component it reports the build
 * job's time from the run's manifest, the run's wall time, and the ratio emulate/cross. Results go to
 * bench/tmp/real-strategies.json.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../test/helpers/cli.js';
import { tempDir } from '../test/helpers/tmp.js';

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? process.argv[i + 1] : undefined;
  if (v) return v;
  if (dflt === undefined) {
    console.error(`usage: node dist/bench/real-strategies.js --config SETTINGS [--branch B] [--arch A] [--repeat N] [--cache-dir DIR]\n  --${name} is required`);
    process.exit(2);
  }
  return dflt;
}

const config = arg('config');
const branch = arg('branch', 'release-1.18');
const arch = arg('arch', 'arm64');
const repeat = Number(arg('repeat', '1'));
const work = await tempDir('crio-build-real-strategies-');
const cacheDir = arg('cache-dir', join(work, 'cache'));
const STRATEGIES = ['cross', 'emulate'] as const;

interface Job {
  id: string;
  state: string;
  seconds: number;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
}

const common = ['--arch', arch, '--config', config, '--cache-dir', cacheDir];
console.log(`real-strategies: ${branch} linux/${arch}, settings ${config}, cache ${cacheDir}; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// Untimed warm-up: sources and toolchains into the cache, and each strategy's builder image made, so
// the timed runs differ only in how they compile.
const fetched = await cli(['fetch', branch, ...common, '--artifacts', join(work, 'warm')]);
if (fetched.code !== 0) throw new Error(`fetch failed (exit ${fetched.code})`);
for (const strategy of STRATEGIES) {
  const warm = await cli([branch, ...common, '--strategy', strategy, '--stop-after', 'build', '--artifacts', join(work, `warm-${strategy}`), '--lock', join(work, 'warm', branch, 'crio-build.lock.json')]);
  if (warm.code !== 0) throw new Error(`warm-up ${strategy} build failed (exit ${warm.code})`);
}

const samples: Array<{ round: number; strategy: string; wall: number; jobs: Job[] }> = [];
for (let round = 1; round <= repeat; round++) {
  for (const strategy of STRATEGIES) {
    const artifacts = join(work, `${strategy}-${round}`);
    const r = await cli([branch, ...common, '--strategy', strategy, '--stop-after', 'build', '--force', '--json', '--artifacts', artifacts, '--lock', join(work, 'warm', branch, 'crio-build.lock.json')]);
    if (r.code !== 0) throw new Error(`${strategy} round ${round} failed (exit ${r.code})`);
    const manifest = JSON.parse(r.stdout) as { jobs: Job[] };
    samples.push({ round, strategy, wall: r.seconds, jobs: manifest.jobs.filter((j) => j.id.includes(' build:')) });
    console.log(`${strategy} round ${round}: ${r.seconds.toFixed(0)} s`);
  }
}

const components = [...new Set(samples.flatMap((s) => s.jobs.map((j) => j.id.replace(/^.* build:/, ''))))];
const best = (strategy: string, pick: (s: (typeof samples)[number]) => number | undefined) =>
  Math.min(...samples.filter((s) => s.strategy === strategy).map(pick).filter((v): v is number => v !== undefined));
const jobSeconds = (c: string) => (s: (typeof samples)[number]) => s.jobs.find((j) => j.id.endsWith(` build:${c}`))?.seconds;
const rows = components.map((c) => {
  const cross = best('cross', jobSeconds(c));
  const emulate = best('emulate', jobSeconds(c));
  return `| ${c} | ${cross.toFixed(1)} | ${emulate.toFixed(1)} | ${(emulate / cross).toFixed(2)} |`;
});
const crossWall = best('cross', (s) => s.wall);
const emulateWall = best('emulate', (s) => s.wall);
const table = [
  `${branch} linux/${arch} from real upstream sources, best of ${repeat}, seconds:`,
  '',
  '| component | cross | emulate | emulate/cross |',
  '|---|---:|---:|---:|',
  ...rows,
  `| **whole run (build stage, wall)** | ${crossWall.toFixed(1)} | ${emulateWall.toFixed(1)} | **${(emulateWall / crossWall).toFixed(2)}** |`,
].join('\n');
console.log(`\n${table}`);
await mkdir('bench/tmp', { recursive: true });
await writeFile('bench/tmp/real-strategies.json', JSON.stringify({ branch, arch, config, samples, at: new Date().toISOString() }, null, 2));

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
 * once per strategy per round, alternating (cross, emulate, cross, ...), from one lock and one cache
 * dir (an untimed warm-up fetches the sources and toolchains and makes each strategy's builder image),
 * each round in a fresh artifacts dir with --force so every component compiles. Per component it reports the build
 * job's time from the run's manifest, the run's wall time, and the ratio emulate/cross. Results go to
 * bench/tmp/real-strategies.json.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { connectDocker } from '../src/hosts/docker.js';
import { builderSpecFor, ensureBuilderImage } from '../src/hosts/images/builder-image.js';
import type { BuildJob } from '../src/plan/build-job.js';
import type { Arch, Strategy } from '../src/recipe/schema.js';
import { SourceCache } from '../src/source/cache.js';
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

// Untimed warm-up: sources and toolchains into the cache (one lock for every run), and each
// strategy's builder image made, so that the timed runs differ only in how they compile.
const warmDir = join(work, 'warm');
const lock = join(warmDir, branch, 'crio-build.lock.json');
for (const strategy of STRATEGIES) {
  // Each strategy needs its own toolchain archive: the host's for cross, the target's for emulate.
  const fetched = await cli(['fetch', branch, ...common, '--strategy', strategy, '--artifacts', warmDir, ...(strategy === 'cross' ? [] : ['--lock', join(warmDir, branch, 'crio-build.lock.json')])]);
  if (fetched.code !== 0) throw new Error(`fetch (${strategy}) failed (exit ${fetched.code})`);
}
const driver = await connectDocker();
const hostArch = await driver.hostArch();
for (const strategy of STRATEGIES) {
  const planned = await cli(['plan', branch, ...common, '--strategy', strategy, '--lock', lock, '--json', '--artifacts', warmDir]);
  if (planned.code !== 0) throw new Error(`plan failed (exit ${planned.code})`);
  const p = JSON.parse(planned.stdout) as { components: Array<{ builder: string; strategy: Strategy; toolchain: { name: string; version: string; arch: Arch; sha256: string } }> };
  for (const c of p.components) {
    const toolchain = { name: c.toolchain.name, version: c.toolchain.version, tarball: new SourceCache(cacheDir).blobPath(c.toolchain.sha256), sha256: c.toolchain.sha256, root: 'go', arch: c.toolchain.arch, env: {} };
    const spec = builderSpecFor({ arch: arch as Arch, strategy: c.strategy, build: { builder: c.builder } as BuildJob['build'], toolchain }, hostArch);
    const image = await ensureBuilderImage(driver, spec, { base: { debCacheDir: join(cacheDir, 'debootstrap') } });
    console.log(`${strategy}: builder ${image.tag} ready`);
  }
}

const samples: Array<{ round: number; strategy: string; wall: number; jobs: Job[] }> = [];
for (let round = 1; round <= repeat; round++) {
  for (const strategy of STRATEGIES) {
    const artifacts = join(work, `${strategy}-${round}`);
    const r = await cli([branch, ...common, '--strategy', strategy, '--stop-after', 'build', '--force', '--json', '--artifacts', artifacts, '--lock', lock]);
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

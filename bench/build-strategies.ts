/**
 * Benchmark: the same fixture sources built three ways in one run, with the same cache state:
 *   emulate  linux/arm64 in an arm64 container under qemu-user (the faithful way)
 *   cross    linux/arm64 from an amd64 container (the fast way)
 *   native   linux/amd64 in an amd64 container (the reference)
 * The builder images are ensured before any timing, so every build starts from the same state: an
 * existing image, an empty container, a cold Go build cache, the same source tree.
 *
 *   npx tsc -p . && node dist/bench/build-strategies.js [--components cri-o,conmon] [--repeat 1] [--cold]
 *
 * --cold points GOCACHE at an empty directory, so every build compiles the Go standard library too
 * (what a builder image without the warmed cache would cost).
 *
 * Prints each time and the ratios cross/native and emulate/cross; writes bench/tmp/build-strategies.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { builderSpecFor, ensureBuilderImage } from '../src/hosts/images/builder-image.js';
import { runBuild } from '../src/build/run-build.js';
import type { Arch, Strategy } from '../src/recipe/schema.js';
import { tempDir } from '../test/helpers/tmp.js';
import { fixtureJob, recipeBuild, testDriver, type FixtureComponent } from '../test/build/fixtures.js';

interface Mode {
  name: 'emulate' | 'cross' | 'native';
  arch: Arch;
  strategy: Strategy;
}
const MODES: Mode[] = [
  { name: 'native', arch: 'amd64', strategy: 'cross' },
  { name: 'cross', arch: 'arm64', strategy: 'cross' },
  { name: 'emulate', arch: 'arm64', strategy: 'emulate' },
];

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const components = arg('components', 'cri-o,conmon,cni-plugins,cri-tools').split(',') as FixtureComponent[];
const repeat = Number(arg('repeat', '1'));
const cold = process.argv.includes('--cold');
const driver = await testDriver();
const hostArch = await driver.hostArch();
if (hostArch !== 'amd64') throw new Error('this benchmark compares against native amd64: run it on an amd64 host');
const outRoot = await tempDir('crio-build-bench-');

async function job(component: FixtureComponent, mode: Mode, round: number) {
  const build = await recipeBuild(component);
  // The miniature cri-o does not vendor go-md2man; the builder image has Debian's.
  if (component === 'cri-o') build.env.GO_MD2MAN = '/usr/bin/go-md2man';
  if (cold) build.env.GOCACHE = '/build/.cache/cold-go-build';
  return fixtureJob({ component, arch: mode.arch, strategy: mode.strategy, hostArch, outRoot: join(outRoot, `${mode.name}-${round}`), build });
}

// Same cache state for everyone: all builder images exist before the clock starts.
console.log(`ensuring builder images (${MODES.map((m) => m.name).join(', ')}) before timing...`);
for (const mode of MODES) {
  const j = await job(components[0]!, mode, 0);
  const img = await ensureBuilderImage(driver, builderSpecFor(j, hostArch), {
    onEvent: (e) => e.phase !== 'build' && console.log(`    ${e.message}`),
  });
  console.log(`  ${mode.name.padEnd(8)} ${img.tag.slice(0, 60)} ${img.built ? `built in ${img.seconds.toFixed(0)}s` : 'present'}`);
}

const times: Record<string, Record<string, number[]>> = {};
/** The part of each build spent in the recipe's steps: the compile (no container set-up, generate, copy-out or checks). */
const compile: Record<string, Record<string, number[]>> = {};
for (let round = 1; round <= repeat; round++) {
  for (const component of components) {
    for (const mode of MODES) {
      const j = await job(component, mode, round);
      const t = process.hrtime.bigint();
      const at: Record<string, number> = {};
      // No Go build cache volume: each round must compile, from the image's standard library (or --cold's empty cache).
      const res = await runBuild(j, { driver, hostArch, goCache: { enabled: false, maxMiB: 0 }, onEvent: (e) => (at[e.phase] ??= Number(process.hrtime.bigint() - t) / 1e9) });
      const s = Number(process.hrtime.bigint() - t) / 1e9;
      ((times[component] ??= {})[mode.name] ??= []).push(s);
      ((compile[component] ??= {})[mode.name] ??= []).push((at.generate ?? at.verify ?? s) - (at.step ?? 0));
      const v = res.outputs.find((o) => o.versionOutput)?.versionOutput?.split('\n')[0] ?? '';
      const c = compile[component]![mode.name]!.at(-1)!;
      console.log(`  ${component.padEnd(12)} ${mode.name.padEnd(8)} ${s.toFixed(1).padStart(7)} s  (steps ${c.toFixed(1).padStart(6)} s)   ${v}`);
    }
  }
}

// Best of N: the machine is shared, and other work only ever makes a run slower.
const best = (xs: number[]) => Math.min(...xs);
function table(title: string, data: Record<string, Record<string, number[]>>) {
  const rows: string[] = [`${title} (${cold ? 'cold Go cache, ' : ''}best of ${repeat}, seconds)`, '', '| component | native amd64 | cross arm64 | emulate arm64 | cross/native | emulate/cross |', '|---|---:|---:|---:|---:|---:|'];
  const total = { native: 0, cross: 0, emulate: 0 };
  for (const c of components) {
    const m = { native: best(data[c]!.native!), cross: best(data[c]!.cross!), emulate: best(data[c]!.emulate!) };
    total.native += m.native;
    total.cross += m.cross;
    total.emulate += m.emulate;
    rows.push(`| ${c} | ${m.native.toFixed(1)} | ${m.cross.toFixed(1)} | ${m.emulate.toFixed(1)} | ${(m.cross / m.native).toFixed(2)} | ${(m.emulate / m.cross).toFixed(2)} |`);
  }
  rows.push(`| **all** | ${total.native.toFixed(1)} | ${total.cross.toFixed(1)} | ${total.emulate.toFixed(1)} | ${(total.cross / total.native).toFixed(2)} | ${(total.emulate / total.cross).toFixed(2)} |`);
  console.log(`\n${rows.join('\n')}\n`);
  return total;
}
const total = table('Whole build: container, source in, steps, generate, copy out, ELF and --version checks', times);
const steps = table('Recipe steps only (the compile; cri-o\'s crio.conf generation, under qemu for cross, is outside it)', compile);
console.log(`host: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`cross/native = ${(total.cross / total.native).toFixed(2)} whole, ${(steps.cross / steps.native).toFixed(2)} compile (goal <= 1.3); emulate/cross = ${(total.emulate / total.cross).toFixed(2)} whole, ${(steps.emulate / steps.cross).toFixed(2)} compile`);
await mkdir('bench/tmp', { recursive: true });
await writeFile(`bench/tmp/build-strategies${cold ? '-cold' : ''}.json`, JSON.stringify({ when: new Date().toISOString(), components, repeat, times, compile, total, steps }, null, 2) + '\n');

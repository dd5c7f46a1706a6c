// Benchmark: the package stage, previous design against the current one, on build outputs already
// made (artifacts/<branch>/<arch>/build, as the build stage leaves it), in one run:
//
//   npm run bench:package-stage -- BUILD_DIR [--kubernetes 1.18] [--change conmon,cri-o] [--keep]
//
// For each design: the full stage into an empty packages dir, then for each --change component a
// "one-component change" (a copy of that component's output with one file added, so its output
// digest, and with it its .deb's key, changes) packaged into the same dir again. The previous design
// (package/settings.ts previousPackagingSettings: every .deb at once with one-thread xz -6, then the
// bundle as one gzip -9 stream, one key for the whole branch) repacks everything on any change; the
// current one repacks that .deb, the bundle and SHA256SUMS. Wall and CPU (this process and the
// xz/strip children it waited for) are printed, with the sizes of every file. Outputs go to
// bench/tmp/package-stage/, removed at the end unless --keep.
import { readFileSync } from 'node:fs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagingSettings, previousPackagingSettings, type PackagingSettings } from '../src/package/settings.js';
import { packageAll, type PackageStageResult } from '../src/package/package-all.js';
import { loadBuiltComponents, type BuiltComponent } from '../src/build/outputs.js';
import type { Arch } from '../src/recipe/schema.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = join(ROOT, 'bench', 'tmp', 'package-stage');
const COMPONENTS = ['cri-o', 'conmon', 'cni-plugins', 'cri-tools'];
const MB = 1e6;

/** CPU seconds of this process plus the children it has waited for (xz, strip), from /proc. */
function cpuSeconds(): number {
  const self = process.cpuUsage();
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14 here.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (self.user + self.system) / 1e6 + ticks / 100;
}

interface Timed { wall: number; cpu: number; result: PackageStageResult }

async function timed(run: () => Promise<PackageStageResult>): Promise<Timed> {
  const [c0, t0] = [cpuSeconds(), process.hrtime.bigint()];
  const result = await run();
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: cpuSeconds() - c0, result };
}

/** The component's output, copied with one file added: a rebuild whose output differs. */
async function changed(c: BuiltComponent, round: string): Promise<BuiltComponent> {
  const dir = join(TMP, 'changed', `${c.name}-${round}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dirname(dir), { recursive: true });
  await cp(c.outDir, dir, { recursive: true });
  await writeFile(join(dir, 'bench-changed.txt'), `${round}\n`);
  return { ...c, outDir: dir };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1]! : def;
  };
  const valued = new Set(['--kubernetes', '--change']);
  const buildDirArg = args.find((a, i) => !a.startsWith('--') && !valued.has(args[i - 1] ?? ''));
  if (!buildDirArg) throw new Error('usage: package-stage BUILD_DIR (artifacts/<branch>/<arch>/build) [--kubernetes 1.18] [--change conmon,cri-o]');
  const buildDir = resolve(buildDirArg);
  const arch = basename(dirname(buildDir)) as Arch;
  const branch = basename(dirname(dirname(buildDir)));
  const kubernetes = opt('kubernetes', /^release-(\d+\.\d+)$/.exec(branch)?.[1] ?? '');
  const changes = opt('change', 'conmon,cri-o').split(',').filter(Boolean);
  const components = await loadBuiltComponents({ artifactsDir: dirname(dirname(dirname(buildDir))), branch, arch, components: COMPONENTS });
  await rm(TMP, { recursive: true, force: true });
  await mkdir(TMP, { recursive: true });

  console.log(`${branch} ${arch}: ${components.map((c) => `${c.name} ${c.version}`).join(', ')}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'} (availableParallelism ${availableParallelism()}); load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const designs: Array<[string, PackagingSettings]> = [
    ['previous', previousPackagingSettings()],
    ['current', packagingSettings()],
  ];
  const rows: Array<{ design: string; what: string; t: Timed }> = [];
  for (const [design, settings] of designs) {
    const outDir = join(TMP, design);
    const stage = (comps: BuiltComponent[]) => packageAll({ branch, kubernetes, arch, components: comps, outDir, settings });
    const full = await timed(() => stage(components));
    rows.push({ design, what: 'full stage', t: full });
    console.log(`${design}: full stage ${full.wall.toFixed(1)} s (CPU ${full.cpu.toFixed(1)} s); ` + [...full.result.debs, full.result.bundle].map((f) => `${f.file} ${(f.size / MB).toFixed(2)} MB`).join(', '));
    // Cumulative: each run changes one more component, so each repacks just that one's .deb.
    let comps = components;
    for (const name of changes) {
      comps = await Promise.all(comps.map((c) => (c.name === name ? changed(c, design) : c)));
      const t = await timed(() => stage(comps));
      rows.push({ design, what: `${name} changed`, t });
      console.log(`${design}: ${name} changed ${t.wall.toFixed(1)} s (CPU ${t.cpu.toFixed(1)} s), repacked ${t.result.repacked.join(', ')}`);
    }
  }

  const prev = (what: string) => rows.find((r) => r.design === 'previous' && r.what === what)!.t;
  console.log(`\nload average at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  console.log('| run | previous wall s | current wall s | wall ratio current/previous | previous CPU s | current CPU s | CPU ratio | files written (current) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows.filter((x) => x.design === 'current')) {
    const p = prev(r.what);
    const written = r.what === 'full stage' ? 'all 5 + SHA256SUMS' : `${r.t.result.repacked.join(', ')} + SHA256SUMS`;
    console.log(`| ${r.what} | ${p.wall.toFixed(1)} | ${r.t.wall.toFixed(1)} | ${(r.t.wall / p.wall).toFixed(3)} | ${p.cpu.toFixed(1)} | ${r.t.cpu.toFixed(1)} | ${(r.t.cpu / p.cpu).toFixed(3)} | ${written} |`);
  }
  const [pf, cf] = [prev('full stage').result, rows.find((r) => r.design === 'current' && r.what === 'full stage')!.t.result];
  console.log('\n| file | previous MB | current MB | size ratio |');
  console.log('|---|---:|---:|---:|');
  const sizes = (r: PackageStageResult) => new Map([...r.debs, r.bundle].map((f) => [f.file, f.size]));
  const [ps, cs] = [sizes(pf), sizes(cf)];
  let [pt, ct] = [0, 0];
  for (const [file, p] of ps) {
    const c = cs.get(file)!;
    pt += p;
    ct += c;
    console.log(`| ${file} | ${(p / MB).toFixed(2)} | ${(c / MB).toFixed(2)} | ${(c / p).toFixed(3)} |`);
  }
  console.log(`| all | ${(pt / MB).toFixed(2)} | ${(ct / MB).toFixed(2)} | ${(ct / pt).toFixed(3)} |`);
  if (args.includes('--keep')) console.log(`\nkept: ${TMP}`);
  else await rm(TMP, { recursive: true, force: true });
}

await main();

// Benchmark: our streaming .deb writer against `dpkg-deb --build` on the same
// >= 300 MB tree, same compressor, level and thread count, runs interleaved
// (A B A B ...) so drift in machine load hits both sides alike. Each build runs
// in its own child process under /usr/bin/time, which reports the peak RSS.
//
//   npx tsc -p . && node dist/bench/deb-writer.js [--rounds 3] [--only xz|gzip] [--threads 1]
//
// The tree is generated once into bench/tmp/ (git-ignored) from a fixed seed.
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, rm, symlink, writeFile, chmod, lstat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDeb } from '../src/package/deb/index.js';
import type { PackageFile } from '../src/package/packager.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = join(ROOT, 'bench', 'tmp');
const TREE = join(TMP, 'tree');
const OUT = join(TMP, 'out');
const TREE_VERSION = 'deb-writer-tree-v1'; // bump when the generator changes
const EPOCH = 1700000000;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- tree

/** Deterministic incompressible bytes: AES-256-CTR keystream of a seed. */
function keystream(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const iv = createHash('md5').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(size));
}

/** Like a compiled binary: runs of random bytes, low-entropy tables and repeats. */
function binaryLike(seed: string, size: number): Buffer {
  const out = keystream(seed, size);
  const block = 64 * 1024;
  for (let off = 0; off < size; off += block) {
    const kind = out[off]! % 3;
    const end = Math.min(off + block, size);
    if (kind === 1) for (let i = off; i < end; i++) out[i] = out[i]! & 0x0f; // small integers
    if (kind === 2) out.copy(out, off, Math.max(0, off - 3 * block), Math.max(0, off - 3 * block) + (end - off)); // repeated code
  }
  return out;
}

/** Text from a pseudo-random vocabulary: compresses like docs and configs. */
function textLike(seed: string, size: number): Buffer {
  const rnd = keystream(seed, size);
  const vocab = Array.from({ length: 1500 }, (_, i) => keystream(`word${i}`, 10).toString('base64').replace(/[^a-z]/g, '').slice(0, 3 + (i % 8)) || 'crio');
  let s = '';
  let i = 0;
  while (s.length < size) {
    s += vocab[(rnd[i % size]! << 3) % vocab.length]! + (rnd[(i + 1) % size]! % 12 === 0 ? '\n' : ' ');
    i += 2;
  }
  return Buffer.from(s.slice(0, size));
}

async function generateTree(): Promise<void> {
  const marker = join(TMP, `${TREE_VERSION}.done`);
  if (existsSync(marker)) return;
  console.error(`generating ${TREE} ...`);
  await rm(TMP, { recursive: true, force: true });
  const put = async (path: string, data: Buffer, mode = 0o644) => {
    const p = join(TREE, path);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, data);
    await chmod(p, mode);
  };
  for (let i = 0; i < 2; i++) await put(`usr/lib/crio/blob-${i}.bin`, keystream(`random${i}`, 64 * MiB));
  for (let i = 0; i < 2; i++) await put(`usr/bin/tool-${i}`, binaryLike(`binary${i}`, 64 * MiB), 0o755);
  for (let i = 0; i < 1500; i++) await put(`usr/share/doc/crio/d${i % 30}/page-${i}.txt`, textLike(`text${i}`, 40 * 1024));
  for (let i = 0; i < 2000; i++) {
    const size = keystream(`size${i}`, 2).readUInt16LE(0) % 4096;
    await put(`etc/crio/conf.d/${i % 50}/${i}.conf`, textLike(`conf${i}`, size));
  }
  for (let i = 0; i < 20; i++) {
    await mkdir(join(TREE, 'usr/sbin'), { recursive: true });
    await symlink(`../bin/tool-${i % 2}`, join(TREE, `usr/sbin/alias-${i}`));
  }
  await writeFile(marker, '');
}

/** DEBIAN/ for dpkg-deb: the same metadata our writer produces, md5sums
 * included, so dpkg-deb does strictly less work than we do. */
async function writeDpkgMetadata(): Promise<void> {
  const files = (await listTree()).filter((f) => f.source).sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  let md5 = '';
  for (const f of files) md5 += `${createHash('md5').update(await readFile(f.source!)).digest('hex')}  ${f.path.slice(1)}\n`;
  await mkdir(join(TREE, 'DEBIAN'), { recursive: true });
  await writeFile(join(TREE, 'DEBIAN', 'control'), 'Package: bench\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Bench <bench@example.org>\nDescription: benchmark payload\n');
  await writeFile(join(TREE, 'DEBIAN', 'md5sums'), md5);
}

/** The tree as PackageFiles, without DEBIAN/ (walking is part of our timed run). */
async function listTree(dir = TREE): Promise<PackageFile[]> {
  const out: PackageFile[] = [];
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const rel = `/${relative(TREE, p)}`;
    if (rel === '/DEBIAN') continue;
    const st = await lstat(p);
    if (st.isDirectory()) out.push(...(await listTree(p)));
    else if (st.isSymbolicLink()) out.push({ path: rel, symlink: await readlink(p) });
    else out.push({ path: rel, source: p });
  }
  return out;
}

// ---------------------------------------------------------------- child: our writer

async function childOurs(compress: 'xz' | 'gzip', level: number, threads: number, out: string): Promise<void> {
  const res = await writeDeb(
    {
      control: { Package: 'bench', Version: '1.0-1', Architecture: 'amd64', Maintainer: 'Bench <bench@example.org>', Description: 'benchmark payload' },
      files: await listTree(),
      sourceDateEpoch: EPOCH,
      compression: { data: compress, level, threads },
    },
    out,
  );
  // maxRSS of this node process alone (KiB), without the xz child.
  console.log(JSON.stringify({ size: res.size, nodeMaxRssKiB: process.resourceUsage().maxRSS }));
}

// ---------------------------------------------------------------- parent

interface Sample { seconds: number; cpuSeconds: number; maxRssKiB: number; nodeMaxRssKiB?: number; size: number }

type Timed = { seconds: number; cpuSeconds: number; maxRssKiB: number; stdout: string };

/** Wall time measured here; peak RSS and user+sys CPU (including waited-for
 * children: our xz, dpkg-deb's tar) from GNU time. */
function timed(cmd: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const timeFile = join(OUT, 'time.txt');
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, ...cmd], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', async (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd.join(' ')} exited with ${code}`));
      const [rss, user, sys] = ((await readFile(timeFile, 'utf8')).trim().split('\n').pop() ?? '').split(' ').map(Number);
      resolvePromise({ seconds, cpuSeconds: user! + sys!, maxRssKiB: rss!, stdout });
    });
  });
}

async function runOurs(compress: 'xz' | 'gzip', level: number, threads: number): Promise<Sample> {
  const out = join(OUT, `ours-${compress}.deb`);
  const r = await timed([process.execPath, fileURLToPath(import.meta.url), '--child', compress, String(level), String(threads), out], process.env);
  const info = JSON.parse(r.stdout) as { size: number; nodeMaxRssKiB: number };
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB, nodeMaxRssKiB: info.nodeMaxRssKiB, size: info.size };
}

async function runDpkg(compress: 'xz' | 'gzip', level: number, threads: number): Promise<Sample> {
  const out = join(OUT, `dpkg-${compress}.deb`);
  const r = await timed(
    ['dpkg-deb', '--root-owner-group', `-Z${compress}`, `-z${level}`, `--threads-max=${threads}`, '--build', TREE, out],
    { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) },
  );
  const { size } = await lstat(out);
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB, size };
}

/** What dh_md5sums does before dpkg-deb in a Debian build: md5 every payload
 * file. dpkg-deb itself is given md5sums ready-made; our writer computes them
 * while streaming, so this is timed separately to compare end to end. */
async function runMd5sums(): Promise<Sample> {
  const script = `cd '${TREE}' && find . -type f ! -path './DEBIAN/*' -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 md5sum > /dev/null`;
  const r = await timed(['sh', '-c', script], process.env);
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB, size: 0 };
}

/** Both packages must carry the same entries and md5sums, or the timing means nothing. */
async function checkEquivalent(compress: string): Promise<void> {
  const listing = async (deb: string) => {
    const { stdout } = await capture('dpkg-deb', ['--contents', deb]);
    return stdout.split('\n').map((l) => l.split(/\s+/).filter((_, i) => i !== 3 && i !== 4).join(' ')).join('\n');
  };
  const ours = join(OUT, `ours-${compress}.deb`);
  const theirs = join(OUT, `dpkg-${compress}.deb`);
  if ((await listing(ours)) !== (await listing(theirs))) throw new Error('dpkg-deb --contents differ between the two packages');
  const md5 = async (deb: string) => (await capture('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xOf - ./md5sums`])).stdout;
  if ((await md5(ours)) !== (await md5(theirs))) throw new Error('md5sums differ between the two packages');
}

function capture(cmd: string, args: string[]): Promise<{ stdout: string }> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.on('close', (code) => (code === 0 ? res({ stdout }) : rej(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (kib: number) => (kib / 1024).toFixed(0);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    return childOurs(args[1] as 'xz' | 'gzip', Number(args[2]), Number(args[3]), args[4]!);
  }
  const opt = (name: string, def: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1]! : def;
  };
  const rounds = Number(opt('rounds', '3'));
  const threads = Number(opt('threads', '1'));
  const only = opt('only', '');
  await generateTree();
  await writeDpkgMetadata();
  await mkdir(OUT, { recursive: true });
  const treeFiles = (await listTree()).filter((f) => f.source).length;
  const { stdout: du } = await capture('du', ['-sb', '--exclude=DEBIAN', TREE]);
  console.log(`tree: ${treeFiles} files, ${(Number(du.split('\t')[0]) / MiB).toFixed(0)} MiB; rounds ${rounds}; threads ${threads}`);

  const configs: Array<['xz' | 'gzip', number]> = [['xz', 6], ['gzip', 9]];
  const rows: string[] = [];
  for (const [compress, level] of configs) {
    if (only && only !== compress) continue;
    const ours: Sample[] = [];
    const dpkg: Sample[] = [];
    const md5: Sample[] = [];
    for (let r = 0; r < rounds; r++) {
      ours.push(await runOurs(compress, level, threads));
      dpkg.push(await runDpkg(compress, level, threads));
      md5.push(await runMd5sums());
      const show = (s: Sample) => `${s.seconds.toFixed(2)} s (cpu ${s.cpuSeconds.toFixed(2)} s)`;
      console.log(`  ${compress} round ${r + 1}: ours ${show(ours[r]!)}, dpkg-deb ${show(dpkg[r]!)}, md5sum ${show(md5[r]!)}`);
      if (r === 0) await checkEquivalent(compress);
    }
    const [mo, md] = [median(ours.map((s) => s.seconds)), median(dpkg.map((s) => s.seconds))];
    const [co, cd] = [median(ours.map((s) => s.cpuSeconds)), median(dpkg.map((s) => s.cpuSeconds))];
    const mdm = median(dpkg.map((s, i) => s.seconds + md5[i]!.seconds));
    rows.push(
      `| ${compress} -${level}, ${threads} thread(s) | ${mo.toFixed(2)} | ${md.toFixed(2)} | ${(mo / md).toFixed(3)} ` +
        `| ${co.toFixed(2)} | ${cd.toFixed(2)} | ${(co / cd).toFixed(3)} | ${mdm.toFixed(2)} | ${(mo / mdm).toFixed(3)} ` +
        `| ${mib(Math.max(...ours.map((s) => s.nodeMaxRssKiB ?? 0)))} | ${mib(Math.max(...ours.map((s) => s.maxRssKiB)))} ` +
        `| ${mib(Math.max(...dpkg.map((s) => s.maxRssKiB)))} | ${(ours[0]!.size / MiB).toFixed(1)} / ${(dpkg[0]!.size / MiB).toFixed(1)} |`,
    );
  }
  console.log('\n| data.tar compression | ours median wall s | dpkg-deb median wall s | wall ratio ours/dpkg | ours median CPU s | dpkg-deb median CPU s | CPU ratio | dpkg-deb + md5sum median wall s | wall ratio ours/(dpkg-deb + md5sum) | ours node peak RSS MiB | ours peak RSS incl. xz MiB | dpkg-deb peak RSS MiB | size MiB ours / dpkg |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await main();

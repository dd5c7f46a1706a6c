/**
 * The fault suite's surroundings: one test site whose toolchain archives are served over HTTP (so
 * downloads can be disturbed), an undisturbed reference run, per-fault copies of its cache, the CLI
 * as a child process that a test can kill at a precise moment, and the comparison of a rerun's
 * result with the reference.
 *
 * The toolchain is Debian's Go in the official layout (makeGoToolchainTarball): the site's stand-in
 * toolchains (test/helpers/site.ts) are a shell script that cannot compile, so they are not used
 * here; the real tarballs' bytes are put in the site's file server instead.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { HostConfig } from '../../src/settings/settings.js';
import { generateSigningKey } from '../../src/index/apt/index.js';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { createUpstreams, type Upstreams } from '../fixtures/upstreams.js';
import { BIN, type CliResult } from '../helpers/cli.js';
import { fixturePinSwaps } from '../helpers/site.js';
import { startFileServer, type FileServer } from '../helpers/file-server.js';
import { tempDir } from '../helpers/tmp.js';

export const BRANCH = 'release-1.18';
export const ARCH = 'arm64';
export const TAG = `nightly-${BRANCH}`;
export const COMPONENTS = ['cri-o', 'conmon', 'cni-plugins', 'cri-tools'] as const;

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface Reference {
  cacheDir: string;
  artifactsDir: string;
  /** packages/SHA256SUMS of the undisturbed run. */
  packagesSums: string;
  /** releases/<tag>/: file name -> sha256. */
  releaseFiles: Map<string, string>;
  /** cri-o's build content key (the cache entry a fault test removes to make cri-o build again). */
  buildKeys: Record<string, string>;
  /** The toolchain archive the run downloaded: its URL path on the file server, and sha256. */
  toolchain: { path: string; url: string; sha256: string; bytes: Buffer };
  seconds: number;
}

export interface FaultSite {
  root: string;
  upstreams: Upstreams;
  server: FileServer;
  toolchains: Record<'amd64' | 'arm64', { url: string; sha256: string }>;
  /** CRIO_BUILD_SIGNING_KEY and friends: every run signs with the same operator key. */
  env: Record<string, string>;
  /** A settings file for this site; with `hosts`, the farm is those engines only. */
  config(name: string, hosts?: HostConfig[]): string;
  close(): Promise<void>;
}

export async function makeFaultSite(): Promise<FaultSite> {
  const root = await tempDir('crio-build-faults-');
  const upstreams = await createUpstreams(join(root, 'upstreams'));
  const server = await startFileServer();
  const dir = join(TEST_CACHE, 'toolchains');
  const toolchains = {} as FaultSite['toolchains'];
  for (const arch of ['amd64', 'arm64'] as const) {
    const t = await makeGoToolchainTarball(arch, dir);
    const path = `/go/go1.19-debian.linux-${arch}.tar.gz`;
    server.files.set(path, await readFile(t.path));
    toolchains[arch] = { url: `${server.url}${path}`, sha256: t.sha256 };
  }
  const keyFile = join(root, 'signing-key.asc');
  await generateSigningKey({ name: 'crio-build fault suite', email: 'faults@crio-build.invalid', outFile: keyFile });
  const env = { CRIO_BUILD_SIGNING_KEY: readFileSync(keyFile, 'utf8'), CRIO_BUILD_SIGNING_PASSPHRASE: '', GITHUB_TOKEN: '', GITHUB_ACTIONS: '', GITHUB_REPOSITORY: '' };
  const config = (name: string, hosts?: HostConfig[]) => {
    const file = join(root, `${name}.yaml`);
    // As test/helpers/site.ts writes it (README's air-gapped settings), plus the farm's hosts.
    const settings = {
      mirrors: [upstreams.mirror],
      toolchains: { 'go1.13.10': { version: 'fixture', archives: toolchains }, 'go1.26.4': { version: 'fixture', archives: toolchains } },
      components: fixturePinSwaps(upstreams),
      ...(hosts ? { hosts } : {}),
    };
    writeFileSync(file, stringify(settings));
    return file;
  };
  return { root, upstreams, server, toolchains, env, config, close: () => server.close() };
}

export function cliArgs(config: string, cacheDir: string, artifactsDir: string, extra: string[] = []): string[] {
  return [BRANCH, '--arch', ARCH, '--config', config, '--cache-dir', cacheDir, '--artifacts', artifactsDir, ...extra];
}

export interface Started {
  child: ChildProcess;
  /** Output so far (also complete once `done` settles). */
  out: { stdout: string; stderr: string };
  done: Promise<CliResult & { signal: NodeJS.Signals | null; seconds: number }>;
}

/** The real launcher as a child process, so a test can watch it and kill it at a chosen moment. */
export function startCli(args: string[], env: Record<string, string>): Started {
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null; seconds: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out.stdout, stderr: out.stderr, seconds: (Date.now() - t0) / 1000 }));
  });
  return { child, out, done };
}

export async function runCli(args: string[], env: Record<string, string>) {
  return startCli(args, env).done;
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, opts: { timeoutMs?: number; everyMs?: number; stop?: () => boolean } = {}): Promise<T> {
  const end = Date.now() + (opts.timeoutMs ?? 300_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (opts.stop?.()) throw new Error(`gave up waiting for ${what}: the run ended first`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
  }
}

/** The undisturbed run everything else is compared with: a fresh cache, everything built for real. */
export async function referenceRun(site: FaultSite): Promise<Reference> {
  const base = await tempDir('crio-build-faults-ref-');
  const cacheDir = join(base, 'cache');
  const artifactsDir = join(base, 'artifacts');
  const mark = site.server.requests.length;
  const r = await runCli(cliArgs(site.config('reference'), cacheDir, artifactsDir), site.env);
  assert.equal(r.code, 0, `the reference run failed:\n${r.stderr.slice(-4000)}`);
  for (const c of COMPONENTS) assert.match(r.stderr, new RegExp(`${BRANCH}/${ARCH} build:${c} +ok`), `reference: ${c} was built`);
  const got = site.server.requests.slice(mark).filter((q) => q.status === 200);
  assert.equal(got.length, 1, `one toolchain download: ${JSON.stringify(got)}`);
  const path = got[0]!.path;
  const arch = path.includes('amd64') ? 'amd64' : 'arm64';
  const buildKeys: Record<string, string> = {};
  for (const key of readdirSync(join(cacheDir, 'builds'))) {
    const res = JSON.parse(readFileSync(join(cacheDir, 'builds', key, 'result.json'), 'utf8')) as { component: string };
    buildKeys[res.component] = key;
  }
  assert.deepEqual(Object.keys(buildKeys).sort(), [...COMPONENTS].sort());
  return {
    cacheDir,
    artifactsDir,
    packagesSums: readFileSync(join(packagesOf(artifactsDir), 'SHA256SUMS'), 'utf8'),
    releaseFiles: releaseFiles(artifactsDir),
    buildKeys,
    toolchain: { path, url: site.toolchains[arch].url, sha256: site.toolchains[arch].sha256, bytes: site.server.files.get(path)! },
    seconds: r.seconds,
  };
}

export function packagesOf(artifactsDir: string): string {
  return join(artifactsDir, BRANCH, ARCH, 'packages');
}

export function releaseOf(artifactsDir: string): string {
  return join(artifactsDir, 'releases', TAG);
}

/** The release directory's files as GitHub holds them (the notes are the release body, not a file): name -> sha256. */
export function releaseFiles(artifactsDir: string): Map<string, string> {
  const dir = releaseOf(artifactsDir);
  const names = readdirSync(dir).filter((f) => !f.startsWith('.') && f !== 'RELEASE_NOTES.md').sort();
  return new Map(names.map((f) => [f, sha256(readFileSync(join(dir, f)))]));
}

/**
 * Files of a release that hold a time or the signature by design (apt's Release and its signatures,
 * the manifest's packagedAt): the same names must be there, their bytes may differ between runs.
 * Everything else (the .debs, the bundle, SHA256SUMS, Packages, Packages.gz, Packages.xz and the key) must be equal.
 */
const TIMED = new Set(['Release', 'InRelease', 'Release.gpg', 'crio-build-manifest.json', 'provenance.intoto.jsonl']);

/** The run's result equals the undisturbed run's: packages, their checksums, the apt index. */
export function assertConverged(ref: Reference, artifactsDir: string, label: string): void {
  const pk = packagesOf(artifactsDir);
  assert.equal(readFileSync(join(pk, 'SHA256SUMS'), 'utf8'), ref.packagesSums, `${label}: packages/SHA256SUMS differs from the undisturbed run's`);
  execFileSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: pk, stdio: 'pipe' });
  const got = releaseFiles(artifactsDir);
  assert.deepEqual([...got.keys()], [...ref.releaseFiles.keys()], `${label}: the release directory has other files than the undisturbed run's`);
  for (const [name, hash] of got) {
    if (!TIMED.has(name)) assert.equal(hash, ref.releaseFiles.get(name), `${label}: releases/${TAG}/${name} differs from the undisturbed run's`);
  }
  const rel = releaseOf(artifactsDir);
  execFileSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: rel, stdio: 'pipe' });
  execFileSync('gpgv', ['--keyring', join(rel, 'crio-build-archive-keyring.gpg'), join(rel, 'InRelease')], { stdio: 'pipe' });
}

/** A copy of the reference cache without some entries, for a fault that needs them made again. */
export async function cacheCopy(ref: Reference, name: string, drop: { builds?: string[]; blobs?: string[] } = {}): Promise<string> {
  const dir = join(await tempDir(`crio-build-faults-${name}-`), 'cache');
  await cp(ref.cacheDir, dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  for (const c of drop.builds ?? []) await rm(join(dir, 'builds', ref.buildKeys[c]!), { recursive: true });
  for (const b of drop.blobs ?? []) await rm(join(dir, 'blobs', 'sha256', b));
  for (const lock of ['.crio-build.lock', '.crio-build.lock.json']) assert.ok(!existsSync(join(dir, lock)), `the reference cache was copied while locked (${lock})`);
  return dir;
}

/** The summary row of a job: its result column. */
export function jobState(stderr: string, id: string): string | undefined {
  // Table rows start with two spaces; progress lines start with "[   1.2s]".
  return new RegExp(`^  ${escapeRe(id)} +(\\S+)`, 'm').exec(stderr)?.[1];
}

/**
 * Helpers for the apt index tests: small real .debs (our writer, and dpkg-deb), an HTTP server over
 * a repository directory, an isolated apt client (its own sources, lists, cache, keyrings; nothing
 * from the host's apt configuration that matters), and a scan for leaked secret key material.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeDeb, type ControlFields } from '../../src/package/deb/index.js';
import { startFileServer, type FileServer } from '../helpers/file-server.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 127) : 0, stdout, stderr });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

export async function mustRun(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

export interface TestDeb {
  pkg: string;
  version: string;
  arch: string;
  /** Payload content (changes the bytes without changing the control fields). */
  content?: string;
  description?: string;
  extra?: Record<string, string>;
}

export const debName = (d: TestDeb): string => `${d.pkg}_${d.version.replace(/^\d+:/, '')}_${d.arch}.deb`;

/** A tiny .deb made with our own writer (gzip data: fast). */
export async function makeDeb(dir: string, d: TestDeb, name = debName(d)): Promise<string> {
  await mkdir(dir, { recursive: true });
  const control: ControlFields = {
    Package: d.pkg,
    Version: d.version,
    Architecture: d.arch,
    Maintainer: 'crio-build tests <tests@example.org>',
    Description: d.description ?? `test package ${d.pkg}\nA package for the apt index tests.`,
    ...d.extra,
  };
  const path = join(dir, name);
  await writeDeb(
    {
      control,
      files: [{ path: `/usr/share/doc/${d.pkg}/content`, content: d.content ?? `${d.pkg} ${d.version} ${d.arch}\n` }],
      sourceDateEpoch: 1590000000,
      compression: { data: 'gzip' },
    },
    path,
  );
  return path;
}

/** All regular files under `dir`, as relative paths ("/" separated). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Every file's bytes, for before/after comparisons. */
export async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const m = new Map<string, Buffer>();
  for (const f of await listFiles(dir)) m.set(f, await readFile(join(dir, f)));
  return m;
}

/** Serves a repository directory over HTTP on 127.0.0.1; reload() after changing it. */
export async function serveDirectory(dir: string): Promise<FileServer & { reload(): Promise<void> }> {
  const server = await startFileServer();
  const reload = async () => {
    server.files.clear();
    for (const f of await listFiles(dir)) server.files.set(`/${f}`, await readFile(join(dir, f)));
  };
  await reload();
  return Object.assign(server, { reload });
}

/**
 * An apt client in its own root: sources.list, lists, archives, dpkg status, keyrings and
 * preferences are all under `root`; it trusts only the keyring a sources line names (signed-by).
 */
export class AptClient {
  private constructor(readonly root: string) {}

  static async create(root: string): Promise<AptClient> {
    for (const d of ['state/lists/partial', 'cache/archives/partial', 'sources.list.d', 'trusted.gpg.d', 'preferences.d', 'log']) {
      await mkdir(join(root, d), { recursive: true });
    }
    await writeFile(join(root, 'status'), '');
    await writeFile(join(root, 'sources.list'), '');
    // Read before the host's configuration (APT_CONFIG comes first), it points apt away from it:
    // the host may switch off checks (this one sets Acquire::Check-Valid-Until "false"), a user's
    // machine has apt's defaults.
    await mkdir(join(root, 'apt.conf.d'), { recursive: true });
    await writeFile(join(root, 'apt.conf'), `Dir::Etc::Parts "${join(root, 'apt.conf.d')}";\nDir::Etc::Main "/dev/null";\n`);
    return new AptClient(root);
  }

  private options(): string[] {
    const r = this.root;
    const o = (k: string, v: string) => ['-o', `${k}=${v}`];
    return [
      ...o('Dir::Etc::SourceList', join(r, 'sources.list')),
      ...o('Dir::Etc::SourceParts', join(r, 'sources.list.d')),
      ...o('Dir::Etc::Trusted', join(r, 'trusted.gpg')),
      ...o('Dir::Etc::TrustedParts', join(r, 'trusted.gpg.d')),
      ...o('Dir::Etc::Preferences', join(r, 'preferences')),
      ...o('Dir::Etc::PreferencesParts', join(r, 'preferences.d')),
      ...o('Dir::State', join(r, 'state')),
      ...o('Dir::State::status', join(r, 'status')),
      ...o('Dir::Cache', join(r, 'cache')),
      ...o('Dir::Log', join(r, 'log')),
      ...o('APT::Architecture', 'amd64'),
      ...o('APT::Architectures::', 'amd64'),
      ...o('APT::Architectures::', 'arm64'),
      ...o('APT::Sandbox::User', 'root'),
      ...o('Acquire::Languages', 'none'),
      ...o('Acquire::http::Proxy', 'DIRECT'),
      ...o('Acquire::Retries', '0'),
      ...o('Acquire::Check-Valid-Until', 'true'),
      ...o('Acquire::Check-Date', 'true'),
      ...o('Debug::NoLocking', '1'),
    ];
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' };
    for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY']) delete env[k];
    env.APT_CONFIG = join(this.root, 'apt.conf');
    return env;
  }

  async setSources(line: string): Promise<void> {
    await writeFile(join(this.root, 'sources.list'), `${line}\n`);
  }

  apt(cmd: 'apt-get' | 'apt-cache', args: string[]): Promise<RunResult> {
    return run(cmd, [...this.options(), ...args], { env: this.env() });
  }

  update(): Promise<RunResult> {
    return this.apt('apt-get', ['update']);
  }

  /** Candidate version of `pkg` (e.g. "hello:arm64"), undefined when apt knows none. */
  async candidate(pkg: string): Promise<string | undefined> {
    const r = await this.apt('apt-cache', ['policy', pkg]);
    const v = /^\s*Candidate:\s*(\S+)$/m.exec(r.stdout)?.[1];
    return v === '(none)' ? undefined : v;
  }

  /** Downloads `pkg` into the cache and returns the path of the .deb apt accepted. */
  async download(pkg: string): Promise<RunResult> {
    return this.apt('apt-get', ['install', '--download-only', '--yes', '--no-install-recommends', pkg]);
  }

  archives(): Promise<string[]> {
    return readdir(join(this.root, 'cache', 'archives')).then((l) => l.filter((f) => f.endsWith('.deb')));
  }
}

export async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * Fragments that only the secret key has: 16-byte windows of the binary secret key that occur
 * nowhere in the public key, and their base64 forms at each of the three byte alignments (what an
 * armored leak would show). Finding one in a file or message means secret key material leaked.
 */
export function secretFragments(secretBinary: Buffer, publicBinary: Buffer): { binary: Buffer[]; text: string[] } {
  const binary: Buffer[] = [];
  for (let i = 0; i + 16 <= secretBinary.length; i += 4) {
    const w = secretBinary.subarray(i, i + 16);
    if (publicBinary.indexOf(w) < 0) binary.push(w);
  }
  const text = binary.flatMap((w) => [0, 1, 2].map((s) => w.subarray(s, s + 3 * Math.floor((w.length - s) / 3)).toString('base64')));
  return { binary, text };
}

/** The first leaked fragment or passphrase found in `data` (described), or undefined. */
export function findLeak(data: Buffer | string, passphrase: string, fragments: { binary: Buffer[]; text: string[] }): string | undefined {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const flat = buf.toString('latin1').replace(/\r?\n/g, '');
  if (buf.indexOf(passphrase) >= 0) return 'the passphrase';
  const b = fragments.binary.find((w) => buf.indexOf(w) >= 0);
  if (b) return `secret key bytes ${b.toString('hex')}`;
  const t = fragments.text.find((w) => flat.includes(w));
  if (t) return `armored secret key text ${t}`;
  return undefined;
}

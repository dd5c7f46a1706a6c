/**
 * Secrets never leak: a full `crio-build release-1.18 --arch arm64 --publish` to the fake GitHub
 * with a recognisable GITHUB_TOKEN and a passphrase-protected signing key (armored, in
 * CRIO_BUILD_SIGNING_KEY, passphrase in CRIO_BUILD_SIGNING_PASSPHRASE), then the error paths (a
 * token GitHub answers 401, a wrong passphrase, a key file that does not exist). None of the
 * secrets (the token, the wrong token, the passphrase, the wrong passphrase, the private key's
 * secret material as armored text and as bytes) may appear in:
 *   - stdout or stderr of any run, the manifest (`--manifest FILE` and `--json`), the notes;
 *   - any file under the artifacts dir or the cache dir (build logs, result.json, .debs, bundle,
 *     index, lock, records...), as raw bytes AND decompressed: .deb members, tar entries, gzip,
 *     xz and zstd streams, nested to any depth; and every object of the cached git repositories;
 *   - the environment of the build containers: every container the run creates is inspected
 *     (from Docker's event stream) while it exists; a canary variable checks that the host's
 *     environment is not passed on wholesale (the Env is built from a fixed list in
 *     src/build/build-env.ts buildEnv(), plus the recipe's and the toolchain's own variables).
 * The scanner is proved on planted secrets first (nested .deb/xz/tar/gzip), so a silent scanner
 * cannot pass the test.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createGunzip, gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { hasStackTrace, runCli, type CliResult } from '../helpers/cli.js';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';
import { tempDir } from '../helpers/tmp.js';
import { generateSigningKey } from '../../src/index/apt/index.js';

const TOKEN = 'ghp_SECRETtokenKestrel7f3a9c1e55d0';
const WRONG_TOKEN = 'ghp_WRONGtokenHeron0b8e2d4c6a71';
const PASSPHRASE = 'PASS-secret-Wombat-4417-zq';
const WRONG_PASSPHRASE = 'PASS-wrong-Otter-5520-xk';
const CANARY = `canary-${randomBytes(8).toString('hex')}`;
const REPO = 'o/r';
const TAG = 'nightly-release-1.18';

// ---- the scanner ------------------------------------------------------------------------------

interface Needle {
  name: string;
  bytes: Buffer;
}

type Kind = 'ar' | 'gzip' | 'xz' | 'zstd' | 'tar';

/** What a stream starts with, by magic number. */
function detect(head: Buffer): Kind | undefined {
  if (head.subarray(0, 8).toString('latin1') === '!<arch>\n') return 'ar';
  if (head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** Members of an ar archive (a .deb): name and bytes. */
function arMembers(buf: Buffer): Array<{ name: string; data: Buffer }> {
  const out: Array<{ name: string; data: Buffer }> = [];
  let off = 8;
  while (off + 60 <= buf.length) {
    const name = buf.toString('latin1', off, off + 16).trim().replace(/\/$/, '');
    const size = Number(buf.toString('latin1', off + 48, off + 58).trim());
    if (!Number.isSafeInteger(size) || buf.toString('latin1', off + 58, off + 60) !== '`\n') throw new Error(`bad ar header at ${off}`);
    out.push({ name, data: buf.subarray(off + 60, off + 60 + size) });
    off += 60 + size + (size % 2);
  }
  return out;
}

/** What a decoder takes its input through: a Node or streamx writable. */
interface Sink {
  write(chunk: Buffer): boolean;
  end(): void;
  once(event: 'drain', fn: () => void): unknown;
}

/**
 * Looks for every needle in raw bytes and, recursively, in whatever the bytes decode to (ar
 * members, tar entries, gzip/xz/zstd streams). Streams, so a toolchain archive of 100+ MB does
 * not sit in memory. Findings and decoding failures are collected, with where they were.
 */
class Scanner {
  readonly findings = new Set<string>();
  readonly errors: string[] = [];
  readonly decoded = new Map<Kind | 'git', number>();
  files = 0;
  bytes = 0;
  private readonly overlap: number;

  constructor(readonly needles: Needle[]) {
    this.overlap = Math.max(...needles.map((n) => n.bytes.length)) - 1;
  }

  /** A matcher for one stream: feed it chunks; needles split across chunks are found too. */
  private matcher(label: string): (chunk: Buffer) => void {
    let tail = Buffer.alloc(0);
    return (chunk) => {
      this.bytes += chunk.length;
      const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      for (const n of this.needles) if (buf.includes(n.bytes)) this.findings.add(`${n.name} in ${label}`);
      tail = Buffer.from(buf.subarray(Math.max(0, buf.length - this.overlap)));
    };
  }

  private count(kind: Kind | 'git'): void {
    this.decoded.set(kind, (this.decoded.get(kind) ?? 0) + 1);
  }

  text(label: string, s: string | Buffer): void {
    this.matcher(label)(Buffer.isBuffer(s) ? s : Buffer.from(s));
  }

  async file(path: string): Promise<void> {
    this.files++;
    await this.stream(createReadStream(path, { highWaterMark: 1 << 20 }), path, 0);
  }

  async buffer(buf: Buffer, label: string): Promise<void> {
    await this.stream(Readable.from([buf]), label, 0);
  }

  async stream(src: AsyncIterable<Buffer>, label: string, depth: number): Promise<void> {
    const it = src[Symbol.asyncIterator]();
    const headParts: Buffer[] = [];
    let headLength = 0;
    let ended = false;
    while (headLength < 512) {
      const n = await it.next();
      if (n.done) {
        ended = true;
        break;
      }
      const c = Buffer.isBuffer(n.value) ? n.value : Buffer.from(n.value as Uint8Array);
      headParts.push(c);
      headLength += c.length;
    }
    const head = Buffer.concat(headParts);
    async function* rest(): AsyncGenerator<Buffer> {
      if (head.length) yield head;
      if (ended) return;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield Buffer.isBuffer(n.value) ? n.value : Buffer.from(n.value as Uint8Array);
      }
    }
    const match = this.matcher(label);
    // Upstream test data holds deliberately broken archives (Go's archive/tar/testdata has tars
    // whose entries have no data): their raw bytes are scanned, they are not decoded.
    const kind = depth < 12 && !/\/testdata\//.test(label) ? detect(head) : undefined;
    if (!kind) {
      for await (const c of rest()) match(c);
      return;
    }
    this.count(kind);
    if (kind === 'ar') {
      const parts: Buffer[] = [];
      for await (const c of rest()) {
        match(c);
        parts.push(c);
      }
      let members: Array<{ name: string; data: Buffer }>;
      try {
        members = arMembers(Buffer.concat(parts));
      } catch (err) {
        this.errors.push(`${label}: ar: ${(err as Error).message}`);
        return;
      }
      for (const m of members) await this.stream(Readable.from([m.data]), `${label}!${m.name}`, depth + 1);
      return;
    }
    // Raw bytes are matched as they are written into the decoder, whose output is scanned in turn.
    const { sink, done } = this.decoder(kind, label, depth);
    let failed = false;
    const decoding = done.then(
      () => undefined,
      (err: unknown) => {
        failed = true;
        this.errors.push(`${label}: ${kind}: ${(err as Error).message}`);
      },
    );
    for await (const c of rest()) {
      match(c);
      if (failed) continue;
      if (!sink.write(c)) await Promise.race([new Promise<void>((resolve) => sink.once('drain', () => resolve())), decoding]);
    }
    if (!failed) sink.end();
    await decoding;
  }

  /** Where to write a stream of `kind`, and when its decoded content has been scanned. */
  private decoder(kind: Exclude<Kind, 'ar'>, label: string, depth: number): { sink: Sink; done: Promise<void> } {
    if (kind === 'gzip') {
      const gunzip = createGunzip();
      return { sink: gunzip, done: this.stream(gunzip, `${label}!gunzip`, depth + 1) };
    }
    if (kind === 'tar') {
      const extract = tar.extract();
      const done = new Promise<void>((resolve, reject) => {
        extract.on('entry', (header, entry, next) => {
          this.stream(entry as AsyncIterable<Buffer>, `${label}!${header.name}`, depth + 1).then(() => next(), (err: unknown) => next(err as Error));
        });
        extract.on('finish', resolve);
        extract.on('error', reject);
      });
      return { sink: extract as unknown as Sink, done };
    }
    const child = spawn(kind, ['--decompress', '--stdout'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? -1));
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => undefined);
    const done = (async () => {
      await this.stream(child.stdout, `${label}!${kind}`, depth + 1);
      const code = await exited;
      if (code !== 0) throw new Error(`${kind} -d exited ${code}: ${stderr.trim().slice(0, 200)}`);
    })();
    return { sink: child.stdin, done };
  }

  /** Every object of a (bare) git repository, decompressed by git itself. */
  async gitObjects(repo: string): Promise<void> {
    this.count('git');
    const child = spawn('git', ['--git-dir', repo, 'cat-file', '--batch-all-objects', '--batch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await this.stream(child.stdout, `${repo}!git-objects`, 1);
    const code = await exited;
    if (code !== 0) this.errors.push(`${repo}: git cat-file exited ${code}`);
  }

  /** Every file under `root` (symlinks: their target text), and the objects of every git repository. */
  async tree(root: string): Promise<void> {
    for (const name of await readdir(root)) {
      const p = join(root, name);
      const st = await lstat(p);
      if (st.isSymbolicLink()) this.text(`${p} (link)`, await readlink(p));
      else if (st.isDirectory()) {
        if (name === 'private-keys-v1.d' || name === 'openpgp-revocs.d') this.findings.add(`a gpg home's ${name} at ${p}`);
        if (existsSync(join(p, 'objects')) && existsSync(join(p, 'HEAD'))) await this.gitObjects(p);
        await this.tree(p);
      } else if (st.isFile()) await this.file(p);
    }
  }
}

// ---- the secret key's own material ------------------------------------------------------------

function dearmor(armored: string): Buffer {
  const body = armored.replace(/\r/g, '').split('\n\n').slice(1).join('\n\n');
  const b64 = body.split('\n').filter((l) => l && !l.startsWith('=') && !l.startsWith('-----')).join('');
  return Buffer.from(b64, 'base64');
}

/** Offsets of the first packet's body (after its header) and its end; new- and old-format headers. */
function firstPacket(bin: Buffer): { tag: number; body: number; end: number } {
  const h = bin[0]!;
  if ((h & 0x80) === 0) throw new Error('not an OpenPGP packet');
  if (h & 0x40) {
    const tag = h & 0x3f;
    const l0 = bin[1]!;
    if (l0 < 192) return { tag, body: 2, end: 2 + l0 };
    if (l0 < 224) return { tag, body: 3, end: 3 + ((l0 - 192) << 8) + bin[2]! + 192 };
    return { tag, body: 6, end: 6 + bin.readUInt32BE(2) };
  }
  const tag = (h >> 2) & 0x0f;
  const lt = h & 3;
  if (lt === 0) return { tag, body: 2, end: 2 + bin[1]! };
  if (lt === 1) return { tag, body: 3, end: 3 + bin.readUInt16BE(1) };
  return { tag, body: 5, end: 5 + bin.readUInt32BE(1) };
}

/**
 * The secret part of an ed25519 secret-key packet (tag 5: version, time, algorithm, curve OID,
 * public point, then S2K and the encrypted secret): bytes no public key export contains.
 */
function secretMaterial(bin: Buffer): Buffer {
  const p = firstPacket(bin);
  assert.equal(p.tag, 5, 'the key starts with a secret-key packet');
  let o = p.body;
  assert.equal(bin[o], 4, 'a v4 key');
  o += 1 + 4;
  const algo = bin[o++]!;
  assert.ok(algo === 22 || algo === 27, `EdDSA key expected, algorithm ${algo}`);
  o += 1 + bin[o]!; // curve OID
  const bits = bin.readUInt16BE(o);
  o += 2 + Math.ceil(bits / 8); // the public point
  return bin.subarray(o, p.end);
}

// ---- the test ---------------------------------------------------------------------------------

describe('secrets (GITHUB_TOKEN, the signing key and its passphrase) appear nowhere', () => {
  let site: TestSite;
  let fake: FakeGitHub;
  let keyFile: string;
  let armored: string;
  let env: Record<string, string>;
  let args: string[];
  let outDir: string;
  let needles: Needle[];
  /** stdout, stderr and manifests of every run. */
  const outputs: Array<{ label: string; text: string }> = [];
  const containers: Array<{ name: string; env: string[]; labels: Record<string, string> }> = [];

  before(async () => {
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
    fake = await startFakeGitHub({ tokens: [TOKEN], repos: [REPO] });
    const keys = await tempDir('crio-build-secrets-key-');
    keyFile = join(keys, 'key.asc');
    await generateSigningKey({ name: 'crio-build secrets test', email: 'secrets@crio-build.invalid', passphrase: PASSPHRASE, outFile: keyFile });
    armored = readFileSync(keyFile, 'utf8');
    outDir = await tempDir('crio-build-secrets-out-');
    env = {
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: '',
      GITHUB_ACTIONS: '',
      CRIO_BUILD_SIGNING_KEY: armored,
      CRIO_BUILD_SIGNING_PASSPHRASE: PASSPHRASE,
      CRIO_BUILD_TEST_CANARY: CANARY,
    };
    args = ['release-1.18', '--arch', 'arm64', ...site.args, '--publish', '--repo', REPO, '--json'];

    // The key's secret material: as bytes, and as the armored text shows it (one line's piece).
    const bin = dearmor(armored);
    const secret = secretMaterial(bin);
    assert.ok(secret.length >= 40, `secret part of ${secret.length} bytes`);
    const start = bin.indexOf(secret);
    const b64 = bin.toString('base64');
    let from = Math.ceil((start + 4) / 3) * 4;
    while (Math.floor(from / 64) !== Math.floor((from + 23) / 64)) from += 4;
    const armoredPiece = b64.slice(from, from + 24);
    assert.ok((from + 24) * 3 / 4 <= start + secret.length, 'the armored piece lies inside the secret part');
    assert.ok(armored.includes(armoredPiece), 'the armored piece is in the key file as written');
    needles = [
      { name: 'GITHUB_TOKEN', bytes: Buffer.from(TOKEN) },
      { name: 'the refused token', bytes: Buffer.from(WRONG_TOKEN) },
      { name: 'the passphrase', bytes: Buffer.from(PASSPHRASE) },
      { name: 'the wrong passphrase', bytes: Buffer.from(WRONG_PASSPHRASE) },
      { name: 'the armored secret key', bytes: Buffer.from(armoredPiece) },
      { name: 'the secret key material', bytes: Buffer.from(secret.subarray(secret.length - 24)) },
      { name: 'an armored private key block', bytes: Buffer.from('BEGIN PGP PRIVATE KEY BLOCK') },
      { name: 'the canary from the environment', bytes: Buffer.from(CANARY) },
    ];
  });

  after(async () => {
    await fake?.close();
    await site?.close();
  });

  async function run(label: string, extra: string[], over: Record<string, string> = {}): Promise<CliResult & { manifest: string }> {
    const manifest = join(outDir, `${label}.manifest.json`);
    const r = await runCli([...args, '--manifest', manifest, ...extra], { env: { ...env, ...over } });
    outputs.push({ label: `${label}: stdout`, text: r.stdout }, { label: `${label}: stderr`, text: r.stderr });
    const m = existsSync(manifest) ? readFileSync(manifest, 'utf8') : '';
    if (m) outputs.push({ label: `${label}: --manifest`, text: m });
    return { ...r, manifest: m };
  }

  /** No needle in this run's output (checked at once, so a failure names the run). */
  function assertClean(r: CliResult & { manifest: string }, label: string): void {
    const s = new Scanner(needles);
    s.text(`${label} stdout`, r.stdout);
    s.text(`${label} stderr`, r.stderr);
    s.text(`${label} manifest`, r.manifest);
    assert.deepEqual([...s.findings], [], `secrets shown by ${label}`);
    assert.ok(!hasStackTrace(r.stderr), `${label}: stack trace\n${r.stderr.slice(-2000)}`);
  }

  test('the scanner finds a planted secret in raw bytes, and inside xz, tar, gzip and .deb members (so its silence means something)', async () => {
    const root = await tempDir('crio-build-secrets-plant-');
    const pkg = join(root, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(join(pkg, 'usr/share/doc/planted'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: planted\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t.invalid>\nDescription: planted\n');
    writeFileSync(join(pkg, 'usr/share/doc/planted/notes.gz'), gzipSync(Buffer.from(`x\n${PASSPHRASE}\ny\n`)));
    execFileSync('dpkg-deb', ['-Zxz', '--root-owner-group', '--build', pkg, join(root, 'planted.deb')], { stdio: 'pipe' });
    writeFileSync(join(root, 'raw.txt'), `token=${TOKEN}`);
    mkdirSync(join(root, 'clean'));
    writeFileSync(join(root, 'clean', 'nothing.gz'), gzipSync(Buffer.from('nothing to see')));
    const s = new Scanner(needles);
    await s.file(join(root, 'planted.deb'));
    await s.file(join(root, 'raw.txt'));
    await s.tree(join(root, 'clean'));
    assert.deepEqual(
      [...s.findings].sort(),
      [`GITHUB_TOKEN in ${join(root, 'raw.txt')}`, `the passphrase in ${join(root, 'planted.deb')}!data.tar.xz!xz!./usr/share/doc/planted/notes.gz!gunzip`].sort(),
    );
    assert.deepEqual(s.errors, []);
    for (const k of ['ar', 'xz', 'tar', 'gzip'] as const) assert.ok((s.decoded.get(k) ?? 0) > 0, `decoded ${k}`);
    // A needle split across two chunks of a stream is found too.
    const split = new Scanner(needles);
    await split.stream(Readable.from([Buffer.from(`aaa${TOKEN.slice(0, 10)}`), Buffer.from(`${TOKEN.slice(10)}bbb`)]), 'split', 0);
    assert.deepEqual([...split.findings], ['GITHUB_TOKEN in split']);
  });

  test('a full publish: exit 0; no secret in stdout, stderr, --json or --manifest; none in the build containers\' environment', async () => {
    const docker = new Docker();
    const events = (await docker.getEvents({ filters: { type: ['container'], event: ['create'], label: ['io.crio-build.managed=true'] } })) as NodeJS.ReadableStream & { destroy(): void };
    const inspections: Promise<void>[] = [];
    let pending = '';
    events.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        const id = (JSON.parse(line) as { id?: string; Actor?: { ID?: string } }).Actor?.ID;
        if (!id) continue;
        inspections.push(
          docker
            .getContainer(id)
            .inspect()
            .then(
              (info) => void containers.push({ name: info.Name, env: info.Config.Env ?? [], labels: info.Config.Labels ?? {} }),
              () => undefined,
            ),
        );
      }
    });
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run('publish', []);
      await new Promise((res) => setTimeout(res, 500));
    } finally {
      events.destroy();
    }
    await Promise.all(inspections);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assertClean(r, 'the publish');
    for (const c of ['cri-o', 'conmon', 'cni-plugins', 'cri-tools']) assert.match(r.stderr, new RegExp(`release-1\\.18/arm64 build:${c} +ok`), `${c} was built in this run, with the secrets in the environment`);
    const rel = fake.release(REPO, TAG);
    assert.ok(rel && !rel.draft && rel.assets.length >= 14, 'the release is on the fake GitHub');
    assert.ok(fake.requests.some((q) => q.route === 'upload-asset' && q.status === 201 && q.authorization), 'uploads carried the token');
    const m = JSON.parse(r.stdout) as { ok: boolean; releases: Array<{ tag: string }> };
    assert.equal(m.ok, true);
    assert.equal(m.releases[0]?.tag, TAG);
    assert.ok(r.manifest.length > 0, '--manifest wrote the file');
    assert.deepEqual(JSON.parse(r.manifest).releases, m.releases, '--manifest and --json agree');
    outputs.push({ label: 'the release body on GitHub', text: rel.body ?? '' });

    // The build containers: one per component, each inspected while it existed.
    const builds = containers.filter((c) => c.labels['io.crio-build.kind'] === 'build' && c.labels['io.crio-build.arch'] === 'arm64');
    for (const comp of ['cri-o', 'conmon', 'cni-plugins', 'cri-tools']) {
      assert.ok(builds.some((c) => c.labels['io.crio-build.component'] === comp), `saw the ${comp} build container: ${containers.map((c) => c.name).join(' ')}`);
    }
    for (const c of containers) {
      const names = c.env.map((e) => e.split('=')[0]);
      assert.ok(names.includes('PATH'), `${c.name}: its environment was read (${names.join(' ')})`);
      for (const v of ['GITHUB_TOKEN', 'GITHUB_API_URL', 'CRIO_BUILD_SIGNING_KEY', 'CRIO_BUILD_SIGNING_PASSPHRASE', 'CRIO_BUILD_TEST_CANARY']) assert.ok(!names.includes(v), `${c.name} has ${v} in its environment`);
      const text = c.env.join('\n');
      assert.ok(!text.includes(CANARY), `${c.name}: the host environment is passed on`);
      for (const n of needles) assert.ok(!text.includes(n.bytes.toString('latin1')), `${c.name}: ${n.name} in its environment`);
    }
    for (const c of builds) assert.ok(c.env.includes('GOARCH=arm64'), `${c.name}: the build environment (${c.env.join(' ')})`);
  });

  test('a token GitHub refuses (401): exit 1 with GitHub\'s answer and a hint; the refused token is not shown', async () => {
    fake.resetCounters();
    const r = await run('bad-token', [], { GITHUB_TOKEN: WRONG_TOKEN });
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    assert.match(r.stderr, /401 Bad credentials/);
    assert.match(r.stderr, /GITHUB_TOKEN was refused/);
    assert.ok(fake.requests.length > 0 && fake.requests.every((q) => q.status === 401 && q.authorization), 'GitHub was asked, with the token, and said 401');
    assert.equal(JSON.parse(r.stdout).ok, false, '--json says the run failed');
    assert.equal(JSON.parse(r.manifest).ok, false, '--manifest says the run failed');
    assertClean(r, 'the 401 run');
  });

  test('a wrong passphrase: exit 3 saying the passphrase does not unlock the key; neither passphrase nor the key is shown', async () => {
    fake.resetCounters();
    const r = await run('bad-passphrase', [], { CRIO_BUILD_SIGNING_PASSPHRASE: WRONG_PASSPHRASE });
    assert.equal(r.code, 3, r.stderr.slice(-3000));
    assert.match(r.stderr, /passphrase given does not unlock the key in \$CRIO_BUILD_SIGNING_KEY/);
    assert.match(r.stderr, /CRIO_BUILD_SIGNING_PASSPHRASE/);
    assert.equal(fake.writes(), 0, 'nothing published');
    assert.equal(r.manifest, '', 'refused while reading the options, before any run (so no run manifest)');
    assertClean(r, 'the wrong-passphrase run');
  });

  test('a signing key file that does not exist: exit 3 naming the file; no secret shown', async () => {
    fake.resetCounters();
    const missing = join(outDir, 'no-such-dir', 'key.asc');
    const r = await run('missing-key-file', ['--signing-key', missing], { CRIO_BUILD_SIGNING_KEY: '' });
    assert.equal(r.code, 3, r.stderr.slice(-3000));
    assert.ok(r.stderr.includes(`cannot read signing key file ${missing}: ENOENT`), r.stderr.slice(-2000));
    assert.equal(fake.writes(), 0, 'nothing published');
    assertClean(r, 'the missing-key-file run');
  });

  test('no secret in any output, the notes, the release body, or any file of the artifacts and cache dirs (raw and decompressed)', { timeout: 15 * 60_000 }, async () => {
    const s = new Scanner(needles);
    // stdout and stderr of every run, and the manifests of the runs that started (key errors are
    // refused while the options are read, before a run and its manifest exist).
    assert.ok(outputs.length >= 11, `outputs kept: ${outputs.map((o) => o.label).join(', ')}`);
    for (const o of outputs) s.text(o.label, o.text);
    await s.tree(site.artifactsDir);
    await s.tree(site.cacheDir);
    await s.tree(outDir);
    assert.deepEqual([...s.findings].sort(), [], 'secrets found');

    assert.deepEqual(s.errors, [], 'archives that could not be decoded');

    // The walk really went through what matters.
    const artifacts = (sub: string) => readdirSync(join(site.artifactsDir, sub));
    const logs = artifacts('release-1.18/arm64/logs').filter((f) => f.endsWith('.log'));
    assert.ok(['cri-o', 'conmon', 'cni-plugins', 'cri-tools'].every((c) => logs.includes(`${c}.log`)), `build logs: ${logs.join(' ')}`);
    const results = readdirSync(join(site.cacheDir, 'builds')).filter((k) => existsSync(join(site.cacheDir, 'builds', k, 'result.json')));
    assert.ok(results.length >= 4, `BuildResult records in the cache: ${results.length}`);
    const debs = artifacts(`releases/${TAG}`).filter((f) => f.endsWith('.deb'));
    assert.equal(debs.length, 4);
    assert.ok(existsSync(join(site.artifactsDir, 'releases', TAG, 'RELEASE_NOTES.md')));
    assert.ok((s.decoded.get('ar') ?? 0) >= 8, `.debs opened: ${s.decoded.get('ar')}`);
    assert.ok((s.decoded.get('xz') ?? 0) >= 8, `xz streams: ${s.decoded.get('xz')}`);
    assert.ok((s.decoded.get('tar') ?? 0) >= 10, `tar archives: ${s.decoded.get('tar')}`);
    assert.ok((s.decoded.get('gzip') ?? 0) >= 4, `gzip streams: ${s.decoded.get('gzip')}`);
    assert.ok((s.decoded.get('git') ?? 0) >= 4, `git repositories: ${s.decoded.get('git')}`);
    assert.ok(s.files > 50, `files: ${s.files}`);
    // The build logs and the BuildResult records name no secret variable either (an env dump would).
    const records = [
      ...logs.map((f) => join(site.artifactsDir, 'release-1.18/arm64/logs', f)),
      ...results.map((k) => join(site.cacheDir, 'builds', k, 'result.json')),
    ];
    for (const f of records) {
      const text = readFileSync(f, 'utf8');
      for (const v of ['GITHUB_TOKEN', 'GITHUB_API_URL', 'CRIO_BUILD_SIGNING', 'CRIO_BUILD_TEST_CANARY']) assert.ok(!text.includes(v), `${f} mentions ${v}`);
    }
    assert.match(readFileSync(join(site.artifactsDir, 'release-1.18/arm64/logs/cri-o.log'), 'utf8'), /cri-o .* for linux\/arm64/, 'the logs read are the build logs');
    assert.ok(results.some((k) => /"shlibsDepends"|"seconds"/.test(readFileSync(join(site.cacheDir, 'builds', k, 'result.json'), 'utf8'))), 'the records read are BuildResults');
    console.log(`# scanned ${s.files} files, ${(s.bytes / 2 ** 20).toFixed(0)} MiB (raw and decoded); decoded ${JSON.stringify(Object.fromEntries(s.decoded))}`);
  });
});

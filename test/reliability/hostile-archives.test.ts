/**
 * Hostile archives, table-driven: build outputs handed back by a container (getArchive, through
 * the safe extractor), source trees (git archive of a hand-made hostile tree, through sourceTar) and
 * toolchain tarballs (sent to Docker in the build context). Each hostile one is refused with an
 * error naming the entry, and leaves nothing behind: not inside the output directory (what the
 * refused call had already extracted is removed, earlier outputs stay), not outside it.
 *
 * test/build/extract.test.ts has the first examples of each refusal; this is the wider table.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { extract as tarExtract, pack as tarPack, type Header } from 'tar-stream';
import { builderFiles } from '../../src/hosts/images/builder-image.js';
import { buildContext } from '../../src/hosts/images/context.js';
import { extractSafely, UnsafeArchiveError } from '../../src/build/extract.js';
import { BUILDER_UID, sourceTar } from '../../src/build/source-tar.js';
import { ExitCode, quote, SourceError } from '../../src/core/errors.js';
import { tempNameFor } from '../../src/core/atomic.js';
import { gitIn } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/tmp.js';

type Entry = Partial<Header> & { name: string; body?: string };

async function tarBytes(entries: Entry[]): Promise<Buffer> {
  const pack = tarPack();
  for (const { body, ...h } of entries) {
    if (body !== undefined) pack.entry({ mode: 0o644, ...h }, body);
    else pack.entry({ mode: h.type === 'directory' ? 0o755 : 0o644, ...h });
  }
  pack.finalize();
  return buffer(pack as unknown as Readable);
}

/** Rewrite the size field of the first header (and its checksum): a header that claims more than follows. */
function withDeclaredSize(tar: Buffer, octal: string): Buffer {
  const b = Buffer.from(tar);
  b.write(octal.padStart(11, '0') + '\0', 124, 'ascii');
  b.fill(' ', 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return b;
}

/** Every path under dir with its type, mode and content (or link target): a before/after picture. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const p = join(dir, rel);
    const st = lstatSync(p);
    const kind = st.isSymbolicLink() ? `link->${readlinkSync(p)}` : st.isDirectory() ? 'dir' : st.isFile() ? `file:${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 12)}` : 'other';
    out[rel] = `${kind} ${(st.mode & 0o7777).toString(8)}`;
  }
  return out;
}

interface Place {
  base: string;
  root: string;
  sentinel: string;
  outside: string;
}

/** base/out is the output root (already holding an earlier output, bin/conmon); base/sentinel and base/outside/ lie outside it. */
async function place(): Promise<Place> {
  const base = await tempDir('crio-build-hostile-archive-');
  const root = join(base, 'out');
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'bin/conmon'), 'EARLIER OUTPUT');
  const sentinel = join(base, 'sentinel');
  writeFileSync(sentinel, 'SENTINEL');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  return { base, root, sentinel, outside };
}

interface ArchiveCase {
  label: string;
  /** The output path asked for (relative to root). */
  want: string;
  tar: (p: Place) => Promise<Buffer>;
  /** What the refusal says. */
  refuses: RegExp;
  /** The entry the error must name (escaped as the extractor shows names). */
  entry?: string;
}

const t = (entries: Entry[] | ((p: Place) => Entry[])) => (p: Place) => tarBytes(typeof entries === 'function' ? entries(p) : entries);
const D = (name: string): Entry => ({ name, type: 'directory' });

const ARCHIVE_CASES: ArchiveCase[] = [
  // Names that leave the tree.
  { label: 'absolute path', want: 'crio', tar: t([{ name: '/etc/crio-build-escaped', body: 'x' }]), refuses: /absolute path/, entry: '/etc/crio-build-escaped' },
  { label: 'absolute path spelled like the output', want: 'bin/crio', tar: t([{ name: '/crio', body: 'x' }]), refuses: /absolute path/, entry: '/crio' },
  { label: 'absolute path to the sentinel', want: 'crio', tar: t((p) => [{ name: p.sentinel, body: 'OVERWRITTEN' }]), refuses: /absolute path/ },
  { label: '.. first', want: 'crio', tar: t([{ name: '../escaped', body: 'x' }]), refuses: /contains \.\./, entry: '../escaped' },
  { label: '.. inside the output', want: 'crio', tar: t([{ name: 'crio/../../sentinel', body: 'OVERWRITTEN' }]), refuses: /contains \.\./, entry: 'crio/../../sentinel' },
  { label: '.. at the end', want: 'd', tar: t([D('d/'), D('d/../')]), refuses: /contains \.\./, entry: 'd/../' },
  { label: '.. after good entries (they are removed again)', want: 'd', tar: t([D('d/'), D('d/sub/'), { name: 'd/sub/ok', body: 'ok' }, { name: 'd/sub/../../../sentinel', body: 'OVERWRITTEN' }]), refuses: /contains \.\./ },
  { label: 'dot only', want: 'd', tar: t([D('./')]), refuses: /empty or invalid path|outside the requested/ },
  { label: 'an entry beside the output', want: 'bin/crio', tar: t([{ name: 'crio', body: 'x' }, { name: 'conmon', body: 'REPLACED' }]), refuses: /outside the requested crio/, entry: 'conmon' },
  // Symlinks.
  { label: 'symlink to an absolute path, then a file through it', want: 'd', tar: t((p) => [D('d/'), { name: 'd/l', type: 'symlink', linkname: p.outside }, { name: 'd/l/planted', body: 'x' }]), refuses: /symlink to absolute path/, entry: 'd/l' },
  { label: 'symlink climbing out, then a file through it', want: 'd', tar: t([D('d/'), { name: 'd/l', type: 'symlink', linkname: '../../outside' }, { name: 'd/l/planted', body: 'x' }]), refuses: /points outside the output directory/, entry: 'd/l' },
  { label: 'symlink to /etc/passwd', want: 'crio', tar: t([{ name: 'crio', type: 'symlink', linkname: '/etc/passwd' }]), refuses: /symlink to absolute path "\/etc\/passwd"/, entry: 'crio' },
  { label: 'symlink chain: the second link climbs out', want: 'd', tar: t([D('d/'), { name: 'd/a', type: 'symlink', linkname: 'b' }, { name: 'd/b', type: 'symlink', linkname: '../../..' }]), refuses: /points outside/, entry: 'd/b' },
  { label: 'symlink inside, then a file through it', want: 'd', tar: t([D('d/'), D('d/sub/'), { name: 'd/l', type: 'symlink', linkname: 'sub' }, { name: 'd/l/x', body: 'x' }]), refuses: /is not a directory \(a symlink\?\)/, entry: 'd/l/x' },
  { label: 'symlink to the root, then a file through it', want: 'd', tar: t([D('d/'), { name: 'd/up', type: 'symlink', linkname: '..' }, { name: 'd/up/bin/conmon', body: 'REPLACED' }]), refuses: /is not a directory/, entry: 'd/up/bin/conmon' },
  { label: 'symlink, then a directory of the same name', want: 'd', tar: t([D('d/'), { name: 'd/l', type: 'symlink', linkname: '.' }, D('d/l/')]), refuses: /a directory would replace a file or link/, entry: 'd/l/' },
  { label: 'symlink with an empty target', want: 'd', tar: t([D('d/'), { name: 'd/l', type: 'symlink', linkname: '' }]), refuses: /symlink to absolute path ""/ },
  { label: 'symlink target with a newline', want: 'd', tar: t([D('d/'), { name: 'd/l', type: 'symlink', linkname: 'x\nFAKE' }]), refuses: /symlink target "x\\nFAKE" has a control or invisible character/ },
  // Hard links.
  { label: 'hard link to /etc/passwd', want: 'crio', tar: t([{ name: 'crio', type: 'link', linkname: '/etc/passwd' }]), refuses: /absolute path/, entry: '/etc/passwd' },
  { label: 'hard link to the sentinel by ..', want: 'd', tar: t([D('d/'), { name: 'd/h', type: 'link', linkname: '../sentinel' }]), refuses: /contains \.\./, entry: '../sentinel' },
  { label: 'hard link to an earlier output outside this one', want: 'd', tar: t([D('d/'), { name: 'd/h', type: 'link', linkname: 'bin/conmon' }]), refuses: /outside the requested d/, entry: 'bin/conmon' },
  { label: 'hard link to a symlink from the same archive', want: 'd', tar: t([D('d/'), { name: 'd/s', type: 'symlink', linkname: 'x' }, { name: 'd/h', type: 'link', linkname: 'd/s' }]), refuses: /not a file extracted from this archive/, entry: 'd/h' },
  { label: 'hard link forward to a file not extracted yet', want: 'd', tar: t([D('d/'), { name: 'd/h', type: 'link', linkname: 'd/later' }, { name: 'd/later', body: 'x' }]), refuses: /not a file extracted from this archive/, entry: 'd/h' },
  { label: 'hard link, then a file written over it', want: 'd', tar: t([D('d/'), { name: 'd/a', body: 'a' }, { name: 'd/h', type: 'link', linkname: 'd/a' }, { name: 'd/h', body: 'through the link' }]), refuses: /duplicate entry/, entry: 'd/h' },
  // Special files.
  { label: 'character device', want: 'null', tar: t([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }]), refuses: /character-device entries .* are not allowed/, entry: 'null' },
  { label: 'block device inside a directory output', want: 'd', tar: t([D('d/'), { name: 'd/sda', type: 'block-device', devmajor: 8, devminor: 0 }]), refuses: /block-device entries/, entry: 'd/sda' },
  { label: 'fifo', want: 'd', tar: t([D('d/'), { name: 'd/pipe', type: 'fifo' }]), refuses: /fifo entries/, entry: 'd/pipe' },
  // Same name twice.
  { label: 'a file, then a directory of the same name', want: 'd', tar: t([D('d/'), { name: 'd/x', body: 'x' }, D('d/x/'), { name: 'd/x/y', body: 'y' }]), refuses: /a directory would replace a file or link/, entry: 'd/x/' },
  { label: 'a directory, then a file of the same name', want: 'd', tar: t([D('d/'), D('d/x/'), { name: 'd/x', body: 'x' }]), refuses: /duplicate entry/, entry: 'd/x' },
  { label: 'a file twice', want: 'd', tar: t([D('d/'), { name: 'd/x', body: 'one' }, { name: 'd/x', body: 'two' }]), refuses: /duplicate entry/, entry: 'd/x' },
  { label: 'a file, then a symlink of the same name', want: 'd', tar: t([D('d/'), { name: 'd/x', body: 'one' }, { name: 'd/x', type: 'symlink', linkname: '../bin/conmon' }]), refuses: /duplicate entry/, entry: 'd/x' },
  { label: 'the output over an earlier output', want: 'bin/conmon', tar: t([{ name: 'conmon', body: 'REPLACED' }]), refuses: /duplicate entry/, entry: 'conmon' },
  // Names no file should have.
  { label: 'newline in a name', want: 'd', tar: t([D('d/'), { name: 'd/evil\nname', body: 'x' }]), refuses: /control or invisible character in the name/, entry: 'd/evil\nname' },
  { label: 'NUL in a name (pax path)', want: 'd', tar: t([D('d/'), { name: 'd/x', pax: { path: 'd/a\u0000b' }, body: 'x' }]), refuses: /control or invisible character in the name/, entry: 'd/a\u0000b' },
  { label: 'escape sequence in a name', want: 'd', tar: t([D('d/'), { name: 'd/\u001b[2Jx', body: 'x' }]), refuses: /control or invisible character/, entry: 'd/\u001b[2Jx' },
  { label: 'RTL override in a name', want: 'd', tar: t([D('d/'), { name: 'd/crio\u202egnp.exe', body: 'x' }]), refuses: /control or invisible character/, entry: 'd/crio\u202egnp.exe' },
  // Broken streams.
  { label: 'huge declared size (8 GiB), little data', want: 'crio', tar: async () => withDeclaredSize(await tarBytes([{ name: 'crio', body: 'hello' }]), '77777777777'), refuses: /refusing archive for output crio at entry "crio"/ },
  { label: 'truncated in the middle of a file', want: 'd', tar: async () => (await tarBytes([D('d/'), { name: 'd/ok', body: 'ok' }, { name: 'd/big', body: 'x'.repeat(10_000) }])).subarray(0, 512 * 6), refuses: /refusing archive for output d at entry "d\/big"/ },
  { label: 'garbage after good entries', want: 'd', tar: async () => Buffer.concat([(await tarBytes([D('d/'), { name: 'd/ok', body: 'ok' }])).subarray(0, 512 * 3), Buffer.alloc(1024, 0x41)]), refuses: /refusing archive for output d/ },
];

describe('build outputs through the safe extractor (getArchive streams)', () => {
  for (const c of ARCHIVE_CASES) {
    test(c.label, async () => {
      const p = await place();
      const before = snapshot(p.base);
      const err = await extractSafely(Readable.from(await c.tar(p)), { root: p.root, want: c.want }).then(
        (files) => assert.fail(`accepted: ${JSON.stringify(files)}`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof UnsafeArchiveError, `expected UnsafeArchiveError, got ${(err as Error)?.stack ?? String(err)}`);
      assert.equal(err.exitCode, ExitCode.jobFailed);
      assert.match(err.message, c.refuses);
      if (c.entry !== undefined) assert.ok(err.message.includes(quote(c.entry, 200)), `the error names ${JSON.stringify(c.entry)}: ${err.message}`);
      assert.doesNotMatch(err.message, /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/, 'the entry name is escaped in the message');
      // Nothing written anywhere: the earlier output, the sentinel and the outside dir are as they were,
      // and no partial or temporary file is left in the output directory.
      assert.deepEqual(snapshot(p.base), before);
      assert.equal(readFileSync(p.sentinel, 'utf8'), 'SENTINEL');
    });
  }

  test('set-id and sticky bits are dropped, for files, hard links and directories', async () => {
    const p = await place();
    const files = await extractSafely(
      Readable.from(
        await tarBytes([
          { name: 'd/', type: 'directory', mode: 0o7777 },
          { name: 'd/suid', body: 'x', mode: 0o4755 },
          { name: 'd/sgid', body: 'x', mode: 0o2711 },
          { name: 'd/both', body: 'x', mode: 0o6777 },
          { name: 'd/hard', type: 'link', linkname: 'd/suid', mode: 0o4755 },
        ]),
      ),
      { root: p.root, want: 'd' },
    );
    assert.equal(files.length, 5);
    for (const [name, mode] of [['d', 0o777], ['d/suid', 0o755], ['d/sgid', 0o711], ['d/both', 0o777], ['d/hard', 0o755]] as const) {
      assert.equal(lstatSync(join(p.root, name)).mode & 0o7777, mode, name);
    }
  });

  test('a refused archive removes what it had extracted, keeps what was there before, and leaves no temporary names', async () => {
    const p = await place();
    await extractSafely(Readable.from(await tarBytes([{ name: 'crio', body: 'CRIO' }])), { root: p.root, want: 'bin/crio' });
    const before = snapshot(p.base);
    await assert.rejects(
      extractSafely(Readable.from(await tarBytes([D('docs/'), D('docs/man/'), { name: 'docs/man/crio.8', body: 'man' }, { name: 'docs/man/x', type: 'fifo' }])), { root: p.root, want: 'docs' }),
      UnsafeArchiveError,
    );
    assert.deepEqual(snapshot(p.base), before);
    assert.equal(readFileSync(join(p.root, 'bin/crio'), 'utf8'), 'CRIO');
    assert.deepEqual(Object.keys(snapshot(p.base)).filter((n) => n.includes('.tmp-')), []);
  });

  test('an output path that is not plain relative is refused before anything is read', async () => {
    const p = await place();
    const before = snapshot(p.base);
    for (const want of ['', '.', '/abs', '../x', 'a/../../b', '..']) {
      await assert.rejects(extractSafely(Readable.from(await tarBytes([{ name: 'x', body: 'x' }])), { root: p.root, want }), (e: Error) => e instanceof UnsafeArchiveError && /is not a plain relative path/.test(e.message), JSON.stringify(want));
    }
    assert.deepEqual(snapshot(p.base), before);
  });

  test('temporary names (where outputs are staged before their rename) sit beside the final name and never repeat', () => {
    const final = '/cache/builds/0123abcd';
    const names = new Set(Array.from({ length: 200 }, () => tempNameFor(final)));
    assert.equal(names.size, 200);
    for (const n of names) assert.match(n, new RegExp(`^${final}\\.tmp-${process.pid}-[0-9a-f]{8}$`));
  });
});

// ---- Source trees: git archive of a hand-made tree, through sourceTar ------------------------------

interface TreeEntry {
  name: string;
  kind: 'blob' | 'link' | 'tree';
  content?: string;
  entries?: TreeEntry[];
}

/** A bare repo holding one commit whose tree is exactly `entries` (made with mktree: no checks a checkout would do). */
function hostileRepo(dir: string, entries: TreeEntry[]): { repo: string; commit: string } {
  const repo = join(dir, 'repo.git');
  gitIn(dir, ['init', '--quiet', '--bare', repo]);
  const git = (args: string[], input?: string) => execFileSync('git', ['-C', repo, ...args], { input, encoding: 'utf8' }).trim();
  const tree = (list: TreeEntry[]): string => {
    const lines = list.map((e) => {
      if (e.kind === 'tree') return `040000 tree ${tree(e.entries ?? [])}\t${e.name}`;
      const id = git(['hash-object', '-w', '--stdin'], e.content ?? '');
      return `${e.kind === 'link' ? '120000' : '100644'} blob ${id}\t${e.name}`;
    });
    return git(['mktree', '-z'], lines.map((l) => `${l}\0`).join(''));
  };
  const commit = execFileSync('git', ['-C', repo, '-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'commit-tree', tree(entries), '-m', 'hostile'], { encoding: 'utf8' }).trim();
  return { repo, commit };
}

async function readSourceTar(repo: string, commit: string, prefix: string): Promise<Header[]> {
  const ex = tarExtract();
  const headers: Header[] = [];
  const reading = (async () => {
    for await (const e of ex) {
      headers.push(e.header);
      e.resume();
    }
  })();
  const feeding = pipeline(sourceTar(repo, commit, prefix), ex as unknown as NodeJS.WritableStream);
  const settled = await Promise.allSettled([feeding, reading]);
  const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  // The stream's own error, rather than the "premature close" it causes downstream.
  if (errors.length) throw errors.find((e) => e instanceof SourceError) ?? errors[0];
  return headers;
}

const SOURCE_CASES: { label: string; entries: TreeEntry[]; refuses: RegExp }[] = [
  { label: 'a ".." entry', entries: [{ name: '..', kind: 'blob', content: 'x' }], refuses: /invalid path '\.\.'/ },
  { label: 'a ".." directory holding a file', entries: [{ name: '..', kind: 'tree', entries: [{ name: 'escaped', kind: 'blob', content: 'x' }] }, { name: 'ok', kind: 'blob', content: 'ok' }], refuses: /invalid path '\.\.\/escaped'/ },
  { label: 'a ".git" entry', entries: [{ name: '.git', kind: 'tree', entries: [{ name: 'config', kind: 'blob', content: '[core]\n' }] }], refuses: /invalid path '\.git/ },
  { label: 'a symlink to /etc, then a file "through" it', entries: [{ name: 'link', kind: 'link', content: '/etc' }, { name: 'link', kind: 'tree', entries: [{ name: 'passwd', kind: 'blob', content: 'root::0:0::/:/bin/sh\n' }] }], refuses: /has "link\/" twice|puts "link\/passwd" under the symlink "link"/ },
  { label: 'the same name twice', entries: [{ name: 'x', kind: 'blob', content: 'one' }, { name: 'x', kind: 'blob', content: 'two' }], refuses: /has "x" twice/ },
];

describe('source trees through sourceTar (git archive of a hostile tree)', () => {
  for (const c of SOURCE_CASES) {
    test(c.label, async () => {
      const dir = await tempDir('crio-build-hostile-source-');
      const { repo, commit } = hostileRepo(dir, c.entries);
      const before = snapshot(dir);
      const err = await readSourceTar(repo, commit, 'build/src').then(
        (h) => assert.fail(`accepted: ${h.map((x) => x.name).join(', ')}`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SourceError, `expected SourceError, got ${(err as Error)?.stack ?? String(err)}`);
      assert.equal(err.exitCode, ExitCode.source);
      assert.match(err.message, c.refuses);
      assert.ok(err.message.includes(commit), 'names the commit');
      // sourceTar only streams: nothing was written on this host.
      assert.deepEqual(snapshot(dir), before);
    });
  }

  test('symlinks that point out of the tree are passed on as symlinks under the prefix (they resolve inside the build container)', async () => {
    const dir = await tempDir('crio-build-hostile-source-');
    const { repo, commit } = hostileRepo(dir, [
      { name: 'abs', kind: 'link', content: '/etc/passwd' },
      { name: 'climb', kind: 'link', content: '../../../../../../etc' },
      { name: 'src', kind: 'tree', entries: [{ name: 'main.go', kind: 'blob', content: 'package main\n' }] },
    ]);
    const headers = await readSourceTar(repo, commit, 'build/src');
    for (const h of headers) {
      assert.ok(h.name.startsWith('build/'), h.name);
      assert.equal(h.name.split('/').includes('..'), false, h.name);
      assert.ok(['file', 'directory', 'symlink'].includes(h.type ?? ''), `${h.name}: ${h.type}`);
      assert.equal(h.uid, BUILDER_UID);
    }
    const links = Object.fromEntries(headers.filter((h) => h.type === 'symlink').map((h) => [h.name, h.linkname]));
    assert.deepEqual(links, { 'build/src/abs': '/etc/passwd', 'build/src/climb': '../../../../../../etc' });
  });
});

// ---- Toolchain tarballs: one opaque file in the Docker build context --------------------------------

describe('toolchain tarballs go to Docker as one file, never unpacked on this host', () => {
  test('a hostile toolchain tarball and a builders folder with a symlink and a fifo', async () => {
    const dir = await tempDir('crio-build-hostile-toolchain-');
    const tarball = join(dir, 'go.linux-arm64.tar');
    const hostile = await tarBytes([
      { name: '/etc/cron.d/evil', body: '* * * * * root id\n' },
      { name: 'go/../../escaped', body: 'x' },
      { name: 'go/', type: 'directory', mode: 0o7777 },
      { name: 'go/link', type: 'symlink', linkname: '/' },
      { name: 'go/link/etc/shadow', body: 'x' },
      { name: 'go/hard', type: 'link', linkname: '/etc/passwd' },
      { name: 'go/dev-null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'go/bin/go', body: '#!/bin/sh\n', mode: 0o4755 },
    ]);
    writeFileSync(tarball, hostile);
    const builders = join(dir, 'builders', 'debian-bookworm');
    mkdirSync(join(builders, 'scripts'), { recursive: true });
    writeFileSync(join(builders, 'Dockerfile'), 'FROM scratch\nADD toolchain.tar /opt/toolchain/\n');
    writeFileSync(join(builders, 'scripts/install.sh'), 'true\n', { mode: 0o755 });
    symlinkSync('/etc/passwd', join(builders, 'passwd-link'));
    execFileSync('mkfifo', [join(builders, 'pipe')]);
    const before = snapshot(dir);

    const files = await builderFiles(builders);
    assert.deepEqual(files.map((f) => f.rel), ['Dockerfile', 'scripts/install.sh'], 'symlinks and fifos in a builders folder are not sent (nor read)');
    const context = await buffer(buildContext([...files.map((f) => ({ name: f.rel, file: f.file, mode: f.mode })), { name: 'toolchain.tar', file: tarball }]));

    const entries: { name: string; type: string; sha?: string }[] = [];
    const ex = tarExtract();
    const reading = (async () => {
      for await (const e of ex) {
        const body = await buffer(e as unknown as Readable);
        entries.push({ name: e.header.name, type: e.header.type ?? '', sha: createHash('sha256').update(body).digest('hex') });
      }
    })();
    ex.end(context);
    await reading;
    assert.deepEqual(entries.map((e) => [e.name, e.type]), [['Dockerfile', 'file'], ['scripts/install.sh', 'file'], ['toolchain.tar', 'file']]);
    assert.equal(entries[2]!.sha, createHash('sha256').update(hostile).digest('hex'), 'the tarball travels byte for byte; Docker ADD unpacks it inside the image');
    assert.deepEqual(snapshot(dir), before, 'nothing was unpacked or written on this host');
  });
});

/**
 * The one sha256 helper, file digest and directory digest (src/core/hash.ts). Every expected value
 * is computed another way: by sha256sum, and for directories by a bash walk that writes each
 * layout's documented record (the formulas of the walkers they replaced: plan/keys.ts dirDigest and
 * definitionDigest, the builder image's recipe key, package/keys.ts outputDigest) into sha256sum.
 * Cache keys and builder image tags are made from these digests, so they must never drift.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dirDigest, sha256File, sha256Hex, walkTree, type DigestLayout } from '../../src/core/hash.js';
import { builderFiles, builderImageKey, type BuilderSpec } from '../../src/hosts/images/builder-image.js';
import { definitionDigest } from '../../src/plan/keys.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const LAYOUTS: DigestLayout[] = ['content', 'content+exec', 'content+mode', 'tree'];

async function sha256sum(file: string): Promise<string> {
  return (await run('sha256sum', [file])).stdout.split(' ')[0]!;
}

/**
 * The digest of `root` in `layout` by bash and sha256sum: a C-locale glob lists each directory in
 * bytewise order (dot files included), each entry is written as the layout documents, depth first.
 */
const WALK = String.raw`
set -euo pipefail
shopt -s dotglob nullglob
export LC_ALL=C
layout=$1 root=$2 prefix=$3 skip=$4
walk() {
  local p r m
  for p in "$1"/*; do
    r=@{p#"$root"/}
    if [ "$r" = "$skip" ]; then continue; fi
    m=$(stat -c %a "$p")
    if [ -L "$p" ]; then
      if [ "$layout" = tree ]; then printf 'l %s\0%s\0' "$r" "$(readlink "$p")"; fi
    elif [ -d "$p" ]; then
      if [ "$layout" = tree ]; then printf 'd %s\0' "$r"; fi
      walk "$p"
    elif [ -f "$p" ]; then
      case $layout in
        content) printf '%s\0' "$r"; cat "$p"; printf '\0' ;;
        content+exec) if (( 8#$m & 0111 )); then x=x; else x=-; fi; printf '%s\0%s\0' "$r" "$x"; cat "$p"; printf '\0' ;;
        content+mode) printf '\0%s\0%d\0' "$r" $(( 8#$m & 0777 )); cat "$p" ;;
        tree) printf 'f %s %o %s\0' "$r" $(( 8#$m & 0111 )) "$(sha256sum < "$p" | cut -d' ' -f1)" ;;
      esac
    fi
  done
  return 0
}
{ printf '%s' "$prefix"; walk "$root"; } | sha256sum | cut -d' ' -f1
`.replaceAll('@{', '${'); // (a template literal cannot hold bash's own ${...})

async function shellDigest(layout: DigestLayout, root: string, o: { prefix?: string; skip?: string } = {}): Promise<string> {
  return (await run('bash', ['-c', WALK, 'walk', layout, root, o.prefix ?? '', o.skip ?? ''], { maxBuffer: 1 << 24 })).stdout.trim();
}

/** A tree with every kind of entry: nested dirs, an empty one, names whose order differs from a sort of whole paths, a dot file, modes, links, a fifo. */
async function fixtureTree(): Promise<string> {
  const d = await tempDir('crio-build-hash-');
  await mkdir(join(d, 'a/b'), { recursive: true });
  await mkdir(join(d, 'empty'));
  await writeFile(join(d, 'a/b/deep.txt'), 'deep\n');
  await writeFile(join(d, 'a-c'), 'a dash sorts before a slash in a whole path, after "a" as a name\n');
  await writeFile(join(d, 'Dockerfile'), 'FROM scratch\n');
  await writeFile(join(d, 'with space.txt'), '');
  await writeFile(join(d, '.hidden'), 'dot\n');
  await writeFile(join(d, 'run.sh'), '#!/bin/sh\ntrue\n', { mode: 0o750 });
  await writeFile(join(d, 'private'), 'p', { mode: 0o600 });
  await writeFile(join(d, 'bin.dat'), Buffer.from([0, 1, 2, 0, 255]));
  await symlink('Dockerfile', join(d, 'link'));
  await symlink('/nonexistent', join(d, 'a/dangling'));
  await run('mkfifo', [join(d, 'fifo')]);
  return d;
}

describe('sha256Hex and sha256File', () => {
  test('sha256File is what sha256sum prints, for a small file and one of several read chunks', async () => {
    const d = await tempDir('crio-build-hash-');
    const big = join(d, 'big');
    await writeFile(big, Buffer.alloc(3 * 1024 * 1024 + 17, 'x'));
    for (const f of [join(REPO, 'package.json'), big, process.execPath]) assert.equal(await sha256File(f), await sha256sum(f), f);
    const empty = join(d, 'empty');
    await writeFile(empty, '');
    assert.equal(await sha256File(empty), await sha256sum(empty));
    await assert.rejects(sha256File(join(d, 'missing')), { code: 'ENOENT' });
  });

  test('sha256Hex of a string (as UTF-8) and of bytes is what sha256sum prints', async () => {
    const d = await tempDir('crio-build-hash-');
    const f = join(d, 'f');
    for (const text of ['', 'crio-build\n', 'é ✓ \u{1F600}']) {
      await writeFile(f, text, 'utf8');
      assert.equal(sha256Hex(text), await sha256sum(f), JSON.stringify(text));
      assert.equal(sha256Hex(Buffer.from(text, 'utf8')), await sha256sum(f));
    }
  });
});

describe('dirDigest', () => {
  test('each layout is its documented formula, on a fixture tree and on real directories', async () => {
    const dirs = [await fixtureTree(), join(REPO, 'builders'), join(REPO, 'recipes'), join(REPO, 'dist/src/package'), join(REPO, 'test/fixtures/upstreams/conmon')];
    for (const dir of dirs) {
      for (const layout of LAYOUTS) assert.equal(await dirDigest(dir, { layout }), await shellDigest(layout, dir), `${layout} ${dir}`);
    }
  });

  test('the default layout is content, and bytes adds the total size of the regular files', async () => {
    const d = await fixtureTree();
    assert.equal(await dirDigest(d), await dirDigest(d, { layout: 'content' }));
    const sizes = (await run('find', [d, '-type', 'f', '-printf', '%s\\n'])).stdout.trim().split('\n').map(Number);
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.ok(total > 0);
    for (const layout of LAYOUTS) assert.deepEqual(await dirDigest(d, { layout, bytes: true }), { digest: await shellDigest(layout, d), bytes: total });
  });

  test('the digest follows content, names and added files; modes only where the layout counts them; nothing else', async () => {
    const d = await fixtureTree();
    const all = async () => Object.fromEntries(await Promise.all(LAYOUTS.map(async (l) => [l, await dirDigest(d, { layout: l })] as const)));
    const step = async (what: string, change: () => Promise<unknown>, changes: readonly DigestLayout[]) => {
      const before = await all();
      await change();
      const after = await all();
      for (const l of LAYOUTS) {
        if (changes.includes(l)) assert.notEqual(after[l], before[l], `${what} changes the ${l} digest`);
        else assert.equal(after[l], before[l], `${what} leaves the ${l} digest as it was`);
        assert.equal(after[l], await shellDigest(l, d), `${l} after ${what}`);
      }
    };
    await step('a changed file', () => writeFile(join(d, 'a/b/deep.txt'), 'deeper\n'), LAYOUTS);
    await step('an added file', () => writeFile(join(d, 'a/new'), ''), LAYOUTS);
    await step('a renamed file', () => rename(join(d, 'a/new'), join(d, 'a/renamed')), LAYOUTS);
    await step('an execute bit set', () => chmod(join(d, 'Dockerfile'), 0o744), ['content+exec', 'content+mode', 'tree']);
    await step('another execute bit on an executable file', () => chmod(join(d, 'Dockerfile'), 0o755), ['content+mode', 'tree']);
    await step('a read/write permission', () => chmod(join(d, 'private'), 0o644), ['content+mode']);
    await step('an added empty directory', () => mkdir(join(d, 'a/empty2')), ['tree']);
    await step('an added symlink', () => symlink('a-c', join(d, 'link2')), ['tree']);
    await step('a changed mtime', () => utimes(join(d, 'a-c'), 1, 1), []);
    await step('nothing', async () => undefined, []);
  });

  test('equal trees in different places have equal digests', async () => {
    const [a, b] = [await fixtureTree(), await fixtureTree()];
    for (const layout of LAYOUTS) assert.equal(await dirDigest(a, { layout }), await dirDigest(b, { layout }), layout);
  });

  test('skip leaves out an entry and all under it; a missing directory is empty only when asked', async () => {
    const d = await fixtureTree();
    await mkdir(join(d, 'pins'));
    await writeFile(join(d, 'pins/amd64.lock'), 'x:amd64 1\n');
    for (const layout of LAYOUTS) {
      const skipped = await dirDigest(d, { layout, skip: (rel) => rel === 'pins' });
      assert.equal(skipped, await shellDigest(layout, d, { skip: 'pins' }), layout);
      assert.notEqual(skipped, await dirDigest(d, { layout }), layout);
    }
    assert.deepEqual((await walkTree(d, { skip: (rel) => rel === 'a' })).filter((e) => e.rel.startsWith('a/')), []);
    const missing = join(d, 'missing');
    await assert.rejects(dirDigest(missing), { code: 'ENOENT' });
    assert.equal(await dirDigest(missing, { unreadableAsEmpty: true }), sha256Hex(''));
  });

  test('walkTree lists a directory before what it holds, names in bytewise order, links not followed', async () => {
    const d = await fixtureTree();
    const entries = await walkTree(d);
    assert.deepEqual(
      entries.map((e) => `${e.type} ${e.rel}`),
      ['file .hidden', 'file Dockerfile', 'dir a', 'dir a/b', 'file a/b/deep.txt', 'symlink a/dangling', 'file a-c', 'file bin.dat', 'dir empty', 'other fifo', 'symlink link', 'file private', 'file run.sh', 'file with space.txt'],
    );
    assert.equal(entries.find((e) => e.rel === 'run.sh')!.mode & 0o777, 0o750);
  });
});

describe('the digests built on dirDigest', () => {
  const spec: BuilderSpec = { name: 'debian-bookworm', platform: 'amd64', toolchain: { name: 'go', version: 'go1.19.8', arch: 'amd64', sha256: 'a'.repeat(64), root: 'go', tarball: '/nonexistent', env: {} } };

  test("a builder definition's digest: content+exec without pins/", async () => {
    for (const dir of [join(REPO, 'builders/debian-bookworm'), await fixtureTree()]) {
      assert.equal(await definitionDigest(dir), await shellDigest('content+exec', dir, { skip: 'pins' }), dir);
    }
  });

  test("the builder image's recipe key: its two JSON headers, then content+mode of the folder's files", async () => {
    for (const dir of [join(REPO, 'builders/debian-bookworm'), await fixtureTree()]) {
      const prefix =
        JSON.stringify({ v: 2, name: spec.name, platform: spec.platform, cross: null, base: 'sha256:base' }) +
        JSON.stringify({ toolchain: spec.toolchain.sha256, root: spec.toolchain.root });
      assert.equal(await builderImageKey(spec, 'sha256:base', await builderFiles(dir)), await shellDigest('content+mode', dir, { prefix }), dir);
    }
  });
});

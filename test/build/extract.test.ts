/**
 * The extractor gets hostile archives here, crafted with tar-stream: each must be refused with a
 * clear error and must leave nothing outside the output directory.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { pack as tarPack, type Header } from 'tar-stream';
import { extractSafely, safeRelative, UnsafeArchiveError } from '../../src/build/extract.js';
import { tempDir } from '../helpers/tmp.js';

type Entry = Partial<Header> & { name: string; body?: string };

function tarOf(entries: Entry[]): Readable {
  const pack = tarPack();
  for (const { body, ...h } of entries) {
    if (body !== undefined) pack.entry({ mode: 0o644, ...h }, body);
    else pack.entry({ mode: h.type === 'directory' ? 0o755 : 0o644, ...h });
  }
  pack.finalize();
  return pack as unknown as Readable;
}

async function dirs() {
  const base = await tempDir('crio-build-extract-');
  const root = join(base, 'out');
  await mkdir(root);
  return { base, root };
}

async function refused(entries: Entry[], want: string, pattern: RegExp) {
  const { base, root } = await dirs();
  await assert.rejects(extractSafely(tarOf(entries), { root, want }), (err: unknown) => {
    assert.ok(err instanceof UnsafeArchiveError, `expected UnsafeArchiveError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
  return { base, root };
}

describe('extractSafely', () => {
  it('extracts a file output, a directory output with a symlink and hard link inside, keeping modes', async () => {
    const { root } = await dirs();
    const one = await extractSafely(tarOf([{ name: 'crio', body: 'ELF', mode: 0o4755 }]), { root, want: 'bin/crio' });
    assert.deepEqual(one, [{ path: 'bin/crio', type: 'file' }]);
    assert.equal((await lstat(join(root, 'bin/crio'))).mode & 0o7777, 0o755, 'setuid dropped, exec bits kept');

    const many = await extractSafely(
      tarOf([
        { name: 'completions/', type: 'directory' },
        { name: 'completions/bash/', type: 'directory' },
        { name: 'completions/bash/crio', body: 'complete -F _crio crio' },
        { name: 'completions/bash/cri-o', type: 'symlink', linkname: 'crio' },
        { name: 'completions/bash/crio2', type: 'link', linkname: 'completions/bash/crio' },
        { name: 'completions/up', type: 'symlink', linkname: '../bin/crio' },
      ]),
      { root, want: 'completions' },
    );
    assert.equal(many.filter((f) => f.type === 'file').length, 2);
    assert.equal(await readlink(join(root, 'completions/bash/cri-o')), 'crio');
    assert.equal(await readFile(join(root, 'completions/bash/crio2'), 'utf8'), 'complete -F _crio crio');
  });

  it('refuses absolute paths', async () => {
    await refused([{ name: '/etc/passwd', body: 'x' }], 'passwd', /absolute path/);
  });

  it('refuses .. in names', async () => {
    const { base } = await refused([{ name: 'crio/../../escaped', body: 'x' }], 'crio', /contains \.\./);
    assert.equal(existsSync(join(base, 'escaped')), false);
  });

  it('refuses entries outside the requested output', async () => {
    await refused([{ name: 'crio', body: 'x' }, { name: 'other', body: 'y' }], 'bin/crio', /outside the requested crio/);
  });

  it('refuses symlinks to absolute paths and symlinks that climb out', async () => {
    await refused([{ name: 'crio', type: 'symlink', linkname: '/etc/shadow' }], 'bin/crio', /absolute path/);
    await refused([{ name: 'd/', type: 'directory' }, { name: 'd/x', type: 'symlink', linkname: '../../../etc' }], 'd', /points outside/);
  });

  it('never writes through a symlink, even one that points inside', async () => {
    const { root } = await refused(
      [
        { name: 'd/', type: 'directory' },
        { name: 'd/link', type: 'symlink', linkname: '.' },
        { name: 'd/link/file', body: 'x' },
      ],
      'd',
      /not a directory/,
    );
    assert.equal(existsSync(join(root, 'd/file')), false);
  });

  it('refuses hard links to files outside the archive', async () => {
    await refused([{ name: 'crio', type: 'link', linkname: '/etc/passwd' }], 'crio', /absolute path/);
    await refused([{ name: 'd/', type: 'directory' }, { name: 'd/x', type: 'link', linkname: 'd/never-extracted' }], 'd', /not a file extracted/);
  });

  it('refuses device files and fifos', async () => {
    await refused([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], 'null', /character-device entries/);
    await refused([{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], 'sda', /block-device entries/);
    await refused([{ name: 'pipe', type: 'fifo' }], 'pipe', /fifo entries/);
  });

  it('refuses duplicates that would replace what was extracted', async () => {
    const { root } = await dirs();
    await writeFile(join(root, 'crio'), 'old');
    await assert.rejects(extractSafely(tarOf([{ name: 'crio', body: 'x' }]), { root, want: 'crio' }), /duplicate entry/);
    assert.equal(await readFile(join(root, 'crio'), 'utf8'), 'old');
  });

  it('refuses an output path that is not plain relative', async () => {
    const { root } = await dirs();
    await assert.rejects(extractSafely(tarOf([]), { root, want: '../x' }), UnsafeArchiveError);
    await assert.rejects(extractSafely(tarOf([]), { root, want: '/abs' }), UnsafeArchiveError);
    assert.equal(safeRelative('./bin//crio'), 'bin/crio');
    assert.equal(safeRelative('a/../b'), undefined);
  });
});

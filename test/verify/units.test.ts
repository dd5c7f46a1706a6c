/**
 * verify's pieces that need no release: the SBOM rule and check, and the archive differ on small
 * archives made here (a .deb-like ar with an xz'd tar, and a tar.gz).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import tar from 'tar-stream';
import { artifactsOf } from '../../src/verify/checks.js';
import { diffBytes } from '../../src/verify/archive-diff.js';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: new Date(0) }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function ar(members: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, data] of Object.entries(members)) {
    parts.push(Buffer.from(`${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`, 'latin1'), data);
    if (data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

const xz = (b: Buffer) => execFileSync('xz', ['-c'], { input: b });

describe('verify units', () => {
  test('SBOMs are required once the release lists any, not before', () => {
    const sums = [{ file: 'a.deb' }, { file: 'b.tar.gz' }, { file: 'Packages' }];
    assert.deepEqual(artifactsOf(undefined, sums), { artifacts: ['a.deb', 'b.tar.gz'], sbomsListed: false });
    assert.equal(artifactsOf(undefined, [...sums, { file: 'a.deb.spdx.json' }]).sbomsListed, true);
  });

  test('differences are named down to the member: ar > data.tar.xz > file, and a tar.gz\'s member', async () => {
    const t1 = await tarOf({ './usr/bin/crio': 'crio version %s', './etc/c': 'same' });
    const t2 = await tarOf({ './usr/bin/crio': 'crio versioN %s', './etc/c': 'same' });
    const control = xz(await tarOf({ './control': 'Package: cri-o\n' }));
    const d = await diffBytes('cri-o.deb', ar({ 'debian-binary': Buffer.from('2.0\n'), 'control.tar.xz': control, 'data.tar.xz': xz(t1) }), ar({ 'debian-binary': Buffer.from('2.0\n'), 'control.tar.xz': control, 'data.tar.xz': xz(t2) }));
    assert.equal(d.length, 1, JSON.stringify(d));
    assert.equal(d[0]!.where, 'cri-o.deb > data.tar.xz > ./usr/bin/crio');
    assert.match(d[0]!.what, /^content differs: size 15 vs 15, sha256 [0-9a-f]{64} \(published\) vs [0-9a-f]{64} \(rebuilt\)$/);
    const g = await diffBytes('b.tar.gz', gzipSync(t1), gzipSync(await tarOf({ './usr/bin/crio': 'crio version %s', './etc/c': 'same', './extra': '' })));
    assert.deepEqual(g, [{ where: 'b.tar.gz > ./extra', what: 'only in the rebuilt file' }]);
    const z = await diffBytes('c.tar.gz', gzipSync(t1, { level: 1 }), gzipSync(t1, { level: 9 }));
    assert.ok(z.length <= 1 && (z.length === 0 || /compressed bytes differ, decompressed content is equal/.test(z[0]!.what)), JSON.stringify(z));
  });
});

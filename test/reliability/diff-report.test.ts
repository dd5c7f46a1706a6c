/**
 * The "what differs" report of the reproducibility test (./diff-report.ts), on packages made here in
 * a second: it must name the file and the member inside it, down to the field or the strings that
 * differ, and stay silent for equal trees. Also one packaging leak the deb-writer tests do not cover:
 * source files made under another umask (group-writable) give the same .deb.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { debPackager } from '../../src/package/deb/index.js';
import type { DebInput } from '../../src/package/deb/types.js';
import { tempDir } from '../helpers/tmp.js';
import { compareDirs, compareFiles, diffoscopePath, formatReport, type Difference } from './diff-report.js';

const EPOCH = 1590494400;

/** A source tree: an "ELF" (this machine's /bin/true with a build date appended), a config, a script. */
async function sourceTree(o: { date: string; fileMode: number; exeMode: number }): Promise<string> {
  const dir = await tempDir('crio-build-diff-src-');
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin/tool'), Buffer.concat([await readFile('/bin/true'), Buffer.from(`\0buildDate=${o.date}\0`)]));
  await writeFile(join(dir, 'tool.conf'), '# tool\nlog_level = "info"\n');
  await writeFile(join(dir, 'bin/helper.sh'), '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, 'bin/tool'), o.exeMode);
  await chmod(join(dir, 'bin/helper.sh'), o.exeMode);
  await chmod(join(dir, 'tool.conf'), o.fileMode);
  return dir;
}

function deb(src: string, epoch = EPOCH): DebInput {
  return {
    control: { Package: 'tool', Version: '1.0-1', Architecture: 'amd64', Maintainer: 'Test <test@example.org>', Description: 'a tool\nfor the report test' },
    files: [
      { path: '/usr/bin/tool', source: join(src, 'bin/tool') },
      { path: '/usr/lib/tool/helper.sh', source: join(src, 'bin/helper.sh') },
      { path: '/etc/tool.conf', source: join(src, 'tool.conf'), conffile: true },
    ],
    sourceDateEpoch: epoch,
  };
}

async function packaged(src: string, epoch = EPOCH): Promise<string> {
  const out = await tempDir('crio-build-diff-out-');
  await debPackager.package(deb(src, epoch), out);
  return out;
}

const find = (diffs: Difference[], where: RegExp, what: RegExp) => diffs.find((d) => where.test(d.where) && what.test(d.what));

describe('reproducibility report (diff-report)', () => {
  test('sources made under umask 0002 and 0022 package to identical .debs; equal trees report nothing', async () => {
    const a = await packaged(await sourceTree({ date: '2020-05-26T12:00:00Z', fileMode: 0o644, exeMode: 0o755 }));
    const b = await packaged(await sourceTree({ date: '2020-05-26T12:00:00Z', fileMode: 0o664, exeMode: 0o775 }));
    const diffs = await compareDirs(a, b);
    assert.deepEqual(diffs, [], formatReport(diffs));
    assert.equal(formatReport(diffs), 'no differences');
  });

  test('a binary with a build-time date is named down to the member, with the strings only on each side', async () => {
    const saveDir = await tempDir('crio-build-diff-saved-');
    const a = await packaged(await sourceTree({ date: '2020-05-26T12:00:00Z', fileMode: 0o644, exeMode: 0o755 }));
    const b = await packaged(await sourceTree({ date: '2031-01-02T03:04:05Z', fileMode: 0o644, exeMode: 0o755 }));
    const diffs = await compareDirs(a, b, { saveDir });
    const report = formatReport(diffs);
    const elf = find(diffs, /^tool_1\.0-1_amd64\.deb > data\.tar\.xz \(unxz\) > \.\/usr\/bin\/tool$/, /ELF binary differs/);
    assert.ok(elf, report);
    assert.match(elf.what, /strings only in the first \(1\): "buildDate=2020-05-26T12:00:00Z"/);
    assert.match(elf.what, /strings only in the second \(1\): "buildDate=2031-01-02T03:04:05Z"/);
    assert.match(elf.what, new RegExp(diffoscopePath() ? 'diffoscope' : `saved as ${saveDir}/`));
    assert.ok(find(diffs, /> control\.tar\.gz \(gunzip\) > \.\/md5sums$/, /usr\/bin\/tool/), report);
    // Nothing else in the package differs, and nothing is reported twice.
    assert.ok(!find(diffs, /helper\.sh|tool\.conf|debian-binary/, /./), report);
    assert.equal(new Set(diffs.map((d) => `${d.where}\n${d.what}`)).size, diffs.length, report);
    if (!diffoscopePath()) assert.match(report, /diffoscope is not installed/);
  });

  test('another SOURCE_DATE_EPOCH shows as ar header and tar entry mtimes, per member', async () => {
    const src = await sourceTree({ date: '2020-05-26T12:00:00Z', fileMode: 0o644, exeMode: 0o755 });
    const diffs = await compareDirs(await packaged(src), await packaged(src, EPOCH + 3600));
    const report = formatReport(diffs);
    assert.ok(find(diffs, /^tool_1\.0-1_amd64\.deb > data\.tar\.xz$/, /^ar header mtime 1590494400 vs 1590498000$/), report);
    assert.ok(find(diffs, /> data\.tar\.xz \(unxz\) > \.\/usr\/bin\/tool$/, /^mtime 1590494400 \(2020-05-26T12:00:00\.000Z\) vs 1590498000 /), report);
    assert.ok(find(diffs, /> control\.tar\.gz \(gunzip\) > \.\/control$/, /^mtime /), report);
    assert.ok(!find(diffs, /./, /content differs/), `only times differ:\n${report}`);
  });

  test('gzip streams equal but for the header; files only on one side; modes', async () => {
    const [a, b] = [await tempDir('crio-build-diff-a-'), await tempDir('crio-build-diff-b-')];
    const gz = gzipSync(Buffer.from('Package: tool\n'), { level: 9 });
    const stamped = Buffer.from(gz);
    stamped.writeUInt32LE(1700000000, 4); // what `gzip` without -n records: the input's mtime
    await writeFile(join(a, 'Packages.gz'), gz);
    await writeFile(join(b, 'Packages.gz'), stamped);
    await writeFile(join(a, 'only-a'), 'x');
    await writeFile(join(b, 'SHA256SUMS'), 'x', { mode: 0o664 });
    await writeFile(join(a, 'SHA256SUMS'), 'x', { mode: 0o644 });
    await chmod(join(b, 'SHA256SUMS'), 0o664);
    const diffs = await compareDirs(a, b);
    const report = formatReport(diffs);
    assert.ok(find(diffs, /^Packages\.gz$/, /gzip streams differ but decompress to the same 14 bytes .*mtime 0 vs 1700000000/), report);
    assert.ok(find(diffs, /^only-a$/, /only in the first tree/), report);
    assert.ok(find(diffs, /^SHA256SUMS$/, /file mode 0644 vs 0664/), report);
  });

  test("normalizers remove what differs by design; JSON differences are named by path", async () => {
    const [a, b] = [await tempDir('crio-build-diff-a-'), await tempDir('crio-build-diff-b-')];
    const release = (date: string) => `Origin: crio-build\nDate: ${date}\nValid-Until: ${date}\nArchitectures: arm64\n`;
    await writeFile(join(a, 'Release'), release('Sat, 28 Nov 2026 07:00:00 UTC'));
    await writeFile(join(b, 'Release'), release('Sat, 28 Nov 2026 07:05:00 UTC'));
    const dropDates = { match: (r: string) => r === 'Release', apply: (x: Buffer) => Buffer.from(x.toString().replace(/^(Date|Valid-Until): .*\n/gm, '')), why: 'times' };
    assert.deepEqual(await compareFiles(join(a, 'Release'), join(b, 'Release'), 'Release', { normalize: [dropDates] }), []);
    const raw = await compareFiles(join(a, 'Release'), join(b, 'Release'), 'Release');
    assert.match(raw[0]?.what ?? '', /text differs from line 2 \(2 of 5 lines differ.*\n {2}first: {2}"Date: Sat, 28 Nov 2026 07:00:00 UTC"/, formatReport(raw));

    const manifest = (commit: string) => JSON.stringify({ release: 'nightly-release-1.18', arches: [{ arch: 'arm64', components: [{ name: 'cri-o' }, { name: 'conmon', commit }] }] }, null, 2);
    await writeFile(join(a, 'm.json'), manifest('aaaa'));
    await writeFile(join(b, 'm.json'), manifest('bbbb'));
    const j = await compareFiles(join(a, 'm.json'), join(b, 'm.json'), 'm.json');
    assert.deepEqual(j, [{ where: 'm.json $.arches[0].components[1].commit', what: '"aaaa" vs "bbbb"' }]);
  });
});

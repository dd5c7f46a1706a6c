/**
 * The SBOMs and .buildinfo files through the release record: recorded with their kind beside the
 * artifacts, taken back out of a record by the package cache (a no-op run), and put into the
 * release directory and its SHA256SUMS by assembleRelease. Plain files stand in for the packages:
 * nothing here reads their contents.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseSha256Sums } from '../../src/package/checksums.js';
import { packagesDir } from '../../src/package/package-all.js';
import { recordIntact, resultFromRecord } from '../../src/package/package-cache.js';
import type { BuiltComponentOutcome } from '../../src/build/build-all.js';
import type { PlannedComponent } from '../../src/plan/planner.js';
import { buildProvenanceOf, RECORD_FORMAT, type RecordedArtifact, type ReleaseRecord } from '../../src/package/record.js';
import { recordedComponent } from '../../src/build/outputs.js';
import { assembleRelease } from '../../src/index/release-tree.js';
import { tempDir } from '../helpers/tmp.js';

const BRANCH = 'release-1.18';
const DEBS = ['cri-o_1.18.3-1_arm64.deb', 'cri-o-conmon_2.0.19-1_arm64.deb'];
const BUNDLE = 'cri-o.arm64.v1.18.3.tar.gz';

async function packaged(artifactsDir: string): Promise<ReleaseRecord> {
  const dir = packagesDir(artifactsDir, BRANCH, 'arm64');
  await mkdir(dir, { recursive: true });
  const artifacts: RecordedArtifact[] = [];
  const put = async (file: string, a: Omit<RecordedArtifact, 'file' | 'sha256' | 'size'>) => {
    const bytes = Buffer.from(`contents of ${file}\n`);
    await writeFile(join(dir, file), bytes);
    artifacts.push({ file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, ...a });
  };
  for (const d of DEBS) await put(d, { package: { name: d.split('_')[0]!, version: `100:${d.split('_')[1]}` }, component: d.startsWith('cri-o_') ? 'cri-o' : 'conmon' });
  await put(BUNDLE, { component: 'bundle' });
  for (const d of DEBS) {
    const component = d.startsWith('cri-o_') ? 'cri-o' : 'conmon';
    await put(`${d}.spdx.json`, { component, kind: 'sbom', of: d });
    await put(d.replace(/\.deb$/, '.buildinfo'), { component, kind: 'buildinfo', of: d });
  }
  await put(`${BUNDLE}.spdx.json`, { component: 'bundle', kind: 'sbom', of: BUNDLE });
  await writeFile(join(dir, 'SHA256SUMS'), '');
  return {
    format: RECORD_FORMAT,
    branch: BRANCH,
    kubernetes: '1.18',
    arch: 'arm64',
    releaseTag: 'v1.18.3',
    nightly: false,
    criOVersion: '1.18.3',
    packagedAt: '2026-12-07T00:00:00.000Z',
    key: 'k'.repeat(64),
    components: [],
    artifacts,
  };
}

describe('documents in the release record and the release directory', () => {
  test('the recorded build: licence from the recipe, the environment the builder gave it (cross: the target\'s CC), its source path', () => {
    const planned = {
      name: 'cri-o',
      license: 'Apache-2.0',
      source: { url: 'https://github.com/cri-o/cri-o', ref: { kind: 'tag', name: 'v1.18.3' }, commit: 'a'.repeat(40), commitTime: 1590494400, version: '1.18.3', pinnedBy: 'recipe' },
      strategy: 'cross',
      builder: 'debian-bookworm',
      toolchain: { name: 'go1.13.10', version: '1.13.10', sha256: 'b'.repeat(64), url: 'https://dl.google.com/go/go1.13.10.linux-amd64.tar.gz', root: 'go', env: { GO111MODULE: 'on' } },
      build: { cgo: true, buildTags: ['seccomp'], env: { GOFLAGS: '-trimpath', MY_TOKEN: 'never' } },
      buildKey: 'c'.repeat(64),
    } as unknown as PlannedComponent;
    const builder = { key: 'd'.repeat(64), image: 'i', imageId: 'sha256:e', name: 'debian-bookworm', platform: 'amd64', crossTarget: 'arm64', base: { id: 'x', digest: 'y' }, definition: 'z', packages: ['gcc:amd64 4:12.2.0-3'] };
    const outcome = { component: planned, result: { builderImage: 'i', builder, host: 'local' }, cacheHit: false } as unknown as BuiltComponentOutcome;
    const rc = recordedComponent(planned, outcome);
    assert.equal(rc.license, 'Apache-2.0');
    assert.equal(rc.buildPath, '/build/src');
    assert.equal(rc.environment?.GOARCH, 'arm64');
    assert.equal(rc.environment?.CC, 'aarch64-linux-gnu-gcc', 'a cross build: the target\'s compiler');
    assert.equal(rc.environment?.SOURCE_DATE_EPOCH, '1590494400');
    assert.equal(rc.environment?.GO111MODULE, 'on');
    assert.equal(rc.environment?.MY_TOKEN, undefined, 'nothing named like a secret');
    assert.equal(rc.environment?.HOME, undefined);
    const p = buildProvenanceOf(rc);
    assert.deepEqual(p, { url: 'https://github.com/cri-o/cri-o', ref: 'tag v1.18.3', toolchain: rc.toolchain, license: 'Apache-2.0', builder, environment: rc.environment, buildPath: '/build/src' });
    // Without a builder (a plan only), no environment is claimed.
    assert.equal(recordedComponent(planned).environment, undefined);
  });

  test('a record read back gives the .debs, the bundle and the documents apart', async () => {
    const art = await tempDir();
    const record = await packaged(art);
    const dir = packagesDir(art, BRANCH, 'arm64');
    assert.equal(await recordIntact(dir, record), true);
    const r = resultFromRecord(dir, record);
    assert.deepEqual(r.debs.map((d) => d.file), DEBS);
    assert.equal(r.bundle.file, BUNDLE, 'the bundle, not the bundle\'s SBOM (component "bundle" too)');
    assert.deepEqual(r.documents.map((d) => [d.kind, d.of, d.file]), [
      ['sbom', DEBS[0], `${DEBS[0]}.spdx.json`],
      ['buildinfo', DEBS[0], 'cri-o_1.18.3-1_arm64.buildinfo'],
      ['sbom', DEBS[1], `${DEBS[1]}.spdx.json`],
      ['buildinfo', DEBS[1], 'cri-o-conmon_2.0.19-1_arm64.buildinfo'],
      ['sbom', BUNDLE, `${BUNDLE}.spdx.json`],
    ]);
    // A changed document makes the packages dir stale, like a changed .deb.
    await writeFile(join(dir, `${BUNDLE}.spdx.json`), 'tampered\n');
    assert.equal(await recordIntact(dir, record), false);
  });

  test('assembleRelease puts every document into the release and its SHA256SUMS', async () => {
    const art = await tempDir();
    const record = await packaged(art);
    const indexed: string[] = [];
    const rel = await assembleRelease({
      artifactsDir: art,
      tag: 'v1.18.3',
      records: [record],
      writeIndex: async (_dir, debs) => {
        indexed.push(...debs);
      },
      notes: () => 'notes\n',
    });
    assert.deepEqual(indexed.map((p) => p.split('/').pop()), DEBS, 'only the .debs go to the apt index');
    const files = await readdir(rel.dir);
    const docs = record.artifacts.filter((a) => a.kind);
    assert.equal(docs.length, 5);
    for (const d of docs) {
      assert.ok(files.includes(d.file), `${d.file} is in the release`);
      assert.equal(createHash('sha256').update(await readFile(join(rel.dir, d.file))).digest('hex'), d.sha256);
    }
    const sums = parseSha256Sums(await readFile(join(rel.dir, 'SHA256SUMS'), 'utf8'));
    assert.deepEqual(sums.map((s) => `${s.sha256} ${s.file}`).sort(), record.artifacts.map((a) => `${a.sha256} ${a.file}`).sort());
    assert.ok(rel.files.some((f) => f.file === `${BUNDLE}.spdx.json`), 'in the upload list');
  });
});

/**
 * The documents beside every artifact: SPDX 2.3 SBOMs (<artifact>.spdx.json) and deb-buildinfo(5)
 * files (<deb>.buildinfo).
 *
 * - The Go build info reader, on both forms: Go >= 1.18 (inline strings) on the real binaries the
 *   package tests build with Debian's Go 1.19, checked against `go version -m` of that Go; Go < 1.18
 *   (pointers to string headers, mapped through the program headers: the recipes' go1.13.10, which
 *   cannot be had here) on ELF files made in the test with that layout.
 * - The package stage on the real fixture builds: every document is written, listed in SHA256SUMS,
 *   validates against the SPDX 2.3 schema, and says what the binaries hold (modules, GOPATH mode,
 *   DT_NEEDED against objdump, the libraries of Depends, licence, source, toolchain); the bundle's
 *   covers every component; a tampered SBOM fails validateSbom; the .buildinfo parses with dpkg's
 *   own Dpkg::Control and its checksums are the .deb's; the documents are the same bytes again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { renderBuildinfo, buildDependency } from '../../src/package/buildinfo.js';
import { sha256File } from '../../src/core/hash.js';
import { parseSha256Sums } from '../../src/package/checksums.js';
import { writeArtifactDocuments } from '../../src/package/documents.js';
import { changelogDate } from '../../src/package/files/docs.js';
import { GoBuildInfoError, readGoBuildInfo } from '../../src/package/sbom/go-buildinfo.js';
import type { SpdxDocument, SpdxPackage } from '../../src/package/sbom/spdx.js';
import { validateSbom } from '../../src/package/sbom/validate.js';
import { packageAll, type PackageStageResult } from '../../src/package/package-all.js';
import type { BuiltComponent } from '../../src/build/outputs.js';
import { parseControl } from '../../src/index/apt/control.js';
import { BRANCH, fixtureBuilds, FIXTURE_URLS, GO_BIN, hostArch, KUBERNETES, mustRun, tempDir } from './helpers.js';

// ---- ELF files with Go < 1.18 build info, made here -------------------------------------------

/** cmd/go's module info sentinels (modload.infoStart, infoEnd): binary, not UTF-8. */
const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

const TEXT_VADDR = 0x400000;
const DATA_OFF = 0x1000;
const DATA_VADDR = 0x601000;

/**
 * An x86-64 ELF executable laid out as go1.13 links one: a read-only segment holding the strings,
 * a writable one holding the 32-byte build info header (magic, pointer size 8, flags 0, then the
 * addresses of the string headers of runtime.buildVersion and runtime.modinfo) and those headers.
 * `sections`: also a section header table naming .go.buildinfo, with a decoy magic before the real
 * header at an unaligned offset (Go's reader only takes a 16-byte aligned one).
 */
function goPointerElf(version: string, modinfo: Buffer, o: { sections?: boolean; badPointer?: boolean } = {}): Buffer {
  const file = Buffer.alloc(0x2000);
  // ELF header.
  file.write('\x7fELF', 0, 'latin1');
  file[4] = 2; // ELFCLASS64
  file[5] = 1; // little endian
  file[6] = 1;
  file.writeUInt16LE(2, 16); // ET_EXEC
  file.writeUInt16LE(62, 18); // x86-64
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(0x64n, 32); // e_phoff
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(56, 54); // e_phentsize
  file.writeUInt16LE(2, 56); // e_phnum
  file.writeUInt16LE(64, 58); // e_shentsize
  const ph = (i: number, flags: number, off: number, vaddr: number, size: number) => {
    const b = 0x64 + i * 56;
    file.writeUInt32LE(1, b); // PT_LOAD
    file.writeUInt32LE(flags, b + 4);
    file.writeBigUInt64LE(BigInt(off), b + 8);
    file.writeBigUInt64LE(BigInt(vaddr), b + 16);
    file.writeBigUInt64LE(BigInt(vaddr), b + 24);
    file.writeBigUInt64LE(BigInt(size), b + 32);
    file.writeBigUInt64LE(BigInt(size), b + 40);
  };
  ph(0, 5, 0, TEXT_VADDR, 0x1000); // R+X
  ph(1, 6, DATA_OFF, DATA_VADDR, 0x400); // R+W
  // The strings, in the read-only segment.
  file.write(version, 0x800, 'latin1');
  modinfo.copy(file, 0x900);
  // The header and the two string headers, in the writable segment.
  const hdr = o.sections ? DATA_OFF + 0x40 : DATA_OFF;
  if (o.sections) MAGIC.copy(file, DATA_OFF + 0x8); // unaligned: not a header
  MAGIC.copy(file, hdr);
  file[hdr + 14] = 8;
  file[hdr + 15] = 0;
  const strHdr = (at: number, ptr: number, len: number) => {
    file.writeBigUInt64LE(BigInt(ptr), at);
    file.writeBigUInt64LE(BigInt(len), at + 8);
  };
  const vOf = (off: number) => DATA_VADDR + (off - DATA_OFF);
  file.writeBigUInt64LE(BigInt(o.badPointer ? 0x900000 : vOf(DATA_OFF + 0x100)), hdr + 16);
  file.writeBigUInt64LE(BigInt(vOf(DATA_OFF + 0x110)), hdr + 24);
  strHdr(DATA_OFF + 0x100, TEXT_VADDR + 0x800, Buffer.byteLength(version, 'latin1'));
  strHdr(DATA_OFF + 0x110, TEXT_VADDR + 0x900, modinfo.length);
  if (o.sections) {
    // Section headers at 0x1800: [null, .go.buildinfo, .shstrtab]; names at 0x1700.
    const names = '\0.go.buildinfo\0.shstrtab\0';
    file.write(names, 0x1700, 'latin1');
    file.writeBigUInt64LE(0x1800n, 40); // e_shoff
    file.writeUInt16LE(3, 60); // e_shnum
    file.writeUInt16LE(2, 62); // e_shstrndx
    const sh = (i: number, name: number, type: number, addr: number, off: number, size: number) => {
      const b = 0x1800 + i * 64;
      file.writeUInt32LE(name, b);
      file.writeUInt32LE(type, b + 4);
      file.writeBigUInt64LE(BigInt(addr), b + 16);
      file.writeBigUInt64LE(BigInt(off), b + 24);
      file.writeBigUInt64LE(BigInt(size), b + 32);
    };
    sh(1, 1, 1, DATA_VADDR, DATA_OFF, 0x200); // PROGBITS
    sh(2, 15, 3, 0, 0x1700, names.length); // STRTAB
  }
  return file;
}

const MODINFO_113 = [
  'path\tgithub.com/cri-o/cri-o/cmd/crio',
  'mod\tgithub.com/cri-o/cri-o\t(devel)\t',
  'dep\tgithub.com/sirupsen/logrus\tv1.4.2\th1:SPIRibiXX6Ot3MJ0TjMyIrzHpR8mqIQlZSMWW9idp1U=',
  'dep\tgolang.org/x/sys\tv0.0.0-20190813064441-fde4db37ae7a\t',
  '=>\tgolang.org/x/sys\tv0.0.0-20191115151921-52ab43148777\th1:ZBzSG/7F4eNKz2L3GE9o300RX0Az1Bw5HF7PDraD+qU=',
  '',
].join('\n');

describe('Go build info, Go < 1.18 form (pointers to string headers)', () => {
  test('no section headers: found in the writable segment; strings mapped from another segment; replace directives applied', () => {
    const info = readGoBuildInfo(goPointerElf('go1.13.10', Buffer.concat([INFO_START, Buffer.from(MODINFO_113), INFO_END])));
    assert.ok(info);
    assert.equal(info.format, 'pointers');
    assert.equal(info.goVersion, 'go1.13.10');
    assert.equal(info.moduleMode, true);
    assert.equal(info.path, 'github.com/cri-o/cri-o/cmd/crio');
    assert.deepEqual(info.main, { path: 'github.com/cri-o/cri-o', version: '(devel)' });
    assert.deepEqual(info.deps, [
      { path: 'github.com/sirupsen/logrus', version: 'v1.4.2', sum: 'h1:SPIRibiXX6Ot3MJ0TjMyIrzHpR8mqIQlZSMWW9idp1U=' },
      { path: 'golang.org/x/sys', version: 'v0.0.0-20190813064441-fde4db37ae7a', replace: { path: 'golang.org/x/sys', version: 'v0.0.0-20191115151921-52ab43148777', sum: 'h1:ZBzSG/7F4eNKz2L3GE9o300RX0Az1Bw5HF7PDraD+qU=' } },
    ]);
    assert.deepEqual(info.settings, [], 'go1.13 records no build settings');
  });

  test('.go.buildinfo section: the aligned header is taken, not an unaligned magic before it', () => {
    const info = readGoBuildInfo(goPointerElf('go1.13.10', Buffer.concat([INFO_START, Buffer.from(MODINFO_113), INFO_END]), { sections: true }));
    assert.equal(info?.goVersion, 'go1.13.10');
    assert.equal(info?.deps.length, 2);
  });

  test('GOPATH mode (cri-o 1.13-1.15): no module info, so no module list; not a Go binary at all: undefined', () => {
    const info = readGoBuildInfo(goPointerElf('go1.13.10', Buffer.alloc(0)));
    assert.equal(info?.goVersion, 'go1.13.10');
    assert.equal(info?.moduleMode, false);
    assert.deepEqual(info?.deps, []);
    // Module info without its sentinels is not module info (Go's reader drops it too).
    assert.equal(readGoBuildInfo(goPointerElf('go1.13.10', Buffer.from(MODINFO_113)))?.moduleMode, false);
    const notGo = goPointerElf('go1.13.10', Buffer.alloc(0));
    notGo.fill(0, DATA_OFF, DATA_OFF + 32);
    assert.equal(readGoBuildInfo(notGo), undefined);
    assert.equal(readGoBuildInfo(Buffer.from('#!/bin/sh\necho not ELF\n')), undefined);
  });

  test('a pointer no segment maps is an error naming the address', () => {
    assert.throws(() => readGoBuildInfo(goPointerElf('go1.13.10', Buffer.alloc(0), { badPointer: true }), 'crio'), (err: unknown) => {
      assert.ok(err instanceof GoBuildInfoError);
      assert.match((err as Error).message, /^crio: Go build info points to address 0x900000, which no PT_LOAD segment maps/);
      return true;
    });
  });
});

describe('.buildinfo fields', () => {
  test('Installed-Build-Depends: exact versions, foreign arches qualified; Environment quoted and escaped', () => {
    assert.equal(buildDependency('libc6:amd64 2.36-9+deb12u4', 'amd64'), 'libc6 (= 2.36-9+deb12u4)');
    assert.equal(buildDependency('adduser:all 3.134', 'amd64'), 'adduser (= 3.134)');
    assert.equal(buildDependency('libseccomp-dev:arm64 2.5.4-1+deb12u1', 'amd64'), 'libseccomp-dev:arm64 (= 2.5.4-1+deb12u1)');
    assert.throws(() => buildDependency('libc6 2.36', 'amd64'), /is not "name:arch version"/);
    const input: Parameters<typeof renderBuildinfo>[0] = {
      name: 'cri-o',
      version: '100:1.18.3-1',
      arch: 'arm64',
      deb: { file: 'cri-o_1.18.3-1_arm64.deb', size: 3, md5: 'a'.repeat(32), sha1: 'b'.repeat(40), sha256: 'c'.repeat(64) },
      component: { name: 'cri-o', version: '1.18.3', commit: 'd'.repeat(40), commitTime: 1590494400, arch: 'arm64', outDir: '/x', shlibsDepends: '' },
      provenance: {
        url: 'https://github.com/cri-o/cri-o',
        toolchain: { name: 'go1.13.10', version: '1.13.10', sha256: 'e'.repeat(64), url: 'https://dl.google.com/go/go1.13.10.linux-amd64.tar.gz' },
        builder: { key: 'f'.repeat(64), name: 'debian-bookworm', platform: 'amd64', crossTarget: 'arm64', packages: ['zlib1g:amd64 1:1.2.13', 'apt:amd64 2.6.1', 'apt-utils:amd64 2.6.1', 'libseccomp-dev:arm64 2.5.4-1'] },
        environment: { GOARCH: 'arm64', CGO_ENABLED: '1', X: 'a "quoted" \\ value' },
        buildPath: '/build/src',
      },
    };
    const f = parseControl(renderBuildinfo(input), 'test.buildinfo');
    assert.equal(f.get('Build-Architecture'), 'amd64', 'a cross build: the builder is amd64');
    assert.equal(f.get('Architecture'), 'arm64');
    assert.equal(f.get('Build-Date'), 'Tue, 26 May 2020 12:00:00 +0000');
    assert.equal(f.get('Build-Path'), '/build/src');
    assert.equal(f.get('Installed-Build-Depends'), '\napt (= 2.6.1),\napt-utils (= 2.6.1),\nlibseccomp-dev:arm64 (= 2.5.4-1),\nzlib1g (= 1:1.2.13)');
    assert.equal(f.get('Environment'), '\nCGO_ENABLED="1"\nGOARCH="arm64"\nX="a \\"quoted\\" \\\\ value"');
    const bad = { ...input, provenance: { ...input.provenance, environment: { BAD: 'a\nb' } } };
    assert.throws(() => renderBuildinfo(bad), /buildinfo: environment variable BAD holds a line break/);
  });
});

// ---- The package stage on the real fixture builds -------------------------------------------------

interface GoVersionM {
  goVersion: string;
  hasModules: boolean;
  deps: string[];
}

/** `go version -m` of Debian's Go 1.19: the reference reader of the same build info. */
async function goVersionM(file: string): Promise<GoVersionM> {
  const out = (await mustRun(join(GO_BIN, 'go'), ['version', '-m', file], { env: { PATH: '/usr/bin:/bin', HOME: '/tmp', GOCACHE: '/tmp/h' } })).stdout;
  const lines = out.split('\n');
  const goVersion = /: (go\S+)$/.exec(lines[0] ?? '')?.[1] ?? '';
  const deps: string[] = [];
  for (const l of lines.slice(1)) {
    const [, kind, path, version] = l.split('\t');
    if (kind === 'dep') deps.push(`${path}@${version}`);
    else if (kind === '=>') deps[deps.length - 1] = `${path}@${version}`;
  }
  return { goVersion, hasModules: lines.some((l) => l.startsWith('\tmod\t')), deps: deps.sort() };
}

function modulesOf(doc: SpdxDocument, fileId: string): string[] {
  const byId = new Map(doc.packages.map((p) => [p.SPDXID, p]));
  return doc.relationships
    .filter((r) => r.spdxElementId === fileId && r.relationshipType === 'STATIC_LINK')
    .map((r) => byId.get(r.relatedSpdxElement) as SpdxPackage)
    .filter((p) => p.name !== 'stdlib')
    .map((p) => `${p.name}@${p.versionInfo}`)
    .sort();
}

describe(`SBOMs and .buildinfo files of a package stage run on real ${hostArch()} builds`, () => {
  let comps: BuiltComponent[];
  let out: string;
  let result: PackageStageResult;
  const docs = new Map<string, SpdxDocument>();
  const sbomOf = (artifact: string) => docs.get(artifact) as SpdxDocument;
  const debOf = (name: string) => result.debs.find((d) => d.name === name)!;
  const fileIn = (doc: SpdxDocument, path: string) => doc.files.find((f) => f.fileName === `./${path}`)!;

  before(async () => {
    comps = (await fixtureBuilds(hostArch())).current.components;
    out = await tempDir('crio-build-sbom-');
    result = await packageAll({ branch: BRANCH, kubernetes: KUBERNETES, arch: hostArch(), components: comps, outDir: out });
    for (const d of result.documents.filter((x) => x.kind === 'sbom')) docs.set(d.of, JSON.parse(await readFile(d.path, 'utf8')) as SpdxDocument);
  });

  test('one SBOM per artifact and one .buildinfo per .deb, named after them, in SHA256SUMS', async () => {
    const expected = [
      ...result.debs.flatMap((d) => [
        { kind: 'sbom', of: d.file, file: `${d.file}.spdx.json` },
        { kind: 'buildinfo', of: d.file, file: d.file.replace(/\.deb$/, '.buildinfo') },
      ]),
      { kind: 'sbom', of: result.bundle.file, file: `${result.bundle.file}.spdx.json` },
    ];
    assert.deepEqual(result.documents.map((d) => ({ kind: d.kind, of: d.of, file: d.file })), expected);
    assert.ok(result.documents.some((d) => d.file === `cri-o-conmon_2.0.11-1_${hostArch()}.buildinfo`));
    for (const d of result.documents) assert.equal(await sha256File(d.path), d.sha256, d.file);
    const sums = parseSha256Sums(await readFile(result.checksumsPath, 'utf8'));
    assert.deepEqual(sums.map((s) => s.file).sort(), [...result.debs.map((d) => d.file), result.bundle.file, ...expected.map((e) => e.file)].sort());
    const check = await mustRun('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });
    assert.equal(check.stdout.trim().split('\n').length, 14);
    assert.deepEqual(result.warnings, []);
  });

  test('every SBOM is valid SPDX 2.3 and describes its artifact by its sha256', () => {
    for (const a of [...result.debs, result.bundle]) {
      const doc = sbomOf(a.file);
      assert.deepEqual(validateSbom(doc, { file: a.file, sha256: a.sha256 }), [], a.file);
      assert.equal(doc.spdxVersion, 'SPDX-2.3');
      assert.equal(doc.name, a.file);
      const artifact = doc.packages[0]!;
      assert.equal(artifact.packageFileName, a.file);
      assert.deepEqual(artifact.checksums?.find((c) => c.algorithm === 'SHA256')?.checksumValue, a.sha256);
    }
  });

  test('Go modules are read from the binaries: the same list `go version -m` prints, per binary', async () => {
    const x = await tempDir('crio-build-sbom-x-');
    const checked: string[] = [];
    for (const [pkg, paths] of [['cri-o', ['usr/bin/crio', 'usr/bin/crio-status']], ['cri-tools', ['usr/bin/crictl']]] as const) {
      const d = debOf(pkg);
      await mustRun('dpkg-deb', ['-x', d.path, join(x, pkg)]);
      const doc = sbomOf(d.file);
      for (const p of paths) {
        const ref = await goVersionM(join(x, pkg, p));
        assert.ok(ref.hasModules && ref.deps.length > 0, `${p} is a module build with dependencies`);
        const f = fileIn(doc, p);
        assert.deepEqual(modulesOf(doc, f.SPDXID), ref.deps, p);
        assert.match(f.comment ?? '', new RegExp(`Go >= 1\\.18 form\\): built by ${ref.goVersion}`));
        checked.push(p);
      }
    }
    // The fixture's vendored modules are what crio links (go version -m agrees, above).
    assert.ok(modulesOf(sbomOf(debOf('cri-o').file), fileIn(sbomOf(debOf('cri-o').file), 'usr/bin/crio').SPDXID).includes('github.com/sirupsen/logrus@v1.5.0'));
    assert.deepEqual(modulesOf(sbomOf(debOf('cri-tools').file), fileIn(sbomOf(debOf('cri-tools').file), 'usr/bin/crictl').SPDXID), ['github.com/sirupsen/logrus@v1.4.2']);
    const stdlib = sbomOf(debOf('cri-o').file).packages.find((p) => p.name === 'stdlib')!;
    assert.match(stdlib.versionInfo ?? '', /^go1\.19\.\d+$/);
    assert.deepEqual(stdlib.externalRefs?.[0]?.referenceLocator, `pkg:golang/stdlib@${stdlib.versionInfo!.slice(2)}`);
    assert.equal(checked.length, 3);
  });

  test('GOPATH-mode binaries (the CNI plugins, GO111MODULE=off) say they have no module list; C binaries have no Go info', async () => {
    const d = debOf('containernetworking-plugins');
    const x = await tempDir('crio-build-sbom-cni-');
    await mustRun('dpkg-deb', ['-x', d.path, x]);
    const doc = sbomOf(d.file);
    const bridge = fileIn(doc, 'opt/cni/bin/bridge');
    const ref = await goVersionM(join(x, 'opt/cni/bin/bridge'));
    assert.equal(ref.hasModules, false, 'go version -m shows no module either');
    assert.match(bridge.comment ?? '', /built in GOPATH mode \(modules off\): the binary records no module list/);
    assert.deepEqual(modulesOf(doc, bridge.SPDXID), []);
    assert.ok(doc.relationships.some((r) => r.spdxElementId === bridge.SPDXID && r.relationshipType === 'STATIC_LINK'), 'the standard library still is');
    assert.ok(!doc.packages.some((p) => p.SPDXID.startsWith('SPDXRef-Go-module-')), 'no module invented');
    const conmon = fileIn(sbomOf(debOf('cri-o-conmon').file), 'usr/libexec/crio/conmon');
    assert.match(conmon.comment ?? '', /Not a Go program/);
  });

  test('libraries: DT_NEEDED per binary (as objdump reads it) and the Debian packages of Depends', async () => {
    const x = await tempDir('crio-build-sbom-lib-');
    for (const [pkg, path] of [['cri-o', 'usr/bin/crio'], ['cri-o-conmon', 'usr/libexec/crio/conmon']] as const) {
      const d = debOf(pkg);
      await mustRun('dpkg-deb', ['-x', d.path, join(x, pkg)]);
      const needed = (await mustRun('objdump', ['-p', join(x, pkg, path)])).stdout.split('\n').flatMap((l) => /^\s+NEEDED\s+(\S+)$/.exec(l)?.[1] ?? []);
      assert.ok(needed.length > 0, `${path} is dynamically linked`);
      const doc = sbomOf(d.file);
      assert.ok((fileIn(doc, path).comment ?? '').includes(`asks the loader for ${needed.join(', ')} (DT_NEEDED)`), `${path}: ${fileIn(doc, path).comment}`);
      const comp = comps.find((c) => c.name === d.component)!;
      const libs = doc.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON').map((r) => r.comment);
      assert.deepEqual(libs, comp.shlibsDepends.split(', ').sort(), `${pkg}: the libraries of its Depends`);
    }
    assert.ok(sbomOf(debOf('cri-o-conmon').file).packages.some((p) => p.name === 'libglib2.0-0' && p.externalRefs?.[0]?.referenceLocator === `pkg:deb/debian/libglib2.0-0?arch=${hostArch()}`));
    assert.match(fileIn(sbomOf(debOf('cri-o').file), 'usr/bin/pinns').comment ?? '', /statically linked/);
  });

  test('source, licence and toolchain from the provenance', () => {
    for (const c of comps) {
      const d = result.debs.find((x) => x.component === c.name)!;
      const doc = sbomOf(d.file);
      const src = doc.packages.find((p) => p.SPDXID === `SPDXRef-Source-${c.name}`)!;
      assert.equal(src.downloadLocation, `git+${FIXTURE_URLS[c.name]}@${c.commit}`);
      assert.equal(src.licenseDeclared, 'Apache-2.0');
      assert.equal(doc.packages[0]!.licenseDeclared, 'Apache-2.0');
      assert.equal(src.versionInfo, c.version);
      const tc = doc.packages.find((p) => p.SPDXID.startsWith('SPDXRef-Toolchain-'))!;
      assert.equal(tc.name, c.provenance!.toolchain.name);
      assert.deepEqual(tc.checksums, [{ algorithm: 'SHA256', checksumValue: c.provenance!.toolchain.sha256 }]);
      assert.ok(doc.relationships.some((r) => r.spdxElementId === tc.SPDXID && r.relationshipType === 'BUILD_TOOL_OF' && r.relatedSpdxElement === 'SPDXRef-Artifact'));
      assert.equal(doc.creationInfo.created, new Date(c.commitTime * 1000).toISOString().replace('.000Z', 'Z'));
    }
  });

  test("the bundle's SBOM covers every component; each binary is traced to its component's source", () => {
    const doc = sbomOf(result.bundle.file);
    assert.deepEqual(doc.packages.filter((p) => p.primaryPackagePurpose === 'SOURCE').map((p) => p.name), ['cri-o', 'conmon', 'cni-plugins', 'cri-tools']);
    const sourceOf = (path: string) => doc.relationships.find((r) => r.spdxElementId === fileIn(doc, path).SPDXID && r.relationshipType === 'GENERATED_FROM')?.relatedSpdxElement;
    assert.equal(sourceOf('cri-o/bin/crio'), 'SPDXRef-Source-cri-o');
    assert.equal(sourceOf('cri-o/bin/conmon'), 'SPDXRef-Source-conmon');
    assert.equal(sourceOf('cri-o/bin/crictl'), 'SPDXRef-Source-cri-tools');
    assert.equal(sourceOf('cri-o/cni-plugins/bridge'), 'SPDXRef-Source-cni-plugins');
    assert.ok(doc.packages.some((p) => p.name === 'github.com/sirupsen/logrus' && p.versionInfo === 'v1.4.2') && doc.packages.some((p) => p.name === 'github.com/sirupsen/logrus' && p.versionInfo === 'v1.5.0'), 'both logrus versions: crictl and crio link different ones');
    assert.equal(doc.packages[0]!.primaryPackagePurpose, 'ARCHIVE');
  });

  test('a tampered SBOM, or one beside another artifact, fails validateSbom with the reason', () => {
    const d = debOf('cri-o');
    const doc = sbomOf(d.file);
    const copy = () => JSON.parse(JSON.stringify(doc)) as SpdxDocument;
    assert.deepEqual(validateSbom(copy(), { file: d.file, sha256: d.sha256 }), []);
    assert.match(validateSbom(copy(), { file: d.file, sha256: 'f'.repeat(64) }).join('\n'), new RegExp(`describes ${d.file.replace(/[.+]/g, '\\$&')} with sha256 ${d.sha256}, but the artifact's sha256 is f{64}`));
    assert.match(validateSbom(copy(), { file: 'other.deb', sha256: d.sha256 }).join('\n'), /does not describe other\.deb/);
    const file = copy();
    file.files[0]!.checksums[0]!.checksumValue = '0'.repeat(40);
    assert.match(validateSbom(file, { file: d.file, sha256: d.sha256 }).join('\n'), /packageVerificationCode [0-9a-f]{40} does not match its files/);
    const version = copy() as unknown as { spdxVersion: string };
    version.spdxVersion = 'SPDX-2.2';
    assert.match(validateSbom(version, { file: d.file, sha256: d.sha256 }).join('\n'), /\/spdxVersion: must be equal to constant/);
    const dangling = copy();
    dangling.relationships.push({ spdxElementId: 'SPDXRef-Artifact', relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-File-gone' });
    assert.match(validateSbom(dangling, { file: d.file, sha256: d.sha256 }).join('\n'), /SPDXRef-File-gone is not an element of this document/);
    const licence = copy();
    licence.packages[0]!.licenseDeclared = 'Apache 2';
    assert.match(validateSbom(licence, { file: d.file, sha256: d.sha256 }).join('\n'), /"Apache 2" is not an SPDX licence expression/);
    const extra = copy() as unknown as { packages: Array<Record<string, unknown>> };
    extra.packages[0]!.unknownField = 1;
    assert.match(validateSbom(extra, { file: d.file, sha256: d.sha256 }).join('\n'), /\/packages\/0: must NOT have additional properties: unknownField/);
    assert.deepEqual(validateSbom('not a document', { file: d.file, sha256: d.sha256 }), ['(document): must be object']);
  });

  test(".buildinfo: deb-buildinfo(5) as dpkg's own parser reads it; checksums are the .deb's; the builder's packages", async () => {
    for (const d of result.debs) {
      const doc = result.documents.find((x) => x.kind === 'buildinfo' && x.of === d.file)!;
      const text = await readFile(doc.path, 'utf8');
      const f = parseControl(text, doc.file);
      const comp = comps.find((c) => c.name === d.component)!;
      assert.equal(f.get('Format'), '1.0');
      assert.equal(f.get('Source'), d.name);
      assert.equal(f.get('Binary'), d.name);
      assert.equal(f.get('Version'), d.version);
      assert.equal(f.get('Architecture'), hostArch());
      assert.equal(f.get('Build-Architecture'), hostArch());
      assert.equal(f.get('Build-Date'), changelogDate(comp.commitTime));
      const bytes = await readFile(d.path);
      const h = (alg: string) => createHash(alg).update(bytes).digest('hex');
      assert.equal(f.get('Checksums-Sha256'), `\n${h('sha256')} ${bytes.length} ${d.file}`);
      assert.equal(f.get('Checksums-Sha1'), `\n${h('sha1')} ${bytes.length} ${d.file}`);
      assert.equal(f.get('Checksums-Md5'), `\n${h('md5')} ${bytes.length} ${d.file}`);
      const deps = (f.get('Installed-Build-Depends') ?? '').split('\n').filter(Boolean);
      assert.equal(deps.length, comp.provenance!.builder!.packages.length, 'every package of the builder');
      assert.ok(deps.some((x) => /^dpkg \(= \S+\),$/.test(x)), deps.slice(0, 5).join(' '));
      assert.ok((f.get('Environment') ?? '').split('\n').includes('GOFLAGS="-mod=vendor"'));
      assert.equal(f.get('X-Source-Commit'), comp.commit);
    }
    // dpkg's parser (Dpkg::Control, the one dpkg-genbuildinfo writes with) reads the same fields.
    const one = result.documents.find((x) => x.kind === 'buildinfo')!;
    const perl = await mustRun('perl', ['-MDpkg::Control', '-e', 'my $c = Dpkg::Control->new(type => Dpkg::Control::CTRL_FILE_BUILDINFO); $c->load($ARGV[0]); print join("|", map { "$_=" . (split /\\n/, $c->{$_})[-1] } qw(Format Source Architecture Build-Architecture Checksums-Sha256))', one.path]);
    const deb = result.debs.find((d) => d.file === one.of)!;
    assert.equal(perl.stdout, `Format=1.0|Source=${deb.name}|Architecture=${hostArch()}|Build-Architecture=${hostArch()}|Checksums-Sha256=${deb.sha256} ${deb.size} ${deb.file}`);
  });

  test('the same artifacts and provenance give byte-identical documents', async () => {
    const again = await tempDir('crio-build-sbom-again-');
    const docs2 = await writeArtifactDocuments({ arch: hostArch(), maintainer: 'crio-build <crio-build@users.noreply.github.com>', components: comps, debs: result.debs, bundle: result.bundle, outDir: again, warn: (m) => assert.fail(m) });
    assert.deepEqual(docs2.map((d) => [d.file, d.sha256]), result.documents.map((d) => [d.file, d.sha256]));
    // The namespace is derived from the content: another component commit gives another namespace.
    const moved = comps.map((c) => (c.name === 'conmon' ? { ...c, commit: 'a'.repeat(40) } : c));
    const docs3 = await writeArtifactDocuments({ arch: hostArch(), maintainer: 'crio-build <crio-build@users.noreply.github.com>', components: moved, debs: result.debs, bundle: result.bundle, outDir: again, warn: (m) => assert.fail(m) });
    const ns = async (file: string) => (JSON.parse(await readFile(join(again, file), 'utf8')) as SpdxDocument).documentNamespace;
    const conmonSbom = docs3.find((d) => d.kind === 'sbom' && d.of === debOf('cri-o-conmon').file)!;
    assert.notEqual(await ns(conmonSbom.file), sbomOf(debOf('cri-o-conmon').file).documentNamespace);
    assert.match(await ns(conmonSbom.file), /^https:\/\/spdx\.org\/spdxdocs\/crio-build\/cri-o-conmon_2\.0\.11-1_(amd64|arm64)\.deb-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

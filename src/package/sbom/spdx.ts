/**
 * The SPDX 2.3 document of one artifact (a .deb or the bundle), made from the artifact's own
 * contents (./archive-files.ts) and the build provenance of the components in it:
 *
 * - the artifact: a package with its file name, version, SHA-256/SHA-1/MD5, its files (each with
 *   SHA-1 and SHA-256) and their verification code;
 * - each component's source: repository and commit (a VCS download location), declared licence;
 * - the Go toolchain (name, version, archive URL and SHA-256), a BUILD_TOOL_OF the artifact;
 * - per Go binary, the Go standard library of its Go release and every module its embedded build
 *   info lists (STATIC_LINK), or, for a binary without module info, a comment that says so;
 * - the shared libraries the component needs, as the Debian packages of its shlibs:Depends
 *   (DEPENDS_ON), and per binary the sonames it asks for (DT_NEEDED).
 *
 * Byte-reproducible: `created` is the SOURCE_DATE_EPOCH of the artifact, the namespace is derived
 * from the document's own content, every list is in a fixed order.
 */
import { createHash } from 'node:crypto';
import { sha256Hex } from '../../core/hash.js';
import type { Arch } from '../../recipe/schema.js';
import type { BuiltComponent } from '../definitions/types.js';
import type { ArchiveFile } from './archive-files.js';
import type { GoBuildInfo, GoModule } from './go-buildinfo.js';

export const SPDX_NAMESPACE_BASE = 'https://spdx.org/spdxdocs/crio-build';
export const DOCUMENT_ID = 'SPDXRef-DOCUMENT';
export const ARTIFACT_ID = 'SPDXRef-Artifact';
const NOASSERTION = 'NOASSERTION';

// ---- The document's shape (what this module writes; ./schema.ts has the whole of SPDX 2.3) ----

export interface SpdxChecksum {
  algorithm: 'SHA1' | 'SHA256' | 'MD5';
  checksumValue: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  packageFileName?: string;
  supplier?: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  packageVerificationCode?: { packageVerificationCodeValue: string };
  checksums?: SpdxChecksum[];
  homepage?: string;
  sourceInfo?: string;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  externalRefs?: Array<{ referenceCategory: 'PACKAGE-MANAGER' | 'OTHER'; referenceType: string; referenceLocator: string }>;
  hasFiles?: string[];
  primaryPackagePurpose?: 'INSTALL' | 'ARCHIVE' | 'SOURCE' | 'APPLICATION' | 'LIBRARY';
  builtDate?: string;
  comment?: string;
}

export interface SpdxFile {
  SPDXID: string;
  fileName: string;
  fileTypes: Array<'BINARY' | 'TEXT' | 'ARCHIVE' | 'OTHER'>;
  checksums: SpdxChecksum[];
  licenseConcluded: string;
  comment?: string;
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS' | 'GENERATED_FROM' | 'BUILD_TOOL_OF' | 'STATIC_LINK' | 'DEPENDS_ON';
  relatedSpdxElement: string;
  comment?: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: typeof DOCUMENT_ID;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[]; comment?: string };
  comment: string;
  packages: SpdxPackage[];
  files: SpdxFile[];
  relationships: SpdxRelationship[];
}

// ---- Input ---------------------------------------------------------------------------------------

export interface SbomSubject {
  kind: 'deb' | 'bundle';
  /** The artifact's file name, and its digests. */
  file: string;
  sha256: string;
  sha1: string;
  md5: string;
  /** The Debian package name, or the bundle's name. */
  name: string;
  version: string;
  arch: Arch;
  /** Its SOURCE_DATE_EPOCH (seconds): the creation time of the document. */
  sourceDateEpoch: number;
  /** "Name <address>" of the packager (the .deb's Maintainer). */
  maintainer: string;
}

export interface SbomInput {
  subject: SbomSubject;
  /** The regular files in the artifact. */
  files: readonly ArchiveFile[];
  /** The components it was made from, in packaging order. */
  components: readonly BuiltComponent[];
  /** The component a file of the artifact was built from, when known. */
  componentOf: (file: ArchiveFile) => string | undefined;
  /** "crio-build-0.1.0". */
  tool: string;
}

// ---- Building ------------------------------------------------------------------------------------

export function utcTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** SPDX identifiers: "SPDXRef-" and letters, digits, "." and "-" only; made unique in order of use. */
class Ids {
  private readonly used = new Set<string>([DOCUMENT_ID, ARTIFACT_ID]);
  make(...parts: string[]): string {
    const base = `SPDXRef-${parts.map((p) => p.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '')).filter(Boolean).join('-')}`;
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}-${n}`;
    this.used.add(id);
    return id;
  }
}

/** "git+https://github.com/cri-o/cri-o@<commit>" (SPDX 2.3 clause 7.7's VCS form), or NOASSERTION. */
export function vcsLocation(url: string | undefined, commit: string): string {
  if (!url || !/^(https?|ssh|git):\/\/\S+$/.test(url)) return NOASSERTION;
  return `git+${url}@${commit}`;
}

/** purl of a GitHub repository at a commit, when the source is on GitHub. */
function githubPurl(url: string | undefined, commit: string): string | undefined {
  const m = /^https:\/\/github\.com\/([^/]+)\/([^/]+?)(\.git)?\/?$/.exec(url ?? '');
  return m ? `pkg:github/${m[1]!.toLowerCase()}/${m[2]!.toLowerCase()}@${commit}` : undefined;
}

/** purl of a Go module: path segments percent-encoded where purl needs it, the version as is. */
function golangPurl(path: string, version: string): string {
  const enc = path.split('/').map((s) => encodeURIComponent(s)).join('/');
  return version ? `pkg:golang/${enc}@${encodeURIComponent(version)}` : `pkg:golang/${enc}`;
}

/** "Name <address>" -> "Organization: Name (address)". */
function supplierOf(maintainer: string): string {
  const m = /^\s*(.+?)\s*<([^>]+)>\s*$/.exec(maintainer);
  return m ? `Organization: ${m[1]} (${m[2]})` : `Organization: ${maintainer.trim()}`;
}

/** The library packages of a shlibs:Depends value: "libc6 (>= 2.34), libfoo1 | libfoo2" -> names. */
export function libraryPackages(shlibsDepends: string): Array<{ name: string; relation: string }> {
  const out: Array<{ name: string; relation: string }> = [];
  for (const group of shlibsDepends.split(',')) {
    for (const alt of group.split('|')) {
      const relation = alt.trim().replace(/\s+/g, ' ');
      const name = /^([a-z0-9][a-z0-9+.-]+)/.exec(relation)?.[1];
      if (name) out.push({ name, relation });
    }
  }
  return out;
}

/** What a module entry compiled in: the replacement if there is one. */
function effective(m: GoModule): { path: string; version: string; sum?: string; replaces?: string } {
  if (!m.replace) return { path: m.path, version: m.version, ...(m.sum ? { sum: m.sum } : {}) };
  return { path: m.replace.path, version: m.replace.version, ...(m.replace.sum ? { sum: m.replace.sum } : {}), replaces: `${m.path}${m.version ? `@${m.version}` : ''}` };
}

/** SPDX package verification code (clause 7.9): SHA-1 over the sorted SHA-1s of the files. */
export function verificationCode(sha1s: readonly string[]): string {
  return createHash('sha1').update([...sha1s].sort().join('')).digest('hex');
}

function fileTypes(f: ArchiveFile): SpdxFile['fileTypes'] {
  if (f.elf) return ['BINARY'];
  if (/\.(gz|xz|zst|tar|zip)$/.test(f.path)) return ['ARCHIVE'];
  return f.text ? ['TEXT'] : ['OTHER'];
}

function goComment(go: GoBuildInfo | undefined): string {
  if (!go) return 'Not a Go program: it has no Go build info.';
  const head = `Go build info (read from the binary, ${go.format === 'inline' ? 'Go >= 1.18 form' : 'Go < 1.18 form'}): built by ${go.goVersion}`;
  if (!go.moduleMode) {
    return `${head}${go.path ? `, main package ${go.path}` : ''}. It was built in GOPATH mode (modules off): the binary records no module list, so the Go packages compiled into it are not listed here; only the standard library of ${go.goVersion} is.`;
  }
  const main = go.main ? `, main module ${go.main.path} ${go.main.version}` : '';
  return `${head}${go.path ? `, main package ${go.path}` : ''}${main}; ${go.deps.length} module${go.deps.length === 1 ? '' : 's'} compiled in (STATIC_LINK relationships).`;
}

function linkComment(f: ArchiveFile): string {
  const l = f.elf?.linking;
  if (!l) return '';
  if (!l.dynamic) return 'ELF executable, statically linked (needs no shared library).';
  return `ELF executable, dynamically linked; asks the loader for ${l.needed.length ? l.needed.join(', ') : 'no library'} (DT_NEEDED).`;
}

export function buildSbom(input: SbomInput): SpdxDocument {
  const { subject } = input;
  const ids = new Ids();
  const packages: SpdxPackage[] = [];
  const relationships: SpdxRelationship[] = [];
  const rel = (a: string, type: SpdxRelationship['relationshipType'], b: string, comment?: string) =>
    relationships.push({ spdxElementId: a, relationshipType: type, relatedSpdxElement: b, ...(comment ? { comment } : {}) });

  // Files, in path order, with stable identifiers from their paths.
  const files: SpdxFile[] = input.files.map((f) => {
    const comment = [linkComment(f), f.elf ? goComment(f.elf.go) : ''].filter(Boolean).join(' ');
    return {
      SPDXID: ids.make('File', f.path),
      fileName: `./${f.path}`,
      fileTypes: fileTypes(f),
      checksums: [
        { algorithm: 'SHA1', checksumValue: f.sha1 },
        { algorithm: 'SHA256', checksumValue: f.sha256 },
      ],
      licenseConcluded: NOASSERTION,
      ...(comment ? { comment } : {}),
    };
  });

  // The artifact.
  const licences = input.components.map((c) => c.provenance?.license);
  const distinct = [...new Set(licences)];
  // The artifact holds every component: the conjunction of their licences, when all are declared.
  const declared = licences.length > 0 && licences.every((l) => !!l) ? distinct.map((l) => (distinct.length > 1 && /\s/.test(l!) ? `(${l})` : l)).join(' AND ') : NOASSERTION;
  packages.push({
    SPDXID: ARTIFACT_ID,
    name: subject.name,
    versionInfo: subject.version,
    packageFileName: subject.file,
    supplier: supplierOf(subject.maintainer),
    downloadLocation: NOASSERTION,
    filesAnalyzed: true,
    packageVerificationCode: { packageVerificationCodeValue: verificationCode(input.files.map((f) => f.sha1)) },
    checksums: [
      { algorithm: 'SHA256', checksumValue: subject.sha256 },
      { algorithm: 'SHA1', checksumValue: subject.sha1 },
      { algorithm: 'MD5', checksumValue: subject.md5 },
    ],
    licenseConcluded: NOASSERTION,
    licenseDeclared: declared,
    copyrightText: NOASSERTION,
    hasFiles: files.map((f) => f.SPDXID),
    primaryPackagePurpose: subject.kind === 'deb' ? 'INSTALL' : 'ARCHIVE',
    builtDate: utcTime(subject.sourceDateEpoch),
    comment:
      subject.kind === 'deb'
        ? `Debian binary package for ${subject.arch}, built by crio-build from ${input.components.map((c) => `${c.name} ${c.version}`).join(', ')}.`
        : `Release bundle (cri-o's release-bundle layout) for ${subject.arch}, built by crio-build from ${input.components.map((c) => `${c.name} ${c.version}`).join(', ')}.`,
  });
  rel(DOCUMENT_ID, 'DESCRIBES', ARTIFACT_ID);
  for (const f of files) rel(ARTIFACT_ID, 'CONTAINS', f.SPDXID);

  // Sources.
  const sourceIds = new Map<string, string>();
  for (const c of input.components) {
    const p = c.provenance;
    const id = ids.make('Source', c.name);
    sourceIds.set(c.name, id);
    const purl = githubPurl(p?.url, c.commit);
    packages.push({
      SPDXID: id,
      name: c.name,
      versionInfo: c.version,
      downloadLocation: vcsLocation(p?.url, c.commit),
      filesAnalyzed: false,
      ...(p?.url ? { homepage: p.url } : {}),
      sourceInfo: `git commit ${c.commit}${p?.ref ? ` (${p.ref})` : ''}, committed ${utcTime(c.commitTime)}`,
      licenseConcluded: NOASSERTION,
      licenseDeclared: p?.license ?? NOASSERTION,
      copyrightText: NOASSERTION,
      ...(purl ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER' as const, referenceType: 'purl', referenceLocator: purl }] } : {}),
      primaryPackagePurpose: 'SOURCE',
      ...(p ? {} : { comment: 'No build provenance was recorded for this build: its repository and licence are not known here.' }),
    });
    rel(ARTIFACT_ID, 'GENERATED_FROM', id);
  }

  // Toolchains (one per distinct archive).
  const toolchains = new Map<string, { t: NonNullable<BuiltComponent['provenance']>['toolchain']; for: string[] }>();
  for (const c of input.components) {
    const t = c.provenance?.toolchain;
    if (!t) continue;
    const key = `${t.name}\0${t.sha256}`;
    const seen = toolchains.get(key);
    if (seen) seen.for.push(c.name);
    else toolchains.set(key, { t, for: [c.name] });
  }
  for (const { t, for: users } of [...toolchains.values()].sort((a, b) => (a.t.name < b.t.name ? -1 : a.t.name > b.t.name ? 1 : 0))) {
    const id = ids.make('Toolchain', t.name);
    packages.push({
      SPDXID: id,
      name: t.name,
      versionInfo: t.version,
      downloadLocation: /^[a-z][a-z0-9+.-]*:\S+$/i.test(t.url) ? t.url : NOASSERTION,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: t.sha256 }],
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      copyrightText: NOASSERTION,
      primaryPackagePurpose: 'APPLICATION',
      comment: `The Go toolchain archive the builder held for ${users.join(', ')} (its SHA-256 is the archive's).`,
    });
    rel(id, 'BUILD_TOOL_OF', ARTIFACT_ID);
  }

  // Go: the standard library of each Go release, and every module, from the binaries' build info.
  const stdlibIds = new Map<string, string>();
  const moduleIds = new Map<string, string>();
  const goFiles = input.files.map((f, i) => ({ f, id: files[i]!.SPDXID })).filter((x) => x.f.elf?.go);
  const goVersions = [...new Set(goFiles.map((x) => x.f.elf!.go!.goVersion))].sort();
  for (const v of goVersions) {
    const id = ids.make('Go-stdlib', v);
    stdlibIds.set(v, id);
    const semver = v.replace(/^go/, '');
    packages.push({
      SPDXID: id,
      name: 'stdlib',
      versionInfo: v,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      copyrightText: NOASSERTION,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: golangPurl('stdlib', semver) }],
      primaryPackagePurpose: 'LIBRARY',
      comment: `The Go standard library of ${v}, compiled into every binary its build info says ${v} built.`,
    });
  }
  const modules = new Map<string, ReturnType<typeof effective>>();
  for (const { f } of goFiles) {
    for (const d of f.elf!.go!.deps) {
      const e = effective(d);
      modules.set(`${e.path}\0${e.version}\0${e.replaces ?? ''}`, e);
    }
  }
  for (const [key, m] of [...modules].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const id = ids.make('Go-module', m.path, m.version);
    moduleIds.set(key, id);
    const local = /^(\.|\/)/.test(m.path);
    const notes = [m.sum ? `go.sum hash ${m.sum}` : 'no go.sum hash recorded (a vendored build records none)', m.replaces ? `replaces ${m.replaces}` : ''].filter(Boolean);
    packages.push({
      SPDXID: id,
      name: m.path,
      ...(m.version && m.version !== '(devel)' ? { versionInfo: m.version } : {}),
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      copyrightText: NOASSERTION,
      ...(local ? {} : { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER' as const, referenceType: 'purl', referenceLocator: golangPurl(m.path, m.version) }] }),
      primaryPackagePurpose: 'LIBRARY',
      comment: `Go module compiled in, as the binary's build info lists it; ${notes.join('; ')}.`,
    });
  }
  for (const { f, id } of goFiles) {
    const go = f.elf!.go!;
    rel(id, 'STATIC_LINK', stdlibIds.get(go.goVersion)!);
    for (const d of go.deps) {
      const e = effective(d);
      rel(id, 'STATIC_LINK', moduleIds.get(`${e.path}\0${e.version}\0${e.replaces ?? ''}`)!);
    }
  }

  // Which component built each binary.
  input.files.forEach((f, i) => {
    if (!f.elf) return;
    const c = input.componentOf(f);
    const src = c === undefined ? undefined : sourceIds.get(c);
    if (src) rel(files[i]!.SPDXID, 'GENERATED_FROM', src);
  });

  // Shared libraries: the Debian packages of each component's shlibs:Depends.
  const libs = new Map<string, { relations: Set<string>; by: Set<string> }>();
  for (const c of input.components) {
    for (const l of libraryPackages(c.shlibsDepends)) {
      const e = libs.get(l.name) ?? { relations: new Set(), by: new Set() };
      e.relations.add(l.relation);
      e.by.add(c.name);
      libs.set(l.name, e);
    }
  }
  for (const [name, l] of [...libs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const id = ids.make('Deb-lib', name);
    packages.push({
      SPDXID: id,
      name,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      copyrightText: NOASSERTION,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:deb/debian/${name}?arch=${subject.arch}` }],
      primaryPackagePurpose: 'LIBRARY',
      comment: `Shared library package the binaries link at run time, from the shlibs:Depends dpkg-shlibdeps computed for ${[...l.by].join(', ')}: ${[...l.relations].join(', ')}.`,
    });
    rel(ARTIFACT_ID, 'DEPENDS_ON', id, [...l.relations].join(', '));
  }

  const body: Omit<SpdxDocument, 'documentNamespace'> = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: DOCUMENT_ID,
    name: subject.file,
    creationInfo: {
      created: utcTime(subject.sourceDateEpoch),
      creators: [`Tool: ${input.tool}`],
      comment: 'Created at the artifact\'s SOURCE_DATE_EPOCH (its source commit time), so the same build gives the same document.',
    },
    comment:
      'Every file is read from the artifact itself. Go modules are those each binary\'s embedded build info lists (not go.mod or vendor/ of the source tree); shared libraries are the Debian packages of the shlibs:Depends computed for the binaries, and each binary\'s comment names the sonames it needs. Licences are declared where the upstream repository declares one (its LICENSE file), NOASSERTION otherwise.',
    packages,
    files,
    relationships,
  };
  return { ...body, documentNamespace: namespaceFor(subject.file, body) };
}

/** A namespace unique to this content: the artifact's name and a UUID-shaped digest of the document. */
export function namespaceFor(file: string, body: Omit<SpdxDocument, 'documentNamespace'>): string {
  const h = sha256Hex(JSON.stringify(body));
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return `${SPDX_NAMESPACE_BASE}/${encodeURIComponent(file)}-${uuid}`;
}

/** The bytes written: 2-space JSON and a newline, the order of the object as built. */
export function renderSbom(doc: SpdxDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

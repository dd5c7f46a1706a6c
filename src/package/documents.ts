/**
 * The documents the package stage writes beside each artifact, in the same directory:
 *
 *   <artifact>.spdx.json          SPDX 2.3 SBOM of every .deb and of the bundle (./sbom/)
 *   <deb without .deb>.buildinfo  deb-buildinfo(5) of every .deb (./buildinfo.ts)
 *
 * Both are made from the written artifacts (read back, so they describe the exact bytes) and the
 * components' build provenance, and both are byte-reproducible. A .deb whose component has no
 * recorded builder gets no .buildinfo (there is nothing true to put in Installed-Build-Depends),
 * and the stage warns.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { TOOL_VERSION } from '../core/keys.js';
import { sha256Hex } from '../core/hash.js';
import type { Arch } from '../recipe/schema.js';
import { writeFileAtomic } from '../core/atomic.js';
import { renderBuildinfo } from './buildinfo.js';
import type { BuiltComponent } from './definitions/types.js';
import { assetSafe } from '../plan/naming.js';
import { archiveFiles, type ArchiveFile } from './sbom/archive-files.js';
import { buildSbom, renderSbom, type SbomSubject } from './sbom/spdx.js';
import { validateSbom } from './sbom/validate.js';

export type DocumentKind = 'sbom' | 'buildinfo';

export interface PackagedDocument {
  kind: DocumentKind;
  /** The artifact's file name it describes. */
  of: string;
  file: string;
  path: string;
  sha256: string;
  size: number;
}

export function sbomFileName(artifact: string): string {
  return assetSafe(`${artifact}.spdx.json`);
}

export function buildinfoFileName(deb: string): string {
  return assetSafe(`${deb.replace(/\.deb$/, '')}.buildinfo`);
}

interface Artifact {
  file: string;
  path: string;
  sha256: string;
}

export interface DocumentsInput {
  arch: Arch;
  maintainer: string;
  components: readonly BuiltComponent[];
  debs: ReadonlyArray<Artifact & { name: string; version: string; component: string }>;
  bundle: Artifact;
  outDir: string;
  warn: (message: string) => void;
  onStep?: (message: string) => void;
}

async function digests(path: string): Promise<{ md5: string; sha1: string; sha256: string; size: number }> {
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) {
    md5.update(c as Buffer);
    sha1.update(c as Buffer);
    sha256.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { md5: md5.digest('hex'), sha1: sha1.digest('hex'), sha256: sha256.digest('hex'), size };
}

async function writeDocument(outDir: string, kind: DocumentKind, of: string, file: string, text: string): Promise<PackagedDocument> {
  const path = join(outDir, file);
  const bytes = Buffer.from(text, 'utf8');
  await writeFileAtomic(path, bytes);
  return { kind, of, file, path, sha256: sha256Hex(bytes), size: bytes.length };
}

/** Writes the SBOMs and .buildinfo files of one package stage run; returns them in artifact order. */
export async function writeArtifactDocuments(o: DocumentsInput): Promise<PackagedDocument[]> {
  const out: PackagedDocument[] = [];
  const tool = `crio-build-${TOOL_VERSION}`;
  const byName = new Map(o.components.map((c) => [c.name, c]));
  // Which component each binary came from, by content: the bundle holds the same (stripped) files.
  const binaryOwner = new Map<string, string>();

  const sbom = async (subject: SbomSubject, files: ArchiveFile[], components: BuiltComponent[], componentOf: (f: ArchiveFile) => string | undefined) => {
    const doc = buildSbom({ subject, files, components, componentOf, tool });
    // A document that does not validate is our bug: never publish it.
    const problems = validateSbom(JSON.parse(JSON.stringify(doc)), { file: subject.file, sha256: subject.sha256 });
    if (problems.length) throw new Error(`SBOM of ${subject.file} is not valid SPDX 2.3: ${problems.slice(0, 5).join('; ')}`);
    out.push(await writeDocument(o.outDir, 'sbom', subject.file, sbomFileName(subject.file), renderSbom(doc)));
  };

  for (const deb of o.debs) {
    const component = byName.get(deb.component);
    if (!component) throw new Error(`documents: ${deb.file} names component ${deb.component}, which is not in this run`);
    o.onStep?.(`writing ${sbomFileName(deb.file)}`);
    const sums = await digests(deb.path);
    if (sums.sha256 !== deb.sha256) throw new Error(`${deb.file} changed after it was written (sha256 ${sums.sha256}, written as ${deb.sha256})`);
    const files = await archiveFiles(deb.path);
    for (const f of files) if (f.elf) binaryOwner.set(f.sha256, component.name);
    const subject: SbomSubject = { kind: 'deb', file: deb.file, ...sums, name: deb.name, version: deb.version, arch: o.arch, sourceDateEpoch: component.commitTime, maintainer: o.maintainer };
    await sbom(subject, files, [component], () => component.name);

    const p = component.provenance;
    if (p?.builder) {
      const text = renderBuildinfo({ name: deb.name, version: deb.version, arch: o.arch, deb: { file: deb.file, ...sums }, component, provenance: { ...p, builder: p.builder } });
      out.push(await writeDocument(o.outDir, 'buildinfo', deb.file, buildinfoFileName(deb.file), text));
    } else {
      o.warn(`${deb.file}: no build provenance recorded for ${component.name} (built by an older crio-build?): no .buildinfo written, and its SBOM names no repository, toolchain or licence`);
    }
  }

  const crio = byName.get('cri-o');
  if (!crio) throw new Error('documents: the cri-o component is required for the bundle');
  o.onStep?.(`writing ${sbomFileName(o.bundle.file)}`);
  const sums = await digests(o.bundle.path);
  if (sums.sha256 !== o.bundle.sha256) throw new Error(`${o.bundle.file} changed after it was written (sha256 ${sums.sha256}, written as ${o.bundle.sha256})`);
  const subject: SbomSubject = { kind: 'bundle', file: o.bundle.file, ...sums, name: 'cri-o-bundle', version: crio.version, arch: o.arch, sourceDateEpoch: crio.commitTime, maintainer: o.maintainer };
  // In packaging order (the .debs'), so the document does not depend on the order components were given in.
  const all = o.debs.map((d) => byName.get(d.component) as BuiltComponent);
  await sbom(subject, await archiveFiles(o.bundle.path), all, (f) => binaryOwner.get(f.sha256));
  return out;
}

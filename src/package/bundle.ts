/**
 * The bundle: cri-o.<arch>.v<version>.tar.gz, everything of one branch and arch in the layout of
 * cri-o's own release bundle (contrib/bundle/build in cri-o/cri-o: a top directory cri-o/ with bin/,
 * etc/, contrib/, cni-plugins/, man/, completions/, an install Makefile, README.md and LICENSE),
 * for machines that do not use the .debs.
 *
 * Reproducible like the .debs: entries sorted bytewise (the .deb writer's tree planner), owner
 * root:root (0:0), every mtime the cri-o commit time, gzip with no name and no timestamp (one stream, or
 * members cut at fixed sizes: ./gzip-members.ts). Written
 * in one streaming pass to a temporary name, then renamed into place.
 */
import { createWriteStream } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Arch } from '../recipe/schema.js';
import { tempNameFor } from '../core/atomic.js';
import { compressStream } from './deb/compress.js';
import { gzipMembers } from './gzip-members.js';
import { addEntry, addStreamEntry, createPack, packOutput, type Pack } from './deb/tar.js';
import { planTree, type TreeEntry } from './deb/tree.js';
import { sha256File } from '../core/hash.js';
import { bundleFileName } from '../plan/naming.js';
import type { PackageFile, PackageInfo, PackageResult, Packager } from './packager.js';
import { crictlYaml, crioBinaries, crioUnits, CRIO_UPSTREAM } from './definitions/cri-o.js';
import { CONMON_UPSTREAM } from './definitions/conmon.js';
import { cniPluginFiles, CNI_UPSTREAM } from './definitions/cni-plugins.js';
import { CRI_TOOLS_UPSTREAM } from './definitions/cri-tools.js';
import { completions, manPages, optionalFile, requiredFile } from './definitions/inventory.js';
import type { BuiltComponent } from './definitions/types.js';
import type { PreparedBinary } from './definitions/elf.js';
import { bundleMakefile, bundleReadme, type BundleMakefileInput } from './files/bundle-makefile.js';
import { CNI_CONFIGS } from './files/cni.js';
import { applySettingsToCrioConf, crioDropIns, crioSettings, supportsDropIns } from './files/crio-config.js';
import { copyrightFile } from './files/docs.js';
import { CRIO_UNIT, CRIO_UNIT_ALIAS } from './files/systemd.js';

export const BUNDLE_TOP = 'cri-o';

export interface BundleInput extends PackageInfo {
  arch: Arch;
  /** cri-o's upstream version (names the file). */
  version: string;
  /** Paths are archive paths with a leading "/": "/cri-o/bin/crio". */
  files: PackageFile[];
}

/** The bundle's gzip: level, and bytes per gzip member compressed side by side (absent: one stream). */
export interface BundleCompression {
  level: number;
  memberSize?: number;
  /** Members compressed at once (never changes the bytes). */
  jobs?: number;
}

/** The default for direct callers; the package stage passes its settings (./settings.ts). */
const DEFAULT_BUNDLE_COMPRESSION: BundleCompression = { level: 9 };

/** Writes the tarball to `outPath` atomically. */
export async function writeBundle(input: BundleInput, outPath: string, gz: BundleCompression = DEFAULT_BUNDLE_COMPRESSION): Promise<PackageResult> {
  const mtime = input.sourceDateEpoch;
  if (!Number.isInteger(mtime) || mtime < 0) throw new Error(`bundle: sourceDateEpoch ${mtime} is not a non-negative integer`);
  for (const f of input.files) {
    if (f.conffile) throw new Error(`bundle: ${f.path}: conffiles only exist in .debs`);
    if (!f.path.startsWith(`/${BUNDLE_TOP}/`)) throw new Error(`bundle: ${f.path} is outside /${BUNDLE_TOP}/`);
  }
  // planTree sorts and adds parent directories; drop its "./" root entry and prefix.
  const entries = planTree(input.files).filter((e) => e.tarPath !== './');
  const tmp = tempNameFor(outPath);
  const pack = createPack();
  try {
    const sink = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    const tar = packOutput(pack);
    const compress =
      gz.memberSize === undefined
        ? compressStream(tar, sink, { kind: 'gzip', level: gz.level, threads: 1 })
        : gzipMembers(tar, sink, { level: gz.level, memberSize: gz.memberSize, jobs: gz.jobs ?? 1 });
    const compressing = compress.catch((err: unknown) => {
      pack.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    });
    const feeding = feed(pack, entries, mtime).catch((err: unknown) => {
      pack.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    });
    await Promise.all([feeding, compressing]);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const [sha256, st] = await Promise.all([sha256File(tmp), stat(tmp)]);
    await rename(tmp, outPath);
    return { path: outPath, size: st.size, sha256 };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function tarName(e: TreeEntry): string {
  return e.tarPath.slice(2);
}

async function feed(pack: Pack, entries: readonly TreeEntry[], mtime: number): Promise<void> {
  for (const e of entries) {
    if (e.kind === 'dir') await addEntry(pack, { name: tarName(e), type: 'directory', mode: e.mode, mtime });
    else if (e.kind === 'symlink') await addEntry(pack, { name: tarName(e), type: 'symlink', mode: 0o777, mtime, linkname: e.target });
    else if (e.content) await addEntry(pack, { name: tarName(e), type: 'file', mode: e.mode ?? 0o644, mtime }, e.content);
    else {
      const fh = await open(e.source as string, 'r');
      try {
        const st = await fh.stat();
        const mode = e.mode ?? (st.mode & 0o111 ? 0o755 : 0o644);
        const stream = fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false });
        await addStreamEntry(pack, { name: tarName(e), type: 'file', mode, mtime, size: st.size }, stream as AsyncIterable<Buffer>);
      } finally {
        await fh.close();
      }
    }
  }
  pack.finalize();
}

export const bundlePackager: Packager<BundleInput> = {
  format: 'tar.gz',
  conventionalFileName: (info) => bundleFileName(info.arch, info.version),
  package: (info, outDir) => writeBundle(info, join(outDir, bundleFileName(info.arch, info.version))),
};

export interface BundleSources {
  arch: Arch;
  kubernetes: string;
  components: ReadonlyMap<string, BuiltComponent>;
  pauseImage?: string;
  prepareBinary(path: string): Promise<PreparedBinary>;
  warn(message: string): void;
}

/** The bundle of the components: cri-o is required, the others are added when present. */
export async function bundleInput(s: BundleSources): Promise<BundleInput> {
  const crio = s.components.get('cri-o');
  if (!crio) throw new Error('bundle: the cri-o component is required');
  const top = `/${BUNDLE_TOP}`;
  const files: PackageFile[] = [];
  const mk: BundleMakefileInput = { binaries: [], cniPlugins: [], etc: [], dropIns: [], cniConfigs: [], units: [], unitAliases: [], manPages: [], completions: [] };
  const bin = async (name: string, path: string) => {
    files.push({ path: `${top}/bin/${name}`, source: (await s.prepareBinary(path)).path, mode: 0o755 });
    mk.binaries.push(name);
  };

  for (const b of await crioBinaries(crio.outDir)) await bin(b.name, b.path);
  const conmon = s.components.get('conmon');
  if (conmon) await bin('conmon', await requiredFile(conmon.outDir, 'bin/conmon', 'conmon'));
  const criTools = s.components.get('cri-tools');
  if (criTools) await bin('crictl', await requiredFile(criTools.outDir, '_output/crictl', 'cri-tools'));
  const cni = s.components.get('cni-plugins');
  if (cni) {
    for (const p of await cniPluginFiles(cni.outDir)) {
      files.push({ path: `${top}/cni-plugins/${p.name}`, source: (await s.prepareBinary(p.path)).path, mode: 0o755 });
      mk.cniPlugins.push(p.name);
    }
  }

  // etc/: crio.conf as generated; the conmon path is the default PREFIX's, rewritten by make install.
  const generated = await readFile(await requiredFile(crio.outDir, 'crio.conf', 'cri-o'), 'utf8');
  const settings = { ...crioSettings({ criOVersion: crio.version, crioConf: generated, ...(s.pauseImage !== undefined ? { pauseImage: s.pauseImage } : {}) }), conmon: '/usr/local/bin/conmon' };
  const dropIns = supportsDropIns(crio.version);
  files.push({ path: `${top}/etc/crio.conf`, content: dropIns ? generated : applySettingsToCrioConf(generated, settings) });
  mk.etc.push('crio.conf');
  if (dropIns) {
    for (const [name, content] of crioDropIns(settings, generated)) {
      files.push({ path: `${top}/etc/crio.conf.d/${name}`, content });
      mk.dropIns.push(name);
    }
  }
  files.push({ path: `${top}/etc/crictl.yaml`, content: await crictlYaml(s, crio.outDir) });
  mk.etc.push('crictl.yaml');
  const umount = await optionalFile(crio.outDir, 'crio-umount.conf');
  if (umount) {
    files.push({ path: `${top}/etc/crio-umount.conf`, source: umount, mode: 0o644 });
    mk.etc.push('crio-umount.conf');
  }

  // contrib/: the units as upstream wrote them (make install rewrites /usr/local/bin), CNI configs.
  for (const u of await crioUnits(crio.outDir)) {
    files.push({ path: `${top}/contrib/${u.name}`, source: u.path, mode: 0o644 });
    mk.units.push(u.name);
  }
  mk.unitAliases.push([CRIO_UNIT_ALIAS, CRIO_UNIT]);
  for (const [name, content] of CNI_CONFIGS) {
    files.push({ path: `${top}/contrib/${name}`, content });
    mk.cniConfigs.push(name);
  }

  for (const m of await manPages(crio.outDir)) {
    files.push({ path: `${top}/man/${m.name}`, source: m.path, mode: 0o644 });
    mk.manPages.push({ name: m.name, section: m.section });
  }
  for (const c of await completions(crio.outDir)) {
    files.push({ path: `${top}/completions/${c.shell}/${c.name}`, source: c.path, mode: 0o644 });
    mk.completions.push({ shell: c.shell, name: c.name });
  }

  const present = [
    [crio, CRIO_UPSTREAM],
    [conmon, CONMON_UPSTREAM],
    [cni, CNI_UPSTREAM],
    [criTools, CRI_TOOLS_UPSTREAM],
  ].filter((p): p is [BuiltComponent, typeof CRIO_UPSTREAM] => p[0] !== undefined);
  files.push({ path: `${top}/Makefile`, content: bundleMakefile(mk) });
  files.push({
    path: `${top}/README.md`,
    content: bundleReadme({ arch: s.arch, version: crio.version, kubernetes: s.kubernetes, components: present.map(([c, u]) => ({ name: u.name, version: c.version, commit: c.commit })) }),
  });
  files.push({ path: `${top}/LICENSE`, content: present.map(([c, u]) => copyrightFile(u, c.commitTime)).join('\n') });

  return { arch: s.arch, version: crio.version, files, sourceDateEpoch: crio.commitTime };
}

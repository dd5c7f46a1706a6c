/**
 * The package stage: build outputs in, .debs + the bundle tarball + SHA256SUMS out.
 *
 *   packageAll(input)          the stage's one entry function (the pipeline calls it after build)
 *   loadBuiltComponents(...)   what `crio-build package` uses to find outputs already built under
 *                              artifacts/<branch>/<arch>/build/<component>/ (+ <component>.json)
 *
 * Every output is written under a temporary name and renamed into place; a failure leaves no
 * half-written file. The same inputs give byte-identical outputs (SOURCE_DATE_EPOCH = each
 * component's commit time), whatever the number of cores.
 *
 * Each .deb and the bundle has its own content key (./keys.ts): a file whose key is unchanged since
 * the previous run in outDir, and whose bytes still hash as recorded, is kept as it is. The others
 * are written at once, `jobs` at a time, biggest first, each compressor itself multi-threaded
 * (./settings.ts). Then SHA256SUMS over all of them.
 */
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CrioBuildError, ExitCode, HostNotReadyError } from '../core/errors.js';
import { SUPPORTED_ARCHES, type Arch } from '../recipe/schema.js';
import { writeBundle, bundleInput, type BundleCompression } from './bundle.js';
import { writeSha256Sums } from './checksums.js';
import PQueue from 'p-queue';
import { writeDeb, type DebCompression } from './deb/index.js';
import { DEFAULT_MAINTAINER } from './definitions/common.js';
import { prepareBinary, type PreparedBinary } from './definitions/elf.js';
import { definitionFor, DEFINITIONS } from './definitions/index.js';
import { writeArtifactDocuments, type PackagedDocument } from './documents.js';
import type { BuiltComponent, PackageContext } from './definitions/types.js';
import type { BuildProvenance } from '../build/provenance.js';
import { checkPauseImage } from './files/crio-config.js';
import { bundleFileName, debFileName, debVersion } from '../plan/naming.js';
import { bundleKey, clearPackagedKeys, componentIdentity, debKey, readPackagedKeys, reusable, writePackagedKeys, type KeyedFile, type StageIdentity } from './keys.js';
import { checkPackagingSettings, packagingSettings, type PackagingSettings } from './settings.js';

export type { PackagedDocument } from './documents.js';
export { checkPauseImage } from './files/crio-config.js';
export { DEFAULT_MAINTAINER } from './definitions/common.js';
import { loadBuiltComponents } from '../build/outputs.js';

export interface PackageStageInput {
  /** The cri-o branch recipe, e.g. release-1.18. */
  branch: string;
  /** Its Kubernetes minor, e.g. "1.18". */
  kubernetes: string;
  arch: Arch;
  components: BuiltComponent[];
  /** Where the .debs, the bundle and SHA256SUMS go (created if missing). */
  outDir: string;
  /** pause_image for a crio.conf.d drop-in (`--pause-image`); none when absent. */
  pauseImage?: string;
  /** "Name <address>"; DEFAULT_MAINTAINER when absent. */
  maintainer?: string;
  /** Progress lines for the CLI. */
  onStep?: (message: string) => void;
  /** Compression and parallelism; packagingSettings() (this machine's cores) when absent. */
  settings?: PackagingSettings;
  /** Make every file again, even those unchanged since the previous run in outDir. */
  force?: boolean;
}

export interface PackagedDeb {
  /** Debian package name. */
  name: string;
  /** Full Debian version (with epoch). */
  version: string;
  component: string;
  /** File name (asset-safe) and full path. */
  file: string;
  path: string;
  sha256: string;
  size: number;
}

export interface PackagedFile {
  file: string;
  path: string;
  sha256: string;
  size: number;
}

export interface PackageStageResult {
  debs: PackagedDeb[];
  bundle: PackagedFile;
  /** Beside each artifact: its SBOM (<artifact>.spdx.json) and, for a .deb, its .buildinfo. */
  documents: PackagedDocument[];
  checksumsPath: string;
  /** Non-fatal findings (e.g. a binary left unstripped for lack of a strip for the arch). */
  warnings: string[];
  /** File names written by this run, and those kept from the previous one (same key, same bytes). */
  repacked: string[];
  reused: string[];
}

/** Bad stage input (arch, pause image, component list): exit code 3, like other invalid input. */
export class PackageInputError extends CrioBuildError {
  constructor(message: string) {
    super(message, ExitCode.invalidInput);
  }
}

/** Packaging failed on what the build produced (a missing output, a binary of the wrong arch, ...): exit code 1. */
export class PackageError extends CrioBuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.jobFailed, 'check the build outputs under artifacts/<branch>/<arch>/build/ (rebuild with --force if they are stale)');
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

function checkInput(input: PackageStageInput): void {
  try {
    checkInputFields(input);
  } catch (err) {
    throw new PackageInputError((err as Error).message);
  }
}

function checkInputFields(input: PackageStageInput): void {
  if (!(SUPPORTED_ARCHES as readonly string[]).includes(input.arch)) throw new Error(`package: arch "${input.arch}" is not one of ${SUPPORTED_ARCHES.join(', ')}`);
  if (!/^\d+\.\d+$/.test(input.kubernetes)) throw new Error(`package: kubernetes "${input.kubernetes}" is not a minor version such as 1.18`);
  if (input.pauseImage !== undefined) checkPauseImage(input.pauseImage);
  const seen = new Set<string>();
  for (const c of input.components) {
    definitionFor(c.name);
    if (seen.has(c.name)) throw new Error(`package: component ${c.name} given twice`);
    seen.add(c.name);
    if (c.arch !== input.arch) throw new Error(`package: component ${c.name} was built for ${c.arch}, not ${input.arch}`);
    if (!/^[0-9a-f]{7,40}$/.test(c.commit)) throw new Error(`package: component ${c.name}: commit "${c.commit}" is not a git commit id`);
    if (!Number.isInteger(c.commitTime) || c.commitTime <= 0) throw new Error(`package: component ${c.name}: commitTime ${c.commitTime} is not a positive integer (seconds)`);
    if (!/^\d/.test(c.version)) throw new Error(`package: component ${c.name}: version "${c.version}" must start with a digit`);
  }
  if (!seen.has('cri-o')) throw new Error('package: the cri-o component is required');
}

/** Packages every component as a .deb, makes the bundle and writes SHA256SUMS over all of them. */
export async function packageAll(input: PackageStageInput): Promise<PackageStageResult> {
  checkInput(input);
  try {
    return await packageChecked(input);
  } catch (err) {
    if (err instanceof CrioBuildError) throw err;
    const full = await diskFullError(err, resolve(input.outDir));
    if (full) throw full;
    throw new PackageError(`package: ${(err as Error).message}`, { cause: err });
  }
}

/** The file a write was producing when it failed (stream errors do not carry a path). */
async function writing<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err && typeof err === 'object' && !('writing' in err)) Object.assign(err, { writing: path });
    throw err;
  }
}

/** A full disk (or quota) is the host's problem, not the build's: say so, with the file and the space left. */
async function diskFullError(err: unknown, outDir: string): Promise<HostNotReadyError | undefined> {
  const e = err as NodeJS.ErrnoException & { writing?: string };
  if (e?.code !== 'ENOSPC' && e?.code !== 'EDQUOT') return undefined;
  const file = e.writing ?? e.path ?? outDir;
  const free = await statfs(dirname(file))
    .then((s) => `; ${(Number(s.bavail) * Number(s.bsize) / 2 ** 20).toFixed(1)} MiB free there now`)
    .catch(() => '');
  const what = e.code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded';
  return new HostNotReadyError(
    `package: ${what} while writing ${file}${free}`,
    `free space on the filesystem of ${outDir} (or use --artifacts on a larger one) and rerun; nothing half-written was left`,
  );
}

/** One file the stage makes: the .debs and the bundle. */
interface Writer {
  file: string;
  key: string;
  /** Bigger first: p-queue runs higher priorities first, so the longest compressions start at once. */
  bytes: number;
  write(): Promise<{ sha256: string; size: number }>;
}

async function packageChecked(input: PackageStageInput): Promise<PackageStageResult> {
  const settings = input.settings ?? packagingSettings();
  checkPackagingSettings(settings);
  const outDir = resolve(input.outDir);
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(outDir, '.package-work-'));
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    input.onStep?.(`warning: ${m}`);
  };
  const components = new Map(input.components.map((c) => [c.name, c]));
  const prepared = new Map<string, Promise<PreparedBinary>>();
  const prepare = (component: string) => (path: string) => {
    const key = resolve(path);
    let p = prepared.get(key);
    if (!p) {
      p = prepareBinary(key, input.arch, join(work, component), warn);
      prepared.set(key, p);
    }
    return p;
  };
  const maintainer = input.maintainer ?? DEFAULT_MAINTAINER;
  const debCompression: DebCompression = { ...settings.deb, threads: settings.threads };
  const bundleCompression: BundleCompression = { ...settings.bundle, jobs: settings.threads };
  const stageId: StageIdentity = { branch: input.branch, kubernetes: input.kubernetes, arch: input.arch, maintainer, compression: { deb: settings.deb, bundle: settings.bundle } };

  try {
    const order = [...DEFINITIONS.keys()].filter((n) => components.has(n));
    const ids = new Map(await Promise.all(order.map(async (n) => [n, await componentIdentity(components.get(n) as BuiltComponent)] as const)));
    const previousKeys = settings.reuse && !input.force ? await readPackagedKeys(outDir) : {};
    // Dropped until this run has finished: a failure must not leave a key beside a file it did not make.
    await clearPackagedKeys(outDir);

    const debs = new Map<string, PackagedDeb>();
    const writers: Writer[] = [];
    for (const name of order) {
      const def = definitionFor(name);
      const component = components.get(name) as BuiltComponent;
      const id = ids.get(name)!;
      const siblings = def.reads?.siblings ?? [];
      const pauseImage = def.reads?.pauseImage ? input.pauseImage : undefined;
      const version = debVersion(component.version);
      const file = debFileName(def.debName, version, input.arch);
      const key = await debKey({
        stage: stageId,
        definition: name,
        component: id.identity,
        siblings: siblings.filter((s) => components.has(s)).map((s) => ({ name: s, version: (components.get(s) as BuiltComponent).version })),
        pauseImage: pauseImage ?? null,
      });
      writers.push({
        file,
        key,
        bytes: id.bytes,
        write: async () => {
          const ctx: PackageContext = {
            branch: input.branch,
            kubernetes: input.kubernetes,
            arch: input.arch,
            maintainer,
            ...(pauseImage !== undefined ? { pauseImage } : {}),
            component,
            components: declaredOnly(components, name, siblings),
            prepareBinary: prepare(name),
            warn,
          };
          const info = await writing(join(work, name), () => def.describe(ctx));
          input.onStep?.(`writing ${file}`);
          const r = await writing(join(outDir, file), () => writeDeb({ ...info, compression: debCompression }, join(outDir, file)));
          return { sha256: r.sha256, size: r.size };
        },
      });
      debs.set(file, { name: def.debName, version, component: name, file, path: join(outDir, file), sha256: '', size: 0 });
    }

    const crio = components.get('cri-o') as BuiltComponent;
    const bundleFile = bundleFileName(input.arch, crio.version);
    const bundleWriter: Writer = {
      file: bundleFile,
      key: await bundleKey({ stage: stageId, components: order.map((n) => ids.get(n)!.identity), pauseImage: input.pauseImage ?? null }),
      bytes: [...ids.values()].reduce((sum, i) => sum + i.bytes, 0),
      write: async () => {
        input.onStep?.(`writing ${bundleFile}`);
        return writing(join(outDir, bundleFile), async () =>
          writeBundle(
            await bundleInput({ arch: input.arch, kubernetes: input.kubernetes, components, ...(input.pauseImage !== undefined ? { pauseImage: input.pauseImage } : {}), prepareBinary: prepare('cri-o'), warn }),
            join(outDir, bundleFile),
            bundleCompression,
          ),
        );
      },
    };

    // Every file through one queue of `jobs` writers, biggest first; each either reused (same key,
    // bytes verified) or written. allSettled: on a failure, wait for the other writers to finish or
    // clean up before the scratch directory (stripped binaries they may be reading) is removed.
    const queue = new PQueue({ concurrency: settings.jobs });
    const made: Record<string, KeyedFile> = {};
    const repacked: string[] = [];
    const reused: string[] = [];
    const run = (w: Writer) =>
      queue.add(
        async () => {
          const kept = await reusable(outDir, previousKeys, w.file, w.key);
          if (kept) reused.push(w.file);
          else repacked.push(w.file);
          made[w.file] = { key: w.key, ...(kept ?? (await w.write())) };
        },
        { priority: w.bytes },
      );
    const debRuns = writers.map(run);
    const bundleRun = settings.bundleAfterDebs ? Promise.allSettled(debRuns).then(() => run(bundleWriter)) : run(bundleWriter);
    const settled = await Promise.allSettled([...debRuns, bundleRun]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const debList = [...debs.values()].map((d) => ({ ...d, sha256: made[d.file]!.sha256, size: made[d.file]!.size }));
    const bundle: PackagedFile = { file: bundleFile, path: join(outDir, bundleFile), sha256: made[bundleFile]!.sha256, size: made[bundleFile]!.size };

    // Every .deb and the bundle is in place (written or reused): the documents about them, read
    // back from those exact bytes, before SHA256SUMS lists the release's files.
    const documents = await writeArtifactDocuments({ arch: input.arch, maintainer: input.maintainer ?? DEFAULT_MAINTAINER, components: input.components, debs: debList, bundle, outDir, warn, onStep: input.onStep });
    const listed = [...debList, bundle, ...documents].map((f) => ({ file: f.file, sha256: f.sha256 }));
    const checksumsPath = await writing(join(outDir, 'SHA256SUMS'), () => writeSha256Sums(outDir, listed));
    await writePackagedKeys(outDir, made);
    input.onStep?.(`wrote ${repacked.length} of ${debList.length + 1} files (${reused.length} unchanged, reused), ${documents.length} SBOMs and .buildinfo files, and SHA256SUMS in ${outDir}`);
    return { debs: debList, bundle, documents, checksumsPath, warnings, repacked: repacked.sort(), reused: reused.sort() };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * ctx.components for one definition: its own component and the siblings it declares. Looking up
 * any other component fails, so a definition cannot read what its key does not cover.
 */
function declaredOnly(all: ReadonlyMap<string, BuiltComponent>, self: string, siblings: readonly string[]): ReadonlyMap<string, BuiltComponent> {
  const allowed = new Map([...all].filter(([n]) => n === self || siblings.includes(n)));
  const check = (n: string) => {
    if (!allowed.has(n) && all.has(n)) throw new Error(`package definition ${self} reads component ${n}: declare it in its reads.siblings (it must be part of the .deb's key)`);
  };
  return new Proxy(allowed, {
    get(target, prop) {
      if (prop === 'get') return (n: string) => (check(n), target.get(n));
      if (prop === 'has') return (n: string) => (check(n), target.has(n));
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

// ---- Packaging what an earlier build left (for `crio-build package`) ------------------------------

/** artifacts/<branch>/<arch>/packages: where the stage writes by default. */
export function packagesDir(artifactsDir: string, branch: string, arch: Arch): string {
  return join(artifactsDir, branch, arch, 'packages');
}

/**
 * `crio-build package`: package what an earlier build left under artifacts/<branch>/<arch>/build,
 * into artifacts/<branch>/<arch>/packages.
 */
export async function packageBuiltOutputs(o: {
  artifactsDir: string;
  branch: { name: string; kubernetes: string; components: readonly string[] };
  arch: Arch;
  pauseImage?: string;
  /** What the build recorded of each component (artifacts/<branch>/<arch>/provenance/), by name. */
  provenance?: ReadonlyMap<string, BuildProvenance>;
  force?: boolean;
  onStep?: (message: string) => void;
}): Promise<PackageStageResult> {
  const components = await loadBuiltComponents({ artifactsDir: o.artifactsDir, branch: o.branch.name, arch: o.arch, components: o.branch.components });
  return packageAll({
    branch: o.branch.name,
    kubernetes: o.branch.kubernetes,
    arch: o.arch,
    components: components.map((c) => {
      const provenance = o.provenance?.get(c.name);
      return provenance ? { ...c, provenance } : c;
    }),
    outDir: packagesDir(o.artifactsDir, o.branch.name, o.arch),
    pauseImage: o.pauseImage,
    ...(o.force ? { force: true } : {}),
    onStep: o.onStep,
  });
}

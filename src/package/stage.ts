/**
 * The package stage: build outputs in, .debs + the bundle tarball + SHA256SUMS out.
 *
 *   packageAll(input)          the stage's one entry function (the pipeline calls it after build)
 *   loadBuiltComponents(...)   what `crio-build package` uses to find outputs already built under
 *                              artifacts/<branch>/<arch>/build/<component>/ (+ <component>.json)
 *
 * Every output is written under a temporary name and renamed into place; a failure leaves no
 * half-written file. The same inputs give byte-identical outputs (SOURCE_DATE_EPOCH = each
 * component's commit time).
 */
import { mkdir, mkdtemp, readFile, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CrioBuildError, ExitCode, HostNotReadyError } from '../errors.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { SUPPORTED_ARCHES, type Arch } from '../recipe/schema.js';
import { writeBundle, bundleInput } from './bundle.js';
import { writeSha256Sums } from './checksums.js';
import { writeDeb } from './deb/index.js';
import { DEFAULT_MAINTAINER } from './definitions/common.js';
import { prepareBinary, type PreparedBinary } from './definitions/elf.js';
import { definitionFor, DEFINITIONS } from './definitions/index.js';
import { writeArtifactDocuments, type PackagedDocument } from './documents.js';
import type { BuiltComponent, PackageContext } from './definitions/types.js';
import type { BuildProvenance } from './provenance.js';
import { checkPauseImage } from './files/crio-config.js';
import { bundleFileName, debFileName, debVersion } from './naming.js';

export type { BuiltComponent } from './definitions/types.js';
export type { BuildProvenance } from './provenance.js';
export type { PackagedDocument } from './documents.js';
export { checkPauseImage } from './files/crio-config.js';
export { DEFAULT_MAINTAINER } from './definitions/common.js';
export { computeShlibsDepends, shlibdepsCommand } from './shlibs.js';

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

async function packageChecked(input: PackageStageInput): Promise<PackageStageResult> {
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

  try {
    const order = [...DEFINITIONS.keys()].filter((n) => components.has(n));
    // allSettled: on a failure, wait for the other writers to finish or clean up before the
    // scratch directory (stripped binaries they may be reading) is removed.
    const settled = await Promise.allSettled(
      order.map(async (name): Promise<PackagedDeb> => {
        const def = definitionFor(name);
        const component = components.get(name) as BuiltComponent;
        const ctx: PackageContext = {
          branch: input.branch,
          kubernetes: input.kubernetes,
          arch: input.arch,
          maintainer: input.maintainer ?? DEFAULT_MAINTAINER,
          ...(input.pauseImage !== undefined ? { pauseImage: input.pauseImage } : {}),
          component,
          components,
          prepareBinary: prepare(name),
          warn,
        };
        const info = await writing(join(work, name), () => def.describe(ctx));
        const version = debVersion(component.version);
        const file = debFileName(def.debName, version, input.arch);
        input.onStep?.(`writing ${file}`);
        const r = await writing(join(outDir, file), () => writeDeb(info, join(outDir, file)));
        return { name: def.debName, version, component: name, file, path: r.path, sha256: r.sha256, size: r.size };
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const debs = settled.map((r) => (r as PromiseFulfilledResult<PackagedDeb>).value);

    const crio = components.get('cri-o') as BuiltComponent;
    const bundleFile = bundleFileName(input.arch, crio.version);
    input.onStep?.(`writing ${bundleFile}`);
    const b = await writing(join(outDir, bundleFile), async () =>
      writeBundle(
        await bundleInput({ arch: input.arch, kubernetes: input.kubernetes, components, ...(input.pauseImage !== undefined ? { pauseImage: input.pauseImage } : {}), prepareBinary: prepare('cri-o'), warn }),
        join(outDir, bundleFile),
      ),
    );
    const bundle: PackagedFile = { file: bundleFile, path: b.path, sha256: b.sha256, size: b.size };

    const documents = await writeArtifactDocuments({ arch: input.arch, maintainer: input.maintainer ?? DEFAULT_MAINTAINER, components: input.components, debs, bundle, outDir, warn, onStep: input.onStep });
    const checksumsPath = await writing(join(outDir, 'SHA256SUMS'), () => writeSha256Sums(outDir, [...debs, bundle, ...documents].map((f) => ({ file: f.file, sha256: f.sha256 }))));
    input.onStep?.(`wrote ${debs.length} packages, ${bundleFile}, ${documents.length} SBOMs and .buildinfo files, and SHA256SUMS in ${outDir}`);
    return { debs, bundle, documents, checksumsPath, warnings };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// ---- Finding build outputs (for `crio-build package`) -------------------------------------------

/** artifacts/<branch>/<arch>/build: one directory per component, plus <component>.json records. */
export function buildDir(artifactsDir: string, branch: string, arch: Arch): string {
  return join(artifactsDir, branch, arch, 'build');
}

/** artifacts/<branch>/<arch>/packages: where the stage writes by default. */
export function packagesDir(artifactsDir: string, branch: string, arch: Arch): string {
  return join(artifactsDir, branch, arch, 'packages');
}

/** What the build stage records beside each output directory: BuiltComponent without outDir. */
export type BuiltComponentRecord = Omit<BuiltComponent, 'outDir'>;

export function builtRecordPath(dir: string, component: string): string {
  return join(dir, `${component}.json`);
}

/** Writes the record `loadBuiltComponents` reads (for the build stage). */
export async function writeBuiltComponentRecord(dir: string, record: BuiltComponentRecord): Promise<string> {
  const path = builtRecordPath(dir, record.name);
  await writeJsonAtomic(path, record);
  return path;
}

/** `crio-build package` before a build: exit code 2 with the command to run first. */
export class BuildOutputsMissingError extends CrioBuildError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/**
 * The components built earlier for `branch`/`arch`: for each name, the directory
 * build/<component>/ and its record build/<component>.json.
 */
export async function loadBuiltComponents(o: { artifactsDir: string; branch: string; arch: Arch; components: readonly string[] }): Promise<BuiltComponent[]> {
  const dir = buildDir(o.artifactsDir, o.branch, o.arch);
  const out: BuiltComponent[] = [];
  for (const name of o.components) {
    const outDir = join(dir, name);
    const recordPath = builtRecordPath(dir, name);
    let text: string;
    try {
      if (!(await stat(outDir)).isDirectory()) throw new Error('not a directory');
      text = await readFile(recordPath, 'utf8');
    } catch {
      throw new BuildOutputsMissingError(`no build of ${name} for ${o.branch}/${o.arch}: expected ${outDir}/ and ${recordPath} (run \`crio-build ${o.branch} --arch ${o.arch}\` first)`);
    }
    let r: BuiltComponentRecord;
    try {
      r = JSON.parse(text) as BuiltComponentRecord;
    } catch (err) {
      throw new BuildOutputsMissingError(`${recordPath}: not JSON (${(err as Error).message})`);
    }
    const fields: Array<[keyof BuiltComponentRecord, string]> = [['name', 'string'], ['version', 'string'], ['commit', 'string'], ['commitTime', 'number'], ['arch', 'string'], ['shlibsDepends', 'string']];
    for (const [k, type] of fields) {
      if (typeof r[k] !== type) throw new BuildOutputsMissingError(`${recordPath}: field ${k} must be a ${type}`);
    }
    if (r.name !== name || r.arch !== o.arch) throw new BuildOutputsMissingError(`${recordPath}: records ${r.name}/${r.arch}, expected ${name}/${o.arch}`);
    out.push({ ...r, outDir });
  }
  return out;
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
    onStep: o.onStep,
  });
}

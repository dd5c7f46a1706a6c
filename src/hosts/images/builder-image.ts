/**
 * Builder images: builders/<name>/ (a Dockerfile and the scripts it copies) built on the base image
 * of the platform, with the Go toolchain archive from the cache sent in the build context.
 *
 * Two keys. The image's tag is a recipe key over everything that goes in (Dockerfile, scripts,
 * pins, toolchain sha256, base image id, platform, cross target), so an existing image is found and
 * reused as is. The builder's key, the one builds are keyed by, is made once, when the image exists,
 * from what is in it: the base's content digest, every installed Debian package and its version
 * (read back from the image with dpkg-query: an unpinned apt-get install gives whatever the mirror
 * has that day), the definition and the toolchain (src/plan/keys.ts, builderKey). It is recorded on
 * the image as labels (with the package list), so a reuse only inspects. Old images go with
 * `builders prune`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrioBuildError, ExitCode, InvalidInputError, SourceError } from '../../core/errors.js';
import { entriesDigest, sha256File, walkTree } from '../../core/hash.js';
import type { Arch } from '../../recipe/schema.js';
import { builderKey, definitionDigest } from '../../plan/keys.js';
import { ensureBaseImage, type BaseImageOptions } from './base-image.js';
import { withImageLock } from './image-lock.js';
import { nodeHostArch } from '../qemu.js';
import { buildContext, type ContextEntry } from './context.js';
import { removeContainer, startContainer } from '../containers.js';
import { LABEL_KEY, LABEL_KIND, LABEL_MANAGED, defaultRunId, labelsFor, type DockerDriver } from '../docker.js';
import type { OnBuilderEvent } from '../events.js';
import { execArgv } from '../exec.js';
import type { BuildJob, ToolchainInput } from '../../plan/build-job.js';

export const BUILDER_REPO_PREFIX = 'crio-build/builder-';
const L = {
  name: 'io.crio-build.builder',
  platform: 'io.crio-build.platform',
  cross: 'io.crio-build.cross-target',
  toolchain: 'io.crio-build.toolchain',
  toolchainSha: 'io.crio-build.toolchain-sha256',
  base: 'io.crio-build.base-id',
  /** The builder's key (its content), beside LABEL_KEY (the recipe key of its tag). */
  builderKey: 'io.crio-build.builder-key',
  baseDigest: 'io.crio-build.base-digest',
  definition: 'io.crio-build.definition',
  /** Every installed package, `name:arch version` a line, as dpkg-query read them from the image. */
  packages: 'io.crio-build.packages',
  pins: 'io.crio-build.pins',
  /** How the labels above are written; images with another (or none) are read again. */
  format: 'io.crio-build.content-format',
} as const;
const CONTENT_FORMAT = '1';

/** builders/ in the installed package (dist/src/hosts/images/ -> ../../../../builders). */
export const DEFAULT_BUILDERS_DIR = fileURLToPath(new URL('../../../../builders/', import.meta.url));

export interface BuilderSpec {
  /** Folder under builders/. */
  name: string;
  /** The arch the image's containers run as. */
  platform: Arch;
  /** Set for a cross builder: the arch it compiles for (differs from platform). */
  crossTarget?: Arch;
  /** Must run on `platform`. */
  toolchain: ToolchainInput;
}

/** Where a builder's content came from, for the release manifest. */
export interface BuilderProvenance {
  /** The builder's key (from its content). */
  key: string;
  /** The image it was read from: tag and id (ids differ between engines for equal content). */
  image: string;
  imageId: string;
  name: string;
  platform: Arch;
  crossTarget?: Arch;
  /** The base image: its id and its content digest. */
  base: { id: string; digest: string };
  /** The builder definition's digest (builders/<name>/ without pins/). */
  definition: string;
  /** The pins file it was made from (pins/<variant>.lock), if any. */
  pins?: string;
  /** Every installed Debian package, `name:arch version`, sorted. */
  packages: string[];
}

export interface BuilderImage {
  tag: string;
  id: string;
  /** The builder's key: from what is in the image (see BuilderProvenance). */
  key: string;
  /** The recipe key the image is tagged with. */
  recipeKey: string;
  platform: Arch;
  crossTarget?: Arch;
  provenance: BuilderProvenance;
  /** False when an existing image was reused. */
  built: boolean;
  seconds: number;
}

export interface BuilderImageOptions {
  buildersDir?: string;
  runId?: string;
  onEvent?: OnBuilderEvent;
  /** Passed to ensureBaseImage (mirror, deb cache, scratch dir). */
  base?: Omit<BaseImageOptions, 'arch' | 'runId' | 'onEvent'>;
}

/**
 * Which image a job builds in: `emulate` runs in a container of the target arch (under qemu when
 * foreign); `cross` runs in one of the host's arch that compiles for the target. A job for the
 * host's own arch is a native build either way, in a plain host-arch builder.
 */
export function builderSpecFor(job: Pick<BuildJob, 'arch' | 'strategy' | 'build' | 'toolchain'>, hostArch: Arch): BuilderSpec {
  const native = job.arch === hostArch;
  const platform = native || job.strategy === 'emulate' ? job.arch : hostArch;
  const spec: BuilderSpec = { name: job.build.builder, platform, toolchain: job.toolchain };
  if (!native && job.strategy === 'cross') spec.crossTarget = job.arch;
  return spec;
}

export function builderTag(name: string, key: string): string {
  return `${BUILDER_REPO_PREFIX}${name}:${key}`;
}

/** The variant of a builder image, as pins/ names its lock: `amd64`, `arm64`, `amd64-cross-arm64`. */
export function builderVariant(spec: Pick<BuilderSpec, 'platform' | 'crossTarget'>): string {
  return spec.crossTarget ? `${spec.platform}-cross-${spec.crossTarget}` : spec.platform;
}

/** builders/<name>/pins/<variant>.lock: the package set a builder is pinned to. */
export function pinsFile(buildersDir: string, spec: Pick<BuilderSpec, 'name' | 'platform' | 'crossTarget'>): string {
  return join(buildersDir, spec.name, 'pins', `${builderVariant(spec)}.lock`);
}

/** The `name:arch version` lines of a pins file (comments and blank lines left out), sorted. */
export function parsePins(text: string, file: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const l = line.replace(/#.*/, '').trim();
    if (!l) return;
    const m = /^([a-z0-9][a-z0-9+.-]*:[a-z0-9-]+)\s+([A-Za-z0-9.+~:-]+)$/.exec(l);
    if (!m) throw new InvalidInputError(`${file}:${i + 1}: ${JSON.stringify(l.slice(0, 80))} is not a pin (allowed: "name:arch version", as dpkg-query prints them)`);
    out.push(`${m[1]} ${m[2]}`);
  });
  return out.sort();
}

/** The text of a pins file for `packages` read from an image. */
export function renderPins(p: Pick<BuilderProvenance, 'name' | 'platform' | 'crossTarget' | 'image' | 'key' | 'packages'>, when: Date): string {
  return (
    `# crio-build pins: builder ${p.name}, variant ${builderVariant(p)}\n` +
    `# recorded from ${p.image} (builder key ${p.key}) on ${when.toISOString()}\n` +
    `# name:arch version (see README.md beside this file)\n` +
    p.packages.map((x) => `${x}\n`).join('')
  );
}

/** The regular files of a builder folder (what its build context carries), in walkTree's order; symlinks and special files are left out. */
export async function builderFiles(dir: string): Promise<{ rel: string; file: string; mode: number }[]> {
  return (await walkTree(dir)).flatMap((e) => (e.type === 'file' ? [{ rel: e.rel, file: e.file, mode: e.mode & 0o777 }] : []));
}

/**
 * The recipe key the image is tagged with: everything that goes into the image build (the
 * toolchain by its sha256, checked before it is sent; the base by its image id; the pins). Equal
 * recipe keys on one engine mean the same image; what is in it decides the builder's key.
 */
export function builderImageKey(spec: BuilderSpec, baseId: string, files: { rel: string; file: string; mode: number }[]): Promise<string> {
  const prefix =
    JSON.stringify({ v: 2, name: spec.name, platform: spec.platform, cross: spec.crossTarget ?? null, base: baseId }) +
    JSON.stringify({ toolchain: spec.toolchain.sha256, root: spec.toolchain.root });
  return entriesDigest(files.map((f) => ({ ...f, type: 'file' as const })), { layout: 'content+mode', prefix });
}

/**
 * Every installed Debian package of an image, `name:arch version` sorted, read by dpkg-query in a
 * throwaway container (networking off; under qemu for a foreign platform).
 */
export async function readImagePackages(driver: DockerDriver, image: string, platform: Arch, runId = defaultRunId): Promise<string[]> {
  const container = await startContainer(driver, {
    Image: image,
    platform: `linux/${platform}`,
    Cmd: ['/bin/sleep', 'infinity'],
    User: 'root',
    Labels: labelsFor('verify', runId, { 'io.crio-build.purpose': 'dpkg-query' }),
    HostConfig: { NetworkMode: 'none', Init: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
  });
  try {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const code = await execArgv(container, ['dpkg-query', '-W', '-f', '${db:Status-Abbrev}|${Package}:${Architecture}|${Version}\n'], {
      user: 'root',
      onStdout: (c) => out.push(c),
      onStderr: (c) => err.push(c),
      timeoutMs: 300_000,
    });
    if (code !== 0) throw new CrioBuildError(`dpkg-query in ${image} exited ${code}: ${Buffer.concat(err).toString('utf8').trim().slice(0, 400)}`, ExitCode.jobFailed);
    const packages = Buffer.concat(out)
      .toString('utf8')
      .split('\n')
      .flatMap((l) => {
        const m = /^ii \|([^|\s]+)\|(\S+)$/.exec(l);
        return m ? [`${m[1]} ${m[2]}`] : [];
      })
      .sort();
    if (packages.length === 0) throw new CrioBuildError(`dpkg-query in ${image} lists no installed package`, ExitCode.jobFailed);
    return packages;
  } finally {
    await removeContainer(container);
  }
}

/** A pinned builder's image must hold exactly the locked versions: what differs, one line each. */
export function pinDifferences(pins: readonly string[], packages: readonly string[]): string[] {
  const want = new Map(pins.map((p) => p.split(' ') as [string, string]));
  const have = new Map(packages.map((p) => p.split(' ') as [string, string]));
  const out: string[] = [];
  for (const [name, v] of want) {
    const got = have.get(name);
    if (got === undefined) out.push(`${name}: not installed (pinned ${v})`);
    else if (got !== v) out.push(`${name}: ${got} installed, pinned ${v}`);
  }
  for (const [name, v] of have) if (!want.has(name)) out.push(`${name}: ${v} installed, not in the pins`);
  return out.sort();
}

/** The provenance recorded on an image by ensureBuilderImage, or undefined when it has none. */
export function provenanceFromLabels(tag: string, info: { Id: string; Config?: { Labels?: Record<string, string> | null } }): BuilderProvenance | undefined {
  const l = info.Config?.Labels ?? {};
  const key = l[L.builderKey];
  const packages = l[L.packages];
  if (l[L.format] !== CONTENT_FORMAT || !key || !/^[0-9a-f]{64}$/.test(key) || !packages || !l[L.baseDigest] || !l[L.definition]) return undefined;
  return {
    key,
    image: tag,
    imageId: info.Id,
    name: l[L.name] ?? '?',
    platform: (l[L.platform] ?? '?') as Arch,
    ...(l[L.cross] ? { crossTarget: l[L.cross] as Arch } : {}),
    base: { id: l[L.base] ?? '', digest: l[L.baseDigest]! },
    definition: l[L.definition]!,
    ...(l[L.pins] ? { pins: l[L.pins] } : {}),
    packages: packages.split('\n').filter(Boolean),
  };
}

const inFlight = new WeakMap<DockerDriver, Map<string, Promise<BuilderImage>>>();

export async function ensureBuilderImage(driver: DockerDriver, spec: BuilderSpec, opts: BuilderImageOptions = {}): Promise<BuilderImage> {
  const started = Date.now();
  const say = (phase: string, message: string) => opts.onEvent?.({ scope: 'builder', phase, message });
  if (spec.toolchain.arch !== spec.platform) {
    throw new InvalidInputError(
      `toolchain ${spec.toolchain.name} is for ${spec.toolchain.arch}, but the ${spec.name} builder runs as ${spec.platform}`,
      'an emulated build needs the target arch toolchain, a cross build the host arch toolchain',
    );
  }
  const buildersDir = opts.buildersDir ?? DEFAULT_BUILDERS_DIR;
  const dir = join(buildersDir, spec.name);
  const files = await builderFiles(dir).catch(() => []);
  if (!files.some((f) => f.rel === 'Dockerfile')) {
    throw new InvalidInputError(`builder ${spec.name} has no Dockerfile in ${dir}`);
  }
  const pinsPath = pinsFile(buildersDir, spec);
  const pins = existsSync(pinsPath) ? parsePins(await readFile(pinsPath, 'utf8'), pinsPath) : undefined;

  const base = await ensureBaseImage(driver, { ...opts.base, arch: spec.platform, runId: opts.runId, onEvent: opts.onEvent });

  const recipeKey = await builderImageKey(spec, base.id, files);
  const tag = builderTag(spec.name, recipeKey);
  const context = { driver, spec, tag, recipeKey, dir, base, pins, pinsPath, opts, started };

  const existing = await driver.inspectImage(tag);
  if (existing) return reuse(context, existing);
  let flights = inFlight.get(driver);
  if (!flights) inFlight.set(driver, (flights = new Map()));
  const pending = flights.get(recipeKey);
  if (pending) return pending;
  const work = withImageLock(recipeKey, () => say('wait', `another process is building builder ${recipeKey.slice(0, 12)}; waiting for it`), async (): Promise<BuilderImage> => {
    // Whoever held the lock may have built it meanwhile.
    const now = await driver.inspectImage(tag);
    if (now) return reuse(context, now);
    const actual = await sha256File(spec.toolchain.tarball).catch((err: Error) => {
      throw new SourceError(`toolchain archive ${spec.toolchain.tarball} cannot be read: ${err.message}`);
    });
    if (actual !== spec.toolchain.sha256) {
      throw new SourceError(`toolchain archive ${spec.toolchain.tarball} has sha256 ${actual}, expected ${spec.toolchain.sha256}`, 'remove it from the cache so it is fetched again');
    }
    const entries: ContextEntry[] = files.map((f) => ({ name: f.rel, file: f.file, mode: f.mode }));
    entries.push({ name: 'toolchain.tar', file: spec.toolchain.tarball });
    const slow = spec.platform !== nodeHostArch() ? ' (apt-get and the Go standard library under qemu: many minutes, once)' : ' (a few minutes, once)';
    say('build', `building builder ${spec.name} for ${describe(spec)} from ${base.tag} with ${spec.toolchain.name}${pins ? `, pinned to ${relative(buildersDir, pinsPath)}` : ''}${slow}`);
    const id = await driver
      .buildImage(
        buildContext(entries),
        {
          t: tag,
          platform: `linux/${spec.platform}`,
          buildargs: { BASE: base.tag, CROSS_ARCH: spec.crossTarget ?? '', TOOLCHAIN_ROOT: spec.toolchain.root },
          labels: labelsFor('builder', opts.runId ?? defaultRunId, {
            [LABEL_KEY]: recipeKey,
            [L.name]: spec.name,
            [L.platform]: spec.platform,
            [L.cross]: spec.crossTarget ?? '',
            [L.toolchain]: spec.toolchain.name,
            [L.toolchainSha]: spec.toolchain.sha256,
            [L.base]: base.id,
          }),
        },
        (l) => say('build', l),
      )
      .catch((err: Error) => {
        const missing = /crio-build: pinned versions the Debian mirror no longer has \(([^)]*)\):\n((?:  .*\n?)+)/.exec(err.message);
        if (missing) {
          throw new SourceError(
            `builder ${spec.name} for ${describe(spec)} is pinned to ${relative(buildersDir, pinsPath)}, but the Debian mirror no longer has:\n${missing[2]!.trimEnd()}`,
            'deb.debian.org keeps only the current versions of each suite (snapshot.debian.org keeps all, where it can be reached): record new pins from a builder made now (`crio-build builders pin`), or remove the pins file',
          );
        }
        throw new CrioBuildError(
          `building the ${spec.name} builder for ${describe(spec)} failed: ${err.message}`,
          ExitCode.jobFailed,
          `the Dockerfile is builders/${spec.name}/Dockerfile; its apt-get steps need the engine to reach the Debian mirror`,
        );
      });
    const info = await driver.inspectImage(id);
    if (info?.Architecture !== spec.platform) throw new Error(`builder ${tag} records architecture ${info?.Architecture}, expected ${spec.platform}`);
    const made = await recordContent(context, id, true);
    say('done', `builder ${spec.name} for ${describe(spec)} ready: ${tag.slice(0, BUILDER_REPO_PREFIX.length + spec.name.length + 13)} (${(info.Size / 1e6).toFixed(0)} MB), key ${made.key.slice(0, 12)}, ${made.provenance.packages.length} Debian packages`);
    return made;
  });
  flights.set(recipeKey, work);
  try {
    return await work;
  } finally {
    flights.delete(recipeKey);
  }
}

interface EnsureContext {
  driver: DockerDriver;
  spec: BuilderSpec;
  tag: string;
  recipeKey: string;
  dir: string;
  base: { tag: string; id: string; digest: string };
  pins: string[] | undefined;
  pinsPath: string;
  opts: BuilderImageOptions;
  started: number;
}

async function reuse(ctx: EnsureContext, info: Awaited<ReturnType<DockerDriver['inspectImage']>> & object): Promise<BuilderImage> {
  const { spec } = ctx;
  const recorded = provenanceFromLabels(ctx.tag, info);
  // An image made before builder keys were recorded on it: read its packages now and record them.
  const image = recorded ? await fromProvenance(ctx, recorded, false) : await recordContent(ctx, info.Id, false);
  ctx.opts.onEvent?.({ scope: 'builder', phase: 'reuse', message: `builder ${spec.name} for ${describe(spec)} present (${ctx.recipeKey.slice(0, 12)}), key ${image.key.slice(0, 12)}` });
  return image;
}

async function fromProvenance(ctx: EnsureContext, p: BuilderProvenance, built: boolean): Promise<BuilderImage> {
  return { tag: ctx.tag, id: p.imageId, key: p.key, recipeKey: ctx.recipeKey, platform: ctx.spec.platform, crossTarget: ctx.spec.crossTarget, provenance: p, built, seconds: (Date.now() - ctx.started) / 1000 };
}

/**
 * Read what is in the image (dpkg-query), check it against its pins, make the builder's key and
 * record it on the image: a label-only build on top, tagged in its place.
 */
async function recordContent(ctx: EnsureContext, id: string, built: boolean): Promise<BuilderImage> {
  const { driver, spec } = ctx;
  const say = (phase: string, message: string) => ctx.opts.onEvent?.({ scope: 'builder', phase, message });
  say('content', `reading the installed Debian packages of builder ${spec.name} for ${describe(spec)} (dpkg-query)`);
  const packages = await readImagePackages(driver, id, spec.platform, ctx.opts.runId);
  if (ctx.pins) {
    const diff = pinDifferences(ctx.pins, packages);
    if (diff.length > 0) {
      if (built) await driver.removeImage(ctx.tag).catch(() => undefined);
      throw new CrioBuildError(
        `builder ${spec.name} for ${describe(spec)} does not hold the versions of ${ctx.pinsPath} (${diff.length} difference(s)):\n${diff.slice(0, 40).map((d) => `  ${d}`).join('\n')}`,
        ExitCode.jobFailed,
        'record the pins again from a builder image (`crio-build builders pin`), or remove the pins file',
      );
    }
  }
  const definition = await definitionDigest(ctx.dir);
  const key = builderKey({
    definition,
    platform: spec.platform,
    crossTarget: spec.crossTarget ?? null,
    toolchain: { sha256: spec.toolchain.sha256, root: spec.toolchain.root },
    base: ctx.base.digest,
    packages,
  });
  const pinsRef = ctx.pins ? `pins/${builderVariant(spec)}.lock` : '';
  const labels: Record<string, string> = {
    [L.builderKey]: key,
    [L.baseDigest]: ctx.base.digest,
    [L.definition]: definition,
    [L.packages]: packages.join('\n'),
    [L.pins]: pinsRef,
    [L.format]: CONTENT_FORMAT,
    // Kept from the image below (a label-only build inherits them), restated for clarity.
    [LABEL_KEY]: ctx.recipeKey,
  };
  const labelled = await driver.buildImage(buildContext([{ name: 'Dockerfile', content: `FROM ${id}\n` }]), { t: ctx.tag, platform: `linux/${spec.platform}`, labels });
  const provenance: BuilderProvenance = {
    key,
    image: ctx.tag,
    imageId: labelled,
    name: spec.name,
    platform: spec.platform,
    ...(spec.crossTarget ? { crossTarget: spec.crossTarget } : {}),
    base: { id: ctx.base.id, digest: ctx.base.digest },
    definition,
    ...(pinsRef ? { pins: pinsRef } : {}),
    packages,
  };
  return fromProvenance(ctx, provenance, built);
}

function describe(spec: Pick<BuilderSpec, 'platform' | 'crossTarget'>): string {
  return spec.crossTarget ? `${spec.platform} -> ${spec.crossTarget} (cross)` : `linux/${spec.platform}`;
}

export interface BuilderInfo {
  tag: string;
  id: string;
  name: string;
  platform: string;
  crossTarget?: string;
  toolchain: string;
  /** The builder's key (from its content); empty for an image made before keys were recorded. */
  key: string;
  /** The recipe key it is tagged with. */
  recipeKey: string;
  /** Installed Debian packages recorded on the image (0 when not recorded). */
  packages: number;
  /** The pins file it was made from, if any. */
  pins?: string;
  sizeBytes: number;
  created: Date;
}

/** Builder images this tool made (for `crio-build builders list`). */
export async function listBuilders(driver: DockerDriver): Promise<BuilderInfo[]> {
  const images = await driver.listImages({ [LABEL_MANAGED]: 'true', [LABEL_KIND]: 'builder' });
  return images
    .map((i) => ({
      tag: i.tags[0] ?? i.id,
      id: i.id,
      name: i.labels[L.name] ?? '?',
      platform: i.labels[L.platform] ?? '?',
      crossTarget: i.labels[L.cross] || undefined,
      toolchain: i.labels[L.toolchain] ?? '?',
      key: i.labels[L.builderKey] ?? '',
      recipeKey: i.labels[LABEL_KEY] ?? '',
      packages: (i.labels[L.packages] ?? '').split('\n').filter(Boolean).length,
      ...(i.labels[L.pins] ? { pins: i.labels[L.pins] } : {}),
      sizeBytes: i.size,
      created: new Date(i.created * 1000),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.platform.localeCompare(b.platform) || b.created.getTime() - a.created.getTime());
}

export interface PruneOptions {
  /** Content keys or image ids to keep (e.g. the builders the current recipes need). */
  keep?: string[];
  /** Also remove the base images (they take minutes to make again). */
  includeBase?: boolean;
}

/**
 * Remove builder images (all but `keep`), and base images when asked (`crio-build builders prune`).
 * `bytes` adds up the engine's image sizes, which count shared base layers once per image.
 */
export async function pruneBuilders(driver: DockerDriver, opts: PruneOptions = {}): Promise<{ removed: string[]; skipped: string[]; bytes: number }> {
  const keep = new Set(opts.keep ?? []);
  const removed: string[] = [];
  const skipped: string[] = [];
  let bytes = 0;
  const kinds = opts.includeBase ? ['builder', 'base'] : ['builder'];
  for (const kind of kinds) {
    for (const img of await driver.listImages({ [LABEL_MANAGED]: 'true', [LABEL_KIND]: kind })) {
      if (keep.has(img.id) || keep.has(img.labels[LABEL_KEY] ?? '') || keep.has(img.labels[L.builderKey] ?? '')) continue;
      const name = img.tags[0] ?? img.id;
      try {
        await driver.removeImage(img.id);
      } catch (err) {
        // 409: a container (a build in progress, or one left by a killed run) still uses it.
        if ((err as { statusCode?: number }).statusCode !== 409) throw err;
        skipped.push(name);
        continue;
      }
      removed.push(name);
      bytes += img.size;
    }
  }
  // Step images of interrupted or failed builds (untagged, carrying our inherited labels).
  await driver.pruneDangling();
  return { removed, skipped, bytes };
}

/** A pinned version the mirror cannot provide, with the versions it can. */
export interface UnavailablePin {
  pin: string;
  available: string[];
}

/**
 * Can builder `spec`'s pins still be installed? In a throwaway container of its base image (with
 * networking, for apt-get update from the builder's suites: builders/<name>/apt-sources.list, and the
 * target's architecture for a cross builder), each pinned version is looked up with apt-cache
 * madison; one the base image already holds at that version counts as available. Nothing is built.
 */
export async function checkPins(driver: DockerDriver, spec: Pick<BuilderSpec, 'name' | 'platform' | 'crossTarget'>, pins: readonly string[], opts: { buildersDir?: string; baseTag: string; runId?: string }): Promise<UnavailablePin[]> {
  const dir = join(opts.buildersDir ?? DEFAULT_BUILDERS_DIR, spec.name);
  const sources = await readFile(join(dir, 'apt-sources.list'), 'utf8').catch(() => '');
  const container = await startContainer(driver, {
    Image: opts.baseTag,
    platform: `linux/${spec.platform}`,
    Cmd: ['/bin/sleep', 'infinity'],
    User: 'root',
    Env: ['DEBIAN_FRONTEND=noninteractive', `CRIO_BUILD_SOURCES=${sources}`, `CRIO_BUILD_CROSS=${spec.crossTarget ?? ''}`],
    Labels: labelsFor('verify', opts.runId ?? defaultRunId, { 'io.crio-build.purpose': 'check-pins' }),
    HostConfig: { Init: true },
  });
  try {
    const run = async (argv: string[]) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const code = await execArgv(container, argv, { user: 'root', onStdout: (c) => out.push(c), onStderr: (c) => err.push(c), timeoutMs: 600_000 });
      return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
    };
    const prep = await run(['/bin/sh', '-c', 'printf "%s\\n" "$CRIO_BUILD_SOURCES" > /etc/apt/sources.list.d/crio-build.list && { [ -z "$CRIO_BUILD_CROSS" ] || dpkg --add-architecture "$CRIO_BUILD_CROSS"; } && apt-get update -qq -o Acquire::Retries=3']);
    if (prep.code !== 0) throw new SourceError(`apt-get update for the ${spec.name} builder's suites failed (exit ${prep.code}): ${prep.stderr.trim().split('\n').slice(-5).join('\n')}`, 'the engine must reach the Debian mirror');
    const installed = (await run(['dpkg-query', '-W', '-f', '${Package}:${Architecture} ${Version}\n'])).stdout.split('\n').filter(Boolean);
    const names = [...new Set(pins.map((p) => p.split(' ')[0]!))];
    const available = new Map<string, Set<string>>();
    // madison names a package without its arch; the last column says which.
    for (let i = 0; i < names.length; i += 200) {
      const r = await run(['apt-cache', 'madison', ...names.slice(i, i + 200)]);
      for (const line of r.stdout.split('\n')) {
        const [pkg, version, where] = line.split('|').map((x) => x.trim());
        const arch = /\s(\S+) Packages$/.exec(where ?? '')?.[1];
        if (!pkg || !version || !arch) continue;
        const name = `${pkg}:${arch}`;
        if (!available.has(name)) available.set(name, new Set());
        available.get(name)!.add(version);
      }
    }
    const out: UnavailablePin[] = [];
    for (const p of pins) {
      const [name, version] = p.split(' ') as [string, string];
      if (installed.includes(p)) continue;
      const all = available.get(name) ?? available.get(name.replace(/:all$/, `:${spec.platform}`));
      if (!all?.has(version)) out.push({ pin: p, available: [...(all ?? [])].sort() });
    }
    return out;
  } finally {
    await removeContainer(container);
  }
}

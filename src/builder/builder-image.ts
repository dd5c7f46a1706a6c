/**
 * Builder images: builders/<name>/ (a Dockerfile and the scripts it copies) built on the base image
 * of the platform, with the Go toolchain archive from the cache sent in the build context.
 * The tag is a content key over everything that goes in (Dockerfile, scripts, toolchain sha256,
 * base image id, platform, cross target), so an existing image is reused as is and a change to any
 * input makes a new one. Old ones go with `builders prune`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrioBuildError, ExitCode, InvalidInputError, SourceError } from '../errors.js';
import type { Arch } from '../recipe/schema.js';
import { ensureBaseImage, type BaseImageOptions } from './base-image.js';
import { withImageLock } from './image-lock.js';
import { nodeHostArch } from './qemu.js';
import { buildContext, type ContextEntry } from './context.js';
import { LABEL_KEY, LABEL_KIND, LABEL_MANAGED, defaultRunId, labelsFor, type DockerDriver } from './docker.js';
import type { OnBuilderEvent } from './events.js';
import type { BuildJob, ToolchainInput } from './types.js';

export const BUILDER_REPO_PREFIX = 'crio-build/builder-';
const L = {
  name: 'io.crio-build.builder',
  platform: 'io.crio-build.platform',
  cross: 'io.crio-build.cross-target',
  toolchain: 'io.crio-build.toolchain',
  toolchainSha: 'io.crio-build.toolchain-sha256',
  base: 'io.crio-build.base-id',
} as const;

/** builders/ in the installed package (dist/src/builder/ -> ../../../builders). */
export const DEFAULT_BUILDERS_DIR = fileURLToPath(new URL('../../../builders/', import.meta.url));

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

export interface BuilderImage {
  tag: string;
  id: string;
  key: string;
  platform: Arch;
  crossTarget?: Arch;
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

export async function builderFiles(dir: string): Promise<{ rel: string; file: string; mode: number }[]> {
  const out: { rel: string; file: string; mode: number }[] = [];
  const walk = async (d: string) => {
    for (const ent of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) out.push({ rel: relative(dir, p), file: p, mode: (await stat(p)).mode & 0o777 });
    }
  };
  await walk(dir);
  return out;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The content key: everything that decides what is in the image. The toolchain enters by its
 * sha256 (the archive is checked against it before it is sent), the base by its image id.
 */
export async function builderImageKey(spec: BuilderSpec, baseId: string, files: { rel: string; file: string; mode: number }[]): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, name: spec.name, platform: spec.platform, cross: spec.crossTarget ?? null, base: baseId }));
  h.update(JSON.stringify({ toolchain: spec.toolchain.sha256, root: spec.toolchain.root }));
  for (const f of files) h.update(`\0${f.rel}\0${f.mode}\0`).update(await readFile(f.file));
  return h.digest('hex');
}

const inFlight = new Map<string, Promise<BuilderImage>>();

export async function ensureBuilderImage(driver: DockerDriver, spec: BuilderSpec, opts: BuilderImageOptions = {}): Promise<BuilderImage> {
  const started = Date.now();
  const say = (phase: string, message: string) => opts.onEvent?.({ scope: 'builder', phase, message });
  if (spec.toolchain.arch !== spec.platform) {
    throw new InvalidInputError(
      `toolchain ${spec.toolchain.name} is for ${spec.toolchain.arch}, but the ${spec.name} builder runs as ${spec.platform}`,
      'an emulated build needs the target arch toolchain, a cross build the host arch toolchain',
    );
  }
  const dir = join(opts.buildersDir ?? DEFAULT_BUILDERS_DIR, spec.name);
  const files = await builderFiles(dir).catch(() => []);
  if (!files.some((f) => f.rel === 'Dockerfile')) {
    throw new InvalidInputError(`builder ${spec.name} has no Dockerfile in ${dir}`);
  }

  const base = await ensureBaseImage(driver, { ...opts.base, arch: spec.platform, runId: opts.runId, onEvent: opts.onEvent });

  const key = await builderImageKey(spec, base.id, files);
  const tag = builderTag(spec.name, key);

  const existing = await driver.inspectImage(tag);
  if (existing) {
    say('reuse', `builder ${spec.name} for ${describe(spec)} present (${key.slice(0, 12)})`);
    return { tag, id: existing.Id, key, platform: spec.platform, crossTarget: spec.crossTarget, built: false, seconds: (Date.now() - started) / 1000 };
  }
  const pending = inFlight.get(key);
  if (pending) return pending;
  const work = withImageLock(key, () => say('wait', `another process is building builder ${key.slice(0, 12)}; waiting for it`), async (): Promise<BuilderImage> => {
    // Whoever held the lock may have built it meanwhile.
    const now = await driver.inspectImage(tag);
    if (now) {
      say('reuse', `builder ${spec.name} for ${describe(spec)} present (${key.slice(0, 12)})`);
      return { tag, id: now.Id, key, platform: spec.platform, crossTarget: spec.crossTarget, built: false, seconds: (Date.now() - started) / 1000 };
    }
    const actual = await sha256File(spec.toolchain.tarball).catch((err: Error) => {
      throw new SourceError(`toolchain archive ${spec.toolchain.tarball} cannot be read: ${err.message}`);
    });
    if (actual !== spec.toolchain.sha256) {
      throw new SourceError(`toolchain archive ${spec.toolchain.tarball} has sha256 ${actual}, expected ${spec.toolchain.sha256}`, 'remove it from the cache so it is fetched again');
    }
    const entries: ContextEntry[] = files.map((f) => ({ name: f.rel, file: f.file, mode: f.mode }));
    entries.push({ name: 'toolchain.tar', file: spec.toolchain.tarball });
    const slow = spec.platform !== nodeHostArch() ? ' (apt-get and the Go standard library under qemu: many minutes, once)' : ' (a few minutes, once)';
    say('build', `building builder ${spec.name} for ${describe(spec)} from ${base.tag} with ${spec.toolchain.name}${slow}`);
    const id = await driver
      .buildImage(
        buildContext(entries),
        {
          t: tag,
          platform: `linux/${spec.platform}`,
          buildargs: { BASE: base.tag, CROSS_ARCH: spec.crossTarget ?? '', TOOLCHAIN_ROOT: spec.toolchain.root },
          labels: labelsFor('builder', opts.runId ?? defaultRunId, {
            [LABEL_KEY]: key,
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
        throw new CrioBuildError(
          `building the ${spec.name} builder for ${describe(spec)} failed: ${err.message}`,
          ExitCode.jobFailed,
          `the Dockerfile is builders/${spec.name}/Dockerfile; its apt-get steps need the engine to reach the Debian mirror`,
        );
      });
    const info = await driver.inspectImage(id);
    if (info?.Architecture !== spec.platform) throw new Error(`builder ${tag} records architecture ${info?.Architecture}, expected ${spec.platform}`);
    say('done', `builder ${spec.name} for ${describe(spec)} ready: ${tag.slice(0, BUILDER_REPO_PREFIX.length + spec.name.length + 13)} (${(info.Size / 1e6).toFixed(0)} MB)`);
    return { tag, id, key, platform: spec.platform, crossTarget: spec.crossTarget, built: true, seconds: (Date.now() - started) / 1000 };
  });
  inFlight.set(key, work);
  try {
    return await work;
  } finally {
    inFlight.delete(key);
  }
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
  key: string;
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
      key: i.labels[LABEL_KEY] ?? '',
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
      if (keep.has(img.id) || keep.has(img.labels[LABEL_KEY] ?? '')) continue;
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

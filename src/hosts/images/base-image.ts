/**
 * Base images: a plain Debian bookworm root for each arch, `crio-build/base:bookworm-<arch>`.
 * With a registry, it is `debian:bookworm` pulled for the platform. Without one (the usual case on
 * the build machines), it is made with debootstrap, tarred deterministically and built `FROM scratch`
 * with `docker build --platform`, which records the right Architecture (`docker import` records the
 * engine's arch, so it is not used). The image carries its content key as a label and is reused.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostNotReadyError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { Arch } from '../../recipe/schema.js';
import { buildContext } from './context.js';
import { LABEL_KEY, LABEL_KIND, labelsFor, defaultRunId, type DockerDriver } from '../docker.js';
import type { OnBuilderEvent } from '../events.js';
import { run } from '../../core/run.js';
import { withImageLock } from './image-lock.js';
import { checkBinfmt } from '../qemu.js';

export const BASE_REPO = 'crio-build/base';
export const BASE_SUITE = 'bookworm';
const LABEL_BASE = 'io.crio-build.base';
/** Bump when the way the root is made changes, so old images are not reused. */
const RECIPE_VERSION = '1';

export interface BaseImageOptions {
  arch: Arch;
  /** 'auto' tries a registry pull briefly, then debootstraps. */
  source?: 'auto' | 'pull' | 'debootstrap';
  /** Debian mirror for debootstrap; debootstrap's default when absent. */
  mirror?: string;
  /** Where downloaded .debs are kept between runs (debootstrap --cache-dir). */
  debCacheDir?: string;
  /** Scratch space for the root tree (a few hundred MB); a temp dir when absent. */
  workDir?: string;
  runId?: string;
  onEvent?: OnBuilderEvent;
}

export interface BaseImage {
  tag: string;
  id: string;
  /** The content of its root filesystem: the digest of its layers (see baseDigestOf). */
  digest: string;
  arch: Arch;
  key: string;
  source: 'pull' | 'debootstrap' | 'cache';
  seconds: number;
}

/**
 * What a base image holds, as one digest: sha256 over its layers' diff ids (the digests of their
 * uncompressed content). The image id is not used: it covers the image's config, whose creation
 * date differs for every image made, even of the same root. A debootstrapped root is packed so that
 * the same packages give the same bytes (see fromDebootstrap), so equal roots give equal digests on
 * any engine.
 */
export function baseDigestOf(info: { RootFS?: { Layers?: string[] } }): string {
  const layers = info.RootFS?.Layers ?? [];
  if (layers.length === 0) throw new Error('the base image lists no layers');
  return `sha256:${sha256Hex(layers.join('\n'))}`;
}

export function baseImageTag(arch: Arch): string {
  return `${BASE_REPO}:${BASE_SUITE}-${arch}`;
}

/**
 * The base image's key (its LABEL_KEY): how it is made and from which suite for which arch. The
 * mirror is where the packages come from, not what they are, so it stays out ('default' for every
 * mirror). Not a contentKey: it leaves crio-build's version out (RECIPE_VERSION decides when a new
 * version remakes the bases), so a new release of the tool does not debootstrap again.
 */
function baseImageKey(arch: Arch, how: 'pull' | 'debootstrap'): string {
  return sha256Hex(JSON.stringify({ v: RECIPE_VERSION, suite: BASE_SUITE, arch, how, variant: 'minbase', mirror: 'default' }));
}

/** The base image for `arch`, made if no image with a base label for that arch exists. */
export async function ensureBaseImage(driver: DockerDriver, opts: BaseImageOptions): Promise<BaseImage> {
  const started = Date.now();
  const say = (phase: string, message: string) => opts.onEvent?.({ scope: 'base', phase, message });
  const tag = baseImageTag(opts.arch);

  const reuse = async (): Promise<BaseImage | undefined> => {
    // The tag, if it is an image we made as a base for this arch. Labels alone are not enough:
    // every image built FROM the base (and every intermediate step image) inherits them.
    const img = await driver.inspectImage(tag);
    const labels = img?.Config?.Labels ?? {};
    if (!img || labels[LABEL_KIND] !== 'base' || labels[LABEL_BASE] !== `${BASE_SUITE}-${opts.arch}` || img.Architecture !== opts.arch) return undefined;
    // Made the way this version makes them (pulled or debootstrapped): a RECIPE_VERSION bump remakes it.
    const key = labels[LABEL_KEY];
    if (key !== baseImageKey(opts.arch, 'debootstrap') && key !== baseImageKey(opts.arch, 'pull')) return undefined;
    say('reuse', `base image ${tag} present (${img.Id.slice(7, 19)})`);
    return { tag, id: img.Id, digest: baseDigestOf(img), arch: opts.arch, key, source: 'cache', seconds: (Date.now() - started) / 1000 };
  };
  const present = await reuse();
  if (present) return present;
  // One maker per arch at a time across processes; a waiter then finds the image made.
  return withImageLock(`base-${BASE_SUITE}-${opts.arch}`, () => say('wait', `another process is making ${tag}; waiting for it`), async () => {
    return (await reuse()) ?? makeBase(driver, opts, tag, started);
  });
}

async function makeBase(driver: DockerDriver, opts: BaseImageOptions, tag: string, started: number): Promise<BaseImage> {
  const say = (phase: string, message: string) => opts.onEvent?.({ scope: 'base', phase, message });
  const source = opts.source ?? 'auto';
  if (source !== 'debootstrap') {
    try {
      return await fromRegistry(driver, opts, tag, started);
    } catch (err) {
      if (source === 'pull') throw err;
      say('pull', `no registry (${(err as Error).message.split('\n')[0]}); making ${tag} with debootstrap instead`);
    }
  }
  return fromDebootstrap(driver, opts, tag, started);
}

async function fromRegistry(driver: DockerDriver, opts: BaseImageOptions, tag: string, started: number): Promise<BaseImage> {
  const platform = `linux/${opts.arch}`;
  opts.onEvent?.({ scope: 'base', phase: 'pull', message: `pulling debian:${BASE_SUITE} for ${platform}` });
  await driver.pull(`debian:${BASE_SUITE}`, platform, 20_000, (l) => opts.onEvent?.({ scope: 'base', phase: 'pull', message: l }));
  const key = baseImageKey(opts.arch, 'pull');
  return labelAndVerify(driver, opts, tag, key, `FROM debian:${BASE_SUITE}\n`, [], 'pull', started);
}

async function fromDebootstrap(driver: DockerDriver, opts: BaseImageOptions, tag: string, started: number): Promise<BaseImage> {
  const say = (phase: string, message: string) => opts.onEvent?.({ scope: 'base', phase, message });
  if (process.getuid?.() !== 0) {
    throw new HostNotReadyError('making a base image with debootstrap needs root', 'run `crio-build builders bootstrap` as root once (or with sudo)');
  }
  const probe = await run('debootstrap', ['--version'], { check: false }).catch(() => ({ code: 127 }));
  if (probe.code !== 0) throw new HostNotReadyError('debootstrap is not installed', '`apt-get install debootstrap`');
  // A foreign-arch debootstrap runs the second stage through qemu in a chroot.
  await checkBinfmt(opts.arch);

  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), `crio-build-base-${opts.arch}-`));
  try {
    const root = join(work, 'root');
    const args = [`--arch=${opts.arch}`, '--variant=minbase'];
    if (opts.debCacheDir) {
      // debootstrap refuses a --cache-dir that does not exist yet ("No such directory"): a fresh cache has none.
      await mkdir(opts.debCacheDir, { recursive: true });
      args.push(`--cache-dir=${opts.debCacheDir}`);
    }
    args.push(BASE_SUITE, root);
    if (opts.mirror) args.push(opts.mirror);
    say('debootstrap', `debootstrap ${args.join(' ')} (a few minutes for a foreign arch)`);
    const boot = await run('debootstrap', args, { onLine: (l) => say('debootstrap', l), check: false });
    if (boot.code !== 0) {
      throw new HostNotReadyError(`debootstrap for ${opts.arch} failed (exit ${boot.code}):\n${boot.tail.slice(-40).join('\n')}`, 'check the Debian mirror is reachable and the disk has space');
    }

    // Deterministic tar: sorted names, numeric owners, one mtime; no device nodes (the engine
    // provides /dev), no kernel filesystems, no apt caches; the files debootstrap writes with the
    // day or the machine in them made the same everywhere (normalizeRoot). The same packages then
    // give the same bytes on any machine, and so the same base digest.
    const epoch = (await packagesEpoch(root)) ?? (await releaseEpoch(root));
    await normalizeRoot(root, epoch);
    const rootfs = join(work, 'rootfs.tar');
    say('tar', `packing the root (mtime ${epoch}) into ${rootfs}`);
    await run('tar', [
      '--sort=name', '--numeric-owner', `--mtime=@${epoch}`, '--clamp-mtime',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./run/*',
      '--exclude=./var/cache/apt/archives/*.deb', '--exclude=./var/cache/apt/*.bin', '--exclude=./var/lib/apt/lists/*', '--exclude=./debootstrap',
      '--exclude=./var/cache/debconf/*-old', '--exclude=./var/lib/dpkg/*-old', '--exclude=./var/cache/ldconfig/aux-cache',
      '-C', root, '-cf', rootfs, '.',
    ]).catch((err: Error) => {
      throw new Error(`tar of the ${opts.arch} root failed: ${err.message}`, { cause: err });
    });
    say('tar', `root is ${((await stat(rootfs)).size / 1e6).toFixed(0)} MB`);

    const key = baseImageKey(opts.arch, 'debootstrap');
    const dockerfile = 'FROM scratch\nADD rootfs.tar /\nCMD ["/bin/bash"]\n';
    return await labelAndVerify(driver, opts, tag, key, dockerfile, [{ name: 'rootfs.tar', file: rootfs }], 'debootstrap', started);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The newest mtime of the files the packages ship (their documentation: set from the .debs, so the
 * same package versions give the same time): every file debootstrap wrote later is clamped to it.
 * Unlike the Release file's Date (which changes with every mirror push), it changes only with the
 * packages.
 */
async function packagesEpoch(root: string): Promise<number | undefined> {
  let newest = 0;
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) newest = Math.max(newest, Math.floor((await lstat(p)).mtimeMs / 1000));
    }
  };
  await walk(join(root, 'usr/share/doc'));
  return newest > 0 ? newest : undefined;
}

/**
 * Make what debootstrap writes from the day and the machine the same everywhere: its logs (emptied,
 * kept as files), the shadow files' "last changed" day (the epoch's), and the host's hostname and
 * resolv.conf it copies in (which the engine replaces in every container anyway).
 */
async function normalizeRoot(root: string, epoch: number): Promise<void> {
  const logs = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await logs(p);
      else if (e.isFile()) await truncate(p, 0);
    }
  };
  await logs(join(root, 'var/log'));
  const day = String(Math.floor(epoch / 86400));
  for (const f of ['etc/shadow', 'etc/shadow-']) {
    const path = join(root, f);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const st = await stat(path);
    await writeFile(path, text.replace(/^([^:\n]*:[^:\n]*:)\d+:/gm, `$1${day}:`), { mode: st.mode & 0o7777 });
    await utimes(path, epoch, epoch);
  }
  for (const [f, content] of [['etc/hostname', 'localhost\n'], ['etc/resolv.conf', '']] as const) {
    const path = join(root, f);
    if ((await lstat(path).catch(() => undefined))?.isFile()) await writeFile(path, content);
  }
}

/** The Date of the suite's Release file that debootstrap used, so the tar's mtimes are stable. */
async function releaseEpoch(root: string): Promise<number> {
  const lists = join(root, 'var/lib/apt/lists');
  try {
    for (const f of await readdir(lists)) {
      if (!/_(In)?Release$/.test(f)) continue;
      const m = /^Date: (.+)$/m.exec(await readFile(join(lists, f), 'utf8'));
      if (m?.[1]) return Math.floor(Date.parse(m[1]) / 1000);
    }
  } catch {
    /* no lists kept: fall through */
  }
  return 1686355200; // 2023-06-10, bookworm's release day
}

async function labelAndVerify(
  driver: DockerDriver,
  opts: BaseImageOptions,
  tag: string,
  key: string,
  dockerfile: string,
  files: { name: string; file: string }[],
  how: 'pull' | 'debootstrap',
  started: number,
): Promise<BaseImage> {
  const platform = `linux/${opts.arch}`;
  opts.onEvent?.({ scope: 'base', phase: 'build', message: `docker build --platform ${platform} -t ${tag}` });
  const id = await driver.buildImage(
    buildContext([{ name: 'Dockerfile', content: dockerfile }, ...files]),
    {
      t: tag,
      platform,
      labels: labelsFor('base', opts.runId ?? defaultRunId, { [LABEL_KEY]: key, [LABEL_BASE]: `${BASE_SUITE}-${opts.arch}`, 'io.crio-build.base-source': how }),
    },
    (l) => opts.onEvent?.({ scope: 'base', phase: 'build', message: l }),
  );
  const info = await driver.inspectImage(id);
  if (info?.Architecture !== opts.arch) {
    await driver.removeImage(id).catch(() => undefined);
    throw new Error(`base image ${tag} records architecture ${info?.Architecture ?? '?'}, expected ${opts.arch}`);
  }
  const digest = baseDigestOf(info);
  opts.onEvent?.({ scope: 'base', phase: 'done', message: `${tag} ready (${id.slice(7, 19)}, ${info.Architecture}, ${(info.Size / 1e6).toFixed(0)} MB, content ${digest.slice(7, 19)})` });
  return { tag, id, digest, arch: opts.arch, key, source: how, seconds: (Date.now() - started) / 1000 };
}

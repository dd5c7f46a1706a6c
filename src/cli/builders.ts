/**
 * `crio-build builders list|prune|bootstrap|pin`: the builder images this tool made, the base images
 * it makes with debootstrap when no registry can be reached, and pinning a builder to the Debian
 * package versions recorded from an image.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { connectDocker, ensureBaseImage, listBuilders, pruneBuilders } from '../build/index.js';
import { baseImageTag } from '../hosts/images/base-image.js';
import { pruneGoCacheVolumes } from '../build/go-cache.js';
import {
  builderVariant,
  checkPins,
  DEFAULT_BUILDERS_DIR,
  parsePins,
  pinsFile,
  provenanceFromLabels,
  readImagePackages,
  renderPins,
  type BuilderSpec,
} from '../hosts/images/builder-image.js';
import { SourceError, UsageError } from '../core/errors.js';
import { checkArch, hostArch } from '../plan/planner.js';
import { STRATEGIES, SUPPORTED_ARCHES, type Arch, type Strategy } from '../recipe/schema.js';
import { writeFileAtomic } from '../core/atomic.js';
import { table } from './render.js';

interface PinArgs {
  arch: string;
  strategy: string;
  builder: string;
  builders?: string;
  image?: string;
  out?: string;
  check: boolean;
  json: boolean;
}

/** The builder variant a build for `arch` with `strategy` uses on this host (as the planner picks it). */
function variantFor(name: string, arch: Arch, strategy: Strategy): Pick<BuilderSpec, 'name' | 'platform' | 'crossTarget'> {
  const host = hostArch();
  const platform = arch === host || strategy === 'emulate' ? arch : host;
  return { name, platform, ...(arch !== host && strategy === 'cross' ? { crossTarget: arch } : {}) };
}

export function buildersCommand(y: Argv): Argv {
  return y
    .command<{ json: boolean }>(
      'list',
      'list builder images (name, platform, cross target, toolchain, builder key, packages, size)',
      (yy) => yy.option('json', { type: 'boolean', default: false }) as unknown as Argv<{ json: boolean }>,
      async (a) => {
        const builders = await listBuilders(await connectDocker());
        if (a.json) return void process.stdout.write(JSON.stringify(builders, null, 2) + '\n');
        const rows = builders.map((b) => [b.name, b.platform, b.crossTarget ?? '-', b.toolchain.slice(0, 12), b.key ? b.key.slice(0, 12) : '(not recorded)', `${b.packages}${b.pins ? ' pinned' : ''}`, `${(b.sizeBytes / 1e6).toFixed(0)} MB`, b.created.toISOString(), b.tag]);
        process.stdout.write(table(['name', 'platform', 'cross to', 'toolchain', 'key', 'packages', 'size', 'created', 'image'], rows) + '\n');
      },
    )
    .command<{ 'include-base': boolean; 'build-cache-only': boolean; component?: string[] }>(
      'prune',
      "remove builder images and the Go build cache volumes (and with --include-base the base images, which take minutes to make again)",
      (yy) =>
        yy
          .option('include-base', { type: 'boolean', default: false })
          .option('build-cache-only', { type: 'boolean', default: false, describe: "remove only the Go build cache volumes (the next build of each component compiles from the image's cache)" })
          .option('component', { type: 'string', array: true, requiresArg: true, describe: 'with --build-cache-only: only the volumes of this component (repeatable)' }) as unknown as Argv<{
          'include-base': boolean;
          'build-cache-only': boolean;
          component?: string[];
        }>,
      async (a) => {
        if (a.component?.length && !a['build-cache-only']) throw new UsageError('--component applies to --build-cache-only', 'add --build-cache-only, or leave --component out to remove every builder image and volume');
        const driver = await connectDocker();
        if (!a['build-cache-only']) {
          const r = await pruneBuilders(driver, { includeBase: a['include-base'] });
          process.stdout.write(`removed ${r.removed.length} images, ${(r.bytes / 1e6).toFixed(0)} MB\n`);
        }
        const v = await pruneGoCacheVolumes(driver, { components: a.component });
        process.stdout.write(`removed ${v.removed.length} Go build cache volumes${v.skipped.length ? `; ${v.skipped.length} in use by a running build kept (${v.skipped.join(', ')})` : ''}\n`);
      },
    )
    .command<{ arch: string[] }>(
      'bootstrap',
      'make the Debian base images with debootstrap (when no registry can be reached)',
      (yy) => yy.option('arch', { type: 'string', array: true, default: [...SUPPORTED_ARCHES], describe: `arches: ${SUPPORTED_ARCHES.join(', ')}` }) as unknown as Argv<{ arch: string[] }>,
      async (a) => {
        const driver = await connectDocker();
        for (const arch of a.arch.map(checkArch)) {
          const img = await ensureBaseImage(driver, { arch, onEvent: (e) => process.stderr.write(`  base: ${e.message}\n`) });
          process.stdout.write(`${img.tag}  ${img.id.slice(0, 19)}  ${img.source}  content ${img.digest.slice(0, 19)}  ${img.seconds.toFixed(0)}s\n`);
        }
      },
    )
    .command<PinArgs>(
      'pin',
      'pin a builder to the exact Debian package versions of an image (writes builders/<name>/pins/<variant>.lock); --check: can the mirror still provide them?',
      (yy) =>
        yy
          .option('arch', { type: 'string', requiresArg: true, default: 'arm64', describe: `the target arch of the builds: ${SUPPORTED_ARCHES.join(', ')}` })
          .option('strategy', { type: 'string', requiresArg: true, default: 'cross', describe: `which builder they use: ${STRATEGIES.join(', ')}` })
          .option('builder', { type: 'string', requiresArg: true, default: 'debian-bookworm', describe: 'the builder (a folder of builders/)' })
          .option('builders', { type: 'string', requiresArg: true, describe: 'the builders directory (default: the one shipped with crio-build)' })
          .option('image', { type: 'string', requiresArg: true, describe: 'record from this image (default: the newest image of that builder and variant on the local engine)' })
          .option('out', { type: 'string', requiresArg: true, describe: 'the pins file (default builders/<name>/pins/<variant>.lock)' })
          .option('check', { type: 'boolean', default: false, describe: 'do not record: check that the Debian mirror still has every pinned version (exit 4 when not)' })
          .option('json', { type: 'boolean', default: false }) as unknown as Argv<PinArgs>,
      async (a) => {
        const arch = checkArch(a.arch);
        if (!(STRATEGIES as readonly string[]).includes(a.strategy)) throw new UsageError(`unknown strategy ${JSON.stringify(a.strategy)}`, `supported strategies: ${STRATEGIES.join(', ')}`);
        const buildersDir = a.builders ? resolve(a.builders) : DEFAULT_BUILDERS_DIR;
        if (!existsSync(join(buildersDir, a.builder, 'Dockerfile'))) throw new UsageError(`no builder ${JSON.stringify(a.builder)} in ${buildersDir}`, 'name a folder of builders/ that has a Dockerfile');
        const spec = variantFor(a.builder, arch, a.strategy as Strategy);
        const file = a.out ? resolve(a.out) : pinsFile(buildersDir, spec);
        const driver = await connectDocker();
        if (a.check) {
          if (!existsSync(file)) throw new UsageError(`${file} does not exist: builder ${a.builder} ${builderVariant(spec)} is not pinned`, 'record pins first: `crio-build builders pin` without --check');
          const pins = parsePins(await readFile(file, 'utf8'), file);
          const baseTag = baseImageTag(spec.platform);
          if (!(await driver.inspectImage(baseTag))) throw new UsageError(`no base image ${baseTag} on this engine`, '`crio-build builders bootstrap` makes it');
          const missing = await checkPins(driver, spec, pins, { buildersDir, baseTag });
          if (a.json) process.stdout.write(JSON.stringify({ file, pins: pins.length, missing }, null, 2) + '\n');
          if (missing.length > 0) {
            throw new SourceError(
              `${file}: the Debian mirror no longer has ${missing.length} of ${pins.length} pinned versions:\n${missing.map((m) => `  ${m.pin} (the mirror has: ${m.available.join(', ') || 'no version'})`).join('\n')}`,
              'deb.debian.org keeps only the current versions of each suite: a builder can be made from these pins only where the old versions can still be downloaded (snapshot.debian.org); otherwise record new pins from a builder made now',
            );
          }
          if (!a.json) process.stdout.write(`${file}: all ${pins.length} pinned versions are on the mirror (or in the base image)\n`);
          return;
        }
        let image = a.image;
        if (!image) {
          const found = (await listBuilders(driver)).find((b) => b.name === a.builder && b.platform === spec.platform && (b.crossTarget ?? undefined) === spec.crossTarget);
          if (!found) throw new UsageError(`no ${a.builder} builder image for ${builderVariant(spec)} on this engine`, `make one first (a build: \`crio-build <branch> --arch ${arch} --strategy ${a.strategy} --stop-after build\`), or name an image with --image`);
          image = found.tag;
        }
        const info = await driver.inspectImage(image);
        if (!info) throw new UsageError(`no image ${JSON.stringify(image)} on this engine`);
        const recorded = provenanceFromLabels(image, info);
        const packages = recorded?.packages ?? (await readImagePackages(driver, image, (info.Architecture as Arch) ?? spec.platform));
        await writeFileAtomic(file, renderPins({ name: a.builder, platform: spec.platform, crossTarget: spec.crossTarget, image, key: recorded?.key ?? '(not recorded)', packages }, new Date()));
        if (a.json) process.stdout.write(JSON.stringify({ file, image, key: recorded?.key, packages: packages.length }, null, 2) + '\n');
        else process.stdout.write(`pinned builder ${a.builder} ${builderVariant(spec)} to the ${packages.length} Debian packages of ${image}: ${file}\n`);
      },
    )
    .demandCommand(1, 'say `builders list`, `builders prune`, `builders bootstrap` or `builders pin`');
}

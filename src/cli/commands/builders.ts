/**
 * `crio-build builders list|prune|bootstrap|pin`: the builder images this tool made, the base
 * images it makes with debootstrap when no registry can be reached, and pinning a builder to the
 * Debian package versions recorded from an image (src/admin/builders.ts, builder-pins.ts).
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { SourceError, UsageError } from '../../core/errors.js';
import { checkArch } from '../../plan/planner.js';
import { STRATEGIES, SUPPORTED_ARCHES, type Strategy } from '../../recipe/schema.js';
import { bootstrapBaseImages, builderImages, pruneBuilderImages } from '../../admin/builders.js';
import { pinBuilder } from '../../admin/builder-pins.js';
import { table } from '../render.js';

interface PruneArgs {
  'include-base': boolean;
  'build-cache-only': boolean;
  component?: string[];
}

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

export const buildersCommand: CommandModule = {
  command: 'builders',
  describe: 'list, prune or bootstrap builder and base images',
  builder: (y: Argv) =>
    y
      .command<{ json: boolean }>(
        'list',
        'list builder images (name, platform, cross target, toolchain, builder key, packages, size)',
        (yy) => yy.option('json', { type: 'boolean', default: false }) as unknown as Argv<{ json: boolean }>,
        async (a) => {
          const builders = await builderImages();
          if (a.json) return void process.stdout.write(JSON.stringify(builders, null, 2) + '\n');
          const rows = builders.map((b) => [b.name, b.platform, b.crossTarget ?? '-', b.toolchain.slice(0, 12), b.key ? b.key.slice(0, 12) : '(not recorded)', `${b.packages}${b.pins ? ' pinned' : ''}`, `${(b.sizeBytes / 1e6).toFixed(0)} MB`, b.created.toISOString(), b.tag]);
          process.stdout.write(table(['name', 'platform', 'cross to', 'toolchain', 'key', 'packages', 'size', 'created', 'image'], rows) + '\n');
        },
      )
      .command<PruneArgs>(
        'prune',
        "remove builder images and the Go build cache volumes (and with --include-base the base images, which take minutes to make again)",
        (yy) =>
          yy
            .option('include-base', { type: 'boolean', default: false })
            .option('build-cache-only', { type: 'boolean', default: false, describe: "remove only the Go build cache volumes (the next build of each component compiles from the image's cache)" })
            .option('component', { type: 'string', array: true, requiresArg: true, describe: 'with --build-cache-only: only the volumes of this component (repeatable)' }) as unknown as Argv<PruneArgs>,
        async (a) => {
          if (a.component?.length && !a['build-cache-only']) throw new UsageError('--component applies to --build-cache-only', 'add --build-cache-only, or leave --component out to remove every builder image and volume');
          await pruneBuilderImages(
            { includeBase: a['include-base'], buildCacheOnly: a['build-cache-only'], components: a.component },
            {
              imagesRemoved: (r) => process.stdout.write(`removed ${r.removed.length} images, ${(r.bytes / 1e6).toFixed(0)} MB\n`),
              volumesRemoved: (v) => process.stdout.write(`removed ${v.removed.length} Go build cache volumes${v.skipped.length ? `; ${v.skipped.length} in use by a running build kept (${v.skipped.join(', ')})` : ''}\n`),
            },
          );
        },
      )
      .command<{ arch: string[] }>(
        'bootstrap',
        'make the Debian base images with debootstrap (when no registry can be reached)',
        (yy) => yy.option('arch', { type: 'string', array: true, default: [...SUPPORTED_ARCHES], describe: `arches: ${SUPPORTED_ARCHES.join(', ')}` }) as unknown as Argv<{ arch: string[] }>,
        async (a) => {
          await bootstrapBaseImages(a.arch.map(checkArch), {
            onEvent: (e) => process.stderr.write(`  base: ${e.message}\n`),
            made: (img) => process.stdout.write(`${img.tag}  ${img.id.slice(0, 19)}  ${img.source}  content ${img.digest.slice(0, 19)}  ${img.seconds.toFixed(0)}s\n`),
          });
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
          const r = await pinBuilder({
            builder: a.builder,
            arch,
            strategy: a.strategy as Strategy,
            ...(a.builders ? { buildersDir: resolve(a.builders) } : {}),
            ...(a.image ? { image: a.image } : {}),
            ...(a.out ? { out: resolve(a.out) } : {}),
            check: a.check,
          });
          if (r.checked) {
            if (a.json) process.stdout.write(JSON.stringify({ file: r.file, pins: r.pins, missing: r.missing }, null, 2) + '\n');
            if (r.missing.length > 0) {
              throw new SourceError(
                `${r.file}: the Debian mirror no longer has ${r.missing.length} of ${r.pins} pinned versions:\n${r.missing.map((m) => `  ${m.pin} (the mirror has: ${m.available.join(', ') || 'no version'})`).join('\n')}`,
                'deb.debian.org keeps only the current versions of each suite: a builder can be made from these pins only where the old versions can still be downloaded (snapshot.debian.org); otherwise record new pins from a builder made now',
              );
            }
            if (!a.json) process.stdout.write(`${r.file}: all ${r.pins} pinned versions are on the mirror (or in the base image)\n`);
            return;
          }
          if (a.json) process.stdout.write(JSON.stringify({ file: r.file, image: r.image, key: r.key, packages: r.packages }, null, 2) + '\n');
          else process.stdout.write(`pinned builder ${a.builder} ${r.variant} to the ${r.packages} Debian packages of ${r.image}: ${r.file}\n`);
        },
      )
      .demandCommand(1, 'say `builders list`, `builders prune`, `builders bootstrap` or `builders pin`'),
  handler: () => undefined,
};

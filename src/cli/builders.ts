/**
 * `crio-build builders list|prune|bootstrap`: the builder images this tool made, and the base images
 * it makes with debootstrap when no registry can be reached.
 */
import type { Argv } from 'yargs';
import { connectDocker, ensureBaseImage, listBuilders, pruneBuilders } from '../builder/index.js';
import { checkArch } from '../farm/planner.js';
import { SUPPORTED_ARCHES } from '../recipe/schema.js';
import { table } from './render.js';

export function buildersCommand(y: Argv): Argv {
  return y
    .command<{ json: boolean }>(
      'list',
      'list builder images (name, platform, cross target, toolchain, size)',
      (yy) => yy.option('json', { type: 'boolean', default: false }) as unknown as Argv<{ json: boolean }>,
      async (a) => {
        const builders = await listBuilders(await connectDocker());
        if (a.json) return void process.stdout.write(JSON.stringify(builders, null, 2) + '\n');
        const rows = builders.map((b) => [b.name, b.platform, b.crossTarget ?? '-', b.toolchain.slice(0, 12), `${(b.sizeBytes / 1e6).toFixed(0)} MB`, b.created.toISOString(), b.tag]);
        process.stdout.write(table(['name', 'platform', 'cross to', 'toolchain', 'size', 'created', 'image'], rows) + '\n');
      },
    )
    .command<{ 'include-base': boolean }>(
      'prune',
      'remove builder images (and with --include-base the base images, which take minutes to make again)',
      (yy) => yy.option('include-base', { type: 'boolean', default: false }) as unknown as Argv<{ 'include-base': boolean }>,
      async (a) => {
        const r = await pruneBuilders(await connectDocker(), { includeBase: a['include-base'] });
        process.stdout.write(`removed ${r.removed.length} images, ${(r.bytes / 1e6).toFixed(0)} MB\n`);
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
          process.stdout.write(`${img.tag}  ${img.id.slice(0, 19)}  ${img.source}  ${img.seconds.toFixed(0)}s\n`);
        }
      },
    )
    .demandCommand(1, 'say `builders list`, `builders prune` or `builders bootstrap`');
}

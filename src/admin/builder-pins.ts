/**
 * `crio-build builders pin`: pin a builder to the exact Debian package versions of an image
 * (builders/<name>/pins/<variant>.lock), or check that the Debian mirror can still provide every
 * pinned version.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectDocker } from '../hosts/docker.js';
import { listBuilders } from '../hosts/images/builder-image.js';
import { baseImageTag } from '../hosts/images/base-image.js';
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
  type UnavailablePin,
} from '../hosts/images/builder-image.js';
import { UsageError } from '../core/errors.js';
import { hostArch } from '../plan/planner.js';
import type { Arch, Strategy } from '../recipe/schema.js';
import { writeFileAtomic } from '../core/atomic.js';

export interface PinBuilderOptions {
  /** The builder: a folder of the builders dir. */
  builder: string;
  /** The target arch and strategy of the builds that use it: which variant of it. */
  arch: Arch;
  strategy: Strategy;
  /** Default: the builders shipped with crio-build. */
  buildersDir?: string;
  /** Record from this image (default: the newest image of that builder and variant on the local engine). */
  image?: string;
  /** The pins file (default builders/<name>/pins/<variant>.lock). */
  out?: string;
  /** Do not record: check that the mirror still has every pinned version. */
  check: boolean;
}

export type PinnedBuilder =
  /** Checked: the pinned versions the mirror no longer has (none: all there). */
  | { checked: true; file: string; pins: number; missing: UnavailablePin[] }
  /** Recorded: the pins file written from `image`. */
  | { checked: false; file: string; variant: string; image: string; key?: string; packages: number };

/** The builder variant a build for `arch` with `strategy` uses on this host (as the planner picks it). */
function variantFor(name: string, arch: Arch, strategy: Strategy): Pick<BuilderSpec, 'name' | 'platform' | 'crossTarget'> {
  const host = hostArch();
  const platform = arch === host || strategy === 'emulate' ? arch : host;
  return { name, platform, ...(arch !== host && strategy === 'cross' ? { crossTarget: arch } : {}) };
}

export async function pinBuilder(o: PinBuilderOptions): Promise<PinnedBuilder> {
  const buildersDir = o.buildersDir ?? DEFAULT_BUILDERS_DIR;
  if (!existsSync(join(buildersDir, o.builder, 'Dockerfile'))) throw new UsageError(`no builder ${JSON.stringify(o.builder)} in ${buildersDir}`, 'name a folder of builders/ that has a Dockerfile');
  const spec = variantFor(o.builder, o.arch, o.strategy);
  const file = o.out ?? pinsFile(buildersDir, spec);
  const driver = await connectDocker();
  if (o.check) {
    if (!existsSync(file)) throw new UsageError(`${file} does not exist: builder ${o.builder} ${builderVariant(spec)} is not pinned`, 'record pins first: `crio-build builders pin` without --check');
    const pins = parsePins(await readFile(file, 'utf8'), file);
    const baseTag = baseImageTag(spec.platform);
    if (!(await driver.inspectImage(baseTag))) throw new UsageError(`no base image ${baseTag} on this engine`, '`crio-build builders bootstrap` makes it');
    return { checked: true, file, pins: pins.length, missing: await checkPins(driver, spec, pins, { buildersDir, baseTag }) };
  }
  let image = o.image;
  if (!image) {
    const found = (await listBuilders(driver)).find((b) => b.name === o.builder && b.platform === spec.platform && (b.crossTarget ?? undefined) === spec.crossTarget);
    if (!found) throw new UsageError(`no ${o.builder} builder image for ${builderVariant(spec)} on this engine`, `make one first (a build: \`crio-build <branch> --arch ${o.arch} --strategy ${o.strategy} --stop-after build\`), or name an image with --image`);
    image = found.tag;
  }
  const info = await driver.inspectImage(image);
  if (!info) throw new UsageError(`no image ${JSON.stringify(image)} on this engine`);
  const recorded = provenanceFromLabels(image, info);
  const packages = recorded?.packages ?? (await readImagePackages(driver, image, (info.Architecture as Arch) ?? spec.platform));
  await writeFileAtomic(file, renderPins({ name: o.builder, platform: spec.platform, crossTarget: spec.crossTarget, image, key: recorded?.key ?? '(not recorded)', packages }, new Date()));
  return { checked: false, file, variant: builderVariant(spec), image, ...(recorded?.key !== undefined ? { key: recorded.key } : {}), packages: packages.length };
}

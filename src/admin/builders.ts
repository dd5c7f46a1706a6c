/**
 * `crio-build builders list|prune|bootstrap`: the builder images this tool made, the Go build
 * cache volumes beside them, and the Debian base images it makes with debootstrap when no
 * registry can be reached; all on the local Docker engine. One function per subcommand.
 */
import { connectDocker } from '../hosts/docker.js';
import type { BuilderEvent } from '../hosts/events.js';
import { ensureBaseImage, type BaseImage } from '../hosts/images/base-image.js';
import { listBuilders, pruneBuilders } from '../hosts/images/builder-image.js';
import { pruneGoCacheVolumes } from '../build/go-cache.js';
import type { BuilderInfo } from '../hosts/images/builder-image.js';
import type { Arch } from '../recipe/schema.js';

export async function builderImages(): Promise<BuilderInfo[]> {
  return listBuilders(await connectDocker());
}

export interface PruneBuildersOptions {
  /** Remove the base images too (they take minutes to make again). */
  includeBase: boolean;
  /** Remove only the Go build cache volumes, no image. */
  buildCacheOnly: boolean;
  /** Only the volumes of these components. */
  components?: string[];
}

export interface PruneBuildersEvents {
  imagesRemoved?: (r: { removed: string[]; bytes: number }) => void;
  /** `skipped`: volumes a running build uses, kept. */
  volumesRemoved?: (r: { removed: string[]; skipped: string[] }) => void;
}

export async function pruneBuilderImages(o: PruneBuildersOptions, events: PruneBuildersEvents = {}): Promise<void> {
  const driver = await connectDocker();
  if (!o.buildCacheOnly) events.imagesRemoved?.(await pruneBuilders(driver, { includeBase: o.includeBase }));
  events.volumesRemoved?.(await pruneGoCacheVolumes(driver, { components: o.components }));
}

export interface BootstrapEvents {
  /** Progress of the base image being made. */
  onEvent?: (e: BuilderEvent) => void;
  /** A base image is there (made or already made). */
  made?: (image: BaseImage) => void;
}

export async function bootstrapBaseImages(arches: readonly Arch[], events: BootstrapEvents = {}): Promise<void> {
  const driver = await connectDocker();
  for (const arch of arches) events.made?.(await ensureBaseImage(driver, { arch, onEvent: events.onEvent }));
}

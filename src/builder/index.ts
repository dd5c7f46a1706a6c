/**
 * The builder's surface for the farm and the CLI. Typical use:
 *
 *   const driver = await connectDocker();                        // HostNotReadyError names the fix
 *   const uninstall = installSignalCleanup({ onSignal });        // Ctrl-C removes our containers
 *   await cleanupContainers(driver);                             // leftovers of killed runs
 *   await ensureBaseImage(driver, { arch, onEvent });            // `builders bootstrap` (both arches)
 *   const image = await ensureBuilderImage(driver, builderSpecFor(job, hostArch), { onEvent });
 *   const result = await runBuild(job, { driver, hostArch, builderImage: image, onEvent, onLine });
 *   await listBuilders(driver); await pruneBuilders(driver, { keep });  // `builders list|prune`
 */
export { baseImageTag, ensureBaseImage, type BaseImage, type BaseImageOptions } from './base-image.js';
export {
  builderSpecFor,
  ensureBuilderImage,
  listBuilders,
  pruneBuilders,
  type BuilderImage,
  type BuilderImageOptions,
  type BuilderInfo,
  type BuilderSpec,
  type PruneOptions,
} from './builder-image.js';
export { cleanupContainers, installSignalCleanup, interruption, InterruptedError, removeLiveContainers } from './containers.js';
export { connectDocker, defaultRunId, type DockerDriver } from './docker.js';
export type { BuilderEvent, OnBuilderEvent } from './events.js';
export { UnsafeArchiveError } from './extract.js';
export { checkBinfmt, nodeHostArch } from './qemu.js';
export { BuildFailedError, runBuild, type RunBuildOptions } from './run-build.js';
export type { BuildJob, BuildResult, BuiltOutput, SourceInput, ToolchainInput } from './types.js';
export { checkElf, elfMachine, VerifyError } from './verify.js';

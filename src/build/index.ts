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
export { baseImageTag, ensureBaseImage, type BaseImage, type BaseImageOptions } from '../hosts/images/base-image.js';
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
} from '../hosts/images/builder-image.js';
export { cleanupContainers, installSignalCleanup, interruption, InterruptedError, removeLiveContainers } from '../hosts/containers.js';
export { connectDocker, defaultRunId, type DockerDriver } from '../hosts/docker.js';
export type { BuilderEvent, OnBuilderEvent } from '../hosts/events.js';
export { UnsafeArchiveError } from './extract.js';
export { checkBinfmt, nodeHostArch } from '../hosts/qemu.js';
export { BuildFailedError, runBuild, type RunBuildOptions } from './run-build.js';
export type { BuildJob, BuildResult, BuiltOutput, SourceInput, ToolchainInput } from '../plan/build-job.js';
export { checkElf, elfMachine, VerifyError } from './verify-outputs.js';

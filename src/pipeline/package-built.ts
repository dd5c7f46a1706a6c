/**
 * `crio-build package <branch>`: package what an earlier build left under
 * artifacts/<branch>/<arch>/build (a CI build job that stopped after the build), with the
 * provenance the build recorded beside the outputs, and write the release record that
 * `crio-build publish` (and a nightly's other arches) release.
 */
import type { Arch, BranchRecipe } from '../recipe/schema.js';
import { kubernetesOf } from '../source/lock.js';
import { provenanceDir, readComponentProvenance } from '../build/outputs.js';
import { packageBuiltOutputs, type PackageStageResult } from '../package/package-all.js';
import { buildProvenanceOf, recordPackaged } from '../package/record.js';
import { lockPathFor, type PipelineEvents } from './pipeline.js';

export interface PackageBuiltOptions {
  branch: BranchRecipe;
  arch: Arch;
  artifactsDir: string;
  /** The lock record that says the Kubernetes minor of a branch that reads it from its tree; default the branch's own under artifactsDir. */
  lockFile?: string;
  pauseImage?: string;
  /** Make every file again, even those unchanged since the last run. */
  force: boolean;
}

export interface BuiltPackaged {
  packaged: PackageStageResult;
  /** The release record written beside the packages; or, when none was, the provenance files the build did not leave. */
  recorded: Awaited<ReturnType<typeof recordPackaged>>;
}

export async function packageBuilt(o: PackageBuiltOptions, events: PipelineEvents): Promise<BuiltPackaged> {
  const branch = o.branch;
  const kubernetes = await kubernetesOf(branch, o.lockFile ?? lockPathFor(o.artifactsDir, branch.name));
  const components = Object.keys(branch.components);
  // The provenance the build left beside the outputs: the SBOMs' sources and toolchains, the .buildinfo files' builders.
  const recordedBuilds = await readComponentProvenance(provenanceDir(o.artifactsDir, branch.name, o.arch), components);
  const provenance = new Map([...recordedBuilds].map(([name, c]) => [name, buildProvenanceOf(c)]));
  const packaged = await packageBuiltOutputs({ artifactsDir: o.artifactsDir, branch: { name: branch.name, kubernetes, components }, arch: o.arch, pauseImage: o.pauseImage, provenance, force: o.force, onStep: (m) => events.step?.('package', m) });
  // The release record beside the packages, from the provenance the build left: what
  // `crio-build publish` (and a nightly's other arches) release.
  const recorded = await recordPackaged({ artifactsDir: o.artifactsDir, branch: branch.name, kubernetes, arch: o.arch, components, packaged, pauseImage: o.pauseImage });
  if (recorded.record) events.step?.('package', `release record ${recorded.path} (release ${recorded.record.releaseTag})`);
  return { packaged, recorded };
}

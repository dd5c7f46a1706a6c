// The .deb implementation of the Packager interface.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackageResult, Packager } from '../packager.js';
import { checkArchitecture, checkPackageName, checkVersion } from './validate.js';
import { versionForFileName } from './control.js';
import type { DebInput } from './types.js';
import { writeDeb } from './writer.js';

export type { ControlFields, DebCompression, DebInput, MaintainerScripts, Relations } from './types.js';
export { ControlFieldError } from './validate.js';
export { writeDeb } from './writer.js';

/** `${Package}_${Version without epoch}_${Architecture}.deb`, as dpkg-name and nFPM name them. */
export function debFileName(info: DebInput): string {
  const { Package, Version, Architecture } = info.control;
  // Checked here too, because these values become a path component.
  checkPackageName('Package', Package);
  checkVersion('Version', Version);
  checkArchitecture('Architecture', Architecture);
  return `${Package}_${versionForFileName(Version)}_${Architecture}.deb`;
}

export const debPackager: Packager<DebInput> = {
  format: 'deb',
  conventionalFileName: debFileName,
  async package(info: DebInput, outDir: string): Promise<PackageResult> {
    await mkdir(outDir, { recursive: true });
    return writeDeb(info, join(outDir, debFileName(info)));
  },
};

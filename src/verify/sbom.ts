/**
 * The SBOM check of `crio-build verify`: the package stage's own validator (SPDX 2.3 schema, and
 * the document describes the artifact by its sha256), so a release is checked by the same rules
 * its SBOMs were written under.
 */
export { validateSbom as sbomProblems } from '../package/sbom/validate.js';

/** `<artifact>.spdx.json`: the SBOM beside each .deb and bundle. */
export function sbomNameFor(artifact: string): string {
  return `${artifact}.spdx.json`;
}

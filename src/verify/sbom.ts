/**
 * The SBOM check of `crio-build verify`: the package stage's own validator (SPDX 2.3 schema, and
 * the document describes the artifact by its sha256) and its file names, so a release is checked
 * by the same rules its SBOMs were written under.
 */
export { validateSbom as sbomProblems } from '../package/sbom/validate.js';
export { sbomFileName as sbomNameFor } from '../package/documents.js';

/**
 * The SBOM check of `crio-build verify`: a minimal one (the document parses, says SPDX-2.3, and
 * describes a package whose SHA256 checksum is the artifact's). The package stage's own validator
 * (validateSbom, with the same signature) replaces it where it exists.
 */
export function sbomProblems(doc: unknown, artifact: { file: string; sha256: string }): string[] {
  const d = doc as { spdxVersion?: unknown; packages?: unknown } | null;
  if (!d || typeof d !== 'object') return ['not a JSON object'];
  const problems: string[] = [];
  if (d.spdxVersion !== 'SPDX-2.3') problems.push(`spdxVersion is ${JSON.stringify(d.spdxVersion)}, not "SPDX-2.3"`);
  const packages = Array.isArray(d.packages) ? (d.packages as Array<{ checksums?: Array<{ algorithm?: unknown; checksumValue?: unknown }> }>) : [];
  const described = packages.some((p) => (p.checksums ?? []).some((c) => c.algorithm === 'SHA256' && c.checksumValue === artifact.sha256));
  if (!described) problems.push(`no package in it has the SHA256 of ${artifact.file} (${artifact.sha256})`);
  return problems;
}

/** `<artifact>.spdx.json`: the SBOM beside each .deb and bundle. */
export function sbomNameFor(artifact: string): string {
  return `${artifact}.spdx.json`;
}

/**
 * `crio-build verify` without rebuilding: opens the release (a directory or a URL), picks the key
 * (the pinned --key, or the keyring published beside the release), and runs every check.
 */
import { join } from 'node:path';
import { DEFAULT_KEYRING_NAME } from '../index/apt/index.js';
import { artifactsOf, checkAptIndex, checkProvenance, checkSboms, checkSums, type Finding, type VerifiedProvenance } from './checks.js';
import { loadKeyring, type Keyring } from './gpgv.js';
import { openRelease, type LocalRelease } from './release-source.js';
import { InvalidInputError } from '../core/errors.js';

export interface VerifyResult {
  release: LocalRelease;
  /** Which key the signatures were checked against, for the first line of the report. */
  keyNote: string;
  findings: Finding[];
  provenance?: VerifiedProvenance;
}

export async function verifyRelease(o: { source: string; keyFile?: string }): Promise<VerifyResult> {
  const release = await openRelease(o.source);
  let keyring: Keyring | undefined;
  try {
    const published = `${DEFAULT_KEYRING_NAME}.gpg`;
    if (!o.keyFile && !release.files.includes(published)) {
      throw new InvalidInputError(`${o.source}: no ${published} in the release to check its signatures with`, 'give the expected key with --key FILE');
    }
    keyring = await loadKeyring(o.keyFile ?? join(release.dir, published));
    const keyNote = o.keyFile
      ? `signatures checked against the pinned key ${o.keyFile} (${keyring.fingerprints.join(', ')})`
      : `signatures checked against the key published beside the release, ${published}: ${keyring.fingerprints.join(', ')} (pin the key you expect with --key FILE)`;
    const findings: Finding[] = release.missing.map((f) => ({ check: 'download' as const, ok: false, file: f, message: 'named by the release, but not found at its URL' }));
    const sums = await checkSums(release.dir, release.files);
    const index = await checkAptIndex(release.dir, release.files, keyring);
    const prov = await checkProvenance(release.dir, release.files, keyring);
    const { artifacts, sbomsListed } = artifactsOf(prov.verified, sums.entries);
    const sboms = await checkSboms(release.dir, release.files, artifacts, sbomsListed);
    findings.push(...sums.findings, ...index, ...sboms, ...prov.findings);
    return { release, keyNote, findings, ...(prov.verified ? { provenance: prov.verified } : {}) };
  } catch (err) {
    await release.dispose();
    throw err;
  } finally {
    await keyring?.dispose();
  }
}

/**
 * The checks of `crio-build verify` on a release's files, each finding naming the file it is about:
 *
 *   SHA256SUMS   every file it lists is there with that sha256
 *   apt index    InRelease and Release.gpg verify (gpgv) against the keyring; Release is the text
 *                InRelease signs; Packages, Packages.gz, Packages.xz match the signed hashes; every
 *                .deb matches its Packages stanza (sha256 and size)
 *   SBOMs        each .deb and bundle has a valid <file>.spdx.json. Rule: SBOMs are required when
 *                the release lists any (a .spdx.json in SHA256SUMS, or an artifact of kind "sbom" in
 *                the signed provenance); a release made before SBOMs has none and is not faulted
 *   provenance   the DSSE signature over the PAE verifies with the keyring, its keyid is the
 *                signing key, and its subjects are exactly the published files with their sha256
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../core/hash.js';
import { parseSha256Sums } from '../package/checksums.js';
import { CHECKSUMS_FILE } from '../plan/naming.js';
import { IN_TOTO_PAYLOAD_TYPE, pae, parseEnvelope } from '../index/attest/dsse.js';
import { PROVENANCE_FILE, SLSA_PROVENANCE_V1, STATEMENT_TYPE, type ProvenanceStatement } from '../index/attest/statement.js';
import { gpgv, type Keyring } from './gpgv.js';
// The package stage's own SBOM validator and file names: a release is checked by the rules its SBOMs were written under.
import { validateSbom } from '../package/sbom/validate.js';
import { sbomFileName } from '../package/documents.js';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

export type CheckName = 'download' | 'SHA256SUMS' | 'apt index' | 'SBOM' | 'provenance';

export interface Finding {
  check: CheckName;
  ok: boolean;
  file: string;
  message: string;
}

const ok = (check: CheckName, file: string, message: string): Finding => ({ check, ok: true, file, message });
const fail = (check: CheckName, file: string, message: string): Finding => ({ check, ok: false, file, message });

async function readText(dir: string, name: string): Promise<string | undefined> {
  return readFile(join(dir, name), 'utf8').catch(() => undefined);
}

export async function checkSums(dir: string, files: readonly string[]): Promise<{ findings: Finding[]; entries: Array<{ file: string; sha256: string }> }> {
  const text = await readText(dir, CHECKSUMS_FILE);
  if (text === undefined) return { findings: [fail('SHA256SUMS', CHECKSUMS_FILE, 'missing')], entries: [] };
  let entries: Array<{ file: string; sha256: string }>;
  try {
    entries = parseSha256Sums(text);
  } catch (err) {
    return { findings: [fail('SHA256SUMS', CHECKSUMS_FILE, (err as Error).message)], entries: [] };
  }
  const findings: Finding[] = [];
  for (const e of entries) {
    if (!files.includes(e.file)) findings.push(fail('SHA256SUMS', e.file, 'listed in SHA256SUMS but not in the release'));
    else {
      const h = await sha256File(join(dir, e.file));
      findings.push(h === e.sha256 ? ok('SHA256SUMS', e.file, `sha256 ${h.slice(0, 16)}… as listed`) : fail('SHA256SUMS', e.file, `sha256 ${h}, but SHA256SUMS says ${e.sha256}`));
    }
  }
  return { findings, entries };
}

/** Release's "SHA256:" section: name -> { sha256, size }. */
function releaseHashes(release: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  const m = /^SHA256:\n((?: .*\n?)*)/m.exec(release);
  for (const line of (m?.[1] ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3) out.set(f[2]!, { sha256: f[0]!, size: Number(f[1]) });
  }
  return out;
}

function packagesStanzas(text: string): Array<Record<string, string>> {
  return text
    .split(/\n\s*\n/)
    .filter((s) => s.trim() !== '')
    .map((s) => Object.fromEntries(s.split('\n').filter((l) => /^[A-Za-z0-9-]+: /.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)])));
}

export async function checkAptIndex(dir: string, files: readonly string[], keyring: Keyring): Promise<Finding[]> {
  const out: Finding[] = [];
  let signedRelease: string | undefined;
  if (!files.includes('InRelease')) out.push(fail('apt index', 'InRelease', 'missing'));
  else {
    const r = await gpgv(keyring, join(dir, 'InRelease'));
    out.push(r.ok ? ok('apt index', 'InRelease', r.message) : fail('apt index', 'InRelease', r.message));
    if (r.ok) signedRelease = r.output!.toString('utf8');
  }
  if (!files.includes('Release') || !files.includes('Release.gpg')) out.push(fail('apt index', files.includes('Release') ? 'Release.gpg' : 'Release', 'missing'));
  else {
    const r = await gpgv(keyring, join(dir, 'Release'), join(dir, 'Release.gpg'));
    out.push(r.ok ? ok('apt index', 'Release.gpg', `Release: ${r.message}`) : fail('apt index', 'Release.gpg', `Release: ${r.message}`));
    const release = (await readText(dir, 'Release'))!;
    if (r.ok && signedRelease === undefined) signedRelease = release;
    else if (signedRelease !== undefined && release !== signedRelease) out.push(fail('apt index', 'Release', 'differs from the text InRelease signs'));
  }
  if (signedRelease === undefined) return out;
  const listed = releaseHashes(signedRelease);
  for (const name of ['Packages', 'Packages.gz', 'Packages.xz']) {
    const want = listed.get(name);
    if (!want) {
      out.push(fail('apt index', name, 'not listed in the signed Release'));
      continue;
    }
    if (!files.includes(name)) {
      out.push(fail('apt index', name, 'listed in the signed Release but not in the release'));
      continue;
    }
    const h = await sha256File(join(dir, name));
    out.push(h === want.sha256 ? ok('apt index', name, 'sha256 as the signed Release says') : fail('apt index', name, `sha256 ${h}, but the signed Release says ${want.sha256}`));
  }
  const packages = await readText(dir, 'Packages');
  if (packages === undefined || listed.get('Packages')?.sha256 !== (await sha256File(join(dir, 'Packages')))) return out;
  for (const s of packagesStanzas(packages)) {
    const name = (s.Filename ?? '').replace(/^\.\//, '');
    if (!name) continue;
    if (!files.includes(name)) {
      out.push(fail('apt index', name, `named by Packages (${s.Package}) but not in the release`));
      continue;
    }
    const h = await sha256File(join(dir, name));
    const size = (await stat(join(dir, name))).size;
    if (h !== s.SHA256) out.push(fail('apt index', name, `sha256 ${h}, but Packages says ${s.SHA256}`));
    else if (String(size) !== s.Size) out.push(fail('apt index', name, `size ${size}, but Packages says ${s.Size}`));
    else out.push(ok('apt index', name, 'sha256 and size as Packages says'));
  }
  return out;
}

export interface VerifiedProvenance {
  statement: ProvenanceStatement;
  fingerprint: string;
}

export async function checkProvenance(dir: string, files: readonly string[], keyring: Keyring): Promise<{ findings: Finding[]; verified?: VerifiedProvenance }> {
  const F = PROVENANCE_FILE;
  const text = await readText(dir, F);
  if (text === undefined) return { findings: [fail('provenance', F, 'missing (a release made before provenance has none)')] };
  const parsed = parseEnvelope(text);
  if (!parsed.envelope) return { findings: [fail('provenance', F, `not a DSSE envelope: ${parsed.problems.join('; ')}`)] };
  const env = parsed.envelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { findings: [fail('provenance', F, `payloadType ${JSON.stringify(env.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`)] };
  const payload = Buffer.from(env.payload, 'base64');
  const tmp = await mkdtemp(join(tmpdir(), 'crio-build-verify-dsse-'));
  const findings: Finding[] = [];
  let fingerprint: string | undefined;
  try {
    await writeFile(join(tmp, 'pae'), pae(env.payloadType, payload));
    for (const [i, s] of env.signatures.entries()) {
      await writeFile(join(tmp, `sig${i}`), Buffer.from(s.sig, 'base64'));
      const r = await gpgv(keyring, join(tmp, 'pae'), join(tmp, `sig${i}`));
      if (!r.ok) findings.push(fail('provenance', F, `DSSE signature ${i + 1} (keyid ${s.keyid}): ${r.message}`));
      else if (r.fingerprint !== s.keyid) findings.push(fail('provenance', F, `DSSE signature ${i + 1}: made by ${r.fingerprint}, but its keyid says ${s.keyid}`));
      else fingerprint = r.fingerprint;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (!fingerprint || findings.length > 0) return { findings: findings.length ? findings : [fail('provenance', F, 'no signature')] };
  findings.push(ok('provenance', F, `DSSE signature over the PAE: good, by ${fingerprint}`));
  let statement: ProvenanceStatement;
  try {
    statement = JSON.parse(payload.toString('utf8')) as ProvenanceStatement;
  } catch {
    return { findings: [...findings, fail('provenance', F, 'the signed payload is not JSON')] };
  }
  if (statement._type !== STATEMENT_TYPE || statement.predicateType !== SLSA_PROVENANCE_V1 || !Array.isArray(statement.subject)) {
    return { findings: [...findings, fail('provenance', F, `not an in-toto ${STATEMENT_TYPE} with a ${SLSA_PROVENANCE_V1} predicate`)] };
  }
  const subjects = new Map(statement.subject.map((s) => [s.name, s.digest?.sha256]));
  for (const name of files) {
    if (name === F) continue;
    const want = subjects.get(name);
    if (want === undefined) findings.push(fail('provenance', name, 'in the release but not a subject of the provenance'));
    else {
      const h = await sha256File(join(dir, name));
      findings.push(h === want ? ok('provenance', name, 'sha256 as the provenance states') : fail('provenance', name, `sha256 ${h}, but the provenance states ${want}`));
    }
  }
  for (const name of subjects.keys()) if (!files.includes(name)) findings.push(fail('provenance', name, 'a subject of the provenance, but not in the release'));
  return { findings, verified: { statement, fingerprint } };
}

/** The .debs and bundles of the release: from the signed provenance when it verified, else SHA256SUMS. */
export function artifactsOf(verified: VerifiedProvenance | undefined, sums: ReadonlyArray<{ file: string }>): { artifacts: string[]; sbomsListed: boolean } {
  const all = verified ? verified.statement.predicate.buildDefinition.internalParameters.arches.flatMap((a) => a.artifacts) : undefined;
  const names = all ? all.filter((a) => !a.kind).map((a) => a.file) : sums.map((e) => e.file).filter((f) => f.endsWith('.deb') || f.endsWith('.tar.gz'));
  const sbomsListed = (all?.some((a) => a.kind === 'sbom') ?? false) || sums.some((e) => e.file.endsWith('.spdx.json'));
  return { artifacts: [...new Set(names)].sort(), sbomsListed };
}

export async function checkSboms(dir: string, files: readonly string[], artifacts: readonly string[], required: boolean): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const a of artifacts) {
    const name = sbomFileName(a);
    if (!files.includes(name)) {
      if (required) out.push(fail('SBOM', a, `no SBOM for ${a} (${name})`));
      continue;
    }
    if (!files.includes(a)) continue; // reported by the other checks
    let doc: unknown;
    try {
      doc = JSON.parse((await readText(dir, name))!);
    } catch (err) {
      out.push(fail('SBOM', name, `not JSON: ${(err as Error).message}`));
      continue;
    }
    const problems = validateSbom(doc, { file: a, sha256: await sha256File(join(dir, a)) });
    out.push(problems.length ? fail('SBOM', name, problems.join('; ')) : ok('SBOM', name, `SPDX 2.3, describes ${a}`));
  }
  if (!required && out.length === 0) out.push(ok('SBOM', '(none)', 'this release lists no SBOMs (made before SBOMs were published): nothing to check'));
  return out;
}

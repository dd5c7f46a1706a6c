/**
 * Writes the release's signed provenance (PROVENANCE_FILE) into a release directory being made,
 * after every other file is in it and before it is swapped in. A rerun that would state exactly the
 * same (same payload bytes) with the same key keeps the previous envelope: a new signature would
 * differ in its timestamp only, and a no-op nightly must upload nothing.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../../core/hash.js';
import { withSigner, type SigningKey } from '../apt/sign.js';
import type { ReleaseRecord } from '../../package/record.js';
import { envelopeLine, IN_TOTO_PAYLOAD_TYPE, parseEnvelope, signEnvelope } from './dsse.js';
import { makeStatement, PROVENANCE_FILE, statementBytes, type Subject } from './statement.js';
import { writeFileAtomic } from '../../core/atomic.js';

/** Every file of the directory the provenance names: all but itself, the notes and dot files. */
export async function subjectsOf(dir: string, notPublished: readonly string[]): Promise<Subject[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.') && n !== PROVENANCE_FILE && !notPublished.includes(n)).sort();
  return Promise.all(names.map(async (name) => ({ name, digest: { sha256: await sha256File(join(dir, name)) } })));
}

export async function writeProvenance(o: {
  dir: string;
  tag: string;
  records: readonly ReleaseRecord[];
  key: SigningKey;
  /** Files of the directory that are not published (the notes). */
  notPublished: readonly string[];
  /** The provenance of the release as it was before this run, if any. */
  previous?: string;
}): Promise<{ reused: boolean; fingerprint?: string }> {
  const statement = makeStatement({ tag: o.tag, records: o.records, subjects: await subjectsOf(o.dir, o.notPublished) });
  const payload = statementBytes(statement);
  const target = join(o.dir, PROVENANCE_FILE);
  return withSigner(o.key, async (signer) => {
    const old = o.previous === undefined ? undefined : await readFile(o.previous, 'utf8').catch(() => undefined);
    const parsed = old === undefined ? undefined : parseEnvelope(old).envelope;
    if (parsed && parsed.payload === payload.toString('base64') && parsed.signatures.every((s) => s.keyid === signer.fingerprint)) {
      await writeFileAtomic(target, old!);
      return { reused: true, fingerprint: signer.fingerprint };
    }
    const envelope = await signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, signer);
    await writeFileAtomic(target, envelopeLine(envelope));
    return { reused: false, fingerprint: signer.fingerprint };
  });
}

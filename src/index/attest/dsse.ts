/**
 * DSSE envelopes (github.com/secure-systems-lab/dsse, protocol v1): the signature is over the
 * Pre-Authentication Encoding of the payload type and the payload bytes, never over the JSON of the
 * envelope, so nothing in the envelope can be changed without breaking it.
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body   (LEN: decimal byte count)
 *
 * Ours carry one signature: keyid = the OpenPGP fingerprint of the release's signing key, sig =
 * base64 of a binary detached gpg signature over the PAE bytes.
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

export async function signEnvelope(payloadType: string, payload: Buffer, signer: { fingerprint: string; signDetached(data: Buffer): Promise<Buffer> }): Promise<DsseEnvelope> {
  const sig = await signer.signDetached(pae(payloadType, payload));
  return { payloadType, payload: payload.toString('base64'), signatures: [{ keyid: signer.fingerprint, sig: sig.toString('base64') }] };
}

/** The envelope as one JSON line (the .intoto.jsonl convention: one envelope per line). */
export function envelopeLine(e: DsseEnvelope): string {
  return `${JSON.stringify(e)}\n`;
}

/** Reads an envelope from a .jsonl file's text; a list of problems when it is not one. */
export function parseEnvelope(text: string): { envelope: DsseEnvelope; problems: [] } | { envelope?: undefined; problems: string[] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) return { problems: [`expected one envelope line, found ${lines.length}`] };
  let e: unknown;
  try {
    e = JSON.parse(lines[0]!);
  } catch (err) {
    return { problems: [`not JSON: ${(err as Error).message}`] };
  }
  const o = e as Partial<DsseEnvelope>;
  const problems: string[] = [];
  if (typeof o?.payloadType !== 'string') problems.push('payloadType missing');
  if (typeof o?.payload !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.payload)) problems.push('payload missing or not base64');
  if (!Array.isArray(o?.signatures) || o.signatures.length === 0 || o.signatures.some((s) => typeof s?.keyid !== 'string' || typeof s?.sig !== 'string')) problems.push('signatures missing or malformed');
  return problems.length ? { problems } : { envelope: o as DsseEnvelope, problems: [] };
}

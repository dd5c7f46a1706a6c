// Signing the Release file with the repository key: InRelease (clearsigned) and Release.gpg
// (detached, armored), both SHA-512, plus the public key in the two forms apt users install:
// armored (<name>.asc) and a binary keyring (<name>.gpg, for /usr/share/keyrings and signed-by).
// Errors say what is wrong with the key without ever echoing the key or the passphrase.
import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../../core/errors.js';
import { failureCode, GPG_ERR_BAD_PASSPHRASE, GPG_ERR_NO_PASSPHRASE, gpgMessage, withGpgHome, type GpgHome } from './gpg.js';

/** An ASCII-armored secret key (e.g. from $CRIO_BUILD_SIGNING_KEY) or a file holding one
 * (armored or binary), with its passphrase if it has one. */
export type SigningKey = ({ armored: string } | { file: string }) & {
  passphrase?: string;
  /** How to name the key in errors, e.g. "$CRIO_BUILD_SIGNING_KEY" (default: "the signing key"
   * or "signing key file <path>"). */
  description?: string;
};

export const PASSPHRASE_HINT = 'set CRIO_BUILD_SIGNING_PASSPHRASE to the passphrase of the signing key';

export interface Signatures {
  inRelease: Buffer;
  releaseGpg: Buffer;
}

export interface Signer {
  fingerprint: string;
  sign(release: string): Promise<Signatures>;
  /** A binary detached signature over any bytes (the provenance's DSSE envelope signs its PAE this way). */
  signDetached(data: Buffer): Promise<Buffer>;
  /** The public key: armored and as a binary keyring (gpg --export, not armored). */
  publicKey(): Promise<{ armored: Buffer; binary: Buffer }>;
}

function describe(key: SigningKey): string {
  return key.description ?? ('file' in key ? `signing key file ${key.file}` : 'the signing key');
}

async function keyBytes(key: SigningKey): Promise<Buffer> {
  if ('file' in key) {
    try {
      return await readFile(key.file);
    } catch (err) {
      throw new InvalidInputError(`cannot read ${describe(key)}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  return Buffer.from(key.armored, 'utf8');
}

/** Records of one kind ("sec", "pub") with the fingerprint that follows each and its capabilities. */
function keysOf(colons: string, kind: string): Array<{ fingerprint: string; capabilities: string }> {
  const out: Array<{ fingerprint: string; capabilities: string }> = [];
  let pending: string | undefined;
  for (const line of colons.split('\n')) {
    const f = line.split(':');
    if (f[0] === kind) pending = f[11] ?? '';
    else if (f[0] === 'fpr' && pending !== undefined) {
      out.push({ fingerprint: f[9] ?? '', capabilities: pending });
      pending = undefined;
    } else if (f[0] === 'pub' || f[0] === 'sec') pending = undefined;
  }
  return out;
}

/** Imports the key and checks it holds exactly one secret key that can sign; returns its fingerprint. */
async function importKey(home: GpgHome, key: SigningKey): Promise<string> {
  const what = describe(key);
  const data = await keyBytes(key);
  const imported = await home.run(['--import'], { stdin: data });
  const listed = await home.run(['--with-colons', '--fixed-list-mode', '--list-secret-keys']);
  const sec = keysOf(listed.stdout.toString('utf8'), 'sec');
  if (sec.length === 0) {
    const pub = keysOf((await home.run(['--with-colons', '--fixed-list-mode', '--list-keys'])).stdout.toString('utf8'), 'pub');
    if (pub.length > 0) {
      throw new InvalidInputError(
        `${what} holds no secret key, only the public key${pub.length > 1 ? 's' : ''} ${pub.map((k) => k.fingerprint).join(', ')}`,
        'give the secret key (gpg --armor --export-secret-keys FINGERPRINT)',
      );
    }
    // gpg's own messages are left out: they can quote lines of the input, which may be secret.
    throw new InvalidInputError(`${what} is not an OpenPGP key (gpg found no key in it${imported.code === 0 ? '' : `, exit status ${imported.code}`})`, 'give an ASCII-armored or binary OpenPGP secret key');
  }
  if (sec.length > 1) {
    throw new InvalidInputError(`${what} holds ${sec.length} secret keys (${sec.map((k) => k.fingerprint).join(', ')}); exactly one is allowed`, 'export only the repository key: gpg --armor --export-secret-keys FINGERPRINT');
  }
  const only = sec[0] as { fingerprint: string; capabilities: string };
  // Upper-case S: the key as a whole (primary or a valid subkey) can sign now.
  if (!only.capabilities.includes('S')) {
    throw new InvalidInputError(`${what}: key ${only.fingerprint} cannot sign (expired, revoked, or without a signing capability)`);
  }
  return only.fingerprint;
}

async function signOne(home: GpgHome, key: SigningKey, fingerprint: string, release: string | Buffer, mode: string[]): Promise<Buffer> {
  const r = await home.run(['--local-user', fingerprint, '--digest-algo', 'SHA512', ...mode, '--output', '-'], {
    stdin: release,
    ...(key.passphrase !== undefined ? { passphrase: key.passphrase } : {}),
  });
  if (r.code === 0 && r.status.some((l) => l.startsWith('SIG_CREATED '))) return r.stdout;
  const code = failureCode(r.status);
  const given = key.passphrase !== undefined && key.passphrase !== '';
  if (code === GPG_ERR_BAD_PASSPHRASE || code === GPG_ERR_NO_PASSPHRASE) {
    throw given
      ? new InvalidInputError(`the passphrase given does not unlock ${describe(key)} (key ${fingerprint})`, PASSPHRASE_HINT)
      : new InvalidInputError(`${describe(key)} (key ${fingerprint}) is protected by a passphrase and none was given`, PASSPHRASE_HINT);
  }
  throw new InvalidInputError(`gpg could not sign with ${describe(key)} (key ${fingerprint}): ${gpgMessage(r, [key.passphrase, 'armored' in key ? key.armored : undefined])}`);
}

async function exportPublic(home: GpgHome, fingerprint: string, armor: boolean): Promise<Buffer> {
  const r = await home.run(['--export-options', 'export-minimal', ...(armor ? ['--armor'] : []), '--export', fingerprint]);
  if (r.code !== 0 || r.stdout.length === 0) throw new Error(`gpg --export ${fingerprint} failed: ${gpgMessage(r, [])}`);
  return r.stdout;
}

/** Imports `key` into a fresh gpg home, runs `fn` with a signer, and removes the home afterwards. */
export async function withSigner<T>(key: SigningKey, fn: (signer: Signer) => Promise<T>): Promise<T> {
  return withGpgHome(async (home) => {
    const fingerprint = await importKey(home, key);
    return fn({
      fingerprint,
      sign: async (release) => ({
        inRelease: await signOne(home, key, fingerprint, release, ['--clearsign']),
        releaseGpg: await signOne(home, key, fingerprint, release, ['--armor', '--detach-sign']),
      }),
      signDetached: (data) => signOne(home, key, fingerprint, data, ['--detach-sign']),
      publicKey: async () => ({ armored: await exportPublic(home, fingerprint, true), binary: await exportPublic(home, fingerprint, false) }),
    });
  }, { throwawayKeys: true });
}

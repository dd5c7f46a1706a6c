// Making a repository signing key (`crio-build keys generate`, and the tests' throwaway keys):
// gpg --quick-gen-key in a throwaway home, then the armored secret key written to a file that is
// only ever visible complete and with mode 0600.
import { InvalidInputError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { gpgMessage, withGpgHome } from './gpg.js';

export interface GenerateKeyOptions {
  /** The user ID's name, e.g. "crio-build archive". */
  name: string;
  email: string;
  /** Protects the secret key; none: an unprotected key (keep the file secret either way). */
  passphrase?: string;
  /** gpg's expiry: "never", a number of days, or a count with d/w/m/y ("2y"), or YYYY-MM-DD. Default "2y". */
  expire?: string;
  /** Default ed25519. */
  algorithm?: 'ed25519' | 'rsa3072';
  /** Where to write the ASCII-armored secret key (mode 0600, replaced atomically). */
  outFile: string;
}

export interface GeneratedKey {
  fingerprint: string;
  outFile: string;
}

function check(opts: GenerateKeyOptions): void {
  if (opts.name.trim() === '' || /[<>()\x00-\x1f\x7f]/.test(opts.name) || opts.name.trim() !== opts.name) {
    throw new InvalidInputError(`key name ${JSON.stringify(opts.name)} is not allowed (allowed: one line without "<", ">", "(", ")" or surrounding spaces)`);
  }
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(opts.email)) {
    throw new InvalidInputError(`key email ${JSON.stringify(opts.email)} is not allowed (allowed: user@host, without spaces or "<>")`);
  }
  if (opts.expire !== undefined && !/^(never|[0-9]+[dwmy]?|[0-9]{4}-[0-9]{2}-[0-9]{2})$/.test(opts.expire)) {
    throw new InvalidInputError(`key expiry "${opts.expire}" is not allowed (allowed: never, N, Nd, Nw, Nm, Ny or YYYY-MM-DD)`);
  }
  if (opts.algorithm !== undefined && opts.algorithm !== 'ed25519' && opts.algorithm !== 'rsa3072') {
    throw new InvalidInputError(`key algorithm "${String(opts.algorithm)}" is not allowed (allowed: ed25519, rsa3072)`);
  }
}

/** Writes `data` to `path` with mode 0600 from the first byte on, via a temporary name. */
function writeSecretFile(path: string, data: Buffer): Promise<void> {
  return writeFileAtomic(path, data, { mode: 0o600 });
}

/** Generates a signing-only key and writes its armored secret key to `outFile`. */
export async function generateSigningKey(opts: GenerateKeyOptions): Promise<GeneratedKey> {
  check(opts);
  const passphrase = opts.passphrase ?? '';
  return withGpgHome(async (home) => {
    const uid = `${opts.name} <${opts.email}>`;
    const gen = await home.run(['--quick-gen-key', uid, opts.algorithm ?? 'ed25519', 'sign', opts.expire ?? '2y'], { passphrase });
    const created = gen.status.find((l) => l.startsWith('KEY_CREATED '))?.split(' ')[2];
    if (gen.code !== 0 || created === undefined) {
      throw new Error(`gpg --quick-gen-key failed: ${gpgMessage(gen, [opts.passphrase])}`);
    }
    const exported = await home.run(['--armor', '--export-secret-keys', created], { passphrase });
    if (exported.code !== 0 || exported.stdout.length === 0) {
      throw new Error(`gpg --export-secret-keys ${created} failed: ${gpgMessage(exported, [opts.passphrase])}`);
    }
    await writeSecretFile(opts.outFile, exported.stdout);
    return { fingerprint: created, outFile: opts.outFile };
  });
}

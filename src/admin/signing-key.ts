/**
 * `crio-build keys generate`: the apt repository's signing key, its armored secret key written
 * (mode 0600) to a file for CRIO_BUILD_SIGNING_KEY or --signing-key.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { generateSigningKey, type GeneratedKey } from '../index/apt/index.js';

export interface RepositoryKeyOptions {
  outFile: string;
  /** Replace an existing key file (--force). */
  replace: boolean;
  name: string;
  email: string;
  expire: string;
  passphrase?: string;
}

export async function generateRepositoryKey(o: RepositoryKeyOptions): Promise<GeneratedKey> {
  // A repository's key is what every client trusts: replacing it by accident locks them all out.
  if (existsSync(o.outFile) && !o.replace) {
    throw new UsageError(`${o.outFile} exists: not replacing a signing key`, 'every client of the repository trusts that key; give another --out, or --force to replace it');
  }
  return generateSigningKey({ name: o.name, email: o.email, expire: o.expire, outFile: o.outFile, ...(o.passphrase ? { passphrase: o.passphrase } : {}) });
}

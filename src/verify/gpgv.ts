/**
 * Signature checks with gpgv against one keyring file, as apt does (apt runs gpgv with the
 * signed-by keyring): no trust database, no user keyrings, a fresh empty home each time.
 * A keyring given armored (.asc) is dearmored first; gpgv reads binary keyrings only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../core/run.js';
import { withGpgHome } from '../index/apt/gpg.js';
import { InvalidInputError } from '../core/errors.js';

export interface Keyring {
  /** A binary keyring gpgv can read. */
  path: string;
  /** The primary keys' fingerprints in it. */
  fingerprints: string[];
  dispose(): Promise<void>;
}

export async function loadKeyring(file: string): Promise<Keyring> {
  const data = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidInputError(`cannot read keyring ${file}: ${err.code ?? 'unreadable'}`);
  });
  const dir = await mkdtemp(join(tmpdir(), 'crio-build-verify-key-'));
  const path = join(dir, 'keyring.gpg');
  const { binary, fingerprints } = await withGpgHome(async (home) => {
    const armored = data.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP');
    const binary = armored ? (await home.run(['--dearmor'], { stdin: data })).stdout : data;
    const shown = await home.run(['--with-colons', '--show-keys'], { stdin: binary });
    const fingerprints: string[] = [];
    let primary = false;
    for (const line of shown.stdout.toString('utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub') primary = true;
      else if (f[0] === 'fpr' && primary) {
        fingerprints.push(f[9] ?? '');
        primary = false;
      } else if (f[0] === 'sub') primary = false;
    }
    return { binary, fingerprints };
  });
  if (fingerprints.length === 0) {
    await rm(dir, { recursive: true, force: true });
    throw new InvalidInputError(`${file} holds no OpenPGP public key`, 'give the release\'s keyring (crio-build-archive-keyring.gpg or .asc)');
  }
  await writeFile(path, binary);
  return { path, fingerprints, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export interface GpgvResult {
  ok: boolean;
  /** The primary key fingerprint of a good signature. */
  fingerprint?: string;
  /** The signed text, for a clearsigned file. */
  output?: Buffer;
  message: string;
}

/** `gpgv --keyring K [sig] data`: a detached signature when `signature` is given, else a clearsigned file. */
export async function gpgv(keyring: Keyring, data: string, signature?: string): Promise<GpgvResult> {
  const home = await mkdtemp(join(tmpdir(), 'crio-build-gpgv-'));
  try {
    const out = join(home, 'signed');
    const args = ['--homedir', home, '--status-fd', '1', '--keyring', keyring.path, ...(signature ? [signature, data] : ['--output', out, data])];
    const r = await run('gpgv', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' }, check: false, installHint: 'install gpgv' });
    const status = r.stdout.toString('utf8').split('\n');
    const valid = status.find((l) => l.startsWith('[GNUPG:] VALIDSIG '))?.split(' ');
    const fingerprint = valid ? valid[valid.length - 1] : undefined;
    if (r.code === 0 && fingerprint) {
      return { ok: true, fingerprint, message: `good signature by ${fingerprint}`, ...(signature ? {} : { output: await readFile(out) }) };
    }
    const bad = status.find((l) => /^\[GNUPG:\] (BADSIG|ERRSIG|NO_PUBKEY|NODATA)/.test(l));
    const why = bad?.startsWith('[GNUPG:] BADSIG')
      ? 'BAD signature (the signed bytes were changed)'
      : bad?.startsWith('[GNUPG:] NO_PUBKEY') || bad?.startsWith('[GNUPG:] ERRSIG')
        ? `signed by a key not in the keyring (${bad.split(' ')[2] ?? '?'})`
        : bad?.startsWith('[GNUPG:] NODATA')
          ? 'no signature found in it'
          : `gpgv failed: ${r.stderr.trim().split('\n').slice(-2).join('; ')}`;
    return { ok: false, message: why };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * `crio-build keys generate`: the apt repository's signing key. The secret key goes to a file
 * (mode 0600) for CRIO_BUILD_SIGNING_KEY or --signing-key; a passphrase, if wanted, comes from
 * $CRIO_BUILD_SIGNING_PASSPHRASE (never from a flag, where it would sit in shell history and ps).
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { SIGNING_PASSPHRASE_ENV } from '../../index/apt/index.js';
import { generateRepositoryKey } from '../../admin/signing-key.js';

interface GenerateArgs {
  out: string;
  force: boolean;
  name: string;
  email: string;
  expire: string;
}

export const keysCommand: CommandModule = {
  command: 'keys',
  describe: 'make the apt repository signing key',
  builder: (y: Argv) =>
    y
      .command<GenerateArgs>(
        'generate',
        `generate an ed25519 signing key; writes the armored secret key to --out (passphrase from $${SIGNING_PASSPHRASE_ENV} if set)`,
        (yy) =>
          yy
            .option('out', { type: 'string', demandOption: true, describe: 'file for the armored secret key (created mode 0600; keep it secret)' })
            .option('name', { type: 'string', default: 'crio-build archive', describe: 'the key\'s user ID name' })
            .option('email', { type: 'string', default: 'crio-build@localhost', describe: 'the key\'s user ID email' })
            .option('expire', { type: 'string', default: '2y', describe: 'expiry: never, N days, Nd/Nw/Nm/Ny, or YYYY-MM-DD' })
            .option('force', { type: 'boolean', default: false, describe: 'replace an existing key file (its key is lost: clients trust only the old one)' }) as unknown as Argv<GenerateArgs>,
        async (a) => {
          const passphrase = process.env[SIGNING_PASSPHRASE_ENV];
          const k = await generateRepositoryKey({ outFile: resolve(a.out), replace: a.force, name: a.name, email: a.email, expire: a.expire, ...(passphrase ? { passphrase } : {}) });
          process.stdout.write(
            `fingerprint ${k.fingerprint}\nsecret key  ${k.outFile}${passphrase ? ' (protected by $' + SIGNING_PASSPHRASE_ENV + ')' : ' (no passphrase)'}\n` +
              `use it:     CRIO_BUILD_SIGNING_KEY="$(cat ${k.outFile})" crio-build <branch> --publish   (or --signing-key ${k.outFile})\n` +
              `in GitHub Actions: store the file's content as the secret CRIO_BUILD_SIGNING_KEY\n`,
          );
        },
      )
      .demandCommand(1, 'say `keys generate --out FILE`'),
  handler: () => undefined,
};

/**
 * Options shared by the commands that build and release (`crio-build <branch>` and `nightly`):
 * signing, where to publish, run locks, the manifest. Secrets come from the environment only
 * (GITHUB_TOKEN, CRIO_BUILD_SIGNING_KEY, CRIO_BUILD_SIGNING_PASSPHRASE) and are never printed.
 */
import type { Argv } from 'yargs';
import { InvalidInputError, UsageError } from '../core/errors.js';
import { signingKeyFromEnvironment } from '../index/apt/index.js';
import { withSigner } from '../index/apt/sign.js';
import { resolveRepo } from '../publish/github/index.js';
import type { IndexOptions } from '../index/index-release.js';
import type { PublishOptions } from '../publish/publish-release.js';

export interface ReleaseArgs {
  publish: boolean;
  repo?: string;
  'dry-run': boolean;
  'base-url'?: string;
  'publish-dir'?: string;
  'signing-key'?: string;
  'valid-days': number;
  wait: boolean;
  manifest?: string;
}

export function releaseOptions<T>(y: Argv<T>) {
  return y
    .option('publish', { type: 'boolean', default: false, describe: 'publish the release: to GitHub Releases when GITHUB_TOKEN is set, else the directory publisher' })
    .option('repo', { type: 'string', requiresArg: true, describe: 'GitHub OWNER/REPO to publish to (default: $GITHUB_REPOSITORY, else the git remote "origin")' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'with --publish to GitHub: print every action, change nothing' })
    .option('base-url', { type: 'string', requiresArg: true, describe: 'where the directory publisher\'s releases are served (the notes\' apt lines use <URL>/<tag>); default file:// of artifacts/releases' })
    .option('publish-dir', { type: 'string', requiresArg: true, describe: 'directory publisher: also copy the release to DIR/<tag>/ (e.g. a web root)' })
    .option('signing-key', { type: 'string', requiresArg: true, describe: 'armored secret key file for the apt repository (or $CRIO_BUILD_SIGNING_KEY; passphrase in $CRIO_BUILD_SIGNING_PASSPHRASE)' })
    .option('valid-days', { type: 'number', default: 14, describe: 'nightlies: apt refuses the index this many days after it was signed (Valid-Until)' })
    .option('wait', { type: 'boolean', default: true, describe: 'wait while another run uses the cache or artifacts dir (--no-wait: fail at once, exit 75)' })
    .option('manifest', { type: 'string', requiresArg: true, describe: 'write the run manifest (every job and artifact with its inputs, commits, checksums, builder) to FILE' });
}

export interface ReleaseSettings {
  index: NonNullable<Omit<IndexOptions, 'artifactsDir' | 'branch' | 'tag' | 'onStep' | 'cacheDir'>>;
  publish?: PublishOptions;
}

/** Turns the options and the environment into the index and publish stages' settings. */
export async function releaseSettings(a: ReleaseArgs, env: NodeJS.ProcessEnv = process.env): Promise<ReleaseSettings> {
  if (!Number.isInteger(a['valid-days']) || a['valid-days'] < 1 || a['valid-days'] > 3650) {
    throw new UsageError(`--valid-days ${a['valid-days']}: must be a whole number of days from 1 to 3650`);
  }
  const signing = signingKeyFromEnvironment(env, a['signing-key']);
  // A key that cannot sign (unreadable file, wrong passphrase, no secret key) fails now, not after the build.
  if (signing) await withSigner(signing, (s) => s.sign('crio-build: signing key check\n'));
  const index = { ...(signing ? { signing } : {}), validDays: a['valid-days'] };
  if (!a.publish) {
    if (a['dry-run'] || a.repo || a['publish-dir']) throw new UsageError('--dry-run, --repo and --publish-dir go with --publish');
    return { index: { ...index, ...(a['base-url'] ? { baseUrl: checkUrl(a['base-url']) } : {}) } };
  }
  const token = env.GITHUB_TOKEN;
  if (token && !a['publish-dir']) {
    if (a['base-url']) throw new UsageError('--base-url is for the directory publisher; GitHub releases are served from github.com');
    // Checked before anything is built (the index stage, which also refuses, comes after the builds).
    if (!signing) {
      throw new InvalidInputError(
        'publishing to GitHub needs the repository signing key: none was given',
        'set CRIO_BUILD_SIGNING_KEY (an armored secret key) or --signing-key FILE; make one with `crio-build keys generate --out FILE`',
      );
    }
    const { owner, repo } = await resolveRepo({ flag: a.repo ?? env.GITHUB_REPOSITORY });
    const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
    return {
      index: { ...index, requireKey: true, baseUrl: `${server}/${owner}/${repo}/releases/download` },
      publish: { target: 'github', owner, repo, token, ...(env.GITHUB_API_URL ? { apiUrl: env.GITHUB_API_URL } : {}), ...(a['dry-run'] ? { dryRun: true } : {}) },
    };
  }
  if (a['dry-run']) throw new UsageError('--dry-run needs GitHub publishing (set GITHUB_TOKEN); the directory publisher writes only under artifacts/ and --publish-dir');
  return {
    index: { ...index, ...(a['base-url'] ? { baseUrl: checkUrl(a['base-url']) } : {}) },
    publish: { target: 'directory', ...(a['publish-dir'] ? { dir: a['publish-dir'] } : {}) },
  };
}

function checkUrl(u: string): string {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new UsageError(`--base-url ${JSON.stringify(u.slice(0, 200))} is not a URL`, 'e.g. https://example.org/crio or http://192.168.1.10:8080');
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new UsageError(`--base-url ${JSON.stringify(u.slice(0, 200))}: allowed are http, https and file URLs without credentials, query or fragment`);
  }
  return u.replace(/\/+$/, '');
}

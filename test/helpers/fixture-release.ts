/**
 * A published release of the miniature upstreams, made by the real CLI as a user makes one:
 * `crio-build release-1.18 --arch <arch> --publish` on a test site (makeTestSite: the real recipes
 * pointed at the miniature upstreams through the documented mirror and toolchain override), with
 * Debian's Go in the official tarball layout as the toolchain, and no GITHUB_TOKEN, so the
 * directory publisher leaves artifacts/releases/<tag>/ (the release directory the acceptance run
 * takes). Without --base-url the notes name the directory as a file:// URL.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { runCli, type CliResult } from './cli.js';
import { makeTestSite, type TestSite } from './site.js';

export interface FixtureRelease {
  site: TestSite;
  /** artifacts/releases/<tag> */
  dir: string;
  tag: string;
  cli: CliResult;
}

export async function makeFixtureRelease(o: { arch: 'amd64' | 'arm64'; branch?: string; env?: Record<string, string> }): Promise<FixtureRelease> {
  const dir = join(TEST_CACHE, 'toolchains');
  const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
  const site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
  const branch = o.branch ?? 'release-1.18';
  const args = [branch, '--arch', o.arch, ...site.args, '--publish'];
  const cli = await runCli(args, { env: { GITHUB_TOKEN: '', ...(o.env ?? {}) } });
  if (cli.code !== 0) throw new Error(`crio-build ${args.join(' ')} exited ${cli.code}:\n${cli.stderr.slice(-4000)}`);
  const releases = join(site.artifactsDir, 'releases');
  const tags = (await readdir(releases)).filter((t) => !t.startsWith('.'));
  if (tags.length !== 1) throw new Error(`expected one release under ${releases}, found: ${tags.join(', ')}`);
  const tag = tags[0] as string;
  return { site, dir: join(releases, tag), tag, cli };
}

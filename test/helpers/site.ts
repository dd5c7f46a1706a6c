/**
 * A test "site": the miniature upstreams as local bare repos, a local HTTP server for toolchain
 * archives, and a settings file that points the REAL recipes at them through the same mirror and
 * override options an air-gapped user writes.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { stringify } from 'yaml';
import { createUpstreams, type Upstreams } from '../fixtures/upstreams.js';
import { startFileServer, type FileServer } from './file-server.js';
import { tempDir } from './tmp.js';

export interface TestSite {
  root: string;
  upstreams: Upstreams;
  server: FileServer;
  configPath: string;
  cacheDir: string;
  artifactsDir: string;
  toolchains: Record<'amd64' | 'arm64', { url: string; sha256: string }>;
  /** CLI arguments that select this site's settings, cache and artifacts. */
  args: string[];
  close(): Promise<void>;
}

export interface SiteOptions {
  /** Real Go toolchain tarballs (Debian's Go in the official layout) instead of small stand-ins, as files. */
  toolchainFiles?: Record<'amd64' | 'arm64', { path: string; sha256: string }>;
}

export async function makeTestSite(opts: SiteOptions = {}): Promise<TestSite> {
  const root = await tempDir('crio-build-site-');
  const upstreams = await createUpstreams(join(root, 'upstreams'));
  const server = await startFileServer();
  const toolchains = {} as TestSite['toolchains'];
  for (const arch of ['amd64', 'arm64'] as const) {
    const file = opts.toolchainFiles?.[arch];
    if (file) {
      // Large archives come through file:// (the http path is covered with the stand-ins).
      toolchains[arch] = { url: pathToFileURL(file.path).href, sha256: file.sha256 };
      continue;
    }
    const body = await standInToolchain(arch);
    const path = `/go/go-fixture.linux-${arch}.tar.gz`;
    server.files.set(path, body);
    toolchains[arch] = { url: `${server.url}${path}`, sha256: createHash('sha256').update(body).digest('hex') };
  }
  const configPath = join(root, 'crio-build.yaml');
  writeSiteConfig(configPath, upstreams, toolchains);
  const cacheDir = join(root, 'cache');
  const artifactsDir = join(root, 'artifacts');
  return {
    root,
    upstreams,
    server,
    configPath,
    cacheDir,
    artifactsDir,
    toolchains,
    args: ['--config', configPath, '--cache-dir', cacheDir, '--artifacts', artifactsDir],
    close: () => server.close(),
  };
}

/** The settings file, exactly as README documents it for air-gapped sites. */
export function writeSiteConfig(path: string, upstreams: Upstreams, toolchains: TestSite['toolchains']): void {
  const config = {
    mirrors: [upstreams.mirror],
    toolchains: { 'go1.13.10': { version: 'fixture', archives: toolchains }, 'go1.26.4': { version: 'fixture', archives: toolchains } },
    components: fixturePinSwaps(upstreams),
  };
  writeFileSync(path, stringify(config));
}

/**
 * The recipes pin real upstream commits; the miniature upstreams have their own, so every tag of
 * theirs is swapped in the way a site building a patched fork swaps a pin (settings `components:`).
 */
export function fixturePinSwaps(upstreams: Upstreams): Record<string, { releases: Record<string, { commit: string }> }> {
  const component: Record<string, string> = { 'cri-o/cri-o': 'cri-o', 'containers/conmon': 'conmon', 'containernetworking/plugins': 'cni-plugins', 'kubernetes-sigs/cri-tools': 'cri-tools' };
  const swaps: Record<string, { releases: Record<string, { commit: string }> }> = {};
  for (const repo of upstreams.all) {
    const name = component[repo.slug];
    if (!name) continue;
    swaps[name] = { releases: Object.fromEntries(Object.entries(repo.tags).map(([tag, commit]) => [tag, { commit }])) };
  }
  return swaps;
}

/** A tiny tarball in the go/ layout: enough to plan and fetch with, not to build with. */
async function standInToolchain(arch: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: 'go/bin/go', mode: 0o755, mtime: new Date(0) }, `#!/bin/sh\necho go version stand-in linux/${arch}\n`);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/**
 * User settings for air-gapped sites and tests: mirrors that rewrite URL prefixes, toolchain swaps,
 * and where the cache lives. Read from --config, $CRIO_BUILD_CONFIG, or ~/.config/crio-build/config.yaml.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { gitCommit, refName, safeName, sha256Hex, sourceUrl } from './recipe/schema.js';
import { readDataFile, validateYaml } from './recipe/yaml-validate.js';

const archive = z.object({ url: sourceUrl, sha256: sha256Hex }).strict();

export const configSchema = z
  .object({
    cacheDir: z.string().max(1024).optional(),
    mirrors: z
      .array(z.object({ from: sourceUrl, to: sourceUrl }).strict())
      .max(256)
      .default([]),
    toolchains: z
      .record(
        safeName,
        z
          .object({
            /** What the replacement really is, shown in plans and manifests (e.g. "1.19.8"). */
            version: z.string().max(32).optional(),
            archives: z.object({ amd64: archive.optional(), arm64: archive.optional() }).strict(),
          })
          .strict(),
      )
      .default({}),
    /**
     * Pin swaps for components: build a tag from another commit (a patched fork behind a mirror,
     * or the miniature upstreams of the test suite). The recipe's own pins stay untouched.
     */
    components: z
      .record(safeName, z.object({ releases: z.record(refName, z.object({ commit: gitCommit }).strict()) }).strict())
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export interface Mirror {
  from: string;
  to: string;
}

export function defaultConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'crio-build', 'config.yaml');
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'crio-build');
}

export interface ConfigOptions {
  /** --config: must exist when given. */
  config?: string;
  /** --mirror FROM=TO flags, applied before the file's mirrors (flags win). */
  mirror?: string[];
  /** --cache-dir */
  cacheDir?: string;
}

export interface Settings {
  configFile?: string;
  cacheDir: string;
  mirrors: Mirror[];
  toolchains: Config['toolchains'];
  components: Config['components'];
}

export async function loadSettings(opts: ConfigOptions): Promise<Settings> {
  const explicit = opts.config ?? process.env.CRIO_BUILD_CONFIG;
  const file = explicit ?? (existsSync(defaultConfigPath()) ? defaultConfigPath() : undefined);
  const config: Config = file ? validateYaml(file, await readDataFile(file), configSchema).value : configSchema.parse({});
  const flagMirrors = (opts.mirror ?? []).map(parseMirrorFlag);
  const cacheDir = opts.cacheDir ?? process.env.CRIO_BUILD_CACHE ?? config.cacheDir ?? defaultCacheDir();
  return {
    configFile: file,
    cacheDir: resolve(cacheDir),
    mirrors: [...flagMirrors, ...config.mirrors],
    toolchains: config.toolchains,
    components: config.components,
  };
}

function parseMirrorFlag(flag: string): Mirror {
  const eq = flag.indexOf('=');
  const pair = { from: flag.slice(0, eq), to: flag.slice(eq + 1) };
  const parsed = z.object({ from: sourceUrl, to: sourceUrl }).safeParse(pair);
  if (eq <= 0 || !parsed.success) {
    throw new UsageError(`--mirror ${JSON.stringify(flag)}: expected FROM=TO, two http(s):// or file:// URL prefixes`, 'example: --mirror https://github.com/=file:///srv/mirror/github/');
  }
  return parsed.data;
}

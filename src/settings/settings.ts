/**
 * User settings for air-gapped sites and tests: mirrors that rewrite URL prefixes, toolchain swaps,
 * and where the cache lives. Read from --config, $CRIO_BUILD_CONFIG, or ~/.config/crio-build/config.yaml.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { quote, UsageError } from '../core/errors.js';
import { gitCommit, refName, safeName, sha256Hex, sourceUrl, SUPPORTED_ARCHES, type Arch } from '../recipe/schema.js';
import { readDataFile, validateYaml } from '../recipe/yaml-validate.js';

const archive = z.object({ url: sourceUrl, sha256: sha256Hex }).strict();

const filePath = z.string().min(1).max(1024);
/** An ssh host key fingerprint as `ssh-keygen -lf` and ssh print it. */
const sshFingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'an ssh host key fingerprint, SHA256: and 43 base64 characters, as `ssh-keygen -lf KEY.pub` prints it');
/** A Docker engine to build on: the local socket, a remote one over TLS, or one reached through ssh. */
export const hostSchema = z
  .object({
    name: safeName,
    endpoint: z
      .string()
      .max(1024)
      .regex(
        /^(unix:\/\/\/[^\s]+|tcp:\/\/[A-Za-z0-9.-]+:\d{1,5}|tcp:\/\/\[[0-9A-Fa-f:.]+\]:\d{1,5}|ssh:\/\/[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:\d{1,5})?)$/,
        'unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]',
      ),
    /** Client certificate, key and the CA that signed the engine's certificate (tcp:// only). */
    tls: z.object({ ca: filePath, cert: filePath, key: filePath }).strict().optional(),
    /** A tcp:// engine without TLS: not authenticated, plain text; only when said so, warned about on every run. */
    insecure: z.literal(true).optional(),
    /** How an ssh:// host proves who it is, and how we log in (ssh:// only). */
    ssh: z
      .object({
        /** The host key's fingerprint (or several); without it, known_hosts decides. */
        hostKey: z.union([sshFingerprint, z.array(sshFingerprint).min(1).max(8)]).optional(),
        /** known_hosts file (default ~/.ssh/known_hosts), relative to the config file. */
        knownHosts: filePath.optional(),
        /** Private key to log in with (default: the ssh agent, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa), relative to the config file. */
        identity: filePath.optional(),
      })
      .strict()
      .optional(),
    /** The arches this engine runs natively; others run there under qemu. */
    platforms: z.array(z.enum(SUPPORTED_ARCHES)).min(1).max(SUPPORTED_ARCHES.length),
    /** Builds at once on this engine. */
    concurrency: z.number().int().min(1).max(64),
  })
  .strict()
  .superRefine((h, ctx) => {
    const tcp = h.endpoint.startsWith('tcp://');
    if (h.tls && !tcp) ctx.addIssue({ code: 'custom', message: 'tls applies to tcp:// endpoints only', path: ['tls'] });
    if (h.insecure && !tcp) ctx.addIssue({ code: 'custom', message: 'insecure applies to tcp:// endpoints only', path: ['insecure'] });
    if (h.insecure && h.tls) ctx.addIssue({ code: 'custom', message: 'insecure and tls exclude each other (allowed: one of them)', path: ['insecure'] });
    if (tcp && !h.tls && !h.insecure) {
      ctx.addIssue({
        code: 'custom',
        message: 'a tcp:// engine needs TLS: without it the engine is not authenticated and anyone on the way can run containers as root on it (allowed: tls: { ca, cert, key }, or insecure: true to accept a plain-text engine, warned about on every run)',
        path: ['tls'],
      });
    }
    if (h.ssh && !h.endpoint.startsWith('ssh://')) ctx.addIssue({ code: 'custom', message: 'ssh applies to ssh:// endpoints only', path: ['ssh'] });
  });

export const configSchema = z
  .object({
    cacheDir: z.string().min(1).max(1024).optional(),
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
            version: z.string().max(32).regex(/^[^\p{Cc}\p{Cf}]*$/u, 'a version without control characters').optional(),
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
    /**
     * The Docker engines of the farm. Absent: the local engine (DOCKER_HOST or the local socket),
     * with its own arch as native platform and 2 builds at once.
     */
    /**
     * Go's build cache kept between builds in a Docker volume on each engine (src/build/go-cache.ts):
     * off with enabled: false (or --no-build-cache); maxMiB bounds each volume.
     */
    goBuildCache: z
      .object({ enabled: z.boolean().default(true), maxMiB: z.number().int().min(64).max(1_048_576).default(4096) })
      .strict()
      .optional(),
    hosts: z
      .array(hostSchema)
      .min(1)
      .max(64)
      .superRefine((hosts, ctx) => {
        const seen = new Set<string>();
        hosts.forEach((h, i) => {
          if (seen.has(h.name)) ctx.addIssue({ code: 'custom', message: `host name "${h.name}" is used twice`, path: [i, 'name'] });
          seen.add(h.name);
        });
      })
      .optional(),
  })
  .strict();

/** One farm host as the config gives it (platforms empty only in the built-in default: "the engine's own arch"). */
/** Go's build cache between builds (src/build/go-cache.ts keeps it): on or off, and its bound. */
export interface GoCacheSettings {
  enabled: boolean;
  /** The volume's bound in MiB: above it, the oldest entries are removed before a build. */
  maxMiB: number;
}

export const DEFAULT_GO_CACHE: GoCacheSettings = { enabled: true, maxMiB: 4096 };

export interface HostConfig {
  name: string;
  endpoint: string;
  tls?: { ca: string; cert: string; key: string };
  /** tcp:// without TLS, accepted because the settings say so (warned about on every run). */
  insecure?: boolean;
  /** ssh:// only: the host key's fingerprints, or the known_hosts file; the login key. */
  ssh?: { hostKey?: string[]; knownHosts?: string; identity?: string };
  platforms: Arch[];
  concurrency: number;
}

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
  /** --no-build-cache: builds start from the builder image's Go cache alone. */
  noBuildCache?: boolean;
}

export interface Settings {
  configFile?: string;
  cacheDir: string;
  mirrors: Mirror[];
  toolchains: Config['toolchains'];
  components: Config['components'];
  /** The farm's Docker hosts from the config; absent means the local engine (see defaultHostConfig). */
  hosts?: HostConfig[];
  /** Go's build cache between builds; absent: on, 4096 MiB per volume (DEFAULT_GO_CACHE). */
  goBuildCache?: GoCacheSettings;
}

export async function loadSettings(opts: ConfigOptions): Promise<Settings> {
  // An empty flag is a mistake (it would silently mean "no settings file" or "the cache is the
  // current directory"). CRIO_BUILD_CONFIG="" still means no settings file; CRIO_BUILD_CACHE="" unset.
  if (opts.config === '') throw new UsageError('--config "": an empty file name', 'name a settings file, or leave --config out');
  if (opts.cacheDir === '') throw new UsageError('--cache-dir "": an empty directory name', 'name a directory, or leave --cache-dir out');
  const explicit = opts.config ?? process.env.CRIO_BUILD_CONFIG;
  const file = explicit ?? (existsSync(defaultConfigPath()) ? defaultConfigPath() : undefined);
  const config: Config = file ? validateYaml(file, await readDataFile(file), configSchema).value : configSchema.parse({});
  const flagMirrors = (opts.mirror ?? []).map(parseMirrorFlag);
  const cacheDir = opts.cacheDir ?? (process.env.CRIO_BUILD_CACHE || undefined) ?? config.cacheDir ?? defaultCacheDir();
  return {
    configFile: file,
    cacheDir: resolve(cacheDir),
    mirrors: [...flagMirrors, ...config.mirrors],
    toolchains: config.toolchains,
    components: config.components,
    goBuildCache: { ...DEFAULT_GO_CACHE, ...config.goBuildCache, ...(opts.noBuildCache ? { enabled: false } : {}) },
    ...(config.hosts ? { hosts: config.hosts.map((h) => hostFromConfig(h, file)) } : {}),
  };
}

function hostFromConfig(h: NonNullable<Config['hosts']>[number], file: string | undefined): HostConfig {
  const { ssh, ...rest } = h;
  const rel = (p: string) => resolve(file ? dirname(resolve(file)) : process.cwd(), p);
  return {
    ...rest,
    tls: h.tls && resolveTls(h.tls, file),
    ...(ssh
      ? {
          ssh: {
            ...(ssh.hostKey ? { hostKey: typeof ssh.hostKey === 'string' ? [ssh.hostKey] : ssh.hostKey } : {}),
            ...(ssh.knownHosts ? { knownHosts: rel(ssh.knownHosts) } : {}),
            ...(ssh.identity ? { identity: rel(ssh.identity) } : {}),
          },
        }
      : {}),
  };
}

/** TLS file paths in a config file are relative to the file. */
function resolveTls(tls: NonNullable<HostConfig['tls']>, file: string | undefined): NonNullable<HostConfig['tls']> {
  const base = file ? dirname(resolve(file)) : process.cwd();
  return { ca: resolve(base, tls.ca), cert: resolve(base, tls.cert), key: resolve(base, tls.key) };
}

/**
 * The farm when the config names no hosts: the local engine (or $DOCKER_HOST, with the docker CLI's
 * DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for a tcp:// one), its own arch native. A tcp:// DOCKER_HOST
 * without TLS is refused when connecting, as in the settings (there: insecure: true).
 */
export function defaultHostConfig(concurrency = 2): HostConfig {
  const endpoint = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  const certs = process.env.DOCKER_CERT_PATH;
  const tls = endpoint.startsWith('tcp://') && process.env.DOCKER_TLS_VERIFY === '1' && certs ? { tls: { ca: join(certs, 'ca.pem'), cert: join(certs, 'cert.pem'), key: join(certs, 'key.pem') } } : {};
  return { name: 'local', endpoint, platforms: [], concurrency, ...tls };
}

function parseMirrorFlag(flag: string): Mirror {
  const eq = flag.indexOf('=');
  const pair = { from: flag.slice(0, eq), to: flag.slice(eq + 1) };
  const parsed = z.object({ from: sourceUrl, to: sourceUrl }).safeParse(pair);
  if (eq <= 0 || !parsed.success) {
    throw new UsageError(`--mirror ${quote(flag)}: expected FROM=TO, two http(s):// or file:// URL prefixes`, 'example: --mirror https://github.com/=file:///srv/mirror/github/');
  }
  return parsed.data;
}

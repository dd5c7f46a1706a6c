/**
 * The environment and paths of a build inside the builder container, and the placeholder
 * substitution for recipe argv strings. Kept apart from the container plumbing so it can be read
 * (and tested) as the answer to "what does a build see".
 */
import { posix } from 'node:path';
import type { Arch } from '../recipe/schema.js';
import type { BuildJob } from '../plan/build-job.js';

export const BUILD_ROOT = '/build';
export const GOPATH = `${BUILD_ROOT}/go`;
export const TOOLCHAIN_DIR = '/opt/toolchain';

export const GNU_TRIPLET: Record<Arch, string> = { arm64: 'aarch64-linux-gnu', amd64: 'x86_64-linux-gnu' };

/** Where the source tree is unpacked: under GOPATH for GOPATH-mode projects, else /build/src. */
export function sourceDir(job: { build: Pick<BuildJob['build'], 'gopath'> }): string {
  return job.build.gopath ? posix.join(GOPATH, 'src', job.build.gopath) : `${BUILD_ROOT}/src`;
}

const PLACEHOLDER = /\{(version|commit|buildTags|arch|sourceDateEpoch|buildDate|goInstallDir)\}/g;

/** The commit time as upstream Makefiles print a build date (`date -u +%Y-%m-%dT%H:%M:%SZ`). */
export function buildDate(commitTime: number): string {
  return new Date(commitTime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Where `go install` puts a command in GOPATH mode: $GOPATH/bin, or $GOPATH/bin/linux_<arch> when
 * cross-compiling (go refuses GOBIN for cross-compiled installs, so this is the only place).
 */
export function goInstallDir(arch: Arch, cross: boolean): string {
  return cross ? `${GOPATH}/bin/linux_${arch}` : `${GOPATH}/bin`;
}

/**
 * Replace the known placeholders ({version}, {commit}, {buildTags} space-joined, {arch} the target
 * GOARCH, {sourceDateEpoch}, {buildDate} the commit time in UTC, {goInstallDir} where `go install`
 * writes in GOPATH mode); other braces (Go templates, `{}`) are left as they are. `cross` says
 * whether the container's arch differs from the target's.
 */
export function substitute(s: string, job: EnvJob, cross = false): string {
  return s.replace(PLACEHOLDER, (_, name: string) => {
    switch (name) {
      case 'goInstallDir':
        return goInstallDir(job.arch, cross);
      case 'version':
        return job.version;
      case 'commit':
        return job.source.commit;
      case 'buildTags':
        return job.build.buildTags.join(' ');
      case 'arch':
        return job.arch;
      case 'buildDate':
        return buildDate(job.source.commitTime);
      default:
        return String(job.source.commitTime);
    }
  });
}

/** What the environment is made from: a BuildJob, or the same fields from a plan (src/package/record.ts). */
export interface EnvJob {
  arch: BuildJob['arch'];
  version: string;
  build: Pick<BuildJob['build'], 'buildTags' | 'cgo' | 'env' | 'gopath'>;
  source: Pick<BuildJob['source'], 'commit' | 'commitTime'>;
  toolchain: Pick<BuildJob['toolchain'], 'root' | 'env'>;
}

/**
 * The build environment, lowest precedence first: ours, then the toolchain's, then the recipe's.
 * `cross` is set when the container's arch differs from the target (a cross build).
 */
export function buildEnv(job: EnvJob, cross: boolean): Record<string, string> {
  const goroot = posix.join(TOOLCHAIN_DIR, job.toolchain.root);
  const env: Record<string, string> = {
    HOME: '/home/builder',
    USER: 'builder',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    PATH: `${goroot}/bin:${GOPATH}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    GOROOT: goroot,
    GOPATH,
    GOCACHE: `${BUILD_ROOT}/.cache/go-build`,
    // Hermetic: vendored modules only, no proxy or checksum DB (the network is off anyway), and
    // paths of the build machine kept out of the binaries.
    GOFLAGS: '-mod=vendor -trimpath',
    GOPROXY: 'off',
    GOSUMDB: 'off',
    GOTOOLCHAIN: 'local',
    GOOS: 'linux',
    GOARCH: job.arch,
    CGO_ENABLED: job.build.cgo ? '1' : '0',
    SOURCE_DATE_EPOCH: String(job.source.commitTime),
  };
  if (cross) {
    // The target's compiler and the target's .pc files (Debian multiarch paths), for cgo and for
    // C Makefiles that honour CC/PKG_CONFIG; plain `pkg-config` also sees only the target's.
    const t = GNU_TRIPLET[job.arch];
    Object.assign(env, {
      CC: `${t}-gcc`,
      CXX: `${t}-g++`,
      AR: `${t}-ar`,
      STRIP: `${t}-strip`,
      PKG_CONFIG: `${t}-pkg-config`,
      PKG_CONFIG_LIBDIR: `/usr/lib/${t}/pkgconfig:/usr/share/pkgconfig`,
      PKG_CONFIG_PATH: '',
    });
  }
  for (const [k, v] of Object.entries(job.toolchain.env)) env[k] = substitute(v, job, cross);
  for (const [k, v] of Object.entries(job.build.env)) env[k] = substitute(v, job, cross);
  return env;
}

/** Names that could hold a credential: never recorded, even though a build env holds none of ours. */
const SECRET_NAME = /(TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|PRIVATE|(^|_)KEY$)/i;

/**
 * The part of a build environment that is written into provenance and .buildinfo files: everything
 * that shapes the build (GOOS, GOARCH, CGO_ENABLED, GOFLAGS, CC, SOURCE_DATE_EPOCH, the recipe's
 * variables ...), without the build user's identity (HOME, USER) and without anything whose name
 * suggests a secret. Sorted by name.
 */
export function recordableEnvironment(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(env).sort()) {
    if (k === 'HOME' || k === 'USER' || SECRET_NAME.test(k)) continue;
    out[k] = env[k] as string;
  }
  return out;
}

export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

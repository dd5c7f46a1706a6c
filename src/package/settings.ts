/**
 * How the package stage compresses, and how much at once. Only `deb` and `bundle` change bytes;
 * `jobs` and `threads` change only the speed (xz's blocks and the bundle's gzip members are cut at
 * fixed sizes, whatever the thread count), so a 2-core runner and a 64-core one give the same files.
 *
 * The choices (figures: bench/README.md, "package-stage"):
 * - .deb data.tar: xz, because the .debs must install with the dpkg of the users' systems
 *   (Raspberry Pi OS bullseye: dpkg 1.20, which reads xz and gzip but not zstd), at preset 1 with
 *   a 16 MiB dictionary, in 16 MiB blocks. On real cri-o 1.18 arm64 (74 MB of data.tar) -6 takes
 *   32.6 s of CPU for 15.4 MB, -1 6.1 s for 17.4 MB (+13 %), gzip -6 3.3 s for 23.0 MB (+49 %):
 *   preset 1 is what fits the whole stage in 15 s on 2 cores. Its own 1 MiB dictionary made the CNI
 *   plugins (a dozen Go programs, 41 MB, sharing most of their code) 13.6 MB against 5.65 MB at -6;
 *   with 16 MiB it finds the repeats across plugins: 6.7 MB, at the same speed. 16 MiB blocks still
 *   give cri-o's 74 MB five blocks for the cores to share.
 * - the bundle: gzip, as cri-o's own bundle is (`tar cfz` in contrib/bundle/build of release-1.18,
 *   gzip's default level 6), cut into 4 MiB gzip members compressed side by side (./gzip-members.ts).
 */
import { availableParallelism } from 'node:os';
import type { DebCompression } from './deb/types.js';

export interface PackagingSettings {
  /** data.tar of every .deb. */
  deb: Required<Pick<DebCompression, 'data' | 'level'>> & Pick<DebCompression, 'blockSize' | 'dictSize'>;
  /** The bundle: gzip level, and uncompressed bytes per gzip member (absent: one gzip stream). */
  bundle: { level: number; memberSize?: number };
  /** Files written at once (.debs and the bundle). */
  jobs: number;
  /** Threads for each xz, and gzip members compressed at once in the bundle. */
  threads: number;
  /** Start the bundle only when every .deb is written (the previous design; false overlaps them). */
  bundleAfterDebs: boolean;
  /** Take unchanged files (same key, same bytes) from the previous run in the packages dir. */
  reuse: boolean;
}

const MiB = 1024 * 1024;

/** The stage's defaults, for a machine with `cpus` cores. */
export function packagingSettings(cpus: number = availableParallelism()): PackagingSettings {
  const n = Math.max(1, Math.floor(cpus));
  return {
    deb: { data: 'xz', level: 1, dictSize: 16 * MiB, blockSize: 16 * MiB },
    bundle: { level: 6, memberSize: 4 * MiB },
    jobs: n,
    threads: n,
    bundleAfterDebs: false,
    reuse: true,
  };
}

/**
 * The package stage as it was before per-package keys and parallel compression: every .deb at once
 * with a one-thread xz -6 (preset block size), then the bundle as one gzip -9 stream, nothing
 * reused. Kept so that bench/package-stage.ts measures both designs in one run.
 */
export function previousPackagingSettings(): PackagingSettings {
  return {
    deb: { data: 'xz', level: 6 },
    bundle: { level: 9 },
    jobs: Number.MAX_SAFE_INTEGER,
    threads: 1,
    bundleAfterDebs: true,
    reuse: false,
  };
}

export function checkPackagingSettings(s: PackagingSettings): void {
  if (!Number.isInteger(s.jobs) || s.jobs < 1) throw new Error(`package: jobs ${s.jobs} is not allowed; use an integer >= 1`);
  if (!Number.isInteger(s.threads) || s.threads < 1) throw new Error(`package: threads ${s.threads} is not allowed; use an integer >= 1`);
}

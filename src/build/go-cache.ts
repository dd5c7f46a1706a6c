/**
 * Go's build cache (GOCACHE), kept between builds in a named Docker volume on each engine, so a
 * one-commit change recompiles only the packages it touches instead of the whole dependency tree.
 *
 * Why outputs stay the same: Go's cache is content-addressed. An entry is found by its action ID,
 * the hash of every input of the compile (the source files' hashes, the compiler and its flags,
 * GOOS/GOARCH, the cgo compiler and flags, the content IDs of the dependencies); a hit is what the
 * compile would have produced from the same inputs. The volume is shared only where that holds and
 * where the writers are trusted alike: one volume per builder key (image content, which includes the
 * toolchain and the cross target), toolchain archive, target arch, strategy and component, so only
 * builds of one upstream repository in one exact builder ever write to it.
 *
 * What Go does not check, and we do: for a compiled package Go reads the action entry (`<id>-a`,
 * which must name its own action ID) and the output file it points to (`<output id>-d`) only for its
 * size (cmd/go/internal/cache GetFile), not its content. Every output file is named by the sha256 of
 * its content, so before each build `MAINTAIN_SCRIPT` hashes them all and removes any whose content
 * does not match its name: a corrupt entry becomes a miss (recompiled), never a changed binary.
 * It also bounds the volume's size, removing least recently used entries (Go refreshes an entry's
 * mtime when it uses it).
 *
 * Not detectable by hashing: an action entry rewritten on purpose to point at another valid output.
 * Only a build container of the same component in the same builder can write the volume, i.e. the
 * same upstream whose code the build ships anyway; `--no-build-cache` (or `goBuildCache.enabled:
 * false`) builds from the image's cache alone, and `crio-build builders prune` drops the volumes.
 *
 * The volumes are not labelled io.crio-build.managed (that label marks what a run must leave
 * behind, see cleanupContainers): they carry LABEL_GO_CACHE instead.
 */
import type Docker from 'dockerode';
import { sha256Hex } from '../core/hash.js';
import type { DockerDriver } from '../hosts/docker.js';
// Its settings (on/off, bound) are the settings file's (GoCacheSettings); what a build reports is
// part of a build job's result (GoCacheReport).
import type { GoCacheReport } from '../plan/build-job.js';

/** Where the build's GOCACHE is (build-env.ts); the builder image warms the standard library there. */
export const GO_CACHE_DIR = '/build/.cache/go-build';
export const LABEL_GO_CACHE = 'io.crio-build.go-cache';
const VOLUME_PREFIX = 'crio-build-gocache-';

/** What decides which builds may share a Go build cache. */
export interface GoCacheScope {
  builderKey: string;
  toolchainSha256: string;
  arch: string;
  strategy: string;
  component: string;
}

export interface GoCacheVolume {
  name: string;
  labels: Record<string, string>;
}

export function goCacheVolume(scope: GoCacheScope): GoCacheVolume {
  const id = sha256Hex(JSON.stringify([scope.builderKey, scope.toolchainSha256, scope.arch, scope.strategy, scope.component]));
  const readable = `${scope.component}-${scope.arch}-${scope.strategy}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  return {
    name: `${VOLUME_PREFIX}${readable}-${id.slice(0, 16)}`,
    labels: {
      [LABEL_GO_CACHE]: 'true',
      'io.crio-build.builder-key': scope.builderKey,
      'io.crio-build.toolchain': scope.toolchainSha256,
      'io.crio-build.component': scope.component,
      'io.crio-build.arch': scope.arch,
      'io.crio-build.strategy': scope.strategy,
    },
  };
}

/**
 * The container mount. On its first use the engine creates the volume and copies the image's
 * GO_CACHE_DIR into it (the standard library the image warmed, owned by `builder`).
 */
export function goCacheMount(volume: GoCacheVolume): Docker.MountSettings {
  return { Type: 'volume', Source: volume.name, Target: GO_CACHE_DIR, ReadOnly: false, VolumeOptions: { NoCopy: false, Labels: volume.labels } } as Docker.MountSettings;
}

/**
 * Run as `builder` in the build container before the steps: `sh -c MAINTAIN_SCRIPT sh DIR MAX_KIB`.
 * 1. Hash every output file (`<sha256>-d`) and remove those whose content does not match the name
 *    (or that cannot be read).
 * 2. Above MAX_KIB, remove the least recently used entries until it is under three quarters of it,
 *    never one used in the last hour: Go refreshes an entry's mtime when it uses one older than that,
 *    so a build running at the same time on the same volume (another branch) keeps what it reads.
 * Prints one line `gocache entries=N kib=N corrupt=N trimmed=N` (read by parseMaintainReport).
 */
export const MAINTAIN_SCRIPT = `set -eu
dir=$1; max=$2; tmp=$(mktemp -d)
cd "$dir"
# openssl uses the CPU's SHA instructions (about 20 times coreutils' sha256sum here); either prints
# "<sha256> [*]<path>". A file that cannot be hashed (unreadable) counts as corrupt too.
hash=sha256sum
if command -v openssl >/dev/null 2>&1; then hash='openssl dgst -sha256 -r'; fi
find . -type f -name '*-d' > "$tmp/all"
tr '\\n' '\\0' < "$tmp/all" | xargs -0 -r $hash > "$tmp/sums" 2>/dev/null || true
awk 'NR == FNR { p = $2; sub(/^\\*/, "", p); n = p; sub(/^.*\\//, "", n); sub(/-d$/, "", n); if (n == $1) ok[p] = 1; next } !($0 in ok)' "$tmp/sums" "$tmp/all" > "$tmp/bad"
corrupt=$(wc -l < "$tmp/bad")
[ "$corrupt" -eq 0 ] || tr '\\n' '\\0' < "$tmp/bad" | xargs -0 rm -f --
trimmed=0
kib=$(du -sk . | cut -f1)
if [ "$kib" -gt "$max" ]; then
  find . -type f \\( -name '*-a' -o -name '*-d' \\) -mmin +60 -printf '%T@ %k %p\\n' | sort -n |
    awk -v over=$((kib - max * 3 / 4)) '{ if (freed >= over) exit; freed += $2; print $3 }' > "$tmp/old"
  trimmed=$(wc -l < "$tmp/old")
  tr '\\n' '\\0' < "$tmp/old" | xargs -0 -r rm -f --
  kib=$(du -sk . | cut -f1)
fi
entries=$(find . -type f -name '*-a' | wc -l)
rm -rf "$tmp"
echo "gocache entries=$entries kib=$kib corrupt=$corrupt trimmed=$trimmed"
`;


export function parseMaintainReport(volume: string, text: string): GoCacheReport {
  const m = /gocache entries=(\d+) kib=(\d+) corrupt=(\d+) trimmed=(\d+)/.exec(text);
  if (!m) throw new Error(`the Go build cache check printed no report: ${JSON.stringify(text.slice(-200))}`);
  return { volume, entries: Number(m[1]), bytes: Number(m[2]) * 1024, corrupt: Number(m[3]), trimmed: Number(m[4]) };
}

export interface GoCacheVolumeInfo {
  name: string;
  labels: Record<string, string>;
  /** When the engine made it (the engine's CreatedAt). */
  created?: string;
}

export async function listGoCacheVolumes(driver: DockerDriver): Promise<GoCacheVolumeInfo[]> {
  const res = (await driver.client.listVolumes({ filters: JSON.stringify({ label: [`${LABEL_GO_CACHE}=true`] }) } as never)) as unknown as { Volumes?: { Name: string; Labels?: Record<string, string>; CreatedAt?: string }[] } | undefined;
  return (res?.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {}, created: v.CreatedAt }));
}

/**
 * Remove the Go build cache volumes: all, or those of `components`, except those whose builder key is in `keepBuilderKeys`.
 * A volume a running build has mounted cannot be removed (409): it is skipped and named.
 */
export async function pruneGoCacheVolumes(driver: DockerDriver, opts: { keepBuilderKeys?: Iterable<string>; components?: readonly string[] } = {}): Promise<{ removed: string[]; skipped: string[] }> {
  const keep = new Set(opts.keepBuilderKeys ?? []);
  const removed: string[] = [];
  const skipped: string[] = [];
  for (const v of await listGoCacheVolumes(driver)) {
    if (keep.has(v.labels['io.crio-build.builder-key'] ?? '')) continue;
    if (opts.components && !opts.components.includes(v.labels['io.crio-build.component'] ?? '')) continue;
    try {
      await driver.client.getVolume(v.name).remove();
      removed.push(v.name);
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code === 404) continue;
      if (code !== 409) throw err;
      skipped.push(v.name);
    }
  }
  return { removed, skipped };
}

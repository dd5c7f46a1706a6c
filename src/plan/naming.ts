/**
 * Names and versions of what the package stage produces, known before anything is built so the
 * plan can list every artifact. Upstream components map to Debian package names here.
 */
import { sha256Hex } from '../core/hash.js';
import type { Arch } from '../recipe/schema.js';

/** Debian package name per component recipe. */
export const DEB_NAMES: Record<string, string> = {
  'cri-o': 'cri-o',
  // CRI-O's own conmon, in /usr/libexec/crio beside Debian's conmon (which podman needs): see definitions/conmon.ts.
  conmon: 'cri-o-conmon',
  'cni-plugins': 'containernetworking-plugins',
  'cri-tools': 'cri-tools',
};

export function debName(component: string): string {
  return DEB_NAMES[component] ?? component;
}

/** Our packaging revision: bump when packaging changes but upstream does not. */
export const DEBIAN_REVISION = '1';

/**
 * Debian and Raspberry Pi OS carry their own containernetworking-plugins with a higher upstream
 * version than the one CRI-O 1.18 pins. Like the openSUSE Kubic repositories that long shipped
 * CRI-O for Debian and Ubuntu, we put our packages in epoch 100, so apt prefers our builds once our
 * repository is added, and cri-o's exact Depends keep the set consistent. (conmon is not replaced:
 * ours is cri-o-conmon, a name of its own, because Debian's podman needs a newer conmon than the
 * one CRI-O 1.18 pins.)
 */
export const DEB_EPOCH = '100';

export function debVersion(upstreamVersion: string): string {
  return `${DEB_EPOCH}:${upstreamVersion}-${DEBIAN_REVISION}`;
}

/**
 * File names must survive as GitHub release asset names, which may not hold "+", "~" or ":";
 * the real version lives in the control file and the Packages index, not in the file name.
 */
export function assetSafe(name: string): string {
  // A leading dot would hide the file (and GitHub renames such assets); empty is not a name.
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_') || '_';
  if (safe.length <= MAX_ASSET_NAME) return safe;
  // Too long for a file or asset name: keep the start and the end (arch and extension), with a
  // hash of the whole name between them so two long names stay different.
  const hash = sha256Hex(name).slice(0, 16);
  const tail = 40;
  return `${safe.slice(0, MAX_ASSET_NAME - tail - hash.length - 2)}-${hash}-${safe.slice(-tail)}`;
}

/** File name length limit of most file systems, and of GitHub release asset names. */
export const MAX_ASSET_NAME = 255;

export function debFileName(pkg: string, version: string, arch: Arch): string {
  return assetSafe(`${pkg}_${version.replace(/^\d+:/, '')}_${arch}.deb`);
}

/** The layout name of cri-o's own release bundle: cri-o.<arch>.v<version>.tar.gz. */
export function bundleFileName(arch: Arch, criOVersion: string): string {
  return assetSafe(`cri-o.${arch}.v${criOVersion}.tar.gz`);
}

export const CHECKSUMS_FILE = 'SHA256SUMS';

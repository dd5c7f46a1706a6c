/**
 * A .buildinfo per .deb, in deb-buildinfo(5) form (Format 1.0): which package, its checksums, and
 * what it was built on and with — the builder's architecture, every Debian package installed in the
 * builder image with its exact version (Installed-Build-Depends, from the builder's provenance:
 * dpkg-query read back from the image), and the build's environment.
 *
 * Named like the .deb, with .buildinfo for .deb (cri-o_1.18.3-1_arm64.buildinfo), which is also
 * deb-buildinfo(5)'s "source-name_binary-version_arch.buildinfo" since each of our packages is its
 * own source. Fields beyond deb-buildinfo(5) carry the upstream source and the Go toolchain, as
 * X- fields (user-defined, deb822).
 */
import type { Arch } from '../recipe/schema.js';
import type { BuiltComponent } from './definitions/types.js';
import { changelogDate } from './files/docs.js';
import type { BuildProvenance } from '../build/provenance.js';
import { byteOrder } from '../core/order.js';

export interface BuildinfoInput {
  /** The Debian package: its name is also the source name. */
  name: string;
  /** Full Debian version (with epoch). */
  version: string;
  arch: Arch;
  deb: { file: string; size: number; md5: string; sha1: string; sha256: string };
  component: BuiltComponent;
  provenance: BuildProvenance & { builder: NonNullable<BuildProvenance['builder']> };
}

/** `name:arch version` (dpkg-query) -> "name (= version)", arch-qualified for a foreign arch as dpkg-genbuildinfo writes it. */
export function buildDependency(pkg: string, buildArch: string): string {
  const m = /^([a-z0-9][a-z0-9+.-]*):([a-z0-9-]+) (\S+)$/.exec(pkg);
  if (!m) throw new Error(`builder package "${pkg}" is not "name:arch version"`);
  const [, name, arch, version] = m;
  return `${arch === buildArch || arch === 'all' ? name : `${name}:${arch}`} (= ${version})`;
}


/** NAME="value", with backslashes and double quotes escaped (deb-buildinfo(5), Environment). */
function envLine(name: string, value: string): string {
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function multiline(name: string, lines: readonly string[]): string {
  return `${name}:\n${lines.map((l) => ` ${l}\n`).join('')}`;
}

export function renderBuildinfo(b: BuildinfoInput): string {
  const p = b.provenance;
  const d = b.deb;
  for (const [k, v] of Object.entries(p.environment ?? {})) {
    if (/[\n\r]/.test(k + v)) throw new Error(`buildinfo: environment variable ${k} holds a line break`);
  }
  const env = Object.entries(p.environment ?? {}).sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0));
  // By package name, as dpkg-genbuildinfo lists them (dpkg-query's "name:arch" order puts apt-x before apt).
  const deps = p.builder.packages.map((x) => buildDependency(x, p.builder.platform)).sort((x, y) => byteOrder(x.split(' ')[0]!, y.split(' ')[0]!));
  const fields: string[] = [
    'Format: 1.0\n',
    `Source: ${b.name}\n`,
    `Binary: ${b.name}\n`,
    `Architecture: ${b.arch}\n`,
    `Version: ${b.version}\n`,
    multiline('Checksums-Md5', [`${d.md5} ${d.size} ${d.file}`]),
    multiline('Checksums-Sha1', [`${d.sha1} ${d.size} ${d.file}`]),
    multiline('Checksums-Sha256', [`${d.sha256} ${d.size} ${d.file}`]),
    // The builder images are Debian bookworm roots (src/hosts/images/base-image.ts).
    'Build-Origin: Debian\n',
    // Where the compiler ran: the host's arch for a cross build (amd64 building arm64).
    `Build-Architecture: ${p.builder.platform}\n`,
    // The SOURCE_DATE_EPOCH of the build (the source commit's time), not the wall clock: the
    // packages carry that time too, and a rebuild must give this file byte for byte.
    `Build-Date: ${changelogDate(b.component.commitTime)}\n`,
    // Debian emits Build-Path only for paths under /build/, as ours are.
    ...(p.buildPath && p.buildPath.startsWith('/build/') ? [`Build-Path: ${p.buildPath}\n`] : []),
    // Every package of the builder image, not only the build-essential closure dpkg-genbuildinfo
    // lists: the builder's key is made from all of them.
    multiline('Installed-Build-Depends', deps.map((x, i) => (i < deps.length - 1 ? `${x},` : x))),
    ...(env.length ? [multiline('Environment', env.map(([k, v]) => envLine(k, v)))] : []),
    `X-Source-Repository: ${p.url}\n`,
    `X-Source-Commit: ${b.component.commit}\n`,
    `X-Go-Toolchain: ${p.toolchain.name} ${p.toolchain.version} sha256:${p.toolchain.sha256}\n`,
    `X-Builder-Key: ${p.builder.key}\n`,
  ];
  return fields.join('');
}

/**
 * The Docker images of the acceptance run, FROM crio-build's own debootstrapped Debian bookworm
 * base image of each arch (src/hosts/images/base-image.ts; no registry is needed), reused by a content
 * label while their Dockerfile is unchanged:
 *
 *   node   the fresh Debian root of the target arch: what a Raspberry Pi OS or Debian install
 *          has before anyone touches it (systemd as init, dbus, curl, sudo, ca-certificates,
 *          iproute2, procps). The .debs apt will want are downloaded (not installed) so the run
 *          does not wait on the mirror under qemu; criu (runc's Recommends, which brings python3:
 *          minutes under qemu, and unused by CRI-O) is pinned out.
 *   tools  amd64 (native, fast), sharing the node's network namespace: Debian's docker-registry,
 *          skopeo, containernetworking-plugins, iproute2, iptables, jq, and busybox-static of
 *          both arches for the images the run makes.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBaseImage } from '../src/hosts/images/base-image.js';
import { connectDocker } from '../src/hosts/docker.js';
import type { Arch } from '../src/recipe/schema.js';
import { must, run } from './proc.js';

const LABEL = 'io.crio-build.acceptance';

const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3';

/** Debian packages the packages (and the coexistence steps) will pull: downloaded ahead, not installed. */
const NODE_PREFETCH = [
  'runc', 'libglib2.0-0', 'libseccomp2', 'iptables', 'golang-github-containers-common', 'golang-github-containers-image',
  'netavark', 'aardvark-dns', 'podman', 'buildah', 'skopeo', 'uidmap', 'fuse-overlayfs', 'slirp4netns', 'catatonit', 'dbus-user-session',
];

export const NODE_DOCKERFILE = `RUN ${APT} update && ${APT} install -y --no-install-recommends curl ca-certificates sudo systemd systemd-sysv dbus iproute2 procps \\
 && ${APT} install -y --download-only ${NODE_PREFETCH.join(' ')} \\
 && rm -f /etc/apt/apt.conf.d/docker-clean \\
 && printf 'Package: criu\\nPin: release *\\nPin-Priority: -1\\n' > /etc/apt/preferences.d/no-criu \\
 && echo acceptance-node > /etc/hostname
STOPSIGNAL SIGRTMIN+3
`;

export const TOOLS_DOCKERFILE = `RUN dpkg --add-architecture arm64 && ${APT} update \\
 && ${APT} install -y --no-install-recommends docker-registry skopeo containernetworking-plugins iproute2 iptables jq busybox-static ca-certificates \\
 && mkdir -p /opt/busybox/amd64 /opt/busybox/arm64 /tmp/bb && cd /tmp/bb \\
 && apt-get download busybox-static:arm64 && dpkg-deb -x busybox-static_*_arm64.deb arm64 \\
 && cp arm64/bin/busybox /opt/busybox/arm64/busybox && cp /bin/busybox /opt/busybox/amd64/busybox \\
 && cd / && rm -rf /tmp/bb /var/lib/apt/lists/*
`;

/** An image FROM the base image of `arch`, reused while `body` is unchanged. */
export async function ensureImage(name: string, arch: Arch, body: string, say: (m: string) => void = () => {}): Promise<string> {
  const key = createHash('sha256').update(`${name}\n${arch}\n${body}`).digest('hex').slice(0, 16);
  const tag = `crio-build-acceptance/${name}:${arch}-${key}`;
  const existing = await run('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${LABEL}"}}`, tag]);
  if (existing.code === 0 && existing.stdout.trim() === key) return tag;
  say(`making the ${name} image for ${arch} (once; ${arch === 'arm64' && process.arch !== 'arm64' ? 'several minutes under qemu' : 'a minute or two'})`);
  const base = await ensureBaseImage(await connectDocker(), { arch });
  const ctx = await mkdtemp(join(tmpdir(), 'crio-acceptance-image-'));
  try {
    // The base's labels are overridden so that ensureBaseImage never takes this image for a base.
    await writeFile(
      join(ctx, 'Dockerfile'),
      `FROM ${base.id}\nLABEL io.crio-build.kind=acceptance io.crio-build.base=none\n${body}LABEL ${LABEL}=${key} io.crio-build.managed=false\n`,
    );
    await must('docker', ['build', '--platform', `linux/${arch}`, '-t', tag, ctx], { timeoutMs: 60 * 60_000 });
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  return tag;
}

export function nodeImage(arch: Arch, say?: (m: string) => void): Promise<string> {
  return ensureImage('node', arch, NODE_DOCKERFILE, say);
}

export function toolsImage(say?: (m: string) => void): Promise<string> {
  return ensureImage('tools', 'amd64', TOOLS_DOCKERFILE, say);
}

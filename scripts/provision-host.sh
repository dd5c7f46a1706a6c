#!/usr/bin/env bash
# Make a fresh Debian/Ubuntu host ready for crio-build and its tests: a Docker engine, qemu binfmt
# for arm64, debootstrap, the Debian packaging tools that judge our packages, gnupg, git, and what the
# tests' remote hosts need (openssh-server, openssl).
# Idempotent: a ready host is left as it is. Needs root (or sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
say() { printf 'provision: %s\n' "$*" >&2; }

PACKAGES=(
  docker.io                                   # the Docker engine the builders run on
  qemu-user-static binfmt-support             # arm64 containers and binaries on an amd64 host
  debootstrap                                 # base images when no registry can be reached
  dpkg-dev lintian systemd xz-utils           # dpkg-deb, lintian and systemd-analyze judge our packages
  shellcheck                                  # judges the crio-preflight script the cri-o package ships
  binutils-aarch64-linux-gnu binutils-x86-64-linux-gnu  # strip for the other arch when packaging
  gnupg                                       # apt repository signing and apt's verification
  git ca-certificates
  # remote build hosts in the test suite: an ssh endpoint (sshd, ssh-keygen), TLS certificates for a
  # TLS engine, and the bridge and NAT rules of a second engine that reaches Debian's mirror
  openssh-server openssl iptables iproute2
  # native builds of the miniature upstreams in the test suite
  golang-1.19-go gcc make pkg-config libc6-dev libseccomp-dev libglib2.0-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Foreign-arch package downloads (the test suite's arm64 Go toolchain comes from Debian's packages).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  say "adding the arm64 package architecture"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
fi

# qemu binfmt: the registration must carry the F flag so that containers can use it.
if [ "$(uname -m)" != "aarch64" ]; then
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    say "mounting binfmt_misc"
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if ! grep -qs enabled /proc/sys/fs/binfmt_misc/qemu-aarch64; then
    say "enabling qemu-aarch64 binfmt"
    $SUDO update-binfmts --enable qemu-aarch64
  fi
fi

# Docker engine: use a running one; otherwise start it (systemd when it runs, else in the background).
if ! $SUDO docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    say "starting docker with systemd"
    $SUDO systemctl start docker
  else
    say "starting dockerd in the background (log: /var/log/crio-build-dockerd.log)"
    $SUDO sh -c 'nohup setsid dockerd >/var/log/crio-build-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do
    $SUDO docker info >/dev/null 2>&1 && break
    sleep 1
  done
  $SUDO docker info >/dev/null 2>&1 || { say "dockerd did not start; see /var/log/crio-build-dockerd.log"; exit 1; }
fi
say "host ready: $(docker version --format 'Docker {{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)"

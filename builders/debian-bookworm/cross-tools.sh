#!/bin/sh
# cross-tools.sh <arch>  - in a cross builder, make the unprefixed binutils handle <arch> binaries.
# Upstream Makefiles call some tools without the target prefix (cri-o's pinns/Makefile runs
# `strip -s ../bin/pinns`); Debian's binutils-multiarch makes strip, objdump, nm, ... understand
# every target, so those steps work unchanged. A no-op when <arch> is empty (native builder).
set -eu
target=${1:-}
[ -n "$target" ] || exit 0
apt-get update -o Acquire::Retries=3
apt-get install -y --no-install-recommends -o Acquire::Retries=3 binutils-multiarch
apt-get clean
rm -rf /var/lib/apt/lists/*
strip --version | head -n 1

# ldd only tries the host's loaders, so a target binary looks "not a dynamic executable" here
# (and cri-o, which runs ldd on itself for `crio --version`, would report Linkmode static). Add the
# target's loader, which runs through qemu binfmt, so ldd answers for target binaries too.
case "$target" in
arm64) loader=/lib/ld-linux-aarch64.so.1 ;;
amd64) loader=/lib64/ld-linux-x86-64.so.2 ;;
esac
sed -i "s|^RTLDLIST=\"\\(.*\\)\"\$|RTLDLIST=\"\\1 $loader\"|" /usr/bin/ldd
grep -q "^RTLDLIST=.*$loader" /usr/bin/ldd

#!/bin/sh
# install-packages.sh native          - the image's own toolchain and -dev libraries
# install-packages.sh cross <arch>    - a cross C compiler for <arch> and the <arch> -dev libraries
#                                        (Debian multiarch); a no-op when <arch> is empty
set -eu
mode=$1
list=/opt/crio-build/packages.txt
apt_install() {
  apt-get update -o Acquire::Retries=3
  apt-get install -y --no-install-recommends -o Acquire::Retries=3 "$@"
  apt-get clean
  rm -rf /var/lib/apt/lists/*
}
names() { sed -e 's/#.*//' "$list" | awk -v s="$1" 'NF >= 2 && ($2 == s || s == "all") { print $1 }'; }

case "$mode" in
native)
  # shellcheck disable=SC2046
  apt_install ca-certificates $(names all)
  ;;
cross)
  target=${2:-}
  [ -n "$target" ] || exit 0
  case "$target" in
  arm64) triplet=aarch64-linux-gnu ;;
  amd64) triplet=x86_64-linux-gnu ;;
  *) echo "unsupported cross target $target" >&2; exit 2 ;;
  esac
  dpkg --add-architecture "$target"
  # crossbuild-essential-<arch> = gcc/g++-<triplet> + libc6-dev:<arch>; libc6:<arch> brings the
  # target's dynamic loader, so target binaries run here through qemu binfmt (crio config, --version).
  # shellcheck disable=SC2046
  apt_install "crossbuild-essential-$target" $(names target | sed "s/\$/:$target/")
  # A <triplet>-pkg-config that only sees the target's .pc files, for Makefiles that honour PKG_CONFIG.
  if ! command -v "$triplet-pkg-config" >/dev/null 2>&1; then
    printf '#!/bin/sh\nexport PKG_CONFIG_LIBDIR=/usr/lib/%s/pkgconfig:/usr/share/pkgconfig\nexec pkg-config "$@"\n' "$triplet" > "/usr/local/bin/$triplet-pkg-config"
    chmod 0755 "/usr/local/bin/$triplet-pkg-config"
  fi
  "$triplet-gcc" --version | head -n 1
  ;;
*)
  echo "usage: $0 native | cross <arch>" >&2
  exit 2
  ;;
esac

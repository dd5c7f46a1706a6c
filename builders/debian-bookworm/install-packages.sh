#!/bin/sh
# install-packages.sh native          - the image's own toolchain and -dev libraries
# install-packages.sh cross <arch>    - a cross C compiler for <arch> and the <arch> -dev libraries
#                                        (Debian multiarch); a no-op when <arch> is empty
#
# With pins/<variant>.lock (variant: the image's arch, or <arch>-cross-<target>), every package the
# lock names is installed at exactly its version (see pins/README.md); a version the mirror no
# longer has stops the build before anything is installed, naming it.
set -eu
mode=$1
dir=/opt/crio-build
list=$dir/packages.txt
host=$(dpkg --print-architecture)
prefs=/etc/apt/preferences.d/crio-build-pins

apt_update() { apt-get update -o Acquire::Retries=3; }
apt_install() { apt-get install -y --no-install-recommends --allow-downgrades -o Acquire::Retries=3 "$@"; }
finish() {
  apt-get clean
  rm -rf /var/lib/apt/lists/*
}
names() { sed -e 's/#.*//' "$list" | awk -v s="$1" 'NF >= 2 && ($2 == s || s == "all") { print $1 }'; }
# The lock's "name:arch version" lines as apt names them: an arch "all" package without its arch.
entries() { sed -e 's/#.*//' "$1" | awk 'NF == 2 { n = $1; sub(/:all$/, "", n); print n, $2 }'; }

# pin <variant>: apt preferences from the lock, then check the mirror has every locked version this
# image can install (the arches dpkg knows by now) that is not installed at that version already.
lock=""
pin() {
  lock=$dir/pins/$1.lock
  if [ ! -f "$lock" ]; then
    lock=""
    rm -f "$prefs"
    echo "crio-build: builder $1 is not pinned (no pins/$1.lock): the mirror's current versions are installed"
    return 0
  fi
  entries "$lock" | awk '{ printf "Package: %s\nPin: version %s\nPin-Priority: 1001\n\n", $1, $2 }' > "$prefs"
  echo "crio-build: builder $1 is pinned to pins/$1.lock ($(entries "$lock" | wc -l) packages)"
  arches=" $host $(dpkg --print-foreign-architectures | tr '\n' ' ') "
  missing=""
  for e in $(entries "$lock" | tr ' ' '='); do
    pkg=${e%%=*}
    ver=${e#*=}
    case "$pkg" in *:*) case "$arches" in *" ${pkg##*:} "*) ;; *) continue ;; esac ;; esac
    [ "$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)" = "$ver" ] && continue
    have=$(apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -u | tr '\n' ' ')
    case " $have " in *" $ver "*) ;; *) missing="$missing
  $pkg $ver (the mirror has: ${have:-no version})" ;; esac
  done
  if [ -n "$missing" ]; then
    echo "crio-build: pinned versions the Debian mirror no longer has (pins/$1.lock):$missing" >&2
    exit 3
  fi
}

# converge: locked packages that are installed at another version (the base image's) are moved to it.
converge() {
  [ -n "$lock" ] || return 0
  set --
  for e in $(entries "$lock" | tr ' ' '='); do
    pkg=${e%%=*}
    cur=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$pkg" 2>/dev/null || true)
    case "$cur" in "ii "*) [ "${cur#ii }" = "${e#*=}" ] || set -- "$@" "$e" ;; esac
  done
  [ "$#" -eq 0 ] || apt_install "$@"
}

case "$mode" in
native)
  cp "$dir/apt-sources.list" /etc/apt/sources.list.d/crio-build.list
  apt_update
  pin "$host"
  # shellcheck disable=SC2046
  apt_install ca-certificates $(names all)
  converge
  finish
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
  apt_update
  pin "$host-cross-$target"
  # crossbuild-essential-<arch> = gcc/g++-<triplet> + libc6-dev:<arch>; libc6:<arch> brings the
  # target's dynamic loader, so target binaries run here through qemu binfmt (crio config, --version).
  # shellcheck disable=SC2046
  apt_install "crossbuild-essential-$target" $(names target | sed "s/\$/:$target/")
  converge
  finish
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

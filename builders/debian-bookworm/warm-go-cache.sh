#!/bin/sh
# warm-go-cache.sh [<cross-target>]  - run as `builder`: compile the Go standard library into the
# build cache (/build/.cache/go-build) for the arch this image builds for, with and without cgo,
# using the same environment runBuild gives a build (-trimpath, and the cross CC for a cross image).
# Go's cache is content-addressed (a hit is exactly what a fresh compile would produce), so builds
# stay the same and only skip recompiling the standard library, which under qemu takes minutes.
set -eu
export GOCACHE=/build/.cache/go-build GOFLAGS=-trimpath GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local GOOS=linux
target=${1:-}
if [ -n "$target" ]; then
  case "$target" in
  arm64) export CC=aarch64-linux-gnu-gcc ;;
  amd64) export CC=x86_64-linux-gnu-gcc ;;
  *) echo "unsupported cross target $target" >&2; exit 2 ;;
  esac
  export GOARCH="$target"
fi
cd /build
CGO_ENABLED=1 go build std
CGO_ENABLED=0 go build std
du -sh "$GOCACHE"

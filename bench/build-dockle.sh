#!/usr/bin/env bash
# Build Dockle (the container image linter) from source, for benchmarks.
#
#   bench/build-dockle.sh [OUTDIR]     # default OUTDIR: bench/.tools (gitignored)
#
# `go install github.com/goodwithtech/dockle/cmd/dockle@vX` fails here (it asks
# the module proxy for the module's version list, which is refused with 403),
# so the exact version is fetched with `go mod download`, copied to a writable
# scratch dir and built there as the main module (its own go.sum pins deps).
# CGO is disabled like upstream's release build (with cgo, the containers/storage
# btrfs driver needs btrfs headers that are not installed).
#
# Env: DOCKLE_VERSION (default v0.4.15), FORCE=1 to rebuild an existing binary.
set -euo pipefail

DOCKLE_VERSION="${DOCKLE_VERSION:-v0.4.15}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
outdir="${1:-$here/.tools}"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
bin="$outdir/dockle"

if [[ -x "$bin" && "${FORCE:-0}" != 1 ]] && "$bin" --version 2>/dev/null | grep -qx "dockle version ${DOCKLE_VERSION#v}"; then
  echo "build-dockle: $bin already at ${DOCKLE_VERSION} (FORCE=1 to rebuild)" >&2
  exit 0
fi

command -v go >/dev/null || { echo "build-dockle: go not found" >&2; exit 1; }

# Run outside any module so the download does not touch a go.mod.
cd /
json="$(go mod download -json "github.com/goodwithtech/dockle@${DOCKLE_VERSION}")"
srcdir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$srcdir" || ! -f "$srcdir/go.mod" ]]; then
  echo "build-dockle: go mod download gave no source dir:" >&2
  printf '%s\n' "$json" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/dockle-src.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -r "$srcdir/." "$work/"
chmod -R u+w "$work"

echo "build-dockle: building dockle ${DOCKLE_VERSION} -> $bin" >&2
cd "$work"
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/goodwithtech/dockle/pkg.version=${DOCKLE_VERSION#v}" \
  -o "$bin.tmp" ./cmd/dockle
mv -f "$bin.tmp" "$bin"
"$bin" --version >&2

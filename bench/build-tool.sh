#!/usr/bin/env bash
# Build a peer tool's command from its module on the Go module proxy, for
# benchmarks: bench/build-tool.sh MODULE@VERSION ./cmd/NAME OUT [EXTRA_LDFLAGS]
#
# `go install MODULE/cmd/NAME@VERSION` fails for some modules here (the proxy
# refuses their version list with 403), so the exact version is fetched with
# `go mod download`, copied to a scratch dir and built there as the main
# module, with its own go.sum. CGO is off, as in upstream release builds.
# An existing OUT is kept unless FORCE=1.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: build-tool.sh MODULE@VERSION ./cmd/NAME OUT [EXTRA_LDFLAGS]" >&2; exit 2; }
modver="$1" pkg="$2" out="$3" extra="${4:-}"
if [[ -x "$out" && "${FORCE:-0}" != 1 ]]; then
  exit 0
fi
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
cd /   # outside any module, so the download touches no go.mod
srcdir="$(go mod download -json "$modver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$srcdir" && -f "$srcdir/go.mod" ]] || { echo "build-tool: go mod download $modver gave no source" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/build-tool.XXXXXX")"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$srcdir/." "$work/"
chmod -R u+w "$work"
echo "build-tool: building $modver $pkg -> $out" >&2
cd "$work"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $extra" -o "$out.tmp" "$pkg"
mv -f "$out.tmp" "$out"

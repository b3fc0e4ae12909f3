#!/usr/bin/env bash
# Benchmark hull's package cataloguing against syft on the same images, in
# the same run, and hull's warm rescan from its layer cache.
#
#   bench/scan.sh
#
# Images: the realistic test image (internal/testenv.ScanImage: real Debian
# packages, npm packages, a Go binary, Debian's Python distributions) and
# the large synthetic image of bench/lint.sh (bench/mkimage, 6,500 files).
# For each, with hyperfine (RUNS, WARMUP) and /usr/bin/time (peak RSS):
#   syft scan docker-archive:IMAGE -o json           (SYFT_CHECK_FOR_APP_UPDATE=false)
#   hull sbom docker-archive:IMAGE -f json --no-cache   cold: every layer read
#   hull sbom docker-archive:IMAGE -f json              warm: every layer from the cache
# and bench/recall compares the two package lists of the realistic image.
# Then a full hull scan (vulnerabilities from a small OSV database, secrets,
# malware through a real clamd with a test signature) cold (--no-cache)
# against warm (every layer's results from the cache). syft is built by
# bench/build-tool.sh; hull as the peers are (static). Needs clamd
# (apt-get install clamav-daemon).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$here/.tools"
mkdir -p "$tools"
RUNS="${RUNS:-10}"
WARMUP="${WARMUP:-1}"
RSS_RUNS="${RSS_RUNS:-3}"
log() { printf 'scan.sh: %s\n' "$*" >&2; }

for bin in hyperfine /usr/bin/time; do
  command -v "$bin" >/dev/null || { log "need $bin (apt-get install hyperfine time)"; exit 1; }
done

"$here/build-tool.sh" github.com/anchore/syft@v1.57.1 ./cmd/syft "$tools/syft" "-X main.version=1.57.1"
log "building hull"
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tools/hull" ./cmd/hull)

log "building the realistic image (internal/testenv.ScanImage, cached)"
real="$(cd "$root" && go test ./internal/testenv -run '^TestScanImage$' -count=1 -v 2>&1 |
  sed -n 's/.*testenv: scan image \([^ ]*\) .*/\1/p' | head -1)"
[[ -s "$real" ]] || { log "no scan image"; exit 1; }
big="$tools/big.tar"
if [[ ! -s "$big" ]]; then
  (cd "$root" && go run ./bench/mkimage -o "$big" -size-mb 120 -files 6500 >/dev/null)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/scanbench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export SYFT_CHECK_FOR_APP_UPDATE=false
q() { printf '%q ' "$@"; }

peak_rss_kb() {
  local max=0 kb i
  for ((i = 0; i < RSS_RUNS; i++)); do
    /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || true
    kb="$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/time.txt")"
    ((kb > max)) && max=$kb
  done
  echo "$max"
}

bench() { # name image
  local name="$1" img="$2"
  local syft=("$tools/syft" scan "docker-archive:$img" -o json -q)
  local hull=(env XDG_CACHE_HOME="$work/cache-$name" "$tools/hull" sbom "docker-archive:$img" -f json)
  "${syft[@]}" >"$work/$name-syft.json"
  "${hull[@]}" --no-cache >"$work/$name-hull.json"
  "${hull[@]}" >/dev/null # fills the layer cache for the warm runs
  hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --export-csv "$work/$name.csv" \
    -n syft "$(q "${syft[@]}")" \
    -n hull-cold "$(q "${hull[@]}" --no-cache)" \
    -n hull-warm "$(q "${hull[@]}")" >&2
  local sr hr hw
  sr="$(peak_rss_kb "${syft[@]}")"
  hr="$(peak_rss_kb "${hull[@]}" --no-cache)"
  hw="$(peak_rss_kb "${hull[@]}")"
  col() { awk -F, -v n="$1" '$1 == n { print $2 }' "$work/$name.csv"; }
  echo
  echo "$name: $img ($(du -m "$img" | cut -f1) MiB)"
  awk -v s="$(col syft)" -v c="$(col hull-cold)" -v w="$(col hull-warm)" -v sr="$sr" -v hr="$hr" -v hw="$hw" 'BEGIN {
    printf "%-28s %12s %14s %16s\n", "what", "mean", "peak RSS", "syft / it (time)"
    printf "%-28s %10.3f s %11.1f MiB %16s\n", "syft scan", s, sr / 1024, "1"
    printf "%-28s %10.3f s %11.1f MiB %16.1f\n", "hull sbom, cold", c, hr / 1024, s / c
    printf "%-28s %10.3f s %11.1f MiB %16.1f\n", "hull sbom, warm (layer cache)", w, hw / 1024, s / w
    printf "%-28s %29s %16.1f\n", "cold / warm", "", c / w
  }'
}

bench realistic "$real"
bench large "$big"

log "starting clamd with a test signature, building a vulnerability database"
mkdir -p "$work/clamdb"
printf 'Hull.Bench.Marker:0:*:%s\n' "$(printf 'HULL-BENCH-MARKER' | od -An -tx1 | tr -d ' \n')" >"$work/clamdb/bench.ndb"
cat >"$work/clamd.conf" <<CONF
LocalSocket $work/clamd.sock
Foreground yes
DatabaseDirectory $work/clamdb
TemporaryDirectory $work
LogFile $work/clamd.log
StreamMaxLength 100M
CONF
/usr/sbin/clamd -c "$work/clamd.conf" >"$work/clamd.out" 2>&1 &
clamd_pid=$!
trap 'kill $clamd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -S "$work/clamd.sock" ]] && break; sleep 0.1; done
"$tools/hull" db update --from "$root/internal/scan/testdata/osv" --db "$work/osv.db" >/dev/null

scanbench() { # name image
  local name="$1" img="$2"
  local hull=(env XDG_CACHE_HOME="$work/scancache-$name" "$tools/hull" scan "docker-archive:$img" -f json
    --db "$work/osv.db" --clamd "$work/clamd.sock")
  "${hull[@]}" >/dev/null # fills the layer cache
  hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --ignore-failure --export-csv "$work/scan-$name.csv" \
    -n cold "$(q "${hull[@]}" --no-cache)" \
    -n warm "$(q "${hull[@]}")" >&2
  col() { awk -F, -v n="$1" '$1 == n { print $2 }' "$work/scan-$name.csv"; }
  awk -v n="$name" -v c="$(col cold)" -v w="$(col warm)" 'BEGIN {
    printf "hull scan %-10s cold %8.3f s   warm (layer cache) %8.3f s   cold / warm %6.1f\n", n, c, w, c / w }'
}
echo
echo "full hull scan (vulnerabilities, secrets, malware through clamd):"
scanbench realistic "$real"
scanbench large "$big"
echo
echo "recall on the realistic image:"
(cd "$root" && go run ./bench/recall "$work/realistic-syft.json" "$work/realistic-hull.json") || true

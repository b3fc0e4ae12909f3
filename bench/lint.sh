#!/usr/bin/env bash
# Benchmark `hull lint` against Dockle on one large synthetic image.
#
#   bench/lint.sh
#
# Builds Dockle (bench/build-tool.sh), hull (./cmd/hull) and, if missing,
# the benchmark image (bench/mkimage -> bench/.tools/big.tar), then measures
#   hull lint docker-archive:IMAGE --format json
#   dockle --input IMAGE -f json
# wall time with hyperfine (--warmup/--runs) and peak RSS with /usr/bin/time -v
# (max over RSS_RUNS runs), and prints a table with the dockle/hull ratios.
#
# Env knobs: IMAGE (default bench/.tools/big.tar), RUNS (5), WARMUP (1),
# RSS_RUNS (3), SIZE_MB / FILES (mkimage flags when the image is generated),
# HULL_ARGS (extra args for hull lint). Outputs of one run of each tool are
# kept in bench/.tools/{hull,dockle}-out.json, timings in lint-bench.csv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$here/.tools"
mkdir -p "$tools"

IMAGE="${IMAGE:-$tools/big.tar}"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
RSS_RUNS="${RSS_RUNS:-3}"
SIZE_MB="${SIZE_MB:-120}"
FILES="${FILES:-6500}"
read -r -a hull_extra <<<"${HULL_ARGS:-}"

log() { printf 'lint.sh: %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
if ! command -v hyperfine >/dev/null || [[ ! -x /usr/bin/time ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing hyperfine and time (apt)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine time >&2
  else
    log "need hyperfine and /usr/bin/time (apt-get install hyperfine time)"; exit 1
  fi
fi

"$here/build-tool.sh" github.com/goodwithtech/dockle@v0.4.15 ./cmd/dockle "$tools/dockle" \
  "-X github.com/goodwithtech/dockle/pkg.version=0.4.15"

log "building hull"
(cd "$root" && go build -o "$tools/hull" ./cmd/hull)

if [[ ! -s "$IMAGE" ]]; then
  log "generating $IMAGE (${SIZE_MB} MiB, ${FILES} files)"
  (cd "$root" && go build -o "$tools/mkimage" ./bench/mkimage)
  "$tools/mkimage" -o "$IMAGE" -size-mb "$SIZE_MB" -files "$FILES"
fi
IMAGE="$(cd "$(dirname "$IMAGE")" && pwd)/$(basename "$IMAGE")"

hull_cmd=("$tools/hull" lint "docker-archive:$IMAGE" --format json ${hull_extra[@]+"${hull_extra[@]}"})
dockle_cmd=("$tools/dockle" --input "$IMAGE" -f json)

# Run from an empty dir: dockle reads ./.dockleignore.
rundir="$(mktemp -d "${TMPDIR:-/tmp}/lintbench.XXXXXX")"
trap 'rm -rf "$rundir"' EXIT
cd "$rundir"

# --- preflight: one run each, keep the output, check exit codes --------------
# hull: 0 = pass, 1 = findings at/above the threshold, anything else = error.
# dockle exits 0 unless --exit-code is given.
set +e
"${hull_cmd[@]}" >"$tools/hull-out.json" 2>"$tools/hull-err.txt"; hull_rc=$?
"${dockle_cmd[@]}" >"$tools/dockle-out.json" 2>"$tools/dockle-err.txt"; dockle_rc=$?
set -e
if [[ $hull_rc -gt 1 ]]; then
  log "hull failed (exit $hull_rc):"; cat "$tools/hull-err.txt" >&2; exit 1
fi
if [[ $dockle_rc -ne 0 ]]; then
  log "dockle failed (exit $dockle_rc):"; cat "$tools/dockle-err.txt" >&2; exit 1
fi
log "preflight ok (hull exit $hull_rc, dockle exit $dockle_rc)"

# --- wall time ---------------------------------------------------------------
q() { printf '%q ' "$@"; }
hyperfine --warmup "$WARMUP" --runs "$RUNS" --ignore-failure --style basic \
  --export-csv "$tools/lint-bench.csv" \
  -n hull "$(q "${hull_cmd[@]}")" \
  -n dockle "$(q "${dockle_cmd[@]}")" >&2

# csv: command,mean,stddev,median,user,system,min,max
col() { awk -F, -v n="$1" -v c="$2" '$1 == n { print $c }' "$tools/lint-bench.csv"; }
hull_mean="$(col hull 2)"; hull_sd="$(col hull 3)"
dockle_mean="$(col dockle 2)"; dockle_sd="$(col dockle 3)"

# --- peak RSS ----------------------------------------------------------------
peak_rss_kb() {
  local max=0 kb i
  for ((i = 0; i < RSS_RUNS; i++)); do
    /usr/bin/time -v "$@" >/dev/null 2>"$rundir/time.txt" || true
    kb="$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$rundir/time.txt")"
    [[ -n "$kb" ]] || { log "no RSS from /usr/bin/time"; cat "$rundir/time.txt" >&2; exit 1; }
    ((kb > max)) && max=$kb
  done
  echo "$max"
}
hull_rss="$(peak_rss_kb "${hull_cmd[@]}")"
dockle_rss="$(peak_rss_kb "${dockle_cmd[@]}")"

# --- table -------------------------------------------------------------------
img_mib="$(awk -v b="$(stat -c %s "$IMAGE")" 'BEGIN { printf "%.1f", b / 1048576 }')"
echo
echo "image: $IMAGE (${img_mib} MiB archive); runs=$RUNS warmup=$WARMUP rss_runs=$RSS_RUNS"
awk -v hm="$hull_mean" -v hs="$hull_sd" -v dm="$dockle_mean" -v ds="$dockle_sd" \
    -v hr="$hull_rss" -v dr="$dockle_rss" 'BEGIN {
  printf "%-8s %18s %15s\n", "tool", "mean time (s)", "peak RSS (MiB)"
  printf "%-8s %10.3f ± %5.3f %15.1f\n", "hull", hm, hs, hr / 1024
  printf "%-8s %10.3f ± %5.3f %15.1f\n", "dockle", dm, ds, dr / 1024
  printf "%-8s %18.2f %15.2f\n", "ratio", (hm > 0 ? dm / hm : 0), (hr > 0 ? dr / hr : 0)
  print "(ratio = dockle / hull: above 1 means hull is faster / smaller)"
}'
echo
echo "findings: every Dockle alert and the hull finding that covers it"
(cd "$root" && go run ./bench/parity "$tools/dockle-out.json" "$tools/hull-out.json" "docker-archive:$IMAGE")

#!/usr/bin/env bash
# Benchmark `hull config` against kube-score v1.20.0 and `trivy config`
# v0.74.0 on one directory of Kubernetes manifests, and compare what each
# reports, rule by rule.
#
#   bench/config.sh
#
# Generates the corpus if missing (bench/manifests: N files, seeded), builds
# hull (./cmd/hull) and, if missing, the peers (bench/build-tool.sh; trivy
# needs GOEXPERIMENT=jsonv2 and takes ~25 min on 2 cores, so it is built
# once and kept), checks each tool runs, then times in the same hyperfine
# run, from the corpus directory:
#   hull config . --format json
#   kube-score score --output-format json FILE...
#   trivy config --format json [offline flags] .
# and prints the mean wall times and the ratios peer / hull (above 1: hull
# is faster). Last, bench/configcmp maps every peer finding through
# bench/peer-map.tsv to the hull rules that cover it and prints, per peer
# check and per hull rule, what each tool finds that the others miss.
#
# While the checkout has no `hull config` verb, the script says so and
# times and compares the peers alone.
#
# Env knobs: DIR (default bench/.tools/manifests-N), N (1000), SEED (1),
# RUNS (5), WARMUP (1), KUBE_SCORE and TRIVY (prebuilt binaries; default
# bench/.tools/kube-score and bench/.tools/trivy, built when missing), HULL
# (a hull binary to use instead of building ./cmd/hull).
# Outputs of one run of each tool are kept in
# bench/.tools/config-{hull,kube-score,trivy}.json, timings in
# config-bench.csv, the per-container listing in config-detail.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$here/.tools"
mkdir -p "$tools"

N="${N:-1000}"
SEED="${SEED:-1}"
DIR="${DIR:-$tools/manifests-$N}"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
KUBE_SCORE="${KUBE_SCORE:-$tools/kube-score}"
TRIVY="${TRIVY:-$tools/trivy}"

log() { printf 'config.sh: %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
if ! command -v hyperfine >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing hyperfine (apt)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >&2
  else
    log "need hyperfine (apt-get install hyperfine)"; exit 1
  fi
fi

"$here/build-tool.sh" github.com/zegl/kube-score@v1.20.0 ./cmd/kube-score "$KUBE_SCORE" \
  "-X main.version=1.20.0"
if [[ ! -x "$TRIVY" ]]; then
  log "building trivy v0.74.0 (about 25 minutes on 2 cores; kept in $TRIVY)"
fi
GOEXPERIMENT=jsonv2 "$here/build-tool.sh" github.com/aquasecurity/trivy@v0.74.0 ./cmd/trivy "$TRIVY" \
  "-X github.com/aquasecurity/trivy/pkg/version/app.ver=0.74.0"

if [[ -n "${HULL:-}" ]]; then
  hull="$HULL"
else
  log "building hull"
  (cd "$root" && go build -o "$tools/hull" ./cmd/hull)
  hull="$tools/hull"
fi
# The tools run from inside the corpus directory: absolute paths.
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
hull="$(abs "$hull")" KUBE_SCORE="$(abs "$KUBE_SCORE")" TRIVY="$(abs "$TRIVY")"
have_hull=1
if ! "$hull" help config >/dev/null 2>&1; then
  have_hull=0
  log "hull has no 'config' verb in this checkout yet (it comes with issue 12's merge): timing and comparing kube-score and trivy only"
fi

if [[ ! -d "$DIR" ]]; then
  log "generating $DIR ($N manifests, seed $SEED)"
  (cd "$root" && go run ./bench/manifests -n "$N" -out "$DIR" -seed "$SEED")
fi
DIR="$(cd "$DIR" && pwd)"

# Every tool reads the corpus from inside it, by relative names; trivy's
# cache and checks stay in a scratch directory, so nothing is shared
# between runs but the binaries.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/configbench.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
cd "$DIR"
mapfile -t files < <(find . -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) -printf '%P\n' | LC_ALL=C sort)
[[ ${#files[@]} -gt 0 ]] || { log "no manifests in $DIR"; exit 1; }

hull_cmd=("$hull" config . --format json)
ks_cmd=("$KUBE_SCORE" score --output-format json "${files[@]}")
# Offline: the checks embedded in the binary (no bundle download), no
# version check or telemetry, an in-memory cache (misconfiguration
# scanning needs no vulnerability database).
trivy_cmd=("$TRIVY" config --format json --quiet --misconfig-scanners kubernetes
  --skip-check-update --skip-version-check --disable-telemetry
  --cache-dir "$scratch/trivy-cache" --cache-backend memory .)

# --- preflight: one run each, keep the output, check exit codes -------------
# hull: 0 = pass, 1 = findings at/above the threshold, else an error.
# kube-score: 0, or 1 when a check is critical. trivy: 0 (no --exit-code).
set +e
if ((have_hull)); then
  "${hull_cmd[@]}" >"$tools/config-hull.json" 2>"$tools/config-hull-err.txt"; hull_rc=$?
  if [[ $hull_rc -gt 1 ]]; then
    log "hull config failed (exit $hull_rc):"; cat "$tools/config-hull-err.txt" >&2; exit 1
  fi
fi
"${ks_cmd[@]}" >"$tools/config-kube-score.json" 2>"$tools/config-kube-score-err.txt"; ks_rc=$?
"${trivy_cmd[@]}" >"$tools/config-trivy.json" 2>"$tools/config-trivy-err.txt"; trivy_rc=$?
set -e
if [[ $ks_rc -gt 1 ]]; then
  log "kube-score failed (exit $ks_rc):"; cat "$tools/config-kube-score-err.txt" >&2; exit 1
fi
if [[ $trivy_rc -ne 0 ]]; then
  log "trivy failed (exit $trivy_rc):"; cat "$tools/config-trivy-err.txt" >&2; exit 1
fi
log "preflight ok (kube-score exit $ks_rc, trivy exit $trivy_rc${hull_rc+, hull exit $hull_rc})"

# --- wall time ---------------------------------------------------------------
# -N: no shell between hyperfine and the tools (kube-score gets its file
# list as arguments, not from a glob).
q() { printf '%q ' "$@"; }
bench=(-n kube-score "$(q "${ks_cmd[@]}")" -n trivy "$(q "${trivy_cmd[@]}")")
if ((have_hull)); then
  bench=(-n hull "$(q "${hull_cmd[@]}")" "${bench[@]}")
fi
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --ignore-failure --style basic \
  --export-csv "$tools/config-bench.csv" "${bench[@]}" >&2

# csv: command,mean,stddev,median,user,system,min,max
col() { awk -F, -v n="$1" -v c="$2" '$1 == n { print $c }' "$tools/config-bench.csv"; }
echo
echo "corpus: $DIR (${#files[@]} files); runs=$RUNS warmup=$WARMUP"
printf '%-11s %20s %12s\n' tool "mean time (s)" "peer / hull"
hull_mean=""
((have_hull)) && hull_mean="$(col hull 2)"
for t in hull kube-score trivy; do
  m="$(col "$t" 2)"; s="$(col "$t" 3)"
  [[ -n "$m" ]] || { printf '%-11s %20s\n' "$t" "not run"; continue; }
  ratio="-"
  if [[ -n "$hull_mean" && "$t" != hull ]]; then
    ratio="$(awk -v p="$m" -v h="$hull_mean" 'BEGIN { printf "%.2f", p / h }')"
  fi
  awk -v t="$t" -v m="$m" -v s="$s" -v r="$ratio" 'BEGIN { printf "%-11s %11.3f ± %6.3f %12s\n", t, m, s, r }'
done
echo "(peer / hull above 1 means hull is faster)"

# --- findings ----------------------------------------------------------------
echo
cmp_args=(-dir "$DIR" -map "$here/peer-map.tsv" -kube-score "$tools/config-kube-score.json"
  -trivy "$tools/config-trivy.json" -detail "$tools/config-detail.txt")
((have_hull)) && cmp_args+=(-hull "$tools/config-hull.json")
(cd "$root" && go run ./bench/configcmp "${cmp_args[@]}")
echo
echo "per manifest and container: $tools/config-detail.txt"

#!/usr/bin/env bash
# Benchmark hull verify against cosign verify and notation verify on one
# signed image in a real registry (Debian's docker-registry) on loopback, in
# the same run.
#
#   bench/verify.sh
#
# The image carries a classic key-based cosign signature (made by cosign) and
# a Notation JWS signature (made by hull sign, which notation verify must
# accept). Each peer and hull check the same signature offline (cosign with
# --insecure-ignore-tlog and an empty trusted root, so it does not try the
# network). Measured with hyperfine:
#   cosign verify / notation verify          REF:TAG
#   hull verify --no-cache   REF:TAG      cold: resolve, fetch, verify
#   hull verify              REF:TAG      warm CLI: resolve, then the verdict cache
#   hull verify              REF@DIGEST   warm CLI by digest: no network at all
# then notation verify and hull verify cold again, in alternation
# (bench/pairtime), for their paired ratio: hyperfine runs one command's
# runs after the other's, so a drift of the machine lands on one only;
# and in-process (the Go API the launcher, gate and containerd verifier use)
# with `go test -bench` (BenchmarkVerifyCold, BenchmarkVerifyWarm).
# Needs: docker-registry, skopeo, hyperfine (apt), Go.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$here/.tools"
mkdir -p "$tools"
RUNS="${RUNS:-20}"
log() { printf 'verify.sh: %s\n' "$*" >&2; }

for bin in docker-registry skopeo hyperfine; do
  command -v "$bin" >/dev/null || { log "need $bin (apt-get install docker-registry skopeo hyperfine)"; exit 1; }
done

log "building hull, notation v1.3.2 and cosign v2.6.5 if missing (internal/testenv builds cosign once)"
# hull is built as the peers are (build-tool.sh): static, trimmed, stripped.
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tools/hull" ./cmd/hull)
"$here/build-tool.sh" github.com/notaryproject/notation@v1.3.2 ./cmd/notation "$tools/notation"
(cd "$root" && go test ./internal/testenv -run '^TestCosign$' -count=1 >/dev/null)
cosign="$(go env GOPATH)/bin/hull-testenv/cosign-v2.6.5"

work="$(mktemp -d "${TMPDIR:-/tmp}/verifybench.XXXXXX")"
regpid=""
cleanup() { [[ -n "$regpid" ]] && kill "$regpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$((20000 + RANDOM % 30000))
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port, secret: bench}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
reg="127.0.0.1:$port"

log "pushing a small image and signing it with cosign"
(cd "$root" && go run ./bench/mkimage -o "$work/img.tar" -size-mb 2 -files 50 >/dev/null)
skopeo copy --quiet --insecure-policy --dest-tls-verify=false "docker-archive:$work/img.tar" "docker://$reg/bench/app:1"
digest="$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$reg/bench/app:1")"
# cosign gets a private HOME, Docker config and TUF root; Go keeps its own.
cosign=(env HOME="$work" DOCKER_CONFIG="$work/docker" TUF_ROOT="$work/tuf" COSIGN_PASSWORD="" "$cosign")
(cd "$work" && "${cosign[@]}" generate-key-pair >/dev/null 2>&1)
"${cosign[@]}" sign --key "$work/cosign.key" --tlog-upload=false --new-bundle-format=false \
  --allow-insecure-registry --allow-http-registry -y "$reg/bench/app@$digest" >/dev/null 2>&1
echo '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}' >"$work/trusted_root.json"
cat >"$work/hull.yaml" <<YML
apiVersion: hull.dev/v1
trust:
  rules:
    - scope: $reg/bench
      signers:
        - name: ci
          cosign: {key: cosign.pub}
YML

log "signing with hull as Notation, and setting up notation's trust store and policy"
"$tools/hull" key generate --type notation --name bench --out "$work/nota" >/dev/null
"$tools/hull" sign --key "$work/nota.key" --cert "$work/nota.crt" "$reg/bench/app:1" >/dev/null
ncfg="$work/xdg"
mkdir -p "$ncfg/notation/truststore/x509/ca/hull"
cp "$work/nota.root.crt" "$ncfg/notation/truststore/x509/ca/hull/root.crt"
cat >"$ncfg/notation/trustpolicy.json" <<JSON
{"version": "1.0", "trustPolicies": [{"name": "bench", "registryScopes": ["*"],
  "signatureVerification": {"level": "strict"}, "trustStores": ["ca:hull"], "trustedIdentities": ["*"]}]}
JSON
cat >"$work/hull-notation.yaml" <<YML
apiVersion: hull.dev/v1
trust:
  rules:
    - scope: $reg/bench
      signers:
        - name: bench
          notation: {trustStore: [nota.root.crt], identities: ["*"]}
YML

q() { printf '%q ' "$@"; }
cosign_cmd=("${cosign[@]}" verify --key "$work/cosign.pub" --insecure-ignore-tlog --trusted-root "$work/trusted_root.json"
  --allow-insecure-registry --allow-http-registry "$reg/bench/app:1")
# Every tool is told the registry speaks plain HTTP, as each spells it.
hull=(env XDG_CACHE_HOME="$work/cache" "$tools/hull" verify --insecure-registry "$reg") # the verdict cache stays in $work
hull_cold=("${hull[@]}" --no-cache --policy "$work/hull.yaml" "$reg/bench/app:1")
hull_warm=("${hull[@]}" --policy "$work/hull.yaml" "$reg/bench/app:1")
hull_digest=("${hull[@]}" --policy "$work/hull.yaml" "$reg/bench/app@$digest")
notation_cmd=(env HOME="$work" XDG_CONFIG_HOME="$ncfg" "$tools/notation" verify --insecure-registry "$reg/bench/app:1")
hull_ncold=("${hull[@]}" --no-cache --policy "$work/hull-notation.yaml" "$reg/bench/app:1")
"${cosign_cmd[@]}" >/dev/null 2>&1 || { log "cosign verify failed"; exit 1; }
"${notation_cmd[@]}" >&2 || { log "notation verify rejects hull's Notation signature"; exit 1; }
"${hull_cold[@]}" >/dev/null || { log "hull verify failed"; exit 1; }
"${hull_ncold[@]}" >/dev/null || { log "hull verify (notation) failed"; exit 1; }
"${hull_warm[@]}" >/dev/null

hyperfine -N --warmup 2 --runs "$RUNS" --style basic --export-csv "$work/verify.csv" \
  -n cosign "$(q "${cosign_cmd[@]}")" \
  -n hull-cold "$(q "${hull_cold[@]}")" \
  -n hull-warm "$(q "${hull_warm[@]}")" \
  -n hull-warm-digest "$(q "${hull_digest[@]}")" \
  -n notation "$(q "${notation_cmd[@]}")" \
  -n hull-notation-cold "$(q "${hull_ncold[@]}")" >&2
col() { awk -F, -v n="$1" '$1 == n { print $2 }' "$work/verify.csv"; }

log "notation and hull cold, in alternation (bench/pairtime)"
(cd "$root" && go build -o "$tools/pairtime" ./bench/pairtime)
pairs="$("$tools/pairtime" -runs "$RUNS" -a "$(q "${notation_cmd[@]}")" -b "$(q "${hull_ncold[@]}")")"

log "in-process benchmarks"
gobench="$(cd "$root" && go test ./internal/verify -run XXX -bench 'BenchmarkVerify(Cold|Warm)$' -benchtime 2s | awk '/^BenchmarkVerify/ { print $1, $3 }')"
cold_ns="$(awk '/Cold/ { print $2 }' <<<"$gobench")"
warm_ns="$(awk '/Warm/ { print $2 }' <<<"$gobench")"

echo
echo "registry: docker-registry on $reg; image $reg/bench/app:1 ($digest); runs=$RUNS"
awk -v c="$(col cosign)" -v hc="$(col hull-cold)" -v hw="$(col hull-warm)" -v hd="$(col hull-warm-digest)" \
    -v n="$(col notation)" -v hn="$(col hull-notation-cold)" -v gc="$cold_ns" -v gw="$warm_ns" 'BEGIN {
  printf "%-40s %12s %14s\n", "what", "mean", "cosign / it"
  printf "%-40s %10.1f ms %14s\n", "cosign verify (CLI)", c * 1000, "1"
  printf "%-40s %10.1f ms %14.1f\n", "hull verify, cold (CLI)", hc * 1000, c / hc
  printf "%-40s %10.1f ms %14.1f\n", "hull verify, warm (CLI, tag)", hw * 1000, c / hw
  printf "%-40s %10.1f ms %14.1f\n", "hull verify, warm (CLI, digest)", hd * 1000, c / hd
  printf "%-40s %10.3f ms %14.0f\n", "hull Verify, cold (Go API, digest)", gc / 1e6, c * 1e9 / gc
  printf "%-40s %10.3f ms %14.0f\n", "hull Verify, warm (Go API, digest)", gw / 1e6, c * 1e9 / gw
  printf "\n%-40s %12s %14s\n", "what", "mean", "notation / it"
  printf "%-40s %10.1f ms %14s\n", "notation verify (CLI)", n * 1000, "1"
  printf "%-40s %10.1f ms %14.1f\n", "hull verify, cold (CLI, notation policy)", hn * 1000, n / hn
  printf "%-40s %10.1f ms %14.1f\n", "hull verify, warm (CLI, digest)", hd * 1000, n / hd
  printf "%-40s %10.3f ms %14.0f\n", "hull Verify, warm (Go API, digest)", gw / 1e6, n * 1e9 / gw
}'
echo
echo "alternating runs, A = notation verify, B = hull verify cold (notation policy):"
echo "$pairs"

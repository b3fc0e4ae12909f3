#!/usr/bin/env bash
# Benchmark a full `hull audit` of a host with 20 running containers.
#
#   bench/audit.sh
#
# Builds hull as the other benchmarks do (static, trimmed, stripped) and
# runs BenchmarkAudit20Containers (internal/audit/bench_test.go): a real
# dockerd (Debian's docker.io, started by the benchmark with the flags
# ../shared/machine-recipes.md gives) runs 20 busybox containers, then
#   api: discovery (/version, /info, /networks/bridge, /containers/json,
#        20 inspects, the processes of each container) and every check of
#        the host, engine and containers groups, in-process;
#   cli: `hull audit -f json` with DOCKER_HOST pointing at that dockerd,
#        all four groups, as a process (start-up included).
# Needs: docker.io, busybox-static (apt), Go. Run as root (dockerd).
# Env knobs: RUNS (iterations per sub-benchmark, default 20).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$here/.tools"
mkdir -p "$tools"
RUNS="${RUNS:-20}"

for bin in dockerd containerd busybox; do
  command -v "$bin" >/dev/null || { echo "audit.sh: need $bin (apt-get install docker.io busybox-static)" >&2; exit 1; }
done
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tools/hull" ./cmd/hull)
cd "$root"
HULL_BENCH_BIN="$tools/hull" go test ./internal/audit -run '^$' -bench 'BenchmarkAudit20Containers' \
  -benchtime "${RUNS}x" -count 1 2>&1 | grep -E '^(Benchmark|goos|cpu|ok|FAIL)' | sed 's/^/  /'

#!/usr/bin/env bash
# Benchmark `hull gate serve` against Debian's HAProxy configured as
# Tecnativa's docker-socket-proxy is (endpoint allow-lists only), both in
# front of the same private dockerd, and against that dockerd's own socket.
#
#   bench/gate.sh
#
# Starts a dockerd of its own (data and exec root, unix socket in a temp
# directory, vfs, --bridge=none --iptables=false, as internal/testenv does),
# imports a busybox image (a tar of /bin/busybox and its links), builds hull
# and starts `hull gate serve` (no policy: the container rules at
# --fail-on critical, every decision logged to a file) and haproxy, then runs
# bench/gateload against the three sockets: GET /containers/json and POST
# /containers/create latency (p50, p99; sequential), GET /containers/json
# requests per second with C concurrent clients, and `docker logs -f`
# streaming throughput. Everything it started is stopped on exit.
# Needs: docker.io, busybox-static, haproxy (installed with apt when missing
# and root), Go. Run as root (dockerd).
# Env knobs: N (sequential requests, 500), C (clients, 64), D (throughput
# duration, 10s), STREAM_MB (100), ROUNDS (logs reads per socket, 3), HULL
# (a hull binary to use instead of building ./cmd/hull, e.g. one with symbols
# for perf).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$here/.tools"
mkdir -p "$tools"
N="${N:-500}" C="${C:-64}" D="${D:-10s}" STREAM_MB="${STREAM_MB:-100}" ROUNDS="${ROUNDS:-3}"

log() { printf 'gate.sh: %s\n' "$*" >&2; }

if ! command -v haproxy >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing haproxy (apt)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >&2
  else
    log "need haproxy (apt-get install haproxy)"; exit 1
  fi
fi
for bin in dockerd containerd docker busybox; do
  command -v "$bin" >/dev/null || { log "need $bin (apt-get install docker.io busybox-static)"; exit 1; }
done
[[ "$(id -u)" == 0 ]] || { log "run as root (dockerd)"; exit 1; }

hull="${HULL:-$tools/hull}"
if [[ -z "${HULL:-}" ]]; then
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$hull" ./cmd/hull)
fi
(cd "$root" && go build -o "$tools/gateload" ./bench/gateload)

dir="$(mktemp -d /tmp/hull-gatebench.XXXXXX)"
chmod 0711 "$dir"
pids=()
cleanup() {
  local p
  if [[ -S "$dir/docker.sock" ]]; then
    ids="$(DOCKER_HOST="unix://$dir/docker.sock" docker ps -aq 2>/dev/null || true)"
    [[ -z "$ids" ]] || DOCKER_HOST="unix://$dir/docker.sock" docker rm -f $ids >/dev/null 2>&1 || true
  fi
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  grep -q " $dir/" /proc/mounts 2>/dev/null && awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log "starting dockerd in $dir"
dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
  -H "unix://$dir/docker.sock" --storage-driver=vfs --iptables=false --ip6tables=false \
  --bridge=none --default-ulimit nofile=20000:20000 --containerd-namespace "hull-$(basename "$dir")" \
  >"$dir/dockerd.log" 2>&1 &
pids+=($!)
export DOCKER_HOST="unix://$dir/docker.sock" DOCKER_CONFIG="$dir/client"
for _ in $(seq 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
docker version >/dev/null || { log "dockerd did not start:"; tail -20 "$dir/dockerd.log" >&2; exit 1; }

# A busybox rootfs: the static binary and one link per applet.
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/tmp"
cp /bin/busybox "$dir/rootfs/bin/busybox"
for a in $(busybox --list); do [[ "$a" == busybox ]] || ln -sf busybox "$dir/rootfs/bin/$a"; done
tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
docker import "$dir/rootfs.tar" busybox-bench:latest >/dev/null

log "starting hull gate serve"
(cd "$dir" && exec "$hull" gate serve --listen "$dir/gate.sock" --engine "$dir/docker.sock" \
  --fail-on critical --log "$dir/gate.jsonl") 2>"$dir/gate.err" &
pids+=($!)

# Tecnativa's docker-socket-proxy haproxy.cfg with CONTAINERS=1 IMAGES=1
# EXEC=1 POST=1 (and the rest at their defaults) written out literally,
# bound to a unix socket; no log target (the gate logs to a file).
cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 4000
defaults
    mode http
    option http-server-close
    option redispatch
    retries 3
    timeout http-request 10s
    timeout queue 1m
    timeout connect 10s
    timeout client 10m
    timeout server 10m
    timeout http-keep-alive 10s
    timeout check 10s
    maxconn 3000
backend dockerbackend
    server dockersocket unix@$dir/docker.sock
frontend dockerfrontend
    bind unix@$dir/haproxy.sock mode 660
    http-request deny unless METH_GET || TRUE
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/containers } TRUE
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/events } TRUE
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/exec } TRUE
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/images } TRUE
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/info } TRUE
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/_ping } TRUE
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/version } TRUE
    http-request deny
    default_backend dockerbackend
EOF
haproxy -c -q -f "$dir/haproxy.cfg" >&2
haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
pids+=($!)

for s in gate.sock haproxy.sock; do
  for _ in $(seq 100); do [[ -S "$dir/$s" ]] && break; sleep 0.1; done
  [[ -S "$dir/$s" ]] || { log "$s did not appear"; cat "$dir/gate.err" "$dir/haproxy.log" >&2; exit 1; }
done

log "hull $(git -C "$root" rev-parse --short HEAD), $(haproxy -v | head -1), $(dockerd --version)"
"$tools/gateload" -image busybox-bench:latest -n "$N" -c "$C" -d "$D" -stream-mb "$STREAM_MB" -rounds "$ROUNDS" \
  direct="$dir/docker.sock" "hull gate=$dir/gate.sock" "haproxy=$dir/haproxy.sock"

#!/usr/bin/env bash
# Runs the reference server's test suite (crate wx-session-server) against each session store:
#   1. the in-memory store (default),
#   2. Redis: a private redis-server on a free loopback port, started and stopped here,
#   3. Redis Cluster: a private single-node cluster (all 16384 slots on one node), which still
#      refuses any command whose keys span hash slots; set WX_SERVER_TEST_CLUSTER=0 to skip.
# The store-independent abuse tests that take seconds (tests/abuse.rs: the binary at ulimit -n 256,
# the junk-code flood, Redis over TLS) run only in the memory pass; the others run in every pass.
# Installs redis-server with apt-get if it is missing. Prints cargo's usual output, including its
# "test result:" lines, and exits non-zero if any pass failed. Safe to run again and again: the
# Redis servers keep nothing on disk and live in a temporary directory removed on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'test-server.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) and retry."

# Test traffic is loopback only; keep any configured HTTP proxy out of it.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

install_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  say "redis-server not found: installing it with apt-get"
  command -v apt-get >/dev/null || die "no apt-get here: install redis-server (7.x) yourself and retry."
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing redis-server needs root (or sudo)."
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y redis-server
  # Debian starts a system-wide instance on 6379; ours never use that port, so it is left alone.
}

# First port from $1 upwards on which nothing accepts connections.
free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

workdir=$(mktemp -d "${TMPDIR:-/tmp}/wx-session-server-test.XXXXXX")
redis_pids=()
cleanup() {
  local pid
  for pid in "${redis_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT

# start_redis <name> <port> [extra redis-server args...]: starts a private server, waits for PONG.
start_redis() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$workdir/$name"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$workdir/$name" --logfile "$workdir/$name/redis.log" "$@" &
  redis_pids+=("$!")
  local i
  for i in $(seq 1 100); do
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ]; then
      return 0
    fi
    sleep 0.1
  done
  cat "$workdir/$name/redis.log" >&2 || true
  die "redis-server ($name) did not answer on port $port; its log is above."
}

failed=()
# run_suite <label> [VAR=value...]: one full pass of the suite.
run_suite() {
  local label=$1
  shift
  say "server tests: $label"
  if env "$@" cargo test -p wx-session-server; then
    echo "--> $label: passed"
  else
    echo "--> $label: FAILED"
    failed+=("$label")
  fi
}

install_redis

# A variable inherited from the caller must not silently turn the memory pass into a Redis one.
run_suite "memory store" -u REDIS_URL -u WX_SESSION_REDIS_CLUSTER

port=$(free_port 6390)
say "starting a private redis-server on 127.0.0.1:$port"
start_redis single "$port"
run_suite "redis store (127.0.0.1:$port)" -u WX_SESSION_REDIS_CLUSTER REDIS_URL="redis://127.0.0.1:$port"

if [ "${WX_SERVER_TEST_CLUSTER:-1}" != "0" ]; then
  cluster_port=$(free_port $((port + 1)))
  say "starting a private single-node Redis Cluster on 127.0.0.1:$cluster_port"
  start_redis cluster "$cluster_port" --cluster-enabled yes \
    --cluster-config-file "$workdir/cluster/nodes.conf"
  # ADDSLOTS with every slot works on every Redis version that has clusters.
  # shellcheck disable=SC2046 # one argument per slot, on purpose
  redis-cli -p "$cluster_port" cluster addslots $(seq 0 16383) >/dev/null
  for i in $(seq 1 100); do
    redis-cli -p "$cluster_port" cluster info | grep -q '^cluster_state:ok' && break
    sleep 0.1
  done
  redis-cli -p "$cluster_port" cluster info | grep -q '^cluster_state:ok' ||
    die "the single-node cluster on port $cluster_port did not reach cluster_state:ok."
  run_suite "redis cluster store (127.0.0.1:$cluster_port)" \
    REDIS_URL="redis://127.0.0.1:$cluster_port" WX_SESSION_REDIS_CLUSTER=1
fi

if [ "${#failed[@]}" -ne 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all server test passes succeeded"

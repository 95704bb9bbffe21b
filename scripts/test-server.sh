#!/usr/bin/env bash
# Runs the reference server's test suite (crate wx-session-server) three times, covering each
# session store and each user database without multiplying the passes:
#   1. the in-memory session store, users in SQLite (the defaults),
#   2. Redis: a private redis-server on a free loopback port; users in a private PostgreSQL
#      (initdb in the temporary directory, on a free port, as the `postgres` user when run as
#      root — PostgreSQL refuses to run as root); set WX_SERVER_TEST_POSTGRES=0 to use SQLite,
#   3. Redis Cluster: a private single-node cluster (all 16384 slots on one node), which still
#      refuses any command whose keys span hash slots; users in SQLite; WX_SERVER_TEST_CLUSTER=0
#      skips it.
# The store-independent abuse tests that take seconds (tests/abuse.rs: the binary at ulimit -n 256,
# the junk-code flood, Redis over TLS) run only in the memory pass; the others run in every pass.
# Installs redis-server and postgresql with apt-get if they are missing. Prints cargo's usual
# output, including its "test result:" lines, and exits non-zero if any pass failed. Safe to run
# again and again: the servers live in a temporary directory, stopped and removed on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh # free_port; this script keeps its own say/die
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

install_postgres() {
  postgres_bin >/dev/null && return 0
  say "PostgreSQL not found: installing it with apt-get"
  command -v apt-get >/dev/null || die "no apt-get here: install PostgreSQL (initdb, pg_ctl) yourself and retry."
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing postgresql needs root (or sudo)."
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y postgresql
  # Debian may start its own cluster on 5432; ours never uses that port, so it is left alone.
  postgres_bin >/dev/null || die "postgresql installed but no initdb/pg_ctl found."
}

# The directory holding initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/<v>/bin.
postgres_bin() {
  # Symbolic links on PATH are followed: createdb and postgres sit next to the real pg_ctl.
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || return 1
  echo "$dir"
}

workdir=$(mktemp -d "${TMPDIR:-/tmp}/wx-session-server-test.XXXXXX")
redis_pids=()
postgres_started=""
cleanup() {
  local pid
  for pid in "${redis_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$postgres_started" ]; then
    as_postgres "$(postgres_bin)/pg_ctl" -D "$workdir/postgres/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

# as_postgres COMMAND...: runs COMMAND as the user owning the PostgreSQL files — `postgres` when
# this script runs as root (PostgreSQL refuses root), else the current user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# start_postgres <port>: a private cluster in $workdir/postgres (data, socket, log), trust
# authentication on loopback only, fsync off (throwaway data); prints nothing, sets DATABASE_URL.
start_postgres() {
  local port=$1 bin dir="$workdir/postgres"
  bin=$(postgres_bin) || die "PostgreSQL's initdb/pg_ctl not found."
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (created by Debian's postgresql package)."
    chmod 755 "$workdir"
    chown postgres: "$dir"
  fi
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed; its output is above."; }
  postgres_started=1
  # Other test runs on the machine may take a port between free_port and the bind: a few tries.
  local attempt
  for attempt in 1 2 3 4 5; do
    if as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      break
    fi
    grep -q "Address already in use" "$dir/postgres.log" && [ "$attempt" -lt 5 ] ||
      { cat "$dir/postgres.log" >&2; die "PostgreSQL did not start on port $port; its log is above."; }
    port=$(free_port $((port + 1 + RANDOM % 100)))
  done
  as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres wxs_test ||
    die "could not create the test database."
  PG_PORT=$port
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/wxs_test"
}

# start_redis <name> <port> [extra redis-server args...]: starts a private server, waits for PONG.
start_redis() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$workdir/$name"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$workdir/$name" --logfile "$workdir/$name/redis.log" "$@" &
  local pid=$!
  redis_pids+=("$pid")
  local i
  for i in $(seq 1 100); do
    # A PONG only counts from our own server: if it died (the port was taken in the meantime by
    # another run on this machine), the PONG would come from someone else's Redis.
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$workdir/$name/redis.log" >&2 || true
      die "redis-server ($name) exited: port $port was probably taken by another process; run again."
    fi
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
use_postgres=${WX_SERVER_TEST_POSTGRES:-1}
[ "$use_postgres" = "0" ] || install_postgres

# A variable inherited from the caller must not silently turn the memory pass into a Redis one,
# nor a SQLite pass into a PostgreSQL one.
run_suite "memory store, SQLite" -u REDIS_URL -u WX_SESSION_REDIS_CLUSTER -u DATABASE_URL

# Random starting points make two runs on one machine (several worktrees) unlikely to collide.
port=$(free_port $((6390 + RANDOM % 500)))
say "starting a private redis-server on 127.0.0.1:$port"
start_redis single "$port"
if [ "$use_postgres" = "0" ]; then
  run_suite "redis store (127.0.0.1:$port), SQLite" -u WX_SESSION_REDIS_CLUSTER -u DATABASE_URL \
    REDIS_URL="redis://127.0.0.1:$port"
else
  say "starting a private PostgreSQL"
  start_postgres "$(free_port $((55432 + RANDOM % 1000)))"
  say "PostgreSQL on 127.0.0.1:$PG_PORT"
  run_suite "redis store (127.0.0.1:$port), PostgreSQL (127.0.0.1:$PG_PORT)" -u WX_SESSION_REDIS_CLUSTER \
    REDIS_URL="redis://127.0.0.1:$port" DATABASE_URL="$DATABASE_URL"
fi

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
  run_suite "redis cluster store (127.0.0.1:$cluster_port), SQLite" -u DATABASE_URL \
    REDIS_URL="redis://127.0.0.1:$cluster_port" WX_SESSION_REDIS_CLUSTER=1
fi

if [ "${#failed[@]}" -ne 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all server test passes succeeded"

#!/usr/bin/env bash
# Measures the reference server's throughput and latency with wrk (Debian's package, installed
# here if missing): requests/s and p50/p99 for login (development mode), check and logout, on the
# memory store and on a private Redis, at a few concurrency levels. Each figure is also given as a
# ratio to a bare endpoint (GET /livez: routing, logging layers, no store) measured in the same
# run, so numbers from different machines can be compared by their ratios.
#
#   scripts/bench-server.sh [--duration SECONDS] [--levels "1 16 64"] [--debug]
#
# What each row measures:
#   /livez  GET, nothing behind it: the baseline.
#   login   POST /auth/login with a fresh code each time (DevTools-style codes: each logs in the
#           user "devtools", so every login also replaces the previous session: single sign-on).
#   check   GET /auth/check with one valid token.
#   logout  POST /auth/logout, each with its own valid token from a pool made just before (by
#           /dev/code + /auth/login for distinct users); the run ends when the pool is used up
#           and is timed by its script (wrk's own duration would include the idle rest).
# The server runs the release build at RUST_LOG=warn with the per-address connection cap off
# (wrk's connections all come from 127.0.0.1); wrk and the server share this machine's cores.
# Not part of scripts/test.sh: figures are not pass/fail. The measurements take about a minute;
# the first run also builds the release binary (several minutes on two cores).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh # free_port; this script keeps its own say/die
say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench-server.sh: %s\n' "$*" >&2; exit 1; }

duration=2
levels="1 16 64"
profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
    --levels) levels="${2:?--levels needs a list, e.g. \"1 16 64\"}"; shift 2 ;;
    --debug) profile=debug; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 1 ]] || die "--duration must be a whole number of seconds"

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) and retry."
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

apt_install() {
  command -v apt-get >/dev/null || die "no apt-get here: install $* yourself and retry."
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing $* needs root (or sudo)."
    sudo=(sudo)
  fi
  say "installing $* with apt-get"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
}
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server)
command -v curl >/dev/null || missing+=(curl)
[ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"

say "building the server ($profile)"
if [ "$profile" = release ]; then
  cargo build --release -p wx-session-server >&2
else
  cargo build -p wx-session-server >&2
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
server_bin="$target_dir/$profile/wx-session-server"
[ -x "$server_bin" ] || die "no server binary at $server_bin"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/wx-session-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT

# ---- wrk scripts: each prints one machine-readable RESULT line from done() ----
cat >"$workdir/result.lua" <<'EOF'
function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), non2xx, errors))
end
EOF
cat >"$workdir/bare.lua" <<'EOF'
dofile(os.getenv("BENCH_DIR") .. "/result.lua")
EOF
cat >"$workdir/login.lua" <<'EOF'
dofile(os.getenv("BENCH_DIR") .. "/result.lua")
local next_id = 0
function setup(thread) thread:set("id", next_id); next_id = next_id + 1 end
local n = 0
local tag = os.getenv("BENCH_TAG")
local headers = {["Content-Type"] = "application/json"}
function request()
  n = n + 1
  return wrk.format("POST", "/auth/login", headers,
    '{"code":"bench-' .. tag .. '-' .. id .. '-' .. n .. '"}')
end
EOF
cat >"$workdir/check.lua" <<'EOF'
dofile(os.getenv("BENCH_DIR") .. "/result.lua")
wrk.method = "GET"
wrk.path = "/auth/check"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
EOF
# One connection per thread for one run of --duration: mint a code for a new user, log in with
# it, keep the token; repeat. (wrk always runs the full duration, so the pool is whatever that
# time yields.)
cat >"$workdir/prepare.lua" <<'EOF'
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id); next_id = next_id + 1
  table.insert(threads, thread)
end
local tag = os.getenv("BENCH_TAG")
local headers = {["Content-Type"] = "application/json"}
local code = nil
local n = 0
tokens = {}
function request()
  if code then
    local body = '{"code":"' .. code .. '"}'
    code = nil
    return wrk.format("POST", "/auth/login", headers, body)
  end
  n = n + 1
  return wrk.format("POST", "/dev/code", headers,
    '{"user":"b' .. tag .. 't' .. id .. 'n' .. n .. '"}')
end
function response(status, _, body)
  local minted = body:match('"code":"([^"]+)"')
  if minted then code = minted; return end
  local token = body:match('"token":"(%x+)"')
  if token then tokens[#tokens + 1] = token end
end
function done()
  local out = io.open(os.getenv("BENCH_TOKENS"), "w")
  for _, thread in ipairs(threads) do
    for _, token in ipairs(thread:get("tokens")) do out:write(token, "\n") end
  end
  out:close()
end
EOF
# Each thread takes every T-th token of the pool and stops when its share is used. wrk's own
# duration is always the full -d, so this script times itself (first request to last, per
# thread, read from `date`) and reports the logouts sent in that time.
cat >"$workdir/logout.lua" <<'EOF'
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id); next_id = next_id + 1
  table.insert(threads, thread)
end
local function now_us()
  local pipe = io.popen("date +%s%N")
  local ns = pipe:read("*l")
  pipe:close()
  return math.floor(tonumber(ns) / 1000)
end
local mine = {}
local i = 0
started, finished, sent = 0, 0, 0
function init(args)
  local count = tonumber(os.getenv("BENCH_THREADS"))
  local k = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if k % count == id then mine[#mine + 1] = line end
    k = k + 1
  end
end
function request()
  if i == 0 then started = now_us() end
  i = i + 1
  if i > #mine then
    if finished == 0 then finished = now_us(); sent = #mine end
    wrk.thread:stop()
    i = #mine
  end
  return wrk.format("POST", "/auth/logout", {["Authorization"] = "Bearer " .. mine[i]})
end
function done(summary, latency, requests)
  local first, last, total = nil, 0, 0
  for _, thread in ipairs(threads) do
    local s, f = thread:get("started"), thread:get("finished")
    if first == nil or s < first then first = s end
    if f > last then last = f end
    total = total + thread:get("sent")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  -- The few requests sent after a thread ran out (used tokens, 400) are not counted as logouts.
  io.write(string.format("RESULT %d %d %d %d %d %d\n", total, last - first,
    latency:percentile(50), latency:percentile(99), 0, errors))
end
EOF
export BENCH_DIR="$workdir"

# run_wrk <base> <connections> <script> [extra wrk args]: prints "requests duration_us p50_us p99_us non2xx errors".
run_wrk() {
  local base=$1 connections=$2 script=$3
  shift 3
  local threads=2
  [ "$connections" -lt 2 ] && threads=1
  BENCH_THREADS=$threads wrk -t "$threads" -c "$connections" -d "${duration}s" --timeout 5s \
    -s "$workdir/$script" "$@" "$base" | sed -n 's/^RESULT //p'
}

# bench_store <label> [server args...]
bench_store() {
  local label=$1
  shift
  local port
  port=$(free_port 18790)
  RUST_LOG=warn "$server_bin" --dev --listen "127.0.0.1:$port" --max-connections-per-ip 0 "$@" \
    2>"$workdir/server-$label.log" &
  pids+=("$!")
  local base="http://127.0.0.1:$port" i
  for i in $(seq 1 100); do
    curl -fsS "$base/livez" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$base/healthz" >/dev/null || die "the server ($label) did not come up: $(cat "$workdir/server-$label.log")"

  local code token
  code=$(curl -fsS -H 'content-type: application/json' -d '{"user":"benchcheck"}' "$base/dev/code" | sed -n 's/.*"code":"\([^"]*\)".*/\1/p')
  token=$(curl -fsS -H 'content-type: application/json' -d "{\"code\":\"$code\"}" "$base/auth/login" | sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p')
  [ -n "$token" ] || die "could not log in on the $label server"
  # Warm-up: connections, allocator, Redis scripts.
  wrk -t 1 -c 4 -d 1s "$base/livez" >/dev/null

  local level bare_rps result
  for level in $levels; do
    say "$label, $level connection(s)"
    local tag="${label:0:1}${level}r$RANDOM"
    result=$(run_wrk "$base/livez" "$level" bare.lua)
    bare_rps=$(add_row "$label" /livez "$level" "$result" "")
    result=$(BENCH_TAG="$tag" run_wrk "$base" "$level" login.lua)
    add_row "$label" login "$level" "$result" "$bare_rps" >/dev/null
    result=$(BENCH_TOKEN="$token" run_wrk "$base" "$level" check.lua)
    add_row "$label" check "$level" "$result" "$bare_rps" >/dev/null
    # A pool of tokens of distinct users for the logout run.
    local threads=2
    [ "$level" -lt 2 ] && threads=1
    BENCH_TAG="$tag" BENCH_TOKENS="$workdir/tokens" \
      wrk -t "$threads" -c "$threads" -d "${duration}s" -s "$workdir/prepare.lua" "$base" >/dev/null
    result=$(BENCH_TOKENS="$workdir/tokens" run_wrk "$base" "$level" logout.lua)
    add_row "$label" logout "$level" "$result" "$bare_rps" >/dev/null
  done
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
}

# add_row <store> <endpoint> <level> "<wrk result>" <bare rps or empty>: records a row, prints its rps.
add_row() {
  local store=$1 endpoint=$2 level=$3 result=$4 bare=$5
  [ -n "$result" ] || die "wrk printed no result for $store $endpoint at $level"
  local row
  row=$(awk -v s="$store" -v e="$endpoint" -v c="$level" -v b="$bare" '{
      rps = ($2 > 0) ? $1 / ($2 / 1e6) : 0
      ratio = (b != "" && b > 0) ? sprintf("%.2f", rps / b) : "1.00"
      printf "%s|%s|%s|%.0f|%.2f|%.2f|%s|%d|%d|%.0f\n", s, e, c, rps, $3 / 1000, $4 / 1000, ratio, $5, $6, $1
    }' <<<"$result")
  printf '%s\n' "$row" >>"$workdir/rows"
  printf '%s\n' "$row" | cut -d'|' -f4
}

bench_store memory

redis_port=$(free_port 6390)
mkdir -p "$workdir/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$workdir/redis" --logfile "$workdir/redis/redis.log" &
pids+=("$!")
for i in $(seq 1 100); do
  [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = "PONG" ] && break
  sleep 0.1
done
bench_store redis --redis-url "redis://127.0.0.1:$redis_port" --redis-prefix "bench:"

printf '\nwx-session-server %s build, wrk %ss per row, %s cores; "x bare" = requests/s relative to /livez at the same concurrency\n\n' \
  "$profile" "$duration" "$(nproc)"
printf '%-7s %-7s %5s %10s %9s %9s %7s %8s %7s %8s\n' store endpoint conns 'req/s' 'p50 ms' 'p99 ms' 'x bare' 'non-2xx' errors requests
while IFS='|' read -r store endpoint level rps p50 p99 ratio non2xx errors requests; do
  printf '%-7s %-7s %5s %10s %9s %9s %7s %8s %7s %8s\n' \
    "$store" "$endpoint" "$level" "$rps" "$p50" "$p99" "$ratio" "$non2xx" "$errors" "$requests"
done <"$workdir/rows"

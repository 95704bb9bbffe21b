#!/usr/bin/env bash
# The development loop: builds what is stale (the session module, then 构建 npm's copy of it in
# miniprogram/miniprogram_npm, which the pages require), starts the reference server in
# development mode (sessions in memory, users in SQLite under a data directory) and the browser
# preview of the real miniprogram/ pages, and prints where to look.
#
#   scripts/dev.sh [--port 8788] [--server-port 8787] [--user alice] [--no-build] [--build-only]
#                  [--session-dir DIR] [--protocol default|litemall] [--data-dir DIR]
#                  [--base-url URL [--protocol-json JSON]]
#
#   --port N          the preview's port (default 8788; 0 = any free port)
#   --server-port N   the server's port (default 8787, the port miniprogram/config.js names)
#   --user NAME       the dev user the preview's wx.login logs in as (default alice)
#   --no-build        start what is already built (fails if the server binary or the session
#                     module is missing; only warns if the module is stale)
#   --build-only      build what is stale, then exit (scripts/e2e.sh does this once)
#   --session-dir DIR serve session_wasm.js and session_bg.wasm.br from DIR instead of
#                     miniprogram/session and miniprogram/miniprogram_npm/wx-session (e.g.
#                     build/stage when a build only failed its size budget); the stamp check,
#                     scripts/build.sh and scripts/pack.sh are skipped
#   --protocol NAME   the protocol the app speaks (default: default). litemall: the server's
#                     litemall dialect under /wx (development mode); the preview's config.js
#                     then says baseUrl <server>/wx, protocol 'litemall'
#   --base-url URL    run the demo against another backend at URL instead of the reference server
#                     (which is then not started): the preview's config.js says baseUrl URL, and
#                     wx.login asks URL's origin for a code (POST /dev/code; offline, a made-up
#                     code). The account page is read-only (accountApi: false). E.g. the apifm
#                     fixture: node tests/e2e/support/apifm-server.js prints the whole command
#   --protocol-json J with --base-url: session.init's protocol as a JSON object, e.g.
#                     '{"preset":"apifm","logout":{"path":"http://127.0.0.1:9001/demo/user/loginout"}}'
#   --data-dir DIR    where the server keeps its users (SQLite) and uploaded avatars (default
#                     build/dev-data, so the dev users and their profiles last between runs);
#                     passed as WX_SESSION_DATA_DIR
#   DEV_READY_FILE=F  once both are up, write F (JSON: previewUrl, serverUrl, baseUrl, protocol,
#                     previewPid, serverPid, devPid, serverBin, dataDir); a READY line is printed
#                     either way — for tests (tests/e2e restart the server from serverBin and dataDir);
#                     with --base-url: serverUrl is URL's origin, serverPid 0, protocol the JSON
#
# Both run on 127.0.0.1. Ctrl-C or SIGTERM stops both. If the server exits on its own (or a test
# kills it), the preview keeps running and shows what a user sees when the server is down; if the
# preview exits, everything stops.
set -euo pipefail
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

PREVIEW_PORT=8788
SERVER_PORT=8787
DEV_USER=alice
BUILD=1
BUILD_ONLY=0
SESSION_DIR=""
PROTOCOL=default
DATA_DIR=""
BASE_URL_OVERRIDE=""
PROTOCOL_JSON=""
READY_FILE="${DEV_READY_FILE:-}"
STARTUP_TIMEOUT_S=20

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PREVIEW_PORT="${2:?--port needs a number}"; shift 2 ;;
    --server-port) SERVER_PORT="${2:?--server-port needs a number}"; shift 2 ;;
    --user) DEV_USER="${2:?--user needs a name}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --session-dir) SESSION_DIR="${2:?--session-dir needs a directory}"; shift 2 ;;
    --protocol) PROTOCOL="${2:?--protocol needs a name}"; shift 2 ;;
    --data-dir) DATA_DIR="${2:?--data-dir needs a directory}"; shift 2 ;;
    --base-url) BASE_URL_OVERRIDE="${2:?--base-url needs a URL}"; shift 2 ;;
    --protocol-json) PROTOCOL_JSON="${2:?--protocol-json needs a JSON object}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1" "see scripts/dev.sh --help" ;;
  esac
done
[[ "$PREVIEW_PORT" =~ ^[0-9]+$ && "$SERVER_PORT" =~ ^[0-9]+$ ]] || die "ports must be numbers" "e.g. --port 8788 --server-port 8787"
[[ "$SERVER_PORT" != 0 ]] || die "--server-port 0 is not supported" "pick a free port, e.g. --server-port 8787"
# The protocols the reference server speaks, and where (keep in step with preview/server.js).
case "$PROTOCOL" in
  default) API_PATH="" ;;
  litemall) API_PATH="/wx" ;;
  *) die "--protocol must be default or litemall (the dialects the dev server speaks)" ;;
esac
if [[ -n "$BASE_URL_OVERRIDE" ]]; then
  [[ "$BASE_URL_OVERRIDE" =~ ^https?://[^/]+ ]] || die "--base-url must be an http(s) URL" "e.g. --base-url http://127.0.0.1:9000/demo"
  [[ -z "$PROTOCOL_JSON" ]] || node -e 'const v = JSON.parse(process.argv[1]); if (!v || typeof v !== "object" || Array.isArray(v)) process.exit(1)' "$PROTOCOL_JSON" 2>/dev/null ||
    die "--protocol-json must be a JSON object" "e.g. --protocol-json '{\"preset\":\"apifm\"}'"
else
  [[ -z "$PROTOCOL_JSON" ]] || die "--protocol-json needs --base-url (the reference server speaks only its own dialects)"
fi
[[ "$DEV_USER" =~ ^[A-Za-z0-9_-]{1,32}$ ]] || die "--user must be 1-32 of A-Z a-z 0-9 _ - (what POST /dev/code accepts)"
if [[ -n "$SESSION_DIR" ]]; then
  SESSION_DIR="$(cd "$SESSION_DIR" 2>/dev/null && pwd)" || die "--session-dir: no such directory"
  for file in session_wasm.js session_bg.wasm.br; do
    [[ -f "$SESSION_DIR/$file" ]] || die "--session-dir has no $file" "run scripts/build.sh (it leaves build/stage/ even when the budget check fails)"
  done
fi

cd "$ROOT"
DATA_DIR="${DATA_DIR:-$ROOT/build/dev-data}"
mkdir -p "$DATA_DIR" || die "--data-dir: cannot create $DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"

# --- build ------------------------------------------------------------------------------------------
server_binary() {
  local target_dir
  target_dir="$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')" ||
    target_dir="$ROOT/target"
  printf '%s/release/wx-session-server\n' "$target_dir"
}

ensure_node
ensure_npm_deps
# The preview's Chinese text and the dev users' 🐼 nickname need these in a browser on this
# machine. Elsewhere (macOS, another distribution) the system's own fonts usually cover both.
if command -v dpkg-query >/dev/null; then
  ensure_apt_packages fonts-noto-cjk fonts-noto-color-emoji
else
  say "fonts: not a Debian system; the browser needs a CJK font and an emoji font"
fi
ensure_rust
SERVER_BIN="$(server_binary)"

if [[ $BUILD -eq 1 ]]; then
  say "cargo build --release -p wx-session-server"
  cargo build --release -p wx-session-server || die "the server does not build (see cargo's output above)"
  if [[ -z "$SESSION_DIR" ]]; then
    if scripts/check-stamp.sh >/dev/null 2>&1; then
      say "miniprogram/session is up to date"
    else
      say "miniprogram/session is missing or stale: running scripts/build.sh"
      scripts/build.sh || die "scripts/build.sh failed, so there is no session module to preview" \
        "fix the build; if only the size budget failed, preview its output anyway: scripts/dev.sh --session-dir build/stage"
    fi
    # The pages require('wx-session'): miniprogram_npm/wx-session must be 构建 npm's copy of that build.
    if node tools/npm-pack.js check >/dev/null 2>&1; then
      say "miniprogram/miniprogram_npm/wx-session is up to date"
    else
      say "miniprogram/miniprogram_npm/wx-session is missing or stale: running scripts/pack.sh"
      scripts/pack.sh >/dev/null || die "scripts/pack.sh failed, so the pages have no wx-session to require"
    fi
  fi
else
  [[ -n "$BASE_URL_OVERRIDE" || -x "$SERVER_BIN" ]] || die "no server binary at $SERVER_BIN" "run scripts/dev.sh without --no-build"
  if [[ -z "$SESSION_DIR" ]]; then
    [[ -f miniprogram/session/session_wasm.js && -f miniprogram/session/session_bg.wasm.br ]] ||
      die "miniprogram/session has no built module" "run scripts/dev.sh without --no-build (or scripts/build.sh)"
    scripts/check-stamp.sh >/dev/null 2>&1 || say "warning: miniprogram/session is stale (scripts/check-stamp.sh); previewing it anyway"
    node tools/npm-pack.js check >/dev/null 2>&1 ||
      say "warning: miniprogram/miniprogram_npm/wx-session differs from miniprogram/session (scripts/pack.sh refreshes it); previewing it anyway"
  fi
fi
[[ $BUILD_ONLY -eq 1 ]] && { say "built; --build-only, so not starting anything"; exit 0; }

# --- run ----------------------------------------------------------------------------------------------
SERVER_PID=""
PREVIEW_PID=""
PREVIEW_LOG="$(mktemp "${TMPDIR:-/tmp}/wx-dev-preview.XXXXXX")"
STOPPING=0

stop_all() {
  local status=$?
  [[ $STOPPING -eq 1 ]] && return
  STOPPING=1
  trap - INT TERM
  local pids=() pid
  for pid in "$PREVIEW_PID" "$SERVER_PID"; do
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
  done
  if [[ ${#pids[@]} -gt 0 ]]; then
    say "stopping (pids ${pids[*]})"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # Give them 3 s to exit cleanly, then make sure.
    for _ in $(seq 30); do
      local alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [[ $alive -eq 0 ]] && break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -f "$PREVIEW_LOG"
  [[ -n "$READY_FILE" ]] && rm -f "$READY_FILE"
  exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n "$BASE_URL_OVERRIDE" ]]; then
  # Another backend, already running (or not: the preview then shows what a user sees offline).
  SERVER_URL="$(node -e 'console.log(new URL(process.argv[1]).origin)' "$BASE_URL_OVERRIDE")"
  BASE_URL="$BASE_URL_OVERRIDE"
  preview_args=(--port "$PREVIEW_PORT" --base-url "$BASE_URL")
  if [[ -n "$PROTOCOL_JSON" ]]; then
    PROTOCOL="$PROTOCOL_JSON"
    preview_args+=(--protocol-json "$PROTOCOL_JSON")
  else
    preview_args+=(--protocol "$PROTOCOL")
  fi
  say "not starting the reference server: the app talks to $BASE_URL"
else
  # The dev server, sessions in memory: a Redis or a PostgreSQL configured in this shell must not
  # be used (or wiped). Users live in SQLite under the data directory.
  say "starting the server: WX_SESSION_DATA_DIR=$DATA_DIR $SERVER_BIN --dev --listen 127.0.0.1:$SERVER_PORT"
  env -u REDIS_URL -u WX_SESSION_REDIS_CLUSTER -u WX_SESSION_CONFIG -u DATABASE_URL WX_SESSION_DATA_DIR="$DATA_DIR" \
    "$SERVER_BIN" --dev --listen "127.0.0.1:$SERVER_PORT" &
  SERVER_PID=$!
  SERVER_URL="http://127.0.0.1:$SERVER_PORT"
  BASE_URL="$SERVER_URL$API_PATH"
  preview_args=(--port "$PREVIEW_PORT" --api "$SERVER_URL" --protocol "$PROTOCOL")
fi
[[ -n "$SESSION_DIR" ]] && preview_args+=(--session-dir "$SESSION_DIR")
say "starting the preview: node preview/server.js ${preview_args[*]}"
# Its first line is READY <url> (the port may have been 0); the rest goes to our output.
node preview/server.js "${preview_args[@]}" > >(tee "$PREVIEW_LOG") &
PREVIEW_PID=$!

deadline=$((SECONDS + STARTUP_TIMEOUT_S))
until [[ -z "$SERVER_PID" ]] || curl -fsS -o /dev/null --max-time 1 "$SERVER_URL/healthz" 2>/dev/null; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during start-up (above)" \
    "port $SERVER_PORT may be in use: scripts/dev.sh --server-port <another>"
  ((SECONDS < deadline)) || die "the server did not answer $SERVER_URL/healthz within ${STARTUP_TIMEOUT_S}s"
  sleep 0.1
done
PREVIEW_URL=""
until [[ -n "$PREVIEW_URL" ]]; do
  kill -0 "$PREVIEW_PID" 2>/dev/null || die "the preview server exited during start-up (above)" \
    "port $PREVIEW_PORT may be in use: scripts/dev.sh --port <another>"
  ((SECONDS < deadline)) || die "the preview server did not start within ${STARTUP_TIMEOUT_S}s"
  PREVIEW_URL="$(sed -n 's/^READY \(http[^ ]*\)$/\1/p' "$PREVIEW_LOG" | head -n1)"
  [[ -n "$PREVIEW_URL" ]] || sleep 0.1
done
curl -fsS -o /dev/null --max-time 2 "$PREVIEW_URL" || die "the preview does not answer at $PREVIEW_URL"
OPEN_URL="${PREVIEW_URL}?user=$DEV_USER"
if [[ -n "$BASE_URL_OVERRIDE" ]]; then
  SERVER_LINE="$SERVER_URL  (未启动参考服务器 / not the reference server: started elsewhere)"
else
  SERVER_LINE="$SERVER_URL  (开发模式 --dev，会话在内存 / dev mode, sessions in memory)"
fi

cat <<EOF

  wx-session 预览已启动 / the preview is running

    打开 / open:   $OPEN_URL
    服务器 server: $SERVER_LINE
    用户数据 users: $DATA_DIR  (SQLite 和头像 / SQLite and avatars)
    协议 protocol: $PROTOCOL  (baseUrl $BASE_URL)

  在页面上：勾选协议，点 微信一键登录 → 看到「测试用户 $DEV_USER 🐼」→ 点 我的账户 → 设置头像（选一张
  图片）、昵称、点击获取 手机号 → 点 退出 → 在弹窗里点 退出 确认 → 回到登录页。顶部可以换登录用户；
  用两个窗口登录同一用户可以看到单点登录（旧 token 失效）。
  On the page: tick the agreement, tap 微信一键登录 (log in), then 我的账户 (account): set an avatar
  (pick a picture), a nickname and the phone number; then 退出 (log out) and confirm.

  Ctrl-C 停止 / stops both.

EOF

if [[ -n "$READY_FILE" ]]; then
  node -e 'process.stdout.write(JSON.stringify({
      previewUrl: process.argv[1], serverUrl: process.argv[2], baseUrl: process.argv[3], protocol: process.argv[4],
      previewPid: Number(process.argv[5]), serverPid: Number(process.argv[6]), devPid: Number(process.argv[7]),
      serverBin: process.argv[8], dataDir: process.argv[9] }) + "\n")' \
    "$PREVIEW_URL" "$SERVER_URL" "$BASE_URL" "$PROTOCOL" "$PREVIEW_PID" "$SERVER_PID" "$$" "$SERVER_BIN" "$DATA_DIR" >"$READY_FILE.tmp"
  mv "$READY_FILE.tmp" "$READY_FILE"
fi
say "READY preview=$PREVIEW_URL server=$SERVER_URL protocol=$PROTOCOL"

# --- wait -----------------------------------------------------------------------------------------------
# The preview is the thing a person uses: when it ends, everything ends. A server that ends is
# reported, and the preview stays up to show the "server down" experience.
while true; do
  exited=""
  set +e
  wait -n -p exited "$PREVIEW_PID" ${SERVER_PID:+"$SERVER_PID"}
  status=$?
  set -e
  if [[ "$exited" == "$PREVIEW_PID" ]]; then
    PREVIEW_PID=""
    say "the preview server exited (status $status); stopping"
    exit "$status"
  elif [[ -n "$SERVER_PID" && "$exited" == "$SERVER_PID" ]]; then
    SERVER_PID=""
    say "the server exited (status $status); the preview keeps running (登录 now shows the network error). Ctrl-C to stop."
  fi
done

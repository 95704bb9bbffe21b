# shellcheck shell=bash
# Shared by every script in scripts/: where the repository is, and how scripts talk and fail.
# Sourced, never run. Scripts set `set -euo pipefail` themselves before sourcing this.

[[ -n "${WX_COMMON_SH:-}" ]] && return 0
WX_COMMON_SH=1

# The repository root, whatever directory the script was started from.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT

# Tag for messages: the running script's name, e.g. "build".
WX_SCRIPT="$(basename "${0%.sh}")"

# say MESSAGE... — one line of progress.
say() {
  printf '[%s] %s\n' "$WX_SCRIPT" "$*"
}

# die WHAT [HOW_TO_FIX] — stop with what went wrong and what to do about it.
die() {
  printf '[%s] ERROR: %s\n' "$WX_SCRIPT" "$1" >&2
  if [[ $# -gt 1 ]]; then
    printf '[%s]   fix: %s\n' "$WX_SCRIPT" "$2" >&2
  fi
  exit 1
}

# now_ms — wall clock in milliseconds, for timing steps.
now_ms() {
  date +%s%3N
}

# seconds_since START_MS — "12.3" seconds elapsed since START_MS.
seconds_since() {
  local elapsed=$(($(now_ms) - $1))
  printf '%d.%d' $((elapsed / 1000)) $(((elapsed % 1000) / 100))
}

# free_port FROM — the first port from FROM upwards on which nothing on 127.0.0.1 accepts
# connections.
free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

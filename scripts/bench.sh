#!/usr/bin/env bash
# Benchmarks the built session module against the plain-JS baseline (bench/baseline/) in the fake
# mini-program runtime and prints two tables, each followed by its targets:
#   1. bench/bench.js — per scenario: wx.login calls, server requests, storage writes, tokens left
#      live after 退出, settled promises; shipped size and module start-up (Node);
#   2. bench/engines.js — under Node (V8) and under JavaScriptCore with the JIT off
#      (`jsc --useJIT=false`, as on iOS): round time (login → checkHasLogined → logout, median),
#      peak RSS after the rounds (GNU time), start-up (first require + init) and the wasm's
#      compilation alone beside it, wx calls per round by
#      API; with issue 8's targets beside the figures.
# Exits 1 if a target of either is missed (usable in CI; not part of scripts/test.sh).
#
#   scripts/bench.sh [--runs N] [--engine-runs N] [--rounds R] [--startup-runs S]
#       --runs N         sandboxes/processes per start-up median of table 1 (default 50)
#       --engine-runs N  fresh processes per cell of table 2 (default 9)
#       --rounds R       rounds per process in table 2 (default 300)
#       --startup-runs S start-up-only processes per cell of table 2, on top of those (default 31)
#
# Steps: check Node, jsc and GNU time → scripts/check-stamp.sh, and scripts/build.sh when
# miniprogram/session/ is missing or stale → node bench/bench.js → node bench/engines.js.
# The tables also go to build/bench.md and build/bench-engines.md.
set -euo pipefail
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

usage() {
  printf 'usage: scripts/bench.sh [--runs N] [--engine-runs N] [--rounds R] [--startup-runs S]\n'
}

args=()
engine_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a whole number ≥ 1" "e.g. scripts/bench.sh --runs 50"
      args+=(--runs "$2")
      shift 2
      ;;
    --engine-runs | --rounds)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a whole number ≥ 1" "e.g. scripts/bench.sh $1 5"
      [[ "$1" == --rounds ]] && engine_args+=(--rounds "$2") || engine_args+=(--runs "$2")
      shift 2
      ;;
    --startup-runs)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--startup-runs needs a whole number ≥ 0" "e.g. scripts/bench.sh --startup-runs 51"
      engine_args+=(--startup-runs "$2")
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $1"
      ;;
  esac
done

cd "$ROOT"
started="$(now_ms)"
# bench/bench.js needs Node's built-ins only (tests/node/support has no npm dependencies);
# bench/engines.js also runs Debian's jsc shell and measures peak RSS with GNU time.
ensure_node
ensure_jsc
ensure_apt_packages time

# The benchmark measures what is committed in miniprogram/session/; rebuild it if it does not
# match its inputs (e.g. on a fresh machine, or after a change to src/ without a build).
if ! scripts/check-stamp.sh; then
  say "miniprogram/session is missing or stale: running scripts/build.sh"
  if ! scripts/build.sh; then
    # build.sh installs an over-budget module and then exits 1; that module is still worth
    # measuring (the size target below reports the budget). Anything else is a real failure.
    scripts/check-stamp.sh >/dev/null 2>&1 ||
      die "scripts/build.sh failed and miniprogram/session is still missing or stale" "fix the build error above, then rerun"
    say "scripts/build.sh exited 1 after installing the module (over the size budget?): benchmarking it anyway"
  fi
fi

mkdir -p build
say "running node bench/bench.js${args[*]:+ ${args[*]}} (the table also goes to build/bench.md)"
rc=0
node bench/bench.js "${args[@]}" --out build/bench.md || rc=$?
((rc <= 1)) || die "bench/bench.js failed (exit status $rc)" "run: node bench/bench.js --runs 5 to see why"

say "running node bench/engines.js${engine_args[*]:+ ${engine_args[*]}} (Node and jsc --useJIT=false; the table also goes to build/bench-engines.md)"
engines_rc=0
node bench/engines.js "${engine_args[@]}" --out build/bench-engines.md || engines_rc=$?
((engines_rc <= 1)) || die "bench/engines.js failed (exit status $engines_rc)" "run: node bench/engines.js --runs 1 --rounds 20 to see why"

if ((rc == 0 && engines_rc == 0)); then
  say "all targets met in $(seconds_since "$started") s; tables in build/bench.md and build/bench-engines.md"
else
  die "targets missed (FAIL/MISS lines above); tables in build/bench.md and build/bench-engines.md" \
    "each FAIL/MISS line says what was measured; report those numbers, do not loosen the harness"
fi

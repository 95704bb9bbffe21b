#!/usr/bin/env bash
# Runs every test suite of the project and reports per-suite counts — the README's test command.
#
#   scripts/test.sh                       all suites
#   SUITES="native browser" scripts/test.sh   only those (space- or comma-separated names)
#
# Order: check tools → `stamp` (the committed miniprogram/session matches its inputs; before the
# build, which rewrites the stamp) → `build` (scripts/build.sh) → every other suite. A failing suite
# does not stop the others. The last line is always `N passed, M failed`; the exit status is 1 if
# anything failed. A suite that exits non-zero without reporting a failed test counts one failure.
# Logs: build/test-logs/<suite>.log.
set -euo pipefail
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

cd "$ROOT"
LOG_DIR="$ROOT/build/test-logs"
mkdir -p "$LOG_DIR"
started="$(now_ms)"

# Suites asked for by SUITES (empty: all).
suites_asked="${SUITES:-}"
read -r -a WANTED <<<"${suites_asked//,/ }"
KNOWN=()
ROWS=()
TOTAL_PASSED=0
TOTAL_FAILED=0

selected() {
  local name
  KNOWN+=("$1")
  [[ ${#WANTED[@]} -eq 0 ]] && return 0
  for name in "${WANTED[@]}"; do [[ "$name" == "$1" ]] && return 0; done
  return 1
}

record() { # NAME PASSED FAILED SECONDS NOTE
  ROWS+=("$(printf '%-12s %7s %7s %8s  %s' "$1" "$2" "$3" "$4" "$5")")
  if [[ "$2" =~ ^[0-9]+$ ]]; then TOTAL_PASSED=$((TOTAL_PASSED + $2)); fi
  if [[ "$3" =~ ^[0-9]+$ ]]; then TOTAL_FAILED=$((TOTAL_FAILED + $3)); fi
}

# --- parsers: LOG RC → "PASSED FAILED NOTE" ------------------------------------------------------
strip_ansi() { sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' "$1"; }

# One test: the command's exit status.
parse_exit() {
  if [[ $2 -eq 0 ]]; then echo "1 0"; else echo "0 1 exit status $2"; fi
}

# cargo / wasm-bindgen-test-runner: sums every `test result: ok. N passed; M failed` line.
parse_cargo() {
  local counts passed failed
  counts="$(strip_ansi "$1" | sed -nE 's/.*test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' |
    awk '{p += $1; f += $2; n++} END {print (n ? p " " f : "none")}')"
  if [[ "$counts" == none ]]; then
    echo "0 1 no 'test result:' line (exit status $2)"
    return
  fi
  read -r passed failed <<<"$counts"
  if [[ $2 -ne 0 && $failed -eq 0 ]]; then
    echo "$passed 1 exit status $2 without a failed test (build error or crash?)"
  else
    echo "$passed $failed"
  fi
}

# node --test (TAP reporter): the closing `# pass N` / `# fail M` (+ `# cancelled K`) lines.
parse_tap() {
  local passed failed cancelled
  passed="$(strip_ansi "$1" | sed -nE 's/^# pass ([0-9]+)$/\1/p' | tail -n1)"
  failed="$(strip_ansi "$1" | sed -nE 's/^# fail ([0-9]+)$/\1/p' | tail -n1)"
  cancelled="$(strip_ansi "$1" | sed -nE 's/^# cancelled ([0-9]+)$/\1/p' | tail -n1)"
  if [[ -z "$passed" || -z "$failed" ]]; then
    echo "0 1 no '# pass'/'# fail' summary (exit status $2)"
    return
  fi
  failed=$((failed + ${cancelled:-0}))
  if [[ $2 -ne 0 && $failed -eq 0 ]]; then
    echo "$passed 1 exit status $2 without a failed test"
  else
    echo "$passed $failed"
  fi
}

# A script's own summary: its last line of the form `N passed, M failed` (what this script prints).
parse_summary() {
  local line passed failed
  line="$(strip_ansi "$1" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1 || true)"
  if [[ -z "$line" ]]; then
    echo "0 1 no 'N passed, M failed' line (exit status $2)"
    return
  fi
  read -r passed _ failed _ <<<"${line//,/}"
  if [[ $2 -ne 0 && $failed -eq 0 ]]; then
    echo "$passed 1 exit status $2 without a failed test"
  else
    echo "$passed $failed"
  fi
}

# run_suite NAME PARSER COMMAND... — runs COMMAND (stdin closed, output shown and logged),
# parses its counts with parse_PARSER and records a row. Never stops the script.
run_suite() {
  local name="$1" parser="$2"
  shift 2
  selected "$name" || return 0
  local log="$LOG_DIR/$name.log" start rc passed failed note
  say "=== $name: $*"
  start="$(now_ms)"
  set +e
  ("$@") </dev/null 2>&1 | tee "$log"
  rc="${PIPESTATUS[0]}"
  set -e
  read -r passed failed note <<<"$("parse_$parser" "$log" "$rc")"
  say "=== $name: $passed passed, $failed failed${note:+ ($note)}"
  record "$name" "$passed" "$failed" "$(seconds_since "$start")" "${note:-}"
}

# skip_suite NAME WHY — for a suite whose files do not exist yet.
skip_suite() {
  selected "$1" || return 0
  say "=== $1: SKIPPED: $2"
  record "$1" - - - "SKIPPED: $2"
}

# with_build_tmpdir COMMAND... — runs COMMAND with TMPDIR=build/tmp, removing Chromium's leftovers
# before and after.
with_build_tmpdir() {
  use_build_tmpdir
  local rc=0
  "$@" || rc=$?
  clean_chromium_tmp
  return "$rc"
}

has_files() { compgen -G "$1" >/dev/null; }

# --- disk ----------------------------------------------------------------------------------------------
# A run from a clean clone writes about 4 GB (target/ 2.7, node_modules 0.45, fuzz/target 0.4, the
# server suite's databases); with too little room the failure comes minutes later as a linker
# "Bus error" or "No space left on device" deep in one suite's log, so say it first, with figures.
# Measured in README ("Disk").
DISK_NEEDED_MB=5000
read -r disk_free_mb disk_mount < <(df -Pm "$ROOT" | awk 'NR == 2 {print $4, $6}') || true
if [[ "${disk_free_mb:-}" =~ ^[0-9]+$ ]] && ((disk_free_mb < DISK_NEEDED_MB)); then
  say "WARNING: $disk_free_mb MB free on $disk_mount; a run from a clean clone needs about $DISK_NEEDED_MB MB" \
    "(suites may fail with 'No space left on device': free space, e.g. cargo clean in old clones)"
fi

# --- tools ---------------------------------------------------------------------------------------------
say "checking tools"
ensure_test_tools

# --- suites: one line each; the suite name is what SUITES selects ------------------------------------------
# The stamp check runs before the build, which rewrites the stamp.
run_suite stamp exit scripts/check-stamp.sh
run_suite build exit scripts/build.sh
run_suite clippy exit cargo clippy -p wx-session --all-targets -- -D warnings
run_suite clippy-wasm exit cargo clippy -p wx-session --lib --target wasm32-unknown-unknown -- -D warnings
# Never `cargo test -q`: the wasm test runner rejects --quiet. --no-fail-fast: count every test binary.
run_suite native cargo cargo test -p wx-session --no-fail-fast
if has_files 'tests/*.rs'; then
  run_suite browser cargo with_build_tmpdir wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver --mode no-install
else
  skip_suite browser "no tests/*.rs yet"
fi
if has_files 'tests/node/*.js'; then
  run_suite node tap node --test --test-reporter=tap tests/node/
else
  skip_suite node "no tests/node/*.js yet"
fi
run_suite tools tap node --test --test-reporter=tap tools/
# The built module under JavaScriptCore with the JIT off, as on iOS (tests/jsc/main.js).
run_suite jsc summary bash scripts/test-jsc.sh
if [[ -f scripts/test-server.sh ]]; then
  run_suite server cargo bash scripts/test-server.sh
else
  skip_suite server "scripts/test-server.sh does not exist yet"
fi
if [[ -f scripts/e2e.sh ]]; then
  run_suite e2e tap bash scripts/e2e.sh
else
  skip_suite e2e "scripts/e2e.sh does not exist yet"
fi
if [[ -f scripts/fuzz.sh ]]; then
  run_suite fuzz summary bash scripts/fuzz.sh
else
  skip_suite fuzz "scripts/fuzz.sh does not exist yet"
fi
# The npm package and WeChat's own tooling (miniprogram-ci, offline), TypeScript: tests/npm/.
run_suite npm tap node --test --test-reporter=tap tests/npm/
# More suites go here, one line each: run_suite NAME PARSER COMMAND...
# PARSER: exit (one test: the exit status), cargo (`test result:` lines), tap (`# pass`/`# fail`),
# summary (a final `N passed, M failed` line).

# --- report ------------------------------------------------------------------------------------------------
for name in "${WANTED[@]}"; do
  [[ " ${KNOWN[*]} " == *" $name "* ]] || die "unknown suite '$name' in SUITES" "use some of: ${KNOWN[*]}"
done

echo
printf '%-12s %7s %7s %8s  %s\n' suite passed failed seconds note
for row in "${ROWS[@]}"; do printf '%s\n' "$row"; done
echo "total time $(seconds_since "$started") s; logs in build/test-logs/"
echo
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[[ $TOTAL_FAILED -eq 0 ]]

#!/usr/bin/env bash
# Fuzzes the pure decoders (fuzz/fuzz_targets/*.rs) with cargo-fuzz / libFuzzer, each for a bounded
# time, and fails on any crash.
#
#   scripts/fuzz.sh                    every target, FUZZ_SECONDS (default 20) seconds each
#   scripts/fuzz.sh --seconds 600      longer runs (same as FUZZ_SECONDS=600)
#   scripts/fuzz.sh json stored        only those targets (also FUZZ_TARGETS="json stored")
#   scripts/fuzz.sh --fresh            forget what earlier runs found (build/fuzz/corpus) first
#
# Steps: install cargo-fuzz if missing → build every target once → run each target, seeded with
# the committed corpus fuzz/corpus/<target>/ copied into build/fuzz/corpus/<target>/ (libFuzzer
# writes what it finds there, so the committed corpus is never touched; finds are kept for the next
# run unless --fresh) → one line per target, then exactly `N passed, M failed` (N = targets that
# ran clean). Exit status 1 if any target crashed or did not build. Logs: build/fuzz/logs/<target>.log;
# crash inputs: fuzz/artifacts/<target>/ (git-ignored), each with the command that reproduces it.
#
# Why these flags:
# - RUSTC_BOOTSTRAP=1: cargo-fuzz passes nightly-only `-Z` flags; this lets the stable toolchain
#   (the only one we rely on) accept them.
# - --sanitizer none (default; FUZZ_SANITIZER=address to change): AddressSanitizer does build and
#   run on stable here, but it only finds memory errors in `unsafe` code and src/ has none; panics,
#   integer overflows (debug assertions are on) and stack overflows are caught without it. Without
#   it the targets run 4-5x faster (json: ~23,000 vs ~5,000 execs/s on 2 cores).
# - -max_len=4096: longer inputs add nothing the decoders have not seen (tokens stop at 4096).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

cd "$ROOT"
FUZZ_DIR="$ROOT/fuzz"
WORK="$ROOT/build/fuzz"
seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
fresh=0
read -r -a targets <<<"${FUZZ_TARGETS:-}"

# Whatever stops this script early (no cargo-fuzz, no targets), the last line is still the summary.
summary_printed=0
on_exit() {
  local rc=$?
  if [[ $rc -ne 0 && $summary_printed -eq 0 ]]; then
    local n=${#targets[@]}
    echo "0 passed, $((n > 0 ? n : 1)) failed"
  fi
}
trap on_exit EXIT

while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) [[ $# -ge 2 ]] || die "--seconds needs a number"; seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#--seconds=}"; shift ;;
    --fresh) fresh=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" "see scripts/fuzz.sh --help" ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "seconds must be a positive whole number, not '$seconds'"
export RUSTC_BOOTSTRAP=1

# --- cargo-fuzz ------------------------------------------------------------------------------------
if cargo fuzz --version >/dev/null 2>&1; then
  say "cargo-fuzz: $(cargo fuzz --version) already installed"
else
  say "cargo-fuzz: installing (cargo install cargo-fuzz --locked, about 2 minutes)"
  cargo install cargo-fuzz --locked || {
    say "cargo-fuzz: --locked failed, retrying without it"
    cargo install cargo-fuzz
  } || die "cargo install cargo-fuzz failed" "run it by hand to see why: cargo install cargo-fuzz"
fi

all_targets=()
while IFS= read -r t; do all_targets+=("$t"); done < <(cargo fuzz list --fuzz-dir "$FUZZ_DIR")
[[ ${#all_targets[@]} -gt 0 ]] || die "no fuzz targets found in fuzz/"
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || die "unknown fuzz target '$t'" "use some of: ${all_targets[*]}"
done

fuzz_flags=(--fuzz-dir "$FUZZ_DIR" --sanitizer "$sanitizer")
run_cmd="RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer $sanitizer"
mkdir -p "$WORK/logs"
if [[ $fresh -eq 1 ]]; then rm -rf "$WORK/corpus"; fi

# --- build (once, every target) ------------------------------------------------------------------
say "building ${#all_targets[@]} targets (sanitizer: $sanitizer; the first build compiles libFuzzer, about 1-2 minutes)"
start="$(now_ms)"
set +e
cargo fuzz build "${fuzz_flags[@]}" </dev/null >"$WORK/logs/build.log" 2>&1
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  tail -n 30 "$WORK/logs/build.log" | sed 's/^/    /'
  say "build FAILED (exit $rc): see build/fuzz/logs/build.log"
  for t in "${targets[@]}"; do printf '%-10s FAILED  did not build\n' "$t"; done
  exit 1
fi
say "built in $(seconds_since "$start") s"

# --- run ---------------------------------------------------------------------------------------------
passed=0
failed=0
lines=()
for t in "${targets[@]}"; do
  corpus="$WORK/corpus/$t"
  log="$WORK/logs/$t.log"
  mkdir -p "$corpus" "$FUZZ_DIR/artifacts/$t"
  cp -R "$FUZZ_DIR/corpus/$t/." "$corpus/"
  say "=== $t: ${seconds} s, $(find "$corpus" -type f | wc -l) inputs in build/fuzz/corpus/$t"
  start="$(now_ms)"
  set +e
  cargo fuzz run "${fuzz_flags[@]}" "$t" "$corpus" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    </dev/null >"$log" 2>&1
  rc=$?
  set -e
  took="$(seconds_since "$start")"
  runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n1)"
  speed="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n1)"
  cov="$(sed -nE 's/^#[0-9]+.*cov: ([0-9]+) .*corp: ([0-9]+)\/.*/cov \1, corpus \2/p' "$log" | tail -n1)"
  crash="$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n1)"
  if [[ $rc -eq 0 && -z "$crash" ]]; then
    passed=$((passed + 1))
    lines+=("$(printf '%-10s ok      %s runs, %s execs/s, %s, %s s' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" "$took")")
    say "=== $t: ok (${runs:-?} runs, ${speed:-?} execs/s)"
  else
    failed=$((failed + 1))
    crash="${crash#"$ROOT"/}"
    lines+=("$(printf '%-10s FAILED  exit %s after %s s; %s' "$t" "$rc" "$took" "${crash:+input $crash}")")
    say "=== $t: FAILED (exit $rc) — last lines of build/fuzz/logs/$t.log:"
    grep -A1 -E "panicked at|ERROR: libFuzzer|overflowed its stack" "$log" | head -n 12 | sed 's/^/    /' || true
    if [[ -n "$crash" ]]; then
      say "    crash input: $crash"
      say "    reproduce:   $run_cmd $t $crash"
      say "    see it:      xxd $crash"
    else
      tail -n 20 "$log" | sed 's/^/    /'
    fi
  fi
done

echo
for line in "${lines[@]}"; do echo "$line"; done
summary_printed=1
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Checks that the committed miniprogram/session/ was built from the current sources: recomputes
# the hash of the build's inputs and compares it with miniprogram/session/BUILD_STAMP.
# Usage: scripts/check-stamp.sh        (exit 0: up to date; exit 1: stale, with what to do)
set -euo pipefail
# shellcheck source=scripts/lib/stamp.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/stamp.sh"

recorded="$(recorded_stamp)"
current="$(compute_stamp)"
if [[ -z "$recorded" ]]; then
  die "miniprogram/session has no BUILD_STAMP: run scripts/build.sh and commit it"
fi
for file in session_wasm.js session_bg.wasm.br; do
  [[ -f "$ROOT/miniprogram/session/$file" ]] || die "miniprogram/session/$file is missing: run scripts/build.sh and commit it"
done
if [[ "$recorded" != "$current" ]]; then
  say "recorded $recorded"
  say "current  $current"
  die "miniprogram/session is stale: run scripts/build.sh and commit it"
fi
say "miniprogram/session matches its inputs ($current)"

#!/usr/bin/env bash
# Runs the end-to-end tests: the real mini-program pages in headless Chromium (the browser
# preview, preview/) against the real reference server, both started by scripts/dev.sh.
#
#   scripts/e2e.sh                          all of tests/e2e/
#   scripts/e2e.sh tests/e2e/session.test.js   some files
#   E2E_SESSION_DIR=build/stage scripts/e2e.sh  test a built module that is not in miniprogram/session
#
# Steps: check tools (Node, npm packages, Chromium, CJK and emoji fonts, Rust) → build once
# (scripts/dev.sh --build-only: the server, and scripts/build.sh if miniprogram/session is stale)
# → node --test with the TAP reporter, so the output ends with `# pass N` / `# fail M` (what
# scripts/test.sh reads). Exit status: node's (non-zero if any test failed).
# Screenshots of every step and each dev.sh log: build/e2e/. Chromium's temporary folders go to
# build/tmp and are removed afterwards.
set -euo pipefail
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

cd "$ROOT"
started="$(now_ms)"

say "checking tools"
ensure_node
ensure_npm_deps
ensure_apt_packages chromium fonts-noto-cjk fonts-noto-color-emoji
ensure_rust

build_args=(--build-only)
if [[ -n "${E2E_SESSION_DIR:-}" ]]; then
  E2E_SESSION_DIR="$(cd "$E2E_SESSION_DIR" && pwd)" || die "E2E_SESSION_DIR=$E2E_SESSION_DIR is not a directory"
  export E2E_SESSION_DIR
  build_args+=(--session-dir "$E2E_SESSION_DIR")
  say "session module from $E2E_SESSION_DIR (not miniprogram/session)"
fi
scripts/dev.sh "${build_args[@]}"

mkdir -p build/e2e
use_build_tmpdir
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(tests/e2e/)
# A per-test timeout, so a hung browser fails one test instead of stalling the whole run.
say "node --test --test-reporter=tap --test-timeout=90000 ${files[*]}"
status=0
node --test --test-reporter=tap --test-timeout=90000 "${files[@]}" </dev/null || status=$?
clean_chromium_tmp
say "done in $(seconds_since "$started") s (status $status); screenshots and dev.sh logs in build/e2e/"
exit "$status"

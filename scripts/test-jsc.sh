#!/usr/bin/env bash
# The `jsc` suite: the built session module (miniprogram/session/) under JavaScriptCore with every
# JIT tier off — how iPhones run mini-program code — in Debian's `jsc` shell (tests/jsc/main.js).
#
#   scripts/test-jsc.sh [FILTER]        FILTER: run only the tests whose name contains it
#
# Steps: Debian's libjavascriptcoregtk-4.0-bin (the shell) → brotli-decompressed copies of the
# package's .wasm.br files in build/jsc/unbr/ (the device's WXWebAssembly decompresses itself; the
# shell cannot, so the harness reads these, and only for paths whose .wasm.br exists in the package)
# → jsc --useJIT=false tests/jsc/main.js. Prints TAP, then `N passed, M failed`.
set -euo pipefail
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

cd "$ROOT"
ensure_jsc
ensure_apt_packages brotli
[[ -f miniprogram/session/session_bg.wasm.br ]] || die "miniprogram/session/session_bg.wasm.br is missing" "run scripts/build.sh"

UNBR="$ROOT/build/jsc/unbr"
rm -rf "$UNBR"
while IFS= read -r file; do
  relative="${file#miniprogram/}"
  mkdir -p "$UNBR/$(dirname "$relative")"
  brotli -d -f -c "$file" >"$UNBR/${relative%.br}"
done < <(find miniprogram -name '*.wasm.br' -not -path '*/node_modules/*')

say "jsc --useJIT=false tests/jsc/main.js (JavaScriptCore $(jsc_version))"
jsc --useJIT=false tests/jsc/main.js -- test "$ROOT" "$UNBR" "${1:-}"

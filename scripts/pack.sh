#!/usr/bin/env bash
# Packs the npm package `wx-session` from the committed build in miniprogram/session/, and
# refreshes the demo's miniprogram/miniprogram_npm/ the way WeChat DevTools' 构建 npm would.
#
#   scripts/pack.sh [--out DIR] [--no-demo]
#
#   --out DIR    where the package folder and the tarball go (default build/npm)
#   --no-demo    only pack; leave miniprogram/ alone (the tests pack into their own folders)
#
# Steps: check tools → stage DIR/wx-session/ (tools/npm-pack.js: npm/package.json, npm/README.md,
# miniprogram_dist/ = the four files of miniprogram/session/ with index.js's one
# `const DEFAULT_WASM_PATH = …` line pointing at /miniprogram_npm/wx-session/, checked) → npm pack
# → check the tarball's file list → (demo) npm install in miniprogram/ (its package.json depends on
# file:../build/npm/wx-session.tgz) → miniprogram-ci packNpmManually (= 工具 → 构建 npm) →
# check miniprogram_npm/wx-session/ against the build.
# The last line printed is the tarball's absolute path. Commit miniprogram/miniprogram_npm after a
# demo refresh: the demo opens in DevTools as it is, without npm.
set -euo pipefail
# shellcheck source=scripts/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

OUT="$ROOT/build/npm"
DEMO=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --no-demo) DEMO=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1" "see scripts/pack.sh --help" ;;
  esac
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"

ensure_node >&2
ensure_npm_deps >&2

# --- 1. the package folder ------------------------------------------------------------------------
node tools/npm-pack.js stage "$OUT/wx-session" >&2 ||
  die "could not stage the package (see above)" "run scripts/build.sh if miniprogram/session is incomplete"

# --- 2. the tarball ---------------------------------------------------------------------------------
# --json: the file name and the file list, to check what a user's `npm i` gets.
pack_json="$(cd "$OUT" && npm pack ./wx-session --json --pack-destination "$OUT" --loglevel=error)" ||
  die "npm pack failed"
tarball_name="$(node -e 'const r = JSON.parse(process.argv[1])[0]; console.log(r.filename)' "$pack_json")"
tarball="$OUT/$tarball_name"
[[ -f "$tarball" ]] || die "npm pack did not write $tarball"
node -e '
  const r = JSON.parse(process.argv[1])[0];
  const want = ["package.json", "README.md", ...["index.js", "index.d.ts", "session_wasm.js", "session_bg.wasm.br"].map((f) => "miniprogram_dist/" + f)];
  const got = r.files.map((f) => f.path).sort();
  const missing = want.filter((f) => !got.includes(f));
  const extra = got.filter((f) => !want.includes(f));
  if (missing.length || extra.length) {
    console.error("the tarball is wrong: missing " + JSON.stringify(missing) + ", unexpected " + JSON.stringify(extra));
    process.exit(1);
  }
  console.error("[pack] " + r.filename + ": " + got.length + " files, " + r.size + " bytes");
' "$pack_json" || die "the tarball's file list is not the package's (see above)"
# A stable name too: the demo's package.json depends on file:../build/npm/wx-session.tgz.
cp "$tarball" "$OUT/wx-session.tgz"

# --- 3. the demo: npm install + 构建 npm ---------------------------------------------------------------
if [[ $DEMO -eq 1 ]]; then
  [[ "$OUT" == "$ROOT/build/npm" ]] || die "--out with a demo refresh: the demo depends on build/npm/wx-session.tgz" "add --no-demo"
  say "demo: npm install in miniprogram/ (wx-session from build/npm/wx-session.tgz)" >&2
  # A fresh copy every time: npm keeps an installed file: tarball of the same version otherwise.
  rm -rf miniprogram/node_modules
  (cd miniprogram && npm install --no-package-lock --no-audit --no-fund --loglevel=error) >&2 ||
    die "npm install in miniprogram/ failed"
  say "demo: 构建 npm (miniprogram-ci packNpmManually)" >&2
  rm -rf miniprogram/miniprogram_npm
  node tools/wechat-ci.js pack-npm miniprogram >/dev/null ||
    die "packNpmManually failed (see above)"
  node tools/npm-pack.js check >&2 || die "miniprogram_npm/wx-session is not the build (see above)"
  if ! git diff --quiet -- miniprogram/miniprogram_npm 2>/dev/null ||
    [[ -n "$(git ls-files --others --exclude-standard -- miniprogram/miniprogram_npm 2>/dev/null)" ]]; then
    say "demo: miniprogram/miniprogram_npm changed; commit it: git add miniprogram/miniprogram_npm" >&2
  fi
fi

printf '%s\n' "$tarball"

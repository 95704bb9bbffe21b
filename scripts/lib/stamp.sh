# shellcheck shell=bash
# The build stamp: a hash of everything scripts/build.sh turns into miniprogram/session/.
# Two machines do not produce byte-identical wasm, so the committed files are checked by their
# inputs instead: if the inputs' hash differs from miniprogram/session/BUILD_STAMP, someone changed
# the Rust or the build without rebuilding and committing the output. Sourced, never run.

[[ -n "${WX_STAMP_SH:-}" ]] && return 0
WX_STAMP_SH=1
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STAMP_FILE="$ROOT/miniprogram/session/BUILD_STAMP"

# The tools whose code shapes the output (the glue bundler, its loader and codec, the checks that
# gate it, the wasm preparation).
# Not the tests or the sandbox: they check the output without changing it.
STAMP_TOOLS=(tools/mp-bundle.js tools/mp-loader.mjs tools/mp-utf8.mjs tools/mp-check.js tools/mp-index.js tools/wasm-module.js)

# stamp_inputs — the input files, one path per line relative to ROOT, sorted.
stamp_inputs() {
  (
    cd "$ROOT" || exit 1
    {
      printf '%s\n' Cargo.toml Cargo.lock scripts/build.sh "${STAMP_TOOLS[@]}"
      # Tracked plus new-but-not-ignored files, so an uncommitted new module counts too.
      if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files --cached --others --exclude-standard -- src
      else
        find src -type f
      fi
    } | LC_ALL=C sort -u | while IFS= read -r file; do
      # A file deleted but still in the index is not an input any more.
      [[ -f "$file" ]] && printf '%s\n' "$file"
    done
  )
}

# compute_stamp — "sha256:<hex>" over every input's path and content.
compute_stamp() {
  local list
  list="$(stamp_inputs)"
  [[ -n "$list" ]] || die "no build inputs found under $ROOT"
  (cd "$ROOT" && printf '%s\n' "$list" | while IFS= read -r file; do
    printf '%s %s\n' "$(sha256sum <"$file" | cut -d' ' -f1)" "$file"
  done) | sha256sum | awk '{print "sha256:" $1}'
}

# write_stamp — records the current inputs' hash in miniprogram/session/BUILD_STAMP.
write_stamp() {
  local stamp
  stamp="$(compute_stamp)"
  {
    printf '# Hash of the inputs of scripts/build.sh: Cargo.toml, Cargo.lock, src/**, scripts/build.sh, %s.\n' "${STAMP_TOOLS[*]}"
    printf '# scripts/check-stamp.sh recomputes it; a difference means: run scripts/build.sh and commit.\n'
    printf '%s\n' "$stamp"
  } >"$STAMP_FILE"
}

# recorded_stamp — the hash in BUILD_STAMP, or nothing if there is no stamp.
recorded_stamp() {
  [[ -f "$STAMP_FILE" ]] && grep -E '^sha256:' "$STAMP_FILE" | head -n1 || true
}

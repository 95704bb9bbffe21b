# shellcheck shell=bash
# ensure_* functions: make sure a build or test tool is present, installing it only when it is
# missing. Each prints one line saying what it checked or did, and is quick when nothing is to do.
# Only package registries are reachable from our machines (crates.io, Debian, npm), so everything
# comes from there; see shared/notes/toolchain.md for why each step looks the way it does.
# Sourced, never run.

[[ -n "${WX_TOOLS_SH:-}" ]] && return 0
WX_TOOLS_SH=1
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Debian packages the test suites need: the browser and its driver (same Debian build, so their
# versions match), brotli for the shipped .wasm.br, redis for the server tests, a CJK font so
# Chinese renders in the browser suites, JavaScriptCore's shell `jsc` (the engine of WeChat on iOS)
# for the `jsc` suite and scripts/bench.sh, and GNU time for the benchmark's peak-RSS figures.
WX_APT_PACKAGES=(chromium chromium-driver brotli redis-server fonts-noto-cjk libjavascriptcoregtk-4.0-bin time)
WX_WASM_TARGET=wasm32-unknown-unknown

# ensure_apt_packages PKG... — installs the missing ones; `apt-get update` at most once per run.
ensure_apt_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "apt: $* already installed"
    return 0
  fi
  command -v apt-get >/dev/null || die "missing Debian packages: ${missing[*]}" "install them with your system's package manager"
  local as_root=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "missing Debian packages: ${missing[*]}" "sudo apt-get install -y ${missing[*]}"
    as_root=(sudo)
  fi
  say "apt: installing ${missing[*]}"
  if [[ -z "${WX_APT_UPDATED:-}" ]]; then
    "${as_root[@]}" apt-get update -qq || die "apt-get update failed" "check the Debian mirror in /etc/apt/sources.list*"
    export WX_APT_UPDATED=1
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed" "run it by hand to see why: apt-get install -y ${missing[*]}"
  say "apt: installed ${missing[*]}"
}

# ensure_browser — chromium and chromedriver present and of the same major version (a mismatch
# makes every browser test fail with "session not created").
ensure_browser() {
  ensure_apt_packages chromium chromium-driver
  local browser driver
  # Debian's chromium wrapper prints a harmless shell warning on stderr; keep only the version.
  browser="$(chromium --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n1)"
  driver="$(chromedriver --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n1)"
  [[ -n "$browser" && -n "$driver" ]] || die "cannot run chromium/chromedriver" "apt-get install --reinstall chromium chromium-driver"
  [[ "${browser%%.*}" == "${driver%%.*}" ]] ||
    die "chromium $browser and chromedriver $driver differ" "apt-get install chromium chromium-driver (upgrade both together)"
  say "browser: chromium $browser, chromedriver $driver"
}

# ensure_jsc — Debian's JavaScriptCore shell, /usr/bin/jsc (package libjavascriptcoregtk-4.0-bin).
ensure_jsc() {
  ensure_apt_packages libjavascriptcoregtk-4.0-bin
  command -v jsc >/dev/null || die "libjavascriptcoregtk-4.0-bin is installed but there is no jsc on PATH" "apt-get install --reinstall libjavascriptcoregtk-4.0-bin"
  say "jsc: JavaScriptCore $(jsc_version)"
}

# jsc_version — the Debian package's version (the shell prints none of its own).
jsc_version() {
  dpkg-query -W -f='${Version}' libjavascriptcoregtk-4.0-bin 2>/dev/null || echo unknown
}

# ensure_rust — cargo and rustup must already exist; nothing here can install them.
ensure_rust() {
  if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
    die "cargo/rustup not found" "install Rust with rustup (https://rustup.rs) and open a new shell"
  fi
  say "rust: $(cd "$ROOT" && rustc --version)"
}

# ensure_wasm_target — the standard library for wasm32-unknown-unknown.
ensure_wasm_target() {
  if (cd "$ROOT" && rustup target list --installed) | grep -qx "$WX_WASM_TARGET"; then
    say "rust target: $WX_WASM_TARGET already installed"
  else
    say "rust target: adding $WX_WASM_TARGET"
    (cd "$ROOT" && rustup target add "$WX_WASM_TARGET") || die "rustup target add $WX_WASM_TARGET failed" "run it by hand to see why"
  fi
}

# ensure_rust_src — the standard library's source, which scripts/build.sh recompiles for the wasm
# module (-Z build-std with panic=immediate-abort: the panic-formatting machinery alone is ~7 KB of
# brotli'd wasm, within a 56 KB budget).
ensure_rust_src() {
  if (cd "$ROOT" && rustup component list --installed) | grep -qx 'rust-src'; then
    say "rust-src: already installed"
  else
    say "rust-src: adding (needed to rebuild std small for wasm)"
    (cd "$ROOT" && rustup component add rust-src) || die "rustup component add rust-src failed" "run it by hand to see why"
  fi
}

# ensure_clippy — the clippy component for the active toolchain.
ensure_clippy() {
  if (cd "$ROOT" && cargo clippy --version) >/dev/null 2>&1; then
    say "clippy: $(cd "$ROOT" && cargo clippy --version)"
  else
    say "clippy: adding the component"
    (cd "$ROOT" && rustup component add clippy) || die "rustup component add clippy failed" "run it by hand to see why"
  fi
}

# ensure_wasm_pack — from crates.io; `--locked` so its own dependencies are the tested ones.
ensure_wasm_pack() {
  if command -v wasm-pack >/dev/null; then
    say "wasm-pack: $(wasm-pack --version 2>/dev/null)"
  else
    say "wasm-pack: installing (cargo install --locked wasm-pack, about 2-3 minutes)"
    cargo install --locked wasm-pack || die "cargo install wasm-pack failed" "run: cargo install --locked wasm-pack"
  fi
}

# wasm_bindgen_version — the wasm-bindgen version Cargo.lock resolved.
wasm_bindgen_version() {
  [[ -f "$ROOT/Cargo.lock" ]] || die "no Cargo.lock" "run: cargo generate-lockfile (and commit it)"
  local version
  version="$(awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = /         { name = $3 }
    /^version = / && name == "\"wasm-bindgen\"" { gsub(/"/, "", $3); print $3; exit }
  ' "$ROOT/Cargo.lock")"
  [[ -n "$version" ]] || die "Cargo.lock has no wasm-bindgen package" "add wasm-bindgen to Cargo.toml and run cargo generate-lockfile"
  printf '%s\n' "$version"
}

# ensure_wasm_bindgen_cli — wasm-bindgen and wasm-bindgen-test-runner at exactly Cargo.lock's
# version: wasm-pack only uses the CLI on PATH when the versions match, and otherwise tries to
# download one from the internet, which our machines cannot reach.
ensure_wasm_bindgen_cli() {
  local want have runner
  want="$(wasm_bindgen_version)"
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
  runner="$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}' || true)"
  if [[ "$have" == "$want" && "$runner" == "$want" ]]; then
    say "wasm-bindgen-cli: $want (matches Cargo.lock)"
    return 0
  fi
  say "wasm-bindgen-cli: installing $want (found ${have:-none}; about 2 minutes)"
  # No --locked: the CLI's own lock file pins a webpki-roots version the registry here lacks.
  cargo install wasm-bindgen-cli --version "$want" --force ||
    die "cargo install wasm-bindgen-cli --version $want failed" "run it by hand to see why"
}

# ensure_node — Node 20 or later (node:test with --test-reporter, the tools in tools/).
ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "node/npm not found" "install Node.js 20 (e.g. from nodejs.org's Debian packages)"
  fi
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "Node $(node --version) is too old" "install Node.js 20 or later"
  say "node: $(node --version)"
}

# ensure_npm_deps — `npm ci` when node_modules is missing or older than package-lock.json.
ensure_npm_deps() {
  [[ -f "$ROOT/package-lock.json" ]] || die "no package-lock.json" "run: npm install (and commit package-lock.json)"
  # npm writes node_modules/.package-lock.json on every install, so its age is the install's age.
  local installed="$ROOT/node_modules/.package-lock.json"
  if [[ -f "$installed" && ! "$ROOT/package-lock.json" -nt "$installed" ]]; then
    say "npm: node_modules up to date with package-lock.json"
    return 0
  fi
  say "npm: npm ci (node_modules missing or older than package-lock.json)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed" "run: npm ci (in $ROOT) to see why"
}

# ensure_binaryen_path — npm's binaryen first on PATH. Never Debian's `binaryen` (version 108):
# its wasm-opt rewrites the externref table export wrongly and the module fails to load.
ensure_binaryen_path() {
  local bin="$ROOT/node_modules/binaryen/bin"
  [[ -x "$bin/wasm-opt" ]] || die "npm's binaryen is not installed" "run: npm ci (binaryen is a devDependency in package.json)"
  case ":$PATH:" in
    ":$bin:"*) ;;
    *) PATH="$bin:$PATH" ;;
  esac
  export PATH
  [[ "$(command -v wasm-opt)" == "$bin/wasm-opt" ]] || die "wasm-opt on PATH is $(command -v wasm-opt), not npm's" "remove the other one from PATH"
  say "wasm-opt: $(wasm-opt --version) from node_modules/binaryen"
}

# use_build_tmpdir — TMPDIR inside build/ for Chromium runs: Chromium leaves an
# org.chromium.Chromium.* folder behind on every run, and those must not pile up in /tmp.
use_build_tmpdir() {
  export TMPDIR="$ROOT/build/tmp"
  mkdir -p "$TMPDIR"
  clean_chromium_tmp
}

# clean_chromium_tmp — removes Chromium's leftovers from our TMPDIR (only ours, never /tmp).
clean_chromium_tmp() {
  [[ "${TMPDIR:-}" == "$ROOT/build/tmp" ]] || return 0
  rm -rf "$TMPDIR"/org.chromium.Chromium.* "$TMPDIR"/.org.chromium.Chromium.* 2>/dev/null || true
}

# ensure_build_tools — what scripts/build.sh needs.
ensure_build_tools() {
  if [[ "${WX_BUILD_TOOLS_OK:-}" == "$ROOT" ]]; then
    ensure_binaryen_path # PATH is not inherited by every caller; cheap
    return 0
  fi
  ensure_apt_packages brotli
  ensure_rust
  ensure_wasm_target
  ensure_rust_src
  ensure_wasm_pack
  ensure_wasm_bindgen_cli
  ensure_node
  ensure_npm_deps
  ensure_binaryen_path
  export WX_BUILD_TOOLS_OK="$ROOT"
}

# ensure_test_tools — everything scripts/test.sh needs, build tools included.
ensure_test_tools() {
  ensure_apt_packages "${WX_APT_PACKAGES[@]}"
  ensure_browser
  ensure_build_tools
  ensure_clippy
}

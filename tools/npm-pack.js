#!/usr/bin/env node
// The npm package `wx-session`, made from the committed build output in miniprogram/session/.
//
//   node tools/npm-pack.js stage DIR        write the package folder (package.json, README.md,
//                                           miniprogram_dist/) into DIR, replacing it
//   node tools/npm-pack.js check [NPM_DIR]  exit 1 unless NPM_DIR (default the demo's
//                                           miniprogram/miniprogram_npm/wx-session) holds exactly
//                                           what 构建 npm makes of this package
//
// The package's `miniprogram` field names miniprogram_dist/: WeChat's 构建 npm (and
// miniprogram-ci's packNpm/packNpmManually) then copies that folder as it is, .wasm.br included,
// to miniprogram_npm/wx-session/. Without the field it would bundle the JS and drop the .wasm.br.
// The only difference from the copy-in folder is one line of index.js: the default wasm path, which
// must name where 构建 npm puts the module, so `init({ baseUrl })` works with no `wasmPath`.
// Used by scripts/pack.sh, scripts/dev.sh and the `npm` test suite (tests/npm/).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const SESSION_DIR = path.join(REPO, 'miniprogram', 'session');
const MANIFEST = path.join(REPO, 'npm', 'package.json');
const PACKAGE_README = path.join(REPO, 'npm', 'README.md');
const DEMO_DIR = path.join(REPO, 'miniprogram');
const PACKAGE_NAME = 'wx-session';
/** The package's `miniprogram` folder. */
const DIST = 'miniprogram_dist';
/** What the package ships, all from miniprogram/session/. */
const SHIPPED = ['index.js', 'index.d.ts', 'session_wasm.js', 'session_bg.wasm.br'];
/** The default wasm path of the copy-in folder, and of the npm build (after 构建 npm). */
const COPY_IN_WASM_PATH = '/session/session_bg.wasm.br';
const NPM_WASM_PATH = `/miniprogram_npm/${PACKAGE_NAME}/session_bg.wasm.br`;
/** The one line of index.js that differs (the contract with whoever edits index.js). */
const DEFAULT_LINE = (wasmPath) => `const DEFAULT_WASM_PATH = '${wasmPath}';`;

class PackError extends Error {}

/**
 * index.js with the npm default wasm path. Refuses unless the copy-in line is there exactly once
 * and, afterwards, nothing else still names the copy-in path (a second default somewhere would be
 * silently wrong after 构建 npm).
 */
function rewriteIndex(source) {
  const lines = source.split('\n');
  const at = lines.map((line, i) => (line === DEFAULT_LINE(COPY_IN_WASM_PATH) ? i : -1)).filter((i) => i >= 0);
  if (at.length !== 1) {
    throw new PackError(
      `miniprogram/session/index.js must contain the line\n  ${DEFAULT_LINE(COPY_IN_WASM_PATH)}\nexactly once ` +
        `(found ${at.length}); tools/npm-pack.js rewrites it for the npm build`
    );
  }
  lines[at[0]] = DEFAULT_LINE(NPM_WASM_PATH);
  const out = lines.join('\n');
  if (out.includes(COPY_IN_WASM_PATH)) {
    throw new PackError(`index.js still names ${COPY_IN_WASM_PATH} outside its DEFAULT_WASM_PATH line; the npm build would load from there`);
  }
  return out;
}

/** The files of miniprogram_dist/ (and so of miniprogram_npm/wx-session/): name → Buffer. */
function distFiles(sessionDir = SESSION_DIR) {
  const files = new Map();
  for (const name of SHIPPED) {
    const file = path.join(sessionDir, name);
    if (!fs.existsSync(file)) throw new PackError(`${path.relative(REPO, file)} is missing: run scripts/build.sh`);
    let bytes = fs.readFileSync(file);
    if (name === 'index.js') bytes = Buffer.from(rewriteIndex(bytes.toString('utf8')), 'utf8');
    // The types document the default path; npm users should read theirs.
    if (name === 'index.d.ts') bytes = Buffer.from(bytes.toString('utf8').split(COPY_IN_WASM_PATH).join(NPM_WASM_PATH), 'utf8');
    files.set(name, bytes);
  }
  return files;
}

/** npm/package.json, checked: the fields 构建 npm and TypeScript need, the crate's version. */
function manifest() {
  const pkg = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
  const cargo = fs.readFileSync(path.join(REPO, 'Cargo.toml'), 'utf8');
  const crateVersion = (cargo.match(/^\[package\][^[]*?^version\s*=\s*"([^"]+)"/m) || [])[1];
  const problems = [];
  if (pkg.name !== PACKAGE_NAME) problems.push(`name must be ${PACKAGE_NAME}`);
  if (pkg.miniprogram !== DIST) problems.push(`miniprogram must be "${DIST}" (else 构建 npm drops the .wasm.br)`);
  if (pkg.main !== `${DIST}/index.js`) problems.push(`main must be "${DIST}/index.js"`);
  if (pkg.types !== `${DIST}/index.d.ts`) problems.push(`types must be "${DIST}/index.d.ts" (else TS2307)`);
  if (!Array.isArray(pkg.files) || !pkg.files.includes(DIST)) problems.push(`files must include "${DIST}"`);
  if (!pkg.license) problems.push('license is missing');
  if (pkg.version !== crateVersion) problems.push(`version ${pkg.version} differs from Cargo.toml's ${crateVersion}`);
  if (problems.length) throw new PackError(`npm/package.json: ${problems.join('; ')}`);
  return pkg;
}

/** Writes the package folder into `dir` (replacing it) and returns the manifest. */
function stage(dir, sessionDir = SESSION_DIR) {
  const pkg = manifest();
  const files = distFiles(sessionDir);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, DIST), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  fs.copyFileSync(PACKAGE_README, path.join(dir, 'README.md'));
  for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, DIST, name), bytes);
  return pkg;
}

/**
 * Differences between `npmDir` and what 构建 npm makes of the package: [] when they agree.
 * (构建 npm copies miniprogram_dist/ byte for byte; the `npm` suite proves that with miniprogram-ci.)
 */
function compareInstalled(npmDir = path.join(DEMO_DIR, 'miniprogram_npm', PACKAGE_NAME), sessionDir = SESSION_DIR) {
  const expected = distFiles(sessionDir);
  if (!fs.existsSync(npmDir)) return [`${path.relative(REPO, npmDir)} does not exist`];
  const problems = [];
  const present = fs.readdirSync(npmDir);
  for (const name of present) if (!expected.has(name)) problems.push(`unexpected file ${name}`);
  for (const [name, bytes] of expected) {
    const file = path.join(npmDir, name);
    if (!fs.existsSync(file)) problems.push(`missing ${name}`);
    else if (!fs.readFileSync(file).equals(bytes)) problems.push(`${name} differs from the build in miniprogram/session`);
  }
  return problems;
}

function main(argv) {
  const [command, arg] = argv;
  if (command === 'stage' && arg) {
    const pkg = stage(path.resolve(arg));
    console.log(`staged ${pkg.name}@${pkg.version} in ${arg} (${DIST}/: ${SHIPPED.join(', ')}; default wasm path ${NPM_WASM_PATH})`);
    return 0;
  }
  if (command === 'check') {
    const dir = arg ? path.resolve(arg) : undefined;
    const problems = compareInstalled(dir);
    const shown = path.relative(REPO, dir || path.join(DEMO_DIR, 'miniprogram_npm', PACKAGE_NAME));
    if (problems.length) {
      console.error(`${shown} is not what 构建 npm makes of the current build:\n  ${problems.join('\n  ')}\n` +
        'run scripts/pack.sh (it refreshes the demo\'s miniprogram_npm) and commit miniprogram/miniprogram_npm');
      return 1;
    }
    console.log(`${shown} matches miniprogram/session (with the npm default wasm path)`);
    return 0;
  }
  console.error('usage: node tools/npm-pack.js stage DIR | check [NPM_DIR]');
  return 2;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof PackError ? `npm-pack: ${err.message}` : err);
    process.exitCode = 1;
  }
}

module.exports = {
  PACKAGE_NAME, DIST, SHIPPED, COPY_IN_WASM_PATH, NPM_WASM_PATH, SESSION_DIR, DEMO_DIR,
  PackError, rewriteIndex, distFiles, manifest, stage, compareInstalled,
};

/**
 * The Taro recipe (examples/taro/): `npm i` of the packed wx-session into a Taro 4 (React,
 * webpack5) project, `taro build --type weapp` offline, and the built mini-program in the fake
 * runtime: app.js's init({ baseUrl }) loads the module from dist/miniprogram_npm/wx-session/ with no
 * wasmPath, and the session it initialised logs in, checks and logs out.
 * The project's own dependencies install from its package-lock.json into examples/taro/node_modules
 * (idempotent: skipped while node_modules is newer than the lock file).
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const test = require('node:test');
const assert = require('node:assert/strict');
const { createSandbox } = require('../node/support');
const pack = require('../../tools/npm-pack.js');

const REPO = path.resolve(__dirname, '..', '..');
const TARO = path.join(REPO, 'examples', 'taro');
const DIST = path.join(TARO, 'dist');
const quiet = { warn() {}, log() {}, error() {}, info() {} };

function run(command, args, cwd, timeout = 600000) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout, env: { ...process.env, CI: 'true' } });
}

/**
 * Installs examples/taro's lock file unless node_modules is already as new as it. `npm install`, not
 * `npm ci`: the lock names optional platform builds of @tarojs/binding for other systems, which the
 * registry reachable here does not serve; npm ci refuses such a lock, npm install skips them.
 */
function ensureTaroDeps() {
  const installed = path.join(TARO, 'node_modules', '.package-lock.json');
  const lock = path.join(TARO, 'package-lock.json');
  if (fs.existsSync(installed) && fs.statSync(installed).mtimeMs >= fs.statSync(lock).mtimeMs &&
    fs.existsSync(path.join(TARO, 'node_modules', '@tarojs', 'cli'))) return;
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], TARO);
}

test('Taro: npm i wx-session + taro build --type weapp; the built app logs in and out with no wasmPath', async (t) => {
  ensureTaroDeps();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wx-session-taro-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));
  const tarball = run('bash', [path.join(REPO, 'scripts/pack.sh'), '--no-demo', '--out', work], REPO).trim().split('\n').pop();
  // --no-save: the example's package.json stays as committed (it cannot name a tarball path).
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', tarball], TARO);
  fs.rmSync(DIST, { recursive: true, force: true });
  run(path.join(TARO, 'node_modules', '.bin', 'taro'), ['build', '--type', 'weapp'], TARO);

  // The package landed where 构建 npm would put it: the module byte for byte (Taro's copy step
  // minifies the two .js files; the run below uses them); the bundles require it by name.
  const copied = path.join(DIST, 'miniprogram_npm', 'wx-session');
  assert.deepEqual(fs.readdirSync(copied).sort(), [...pack.SHIPPED].sort());
  assert.ok(fs.readFileSync(path.join(copied, 'session_bg.wasm.br')).equals(pack.distFiles().get('session_bg.wasm.br')));
  assert.match(fs.readFileSync(path.join(copied, 'index.js'), 'utf8'), /"\/miniprogram_npm\/wx-session\/session_bg\.wasm\.br"/);
  for (const file of ['app.js', 'pages/index/index.js']) {
    const code = fs.readFileSync(path.join(DIST, file), 'utf8');
    assert.match(code, /require\("wx-session"\)/, `${file} requires wx-session at run time`);
    assert.ok(!code.includes('WXWebAssembly'), `${file} does not bundle the module`);
  }

  let appDef = null;
  let pageDef = null;
  const sb = createSandbox({
    root: DIST,
    console: quiet,
    // What Taro's output calls at load; requirePlugin is unused here.
    globals: { App: (def) => { appDef = def; }, Page: (def) => { pageDef = def; }, Component: () => {}, requirePlugin: () => ({}) },
  });
  sb.require('/app.js');
  assert.ok(appDef, 'the Taro app called App()');
  sb.require('/pages/index/index.js');
  assert.ok(pageDef, 'the Taro page called Page()');

  // app.js called init({ baseUrl }) at load; the page's require('wx-session') is the same module.
  const session = sb.require('wx-session');
  await session.ready();
  assert.deepEqual(sb.wasm.loads.map((load) => load.path), ['/miniprogram_npm/wx-session/session_bg.wasm.br']);
  const login = JSON.parse(JSON.stringify(await session.login()));
  assert.ok(sb.server.isTokenValid(login.token));
  assert.equal(await session.checkHasLogined(), true);
  await session.logout();
  assert.equal(sb.server.isTokenValid(login.token), false);
  assert.equal(sb.fake.readStorage('token'), undefined);
});

/**
 * WeChat's own tooling (miniprogram-ci, offline; tools/wechat-ci.js) on the package and the demo,
 * and what it produces run in the fake runtime (tests/node/support: a vm context without
 * WebAssembly/TextDecoder/fetch, a stateful wx, the fake server):
 *   1. npm i <tarball> + packNpmManually (= 工具 → 构建 npm) in a scratch mini-program →
 *      require('wx-session') + init({ baseUrl }) with no wasmPath → 登录 → checkHasLogined → 退出;
 *   2. getCompiledResult compiles the demo as DevTools does (babel, the project's settings) and the
 *      compiled app and pages run 微信一键登录 → 退出 from their buttons' handlers;
 *   3. checkCodeQuality passes.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { createSandbox, DEFAULT_BASE_URL } = require('../node/support');
const pack = require('../../tools/npm-pack.js');
const { wechatCi, tempDir, scratchProgram } = require('./support/scratch.js');

const REPO = path.resolve(__dirname, '..', '..');
const DEMO = path.join(REPO, 'miniprogram');
const NPM_WASM = '/miniprogram_npm/wx-session/session_bg.wasm.br';
const quiet = { warn() {}, log() {}, error() {}, info() {} };

async function until(predicate, what, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const plain = (value) => JSON.parse(JSON.stringify(value));

test('npm i <tarball> + packNpmManually: a scratch mini-program logs in, checks and logs out with no wasmPath', async (t) => {
  // A developer's new mini-program: no wx-session anywhere until npm i.
  const { app, packed: result } = scratchProgram(t, {
    'app.json': JSON.stringify({ pages: ['pages/index/index'] }),
    'app.js': [
      "const session = require('wx-session');",
      'App({',
      '  onLaunch() {',
      `    this.ready = session.init({ baseUrl: ${JSON.stringify(DEFAULT_BASE_URL)} });`,
      '  },',
      '});',
      '',
    ].join('\n'),
  });
  assert.equal(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).dependencies['wx-session'].startsWith('file:'), true);
  assert.equal(result.miniprogramNpm, path.join(app, 'miniprogram_npm'));
  // 构建 npm copied the dist folder byte for byte, .wasm.br included, and no package.json.
  assert.deepEqual(fs.readdirSync(path.join(app, 'miniprogram_npm/wx-session')).sort(), [...pack.SHIPPED].sort());
  assert.deepEqual(pack.compareInstalled(path.join(app, 'miniprogram_npm/wx-session')), []);

  let definition = null;
  const sb = createSandbox({ root: app, console: quiet, globals: { App: (def) => { definition = def; } } });
  sb.require('/app.js');
  definition.onLaunch();
  await definition.ready;
  const session = sb.require('wx-session');
  assert.deepEqual(sb.wasm.loads.map((load) => load.path), [NPM_WASM]);

  const login = plain(await session.login());
  assert.equal(typeof login.token, 'string');
  assert.equal(sb.fake.readStorage('token'), login.token);
  assert.equal(await session.checkHasLogined(), true);
  assert.deepEqual(plain(await session.logout()), { wasLoggedIn: true, serverConfirmed: true, server: 'revoked' });
  assert.equal(sb.fake.readStorage('token'), undefined);
  assert.equal(await session.checkHasLogined(), false);
  assert.equal(sb.server.isTokenValid(login.token), false);
  assert.equal(sb.server.counts.byRoute['POST /auth/login'], 1);
  assert.equal(sb.server.counts.byRoute['POST /auth/logout'], 1);
});

/** The handler a <button> labelled `label` is bound to (bindtap/catchtap) in a page's WXML. */
function handlerOf(wxml, label) {
  for (const m of wxml.matchAll(/<button\b([^>]*)>\s*([^<]*?)\s*<\/button>/g)) {
    const bind = m[1].match(/\b(?:bind|catch):?tap="(\w+)"/);
    if (m[2] === label && bind) return bind[1];
  }
  throw new Error(`no <button> labelled ${label} with a tap handler`);
}

test('getCompiledResult compiles the demo as DevTools would; the compiled app and pages run 微信一键登录 → 退出', async (t) => {
  const out = tempDir(t, 'wx-session-compiled-');
  const result = wechatCi('compile', DEMO, out);
  assert.ok(result.setting.es6, 'compiled with the project\'s es6 (babel) setting');
  for (const file of ['app.js', 'pages/index/index.js', 'pages/user/user.js', 'miniprogram_npm/wx-session/index.js', 'miniprogram_npm/wx-session/session_wasm.js', 'miniprogram_npm/wx-session/session_bg.wasm.br']) {
    assert.ok(result.files.includes(file), `compiled output has ${file}`);
  }
  assert.ok(!result.files.includes('package.json') && !result.files.some((f) => f.startsWith('node_modules/')), 'no npm sources shipped');
  assert.ok(!result.files.some((f) => f.startsWith('session/')), 'the unused copy-in folder is not shipped (packOptions.ignore)');
  // What runs below is babel's output, not the sources.
  assert.notEqual(fs.readFileSync(path.join(out, 'app.js'), 'utf8'), fs.readFileSync(path.join(DEMO, 'app.js'), 'utf8'));
  assert.ok(fs.readFileSync(path.join(out, 'miniprogram_npm/wx-session/session_bg.wasm.br')).equals(fs.readFileSync(path.join(DEMO, 'miniprogram_npm/wx-session/session_bg.wasm.br'))));

  let appDef = null;
  let pageDef = null;
  const sb = createSandbox({ root: out, console: quiet, globals: { App: (def) => { appDef = def; }, Page: (def) => { pageDef = def; } } });
  /** A page as the runtime makes it from its definition: data, setData, the methods; on the stack. */
  function openPage(route) {
    pageDef = null;
    sb.require(`/${route}.js`);
    assert.ok(pageDef, `${route}.js called Page()`);
    const page = sb.openPage(route);
    Object.keys(pageDef).forEach((key) => {
      if (typeof pageDef[key] === 'function') page[key] = pageDef[key];
    });
    page.data = sb.toRealm(pageDef.data || {});
    page.setData = function setData(patch) {
      Object.assign(this.data, patch);
    };
    if (page.onLoad) page.onLoad({});
    if (page.onShow) page.onShow();
    return page;
  }
  sb.app = null;
  sb.require('/app.js');
  assert.ok(appDef, 'app.js called App()');
  sb.app = appDef;
  appDef.onLaunch({ path: 'pages/index/index', query: {}, scene: 1001 });
  // The launch check (if the app keeps one) must settle; either way the module loads once.
  if (appDef.globalData && appDef.globalData.launchCheck) await appDef.globalData.launchCheck;
  await until(() => sb.wasm.loads.length === 1, 'the session module to load');
  assert.deepEqual(sb.wasm.loads.map((load) => load.path), [NPM_WASM]);

  const index = openPage('pages/index/index');
  // 微信一键登录 with the agreement unticked asks first (a modal, answered 同意).
  sb.fake.modalAnswers.push('confirm');
  await index[handlerOf(fs.readFileSync(path.join(DEMO, 'pages/index/index.wxml'), 'utf8'), '微信一键登录')]();
  await until(() => sb.fake.readStorage('token'), 'the token after 登录');
  const token = sb.fake.readStorage('token');
  assert.ok(sb.server.isTokenValid(token));
  assert.equal(sb.server.counts.byRoute['POST /auth/login'], 1);

  const user = openPage('pages/user/user');
  sb.fake.modalAnswers.push('confirm');
  await user[handlerOf(fs.readFileSync(path.join(DEMO, 'pages/user/user.wxml'), 'utf8'), '退出')]();
  await until(() => sb.fake.readStorage('token') === undefined, 'the token to be removed after 退出');
  await until(() => sb.server.counts.byRoute['POST /auth/logout'] === 1, 'the server logout');
  assert.equal(sb.server.isTokenValid(token), false);
  assert.deepEqual(sb.fake.modals.map((m) => m.content), ['请阅读并同意《用户协议》和《隐私政策》', '退出登录？'], 'the agreement, then one confirmation dialog');
});

test('checkCodeQuality passes every check (lazyCodeLoading included)', () => {
  const result = wechatCi('quality', DEMO);
  assert.deepEqual(result.failed, []);
  const lazy = result.checks.find((check) => check.name === 'LAZYCODE_LOADING_OPEN');
  assert.ok(lazy && lazy.success, 'LAZYCODE_LOADING_OPEN is checked and passes');
  assert.ok(result.checks.length >= 5, `all checks ran (${result.checks.length})`);
});

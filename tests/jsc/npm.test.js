/**
 * The npm package as a developer's mini-program gets it, under JavaScriptCore with the JIT off:
 * host.PACKAGE is a scratch mini-program that tests/npm/jsc.test.js made with `npm i <tarball>` +
 * miniprogram-ci's packNpmManually (= 工具 → 构建 npm), so it holds app.js, pages/index/index.js
 * and miniprogram_npm/wx-session/ and no copy-in session/ folder. Its app.js calls
 * `init({ baseUrl })` with no wasmPath; the page logs in, checks and logs out through the module.
 * Run by `jsc --useJIT=false tests/jsc/main.js -- run REPO UNBR ROOT tests/jsc/npm.test.js`.
 *
 * `tests(host)` returns [{ name, fn }]; host is the harness (createEnv, PACKAGE).
 */
'use strict';

const { assert } = require('./assert.js');

/** Where 构建 npm puts the module's wasm, and so the npm build's default wasm path. */
const NPM_WASM = '/miniprogram_npm/wx-session/session_bg.wasm.br';

function tests(host) {
  const list = [];
  const test = (name, fn) => list.push({ name, fn });

  /**
   * A fresh runtime over the scratch program, launched as the runtime would: app.js evaluated
   * (App() records its definition), onLaunch called, then the index page loaded (Page()).
   */
  function launch() {
    const env = host.createEnv(host.PACKAGE);
    let app = null;
    let page = null;
    globalThis.App = (definition) => {
      app = definition;
    };
    globalThis.Page = (definition) => {
      page = definition;
    };
    try {
      env.require('/app.js');
      assert.ok(app, 'app.js called App()');
      app.onLaunch();
      env.require('/pages/index/index.js');
      assert.ok(page, 'pages/index/index.js called Page()');
    } finally {
      delete globalThis.App;
      delete globalThis.Page;
    }
    page.data = JSON.parse(JSON.stringify(page.data || {}));
    page.setData = function setData(patch) {
      Object.assign(this.data, patch);
    };
    return Object.assign(env, { app, page });
  }

  test('require(\'wx-session\') resolves through miniprogram_npm/ from app.js, a page and the root: one module', async () => {
    const env = launch();
    const session = env.require('wx-session');
    assert.equal(env.require('/miniprogram_npm/wx-session/index.js'), session, 'the bare name is miniprogram_npm/wx-session/index.js');
    assert.equal(env.page.session, session, 'the page got the same instance as the root');
    assert.equal(env.app.session, session, 'app.js got the same instance');
    assert.throws(() => env.require('/session/index.js'), (err) => /module "session\/index.js" is not defined/.test(err.message), 'no copy-in folder in the scratch program');
    assert.throws(() => env.require('wx-sesion'), (err) => /is not defined, require args is 'wx-sesion'/.test(err.message), 'an unknown package fails as on a device');
    await env.app.ready;
  });

  test('init({ baseUrl }) with no wasmPath loads the wasm 构建 npm installed; 登录 → checkHasLogined → 退出', async () => {
    const env = launch();
    const { app, page, server, fake, wasm } = env;
    await app.ready;
    assert.equal(app.globalData.baseUrl, server.baseUrl, 'the app talks to the fake server');
    assert.deepEqual(wasm.loads.map((load) => load.path), [NPM_WASM], 'the default path of the npm build');
    assert.deepEqual(wasm.failures, [], 'no failed load first');

    await page.onShow();
    assert.equal(page.data.loggedIn, false, 'a new install is logged out');
    assert.equal(fake.readStorage('token'), undefined);

    const login = await page.login(); // 登录
    assert.equal(typeof login.token, 'string', 'login resolves with a token');
    assert.equal(fake.readStorage('token'), login.token, 'the token is stored');
    assert.ok(server.isTokenValid(login.token), 'the server issued it');
    await page.onShow(); // checkHasLogined
    assert.equal(page.data.loggedIn, true, 'checkHasLogined after 登录');

    assert.deepEqual(await page.logout(), { wasLoggedIn: true, serverConfirmed: true, server: 'revoked' }); // 退出
    assert.equal(fake.readStorage('token'), undefined, 'the token is removed');
    assert.equal(server.isTokenValid(login.token), false, 'the server revoked it');
    await page.onShow();
    assert.equal(page.data.loggedIn, false, 'checkHasLogined after 退出');

    assert.equal(server.counts.byRoute['POST /auth/login'], 1, 'one server login');
    assert.equal(server.counts.byRoute['POST /auth/logout'], 1, 'one server logout');
    assert.equal(fake.count('login'), 1, 'one wx.login');
    assert.deepEqual(wasm.loads.map((load) => load.path), [NPM_WASM], 'the module was loaded once');
  });

  return list;
}

module.exports = { tests };

/**
 * The BUILT session module (miniprogram/session/: index.js + session_wasm.js +
 * session_bg.wasm.br from scripts/build.sh) inside the fake mini-program runtime: a vm context
 * with no WebAssembly, TextEncoder, TextDecoder, fetch or URL — if the module touched any of them,
 * these flows would throw.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { createSandbox, MINIPROGRAM_DIR, DEFAULT_NICKNAME } = require('./support');

const BUILT_FILES = ['session/session_wasm.js', 'session/session_bg.wasm.br'];
const missing = BUILT_FILES.filter((file) => !fs.existsSync(path.join(MINIPROGRAM_DIR, file)));

/** Realm objects → plain host values, so deepStrictEqual compares content, not prototypes. */
const plain = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** A fresh sandbox with its own copy of the session module. */
function start(options) {
  const sb = createSandbox(options);
  const session = sb.require('/session/index.js');
  return { sb, session, fake: sb.fake, server: sb.server };
}

/** Records fake.loading at the moment the server sees each request (i.e. while it is in flight). */
function watchLoadingDuringRequests(sb) {
  const seen = [];
  const handle = sb.server.handle;
  sb.server.handle = (request) => {
    const plan = handle(request);
    seen.push({ route: sb.server.log[sb.server.log.length - 1].route, loading: sb.fake.loading });
    return plan;
  };
  return seen;
}

if (missing.length) {
  test('the built session module is present', () => {
    assert.fail(`missing ${missing.map((f) => `miniprogram/${f}`).join(', ')}: run scripts/build.sh first`);
  });
} else {
  test('the sandbox really lacks the web globals the module must not use', () => {
    const { sb } = start();
    for (const name of ['WebAssembly', 'TextDecoder', 'TextEncoder', 'fetch', 'URL']) {
      assert.equal(sb.run(`typeof ${name}`), 'undefined', `${name} must be absent`);
      assert.throws(() => sb.run(`${name}.prototype`), /is not defined/, `any use of ${name} throws`);
    }
  });

  test('init → login → checkHasLogined → logout, with storage, loading and server counters at each step', async () => {
    const { sb, session, fake, server } = start();
    const events = [];
    session.onChange((event) => events.push(plain(event)));
    const page = sb.openPage('pages/user/user');
    const inFlight = watchLoadingDuringRequests(sb);

    // init: the module loads through WXWebAssembly; nothing is stored or sent yet.
    await session.init(sb.toRealm({ baseUrl: server.baseUrl }));
    assert.deepEqual(sb.wasm.loads.map((l) => l.path), ['/session/session_bg.wasm.br']);
    assert.equal(session.getToken(), null);
    assert.equal(fake.storage.size, 0);
    assert.equal(server.counts.total, 0);

    // login: wx.login → POST /auth/login → token and the session record stored; 登录中 shown meanwhile.
    const result = await session.login();
    const token = server.tokenOf();
    assert.equal(typeof result.token, 'string');
    assert.equal(result.token, token);
    assert.equal(result.uid, 1001);
    assert.equal(result.userInfo.nickName, DEFAULT_NICKNAME, 'Chinese + emoji cross the boundary intact');
    assert.equal(typeof result.expiresAt, 'number');
    assert.equal(fake.readStorage('token'), token, 'token is a plain string under the key "token"');
    const record = fake.readStorage('wxSession');
    assert.equal(record.token, result.token);
    assert.equal(record.uid, 1001);
    assert.deepEqual(record.userInfo, { nickName: DEFAULT_NICKNAME, avatarUrl: '' });
    assert.equal(sb.run("typeof wx.getStorageSync('token')"), 'string');
    assert.equal(session.getToken(), token);
    assert.equal(fake.count('login'), 1);
    assert.deepEqual(plain(server.counts.byRoute), { 'POST /auth/login': 1 });
    assert.deepEqual(inFlight[0], { route: 'POST /auth/login', loading: { shown: true, title: '登录中' } });
    assert.equal(fake.loading.shown, false, 'loading hidden afterwards');
    assert.deepEqual(events, [{ type: 'login', uid: 1001, userInfo: { nickName: DEFAULT_NICKNAME, avatarUrl: '' } }]);

    // checkHasLogined right after login: the server just vouched for the token, so the session
    // trusts it for a while (5 minutes by default) and asks nobody.
    const storedBefore = plain(Object.fromEntries(fake.storage));
    assert.equal(await session.checkHasLogined(), true);
    assert.equal(server.counts.byRoute['GET /auth/check'], undefined);
    // Past that window: GET /auth/check with the token. wx.checkSession is not needed — the
    // login's wx.login renewed WeChat's session in this launch. Storage unchanged.
    sb.advanceClock(5 * 60 * 1000 + 1000);
    assert.equal(await session.checkHasLogined(), true);
    assert.equal(server.counts.byRoute['GET /auth/check'], 1);
    assert.equal(fake.count('checkSession'), 0);
    assert.deepEqual(plain(Object.fromEntries(fake.storage)), storedBefore);

    // logout: 正在退出 while POST /auth/logout runs; every session key removed; top page refreshed.
    const out = await session.logout();
    assert.deepEqual(plain(out), { wasLoggedIn: true, serverConfirmed: true, server: 'revoked' });
    for (const key of ['token', 'wxSession']) assert.equal(fake.readStorage(key), undefined, key);
    assert.equal(server.isTokenValid(token), false, 'the server revoked the token');
    assert.equal(server.counts.byRoute['POST /auth/logout'], 1);
    assert.deepEqual(inFlight[inFlight.length - 1], { route: 'POST /auth/logout', loading: { shown: true, title: '正在退出' } });
    assert.equal(fake.loading.shown, false);
    assert.equal(page.shows, 1, "the top page's onShow ran once");
    assert.equal(session.getToken(), null);
    assert.deepEqual(events[events.length - 1], { type: 'logout' });

    // Logged out: no token, so no server call is needed to say so.
    const totalBefore = server.counts.total;
    assert.equal(await session.checkHasLogined(), false);
    assert.equal(server.counts.total, totalBefore);

    assert.deepEqual(fake.warnings, []);
    assert.deepEqual(fake.callbackErrors, []);
    assert.deepEqual([...fake.missing], [], 'the module looked for no wx API the fake lacks');
  });

  test('calls made before init has finished wait for it; getToken throws NOT_INITIALIZED meanwhile', async () => {
    const { sb, session, server } = start();
    const initialising = session.init(sb.toRealm({ baseUrl: server.baseUrl }));
    assert.throws(() => session.getToken(), (err) => err.code === 'NOT_INITIALIZED');
    const login = session.login(); // before init settled
    const ready = session.ready();
    await initialising;
    const result = await login;
    await ready;
    assert.equal(result.token, server.tokenOf());
    assert.equal(session.getToken(), result.token);
    assert.equal(session.init(sb.toRealm({ baseUrl: 'http://ignored' })), session.init(), 'init is idempotent');
  });

  test('login() before init rejects NOT_INITIALIZED and touches nothing', async () => {
    const { session, fake, server } = start();
    await assert.rejects(session.login(), (err) => err.code === 'NOT_INITIALIZED');
    await assert.rejects(session.checkHasLogined(), (err) => err.code === 'NOT_INITIALIZED');
    assert.deepEqual(fake.calls, {});
    assert.equal(server.counts.total, 0);
  });

  test('init with a bad wasm path rejects WASM_LOAD_FAILED, and can be retried', async () => {
    const { sb, session, server } = start();
    await assert.rejects(session.init(sb.toRealm({ baseUrl: server.baseUrl, wasmPath: '/session/missing.wasm.br' })), (err) => err.code === 'WASM_LOAD_FAILED');
    await assert.rejects(session.init(sb.toRealm({ baseUrl: server.baseUrl, wasmPath: 'https://cdn.example.com/session_bg.wasm.br' })), (err) => err.code === 'WASM_LOAD_FAILED');
    await assert.rejects(session.init(sb.toRealm({ baseUrl: server.baseUrl, wasmPath: '../session/session_bg.wasm.br' })), (err) => err.code === 'WASM_LOAD_FAILED');
    assert.equal(sb.wasm.failures.length, 3);
    await session.init(sb.toRealm({ baseUrl: server.baseUrl, wasmPath: 'session/session_bg.wasm.br' }));
    assert.equal(await session.checkHasLogined(), false);
  });

  test('init starts WXWebAssembly before the glue is evaluated, and the imports are filled before the engine reads them', async () => {
    const { sb, session, server } = start();
    const seen = [];
    const api = sb.wasm.api;
    sb.context.WXWebAssembly = {
      instantiate(wasmPath, imports) {
        // The glue is not evaluated yet and the import object is still empty: the engine
        // compiles meanwhile (Node's, like the devices', reads the imports only afterwards).
        seen.push({ glueLoaded: sb.modules.has('session/session_wasm.js'), importModules: Object.keys(imports).length });
        return api.instantiate(wasmPath, imports);
      },
    };
    await session.init(sb.toRealm({ baseUrl: server.baseUrl }));
    assert.deepEqual(seen, [{ glueLoaded: false, importModules: 0 }]);
    assert.equal(sb.wasm.loads.length, 1, 'one instantiation');
    assert.equal(await session.checkHasLogined(), false);
  });

  test('init refused for its options keeps the loaded module: a corrected init does not instantiate again', async () => {
    const { sb, session, server } = start();
    await assert.rejects(session.init(sb.toRealm({ baseURL: server.baseUrl })), (err) => err.code === 'INVALID_OPTIONS' && err.option === 'baseURL');
    await session.init(sb.toRealm({ baseUrl: server.baseUrl }));
    assert.equal(sb.wasm.loads.length, 1);
    assert.equal(await session.checkHasLogined(), false);
  });

  test('a glue that cannot be evaluated rejects init with WASM_LOAD_FAILED, and init can be tried again', async () => {
    const root = fs.mkdtempSync(path.join(require('os').tmpdir(), 'wx-session-broken-glue-'));
    try {
      fs.mkdirSync(path.join(root, 'session'));
      fs.copyFileSync(path.join(MINIPROGRAM_DIR, 'session', 'index.js'), path.join(root, 'session', 'index.js'));
      fs.copyFileSync(path.join(MINIPROGRAM_DIR, 'session', 'session_bg.wasm.br'), path.join(root, 'session', 'session_bg.wasm.br'));
      fs.writeFileSync(path.join(root, 'session', 'session_wasm.js'), "throw new Error('broken glue');\n");
      const { sb, session, server } = start({ root });
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(
          session.init(sb.toRealm({ baseUrl: server.baseUrl })),
          (err) => err.code === 'WASM_LOAD_FAILED' && /broken glue/.test(err.message)
        );
      }
      assert.throws(() => session.getToken(), (err) => err.code === 'NOT_INITIALIZED');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('a runtime that reads the imports at once (an empty object) still loads: the glue instantiates again', async () => {
    const { sb, session, server } = start();
    const api = sb.wasm.api;
    const calls = [];
    sb.context.WXWebAssembly = {
      instantiate(wasmPath, imports) {
        // Copies the import object as it is at call time, as an eager runtime would read it.
        const snapshot = {};
        Object.keys(imports).forEach((name) => {
          snapshot[name] = Object.assign({}, imports[name]);
        });
        calls.push(Object.keys(snapshot).length);
        return api.instantiate(wasmPath, snapshot);
      },
    };
    await session.init(sb.toRealm({ baseUrl: server.baseUrl }));
    assert.equal(calls.length, 2, 'the early start failed on its empty imports, the second had them all');
    assert.equal(calls[0], 0);
    assert.ok(calls[1] > 0);
    assert.equal(sb.wasm.failures.length, 1);
    assert.match(sb.wasm.failures[0].message, /import/i);
    const login = await session.login();
    assert.ok(login.token);
  });

  test('errors keep storage as it was: server 500 and network failure on login', async () => {
    const { sb, session, fake, server } = start();
    await session.init(sb.toRealm({ baseUrl: server.baseUrl }));
    server.failNext({ kind: '500', route: 'POST /auth/login' });
    await assert.rejects(session.login(), (err) => err.code === 'SERVER_ERROR' && err.status === 500);
    server.failNext({ kind: 'network', route: 'POST /auth/login' });
    await assert.rejects(session.login(), (err) => err.code === 'NETWORK');
    assert.equal(fake.storage.size, 0);
    assert.equal(fake.loading.shown, false);
    assert.equal(session.getToken(), null);
  });

  test('checkHasLogined: NETWORK keeps the token; a revoked token is removed', async () => {
    const { sb, session, fake, server } = start();
    await session.init(sb.toRealm({ baseUrl: server.baseUrl }));
    const { token } = await session.login();
    sb.advanceClock(10 * 60 * 1000); // past the trust window that follows a login
    server.failNext({ kind: 'network', route: 'GET /auth/check' });
    await assert.rejects(session.checkHasLogined(), (err) => err.code === 'NETWORK');
    assert.equal(fake.readStorage('token'), token, 'unknown is not logged out');
    server.revokeToken(token);
    assert.equal(await session.checkHasLogined(), false);
    assert.equal(fake.readStorage('token'), undefined);
  });
}

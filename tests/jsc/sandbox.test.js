/**
 * The BUILT session module (miniprogram/session/) under JavaScriptCore, the engine of WeChat on
 * iOS: the runtime-sandbox checks of tests/node/sandbox.test.js and tools/mp-build.test.js, run by
 * tests/jsc/main.js in the `jsc` shell (scripts/test-jsc.sh: `jsc --useJIT=false`, so the wasm runs
 * in JSC's interpreter as on a phone). No WebAssembly, TextDecoder, TextEncoder, fetch or URL
 * global; CommonJS only; Chinese and emoji cross the boundary both ways.
 *
 * `tests(host)` returns [{ name, fn }]; host is the harness (createEnv, sleep, DEFAULT_NICKNAME).
 */
'use strict';

const PANDA = '登陆中 🐼';

const { assert } = require('./assert.js');

function tests(host) {
  const list = [];
  const test = (name, fn) => list.push({ name, fn });

  /** A fresh runtime with the package's session module required (not yet initialised). */
  function start() {
    const env = host.createEnv(host.PACKAGE);
    const session = env.require('/session/index.js');
    return Object.assign(env, { session });
  }

  test('the runtime lacks the web globals the module must not use', () => {
    start();
    for (const name of ['WebAssembly', 'TextDecoder', 'TextEncoder', 'fetch', 'URL', 'Request', 'Response', 'crypto', 'queueMicrotask', 'window', 'self', 'document', 'require', 'process', 'Buffer']) {
      assert.equal(typeof globalThis[name], 'undefined', name + ' must be absent');
    }
    assert.equal(typeof WXWebAssembly.instantiate, 'function');
  });

  test('glue: instantiates through the path-only WXWebAssembly once, exports Session', async () => {
    const env = start();
    const glue = env.require('/session/session_wasm.js');
    assert.deepEqual(Object.keys(glue), ['imports', 'instantiate', 'connect']);
    const exported = await glue.instantiate('/session/session_bg.wasm.br');
    assert.equal(typeof exported.Session, 'function', 'Session is exported');
    assert.equal(await glue.instantiate('/session/session_bg.wasm.br'), exported, 'the second call reuses the instance');
    assert.deepEqual(env.wasm.loads.map((l) => l.path), ['/session/session_bg.wasm.br']);
  });

  test('glue: rejects without WXWebAssembly, then retries once it exists', async () => {
    const env = start();
    const engine = globalThis.WXWebAssembly;
    delete globalThis.WXWebAssembly;
    const glue = env.require('/session/session_wasm.js');
    await assert.rejects(glue.instantiate('/session/session_bg.wasm.br'), (err) => /WXWebAssembly is not available/.test(err.message));
    globalThis.WXWebAssembly = engine;
    await assert.rejects(glue.instantiate('/session/missing.wasm.br'), (err) => /no such file/.test(err.message));
    const exported = await glue.instantiate('session/session_bg.wasm.br');
    assert.equal(typeof exported.Session, 'function');
  });

  test('Chinese and emoji cross the boundary both ways (option names, errMsg, loading text)', async () => {
    const env = start();
    const exported = await env.require('/session/session_wasm.js').instantiate('/session/session_bg.wasm.br');
    const long = PANDA.repeat(400); // larger than the decoder's first buffer: it has to grow
    const options = { baseUrl: env.server.baseUrl };
    options[long] = 1;
    assert.throws(() => new exported.Session(options), (err) => err.code === 'INVALID_OPTIONS' && err.option === long);
    env.fake.failLogin({ errMsg: 'login:fail ' + PANDA });
    const session = env.session;
    await session.init({ baseUrl: env.server.baseUrl });
    await assert.rejects(session.login(), (err) => err.code === 'WX_LOGIN_FAILED' && err.message.includes('login:fail ' + PANDA));
  });

  test('init → login → checkHasLogined → logout, with storage, loading and server counters', async () => {
    const { session, fake, server, wasm, openPage, advanceClock } = start();
    const events = [];
    session.onChange((event) => events.push(JSON.parse(JSON.stringify(event))));
    const page = openPage('pages/user/user');

    await session.init({ baseUrl: server.baseUrl });
    assert.deepEqual(wasm.loads.map((l) => l.path), ['/session/session_bg.wasm.br']);
    assert.equal(session.getToken(), null);
    assert.equal(fake.storage.size, 0);
    assert.equal(server.counts.total, 0);

    const result = await session.login();
    const token = server.tokenOf();
    assert.equal(result.token, token);
    assert.equal(result.uid, 1001);
    assert.equal(result.userInfo.nickName, host.DEFAULT_NICKNAME, 'Chinese + emoji from the server reach JS intact');
    assert.equal(typeof result.expiresAt, 'number');
    assert.equal(fake.readStorage('token'), token);
    const record = fake.readStorage('wxSession');
    assert.equal(record.uid, 1001);
    assert.deepEqual(record.userInfo, { nickName: host.DEFAULT_NICKNAME, avatarUrl: '' });
    assert.equal(session.getToken(), token);
    assert.equal(fake.count('login'), 1);
    assert.deepEqual(server.counts.byRoute, { 'POST /auth/login': 1 });
    assert.equal(fake.loading.shown, false, 'loading hidden afterwards');
    assert.deepEqual(events, [{ type: 'login', uid: 1001, userInfo: { nickName: host.DEFAULT_NICKNAME, avatarUrl: '' } }]);

    assert.equal(await session.checkHasLogined(), true);
    assert.equal(server.counts.byRoute['GET /auth/check'], undefined, 'trusted right after login');
    advanceClock(5 * 60 * 1000 + 1000);
    assert.equal(await session.checkHasLogined(), true);
    assert.equal(server.counts.byRoute['GET /auth/check'], 1, 'asked the server past the trust window');

    const out = await session.logout();
    assert.deepEqual(JSON.parse(JSON.stringify(out)), { wasLoggedIn: true, serverConfirmed: true, server: 'revoked' });
    for (const key of ['token', 'wxSession']) assert.equal(fake.readStorage(key), undefined, key);
    assert.equal(server.isTokenValid(token), false, 'the server revoked the token');
    assert.equal(fake.loading.shown, false);
    assert.equal(page.shows, 1, "the top page's onShow ran once");
    assert.equal(session.getToken(), null);
    assert.deepEqual(events[events.length - 1], { type: 'logout' });

    const totalBefore = server.counts.total;
    assert.equal(await session.checkHasLogined(), false);
    assert.equal(server.counts.total, totalBefore, 'no token, no server call');
    assert.deepEqual(fake.warnings, []);
    assert.deepEqual(fake.callbackErrors.map((e) => String(e.error)), []);
    assert.deepEqual([...fake.missing], [], 'the module looked for no wx API the fake lacks');
  });

  test('calls made before init has finished wait for it; getToken throws NOT_INITIALIZED meanwhile', async () => {
    const { session, server } = start();
    const initialising = session.init({ baseUrl: server.baseUrl });
    assert.throws(() => session.getToken(), (err) => err.code === 'NOT_INITIALIZED');
    const login = session.login();
    await initialising;
    const result = await login;
    assert.equal(result.token, server.tokenOf());
    assert.equal(session.getToken(), result.token);
  });

  test('login() before init rejects NOT_INITIALIZED and touches nothing', async () => {
    const { session, fake, server } = start();
    await assert.rejects(session.login(), (err) => err.code === 'NOT_INITIALIZED');
    assert.deepEqual(fake.calls, {});
    assert.equal(server.counts.total, 0);
  });

  test('init with a bad wasm path rejects WASM_LOAD_FAILED, and can be retried', async () => {
    const { session, server, wasm } = start();
    await assert.rejects(session.init({ baseUrl: server.baseUrl, wasmPath: '/session/missing.wasm.br' }), (err) => err.code === 'WASM_LOAD_FAILED');
    await assert.rejects(session.init({ baseUrl: server.baseUrl, wasmPath: 'https://cdn.example.com/session_bg.wasm.br' }), (err) => err.code === 'WASM_LOAD_FAILED');
    assert.equal(wasm.failures.length, 2);
    await session.init({ baseUrl: server.baseUrl, wasmPath: 'session/session_bg.wasm.br' });
    assert.equal(await session.checkHasLogined(), false);
  });

  test('errors keep storage as it was: server 500 and network failure on login', async () => {
    const { session, fake, server } = start();
    await session.init({ baseUrl: server.baseUrl });
    server.failNext({ kind: '500', route: 'POST /auth/login' });
    await assert.rejects(session.login(), (err) => err.code === 'SERVER_ERROR' && err.status === 500);
    server.failNext({ kind: 'network', route: 'POST /auth/login' });
    await assert.rejects(session.login(), (err) => err.code === 'NETWORK');
    assert.equal(fake.storage.size, 0);
    assert.equal(fake.loading.shown, false);
    assert.equal(session.getToken(), null);
  });

  test('checkHasLogined: NETWORK keeps the token; a revoked token is removed', async () => {
    const { session, fake, server, advanceClock } = start();
    await session.init({ baseUrl: server.baseUrl });
    const { token } = await session.login();
    advanceClock(10 * 60 * 1000);
    server.failNext({ kind: 'network', route: 'GET /auth/check' });
    await assert.rejects(session.checkHasLogined(), (err) => err.code === 'NETWORK');
    assert.equal(fake.readStorage('token'), token, 'unknown is not logged out');
    server.revokeToken(token);
    assert.equal(await session.checkHasLogined(), false);
    assert.equal(fake.readStorage('token'), undefined);
  });

  return list;
}

module.exports = { tests };

/**
 * Tests of the fake mini-program runtime itself (tests/node/support/), against a tiny stand-in
 * package — they run without the built session module.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  createSandbox,
  createFakeServer,
  createFakeWx,
  ABSENT_GLOBALS,
  DEFAULT_NICKNAME,
} = require('./support');
const { makeTinyPackage } = require('./support/tiny-package');

const pkg = makeTinyPackage();
test.after(() => pkg.cleanup());

/** A sandbox over the tiny package with a fresh server. */
function sandbox(options = {}) {
  return createSandbox(Object.assign({ root: pkg.root, console: quietConsole() }, options));
}

function quietConsole() {
  const lines = [];
  const record = (...args) => lines.push(args.map(String).join(' '));
  return { log: record, info: record, warn: record, error: record, debug: record, lines };
}

/** Sends one wx.request from the host side and resolves with { ok, res }. */
function send(fake, options) {
  return new Promise((resolve) => {
    fake.wx.request(Object.assign({}, options, {
      success: (res) => resolve({ ok: true, res }),
      fail: (res) => resolve({ ok: false, res }),
    }));
  });
}

test('sandbox: the runtime globals are there and the web/Node ones are not', () => {
  const sb = sandbox();
  for (const name of ABSENT_GLOBALS) {
    assert.equal(sb.run(`typeof ${name}`), 'undefined', `${name} must be absent`);
    assert.throws(() => sb.run(`${name}.x`), /is not defined/, `using ${name} throws`);
  }
  for (const name of ['console', 'setTimeout', 'clearTimeout', 'Promise', 'JSON', 'Math', 'Date', 'wx', 'WXWebAssembly', 'getCurrentPages', 'getApp']) {
    assert.notEqual(sb.run(`typeof ${name}`), 'undefined', `${name} must be present`);
  }
  assert.equal(sb.run('typeof require'), 'undefined', 'require exists only inside modules');
  assert.throws(() => sb.run("eval('1')"), (err) => err.name === 'EvalError');
  assert.throws(() => sb.run("new Function('return 1')"), (err) => err.name === 'EvalError');
});

test('sandbox: timers use numeric ids and can be cleared', async () => {
  const sb = sandbox();
  const fired = sb.run(`
    var fired = [];
    var a = setTimeout(function () { fired.push('a'); }, 1);
    var b = setTimeout(function () { fired.push('b'); }, 1);
    clearTimeout(b);
    fired.ids = [typeof a, typeof b, a !== b];
    fired;
  `);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(Array.from(fired), ['a']);
  assert.deepEqual(Array.from(fired.ids), ['number', 'number', true]);
  assert.throws(() => sb.run("setTimeout('code as a string', 1)"), /callback must be a function/);
  sb.advanceClock(60 * 60 * 1000);
  const skew = sb.run('Date.now()') - Date.now();
  assert.ok(skew >= 3599000 && skew <= 3601000, `Date.now() inside moved by an hour (skew ${skew})`);
});

test('sandbox: require resolves inside the package like the mini-program does', () => {
  const sb = sandbox();
  const a = sb.require('/lib/a.js');
  assert.equal(a.b.name, 'b');
  assert.equal(a.sameC, true, "'../lib/c' and '/lib/c.js' are the same module");
  assert.equal(sb.require('lib/a'), a, 'cached, extension optional');
  assert.equal(sb.run('globalThis.__cLoads'), 1);
  assert.throws(() => sb.require('/lib/missing.js'), /module "lib\/missing\.js" is not defined, require args is '\/lib\/missing\.js'/);
  assert.throws(() => sb.require('../outside.js'), /is not defined/);
  assert.throws(() => sb.require('/lib/../../outside.js'), /is not defined/);
  assert.throws(() => sb.require('/lib/throws.js'), /boom while loading/);
  assert.equal(sb.modules.has('lib/throws.js'), false, 'a module that threw is not cached');
});

test('sandbox: a bare name resolves through miniprogram_npm/, nearest folder first, as 构建 npm lays it out', () => {
  const sb = sandbox();
  const root = sb.require('tiny-npm');
  assert.equal(root.where, 'root');
  assert.equal(root.sub, 'sub', "the package's own './sub'");
  assert.equal(sb.require('/lib/uses-npm.js').where, 'lib', 'lib/miniprogram_npm is nearer to lib/ than the root one');
  const user = sb.require('/pages/npm-user.js');
  assert.equal(user.pkg, root, 'pages/ has none of its own: the root copy, the same module instance');
  assert.equal(user.sub, 'sub', "'tiny-npm/sub' is miniprogram_npm/tiny-npm/sub.js");
  assert.throws(() => sb.require('no-such-npm'), /module "no-such-npm\.js" is not defined, require args is 'no-such-npm'/);
});

test('sandbox: a module cannot require Node built-ins or bare names', () => {
  const sb = sandbox();
  const fs = require('fs');
  const path = require('path');
  fs.writeFileSync(path.join(pkg.root, 'lib/node.js'), "module.exports = require('fs');\n");
  try {
    assert.throws(() => sb.require('/lib/node.js'), /module "fs" is not defined, require args is 'fs'/);
  } finally {
    fs.unlinkSync(path.join(pkg.root, 'lib/node.js'));
  }
});

test('WXWebAssembly: both path forms, .wasm.br and .wasm, imports wired, { instance, module }', async () => {
  const sb = sandbox();
  const result = await sb.run(`
    var logged = [];
    Promise.all([
      WXWebAssembly.instantiate('/lib/tiny.wasm.br', { env: { log: function (x) { logged.push(x); } } }),
      WXWebAssembly.instantiate('lib/tiny.wasm.br', { env: { log: function (x) { logged.push(x); } } }),
      WXWebAssembly.instantiate('/lib/tiny.wasm', { env: { log: function (x) { logged.push(x); } } }),
    ]).then(function (all) {
      return {
        sums: all.map(function (r) { return r.instance.exports.add(2, 40); }),
        hasModule: all.every(function (r) { return typeof r.module === 'object'; }),
        realmObject: all[0] instanceof Object,
        logged: logged,
      };
    });
  `);
  assert.deepEqual(Array.from(result.sums), [42, 42, 42]);
  assert.deepEqual(Array.from(result.logged), [2, 2, 2]);
  assert.equal(result.hasModule, true);
  assert.equal(result.realmObject, true, 'the result object belongs to the sandbox realm');
  assert.equal(sb.wasm.loads.length, 3);
});

test('WXWebAssembly: refuses bytes, URLs, escapes, missing files and non-wasm files', async () => {
  const sb = sandbox();
  const outcome = (expr) => sb.run(`
    (function () {
      try {
        return ${expr}.then(function () { return 'resolved'; }, function (e) {
          return { name: e.name, message: e.message, realmError: e instanceof Error };
        });
      } catch (e) { return Promise.resolve('threw synchronously: ' + e.message); }
    })()
  `);
  const bytes = await outcome("WXWebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), {})");
  assert.equal(bytes.name, 'TypeError');
  assert.match(bytes.message, /string path/);
  assert.equal(bytes.realmError, true);
  assert.match((await outcome("WXWebAssembly.instantiate('http://127.0.0.1/x.wasm', {})")).message, /not support wxfile: or http: path/);
  assert.match((await outcome("WXWebAssembly.instantiate('wxfile://usr/x.wasm.br', {})")).message, /not support wxfile: or http: path/);
  assert.match((await outcome("WXWebAssembly.instantiate('../outside.wasm.br', {})")).message, /outside the code package/);
  assert.match((await outcome("WXWebAssembly.instantiate('/lib/../../x.wasm', {})")).message, /outside the code package/);
  assert.match((await outcome("WXWebAssembly.instantiate('/lib/nope.wasm.br', {})")).message, /load wasm failed: \/lib\/nope\.wasm\.br: no such file/);
  assert.match((await outcome("WXWebAssembly.instantiate('/lib/notwasm.txt', {})")).message, /not a \.wasm or \.wasm\.br file/);
  assert.match((await outcome("WXWebAssembly.instantiate('/lib/tiny.wasm.br', {})")).message, /env|import/i, 'missing imports reject like WebAssembly');
  assert.equal(sb.run('typeof WXWebAssembly.compile + typeof WXWebAssembly.Module + typeof WXWebAssembly.instantiateStreaming'), 'undefinedundefinedundefined');
  assert.equal(sb.wasm.failures.length, 8);
  assert.equal(sb.wasm.loads.length, 0);
});

test('getCurrentPages and navigation: a realm array, onShow counted, reLaunch resets the stack', async () => {
  const sb = sandbox();
  const index = sb.openPage('pages/index/index');
  sb.openPage('pages/user/user');
  assert.equal(sb.run('Array.isArray(getCurrentPages()) && getCurrentPages() instanceof Array'), true);
  assert.equal(sb.run('getCurrentPages()[getCurrentPages().length - 1].route'), 'pages/user/user');
  assert.equal(sb.run('getCurrentPages()[0] instanceof Object'), true);
  sb.run('var p = getCurrentPages(); p[p.length - 1].onShow();');
  assert.equal(sb.pages[1].shows, 1);
  assert.equal(index.shows, 0);
  await sb.run("wx.reLaunch({ url: '/pages/index/index?from=test' })");
  assert.deepEqual(sb.pages.map((p) => p.route), ['pages/index/index']);
  assert.notEqual(sb.pages[0], index, 'reLaunch opens a fresh page');
  await sb.run("wx.navigateTo({ url: '/pages/user/user' })");
  await sb.run('wx.navigateBack()');
  assert.deepEqual(sb.pages.map((p) => p.route), ['pages/index/index']);
  assert.deepEqual(sb.fake.navigations.map((n) => n.api), ['reLaunch', 'navigateTo', 'navigateBack']);
});

test('fake wx: callback style is asynchronous; Promise style returns a realm Promise', async () => {
  const sb = sandbox();
  const order = sb.run(`
    var order = [];
    wx.checkSession({ success: function () { order.push('success'); }, complete: function () { order.push('complete'); } });
    order.push('after call');
    order;
  `);
  assert.deepEqual(Array.from(order), ['after call']);
  await sb.fake.idle();
  assert.deepEqual(Array.from(order), ['after call', 'success', 'complete']);

  const promised = await sb.run(`
    (function () {
      var p = wx.checkSession();
      return p.then(function (res) { return { isPromise: p instanceof Promise, errMsg: res.errMsg }; });
    })()
  `);
  assert.deepEqual({ ...promised }, { isPromise: true, errMsg: 'checkSession:ok' });

  sb.fake.sessionKeyValid = false;
  const rejected = await sb.run('wx.checkSession().then(function () { return "resolved"; }, function (e) { return e.errMsg; })');
  assert.match(rejected, /^checkSession:fail/);
  assert.equal(sb.fake.count('checkSession'), 3);
});

test('fake wx: login hands out server codes, can fail, and codes are single-use', async () => {
  const server = createFakeServer();
  const fake = createFakeWx({ server });
  const { code } = await fake.wx.login();
  assert.ok(server.codes.has(code));
  fake.failLogin({ times: 1, errMsg: 'login:fail 系统错误' });
  await assert.rejects(fake.wx.login(), (err) => err.errMsg === 'login:fail 系统错误');
  const first = await send(fake, { url: `${server.baseUrl}/auth/login`, method: 'POST', data: { code } });
  const again = await send(fake, { url: `${server.baseUrl}/auth/login`, method: 'POST', data: { code } });
  assert.equal(first.res.statusCode, 200);
  assert.equal(again.res.statusCode, 400);
  assert.equal(again.res.data.error.code, 'CODE_USED');
  assert.equal(fake.count('login'), 2);
});

test('fake wx.request: dataType json parses and falls back to text; other dataTypes get the raw string', async () => {
  const server = createFakeServer();
  const fake = createFakeWx({ server });
  const code = server.issueCode();
  const json = await send(fake, { url: `${server.baseUrl}/auth/login`, method: 'POST', data: JSON.stringify({ code }), header: { 'Content-Type': 'application/json' } });
  assert.equal(json.ok, true);
  assert.equal(json.res.errMsg, 'request:ok');
  assert.equal(json.res.data.userInfo.nickName, DEFAULT_NICKNAME);
  assert.equal(typeof json.res.data.token, 'string');

  server.failNext({ kind: 'html' });
  const html = await send(fake, { url: `${server.baseUrl}/auth/check`, dataType: 'json' });
  assert.equal(typeof html.res.data, 'string');
  assert.match(html.res.data, /<html>/);

  const text = await send(fake, { url: `${server.baseUrl}/auth/check`, dataType: 'text', header: { Authorization: `Bearer ${json.res.data.token}` } });
  assert.equal(text.res.data, '{"valid":true}');

  const buffer = await send(fake, { url: `${server.baseUrl}/auth/check`, responseType: 'arraybuffer' });
  assert.ok(buffer.res.data instanceof ArrayBuffer);
  assert.equal(buffer.res.statusCode, 401);

  assert.equal(fake.count('request'), 4);
  assert.equal(fake.warnings.length, 0);
});

test('fake wx.request: network failure, timeout, offline, other origins, and no-callback misuse', async () => {
  const server = createFakeServer();
  const fake = createFakeWx({ server });
  const url = `${server.baseUrl}/auth/check`;

  server.failNext({ kind: 'network' });
  const down = await send(fake, { url });
  assert.deepEqual({ ok: down.ok, errMsg: down.res.errMsg }, { ok: false, errMsg: 'request:fail net::ERR_CONNECTION_REFUSED' });

  server.failNext({ kind: 'delay', ms: 80 });
  const slow = await send(fake, { url, timeout: 20 });
  assert.equal(slow.res.errMsg, 'request:fail timeout');

  server.failNext({ kind: 'delay', ms: 10 });
  const late = await send(fake, { url, timeout: 1000 });
  assert.equal(late.res.statusCode, 401, 'a delay shorter than the timeout still answers');

  const events = [];
  fake.wx.onNetworkStatusChange((e) => events.push(e));
  fake.setNetwork({ isConnected: false });
  const offline = await send(fake, { url });
  assert.match(offline.res.errMsg, /^request:fail/);
  assert.deepEqual(events.map((e) => ({ ...e })), [{ isConnected: false, networkType: 'none' }]);
  assert.equal((await fake.wx.getNetworkType()).networkType, 'none');
  fake.setNetwork({ isConnected: true });

  const elsewhere = await send(fake, { url: 'https://evil.example.com/auth/check' });
  assert.match(elsewhere.res.errMsg, /url not in domain list/);

  const task = fake.wx.request({ url });
  assert.equal(typeof task.abort, 'function');
  assert.equal(typeof task.then, 'undefined', 'wx.request never returns a Promise');
  assert.equal(fake.warnings.length, 1);
  await fake.idle();
});

test('fake wx storage: copies, "" for missing keys, full storage throws, async variants, info', async () => {
  const sb = sandbox();
  const fake = sb.fake;
  assert.equal(sb.run("wx.getStorageSync('nothing')"), '');
  sb.run("var u = { nickName: '测试用户 🐼' }; wx.setStorageSync('userInfo', u); u.nickName = 'changed';");
  assert.deepEqual(fake.readStorage('userInfo'), { nickName: '测试用户 🐼' });
  assert.equal(sb.run("wx.getStorageSync('userInfo') instanceof Object"), true, 'reads are realm objects');
  assert.equal(sb.run("wx.getStorageSync('userInfo') !== wx.getStorageSync('userInfo')"), true, 'each read is a copy');
  sb.run("wx.setStorageSync('token', 'tok-1')");
  assert.equal(sb.run("typeof wx.getStorageSync('token')"), 'string');
  assert.deepEqual(Array.from(sb.run('wx.getStorageInfoSync().keys')), ['userInfo', 'token']);

  fake.storageFull = true;
  const thrown = sb.run("(function () { try { wx.setStorageSync('uid', 1); return null; } catch (e) { return { message: e.message, realm: e instanceof Error }; } })()");
  assert.match(thrown.message, /^setStorageSync:fail exceed storage max size/);
  assert.equal(thrown.realm, true);
  assert.equal(fake.readStorage('uid'), undefined);
  await assert.rejects(fake.wx.setStorage({ key: 'uid', data: 1 }), (e) => /^setStorage:fail/.test(e.errMsg));
  fake.storageFull = false;

  await fake.wx.setStorage({ key: 'uid', data: 1001 });
  assert.equal((await fake.wx.getStorage({ key: 'uid' })).data, 1001);
  await assert.rejects(fake.wx.getStorage({ key: 'nope' }), (e) => e.errMsg === 'getStorage:fail data not found');
  sb.run("wx.removeStorageSync('token')");
  assert.equal(fake.readStorage('token'), undefined);
  sb.run('wx.clearStorageSync()');
  assert.equal(fake.storage.size, 0);
  assert.throws(() => sb.run('wx.setStorageSync(undefined, 1)'), /parameter\.key should be String/);
});

test('fake wx interaction: one loading/toast slot, modal answers, missing APIs and callback errors recorded', async () => {
  const fake = createFakeWx();
  const quiet = console.error;
  fake.wx.showLoading({ title: '登陆中', mask: true });
  assert.deepEqual(fake.loading, { shown: true, title: '登陆中' });
  fake.wx.hideLoading();
  assert.deepEqual(fake.loading, { shown: false, title: null });
  fake.wx.showToast({ title: '网络不给力', icon: 'none' });
  fake.wx.hideLoading();
  assert.equal(fake.hiddenToasts, 1, 'hideLoading closes a toast: the slot is shared');
  assert.deepEqual(fake.toasts, [{ title: '网络不给力', icon: 'none', duration: 1500 }]);

  fake.modalAnswers.push('cancel');
  const first = await fake.wx.showModal({ title: '提示', content: '退出登录?' });
  const second = await fake.wx.showModal({ content: '再来一次' });
  assert.deepEqual([first.confirm, first.cancel, second.confirm], [false, true, true]);
  assert.deepEqual(fake.modals.map((m) => [m.content, m.answer]), [['退出登录?', 'cancel'], ['再来一次', 'confirm']]);

  assert.equal(typeof fake.wx.getUserProfile, 'undefined');
  assert.ok(fake.missing.has('getUserProfile'));

  console.error = () => {};
  try {
    fake.wx.checkSession({ success: () => { throw new Error('caller bug'); } });
    await fake.idle();
  } finally {
    console.error = quiet;
  }
  assert.equal(fake.callbackErrors.length, 1);
  assert.equal(fake.callbackErrors[0].error.message, 'caller bug');

  fake.reset();
  assert.equal(fake.count('showModal'), 0);
  assert.equal(fake.toasts.length, 0);
});

test('fake server: login shape, single sign-on, check and logout answers, counters', () => {
  const server = createFakeServer({ expiresIn: 60 });
  const call = (method, path, { token, body } = {}) => {
    const plan = server.handle({
      method,
      url: server.baseUrl + path,
      header: token ? { authorization: `Bearer ${token}` } : {},
      body: body === undefined ? '' : JSON.stringify(body),
    });
    return { status: plan.statusCode, body: plan.body ? JSON.parse(plan.body) : null };
  };
  const one = call('POST', '/auth/login', { body: { code: server.issueCode('openid-a') } });
  assert.equal(one.status, 200);
  assert.deepEqual(Object.keys(one.body).sort(), ['expiresIn', 'token', 'uid', 'userInfo']);
  assert.deepEqual(one.body.userInfo, { nickName: DEFAULT_NICKNAME, avatarUrl: '' });
  assert.equal(one.body.expiresIn, 60);
  assert.equal(call('GET', '/auth/check', { token: one.body.token }).status, 200);

  const two = call('POST', '/auth/login', { body: { code: server.issueCode('openid-a') } });
  assert.equal(two.body.uid, one.body.uid, 'same WeChat user, same uid');
  assert.notEqual(two.body.token, one.body.token);
  assert.deepEqual(call('GET', '/auth/check', { token: one.body.token }), { status: 401, body: { error: { code: 'SESSION_INVALID', message: '登陆状态已失效' } } });
  assert.equal(server.tokenOf('openid-a'), two.body.token);

  assert.equal(call('POST', '/auth/login', { body: { code: 'made-up' } }).body.error.code, 'CODE_INVALID');
  assert.equal(call('POST', '/auth/login', { body: {} }).body.error.code, 'BAD_REQUEST');
  assert.deepEqual(call('POST', '/auth/logout', { token: two.body.token }), { status: 200, body: { revoked: true } });
  assert.equal(server.isTokenValid(two.body.token), false);
  assert.deepEqual(call('POST', '/auth/logout', { token: two.body.token }), { status: 400, body: { error: { code: 'SESSION_INVALID', message: '登陆状态已失效' } } });
  assert.equal(call('GET', '/nope').status, 404);

  const three = call('POST', '/auth/login', { body: { code: server.issueCode('openid-b') } });
  server.expireToken(three.body.token);
  assert.equal(call('GET', '/auth/check', { token: three.body.token }).status, 401);

  assert.equal(server.counts.byRoute['POST /auth/login'], 5);
  assert.equal(server.counts.byRoute['GET /auth/check'], 3);
  assert.equal(server.counts.byRoute['POST /auth/logout'], 2);
  assert.equal(server.counts.byStatus[200], 5);
  assert.equal(server.counts.total, server.log.length);
});

test('fake server: faults hit the next matching requests only, under a base path too', () => {
  const server = createFakeServer({ baseUrl: 'https://api.example.com/v1/' });
  const get = (path) => server.handle({ method: 'GET', url: server.baseUrl + path, header: {}, body: '' });
  server.failNext({ kind: '500', times: 2, route: 'GET /auth/check' });
  server.failNext({ kind: 'badJson' });
  assert.equal(get('/nope').body, '{"token": "tok-broken", "uid": ', 'badJson hit the first request of any route');
  assert.equal(get('/auth/check').statusCode, 500);
  assert.equal(get('/auth/check').statusCode, 500);
  assert.equal(get('/auth/check').statusCode, 401);
  server.failNext({ kind: 'network', errMsg: 'request:fail 断网' });
  assert.deepEqual(get('/auth/check'), { kind: 'network', errMsg: 'request:fail 断网', delayMs: 0 });
  server.failNext({ kind: 'delay', ms: 30 });
  assert.equal(get('/auth/check').delayMs, 30);
  assert.equal(server.handle({ method: 'GET', url: 'https://api.example.com/auth/check', header: {}, body: '' }).kind, 'network', 'outside the base path');
  assert.equal(server.counts.faults, 5);
  assert.equal(server.counts.network, 2);
  assert.throws(() => server.failNext({ kind: 'teapot' }), /unknown fault kind/);
  server.reset();
  assert.equal(server.counts.total, 0);
});

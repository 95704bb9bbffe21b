/**
 * The real pages (miniprogram/pages/index, pages/user) rendered by miniprogram-simulate, driven
 * by taps, over the BUILT session module, the stateful fake wx and the in-process server.
 *
 * One app launch per process (the session module and the simulator keep state), so the tests
 * run in order and each starts from the state the previous one left: logged out → 登录 →
 * 账户页 → 退出 cancelled → 退出 confirmed → login failures.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { MINIPROGRAM_DIR, DEFAULT_NICKNAME } = require('./support');
const { MESSAGES } = require('../../miniprogram/utils/messages.js');

const BUILT_FILES = ['session/session_wasm.js', 'session/session_bg.wasm.br'];
const missing = BUILT_FILES.filter((file) => !fs.existsSync(path.join(MINIPROGRAM_DIR, file)));

if (missing.length) {
  test('the built session module is present', () => {
    assert.fail(`missing ${missing.map((f) => `miniprogram/${f}`).join(', ')}: run scripts/build.sh first`);
  });
} else {
  const { createPageEnv } = require('./support/page-env');
  const env = createPageEnv();
  const { fake, server } = env;
  let app;
  let index;
  let user;

  /** Waits for the fake wx's pending callbacks and the promise chains behind them. */
  const settle = async () => {
    await fake.idle();
    await new Promise((resolve) => setTimeout(resolve, 10));
  };

  const storedKeys = () => [...fake.storage.keys()].sort();

  test('launch without a token: logged out, the index page offers 登录', async () => {
    app = env.launchApp();
    await app.globalData.launchCheck;
    assert.equal(app.globalData.loggedIn, false);
    assert.equal(server.counts.total, 0, 'no token, so nothing to ask the server');

    index = env.open('pages/index/index');
    await env.until(() => index.data.ready);
    assert.match(index.text(), /登录/);
    assert.ok(index.find('登录'), 'a 登录 button is rendered');
    assert.equal(index.find('我的账户'), null);
  });

  test('tap 登录 (twice, quickly): one login; nickname shown, token stored, app state updated', async () => {
    // The session module is shared with the pages (one Node module instance), so wrapping its
    // login counts the page's calls — the session's own single-flight would hide a second call.
    const sessionModule = require(path.join(MINIPROGRAM_DIR, 'miniprogram_npm/wx-session/index.js'));
    const realLogin = sessionModule.login;
    let pageLogins = 0;
    sessionModule.login = (...args) => {
      pageLogins += 1;
      return realLogin(...args);
    };
    try {
      assert.equal(index.tap('登录'), true);
      await env.until(() => index.data.busy);
      assert.equal(index.tap('登录'), false, 'the button is disabled while busy');
      assert.equal(index.tap('登录', { force: true }), true, 'a tap that gets through anyway…');
      await env.until(() => index.data.loggedIn);
      await settle();
    } finally {
      sessionModule.login = realLogin;
    }

    assert.equal(pageLogins, 1, '…is ignored by the page');
    assert.equal(fake.count('login'), 1, 'one wx.login');
    assert.equal(server.counts.byRoute['POST /auth/login'], 1, 'one server login');
    assert.match(index.text(), new RegExp(DEFAULT_NICKNAME));
    assert.match(index.text(), /已登录/);
    assert.ok(index.find('我的账户'));
    assert.equal(index.find('登录'), null);
    assert.equal(index.data.busy, false);

    const token = server.tokenOf();
    assert.equal(fake.readStorage('token'), token);
    assert.equal(String(fake.readStorage('wxSession').uid), index.data.uid);
    assert.equal(fake.readStorage('wxSession').userInfo.nickName, DEFAULT_NICKNAME);
    assert.ok(fake.log.some((e) => e.api === 'showLoading' && e.arg.title === '登录中'), 'the session showed 登录中');
    assert.equal(fake.loading.shown, false);
    assert.deepEqual(fake.toasts, []);
    assert.equal(app.globalData.loggedIn, true, 'onChange kept globalData current');
  });

  test('我的账户 navigates to the account page, which shows the user', async () => {
    index.tap('我的账户');
    await settle();
    assert.deepEqual(fake.navigations.map((n) => [n.api, n.url]), [['navigateTo', '/pages/user/user']]);

    user = env.open('pages/user/user'); // what the navigation would show
    await env.until(() => user.data.ready);
    assert.match(user.text(), new RegExp(DEFAULT_NICKNAME));
    assert.match(user.text(), new RegExp(`用户 ID\\s*${fake.readStorage('wxSession').uid}`));
    assert.ok(user.find('退出'));
  });

  test('退出 → cancel: nothing changes', async () => {
    const token = fake.readStorage('token');
    const before = storedKeys();
    fake.modalAnswers.push('cancel');
    user.tap('退出');
    await env.until(() => fake.modals.length === 1);
    await settle();

    assert.deepEqual(fake.modals[0], { title: '提示', content: '退出登录?', showCancel: true, answer: 'cancel' });
    assert.deepEqual(storedKeys(), before);
    assert.equal(fake.readStorage('token'), token);
    assert.equal(server.isTokenValid(token), true);
    assert.equal(server.counts.byRoute['POST /auth/logout'], undefined);
    assert.equal(user.data.loggedIn, true);
    assert.equal(user.data.busy, false);
    assert.ok(user.find('退出'));
  });

  test('退出 → confirm: storage cleared, the page (refreshed by the session) shows logged out, token revoked', async () => {
    const token = fake.readStorage('token');
    let shows = 0;
    const onShow = user.instance.onShow;
    user.instance.onShow = function countedOnShow(...args) {
      shows += 1;
      return onShow.apply(this, args);
    };
    fake.modalAnswers.push('confirm');
    user.tap('退出');
    await env.until(() => /未登录/.test(user.text()));
    await settle();

    assert.equal(fake.modals.length, 2);
    assert.deepEqual(storedKeys(), []);
    assert.equal(server.isTokenValid(token), false, 'the server revoked the token');
    assert.equal(server.counts.byRoute['POST /auth/logout'], 1);
    assert.ok(fake.log.some((e) => e.api === 'showLoading' && e.arg.title === '正在退出'), 'the session showed 正在退出');
    assert.equal(fake.loading.shown, false);
    assert.equal(shows, 1, "the session re-ran the top page's onShow");
    assert.equal(user.data.loggedIn, false);
    assert.equal(app.globalData.loggedIn, false);
    assert.equal(user.find('退出'), null);
    assert.deepEqual(fake.toasts, []);

    user.tap('去登录');
    await settle();
    assert.deepEqual(fake.navigations[fake.navigations.length - 1], { api: 'reLaunch', url: '/pages/index/index', delta: undefined });
    env.close(user);
    index.show();
    await env.until(() => index.find('登录'));
  });

  test('login answered by a server 500: a readable toast, storage unchanged', async () => {
    fake.toasts.length = 0;
    fake.hiddenToasts = 0;
    server.failNext({ kind: '500', route: 'POST /auth/login' });
    index.tap('登录');
    await env.until(() => fake.toasts.length === 1);
    await settle();

    assert.deepEqual(fake.toasts[0], { title: MESSAGES.SERVER_ERROR, icon: 'none', duration: 2500 });
    assert.equal(fake.hiddenToasts, 0, 'the loading was hidden before the toast, not after it');
    assert.deepEqual(storedKeys(), []);
    assert.equal(fake.loading.shown, false);
    assert.equal(index.data.loggedIn, false);
    assert.equal(index.data.busy, false);
    assert.ok(index.find('登录'));
  });

  test('login without network: the network message, storage unchanged; then a retry works', async () => {
    fake.toasts.length = 0;
    server.failNext({ kind: 'network', route: 'POST /auth/login' });
    index.tap('登录');
    await env.until(() => fake.toasts.length === 1);
    await settle();
    assert.deepEqual(fake.toasts[0], { title: MESSAGES.NETWORK, icon: 'none', duration: 2500 });
    assert.deepEqual(storedKeys(), []);

    index.tap('登录');
    await env.until(() => index.data.loggedIn);
    assert.equal(fake.readStorage('token'), server.tokenOf());
  });

  test('退出 while the server is unreachable: logged out on this device at once, no error shown', async () => {
    const token = fake.readStorage('token');
    fake.toasts.length = 0;
    user = env.open('pages/user/user');
    await env.until(() => user.data.loggedIn);
    server.failNext({ kind: 'network', route: 'POST /auth/logout' });
    fake.modalAnswers.push('confirm');
    user.tap('退出');
    await env.until(() => /未登录/.test(user.text()));
    await settle();

    for (const key of ['token', 'wxSession']) assert.equal(fake.readStorage(key), undefined, key);
    assert.equal(server.isTokenValid(token), true, 'the server never heard of it (the session retries later)');
    assert.deepEqual(fake.toasts, []);
    assert.equal(fake.loading.shown, false);
    assert.equal(app.globalData.loggedIn, false);
    env.close(user);
  });

  test('a login answer without userInfo: the index page shows the uid instead of a nickname', async () => {
    const userInfoFor = server.userInfoFor;
    server.userInfoFor = () => undefined; // the answer then has no userInfo field at all
    try {
      index.show();
      await env.until(() => index.find('登录'));
      index.tap('登录');
      await env.until(() => index.data.loggedIn);
      await settle();
    } finally {
      server.userInfoFor = userInfoFor;
    }
    const uid = fake.readStorage('wxSession').uid;
    assert.equal(fake.readStorage('userInfo'), undefined, 'no stale userInfo from the previous login');
    assert.match(index.text(), new RegExp(`用户 ${uid}`));
    assert.doesNotMatch(index.text(), new RegExp(DEFAULT_NICKNAME));
  });

  test('a session that expires while the index page shows it: the page refreshes to logged out', async () => {
    index.show();
    await env.until(() => index.data.loggedIn);
    // The stored session passes its expiry; the next check notices and tells the app (onChange),
    // which re-shows the visible page — nobody calls index.show() here.
    // (A session record the module has not seen yet: it keeps the one it wrote in memory.)
    const expired = fake.readStorage('token') + '-expired';
    fake.writeStorage('token', expired);
    fake.writeStorage('wxSession', { token: expired, expiresAt: 1 });
    const sessionModule = require(path.join(MINIPROGRAM_DIR, 'miniprogram_npm/wx-session/index.js'));
    assert.equal(await sessionModule.checkHasLogined(), false);
    await env.until(() => !index.data.loggedIn);
    await env.until(() => index.find('登录'));
    assert.equal(app.globalData.loggedIn, false);
    // Only the revocation queued by the earlier offline 退出 remains; the session keys are gone.
    assert.deepEqual(storedKeys(), ['wxSessionPendingRevocations']);
  });

  test('the pages never used anything the runtime lacks', () => {
    assert.deepEqual(fake.warnings, []);
    assert.deepEqual(fake.callbackErrors, []);
    assert.deepEqual([...fake.missing], []);
  });
}

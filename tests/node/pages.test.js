/**
 * The real pages (miniprogram/pages/index, pages/user, components/privacy-popup) rendered by
 * miniprogram-simulate, driven by taps and WeChat's events, over the BUILT session module, the
 * stateful fake wx and the in-process server.
 *
 * One app launch per process (the session module and the simulator keep state), so the tests
 * run in order and each starts from the state the previous one left: logged out → the agreement
 * → 微信一键登录 → 账户页 (privacy popup, 头像, 昵称, 手机号码) → 退出 cancelled → 退出 confirmed →
 * 登录 again (the profile is still there) → login failures → sessions that end by themselves.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { MINIPROGRAM_DIR, DEFAULT_NICKNAME } = require('./support');
const { MESSAGES, SERVER_MESSAGES } = require('../../miniprogram/utils/messages.js');
const { CONFIRM_CONTENT } = require('../../miniprogram/utils/agreement.js');

const BUILT_FILES = ['session/session_wasm.js', 'session/session_bg.wasm.br'];
const missing = BUILT_FILES.filter((file) => !fs.existsSync(path.join(MINIPROGRAM_DIR, file)));

/** The session library's default loading texts. */
const LOGIN_LOADING = '登录中';
const LOGOUT_LOADING = '正在退出';
/** What app.js says when a session ends without the user asking. */
const SESSION_ENDED = '登录已失效，请重新登录';
/** A 1×1 PNG: what chooseAvatar would hand out. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d4d3e50000000049454e44ae426082',
  'hex'
);

if (missing.length) {
  test('the built session module is present', () => {
    assert.fail(`missing ${missing.map((f) => `miniprogram/${f}`).join(', ')}: run scripts/build.sh first`);
  });
} else {
  const { createPageEnv } = require('./support/page-env');
  const env = createPageEnv();
  const { fake, server } = env;
  // The pages require('wx-session'): 构建 npm's copy in miniprogram_npm/ (one instance, shared).
  const sessionModule = require(path.join(MINIPROGRAM_DIR, 'miniprogram_npm/wx-session/index.js'));
  let app;
  let index;
  let user;

  /** Waits for the fake wx's pending callbacks and the promise chains behind them. */
  const settle = async () => {
    await fake.idle();
    await new Promise((resolve) => setTimeout(resolve, 10));
  };

  const storedKeys = () => [...fake.storage.keys()].sort();
  const lastTitle = () => fake.titles[fake.titles.length - 1];
  const lastToast = () => fake.toasts[fake.toasts.length - 1];
  const profileOnServer = () => server.users.get(fake.openid).profile;
  const countOf = (route) => server.counts.byRoute[route] || 0;

  test('launch without a token: logged out, the index page offers 微信一键登录 and an unticked agreement', async () => {
    app = env.launchApp();
    await app.globalData.launchCheck;
    assert.equal(app.globalData.loggedIn, false);
    assert.equal(server.counts.total, 0, 'no token, so nothing to ask the server');

    index = env.open('pages/index/index');
    await env.until(() => index.data.ready);
    assert.ok(index.find('微信一键登录'), 'the login button is rendered');
    assert.match(index.text(), /我已阅读并同意《用户协议》和《隐私政策》/);
    assert.equal(index.data.agreed, false, 'consent is never ticked in advance');
    assert.equal(index.find('我的账户'), null);
    assert.equal(lastTitle(), '登录', 'the title says this is the login page');
  });

  test('微信一键登录 without the tick: asked to agree first; 不同意 leaves everything as it was', async () => {
    fake.modalAnswers.push('cancel');
    index.tap('微信一键登录');
    await env.until(() => fake.modals.length === 1);
    await settle();
    assert.equal(fake.modals[0].content, CONFIRM_CONTENT);
    assert.equal(fake.modals[0].confirmText, '同意');
    assert.equal(fake.count('login'), 0, 'no wx.login without consent');
    assert.equal(index.data.agreed, false);
    assert.equal(index.data.busy, false);
    assert.deepEqual(storedKeys(), []);
  });

  test('《用户协议》 and 《隐私政策》 open the terms and WeChat\'s privacy guide', async () => {
    index.dispatch('.agreement-link', 'tap');
    await env.until(() => fake.modals.length === 2);
    assert.equal(fake.modals[1].title, '用户协议');
    const links = index.comp.querySelectorAll('.agreement-link');
    assert.equal(links.length, 2);
    links[1].dispatchEvent('tap');
    await env.until(() => fake.count('openPrivacyContract') === 1);
    await settle();
  });

  test('tick the agreement, tap 微信一键登录 (twice, quickly): one login; the profile shown; title 首页', async () => {
    index.dispatch('.agreement-check', 'tap');
    await env.until(() => index.data.agreed);
    assert.equal(app.globalData.agreedTerms, true);
    // The session module is shared with the pages (one Node module instance), so wrapping its
    // login counts the page's calls — the session's own single-flight would hide a second call.
    const realLogin = sessionModule.login;
    let pageLogins = 0;
    sessionModule.login = (...args) => {
      pageLogins += 1;
      return realLogin(...args);
    };
    // Slow enough that the second and third taps land while the login runs.
    fake.latencyMs = 20;
    try {
      assert.equal(index.tap('微信一键登录'), true);
      await env.until(() => index.data.busy);
      assert.equal(index.tap('微信一键登录'), false, 'the button is disabled while busy');
      assert.equal(index.tap('微信一键登录', { force: true }), true, 'a tap that gets through anyway…');
      await env.until(() => index.data.loggedIn);
      await settle();
    } finally {
      sessionModule.login = realLogin;
      fake.latencyMs = 0;
    }

    assert.equal(pageLogins, 1, '…is ignored by the page');
    assert.equal(fake.count('login'), 1, 'one wx.login');
    assert.equal(countOf('POST /auth/login'), 1, 'one server login');
    assert.equal(countOf('GET /user/profile'), 1, 'then the profile');
    assert.match(index.text(), new RegExp(DEFAULT_NICKNAME));
    assert.match(index.text(), /已登录/);
    assert.ok(index.find('我的账户'));
    assert.equal(index.find('微信一键登录'), null);
    assert.equal(index.data.busy, false);
    assert.equal(lastTitle(), '首页', 'the title follows the state');

    const token = server.tokenOf();
    assert.equal(fake.readStorage('token'), token);
    assert.equal(String(fake.readStorage('wxSession').uid), index.data.uid);
    assert.ok(fake.log.some((e) => e.api === 'showLoading' && e.arg.title === LOGIN_LOADING), `the session showed ${LOGIN_LOADING}`);
    assert.equal(fake.loading.shown, false);
    assert.deepEqual(fake.toasts, []);
    assert.equal(app.globalData.loggedIn, true, 'onChange kept globalData current');
  });

  test('我的账户: 头像, 昵称, 手机号码 (点击获取), ID and 退出 from the server\'s profile', async () => {
    index.tap('我的账户');
    await settle();
    assert.deepEqual(fake.navigations.map((n) => [n.api, n.url]), [['navigateTo', '/pages/user/user']]);

    user = env.open('pages/user/user'); // what the navigation would show
    await env.until(() => user.data.ready && user.data.uid);
    await settle();
    const uid = String(fake.readStorage('wxSession').uid);
    assert.match(user.text(), new RegExp(`头像\\s*昵称\\s*手机号码\\s*点击获取\\s*ID\\s*${uid}`));
    assert.equal(user.data.nickName, DEFAULT_NICKNAME);
    assert.equal(user.attr('.avatar-btn', 'openType'), 'chooseAvatar');
    assert.equal(user.attr('.nickname-input', 'type'), 'nickname');
    assert.equal(user.attr('.phone-btn', 'openType'), 'getPhoneNumber');
    assert.equal(user.data.phone, '');
    assert.ok(user.find('点击获取'), 'the getPhoneNumber button while there is no number');
    assert.ok(user.find('退出'));
    assert.equal(fake.count('onNeedPrivacyAuthorization') >= 1, true, 'the privacy popup listens');
  });

  test('privacy: WeChat holds chooseAvatar until the popup answers; 拒绝 sends disagree and nothing is uploaded', async () => {
    const outcome = fake.needPrivacy('chooseAvatar');
    const popup = user.query('#privacy-popup');
    await env.until(() => popup.data.show);
    assert.match(user.text(), /用户隐私保护提示/);
    assert.match(user.text(), /《wx-session 示例隐私保护指引》/, 'the guide named as configured (getPrivacySetting)');
    popup.querySelector('.privacy-disagree').dispatchEvent('tap');
    assert.equal(await outcome, 'disagree');
    await env.until(() => !popup.data.show);
    assert.deepEqual(fake.privacy.answers, [{ event: 'exposureAuthorization' }, { event: 'disagree' }]);
    assert.equal(countOf('POST /user/avatar'), 0);
  });

  test('头像: 同意 in the popup, then chooseAvatar uploads the picture; the page shows the server\'s URL', async () => {
    fake.privacy.answers.length = 0;
    const outcome = fake.needPrivacy('chooseAvatar');
    const popup = user.query('#privacy-popup');
    await env.until(() => popup.data.show);
    const agree = popup.querySelector('.privacy-agree');
    assert.equal(agree._exparserNode.id, 'privacy-agree', 'the id resolve() names');
    assert.equal(agree._exparserNode._vt.attrs.find((a) => a.name === 'openType').value, 'agreePrivacyAuthorization');
    agree.dispatchEvent('agreeprivacyauthorization');
    assert.equal(await outcome, 'agree');
    assert.deepEqual(fake.privacy.answers, [{ event: 'exposureAuthorization' }, { event: 'agree', buttonId: 'privacy-agree' }]);
    await env.until(() => !popup.data.show);

    const filePath = fake.addTempFile(PNG, 'png');
    user.dispatch('.avatar-btn', 'chooseavatar', { avatarUrl: filePath });
    await env.until(() => user.data.avatarUrl);
    await settle();
    assert.equal(countOf('POST /user/avatar'), 1);
    const url = profileOnServer().avatarUrl;
    assert.match(url, /^http:\/\/127\.0\.0\.1:8787\/media\/avatars\/.+\.png$/);
    assert.equal(user.data.avatarUrl, url);
    assert.deepEqual(server.uploads.get(url), PNG, 'the server got the picture byte for byte');
    assert.equal(fake.privacy.agreed, true, 'and WeChat does not ask again');
    assert.equal(await fake.needPrivacy('getPhoneNumber'), 'agreed');
    assert.ok(fake.log.some((e) => e.api === 'showLoading' && e.arg.title === '上传中'), 'the upload showed 上传中');
    assert.deepEqual(fake.toasts, []);
  });

  test('头像: a file that is not a picture is refused by the server, and the page says so', async () => {
    const before = user.data.avatarUrl;
    const filePath = fake.addTempFile(Buffer.from('<html>not a picture</html>'), 'png');
    user.dispatch('.avatar-btn', 'chooseavatar', { avatarUrl: filePath });
    await env.until(() => fake.toasts.length === 1);
    await settle();
    assert.deepEqual(lastToast(), { title: SERVER_MESSAGES.UNSUPPORTED_IMAGE, icon: 'none', duration: 2500 });
    assert.equal(user.data.avatarUrl, before);
    fake.toasts.length = 0;
  });

  test('昵称: blur saves a changed nickname once; the confirm that follows finds nothing changed', async () => {
    const puts = countOf('PUT /user/profile');
    user.dispatch('.nickname-input', 'blur', { value: '  小明  ' });
    user.dispatch('.nickname-input', 'confirm', { value: '小明' });
    await env.until(() => user.data.nickName === '小明');
    await settle();
    assert.equal(countOf('PUT /user/profile'), puts + 1, 'one PUT for the one change');
    assert.equal(profileOnServer().nickname, '小明', 'trimmed before it was sent');
    user.dispatch('.nickname-input', 'blur', { value: '小明' });
    await settle();
    assert.equal(countOf('PUT /user/profile'), puts + 1, 'unchanged: nothing sent');
    assert.deepEqual(fake.toasts, []);
  });

  test('昵称: empty is not saved; too long is refused by the server, shown in words, and the old one stays', async () => {
    const puts = countOf('PUT /user/profile');
    user.dispatch('.nickname-input', 'blur', { value: '   ' });
    await env.until(() => fake.toasts.length === 1);
    assert.equal(lastToast().title, '昵称不能为空');
    assert.equal(countOf('PUT /user/profile'), puts);

    user.dispatch('.nickname-input', 'confirm', { value: '这'.repeat(33) });
    await env.until(() => fake.toasts.length === 2);
    await settle();
    assert.equal(countOf('PUT /user/profile'), puts + 1);
    assert.deepEqual(lastToast(), { title: SERVER_MESSAGES.INVALID_NICKNAME, icon: 'none', duration: 2500 });
    assert.equal(user.data.nickName, '小明');
    assert.equal(profileOnServer().nickname, '小明');
    fake.toasts.length = 0;
  });

  test('手机号码: declined → nothing sent; a code → POST /user/phone, the masked number replaces 点击获取', async () => {
    user.dispatch('.phone-btn', 'getphonenumber', { errMsg: 'getPhoneNumber:fail user deny' });
    await settle();
    assert.equal(countOf('POST /user/phone'), 0);
    assert.ok(user.find('点击获取'));

    user.dispatch('.phone-btn', 'getphonenumber', { errMsg: 'getPhoneNumber:ok', code: '' });
    await settle();
    assert.equal(countOf('POST /user/phone'), 0, 'no code, nothing to send');

    server.failNext({ kind: 'status', status: 400, route: 'POST /user/phone' });
    user.dispatch('.phone-btn', 'getphonenumber', { errMsg: 'getPhoneNumber:ok', code: 'phone-code-0' });
    await env.until(() => fake.toasts.length === 1);
    assert.equal(lastToast().title, '手机号获取失败，请重试', 'a refused code, in words about the phone');
    assert.ok(user.find('点击获取'), 'and the button is still there to try again');
    fake.toasts.length = 0;

    user.dispatch('.phone-btn', 'getphonenumber', { errMsg: 'getPhoneNumber:ok', code: 'phone-code-1' });
    await env.until(() => user.data.phone);
    await settle();
    assert.equal(countOf('POST /user/phone'), 2);
    assert.match(user.data.phone, /^138\*\*\*\*\d{4}$/);
    assert.equal(user.data.phone, profileOnServer().phone);
    assert.match(user.text(), new RegExp(`手机号码\\s*${user.data.phone.replace(/\*/g, '\\*')}`));
    assert.equal(user.find('点击获取'), null);
    assert.deepEqual(lastToast(), { title: '已获取手机号', icon: 'success', duration: 1500 });
    fake.toasts.length = 0;
  });

  test('退出 → 取消: the confirm reads 退出登录？ with a red 退出; nothing changes', async () => {
    const token = fake.readStorage('token');
    const before = storedKeys();
    const modals = fake.modals.length;
    fake.modalAnswers.push('cancel');
    user.tap('退出');
    await env.until(() => fake.modals.length === modals + 1);
    await settle();

    assert.deepEqual(fake.modals[modals], {
      title: '',
      content: '退出登录？',
      showCancel: true,
      confirmText: '退出',
      confirmColor: '#FA5151',
      answer: 'cancel',
    });
    assert.deepEqual(storedKeys(), before);
    assert.equal(server.isTokenValid(token), true);
    assert.equal(countOf('POST /auth/logout'), 0);
    assert.equal(user.data.loggedIn, true);
    assert.equal(user.data.busy, false);
  });

  test('退出 → 确认: storage cleared, token revoked, back to the login page — 微信一键登录 one tap away', async () => {
    const token = fake.readStorage('token');
    fake.modalAnswers.push('confirm');
    user.tap('退出');
    await env.until(() => fake.navigations.some((n) => n.api === 'reLaunch'));
    await settle();

    assert.deepEqual(storedKeys(), []);
    assert.equal(server.isTokenValid(token), false, 'the server revoked the token');
    assert.equal(countOf('POST /auth/logout'), 1);
    assert.ok(fake.log.some((e) => e.api === 'showLoading' && e.arg.title === LOGOUT_LOADING), `the session showed ${LOGOUT_LOADING}`);
    assert.equal(fake.loading.shown, false);
    assert.deepEqual(fake.navigations[fake.navigations.length - 1], { api: 'reLaunch', url: '/pages/index/index', delta: undefined });
    assert.equal(app.globalData.loggedIn, false);
    assert.deepEqual(fake.toasts, [], 'the user asked for it: no 登录已失效');

    // What reLaunch shows: the index page, the agreement still ticked from this launch.
    env.close(user);
    index.show();
    await env.until(() => index.find('微信一键登录'));
    assert.equal(index.data.agreed, true);
    assert.equal(lastTitle(), '登录');
  });

  test('登录 again (one tap): the profile is still there — nickname, avatar and phone from the server', async () => {
    const profile = Object.assign({}, profileOnServer());
    const modals = fake.modals.length;
    index.tap('微信一键登录');
    await env.until(() => index.data.loggedIn && index.data.nickName === '小明');
    await settle();
    assert.equal(fake.modals.length, modals, 'no agreement prompt: it was ticked');
    assert.equal(index.data.avatarUrl, profile.avatarUrl);
    assert.equal(lastTitle(), '首页');

    user = env.open('pages/user/user');
    await env.until(() => user.data.phone);
    assert.equal(user.data.nickName, '小明');
    assert.equal(user.data.avatarUrl, profile.avatarUrl);
    assert.equal(user.data.phone, profile.phone);
    assert.equal(user.data.uid, String(server.users.get(fake.openid).uid), 'the same user');
  });

  test('the server revoked the token (a login elsewhere), a profile call re-logs in by itself: no 登录已失效', async () => {
    const old = fake.readStorage('token');
    server.revokeToken(old);
    user.show();
    await env.until(() => fake.readStorage('token') && fake.readStorage('token') !== old);
    await settle();
    assert.equal(user.data.loggedIn, true);
    assert.deepEqual(fake.toasts, [], 'logged in again before anyone noticed');
    assert.equal(app.globalData.loggedIn, true);
  });

  test('revoked and the re-login fails: 登录已失效，请重新登录, and the page offers 登录 in place', async () => {
    server.revokeToken(fake.readStorage('token'));
    fake.failLogin();
    user.show();
    await env.until(() => !user.data.loggedIn);
    await env.until(() => fake.toasts.length > 0);
    await settle();
    assert.deepEqual(fake.toasts.map((t) => t.title), [SESSION_ENDED], 'one message, the one that says what happened');
    assert.equal(app.globalData.loggedIn, false);
    assert.ok(user.find('登录'), '登录 right here');

    fake.toasts.length = 0;
    user.tap('登录');
    await env.until(() => user.data.loggedIn && user.data.phone);
    assert.equal(user.data.nickName, '小明');
    assert.deepEqual(fake.toasts, []);
  });

  /** Makes the stored session expired (a record the module has not seen: it keeps the one it wrote in memory). */
  function expireStoredSession() {
    const expired = fake.readStorage('token') + '-expired';
    fake.writeStorage('token', expired);
    fake.writeStorage('wxSession', Object.assign({}, fake.readStorage('wxSession'), { token: expired, expiresAt: 1 }));
  }

  test('a session that expires while the account page shows it: 登录已失效，请重新登录 and logged out', async () => {
    expireStoredSession();
    user.show();
    await env.until(() => !user.data.loggedIn);
    await env.until(() => fake.toasts.length === 1);
    assert.deepEqual(fake.toasts[0], { title: SESSION_ENDED, icon: 'none', duration: 3000 });
    assert.ok(user.find('登录'));
    env.close(user);
    fake.toasts.length = 0;
  });

  test('login answered by a server 500: a readable toast, storage unchanged', async () => {
    index.show();
    await env.until(() => index.find('微信一键登录'));
    await settle();
    fake.toasts.length = 0;
    fake.hiddenToasts = 0;
    const before = storedKeys();
    server.failNext({ kind: '500', route: 'POST /auth/login' });
    index.tap('微信一键登录');
    await env.until(() => fake.toasts.length === 1);
    await settle();

    assert.deepEqual(fake.toasts[0], { title: MESSAGES.SERVER_ERROR, icon: 'none', duration: 2500 });
    assert.equal(fake.hiddenToasts, 0, 'the loading was hidden before the toast, not after it');
    assert.deepEqual(storedKeys(), before);
    assert.equal(fake.loading.shown, false);
    assert.equal(index.data.loggedIn, false);
    assert.equal(index.data.busy, false);
    assert.ok(index.find('微信一键登录'));
  });

  test('login without network: the network message, storage unchanged; then a retry works', async () => {
    fake.toasts.length = 0;
    const before = storedKeys();
    server.failNext({ kind: 'network', route: 'POST /auth/login' });
    index.tap('微信一键登录');
    await env.until(() => fake.toasts.length === 1);
    await settle();
    assert.deepEqual(fake.toasts[0], { title: MESSAGES.NETWORK, icon: 'none', duration: 2500 });
    assert.deepEqual(storedKeys(), before);

    index.tap('微信一键登录');
    await env.until(() => index.data.loggedIn);
    assert.equal(fake.readStorage('token'), server.tokenOf());
  });

  test('退出 while the server is unreachable: logged out on this device at once; no error, a note that the server will be told later', async () => {
    const token = fake.readStorage('token');
    fake.toasts.length = 0;
    user = env.open('pages/user/user');
    await env.until(() => user.data.loggedIn);
    await settle();
    server.failNext({ kind: 'network', route: 'POST /auth/logout' });
    fake.modalAnswers.push('confirm');
    const relaunches = fake.navigations.filter((n) => n.api === 'reLaunch').length;
    user.tap('退出');
    await env.until(() => fake.navigations.filter((n) => n.api === 'reLaunch').length === relaunches + 1);
    await settle();

    for (const key of ['token', 'wxSession']) assert.equal(fake.readStorage(key), undefined, key);
    assert.equal(server.isTokenValid(token), true, 'the server never heard of it (the session retries later)');
    assert.deepEqual(fake.toasts.map((t) => t.title), ['已退出；服务器暂未确认，稍后自动重试']);
    assert.equal(fake.loading.shown, false);
    assert.equal(app.globalData.loggedIn, false);
    env.close(user);
  });

  test('a new user whose login answer has no userInfo: the index page shows the uid instead of a nickname', async () => {
    const userInfoFor = server.userInfoFor;
    server.userInfoFor = () => undefined; // the answer then has no userInfo field at all
    fake.openid = 'openid-test-2';
    try {
      index.show();
      await env.until(() => index.find('微信一键登录'));
      index.tap('微信一键登录');
      await env.until(() => index.data.loggedIn);
      await settle();
    } finally {
      server.userInfoFor = userInfoFor;
    }
    const uid = fake.readStorage('wxSession').uid;
    assert.equal(fake.readStorage('wxSession').userInfo, undefined, 'no stale userInfo from the previous login');
    assert.equal(profileOnServer().nickname, null, 'and none in the profile either');
    assert.match(index.text(), new RegExp(`用户 ${uid}`));
    assert.doesNotMatch(index.text(), new RegExp(DEFAULT_NICKNAME));
  });

  test('a session that expires while the index page shows it: the page refreshes to logged out and says why', async () => {
    index.show();
    await env.until(() => index.data.loggedIn);
    fake.toasts.length = 0;
    // The stored session passes its expiry; the next check notices and tells the app (onChange),
    // which re-shows the visible page — nobody calls index.show() here.
    expireStoredSession();
    assert.equal(await sessionModule.checkHasLogined(), false);
    await env.until(() => !index.data.loggedIn);
    await env.until(() => index.find('微信一键登录'));
    await env.until(() => fake.toasts.length === 1);
    assert.equal(fake.toasts[0].title, SESSION_ENDED);
    assert.equal(lastTitle(), '登录');
    assert.equal(app.globalData.loggedIn, false);
    for (const key of ['token', 'wxSession']) assert.equal(fake.readStorage(key), undefined, key);
  });

  test('the pages never used anything the runtime lacks', () => {
    assert.deepEqual(fake.warnings, []);
    assert.deepEqual(fake.callbackErrors, []);
    assert.deepEqual([...fake.missing], []);
  });
}

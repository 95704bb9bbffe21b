/**
 * End to end in a non-default protocol: the real pages, configured for litemall (scripts/dev.sh
 * --protocol litemall), against the reference server's litemall dialect under /wx. 登录 and
 * 退出 are checked on the page, in storage, on the server (GET /wx/user/index → errno) and on the
 * wire (litemall's paths and X-Litemall-Token); then the launch-time check in litemall's terms.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/harness');

// litemall's login answer echoes the userInfo the client sent (server/src/litemall.rs); WeChat no
// longer gives one at login, so the library sends {} and the pages show WeChat's own default name.
const DEFAULT_NAME = '微信用户';
const shot = h.screenshots(__filename);
let dev;
let browser;

test.before(async () => {
  dev = await h.startDev('litemall', { protocol: 'litemall' });
  browser = await h.launchBrowser();
});

test.after(async () => {
  if (browser) await browser.close();
  if (dev) await dev.stop();
});

/** Every API request the page sends, as { method, path, token } (token: X-Litemall-Token). */
function recordRequests(page) {
  const seen = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== dev.serverUrl || url.pathname === '/dev/code') return;
    seen.push({ method: request.method(), path: url.pathname, token: request.headers()['x-litemall-token'] });
  });
  return seen;
}

test('litemall: 微信一键登录 → the server accepts the token; 我的账户 → 退出 → 确认 → storage clear, the server answers errno 501', async () => {
  const page = await h.openPreview(browser, dev);
  const requests = recordRequests(page);
  const config = await page.evaluate(() => window.__preview.require('config.js'));
  assert.deepEqual(config, { baseUrl: `${dev.serverUrl}/wx`, protocol: 'litemall', accountApi: false }, 'the preview configured the app for litemall (no account routes there)');
  assert.deepEqual(await h.readStorage(page), {}, 'a new phone starts with empty storage');
  await shot(page, 'logged-out');

  await h.login(page);
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  const stored = await h.readStorage(page);
  assert.match(stored.token, /^[0-9a-f]{64}$/);
  assert.deepEqual(stored.wxSession.userInfo, {}, 'the userInfo the library sent, echoed');
  assert.equal(stored.wxSession.uid, undefined, "litemall's UserInfo has no userId");
  assert.match(await h.pageText(page), new RegExp(DEFAULT_NAME));
  assert.equal(await h.litemallCheck(dev.serverUrl, stored.token), 0, 'GET /wx/user/index accepts the stored token');
  assert.match(await h.pageText(page), /已登录/);
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), true, 'app.js heard the login event');
  assert.deepEqual(requests.map((r) => `${r.method} ${r.path}`), ['POST /wx/auth/login_by_weixin'], 'the login spoke litemall');
  await shot(page, 'logged-in');

  await h.tapButton(page, '我的账户');
  await h.waitForRoute(page, 'pages/user/user');
  await h.waitForText(page, '未设置');
  // litemall has no account routes: the page shows the login answer, read-only.
  assert.equal((await h.pageData(page)).editable, false);
  assert.doesNotMatch(await h.pageText(page), /点击获取/);
  await shot(page, 'account');

  const toastsBefore = await h.toastCount(page);
  await h.tapButton(page, '退出');
  const said = await h.answerModal(page, 'confirm');
  assert.equal(said.content, '退出登录？');
  // litemall's logout cannot revoke its JWTs: the library says notRevocable and the page says so
  // (this reference server does revoke, checked below — the preset cannot know that).
  assert.match(await h.waitForToast(page, toastsBefore), /到期前仍有效/);
  await h.waitForText(page, '微信一键登录');
  await h.waitForNoLoading(page);
  assert.deepEqual(await h.readStorage(page), {}, 'nothing of the session is left in storage');
  assert.equal(await h.litemallCheck(dev.serverUrl, stored.token), 501, 'the server revoked the token');
  assert.equal(await h.checkToken(dev.serverUrl, stored.token), 401, 'for the default protocol too: one store');
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  const logout = requests.find((r) => r.path === '/wx/auth/logout');
  assert.ok(logout, `退出 called POST /wx/auth/logout; requests: ${JSON.stringify(requests.map((r) => r.path))}`);
  assert.equal(logout.method, 'POST');
  assert.equal(logout.token, stored.token, 'with the token in X-Litemall-Token');
  await shot(page, 'logged-out-after-logout');
  await page.context().close();
});

test('litemall: a login elsewhere (default protocol, same user) ends the session; the launch check asks GET /wx/user/index and logs out', async () => {
  const page = await h.openPreview(browser, dev);
  await h.login(page);
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  const { token } = await h.readStorage(page);

  // alice logs in on "another phone" in the default dialect: single sign-on across dialects.
  const { code } = await (await fetch(`${dev.serverUrl}/dev/code`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'alice' }),
  })).json();
  const other = await fetch(`${dev.serverUrl}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  assert.equal(other.status, 200);
  assert.equal(await h.litemallCheck(dev.serverUrl, token), 501, 'the newer login replaced this token');

  // Relaunch: app.js's checkHasLogined asks litemall's check, hears errno 501, clears storage.
  const requests = recordRequests(page);
  await page.reload();
  await h.waitForLaunch(page);
  const check = requests.find((r) => r.path === '/wx/user/index');
  assert.ok(check, `the launch check asked GET /wx/user/index; requests: ${JSON.stringify(requests.map((r) => r.path))}`);
  assert.equal(check.token, token);
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  const stored = await h.readStorage(page);
  h.SESSION_KEYS.forEach((key) => assert.equal(stored[key], undefined, `${key} removed`));
  await h.waitForText(page, '欢迎使用');
  await shot(page, 'logged-out-by-sso');
  await page.context().close();
});

/**
 * End to end, through the browser preview of the real pages and the real server (scripts/dev.sh):
 * 登录, 退出 (confirmed and cancelled) and single sign-on, each checked three ways — what the
 * page shows, what is in storage, and what the server says about the token.
 *
 * Every test opens its own browser context, i.e. a phone with empty storage.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/harness');

const NICKNAME = '测试用户 alice 🐼'; // the dev server's userInfo for "alice" (server/README.md)
const shot = h.screenshots(__filename);
let dev;
let browser;

test.before(async () => {
  dev = await h.startDev('session');
  browser = await h.launchBrowser();
});

test.after(async () => {
  if (browser) await browser.close();
  if (dev) await dev.stop();
});

/** Opens the preview and logs in with the 登录 button; returns the page and the stored token. */
async function loggedIn(user = 'alice') {
  const page = await h.openPreview(browser, dev, { user });
  await h.tapButton(page, '登录');
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  const { token } = await h.readStorage(page);
  assert.match(String(token), /^[0-9a-f]{64}$/, 'a token is stored after 登录');
  return { page, token };
}

test('登录: the token is stored, the server accepts it, the page shows the user', async () => {
  const page = await h.openPreview(browser, dev);
  assert.deepEqual(await h.readStorage(page), {}, 'a new phone starts with empty storage');
  await shot(page, 'logged-out');

  await h.tapButton(page, '登录');
  await h.waitForText(page, NICKNAME);
  await h.waitForNoLoading(page);
  const stored = await h.readStorage(page);
  assert.match(stored.token, /^[0-9a-f]{64}$/);
  assert.match(stored.uid, /^u_[0-9a-f]{16}$/);
  assert.equal(stored.userInfo.nickName, NICKNAME);
  assert.equal(await h.checkToken(dev.serverUrl, stored.token), 200, 'GET /auth/check accepts the stored token');
  assert.match(await h.pageText(page), /已登录/);
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), true, 'app.js heard the login event');
  await shot(page, 'logged-in');
  await page.context().close();
});

test('退出 → 取消: nothing changes; the token stays stored and valid', async () => {
  const { page, token } = await loggedIn();
  await h.tapButton(page, '我的账户');
  await h.waitForText(page, NICKNAME);
  const before = await h.readStorage(page);
  await shot(page, 'account');

  await h.tapButton(page, '退出');
  const modal = page.locator('#mp-modal:not([hidden])');
  await modal.waitFor();
  await shot(page, 'logout-modal');
  const said = await h.answerModal(page, 'cancel');
  assert.equal(said.content, '退出登录?');
  assert.equal(said.cancelText, '取消');

  assert.deepEqual(await h.readStorage(page), before, 'storage untouched');
  assert.equal(await h.checkToken(dev.serverUrl, token), 200, 'the server still accepts the token');
  assert.match(await h.pageText(page), new RegExp(NICKNAME));
  // The button is usable again (the page's busy flag was reset).
  await h.tapButton(page, '退出');
  await h.answerModal(page, 'cancel');
  assert.equal(await h.checkToken(dev.serverUrl, token), 200);
  await shot(page, 'logout-cancelled');
  await page.context().close();
});

test('退出 → 确认: storage is cleared, the page shows logged out, the server rejects the old token', async () => {
  const { page, token } = await loggedIn();
  await h.tapButton(page, '我的账户');
  await h.waitForText(page, NICKNAME);

  await h.tapButton(page, '退出');
  const said = await h.answerModal(page, 'confirm');
  assert.equal(said.content, '退出登录?');
  assert.equal(said.confirmText, '退出', 'the page asks with confirmText 退出');
  await h.waitForText(page, '未登录');
  await h.waitForNoLoading(page);

  assert.deepEqual(await h.readStorage(page), {}, 'nothing of the session is left in storage');
  assert.equal(await h.checkToken(dev.serverUrl, token), 401, 'the server revoked the token');
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  assert.match(await h.pageText(page), /已退出登录/);
  await shot(page, 'logged-out-after-logout');

  // 去登录 goes back to the index page, which offers 登录 again.
  await h.tapButton(page, '去登录');
  await h.waitForText(page, '欢迎使用');
  await h.tapButton(page, '登录');
  await h.waitForText(page, NICKNAME);
  await shot(page, 'logged-in-again');
  await page.context().close();
});

test('single sign-on: alice logs in on a second phone; the first token is rejected and the first phone logs out at its next check', async () => {
  const first = await loggedIn('alice');
  const second = await loggedIn('alice');
  assert.notEqual(second.token, first.token);
  assert.equal(await h.checkToken(dev.serverUrl, first.token), 401, 'the older login was revoked by the newer one');
  assert.equal(await h.checkToken(dev.serverUrl, second.token), 200);
  await shot(second.page, 'second-phone-logged-in');

  // Relaunch the first phone (a reload runs app.js again): its launch-time checkHasLogined asks
  // the server, hears 401 and clears the stale token.
  await first.page.reload();
  await h.waitForLaunch(first.page);
  assert.equal(await first.page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  const stored = await h.readStorage(first.page);
  h.SESSION_KEYS.forEach((key) => assert.equal(stored[key], undefined, `${key} removed`));
  assert.equal(await first.page.evaluate(() => window.__preview.require('wx-session').checkHasLogined()), false);

  // Back in the foreground the page reads the session again and offers 登录.
  await first.page.locator('#dev-foreground').tap();
  await h.waitForText(first.page, '欢迎使用');
  assert.match(await h.pageText(first.page), /登录/);
  await shot(first.page, 'first-phone-logged-out');

  // The second phone is unaffected.
  assert.equal(await second.page.evaluate(() => window.__preview.require('wx-session').checkHasLogined()), true);
  assert.equal(await h.checkToken(dev.serverUrl, second.token), 200);
  await first.page.context().close();
  await second.page.context().close();
});

/**
 * End to end, through the browser preview of the real pages and the real server (scripts/dev.sh):
 * 微信一键登录, 退出 (confirmed and cancelled) and single sign-on, each checked three ways — what
 * the page shows, what is in storage, and what the server says about the token.
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

/** Opens the preview and logs in with 微信一键登录; returns the page and the stored token. */
async function loggedIn(user = 'alice') {
  const page = await h.openPreview(browser, dev, { user });
  await h.login(page);
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  const { token } = await h.readStorage(page);
  assert.match(String(token), /^[0-9a-f]{64}$/, 'a token is stored after 登录');
  return { page, token };
}

test('微信一键登录: the token is stored, the server accepts it, the page shows the user; the title follows', async () => {
  const page = await h.openPreview(browser, dev);
  assert.deepEqual(await h.readStorage(page), {}, 'a new phone starts with empty storage');
  assert.equal(await page.locator('#mp-title').innerText(), '登录');
  assert.equal((await h.pageData(page)).agreed, false, 'the agreement starts unticked');
  await shot(page, 'logged-out');

  await h.tickAgreement(page);
  await shot(page, 'agreement-ticked');
  await h.tapButton(page, '微信一键登录');
  await h.waitForText(page, NICKNAME);
  await h.waitForNoLoading(page);
  const stored = await h.readStorage(page);
  assert.match(stored.token, /^[0-9a-f]{64}$/);
  assert.match(stored.wxSession.uid, /^u_[0-9a-f]{16}$/);
  assert.equal(stored.wxSession.userInfo.nickName, NICKNAME);
  assert.equal(await h.checkToken(dev.serverUrl, stored.token), 200, 'GET /auth/check accepts the stored token');
  assert.match(await h.pageText(page), /已登录/);
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), true, 'app.js heard the login event');
  assert.equal(await page.locator('#mp-title').innerText(), '首页', 'wx.setNavigationBarTitle followed the state');
  await shot(page, 'logged-in');
  await page.context().close();
});

test('退出 → 取消: nothing changes; the token stays stored and valid', async () => {
  const { page, token } = await loggedIn();
  await h.tapButton(page, '我的账户');
  await h.waitForData(page, (d, nickname) => d.nickName === nickname, NICKNAME);
  const before = await h.readStorage(page);
  await shot(page, 'account');

  await h.tapButton(page, '退出');
  const modal = page.locator('#mp-modal:not([hidden])');
  await modal.waitFor();
  await shot(page, 'logout-modal');
  const said = await h.answerModal(page, 'cancel');
  assert.equal(said.content, '退出登录？', 'a full-width question mark');
  assert.equal(said.cancelText, '取消');

  assert.deepEqual(await h.readStorage(page), before, 'storage untouched');
  assert.equal(await h.checkToken(dev.serverUrl, token), 200, 'the server still accepts the token');
  assert.equal((await h.pageData(page)).nickName, NICKNAME);
  // The button is usable again (the page's busy flag was reset).
  await h.tapButton(page, '退出');
  await h.answerModal(page, 'cancel');
  assert.equal(await h.checkToken(dev.serverUrl, token), 200);
  await shot(page, 'logout-cancelled');
  await page.context().close();
});

test('退出 → 确认: storage is cleared, the server rejects the old token, the login page is back — one tap from 登录', async () => {
  const { page, token } = await loggedIn();
  await h.tapButton(page, '我的账户');
  await h.waitForData(page, (d, nickname) => d.nickName === nickname, NICKNAME);

  await h.tapButton(page, '退出');
  const modal = page.locator('#mp-modal:not([hidden])');
  await modal.waitFor();
  const confirmColor = await modal.locator('[data-answer="confirm"]').evaluate((el) => getComputedStyle(el).color);
  assert.equal(confirmColor, 'rgb(250, 81, 81)', 'the confirm button is red (#FA5151)');
  await shot(page, 'logout-modal-red');
  const said = await h.answerModal(page, 'confirm');
  assert.equal(said.content, '退出登录？');
  assert.equal(said.confirmText, '退出', 'the page asks with confirmText 退出');
  await h.waitForText(page, '微信一键登录');
  await h.waitForNoLoading(page);

  assert.deepEqual(await h.readStorage(page), {}, 'nothing of the session is left in storage');
  assert.equal(await h.checkToken(dev.serverUrl, token), 401, 'the server revoked the token');
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  assert.deepEqual(await page.evaluate(() => window.__preview.pages().map((p) => p.route)), ['pages/index/index'], 'reLaunch: the login page alone');
  assert.equal(await page.locator('#mp-title').innerText(), '登录');
  assert.equal((await h.pageData(page)).agreed, true, 'the agreement stays ticked for this launch');
  assert.equal(await page.evaluate(() => window.__preview.toasts.length), 0, 'the user asked to leave: no 登录已失效');
  await shot(page, 'logged-out-after-logout');

  // One tap: 微信一键登录.
  await h.tapButton(page, '微信一键登录');
  await h.waitForText(page, NICKNAME);
  await shot(page, 'logged-in-again');
  await page.context().close();
});

test('single sign-on: alice logs in on a second phone; the first phone, at its next check, logs out and says 登录已失效，请重新登录', async () => {
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
  assert.equal(await h.waitForToast(first.page, 0), '登录已失效，请重新登录', 'the user is told, not left to wonder');
  await shot(first.page, 'first-phone-told');
  assert.equal(await first.page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  const stored = await h.readStorage(first.page);
  h.SESSION_KEYS.forEach((key) => assert.equal(stored[key], undefined, `${key} removed`));
  assert.equal(await first.page.evaluate(() => window.__preview.require('wx-session').checkHasLogined()), false);

  // Back in the foreground the page reads the session again and offers 登录.
  await first.page.locator('#dev-foreground').tap();
  await h.waitForText(first.page, '欢迎使用');
  assert.match(await h.pageText(first.page), /微信一键登录/);
  await shot(first.page, 'first-phone-logged-out');

  // The second phone is unaffected.
  assert.equal(await second.page.evaluate(() => window.__preview.require('wx-session').checkHasLogined()), true);
  assert.equal(await h.checkToken(dev.serverUrl, second.token), 200);
  await first.page.context().close();
  await second.page.context().close();
});

/**
 * End to end with the server stopped mid-session (its own scripts/dev.sh, whose server the test
 * kills; the preview stays up): 退出 still logs the device out, and 微信一键登录 then fails with a
 * readable toast without touching storage.
 *
 * The two tests run in order on one phone: logged in → server killed → 退出 → 微信一键登录.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/harness');
const { MESSAGES } = require('../../miniprogram/utils/messages.js');

const shot = h.screenshots(__filename);
let dev;
let browser;
let page;
let token;

test.before(async () => {
  dev = await h.startDev('server-down');
  browser = await h.launchBrowser();
  page = await h.openPreview(browser, dev);
  await h.login(page);
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  token = (await h.readStorage(page)).token;
  assert.equal(await h.checkToken(dev.serverUrl, token), 200);
  await h.tapButton(page, '我的账户');
  await h.waitForText(page, '退出');
  await h.killServer(dev);
});

test.after(async () => {
  if (browser) await browser.close();
  if (dev) await dev.stop();
});

test('server down: 退出 → 确认 still logs the device out', async () => {
  assert.equal(await h.serverAnswers(dev.serverUrl), false, 'the server is gone');
  assert.ok(dev.alive(), 'dev.sh keeps the preview running without the server');
  await shot(page, 'account-server-down');

  await h.tapButton(page, '退出');
  await h.answerModal(page, 'confirm');
  await h.waitForText(page, '微信一键登录');
  await h.waitForNoLoading(page);
  const stored = await h.readStorage(page);
  h.SESSION_KEYS.forEach((key) => assert.equal(stored[key], undefined, `${key} removed although the server could not be told`));
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  await shot(page, 'logged-out-server-down');
});

test('server down: 微信一键登录 shows a readable error toast and leaves storage unchanged', async () => {
  await h.waitForText(page, '欢迎使用');
  const before = await h.readStorage(page);

  const seen = await h.toastCount(page);
  await h.tapButton(page, '微信一键登录');
  const toast = await h.waitForToast(page, seen);
  assert.equal(toast, MESSAGES.NETWORK, 'the app says the network failed, in words');
  await shot(page, 'login-failed-toast');
  await h.waitForNoLoading(page);
  assert.deepEqual(await h.readStorage(page), before, 'storage unchanged by the failed login');
  assert.match(await h.pageText(page), /欢迎使用/, 'still logged out, 微信一键登录 offered again');
  await h.tapButton(page, '微信一键登录'); // the button works again (busy was reset)
  assert.equal(await h.waitForToast(page, seen + 1), MESSAGES.NETWORK);
});

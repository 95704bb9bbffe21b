/**
 * End to end, accounts that last: in the browser preview against the real server (scripts/dev.sh,
 * users in SQLite in a fresh data directory), a new user logs in, sets an avatar (a PNG through
 * the file picker, after the privacy popup), a nickname and the phone number; logs out and in
 * again — the profile is still there; then the server is killed and started again on the same
 * data directory — the session is gone (sessions live in memory), the app says so, and after
 * 微信一键登录 the profile is still there, the same uid, the avatar still served.
 *
 * The tests run in order on one phone (one browser context).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/harness');

const USER = 'carol';
const NICKNAME = '小明 🐯';
const SESSION_ENDED = '登录已失效，请重新登录';
const shot = h.screenshots(__filename);
let dev;
let browser;
let page;
/** The profile as first filled in: what must outlast 退出 and a server restart. */
let filled;
let avatarPng;

test.before(async () => {
  dev = await h.startDev('accounts');
  browser = await h.launchBrowser();
  avatarPng = writeAvatar(path.join(h.OUT_DIR, 'accounts-avatar.png'));
  page = await h.openPreview(browser, dev, { user: USER });
});

test.after(async () => {
  if (browser) await browser.close();
  if (dev) await dev.stop();
});

/** GET /user/profile with the token the phone holds: { status, body }. */
async function serverProfile() {
  const { token } = await h.readStorage(page);
  const response = await fetch(`${dev.serverUrl}/user/profile`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** Logs in from the login page and opens 我的账户, waiting for the server's profile. */
async function loginAndOpenAccount() {
  await h.login(page);
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  await h.tapButton(page, '我的账户');
  await h.waitForRoute(page, 'pages/user/user');
  await h.waitForData(page, (d) => d.ready && d.loggedIn && d.uid);
  await page.waitForFunction(() => window.__preview.requests.some((r) => r.url.endsWith('/user/profile') && r.status === 200));
  await h.waitForNoLoading(page);
}

/** Whether the account page's avatar <img> shows a decoded picture (not a broken image). */
function avatarShown() {
  return h
    .visiblePage(page)
    .locator('wx-button[data-open-type="chooseAvatar"] img')
    .evaluate((img) => img.complete && img.naturalWidth > 0);
}

test('a new user sets 头像 (privacy popup → 同意 → file picker → upload), 昵称 and 手机号码', async () => {
  await loginAndOpenAccount();
  assert.match(await h.pageText(page), /头像\s*昵称\s*手机号码\s*点击获取\s*ID/);
  await shot(page, 'account-new-user');

  // 头像: WeChat holds chooseAvatar until the privacy popup answers.
  await h.visiblePage(page).locator('wx-button[data-open-type="chooseAvatar"]').tap();
  await h.waitForText(page, '用户隐私保护提示');
  await shot(page, 'privacy-popup');
  const chooser = page.waitForEvent('filechooser');
  await h.tapButton(page, '同意');
  await (await chooser).setFiles(avatarPng.file);
  await h.waitForData(page, (d) => /\/media\/avatars\//.test(d.avatarUrl));
  await h.waitForNoLoading(page);
  assert.deepEqual(await page.evaluate(() => window.__preview.privacy.answers), [
    { event: 'exposureAuthorization' },
    { event: 'agree', buttonId: 'privacy-agree' },
  ]);
  await page.waitForFunction(() => {
    const img = document.querySelector('#mp-pages > page:not([hidden]) wx-button[data-open-type="chooseAvatar"] img');
    return img && img.complete && img.naturalWidth > 0;
  });

  // 昵称: type, then 完成 (Enter): saved once.
  const field = h.visiblePage(page).locator('wx-input .wx-input-field');
  await field.tap();
  await field.fill(NICKNAME);
  await field.press('Enter');
  await h.waitForData(page, (d, nickname) => d.nickName === nickname, NICKNAME);
  await h.waitForNoLoading(page);

  // 手机号码: 点击获取 → WeChat's sheet (a modal here) → 允许 → a masked number.
  await h.tapButton(page, '点击获取');
  const said = await h.answerModal(page, 'confirm');
  assert.equal(said.confirmText, '允许');
  await h.waitForData(page, (d) => /^\d{3}\*{4}\d{4}$/.test(d.phone));
  await h.waitForNoLoading(page);
  await shot(page, 'account-filled');

  const data = await h.pageData(page);
  const { status, body } = await serverProfile();
  assert.equal(status, 200);
  assert.equal(body.nickname, NICKNAME, 'the server stored the nickname');
  assert.equal(body.phone, data.phone, 'the page shows the server\'s masked number');
  assert.equal(body.avatarUrl, data.avatarUrl);
  assert.equal(String(body.uid), data.uid);
  const image = await fetch(body.avatarUrl);
  assert.equal(image.status, 200, 'the server serves the avatar it stored');
  assert.deepEqual(Buffer.from(await image.arrayBuffer()), avatarPng.bytes, 'byte for byte');
  const puts = await page.evaluate(() => window.__preview.requests.filter((r) => r.method === 'PUT' && r.url.endsWith('/user/profile')).length);
  assert.equal(puts, 1, 'the nickname was saved once (confirm, then the blur found nothing changed)');
  filled = { uid: data.uid, nickName: data.nickName, avatarUrl: data.avatarUrl, phone: data.phone };
  assert.deepEqual(page.problems, []);
});

test('退出 → 确认 → 微信一键登录 (one tap): the profile is still there', async () => {
  assert.ok(filled, 'the previous test filled the profile in');
  await h.tapButton(page, '退出');
  const said = await h.answerModal(page, 'confirm');
  assert.equal(said.content, '退出登录？');
  await h.waitForText(page, '微信一键登录');
  await h.waitForNoLoading(page);
  await shot(page, 'logged-out');

  await h.tapButton(page, '微信一键登录');
  await h.waitForText(page, NICKNAME);
  assert.equal((await h.pageData(page)).avatarUrl, filled.avatarUrl, 'the home page shows the uploaded avatar');
  await shot(page, 'home-after-relogin');
  await h.tapButton(page, '我的账户');
  await h.waitForRoute(page, 'pages/user/user');
  await h.waitForData(page, (d, phone) => d.phone === phone, filled.phone);
  const data = await h.pageData(page);
  assert.deepEqual({ uid: data.uid, nickName: data.nickName, avatarUrl: data.avatarUrl, phone: data.phone }, filled);
  assert.equal(await avatarShown(), true);
  await shot(page, 'account-after-relogin');
});

test('the server restarts on the same data directory: the session ends (and the app says so); after 微信一键登录 the same user, the same profile', async () => {
  assert.ok(filled, 'the first test filled the profile in');
  const { token } = await h.readStorage(page);
  await h.restartServer(dev);
  assert.equal(await h.checkToken(dev.serverUrl, token), 401, 'sessions lived in memory: the token is gone');

  // The phone relaunches the app: the launch check hears 401, logs out and tells the user.
  await page.reload();
  await h.waitForLaunch(page);
  assert.equal(await h.waitForToast(page, 0), SESSION_ENDED);
  await h.waitForText(page, '微信一键登录');
  await shot(page, 'after-restart-told');
  assert.equal(await page.locator('#mp-title').innerText(), '登录');

  await loginAndOpenAccount();
  await h.waitForData(page, (d, phone) => d.phone === phone, filled.phone);
  const data = await h.pageData(page);
  assert.deepEqual({ uid: data.uid, nickName: data.nickName, avatarUrl: data.avatarUrl, phone: data.phone }, filled, 'the same uid and profile after the restart');
  assert.equal(await avatarShown(), true, 'and the avatar is still served');
  const { body } = await serverProfile();
  assert.equal(body.nickname, NICKNAME);
  assert.ok(Date.parse(body.lastLoginAt) >= Date.parse(body.createdAt));
  await shot(page, 'account-after-restart');
  // The browser logs the launch check's expected 401 as a failed resource; nothing else may fail.
  assert.deepEqual(page.problems.filter((p) => !/status of 401/.test(p)), []);
});

/** A 48×48 PNG (a green square with a white bar), written to `file`: { file, bytes }. */
function writeAvatar(file) {
  const size = 48;
  const rows = [];
  for (let y = 0; y < size; y += 1) {
    const row = Buffer.alloc(1 + size * 3); // filter byte 0, then RGB
    for (let x = 0; x < size; x += 1) {
      const bar = y >= 20 && y < 28;
      row.set(bar ? [255, 255, 255] : [7, 193, 96], 1 + x * 3);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const bytes = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
  fs.writeFileSync(file, bytes);
  return { file, bytes };
}

function pngChunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k += 1) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

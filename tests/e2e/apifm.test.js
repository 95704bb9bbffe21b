/**
 * End to end against an API工厂 (apifm)-style backend whose logout lives on another origin, as
 * apifm-wxapi 26.x has it: login, check-token and ordinary calls on the API host, `GET
 * <common>/<sub>/user/loginout?token=` on the common host. The backend is the fixture of
 * support/apifm-server.js (two real listeners sharing one token table); the app is the real demo
 * in the preview (scripts/dev.sh --base-url <API host>/demo --protocol-json '{"preset":"apifm",
 * "logout":{"path":"<common host>/demo/user/loginout"}}'). Checked on the page, in storage, in
 * the fixture's token table and on the wire of both listeners: where the token went, and where not.
 *
 * The two tests share the fixture (in order): 登录 → 退出 with both hosts up; then 退出 with the
 * common host down (the revocation is queued) → the host is back → relaunch → it is revoked.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./support/harness');
const { startApifm } = require('./support/apifm-server');

const SUB = 'demo';
const FORM = 'application/x-www-form-urlencoded';
/** src/revocations.rs KEY_PENDING: tokens whose revocation the server has not confirmed. */
const PENDING_KEY = 'wxSessionPendingRevocations';
const LOGINOUT = `/${SUB}/user/loginout`;
const shot = h.screenshots(__filename);
let apifm;
let dev;
let browser;

test.before(async () => {
  apifm = await startApifm({ subDomain: SUB });
  dev = await h.startDev('apifm', {
    baseUrl: `${apifm.apiUrl}/${SUB}`,
    protocolJson: { preset: 'apifm', logout: { path: `${apifm.commonUrl}${LOGINOUT}` } },
  });
  browser = await h.launchBrowser();
});

test.after(async () => {
  if (browser) await browser.close();
  if (dev) await dev.stop();
  if (apifm) await apifm.close();
});

/** The requests either listener received from `from` on (CORS preflights left out), as "host METHOD path". */
function wire(from = 0) {
  return apifm.requests.slice(from).filter((r) => r.method !== 'OPTIONS');
}

const describe = (records) => JSON.stringify(records.map((r) => `${r.host} ${r.method} ${r.path}${Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : ''}`));

/** Whether a recorded request carries `token` anywhere: query, headers or body. */
function carries(record, token) {
  return [JSON.stringify(record.query), JSON.stringify(record.headers), record.body].some((text) => text.includes(token));
}

/** Polls (bounded) until `predicate()` holds; fails with `what` and the wire otherwise. */
async function eventually(predicate, what, ms = 8000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) assert.fail(`${what} within ${ms / 1000} s; the wire: ${describe(wire())}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Every request the browser sends from `page` (to any host: the fixture's two, the preview's, any
 * other), as { origin, method, path, carries(token) }: the check that no host but the two the
 * configuration names ever sees the token, whatever the fixture's listeners recorded.
 */
function browserRequests(page) {
  const seen = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    const text = [request.url(), JSON.stringify(request.headers()), request.postData() || ''].join(' ');
    seen.push({ origin: url.origin, method: request.method(), path: url.pathname, carries: (token) => text.includes(token) });
  });
  return seen;
}

/** Fails unless every browser request carrying `token` went to the API host, or is loginout on the common host. */
function assertTokenOnlyWhereConfigured(seen, token) {
  const carrying = seen.filter((r) => r.carries(token));
  assert.ok(carrying.length > 0, 'the recorder saw the token at all');
  for (const r of carrying) {
    const allowed = r.origin === apifm.apiUrl || (r.origin === apifm.commonUrl && r.method === 'GET' && r.path === LOGINOUT);
    assert.ok(allowed, `the token went to ${r.method} ${r.origin}${r.path}`);
  }
}

/** The app's own session.request, run in the page; resolves { statusCode, data } or { error }. */
function appRequest(page, options) {
  return page.evaluate(
    (o) => window.__preview.require('wx-session').request(o).then(
      (res) => ({ statusCode: res.statusCode, data: res.data }),
      (err) => ({ error: err.code || String(err) })
    ),
    options
  );
}

test('apifm, split origin: 登录 on the API host; 退出 → 确认 sends GET loginout to the common host only, and the token dies there', async () => {
  const page = await h.openPreview(browser, dev);
  const seen = browserRequests(page);
  const config = await page.evaluate(() => window.__preview.require('config.js'));
  assert.deepEqual(config, {
    baseUrl: `${apifm.apiUrl}/${SUB}`,
    protocol: { preset: 'apifm', logout: { path: `${apifm.commonUrl}${LOGINOUT}` } },
    accountApi: false,
  }, 'the preview configured the app for the fixture, the logout on the common host, no account routes');
  assert.deepEqual(await h.readStorage(page), {}, 'a new phone starts with empty storage');
  assert.deepEqual(wire().filter((r) => r.path !== '/dev/code'), [], 'no token, so the launch asked nothing');
  await shot(page, 'logged-out');

  // 登录: wx.login (the preview asks the API origin's /dev/code), then apifm's form-encoded login.
  const beforeLogin = apifm.requests.length;
  await h.login(page);
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  const stored = await h.readStorage(page);
  const { token } = stored;
  assert.match(token, /^[0-9a-f]{32}$/, 'the token the fixture issued is stored');
  assert.ok(apifm.live(token), 'and the fixture holds it');
  const login = wire(beforeLogin).filter((r) => r.path !== '/dev/code');
  assert.equal(login.length, 1, `one call for 登录: ${describe(login)}`);
  assert.equal(login[0].host, 'api');
  assert.equal(`${login[0].method} ${login[0].path}`, `POST /${SUB}/user/wxapp/login`);
  assert.ok(login[0].headers['content-type'].startsWith(FORM), `form-encoded (${login[0].headers['content-type']})`);
  assert.equal(login[0].form.type, '2', 'type=2, as apifm-wxapi login_wx sends');
  assert.ok(login[0].form.code, 'with the code wx.login gave');
  assert.equal(String(stored.wxSession.uid), String(1001), "the uid from the login answer's data.uid");
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), true, 'app.js heard the login event');
  assert.equal(wire().filter((r) => r.path.endsWith('/user/loginout')).length, 0, 'no logout anywhere yet');
  await shot(page, 'logged-in');

  // The app's own calls: the token as a query field on GET and a form field on POST, to the API
  // host; an absolute URL on the common host gets no token (the configuration names that host
  // for the logout only).
  const beforeCalls = apifm.requests.length;
  const get = await appRequest(page, { url: '/user/amount', method: 'GET' });
  assert.equal(get.statusCode, 200);
  assert.equal(get.data.code, 0, `GET /user/amount with the token: ${JSON.stringify(get)}`);
  const post = await appRequest(page, { url: '/user/amount', method: 'POST', data: { note: 'x' } });
  assert.equal(post.data.code, 0, `POST /user/amount with the token: ${JSON.stringify(post)}`);
  const elsewhere = await appRequest(page, { url: `${apifm.commonUrl}/${SUB}/user/amount`, method: 'GET' });
  assert.ok(elsewhere.error || elsewhere.statusCode === 404, `the common host has no /user/amount: ${JSON.stringify(elsewhere)}`);
  const calls = wire(beforeCalls);
  assert.equal(calls.length, 3, `three app calls: ${describe(calls)}`);
  assert.deepEqual(calls.map((r) => `${r.host} ${r.method} ${r.path}`), [
    `api GET /${SUB}/user/amount`, `api POST /${SUB}/user/amount`, `common GET /${SUB}/user/amount`,
  ]);
  assert.equal(calls[0].query.token, token, 'GET: token in the query');
  assert.equal(calls[1].form.token, token, 'POST: token in the form body');
  assert.equal(calls[1].form.note, 'x', "the app's own field is kept");
  assert.equal(calls[1].query.token, undefined, 'POST: not in the query');
  calls.slice(0, 2).forEach((r) => assert.ok(r.headers['content-type'].startsWith(FORM), `${r.method}: form content type`));
  assert.equal(carries(calls[2], token), false, `no token to the common host on an app request: ${JSON.stringify(calls[2].query)} ${calls[2].body}`);

  // 我的账户 → 退出 → 确认.
  await h.tapButton(page, '我的账户');
  await h.waitForRoute(page, 'pages/user/user');
  await h.waitForText(page, '退出');
  await shot(page, 'account');
  const beforeLogout = apifm.requests.length;
  const toastsBefore = await h.toastCount(page);
  await h.tapButton(page, '退出');
  const said = await h.answerModal(page, 'confirm');
  assert.equal(said.content, '退出登录？');
  await h.waitForText(page, '微信一键登录');
  await h.waitForNoLoading(page);

  const logout = wire(beforeLogout);
  assert.equal(logout.length, 1, `退出 made exactly one call: ${describe(logout)}`);
  assert.equal(logout[0].host, 'common', 'on the common host');
  assert.equal(`${logout[0].method} ${logout[0].path}`, `GET ${LOGINOUT}`);
  assert.deepEqual(logout[0].query, { token }, 'with the token in the query');
  assert.ok(logout[0].headers['content-type'].startsWith(FORM), `form content type, as apifm-wxapi sends (${logout[0].headers['content-type']})`);
  assert.equal(apifm.live(token), false, 'the token is dead in the fixture');
  const stale = await (await fetch(`${apifm.apiUrl}/${SUB}/user/check-token?token=${token}`)).json();
  assert.equal(stale.code, 2000, 'the API host refuses it now (one token table)');
  const afterLogout = await h.readStorage(page);
  h.SESSION_KEYS.forEach((key) => assert.equal(afterLogout[key], undefined, `${key} removed`));
  assert.equal(afterLogout[PENDING_KEY], undefined, 'nothing queued: the common host confirmed');
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);

  // Where the token went, over the whole test: from the browser only to the API host and to the
  // common host's loginout; the common host saw it once; the API host never saw a loginout.
  assertTokenOnlyWhereConfigured(seen, token);
  const common = wire().filter((r) => r.host === 'common' && carries(r, token));
  assert.deepEqual(common.map((r) => `${r.method} ${r.path}`), [`GET ${LOGINOUT}`], `the common host saw the token once: ${describe(common)}`);
  assert.deepEqual(wire().filter((r) => r.host === 'api' && r.path.endsWith('/user/loginout')), [], 'no loginout on the API host');
  await shot(page, 'logged-out-after-logout');
  // Revoked and confirmed: the demo has nothing to add (no 暂未确认 / 到期前仍有效 notice).
  assert.deepEqual(await page.evaluate((n) => window.__preview.toasts.slice(n).map((t) => t.title), toastsBefore), []);
  await page.context().close();
});

test('apifm, split origin: the common host down during 退出 → logged out, loginout queued; back up + relaunch → it reaches the common host', async () => {
  const page = await h.openPreview(browser, dev);
  const seen = browserRequests(page);
  await h.login(page);
  await h.waitForText(page, '已登录');
  await h.waitForNoLoading(page);
  const { token } = await h.readStorage(page);
  assert.ok(apifm.live(token));
  await h.tapButton(page, '我的账户');
  await h.waitForRoute(page, 'pages/user/user');
  await h.waitForText(page, '退出');

  await apifm.stopCommon();
  const down = await fetch(`${apifm.commonUrl}${LOGINOUT}`).then(() => 'up', () => 'down');
  assert.equal(down, 'down', 'the common host refuses connections');
  const beforeLogout = apifm.requests.length;
  const toastsBefore = await h.toastCount(page);
  await h.tapButton(page, '退出');
  await h.answerModal(page, 'confirm');
  // logout() resolved server: 'unconfirmed', and the demo says the library will retry.
  assert.match(await h.waitForToast(page, toastsBefore), /暂未确认/);
  await h.waitForText(page, '微信一键登录');
  await h.waitForNoLoading(page);
  const stored = await h.readStorage(page);
  h.SESSION_KEYS.forEach((key) => assert.equal(stored[key], undefined, `${key} removed although the logout could not be sent`));
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  const queued = stored[PENDING_KEY];
  assert.ok(Array.isArray(queued) && queued.length === 1, `one revocation queued: ${JSON.stringify(queued && queued.length)}`);
  assert.equal(queued[0].token, token, 'the token that could not be revoked');
  assert.ok(apifm.live(token), 'still live on the server');
  assert.deepEqual(wire(beforeLogout), [], `nothing reached either host: ${describe(wire(beforeLogout))}`);
  await shot(page, 'logged-out-common-down');

  // The common host comes back; the next launch retries the queue (init: "retries revocations
  // left from an earlier 退出").
  await apifm.startCommon();
  const beforeRelaunch = apifm.requests.length;
  await page.reload();
  await h.waitForLaunch(page);
  await eventually(() => !apifm.live(token), 'the queued loginout revoked the token');
  await eventually(async () => (await h.readStorage(page))[PENDING_KEY] === undefined || (await h.readStorage(page))[PENDING_KEY].length === 0, 'the queue emptied');
  const retried = wire(beforeRelaunch).filter((r) => r.path !== '/dev/code');
  assert.equal(retried.length, 1, `the relaunch made one call: ${describe(retried)}`);
  assert.equal(retried[0].host, 'common');
  assert.equal(`${retried[0].method} ${retried[0].path}`, `GET ${LOGINOUT}`);
  assert.deepEqual(retried[0].query, { token });
  assert.ok(retried[0].headers['content-type'].startsWith(FORM));
  assert.deepEqual(wire().filter((r) => r.host === 'api' && r.path.endsWith('/user/loginout')), [], 'no loginout on the API host');
  assert.equal(await page.evaluate(() => window.__preview.app().globalData.loggedIn), false);
  assertTokenOnlyWhereConfigured(seen, token);
  await h.waitForText(page, '欢迎使用');
  await shot(page, 'relaunched-revoked');
  await page.context().close();
});

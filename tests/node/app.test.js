/**
 * miniprogram/app.js and miniprogram/utils/ in the sandbox: the error-message table against the
 * codes of session/index.d.ts, and the launch check with the BUILT session module (a NETWORK
 * failure keeps a stored token counted as logged in; a revoked token is removed and the user told).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { createSandbox, MINIPROGRAM_DIR } = require('./support');

const BUILT_FILES = ['session/session_wasm.js', 'session/session_bg.wasm.br'];
const missing = BUILT_FILES.filter((file) => !fs.existsSync(path.join(MINIPROGRAM_DIR, file)));

/** The error codes the contract declares: the `| 'CODE'` lines of SessionErrorCode. */
function declaredCodes() {
  const dts = fs.readFileSync(path.join(MINIPROGRAM_DIR, 'session/index.d.ts'), 'utf8').replace(/\/\/.*$/gm, '');
  const block = /export type SessionErrorCode =([\s\S]*?);/.exec(dts);
  assert.ok(block, 'index.d.ts declares SessionErrorCode');
  return [...block[1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]);
}

test('utils/messages.js says what 退出 left on the server, never more than it knows', () => {
  const sb = createSandbox();
  const messages = sb.require('/utils/messages.js');
  assert.match(messages.logoutNotice({ server: 'notRevocable' }), /到期前仍有效/);
  assert.match(messages.logoutNotice({ server: 'unconfirmed' }), /稍后自动重试/);
  for (const server of ['revoked', 'alreadyInvalid', 'none']) assert.equal(messages.logoutNotice({ server }), null, server);
  assert.equal(messages.logoutNotice(undefined), null);
});

test('utils/messages.js has a Chinese message for every error code of index.d.ts, and a generic one', () => {
  const sb = createSandbox();
  const messages = sb.require('/utils/messages.js');
  const codes = declaredCodes();
  assert.ok(codes.length >= 10, `found ${codes.length} codes`);
  for (const code of codes) {
    assert.match(messages.messageFor({ code }), /[\u4e00-\u9fff]/, `${code} has a Chinese message`);
    assert.notEqual(messages.messageFor({ code }), messages.GENERIC, `${code} is not the generic message`);
  }
  assert.deepEqual(Object.keys(messages.MESSAGES).sort(), [...codes].sort(), 'no stale codes either');
  assert.equal(messages.messageFor({ code: 'SOMETHING_NEW' }), messages.GENERIC);
  assert.equal(messages.messageFor(new Error('plain')), messages.GENERIC);
  assert.equal(messages.messageFor(undefined), messages.GENERIC);
  assert.equal(messages.messageFor({ code: 'toString' }), messages.GENERIC, 'inherited names are not codes');
});

test("utils/messages.js: the server's own codes (serverCode) win over the session's code", () => {
  const sb = createSandbox();
  const messages = sb.require('/utils/messages.js');
  for (const serverCode of Object.keys(messages.SERVER_MESSAGES)) {
    const error = { code: 'SERVER_REJECTED', status: 400, serverCode };
    assert.equal(messages.messageFor(error), messages.SERVER_MESSAGES[serverCode], serverCode);
    assert.match(messages.SERVER_MESSAGES[serverCode], /[\u4e00-\u9fff]/);
  }
  assert.equal(messages.messageFor({ code: 'SERVER_REJECTED', serverCode: 'SOMETHING_ELSE' }), messages.MESSAGES.SERVER_REJECTED);
  assert.equal(messages.messageFor({ code: 'NETWORK', serverCode: 'hasOwnProperty' }), messages.MESSAGES.NETWORK);
});

test('utils/messages.js showError: a toast with icon none', async () => {
  const quiet = { warn() {}, log() {}, error() {}, info() {} };
  const sb = createSandbox({ console: quiet });
  const messages = sb.require('/utils/messages.js');
  messages.showError({ code: 'NETWORK' });
  assert.deepEqual(sb.fake.toasts, [{ title: messages.MESSAGES.NETWORK, icon: 'none', duration: 2500 }]);
});

if (missing.length) {
  test('the built session module is present', () => {
    assert.fail(`missing ${missing.map((f) => `miniprogram/${f}`).join(', ')}: run scripts/build.sh first`);
  });
} else {
  /** Runs app.js in a fresh sandbox (storage prepared by `prepare`) and waits for its launch check. */
  async function launch(prepare = () => {}) {
    let definition = null;
    const quiet = { warn() {}, log() {}, error() {}, info() {} };
    const sb = createSandbox({ console: quiet, globals: { App: (def) => { definition = def; } } });
    await prepare(sb);
    sb.require('/app.js');
    assert.ok(definition, 'app.js called App()');
    definition.onLaunch({ path: 'pages/index/index', query: {}, scene: 1001 });
    await definition.globalData.launchCheck;
    return { sb, app: definition, session: sb.require('wx-session') };
  }

  /** Logs a user in on the server and leaves the session in storage, as a previous launch would. */
  function storedSession(sb) {
    const plan = sb.server.handle({
      method: 'POST',
      url: `${sb.server.baseUrl}/auth/login`,
      header: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: sb.server.issueCode() }),
    });
    const answer = JSON.parse(plan.body);
    sb.fake.writeStorage('token', answer.token);
    sb.fake.writeStorage('wxSession', { token: answer.token, uid: answer.uid, userInfo: answer.userInfo });
    sb.server.resetCounts();
    return answer.token;
  }

  test('launch, no token: loggedIn false and no server call', async () => {
    const { sb, app } = await launch();
    assert.equal(app.globalData.loggedIn, false);
    assert.equal(sb.server.counts.total, 0);
  });

  test('launch, stored token the server accepts: loggedIn true', async () => {
    let token;
    const { sb, app } = await launch((s) => { token = storedSession(s); });
    assert.equal(app.globalData.loggedIn, true);
    assert.equal(sb.server.counts.byRoute['GET /auth/check'], 1);
    assert.equal(sb.fake.readStorage('token'), token);
  });

  test('launch, stored token but the server is unreachable: unknown, so the token still counts', async () => {
    let token;
    const { sb, app } = await launch((s) => {
      token = storedSession(s);
      s.server.failNext({ kind: 'network', route: 'GET /auth/check' });
    });
    assert.equal(app.globalData.loggedIn, true);
    assert.equal(sb.fake.readStorage('token'), token);
  });

  test('launch, stored token the server revoked (a login elsewhere): logged out, the token removed, and the user told', async () => {
    const { sb, app } = await launch((s) => {
      s.server.revokeToken(storedSession(s));
    });
    assert.equal(app.globalData.loggedIn, false);
    assert.equal(sb.fake.readStorage('token'), undefined);
    await sb.fake.idle();
    assert.deepEqual(sb.fake.toasts, [{ title: '登录已失效，请重新登录', icon: 'none', duration: 3000 }]);
  });

  test('launch, stored token the server accepts: nothing to tell', async () => {
    const { sb } = await launch((s) => {
      storedSession(s);
    });
    await sb.fake.idle();
    assert.deepEqual(sb.fake.toasts, []);
  });

  test('globalData.loggedIn follows login and logout through onChange', async () => {
    const { sb, app, session } = await launch();
    await session.login();
    assert.equal(app.globalData.loggedIn, true);
    await session.logout(sb.toRealm({ refresh: false }));
    assert.equal(app.globalData.loggedIn, false);
  });
}

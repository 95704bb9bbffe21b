/**
 * An in-process fake of the developer server speaking wx-session's default protocol.
 *
 * It is a plain object with the routing logic and no sockets, so a test or a benchmark can drive it
 * through the fake `wx.request` (fake-wx.js) or call `server.handle(request)` directly.
 *
 *   const server = createFakeServer({ baseUrl: 'http://127.0.0.1:8787' });
 *   const code = server.issueCode('openid-a');              // what wx.login hands out
 *   server.handle({ method: 'POST', url: server.baseUrl + '/auth/login',
 *                   header: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) })
 *     // → { kind: 'response', statusCode: 200, header: {...}, body: '{"token":...}', delayMs: 0 }
 *
 * Routes (paths are relative to baseUrl, which may carry a path prefix):
 *   POST /auth/login  {code}           → 200 {token, uid, userInfo:{nickName, avatarUrl}, expiresIn}
 *                                        400 CODE_USED (code re-sent) / CODE_INVALID / BAD_REQUEST
 *   GET  /auth/check  Authorization: Bearer <t> → 200 {valid:true} | 401 SESSION_INVALID
 *   POST /auth/logout Authorization: Bearer <t> (or body {token}) → 200 {revoked:true} | 400 SESSION_INVALID
 *   GET  /user/profile                → 200 {uid, nickname, avatarUrl, phone, createdAt, lastLoginAt}
 *   PUT  /user/profile  {nickname}    → 200 profile | 400 INVALID_NICKNAME (empty, > 32 characters, control characters)
 *   POST /user/avatar   multipart, file field `file` → 200 profile (avatarUrl <baseUrl>/media/avatars/<n>.png)
 *                                        415 UNSUPPORTED_IMAGE (not PNG/JPEG by its first bytes) | 413 PAYLOAD_TOO_LARGE (> 1 MiB)
 *   POST /user/phone    {code}        → 200 profile with phone masked as 138****0000 | 400 INVALID_CODE
 *   (the /user routes want a valid Bearer token: 401 SESSION_INVALID otherwise, as /auth/check)
 *   anything else → 404 NOT_FOUND; another origin → a network failure (like an unlisted domain).
 * Errors have the shape {error:{code, message}}. Codes are single-use; one token per user (a new
 * login revokes the user's old token: single sign-on, as in the seeds).
 *
 * Fault injection — `server.failNext(fault)` queues faults consumed by the next matching requests:
 *   { kind: 'status', status: 500 }   a JSON error with that status (kind '500' is a shorthand)
 *   { kind: 'html' }                  200 with an HTML body (a proxy's error page)
 *   { kind: 'badJson' }               200 with a body that is not valid JSON
 *   { kind: 'network', errMsg? }      no answer at all: wx.request fails with errMsg
 *   { kind: 'delay', ms }             answer normally, ms later
 *   common fields: times (default 1), route ('POST /auth/login'; default any request)
 *
 * Profiles live on the users (`server.users.get(openid).profile`) and outlast logins, as a user
 * store in a database does; `server.uploads` keeps each accepted avatar's bytes.
 *
 * Observation: `server.counts` ({ total, byRoute: {'POST /auth/login': n}, byStatus: {200: n},
 * faults, network }), `server.log` (one entry per request), `server.tokens` / `server.users`
 * (Maps), `isTokenValid(token)`, `tokenOf(openid)`, `revokeToken(token)`, `expireToken(token)`,
 * `resetCounts()`, `reset()`.
 */
'use strict';

// Taken from the module, not the global: the pages suite hides the global URL from the code under test.
const { URL } = require('url');

const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';

/** The nickname every fake user gets: Chinese plus an astral-plane emoji, to test UTF-8/UTF-16. */
const DEFAULT_NICKNAME = '测试用户 🐼';

function createFakeServer(options = {}) {
  const baseUrl = stripSlash(options.baseUrl || DEFAULT_BASE_URL);
  const base = new URL(baseUrl);
  const basePath = stripSlash(base.pathname);
  // A clock the tests can replace, so expiry can be tested without waiting.
  const now = options.now || (() => Date.now());

  const server = {
    baseUrl,
    /** Seconds a token lives; sent to the client as expiresIn. */
    expiresIn: options.expiresIn || 7200,
    /** Builds the userInfo the login answer carries for a user. */
    userInfoFor: options.userInfoFor || (() => ({ nickName: DEFAULT_NICKNAME, avatarUrl: '' })),
    /** code → { openid, used } */
    codes: new Map(),
    /** token → { openid, uid, expiresAt, revoked } */
    tokens: new Map(),
    /** openid → { uid, token, profile } (the user's current token, at most one) */
    users: new Map(),
    /** avatarUrl → Buffer of every avatar accepted by POST /user/avatar */
    uploads: new Map(),
    counts: null,
    log: [],
    faults: [],
    issueCode,
    handle,
    failNext,
    isTokenValid,
    tokenOf,
    revokeToken,
    expireToken,
    resetCounts,
    reset,
  };
  let codeSeq = 0;
  let tokenSeq = 0;
  let uidSeq = 1000;
  resetCounts();

  /** A fresh wx.login code for a WeChat user (openid), valid once. */
  function issueCode(openid = 'openid-test-1') {
    codeSeq += 1;
    const code = `code-${codeSeq}-${Math.random().toString(36).slice(2, 8)}`;
    server.codes.set(code, { openid, used: false });
    return code;
  }

  /** Queues a fault for the next matching request(s); see the file header. */
  function failNext(fault) {
    const normalised = Object.assign({ times: 1 }, fault);
    if (normalised.kind === '500') Object.assign(normalised, { kind: 'status', status: 500 });
    if (!['status', 'html', 'badJson', 'network', 'delay'].includes(normalised.kind)) {
      throw new Error(`unknown fault kind: ${fault.kind}`);
    }
    server.faults.push(normalised);
    return server;
  }

  function isTokenValid(token) {
    const entry = server.tokens.get(token);
    return Boolean(entry && !entry.revoked && entry.expiresAt > now());
  }

  function tokenOf(openid = 'openid-test-1') {
    const user = server.users.get(openid);
    return user ? user.token : null;
  }

  /** Invalidates a token on the server side only (the client still holds it). */
  function revokeToken(token) {
    const entry = server.tokens.get(token);
    if (entry) entry.revoked = true;
  }

  /** Makes a token count as expired from now on. */
  function expireToken(token) {
    const entry = server.tokens.get(token);
    if (entry) entry.expiresAt = now() - 1;
  }

  function resetCounts() {
    server.counts = { total: 0, byRoute: {}, byStatus: {}, faults: 0, network: 0 };
    server.log.length = 0;
  }

  /** Forgets every code, token, user and queued fault, and zeroes the counters. */
  function reset() {
    server.codes.clear();
    server.tokens.clear();
    server.users.clear();
    server.uploads.clear();
    server.faults.length = 0;
    resetCounts();
  }

  /**
   * Routes one request. `request` is what wx.request sends: { method, url, header, body } with the
   * body already a string. Returns a plan the caller (the fake wx.request) carries out:
   *   { kind: 'response', statusCode, header, body, delayMs } or { kind: 'network', errMsg, delayMs }.
   */
  function handle(request) {
    const method = String(request.method || 'GET').toUpperCase();
    const target = parseTarget(request.url);
    const route = target ? `${method} ${target.path}` : `${method} ${request.url}`;
    server.counts.total += 1;
    server.counts.byRoute[route] = (server.counts.byRoute[route] || 0) + 1;

    const fault = takeFault(route);
    let delayMs = 0;
    let plan;
    if (fault && fault.kind === 'network') {
      plan = { kind: 'network', errMsg: fault.errMsg || 'request:fail net::ERR_CONNECTION_REFUSED' };
    } else if (!target) {
      // wx.request refuses hosts that are not the configured server, before sending anything.
      plan = { kind: 'network', errMsg: `request:fail url not in domain list: ${request.url}` };
    } else if (fault && fault.kind === 'status') {
      plan = json(fault.status, { error: { code: 'INTERNAL', message: '服务器内部错误' } });
    } else if (fault && fault.kind === 'html') {
      plan = text(200, '<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>', 'text/html');
    } else if (fault && fault.kind === 'badJson') {
      plan = text(200, '{"token": "tok-broken", "uid": ', 'application/json');
    } else {
      if (fault && fault.kind === 'delay') delayMs = fault.ms || 0;
      plan = routeRequest(method, target.path, request);
    }
    plan.delayMs = delayMs;

    if (plan.kind === 'network') server.counts.network += 1;
    else server.counts.byStatus[plan.statusCode] = (server.counts.byStatus[plan.statusCode] || 0) + 1;
    server.log.push({
      method,
      path: target ? target.path : request.url,
      route,
      status: plan.kind === 'network' ? 'network' : plan.statusCode,
      fault: fault ? fault.kind : null,
    });
    return plan;
  }

  function takeFault(route) {
    const at = server.faults.findIndex((f) => !f.route || f.route === route);
    if (at < 0) return null;
    const fault = server.faults[at];
    fault.times -= 1;
    if (fault.times <= 0) server.faults.splice(at, 1);
    server.counts.faults += 1;
    return fault;
  }

  /** The path under baseUrl, or null when the URL points somewhere else. */
  function parseTarget(url) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch (err) {
      return null;
    }
    if (parsed.origin !== base.origin) return null;
    const path = parsed.pathname;
    if (basePath && !(path === basePath || path.startsWith(basePath + '/'))) return null;
    return { path: path.slice(basePath.length) || '/', query: parsed.searchParams };
  }

  function routeRequest(method, path, request) {
    if (path === '/auth/login') return method === 'POST' ? login(request) : methodNotAllowed();
    if (path === '/auth/check') return method === 'GET' ? check(request) : methodNotAllowed();
    if (path === '/auth/logout') return method === 'POST' ? logout(request) : methodNotAllowed();
    if (path === '/user/profile' && method === 'GET') return withUser(request, (user) => json(200, profileOf(user)));
    if (path === '/user/profile' && method === 'PUT') return withUser(request, (user) => setNickname(user, request));
    if (path === '/user/avatar' && method === 'POST') return withUser(request, (user) => setAvatar(user, request));
    if (path === '/user/phone' && method === 'POST') return withUser(request, (user) => setPhone(user, request));
    if (path.startsWith('/user/')) return methodNotAllowed();
    return json(404, { error: { code: 'NOT_FOUND', message: '接口不存在' } });
  }

  function login(request) {
    const body = parseBody(request.body);
    if (!body || typeof body.code !== 'string' || !body.code) {
      return json(400, { error: { code: 'BAD_REQUEST', message: '缺少 code' } });
    }
    const entry = server.codes.get(body.code);
    if (!entry) return json(400, { error: { code: 'CODE_INVALID', message: '登录凭证无效' } });
    if (entry.used) return json(400, { error: { code: 'CODE_USED', message: '登录凭证已使用' } });
    entry.used = true;

    let user = server.users.get(entry.openid);
    if (!user) {
      uidSeq += 1;
      const created = new Date(now()).toISOString();
      // A new user has set nothing yet; the login answer falls back to userInfoFor's made-up
      // nickname, as the reference server does for its development users.
      user = { uid: uidSeq, token: null, profile: { nickname: null, avatarUrl: null, phone: null, createdAt: created, lastLoginAt: created } };
      server.users.set(entry.openid, user);
    }
    user.profile.lastLoginAt = new Date(now()).toISOString();
    // Single sign-on: the user's previous token stops working.
    if (user.token) revokeToken(user.token);
    tokenSeq += 1;
    const token = `tok-${user.uid}-${tokenSeq}-${Math.random().toString(36).slice(2, 10)}`;
    user.token = token;
    server.tokens.set(token, {
      openid: entry.openid,
      uid: user.uid,
      expiresAt: now() + server.expiresIn * 1000,
      revoked: false,
    });
    return json(200, {
      token,
      uid: user.uid,
      userInfo: loginUserInfo(entry.openid, user),
      expiresIn: server.expiresIn,
    });
  }

  function check(request) {
    const token = bearer(request.header);
    if (token && isTokenValid(token)) return json(200, { valid: true });
    return json(401, sessionInvalid());
  }

  function logout(request) {
    const body = parseBody(request.body);
    const token = bearer(request.header) || (body && typeof body.token === 'string' ? body.token : null);
    if (!token || !isTokenValid(token)) return json(400, sessionInvalid());
    revokeToken(token);
    const entry = server.tokens.get(token);
    const user = server.users.get(entry.openid);
    if (user && user.token === token) user.token = null;
    return json(200, { revoked: true });
  }

  /** The login answer's userInfo: what the user has set, else userInfoFor's (as the reference server). */
  function loginUserInfo(openid, user) {
    const info = server.userInfoFor(openid, user.uid);
    if (!info) return info;
    return Object.assign({}, info, {
      nickName: user.profile.nickname || info.nickName,
      avatarUrl: user.profile.avatarUrl || info.avatarUrl,
    });
  }

  // ---- /user: the profile of the token's user ------------------------------------------------

  /** Runs fn(user) for the bearer of a valid token; 401 SESSION_INVALID otherwise. */
  function withUser(request, fn) {
    const token = bearer(request.header);
    if (!token || !isTokenValid(token)) return json(401, sessionInvalid());
    const user = server.users.get(server.tokens.get(token).openid);
    return fn(user);
  }

  function profileOf(user) {
    return Object.assign({ uid: user.uid }, user.profile);
  }

  function setNickname(user, request) {
    const body = parseBody(request.body);
    const nickname = body && typeof body.nickname === 'string' ? body.nickname.trim() : '';
    // eslint-disable-next-line no-control-regex
    if (!nickname || [...nickname].length > 32 || /[\u0000-\u001f\u007f]/.test(nickname)) {
      return json(400, { error: { code: 'INVALID_NICKNAME', message: '昵称需为 1-32 个字符' } });
    }
    user.profile.nickname = nickname;
    return json(200, profileOf(user));
  }

  function setAvatar(user, request) {
    const file = multipartFile(request, 'file');
    if (!file) return json(400, { error: { code: 'BAD_REQUEST', message: '缺少文件 file' } });
    if (file.bytes.length > AVATAR_LIMIT_BYTES) return json(413, { error: { code: 'PAYLOAD_TOO_LARGE', message: '文件太大' } });
    const type = imageType(file.bytes);
    if (!type) return json(415, { error: { code: 'UNSUPPORTED_IMAGE', message: '不支持的图片格式' } });
    const url = `${baseUrl}/media/avatars/${user.uid}-${server.uploads.size + 1}.${type}`;
    server.uploads.set(url, file.bytes);
    user.profile.avatarUrl = url;
    return json(200, profileOf(user));
  }

  function setPhone(user, request) {
    const body = parseBody(request.body);
    if (!body || typeof body.code !== 'string' || !body.code) {
      return json(400, { error: { code: 'INVALID_CODE', message: '缺少 code' } });
    }
    // Deterministic per code, as the reference server's development mode does.
    let hash = 0;
    for (const ch of body.code) hash = (hash * 31 + ch.codePointAt(0)) % 10000;
    user.profile.phone = `138****${String(hash).padStart(4, '0')}`;
    return json(200, profileOf(user));
  }

  return server;
}

const AVATAR_LIMIT_BYTES = 1024 * 1024;

/** 'png' | 'jpg' by the file's first bytes (its content, not its name), or null. */
function imageType(bytes) {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  return null;
}

/**
 * The part named `name` of a multipart/form-data body (request.body is then a Buffer, as the
 * fake wx.uploadFile sends it): { filename, bytes } or null.
 */
function multipartFile(request, name) {
  const typeKey = Object.keys(request.header || {}).find((key) => key.toLowerCase() === 'content-type');
  const match = typeKey && /boundary=([^;]+)/.exec(String(request.header[typeKey]));
  if (!match || !Buffer.isBuffer(request.body)) return null;
  const delimiter = Buffer.from(`--${match[1]}`);
  const body = request.body;
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(at + delimiter.length + 2, next - 2); // past CRLF, before CRLF
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.subarray(0, split).toString('utf8');
      const disposition = /content-disposition:[^\r\n]*?; name="([^"]*)"(?:; filename="([^"]*)")?/i.exec(head);
      if (disposition && disposition[1] === name) return { filename: disposition[2] || '', bytes: part.subarray(split + 4) };
    }
    at = next;
  }
  return null;
}

function sessionInvalid() {
  return { error: { code: 'SESSION_INVALID', message: '登陆状态已失效' } };
}

function methodNotAllowed() {
  return json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: '请求方法不被允许' } });
}

function json(statusCode, value) {
  return text(statusCode, JSON.stringify(value), 'application/json; charset=utf-8');
}

function text(statusCode, body, contentType) {
  return { kind: 'response', statusCode, header: { 'Content-Type': contentType }, body };
}

/** The token from an `Authorization: Bearer <t>` header, whatever the header name's case. */
function bearer(header) {
  if (!header) return null;
  const name = Object.keys(header).find((key) => key.toLowerCase() === 'authorization');
  const match = name && /^Bearer\s+(\S+)$/.exec(String(header[name]));
  return match ? match[1] : null;
}

function parseBody(body) {
  if (typeof body !== 'string' || !body) return null;
  try {
    return JSON.parse(body);
  } catch (err) {
    return null;
  }
}

function stripSlash(s) {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

module.exports = { createFakeServer, DEFAULT_BASE_URL, DEFAULT_NICKNAME };

/**
 * The plain-JS baseline for bench/bench.js: the login / checkHasLogined / logout / request code
 * mini-program developers write by hand, following the seed articles
 * (/work/shared/seeds/003_… "微信小程序登录授权详细流程介绍" and 000_… "微信小程序退出账号") and
 * the libraries in shared/notes/peers.md. Same API shape as miniprogram/session/index.js
 * (init/login/checkHasLogined/logout/request), speaking the default protocol of the fake server:
 *   POST /auth/login {code} → {token, uid}; GET /auth/check and POST /auth/logout with
 *   `Authorization: Bearer <token>`; 401 = the session is invalid.
 *
 * It is written to be faithful, not weak: where a seed would hang or lose an error on a path the
 * benchmark does not exercise, it rejects instead (marked "deviation"). On the paths the benchmark
 * does exercise it does what the seeds do, and the comments say which seed each step comes from.
 *
 * CommonJS, only the mini-program runtime's globals (`wx`, Promise): it runs in the same sandbox
 * as the wasm module.
 */
'use strict';

let baseUrl = '';

/** The seeds have no init; the server address is all the hand-written code needs. */
function init(options) {
  baseUrl = String((options && options.baseUrl) || '').replace(/\/$/, '');
  return Promise.resolve();
}

/**
 * The seeds' `WXAPI.*` / `Api.*` helpers: one wx.request wrapped in a Promise that resolves with
 * the answer whatever its status (the caller inspects it) and rejects when there is no answer.
 * This is how apifm-wxapi's request helper behaves, which seed 003 calls.
 */
function api(method, path, token, data) {
  return new Promise((resolve, reject) => {
    const header = { 'content-type': 'application/json' };
    if (token) header.Authorization = 'Bearer ' + token;
    wx.request({
      url: /^https?:\/\//.test(path) ? path : baseUrl + path,
      method,
      header,
      data,
      success: resolve,
      fail: reject,
    });
  });
}

/** wx.login as a Promise (seed 003 uses wx.login({ success }); seed 000 uses its Promise form). */
function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => resolve(res.code),
      // Deviation: seed 003 passes no `fail`, so a failed wx.login would leave login() pending.
      fail: reject,
    });
  });
}

/**
 * Seed 003 `login(page)` with seed 000's loading text: wx.login → POST the code → store token
 * and uid with setStorageSync. Resolves with the server's answer.
 */
function login() {
  wx.showLoading({ title: '登陆中' }); // seed 000
  return wxLogin()
    .then((code) => api('POST', '/auth/login', null, { code })) // seed 003: WXAPI.login_wx(code)
    .then((res) => {
      wx.hideLoading(); // seed 000
      if (res.statusCode !== 200 || !res.data || !res.data.token) {
        // seed 003: `if (res.code != 0) wx.showModal({ title: '无法登录', content: res.msg })`
        const message = (res.data && res.data.error && res.data.error.message) || 'HTTP ' + res.statusCode;
        wx.showModal({ title: '无法登录', content: message, showCancel: false });
        // Deviation: seed 003 just returns here (the caller never learns); we reject.
        throw new Error('login failed: ' + message);
      }
      // seed 003: 登录成功将后端返回的token和uid存储到本地缓存中
      wx.setStorageSync('token', res.data.token);
      wx.setStorageSync('uid', res.data.uid);
      return res.data;
    }, (err) => {
      wx.hideLoading(); // deviation: seed 000 hides the loading only on success
      throw err;
    });
}

/** Seed 003 `checkSession()`: wx.checkSession → true / false. */
function checkSession() {
  return new Promise((resolve) => {
    wx.checkSession({
      success: () => resolve(true),
      fail: () => resolve(false),
    });
  });
}

/**
 * Seed 003 `checkHasLogined()`, step for step: token in storage? → wx.checkSession → the server
 * checks the token (WXAPI.checkToken) — on every call, as the article writes it and as
 * apifm/wechat-app-mall ships it. A failed step removes the token and answers false.
 */
async function checkHasLogined() {
  const token = wx.getStorageSync('token');
  if (!token) return false;
  const loggined = await checkSession();
  if (!loggined) {
    wx.removeStorageSync('token');
    return false;
  }
  const checkTokenRes = await api('GET', '/auth/check', token);
  if (checkTokenRes.statusCode !== 200) {
    // seed 003: `if (checkTokenRes.code != 0)` — here the default protocol's 401
    wx.removeStorageSync('token');
    return false;
  }
  return true;
}

/**
 * Seed 000 `logout()`: showLoading → server logout with the token → then hideLoading and remove
 * the token (we also remove uid, as wechat-app-mall does). Exactly as the article chains it:
 * the local clean-up runs in `.then`, so when the server cannot be reached the promise rejects,
 * the token stays stored and the loading stays shown. Nothing retries the server call later.
 */
function logout() {
  wx.showLoading({ title: '退出登陆中' });
  const token = wx.getStorageSync('token');
  return api('POST', '/auth/logout', token, { token }).then(() => {
    wx.hideLoading();
    wx.removeStorageSync('token');
    wx.removeStorageSync('uid');
    // seed 000: refreshPageData() — no page here
  });
}

/** One wx.request with the stored token; resolves with the raw answer. */
function send(options) {
  return new Promise((resolve, reject) => {
    const token = wx.getStorageSync('token');
    const header = Object.assign({}, options.header || {});
    if (token) header.Authorization = 'Bearer ' + token;
    const url = /^https?:\/\//.test(options.url) ? options.url : baseUrl + options.url;
    wx.request({
      url,
      method: options.method || 'GET',
      data: options.data,
      header,
      success: resolve,
      fail: reject,
    });
  });
}

function settle(res) {
  if (res.statusCode >= 200 && res.statusCode < 300) {
    return { statusCode: res.statusCode, data: res.data, header: res.header };
  }
  const error = new Error('HTTP ' + res.statusCode);
  error.status = res.statusCode;
  throw error;
}

/**
 * wx.request with the token; on 401 log in again and replay once (wafer2-client-sdk's "one
 * re-login + replay"). Each request does its own re-login — no shared login promise, as in
 * wafer2, apifm and litemall (peers.md: "concurrent logins: none").
 */
function request(options) {
  return send(options).then((res) => {
    if (res.statusCode !== 401) return settle(res);
    return login()
      .then(() => send(options))
      .then(settle);
  });
}

module.exports = { init, login, checkHasLogined, logout, request };

/**
 * What the pages show about the current user, and the account calls behind the account page.
 *
 * The session hands out what it stored at login (getSession: token, uid, userInfo); pages never
 * read its storage keys themselves. That gives a first view at once. The server's profile
 * (`GET /user/profile`) is the truth for 昵称, 头像 and 手机号码, so the pages replace that first view
 * with the profile as soon as it arrives. Every page renders the one view shape below, so they
 * agree on what "logged in" looks like.
 *
 * The profile calls go through `session.request` / `session.uploadFile`, which attach the token and
 * re-log in once when the server says the session is invalid. Because such a re-login first reports
 * `invalidated` and then `login`, app.js waits for the calls in flight here (`whenIdle`) before it
 * tells the user that their session ended.
 */
'use strict';

const session = require('wx-session');
const config = require('../config.js');

/** The logged-out view. */
const LOGGED_OUT = Object.freeze({ loggedIn: false, uid: '', nickName: '', avatarUrl: '', phone: '' });

/** The server's profile routes (server/README.md). */
const PROFILE_URL = '/user/profile';
const AVATAR_URL = '/user/avatar';
const PHONE_URL = '/user/phone';

const text = (value) => (typeof value === 'string' ? value : '');

/** Builds the view from a uid and a userInfo object (the login answer), either of which may be missing. */
function accountView(uid, userInfo) {
  const info = userInfo && typeof userInfo === 'object' ? userInfo : {};
  return {
    loggedIn: true,
    uid: uid === undefined || uid === null ? '' : String(uid),
    nickName: text(info.nickName),
    avatarUrl: text(info.avatarUrl),
    phone: text(info.phone),
  };
}

/**
 * The view from the server's profile `{uid, nickname, avatarUrl, phone, …}` (null = not set).
 * What the user has not set yet falls back to the stored login answer's userInfo, as the server's
 * own login answer does (the development server's users come with a made-up nickname and avatar).
 */
function profileView(profile) {
  const p = profile && typeof profile === 'object' ? profile : {};
  const stored = session.getSession();
  const info = stored && stored.userInfo && typeof stored.userInfo === 'object' ? stored.userInfo : {};
  return {
    loggedIn: true,
    uid: p.uid === undefined || p.uid === null ? '' : String(p.uid),
    nickName: text(p.nickname) || text(info.nickName),
    avatarUrl: text(p.avatarUrl) || text(info.avatarUrl),
    phone: text(p.phone),
  };
}

/**
 * The current account from storage (no network). Waits for app.js's launch check: before it, a
 * stored token may be one the server has dropped (a login on another phone), and a page asking for
 * the profile with it would make the session quietly log in again instead of the launch check
 * telling the user 登录已失效. (The launch check also means `session.init` has finished, before
 * which getToken() throws NOT_INITIALIZED; a failed init reads as logged out.)
 */
function currentAccount() {
  const app = typeof getApp === 'function' ? getApp() : null;
  const launched = (app && app.globalData && app.globalData.launchCheck) || null;
  return Promise.resolve(launched)
    .then(() => session.ready())
    .then(
      () => {
        const stored = session.getSession();
        return stored ? accountView(stored.uid, stored.userInfo) : LOGGED_OUT;
      },
      () => LOGGED_OUT
    );
}

/** The view right after login() resolved, from its LoginResult. */
function accountFromLogin(result) {
  return accountView(result && result.uid, result && result.userInfo);
}

// ---- the account calls -----------------------------------------------------------------------------

let inFlight = 0;
let idleWaiters = [];

/** Counts a call until it settles, so whenIdle() can wait for it. */
function track(promise) {
  inFlight += 1;
  const done = () => {
    inFlight -= 1;
    if (inFlight === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }
  };
  promise.then(done, done);
  return promise;
}

/** Resolves once no account call is in flight (at once when none is). */
function whenIdle() {
  if (inFlight === 0) return Promise.resolve();
  return new Promise((resolve) => idleWaiters.push(resolve));
}

/** The answer's body as the profile view; the server answers every profile call with the profile. */
const asView = (result) => profileView(result && result.data);

/** Whether the server has the account routes (config.js); without them the pages are read-only. */
function hasAccountApi() {
  return config.accountApi === true;
}

/**
 * GET /user/profile; null (and no request) when the server has no account routes. Only asked
 * while a token is stored: with none, a request would make the session log in by itself (its
 * re-login on "session invalid"), and logging in is the user's choice.
 */
function fetchProfile() {
  if (!hasAccountApi()) return Promise.resolve(null);
  return track(session.request({ url: PROFILE_URL, method: 'GET' }).then(asView));
}

/** PUT /user/profile {nickname}; the server checks length and characters (INVALID_NICKNAME). */
function saveNickname(nickname) {
  return track(session.request({ url: PROFILE_URL, method: 'PUT', data: { nickname }, loadingText: '保存中' }).then(asView));
}

/** POST /user/avatar, multipart field `file`: the temporary file chooseAvatar gave. */
function uploadAvatar(filePath) {
  return track(session.uploadFile({ url: AVATAR_URL, filePath, name: 'file', loadingText: '上传中' }).then(asView));
}

/** POST /user/phone {code}: getPhoneNumber's one-time code, which only the server can exchange. */
function bindPhone(code) {
  return track(session.request({ url: PHONE_URL, method: 'POST', data: { code }, loadingText: '获取中' }).then(asView));
}

module.exports = {
  LOGGED_OUT,
  currentAccount,
  accountFromLogin,
  profileView,
  hasAccountApi,
  fetchProfile,
  saveNickname,
  uploadAvatar,
  bindPhone,
  whenIdle,
};

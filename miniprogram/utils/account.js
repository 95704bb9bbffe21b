/**
 * What the pages show about the current user, read from the session module.
 *
 * The session hands out what it stored at login (getSession: token, uid, userInfo); pages never
 * read its storage keys themselves. Both pages render this one shape so they agree on what
 * "logged in" looks like.
 */
'use strict';

const session = require('wx-session');

/** The logged-out view. */
const LOGGED_OUT = Object.freeze({ loggedIn: false, uid: '', nickName: '', avatarUrl: '' });

/** Builds the view from a uid and a userInfo object, either of which may be missing. */
function accountView(uid, userInfo) {
  const info = userInfo && typeof userInfo === 'object' ? userInfo : {};
  return {
    loggedIn: true,
    uid: uid === undefined || uid === null ? '' : String(uid),
    nickName: typeof info.nickName === 'string' ? info.nickName : '',
    avatarUrl: typeof info.avatarUrl === 'string' ? info.avatarUrl : '',
  };
}

/**
 * The current account. Waits for `session.init` (started in app.js) because getToken() throws
 * NOT_INITIALIZED until it has finished; a failed init reads as logged out.
 */
function currentAccount() {
  return session.ready().then(
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

module.exports = { LOGGED_OUT, currentAccount, accountFromLogin };

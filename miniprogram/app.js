/**
 * The mini-program's entry: starts the session at launch and keeps `globalData.loggedIn` current.
 *
 * loggedIn follows three sources: the launch-time checkHasLogined(), then every session.onChange
 * event (login, logout, expiry, server-side invalidation).
 */
'use strict';

const session = require('wx-session');
const config = require('./config.js');
const account = require('./utils/account.js');

/** What the user reads when their session ended without them asking (a login elsewhere, expiry). */
const SESSION_ENDED = '登录已失效，请重新登录';

App({
  globalData: {
    /** Whether this device holds a session the app treats as valid. */
    loggedIn: false,
    /** Settles once the launch-time check is over (tests and pages may wait on it). */
    launchCheck: null,
    /** The login page's agreement box, ticked during this launch (utils/agreement.js). */
    agreedTerms: false,
  },

  onLaunch() {
    session.onChange((event) => {
      this.globalData.loggedIn = event.type === 'login';
      if (event.type === 'expired' || event.type === 'invalidated') sessionEnded();
    });
    const options = { baseUrl: config.baseUrl };
    // Left out when unset, so the library's own default applies.
    if (config.protocol) options.protocol = config.protocol;
    this.globalData.launchCheck = session
      .init(options)
      .then(() => session.checkHasLogined())
      .then(
        (loggedIn) => {
          this.globalData.loggedIn = loggedIn;
        },
        (error) => {
          // NETWORK means "the server could not be asked": the token is kept and still counts.
          // Anything else (init failed, ...) leaves the app logged out.
          this.globalData.loggedIn = error && error.code === 'NETWORK' ? hasToken() : false;
          console.warn('[wx-session demo] launch check:', (error && error.code) || error);
        }
      );
  },
});

/**
 * The session found the stored session dead (another device logged in, the token expired) while
 * a page may be showing it: say so, and show that page again so it stops claiming 已登录 and
 * offers 登录. Not when an account call in flight is about to log in again by itself (the session
 * re-logs in once on "session invalid", reporting `invalidated` first): wait for those calls, and
 * speak only if the device is still logged out afterwards.
 */
function sessionEnded() {
  account.whenIdle().then(() => {
    if (!hasToken()) wx.showToast({ title: SESSION_ENDED, icon: 'none', duration: 3000 });
    refreshTopPage();
  });
}

/** Runs the visible page's onShow again, as the session does after 退出. */
function refreshTopPage() {
  const pages = getCurrentPages();
  const top = pages[pages.length - 1];
  if (top && typeof top.onShow === 'function') top.onShow();
}

/** getToken() throws until init has finished; a failed init therefore reads as "no token". */
function hasToken() {
  try {
    return Boolean(session.getToken());
  } catch (error) {
    return false;
  }
}

/**
 * The mini-program's entry: starts the session at launch and keeps `globalData.loggedIn` current.
 *
 * loggedIn follows three sources: the launch-time checkHasLogined(), then every session.onChange
 * event (login, logout, expiry, server-side invalidation).
 */
'use strict';

const session = require('wx-session');
const config = require('./config.js');

App({
  globalData: {
    /** Whether this device holds a session the app treats as valid. */
    loggedIn: false,
    /** Settles once the launch-time check is over (tests and pages may wait on it). */
    launchCheck: null,
  },

  onLaunch() {
    session.onChange((event) => {
      this.globalData.loggedIn = event.type === 'login';
      // The session found the stored session dead (expired, or rejected by the server) while a
      // page was showing it: show that page again so it stops claiming 已登录. (登录 and 退出
      // refresh the page themselves.)
      if (event.type === 'expired' || event.type === 'invalidated') refreshTopPage();
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

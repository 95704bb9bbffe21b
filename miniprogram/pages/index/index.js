/**
 * 首页: the 登录 button, then who is logged in and the way to the account page.
 *
 * Thin on purpose: it calls the session module and setData; the view shape comes from
 * utils/account.js and error wording from utils/messages.js.
 */
'use strict';

const session = require('wx-session');
const account = require('../../utils/account.js');
const messages = require('../../utils/messages.js');

Page({
  data: {
    /** false until the first read of the session state (avoids flashing the 登录 button). */
    ready: false,
    /** true while a login runs; the button is disabled and a second tap is ignored. */
    busy: false,
    loggedIn: false,
    uid: '',
    nickName: '',
    avatarUrl: '',
  },

  /** Also run by the session after logout (it re-runs the top page's onShow). */
  onShow() {
    return this.refresh();
  },

  refresh() {
    return account.currentAccount().then((view) => {
      this.setData(Object.assign({ ready: true }, view));
    });
  },

  onLogin() {
    // this.data.busy is updated synchronously by setData, so a double tap stops here.
    if (this.data.busy) return undefined;
    this.setData({ busy: true });
    return session
      .login()
      .then(
        (result) => this.setData(account.accountFromLogin(result)),
        (error) => messages.showError(error)
      )
      .then(() => this.setData({ busy: false }));
  },

  goAccount() {
    wx.navigateTo({ url: '/pages/user/user' });
  },
});

/**
 * 首页: 微信一键登录 with the agreement line while logged out; who is logged in and the way to the
 * account page after. The navigation bar title follows the state (登录 / 首页).
 *
 * Thin on purpose: it calls the session module and utils/, then setData. The view shape and the
 * profile call come from utils/account.js, the agreement from utils/agreement.js, error wording
 * from utils/messages.js.
 */
'use strict';

const session = require('wx-session');
const account = require('../../utils/account.js');
const agreement = require('../../utils/agreement.js');
const messages = require('../../utils/messages.js');

Page({
  data: {
    /** false until the first read of the session state (avoids flashing the 登录 button). */
    ready: false,
    /** true while a login runs; the button is disabled and a second tap is ignored. */
    busy: false,
    /** The agreement box, as ticked during this launch. */
    agreed: false,
    loggedIn: false,
    uid: '',
    nickName: '',
    avatarUrl: '',
  },

  /** Also run by app.js when the session ends while this page shows (and after 退出's reLaunch). */
  onShow() {
    return this.refresh();
  },

  refresh() {
    this.setData({ agreed: agreement.hasAgreed() });
    return account.currentAccount().then((view) => {
      this.show(view);
      // The stored login answer shows at once; the profile has the current 昵称 and 头像. A failure
      // here keeps the stored view (the account page is where profile errors are shown).
      if (view.loggedIn) return account.fetchProfile().then((profile) => profile && this.show(profile), () => undefined);
      return undefined;
    });
  },

  /** Shows a view, and says in the title whether this is the login page or the home page. */
  show(view) {
    this.setData(Object.assign({ ready: true }, view));
    wx.setNavigationBarTitle({ title: view.loggedIn ? '首页' : '登录' });
  },

  onLogin() {
    // this.data.busy is updated synchronously by setData, so a double tap stops here.
    if (this.data.busy) return undefined;
    this.setData({ busy: true });
    return agreement
      .ensureAgreed()
      .then((agreed) => {
        this.setData({ agreed });
        if (!agreed) return undefined;
        return session.login().then((result) => {
          this.show(account.accountFromLogin(result));
          return account.fetchProfile().then((profile) => profile && this.show(profile), () => undefined);
        });
      })
      .catch((error) => messages.showError(error))
      .then(() => this.setData({ busy: false }));
  },

  toggleAgreement() {
    agreement.setAgreed(!this.data.agreed);
    this.setData({ agreed: agreement.hasAgreed() });
  },

  showTerms() {
    agreement.showTerms();
  },

  showPrivacy() {
    agreement.showPrivacy();
  },

  goAccount() {
    wx.navigateTo({ url: '/pages/user/user' });
  },
});

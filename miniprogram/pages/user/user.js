/**
 * 账户页: the user's info and 退出 (with the seeds' confirm "退出登录?").
 *
 * After logout the session itself shows 退出登陆中 and re-runs this page's onShow, which then reads
 * the logged-out state; the page does not refresh a second time.
 */
'use strict';

const session = require('wx-session');
const account = require('../../utils/account.js');
const messages = require('../../utils/messages.js');

Page({
  data: {
    ready: false,
    /** true from the 退出 tap until logout settles (or the modal is cancelled). */
    busy: false,
    loggedIn: false,
    uid: '',
    nickName: '',
    avatarUrl: '',
  },

  onShow() {
    return this.refresh();
  },

  refresh() {
    return account.currentAccount().then((view) => {
      this.setData(Object.assign({ ready: true }, view));
    });
  },

  onLogout() {
    if (this.data.busy) return undefined;
    this.setData({ busy: true });
    return wx
      .showModal({ title: '提示', content: '退出登录?', confirmText: '退出' })
      .then((answer) => (answer.confirm ? session.logout() : null))
      .catch((error) => messages.showError(error))
      .then(() => this.setData({ busy: false }));
  },

  goLogin() {
    wx.reLaunch({ url: '/pages/index/index' });
  },
});

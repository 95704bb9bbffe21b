/**
 * 账户页, seed 004's with today's WeChat APIs: 头像 (chooseAvatar → upload), 昵称 (a nickname
 * input, saved on confirm/blur when changed), 手机号码 (getPhoneNumber while empty, masked after),
 * ID, and 退出 (confirm 退出登录？ in red, then back to the login page, one tap from 登录).
 *
 * The privacy popup (components/privacy-popup) answers WeChat before the first privacy API. Page
 * code stays thin: session and utils/account.js calls, then setData.
 */
'use strict';

const session = require('wx-session');
const account = require('../../utils/account.js');
const agreement = require('../../utils/agreement.js');
const messages = require('../../utils/messages.js');

/** WeUI's warning red, for the 退出 confirm button. */
const DANGER_COLOR = '#FA5151';

Page({
  data: {
    ready: false,
    /** true from the 退出 (or 登录) tap until it settles. */
    busy: false,
    loggedIn: false,
    uid: '',
    nickName: '',
    avatarUrl: '',
    phone: '',
    /** false: the server has no account routes (config.js); the rows are read-only. */
    editable: account.hasAccountApi(),
  },

  /** Also run by app.js when the session ends while this page shows. */
  onShow() {
    return this.refresh();
  },

  refresh() {
    return account.currentAccount().then((view) => {
      this.setData(Object.assign({ ready: true }, view));
      if (!view.loggedIn) return undefined;
      return account.fetchProfile().then((profile) => this.showProfile(profile), (error) => this.profileFailed(error));
    });
  },

  /** A failed profile call: said in words, unless the session ended meanwhile (app.js says that). */
  profileFailed(error, rejected) {
    if (session.getToken()) messages.showError(error, rejected);
  },

  /** A profile answer; ignored when there is none or the user logged out while it travelled. */
  showProfile(view) {
    if (view && this.data.loggedIn) this.setData(view);
  },

  /** <button open-type="chooseAvatar">: a temporary file of the picked picture, uploaded at once. */
  onChooseAvatar(event) {
    const avatarUrl = event && event.detail && event.detail.avatarUrl;
    if (!avatarUrl) return undefined;
    return account.uploadAvatar(avatarUrl).then(
      (view) => this.showProfile(view),
      (error) => this.profileFailed(error)
    );
  },

  /** <input type="nickname">: saved when the keyboard's 完成 is tapped… */
  onNicknameConfirm(event) {
    return this.saveNickname(event.detail.value);
  },

  /** …or when the input loses focus (both fire after 完成: the second finds nothing changed). */
  onNicknameBlur(event) {
    return this.saveNickname(event.detail.value);
  },

  saveNickname(value) {
    const nickname = String(value === undefined || value === null ? '' : value).trim();
    if (!this.data.loggedIn || nickname === this.data.nickName || nickname === this.savingNickname) return undefined;
    if (!nickname) {
      // Put the saved nickname back into the input rather than saving an empty one.
      this.setData({ nickName: this.data.nickName });
      wx.showToast({ title: '昵称不能为空', icon: 'none' });
      return undefined;
    }
    this.savingNickname = nickname;
    return account
      .saveNickname(nickname)
      .then(
        (view) => this.showProfile(view),
        (error) => {
          this.profileFailed(error);
          this.setData({ nickName: this.data.nickName });
        }
      )
      .then(() => {
        this.savingNickname = null;
      });
  },

  /**
   * <button open-type="getPhoneNumber">: e.detail.code is a one-time code only the server can
   * exchange for the number (WeChat's phonenumber.getPhoneNumber). No code: the user declined.
   */
  onGetPhoneNumber(event) {
    const code = event && event.detail && event.detail.code;
    if (!code) return undefined;
    return account.bindPhone(code).then(
      (view) => {
        this.showProfile(view);
        wx.showToast({ title: '已获取手机号', icon: 'success' });
      },
      (error) => this.profileFailed(error, '手机号获取失败，请重试')
    );
  },

  onLogout() {
    if (this.data.busy) return undefined;
    this.setData({ busy: true });
    return wx
      .showModal({ title: '', content: '退出登录？', confirmText: '退出', confirmColor: DANGER_COLOR })
      .then((answer) => {
        if (!answer.confirm) return null;
        // Back to the login page, where 微信一键登录 is one tap away.
        return session.logout({ reLaunch: '/pages/index/index' });
      })
      .then((result) => {
        // Never more confident than the server's answer: say when the token outlives 退出.
        const notice = messages.logoutNotice(result);
        if (notice) wx.showToast({ title: notice, icon: 'none', duration: 3000 });
      })
      .catch((error) => messages.showError(error))
      .then(() => this.setData({ busy: false }));
  },

  /** Shown when the session ended while this page was open (app.js has said why). */
  onLogin() {
    if (this.data.busy) return undefined;
    this.setData({ busy: true });
    return agreement
      .ensureAgreed()
      .then((agreed) => (agreed ? session.login().then(() => this.refresh()) : undefined))
      .catch((error) => messages.showError(error))
      .then(() => this.setData({ busy: false }));
  },
});

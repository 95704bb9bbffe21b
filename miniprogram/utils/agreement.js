/**
 * The login page's agreement line: 《用户协议》《隐私政策》 and whether the user ticked it.
 *
 * Why a checkbox the user must tick (and not "登录即表示同意"): WeChat's review follows the
 * personal-information rules for apps, under which consent must be an act of the user — a box
 * ticked in advance, or consent implied by tapping 登录, is a common reason for a rejection. So the
 * box starts unticked at every launch, and 登录 without it asks first (同意并登录 in one tap).
 *
 * The tick is kept in app.globalData for the rest of the launch, so after 退出 the login page
 * shows it as the user left it and 登录 is one tap away; a new launch asks again. Nothing is
 * written to storage.
 */
'use strict';

/** What 《用户协议》 says in this demo; a real app links its own terms (a page or a web-view). */
const TERMS = '本示例仅用于演示微信登录：登录后服务器保存你的 openid、你填写的昵称和头像，以及你授权的手机号码，仅用于展示账户信息。';

const TERMS_TITLE = '用户协议';
const PRIVACY_TITLE = '隐私政策';
const CONFIRM_CONTENT = '请阅读并同意《用户协议》和《隐私政策》';

function globalData() {
  const app = typeof getApp === 'function' ? getApp() : null;
  return app && app.globalData ? app.globalData : {};
}

/** Whether the user ticked the agreement during this launch. */
function hasAgreed() {
  return globalData().agreedTerms === true;
}

function setAgreed(agreed) {
  globalData().agreedTerms = Boolean(agreed);
}

/**
 * Asks for consent when the box is not ticked: resolves true when the user agreed (the box is then
 * ticked for the caller to show), false when they declined.
 */
function ensureAgreed() {
  if (hasAgreed()) return Promise.resolve(true);
  return wx
    .showModal({ title: '服务协议与隐私保护', content: CONFIRM_CONTENT, confirmText: '同意', cancelText: '不同意' })
    .then((answer) => {
      if (answer.confirm) setAgreed(true);
      return Boolean(answer.confirm);
    });
}

/** 《用户协议》: the demo's short terms in a modal. */
function showTerms() {
  return wx.showModal({ title: TERMS_TITLE, content: TERMS, showCancel: false, confirmText: '知道了' });
}

/**
 * 《隐私政策》: WeChat's own page for the privacy guide filled in the admin console (base library
 * 2.32.3+); older clients get the demo's terms instead.
 */
function showPrivacy() {
  const fallback = () => wx.showModal({ title: PRIVACY_TITLE, content: TERMS, showCancel: false, confirmText: '知道了' });
  if (typeof wx.openPrivacyContract !== 'function') return fallback();
  wx.openPrivacyContract({ fail: fallback });
  return undefined;
}

module.exports = { TERMS, CONFIRM_CONTENT, hasAgreed, setAgreed, ensureAgreed, showTerms, showPrivacy };

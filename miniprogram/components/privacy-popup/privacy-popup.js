/**
 * The privacy popup WeChat requires before the first privacy API (头像, 昵称, 手机号码 here).
 *
 * Since base library 2.32.3, when a page calls a privacy API (chooseAvatar, a nickname input,
 * getPhoneNumber, …) before the user agreed to the mini-program's privacy guide, WeChat holds the
 * call and asks the app through `wx.onNeedPrivacyAuthorization(listener)`; the app must show its
 * own popup and answer with `resolve({ event: 'agree', buttonId })` — buttonId being the id of the
 * `<button open-type="agreePrivacyAuthorization">` the user tapped — or `resolve({ event:
 * 'disagree' })`. Only then does the held call go on (or fail).
 *
 * WeChat keeps one listener for the whole app, so the component registers it whenever its page
 * shows: the popup on the visible page is the one that answers. Older clients have no such API
 * and no gate; the component then never shows.
 */
'use strict';

/** The id of the agree button: WeChat checks it against the resolve() call. */
const AGREE_BUTTON_ID = 'privacy-agree';

Component({
  options: { styleIsolation: 'isolated' },

  data: {
    show: false,
    /** The guide's name as configured in the admin console (wx.getPrivacySetting). */
    contractName: '《隐私保护指引》',
    agreeButtonId: AGREE_BUTTON_ID,
  },

  lifetimes: {
    attached() {
      this.listen();
    },
    detached() {
      // A held API call must not wait for a popup that is gone.
      this.answer({ event: 'disagree' });
    },
  },

  pageLifetimes: {
    show() {
      this.listen();
    },
  },

  methods: {
    listen() {
      if (typeof wx.onNeedPrivacyAuthorization !== 'function') return;
      wx.onNeedPrivacyAuthorization((resolve) => {
        // A second privacy call while the popup shows: the earlier one gives way.
        this.answer({ event: 'disagree' });
        this.resolve = resolve;
        this.setData({ show: true });
        // Tells WeChat the popup is on screen (it reports how often it was shown).
        resolve({ event: 'exposureAuthorization' });
      });
      if (typeof wx.getPrivacySetting === 'function') {
        wx.getPrivacySetting({
          success: (setting) => {
            if (setting && setting.privacyContractName) this.setData({ contractName: setting.privacyContractName });
          },
        });
      }
    },

    /** Sends the user's answer to the held call, once. */
    answer(result) {
      const resolve = this.resolve;
      this.resolve = null;
      if (typeof resolve === 'function') resolve(result);
    },

    /** bindagreeprivacyauthorization: WeChat has recorded the consent; let the held call go on. */
    onAgree() {
      this.answer({ event: 'agree', buttonId: AGREE_BUTTON_ID });
      this.setData({ show: false });
    },

    onDisagree() {
      this.answer({ event: 'disagree' });
      this.setData({ show: false });
    },

    openContract() {
      if (typeof wx.openPrivacyContract === 'function') wx.openPrivacyContract({});
    },
  },
});

/**
 * What the user reads when a session call fails: `error.code` (see session/index.d.ts) → 中文提示.
 *
 * The session library only carries machine codes; wording belongs to the app, so it lives here in
 * one table. Messages stay short because a toast with icon 'none' shows at most two lines.
 */
'use strict';

const MESSAGES = {
  NOT_INITIALIZED: '登录组件还没准备好，请稍后再试',
  INVALID_OPTIONS: '登录配置有误，请联系开发者',
  WASM_LOAD_FAILED: '登录组件加载失败，请重启小程序',
  WX_UNAVAILABLE: '当前微信版本过低，请升级微信',
  WX_LOGIN_FAILED: '微信登录失败，请重试',
  NETWORK: '网络不给力，请检查网络后重试',
  SERVER_ERROR: '服务器开小差了，请稍后再试',
  SERVER_REJECTED: '服务器拒绝了请求，请稍后再试',
  BAD_RESPONSE: '服务器返回异常，请稍后再试',
  STORAGE_FAILED: '手机存储空间不足，请清理后重试',
  SESSION_INVALID: '登录已失效，请重新登录',
  NOT_REGISTERED: '该微信号尚未注册',
  LOGGED_OUT: '已退出登录',
};

/**
 * The reference server's own codes (`error.serverCode`, server/README.md) that a person can act
 * on; they are more precise than the session's SERVER_REJECTED, so they win when present.
 */
const SERVER_MESSAGES = {
  INVALID_NICKNAME: '昵称太长或含有不支持的字符',
  UNSUPPORTED_IMAGE: '请选择 JPG、PNG、WebP 或 GIF 图片',
  PAYLOAD_TOO_LARGE: '图片太大，请换一张小一点的',
};

/** Shown for a code this table does not know (a newer library, or a plain Error). */
const GENERIC = '操作失败，请稍后再试';

const own = (table, key) => typeof key === 'string' && Object.prototype.hasOwnProperty.call(table, key);

/**
 * The readable message for a rejection from the session module (or anything else thrown).
 * `rejected` replaces the generic SERVER_REJECTED wording where the caller knows better what was
 * refused (e.g. 手机号获取失败 for a phone code WeChat would not exchange).
 */
function messageFor(error, rejected) {
  const serverCode = error && error.serverCode;
  if (own(SERVER_MESSAGES, serverCode)) return SERVER_MESSAGES[serverCode];
  const code = error && error.code;
  if (code === 'SERVER_REJECTED' && rejected) return rejected;
  return (own(MESSAGES, code) && MESSAGES[code]) || GENERIC;
}

/** Tells the user about a failure with a plain toast; logs the details for the developer. */
function showError(error, rejected) {
  console.warn('[wx-session demo]', (error && error.code) || 'UNKNOWN', error);
  wx.showToast({ title: messageFor(error, rejected), icon: 'none', duration: 2500 });
}

/**
 * What 退出 left on the server, when the user should know (logout() always ends logged out here):
 * `notRevocable` — the server took the logout but cannot end its tokens (litemall's live until they
 * expire); `unconfirmed` — the server could not be asked, the library retries later.
 */
const LOGOUT_NOTICES = {
  notRevocable: '已退出；该服务器的登录凭证到期前仍有效',
  unconfirmed: '已退出；服务器暂未确认，稍后自动重试',
};

/** The notice for a LogoutResult, or null when there is nothing to add. */
function logoutNotice(result) {
  const server = result && result.server;
  return own(LOGOUT_NOTICES, server) ? LOGOUT_NOTICES[server] : null;
}

module.exports = { MESSAGES, SERVER_MESSAGES, GENERIC, LOGOUT_NOTICES, messageFor, showError, logoutNotice };

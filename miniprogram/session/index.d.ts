// Type declarations for wx-session's mini-program module (`require('../../session/index.js')`).

/** Stable machine codes on every rejected promise's `error.code`. */
export type SessionErrorCode =
  | 'NOT_INITIALIZED' //  a call before init() was ever called (calls during init wait for it)
  | 'INVALID_OPTIONS' //  init/logout/request options are wrong; `error.option` names the option
  | 'WASM_LOAD_FAILED' // WXWebAssembly is missing or the .wasm.br could not be instantiated
  | 'WX_UNAVAILABLE' //  the global `wx` (or one of its APIs) is missing or threw
  | 'WX_LOGIN_FAILED' // wx.login failed (`error.message` carries WeChat's errMsg)
  | 'NETWORK' //         no answer from the server: offline, timeout, DNS, interrupted
  | 'SERVER_ERROR' //    the server answered 5xx
  | 'SERVER_REJECTED' // the server refused (4xx) for a reason other than an invalid session
  | 'BAD_RESPONSE' //    the answer was not what the protocol promises (HTML, bad JSON, no token…)
  | 'STORAGE_FAILED' //  wx.setStorageSync threw (storage full); nothing half-written is kept
  | 'SESSION_INVALID' // the server still rejects the token after the allowed re-logins
  | 'NOT_REGISTERED' //  the server knows the WeChat user but they must register first
  | 'LOGGED_OUT'; //     the user logged out while this login/request was in flight

/** Every rejection is an `Error` with these fields. */
export interface SessionError extends Error {
  code: SessionErrorCode;
  /** HTTP status, when a server answer caused the error. */
  status?: number;
  /** The server's own error code and message, when it sent one. */
  serverCode?: string;
  serverMessage?: string;
  /** For INVALID_OPTIONS: the option at fault. */
  option?: string;
}

export interface InitOptions {
  /** Required. The developer server, e.g. 'https://api.example.com' (no trailing slash needed). */
  baseUrl: string;
  /** Path of the module inside the package. Default '/session/session_bg.wasm.br'. */
  wasmPath?: string;
  /** Loading text during login; '' shows none. Default '登陆中'. */
  loginLoadingText?: string;
  /** Loading text during logout; '' shows none. Default '退出登陆中'. */
  logoutLoadingText?: string;
  /** Timeout of each server call in ms. Default 15000 (wx.request's own maximum is 60000). */
  timeoutMs?: number;
}

export interface LoginResult {
  token: string;
  uid?: string | number;
  userInfo?: Record<string, unknown>;
  /** Epoch ms after which the token counts as expired (from the server's expiresIn). */
  expiresAt?: number;
}

export interface LogoutOptions {
  /** Page to wx.reLaunch to afterwards, e.g. '/pages/index/index'. Default: run the top page's onShow again. */
  reLaunch?: string;
  /** false: do not refresh any page. Default true. */
  refresh?: boolean;
}

export interface LogoutResult {
  /** Whether there was a session to end on this device. */
  wasLoggedIn: boolean;
  /** true when the server revoked the token or said it was already invalid. */
  serverConfirmed: boolean;
  /** 'revoked' | 'alreadyInvalid' | 'unconfirmed' (server unreachable or erroring) | 'none' (nothing to revoke). */
  server: 'revoked' | 'alreadyInvalid' | 'unconfirmed' | 'none';
}

export type ChangeEvent =
  | { type: 'login'; uid?: string | number; userInfo?: Record<string, unknown> }
  | { type: 'logout' }
  | { type: 'expired' }
  | { type: 'invalidated' };

/** Loads the module and creates the session. Idempotent; calls made meanwhile wait for it. */
export function init(options: InitOptions): Promise<void>;
/** Resolves once init has finished. */
export function ready(): Promise<void>;
/** wx.login → server login → token stored. Storage is unchanged when it rejects. */
export function login(): Promise<LoginResult>;
/**
 * true: the server accepted the stored token. false: logged out (the stale token was removed).
 * Rejects with code 'NETWORK' (token kept) when the server could not be asked: that is not "logged out".
 */
export function checkHasLogined(): Promise<boolean>;
/** Always ends logged out on this device; tells whether the server confirmed the revocation. */
export function logout(options?: LogoutOptions): Promise<LogoutResult>;
/** The current token, or null when logged out. Throws NOT_INITIALIZED before init has finished. */
export function getToken(): string | null;
/** Subscribes to session changes; returns the unsubscribe function. */
export function onChange(listener: (event: ChangeEvent) => void): () => void;

export const ERROR_CODES: { readonly [K in SessionErrorCode]: K };

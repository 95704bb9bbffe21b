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

/** A field of a JSON answer and the values that count, e.g. { path: 'code', values: [0] }. */
export interface FieldMatch {
  path: string;
  values: Array<string | number | boolean | null>;
}

/** How the token travels: a header (with an optional prefix), a query parameter, or a body field. */
export type TokenPlacement = { header: string; prefix?: string } | { query: string } | { body: string };

/**
 * A custom backend, described on top of a preset (default 'default'). Every field is optional;
 * unknown fields are rejected with INVALID_OPTIONS naming them (e.g. 'protocol.login.methd').
 */
export interface ProtocolConfig {
  preset?: ProtocolName;
  /** Encoding of request bodies. */
  format?: 'json' | 'form';
  login?: {
    method?: 'GET' | 'POST';
    /** Appended to baseUrl ('/…'), or an absolute http(s) URL. */
    path?: string;
    /** Name of the field carrying the wx.login code. Default 'code'. */
    codeField?: string;
    codeIn?: 'body' | 'query';
    /** Constant extra fields sent with every login. */
    fields?: Record<string, unknown>;
  };
  /** Dotted path of the token in the login answer ('data.token'); '' = the whole body is the token. */
  tokenPath?: string;
  uidPath?: string | null;
  userInfoPath?: string | null;
  /** Path of the token's lifetime in seconds. */
  expiresInPath?: string | null;
  /** For servers that answer 200 to everything: the field that means success. */
  success?: FieldMatch | null;
  /** The answer that means "register first" → NOT_REGISTERED. */
  notRegistered?: FieldMatch | null;
  /**
   * What means "the session is invalid" (re-login on requests, logged out on check): statuses, a
   * field, or words in the answer with given statuses (the seeds' egg server: 400 登陆状态已失效,
   * found in a JSON message or an HTML page alike).
   */
  invalidSession?: {
    statuses?: number[];
    path?: string;
    values?: FieldMatch['values'];
    message?: { statuses?: number[]; text: string } | null;
  };
  /** The token check; null = the server has none (checkHasLogined then trusts wx.checkSession and the expiry). */
  check?: { method?: 'GET' | 'POST'; path?: string; valid?: FieldMatch | null } | null;
  /**
   * `path` may be an absolute URL on another host (API工厂's logout lives on common.apifm.com);
   * naming it here is what lets the token go there. `revokes: false` for servers whose logout
   * cannot end a token (stateless JWTs, as litemall's): logout then reports `notRevocable`.
   */
  logout?: { method?: 'GET' | 'POST'; path?: string; alreadyInvalidStatuses?: number[]; revokes?: boolean };
  token?: TokenPlacement;
  /**
   * For what configuration cannot describe: rewrites each server answer before the protocol judges
   * it (e.g. turns a text answer into `{ token }` JSON). `purpose` says which call it answers.
   * Return `{ status?, body? }` (omitted fields stay as they were); throwing makes it BAD_RESPONSE.
   * For `request()` only the session's judgement uses the adapted answer; the app gets it as it came.
   */
  adaptAnswer?: (answer: { purpose: 'login' | 'check' | 'logout' | 'request'; status: number; body: string }) =>
    { status?: number; body?: string };
}

/** Built-in protocols: ours, the seeds' egg.js server, API工厂, litemall. */
export type ProtocolName = 'default' | 'egg' | 'apifm' | 'litemall';

export interface InitOptions {
  /** Required. The developer server, e.g. 'https://api.example.com' (no trailing slash needed). */
  baseUrl: string;
  /** How the server speaks. Default 'default'. */
  protocol?: ProtocolName | ProtocolConfig;
  /** Rename the token header on requests (e.g. 'X-Token'); default from the protocol. */
  tokenHeader?: string;
  /** Text before the token in that header (e.g. 'Bearer ', ''); default from the protocol. */
  tokenPrefix?: string;
  /** Re-login-and-replay rounds one request may use after "session invalid" (0-5). Default 1. */
  reloginLimit?: number;
  /** How long a successful server check is trusted, in ms (0 = always ask). Default 300000. */
  checkTrustMs?: number;
  /** Path of the module inside the package. Default '/miniprogram_npm/wx-session/session_bg.wasm.br'. */
  wasmPath?: string;
  /** Loading text during login; '' shows none. Default '登录中' (the seeds wrote '登陆中'). */
  loginLoadingText?: string;
  /** Loading text during logout; '' shows none. Default '正在退出' (the seeds wrote '退出登陆中'). */
  logoutLoadingText?: string;
  /** Timeout of each server call in ms. Default 15000 (wx.request's own maximum is 60000). */
  timeoutMs?: number;
}

/** The stored session, as login() resolves it and getSession() returns it. */
export interface LoginResult {
  token: string;
  /** As the server sent it. Numbers above 2^53 lose digits in JavaScript: send such ids as strings. */
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
  /** true when the server revoked the token or said it was already invalid (never for notRevocable). */
  serverConfirmed: boolean;
  /**
   * 'revoked'; 'alreadyInvalid'; 'unconfirmed' (server unreachable or erroring: retried later,
   * or refused for good: see the `revocationAbandoned` event); 'notRevocable' (the server took
   * the logout but its tokens cannot be revoked — litemall's live until they expire, 2 hours);
   * 'none' (nothing to revoke).
   */
  server: 'revoked' | 'alreadyInvalid' | 'unconfirmed' | 'notRevocable' | 'none';
}

export type ChangeEvent =
  | { type: 'login'; uid?: string | number; userInfo?: Record<string, unknown> }
  | { type: 'logout' }
  | { type: 'expired' }
  | { type: 'invalidated' }
  /**
   * A token whose revocation the server never confirmed is no longer retried: 'refused' (a
   * definitive 4xx such as 404), 'expired' (it died on its own), 'tooManyTries' (8 server failures).
   */
  | { type: 'revocationAbandoned'; reason: 'refused' | 'expired' | 'tooManyTries' };

/** Loads the module and creates the session. Idempotent; calls made meanwhile wait for it. */
export function init(options: InitOptions): Promise<void>;
/** Resolves once init has finished. */
export function ready(): Promise<void>;
export interface LoginOptions {
  /** Extra fields for the server's login call (litemall's userInfo, a referrer…). */
  fields?: Record<string, unknown>;
}

/**
 * wx.login → server login → token stored. Storage is unchanged when it rejects. Concurrent calls
 * share one login (one wx.login, one server call).
 */
export function login(options?: LoginOptions): Promise<LoginResult>;
/**
 * true: the server accepted the stored token. false: logged out (the stale token was removed).
 * Rejects with code 'NETWORK' (token kept) when the server could not be asked: that is not "logged out".
 */
export function checkHasLogined(): Promise<boolean>;
/** Always ends logged out on this device; tells whether the server confirmed the revocation. */
export function logout(options?: LogoutOptions): Promise<LogoutResult>;
/** The current token, or null when logged out. Throws NOT_INITIALIZED before init has finished. */
export function getToken(): string | null;
/**
 * The stored session (token, uid, userInfo, expiresAt), or null when logged out. Synchronous, one
 * storage read while the token is unchanged. Throws NOT_INITIALIZED before init has finished.
 */
export function getSession(): LoginResult | null;
/** wx.request's options, plus `loadingText`. A `url` starting with '/' is resolved against baseUrl. */
export interface RequestOptions {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'TRACE' | 'CONNECT';
  data?: unknown;
  header?: Record<string, string>;
  dataType?: string;
  responseType?: string;
  timeout?: number;
  /** Shows wx.showLoading with this title while the request (and any re-login) runs. */
  loadingText?: string;
}

export interface RequestResult {
  statusCode: number;
  data: unknown;
  header: Record<string, string>;
}

/**
 * wx.request with the token attached — only for URLs on baseUrl's origin. On "session invalid" it
 * re-logs in once (shared with every other caller) and replays; 2xx resolves, anything else rejects
 * with a coded error carrying `status` and the server's message.
 */
export function request(options: RequestOptions): Promise<RequestResult>;
/** wx.uploadFile's options, plus `loadingText`. A `url` starting with '/' is resolved against baseUrl. */
export interface UploadFileOptions {
  url: string;
  filePath: string;
  /** The multipart field name of the file. */
  name: string;
  header?: Record<string, string>;
  formData?: Record<string, unknown>;
  timeout?: number;
  /** Shows wx.showLoading with this title while the upload (and any re-login) runs. */
  loadingText?: string;
}

export interface UploadFileResult {
  statusCode: number;
  /** The server's answer: parsed when it is JSON, else the text as wx.uploadFile gives it. */
  data: unknown;
}

/**
 * wx.uploadFile with request()'s guarantees: the token only to baseUrl's origin, one shared
 * re-login and replay on "session invalid", coded errors, loading text.
 */
export function uploadFile(options: UploadFileOptions): Promise<UploadFileResult>;
/** Subscribes to session changes; returns the unsubscribe function. */
export function onChange(listener: (event: ChangeEvent) => void): () => void;

export const ERROR_CODES: { readonly [K in SessionErrorCode]: K };

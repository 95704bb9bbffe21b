/**
 * wx-session — the mini-program's session module (登录 / 退出 / 登录态检查).
 *
 * The session itself lives in WebAssembly (Rust, `src/`); this file only loads it through
 * `WXWebAssembly` and makes every call wait for that load. CommonJS, no ES modules, no
 * `fetch`/`TextDecoder`/`WebAssembly`: it runs as it is in the mini-program runtime.
 * Types and the full contract: `index.d.ts` beside this file; errors: `ERROR_CODES`.
 */
'use strict';

/** Where the build puts the module, relative to the mini-program root (see README). */
const DEFAULT_WASM_PATH = '/session/session_bg.wasm.br';

/** Stable error codes carried by every rejection's `error.code`. */
const ERROR_CODES = Object.freeze({
  NOT_INITIALIZED: 'NOT_INITIALIZED',
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  WASM_LOAD_FAILED: 'WASM_LOAD_FAILED',
  WX_UNAVAILABLE: 'WX_UNAVAILABLE',
  WX_LOGIN_FAILED: 'WX_LOGIN_FAILED',
  NETWORK: 'NETWORK',
  SERVER_ERROR: 'SERVER_ERROR',
  SERVER_REJECTED: 'SERVER_REJECTED',
  BAD_RESPONSE: 'BAD_RESPONSE',
  STORAGE_FAILED: 'STORAGE_FAILED',
  SESSION_INVALID: 'SESSION_INVALID',
  NOT_REGISTERED: 'NOT_REGISTERED',
  LOGGED_OUT: 'LOGGED_OUT',
});

let session = null; // the wasm `Session`, once loaded
let api = null; // the glue's API once the module is instantiated (kept when init's options are refused)
let loading = null; // the promise of the first successful-or-pending init
const listeners = [];

function sessionError(code, message, cause) {
  const error = new Error(message);
  error.code = code;
  if (cause !== undefined) error.cause = cause;
  return error;
}

/** Fans one wasm-side event out to every listener; one listener throwing must not stop the rest. */
function dispatch(event) {
  listeners.slice().forEach((listener) => {
    try {
      listener(event);
    } catch (err) {
      console.error('[wx-session] onChange listener threw', err);
    }
  });
}

/**
 * Loads the wasm module and creates the session. Idempotent: later calls return the first call's
 * promise (their options are ignored). A failed init can be retried.
 */
function init(options) {
  if (loading) return loading;
  const opts = options || {};
  // One reaction per step: every promise hop is interpreted code on an iPhone's launch, and a
  // timer tick on iOS 15 and earlier, whose Promise is a setTimeout polyfill. A failed init is
  // forgotten so it can be retried.
  const forget = (err) => {
    loading = null;
    session = null;
    throw err;
  };
  const create = (wasm) => {
    api = wasm;
    try {
      // `wx` and `getCurrentPages` from this module's scope: bundlers (Taro's webpack) swap the
      // global object, so the module is handed them. Throws INVALID_OPTIONS naming the bad option.
      session = new wasm.Session(
        opts,
        typeof wx === 'object' && wx !== null ? wx : undefined,
        typeof getCurrentPages === 'function' ? getCurrentPages : undefined
      );
      session.setListener(dispatch);
    } catch (err) {
      forget(err);
    }
    // Background duties (retrying a logout the server never confirmed, listening for the
    // network) wait until init has resolved: they are off the launch's critical path.
    const started = session;
    setTimeout(() => {
      if (session === started) started.start();
    }, 0);
  };
  const failed = (err) => forget(loadFailed(err));
  // Loaded before (and the options were refused): the module stays, only the session is new.
  if (api) {
    loading = Promise.resolve(api).then(create);
    return loading;
  }

  // The engine first, the glue second: the engine compiles on its own thread while this one
  // evaluates the glue. JavaScriptCore's compile runs slower meanwhile, so there the overlap wins
  // back only part of the glue's time (~0.15 ms; README, "Measured"). The engine
  // reads `imports` only when compilation has finished, and they are filled right below, before
  // this thread can run anything else; should a runtime read them during the call itself, the
  // glue instantiates the module again with them all.
  const wasmPath = opts.wasmPath || DEFAULT_WASM_PATH;
  const imports = {};
  const started = startEngine(wasmPath, imports);
  let glue;
  try {
    glue = require('./session_wasm.js');
  } catch (err) {
    if (started) Promise.resolve(started).then(undefined, () => {}); // its failure is this one
    return Promise.reject(loadFailed(err));
  }
  Object.assign(imports, glue.imports);
  loading =
    started === undefined
      ? glue.instantiate(wasmPath).then(create, failed)
      : Promise.resolve(started).then(
        (result) => {
          let wasm;
          try {
            wasm = glue.connect(result);
          } catch (err) {
            return failed(err);
          }
          return create(wasm);
        },
        (err) => (readImportsEarly(err) ? glue.instantiate(wasmPath) : Promise.reject(err)).then(create, failed)
      );
  return loading;
}

/**
 * `WXWebAssembly.instantiate(path, imports)` begun before the glue exists, or undefined when it
 * cannot start (the glue then tries itself and reports why).
 */
function startEngine(path, imports) {
  try {
    if (typeof path !== 'string' || path === '') return undefined;
    if (typeof WXWebAssembly === 'undefined' || !WXWebAssembly || typeof WXWebAssembly.instantiate !== 'function') return undefined;
    return WXWebAssembly.instantiate(path, imports);
  } catch (err) {
    return undefined;
  }
}

/** Whether a failed instantiation complained about its imports (a LinkError, or a TypeError naming them). */
function readImportsEarly(err) {
  return Boolean(err) && (err.name === 'LinkError' || /import/i.test(String(err.message)));
}

/** WASM_LOAD_FAILED carrying what went wrong. */
function loadFailed(err) {
  return sessionError(ERROR_CODES.WASM_LOAD_FAILED, 'failed to load the session module: ' + describe(err), err);
}

function describe(err) {
  if (!err) return 'unknown error';
  return err.errMsg || err.message || String(err);
}

/** Resolves with the session once init has finished; rejects at once if init was never called. */
function ready() {
  if (!loading) {
    return Promise.reject(sessionError(ERROR_CODES.NOT_INITIALIZED, 'call init({ baseUrl }) before using the session'));
  }
  return loading.then(() => session);
}

module.exports = {
  ERROR_CODES,
  init,
  ready: () => ready().then(() => undefined),
  login: (options) => ready().then((s) => s.login(options)),
  checkHasLogined: () => ready().then((s) => s.checkHasLogined()),
  logout: (options) => ready().then((s) => s.logout(options || {})),
  request: (options) => ready().then((s) => s.request(options || {})),
  uploadFile: (options) => ready().then((s) => s.uploadFile(options || {})),
  /** Synchronous; throws NOT_INITIALIZED until init has finished. */
  getToken() {
    if (!session) throw sessionError(ERROR_CODES.NOT_INITIALIZED, 'the session is not initialised yet');
    return session.getToken() || null;
  },
  /** Synchronous: `{ token, uid?, userInfo?, expiresAt? }` or null; throws NOT_INITIALIZED until init has finished. */
  getSession() {
    if (!session) throw sessionError(ERROR_CODES.NOT_INITIALIZED, 'the session is not initialised yet');
    return session.getSession();
  },
  /** Calls `listener(event)` on login, logout, expiry and server-side invalidation; returns an unsubscribe function. */
  onChange(listener) {
    if (typeof listener !== 'function') throw sessionError(ERROR_CODES.INVALID_OPTIONS, 'onChange needs a function');
    listeners.push(listener);
    return function unsubscribe() {
      const at = listeners.indexOf(listener);
      if (at >= 0) listeners.splice(at, 1);
    };
  },
};

/**
 * A stateful fake of the mini-program `wx` object, for Node tests and benchmarks.
 *
 *   const fake = createFakeWx({ server, realm });   // server: fake-server.js; realm: see below
 *   global.wx = fake.wx;                             // or give it to createSandbox()
 *
 * What `fake.wx` has (everything else is missing, as on a device, and is recorded in
 * `fake.missing` when code looks for it):
 *   login, checkSession, request, getStorageSync/setStorageSync/removeStorageSync/
 *   clearStorageSync/getStorageInfoSync, getStorage/setStorage/removeStorage/clearStorage/
 *   getStorageInfo, showLoading/hideLoading, showToast/hideToast, showModal, reLaunch/navigateTo/
 *   redirectTo/navigateBack/switchTab, onNetworkStatusChange/offNetworkStatusChange,
 *   getNetworkType, getSystemInfoSync, getAppBaseInfo, getAccountInfoSync, canIUse,
 *   uploadFile, setNavigationBarTitle, onNeedPrivacyAuthorization, getPrivacySetting,
 *   openPrivacyContract.
 *
 * Calling conventions follow the base library (≥ 2.10.2): async APIs take success/fail/complete
 * and call them later (a macrotask, never synchronously); without any of the three they return a
 * Promise that rejects with the `{ errMsg }` object. `wx.request` is the documented exception: it
 * always returns a RequestTask, never a Promise — calling it without callbacks is recorded in
 * `fake.warnings` because on a device that request's answer would be lost.
 *
 * State and controls (all plain properties on `fake`):
 *   calls            { apiName: count } for every wx.* call;  count(name);  log [{ api, arg }]
 *   storage          Map key → stored JSON text;  readStorage(key) / writeStorage(key, value)
 *   storageFull      true → setStorageSync/setStorage fail as when the 10 MB are used up
 *   loading          { shown, title }  (the one toast/loading slot WeChat has; see prompt)
 *   prompt           null | { kind: 'loading' | 'toast', title };  toasts [{ title, icon }]
 *   hiddenToasts     how often hideLoading closed a toast (they share the slot by default)
 *   modals           [{ title, content, showCancel, confirmText, confirmColor, answer }];
 *                    modalAnswers (queue) / modalDefault 'confirm'
 *   navigations      [{ api, url, delta }];  onNavigate(entry) hook (e.g. to reset a page stack)
 *   sessionKeyValid  what checkSession answers (default true)
 *   failLogin({ times, errMsg })      make the next wx.login calls fail
 *   openid           the WeChat user whose codes wx.login asks the server for
 *   network          { isConnected, networkType };  setNetwork(state) fires onNetworkStatusChange
 *                    and, while disconnected, wx.request fails at once
 *   latencyMs        delay of every callback (default 0: still asynchronous)
 *   callbackErrors   errors thrown by the caller's callbacks (WeChat logs and swallows them)
 *   missing          Set of wx.* names looked up but not implemented;  warnings [string]
 *   files            Map temp path → Buffer: what chooseAvatar would hand out;
 *                    addTempFile(bytes, ext) → 'wxfile://tmp_<n>.<ext>' (uploadFile reads these)
 *   titles           every wx.setNavigationBarTitle title, in order
 *   privacy          { agreed, listener, answers }: the privacy gate of base library 2.32.3+.
 *                    needPrivacy(referrer) plays WeChat holding a privacy API: with consent it
 *                    resolves 'agreed' at once; otherwise it calls the app's onNeedPrivacyAuthorization
 *                    listener and resolves 'agree' / 'disagree' with the app's answer (recorded
 *                    in privacy.answers), or 'no-listener'.
 *   idle()           a Promise that resolves once no fake callback is pending
 *   reset()          empty storage and logs, default controls (keeps the server)
 *
 * Realms: values handed to the caller (callback results, storage reads, parsed JSON) are created
 * with the realm's own JSON/Promise/Error so that `instanceof Object`/`Promise` checks inside a vm
 * context hold. `realm` defaults to this Node context; createSandbox() passes the vm's.
 */
'use strict';

const STORAGE_LIMIT_BYTES = 10 * 1024 * 1024;
const STORAGE_ITEM_LIMIT_BYTES = 1024 * 1024;
const REQUEST_DEFAULT_TIMEOUT_MS = 60000;

/** The intrinsics of the current Node context, as a realm. */
const HOST_REALM = { JSON, Promise, Error, TypeError, Uint8Array };

/** Names never recorded as "missing": language-level probes, not wx API lookups. */
const NOT_API = new Set(['then', 'toJSON', 'constructor', 'inspect', 'nodeType', '__esModule', 'asymmetricMatch']);

function createFakeWx(options = {}) {
  const realm = options.realm || HOST_REALM;
  const server = options.server || null;
  const fake = {
    realm,
    server,
    calls: {},
    log: [],
    storage: new Map(),
    storageFull: false,
    prompt: null,
    toasts: [],
    hiddenToasts: 0,
    modals: [],
    modalAnswers: [],
    modalDefault: 'confirm',
    navigations: [],
    onNavigate: null,
    sessionKeyValid: true,
    openid: options.openid || 'openid-test-1',
    network: { isConnected: true, networkType: 'wifi' },
    latencyMs: options.latencyMs || 0,
    sdkVersion: options.sdkVersion || '3.0.0',
    callbackErrors: [],
    missing: new Set(),
    warnings: [],
    loginFailures: [],
    codesIssued: [],
    files: new Map(),
    titles: [],
    privacy: { agreed: false, listener: null, answers: [] },
    get loading() {
      const shown = Boolean(fake.prompt && fake.prompt.kind === 'loading');
      return { shown, title: shown ? fake.prompt.title : null };
    },
    count: (name) => fake.calls[name] || 0,
    failLogin,
    setNetwork,
    readStorage,
    writeStorage,
    addTempFile,
    needPrivacy,
    idle,
    reset,
    wx: null,
  };
  const networkListeners = [];
  let pending = 0;
  let idleWaiters = [];
  let codeSeq = 0;

  // ---- plumbing ---------------------------------------------------------------------------

  function record(api, arg) {
    fake.calls[api] = (fake.calls[api] || 0) + 1;
    fake.log.push({ api, arg: summarise(arg) });
  }

  /** Plain data → a fresh copy made by the realm's JSON (undefined stays undefined). */
  function toRealm(value) {
    if (value === undefined) return undefined;
    return realm.JSON.parse(JSON.stringify(value));
  }

  function realmError(message) {
    return new realm.Error(message);
  }

  /** Runs fn as a macrotask after the fake's latency, keeping count for idle(). */
  function later(fn, ms) {
    pending += 1;
    setTimeout(() => {
      try {
        fn();
      } finally {
        pending -= 1;
        if (pending === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          waiters.forEach((resolve) => resolve());
        }
      }
    }, ms === undefined ? fake.latencyMs : ms);
  }

  function idle() {
    if (pending === 0) return new Promise((resolve) => setTimeout(resolve, 0));
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  /** Calls one of the caller's callbacks; like WeChat, an exception there is logged, not thrown. */
  function invoke(callback, payload, api) {
    if (typeof callback !== 'function') return;
    try {
      callback(payload);
    } catch (err) {
      fake.callbackErrors.push({ api, error: err });
      console.error(`[fake wx] ${api} callback threw:`, err);
    }
  }

  /**
   * Wraps an async API body: `run(opts, settle)` decides the outcome and calls
   * settle(ok, result, delayMs) once. Returns the Promise in Promise style, else undefined.
   */
  function asyncApi(api, run) {
    return function wxAsyncApi(options) {
      record(api, options);
      const opts = options || {};
      const promiseStyle = !opts.success && !opts.fail && !opts.complete;
      let resolve;
      let reject;
      const promise = promiseStyle
        ? new realm.Promise((res, rej) => {
            resolve = res;
            reject = rej;
          })
        : undefined;
      let settled = false;
      const settle = (ok, result, delayMs) => {
        if (settled) return;
        settled = true;
        later(() => {
          const payload = toRealm(result);
          invoke(ok ? opts.success : opts.fail, payload, api);
          invoke(opts.complete, payload, api);
          if (promiseStyle) (ok ? resolve : reject)(payload);
        }, delayMs);
      };
      run(opts, settle);
      return promise;
    };
  }

  // ---- login / checkSession -----------------------------------------------------------------

  function failLogin({ times = 1, errMsg = 'login:fail timeout' } = {}) {
    for (let i = 0; i < times; i += 1) fake.loginFailures.push(errMsg);
  }

  const login = asyncApi('login', (opts, settle) => {
    if (fake.loginFailures.length) return settle(false, { errMsg: fake.loginFailures.shift() });
    codeSeq += 1;
    const code = server ? server.issueCode(fake.openid) : `fake-code-${codeSeq}`;
    fake.codesIssued.push(code);
    return settle(true, { code, errMsg: 'login:ok' });
  });

  const checkSession = asyncApi('checkSession', (opts, settle) => {
    if (fake.sessionKeyValid) settle(true, { errMsg: 'checkSession:ok' });
    else settle(false, { errMsg: 'checkSession:fail session time out, need relogin' });
  });

  // ---- request ------------------------------------------------------------------------------

  function request(options) {
    record('request', options);
    const opts = options || {};
    if (!opts.success && !opts.fail && !opts.complete) {
      fake.warnings.push('wx.request called without success/fail/complete: the real one returns a RequestTask, not a Promise');
    }
    let done = false;
    const finish = (ok, result) => {
      if (done) return;
      done = true;
      const payload = toRealm(result);
      invoke(ok ? opts.success : opts.fail, payload, 'request');
      invoke(opts.complete, payload, 'request');
    };
    // The RequestTask: a realm object, so nothing about it looks foreign to the caller.
    const requestTask = toRealm({});
    requestTask.abort = () => later(() => finish(false, { errMsg: 'request:fail abort' }), 0);
    requestTask.onHeadersReceived = () => {};
    requestTask.offHeadersReceived = () => {};

    const method = String(opts.method || 'GET').toUpperCase();
    if (typeof opts.url !== 'string' || !/^https?:\/\//.test(opts.url)) {
      later(() => finish(false, { errMsg: `request:fail invalid url "${opts.url}"` }));
      return requestTask;
    }
    if (!fake.network.isConnected) {
      later(() => finish(false, { errMsg: 'request:fail net::ERR_INTERNET_DISCONNECTED' }));
      return requestTask;
    }
    if (!server) {
      later(() => finish(false, { errMsg: 'request:fail no server behind the fake wx' }));
      return requestTask;
    }
    const header = Object.assign({}, opts.header || {});
    const { url, body } = encodeRequest(method, opts.url, header, opts.data);
    const plan = server.handle({ method, url, header, body });
    const timeout = typeof opts.timeout === 'number' && opts.timeout > 0 ? opts.timeout : REQUEST_DEFAULT_TIMEOUT_MS;
    const delay = fake.latencyMs + (plan.delayMs || 0);
    if (delay >= timeout) {
      later(() => finish(false, { errMsg: 'request:fail timeout' }), timeout);
      return requestTask;
    }
    later(() => {
      if (plan.kind === 'network') return finish(false, { errMsg: plan.errMsg });
      return finishWithData(plan);
    }, delay);
    return requestTask;

    function finishWithData(plan_) {
      const base = { statusCode: plan_.statusCode, header: plan_.header, cookies: [], errMsg: 'request:ok' };
      if (done) return undefined; // aborted meanwhile
      if (opts.responseType === 'arraybuffer') {
        // ArrayBuffers do not survive JSON: build the bytes in the realm and hand them over as is.
        const bytes = new realm.Uint8Array(Buffer.from(plan_.body, 'utf8'));
        const payload = toRealm(base);
        payload.data = bytes.buffer;
        done = true;
        invoke(opts.success, payload, 'request');
        invoke(opts.complete, payload, 'request');
        return undefined;
      }
      // dataType 'json' (the default) parses the body and falls back to the raw string.
      let data = plan_.body;
      if ((opts.dataType === undefined || opts.dataType === 'json') && typeof data === 'string') {
        try {
          data = JSON.parse(data);
        } catch (err) {
          data = plan_.body;
        }
      }
      return finish(true, Object.assign(base, { data }));
    }
  }

  // ---- files and uploadFile ----------------------------------------------------------------

  let fileSeq = 0;

  /** A temporary file as chooseAvatar hands out (its path is what the page gets). */
  function addTempFile(bytes, ext = 'png') {
    fileSeq += 1;
    const filePath = `wxfile://tmp_${fileSeq}.${ext}`;
    fake.files.set(filePath, Buffer.from(bytes));
    return filePath;
  }

  /**
   * wx.uploadFile: a multipart/form-data POST of one file (field `name`) plus formData's fields.
   * As documented, `data` in the answer is the body as a string (never parsed), and there is no
   * Promise style: it returns an UploadTask.
   */
  function uploadFile(options) {
    record('uploadFile', options);
    const opts = options || {};
    let done = false;
    const finish = (ok, result) => {
      if (done) return;
      done = true;
      const payload = toRealm(result);
      invoke(ok ? opts.success : opts.fail, payload, 'uploadFile');
      invoke(opts.complete, payload, 'uploadFile');
    };
    const task = toRealm({});
    task.abort = () => later(() => finish(false, { errMsg: 'uploadFile:fail abort' }), 0);
    task.onProgressUpdate = () => {};
    task.offProgressUpdate = () => {};
    task.onHeadersReceived = () => {};
    task.offHeadersReceived = () => {};
    if (typeof opts.url !== 'string' || !/^https?:\/\//.test(opts.url)) {
      later(() => finish(false, { errMsg: `uploadFile:fail invalid url "${opts.url}"` }));
      return task;
    }
    const bytes = fake.files.get(opts.filePath);
    if (!bytes) {
      later(() => finish(false, { errMsg: `uploadFile:fail file not found: ${opts.filePath}` }));
      return task;
    }
    if (!fake.network.isConnected || !server) {
      later(() => finish(false, { errMsg: 'uploadFile:fail net::ERR_INTERNET_DISCONNECTED' }));
      return task;
    }
    const boundary = `----WxFakeBoundary${fileSeq}${Date.now().toString(16)}`;
    const parts = [];
    Object.keys(opts.formData || {}).forEach((key) => {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${opts.formData[key]}\r\n`));
    });
    const filename = String(opts.filePath).split('/').pop();
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${opts.name}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    parts.push(bytes, Buffer.from(`\r\n--${boundary}--\r\n`));
    const header = Object.assign({}, opts.header || {}, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    const plan = server.handle({ method: 'POST', url: opts.url, header, body: Buffer.concat(parts) });
    later(() => {
      if (plan.kind === 'network') return finish(false, { errMsg: plan.errMsg.replace(/^request:/, 'uploadFile:') });
      return finish(true, { statusCode: plan.statusCode, data: plan.body, header: plan.header, errMsg: 'uploadFile:ok' });
    }, fake.latencyMs + (plan.delayMs || 0));
    return task;
  }

  // ---- privacy ----------------------------------------------------------------------------------

  /** WeChat holding a privacy API until the app's popup answers; see the file header. */
  function needPrivacy(referrer) {
    if (fake.privacy.agreed) return Promise.resolve('agreed');
    const listener = fake.privacy.listener;
    if (typeof listener !== 'function') return Promise.resolve('no-listener');
    return new Promise((resolveOutcome) => {
      const resolve = (result) => {
        const answer = toRealm(result);
        fake.privacy.answers.push(answer);
        if (answer && answer.event === 'agree') {
          fake.privacy.agreed = true;
          resolveOutcome('agree');
        } else if (answer && answer.event === 'disagree') {
          resolveOutcome('disagree');
        }
      };
      invoke(() => listener(resolve, toRealm({ referrer })), undefined, 'onNeedPrivacyAuthorization');
    });
  }

  // ---- storage ------------------------------------------------------------------------------

  function checkKey(api, key) {
    if (typeof key !== 'string') {
      throw realmError(`${api}:fail parameter error: parameter.key should be String instead of ${typeName(key)};`);
    }
  }

  /** Stores like WeChat: a copy of the value, so later mutations of the caller's object do not leak in. */
  function store(api, key, value) {
    checkKey(api, key);
    const text = value === undefined ? undefined : JSON.stringify(value);
    const size = Buffer.byteLength(key) + Buffer.byteLength(text || '');
    if (size > STORAGE_ITEM_LIMIT_BYTES) throw realmError(`${api}:fail entry size limit reached`);
    const others = usedBytes() - entryBytes(key);
    if (fake.storageFull || others + size > STORAGE_LIMIT_BYTES) {
      throw realmError(`${api}:fail exceed storage max size 10Mb`);
    }
    fake.storage.set(key, text);
  }

  function load(key) {
    if (!fake.storage.has(key)) return '';
    const text = fake.storage.get(key);
    return text === undefined ? undefined : realm.JSON.parse(text);
  }

  function entryBytes(key) {
    return fake.storage.has(key) ? Buffer.byteLength(key) + Buffer.byteLength(fake.storage.get(key) || '') : 0;
  }

  function usedBytes() {
    let total = 0;
    fake.storage.forEach((text, key) => {
      total += Buffer.byteLength(key) + Buffer.byteLength(text || '');
    });
    return total;
  }

  function storageInfo() {
    return { keys: Array.from(fake.storage.keys()), currentSize: Math.ceil(usedBytes() / 1024), limitSize: STORAGE_LIMIT_BYTES / 1024 };
  }

  /** The stored value as a plain host value (undefined when absent), for assertions. */
  function readStorage(key) {
    if (!fake.storage.has(key)) return undefined;
    const text = fake.storage.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** Puts a value in storage directly (no call is counted), e.g. to start from a stored session. */
  function writeStorage(key, value) {
    fake.storage.set(key, value === undefined ? undefined : JSON.stringify(value));
  }

  const storageSync = {
    getStorageSync(key) {
      record('getStorageSync', key);
      checkKey('getStorageSync', key);
      return load(key);
    },
    setStorageSync(key, value) {
      record('setStorageSync', key);
      store('setStorageSync', key, value);
    },
    removeStorageSync(key) {
      record('removeStorageSync', key);
      checkKey('removeStorageSync', key);
      fake.storage.delete(key);
    },
    clearStorageSync() {
      record('clearStorageSync');
      fake.storage.clear();
    },
    getStorageInfoSync() {
      record('getStorageInfoSync');
      return toRealm(storageInfo());
    },
  };

  const storageAsync = {
    getStorage: asyncApi('getStorage', (opts, settle) => {
      if (typeof opts.key !== 'string') return settle(false, { errMsg: 'getStorage:fail parameter error: parameter.key should be String' });
      if (!fake.storage.has(opts.key)) return settle(false, { errMsg: 'getStorage:fail data not found' });
      return settle(true, { data: readStorage(opts.key), errMsg: 'getStorage:ok' });
    }),
    setStorage: asyncApi('setStorage', (opts, settle) => {
      try {
        store('setStorage', opts.key, opts.data);
      } catch (err) {
        return settle(false, { errMsg: err.message });
      }
      return settle(true, { errMsg: 'setStorage:ok' });
    }),
    removeStorage: asyncApi('removeStorage', (opts, settle) => {
      fake.storage.delete(opts.key);
      settle(true, { errMsg: 'removeStorage:ok' });
    }),
    clearStorage: asyncApi('clearStorage', (opts, settle) => {
      fake.storage.clear();
      settle(true, { errMsg: 'clearStorage:ok' });
    }),
    getStorageInfo: asyncApi('getStorageInfo', (opts, settle) => {
      settle(true, Object.assign(storageInfo(), { errMsg: 'getStorageInfo:ok' }));
    }),
  };

  // ---- interaction --------------------------------------------------------------------------

  // WeChat has one slot for loading and toast: showing one replaces the other, and hideLoading
  // (without noConflict) also closes a toast — which would swallow an error message.
  const interaction = {
    showLoading: asyncApi('showLoading', (opts, settle) => {
      fake.prompt = { kind: 'loading', title: opts.title === undefined ? '' : String(opts.title) };
      settle(true, { errMsg: 'showLoading:ok' });
    }),
    hideLoading: asyncApi('hideLoading', (opts, settle) => {
      if (fake.prompt && fake.prompt.kind === 'toast' && !opts.noConflict) fake.hiddenToasts += 1;
      if (fake.prompt && (fake.prompt.kind === 'loading' || !opts.noConflict)) fake.prompt = null;
      settle(true, { errMsg: 'hideLoading:ok' });
    }),
    showToast: asyncApi('showToast', (opts, settle) => {
      const toast = { title: String(opts.title === undefined ? '' : opts.title), icon: opts.icon || 'success', duration: opts.duration || 1500 };
      fake.toasts.push(toast);
      fake.prompt = { kind: 'toast', title: toast.title };
      settle(true, { errMsg: 'showToast:ok' });
    }),
    hideToast: asyncApi('hideToast', (opts, settle) => {
      if (fake.prompt && (fake.prompt.kind === 'toast' || !opts.noConflict)) fake.prompt = null;
      settle(true, { errMsg: 'hideToast:ok' });
    }),
    showModal: asyncApi('showModal', (opts, settle) => {
      const answer = fake.modalAnswers.length ? fake.modalAnswers.shift() : fake.modalDefault;
      fake.modals.push({
        title: opts.title,
        content: opts.content,
        showCancel: opts.showCancel !== false,
        confirmText: opts.confirmText,
        confirmColor: opts.confirmColor,
        answer,
      });
      const confirm = answer === 'confirm';
      settle(true, { confirm, cancel: !confirm, errMsg: 'showModal:ok' });
    }),
  };

  function navigation(api) {
    return asyncApi(api, (opts, settle) => {
      const entry = { api, url: opts.url, delta: opts.delta };
      fake.navigations.push(entry);
      if (typeof fake.onNavigate === 'function') fake.onNavigate(entry);
      settle(true, { errMsg: `${api}:ok` });
    });
  }

  // ---- network status -----------------------------------------------------------------------

  function setNetwork(state) {
    fake.network = Object.assign({}, fake.network, state);
    const event = { isConnected: fake.network.isConnected, networkType: fake.network.isConnected ? fake.network.networkType : 'none' };
    networkListeners.slice().forEach((listener) => later(() => invoke(listener, toRealm(event), 'onNetworkStatusChange')));
  }

  // ---- reset --------------------------------------------------------------------------------

  function reset() {
    fake.calls = {};
    fake.log.length = 0;
    fake.storage.clear();
    fake.storageFull = false;
    fake.prompt = null;
    fake.toasts.length = 0;
    fake.hiddenToasts = 0;
    fake.modals.length = 0;
    fake.modalAnswers.length = 0;
    fake.modalDefault = 'confirm';
    fake.navigations.length = 0;
    fake.sessionKeyValid = true;
    fake.network = { isConnected: true, networkType: 'wifi' };
    fake.callbackErrors.length = 0;
    fake.missing.clear();
    fake.warnings.length = 0;
    fake.loginFailures.length = 0;
    fake.codesIssued.length = 0;
    fake.files.clear();
    fake.titles.length = 0;
    fake.privacy = { agreed: false, listener: null, answers: [] };
  }

  const api = Object.assign(
    {
      login,
      checkSession,
      request,
      uploadFile,
      setNavigationBarTitle: asyncApi('setNavigationBarTitle', (opts, settle) => {
        fake.titles.push(String(opts.title));
        settle(true, { errMsg: 'setNavigationBarTitle:ok' });
      }),
      onNeedPrivacyAuthorization(listener) {
        record('onNeedPrivacyAuthorization');
        fake.privacy.listener = listener;
      },
      getPrivacySetting: asyncApi('getPrivacySetting', (opts, settle) => {
        settle(true, { needAuthorization: !fake.privacy.agreed, privacyContractName: '《wx-session 示例隐私保护指引》', errMsg: 'getPrivacySetting:ok' });
      }),
      openPrivacyContract: asyncApi('openPrivacyContract', (opts, settle) => {
        settle(true, { errMsg: 'openPrivacyContract:ok' });
      }),
      navigateTo: navigation('navigateTo'),
      redirectTo: navigation('redirectTo'),
      reLaunch: navigation('reLaunch'),
      switchTab: navigation('switchTab'),
      navigateBack: navigation('navigateBack'),
      onNetworkStatusChange(listener) {
        record('onNetworkStatusChange');
        if (typeof listener === 'function') networkListeners.push(listener);
      },
      offNetworkStatusChange(listener) {
        record('offNetworkStatusChange');
        const at = networkListeners.indexOf(listener);
        if (at >= 0) networkListeners.splice(at, 1);
        if (listener === undefined) networkListeners.length = 0;
      },
      getNetworkType: asyncApi('getNetworkType', (opts, settle) => {
        settle(true, { networkType: fake.network.isConnected ? fake.network.networkType : 'none', errMsg: 'getNetworkType:ok' });
      }),
      getSystemInfoSync() {
        record('getSystemInfoSync');
        return toRealm({ SDKVersion: fake.sdkVersion, platform: 'devtools', system: 'Node fake', language: 'zh_CN' });
      },
      getAppBaseInfo() {
        record('getAppBaseInfo');
        return toRealm({ SDKVersion: fake.sdkVersion, language: 'zh_CN' });
      },
      getAccountInfoSync() {
        record('getAccountInfoSync');
        return toRealm({ miniProgram: { appId: 'touristappid', envVersion: 'develop', version: '' } });
      },
      canIUse(schema) {
        record('canIUse', schema);
        return typeof api[String(schema).split('.')[0]] === 'function';
      },
    },
    storageSync,
    storageAsync,
    interaction
  );

  // The target is a realm object so that `wx instanceof Object` holds inside a vm context (the
  // Rust side checks exactly that); the Proxy only notices lookups of APIs the fake lacks.
  const target = Object.assign(realm.JSON.parse('{}'), api);
  fake.wx = new Proxy(target, {
    get(target, name, receiver) {
      if (typeof name === 'string' && !(name in target) && !NOT_API.has(name)) fake.missing.add(name);
      return Reflect.get(target, name, receiver);
    },
  });
  return fake;
}

/**
 * Turns wx.request's `data` into what goes on the wire, as the base library documents: GET data
 * becomes the query string; other methods send JSON unless the content-type says urlencoded;
 * strings go as they are.
 */
function encodeRequest(method, url, header, data) {
  if (data === undefined || data === null) return { url, body: '' };
  if (typeof data === 'string') return method === 'GET' ? { url: appendQuery(url, data), body: '' } : { url, body: data };
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data) || Object.prototype.toString.call(data) === '[object ArrayBuffer]') {
    return { url, body: Buffer.from(data.buffer || data).toString('utf8') };
  }
  const contentTypeKey = Object.keys(header).find((key) => key.toLowerCase() === 'content-type');
  const contentType = contentTypeKey ? String(header[contentTypeKey]) : 'application/json';
  if (method === 'GET') return { url: appendQuery(url, queryString(data)), body: '' };
  if (/x-www-form-urlencoded/i.test(contentType)) return { url, body: queryString(data) };
  if (!contentTypeKey) header['content-type'] = 'application/json';
  return { url, body: JSON.stringify(data) };
}

function queryString(data) {
  return Object.keys(data)
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(data[key])}`)
    .join('&');
}

function appendQuery(url, query) {
  if (!query) return url;
  return url + (url.includes('?') ? '&' : '?') + query;
}

function typeName(value) {
  if (value === null) return 'Null';
  if (value === undefined) return 'Undefined';
  const t = typeof value;
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** A short, inert record of a call's argument for `fake.log` (functions become names). */
function summarise(arg) {
  if (arg === undefined || arg === null || typeof arg !== 'object') return arg;
  const out = {};
  Object.keys(arg).forEach((key) => {
    const value = arg[key];
    out[key] = typeof value === 'function' ? '[function]' : value;
  });
  return out;
}

module.exports = { createFakeWx, HOST_REALM };

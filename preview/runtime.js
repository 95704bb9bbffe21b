/**
 * The mini-program runtime, in a browser page: runs the real miniprogram/ (app.js, the pages, the
 * session module and its WebAssembly) on miniprogram-simulate's browser bundle, with a `wx` whose
 * network, storage and UI calls are backed by fetch, localStorage and HTML.
 *
 * Loaded by preview/index.html after /vendor/simulate.js. What it provides, and why:
 * - a CommonJS loader (require/module/exports) over the package's files, fetched once from
 *   /__package: mini-program code is CommonJS and requires synchronously, so no bundler is needed;
 *   mini-program code runs with window/document/fetch/WebAssembly/TextDecoder… shadowed to
 *   `undefined`, as on a device, so a page leaning on a browser API fails here too;
 * - App/getApp, Page (mapped onto the simulator's Component), getCurrentPages and a page stack
 *   for navigateTo/navigateBack/redirectTo/reLaunch;
 * - `wx`: login (a code from the dev server's POST /dev/code), request (fetch), uploadFile
 *   (fetch + FormData), storage (localStorage, JSON-encoded), checkSession, loading/toast/modal
 *   (HTML in the phone frame), setNavigationBarTitle, network status, the privacy gate
 *   (onNeedPrivacyAuthorization, getPrivacySetting, openPrivacyContract);
 *   WXWebAssembly.instantiate(path, imports) over the package's .wasm.br;
 * - the built-ins the account page needs: <button open-type="chooseAvatar"> (a file picker whose
 *   picture becomes a temporary `wxfile://` path that <image> shows and wx.uploadFile sends),
 *   open-type="getPhoneNumber" (a confirm, then a fake one-time code), open-type=
 *   "agreePrivacyAuthorization", and <input> (type="nickname" included) with input/blur/confirm;
 *   privacy APIs wait for the app's privacy popup as on a phone (consent kept in sessionStorage,
 *   so it lasts until the tab closes, and is never in the mini-program's storage);
 * - a mouse bridge: the simulator only turns touch events into WeChat `tap`, so a mouse click on
 *   a desktop becomes a synthetic touch;
 * - window.__preview, a handle for tests and curious people (session module, toasts, storage).
 */
(function previewRuntime() {
  'use strict';

  // Captured before anything else: mini-program code sees these names as undefined.
  const browserFetch = window.fetch.bind(window);
  const BrowserWebAssembly = window.WebAssembly;
  const storage = window.localStorage;

  /** Browser globals that do not exist in the mini-program's JS engine (shared/notes/wechat-runtime.md). */
  const HIDDEN_GLOBALS = [
    'window', 'document', 'self', 'fetch', 'XMLHttpRequest', 'WebAssembly', 'TextEncoder', 'TextDecoder',
    'URL', 'Request', 'Response', 'localStorage', 'sessionStorage', 'crypto',
  ];
  const DEFAULT_USER = 'alice';
  const USER_PATTERN = /^[A-Za-z0-9_-]{1,32}$/; // what the server's POST /dev/code accepts
  const STORAGE_LIMIT_KB = 10240;
  /** Where the preview remembers the privacy consent (not localStorage: that is the app's storage). */
  const PRIVACY_KEY = 'wx-preview-privacy-agreed';
  const PRIVACY_CONTRACT = '《wx-session 示例隐私保护指引》';

  const query = new URLSearchParams(window.location.search);
  const ui = {
    pages: document.getElementById('mp-pages'),
    title: document.getElementById('mp-title'),
    back: document.getElementById('mp-back'),
    prompt: document.getElementById('mp-prompt'),
    promptMask: document.getElementById('mp-prompt-mask'),
    modal: document.getElementById('mp-modal'),
    user: document.getElementById('dev-user'),
    api: document.getElementById('dev-api'),
    storage: document.getElementById('dev-storage'),
    error: document.getElementById('mp-error'),
  };

  /** What tests and people can look at: window.__preview. */
  const preview = {
    ready: null,
    error: null,
    toasts: [],
    modals: [],
    navigations: [],
    requests: [],
    app: () => app,
    // A package file ('session/index.js') or, as pages require it, an npm name ('wx-session').
    require: (file) => requireModule(hasFile(normalize(file)) ? normalize(file) : resolve('', file)),
    pages: () => stack.map((entry) => ({ route: entry.route, data: entry.comp.data })),
    storage: storageSnapshot,
    user: currentUser,
    uploads: [],
    privacy: { answers: [], agreed: () => privacyAgreed() },
  };
  window.__preview = preview;

  let pkg = null; // { api, baseUrl, protocol, appJson, files }
  let app = null;
  const stack = []; // [{ route, query, wrapper, comp, instance, title }]
  const loadedPages = new Map(); // route → simulator component id (a route loads once)
  let pendingEntry = null;

  // ---- paths and the CommonJS loader ---------------------------------------------------------

  /** 'pages/index/../../session/index.js' → 'session/index.js' (package-relative, no leading '/'). */
  function normalize(file) {
    const out = [];
    String(file).split('/').forEach((part) => {
      if (part === '' || part === '.') return;
      if (part === '..') out.pop();
      else out.push(part);
    });
    return out.join('/');
  }

  function dirname(file) {
    const at = file.lastIndexOf('/');
    return at < 0 ? '' : file.slice(0, at);
  }

  const hasFile = (file) => Object.prototype.hasOwnProperty.call(pkg.files, file);

  /**
   * A require() argument, as seen from `from`, to a file in the package. A bare name
   * ('wx-session') is looked up as the runtime does: in miniprogram_npm/ (what 构建 npm fills) of
   * `from`'s folder, then of each folder above it; a package's entry is its index.js.
   */
  function resolve(from, request) {
    if (!/^\.{0,2}\//.test(request)) {
      const parts = dirname(from || '').split('/').filter(Boolean);
      for (let n = parts.length; n >= 0; n -= 1) {
        const base = normalize(`${parts.slice(0, n).join('/')}/miniprogram_npm/${request}`);
        const found = [base, `${base}.js`, `${base}/index.js`].find((file) => file.endsWith('.js') && hasFile(file));
        if (found) return found;
      }
      throw new Error(`module "${request}" is not defined (required from ${from || 'the runtime'}; no miniprogram_npm/ has it)`);
    }
    const base = request.startsWith('/') ? request : `${dirname(from)}/${request}`;
    const file = normalize(base);
    if (hasFile(file)) return file;
    if (hasFile(`${file}.js`)) return `${file}.js`;
    throw new Error(`module "${file}" is not defined (required from ${from || 'the runtime'})`);
  }

  const modules = new Map();

  /** Runs one package file as a CommonJS module; the browser globals it must not use are shadowed. */
  function runModule(file, module) {
    const body = `${pkg.files[file]}\n//# sourceURL=mp:///${file}`;
    // eslint-disable-next-line no-new-func
    const fn = new Function('require', 'module', 'exports', ...HIDDEN_GLOBALS, body);
    fn.call(module.exports, (request) => requireModule(resolve(file, request)), module, module.exports);
  }

  function requireModule(file) {
    if (modules.has(file)) return modules.get(file).exports;
    if (!Object.prototype.hasOwnProperty.call(pkg.files, file)) throw new Error(`module "${file}" is not defined`);
    const module = { id: file, exports: {} };
    modules.set(file, module); // before running: a require cycle gets the partial exports, as in Node
    try {
      runModule(file, module);
    } catch (err) {
      modules.delete(file);
      throw err;
    }
    return module.exports;
  }

  // ---- wx: calling conventions ----------------------------------------------------------------

  function describe(err) {
    if (!err) return 'unknown error';
    return err.errMsg || err.message || String(err);
  }

  /** Calls a caller's callback the way WeChat does: an exception there is logged, not thrown. */
  function invoke(callback, payload, api) {
    if (typeof callback !== 'function') return;
    try {
      callback(payload);
    } catch (err) {
      console.error(`[preview] wx.${api} callback threw`, err);
    }
  }

  /**
   * An async wx API: `body(options)` runs at once (so UI calls keep their order) and returns the
   * result or a Promise of it; success/fail/complete are called later, as a macrotask. Without
   * any of the three the call returns a Promise (base library ≥ 2.10.2) rejecting with { errMsg }.
   */
  function asyncApi(api, body) {
    return function wxAsyncApi(options) {
      const opts = options || {};
      let outcome;
      try {
        outcome = Promise.resolve(body(opts));
      } catch (err) {
        outcome = Promise.reject(err);
      }
      const settled = outcome
        .then(
          (result) => ({ ok: true, payload: Object.assign({ errMsg: `${api}:ok` }, result) }),
          (err) => ({ ok: false, payload: { errMsg: `${api}:fail ${describe(err)}` } })
        )
        .then((result) => new Promise((done) => setTimeout(() => done(result), 0)));
      if (!opts.success && !opts.fail && !opts.complete) {
        return settled.then((result) => (result.ok ? result.payload : Promise.reject(result.payload)));
      }
      settled.then((result) => {
        invoke(result.ok ? opts.success : opts.fail, result.payload, api);
        invoke(opts.complete, result.payload, api);
      });
      return undefined;
    };
  }

  // ---- wx.login: the dev server stands in for WeChat ---------------------------------------------

  function currentUser() {
    const name = ui.user ? ui.user.value.trim() : '';
    return name || DEFAULT_USER;
  }

  /**
   * A code from POST /dev/code for the chosen user. If the dev server cannot be reached, a local
   * code is made up instead: on a phone wx.login talks to WeChat, not to our server, so "server
   * down" must show up at the server login call (NETWORK), not as a wx.login failure.
   */
  async function devCode() {
    const user = currentUser();
    if (!USER_PATTERN.test(user)) throw new Error(`用户名 "${user}" 无效 (1-32 个 A-Z a-z 0-9 _ -)`);
    let response;
    try {
      response = await browserFetch(`${pkg.api}/dev/code`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user }),
        cache: 'no-store',
      });
    } catch (err) {
      console.warn(`[preview] ${pkg.api}/dev/code unreachable (${describe(err)}); wx.login returns an offline code`);
      return `preview_offline_${Date.now().toString(16)}`;
    }
    const text = await response.text();
    if (!response.ok) throw new Error(`POST /dev/code answered ${response.status}: ${text.slice(0, 200)}`);
    const code = JSON.parse(text).code;
    if (typeof code !== 'string' || !code) throw new Error('POST /dev/code answered without a code');
    return code;
  }

  // ---- wx.request over fetch ------------------------------------------------------------------------

  function encodeQuery(data) {
    return Object.keys(data)
      .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(typeof data[key] === 'object' ? JSON.stringify(data[key]) : data[key])}`)
      .join('&');
  }

  function request(options) {
    const opts = options || {};
    const controller = new AbortController();
    let stopReason = null; // 'abort' | 'timeout'
    let finished = false;
    const task = {
      abort() {
        stopReason = stopReason || 'abort';
        controller.abort();
      },
      onHeadersReceived() {},
      offHeadersReceived() {},
    };
    const configured = pkg.appJson.networkTimeout && pkg.appJson.networkTimeout.request;
    const timeoutMs = opts.timeout > 0 ? opts.timeout : configured || 60000;
    const timer = setTimeout(() => {
      stopReason = 'timeout';
      controller.abort();
    }, timeoutMs);
    const record = { method: String(opts.method || 'GET').toUpperCase(), url: opts.url, status: null, error: null };
    preview.requests.push(record);

    const finish = (ok, payload) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      invoke(ok ? opts.success : opts.fail, payload, 'request');
      invoke(opts.complete, payload, 'request');
    };

    (async () => {
      const method = record.method;
      let url = opts.url;
      if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new Error(`invalid url "${url}"`);
      const headers = new Headers();
      Object.keys(opts.header || {}).forEach((name) => {
        try {
          headers.set(name, String(opts.header[name]));
        } catch (err) {
          console.warn(`[preview] wx.request: header ${name} dropped (${describe(err)})`);
        }
      });
      let body;
      const data = opts.data;
      if (data !== undefined && data !== null) {
        if (method === 'GET' || method === 'HEAD') {
          // WeChat turns GET data into the query string.
          const extra = typeof data === 'string' ? data : encodeQuery(data);
          if (extra) url += (url.includes('?') ? '&' : '?') + extra;
        } else if (typeof data === 'string' || data instanceof ArrayBuffer) {
          body = data; // strings go as they are: the caller chose the encoding
        } else if (/application\/x-www-form-urlencoded/i.test(headers.get('content-type') || '')) {
          body = encodeQuery(data);
        } else {
          body = JSON.stringify(data);
          if (!headers.has('content-type')) headers.set('Content-Type', 'application/json');
        }
      }
      const response = await browserFetch(url, { method, headers, body, signal: controller.signal, cache: 'no-store' });
      const header = {};
      response.headers.forEach((value, name) => {
        header[name] = value;
      });
      let payloadData;
      if (opts.responseType === 'arraybuffer') {
        payloadData = await response.arrayBuffer();
      } else {
        const text = await response.text();
        payloadData = text;
        // dataType 'json' (the default) parses, and falls back to the raw text; any other gives text.
        if (opts.dataType === undefined || opts.dataType === 'json') {
          try {
            payloadData = JSON.parse(text);
          } catch (err) {
            payloadData = text;
          }
        }
      }
      record.status = response.status;
      finish(true, { data: payloadData, statusCode: response.status, header, cookies: [], errMsg: 'request:ok' });
    })().catch((err) => {
      const reason = stopReason === 'timeout' ? 'timeout' : stopReason === 'abort' ? 'abort' : describe(err);
      record.error = reason;
      finish(false, { errMsg: `request:fail ${reason}` });
    });
    return task;
  }

  // ---- temporary files and wx.uploadFile ------------------------------------------------------------

  /** wxfile://tmp_<n>.<ext> → { blob, url (an object URL for <image>) }: what chooseAvatar hands out. */
  const tempFiles = new Map();
  let tempSeq = 0;

  function addTempFile(blob, name) {
    tempSeq += 1;
    const ext = (/\.([A-Za-z0-9]{1,5})$/.exec(name || '') || [null, 'png'])[1].toLowerCase();
    const filePath = `wxfile://tmp_${Date.now().toString(36)}_${tempSeq}.${ext}`;
    tempFiles.set(filePath, { blob, url: URL.createObjectURL(blob) });
    return filePath;
  }

  /** An <image src> as the browser can show it: temporary files by their object URL. */
  function imageSource(src) {
    const temp = tempFiles.get(src);
    return temp ? temp.url : src;
  }

  /**
   * wx.uploadFile: one file (field `name`) and formData's fields as multipart/form-data. Like
   * WeChat: `data` in the answer is the body as text, and it returns an UploadTask, never a Promise.
   */
  function uploadFile(options) {
    const opts = options || {};
    const controller = new AbortController();
    let finished = false;
    const task = {
      abort: () => controller.abort(),
      onProgressUpdate() {},
      offProgressUpdate() {},
      onHeadersReceived() {},
      offHeadersReceived() {},
    };
    const record = { url: opts.url, filePath: opts.filePath, name: opts.name, status: null, error: null };
    preview.uploads.push(record);
    const finish = (ok, payload) => {
      if (finished) return;
      finished = true;
      invoke(ok ? opts.success : opts.fail, payload, 'uploadFile');
      invoke(opts.complete, payload, 'uploadFile');
    };
    (async () => {
      if (typeof opts.url !== 'string' || !/^https?:\/\//.test(opts.url)) throw new Error(`invalid url "${opts.url}"`);
      const temp = tempFiles.get(opts.filePath);
      if (!temp) throw new Error(`file not found: ${opts.filePath}`);
      if (typeof opts.name !== 'string' || !opts.name) throw new Error('parameter.name should be a non-empty String');
      const form = new FormData();
      Object.keys(opts.formData || {}).forEach((key) => form.append(key, String(opts.formData[key])));
      form.append(opts.name, temp.blob, opts.filePath.split('/').pop());
      const headers = new Headers();
      Object.keys(opts.header || {}).forEach((name) => {
        // The browser writes the multipart content-type with its boundary itself.
        if (name.toLowerCase() !== 'content-type') headers.set(name, String(opts.header[name]));
      });
      const response = await browserFetch(opts.url, { method: 'POST', headers, body: form, signal: controller.signal, cache: 'no-store' });
      const header = {};
      response.headers.forEach((value, name) => {
        header[name] = value;
      });
      const text = await response.text();
      record.status = response.status;
      finish(true, { data: text, statusCode: response.status, header, errMsg: 'uploadFile:ok' });
    })().catch((err) => {
      record.error = describe(err);
      finish(false, { errMsg: `uploadFile:fail ${record.error}` });
    });
    return task;
  }

  // ---- the privacy gate (base library 2.32.3+) ----------------------------------------------------------

  let privacyListener = null;
  /** ids of the agreePrivacyAuthorization buttons tapped since the gate last asked. */
  const agreeButtonsTapped = new Set();

  function privacyAgreed() {
    return window.sessionStorage.getItem(PRIVACY_KEY) === 'true';
  }

  /**
   * What WeChat does before a privacy API: without consent it holds the call and asks the app's
   * onNeedPrivacyAuthorization listener, whose resolve() says agree (naming the agree button) or
   * disagree. Resolves true when the call may go on. No listener: WeChat's own popup would ask;
   * the preview lets the call through and says so in the console.
   */
  function privacyGate(referrer) {
    if (privacyAgreed()) return Promise.resolve(true);
    if (typeof privacyListener !== 'function') {
      console.warn(`[preview] ${referrer}: no wx.onNeedPrivacyAuthorization listener; WeChat would show its own privacy popup`);
      return Promise.resolve(true);
    }
    agreeButtonsTapped.clear();
    return new Promise((done) => {
      const resolve = (result) => {
        const answer = { event: result && result.event };
        if (result && result.buttonId !== undefined) answer.buttonId = result.buttonId;
        preview.privacy.answers.push(answer);
        if (answer.event === 'agree') {
          if (!agreeButtonsTapped.has(answer.buttonId)) {
            console.error(`[preview] resolve({ event: 'agree' }) names buttonId ${answer.buttonId}, but no agreePrivacyAuthorization button with that id was tapped`);
            return done(false);
          }
          window.sessionStorage.setItem(PRIVACY_KEY, 'true');
          return done(true);
        }
        if (answer.event === 'disagree') return done(false);
        return undefined; // exposureAuthorization: the popup is on screen
      };
      invoke(() => privacyListener(resolve, { referrer }), undefined, 'onNeedPrivacyAuthorization');
    });
  }

  // ---- storage over localStorage ------------------------------------------------------------------

  function checkKey(api, key) {
    if (typeof key !== 'string' || key === '') throw new Error(`${api}:fail parameter error: parameter.key should be a non-empty String`);
  }

  /** Values are stored JSON-encoded so numbers and objects come back as they went in. */
  function setStorageSync(key, value) {
    checkKey('setStorageSync', key);
    const text = JSON.stringify(value === undefined ? null : value);
    try {
      storage.setItem(key, text);
    } catch (err) {
      throw new Error('setStorageSync:fail exceed storage max size 10Mb');
    }
    renderStorage();
  }

  function getStorageSync(key) {
    checkKey('getStorageSync', key);
    const text = storage.getItem(key);
    if (text === null) return ''; // WeChat's answer for a missing key
    try {
      return JSON.parse(text);
    } catch (err) {
      return text; // written by someone else (a person in DevTools): hand it back as it is
    }
  }

  function removeStorageSync(key) {
    checkKey('removeStorageSync', key);
    storage.removeItem(key);
    renderStorage();
  }

  function clearStorageSync() {
    storage.clear();
    renderStorage();
  }

  function getStorageInfoSync() {
    const keys = [];
    let bytes = 0;
    for (let i = 0; i < storage.length; i += 1) {
      const key = storage.key(i);
      keys.push(key);
      bytes += key.length + (storage.getItem(key) || '').length;
    }
    return { keys, currentSize: Math.ceil(bytes / 1024), limitSize: STORAGE_LIMIT_KB };
  }

  function storageSnapshot() {
    const out = {};
    getStorageInfoSync().keys.sort().forEach((key) => {
      out[key] = getStorageSync(key);
    });
    return out;
  }

  // ---- loading, toast, modal -----------------------------------------------------------------------

  // WeChat has one slot for loading and toast: each replaces the other, and hideLoading/hideToast
  // close whichever is showing unless called with { noConflict: true }.
  let prompt = null; // { kind, title, icon, timer }

  function showPrompt(next) {
    if (prompt && prompt.timer) clearTimeout(prompt.timer);
    prompt = next;
    ui.prompt.hidden = false;
    ui.prompt.dataset.kind = next.kind;
    ui.prompt.dataset.icon = next.icon || 'none';
    ui.prompt.querySelector('.mp-prompt-title').textContent = next.title;
    ui.promptMask.hidden = !next.mask;
  }

  function hidePrompt(kind, noConflict) {
    if (!prompt || (noConflict && prompt.kind !== kind)) return;
    if (prompt.timer) clearTimeout(prompt.timer);
    prompt = null;
    ui.prompt.hidden = true;
    ui.promptMask.hidden = true;
  }

  function showToast(opts) {
    const entry = { title: String(opts.title || ''), icon: opts.icon || 'success', at: Date.now() };
    preview.toasts.push(entry);
    showPrompt({ kind: 'toast', title: entry.title, icon: entry.icon, mask: Boolean(opts.mask) });
    const shown = prompt;
    shown.timer = setTimeout(() => {
      if (prompt === shown) hidePrompt('toast', true);
    }, opts.duration > 0 ? opts.duration : 1500);
  }

  const modalQueue = [];

  /** One modal at a time; a second waits for the first, as on a phone. */
  function showModal(opts) {
    return new Promise((resolveAnswer) => {
      modalQueue.push({ opts, resolveAnswer });
      if (modalQueue.length === 1) openNextModal();
    });
  }

  function openNextModal() {
    const next = modalQueue[0];
    if (!next) return;
    const { opts } = next;
    const record = { title: opts.title || '', content: opts.content || '', answer: null };
    preview.modals.push(record);
    const box = ui.modal;
    box.querySelector('.mp-modal-title').textContent = record.title;
    box.querySelector('.mp-modal-title').hidden = !record.title;
    box.querySelector('.mp-modal-content').textContent = record.content;
    const cancel = box.querySelector('[data-answer="cancel"]');
    const confirm = box.querySelector('[data-answer="confirm"]');
    cancel.textContent = opts.cancelText || '取消';
    cancel.style.color = opts.cancelColor || '';
    cancel.hidden = opts.showCancel === false;
    confirm.textContent = opts.confirmText || '确定';
    confirm.style.color = opts.confirmColor || '';
    box.hidden = false;
    box.onclick = (event) => {
      const button = event.target.closest('[data-answer]');
      if (!button) return;
      box.onclick = null;
      box.hidden = true;
      record.answer = button.dataset.answer;
      modalQueue.shift();
      next.resolveAnswer({ confirm: record.answer === 'confirm', cancel: record.answer === 'cancel', content: null });
      openNextModal();
    };
  }

  // ---- pages and navigation ------------------------------------------------------------------------

  /** '/pages/user/user?x=1' → { route: 'pages/user/user', query: { x: '1' } }, checked against app.json. */
  function parsePageUrl(url, api) {
    if (typeof url !== 'string' || !url) throw new Error('url is required');
    const [pathPart, search = ''] = url.split('?');
    const route = normalize(pathPart);
    if (!pkg.appJson.pages.includes(route)) throw new Error(`page "${route}" is not found`);
    const pageQuery = {};
    new URLSearchParams(search).forEach((value, key) => {
      pageQuery[key] = value;
    });
    preview.navigations.push({ api, url });
    return { route, query: pageQuery };
  }

  /** The page definition as a simulator Component: lifetimes call the page callbacks. */
  function pageComponent(definition) {
    const methods = {};
    Object.keys(definition).forEach((key) => {
      if (typeof definition[key] === 'function') methods[key] = definition[key];
    });
    const call = (page, name, ...args) => (typeof page[name] === 'function' ? page[name](...args) : undefined);
    return {
      data: definition.data || {},
      methods,
      lifetimes: {
        attached() {
          if (pendingEntry) {
            this.route = pendingEntry.route;
            this.options = pendingEntry.query;
          }
          call(this, 'onLoad', pendingEntry ? pendingEntry.query : {});
          call(this, 'onShow');
        },
        ready() {
          call(this, 'onReady');
        },
        detached() {
          call(this, 'onUnload');
        },
      },
      pageLifetimes: {
        show() {
          call(this, 'onShow');
        },
        hide() {
          call(this, 'onHide');
        },
      },
    };
  }

  function pageTitle(route) {
    let json = {};
    try {
      json = JSON.parse(pkg.files[`${route}.json`] || '{}');
    } catch (err) {
      console.warn(`[preview] ${route}.json is not JSON`, err);
    }
    const windowJson = pkg.appJson.window || {};
    return json.navigationBarTitleText || windowJson.navigationBarTitleText || '';
  }

  function openPage(route, pageQuery) {
    let id = loadedPages.get(route);
    if (!id) {
      // The page's class prefix is its own, so two pages' wxss cannot collide.
      const tag = `page-${route.replace(/[^A-Za-z0-9]+/g, '-')}`;
      id = window.simulate.load(route, tag, { compiler: 'simulate', rootPath: '' });
      loadedPages.set(route, id);
    }
    const wrapper = document.createElement('page'); // app.wxss's `page { … }` styles this element
    wrapper.dataset.route = route;
    ui.pages.appendChild(wrapper);
    const entry = { route, query: pageQuery, wrapper, comp: null, instance: null, title: pageTitle(route) };
    pendingEntry = entry;
    try {
      entry.comp = window.simulate.render(id);
      entry.instance = entry.comp.instance;
      entry.instance.route = route;
      stack.push(entry); // before attach: onShow may already call getCurrentPages()
      entry.comp.attach(wrapper);
    } finally {
      pendingEntry = null;
    }
    renderChrome();
    return entry;
  }

  function closePage(entry) {
    const at = stack.indexOf(entry);
    if (at >= 0) stack.splice(at, 1);
    entry.comp.detach();
    entry.wrapper.remove();
  }

  function hideTop() {
    const top = stack[stack.length - 1];
    if (!top) return;
    top.wrapper.hidden = true;
    top.comp.triggerPageLifeTime('hide');
  }

  function showTop() {
    const top = stack[stack.length - 1];
    if (!top) return;
    top.wrapper.hidden = false;
    top.comp.triggerPageLifeTime('show');
    renderChrome();
  }

  function renderChrome() {
    const top = stack[stack.length - 1];
    ui.title.textContent = top ? top.title : '';
    ui.back.hidden = stack.length < 2;
    document.title = top ? `${top.title} · wx-session 预览` : 'wx-session 预览';
  }

  /** Navigation happens a macrotask later, as in WeChat, never inside the caller's tap handler. */
  const nextTask = () => new Promise((done) => setTimeout(done, 0));

  const navigation = {
    navigateTo: asyncApi('navigateTo', async (opts) => {
      const target = parsePageUrl(opts.url, 'navigateTo');
      await nextTask();
      hideTop();
      openPage(target.route, target.query);
    }),
    redirectTo: asyncApi('redirectTo', async (opts) => {
      const target = parsePageUrl(opts.url, 'redirectTo');
      await nextTask();
      if (stack.length) closePage(stack[stack.length - 1]);
      openPage(target.route, target.query);
    }),
    reLaunch: asyncApi('reLaunch', async (opts) => {
      const target = parsePageUrl(opts.url, 'reLaunch');
      await nextTask();
      while (stack.length) closePage(stack[stack.length - 1]);
      openPage(target.route, target.query);
    }),
    navigateBack: asyncApi('navigateBack', async (opts) => {
      preview.navigations.push({ api: 'navigateBack', delta: opts.delta || 1 });
      if (stack.length < 2) throw new Error('cannot navigate back at first page.');
      await nextTask();
      const delta = Math.min(Math.max(1, opts.delta || 1), stack.length - 1);
      for (let i = 0; i < delta; i += 1) closePage(stack[stack.length - 1]);
      showTop();
    }),
  };
  navigation.switchTab = navigation.reLaunch; // app.json has no tabBar; a tab switch is a relaunch here

  // ---- background and foreground --------------------------------------------------------------------

  /** As when the user leaves WeChat (or switches chats) and comes back: onHide, then onShow. */
  function toBackground() {
    const top = stack[stack.length - 1];
    if (top) top.comp.triggerPageLifeTime('hide');
    if (app && typeof app.onHide === 'function') app.onHide();
  }

  function toForeground() {
    if (app && typeof app.onShow === 'function') app.onShow({ path: stack.length ? stack[stack.length - 1].route : '', query: {}, scene: 1001 });
    const top = stack[stack.length - 1];
    if (top) top.comp.triggerPageLifeTime('show');
  }
  preview.background = toBackground;
  preview.foreground = toForeground;

  // ---- network status -------------------------------------------------------------------------------

  const networkListeners = [];
  const networkState = () => ({ isConnected: navigator.onLine, networkType: navigator.onLine ? 'wifi' : 'none' });
  ['online', 'offline'].forEach((name) =>
    window.addEventListener(name, () => networkListeners.slice().forEach((listener) => invoke(listener, networkState(), 'onNetworkStatusChange')))
  );

  // ---- the wx object ----------------------------------------------------------------------------------

  const previewWx = {
    login: asyncApi('login', (opts) => {
      // The session passes a timeout because a real wx.login can hang; honour it the same way.
      if (!(opts.timeout > 0)) return devCode().then((code) => ({ code }));
      let timer;
      const expired = new Promise((resolve, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), opts.timeout);
      });
      return Promise.race([devCode(), expired]).then(
        (code) => {
          clearTimeout(timer);
          return { code };
        },
        (err) => {
          clearTimeout(timer);
          throw err;
        }
      );
    }),
    checkSession: asyncApi('checkSession', () => ({})), // the dev server has no session_key to expire
    request,
    getStorageSync,
    setStorageSync,
    removeStorageSync,
    clearStorageSync,
    getStorageInfoSync,
    getStorage: asyncApi('getStorage', (opts) => {
      if (storage.getItem(opts.key) === null) throw new Error('data not found');
      return { data: getStorageSync(opts.key) };
    }),
    setStorage: asyncApi('setStorage', (opts) => {
      setStorageSync(opts.key, opts.data);
    }),
    removeStorage: asyncApi('removeStorage', (opts) => {
      removeStorageSync(opts.key);
    }),
    clearStorage: asyncApi('clearStorage', () => {
      clearStorageSync();
    }),
    getStorageInfo: asyncApi('getStorageInfo', () => getStorageInfoSync()),
    showLoading: asyncApi('showLoading', (opts) => {
      showPrompt({ kind: 'loading', title: String(opts.title || ''), icon: 'loading', mask: Boolean(opts.mask) });
    }),
    hideLoading: asyncApi('hideLoading', (opts) => {
      hidePrompt('loading', opts.noConflict);
    }),
    showToast: asyncApi('showToast', (opts) => {
      showToast(opts);
    }),
    hideToast: asyncApi('hideToast', (opts) => {
      hidePrompt('toast', opts.noConflict);
    }),
    showModal: asyncApi('showModal', (opts) => showModal(opts)),
    uploadFile,
    onNeedPrivacyAuthorization(listener) {
      privacyListener = listener;
    },
    getPrivacySetting: asyncApi('getPrivacySetting', () => ({ needAuthorization: !privacyAgreed(), privacyContractName: PRIVACY_CONTRACT })),
    openPrivacyContract: asyncApi('openPrivacyContract', () => {
      // On a phone: WeChat's page with the guide filled in on the admin console.
      showModal({ title: PRIVACY_CONTRACT, content: '（预览）手机上这里打开小程序后台填写的隐私保护指引。', showCancel: false });
    }),
    setNavigationBarTitle: asyncApi('setNavigationBarTitle', (opts) => {
      const top = stack[stack.length - 1];
      if (top) top.title = String(opts.title || '');
      renderChrome();
    }),
    onNetworkStatusChange(listener) {
      if (typeof listener === 'function') networkListeners.push(listener);
    },
    offNetworkStatusChange(listener) {
      const at = networkListeners.indexOf(listener);
      if (at >= 0) networkListeners.splice(at, 1);
    },
    getNetworkType: asyncApi('getNetworkType', () => ({ networkType: networkState().networkType })),
  };
  Object.assign(previewWx, navigation);

  /** WXWebAssembly: only a path inside the package, as on a device. */
  const previewWXWebAssembly = {
    instantiate(path, imports) {
      if (typeof path !== 'string' || !/\.wasm(\.br)?$/.test(path)) {
        return Promise.reject(new TypeError(`WXWebAssembly.instantiate: path must name a .wasm or .wasm.br file in the package, got ${String(path)}`));
      }
      // The preview server decompresses .wasm.br: Chromium's DecompressionStream has no 'br'.
      const file = normalize(path);
      return browserFetch(`/__wasm/${file}`, { cache: 'no-store' })
        .then((response) => {
          if (!response.ok) throw new Error(`${path}: the preview server answered ${response.status}`);
          return response.arrayBuffer();
        })
        .then((bytes) => BrowserWebAssembly.instantiate(bytes, imports));
    },
    Memory: BrowserWebAssembly.Memory,
    Table: BrowserWebAssembly.Table,
    Global: BrowserWebAssembly.Global,
    RuntimeError: BrowserWebAssembly.RuntimeError,
  };

  // ---- the developer panel -------------------------------------------------------------------------

  function shorten(value) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > 48 ? `${text.slice(0, 45)}…` : text;
  }

  function renderStorage() {
    if (!ui.storage) return;
    const snapshot = storageSnapshot();
    const keys = Object.keys(snapshot);
    ui.storage.textContent = '';
    if (!keys.length) {
      ui.storage.textContent = '（空）';
      return;
    }
    keys.forEach((key) => {
      const row = document.createElement('div');
      row.className = 'dev-storage-row';
      const name = document.createElement('code');
      name.textContent = key;
      const value = document.createElement('span');
      value.textContent = shorten(snapshot[key]);
      value.title = typeof snapshot[key] === 'string' ? snapshot[key] : JSON.stringify(snapshot[key]);
      row.append(name, value);
      ui.storage.appendChild(row);
    });
  }

  function setUpDevPanel() {
    const given = query.get('user');
    ui.user.value = given && USER_PATTERN.test(given) ? given : DEFAULT_USER;
    ui.user.addEventListener('change', () => {
      // Kept in the address so a reload (a relaunch) logs in the same user.
      const next = new URLSearchParams(window.location.search);
      next.set('user', currentUser());
      window.history.replaceState(null, '', `?${next}`);
    });
    // Where the app's requests go and in which protocol (scripts/dev.sh --protocol).
    ui.api.textContent = `${pkg.baseUrl || pkg.api} · ${pkg.protocol || 'default'}`;
    document.getElementById('dev-relaunch').addEventListener('click', () => window.location.reload());
    document.getElementById('dev-foreground').addEventListener('click', () => {
      toBackground();
      setTimeout(toForeground, 300);
    });
    document.getElementById('dev-clear').addEventListener('click', () => {
      storage.clear();
      window.sessionStorage.removeItem(PRIVACY_KEY); // a fresh phone has not agreed yet either
      window.location.reload();
    });
    ui.back.addEventListener('click', () => previewWx.navigateBack({ delta: 1 }).catch(() => {}));
    window.addEventListener('storage', renderStorage); // another tab of the same preview
    renderStorage();
  }

  // ---- taps -----------------------------------------------------------------------------------------

  function touchAt(target, x, y) {
    return new Touch({ identifier: Date.now(), target, clientX: x, clientY: y, pageX: x + window.scrollX, pageY: y + window.scrollY });
  }

  /** Mouse clicks become a touchstart/touchend pair, which the simulator turns into `tap`. */
  function bridgeMouseTaps() {
    ui.pages.addEventListener('click', (event) => {
      if (event.pointerType !== 'mouse') return; // a touch already produced its own tap
      const touch = touchAt(event.target, event.clientX, event.clientY);
      const init = { bubbles: true, cancelable: true, composed: true };
      event.target.dispatchEvent(new TouchEvent('touchstart', Object.assign({ touches: [touch], targetTouches: [touch], changedTouches: [touch] }, init)));
      event.target.dispatchEvent(new TouchEvent('touchend', Object.assign({ touches: [], targetTouches: [], changedTouches: [touch] }, init)));
    });
    // A disabled <button> gets no tap on a phone; the simulator's bare button would deliver one.
    ui.pages.addEventListener('touchstart', (event) => {
      if (event.target.closest && event.target.closest('wx-button[disabled]')) event.stopPropagation();
    }, { capture: true });
  }

  /** The DOM element of a simulator component instance (`this` inside its callbacks). */
  const hostElement = (caller) => caller._exparserNode && caller._exparserNode.$$;

  /** Mirrors properties onto the host element's attributes, for the preview's CSS and for tests. */
  function reflect(names) {
    const sync = function sync() {
      const dom = hostElement(this);
      if (!dom) return;
      names.forEach((name) => {
        const value = this.data[name];
        if (value === true) dom.setAttribute(name, '');
        else if (value === false || value === undefined || value === null || value === '') dom.removeAttribute(name);
        else dom.setAttribute(name, String(value));
      });
    };
    const observers = {};
    names.forEach((name) => {
      observers[name] = sync;
    });
    return { observers, lifetimes: { attached: sync } };
  }

  // ---- open-type buttons ------------------------------------------------------------------------------

  /** The hidden file input behind chooseAvatar (one for the page; tests find it by id). */
  function avatarPicker() {
    let input = document.getElementById('mp-avatar-picker');
    if (!input) {
      input = document.createElement('input');
      input.type = 'file';
      input.accept = 'image/*';
      input.id = 'mp-avatar-picker';
      input.hidden = true;
      document.body.appendChild(input);
    }
    return input;
  }

  /** chooseAvatar: the privacy gate, then a file picker; the picture becomes a temporary file. */
  function chooseAvatar(button) {
    privacyGate('chooseAvatar').then((allowed) => {
      if (!allowed) return;
      const input = avatarPicker();
      input.value = '';
      input.onchange = () => {
        const file = input.files && input.files[0];
        if (!file) return; // cancelled: WeChat sends no event either
        button.triggerEvent('chooseavatar', { avatarUrl: addTempFile(file, file.name) });
      };
      input.click();
    });
  }

  /** getPhoneNumber: the privacy gate, WeChat's sheet (here a modal), then a fake one-time code. */
  function getPhoneNumber(button) {
    privacyGate('getPhoneNumber').then((allowed) => {
      if (!allowed) {
        button.triggerEvent('getphonenumber', { errMsg: 'getPhoneNumber:fail privacy permission is not authorized' });
        return;
      }
      showModal({ title: '申请获取并验证你的手机号', content: '（预览）允许后，开发服务器会把假 code 换成一个固定的假号码。', confirmText: '允许', cancelText: '不允许' }).then((answer) => {
        if (!answer.confirm) {
          button.triggerEvent('getphonenumber', { errMsg: 'getPhoneNumber:fail user deny' });
          return;
        }
        const code = `preview_phone_${currentUser()}_${Date.now().toString(36)}`;
        button.triggerEvent('getphonenumber', { errMsg: 'getPhoneNumber:ok', code });
      });
    });
  }

  /** A tap on a <button open-type=…>: what WeChat does for that open type. */
  function openTypeTap(button) {
    const openType = button.data.openType;
    if (button.data.disabled) return;
    if (openType === 'chooseAvatar') chooseAvatar(button);
    else if (openType === 'getPhoneNumber') getPhoneNumber(button);
    else if (openType === 'agreePrivacyAuthorization') {
      // WeChat records the consent on the tap; the app's resolve() then names this button.
      const id = button._exparserNode && button._exparserNode.id;
      agreeButtonsTapped.add(id);
      button.triggerEvent('agreeprivacyauthorization', {});
    } else if (openType) console.warn(`[preview] <button open-type="${openType}"> does nothing in the preview`);
  }

  /**
   * Built-in components the simulator renders as a bare slot, made to show what the pages need:
   * <image> shows its picture (the dev users' avatars are data: URLs; temporary files by their
   * object URL), <button> carries `disabled` as an attribute so it looks disabled and gets no
   * tap, and does what its open-type does; <input> is a real text field sending WeChat's
   * input/focus/blur/confirm events (type="nickname" asks the privacy gate on focus, as WeChat does).
   */
  function registerBuiltins() {
    const image = reflect(['mode']);
    const showSource = function showSource() {
      const dom = hostElement(this);
      const img = dom && dom.querySelector('img');
      const src = imageSource(this.data.src);
      if (img && img.getAttribute('src') !== src) img.setAttribute('src', src);
    };
    window.simulate.load({
      id: 'image',
      tagName: 'wx-image',
      template: '<img class="wx-image-img" alt="" draggable="false" />',
      properties: { src: { type: String, value: '' }, mode: { type: String, value: 'scaleToFill' } },
      observers: Object.assign({}, image.observers, { src: showSource }),
      lifetimes: {
        attached() {
          image.lifetimes.attached.call(this);
          showSource.call(this);
        },
      },
    });
    const button = reflect(['disabled', 'type', 'loading']);
    window.simulate.load({
      id: 'button',
      tagName: 'wx-button',
      template: '<slot/>',
      properties: {
        disabled: { type: Boolean, value: false },
        type: { type: String, value: 'default' },
        loading: { type: Boolean, value: false },
        openType: { type: String, value: '' },
      },
      observers: Object.assign({}, button.observers, {
        openType() {
          const dom = hostElement(this);
          if (dom) dom.dataset.openType = this.data.openType || '';
        },
      }),
      lifetimes: {
        attached() {
          button.lifetimes.attached.call(this);
          const dom = hostElement(this);
          if (dom && this.data.openType) dom.dataset.openType = this.data.openType;
          this._exparserNode.addListener('tap', () => openTypeTap(this));
        },
      },
    });

    const input = reflect(['type', 'disabled']);
    window.simulate.load({
      id: 'input',
      tagName: 'wx-input',
      template: '<slot/>',
      properties: {
        value: { type: String, value: '' },
        type: { type: String, value: 'text' },
        placeholder: { type: String, value: '' },
        maxlength: { type: Number, value: 140 },
        disabled: { type: Boolean, value: false },
        confirmType: { type: String, value: 'done' },
      },
      observers: Object.assign({}, input.observers, {
        'value,placeholder,maxlength,disabled'() {
          const field = this.field;
          if (!field) return;
          if (document.activeElement !== field && field.value !== this.data.value) field.value = this.data.value;
          field.placeholder = this.data.placeholder;
          if (this.data.maxlength >= 0) field.maxLength = this.data.maxlength;
          field.disabled = this.data.disabled;
        },
      }),
      lifetimes: {
        attached() {
          input.lifetimes.attached.call(this);
          const dom = hostElement(this);
          if (!dom) return;
          const field = document.createElement('input');
          field.className = 'wx-input-field';
          field.type = this.data.type === 'number' || this.data.type === 'digit' ? 'tel' : 'text';
          field.value = this.data.value;
          field.placeholder = this.data.placeholder;
          if (this.data.maxlength >= 0) field.maxLength = this.data.maxlength;
          field.enterKeyHint = this.data.confirmType;
          this.field = field;
          dom.appendChild(field);
          const detail = () => ({ value: field.value, cursor: field.selectionStart || 0 });
          field.addEventListener('focus', () => {
            if (this.data.type !== 'nickname') return void this.triggerEvent('focus', detail());
            // The nickname input is a privacy API: no typing before consent.
            privacyGate('nickname input').then((allowed) => {
              if (!allowed) field.blur();
              else this.triggerEvent('focus', detail());
            });
            return undefined;
          });
          field.addEventListener('input', () => this.triggerEvent('input', detail()));
          field.addEventListener('blur', () => this.triggerEvent('blur', detail()));
          field.addEventListener('keydown', (event) => {
            if (event.key !== 'Enter' || event.isComposing) return;
            this.triggerEvent('confirm', detail());
            field.blur(); // the keyboard closes, as after 完成
          });
        },
      },
    });
  }

  // ---- wxss ------------------------------------------------------------------------------------------

  /**
   * The wxss the simulator compiles for a page: app.wxss first (WeChat applies it to every page),
   * then the page's own; rpx becomes a fraction of the phone's width (750rpx = full width), where
   * the simulator alone would make 1rpx = 1px.
   */
  function pageWxss(route) {
    return rpxToCss(`${pkg.files['app.wxss'] || ''}\n${pkg.files[`${route}.wxss`] || ''}`);
  }

  function rpxToCss(text) {
    return text.replace(/(-?\d*\.?\d+)rpx/g, 'calc($1 * var(--rpx))');
  }

  // ---- boot -------------------------------------------------------------------------------------------

  function showBootError(err) {
    preview.error = describe(err);
    ui.error.hidden = false;
    ui.error.textContent = `预览启动失败：${describe(err)}`;
    console.error('[preview] boot failed', err);
  }

  async function boot() {
    const response = await browserFetch('/__package', { cache: 'no-store' });
    if (!response.ok) throw new Error(`/__package answered ${response.status}`);
    pkg = await response.json();
    if (!pkg.files['session/session_wasm.js']) {
      throw new Error('miniprogram/session/session_wasm.js is missing: run scripts/build.sh (scripts/dev.sh does when needed)');
    }
    if (!pkg.files['miniprogram_npm/wx-session/session_wasm.js']) {
      throw new Error('miniprogram/miniprogram_npm/wx-session is missing: run scripts/pack.sh (构建 npm; scripts/dev.sh does when needed)');
    }
    setUpDevPanel();

    // The simulator reads page files from window.__FILE_MAP__; page JS goes through our loader.
    const fileMap = {};
    pkg.appJson.pages.forEach((route) => {
      fileMap[`${route}.json`] = pkg.files[`${route}.json`] || '{}';
      fileMap[`${route}.wxml`] = pkg.files[`${route}.wxml`] || '';
      fileMap[`${route}.wxss`] = pageWxss(route);
      fileMap[`${route}.js`] = `window.__previewRunPage(${JSON.stringify(`${route}.js`)});`;
    });
    // Custom components (usingComponents): every other .wxml with a .json beside it. Their wxss is
    // their own (WeChat does not apply app.wxss to an isolated component).
    Object.keys(pkg.files).forEach((file) => {
      const base = file.replace(/\.wxml$/, '');
      if (base === file || pkg.appJson.pages.includes(base) || !pkg.files[`${base}.json`]) return;
      fileMap[`${base}.json`] = pkg.files[`${base}.json`];
      fileMap[`${base}.wxml`] = pkg.files[file];
      fileMap[`${base}.wxss`] = rpxToCss(pkg.files[`${base}.wxss`] || '');
      fileMap[`${base}.js`] = `window.__previewRunPage(${JSON.stringify(`${base}.js`)});`;
    });
    window.__FILE_MAP__ = fileMap;
    window.__previewRunPage = (file) => runModule(file, { id: file, exports: {} });

    // The globals mini-program code expects. The simulator's own stateless wx stub stays underneath
    // for the APIs the preview does not model.
    window.wx = Object.assign(window.wx || {}, previewWx);
    window.WXWebAssembly = previewWXWebAssembly;
    window.App = (definition) => {
      if (app) throw new Error('App() called twice');
      app = definition;
    };
    window.getApp = () => app;
    window.getCurrentPages = () => stack.map((entry) => entry.instance);
    window.Page = (definition) => window.Component(pageComponent(definition));
    registerBuiltins();
    bridgeMouseTaps();

    const entryRoute = query.get('page') && pkg.appJson.pages.includes(query.get('page')) ? query.get('page') : pkg.appJson.pages[0];
    const launch = { path: entryRoute, query: {}, scene: 1001 };
    requireModule('app.js');
    if (!app) throw new Error('app.js did not call App()');
    if (typeof app.onLaunch === 'function') app.onLaunch(launch);
    if (typeof app.onShow === 'function') app.onShow(launch);
    openPage(entryRoute, {});
    document.body.dataset.ready = 'true';
  }

  preview.ready = boot().catch((err) => {
    showBootError(err);
    throw err;
  });
  preview.ready.catch(() => {}); // reported on the page; tests read preview.error
})();

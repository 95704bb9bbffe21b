// A stateful fake of the mini-program's `wx` for the browser tests (wasm-pack test --chrome),
// with an in-page fake server that speaks the default protocol. Every call is counted so tests
// can assert exactly what the session did. Installed on globalThis.wx by reset().

const BASE = 'https://api.test';

let state;

function fresh() {
  return {
    storage: new Map(),
    storageFull: false,
    loginFails: false,
    checkSessionFails: false,
    delayMs: 0,
    faults: [], // next requests: {kind: 'network'} | {kind: 'status', status, body}
    live: new Set(),
    issued: 0,
    codesSeen: new Set(),
    counts: {},
    loading: [],
    loadingVisible: false,
    requests: [],
    events: [],
    reLaunched: [],
    networkListeners: [],
    script: null, // fixture replay: the exchanges the next requests must match, in order
    mismatches: [],
  };
}

function count(name) {
  state.counts[name] = (state.counts[name] || 0) + 1;
}

function later(fn) {
  setTimeout(fn, state.delayMs);
}

function bearer(header) {
  const value = header && (header.Authorization || header.authorization);
  return typeof value === 'string' && value.startsWith('Bearer ') ? value.slice(7) : null;
}

const INVALID = JSON.stringify({ error: { code: 'SESSION_INVALID', message: '登陆状态已失效' } });

function serve(options) {
  const path = options.url.startsWith(BASE) ? options.url.slice(BASE.length) : '?';
  if (path === '/auth/login' && options.method === 'POST') {
    const code = JSON.parse(options.data).code;
    if (state.codesSeen.has(code)) {
      return { statusCode: 400, data: JSON.stringify({ error: { code: 'CODE_USED', message: 'code 已使用' } }) };
    }
    state.codesSeen.add(code);
    state.issued += 1;
    const token = 'tok-' + state.issued;
    state.live.add(token);
    return {
      statusCode: 200,
      data: JSON.stringify({ token, uid: 42, userInfo: { nickName: '测试用户 🐼', avatarUrl: '' }, expiresIn: 3600 }),
    };
  }
  if (path === '/auth/check' && options.method === 'GET') {
    return state.live.has(bearer(options.header))
      ? { statusCode: 200, data: JSON.stringify({ valid: true }) }
      : { statusCode: 401, data: INVALID };
  }
  if (path === '/auth/logout' && options.method === 'POST') {
    return state.live.delete(bearer(options.header))
      ? { statusCode: 200, data: JSON.stringify({ revoked: true }) }
      : { statusCode: 400, data: INVALID };
  }
  if (path.startsWith('/api/')) {
    return state.live.has(bearer(options.header))
      ? { statusCode: 200, data: JSON.stringify({ ok: true, path }) }
      : { statusCode: 401, data: INVALID };
  }
  return { statusCode: 404, data: '<html>404 Not Found</html>' };
}

const wx = {
  login(options) {
    count('login');
    later(() => {
      if (state.loginFails) options.fail({ errMsg: 'login:fail 系统错误' });
      else options.success({ errMsg: 'login:ok', code: 'CODE-' + state.counts.login });
    });
  },
  checkSession(options) {
    count('checkSession');
    later(() => (state.checkSessionFails ? options.fail({ errMsg: 'checkSession:fail' }) : options.success({})));
  },
  request(options) {
    count('request');
    state.requests.push({ url: options.url, method: options.method, header: options.header, data: options.data });
    if (state.script) return replay(options);
    const fault = state.faults.shift();
    later(() => {
      if (fault && fault.kind === 'network') return options.fail({ errMsg: 'request:fail timeout' });
      const answer = fault ? { statusCode: fault.status, data: fault.body } : serve(options);
      let data = answer.data;
      if (options.dataType === undefined || options.dataType === 'json') {
        try { data = JSON.parse(data); } catch (e) { /* the real wx hands back the raw string */ }
      }
      options.success({ statusCode: answer.statusCode, data, header: {} });
    });
  },
  uploadFile(options) {
    // Like wx.uploadFile: multipart on the wire, the answer's body always handed back as text.
    count('uploadFile');
    state.requests.push({ url: options.url, method: 'POST', header: options.header, data: options.formData, filePath: options.filePath, name: options.name });
    const fault = state.faults.shift();
    later(() => {
      if (fault && fault.kind === 'network') return options.fail({ errMsg: 'uploadFile:fail timeout' });
      const answer = fault ? { statusCode: fault.status, data: fault.body } : serve(Object.assign({}, options, { method: 'POST' }));
      options.success({ statusCode: answer.statusCode, data: answer.data });
    });
  },
  getStorageSync(key) {
    count('getStorageSync');
    return state.storage.has(key) ? structuredClone(state.storage.get(key)) : '';
  },
  setStorageSync(key, value) {
    count('setStorageSync');
    if (state.storageFull) throw new Error('setStorageSync:fail exceed storage max size 10MB');
    state.storage.set(key, structuredClone(value));
  },
  removeStorageSync(key) {
    count('removeStorageSync');
    state.storage.delete(key);
  },
  showLoading(options) {
    count('showLoading');
    state.loading.push(options.title);
    state.loadingVisible = true;
  },
  hideLoading() {
    count('hideLoading');
    state.loadingVisible = false;
  },
  reLaunch(options) {
    count('reLaunch');
    state.reLaunched.push(options.url);
  },
  onNetworkStatusChange(listener) {
    state.networkListeners.push(listener);
  },
};

/** Answers from the fixture script, recording every way the request differs from the recording. */
function replay(options) {
  const exchange = state.script.shift();
  const wrong = (what, got, want) => state.mismatches.push(`${state.requests.length}: ${what} ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
  if (!exchange) {
    wrong('unexpected request', options.url, 'none');
    return later(() => options.fail({ errMsg: 'request:fail no fixture left' }));
  }
  const recorded = exchange.request;
  if (recorded) {
    const header = options.header || {};
    if (options.method !== recorded.method) wrong('method', options.method, recorded.method);
    // An endpoint on another host (API工厂's logout) is recorded with its absolute URL.
    const url = exchange.absoluteUrl || state.scriptBase + recorded.url;
    if (options.url !== url) wrong('url', options.url, url);
    if ((options.data === undefined ? undefined : options.data) !== recorded.body) wrong('body', options.data, recorded.body);
    const contentType = header['Content-Type'] || header['content-type'];
    if (contentType !== recorded.contentType) wrong('content type', contentType, recorded.contentType);
    if (recorded.header && header[recorded.header[0]] !== recorded.header[1]) wrong('header ' + recorded.header[0], header[recorded.header[0]], recorded.header[1]);
  }
  later(() => {
    let data = exchange.response.body;
    if (options.dataType === undefined || options.dataType === 'json') {
      try { data = JSON.parse(data); } catch (e) { /* raw string, as wx does */ }
    }
    options.success({ statusCode: exchange.response.status, data, header: {} });
  });
}

const page = {
  onShow() {
    count('onShow');
  },
};

/** Resets every fake and installs `wx` and `getCurrentPages` on the global object. */
export function reset() {
  state = fresh();
  globalThis.wx = wx;
  globalThis.getCurrentPages = () => [page];
}

/** Removes the global `wx` (for the "no wx" test). */
export function uninstall() {
  delete globalThis.wx;
}

export function wxObject() { return wx; }
/** What the loader hands the module: the global `wx` (undefined once uninstalled) and getCurrentPages. */
export function hostWx() { return globalThis.wx; }
export function hostPages() { return globalThis.getCurrentPages; }
export function baseUrl() { return BASE; }
export function setLoginFails(on) { state.loginFails = on; }
export function setCheckSessionFails(on) { state.checkSessionFails = on; }
export function setStorageFull(on) { state.storageFull = on; }
export function setDelay(ms) { state.delayMs = ms; }
export function failNextWithNetwork() { state.faults.push({ kind: 'network' }); }
export function failNextWith(status, body) { state.faults.push({ kind: 'status', status, body }); }
export function putStorage(key, value) { state.storage.set(key, value); }
export function addLiveToken(token) { state.live.add(token); }
export function isLive(token) { return state.live.has(token); }
export function liveCount() { return state.live.size; }
export function count_of(name) { return state.counts[name] || 0; }
export function loadingVisible() { return state.loadingVisible; }
export function loadingTitles() { return state.loading.join('|'); }
export function reLaunched() { return state.reLaunched.join('|'); }
export function lastRequestData() { const r = state.requests[state.requests.length - 1]; return r ? r.data : undefined; }
/** The fixture with its `request_*` recordings dropped: for app requests whose URL the test picks. */
export function answersOnly(fixtureJson) {
  const fixture = JSON.parse(fixtureJson);
  for (const [name, exchange] of Object.entries(fixture.exchanges)) if (name.startsWith('request_')) delete exchange.request;
  return JSON.stringify(fixture);
}
/** The names of a fixture's exchanges that start with `prefix`, space-separated. */
export function exchangesOf(fixtureJson, prefix) {
  return Object.keys(JSON.parse(fixtureJson).exchanges).filter((n) => n.startsWith(prefix)).join(' ');
}
/** One exchange's `expect` member. */
export function expected(fixtureJson, name, key) { return JSON.parse(fixtureJson).exchanges[name].expect[key]; }
export function lastUpload() { const r = state.requests[state.requests.length - 1]; return JSON.stringify({ filePath: r.filePath, name: r.name, data: r.data }); }
export function requestUrls() { return state.requests.map((r) => r.url.slice(BASE.length)).join('|'); }
export function requestLog() { return state.requests.map((r) => r.method + ' ' + r.url.slice(BASE.length)).join('|'); }
export function lastRequestHeader(name) { const r = state.requests[state.requests.length - 1]; return r && r.header ? r.header[name] : undefined; }
/** Storage as canonical JSON with sorted keys, for exact comparisons. */
export function storageJson() {
  const out = {};
  [...state.storage.keys()].sort().forEach((k) => { out[k] = state.storage.get(k); });
  return JSON.stringify(out);
}
export function fireNetworkChange(isConnected) { state.networkListeners.forEach((l) => l({ isConnected, networkType: isConnected ? 'wifi' : 'none' })); }
/** A listener that records event types, and the record. */
export function recorder() { return (event) => state.events.push(event.type + (event.userInfo ? ':' + event.userInfo.nickName : '') + (event.reason ? ':' + event.reason : '')); }
export function events() { return state.events.join('|'); }

/** Replays `names` from a fixture file's exchanges for the next requests. */
export function useScript(fixtureJson, names) {
  const fixture = JSON.parse(fixtureJson);
  state.scriptBase = fixture.baseUrl;
  state.script = names.split(' ').filter(Boolean).map((n) => {
    if (!fixture.exchanges[n]) throw new Error('no fixture ' + n + ' in ' + fixture.protocol);
    return fixture.exchanges[n];
  });
}
export function scriptLeft() { return state.script ? state.script.length : 0; }
export function mismatches() { return state.mismatches.join('\n'); }
export function revokeAll() { state.live.clear(); }
export function requestsTo(path) { return state.requests.filter((r) => r.url === BASE + path || r.url.startsWith(BASE + path + '?')).length; }
export function headersSentTo(host) { return JSON.stringify(state.requests.filter((r) => r.url.startsWith(host)).map((r) => r.header || {})); }
export function lastRequestUrl() { const r = state.requests[state.requests.length - 1]; return r ? r.url : ''; }

/**
 * A Node `vm` context that has only what the mini-program's JavaScript runtime has.
 *
 *   const sb = createSandbox({ server });            // every option is optional
 *   const session = sb.require('/session/index.js'); // CommonJS, resolved inside miniprogram/
 *   await session.init({ baseUrl: sb.server.baseUrl });
 *   sb.fake.count('login'); sb.fake.readStorage('token'); sb.server.counts.byRoute; ...
 *
 * Options:
 *   root        the code package (default: the repo's miniprogram/); require and WXWebAssembly
 *               cannot reach outside it
 *   server      a fake-server.js server (default: a fresh one at its default baseUrl)
 *   fake        a fake-wx.js handle to reuse; otherwise one is made with `wxOptions`
 *   wxOptions   options for createFakeWx (latencyMs, openid, sdkVersion)
 *   globals     extra globals to define (an experiment may need one; tests should not)
 *   console     where the sandbox's console goes (default: this process's console)
 *
 * The handle:
 *   context     the vm context;  run(code, filename) evaluates a script in it
 *   require(p)  loads a module as the package root would ('/a/b.js', 'a/b.js', 'a/b'); a bare
 *               npm name ('wx-session') resolves through miniprogram_npm/ as on a device
 *   fake, wx    the fake wx handle and the object installed as `wx`
 *   server      the fake server;  wasm  the WXWebAssembly handle (loads, failures)
 *   pages       the page stack getCurrentPages() returns (top page last);
 *               openPage(route, methods?) pushes a page object that counts its onShow calls
 *               (page.shows); wx.reLaunch/redirectTo/navigateTo/navigateBack update the stack
 *   app         what getApp() returns ({ globalData: {} } unless replaced)
 *   toRealm(v)  a copy of plain data made inside the context. Pass arguments through it:
 *               `session.init(sb.toRealm({ baseUrl }))` — an object made out here fails the
 *               module's `instanceof Object` checks (the wasm glue runs in the context's realm),
 *               which on a device, where everything shares one realm, cannot happen
 *   advanceClock(ms)  moves Date.now() inside the context forward (e.g. past a trust window);
 *               clockOffset is the total so far
 *   realm       the context's JSON/Promise/Error/TypeError/Uint8Array/Array
 *
 * Globals inside: console, setTimeout/clearTimeout/setInterval/clearInterval (numeric ids), wx,
 * WXWebAssembly, getCurrentPages, getApp, plus the language built-ins (Promise, JSON, Math, Date…)
 * of the context itself. Deliberately absent, as on a phone: WebAssembly, SharedArrayBuffer and
 * Atomics (deleted from the context), TextEncoder, TextDecoder, fetch, URL, Request, Response, crypto, window, document,
 * self, queueMicrotask, structuredClone, process, Buffer. String code generation is disabled
 * (eval and new Function throw), as the runtime forbids them.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { createFakeServer } = require('./fake-server');
const { createFakeWx } = require('./fake-wx');
const { createWXWebAssembly } = require('./wx-webassembly');
const { isBare, npmCandidates } = require('./mp-npm');

const MINIPROGRAM_DIR = path.resolve(__dirname, '..', '..', '..', 'miniprogram');

/** What a test may assert the sandbox lacks. */
const ABSENT_GLOBALS = Object.freeze([
  'WebAssembly', 'TextEncoder', 'TextDecoder', 'fetch', 'URL', 'Request', 'Response', 'crypto',
  'window', 'document', 'self', 'queueMicrotask', 'structuredClone', 'process', 'Buffer',
]);

function createSandbox(options = {}) {
  const root = path.resolve(options.root || MINIPROGRAM_DIR);
  const hostConsole = options.console || console;
  const context = vm.createContext({}, {
    name: 'mini-program sandbox',
    // The runtime has no eval/new Function; with strings off V8 throws EvalError for both.
    codeGeneration: { strings: false, wasm: true },
  });
  // V8 gives every context its own WebAssembly; the mini-program runtime has none. Shared memory
  // is removed too: nothing says every WeChat engine has it, so the module must not need it.
  vm.runInContext('delete globalThis.WebAssembly; delete globalThis.SharedArrayBuffer; delete globalThis.Atomics;', context);
  const realm = vm.runInContext('({ JSON, Promise, Error, TypeError, Uint8Array, Array })', context);

  const server = options.server || createFakeServer();
  const fake = options.fake || createFakeWx(Object.assign({ server, realm }, options.wxOptions || {}));
  const wasm = createWXWebAssembly({ root, realm });
  const modules = new Map();
  const pages = [];
  const sandbox = {
    root,
    context,
    realm,
    server,
    fake,
    wx: fake.wx,
    wasm,
    pages,
    modules,
    app: realm.JSON.parse('{"globalData":{}}'),
    require: (request) => requireFrom(null, request),
    run: (code, filename) => vm.runInContext(code, context, { filename: filename || 'sandbox-snippet.js' }),
    advanceClock,
    toRealm: (value) => (value === undefined ? undefined : realm.JSON.parse(JSON.stringify(value))),
    openPage,
  };

  fake.onNavigate = (entry) => {
    const route = entry.url ? String(entry.url).replace(/^\//, '').split('?')[0] : '';
    if (entry.api === 'reLaunch' || entry.api === 'switchTab') pages.length = 0;
    if (entry.api === 'redirectTo') pages.pop();
    if (entry.api === 'navigateBack') pages.splice(Math.max(1, pages.length - (entry.delta || 1)));
    else openPage(route);
  };

  /**
   * Moves the context's clock forward: Date.now() inside returns real time + the total advanced
   * (new Date() is left alone). The server keeps real time unless created with
   * `now: () => Date.now() + sb.clockOffset`.
   */
  function advanceClock(ms) {
    sandbox.clockOffset += ms;
  }
  sandbox.clockOffset = 0;
  const contextDate = vm.runInContext('Date', context);
  contextDate.now = () => Date.now() + sandbox.clockOffset;

  /** Pushes a page object onto the stack; its onShow counts calls, `methods` may add or replace. */
  function openPage(route, methods = {}) {
    const page = realm.JSON.parse(JSON.stringify({ route, data: {}, shows: 0 }));
    page.onShow = function onShow() {
      page.shows += 1;
    };
    Object.assign(page, methods);
    pages.push(page);
    return page;
  }

  // ---- timers: numeric ids as in the runtime, host timers underneath ------------------------
  const timers = new Map();
  let timerSeq = 0;
  function timer(kind) {
    return function schedule(fn, ms, ...args) {
      if (typeof fn !== 'function') throw new realm.TypeError(`${kind}: callback must be a function`);
      timerSeq += 1;
      const id = timerSeq;
      const once = kind === 'setTimeout';
      const handle = (once ? setTimeout : setInterval)(() => {
        if (once) timers.delete(id);
        fn(...args);
      }, ms);
      timers.set(id, { handle, once });
      return id;
    };
  }
  function clear(id) {
    const entry = timers.get(id);
    if (!entry) return;
    (entry.once ? clearTimeout : clearInterval)(entry.handle);
    timers.delete(id);
  }

  const globals = Object.assign(
    {
      console: hostConsole,
      setTimeout: timer('setTimeout'),
      setInterval: timer('setInterval'),
      clearTimeout: clear,
      clearInterval: clear,
      wx: fake.wx,
      WXWebAssembly: wasm.api,
      getCurrentPages: () => {
        const list = new realm.Array();
        pages.forEach((page) => list.push(page));
        return list;
      },
      getApp: () => sandbox.app,
    },
    options.globals || {}
  );
  Object.keys(globals).forEach((name) => {
    Object.defineProperty(context, name, { value: globals[name], writable: true, configurable: true, enumerable: false });
  });

  // ---- CommonJS as the mini-program does it ------------------------------------------------

  /**
   * Resolves `request` from the module at `fromFile` (package-relative, null for the root):
   * './x' and '../x' from that module's folder, '/x' from the package root, '.js' optional.
   * Bare names from a module return null here; requireFrom looks them up in miniprogram_npm/
   * (Node built-ins do not exist in the package and are refused).
   */
  function resolveModule(fromFile, request) {
    if (typeof request !== 'string' || !request) return null;
    let base;
    if (request.startsWith('/')) base = '';
    else if (request.startsWith('./') || request.startsWith('../')) base = fromFile ? path.posix.dirname(fromFile) : '';
    else if (!fromFile) base = ''; // sandbox.require('session/index.js') from the root
    else return null;
    const parts = [];
    for (const part of `${base}/${request}`.split('/')) {
      if (part === '' || part === '.') continue;
      if (part !== '..') parts.push(part);
      else if (parts.length) parts.pop();
      else return null; // climbs out of the package
    }
    if (!parts.length) return null;
    const joined = parts.join('/');
    const withExt = joined.endsWith('.js') ? joined : `${joined}.js`;
    const hostPath = path.join(root, ...withExt.split('/'));
    return { packagePath: withExt, hostPath };
  }

  /** A bare name ('wx-session') through miniprogram_npm/, as the runtime resolves it (mp-npm.js). */
  function resolveNpm(fromFile, request) {
    for (const candidate of npmCandidates(fromFile, request)) {
      const hostPath = path.join(root, ...candidate.split('/'));
      if (fs.existsSync(hostPath) && fs.statSync(hostPath).isFile()) return { packagePath: candidate, hostPath };
    }
    return null;
  }

  function isFile(target) {
    return Boolean(target) && fs.existsSync(target.hostPath) && fs.statSync(target.hostPath).isFile();
  }

  function requireFrom(fromFile, request) {
    let target = resolveModule(fromFile, request);
    if (!isFile(target) && isBare(request)) target = resolveNpm(fromFile, request) || target;
    if (!isFile(target)) {
      // The runtime's wording: module "<resolved path>" is not defined, require args is '<request>'
      const shown = target ? target.packagePath : String(request);
      throw new realm.Error(`module "${shown}" is not defined, require args is '${request}'`);
    }
    const cached = modules.get(target.packagePath);
    if (cached) return cached.exports;

    const module = realm.JSON.parse('{"exports":{}}');
    modules.set(target.packagePath, module);
    const source = fs.readFileSync(target.hostPath, 'utf8');
    const wrapper = new vm.Script(`(function (require, module, exports) {${source}\n})`, {
      filename: target.hostPath,
    });
    const fn = wrapper.runInContext(context);
    const localRequire = (next) => requireFrom(target.packagePath, next);
    try {
      fn.call(module.exports, localRequire, module, module.exports);
    } catch (err) {
      modules.delete(target.packagePath); // like Node: a module that threw is not cached
      throw err;
    }
    return module.exports;
  }

  return sandbox;
}

module.exports = { createSandbox, MINIPROGRAM_DIR, ABSENT_GLOBALS };

// The mini-program runtime on JavaScriptCore: runs the BUILT session module (miniprogram/session/)
// in Debian's `jsc` shell, as iPhones run mini-program code — with `--useJIT=false` no JIT tier
// runs, and the wasm module runs in JSC's interpreter.
//
//   jsc --useJIT=false tests/jsc/main.js -- test  REPO UNBR_DIR [FILTER]
//   jsc --useJIT=false tests/jsc/main.js -- run   REPO UNBR_DIR ROOT TESTS_FILE [FILTER]
//   jsc --useJIT=false tests/jsc/main.js -- bench REPO UNBR_DIR lib|base|compile ROUNDS
//
// scripts/test-jsc.sh runs the first (the `jsc` suite: tests/jsc/sandbox.test.js over the repo's
// miniprogram/), bench/engines.js the last. `run` takes another code package ROOT and tests file:
// the `npm` suite (tests/npm/jsc.test.js) gives it a scratch mini-program made by 构建 npm and
// tests/jsc/npm.test.js. UNBR_DIR holds brotli-decompressed copies of the code package's
// `.wasm.br` files (same paths inside the package, without `.br`): the device's WXWebAssembly
// decompresses them itself, the shell cannot.
//
// The shell has print, readFile, setTimeout, preciseTime, quit and arguments, and no console,
// clearTimeout, setInterval, queueMicrotask or require. This file provides what the mini-program
// runtime has on top of the language — console, the four timer functions, CommonJS `require` over
// the code package, `WXWebAssembly` (path-only, over the shell's WebAssembly, which is then removed
// from the global object), a stateful fake `wx` with a fake server (tests/node/support's
// fake-wx.js and fake-server.js, the same fakes the Node suites and benchmark use), getCurrentPages
// and getApp — and removes the shell's own functions from the global object, so the module under
// test sees nothing a phone would not have.
'use strict';

(function harness(shell) {
  const print = shell.print;
  const readFile = shell.readFile;
  const quit = shell.quit;
  const hostSetTimeout = shell.setTimeout;
  const preciseTime = shell.preciseTime;
  const HostWebAssembly = shell.WebAssembly;
  const args = Array.prototype.slice.call(shell.arguments);
  const global = shell;

  // Nothing below may leave these reachable from the module under test.
  ['WebAssembly', 'print', 'printErr', 'readFile', 'load', 'loadString', 'quit', 'arguments', 'preciseTime', 'run', 'runString',
    'checkSyntax', 'readline', 'debug', 'describe', 'describeArray', 'gc', 'fullGC', 'edenGC', 'jscStack', 'setTimeout'].forEach((name) => {
    try {
      delete global[name];
    } catch (err) {
      // a non-configurable shell function stays; the module never looks for it
    }
  });

  const mode = args[0];
  const REPO = args[1];
  const UNBR = args[2];
  const usage = 'usage: jsc --useJIT=false tests/jsc/main.js -- test REPO UNBR_DIR [FILTER] | run REPO UNBR_DIR ROOT TESTS_FILE [FILTER] | bench REPO UNBR_DIR lib|base|compile ROUNDS';
  if ((mode !== 'test' && mode !== 'run' && mode !== 'bench') || !REPO || !UNBR || (mode === 'run' && (!args[3] || !args[4]))) {
    print(usage);
    quit(2);
  }
  // The code package the tests run (host.PACKAGE): the repo's miniprogram/, or run's ROOT.
  const PACKAGE = mode === 'run' ? args[3] : REPO + '/miniprogram';
  const BASELINE = REPO + '/bench/baseline';

  // ---- console and timers, as the runtime has them -------------------------------------------------
  const show = (value) => {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.stack ? value.name + ': ' + value.message + '\n' + value.stack : String(value);
    try {
      return JSON.stringify(value);
    } catch (err) {
      return String(value);
    }
  };
  const consoleLines = [];
  const makeConsole = (sink) => ({
    log: (...values) => sink('log', values.map(show).join(' ')),
    info: (...values) => sink('info', values.map(show).join(' ')),
    warn: (...values) => sink('warn', values.map(show).join(' ')),
    error: (...values) => sink('error', values.map(show).join(' ')),
    debug: (...values) => sink('debug', values.map(show).join(' ')),
  });
  global.console = makeConsole((level, text) => consoleLines.push(level + ': ' + text));

  // Timers: the shell's setTimeout cannot be cancelled, so each id has a live flag; every timer
  // created during a test is cancelled when the test ends (cancelAllTimers).
  const live = new Map();
  let timerSeq = 0;
  function schedule(fn, ms, rest, repeat) {
    if (typeof fn !== 'function') throw new TypeError('setTimeout: callback must be a function');
    timerSeq += 1;
    const id = timerSeq;
    live.set(id, true);
    const delay = typeof ms === 'number' && ms > 0 ? ms : 0;
    const fire = () => {
      if (!live.get(id)) return;
      if (repeat) hostSetTimeout(fire, delay);
      else live.delete(id);
      fn.apply(undefined, rest);
    };
    hostSetTimeout(fire, delay);
    return id;
  }
  global.setTimeout = (fn, ms, ...rest) => schedule(fn, ms, rest, false);
  global.setInterval = (fn, ms, ...rest) => schedule(fn, ms, rest, true);
  global.clearTimeout = (id) => live.delete(id);
  global.clearInterval = (id) => live.delete(id);
  const cancelAllTimers = () => live.clear();
  const sleep = (ms) => new Promise((resolve) => global.setTimeout(resolve, ms));

  // Date.now with an offset the tests can move (past a trust window) without waiting.
  const realNow = Date.now;
  let clockOffset = 0;
  Date.now = () => realNow() + clockOffset;

  // ---- what Node's built-ins give the shared fakes ------------------------------------------------------
  /** The subset of Node's Buffer that fake-wx.js uses: UTF-8 lengths and conversions. */
  const MiniBuffer = {
    byteLength: (text) => unescape(encodeURIComponent(String(text))).length,
    from(value) {
      if (typeof value === 'string') {
        const binary = unescape(encodeURIComponent(value));
        const bytes = new Uint8Array(binary.length);
        for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
        return bytes;
      }
      const bytes = new Uint8Array(value);
      return {
        toString() {
          let binary = '';
          for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
          return decodeURIComponent(escape(binary));
        },
      };
    },
  };

  /** The subset of WHATWG URL that fake-server.js uses: origin, pathname, searchParams.get. */
  function MiniURL(text) {
    const match = /^([a-zA-Z][a-zA-Z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(\?[^#]*)?/.exec(String(text));
    if (!match) throw new TypeError('Invalid URL: ' + text);
    this.protocol = match[1].toLowerCase();
    this.host = match[2].toLowerCase();
    this.origin = this.protocol + '//' + this.host;
    this.pathname = match[3] || '/';
    this.search = match[4] || '';
    const params = new Map();
    this.search.replace(/^\?/, '').split('&').filter(Boolean).forEach((pair) => {
      const at = pair.indexOf('=');
      const decode = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
      const key = decode(at < 0 ? pair : pair.slice(0, at));
      if (!params.has(key)) params.set(key, at < 0 ? '' : decode(pair.slice(at + 1)));
    });
    this.searchParams = { get: (key) => (params.has(key) ? params.get(key) : null), has: (key) => params.has(key) };
  }

  /** CommonJS for the harness's own files (the fakes, the tests, the bench rounds). */
  const hostModules = new Map();
  function hostRequire(file) {
    if (file === 'url') return { URL: MiniURL };
    if (hostModules.has(file)) return hostModules.get(file).exports;
    const module = { exports: {} };
    hostModules.set(file, module);
    const dir = file.replace(/\/[^/]*$/, '');
    const fn = new Function('require', 'module', 'exports', 'Buffer', 'console', readFile(file) + '\n//# sourceURL=' + file);
    const localRequire = (request) => (request.startsWith('.') ? hostRequire(normalise(dir + '/' + request)) : hostRequire(request));
    fn.call(module.exports, localRequire, module, module.exports, MiniBuffer, global.console);
    return module.exports;
  }
  function normalise(file) {
    const parts = [];
    file.split('/').forEach((part, i) => {
      if (part === '..') parts.pop();
      else if (part !== '.' && (part !== '' || i === 0)) parts.push(part);
    });
    const joined = parts.join('/');
    return joined.endsWith('.js') ? joined : joined + '.js';
  }

  const { createFakeWx } = hostRequire(REPO + '/tests/node/support/fake-wx.js');
  const { createFakeServer, DEFAULT_NICKNAME } = hostRequire(REPO + '/tests/node/support/fake-server.js');
  const { isBare, npmCandidates } = hostRequire(REPO + '/tests/node/support/mp-npm.js');

  // ---- the runtime for one test: fakes, WXWebAssembly, CommonJS over the package -------------------------
  function fileExists(file) {
    try {
      readFile(file, 'binary');
      return true;
    } catch (err) {
      return false;
    }
  }

  /** `WXWebAssembly` with the device's rules: a string path inside the package, .wasm or .wasm.br. */
  function createWXWebAssembly(root) {
    const handle = { loads: [], failures: [] };
    const fail = (wasmPath, message) => {
      handle.failures.push({ path: wasmPath, message });
      return Promise.reject(new Error(message));
    };
    handle.api = Object.freeze({
      instantiate(wasmPath, imports) {
        if (typeof wasmPath !== 'string') return fail(wasmPath, 'WXWebAssembly.instantiate: the first argument must be a string path in the code package');
        if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(wasmPath)) return fail(wasmPath, 'WebAssembly.instantiate: not support wxfile: or http: path (' + wasmPath + ')');
        const parts = [];
        for (const part of wasmPath.replace(/^\/+/, '').split('/')) {
          if (part === '' || part === '.') continue;
          if (part === '..') {
            if (!parts.length) return fail(wasmPath, 'WXWebAssembly.instantiate: path ' + wasmPath + ' is outside the code package');
            parts.pop();
          } else {
            parts.push(part);
          }
        }
        const relative = parts.join('/');
        if (!/\.wasm(\.br)?$/.test(relative)) return fail(wasmPath, 'WXWebAssembly.instantiate: ' + wasmPath + ' is not a .wasm or .wasm.br file');
        if (!fileExists(root + '/' + relative)) return fail(wasmPath, 'load wasm failed: ' + wasmPath + ': no such file in the code package');
        const file = relative.endsWith('.br') ? UNBR + '/' + relative.slice(0, -3) : root + '/' + relative;
        let bytes;
        try {
          bytes = readFile(file, 'binary');
        } catch (err) {
          return fail(wasmPath, 'harness: no decompressed copy ' + file + ' (scripts/test-jsc.sh makes them)');
        }
        return HostWebAssembly.instantiate(bytes, imports).then((result) => {
          handle.loads.push({ path: wasmPath, bytes: bytes.length });
          return { instance: result.instance, module: result.module };
        });
      },
      Memory: HostWebAssembly.Memory,
      Table: HostWebAssembly.Table,
      Global: HostWebAssembly.Global,
    });
    return handle;
  }

  /**
   * A fresh runtime: new fake server and wx, new module cache (so the module is evaluated and
   * instantiated again), the globals installed. `root` is the code package.
   */
  function createEnv(root, options) {
    cancelAllTimers();
    clockOffset = 0;
    const server = createFakeServer();
    const fake = createFakeWx(Object.assign({ server }, (options && options.wxOptions) || {}));
    const wasm = createWXWebAssembly(root);
    const pages = [];
    const app = { globalData: {} };
    const openPage = (route) => {
      const page = { route, data: {}, shows: 0 };
      page.onShow = () => {
        page.shows += 1;
      };
      pages.push(page);
      return page;
    };
    fake.onNavigate = (entry) => {
      const route = entry.url ? String(entry.url).replace(/^\//, '').split('?')[0] : '';
      if (entry.api === 'reLaunch' || entry.api === 'switchTab') pages.length = 0;
      if (entry.api === 'redirectTo') pages.pop();
      if (entry.api === 'navigateBack') pages.splice(Math.max(1, pages.length - (entry.delta || 1)));
      else openPage(route);
    };
    global.wx = fake.wx;
    global.WXWebAssembly = wasm.api;
    global.getCurrentPages = () => pages.slice();
    global.getApp = () => app;

    // CommonJS as the runtime does it: '/x' from the package root, './x' and '../x' from the
    // requiring module's folder, '.js' optional; a bare name ('wx-session') through the
    // miniprogram_npm/ folders that 构建 npm fills, nearest first (tests/node/support/mp-npm.js,
    // shared with the Node sandbox). Modules are cached by package path, so the npm module that
    // app.js and a page require is one instance.
    const modules = new Map();
    const isFile = (relative) => fileExists(root + '/' + relative);
    /** The package path `request` from `fromFile` (package-relative; null: the test) names. */
    function resolve(fromFile, request) {
      const fromModule = fromFile !== null;
      let base = '';
      if (request.startsWith('.')) base = fromModule && fromFile.includes('/') ? fromFile.replace(/\/[^/]*$/, '') : '';
      else if (!request.startsWith('/') && fromModule) base = null; // bare: only miniprogram_npm/
      let relative = null;
      if (base !== null) {
        const parts = [];
        for (const part of (base + '/' + request).split('/')) {
          if (part === '' || part === '.') continue;
          if (part === '..') parts.pop();
          else parts.push(part);
        }
        relative = parts.join('/');
        if (!relative.endsWith('.js')) relative += '.js';
        if (isFile(relative)) return relative;
      }
      if (isBare(request)) {
        const found = npmCandidates(fromFile || '', request).find(isFile);
        if (found) return found;
      }
      throw new Error('module "' + (relative || request) + '" is not defined, require args is \'' + request + '\'');
    }
    function requireFrom(fromFile, request) {
      const relative = resolve(fromFile, String(request));
      if (modules.has(relative)) return modules.get(relative).exports;
      const source = readFile(root + '/' + relative);
      const module = { exports: {} };
      modules.set(relative, module);
      const fn = new Function('require', 'module', 'exports', source + '\n//# sourceURL=' + relative);
      try {
        fn.call(module.exports, (next) => requireFrom(relative, next), module, module.exports);
      } catch (err) {
        modules.delete(relative);
        throw err;
      }
      return module.exports;
    }
    return {
      server,
      fake,
      wasm,
      pages,
      openPage,
      require: (request) => requireFrom(null, request),
      toRealm: (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value))),
      advanceClock: (ms) => {
        clockOffset += ms;
      },
    };
  }

  const host = {
    REPO,
    PACKAGE,
    BASELINE,
    DEFAULT_NICKNAME,
    createEnv,
    sleep,
    now: () => preciseTime() * 1000,
    print,
    consoleLines,
    engine: 'jsc',
  };

  // ---- modes ----------------------------------------------------------------------------------------------------
  function finish(code) {
    cancelAllTimers();
    quit(code);
  }

  if (mode === 'test' || mode === 'run') {
    const suite = hostRequire(mode === 'run' ? args[4] : REPO + '/tests/jsc/sandbox.test.js');
    const filter = (mode === 'run' ? args[5] : args[3]) || '';
    runTests(suite.tests(host), filter).then(
      (failed) => finish(failed ? 1 : 0),
      (err) => {
        print('harness crashed: ' + show(err));
        finish(2);
      }
    );
  } else if (args[3] === 'compile') {
    // The module's code compiled alone, in a fresh process with the main thread idle: the part of
    // start-up that only the wasm's size decides (bench/engines.js prints it beside start-up).
    const bytes = readFile(UNBR + '/session/session_bg.wasm', 'binary');
    const t0 = preciseTime();
    HostWebAssembly.compile(bytes).then(
      () => {
        print('BENCH ' + JSON.stringify({ engine: 'jsc', startupMs: (preciseTime() - t0) * 1000, callsPerRound: {} }));
        finish(0);
      },
      (err) => {
        print('bench failed: ' + show(err));
        finish(1);
      }
    );
  } else {
    const rounds = hostRequire(REPO + '/bench/rounds.js');
    const impl = args[3] === 'base' ? { root: BASELINE, entry: '/session.js' } : { root: PACKAGE, entry: '/session/index.js' };
    rounds.measure(host, impl, { rounds: Number(args[4]) || 300 }).then(
      (result) => {
        print('BENCH ' + JSON.stringify(result));
        finish(0);
      },
      (err) => {
        print('bench failed: ' + show(err));
        finish(1);
      }
    );
  }

  /** Runs [{ name, fn }] one after another; prints TAP and `N passed, M failed`; resolves with M. */
  async function runTests(tests, filter) {
    const chosen = tests.filter((t) => t.name.includes(filter));
    if (chosen.length === 0) {
      print('no test name contains "' + filter + '"');
      print('0 passed, 1 failed');
      return 1;
    }
    print('TAP version 13');
    print('1..' + chosen.length);
    let passed = 0;
    let failed = 0;
    for (let i = 0; i < chosen.length; i++) {
      const t = chosen[i];
      consoleLines.length = 0;
      let error = null;
      try {
        await Promise.race([
          Promise.resolve().then(t.fn),
          new Promise((resolve, reject) => hostSetTimeout(() => reject(new Error('timed out after 20 s')), 20000)),
        ]);
      } catch (err) {
        error = err;
      }
      cancelAllTimers();
      if (error) {
        failed += 1;
        print('not ok ' + (i + 1) + ' - ' + t.name);
        print('  ---\n  error: ' + show(error).split('\n').join('\n    ') + '\n  ...');
        consoleLines.forEach((line) => print('  # ' + line));
      } else {
        passed += 1;
        print('ok ' + (i + 1) + ' - ' + t.name);
      }
    }
    print(passed + ' passed, ' + failed + ' failed');
    return failed;
  }
})(globalThis);

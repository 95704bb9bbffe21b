/**
 * Mini-program pages in Node: miniprogram-simulate with App/Page/getApp/getCurrentPages, the
 * stateful fake `wx`, the fake server and WXWebAssembly, all on this process's global.
 *
 *   const env = createPageEnv({ server });     // once per process: it owns the globals
 *   const app = env.launchApp();               // runs app.js's App(def) and its onLaunch
 *   await app.globalData.launchCheck;
 *   const page = env.open('pages/index/index'); // render + attach: onLoad, onShow, onReady
 *   await env.until(() => page.text().includes('登录'));
 *   page.tap('登录');                          // finds the button by its text in the DOM
 *   env.fake.readStorage('token'); env.server.counts; page.data; page.instance;
 *
 * Options: root (default miniprogram/), server, fake, wxOptions (as in sandbox.js), and
 * hideWebGlobals (default true: deletes WebAssembly, TextEncoder, TextDecoder, fetch, URL,
 * Request, Response, crypto from the global — after the harness captured what it needs — so the
 * page code and the session module cannot lean on them without the tests noticing).
 *
 * The handle:
 *   launchApp(options)   requires app.js, calls onLaunch(options) and onShow; returns the app
 *   open(route, query)   renders the page and attaches it (Component lifetimes are mapped to
 *                        onLoad+onShow / onReady / onUnload); pushes it on the page stack
 *   close(page)          detaches it and removes it from the stack
 *   pages                the stack getCurrentPages() returns instances of (top last)
 *   until(fn, ms)        polls fn until truthy (default 2 s), else throws with fn's source
 *   fake, wx, server, wasm, simulate (the miniprogram-simulate module)
 * A page handle: { route, comp (j-component root), instance (the page `this`), data, text(),
 *   find(label) → the <button> wrapper whose text is label, tap(label, { force }) → dispatches
 *   WeChat's `tap` at it (refused, returning false, while the button is disabled unless force),
 *   show() → the page lifetime `show` (as when returning to it), query(selector) → the first
 *   element matching a CSS selector, attr(selector, name) → an attribute as the template wrote it
 *   (camelCase: openType),
 *   dispatch(selector, eventName, detail) → a WeChat event with
 *   that e.detail at it }.
 *
 * What the simulator lacks, and how this file fills it: it has no Page/App/getApp (Page(def) is
 * mapped onto Component: functions become methods, data stays data); a page path can be load()ed
 * once per process (open() caches the id and renders as often as needed); the template compiler
 * is the official `wcc` binary (miniprogram-compiler), run on the whole root. Page code runs under
 * Node's require; a bare name required from inside the root (`require('wx-session')`) resolves
 * through miniprogram_npm/ as on a device, never through node_modules.
 */
'use strict';

const fs = require('fs');
const Module = require('module');
const path = require('path');
const { installDom } = require('./mini-dom');
const { isBare, npmCandidates } = require('./mp-npm');
const { createFakeServer } = require('./fake-server');
const { createFakeWx } = require('./fake-wx');
const { createWXWebAssembly } = require('./wx-webassembly');
const { MINIPROGRAM_DIR } = require('./sandbox');

const HIDDEN_WEB_GLOBALS = ['WebAssembly', 'TextEncoder', 'TextDecoder', 'fetch', 'URL', 'Request', 'Response', 'crypto'];

let created = false;

function createPageEnv(options = {}) {
  if (created) throw new Error('createPageEnv: one per process (it owns the globals and the simulator caches pages)');
  created = true;
  const root = path.resolve(options.root || MINIPROGRAM_DIR);

  resolveNpmLikeTheRuntime(root);

  // exparser chooses its DOM backend when it is first required, so the DOM comes first.
  installDom(globalThis);
  let simulate;
  let exparser;
  try {
    simulate = require('miniprogram-simulate');
    exparser = require('miniprogram-exparser');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(`createPageEnv: miniprogram-simulate is not installed (${err.message.split('\n')[0]}); run npm ci in the repository root`);
  }

  const server = options.server || createFakeServer();
  const fake = options.fake || createFakeWx(Object.assign({ server }, options.wxOptions || {}));
  const wasm = createWXWebAssembly({ root });
  const pages = [];
  const loadedIds = new Map();
  let app = null;
  let pendingPage = null;
  let BaseComponent = null;

  // Replaces the simulator's stateless wx stub (installed when it was required).
  globalThis.wx = fake.wx;
  globalThis.WXWebAssembly = wasm.api;
  globalThis.getCurrentPages = () => pages.map((page) => page.instance);
  globalThis.getApp = () => app;
  globalThis.App = (definition) => {
    // WeChat copies the definition onto the app instance; the definition itself serves here.
    app = definition;
  };
  globalThis.Page = (definition) => globalThis.Component(pageAsComponent(definition));
  if (options.hideWebGlobals !== false) HIDDEN_WEB_GLOBALS.forEach((name) => delete globalThis[name]);

  function launchApp(launchOptions = { path: 'pages/index/index', query: {}, scene: 1001 }) {
    if (app) throw new Error('launchApp: the app is already launched');
    require(path.join(root, 'app.js'));
    if (!app) throw new Error('app.js did not call App()');
    if (typeof app.onLaunch === 'function') app.onLaunch(launchOptions);
    if (typeof app.onShow === 'function') app.onShow(launchOptions);
    return app;
  }

  function open(route, query = {}) {
    let id = loadedIds.get(route);
    if (!id) {
      id = simulate.load(path.join(root, route), { rootPath: root });
      loadedIds.set(route, id);
    }
    const page = { route, query, comp: null, instance: null };
    pendingPage = page;
    try {
      page.comp = simulate.render(id);
      page.instance = page.comp.instance;
      page.instance.route = route;
      pages.push(page); // before attach: onShow may already ask getCurrentPages()
      page.comp.attach(document.body);
    } finally {
      pendingPage = null;
    }
    if (!BaseComponent) BaseComponent = Object.getPrototypeOf(Object.getPrototypeOf(page.comp)).constructor;
    return decorate(page);
  }

  function close(page) {
    const at = pages.indexOf(page);
    if (at >= 0) pages.splice(at, 1);
    page.comp.detach();
  }

  /** Adds the reading/tapping helpers to a page record. */
  function decorate(page) {
    Object.defineProperty(page, 'data', { get: () => page.comp.data });
    page.text = () => page.comp.dom.textContent.replace(/\s+/g, ' ').trim();
    page.find = (label) => {
      const dom = findButtonDom(page.comp.dom, label);
      return dom ? new BaseComponent(dom.__wxElement) : null;
    };
    page.tap = (label, { force = false } = {}) => {
      const button = page.find(label);
      if (!button) throw new Error(`no button "${label}" on ${page.route}; the page reads: ${page.text()}`);
      // The simulator renders <button> as a bare slot, so `disabled` is only in the template's
      // attributes; a device would not deliver the tap, and neither do we unless forced.
      if (!force && isDisabled(button._exparserNode)) return false;
      button.dispatchEvent('tap');
      return true;
    };
    page.show = () => page.comp.triggerPageLifeTime('show');
    // The first element matching a selector (classes as written in the WXML), as a component
    // wrapper; dispatch() fires a WeChat event at it with e.detail = detail (tap, blur,
    // chooseavatar, getphonenumber, agreeprivacyauthorization…).
    page.query = (selector) => page.comp.querySelector(selector) || null;
    page.attr = (selector, name) => {
      const target = page.query(selector);
      return target ? templateAttr(target._exparserNode, name) : undefined;
    };
    page.dispatch = (selector, eventName, detail = {}) => {
      const target = page.query(selector);
      if (!target) throw new Error(`nothing matches ${selector} on ${page.route}; the page reads: ${page.text()}`);
      target.dispatchEvent(eventName, { detail });
    };
    return page;
  }

  /** The page definition as a Component: lifetimes carry the page callbacks. */
  function pageAsComponent(definition) {
    const methods = {};
    Object.keys(definition).forEach((key) => {
      if (typeof definition[key] === 'function') methods[key] = definition[key];
    });
    const call = (instance, name, ...args) => (typeof instance[name] === 'function' ? instance[name](...args) : undefined);
    return {
      data: definition.data || {},
      methods,
      lifetimes: {
        attached() {
          if (pendingPage) this.route = pendingPage.route;
          call(this, 'onLoad', pendingPage ? pendingPage.query : {});
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

  /** An attribute as the template wrote it (the simulator renders built-ins bare, without them). */
  function templateAttr(exparserNode, name) {
    const vt = exparserNode && exparserNode._vt;
    const attr = vt && vt.attrs && vt.attrs.find((a) => a.name === name);
    return attr ? attr.value : undefined;
  }

  function isDisabled(exparserNode) {
    const value = templateAttr(exparserNode, 'disabled');
    return Boolean(value && value !== 'false');
  }

  /** The DOM node of a <button> whose text is `label`, searched depth-first. */
  function findButtonDom(node, label) {
    for (const child of node.childNodes) {
      if (child.nodeType !== 1) continue;
      if (child.localName === 'wx-button' && child.textContent.trim() === label && child.__wxElement) return child;
      const found = findButtonDom(child, label);
      if (found) return found;
    }
    return null;
  }

  async function until(predicate, ms = 2000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = predicate();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`until: still false after ${ms} ms: ${predicate}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  // Navigation keeps the stack honest enough for tests; it does not render the target page.
  fake.onNavigate = (entry) => {
    if (entry.api === 'navigateBack') {
      const popped = pages.splice(Math.max(1, pages.length - (entry.delta || 1)));
      popped.forEach((page) => page.comp.detach());
    }
  };

  return { root, simulate, exparser, fake, wx: fake.wx, server, wasm, pages, launchApp, open, close, until };
}

/**
 * The package's files run under Node's require here, which would look for a bare name
 * (`require('wx-session')`) in node_modules. The runtime looks in miniprogram_npm/ (what 构建 npm
 * fills, see mp-npm.js); so, for requests made from files inside `root`, does this.
 */
function resolveNpmLikeTheRuntime(root) {
  const original = Module._resolveFilename;
  Module._resolveFilename = function resolveFilename(request, parent, ...rest) {
    const from = parent && parent.filename;
    const relative = from ? path.relative(root, from).split(path.sep).join('/') : '..';
    if (isBare(request) && !relative.startsWith('../') && !relative.startsWith('node_modules/')) {
      for (const candidate of npmCandidates(relative, request)) {
        const file = path.join(root, ...candidate.split('/'));
        if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
      }
      // As on a device: no miniprogram_npm/ entry, no module (Node would have found node_modules).
      throw new Error(`module "${request}" is not defined, require args is '${request}' (from ${relative}; no miniprogram_npm/ has it: run scripts/pack.sh or 构建 npm)`);
    }
    return original.call(this, request, parent, ...rest);
  };
}

module.exports = { createPageEnv, HIDDEN_WEB_GLOBALS };

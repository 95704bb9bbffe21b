/**
 * The fake mini-program runtime for Node tests and benchmarks — one entry point.
 *
 *   const { createSandbox, createFakeServer, createFakeWx } = require('./support');
 *
 * Pieces (each file documents its own API at the top):
 *   fake-server.js     createFakeServer({ baseUrl, expiresIn, now, userInfoFor })
 *                      the default protocol in-process: login / check / logout, single-use codes,
 *                      single sign-on, counters, fault injection (failNext). handle(request) is
 *                      pure routing, so a benchmark can call it without any wx.
 *   fake-wx.js         createFakeWx({ server, realm, latencyMs, openid, sdkVersion })
 *                      a stateful `wx`: login, checkSession, request, storage, loading/toast/
 *                      modal, navigation, network status; counts every call; callback and
 *                      Promise styles.
 *   wx-webassembly.js  createWXWebAssembly({ root, realm }) — `WXWebAssembly` over the host's
 *                      WebAssembly, with the device's path rules.
 *   sandbox.js         createSandbox({ root, server, fake, wxOptions, globals, console })
 *                      a vm context with only the runtime's globals, CommonJS require limited to
 *                      the package, getCurrentPages/getApp, and the fakes above wired in.
 *   page-env.js        createPageEnv({ root, server, fake, wxOptions, hideWebGlobals })
 *                      miniprogram-simulate with Page/App/getApp/getCurrentPages on this
 *                      process's global, rendering real pages; once per process.
 *   mini-dom.js        installDom(scope) — the small DOM page-env.js needs (no jsdom here).
 *   mp-npm.js          npmCandidates(fromFile, request) — how a bare require('wx-session')
 *                      resolves through miniprogram_npm/ (used by sandbox.js and page-env.js).
 *
 * page-env.js is not loaded from here: requiring it would not touch globals, but it pulls in the
 * simulator; require it directly where pages are rendered.
 */
'use strict';

const { createFakeServer, DEFAULT_BASE_URL, DEFAULT_NICKNAME } = require('./fake-server');
const { createFakeWx, HOST_REALM } = require('./fake-wx');
const { createWXWebAssembly, resolvePackagePath } = require('./wx-webassembly');
const { createSandbox, MINIPROGRAM_DIR, ABSENT_GLOBALS } = require('./sandbox');

module.exports = {
  createFakeServer,
  createFakeWx,
  createWXWebAssembly,
  createSandbox,
  resolvePackagePath,
  DEFAULT_BASE_URL,
  DEFAULT_NICKNAME,
  HOST_REALM,
  MINIPROGRAM_DIR,
  ABSENT_GLOBALS,
};

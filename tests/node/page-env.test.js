/**
 * Tests of tests/node/support/page-env.js (miniprogram-simulate + Page/App shims + fake wx) on a
 * one-page stand-in mini-program, independent of the session module.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createPageEnv, HIDDEN_WEB_GLOBALS } = require('./support/page-env');
const { makeTinyPackage } = require('./support/tiny-package');

const pkg = makeTinyPackage();
const env = createPageEnv({ root: pkg.root });
test.after(() => pkg.cleanup());

test('App(def) becomes getApp() and onLaunch runs once', () => {
  const app = env.launchApp();
  assert.equal(getApp(), app);
  assert.equal(app.globalData.launched, 1);
  assert.throws(() => env.launchApp(), /already launched/);
  assert.throws(() => createPageEnv(), /one per process/);
});

test('a page renders from the official wcc output, with onLoad(query) and onShow mapped', async () => {
  const page = env.open('pages/demo/demo', { from: 'test' });
  assert.equal(page.text(), '你好 世界出发点了 0 次');
  assert.equal(page.data.loads, 1);
  assert.equal(page.data.shows, 1);
  assert.deepEqual(page.data.query, { from: 'test' });
  assert.equal(page.instance.route, 'pages/demo/demo');
  assert.deepEqual(getCurrentPages(), [page.instance]);
  page.show();
  assert.equal(page.data.shows, 2);
  env.close(page);
  assert.deepEqual(getCurrentPages(), []);
});

test('tap finds the button by its text and reaches the page method; the fake wx records the toast', async () => {
  env.fake.reset();
  const page = env.open('pages/demo/demo');
  assert.equal(page.tap('出发'), true);
  await env.until(() => page.data.taps === 1);
  assert.equal(page.text(), '你好 世界出发点了 1 次');
  assert.deepEqual(env.fake.toasts, [{ title: '出发 1', icon: 'none', duration: 1500 }]);
  assert.throws(() => page.tap('不存在'), /no button "不存在" on pages\/demo\/demo/);
  env.close(page);
});

test('a disabled button takes no tap unless forced', async () => {
  const page = env.open('pages/demo/demo');
  page.comp.setData({ off: true });
  assert.equal(page.tap('出发'), false);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(page.data.taps, 0);
  assert.equal(page.tap('出发', { force: true }), true);
  await env.until(() => page.data.taps === 1);
  env.close(page);
});

test('the global has the fakes and none of the web globals the runtime lacks', () => {
  assert.equal(globalThis.wx, env.fake.wx);
  assert.equal(typeof WXWebAssembly.instantiate, 'function');
  for (const name of HIDDEN_WEB_GLOBALS) assert.equal(typeof globalThis[name], 'undefined', name);
  assert.ok(document.querySelector('style'), 'the page wxss was injected into <head>');
});

test('page code requires npm names through miniprogram_npm/ (never node_modules), as on a device', () => {
  const path = require('path');
  const fs = require('fs');
  const user = require(path.join(pkg.root, 'pages/npm-user.js'));
  assert.equal(user.pkg.where, 'root');
  assert.equal(user.sub, 'sub');
  assert.equal(require(path.join(pkg.root, 'lib/uses-npm.js')).where, 'lib', 'the nearest miniprogram_npm wins');
  // A name only node_modules has (the simulator itself) is not a mini-program module.
  fs.writeFileSync(path.join(pkg.root, 'lib/wants-node-module.js'), "module.exports = require('miniprogram-simulate');\n");
  assert.throws(() => require(path.join(pkg.root, 'lib/wants-node-module.js')), /module "miniprogram-simulate" is not defined/);
});

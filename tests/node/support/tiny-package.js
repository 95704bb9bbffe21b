/**
 * A throwaway code package for testing the harness itself, written to a temp folder.
 *
 *   const pkg = makeTinyPackage();   // { root, wasmBytes, cleanup() }
 *
 * Contents:
 *   lib/tiny.wasm.br, lib/tiny.wasm  a hand-assembled module: imports env.log(i32) and exports
 *                                    add(a, b), which calls log(a) and returns a + b
 *   lib/notwasm.txt                  a file that is not a module
 *   lib/a.js → requires './b', '../lib/c', '/lib/c.js' (relative, parent, root-absolute forms)
 *   lib/throws.js                    throws while loading
 *   miniprogram_npm/tiny-npm/{index,sub}.js, lib/miniprogram_npm/tiny-npm/index.js   what 构建 npm
 *                                    would leave: the same npm name at the root and nearer to lib/
 *   lib/uses-npm.js, pages/npm-user.js   require('tiny-npm') from lib/ (the nearer copy) and from
 *                                    pages/ (the root copy, plus 'tiny-npm/sub')
 *   pages/demo/demo.{js,json,wxml,wxss}, app.js, app.json   a one-page mini-program whose button
 *                                    shows a toast and calls getApp() (for page-env tests)
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

// (module
//   (type (func (param i32 i32) (result i32))) (type (func (param i32)))
//   (import "env" "log" (func (type 1)))
//   (func (export "add") (type 0) local.get 0 call 0 local.get 0 local.get 1 i32.add))
const TINY_WASM_HEX = [
  '0061736d', '01000000', // magic, version
  '010b', '02', '60027f7f017f', '60017f00', // type section: 2 types
  '020b', '01', '03656e76', '036c6f67', '0001', // import env.log : type 1
  '0302', '0100', // function section: 1 function of type 0
  '0707', '01', '03616464', '0001', // export "add" = func 1
  '0a0d', '01', '0b', '00', '2000', '1000', '2000', '2001', '6a', '0b', // code
].join('');

function write(root, file, content) {
  const full = path.join(root, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, content);
}

function makeTinyPackage() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wx-session-tiny-'));
  const wasmBytes = Buffer.from(TINY_WASM_HEX, 'hex');
  write(root, 'lib/tiny.wasm', wasmBytes);
  write(root, 'lib/tiny.wasm.br', zlib.brotliCompressSync(wasmBytes));
  write(root, 'lib/notwasm.txt', 'hello');
  write(root, 'lib/a.js', "'use strict';\nconst b = require('./b');\nconst c1 = require('../lib/c');\nconst c2 = require('/lib/c.js');\nmodule.exports = { b, sameC: c1 === c2, c: c1 };\n");
  write(root, 'lib/b.js', "exports.name = 'b';\n");
  write(root, 'lib/c.js', "module.exports = { loads: (globalThis.__cLoads = (globalThis.__cLoads || 0) + 1) };\n");
  write(root, 'lib/throws.js', "throw new Error('boom while loading');\n");
  write(root, 'miniprogram_npm/tiny-npm/index.js', "module.exports = { where: 'root', sub: require('./sub') };\n");
  write(root, 'miniprogram_npm/tiny-npm/sub.js', "module.exports = 'sub';\n");
  write(root, 'lib/miniprogram_npm/tiny-npm/index.js', "module.exports = { where: 'lib' };\n");
  write(root, 'lib/uses-npm.js', "module.exports = require('tiny-npm');\n");
  write(root, 'pages/npm-user.js', "module.exports = { pkg: require('tiny-npm'), sub: require('tiny-npm/sub') };\n");
  write(root, 'app.json', JSON.stringify({ pages: ['pages/demo/demo'] }));
  write(root, 'app.js', "App({ globalData: { launched: 0 }, onLaunch() { this.globalData.launched += 1; } });\n");
  write(root, 'pages/demo/demo.json', '{}');
  write(root, 'pages/demo/demo.wxss', '.hello { color: red; }\n');
  write(root, 'pages/demo/demo.wxml', [
    '<view class="hello">你好 {{name}}</view>',
    '<button class="go" disabled="{{off}}" bindtap="onGo">出发</button>',
    '<text class="taps">点了 {{taps}} 次</text>',
  ].join('\n'));
  write(root, 'pages/demo/demo.js', [
    "Page({",
    "  data: { name: '世界', taps: 0, off: false, loads: 0, shows: 0 },",
    "  onLoad(query) { this.setData({ loads: this.data.loads + 1, query }); },",
    "  onShow() { this.setData({ shows: this.data.shows + 1 }); },",
    "  onGo() {",
    "    this.setData({ taps: this.data.taps + 1 });",
    "    wx.showToast({ title: '出发 ' + getApp().globalData.launched, icon: 'none' });",
    "  },",
    "});",
  ].join('\n'));
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  // Also on exit: a test file that crashes before its after() hook must not leave the folder.
  process.once('exit', cleanup);
  return { root, wasmBytes, cleanup };
}

module.exports = { makeTinyPackage, TINY_WASM_HEX };

// Self-test of the mini-program build tools: the UTF-8 codec, the glue transform, the wasm module
// tool, and the shipped files loading in a sandbox that lacks what the mini-program runtime lacks.
//
//   node --test tools/           (scripts/test.sh runs it as the `tools` suite)
//
// The last group needs a build (scripts/build.sh); it is skipped, saying so, when there is none.
// MP_PACKAGE_DIR points it at another folder holding session_wasm.js and session_bg.wasm.br.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { MpUtf8Decoder, MpUtf8Encoder, mpUtf8Length } = require('./mp-utf8.js');
const { transform, build, checkFile, findForbidden } = require('./mp-glue.js');
const wasmModule = require('./wasm-module.js');
const { createSandbox } = require('./mp-sandbox.js');

const REPO = path.resolve(__dirname, '..');
const PACKAGE_DIR = path.resolve(process.env.MP_PACKAGE_DIR || path.join(REPO, 'miniprogram', 'session'));
const GLUE = path.join(PACKAGE_DIR, 'session_wasm.js');
const WASM = path.join(PACKAGE_DIR, 'session_bg.wasm.br');
const BUILT = fs.existsSync(GLUE) && fs.existsSync(WASM);

const PANDA = '登陆中 🐼';

// ---------------------------------------------------------------------------------------------
test('UTF-8 decoder agrees with the WHATWG decoder (the host TextDecoder)', async (t) => {
  const cases = [
    [0x41, 0xe7, 0x99, 0xbb, 0xf0, 0x9f, 0x90, 0xbc], // ASCII, CJK, emoji (surrogate pair)
    [0xef, 0xbb, 0xbf, 0x41], // BOM
    [0xc0, 0x80], // overlong NUL
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // an encoded surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xf5, 0x41], // never valid
    [0xf0, 0x9f, 0x90], // truncated emoji at the end
    [0xe7, 0x99, 0x41], // truncated CJK before ASCII
    [0x80, 0xbf, 0xfe, 0xff],
    [],
  ];
  for (const ignoreBOM of [true, false]) {
    const host = new TextDecoder('utf-8', { ignoreBOM });
    const mine = new MpUtf8Decoder('utf-8', { ignoreBOM });
    for (const bytes of cases) {
      assert.equal(mine.decode(new Uint8Array(bytes)), host.decode(new Uint8Array(bytes)), 'bytes ' + bytes + ' ignoreBOM ' + ignoreBOM);
    }
  }
  await t.test('random bytes, replacement and fatal modes', () => {
    const host = new TextDecoder('utf-8', { ignoreBOM: true });
    const mine = new MpUtf8Decoder('utf-8', { ignoreBOM: true });
    const fatalHost = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
    const fatalMine = new MpUtf8Decoder('utf-8', { ignoreBOM: true, fatal: true });
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let n = 0; n < 20000; n++) {
      const bytes = new Uint8Array(Math.floor(random() * 10));
      for (let i = 0; i < bytes.length; i++) {
        const r = random();
        bytes[i] = r < 0.3 ? random() * 0x80 : r < 0.6 ? 0x80 + random() * 0x40 : 0xc0 + random() * 0x40;
      }
      assert.equal(mine.decode(bytes), host.decode(bytes));
      let hostThrew = false;
      let mineThrew = null;
      try { fatalHost.decode(bytes); } catch { hostThrew = true; }
      try { fatalMine.decode(bytes); } catch (error) { mineThrew = error; }
      assert.equal(Boolean(mineThrew), hostThrew, 'fatal mode disagrees on ' + bytes);
      if (mineThrew) assert.ok(mineThrew instanceof TypeError);
    }
  });
  await t.test('large input, ArrayBuffer input, no argument', () => {
    const text = (PANDA + 'abc').repeat(10000);
    const bytes = new TextEncoder().encode(text);
    assert.equal(new MpUtf8Decoder().decode(bytes), text);
    assert.equal(new MpUtf8Decoder().decode(bytes.buffer), text);
    assert.equal(new MpUtf8Decoder().decode(), '');
    assert.throws(() => new MpUtf8Decoder('gbk'), RangeError);
    assert.throws(() => new MpUtf8Decoder().decode(bytes, { stream: true }), TypeError);
  });
});

test('UTF-8 encoder agrees with the host TextEncoder, encode and encodeInto', () => {
  const host = new TextEncoder();
  const mine = new MpUtf8Encoder();
  const strings = [PANDA, '', 'ascii', '\u0000', '\u07ff\u0800\uffff', '\ud83d', 'a\udc3cb', '\ud83d\ud83d\udc3c', '🐼'.repeat(3)];
  for (const s of strings) {
    assert.deepEqual(mine.encode(s), host.encode(s), JSON.stringify(s));
    assert.equal(mpUtf8Length(s), host.encode(s).length);
    for (let room = 0; room <= host.encode(s).length + 1; room++) {
      const a = new Uint8Array(room);
      const b = new Uint8Array(room);
      assert.deepEqual(mine.encodeInto(s, a), host.encodeInto(s, b), JSON.stringify(s) + ' into ' + room);
      assert.deepEqual(a, b);
    }
  }
  assert.equal(mine.encoding, 'utf-8');
});

// ---------------------------------------------------------------------------------------------
// A glue file shaped like wasm-bindgen's `--target web` output, small enough to read.
const FIXTURE = [
  '/* @ts-self-types="./x.d.ts" */',
  'export class Session { constructor(o) { this.o = o; } }',
  'export function greet(s) { return `hi ${s}`; }',
  'function __wbg_get_imports() { return { __proto__: null, "./x_bg.js": {} }; }',
  "let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });",
  'const cachedTextEncoder = new TextEncoder();',
  'let wasm;',
  'function __wbg_finalize_init(instance, module) { wasm = instance.exports; return wasm; }',
  'async function __wbg_load(module, imports) { return WebAssembly.instantiate(module, imports); }',
  'function initSync(module) { return new WebAssembly.Instance(module); }',
  "async function __wbg_init(p) { p = new URL('x_bg.wasm', import.meta.url); return fetch(p); }",
  'export { initSync, __wbg_init as default };',
].join('\n');

test('glue transform: a wasm-bindgen-shaped glue becomes clean CommonJS', () => {
  const result = transform(FIXTURE, { requireExports: ['Session'] });
  assert.deepEqual(result.exports, ['Session', 'greet']);
  assert.deepEqual(findForbidden(result.code), []);
  assert.match(result.code, /new MpUtf8Decoder\('utf-8', \{ ignoreBOM: true, fatal: true \}\)/);
  assert.doesNotMatch(result.code, /__wbg_init|initSync|@ts-self-types/);
  assert.match(result.code, /module\.exports = \{ instantiate: mpInstantiate \};/);
});

test('glue transform: fails loudly when the glue changes shape', () => {
  const without = (name) => FIXTURE.split('\n').filter((line) => !line.includes('function ' + name)).join('\n');
  assert.throws(() => transform(without('__wbg_get_imports')), /__wbg_get_imports/);
  assert.throws(() => transform(without('__wbg_finalize_init')), /__wbg_finalize_init/);
  assert.throws(() => transform(FIXTURE.replace('__wbg_get_imports()', '__wbg_get_imports(memory)')), /takes parameters/);
  assert.throws(() => transform('import * as x from "./snippets/a.js";\n' + FIXTURE), /inline_js|module = /);
  assert.throws(() => transform(FIXTURE, { requireExports: ['Missing'] }), /does not export Missing/);
  assert.throws(() => transform(FIXTURE + '\nfunction keep() { return __wbg_init(); }'), /still refers to __wbg_init/);
  assert.throws(() => transform(FIXTURE + '\nconst mpExports = 1;'), /already uses mpExports/);
});

test('glue build: refuses to write a file that still needs fetch', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-glue-'));
  try {
    const input = path.join(dir, 'glue.js');
    const output = path.join(dir, 'out.js');
    fs.writeFileSync(input, FIXTURE + '\nfunction helper(u) { return fetch(u); }\n');
    assert.throws(() => build(input, output), (error) => /fetch/.test(error.message) && /line \d+/.test(error.message));
    assert.equal(fs.existsSync(output), false);
    fs.writeFileSync(input, FIXTURE);
    build(input, output);
    assert.ok(fs.existsSync(output));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('forbidden-reference scan: references, not mentions', () => {
  const found = (code) => findForbidden(code).map((f) => f.what);
  assert.deepEqual(found('// fetch WebAssembly\nconst s = "TextDecoder fetch"; obj.fetch(1); wx.request({});'), []);
  assert.deepEqual(found('fetch(1); globalThis.fetch(2); self.crypto; new Function("x"); import("m"); q?.WebAssembly'),
    ['fetch', 'fetch', 'crypto', 'new Function', 'import()', 'WebAssembly']);
  assert.deepEqual(found('const u = import.meta.url; export const x = 1;'), ['import.meta', 'export statement']);
  assert.deepEqual(found('WXWebAssembly.instantiate(p, i)'), []);
});

// ---------------------------------------------------------------------------------------------
test('wasm module tool: reads target_features, drops exports and sections', () => {
  const { encodeU32 } = wasmModule;
  const name = (s) => Buffer.concat([encodeU32(Buffer.byteLength(s)), Buffer.from(s)]);
  const section = (id, body) => Buffer.concat([Buffer.from([id]), encodeU32(body.length), body]);
  const features = Buffer.concat([name('target_features'), encodeU32(2), Buffer.from('+'), name('multivalue'), Buffer.from('-'), name('simd128')]);
  const exportsBody = Buffer.concat([encodeU32(2), name('memory'), Buffer.from([2]), encodeU32(0), name('__flag'), Buffer.from([3]), encodeU32(0)]);
  const module = Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), section(7, exportsBody), section(0, features)]);

  assert.deepEqual(wasmModule.declaredFeatures(module), [{ prefix: '+', name: 'multivalue' }, { prefix: '-', name: 'simd128' }]);
  assert.deepEqual(wasmModule.exportsOf(module).map((e) => e.kind + ' ' + e.name), ['memory memory', 'global __flag']);
  const rewritten = wasmModule.rewrite(module, { dropSections: ['target_features'], dropExports: ['__flag'] });
  assert.equal(wasmModule.declaredFeatures(rewritten), null);
  assert.deepEqual(wasmModule.exportsOf(rewritten).map((e) => e.name), ['memory']);
  assert.equal(wasmModule.readU32(encodeU32(624485), 0).value, 624485);
  assert.throws(() => wasmModule.sections(Buffer.from('not wasm')), /bad magic/);
});

// ---------------------------------------------------------------------------------------------
// The shipped files, in a sandbox without the globals the mini-program runtime lacks.
const builtSkip = BUILT ? false : 'no build in ' + PACKAGE_DIR + ' (run scripts/build.sh)';

test('shipped glue: passes the forbidden-reference scan and node --check', { skip: builtSkip }, () => {
  assert.deepEqual(findForbidden(fs.readFileSync(GLUE, 'utf8')), []);
  checkFile(GLUE);
});

for (const resultShape of ['pair', 'instance']) {
  test('shipped glue: instantiates through a path-only WXWebAssembly (result: ' + resultShape + ')', { skip: builtSkip }, async () => {
    const sandbox = createSandbox(PACKAGE_DIR, { resultShape });
    const glue = sandbox.load(GLUE);
    assert.deepEqual(Object.keys(glue), ['instantiate']);
    const exported = await glue.instantiate('/session_bg.wasm.br');
    assert.equal(typeof exported.Session, 'function', 'Session is exported');
    assert.equal(await glue.instantiate('/session_bg.wasm.br'), exported, 'the second call reuses the instance');
    assert.deepEqual(sandbox.instantiateCalls, ['/session_bg.wasm.br']);
  });
}

test('shipped glue: rejects without WXWebAssembly, then retries once it exists', { skip: builtSkip }, async () => {
  const sandbox = createSandbox(PACKAGE_DIR);
  const engine = sandbox.context.WXWebAssembly;
  delete sandbox.context.WXWebAssembly;
  const glue = sandbox.load(GLUE);
  await assert.rejects(glue.instantiate('/session_bg.wasm.br'), /WXWebAssembly is not available/);
  sandbox.context.WXWebAssembly = engine;
  await assert.rejects(glue.instantiate('/missing.wasm.br'), /cannot read/);
  const exported = await glue.instantiate('session_bg.wasm.br');
  assert.equal(typeof exported.Session, 'function');
});

// Strings cross the boundary both ways through the local UTF-8 codec: an unknown option's name goes
// into the wasm (Object.keys) and comes back as `error.option`; a loading text goes in through
// init() and out to wx.showLoading; WeChat's errMsg goes in from wx.login and out in the error.
test('shipped glue: round-trips ' + PANDA + ' through the wasm module', { skip: builtSkip }, async () => {
  const sandbox = createSandbox(PACKAGE_DIR);
  // The fake wx and the option objects are made inside the sandbox: the wasm checks
  // `instanceof Object` against its own realm's Object, as on the device where there is one realm.
  sandbox.run(`globalThis.wx = {
    titles: [],
    showLoading(options) { this.titles.push(options.title); },
    hideLoading() {},
    showToast() {},
    getStorageSync() { return ''; },
    setStorageSync() {},
    removeStorageSync() {},
    checkSession(options) { options.fail({ errMsg: 'checkSession:fail' }); },
    login(options) { options.fail({ errMsg: 'login:fail ' + ${JSON.stringify(PANDA)} }); },
    request(options) { options.fail({ errMsg: 'request:fail' }); },
  };`);
  const exported = await sandbox.load(GLUE).instantiate('/session_bg.wasm.br');
  const options = (object) => sandbox.run('JSON').parse(JSON.stringify(object));

  assert.throws(
    () => new exported.Session(options({ baseUrl: 'https://example.com', [PANDA.repeat(100)]: 1 })),
    (error) => error.code === 'INVALID_OPTIONS' && error.option === PANDA.repeat(100)
  );
  const session = new exported.Session(options({ baseUrl: 'https://example.com', loginLoadingText: PANDA }));
  await assert.rejects(session.login(), (error) => error.code === 'WX_LOGIN_FAILED' && error.message.includes('login:fail ' + PANDA));
  assert.deepEqual([...sandbox.run('wx.titles')], [PANDA]);
  assert.equal(session.getToken(), undefined);
});

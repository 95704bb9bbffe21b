// Self-test of the mini-program build tools: the UTF-8 codec (tools/mp-utf8.mjs), the glue bundler
// (tools/mp-bundle.js with tools/mp-loader.mjs), the syntax-tree check (tools/mp-check.js), the wasm
// module tool, and the shipped files loading in a sandbox that lacks what the mini-program lacks.
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

const { findForbidden, checkFile } = require('./mp-check.js');
const { bundle, parseRenameMap } = require('./mp-bundle.js');
const wasmModule = require('./wasm-module.js');
const { createSandbox } = require('./mp-sandbox.js');

const REPO = path.resolve(__dirname, '..');
const PACKAGE_DIR = path.resolve(process.env.MP_PACKAGE_DIR || path.join(REPO, 'miniprogram', 'session'));
const GLUE = path.join(PACKAGE_DIR, 'session_wasm.js');
const WASM = path.join(PACKAGE_DIR, 'session_bg.wasm.br');
const BUILT = fs.existsSync(GLUE) && fs.existsSync(WASM);

const PANDA = '登陆中 🐼';

// The codec is an ES module (esbuild injects it); loaded once before the tests.
let MpUtf8Decoder;
let MpUtf8Encoder;
let SHARED_LIMIT;
test.before(async () => {
  const codec = await import('./mp-utf8.mjs');
  MpUtf8Decoder = codec.TextDecoder;
  MpUtf8Encoder = codec.TextEncoder;
  SHARED_LIMIT = codec.SHARED_LIMIT;
});
/** The one decoder wasm-bindgen's glue makes, with the codec's classes. */
const glueDecoder = () => new MpUtf8Decoder('utf-8', { ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
test('UTF-8 decoder agrees with the WHATWG decoder (the host TextDecoder) as the glue makes it', async (t) => {
  const cases = [
    [0x41, 0xe7, 0x99, 0xbb, 0xf0, 0x9f, 0x90, 0xbc], // ASCII, CJK, emoji (surrogate pair)
    [0xef, 0xbb, 0xbf, 0x41], // BOM (kept: ignoreBOM)
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
  const host = new TextDecoder('utf-8', { ignoreBOM: true });
  const mine = glueDecoder();
  for (const bytes of cases) {
    assert.equal(mine.decode(new Uint8Array(bytes)), host.decode(new Uint8Array(bytes)), 'bytes ' + bytes);
  }
  await t.test('random bytes', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let n = 0; n < 20000; n++) {
      const bytes = new Uint8Array(Math.floor(random() * 10));
      for (let i = 0; i < bytes.length; i++) {
        const r = random();
        bytes[i] = r < 0.3 ? random() * 0x80 : r < 0.6 ? 0x80 + random() * 0x40 : 0xc0 + random() * 0x40;
      }
      assert.equal(mine.decode(bytes), host.decode(bytes));
    }
  });
  await t.test('large input, a view into a larger buffer, no argument', () => {
    const text = (PANDA + 'abc').repeat(10000);
    const bytes = new TextEncoder().encode(text);
    assert.equal(glueDecoder().decode(bytes), text);
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 4);
    assert.equal(glueDecoder().decode(padded.subarray(4, 4 + bytes.length)), text);
    assert.equal(glueDecoder().decode(), '');
  });
  await t.test('what the glue never asks for is refused, not approximated', () => {
    assert.throws(() => new MpUtf8Decoder('gbk', { ignoreBOM: true }), TypeError);
    assert.throws(() => new MpUtf8Decoder('utf-8'), TypeError);
    assert.throws(() => new MpUtf8Decoder('utf-8', { ignoreBOM: true, fatal: true }), TypeError);
    assert.throws(() => glueDecoder().decode(new TextEncoder().encode('a').buffer), TypeError);
  });
});

test('UTF-8 encoder agrees with the host TextEncoder, encode and encodeInto', () => {
  const host = new TextEncoder();
  const mine = new MpUtf8Encoder();
  const strings = [PANDA, '', 'ascii', '\u0000', '\u07ff\u0800\uffff', '\ud83d', 'a\udc3cb', '\ud83d\ud83d\udc3c', '🐼'.repeat(3)];
  for (const s of strings) {
    assert.deepEqual(mine.encode(s), host.encode(s), JSON.stringify(s));
    for (let room = 0; room <= host.encode(s).length + 1; room++) {
      const a = new Uint8Array(room);
      const b = new Uint8Array(room);
      assert.deepEqual(mine.encodeInto(s, a), host.encodeInto(s, b), JSON.stringify(s) + ' into ' + room);
      assert.deepEqual(a, b);
    }
  }
  assert.deepEqual(mine.encode(), host.encode());
});

test('UTF-8 decoder keeps one buffer: none for ASCII, the same one for every non-ASCII decode', () => {
  const decoder = glueDecoder();
  assert.equal(decoder.decode(new TextEncoder().encode('plain ascii')), 'plain ascii');
  const longAscii = 'abc'.repeat(5000); // more code units than one fromCharCode.apply takes
  assert.equal(decoder.decode(new TextEncoder().encode(longAscii)), longAscii);
  assert.equal(decoder.decode(new TextEncoder().encode('\ufeff' + longAscii).subarray(3)), longAscii);
  assert.equal(decoder.units, null, 'pure ASCII needs no buffer');
  assert.equal(decoder.decode(new TextEncoder().encode(PANDA)), PANDA);
  const kept = decoder.units;
  assert.ok(kept instanceof Uint16Array);
  for (let i = 0; i < 100; i++) assert.equal(decoder.decode(new TextEncoder().encode(PANDA + i)), PANDA + i);
  assert.equal(decoder.units, kept, 'decoding again reuses the buffer');
  const big = PANDA.repeat(3000); // above SHARED_LIMIT bytes: a buffer of its own, not kept
  assert.ok(new TextEncoder().encode(big).length > SHARED_LIMIT);
  assert.equal(decoder.decode(new TextEncoder().encode(big)), big);
  assert.ok(decoder.units.length <= SHARED_LIMIT, 'a large input does not grow the kept buffer past the limit');
});

// ---------------------------------------------------------------------------------------------
// The bundler on a small wasm-bindgen-shaped input: a `_bg.js` and two hand-made wasm modules
// (before and after binaryen's renaming) with binaryen's map, loaded in the sandbox afterwards.

/** A wasm module importing `module.imp` (a () → () function), exporting `exp` that calls it and its memory as `memory`. */
function tinyWasm(module, imp, exp, memory = 'memory') {
  const { encodeU32 } = wasmModule;
  const name = (s) => Buffer.concat([encodeU32(Buffer.byteLength(s)), Buffer.from(s)]);
  const section = (id, body) => Buffer.concat([Buffer.from([id]), encodeU32(body.length), body]);
  const vec = (...items) => Buffer.concat([encodeU32(items.length), ...items]);
  return Buffer.concat([
    Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
    section(1, vec(Buffer.from([0x60, 0, 0]))), // type 0: () -> ()
    section(2, vec(Buffer.concat([name(module), name(imp), Buffer.from([0, 0])]))), // import func, type 0
    section(3, vec(Buffer.from([0]))), // one function of type 0
    section(5, vec(Buffer.from([0, 1]))), // memory, 1 page
    section(7, vec(Buffer.concat([name(exp), Buffer.from([0, 1])]), Buffer.concat([name(memory), Buffer.from([2, 0])]))),
    section(10, vec(Buffer.from([4, 0, 0x10, 0, 0x0b]))), // body: call 0; end
  ]);
}

const BG = [
  'let wasm;',
  'export function __wbg_set_wasm(val) { wasm = val; }',
  "let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });",
  'export const seen = [];',
  'export function __wbg_note_0123456789abcdef() {',
  '  const bytes = new Uint8Array(wasm.memory.buffer, 0, 4);',
  '  seen.push(cachedTextDecoder.decode(bytes));',
  '}',
  'export class Session {',
  '  ping() { new Uint8Array(wasm.memory.buffer).set(new TextEncoder().encode("登"), 0); new Uint8Array(wasm.memory.buffer)[3] = 65; wasm.session_ping(); return seen[seen.length - 1]; }',
  '}',
  'export function unused() { return 1; }',
].join('\n');

/** Writes the fixture into a temp dir and bundles it; `edit(bg)` changes the glue first. */
async function bundleFixture(dir, edit = (bg) => bg, extra = {}) {
  fs.writeFileSync(path.join(dir, 'x_bg.js'), edit(BG));
  fs.writeFileSync(path.join(dir, 'before.wasm'), tinyWasm('./x_bg.js', '__wbg_note_0123456789abcdef', 'session_ping'));
  fs.writeFileSync(path.join(dir, 'after.wasm'), tinyWasm('a', 'a', 'b', 'c'));
  const map = extra.map || { imports: [['./x_bg.js', '__wbg_note_0123456789abcdef', 'a']], exports: [['session_ping', 'b'], ['memory', 'c']] };
  fs.writeFileSync(path.join(dir, 'names.txt'), JSON.stringify(map));
  return bundle({
    bg: path.join(dir, 'x_bg.js'),
    map: path.join(dir, 'names.txt'),
    before: path.join(dir, 'before.wasm'),
    after: path.join(dir, 'after.wasm'),
    requireExports: extra.requireExports || ['Session'],
  });
}

function withTempDir(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-bundle-'));
  return Promise.resolve(fn(dir)).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test('bundle: wasm-bindgen bundler output becomes CommonJS that loads through WXWebAssembly', () =>
  withTempDir(async (dir) => {
    const result = await bundleFixture(dir);
    assert.deepEqual(result.api, ['Session', 'seen', 'unused']);
    assert.deepEqual(findForbidden(result.code), [], 'no TextDecoder/TextEncoder/WebAssembly/ES module syntax');
    assert.doesNotMatch(result.code, /session_ping|__wbg_note_0123456789abcdef|\.memory\b/, 'every wasm name is binaryen\'s short one');
    fs.writeFileSync(path.join(dir, 'glue.js'), result.code);
    fs.copyFileSync(path.join(dir, 'after.wasm'), path.join(dir, 'x.wasm'));
    const sandbox = createSandbox(dir);
    const glue = sandbox.load(path.join(dir, 'glue.js'));
    assert.deepEqual(Object.keys(glue), ['imports', 'instantiate', 'connect']);
    const api = await glue.instantiate('/x.wasm');
    // JS → UTF-8 (injected encoder) → wasm memory → the import, called from wasm → decoder → JS.
    assert.equal(new api.Session().ping(), "登A");
    assert.equal(await glue.instantiate('/x.wasm'), api, 'one instance per module');
  }));

test('bundle: a free function named like its wasm export keeps its JS name', () =>
  withTempDir(async (dir) => {
    // #[wasm_bindgen] pub fn session_ping() gives the JS export and the wasm export one name.
    const result = await bundleFixture(dir, (bg) => bg + '\nexport function session_ping() { wasm.session_ping(); return seen.length; }');
    assert.ok(result.api.includes('session_ping'));
    fs.writeFileSync(path.join(dir, 'glue.js'), result.code);
    fs.copyFileSync(path.join(dir, 'after.wasm'), path.join(dir, 'x.wasm'));
    const api = await createSandbox(dir).load(path.join(dir, 'glue.js')).instantiate('/x.wasm');
    assert.equal(api.session_ping(), 1);
  }));

test('bundle: refuses inputs outside the contract, writing nothing', () =>
  withTempDir(async (dir) => {
    await assert.rejects(bundleFixture(dir, (bg) => bg + '\nexport function leak(u) { return fetch(u); }'), /fetch/);
    await assert.rejects(bundleFixture(dir, (bg) => bg + '\nexport function keyed() { return { session_ping: 1 }; }'), /short names safely/);
    await assert.rejects(bundleFixture(dir, (bg) => bg + '\nexport function other(o) { return o.session_ping; }'), /something other than `wasm`/);
    await assert.rejects(bundleFixture(dir, (bg) => 'import { x } from "./snippets/y.js";\n' + bg), /inline_js/);
    await assert.rejects(bundleFixture(dir, (bg) => bg.replace('export function __wbg_set_wasm', 'function __wbg_set_wasm')), /__wbg_set_wasm/);
    await assert.rejects(bundleFixture(dir, (bg) => bg.replace('export function __wbg_note', 'function __wbg_note')), /does not export the wasm imports/);
    await assert.rejects(bundleFixture(dir, undefined, { requireExports: ['Missing'] }), /does not export Missing/);
    await assert.rejects(bundleFixture(dir, undefined, { map: { imports: [['./x_bg.js', '__wbg_note_0123456789abcdef', 'a']], exports: [['memory', 'c']] } }), /map does not say what export "session_ping"/);
    await assert.rejects(bundleFixture(dir, undefined, { map: { imports: [['./y_bg.js', '__wbg_note_0123456789abcdef', 'a']], exports: [['session_ping', 'b'], ['memory', 'c']] } }), /map does not say what import/);
  }));

test('binaryen rename map: its JSON; a name renamed twice or another shape is an error', () => {
  const map = parseRenameMap(JSON.stringify({ imports: [['./m_bg.js', '__wbg_x_1', 'a']], exports: [['memory', 'b']] }));
  assert.deepEqual([...map.imports], [['./m_bg.js\0__wbg_x_1', 'a']]);
  assert.deepEqual([...map.exports], [['memory', 'b']]);
  assert.throws(() => parseRenameMap(JSON.stringify({ imports: [], exports: [['a', 'b'], ['a', 'c']] })), /twice/);
  assert.throws(() => parseRenameMap('a => b\n'), /not JSON/);
  assert.throws(() => parseRenameMap('{"imports": []}'), /"imports" and "exports"/);
});

test('forbidden-reference check on the syntax tree: references, not mentions', () => {
  const found = (code) => findForbidden(code).map((f) => f.what);
  assert.deepEqual(found('// fetch WebAssembly\nconst s = "TextDecoder fetch"; obj.fetch(1); wx.request({}); const o = { URL: 1 };'), []);
  assert.deepEqual(found('fetch(1); globalThis.fetch(2); self.crypto; new Function("x"); import("m"); q?.WebAssembly; typeof TextDecoder; globalThis["TextEncoder"]'),
    ['fetch', 'fetch', 'crypto', 'new Function', 'import()', 'WebAssembly', 'TextDecoder', 'TextEncoder']);
  assert.deepEqual(found('const u = import.meta.url; export const x = 1;'), ['import.meta', 'export statement']);
  assert.deepEqual(found('import x from "y"; x();'), ['import statement']);
  assert.deepEqual(found('WXWebAssembly.instantiate(p, i); module.exports = { instantiate: f };'), []);
  assert.deepEqual(found('let = ;'), ['syntax error']);
});

test('wasm module tool: crate of a demangled Rust symbol', () => {
  assert.equal(wasmModule.crateOf('wx_session::session::Session::login::{{closure}}'), 'wx_session');
  assert.equal(wasmModule.crateOf('<serde_wasm_bindgen::de::Deserializer as serde::de::Deserializer>::deserialize_any'), 'serde_wasm_bindgen');
  assert.equal(wasmModule.crateOf('<&mut dyn core::fmt::Write as core::fmt::Write>::write_str'), 'core');
  assert.equal(wasmModule.crateOf('__wbindgen_malloc'), '(other)');
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

test('shipped glue: a CommonJS script with no forbidden reference', { skip: builtSkip }, () => {
  assert.deepEqual(findForbidden(fs.readFileSync(GLUE, 'utf8')), []);
  checkFile(GLUE);
});

for (const resultShape of ['pair', 'instance']) {
  test('shipped glue: instantiates through a path-only WXWebAssembly (result: ' + resultShape + ')', { skip: builtSkip }, async () => {
    const sandbox = createSandbox(PACKAGE_DIR, { resultShape });
    const glue = sandbox.load(GLUE);
    assert.deepEqual(Object.keys(glue), ['imports', 'instantiate', 'connect']);
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
    () => new exported.Session(options({ baseUrl: 'https://example.com', [PANDA.repeat(100)]: 1 }), sandbox.run('wx')),
    (error) => error.code === 'INVALID_OPTIONS' && error.option === PANDA.repeat(100)
  );
  // The loader hands the module its `wx` (src/js/index.js).
  const session = new exported.Session(options({ baseUrl: 'https://example.com', loginLoadingText: PANDA }), sandbox.run('wx'));
  await assert.rejects(session.login(), (error) => error.code === 'WX_LOGIN_FAILED' && error.message.includes('login:fail ' + PANDA));
  assert.deepEqual([...sandbox.run('wx.titles')], [PANDA]);
  assert.equal(session.getToken(), undefined);
});

/**
 * The npm package under JavaScriptCore with the JIT off (how iPhones run mini-program code): a
 * scratch mini-program gets wx-session from `npm i <tarball>` + miniprogram-ci's packNpmManually
 * (support/scratch.js), and `jsc --useJIT=false tests/jsc/main.js -- run …` takes that folder as
 * its code package and runs tests/jsc/npm.test.js in it: `require('wx-session')` through
 * miniprogram_npm/, `init({ baseUrl })` with no wasmPath, 登录 → checkHasLogined → 退出.
 * The shell has no brotli, so the .wasm.br files of the scratch program are decompressed first
 * (zlib) into a folder keyed by their path inside the code package, as scripts/test-jsc.sh does.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync, spawnSync } = require('node:child_process');
const test = require('node:test');
const assert = require('node:assert/strict');
const { DEFAULT_BASE_URL } = require('../node/support');
const pack = require('../../tools/npm-pack.js');
const { REPO, scratchProgram } = require('./support/scratch.js');

/** What the jsc side must report, in order (tests/jsc/npm.test.js). */
const JSC_TESTS = [
  "require('wx-session') resolves through miniprogram_npm/ from app.js, a page and the root: one module",
  'init({ baseUrl }) with no wasmPath loads the wasm 构建 npm installed; 登录 → checkHasLogined → 退出',
];

/** The scratch program's code: App and one page, each requiring the package by its npm name. */
const FILES = {
  'app.json': JSON.stringify({ pages: ['pages/index/index'] }),
  'app.js': [
    "const session = require('wx-session');",
    '',
    'App({',
    `  globalData: { baseUrl: ${JSON.stringify(DEFAULT_BASE_URL)} },`,
    '  session,',
    '  onLaunch() {',
    '    this.ready = session.init({ baseUrl: this.globalData.baseUrl });',
    '  },',
    '});',
    '',
  ].join('\n'),
  'pages/index/index.js': [
    "const session = require('wx-session');",
    '',
    'Page({',
    '  data: { loggedIn: false },',
    '  session,',
    '  async onShow() {',
    '    this.setData({ loggedIn: await session.checkHasLogined() });',
    '  },',
    '  login() {',
    '    return session.login();',
    '  },',
    '  logout() {',
    '    return session.logout();',
    '  },',
    '});',
    '',
  ].join('\n'),
};

/** Every `.wasm.br` under `root` (not node_modules/), as package-relative paths. */
function wasmBrFiles(root, dir = '') {
  const out = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory() && entry.name !== 'node_modules') out.push(...wasmBrFiles(root, relative));
    else if (entry.isFile() && entry.name.endsWith('.wasm.br')) out.push(relative);
  }
  return out;
}

test('npm i <tarball> + packNpmManually: the scratch mini-program logs in, checks and logs out under jsc --useJIT=false with no wasmPath', (t) => {
  // Debian's JavaScriptCore shell, installed if missing (scripts/lib/tools.sh).
  execFileSync('bash', ['-c', 'source scripts/lib/tools.sh && ensure_jsc'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });

  const { work, app } = scratchProgram(t, FILES);
  assert.deepEqual(pack.compareInstalled(path.join(app, 'miniprogram_npm/wx-session')), [], '构建 npm installed the build');
  assert.ok(!fs.existsSync(path.join(app, 'session')), 'no copy-in folder: only the npm default path can work');

  const unbr = path.join(work, 'unbr');
  const decompressed = wasmBrFiles(app);
  assert.deepEqual(decompressed, ['miniprogram_npm/wx-session/session_bg.wasm.br']);
  for (const relative of decompressed) {
    const target = path.join(unbr, relative.slice(0, -'.br'.length));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, zlib.brotliDecompressSync(fs.readFileSync(path.join(app, relative))));
  }

  const run = spawnSync('jsc', ['--useJIT=false', path.join(REPO, 'tests/jsc/main.js'), '--', 'run', REPO, unbr, app, path.join(REPO, 'tests/jsc/npm.test.js')], {
    encoding: 'utf8',
    timeout: 120000,
  });
  const output = `${run.stdout}${run.stderr}`;
  assert.equal(run.error, undefined, `jsc did not run: ${run.error}`);
  // Debian's shell exits 0 whatever quit() is given, so the verdict is the output: every jsc-side
  // test by name as `ok`, and the summary line last (a harness crash prints neither).
  assert.equal(run.signal, null, `jsc was killed:\n${output}`);
  const lines = run.stdout.trim().split('\n');
  assert.deepEqual(lines.filter((line) => /^(not )?ok \d+ - /.test(line)), JSC_TESTS.map((name, i) => `ok ${i + 1} - ${name}`), output);
  assert.equal(lines.pop(), `${JSC_TESTS.length} passed, 0 failed`, output);
});

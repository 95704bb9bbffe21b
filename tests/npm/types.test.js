/**
 * TypeScript with the package as a user installs it: `tsc --strict` (TypeScript from the repo's
 * devDependencies), lib es2017 and WeChat's miniprogram-api-typings, no DOM (the typings clash with
 * it). The declarations check on their own; the example page in examples/typescript/ compiles and
 * its output runs 登录 in the fake runtime; deliberate mistakes (baseURL, a misspelt result field,
 * an impossible value) fail with exactly the expected error and no other.
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const test = require('node:test');
const assert = require('node:assert/strict');
const pack = require('../../tools/npm-pack.js');
const { createSandbox, createFakeServer } = require('../node/support');

const REPO = path.resolve(__dirname, '..', '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const EXAMPLE = path.join(REPO, 'examples', 'typescript');
const BAD = path.join(__dirname, 'types');
/** The flags of examples/typescript/tsconfig.json, for single files. */
const FLAGS = ['--strict', '--noEmit', '--target', 'es2017', '--module', 'commonjs', '--moduleResolution', 'node10', '--lib', 'es2017', '--types', 'miniprogram-api-typings', '--pretty', 'false'];

/**
 * A folder laid out as a developer's project after `npm i wx-session`: node_modules/wx-session is
 * the package as staged for npm, node_modules/miniprogram-api-typings links to the repo's copy.
 */
function project(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wx-session-ts-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  pack.stage(path.join(dir, 'node_modules', 'wx-session'));
  fs.symlinkSync(path.join(REPO, 'node_modules', 'miniprogram-api-typings'), path.join(dir, 'node_modules', 'miniprogram-api-typings'), 'dir');
  return dir;
}

function tsc(cwd, args) {
  const run = spawnSync(process.execPath, [TSC, ...args], { cwd, encoding: 'utf8', timeout: 120000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

test('index.d.ts type-checks under --strict with miniprogram-api-typings, lib es2017, no DOM', (t) => {
  const dir = project(t);
  // The npm copy and the copy-in folder's (they differ in a comment); --listFiles proves both were read.
  const copyIn = path.join(pack.SESSION_DIR, 'index.d.ts');
  const run = tsc(dir, [...FLAGS, '--listFiles', 'node_modules/wx-session/miniprogram_dist/index.d.ts', copyIn]);
  assert.equal(run.status, 0, run.output);
  assert.ok(run.output.split('\n').includes('node_modules/wx-session/miniprogram_dist/index.d.ts'), run.output);
  assert.ok(run.output.includes(copyIn), run.output);
  assert.ok(!/lib\.dom\.d\.ts/.test(run.output), 'no DOM lib');
  assert.ok(/miniprogram-api-typings/.test(run.output), 'the WeChat typings were loaded');
});

test('the TypeScript example page compiles with `import … from \'wx-session\'` and its output logs in', async (t) => {
  const dir = project(t);
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  const out = path.join(dir, 'out');
  const built = tsc(dir, ['-p', '.', '--outDir', out, '--pretty', 'false']);
  assert.equal(built.status, 0, built.output);
  const js = fs.readFileSync(path.join(out, 'pages/index/index.js'), 'utf8');
  assert.match(js, /require\("wx-session"\)/);

  // The compiled page in a mini-program that has been through 构建 npm.
  for (const [name, bytes] of pack.distFiles()) {
    fs.mkdirSync(path.join(out, 'miniprogram_npm', 'wx-session'), { recursive: true });
    fs.writeFileSync(path.join(out, 'miniprogram_npm', 'wx-session', name), bytes);
  }
  let definition = null;
  const quiet = { warn() {}, log() {}, error() {}, info() {} };
  const server = createFakeServer({ baseUrl: 'https://api.example.com' });
  const sb = createSandbox({ root: out, server, console: quiet, globals: { Page: (def) => { definition = def; } } });
  sb.require('/pages/index/index.js');
  const page = sb.openPage('pages/index/index');
  Object.assign(page, definition, { data: sb.toRealm(definition.data) });
  page.setData = function setData(patch) {
    Object.assign(this.data, patch);
  };
  page.onLoad();
  await page.onShow();
  assert.equal(page.data.loggedIn, false);
  await page.onLogin();
  assert.equal(page.data.message, '');
  assert.equal(page.data.loggedIn, true);
  assert.equal(page.data.nickName, '测试用户 🐼');
  assert.ok(server.isTokenValid(sb.fake.readStorage('token')));
  assert.deepEqual(sb.wasm.loads.map((load) => load.path), ['/miniprogram_npm/wx-session/session_bg.wasm.br']);
});

const MISTAKES = [
  ['bad-baseURL.ts', 4, 'TS2561'], // Object literal may only specify known properties, … did you mean 'baseUrl'?
  ['bad-result-field.ts', 5, 'TS2551'], // Property 'tokn' does not exist … Did you mean 'token'?
  ['bad-logout-field.ts', 4, 'TS2367'], // This comparison appears to be unintentional …
];

test('deliberate mistakes fail to compile, each with exactly the expected error', async (t) => {
  // One tsc run for all of them (tsc is slow to start); errors are reported per file.
  const dir = project(t);
  for (const [file] of MISTAKES) fs.copyFileSync(path.join(BAD, file), path.join(dir, file));
  const run = tsc(dir, [...FLAGS, ...MISTAKES.map(([file]) => file)]);
  assert.notEqual(run.status, 0, `the mistakes compiled, but must not:\n${run.output}`);
  const errors = run.output.split('\n').filter((l) => / error TS\d+:/.test(l));
  for (const [file, line, code] of MISTAKES) {
    await t.test(`${file} → ${code} at line ${line}, and nothing else`, () => {
      const own = errors.filter((l) => l.startsWith(`${file}(`));
      assert.equal(own.length, 1, run.output);
      assert.match(own[0], new RegExp(`^${file.replace('.', '\\.')}\\(${line},\\d+\\): error ${code}:`));
    });
  }
  assert.equal(errors.length, MISTAKES.length, run.output);
});

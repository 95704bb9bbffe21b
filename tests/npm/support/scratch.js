/**
 * A developer's new mini-program with wx-session installed the way they would install it:
 * scripts/pack.sh → `npm i <tarball>` → miniprogram-ci's packNpmManually (= 工具 → 构建 npm, through
 * tools/wechat-ci.js). Shared by the `npm` suite's wechat-ci.test.js (the Node runtime sandbox) and
 * jsc.test.js (JavaScriptCore).
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const REPO = path.resolve(__dirname, '..', '..', '..');

/** Runs tools/wechat-ci.js; returns its last stdout line as JSON (its result). */
function wechatCi(...args) {
  const stdout = execFileSync(process.execPath, [path.join(REPO, 'tools/wechat-ci.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120000,
  });
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** A temporary folder removed when the test `t` ends. */
function tempDir(t, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(root, file, content) {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), content);
}

/**
 * Packs the package, writes a mini-program with `files` (name → text: app.json, app.js, pages…)
 * and no wx-session anywhere, then `npm i <tarball>` and packNpmManually in it. Returns
 * { work, app, tarball, packed } (packed: tools/wechat-ci.js pack-npm's result).
 */
function scratchProgram(t, files) {
  const work = tempDir(t, 'wx-session-scratch-');
  const stdout = execFileSync('bash', [path.join(REPO, 'scripts/pack.sh'), '--no-demo', '--out', path.join(work, 'pkg')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tarball = stdout.trim().split('\n').pop();
  const app = path.join(work, 'app');
  write(app, 'package.json', JSON.stringify({ name: 'scratch', private: true }));
  write(app, 'project.config.json', JSON.stringify({ appid: 'touristappid', compileType: 'miniprogram', setting: {} }));
  for (const [name, text] of Object.entries(files)) write(app, name, text);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, stdio: 'ignore' });
  const packed = wechatCi('pack-npm', app);
  return { work, app, tarball, packed };
}

module.exports = { REPO, wechatCi, tempDir, write, scratchProgram };

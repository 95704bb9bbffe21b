/**
 * The npm package `wx-session` as files: its manifest, the one-line default-path rewrite, the
 * tarball scripts/pack.sh makes, and the demo wired to it (committed miniprogram_npm/ equal to
 * what 构建 npm makes of the current build; pages requiring 'wx-session', not the copy-in folder).
 * What WeChat's own tooling does with all this is in wechat-ci.test.js.
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const test = require('node:test');
const assert = require('node:assert/strict');
const pack = require('../../tools/npm-pack.js');

const REPO = path.resolve(__dirname, '..', '..');
const DEMO = path.join(REPO, 'miniprogram');

function tempDir(t, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('npm/package.json: name, version = the crate, license, miniprogram dist folder, main, types, files', () => {
  const pkg = pack.manifest(); // throws naming every missing or wrong field
  assert.equal(pkg.name, 'wx-session');
  assert.equal(pkg.miniprogram, 'miniprogram_dist');
  assert.equal(pkg.main, 'miniprogram_dist/index.js');
  assert.equal(pkg.types, 'miniprogram_dist/index.d.ts');
  assert.deepEqual(pkg.files, ['miniprogram_dist']);
  assert.match(pkg.license, /^MIT$/);
  assert.ok(!pkg.private, 'a package meant for npm i must not be private');
  assert.deepEqual(Object.keys(pkg.dependencies || {}), [], 'the mini-program runtime cannot load npm dependencies of ours');
});

test('the npm index.js differs from the copy-in one in exactly the DEFAULT_WASM_PATH line', () => {
  const source = fs.readFileSync(path.join(pack.SESSION_DIR, 'index.js'), 'utf8');
  const npm = pack.distFiles().get('index.js').toString('utf8');
  const a = source.split('\n');
  const b = npm.split('\n');
  assert.equal(a.length, b.length);
  const changed = a.map((line, i) => (line === b[i] ? null : [line, b[i]])).filter(Boolean);
  assert.deepEqual(changed, [[
    "const DEFAULT_WASM_PATH = '/session/session_bg.wasm.br';",
    "const DEFAULT_WASM_PATH = '/miniprogram_npm/wx-session/session_bg.wasm.br';",
  ]]);
  // The three other files ship as built (the .d.ts only documents the npm default).
  for (const name of ['session_wasm.js', 'session_bg.wasm.br']) {
    assert.ok(pack.distFiles().get(name).equals(fs.readFileSync(path.join(pack.SESSION_DIR, name))), name);
  }
  assert.ok(!pack.distFiles().get('index.d.ts').toString('utf8').includes(pack.COPY_IN_WASM_PATH));
});

test('the rewrite refuses an index.js without the line, with it twice, or naming the path elsewhere', () => {
  const line = "const DEFAULT_WASM_PATH = '/session/session_bg.wasm.br';";
  assert.throws(() => pack.rewriteIndex("const DEFAULT_WASM_PATH = '/lib/x.wasm.br';\n"), /exactly once \(found 0\)/);
  assert.throws(() => pack.rewriteIndex(`${line}\n${line}\n`), /exactly once \(found 2\)/);
  assert.throws(() => pack.rewriteIndex(`${line}\nconst OTHER = '/session/session_bg.wasm.br';\n`), /still names/);
  assert.equal(pack.rewriteIndex(`a\n${line}\nb`), "a\nconst DEFAULT_WASM_PATH = '/miniprogram_npm/wx-session/session_bg.wasm.br';\nb");
});

test('scripts/pack.sh prints the tarball last; it holds package.json, README.md and the four dist files', (t) => {
  const out = tempDir(t, 'wx-session-pack-');
  const stdout = execFileSync('bash', [path.join(REPO, 'scripts/pack.sh'), '--no-demo', '--out', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = stdout.trim().split('\n').pop();
  assert.equal(tarball, path.join(fs.realpathSync(out), `wx-session-${pack.manifest().version}.tgz`));
  const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  assert.deepEqual(listed, [
    'package/README.md',
    'package/miniprogram_dist/index.d.ts',
    'package/miniprogram_dist/index.js',
    'package/miniprogram_dist/session_bg.wasm.br',
    'package/miniprogram_dist/session_wasm.js',
    'package/package.json',
  ]);
  const unpacked = tempDir(t, 'wx-session-unpacked-');
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  for (const [name, bytes] of pack.distFiles()) {
    assert.ok(fs.readFileSync(path.join(unpacked, 'package/miniprogram_dist', name)).equals(bytes), `${name} in the tarball`);
  }
});

test('the committed demo miniprogram_npm/wx-session is 构建 npm\'s copy of the current build (else: scripts/pack.sh)', () => {
  assert.deepEqual(pack.compareInstalled(), []);
});

test('the comparison notices a stale, missing or extra file', (t) => {
  const copy = tempDir(t, 'wx-session-npmcopy-');
  for (const [name, bytes] of pack.distFiles()) fs.writeFileSync(path.join(copy, name), bytes);
  assert.deepEqual(pack.compareInstalled(copy), []);
  fs.appendFileSync(path.join(copy, 'session_wasm.js'), '\n');
  fs.rmSync(path.join(copy, 'index.d.ts'));
  fs.writeFileSync(path.join(copy, 'old.js'), '');
  assert.deepEqual(pack.compareInstalled(copy).sort(), [
    'missing index.d.ts',
    'session_wasm.js differs from the build in miniprogram/session',
    'unexpected file old.js',
  ]);
});

test('the demo depends on the package and DevTools builds npm into the mini-program root', () => {
  const demoPkg = JSON.parse(fs.readFileSync(path.join(DEMO, 'package.json'), 'utf8'));
  assert.match(demoPkg.dependencies['wx-session'], /^file:\.\.\/build\/npm\/wx-session\.tgz$/);
  const config = JSON.parse(fs.readFileSync(path.join(DEMO, 'project.config.json'), 'utf8'));
  assert.equal(config.setting.packNpmManually, true);
  assert.deepEqual(config.setting.packNpmRelationList, [{ packageJsonPath: './package.json', miniprogramNpmDistDir: './' }]);
  const app = JSON.parse(fs.readFileSync(path.join(DEMO, 'app.json'), 'utf8'));
  assert.equal(app.lazyCodeLoading, 'requiredComponents');
});

test('the demo\'s code requires \'wx-session\' and never the copy-in session/ folder', () => {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(DEMO, full);
      if (entry.isDirectory()) {
        if (!['session', 'miniprogram_npm', 'node_modules'].includes(relative)) walk(full);
      } else if (entry.name.endsWith('.js')) {
        const source = fs.readFileSync(full, 'utf8');
        for (const m of source.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push([relative, m[1]]);
      }
    }
  };
  walk(DEMO);
  const bySession = found.filter(([, request]) => /(^|\/)session\/index(\.js)?$/.test(request));
  assert.deepEqual(bySession, [], 'pages must use the npm package');
  assert.ok(found.some(([file, request]) => file === 'app.js' && request === 'wx-session'), 'app.js requires wx-session');
});

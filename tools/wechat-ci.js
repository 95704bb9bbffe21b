#!/usr/bin/env node
// WeChat's own tooling (the npm package miniprogram-ci), offline: what DevTools does to a project,
// without DevTools, a real AppID key or WeChat's servers.
//
//   node tools/wechat-ci.js pack-npm PROJECT          工具 → 构建 npm (packNpmManually): PROJECT's
//                                                     package.json + node_modules → PROJECT/miniprogram_npm
//   node tools/wechat-ci.js compile PROJECT OUT_DIR   getCompiledResult (babel and all, with the
//                                                     project's own settings) written out as files
//   node tools/wechat-ci.js quality PROJECT           checkCodeQuality; exit 1 if any check fails
//
// Each prints one JSON line (the result) last and exits explicitly: miniprogram-ci forks a helper
// process that keeps Node alive. Offline facts (shared/notes/toolchain.md): `privateKey` only has to
// be non-empty for these calls; `attr: async () => ci.DefaultProjectAttr` stops it asking WeChat's
// servers for the project's attributes. It still asks for the list of allowed file extensions and
// falls back to its built-in list when that fails, so every request is sent through a "proxy" on a
// closed loopback port: nothing leaves the machine and the failure is immediate.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** A loopback port nothing listens on (discard): refused at once. */
const DEAD_PROXY = 'http://127.0.0.1:9';
/** Any non-empty string: packNpm/compile/quality never use the key offline. */
const OFFLINE_KEY = 'offline-no-key';

function loadCi() {
  const ci = require('miniprogram-ci');
  ci.proxy(DEAD_PROXY);
  return ci;
}

/** A ci.Project for a mini-program folder, from its project.config.json. */
function project(ci, projectDir) {
  const config = JSON.parse(fs.readFileSync(path.join(projectDir, 'project.config.json'), 'utf8'));
  return {
    config,
    project: new ci.Project({
      appid: config.appid || 'touristappid',
      type: 'miniProgram',
      projectPath: projectDir,
      privateKey: OFFLINE_KEY,
      attr: async () => ci.DefaultProjectAttr,
    }),
  };
}

/** getCompiledResult's settings from project.config.json's, as DevTools maps them. */
function compileSetting(setting = {}) {
  return {
    es6: Boolean(setting.es6),
    es7: Boolean(setting.enhance),
    minify: Boolean(setting.minified),
    minifyWXML: Boolean(setting.minifyWXML),
    minifyWXSS: Boolean(setting.minifyWXSS),
    autoPrefixWXSS: Boolean(setting.postcss),
  };
}

async function packNpm(projectDir) {
  const ci = loadCi();
  const result = await ci.packNpmManually({
    packageJsonPath: path.join(projectDir, 'package.json'),
    miniprogramNpmDistDir: projectDir,
  });
  return { miniprogramNpm: path.join(projectDir, 'miniprogram_npm'), result };
}

async function compile(projectDir, outDir) {
  const ci = loadCi();
  const { project: p, config } = project(ci, projectDir);
  const files = await ci.getCompiledResult({ project: p, setting: compileSetting(config.setting) });
  fs.rmSync(outDir, { recursive: true, force: true });
  const names = Object.keys(files).sort();
  for (const name of names) {
    const target = path.resolve(outDir, name);
    if (!target.startsWith(path.resolve(outDir) + path.sep)) throw new Error(`compiled file outside the output: ${name}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const content = files[name];
    fs.writeFileSync(target, typeof content === 'string' ? content : Buffer.from(content));
  }
  return { outDir, files: names, setting: compileSetting(config.setting) };
}

async function quality(projectDir) {
  const ci = loadCi();
  const { project: p } = project(ci, projectDir);
  const checks = await ci.checkCodeQuality(p);
  const failed = checks.filter((check) => !check.success).map((check) => check.name);
  return { ok: failed.length === 0, failed, checks };
}

async function main(argv) {
  const [command, projectArg, outArg] = argv;
  if (!projectArg || (command === 'compile' && !outArg)) {
    console.error('usage: node tools/wechat-ci.js pack-npm PROJECT | compile PROJECT OUT_DIR | quality PROJECT');
    return 2;
  }
  const projectDir = path.resolve(projectArg);
  let result;
  if (command === 'pack-npm') result = await packNpm(projectDir);
  else if (command === 'compile') result = await compile(projectDir, path.resolve(outArg));
  else if (command === 'quality') result = await quality(projectDir);
  else {
    console.error(`unknown command ${command}`);
    return 2;
  }
  console.log(JSON.stringify(result));
  return command === 'quality' && !result.ok ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`wechat-ci: ${err && err.stack ? err.stack : err}`);
      process.exit(1);
    }
  );
}

module.exports = { compileSetting, DEAD_PROXY };

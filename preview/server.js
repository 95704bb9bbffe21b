#!/usr/bin/env node
/**
 * The browser preview's static server: serves preview/ (the page and the mini-program runtime
 * shims), miniprogram-simulate's browser bundle, and the real miniprogram/ package, with a
 * generated config.js that points the app at a chosen API server.
 *
 *   node preview/server.js --api http://127.0.0.1:8787 [--port 8788] [--host 127.0.0.1]
 *                          [--root miniprogram] [--session-dir DIR] [--protocol default]
 *                          [--base-url URL] [--protocol-json JSON]
 *
 * Prints `READY <url>` once it listens (scripts/dev.sh waits for that line). Nothing here writes
 * to miniprogram/: the config override and the decompressed wasm exist only in responses.
 *
 * Routes:
 *   /                       preview/index.html
 *   /preview/<file>         preview/<file> (runtime.js, style.css)
 *   /vendor/simulate.js     node_modules/miniprogram-simulate/build.js (window.simulate)
 *   /__package              JSON { appJson, files: { "<path>": "<text>" } }: every text file of the
 *                           package (.js .json .wxml .wxss), so the page's CommonJS loader can
 *                           require() synchronously, as the mini-program runtime does
 *   /mp/<path>              one package file as it is (config.js: the override)
 *   /__wasm/<path>.wasm.br  that file brotli-decompressed, as application/wasm: Chromium's
 *                           DecompressionStream has no 'br' (checked on Chromium 156), and
 *                           WebAssembly cannot read brotli itself
 *   /__health               "ok" (readiness probe)
 *
 * --session-dir DIR takes session_wasm.js and session_bg.wasm.br from DIR instead of the package,
 * for both session/ and miniprogram_npm/wx-session/ (the npm copy the pages require), e.g.
 * build/stage after a build that only failed its size budget.
 *
 * --protocol litemall makes the app speak litemall's dialect, which the reference server serves
 * under /wx in development mode: the generated config.js says { baseUrl: <api>/wx, protocol:
 * 'litemall' }. wx.login still mints its code at <api>/dev/code, which is not part of a protocol.
 *
 * --base-url URL points the app at any backend instead (e.g. the apifm fixture of tests/e2e): the
 * generated config.js says { baseUrl: URL }, and --protocol-json JSON gives session.init's protocol
 * as an object instead of a name, e.g. '{"preset":"apifm","logout":{"path":"http://…/user/loginout"}}'.
 * --api then defaults to URL's origin (where wx.login asks POST /dev/code). With either option the
 * account page is read-only (accountApi: false): only the reference server's default protocol has
 * the account routes.
 */
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const REPO = path.resolve(__dirname, '..');
const PREVIEW_DIR = __dirname;
const SIMULATE_BUNDLE = path.join(REPO, 'node_modules', 'miniprogram-simulate', 'build.js');

/** Text files the page needs in its file map; everything else is fetched on demand via /mp/. */
const PACKAGE_TEXT = new Set(['.js', '.json', '.wxml', '.wxss']);
/**
 * Files in the package that WeChat never ships (project.config.json's packOptions.ignore; DevTools
 * never ships node_modules/ either: 构建 npm copies what pages need into miniprogram_npm/).
 */
const NOT_SHIPPED = [/\.d\.ts$/, /(^|\/)BUILD_STAMP$/, /^node_modules\//, /^package(-lock)?\.json$/];
/** --protocol values: where each one's API lives on the reference server (dev mode). */
const PROTOCOL_PATHS = { default: '', litemall: '/wx' };
/** Built files --session-dir replaces: the copy-in folder's and the npm copy's (what pages load). */
const BUILT = [
  'session/session_wasm.js', 'session/session_bg.wasm.br',
  'miniprogram_npm/wx-session/session_wasm.js', 'miniprogram_npm/wx-session/session_bg.wasm.br',
];

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wxml': 'text/plain; charset=utf-8',
  '.wxss': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
};

function parseArgs(argv) {
  const options = {
    port: 8788, host: '127.0.0.1', api: '', root: path.join(REPO, 'miniprogram'), sessionDir: '', protocol: 'default', baseUrl: '',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--port') options.port = Number(value());
    else if (arg === '--host') options.host = value();
    else if (arg === '--api') options.api = value();
    else if (arg === '--root') options.root = path.resolve(value());
    else if (arg === '--session-dir') options.sessionDir = path.resolve(value());
    else if (arg === '--protocol') options.protocol = value();
    else if (arg === '--base-url') options.baseUrl = value().replace(/\/$/, '');
    else if (arg === '--protocol-json') options.protocol = parseProtocolJson(value());
    else if (arg === '--help' || arg === '-h') {
      // The doc comment at the top, whatever its length.
      const lines = fs.readFileSync(__filename, 'utf8').split('\n');
      process.stdout.write(lines.slice(1, lines.indexOf(' */') + 1).join('\n') + '\n');
      process.exit(0);
    } else fail(`unknown option ${arg} (see --help)`);
  }
  if (options.baseUrl) {
    if (!/^https?:\/\/[^/]+/.test(options.baseUrl)) fail('--base-url must be an http(s) URL, e.g. --base-url http://127.0.0.1:9000/demo');
    if (!options.api) options.api = new URL(options.baseUrl).origin;
  }
  if (!/^https?:\/\/[^/]+$/.test(options.api.replace(/\/$/, ''))) {
    fail('--api must be the API server\'s origin, e.g. --api http://127.0.0.1:8787');
  }
  options.api = options.api.replace(/\/$/, '');
  if (typeof options.protocol === 'string' && !Object.prototype.hasOwnProperty.call(PROTOCOL_PATHS, options.protocol)) {
    fail(`--protocol must be one of ${Object.keys(PROTOCOL_PATHS).join(', ')}`);
  }
  if (typeof options.protocol !== 'string' && !options.baseUrl) fail('--protocol-json needs --base-url (the server speaks only its own dialects)');
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) fail('--port must be 0-65535');
  if (!fs.existsSync(path.join(options.root, 'app.json'))) fail(`${options.root} has no app.json: --root must be the mini-program directory`);
  if (!fs.existsSync(SIMULATE_BUNDLE)) fail(`${SIMULATE_BUNDLE} is missing: run npm ci in ${REPO}`);
  return options;
}

function fail(message) {
  process.stderr.write(`[preview] ERROR: ${message}\n`);
  process.exit(2);
}

/** --protocol-json's value: a JSON object (session.init checks the fields themselves). */
function parseProtocolJson(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(`--protocol-json is not JSON: ${err.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('--protocol-json must be a JSON object, e.g. {"preset":"apifm"}');
  return value;
}

/** The baseUrl the app gets for `protocol` on the server at `api`, unless --base-url named one. */
function baseUrlFor(api, protocol, baseUrl = '') {
  return baseUrl || `${api}${PROTOCOL_PATHS[protocol]}`;
}

/** The config.js the preview serves instead of the committed one. */
function configOverride(api, protocol = 'default', baseUrl = '') {
  return [
    '/**',
    ' * Served by preview/server.js in place of miniprogram/config.js (which stays as committed):',
    ' * the preview talks to the server scripts/dev.sh started, in the protocol it was asked for.',
    ' */',
    "'use strict';",
    '',
    // The account routes exist only in the reference server's default protocol.
    `module.exports = { baseUrl: ${JSON.stringify(baseUrlFor(api, protocol, baseUrl))}, protocol: ${JSON.stringify(protocol)}, accountApi: ${protocol === 'default' && !baseUrl} };`,
    '',
  ].join('\n');
}

function createPreviewServer(options) {
  const root = options.root;

  /** Absolute path of a package file, or null if it does not exist. */
  function packageFile(relative) {
    // Normalising under a leading '/' drops any '..' that would climb out of the package.
    const clean = path.posix.normalize(`/${relative}`).slice(1);
    if (!clean || clean.includes('\0')) return null;
    const file = options.sessionDir && BUILT.includes(clean) ? path.join(options.sessionDir, path.basename(clean)) : path.join(root, clean);
    return fs.existsSync(file) && fs.statSync(file).isFile() ? file : null;
  }

  /** Every shipped text file of the package, relative paths with '/'. */
  function packageTextFiles() {
    const found = [];
    const walk = (dir, prefix) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (relative !== 'node_modules') walk(path.join(dir, entry.name), relative);
        } else if (PACKAGE_TEXT.has(path.extname(entry.name)) && !NOT_SHIPPED.some((re) => re.test(relative))) found.push(relative);
      }
    };
    walk(root, '');
    // The built glue may live only in --session-dir.
    BUILT.filter((file) => file.endsWith('.js')).forEach((file) => {
      if (options.sessionDir && !found.includes(file) && packageFile(file)) found.push(file);
    });
    return found.sort();
  }

  function readPackageText(relative) {
    if (relative === 'config.js') return configOverride(options.api, options.protocol, options.baseUrl);
    return fs.readFileSync(packageFile(relative), 'utf8');
  }

  function send(res, status, type, body) {
    // no-store: a reload must show edits to the pages at once.
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    res.end(body);
  }

  function sendFile(res, file) {
    send(res, 200, TYPES[path.extname(file)] || 'application/octet-stream', fs.readFileSync(file));
  }

  function notFound(res, what) {
    send(res, 404, 'text/plain; charset=utf-8', `not found: ${what}\n`);
  }

  function handle(req, res) {
    const url = new URL(req.url, 'http://preview.invalid');
    const route = decodeURIComponent(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');

    if (route === '/' || route === '/index.html') return sendFile(res, path.join(PREVIEW_DIR, 'index.html'));
    if (route === '/__health') return send(res, 200, 'text/plain', 'ok\n');
    if (route === '/favicon.ico') return send(res, 204, 'image/x-icon', ''); // keeps the console clean
    if (route === '/vendor/simulate.js') return sendFile(res, SIMULATE_BUNDLE);
    if (route.startsWith('/preview/')) {
      const name = path.posix.basename(route);
      const file = path.join(PREVIEW_DIR, name);
      if (name === 'server.js' || !fs.existsSync(file)) return notFound(res, route);
      return sendFile(res, file);
    }
    if (route === '/__package') {
      const files = {};
      for (const relative of packageTextFiles()) files[relative] = readPackageText(relative);
      // api: the server's origin (for /dev/code); baseUrl and protocol: what the app was told.
      const body = JSON.stringify({
        api: options.api,
        baseUrl: baseUrlFor(options.api, options.protocol, options.baseUrl),
        // A name, or the --protocol-json object as text (the page shows it as a label).
        protocol: typeof options.protocol === 'string' ? options.protocol : JSON.stringify(options.protocol),
        appJson: JSON.parse(files['app.json']),
        files,
      });
      return send(res, 200, TYPES['.json'], body);
    }
    if (route.startsWith('/mp/')) {
      const relative = route.slice('/mp/'.length);
      if (relative === 'config.js') return send(res, 200, TYPES['.js'], configOverride(options.api, options.protocol, options.baseUrl));
      const file = packageFile(relative);
      return file ? sendFile(res, file) : notFound(res, route);
    }
    if (route.startsWith('/__wasm/')) {
      const relative = route.slice('/__wasm/'.length);
      const file = packageFile(relative);
      if (!file) return notFound(res, route);
      let bytes = fs.readFileSync(file);
      if (file.endsWith('.br')) {
        try {
          bytes = zlib.brotliDecompressSync(bytes);
        } catch (err) {
          return send(res, 500, 'text/plain', `${relative} is not valid brotli: ${err.message}\n`);
        }
      }
      return send(res, 200, 'application/wasm', bytes);
    }
    return notFound(res, route);
  }

  return http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      process.stderr.write(`[preview] ${req.method} ${req.url}: ${err.stack || err}\n`);
      if (!res.headersSent) send(res, 500, 'text/plain', `preview server error: ${err.message}\n`);
      else res.end();
    }
  });
}

if (require.main === module) {
  const options = parseArgs(process.argv.slice(2));
  const server = createPreviewServer(options);
  server.on('error', (err) => fail(`cannot listen on ${options.host}:${options.port}: ${err.message}`));
  server.listen(options.port, options.host, () => {
    const { port } = server.address();
    process.stdout.write(`READY http://${options.host}:${port}/\n`);
  });
  // SIGTERM/SIGINT from dev.sh: close quickly; open keep-alive sockets must not hold the exit.
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { createPreviewServer, configOverride, PROTOCOL_PATHS };

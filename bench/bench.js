#!/usr/bin/env node
/**
 * Benchmark of the built session module (miniprogram/session/) against a plain-JS baseline written
 * the way the seed articles do it (bench/baseline/session.js). Not a test: it prints one table,
 * then checks the issue's targets for wx-session and exits 1 if one is missed.
 *
 *   node bench/bench.js [--runs N] [--out FILE] [--root DIR]     (scripts/bench.sh runs it)
 *
 * Both implementations run in the fake mini-program runtime of tests/node/support (createSandbox:
 * a vm context with only the runtime's globals, a counting fake `wx`, an in-process fake server),
 * a fresh sandbox and a fresh server per scenario and per implementation, with the same steps.
 * What is counted comes from the fakes: fake.calls (wx.login, wx.request, setStorageSync and
 * setStorage) and server.log (requests that reached the server, by route).
 *
 * The fake server has no protected resource, so this file adds one on top of it: `GET /api/…`
 * answers 200 with a valid bearer token and 401 SESSION_INVALID otherwise (counted like every
 * other route).
 *
 * Start-up is timed from require() to init() resolving, with process.hrtime.bigint(): warm (fresh
 * sandboxes in this process, after warm-up) and cold (the first load in fresh Node processes,
 * which this file runs as `node bench/bench.js --child-startup lib|base`).
 *
 * Options: --runs N  sandboxes and processes per implementation for the start-up medians (default
 *                    50; 5 warm-up runs come first); --out FILE  also write the table there;
 *                    --root DIR  the code package holding session/ (default: miniprogram/).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { execFileSync } = require('child_process');
const support = require('../tests/node/support');

const REPO = path.resolve(__dirname, '..');
const BASELINE_ROOT = path.join(__dirname, 'baseline');
const BUDGET_BYTES = 57344;
const WARMUP_RUNS = 5;
const SETTLE_TIMEOUT_MS = 3000;
const API_URL = '/api/orders';

// ---- options ----------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { runs: 50, out: null, root: support.MINIPROGRAM_DIR, childStartup: null };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--runs') {
      opts.runs = Number(value());
      if (!Number.isInteger(opts.runs) || opts.runs < 1) usage('--runs takes a whole number ≥ 1');
    } else if (arg === '--out') opts.out = path.resolve(value());
    else if (arg === '--root') opts.root = path.resolve(value());
    else if (arg === '--child-startup') opts.childStartup = value(); // internal: one cold start-up, see measureStartup
    else if (arg === '-h' || arg === '--help') usage(null);
    else usage(`unknown argument: ${arg}`);
  }
  return opts;
}

function usage(problem) {
  const text = 'usage: node bench/bench.js [--runs N] [--out FILE] [--root DIR]';
  if (problem) {
    console.error(`bench: ${problem}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const OPTS = parseArgs(process.argv.slice(2));

const IMPLS = [
  { key: 'lib', name: 'wx-session', root: OPTS.root, entry: '/session/index.js' },
  { key: 'base', name: 'baseline (seeds, plain JS)', root: BASELINE_ROOT, entry: '/session.js' },
];

// ---- harness ------------------------------------------------------------------------------------

/** What the code under test prints goes here, not into the table; reported at the end. */
const sandboxOutput = [];
const quietConsole = ['log', 'info', 'warn', 'error', 'debug'].reduce((c, level) => {
  c[level] = (...args) => sandboxOutput.push(`${level}: ${args.map(String).join(' ')}`);
  return c;
}, {});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `Authorization: Bearer <t>`, whatever the header name's case. */
function bearer(header) {
  const name = Object.keys(header || {}).find((key) => key.toLowerCase() === 'authorization');
  const match = name && /^Bearer\s+(\S+)$/.exec(String(header[name]));
  return match ? match[1] : null;
}

/** Adds `GET /api/…` to a fake server: 200 for a valid bearer token, else 401 SESSION_INVALID. */
function addProtectedRoute(server) {
  if (server.benchRoute) return server;
  server.benchRoute = true;
  const handle = server.handle;
  server.handle = (request) => {
    const plan = handle(request);
    const entry = server.log[server.log.length - 1];
    if (!entry || !entry.path.startsWith('/api/') || entry.fault || plan.kind !== 'response' || plan.statusCode !== 404) {
      return plan;
    }
    const token = bearer(request.header);
    const valid = Boolean(token && server.isTokenValid(token));
    const status = valid ? 200 : 401;
    const body = valid ? { orders: [] } : { error: { code: 'SESSION_INVALID', message: '登陆状态已失效' } };
    server.counts.byStatus[404] -= 1;
    if (!server.counts.byStatus[404]) delete server.counts.byStatus[404];
    server.counts.byStatus[status] = (server.counts.byStatus[status] || 0) + 1;
    entry.status = status;
    return Object.assign({}, plan, { statusCode: status, body: JSON.stringify(body) });
  };
  return server;
}

function newServer() {
  return addProtectedRoute(support.createFakeServer());
}

/** A fresh sandbox on `server` with the implementation loaded; `storage` = raw entries to start from. */
function start(impl, server, storage) {
  const sb = support.createSandbox({ root: impl.root, server, console: quietConsole });
  if (storage) storage.forEach(([key, text]) => sb.fake.storage.set(key, text)); // not counted as writes
  const session = sb.require(impl.entry);
  return { sb, session, fake: sb.fake, server };
}

/** init({ baseUrl }) with the options object made inside the sandbox (see sandbox.js toRealm). */
function init(run) {
  return run.session.init(run.sb.toRealm({ baseUrl: run.server.baseUrl }));
}

/** Waits until the fakes have nothing pending and nothing new happened for a few turns. */
async function quiesce(run, maxMs = SETTLE_TIMEOUT_MS) {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let stable = 0;
  while (Date.now() < deadline && stable < 3) {
    await run.fake.idle();
    await sleep(2);
    const now = run.fake.log.length + run.server.log.length;
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}

/** Follows promises: resolved / rejected (with its code) / still pending. */
function tracker() {
  const list = [];
  return {
    list,
    track(promise) {
      const entry = { state: 'pending', value: undefined, reason: null };
      list.push(entry);
      Promise.resolve(promise).then(
        (value) => Object.assign(entry, { state: 'resolved', value }),
        (err) => Object.assign(entry, { state: 'rejected', reason: (err && (err.code || err.message || err.errMsg)) || String(err) })
      );
      return promise;
    },
    /** Resolves once every tracked promise settled, or after maxMs. */
    async settled(maxMs = SETTLE_TIMEOUT_MS) {
      const deadline = Date.now() + maxMs;
      while (list.some((e) => e.state === 'pending') && Date.now() < deadline) await sleep(2);
    },
    summary() {
      const n = (s) => list.filter((e) => e.state === s).length;
      const reasons = {};
      list.filter((e) => e.state === 'rejected').forEach((e) => {
        const reason = /^request:fail/.test(e.reason) ? 'wx.request fail' : e.reason;
        reasons[reason] = (reasons[reason] || 0) + 1;
      });
      return { total: list.length, resolved: n('resolved'), rejected: n('rejected'), pending: n('pending'), reasons };
    },
  };
}

/** Counters before a measured phase; `diff(mark)` gives what happened since. */
function mark(run) {
  return { calls: Object.assign({}, run.fake.calls), serverLog: run.server.log.length };
}

function diff(run, before) {
  const calls = (name) => (run.fake.calls[name] || 0) - (before.calls[name] || 0);
  const routes = {};
  run.server.log.slice(before.serverLog).forEach((entry) => {
    const name = routeName(entry.route);
    routes[name] = (routes[name] || 0) + 1;
  });
  return {
    wxLogin: calls('login'),
    wxRequest: calls('request'),
    wxCheckSession: calls('checkSession'),
    server: run.server.log.length - before.serverLog,
    routes,
    storageWrites: calls('setStorageSync') + calls('setStorage'),
  };
}

function routeName(route) {
  if (route === 'POST /auth/login') return 'login';
  if (route === 'GET /auth/check') return 'check';
  if (route === 'POST /auth/logout') return 'logout';
  if (route.startsWith('GET /api/')) return 'api';
  return route;
}

// ---- scenarios ----------------------------------------------------------------------------------
// Each returns { counts, promises, live } for one implementation; `live` is the 退出 column.

const SCENARIOS = [
  {
    id: 1,
    title: 'cold login',
    detail: 'no stored token: init, then login()',
    async run(impl) {
      const run = start(impl, newServer());
      await init(run);
      const t = tracker();
      const before = mark(run);
      await t.track(run.session.login()).catch(() => {});
      await quiesce(run);
      await t.settled();
      return { counts: diff(run, before), promises: t.summary(), live: null };
    },
  },
  {
    id: 2,
    title: '20 concurrent request(), expired token',
    detail: 'logged in, then the server expires the token; 20 × request(GET /api/orders) at once. The fake server keeps one token per user (single sign-on, as seed 000\'s backend does), so each separate re-login revokes the token the previous one got',
    async run(impl) {
      const run = start(impl, newServer());
      await init(run);
      const { token } = await run.session.login();
      await quiesce(run);
      run.server.expireToken(String(token));
      const t = tracker();
      const before = mark(run);
      const all = [];
      for (let i = 0; i < 20; i += 1) all.push(t.track(run.session.request(run.sb.toRealm({ url: run.server.baseUrl + API_URL }))));
      await Promise.allSettled(all.map((p) => Promise.resolve(p)));
      await quiesce(run);
      await t.settled();
      return { counts: diff(run, before), promises: t.summary(), live: null };
    },
  },
  {
    id: 3,
    title: '100 × checkHasLogined()',
    detail: 'one page visit, relaunched with a stored valid token (so the first check has to ask the server), 100 sequential awaits',
    async run(impl) {
      const server = newServer();
      const storage = await previousRun(impl, server);
      const run = start(impl, server, storage);
      await init(run);
      const t = tracker();
      const before = mark(run);
      for (let i = 0; i < 100; i += 1) await t.track(run.session.checkHasLogined()).catch(() => {});
      await quiesce(run);
      await t.settled();
      const summary = t.summary();
      summary.allTrue = t.list.every((e) => e.state === 'resolved' && e.value === true);
      return { counts: diff(run, before), promises: summary, live: null };
    },
  },
  {
    id: 4,
    title: 'relaunch, valid stored token',
    detail: "fresh sandbox holding the previous run's storage: init + checkHasLogined() once",
    async run(impl) {
      const server = newServer();
      const storage = await previousRun(impl, server);
      const run = start(impl, server, storage);
      const t = tracker();
      const before = mark(run);
      await t.track(init(run)).catch(() => {});
      const answer = await t.track(run.session.checkHasLogined()).catch(() => undefined);
      await quiesce(run);
      await t.settled();
      const summary = t.summary();
      summary.allTrue = answer === true;
      return { counts: diff(run, before), promises: summary, live: null };
    },
  },
  {
    id: 5,
    title: '退出 offline, then online',
    detail: 'logged in; network off; logout(); network back (onNetworkStatusChange); wait for idle',
    async run(impl) {
      const run = start(impl, newServer());
      await init(run);
      const { token } = await run.session.login();
      await quiesce(run);
      const t = tracker();
      const before = mark(run);
      run.fake.setNetwork({ isConnected: false });
      await quiesce(run);
      await t.track(run.session.logout()).catch(() => {});
      await quiesce(run);
      const liveOffline = run.server.isTokenValid(String(token));
      run.fake.setNetwork({ isConnected: true });
      await quiesce(run);
      await t.settled();
      const summary = t.summary();
      const outcome = t.list[0] && t.list[0].state === 'resolved' ? t.list[0].value : null;
      return {
        counts: diff(run, before),
        promises: summary,
        live: {
          live: run.server.isTokenValid(String(token)),
          liveOffline,
          storedLocally: run.fake.readStorage('token') !== undefined,
          loadingShown: run.fake.loading.shown,
          server: outcome && typeof outcome === 'object' && outcome.server ? String(outcome.server) : null,
        },
      };
    },
  },
];

/** A previous launch on `server`: init + login; returns its storage as raw entries. */
async function previousRun(impl, server) {
  const run = start(impl, server);
  await init(run);
  await run.session.login();
  await quiesce(run);
  return Array.from(run.fake.storage.entries());
}

// ---- size and start-up ----------------------------------------------------------------------------

function brotliSize(file) {
  const bytes = fs.readFileSync(file);
  return zlib.brotliCompressSync(bytes, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).length;
}

function measureSize() {
  const dir = path.join(OPTS.root, 'session');
  const wasm = fs.statSync(path.join(dir, 'session_bg.wasm.br')).size;
  const glue = brotliSize(path.join(dir, 'session_wasm.js'));
  const index = brotliSize(path.join(dir, 'index.js'));
  const total = wasm + glue + index;
  let sizeJson = null;
  try {
    sizeJson = JSON.parse(fs.readFileSync(path.join(REPO, 'build', 'size.json'), 'utf8'));
  } catch (err) {
    sizeJson = null;
  }
  return { wasm, glue, index, total, baseline: brotliSize(path.join(BASELINE_ROOT, 'session.js')), sizeJson };
}

async function startupOnce(impl) {
  const server = support.createFakeServer();
  const sb = support.createSandbox({ root: impl.root, server, console: quietConsole });
  const options = sb.toRealm({ baseUrl: server.baseUrl });
  const t0 = process.hrtime.bigint();
  const session = sb.require(impl.entry);
  await session.init(options);
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0) / 1e6;
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Two medians per implementation:
 *  - warm: `runs` fresh sandboxes in this process after WARMUP_RUNS warm-up runs — what the brief
 *    asks for. V8 keeps compiled wasm (and JS) per process, so these runs reuse the compilation.
 *  - cold: `runs` fresh Node processes, each timing its first require + init — closer to an app
 *    launch on a phone, where nothing is compiled yet.
 */
async function measureStartup(runs) {
  const warm = { lib: [], base: [] };
  // Interleaved, so drift (GC, CPU frequency) hits both alike.
  for (let i = 0; i < WARMUP_RUNS + runs; i += 1) {
    for (const impl of IMPLS) {
      const ms = await startupOnce(impl);
      if (i >= WARMUP_RUNS) warm[impl.key].push(ms);
    }
  }
  const cold = { lib: [], base: [] };
  for (let i = 0; i < runs; i += 1) {
    for (const impl of IMPLS) {
      const out = execFileSync(process.execPath, [__filename, '--root', OPTS.root, '--child-startup', impl.key], { encoding: 'utf8' });
      cold[impl.key].push(Number(out.trim()));
    }
  }
  return {
    runs,
    warm: { lib: median(warm.lib), base: median(warm.base) },
    cold: { lib: median(cold.lib), base: median(cold.base) },
  };
}

// ---- formatting ------------------------------------------------------------------------------------

function routesText(c) {
  const order = ['login', 'check', 'logout', 'api'];
  const names = Object.keys(c.routes).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const parts = names.map((n) => `${n} ${c.routes[n]}`);
  let text = parts.length ? `${c.server} (${parts.join(', ')})` : String(c.server);
  const unanswered = c.wxRequest - c.server;
  if (unanswered > 0) text += ` + ${unanswered} wx.request failed offline`;
  return text;
}

function promisesText(p) {
  let text = `${p.resolved + p.rejected}/${p.total} settled`;
  if (p.rejected) {
    const why = Object.keys(p.reasons).map((r) => `${p.reasons[r]} ${r}`).join(', ');
    text += `, ${p.rejected} rejected (${why})`;
  } else text += ', all resolved';
  if (p.pending) text += `, ${p.pending} never settled`;
  if (p.allTrue === false) text += ', not all true';
  return text;
}

function liveText(l) {
  if (!l) return 'n/a';
  const notes = [];
  if (l.server) notes.push(`logout → ${l.server}`);
  if (!l.live && l.liveOffline) notes.push('revoked after reconnect');
  if (l.storedLocally) notes.push('token still in storage');
  if (l.loadingShown) notes.push('loading left shown');
  return `${l.live ? 'YES, live' : 'no'}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** Terminal columns of a string: CJK and full-width characters take two. */
function displayWidth(text) {
  let width = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    const wide = (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6);
    width += wide ? 2 : 1;
  }
  return width;
}

const pad = (text, width) => text + ' '.repeat(Math.max(0, width - displayWidth(text)));

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

function buildTable(results, size, startup) {
  const rows = [];
  const add = (scenario, measure, lib, base) => rows.push([scenario, measure, lib, base]);
  for (const s of SCENARIOS) {
    const r = results[s.id];
    const label = `${s.id}. ${s.title}`;
    add(label, 'wx.login calls', String(r.lib.counts.wxLogin), String(r.base.counts.wxLogin));
    add('', 'server requests', routesText(r.lib.counts), routesText(r.base.counts));
    add('', 'storage writes', String(r.lib.counts.storageWrites), String(r.base.counts.storageWrites));
    add('', 'token live on server after 退出', liveText(r.lib.live), liveText(r.base.live));
    add('', 'promises', promisesText(r.lib.promises), promisesText(r.base.promises));
  }
  add('shipped size, brotli q11', 'session_bg.wasm.br', `${size.wasm} B`, '—');
  add('', 'session_wasm.js', `${size.glue} B`, '—');
  add('', 'index.js / baseline session.js', `${size.index} B`, `${size.baseline} B`);
  add('', `total vs budget ${BUDGET_BYTES} B (56 KB)`, `${size.total} B = ${kb(size.total)} (${Math.round((size.total / BUDGET_BYTES) * 100)}% of budget)`, `${size.baseline} B = ${kb(size.baseline)}`);
  const ms = (x) => (x < 1 ? `${x.toFixed(3)} ms` : `${x.toFixed(2)} ms`);
  const ratio = (m) => `${(m.lib / m.base).toFixed(0)}×`;
  add('module start-up (require + init until ready)', `median, ${startup.runs} sandboxes in one process (warm)`, `${ms(startup.warm.lib)} (${ratio(startup.warm)} baseline)`, ms(startup.warm.base));
  add('', `median, first load in ${startup.runs} fresh processes (cold)`, `${ms(startup.cold.lib)} (${ratio(startup.cold)} baseline)`, ms(startup.cold.base));

  const header = ['Scenario', 'Measure', IMPLS[0].name, IMPLS[1].name];
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i]))));
  const line = (cells) => `| ${cells.map((c, i) => pad(c, widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// ---- targets -------------------------------------------------------------------------------------------

function checkTargets(results, size) {
  const lib = (id) => results[id].lib;
  const targets = [];
  const target = (name, ok, saw) => targets.push({ name, ok, saw });

  const c1 = lib(1).counts;
  target('cold login = 1 wx.login + 1 server request', c1.wxLogin === 1 && c1.server === 1 && lib(1).promises.resolved === 1,
    `wx.login ${c1.wxLogin}, server ${routesText(c1)}, ${promisesText(lib(1).promises)}`);

  const c2 = lib(2).counts;
  target('20 concurrent expired requests = 1 wx.login, 1 login + 20 + 20 replays = 41 server requests, all resolve',
    c2.wxLogin === 1 && c2.server === 41 && c2.routes.login === 1 && c2.routes.api === 40 && lib(2).promises.resolved === 20,
    `wx.login ${c2.wxLogin}, server ${routesText(c2)}, ${promisesText(lib(2).promises)}`);

  const c3 = lib(3).counts;
  target('100 checks within the trust window ≤ 1 server request', c3.server <= 1 && lib(3).promises.allTrue === true,
    `server ${routesText(c3)}, ${promisesText(lib(3).promises)}`);

  const live = SCENARIOS.filter((s) => results[s.id].lib.live && results[s.id].lib.live.live);
  target('no token left live on the server after 退出', live.length === 0,
    live.length ? `live after scenario ${live.map((s) => s.id).join(', ')}` : liveText(lib(5).live));

  target(`shipped size ≤ ${BUDGET_BYTES} B (56 KB budget)`, size.total <= BUDGET_BYTES, `${size.total} B`);
  return targets;
}

// ---- main ------------------------------------------------------------------------------------------------

async function main() {
  if (OPTS.childStartup) {
    const impl = IMPLS.find((i) => i.key === OPTS.childStartup);
    if (!impl) usage(`--child-startup takes ${IMPLS.map((i) => i.key).join(' or ')}`);
    console.log(String(await startupOnce(impl)));
    return;
  }
  for (const file of ['session/index.js', 'session/session_wasm.js', 'session/session_bg.wasm.br']) {
    if (!fs.existsSync(path.join(OPTS.root, file))) {
      console.error(`bench: ${path.join(OPTS.root, file)} is missing: run scripts/build.sh (or scripts/bench.sh, which does)`);
      process.exit(1);
    }
  }
  const results = {};
  for (const s of SCENARIOS) {
    results[s.id] = {};
    for (const impl of IMPLS) results[s.id][impl.key] = await s.run(impl);
  }
  const size = measureSize();
  const startup = await measureStartup(OPTS.runs);

  const table = buildTable(results, size, startup);
  const targets = checkTargets(results, size);
  const targetLines = targets.map((t) => `- ${t.ok ? 'PASS' : 'FAIL'}  ${t.name} — saw: ${t.saw}`);
  const failed = targets.filter((t) => !t.ok).length;
  const summary = failed ? `${failed} of ${targets.length} targets missed` : `all ${targets.length} targets met`;

  const scenarioNotes = SCENARIOS.map((s) => `- ${s.id}. ${s.title}: ${s.detail}.`);
  scenarioNotes.push('- Counted: wx.login and wx.request calls and storage writes (setStorageSync + setStorage) from the fake wx, server requests (those that reached the server) from the fake server; only the measured steps, not the set-up.');
  scenarioNotes.push(`- Start-up: warm = ${startup.runs} fresh sandboxes in one process after ${WARMUP_RUNS} warm-up runs (V8 reuses compiled wasm within a process); cold = the first require + init in each of ${startup.runs} fresh Node processes.`);
  const json = size.sizeJson;
  if (json && typeof json.shippedTotal === 'number' && json.shippedTotal !== size.total) {
    scenarioNotes.push(`- Sizes are of the files in ${path.relative(REPO, OPTS.root) || '.'}/session/ (JS brotli'd here with zlib q11); build/size.json of the last build says ${json.shippedTotal} B.`);
  }
  const env = `- Node ${process.version}, ${process.platform}/${process.arch}; fake wx latency 0 ms (callbacks still asynchronous).`;
  const text = [table, '', ...scenarioNotes, env, '', 'Targets (wx-session):', '', ...targetLines, '', summary].join('\n');
  console.log(text);
  if (sandboxOutput.length) {
    console.error(`bench: the code under test printed ${sandboxOutput.length} console line(s); first: ${sandboxOutput[0]}`);
  }
  if (OPTS.out) {
    fs.mkdirSync(path.dirname(OPTS.out), { recursive: true });
    fs.writeFileSync(OPTS.out, `${text}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error('bench: crashed:', err && err.stack ? err.stack : err);
  process.exit(2);
});

#!/usr/bin/env node
/**
 * The run-time benchmark of issue 8: wx-session against the plain-JS baseline (bench/baseline/)
 * under Node (V8) and under JavaScriptCore with every JIT tier off (`jsc --useJIT=false`, how
 * iPhones run mini-program code), with the targets beside the figures. Not a test.
 *
 *   node bench/engines.js [--runs N] [--rounds R] [--startup-runs S] [--out FILE]   (scripts/bench.sh runs it)
 *
 * Each figure comes from N fresh processes per engine and implementation (default 9), each doing
 * bench/rounds.js once: start-up (the first require + init in the process), R rounds of
 * login → checkHasLogined → logout (default 300; the median round time), and the wx calls the
 * rounds made, by API, counted by the fake wx. Peak RSS is the whole process's, measured from
 * outside by GNU time (`%M`, the kernel's high-water mark) after the R rounds. The table shows the
 * median over the N processes; start-up, one sample per process, also takes S more processes per
 * cell that only start (default 31, wx-session and the plain flow interleaved); in the same
 * interleaving, S processes compile the shipped wasm alone (WebAssembly.compile, nothing else
 * running), the part of start-up only the module's size decides. JSC runs tests/jsc/main.js (the same fakes and CommonJS rules as
 * the `jsc` suite); Node runs this file as a child over tests/node/support's sandbox.
 *
 * Exit status: 0 when every target is met, 1 when one is missed, 2 when something failed to run.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { spawnSync } = require('child_process');

const REPO = path.resolve(__dirname, '..');
const PACKAGE = path.join(REPO, 'miniprogram');
const BASELINE = path.join(__dirname, 'baseline');
const UNBR = path.join(REPO, 'build', 'jsc', 'unbr');
const BUDGET_BYTES = 57344;

/** The targets, as ratios to the plain-JS flow under jsc --useJIT=false, or absolutes. */
const TARGETS = { rssRatio: 1.5, roundRatio: 10, startupRatio: 8, wxCalls: 15, storageCalls: 8, shippedBytes: BUDGET_BYTES };

const IMPLS = {
  lib: { root: PACKAGE, entry: '/session/index.js', name: 'wx-session' },
  base: { root: BASELINE, entry: '/session.js', name: 'plain JS (seeds)' },
};

// ---- child: one Node run ---------------------------------------------------------------------------
async function child(implKey, rounds) {
  if (implKey === 'compile') {
    // The module's code compiled alone (see tests/jsc/main.js, bench mode `compile`).
    const bytes = zlib.brotliDecompressSync(fs.readFileSync(path.join(PACKAGE, 'session', 'session_bg.wasm.br')));
    const t0 = Number(process.hrtime.bigint()) / 1e6;
    await WebAssembly.compile(bytes);
    process.stdout.write('BENCH ' + JSON.stringify({ engine: 'node', startupMs: Number(process.hrtime.bigint()) / 1e6 - t0, callsPerRound: {} }) + '\n');
    return;
  }
  const support = require('../tests/node/support');
  const { measure } = require('./rounds');
  const quiet = { log() {}, info() {}, warn() {}, error() {}, debug() {} };
  const host = {
    engine: 'node',
    now: () => Number(process.hrtime.bigint()) / 1e6,
    createEnv(root) {
      const sb = support.createSandbox({ root, console: quiet });
      return { require: sb.require, toRealm: sb.toRealm, fake: sb.fake, server: sb.server };
    },
  };
  const result = await measure(host, IMPLS[implKey], { rounds });
  process.stdout.write('BENCH ' + JSON.stringify(result) + '\n');
}

// ---- parent ------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const opts = { runs: 9, rounds: 300, startupRuns: 31, out: null };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) usage(argv[i] + ' needs a value');
      return argv[++i];
    };
    if (argv[i] === '--runs') opts.runs = Number(value());
    else if (argv[i] === '--rounds') opts.rounds = Number(value());
    else if (argv[i] === '--startup-runs') opts.startupRuns = Number(value());
    else if (argv[i] === '--out') opts.out = path.resolve(value());
    else usage('unknown argument ' + argv[i]);
  }
  if (![opts.runs, opts.rounds].every((n) => Number.isInteger(n) && n >= 1) || !Number.isInteger(opts.startupRuns) || opts.startupRuns < 0) {
    usage('--runs and --rounds take whole numbers ≥ 1, --startup-runs one ≥ 0');
  }
  return opts;
}

function usage(problem) {
  console.error('engines: ' + problem + '\nusage: node bench/engines.js [--runs N] [--rounds R] [--startup-runs S] [--out FILE]');
  process.exit(2);
}

/** The package's .wasm.br files, decompressed for the jsc shell (as scripts/test-jsc.sh does). */
function decompressForJsc() {
  fs.rmSync(UNBR, { recursive: true, force: true });
  const dir = path.join(PACKAGE, 'session');
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.wasm.br'))) {
    fs.mkdirSync(path.join(UNBR, 'session'), { recursive: true });
    fs.writeFileSync(path.join(UNBR, 'session', name.slice(0, -3)), zlib.brotliDecompressSync(fs.readFileSync(path.join(dir, name))));
  }
}

/** One process under GNU time: { result, rssKiB }. */
function runOnce(engine, implKey, rounds) {
  const command = engine === 'jsc'
    ? ['jsc', '--useJIT=false', path.join(REPO, 'tests', 'jsc', 'main.js'), '--', 'bench', REPO, UNBR, implKey, String(rounds)]
    : [process.execPath, __filename, '--child', implKey, String(rounds)];
  const timeFile = path.join(os.tmpdir(), 'wx-session-bench-' + process.pid + '.time');
  const run = spawnSync('/usr/bin/time', ['-f', '%M', '-o', timeFile, ...command], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const line = (run.stdout || '').split('\n').find((l) => l.startsWith('BENCH '));
  if (run.status !== 0 || !line) {
    throw new Error(engine + ' ' + implKey + ' failed (exit ' + run.status + '):\n' + (run.stdout || '').slice(-2000) + (run.stderr || '').slice(-2000));
  }
  const rssKiB = Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop());
  fs.rmSync(timeFile, { force: true });
  return { result: JSON.parse(line.slice(6)), rssKiB };
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** N runs of one engine × implementation → medians and the calls of the first run (they do not vary). */
function measureConfig(engine, implKey, opts) {
  const runs = [];
  for (let i = 0; i < opts.runs; i++) runs.push(runOnce(engine, implKey, opts.rounds));
  const calls = runs[0].result.callsPerRound;
  runs.forEach((r) => {
    if (JSON.stringify(r.result.callsPerRound) !== JSON.stringify(calls)) throw new Error(engine + ' ' + implKey + ': wx calls differ between runs');
  });
  return {
    roundMs: median(runs.map((r) => r.result.roundMs.median)),
    startupSamples: runs.map((r) => r.result.startupMs),
    rssMiB: median(runs.map((r) => r.rssKiB)) / 1024,
    calls,
  };
}

const total = (calls) => Object.values(calls).reduce((a, b) => a + b, 0);
const storage = (calls) => Object.keys(calls).filter((api) => /Storage/.test(api)).reduce((a, api) => a + calls[api], 0);
const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
const callsText = (calls) => num(total(calls)) + ' (' + Object.keys(calls).sort((a, b) => calls[b] - calls[a] || a.localeCompare(b)).map((api) => api + ' ' + num(calls[api])).join(', ') + ')';
const ms = (x) => (x < 1 ? x.toFixed(3) : x.toFixed(2)) + ' ms';

function shippedBytes() {
  const dir = path.join(PACKAGE, 'session');
  const brotli = (file) => zlib.brotliCompressSync(fs.readFileSync(file), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  return fs.statSync(path.join(dir, 'session_bg.wasm.br')).size + brotli(path.join(dir, 'session_wasm.js')) + brotli(path.join(dir, 'index.js'));
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const jscOk = spawnSync('jsc', ['--useJIT=false', '-e', 'quit(0)']).status === 0;
  if (!jscOk) {
    console.error('engines: no working `jsc` (Debian libjavascriptcoregtk-4.0-bin): scripts/bench.sh installs it');
    process.exit(2);
  }
  decompressForJsc();
  const results = {};
  for (const engine of ['node', 'jsc']) {
    results[engine] = {};
    for (const implKey of ['lib', 'base']) {
      process.stderr.write('engines: ' + engine + ' ' + implKey + ' × ' + opts.runs + ' processes of ' + opts.rounds + ' rounds…\n');
      results[engine][implKey] = measureConfig(engine, implKey, opts);
    }
  }
  // Start-up is one sample per process and, under jsc, spread wide (the module compiles on a
  // second thread, which the two cores here do not always give it at once): more processes than
  // the round cells need, lib and base interleaved so a busy moment hits both.
  for (const engine of ['node', 'jsc']) {
    if (opts.startupRuns) process.stderr.write('engines: ' + engine + ' start-up × ' + opts.startupRuns + ' more processes each…\n');
    // The wasm compiled alone is sampled in the same interleaving.
    results[engine].compile = { startupSamples: [] };
    for (let i = 0; i < opts.startupRuns; i++) {
      for (const implKey of ['lib', 'base', 'compile']) results[engine][implKey].startupSamples.push(runOnce(engine, implKey, 1).result.startupMs);
    }
    for (const implKey of ['lib', 'base', 'compile']) results[engine][implKey].startupMs = median(results[engine][implKey].startupSamples);
  }
  const shipped = shippedBytes();

  const rows = [];
  const checks = [];
  const add = (measure, engine, lib, base, ratio, target, ok) => rows.push([measure, engine, lib, base, ratio, target, ok === undefined ? '' : ok ? 'met' : 'MISSED']);
  const ratioRow = (label, key, format, engine, targetRatio) => {
    const r = results[engine];
    const ratio = r.lib[key] / r.base[key];
    const ok = targetRatio === undefined ? undefined : ratio <= targetRatio;
    if (ok !== undefined) checks.push({ ok, text: label + ' under jsc --useJIT=false: ' + ratio.toFixed(1) + '× the plain flow (target ≤ ' + targetRatio + '×)' });
    add(label, engine === 'jsc' ? 'jsc --useJIT=false' : 'Node ' + process.version, format(r.lib[key]), format(r.base[key]), ratio.toFixed(1) + '×', targetRatio === undefined ? '—' : '≤ ' + targetRatio + '×', ok);
  };
  for (const engine of ['jsc', 'node']) {
    const jsc = engine === 'jsc';
    ratioRow('round (login → checkHasLogined → logout), median', 'roundMs', ms, engine, jsc ? TARGETS.roundRatio : undefined);
    ratioRow('peak RSS after ' + opts.rounds + ' rounds', 'rssMiB', (x) => x.toFixed(1) + ' MiB', engine, jsc ? TARGETS.rssRatio : undefined);
    ratioRow('start-up (first require + init)', 'startupMs', ms, engine, jsc ? TARGETS.startupRatio : undefined);
    const compile = results[engine].compile.startupMs;
    if (results[engine].compile.startupSamples.length) {
      add("  of it: the wasm's compilation alone (idle main thread)", jsc ? 'jsc --useJIT=false' : 'Node ' + process.version, ms(compile), '—', (compile / results[engine].base.startupMs).toFixed(1) + '×', '—');
    }
  }
  const lib = results.jsc.lib.calls;
  const base = results.jsc.base.calls;
  if (JSON.stringify(lib) !== JSON.stringify(results.node.lib.calls)) throw new Error('wx-session makes different wx calls under Node and JSC');
  const callsOk = total(lib) <= TARGETS.wxCalls;
  const storageOk = storage(lib) <= TARGETS.storageCalls;
  add('wx calls per round', 'both', callsText(lib), callsText(base), '', '≤ ' + TARGETS.wxCalls, callsOk);
  add('  of them storage (*Storage*)', 'both', num(storage(lib)), num(storage(base)), '', '≤ ' + TARGETS.storageCalls, storageOk);
  const shippedOk = shipped <= TARGETS.shippedBytes;
  add('shipped, brotli (wasm.br + glue + index.js)', '—', shipped + ' B = ' + (shipped / 1024).toFixed(1) + ' KB', '—', '', '≤ 56 KB (' + TARGETS.shippedBytes + ' B)', shippedOk);
  checks.push({ ok: callsOk, text: 'wx calls per round: ' + num(total(lib)) + ' (target ≤ ' + TARGETS.wxCalls + ')' });
  checks.push({ ok: storageOk, text: 'storage calls per round: ' + num(storage(lib)) + ' (target ≤ ' + TARGETS.storageCalls + ')' });
  checks.push({ ok: shippedOk, text: 'shipped: ' + shipped + ' B (target ≤ ' + TARGETS.shippedBytes + ' B)' });

  const header = ['measure', 'engine', 'wx-session', 'plain JS (seeds)', 'ratio', 'target', ''];
  const width = (text) => [...text].reduce((w, ch) => w + (ch.codePointAt(0) > 0x2e80 ? 2 : 1), 0);
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]))));
  const line = (cells) => '| ' + cells.map((c, i) => c + ' '.repeat(widths[i] - width(c))).join(' | ') + ' |';
  const missed = checks.filter((c) => !c.ok);
  const text = [
    line(header),
    '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|',
    ...rows.map(line),
    '',
    '- Medians over ' + opts.runs + ' fresh processes per cell; each process: start-up, then ' + opts.rounds + ' rounds (its median round).',
    '- Start-up: median over ' + (opts.runs + opts.startupRuns) + ' processes per cell (those ' + opts.runs + ' and ' + opts.startupRuns + ' start-up-only ones, wx-session and the plain flow interleaved).',
    '- The wasm\'s compilation alone: `WebAssembly.compile` of the shipped module in a fresh process with nothing else running, median over ' + opts.startupRuns + ' processes (interleaved with those); its ratio is to the plain flow\'s whole start-up. No loader order or glue change can take start-up below it.',
    '- Peak RSS: the process\'s high-water mark from GNU time (the engine itself included, so the ratio understates the module\'s own share).',
    '- wx calls: counted by the fake wx over the rounds, per round; fake wx latency 0 (callbacks still asynchronous).',
    '- JavaScriptCore ' + (spawnSync('dpkg-query', ['-W', '-f=${Version}', 'libjavascriptcoregtk-4.0-bin'], { encoding: 'utf8' }).stdout || '?') + ' (Debian), Node ' + process.version + ', ' + os.cpus().length + ' CPUs.',
    '',
    ...checks.map((c) => '- ' + (c.ok ? 'PASS' : 'MISS') + '  ' + c.text),
    '',
    missed.length ? missed.length + ' of ' + checks.length + ' run-time targets missed' : 'all ' + checks.length + ' run-time targets met',
  ].join('\n');
  console.log(text);
  if (opts.out) {
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, text + '\n');
  }
  process.exitCode = missed.length ? 1 : 0;
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
} else {
  try {
    main();
  } catch (err) {
    console.error('engines: ' + (err && err.stack ? err.stack : err));
    process.exit(2);
  }
}

#!/usr/bin/env node
// Inspects and prepares the wasm module before it ships in the mini-program.
//
//   node tools/wasm-module.js prepare IN.wasm OUT.wasm --glue GLUE.js --json FEATURES.json
//       Reads the features rustc declared (the `target_features` custom section), drops that
//       section and every exported global the glue never reads, then finds which features the
//       module really uses and writes them (and the wasm-opt flags that enable exactly those) to
//       FEATURES.json. Fails if the module uses a feature WeChat's engines are not known to run.
//   node tools/wasm-module.js check OPT.wasm --json FEATURES.json
//       After wasm-opt: the same feature check on the optimised module (wasm-opt must not have
//       introduced anything new), recorded in FEATURES.json under `shipped`.
//
// Why "used" and not just the declared section: rustc declares every feature it was allowed to
// use, not what it did use. binaryen's validator is the ground truth: a feature is used when the
// module stops validating without it. Probes run on a copy without the target_features section,
// because binaryen otherwise enables whatever the section lists.
//
// Why exported globals go: wasm-bindgen exports `#[no_mangle]` statics such as
// `__instance_terminated` as globals even when the glue never reads them, and iOS WeChat is reported
// not to support exported globals. Unused exports are dead weight at best and a load failure at worst.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

/**
 * Features (binaryen flag names) that the module may use. These are what Rust >= 1.82 turns on for
 * wasm32-unknown-unknown and what Safari/JavaScriptCore and Chromium-based WeChat engines have
 * shipped for years. Anything else (simd, threads, exception-handling, gc, tail-call, memory64, …)
 * fails the build: add it here only after checking it runs on WeChat for iOS and Android.
 */
const ALLOWED = [
  'sign-ext',
  'mutable-globals',
  'nontrapping-float-to-int',
  'bulk-memory',
  'bulk-memory-opt',
  'reference-types',
  'multivalue',
  'call-indirect-overlong', // binaryen ignores it; an encoding detail of call_indirect
];

/**
 * Every feature binaryen 132 can toggle, probed when a module carries no target_features section.
 * Ordered so a feature that implies another comes first (gc before reference-types, bulk-memory
 * before bulk-memory-opt, …): the probe tries to drop the larger one first and keeps the smaller.
 */
const BINARYEN_FEATURES = [
  'gc', 'strings', 'stack-switching', 'exception-handling', 'shared-everything', 'threads',
  'relaxed-simd', 'fp16', 'simd', 'memory64', 'multimemory', 'tail-call', 'extended-const',
  'bulk-memory', 'bulk-memory-opt', 'reference-types', 'multivalue', 'sign-ext', 'mutable-globals',
  'nontrapping-float-to-int', 'call-indirect-overlong',
];

/** LLVM/rustc feature names that binaryen spells differently. */
const LLVM_TO_BINARYEN = {
  simd128: 'simd',
  atomics: 'threads',
  'nontrapping-fptoint': 'nontrapping-float-to-int',
};

// ---------------------------------------------------------------------------------------------
// Binary format: just enough of it to list sections, read custom sections and rewrite exports.

function fail(message) {
  const error = new Error(message);
  error.isToolError = true;
  throw error;
}

function readU32(buf, at) {
  let result = 0;
  let shift = 0;
  for (let i = at; i < buf.length; i++) {
    const byte = buf[i];
    result += (byte & 0x7f) * 2 ** shift; // multiplication: `<<` would overflow past 31 bits
    shift += 7;
    if ((byte & 0x80) === 0) return { value: result, next: i + 1 };
    if (shift > 35) break;
  }
  fail('malformed LEB128 at byte ' + at);
}

function encodeU32(value) {
  const out = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return Buffer.from(out);
}

function readName(buf, at) {
  const len = readU32(buf, at);
  const end = len.next + len.value;
  if (end > buf.length) fail('name runs past the end of the module at byte ' + at);
  return { value: buf.toString('utf8', len.next, end), next: end };
}

/** Splits a module into its sections: { id, name (custom only), start, end, body }. */
function sections(buf) {
  if (buf.length < 8 || buf.readUInt32LE(0) !== 0x6d736100) fail('not a wasm module (bad magic)');
  if (buf.readUInt32LE(4) !== 1) fail('unsupported wasm binary version ' + buf.readUInt32LE(4));
  const list = [];
  let at = 8;
  while (at < buf.length) {
    const id = buf[at];
    const size = readU32(buf, at + 1);
    const end = size.next + size.value;
    if (end > buf.length) fail('section ' + id + ' runs past the end of the module');
    const section = { id, start: at, end, body: size.next };
    if (id === 0) section.name = readName(buf, size.next).value;
    list.push(section);
    at = end;
  }
  return list;
}

/** The `target_features` section: [{ prefix: '+'|'-'|'=', name }] in LLVM names, or null. */
function declaredFeatures(buf) {
  const section = sections(buf).find((s) => s.id === 0 && s.name === 'target_features');
  if (!section) return null;
  let at = readName(buf, section.body).next;
  const count = readU32(buf, at);
  at = count.next;
  const features = [];
  for (let i = 0; i < count.value; i++) {
    const prefix = String.fromCharCode(buf[at]);
    const name = readName(buf, at + 1);
    features.push({ prefix, name: name.value });
    at = name.next;
  }
  return features;
}

const EXTERNAL_KINDS = ['function', 'table', 'memory', 'global', 'tag'];

/** The export section's entries: [{ name, kind, index, start, end }]. */
function exportsOf(buf) {
  const section = sections(buf).find((s) => s.id === 7);
  if (!section) return [];
  const count = readU32(buf, section.body);
  let at = count.next;
  const list = [];
  for (let i = 0; i < count.value; i++) {
    const start = at;
    const name = readName(buf, at);
    const kind = EXTERNAL_KINDS[buf[name.next]] || 'unknown(' + buf[name.next] + ')';
    const index = readU32(buf, name.next + 1);
    at = index.next;
    list.push({ name: name.value, kind, index: index.value, start, end: at });
  }
  return list;
}

/** A copy of `buf` without custom sections named in `dropSections` and exports named in `dropExports`. */
function rewrite(buf, { dropSections = [], dropExports = [] }) {
  const parts = [buf.subarray(0, 8)];
  for (const section of sections(buf)) {
    if (section.id === 0 && dropSections.includes(section.name)) continue;
    if (section.id === 7 && dropExports.length > 0) {
      const kept = exportsOf(buf).filter((e) => !dropExports.includes(e.name));
      const body = Buffer.concat([encodeU32(kept.length), ...kept.map((e) => buf.subarray(e.start, e.end))]);
      parts.push(Buffer.from([7]), encodeU32(body.length), body);
      continue;
    }
    parts.push(buf.subarray(section.start, section.end));
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Feature probing with binaryen: npm's binaryen package (the same build as its wasm-opt) loaded
// once in this process. Each probe is then a validation of about 0.1 s, where running the wasm-opt
// CLI per probe cost a second of start-up each.

/** binaryen.Features keys for the binaryen flag names used above. */
const FEATURE_KEYS = {
  'sign-ext': 'SignExt', threads: 'Atomics', 'mutable-globals': 'MutableGlobals',
  'nontrapping-float-to-int': 'NontrappingFPToInt', simd: 'SIMD128', 'bulk-memory': 'BulkMemory',
  'bulk-memory-opt': 'BulkMemoryOpt', 'exception-handling': 'ExceptionHandling', 'tail-call': 'TailCall',
  'reference-types': 'ReferenceTypes', multivalue: 'Multivalue', gc: 'GC', memory64: 'Memory64',
  'relaxed-simd': 'RelaxedSIMD', 'extended-const': 'ExtendedConst', strings: 'Strings',
  multimemory: 'MultiMemory', 'stack-switching': 'StackSwitching', 'shared-everything': 'SharedEverything',
  fp16: 'FP16', 'call-indirect-overlong': 'CallIndirectOverlong',
};

let binaryenPromise = null;
function loadBinaryen() {
  if (!binaryenPromise) {
    let entry;
    try {
      entry = require.resolve('binaryen', { paths: [path.join(__dirname, '..')] });
    } catch {
      fail("npm's binaryen is not installed: run npm ci (scripts/lib/tools.sh does)");
    }
    // The package is an ES module; import() loads it from this CommonJS file.
    binaryenPromise = import(pathToFileURL(entry).href).then((m) => m.default);
  }
  return binaryenPromise;
}

/** Runs fn with stdout/stderr captured (binaryen's validator prints every error it finds). */
function quietly(fn) {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let text = '';
  process.stdout.write = process.stderr.write = (chunk) => {
    if (text.length < 4000) text += String(chunk);
    return true;
  };
  try {
    return { result: fn(), text };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/**
 * A smallest subset of `candidates` the module (which must have no target_features section) needs
 * to validate. Features overlap (bulk-memory includes bulk-memory-opt), so probing each one alone
 * would call both unused; instead drop them one at a time, larger first, keeping each drop that
 * still validates.
 */
async function usedFeatures(file, candidates) {
  const binaryen = await loadBinaryen();
  const unknown = candidates.filter((f) => binaryen.Features[FEATURE_KEYS[f]] === undefined);
  if (unknown.length > 0) fail('this binaryen does not know the features ' + unknown.join(', '));
  const ordered = candidates
    .slice()
    .sort((a, b) => BINARYEN_FEATURES.indexOf(a) - BINARYEN_FEATURES.indexOf(b));
  const read = quietly(() => binaryen.readBinary(fs.readFileSync(file)));
  const module = read.result;
  try {
    const validates = (features) => {
      module.setFeatures(features.reduce((mask, f) => mask | binaryen.Features[FEATURE_KEYS[f]], binaryen.Features.MVP));
      return quietly(() => module.validate());
    };
    const base = validates(ordered);
    if (!base.result) {
      fail('the module does not validate with features [' + ordered.join(', ') + ']:\n' + base.text.slice(0, 2000));
    }
    let kept = ordered;
    for (const feature of ordered) {
      const without = kept.filter((f) => f !== feature);
      if (validates(without).result) kept = without;
    }
    return kept;
  } finally {
    module.dispose();
  }
}

function toBinaryen(llvmName) {
  return LLVM_TO_BINARYEN[llvmName] || llvmName;
}

function disallowed(features) {
  return features.filter((f) => !ALLOWED.includes(f));
}

// ---------------------------------------------------------------------------------------------
// Commands.

function parseArgs(argv) {
  const positional = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      // `--flag value`, or a bare `--flag` (true) when no value follows.
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) {
        options[argv[i].slice(2)] = true;
      } else {
        options[argv[i].slice(2)] = value;
        i++;
      }
    } else {
      positional.push(argv[i]);
    }
  }
  return { positional, options };
}

function requireOption(options, name, usage) {
  if (!options[name]) fail('missing --' + name + '\n' + usage);
  return options[name];
}

const USAGE =
  'usage: node tools/wasm-module.js prepare IN.wasm OUT.wasm --glue GLUE.js --json FEATURES.json\n' +
  '       node tools/wasm-module.js check OPT.wasm --json FEATURES.json\n' +
  '       node tools/wasm-module.js top IN.wasm [--count N] [--by-crate]   (largest functions and crates, by the name section)';

async function prepare(positional, options) {
  const [input, output] = positional;
  if (!input || !output) fail(USAGE);
  const glueFile = requireOption(options, 'glue', USAGE);
  const jsonFile = requireOption(options, 'json', USAGE);
  const buf = fs.readFileSync(input);
  const glue = fs.readFileSync(glueFile, 'utf8');

  const declared = declaredFeatures(buf);
  const declaredOn = declared ? declared.filter((f) => f.prefix !== '-').map((f) => f.name) : null;

  // Exported globals: drop the ones the glue never names; fail on the ones it reads.
  const globals = exportsOf(buf).filter((e) => e.kind === 'global');
  const readByGlue = globals.filter((g) => new RegExp('[.\'"]' + g.name.replace(/\$/g, '\\$') + '\\b').test(glue));
  if (readByGlue.length > 0) {
    fail(
      'the glue reads exported wasm globals ' + readByGlue.map((g) => g.name).join(', ') +
        ', which iOS WeChat is reported not to support; change the Rust side so it does not need them'
    );
  }
  const dropped = globals.map((g) => g.name);
  const prepared = rewrite(buf, { dropSections: ['target_features'], dropExports: dropped });
  fs.mkdirSync(path.dirname(output), { recursive: true });
  fs.writeFileSync(output, prepared);

  const candidates = declaredOn ? [...new Set(declaredOn.map(toBinaryen))].filter((f) => BINARYEN_FEATURES.includes(f)) : BINARYEN_FEATURES;
  const unknown = declaredOn ? declaredOn.map(toBinaryen).filter((f) => !BINARYEN_FEATURES.includes(f)) : [];
  const used = await usedFeatures(output, candidates);

  const report = {
    declared: declaredOn,
    unprobeable: unknown,
    used,
    wasmOptFlags: ['--mvp-features', ...used.map((f) => '--enable-' + f)],
    droppedGlobalExports: dropped,
  };
  fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');

  console.log('wasm features declared by rustc: ' + (declaredOn ? declaredOn.join(', ') : '(no target_features section)'));
  console.log('wasm features the module uses:   ' + (used.join(', ') || 'none beyond the MVP'));
  if (dropped.length > 0) console.log('dropped exported globals the glue never reads: ' + dropped.join(', '));
  if (unknown.length > 0) console.log('warning: binaryen cannot probe declared features: ' + unknown.join(', '));
  const badDeclared = declaredOn ? disallowed(declaredOn.map(toBinaryen)).filter((f) => !used.includes(f)) : [];
  if (badDeclared.length > 0) {
    console.log('warning: rustc was allowed to use ' + badDeclared.join(', ') + ' (unused today); check RUSTFLAGS / .cargo/config.toml');
  }
  const bad = disallowed(used);
  if (bad.length > 0) {
    fail(
      'the module uses wasm features WeChat engines are not known to run: ' + bad.join(', ') +
        '\n  fix: remove the -C target-feature/target-cpu that enables them (RUSTFLAGS, .cargo/config.toml),' +
        ' or the dependency that needs them'
    );
  }
}

async function check(positional, options) {
  const [input] = positional;
  if (!input) fail(USAGE);
  const jsonFile = requireOption(options, 'json', USAGE);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  const buf = fs.readFileSync(input);
  if (declaredFeatures(buf)) fail(input + ' still has a target_features section; it should have been dropped by `prepare`');
  // Validating with exactly the input's used features proves wasm-opt introduced nothing new
  // (usedFeatures fails when the base set does not validate); the probes then say what is left.
  const used = await usedFeatures(input, report.used);
  report.shipped = { used, exports: exportsOf(buf).map((e) => e.kind + ' ' + e.name) };
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  console.log('wasm features of the shipped module: ' + (used.join(', ') || 'none beyond the MVP'));
  const bad = disallowed(used);
  if (bad.length > 0) fail('the optimised module uses wasm features outside the allowed set: ' + bad.join(', '));
  const globals = exportsOf(buf).filter((e) => e.kind === 'global');
  if (globals.length > 0) fail('the optimised module exports globals again: ' + globals.map((g) => g.name).join(', '));
  // Debug names and the producers list are bytes on every phone for nobody; wasm-opt strips them.
  const custom = sections(buf).filter((s) => s.id === 0).map((s) => s.name);
  report.shipped.customSections = custom;
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  const unwanted = custom.filter((name) => name === 'name' || name === 'producers' || name.startsWith('.debug'));
  if (unwanted.length > 0) fail('the optimised module still has custom sections ' + unwanted.join(', ') + '; wasm-opt needs --strip-debug --strip-producers');
}

/** Function names from the `name` section (subsection 1), by function index. */
function functionNames(buf) {
  const names = new Map();
  const section = sections(buf).find((s) => s.id === 0 && s.name === 'name');
  if (!section) return names;
  let at = readName(buf, section.body).next;
  while (at < section.end) {
    const id = buf[at];
    const size = readU32(buf, at + 1);
    if (id === 1) {
      const count = readU32(buf, size.next);
      let p = count.next;
      for (let i = 0; i < count.value; i++) {
        const index = readU32(buf, p);
        const name = readName(buf, index.next);
        names.set(index.value, name.value);
        p = name.next;
      }
    }
    at = size.next + size.value;
  }
  return names;
}

/** How many functions the module imports (they come first in the function index space). */
function importedFunctionCount(buf) {
  const section = sections(buf).find((s) => s.id === 2);
  if (!section) return 0;
  const count = readU32(buf, section.body);
  let at = count.next;
  let functions = 0;
  const limits = (p) => {
    const flags = buf[p];
    let next = readU32(buf, p + 1).next;
    if (flags & 1) next = readU32(buf, next).next;
    return next;
  };
  for (let i = 0; i < count.value; i++) {
    at = readName(buf, readName(buf, at).next).next;
    const kind = buf[at];
    at++;
    if (kind === 0) {
      functions++;
      at = readU32(buf, at).next;
    } else if (kind === 1) {
      at = limits(at + 1); // reference type, then limits
    } else if (kind === 2) {
      at = limits(at);
    } else if (kind === 3) {
      at += 2; // value type, mutability
    } else {
      fail('cannot read import kind ' + kind);
    }
  }
  return functions;
}

/** Where the bytes go: the largest function bodies and the data, for someone trimming the module. */
function top(positional, options) {
  const [input] = positional;
  if (!input) fail(USAGE);
  const buf = fs.readFileSync(input);
  const names = functionNames(buf);
  const imported = importedFunctionCount(buf);
  const code = sections(buf).find((s) => s.id === 10);
  const data = sections(buf).find((s) => s.id === 11);
  const bodies = [];
  if (code) {
    const count = readU32(buf, code.body);
    let at = count.next;
    for (let i = 0; i < count.value; i++) {
      const size = readU32(buf, at);
      const name = names.get(imported + i) || 'function ' + (imported + i);
      // Rust symbols carry hashes (`::h0123…`, `core[0123…]`) that say nothing to a reader.
      bodies.push({ size: size.value, name: name.replace(/::h[0-9a-f]{16}$/, '').replace(/\[[0-9a-f]{16}\]/g, '') });
      at = size.next + size.value;
    }
  }
  bodies.sort((a, b) => b.size - a.size);
  const total = bodies.reduce((sum, f) => sum + f.size, 0);
  console.log('code ' + total + ' bytes in ' + bodies.length + ' functions; data ' + (data ? data.end - data.start : 0) + ' bytes' +
    (names.size === 0 ? ' (no name section: run this on pkg/*_bg.wasm)' : ''));
  for (const f of bodies.slice(0, Number(options.count) || 20)) {
    console.log(String(f.size).padStart(8) + '  ' + (f.name.length > 120 ? f.name.slice(0, 117) + '...' : f.name));
  }
  if (options['by-crate'] && names.size > 0) {
    const crates = new Map();
    for (const f of bodies) crates.set(crateOf(f.name), (crates.get(crateOf(f.name)) || 0) + f.size);
    console.log('code bytes by crate (before wasm-opt; generic code counts where it was instantiated from):');
    [...crates].sort((a, b) => b[1] - a[1]).forEach(([crate, size]) => {
      console.log(String(size).padStart(8) + '  ' + (100 * size / total).toFixed(1).padStart(5) + '%  ' + crate);
    });
  }
}

/**
 * The crate a demangled Rust symbol belongs to: the first path segment, looking through the
 * `<Type as Trait>` of trait impls (the implementing type's crate) and `&`, `mut`, `dyn`.
 * Symbols that are not Rust paths (wasm-bindgen's shims, `memcpy`, …) count as "(other)".
 */
function crateOf(name) {
  const match = /^[<&\s]*(?:(?:mut|dyn|const)\s+)*([A-Za-z_][A-Za-z0-9_]*)::/.exec(name);
  return match ? match[1] : '(other)';
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const { positional, options } = parseArgs(rest);
  if (command === 'prepare') return prepare(positional, options);
  if (command === 'check') return check(positional, options);
  if (command === 'top') return top(positional, options);
  fail(USAGE);
}

if (require.main === module) {
  main().catch((error) => {
    console.error('wasm-module: ' + (error.isToolError ? error.message : error.stack));
    process.exit(1);
  });
}

module.exports = { sections, declaredFeatures, exportsOf, rewrite, usedFeatures, crateOf, ALLOWED, encodeU32, readU32 };

#!/usr/bin/env node
// Turns wasm-bindgen's `--target web` glue into a CommonJS module the WeChat mini-program runtime
// can load:
//
//   node tools/mp-glue.js pkg/session_core.js miniprogram/session/session_wasm.js [--require-export Session]
//   node tools/mp-glue.js --check FILE.js      the same checks on a finished file (after minifying)
//
// The runtime has no ES modules, no `fetch`/`URL`/`WebAssembly` (only `WXWebAssembly`, which takes a
// path inside the code package) and no TextEncoder/TextDecoder (see shared/notes/wechat-runtime.md).
// So this tool
//   - removes the glue's own loaders (`__wbg_load`, `__wbg_init`, `initSync`, the default export),
//     which are the only places it fetches, builds URLs or touches `WebAssembly`;
//   - turns `export class X` / `export function f` into plain declarations and collects their names;
//   - points the glue's `new TextDecoder(…)` / `new TextEncoder()` at the local UTF-8 codec from
//     tools/mp-utf8.js, copied in;
//   - appends `instantiate(path)`: WXWebAssembly.instantiate(path, __wbg_get_imports()), then the
//     glue's `__wbg_finalize_init(instance, module)`, resolving with every export;
//   - refuses to write anything if an anchor it relies on is missing, and fails listing every
//     reference to something the runtime lacks that is still in the result.
// The contract with miniprogram/session/index.js: `module.exports = { instantiate }`.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { tokenize, significant, topLevelStatements } = require('./js-tokens.js');

/** The glue's own loaders: dropped whole. They fetch, build URLs and call WebAssembly.* directly. */
const LOADER_NAMES = ['__wbg_load', '__wbg_init', '__wbg_init_once', 'initSync', '__wbg_init_promise'];

/** Names this tool adds to the output; the glue must not already use them. */
const OWN_NAMES = ['MpUtf8Decoder', 'MpUtf8Encoder', 'mpUtf8Length', 'mpExports', 'mpLoading', 'mpInstantiate'];

/** Identifiers that may not appear at all, not even as a property (`globalThis.WebAssembly`). */
const FORBIDDEN_ANYWHERE = {
  WebAssembly: 'no WebAssembly global on devices; only WXWebAssembly',
  instantiateStreaming: 'no streaming instantiation in WXWebAssembly',
  TextDecoder: 'no TextDecoder on devices',
  TextEncoder: 'no TextEncoder on devices',
  crypto: 'no crypto on devices',
};

/** Identifiers that may not be referenced as globals (a property `x.fetch` of some object is fine). */
const FORBIDDEN_GLOBALS = {
  fetch: 'no fetch; the module comes from the code package',
  URL: 'no URL global',
  Request: 'no Request global',
  Response: 'no Response global',
  eval: 'no eval',
  require: 'the glue must not require modules',
};

// Objects through which a global can be reached as a property.
const GLOBAL_OBJECTS = new Set(['globalThis', 'self', 'window', 'global']);

function toolError(message) {
  const error = new Error(message);
  error.isToolError = true;
  return error;
}

function lineOf(source, offset) {
  return source.slice(0, offset).split('\n').length;
}

/** The UTF-8 codec's source, between the INLINE markers of tools/mp-utf8.js. */
function utf8Source() {
  const text = fs.readFileSync(path.join(__dirname, 'mp-utf8.js'), 'utf8');
  const begin = text.indexOf('// >>> INLINE mp-utf8');
  const end = text.indexOf('// <<< INLINE mp-utf8');
  if (begin < 0 || end < begin) throw toolError('tools/mp-utf8.js lost its INLINE markers');
  return text.slice(text.indexOf('\n', begin) + 1, end).trimEnd();
}

/** What a top-level statement declares: { exported, kind, name }; kind is the keyword. */
function describeStatement(statement) {
  const t = statement.tokens;
  let k = 0;
  const exported = t[0].value === 'export';
  if (exported) k++;
  if (t[k] && t[k].value === 'async') k++;
  const keyword = t[k] ? t[k].value : '';
  if (['function', 'class', 'let', 'const', 'var'].includes(keyword)) {
    let n = k + 1;
    if (t[n] && t[n].value === '*') n++; // generator
    return { exported, kind: keyword, name: t[n] && t[n].type === 'ident' ? t[n].value : null, keywordIndex: k };
  }
  if (exported && keyword === '{') return { exported, kind: 'export-list' };
  if (exported && keyword === 'default') return { exported, kind: 'export-default' };
  if (t[0].value === 'import') return { exported: false, kind: 'import' };
  return { exported: false, kind: 'other', name: null };
}

/** `export { a, b as c }` → [{ local: 'a', exported: 'a' }, { local: 'b', exported: 'c' }]. */
function exportSpecifiers(statement) {
  const t = statement.tokens;
  const open = t.findIndex((x) => x.value === '{');
  const close = t.findIndex((x) => x.value === '}');
  if (t[close + 1] && t[close + 1].value === 'from') {
    throw toolError('the glue re-exports from another module (`export … from`), which a mini-program cannot load');
  }
  const specifiers = [];
  let current = [];
  for (const token of t.slice(open + 1, close).concat([{ value: ',' }])) {
    if (token.value === ',') {
      if (current.length === 1) specifiers.push({ local: current[0], exported: current[0] });
      else if (current.length === 3 && current[1] === 'as') specifiers.push({ local: current[0], exported: current[2] });
      else if (current.length > 0) throw toolError('cannot read export specifier `' + current.join(' ') + '`');
      current = [];
    } else {
      current.push(token.value);
    }
  }
  return specifiers;
}

/** The parameter names of a `function NAME(…)` statement. */
function functionParams(statement) {
  const t = statement.tokens;
  const open = t.findIndex((x) => x.value === '(');
  const params = [];
  for (let i = open + 1; i < t.length && !(t[i].value === ')' && t[i].depth === t[open].depth); i++) {
    if (t[i].type === 'ident' && t[i].depth === t[open].depth + 1) params.push(t[i].value);
  }
  return params;
}

/**
 * Every reference in `code` to something the mini-program runtime lacks:
 * [{ line, column, what, why, text }]. Comments and string contents are not references.
 */
function findForbidden(code) {
  const found = [];
  const tokens = significant(tokenize(code));
  const lines = code.split('\n');
  function report(token, what, why) {
    const line = lineOf(code, token.start);
    const column = token.start - code.lastIndexOf('\n', token.start - 1);
    found.push({ line, column, what, why, text: lines[line - 1].trim() });
  }
  tokens.forEach((token, i) => {
    const prev = tokens[i - 1];
    const prev2 = tokens[i - 2];
    const next = tokens[i + 1];
    const afterDot = prev && (prev.value === '.' || prev.value === '?.');
    if (token.type !== 'ident') return;
    const name = token.value;
    if ((name === 'import' || name === 'export') && !afterDot) {
      const what = name === 'import' && next && next.value === '.' ? 'import.meta' : name === 'import' && next && next.value === '(' ? 'import()' : name + ' statement';
      report(token, what, 'files are CommonJS; no ES module syntax');
    } else if (Object.prototype.hasOwnProperty.call(FORBIDDEN_ANYWHERE, name)) {
      report(token, name, FORBIDDEN_ANYWHERE[name]);
    } else if (Object.prototype.hasOwnProperty.call(FORBIDDEN_GLOBALS, name)) {
      const viaGlobal = afterDot && prev2 && GLOBAL_OBJECTS.has(prev2.value);
      if (!afterDot || viaGlobal) report(token, name, FORBIDDEN_GLOBALS[name]);
    } else if (name === 'Function' && prev && prev.value === 'new') {
      report(token, 'new Function', 'no code generation from strings');
    }
  });
  return found;
}

/**
 * `code` without comments and trailing spaces. Every shipped byte counts against the 40 KB budget
 * (comments are ~20% of the glue after brotli); the commented sources are tools/ and pkg/.
 * A comment that spans lines becomes a newline, so automatic semicolon insertion is unchanged.
 */
function stripComments(code) {
  let out = '';
  for (const token of tokenize(code)) {
    if (token.type === 'comment') out += token.value.includes('\n') ? '\n' : ' ';
    else out += token.value;
  }
  return out.replace(/[ \t]+$/gm, '').replace(/\n{2,}/g, '\n');
}

/**
 * Transforms the glue's source. Returns { code, exports, removed }.
 * options.requireExports: names that must be among the glue's exports (e.g. ['Session']).
 */
function transform(source, options = {}) {
  const requireExports = options.requireExports || [];
  const sourceName = options.sourceName || 'the glue';
  let parsed;
  try {
    parsed = topLevelStatements(source);
  } catch (error) {
    throw toolError('cannot tokenize ' + sourceName + ': ' + error.message);
  }
  const { statements, tokens } = parsed;

  const usedIdents = new Set(tokens.filter((t) => t.type === 'ident').map((t) => t.value));
  const clashes = OWN_NAMES.filter((n) => usedIdents.has(n));
  if (clashes.length > 0) throw toolError(sourceName + ' already uses ' + clashes.join(', ') + '; rename them in tools/mp-glue.js');

  const exportsMap = new Map(); // exported name -> local name
  const removed = [];
  const edits = []; // { start, end, text } on `source`, applied back to front
  let getImports = null;
  let finalize = null;

  for (const statement of statements) {
    const info = describeStatement(statement);
    if (info.kind === 'import') {
      const text = source.slice(statement.start, statement.end);
      throw toolError(
        sourceName + ' imports another module (line ' + lineOf(source, statement.start) + ': `' + text.split('\n')[0] + '`).\n' +
          '  This comes from #[wasm_bindgen(module = …)] or inline_js, which a mini-program cannot load; ' +
          'bind to globals (js_namespace) instead.'
      );
    }
    if (info.kind === 'export-list') {
      for (const spec of exportSpecifiers(statement)) {
        if (LOADER_NAMES.includes(spec.local)) continue; // `initSync`, `__wbg_init as default`
        if (spec.exported === 'default') throw toolError(sourceName + ' has a default export of `' + spec.local + '`, which this tool does not understand');
        exportsMap.set(spec.exported, spec.local);
      }
      edits.push({ start: statement.leadStart, end: statement.end, text: '' });
      removed.push('export {…}');
      continue;
    }
    if (info.kind === 'export-default') {
      const target = statement.tokens[2] ? statement.tokens[2].value : '';
      if (!LOADER_NAMES.includes(target)) throw toolError(sourceName + ' has `export default ' + target + '`, which this tool does not understand');
      edits.push({ start: statement.leadStart, end: statement.end, text: '' });
      removed.push('export default');
      continue;
    }
    if (info.name && LOADER_NAMES.includes(info.name)) {
      edits.push({ start: statement.leadStart, end: statement.end, text: '' });
      removed.push(info.name);
      continue;
    }
    if (info.exported) {
      if (!info.name) throw toolError('cannot tell what line ' + lineOf(source, statement.start) + ' of ' + sourceName + ' exports');
      const exportToken = statement.tokens[0];
      const nextToken = statement.tokens[1];
      edits.push({ start: exportToken.start, end: nextToken.start, text: '' });
      exportsMap.set(info.name, info.name);
    }
    if (info.kind === 'function' && info.name === '__wbg_get_imports') getImports = statement;
    if (info.kind === 'function' && info.name === '__wbg_finalize_init') finalize = statement;
  }

  // Anchors: without them the loader below would be wrong, so stop here and say what changed.
  if (!getImports) {
    throw toolError(sourceName + ' has no top-level `function __wbg_get_imports()`: wasm-bindgen\'s glue changed shape; update tools/mp-glue.js');
  }
  if (functionParams(getImports).length !== 0) {
    throw toolError('`__wbg_get_imports` now takes parameters (' + functionParams(getImports).join(', ') + '); update tools/mp-glue.js');
  }
  if (!finalize) {
    throw toolError(sourceName + ' has no top-level `function __wbg_finalize_init(instance, module)`: wasm-bindgen\'s glue changed shape; update tools/mp-glue.js');
  }
  const finalizeParams = functionParams(finalize);
  if (finalizeParams.length < 1 || finalizeParams.length > 2) {
    throw toolError('`__wbg_finalize_init` now takes (' + finalizeParams.join(', ') + ') instead of (instance, module); update tools/mp-glue.js');
  }
  const missing = requireExports.filter((name) => !exportsMap.has(name));
  if (missing.length > 0) {
    throw toolError(
      sourceName + ' does not export ' + missing.join(', ') + ' (it exports: ' + ([...exportsMap.keys()].join(', ') || 'nothing') + ').\n' +
        '  miniprogram/session/index.js needs them: is src/lib.rs still a placeholder?'
    );
  }

  // TextDecoder/TextEncoder → the local codec; `@ts-self-types` points at a .d.ts we do not ship.
  let prev = null; // the previous significant token
  for (const token of tokens) {
    const before = prev;
    if (token.type !== 'space' && token.type !== 'comment') prev = token;
    if (token.type === 'ident' && (token.value === 'TextDecoder' || token.value === 'TextEncoder')) {
      if (before && (before.value === '.' || before.value === '?.')) continue; // a property; findForbidden reports it
      edits.push({ start: token.start, end: token.end, text: token.value === 'TextDecoder' ? 'MpUtf8Decoder' : 'MpUtf8Encoder' });
    } else if (token.type === 'comment' && token.value.includes('@ts-self-types')) {
      edits.push({ start: token.start, end: token.end, text: '' });
    }
  }

  // Apply edits back to front; removals swallow the comments before them, which never overlap
  // with a later edit because they end where the removed statement ends.
  edits.sort((a, b) => b.start - a.start);
  let body = source;
  let limit = Infinity;
  for (const edit of edits) {
    if (edit.end > limit) continue; // inside a statement already removed
    body = body.slice(0, edit.start) + edit.text + body.slice(edit.end);
    limit = edit.start;
  }
  body = body.replace(/\n{3,}/g, '\n\n').trim();

  // Nothing may still name a removed loader (a dead reference would throw at run time).
  const leftovers = significant(tokenize(body)).filter((t, i, all) => t.type === 'ident' && LOADER_NAMES.includes(t.value) && !(all[i - 1] && all[i - 1].value === '.'));
  if (leftovers.length > 0) {
    throw toolError('after removing the loaders, ' + sourceName + ' still refers to ' + [...new Set(leftovers.map((t) => t.value))].join(', ') + '; update tools/mp-glue.js');
  }

  const exportEntries = [...exportsMap].map(([exported, local]) => '  ' + JSON.stringify(exported) + ': ' + local + ',').join('\n');
  const code = [
    "'use strict';",
    utf8Source(), // the runtime has no TextEncoder/TextDecoder
    body,
    // Everything the glue exports, handed out once the module is instantiated.
    'const mpExports = Object.freeze({',
    exportEntries,
    '});',
    'let mpLoading = null;',
    // Instantiates the wasm file at `path` (inside the code package, e.g. "/session/session_bg.wasm.br")
    // through WXWebAssembly and resolves with the exports above. Later calls share the first call's
    // promise, so objects already created keep their instance; after a failure the next call retries.
    'function mpInstantiate(path) {',
    '  if (mpLoading) return mpLoading;',
    '  const loading = new Promise(function (resolve) {',
    "    if (typeof path !== 'string' || path === '') {",
    "      throw new TypeError('instantiate(path): path must name the .wasm.br file inside the code package');",
    '    }',
    // Looked up at call time, so a test can install its own WXWebAssembly first.
    "    const engine = typeof WXWebAssembly === 'undefined' ? undefined : WXWebAssembly;",
    "    if (!engine || typeof engine.instantiate !== 'function') {",
    "      throw new Error('WXWebAssembly is not available: needs WeChat base library 2.14.0 or later');",
    '    }',
    '    resolve(engine.instantiate(path, __wbg_get_imports()));',
    '  }).then(function (result) {',
    // Accept both { instance, module } (like WebAssembly.instantiate of bytes) and a bare instance.
    '    const instance = result && result.instance ? result.instance : result;',
    '    if (!instance || !instance.exports) {',
    "      throw new Error('WXWebAssembly.instantiate(\"' + path + '\") gave no instance');",
    '    }',
    '    __wbg_finalize_init(instance, result && result.module);',
    '    return mpExports;',
    '  });',
    '  mpLoading = loading;',
    '  loading.catch(function () {',
    '    if (mpLoading === loading) mpLoading = null;',
    '  });',
    '  return loading;',
    '}',
    '',
    'module.exports = { instantiate: mpInstantiate };',
    '',
  ].join('\n');
  const header = [
    '// GENERATED by tools/mp-glue.js from wasm-bindgen\'s `--target web` glue; do not edit, run scripts/build.sh.',
    '// CommonJS for the WeChat mini-program: module.exports = { instantiate(path) }, loading through',
    '// WXWebAssembly, with a local UTF-8 codec (tools/mp-utf8.js). Comments are stripped to save bytes.',
  ].join('\n');
  return { code: header + '\n' + stripComments(code), exports: [...exportsMap.keys()], removed };
}


/** Transforms `input` into `output`, then checks it; throws a tool error listing every problem. */
function build(input, output, options = {}) {
  if (!fs.existsSync(input)) throw toolError(input + ' does not exist: run wasm-pack first (scripts/build.sh does)');
  const source = fs.readFileSync(input, 'utf8');
  const result = transform(source, { ...options, sourceName: input });
  const forbidden = findForbidden(result.code);
  if (forbidden.length > 0) {
    const list = forbidden.map((f) => '  line ' + f.line + ':' + f.column + '  ' + f.what + ' — ' + f.why + '\n      ' + f.text).join('\n');
    throw toolError(
      'the transformed glue still references ' + forbidden.length + ' thing(s) the mini-program runtime lacks:\n' + list +
        '\n  Nothing was written. The glue changed, or src/ binds to a web API; fix tools/mp-glue.js or the Rust binding.'
    );
  }
  // Write beside the target, check the syntax, then move into place: never leave a broken file.
  const temp = output + '.check.cjs'; // .cjs: checked as CommonJS whatever package.json says
  fs.mkdirSync(path.dirname(output), { recursive: true });
  fs.writeFileSync(temp, result.code);
  const checked = spawnSync(process.execPath, ['--check', temp], { encoding: 'utf8' });
  if (checked.status !== 0) {
    fs.unlinkSync(temp);
    throw toolError('node --check rejects the transformed glue:\n' + checked.stderr);
  }
  fs.renameSync(temp, output);
  return result;
}

/**
 * Checks a finished glue file (after any later minifying step): no forbidden references, valid
 * CommonJS syntax, and the `module.exports = { instantiate }` contract still visible.
 */
function checkFile(file) {
  const code = fs.readFileSync(file, 'utf8');
  const forbidden = findForbidden(code);
  if (forbidden.length > 0) {
    const list = forbidden.map((f) => '  line ' + f.line + ':' + f.column + '  ' + f.what + ' — ' + f.why).join('\n');
    throw toolError(file + ' references ' + forbidden.length + ' thing(s) the mini-program runtime lacks:\n' + list);
  }
  const checked = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
  if (checked.status !== 0) throw toolError('node --check rejects ' + file + ':\n' + checked.stderr);
  if (!/module\.exports\s*=\s*\{\s*instantiate\s*:/.test(code)) {
    throw toolError(file + ' no longer ends in `module.exports = { instantiate: … }`');
  }
}

function main(argv) {
  if (argv[0] === '--check') {
    if (argv.length !== 2) throw toolError('usage: node tools/mp-glue.js --check GLUE.js');
    checkFile(argv[1]);
    console.log('glue: ' + argv[1] + ': no forbidden references, node --check ok');
    return;
  }
  const positional = [];
  const requireExports = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--require-export') requireExports.push(argv[++i]);
    else positional.push(argv[i]);
  }
  if (positional.length !== 2) {
    throw toolError('usage: node tools/mp-glue.js GLUE.js OUT.js [--require-export NAME]...\n       node tools/mp-glue.js --check GLUE.js');
  }
  const [input, output] = positional;
  const result = build(input, output, { requireExports });
  console.log('glue: ' + input + ' -> ' + output + ' (CommonJS, node --check ok, no forbidden references)');
  console.log('glue exports: ' + result.exports.join(', '));
  console.log('glue loaders removed: ' + result.removed.join(', '));
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error('mp-glue: ' + (error.isToolError ? error.message : error.stack));
    process.exit(1);
  }
}

module.exports = { transform, build, checkFile, findForbidden, LOADER_NAMES };

#!/usr/bin/env node
// Checks that a JavaScript file can run in the WeChat mini-program runtime, on acorn's syntax tree.
//
//   node tools/mp-check.js FILE.js      exit 1 listing every problem (line:column, what, why)
//
// The runtime has no ES modules, no `fetch`/`URL`/`WebAssembly` (only `WXWebAssembly`), no
// TextEncoder/TextDecoder, no `crypto`, no eval or `new Function` (shared/notes/wechat-runtime.md).
// DevTools has most of them, so a file that needs one works there and fails on a phone; this check
// runs in scripts/build.sh on the finished glue, and in the `tools` tests.
//
// What counts is a reference, not a mention: comments, strings and property names of other objects
// (`task.abort`, `res.URL`) are fine; `fetch(…)`, `typeof TextDecoder`, `globalThis.fetch` and any
// `x.WebAssembly` are not. The file must parse as a classic script (CommonJS), or the ES module
// syntax that stops it is reported.
'use strict';

const fs = require('node:fs');
const acorn = require('acorn');
const walk = require('acorn-walk');

/** Names that may not appear as a reference nor as any property (`globalThis.WebAssembly`, `x.WebAssembly`). */
const FORBIDDEN_ANYWHERE = {
  WebAssembly: 'no WebAssembly global on devices; only WXWebAssembly',
  instantiateStreaming: 'no streaming instantiation in WXWebAssembly',
  TextDecoder: 'no TextDecoder on devices',
  TextEncoder: 'no TextEncoder on devices',
  crypto: 'no crypto on devices',
};

/** Names that may not be referenced as globals (a property `x.fetch` of some other object is fine). */
const FORBIDDEN_GLOBALS = {
  fetch: 'no fetch; the module comes from the code package',
  URL: 'no URL global',
  Request: 'no Request global',
  Response: 'no Response global',
  eval: 'no eval',
  require: 'the glue must not require modules',
};

/** Objects through which a global is reached as a property. */
const GLOBAL_OBJECTS = new Set(['globalThis', 'self', 'window', 'global']);

const ES_MODULE = 'files are CommonJS; no ES module syntax';

const has = (table, name) => Object.prototype.hasOwnProperty.call(table, name);

/** The name of a member expression's property when it is static (`a.b`, `a['b']`), else null. */
function propertyName(node) {
  if (!node.computed && node.property.type === 'Identifier') return node.property.name;
  if (node.computed && node.property.type === 'Literal' && typeof node.property.value === 'string') return node.property.value;
  return null;
}

/**
 * Every reference in `code` to something the mini-program runtime lacks:
 * [{ line, column, what, why }] in source order (column counts from 1).
 */
function findForbidden(code, { allowRelativeRequire = false } = {}) {
  const options = { ecmaVersion: 'latest', locations: true, allowHashBang: true };
  let ast;
  let moduleSyntax = false;
  try {
    ast = acorn.parse(code, { ...options, sourceType: 'script' });
  } catch (scriptError) {
    // Not a script: report the ES module syntax if that is why, else the syntax error itself.
    try {
      ast = acorn.parse(code, { ...options, sourceType: 'module' });
      moduleSyntax = true;
    } catch (moduleError) {
      const loc = scriptError.loc || { line: 0, column: 0 };
      return [{ line: loc.line, column: loc.column + 1, what: 'syntax error', why: scriptError.message }];
    }
  }
  const found = [];
  const report = (node, what, why) => found.push({ line: node.loc.start.line, column: node.loc.start.column + 1, what, why });
  // The loader (index.js) may load its sibling glue: `require('./file.js')`, which the runtime's
  // CommonJS resolves inside the package. Any other require stays forbidden.
  const allowed = new Set();
  if (allowRelativeRequire) {
    walk.simple(ast, {
      CallExpression(node) {
        const [arg] = node.arguments;
        const relative = node.arguments.length === 1 && arg.type === 'Literal' && typeof arg.value === 'string' && arg.value.startsWith('./');
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && relative) allowed.add(node.callee);
      },
    });
  }

  walk.simple(ast, {
    // Identifiers in expression position only: acorn-walk skips property names and declarations.
    Identifier(node) {
      if (allowed.has(node)) return;
      if (has(FORBIDDEN_ANYWHERE, node.name)) report(node, node.name, FORBIDDEN_ANYWHERE[node.name]);
      else if (has(FORBIDDEN_GLOBALS, node.name)) report(node, node.name, FORBIDDEN_GLOBALS[node.name]);
    },
    MemberExpression(node) {
      const name = propertyName(node);
      if (name === null) return;
      if (has(FORBIDDEN_ANYWHERE, name)) report(node.property, name, FORBIDDEN_ANYWHERE[name]);
      else if (has(FORBIDDEN_GLOBALS, name) && node.object.type === 'Identifier' && GLOBAL_OBJECTS.has(node.object.name)) {
        report(node.property, name, FORBIDDEN_GLOBALS[name]);
      }
    },
    NewExpression(node) {
      if (node.callee.type === 'Identifier' && node.callee.name === 'Function') report(node, 'new Function', 'no code generation from strings');
    },
    CallExpression(node) {
      if (node.callee.type === 'Identifier' && node.callee.name === 'Function') report(node, 'Function()', 'no code generation from strings');
    },
    ImportExpression(node) {
      report(node, 'import()', ES_MODULE);
    },
    MetaProperty(node) {
      if (node.meta.name === 'import') report(node, 'import.meta', ES_MODULE);
    },
    ImportDeclaration(node) {
      if (moduleSyntax) report(node, 'import statement', ES_MODULE);
    },
    ExportNamedDeclaration(node) {
      report(node, 'export statement', ES_MODULE);
    },
    ExportDefaultDeclaration(node) {
      report(node, 'export statement', ES_MODULE);
    },
    ExportAllDeclaration(node) {
      report(node, 'export statement', ES_MODULE);
    },
  });
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Throws an error listing every problem in `file`; returns quietly when there is none. */
function checkFile(file, options) {
  const found = findForbidden(fs.readFileSync(file, 'utf8'), options);
  if (found.length > 0) {
    const list = found.map((f) => '  ' + file + ':' + f.line + ':' + f.column + '  ' + f.what + ' — ' + f.why).join('\n');
    const error = new Error(file + ' uses ' + found.length + ' thing(s) the mini-program runtime lacks:\n' + list);
    error.isToolError = true;
    throw error;
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const allowRelativeRequire = args.includes('--allow-relative-require');
  const files = args.filter((a) => a !== '--allow-relative-require');
  if (files.length === 0) {
    console.error('usage: node tools/mp-check.js [--allow-relative-require] FILE.js...');
    process.exit(2);
  }
  try {
    files.forEach((file) => checkFile(file, { allowRelativeRequire }));
    console.log('mp-check: ' + files.join(', ') + ': a CommonJS script with no reference to what the mini-program runtime lacks');
  } catch (error) {
    console.error('mp-check: ' + (error.isToolError ? error.message : error.stack));
    process.exit(1);
  }
}

module.exports = { findForbidden, checkFile };

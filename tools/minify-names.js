#!/usr/bin/env node
// Renames the glue's side of the wasm imports and exports after binaryen's
// --minify-imports-and-exports-and-modules pass shortened them in the module.
//
//   node tools/minify-names.js <before.wasm> <after.wasm> <glue.js>
//
// Why: wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` and closure exports with
// 150-character mangled paths; the hashes do not compress, and each name is shipped twice (in the
// module and in the glue). Shortening both saves about 1 KB of the 40 KB budget.
// The pass keeps the order of imports and exports, so the two modules are matched position by
// position; every old name must be found in the glue and none may be left, or this fails loudly.
'use strict';

const fs = require('fs');

function fail(message) {
  console.error('minify-names: ' + message);
  process.exit(1);
}

function escape(name) {
  return name.replace(/[$]/g, '\\$&');
}

function main([beforePath, afterPath, gluePath]) {
  if (!beforePath || !afterPath || !gluePath) fail('usage: minify-names.js <before.wasm> <after.wasm> <glue.js>');
  const before = new WebAssembly.Module(fs.readFileSync(beforePath));
  const after = new WebAssembly.Module(fs.readFileSync(afterPath));
  const [oldImports, newImports] = [before, after].map((m) => WebAssembly.Module.imports(m));
  const [oldExports, newExports] = [before, after].map((m) => WebAssembly.Module.exports(m));
  if (oldImports.length !== newImports.length || oldExports.length !== newExports.length) {
    fail('the minified module has a different number of imports or exports');
  }
  let glue = fs.readFileSync(gluePath, 'utf8');
  const replace = (pattern, replacement, what) => {
    const next = glue.replace(pattern, replacement);
    if (next === glue) fail(what + ' not found in the glue: has wasm-bindgen changed how it writes imports?');
    glue = next;
  };

  const modules = new Map();
  oldImports.forEach((imp, i) => {
    const renamed = newImports[i];
    if (imp.kind !== renamed.kind) fail('import ' + i + ' changed kind');
    modules.set(imp.module, renamed.module);
    // Import names are keys of the imports object: `name: function` / `name(`.
    replace(new RegExp('\\b' + escape(imp.name) + '\\b(?=\\s*[:(])', 'g'), renamed.name, 'import ' + imp.name);
  });
  for (const [oldModule, newModule] of modules) {
    replace(new RegExp('(["\'])' + escape(oldModule).replace(/\./g, '\\.') + '\\1', 'g'), JSON.stringify(newModule), 'module ' + oldModule);
  }
  oldExports.forEach((exp, i) => {
    replace(new RegExp('\\bwasm\\.' + escape(exp.name) + '\\b', 'g'), 'wasm.' + newExports[i].name, 'export ' + exp.name);
  });

  // Nothing may still use an old export name through `wasm.` or an old import key.
  for (const exp of oldExports) {
    if (new RegExp('\\bwasm\\.' + escape(exp.name) + '\\b').test(glue)) fail('export ' + exp.name + ' still used');
  }
  fs.writeFileSync(gluePath, glue);
  console.log('minify-names: ' + oldImports.length + ' imports, ' + oldExports.length + ' exports renamed in ' + gluePath);
}

main(process.argv.slice(2));

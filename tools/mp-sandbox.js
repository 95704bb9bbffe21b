#!/usr/bin/env node
// A stand-in for the mini-program JavaScript runtime, good enough to prove that the shipped files
// load there: a fresh V8 context with no WebAssembly, TextEncoder, TextDecoder, fetch, URL, Request,
// Response, crypto, queueMicrotask, window/document/self, and with code generation from strings
// (eval, new Function) switched off. Its `WXWebAssembly.instantiate(path, imports)` accepts only a
// string path inside the package root, reads the file (brotli-decompressing `.br`) and instantiates
// it with the host's WebAssembly, captured out here where the sandbox cannot reach it.
//
//   node tools/mp-sandbox.js GLUE.js WASM.br      smoke test: load the glue, instantiate, list exports
//
// Used by scripts/build.sh (the smoke test) and by tools/mp-build.test.js.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const zlib = require('node:zlib');

const HostWebAssembly = WebAssembly;

/** Globals a fresh V8 context has but the mini-program runtime on a phone does not. */
const REMOVED_GLOBALS = ['WebAssembly', 'SharedArrayBuffer', 'Atomics'];

/** Globals that must not exist in the sandbox; checked after it is built. */
const ABSENT = ['WebAssembly', 'TextEncoder', 'TextDecoder', 'fetch', 'URL', 'Request', 'Response', 'crypto', 'window', 'document', 'self', 'queueMicrotask', 'require', 'process', 'Buffer'];

/**
 * Builds the sandbox. `root` is the package root that WXWebAssembly paths are resolved against
 * ('/session/x.wasm.br' and 'session/x.wasm.br' both mean root/session/x.wasm.br).
 * Options: `globals` (extra globals such as a fake `wx`), `resultShape` ('pair' → resolve with
 * { instance, module } like WebAssembly.instantiate; 'instance' → the bare instance).
 * Returns { context, load(file), run(code), instantiateCalls }; run evaluates code inside.
 */
function createSandbox(root, options = {}) {
  const instantiateCalls = [];
  const resultShape = options.resultShape || 'pair';
  const packageRoot = path.resolve(root);

  const WXWebAssembly = {
    instantiate(wasmPath, imports) {
      instantiateCalls.push(wasmPath);
      if (typeof wasmPath !== 'string') {
        return Promise.reject(new TypeError('WXWebAssembly.instantiate: path must be a string inside the code package'));
      }
      const file = path.resolve(packageRoot, wasmPath.replace(/^\/+/, ''));
      if (!file.startsWith(packageRoot + path.sep)) {
        return Promise.reject(new Error('WXWebAssembly.instantiate: ' + wasmPath + ' is outside the package'));
      }
      let bytes;
      try {
        bytes = fs.readFileSync(file);
        if (file.endsWith('.br')) bytes = zlib.brotliDecompressSync(bytes);
      } catch (error) {
        return Promise.reject(new Error('WXWebAssembly.instantiate: cannot read ' + wasmPath + ': ' + error.message));
      }
      return HostWebAssembly.instantiate(bytes, imports).then((result) =>
        resultShape === 'instance' ? result.instance : { instance: result.instance, module: result.module }
      );
    },
  };

  const context = vm.createContext({}, { codeGeneration: { strings: false, wasm: false } });
  for (const name of REMOVED_GLOBALS) vm.runInContext('delete globalThis.' + name, context);
  Object.assign(context, {
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    WXWebAssembly,
    ...(options.globals || {}),
  });
  const present = ABSENT.filter((name) => vm.runInContext('typeof ' + name + " !== 'undefined'", context));
  if (present.length > 0) throw new Error('sandbox still has ' + present.join(', '));

  const cache = new Map();
  /** Loads a CommonJS file in the sandbox; its `require` resolves relative files the same way. */
  function load(file) {
    const absolute = path.resolve(file);
    if (cache.has(absolute)) return cache.get(absolute).exports;
    const module = { exports: {} };
    cache.set(absolute, module);
    const source = fs.readFileSync(absolute, 'utf8');
    // The mini-program wraps each file much like this, and hides window/document/self.
    const wrapped = '(function (require, module, exports) {' + source + '\n})';
    const fn = vm.runInContext(wrapped, context, { filename: absolute });
    const localRequire = (request) => {
      if (!request.startsWith('.') && !request.startsWith('/')) {
        throw new Error('require(' + JSON.stringify(request) + '): the mini-program has no node modules');
      }
      let target = path.resolve(path.dirname(absolute), request);
      if (!target.endsWith('.js')) target += '.js';
      return load(target);
    };
    fn.call(module.exports, localRequire, module, module.exports);
    return module.exports;
  }

  return { context, load, run: (code) => vm.runInContext(code, context), instantiateCalls };
}

async function smoke(glueFile, wasmFile) {
  const root = path.dirname(path.resolve(wasmFile));
  const sandbox = createSandbox(root);
  const glue = sandbox.load(glueFile);
  if (typeof glue.instantiate !== 'function') throw new Error(glueFile + ' does not export instantiate()');
  const exported = await glue.instantiate('/' + path.basename(wasmFile));
  const again = await glue.instantiate('/' + path.basename(wasmFile));
  if (again !== exported) throw new Error('a second instantiate() call instantiated the module again');
  return Object.keys(exported);
}

if (require.main === module) {
  const [glueFile, wasmFile] = process.argv.slice(2);
  if (!glueFile || !wasmFile) {
    console.error('usage: node tools/mp-sandbox.js GLUE.js WASM.br');
    process.exit(2);
  }
  smoke(glueFile, wasmFile).then(
    (names) => console.log('sandbox: loaded without WebAssembly/TextDecoder/fetch globals; exports: ' + names.join(', ')),
    (error) => {
      console.error('sandbox: the glue does not load like it would in the mini-program:\n' + (error && error.stack ? error.stack : error));
      process.exit(1);
    }
  );
}

module.exports = { createSandbox, HostWebAssembly };

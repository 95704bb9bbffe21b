/**
 * A stand-in for the mini-program's `WXWebAssembly`, backed by Node's WebAssembly.
 *
 *   const wxwasm = createWXWebAssembly({ root: MINIPROGRAM_DIR });
 *   globalThis.WXWebAssembly = wxwasm.api;          // or pass it into a vm context
 *   await wxwasm.api.instantiate('/session/session_bg.wasm.br', imports);   // → { instance, module }
 *   wxwasm.loads      // [{ path, file, bytes }] one entry per successful instantiate
 *   wxwasm.failures   // [{ path, message }] one entry per rejected instantiate
 *
 * It keeps the device's rules (see /work/shared/notes/wechat-runtime.md): the first argument is a
 * string path to a file inside the code package, written '/dir/x.wasm.br' or 'dir/x.wasm.br'
 * (both resolve from the package root); no bytes, no Response, no wxfile:/http: URL, no path
 * leaving the package. `.wasm.br` files are brotli-decompressed, `.wasm` files read as they are.
 * Only `instantiate`, `Memory`, `Table` and `Global` exist — no compile, Module, validate or
 * instantiateStreaming. The host's WebAssembly is captured here, outside any sandbox, so code
 * under test never sees a global `WebAssembly`.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { HOST_REALM } = require('./fake-wx');

/** Captured at load time: the sandbox deletes its own copy, this one stays reachable here only. */
const HOST_WEBASSEMBLY = WebAssembly;

/**
 * Resolves a package path the way this harness documents the device doing it: both leading-slash
 * and bare forms from the package root. Returns null when the path leaves the package.
 */
function resolvePackagePath(root, packagePath) {
  const parts = [];
  for (const part of packagePath.replace(/^\/+/, '').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) return null;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.length ? path.join(root, ...parts) : null;
}

function createWXWebAssembly(options) {
  const root = path.resolve(options.root);
  const realm = options.realm || HOST_REALM;
  const hostWasm = options.hostWebAssembly || HOST_WEBASSEMBLY;
  const handle = { api: null, loads: [], failures: [] };

  function reject(packagePath, error) {
    handle.failures.push({ path: packagePath, message: error.message });
    return realm.Promise.reject(error);
  }

  function instantiate(packagePath, imports) {
    if (typeof packagePath !== 'string') {
      // The device accepts nothing but a path: bytes and Modules are refused outright.
      return reject(packagePath, new realm.TypeError('WXWebAssembly.instantiate: the first argument must be a string path to a .wasm or .wasm.br file in the code package'));
    }
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(packagePath)) {
      return reject(packagePath, new realm.Error(`WebAssembly.instantiate: not support wxfile: or http: path (${packagePath})`));
    }
    if (packagePath.includes('\\')) {
      return reject(packagePath, new realm.Error(`WXWebAssembly.instantiate: invalid path ${packagePath}`));
    }
    const file = resolvePackagePath(root, packagePath);
    if (!file) {
      return reject(packagePath, new realm.Error(`WXWebAssembly.instantiate: path ${packagePath} is outside the code package`));
    }
    if (!/\.wasm(\.br)?$/.test(file)) {
      return reject(packagePath, new realm.Error(`WXWebAssembly.instantiate: ${packagePath} is not a .wasm or .wasm.br file`));
    }
    let bytes;
    try {
      const raw = fs.readFileSync(file);
      bytes = file.endsWith('.br') ? zlib.brotliDecompressSync(raw) : raw;
    } catch (err) {
      const why = err.code === 'ENOENT' ? 'no such file in the code package' : err.message;
      return reject(packagePath, new realm.Error(`load wasm failed: ${packagePath}: ${why}`));
    }
    return new realm.Promise((resolve, rejectPromise) => {
      hostWasm.instantiate(bytes, imports).then(
        (result) => {
          handle.loads.push({ path: packagePath, file, bytes: bytes.length });
          // The device resolves with { instance, module } (not the bare Instance its typings claim).
          const out = realm.JSON.parse('{}');
          out.instance = result.instance;
          out.module = result.module;
          resolve(out);
        },
        (err) => {
          handle.failures.push({ path: packagePath, message: err.message });
          const error = new realm.Error(err.message);
          error.name = err.name;
          rejectPromise(error);
        }
      );
    });
  }

  handle.api = Object.freeze({
    instantiate,
    Memory: hostWasm.Memory,
    Table: hostWasm.Table,
    Global: hostWasm.Global,
  });
  return handle;
}

module.exports = { createWXWebAssembly, resolvePackagePath, HOST_WEBASSEMBLY };

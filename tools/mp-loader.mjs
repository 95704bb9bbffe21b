// The WXWebAssembly loader bundled into miniprogram/session/session_wasm.js (see tools/mp-bundle.js).
//
// wasm-bindgen's `--target bundler` output leaves loading to the bundler: `<name>_bg.js` exports a
// function for every wasm import and `__wbg_set_wasm(exports)`, which hands it the instance's
// exports. This is the whole loader a mini-program needs on top of that public contract:
// `WXWebAssembly.instantiate(path, imports)` (the runtime's only way in: a path inside the code
// package, `.wasm.br` accepted from base library 2.14.0), then `ready(instance.exports)`.
//
// The caller may also run WXWebAssembly itself and hand the result to `connect` (the session's
// index.js does, to start the engine before this file is evaluated).

/**
 * `{ instantiate, connect }` for module.exports.
 *
 * `instantiate(path)`: resolves with `api` once the module at `path` is instantiated with
 * `imports` and `ready(exports)` has run. Later calls share the first call's promise, so objects
 * already created keep their instance; after a failure the next call retries.
 *
 * `connect(result)`: the same for an instantiation the caller ran itself — the session's index.js
 * starts `WXWebAssembly.instantiate(path, obj)` before evaluating this file (the engine compiles
 * on its own thread meanwhile) and fills `obj` with `imports` right after; engines read the
 * imports only once compilation has finished (WebAssembly JS API, "read the imports").
 * Synchronous: returns `api` (later `instantiate` calls resolve with it too) or throws if `result`
 * holds no instance. The first instance connected is the one used.
 */
export function loader(imports, ready, api) {
  let loading = null;
  let loaded = false;
  function connect(result) {
    // Devices resolve with { instance, module }; accept a bare instance too.
    const instance = result && result.instance ? result.instance : result;
    if (!instance || !instance.exports) throw new Error('WXWebAssembly.instantiate gave no instance');
    // The glue serves one instance for its whole life (its memory views and object table belong
    // to it): once one is connected, a later one is left unused.
    if (!loaded) {
      ready(instance.exports);
      loaded = true;
      loading = Promise.resolve(api);
    }
    return api;
  }
  function instantiate(path) {
    if (loading) return loading;
    // One reaction for both outcomes (every promise hop is interpreted code on an iPhone's
    // launch); a failed load is forgotten so the next call retries.
    const forget = function (error) {
      if (loading === attempt) loading = null;
      throw error;
    };
    const attempt = begin(path, imports).then(function (result) {
      try {
        return connect(result);
      } catch (error) {
        return forget(error);
      }
    }, forget);
    loading = attempt;
    return attempt;
  }
  return { instantiate: instantiate, connect: connect };
}

/** `WXWebAssembly.instantiate(path, imports)` as a promise; the runtime's own when there is one. */
function begin(path, imports) {
  try {
    if (typeof path !== 'string' || path === '') {
      throw new TypeError('instantiate(path): path must name the .wasm.br file inside the code package');
    }
    // Looked up at call time, so a test can install its own WXWebAssembly first.
    const engine = typeof WXWebAssembly === 'undefined' ? undefined : WXWebAssembly;
    if (!engine || typeof engine.instantiate !== 'function') {
      throw new Error('WXWebAssembly is not available: needs WeChat base library 2.14.0 or later');
    }
    return Promise.resolve(engine.instantiate(path, imports));
  } catch (error) {
    return Promise.reject(error);
  }
}

// The WXWebAssembly loader bundled into miniprogram/session/session_wasm.js (see tools/mp-bundle.js).
//
// wasm-bindgen's `--target bundler` output leaves loading to the bundler: `<name>_bg.js` exports a
// function for every wasm import and `__wbg_set_wasm(exports)`, which hands it the instance's
// exports. This is the whole loader a mini-program needs on top of that public contract:
// `WXWebAssembly.instantiate(path, imports)` (the runtime's only way in: a path inside the code
// package, `.wasm.br` accepted from base library 2.14.0), then `ready(instance.exports)`.
//
// The caller may have started WXWebAssembly itself before evaluating this file (the session's
// index.js does: the engine compiles the module on another thread meanwhile) and hand over that
// promise; see `instantiate` below.

/**
 * `instantiate(path, started?)` for module.exports: resolves with `api` once the module at `path`
 * is instantiated with `imports` and `ready(exports)` has run. Later calls share the first call's
 * promise, so objects already created keep their instance; after a failure the next call retries.
 *
 * `started`: the promise of a `WXWebAssembly.instantiate(path, obj)` the caller began before this
 * file was evaluated, `obj` being filled with `imports` right after. Engines read the imports only
 * once compilation has finished (WebAssembly JS API, "read the imports"), so that promise is used
 * as it is; should a runtime read them earlier and fail on the empty object, the module is
 * instantiated once more, now that they are all there.
 */
export function loader(imports, ready, api) {
  let loading = null;
  return function instantiate(path, started) {
    if (loading) return loading;
    // One reaction for both outcomes (every promise hop is interpreted code on an iPhone's launch);
    // a failed load is forgotten so the next call retries.
    const forget = function (error) {
      if (loading === attempt) loading = null;
      throw error;
    };
    const connect = function (result) {
      try {
        // Devices resolve with { instance, module }; accept a bare instance too.
        const instance = result && result.instance ? result.instance : result;
        if (!instance || !instance.exports) {
          throw new Error('WXWebAssembly.instantiate("' + path + '") gave no instance');
        }
        ready(instance.exports);
        return api;
      } catch (error) {
        return forget(error);
      }
    };
    const attempt =
      started === undefined
        ? begin(path, imports).then(connect, forget)
        : Promise.resolve(started).then(connect, function (error) {
          if (!readImportsEarly(error)) return forget(error);
          return begin(path, imports).then(connect, forget);
        });
    loading = attempt;
    return attempt;
  };
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

/** Whether a failed instantiation complained about its imports (a LinkError, or a TypeError naming them). */
function readImportsEarly(error) {
  return Boolean(error) && (error.name === 'LinkError' || /import/i.test(String(error.message)));
}

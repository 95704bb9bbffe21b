// The WXWebAssembly loader bundled into miniprogram/session/session_wasm.js (see tools/mp-bundle.js).
//
// wasm-bindgen's `--target bundler` output leaves loading to the bundler: `<name>_bg.js` exports a
// function for every wasm import and `__wbg_set_wasm(exports)`, which hands it the instance's
// exports. This is the whole loader a mini-program needs on top of that public contract:
// `WXWebAssembly.instantiate(path, imports)` (the runtime's only way in: a path inside the code
// package, `.wasm.br` accepted from base library 2.14.0), then `ready(instance.exports)`.

/**
 * `instantiate(path)` for module.exports: resolves with `api` once the module at `path` is
 * instantiated with `imports` and `ready(exports)` has run. Later calls share the first call's
 * promise, so objects already created keep their instance; after a failure the next call retries.
 */
export function loader(imports, ready, api) {
  let loading = null;
  return function instantiate(path) {
    if (loading) return loading;
    const attempt = new Promise(function (resolve) {
      if (typeof path !== 'string' || path === '') {
        throw new TypeError('instantiate(path): path must name the .wasm.br file inside the code package');
      }
      // Looked up at call time, so a test can install its own WXWebAssembly first.
      const engine = typeof WXWebAssembly === 'undefined' ? undefined : WXWebAssembly;
      if (!engine || typeof engine.instantiate !== 'function') {
        throw new Error('WXWebAssembly is not available: needs WeChat base library 2.14.0 or later');
      }
      resolve(engine.instantiate(path, imports));
    }).then(function (result) {
      // Devices resolve with { instance, module }; accept a bare instance too.
      const instance = result && result.instance ? result.instance : result;
      if (!instance || !instance.exports) {
        throw new Error('WXWebAssembly.instantiate("' + path + '") gave no instance');
      }
      ready(instance.exports);
      return api;
    });
    loading = attempt;
    attempt.catch(function () {
      if (loading === attempt) loading = null;
    });
    return attempt;
  };
}

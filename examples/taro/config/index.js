// Taro (React, webpack5) build config for the wx-session recipe: `taro build --type weapp`.
const { defineConfig } = require('@tarojs/cli');

module.exports = defineConfig({
  projectName: 'wx-session-taro-example',
  designWidth: 750,
  deviceRatio: { 640: 2.34 / 2, 750: 1, 375: 2, 828: 1.81 / 2 },
  sourceRoot: 'src',
  outputRoot: 'dist',
  plugins: [],
  framework: 'react',
  compiler: 'webpack5',
  cache: { enable: false },
  // What WeChat's 构建 npm would do: the package's miniprogram_dist/ as it is (the .wasm.br
  // included) in dist/miniprogram_npm/wx-session/. The default wasm path then holds, so
  // init({ baseUrl }) needs no wasmPath.
  copy: {
    patterns: [{ from: 'node_modules/wx-session/miniprogram_dist/', to: 'dist/miniprogram_npm/wx-session/' }],
    options: {},
  },
  mini: {
    // Kept out of the webpack bundle: the emitted require('wx-session') is resolved by the
    // mini-program itself through miniprogram_npm/ (from any page's folder). Bundled, the module
    // would also get Taro's `window` shim (webpack's ProvidePlugin) as its global object, where
    // the session cannot find `wx`.
    webpackChain(chain) {
      chain.merge({ externals: { 'wx-session': 'commonjs wx-session' } });
    },
    postcss: { pxtransform: { enable: true, config: {} }, cssModules: { enable: false } },
  },
});

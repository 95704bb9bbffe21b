// wx-session in a Taro app: imported like any npm package, initialised once at launch.
// config/index.js keeps it out of the webpack bundle and copies the package's miniprogram_dist/
// to dist/miniprogram_npm/wx-session/, exactly where WeChat's 构建 npm would put it, so the
// default wasm path works and no wasmPath is needed.
import { Component } from 'react';
import session from 'wx-session';

session.init({ baseUrl: 'http://127.0.0.1:8787' });

class App extends Component {
  render() {
    return this.props.children;
  }
}

export default App;

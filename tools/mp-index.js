#!/usr/bin/env node
/**
 * Makes the shipped miniprogram/session/index.js from its readable source (src/js/index.js):
 * terser-minified — every byte ships inside the 2 MB package, and the readable loader is 1.6 KB
 * brotli against 0.9 KB minified — except for the one line other tools rely on:
 *
 *   const DEFAULT_WASM_PATH = '/session/session_bg.wasm.br';
 *
 * which stays exactly as written (second line, after 'use strict'), so the npm packer can point the
 * package's copy at miniprogram_npm/ (tools/npm-pack.js) and a developer can spot the path.
 *
 *   node tools/mp-index.js SRC OUT
 */
'use strict';

const fs = require('fs');
const { minify } = require('terser');

const LINE = /^const DEFAULT_WASM_PATH = '[^']*';$/m;

async function build(source) {
  const lines = source.match(new RegExp(LINE.source, 'gm')) || [];
  if (lines.length !== 1) throw new Error(`expected exactly one DEFAULT_WASM_PATH line, found ${lines.length}`);
  const rest = source.replace(LINE, '');
  // Top-level names are kept (terser's default), so the minified code still reads the constant
  // declared on the kept line.
  const out = await minify(rest, { compress: { passes: 2 }, mangle: true, format: { comments: false } });
  const body = out.code.replace(/^['"]use strict['"];/, '');
  const banner = '// wx-session: built from src/js/index.js by scripts/build.sh; API and types in index.d.ts.';
  return `${banner}\n'use strict';\n${lines[0]}\n${body}\n`;
}

if (require.main === module) {
  const [src, dest] = process.argv.slice(2);
  if (!src || !dest) {
    console.error('usage: node tools/mp-index.js SRC OUT');
    process.exit(2);
  }
  build(fs.readFileSync(src, 'utf8')).then(
    (code) => fs.writeFileSync(dest, code),
    (err) => {
      console.error(`mp-index: ${err.message}`);
      process.exit(1);
    }
  );
}

module.exports = { build };

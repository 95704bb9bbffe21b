/**
 * How the mini-program runtime resolves a bare `require('name')`: through the miniprogram_npm/
 * folders that 工具 → 构建 npm fills, searched like node_modules from the requiring file's folder
 * up to the package root.
 *
 *   npmCandidates('pages/index/index.js', 'wx-session')
 *   → ['pages/index/miniprogram_npm/wx-session.js', 'pages/index/miniprogram_npm/wx-session/index.js',
 *      'pages/miniprogram_npm/…', 'miniprogram_npm/wx-session.js', 'miniprogram_npm/wx-session/index.js']
 *
 * Package-relative paths with '/', no leading '/'. 构建 npm copies no package.json, so a package's
 * entry is its index.js; 'name/sub' means miniprogram_npm/name/sub(.js).
 */
'use strict';

/** Whether `request` is a bare module name (not './x', '../x' or '/x'). */
function isBare(request) {
  return typeof request === 'string' && request !== '' && !/^\.{0,2}\//.test(request) && request !== '.' && request !== '..';
}

/**
 * The files a bare `request` made from `fromFile` (package-relative, '' or null for the root) may
 * mean, nearest first. [] when the request is not a bare name or tries to climb out.
 */
function npmCandidates(fromFile, request) {
  if (!isBare(request) || request.split('/').some((part) => part === '..' || part === '.')) return [];
  const dirs = [];
  const parts = fromFile ? fromFile.split('/').slice(0, -1) : [];
  for (let n = parts.length; n >= 0; n -= 1) dirs.push(parts.slice(0, n).join('/'));
  const out = [];
  for (const dir of dirs) {
    const base = `${dir ? `${dir}/` : ''}miniprogram_npm/${request}`;
    if (base.endsWith('.js')) out.push(base);
    else out.push(`${base}.js`, `${base}/index.js`);
  }
  return out;
}

module.exports = { isBare, npmCandidates };

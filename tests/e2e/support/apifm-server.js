#!/usr/bin/env node
/**
 * A stand-in for API工厂 (apifm) for the end-to-end tests: two real HTTP listeners on loopback,
 * as the official client apifm-wxapi sees the service — the "API host" (api.it120.cc: login,
 * check-token, ordinary calls) and the "common host" (common.apifm.com: user/loginout) — sharing
 * one token table, so a token issued on the API host lives until the common host's loginout
 * revokes it. Every request either listener receives is recorded (host, method, path, query,
 * headers, raw body, parsed form) for the test's assertions. Wire format as in
 * tests/fixtures/protocols/apifm.json (which cites the sources):
 *
 *   API host     POST /<sub>/user/wxapp/login    form code=…&type=2 → {code: 0, data: {token, uid}}
 *                GET  /<sub>/user/check-token?token=   {code: 0} live, {code: 2000} not
 *                GET|POST /<sub>/user/amount     token in the query (GET) or the form (POST);
 *                                                {code: 0, data: {…}} or {code: 2000}
 *                POST /dev/code                  {code}: the preview's wx.login asks its API
 *                                                origin for a code (WeChat's part, not apifm's)
 *   common host  GET  /<sub>/user/loginout?token=      {code: 0}, and the token is dead
 *
 * Anything else answers 404. Every answer allows any origin (CORS), as the browser preview runs
 * the mini-program on another port. Messages (msg) are placeholders: no source shows apifm's texts.
 *
 *   const apifm = await startApifm({ subDomain: 'demo' });
 *   apifm.apiUrl, apifm.commonUrl   // http://127.0.0.1:<port>, one per listener
 *   apifm.requests                  // [{ host: 'api'|'common', method, path, query, headers, body, form }]
 *   apifm.live(token)               // whether the token table still holds it
 *   await apifm.stopCommon(); await apifm.startCommon();   // the common host down, then back (same port)
 *   await apifm.close();
 *
 * Run by hand (for scripts/dev.sh --base-url): `node tests/e2e/support/apifm-server.js [--sub demo]`
 * prints both URLs and the dev.sh command line, and logs each request (codes and tokens masked).
 */
'use strict';

const http = require('http');
const crypto = require('crypto');

const FORM = 'application/x-www-form-urlencoded';
/** apifm's "not logged in" code on ordinary calls and check-token (see the fixture's citations). */
const NOT_LOGGED_IN = 2000;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function cors(req) {
  return {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] || 'content-type',
    'Access-Control-Max-Age': '600',
  };
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

/**
 * Starts both listeners on free loopback ports (or the given ones). `onRequest(record)` is called
 * after each request is recorded (the CLI logs with it).
 */
async function startApifm({ subDomain = 'demo', apiPort = 0, commonPort = 0, onRequest = () => {} } = {}) {
  const prefix = `/${subDomain}`;
  /** token → uid: what login issued and loginout has not revoked. */
  const tokens = new Map();
  const requests = [];
  let nextUid = 1001;
  let codes = 0;

  function json(res, req, body, status = 200) {
    res.writeHead(status, Object.assign({ 'Content-Type': 'application/json; charset=utf-8' }, cors(req)));
    res.end(JSON.stringify(body));
  }

  /** The token of an apifm call: a form field, which wx.request puts in the query on GET. */
  function tokenOf(record) {
    return record.method === 'GET' ? record.query.token : record.form.token;
  }

  function apiRoute(record, req, res) {
    const { method, path } = record;
    if (method === 'POST' && path === '/dev/code') {
      codes += 1;
      return json(res, req, { code: `apifm-dev-code-${codes}-${crypto.randomBytes(4).toString('hex')}` });
    }
    if (method === 'POST' && path === `${prefix}/user/wxapp/login`) {
      // The official client form-encodes {code, type: 2}; anything else is a client bug here.
      if (!record.form.code || record.form.type !== '2' || !String(record.headers['content-type'] || '').startsWith(FORM)) {
        return json(res, req, { code: 99999, msg: 'MSG-BAD-LOGIN' });
      }
      const token = crypto.randomBytes(16).toString('hex');
      const uid = nextUid;
      nextUid += 1;
      tokens.set(token, uid);
      return json(res, req, { code: 0, data: { token, uid } });
    }
    if (method === 'GET' && path === `${prefix}/user/check-token`) {
      return json(res, req, tokens.has(record.query.token) ? { code: 0 } : { code: NOT_LOGGED_IN, msg: 'MSG-2000' });
    }
    if ((method === 'GET' || method === 'POST') && path === `${prefix}/user/amount`) {
      const uid = tokens.get(tokenOf(record));
      if (uid === undefined) return json(res, req, { code: NOT_LOGGED_IN, msg: 'MSG-2000' });
      return json(res, req, { code: 0, data: { uid, balance: 0, freeze: 0, score: 0 } });
    }
    return json(res, req, { code: 404, msg: `no route ${method} ${path} on the API host` }, 404);
  }

  function commonRoute(record, req, res) {
    if (record.method === 'GET' && record.path === `${prefix}/user/loginout`) {
      // No source shows apifm's answer to a dead token here; 2000 (not logged in) is a placeholder.
      if (!tokens.delete(record.query.token)) return json(res, req, { code: NOT_LOGGED_IN, msg: 'MSG-2000' });
      return json(res, req, { code: 0 });
    }
    return json(res, req, { code: 404, msg: `no route ${record.method} ${record.path} on the common host` }, 404);
  }

  function handler(host, route) {
    return (req, res) => {
      readBody(req).then(
        (body) => {
          const url = new URL(req.url, 'http://apifm.invalid');
          const record = {
            host,
            method: req.method,
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            headers: req.headers,
            body,
            form: String(req.headers['content-type'] || '').startsWith(FORM) ? Object.fromEntries(new URLSearchParams(body)) : {},
          };
          requests.push(record);
          onRequest(record);
          if (req.method === 'OPTIONS') {
            res.writeHead(204, cors(req));
            return res.end();
          }
          return route(record, req, res);
        },
        () => res.destroy()
      );
    };
  }

  const api = http.createServer(handler('api', apiRoute));
  let common = http.createServer(handler('common', commonRoute));
  const ports = { api: await listen(api, apiPort), common: await listen(common, commonPort) };

  /** Closes a listener and every connection it holds (a keep-alive socket must not keep it "up"). */
  function shut(server) {
    return new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  return {
    subDomain,
    apiUrl: `http://127.0.0.1:${ports.api}`,
    commonUrl: `http://127.0.0.1:${ports.common}`,
    requests,
    /** Whether login issued `token` and no loginout has revoked it. */
    live: (token) => tokens.has(token),
    /** The common host goes down: its port refuses connections until startCommon(). */
    stopCommon: () => shut(common),
    /** The common host comes back on the same port, with the same token table. */
    async startCommon() {
      common = http.createServer(handler('common', commonRoute));
      await listen(common, ports.common);
    },
    close: () => Promise.all([shut(api), shut(common)]),
  };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const sub = args[0] === '--sub' && args[1] ? args[1] : 'demo';
  // Codes and tokens are secrets even here: the log shows that they came, not what they were.
  const mask = (value) => String(value).replace(/\b(token|code)=[^&\s]*/g, '$1=***');
  startApifm({
    subDomain: sub,
    onRequest: (r) => process.stdout.write(`[apifm ${r.host}] ${r.method} ${r.path} ${mask(new URLSearchParams(r.query))} ${mask(r.body)}\n`),
  }).then((apifm) => {
    const protocol = JSON.stringify({ preset: 'apifm', logout: { path: `${apifm.commonUrl}/${sub}/user/loginout` } });
    process.stdout.write(`API host ${apifm.apiUrl}/${sub}  common host ${apifm.commonUrl}/${sub}\n`);
    process.stdout.write(`scripts/dev.sh --base-url ${apifm.apiUrl}/${sub} --protocol-json '${protocol}'\n`);
  });
}

module.exports = { startApifm };

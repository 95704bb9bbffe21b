#!/usr/bin/env node
// Writes the committed seed corpus, fuzz/corpus/<target>/, from the hand-written protocol fixtures
// (tests/fixtures/protocols/*.json: every recorded response) plus a few nasty cases written here.
// Deterministic: rerun it after changing a fixture and commit the result.
//
//   node fuzz/make-corpus.js
//
// Input formats (see each fuzz_targets/<target>.rs):
//   json       the text itself
//   protocols  2 bytes big-endian n (status = 100 + n % 500), then the body
//   stored     parts separated by 0xFF: token, the wxSession record, revocation queue;
//              each part is a tag byte (t=Text, j=Json, u=Unreadable, m=Missing) then the text
'use strict';
const fs = require('fs');
const path = require('path');

const fuzzDir = __dirname;
const fixtureDir = path.join(fuzzDir, '..', 'tests', 'fixtures', 'protocols');
const MAX_SEED = 2048;

const seeds = { json: new Map(), protocols: new Map(), stored: new Map() };
function seed(target, name, bytes) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  if (buf.length >= MAX_SEED) throw new Error(`${target}/${name}: ${buf.length} bytes, keep seeds under ${MAX_SEED}`);
  if (seeds[target].has(name)) throw new Error(`${target}/${name}: duplicate name`);
  for (const existing of seeds[target].values()) if (existing.equals(buf)) return; // same content, other name
  seeds[target].set(name, buf);
}
function response(status, body) {
  const n = status - 100;
  return Buffer.concat([Buffer.from([n >> 8, n & 0xff]), Buffer.from(body, 'utf8')]);
}

// --- from the fixtures ---------------------------------------------------------------------------
for (const file of fs.readdirSync(fixtureDir).filter((f) => f.endsWith('.json')).sort()) {
  const fixture = JSON.parse(fs.readFileSync(path.join(fixtureDir, file), 'utf8'));
  for (const [exchange, { response: r }] of Object.entries(fixture.exchanges)) {
    const name = `${fixture.protocol}-${exchange}`;
    seed('json', name, r.body);
    seed('protocols', name, response(r.status, r.body));
  }
}

// --- nasty cases ---------------------------------------------------------------------------------------
const nasty = {
  empty: '',
  'deep-64': '['.repeat(65) + ']'.repeat(65), // the deepest value at depth 64: accepted
  'deep-65': '['.repeat(66) + ']'.repeat(66), // one more: refused
  'deep-objects': '{"a":'.repeat(70) + '1' + '}'.repeat(70),
  'deep-unclosed': '[{"a":'.repeat(200),
  surrogates: '["\\ud83d\\udc3c","\\uD83D\\uDC3C","\\u767b\\u9646","\\u0000\\u001f\\u007f"]',
  'surrogate-lone-high': '"\\ud800"',
  'surrogate-lone-low': '"\\udc00x"',
  'surrogate-bad-pair': '"\\ud83d\\u0041"',
  escapes: '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"',
  numbers: '[0,-0,1.5e3,-1.25E-7,12345678901234567890,1e400,0.0000001,7200.9]',
  'bad-numbers': '[01,1.,-,+1,.5,1e]',
  html: '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>',
  'bom-and-spaces': '\ufeff {"a":1} ',
  duplicates: '{"token":"first","token":"second","data":{"token":"a","token":1}}',
  whitespace: ' \t\r\n{ "a" : [ 1 , true , false , null ] }\n',
  control: '"tab\there"',
  'null-token': '{"token":null,"code":"0","errno":"0","data":{"token":""}}',
};
for (const [name, text] of Object.entries(nasty)) seed('json', `nasty-${name}`, text);

// The same bodies under statuses every preset treats specially, and a few protocol-shaped traps.
const answers = [
  [200, nasty.empty, 'empty-200'],
  [204, nasty.empty, 'empty-204'],
  [502, nasty.html, 'html-502'],
  [200, '  TOKEN-1\n', 'bare-token-padded'],
  [200, 'TOKEN WITH SPACES', 'bare-token-spaces'],
  [200, '"登陆"', 'token-not-ascii'],
  [200, '{"token":"T' + 'x'.repeat(1500) + '"}', 'token-long'],
  [500, '{"code":2000,"msg":"登录已过期"}', 'invalid-field-500'],
  [503, '{"code":10000}', 'not-registered-503'],
  [500, '{"errno":501}', 'errno-501-500'],
  [200, '{"code":0,"data":{"token":"T","uid":[1]}}', 'uid-array'],
  [200, '{"token":"T","uid":1.5,"userInfo":"x","expiresIn":-1}', 'odd-fields'],
  [200, '{"valid":"true"}', 'valid-as-string'],
  [200, nasty['deep-65'], 'deep-200'],
  [302, '{"token":"T"}', 'redirect'],
  [101, '', 'switching'],
  [401, '', 'unauthorized-empty'],
  [400, '{"error":"flat","code":7,"errmsg":"x"}', 'flat-error'],
];
for (const [status, body, name] of answers) seed('protocols', `nasty-${name}`, response(status, body));

// Stored values.
const FF = Buffer.from([0xff]);
function stored(...parts) {
  return Buffer.concat(parts.flatMap((p, i) => (i ? [FF, Buffer.from(p, 'utf8')] : [Buffer.from(p, 'utf8')])));
}
const storedSeeds = {
  full: stored('tTOKEN-1', 'j{"token":"TOKEN-1","uid":"u_1001","userInfo":{"nickName":"测试用户 alice 🐼","avatarUrl":""},"expiresAt":1700000000000}', 'j["OLD-1","OLD-2"]'),
  'numeric-uid': stored('tTOKEN-1', 'j{"token":"TOKEN-1","uid":1234567,"expiresAt":7200.9}', 'm'),
  'token-only': stored('tTOKEN-1'),
  nothing: stored(''),
  'leftover-record': stored('m', 'j{"token":"T","uid":"u_1"}'),
  'record-of-another-token': stored('tT', 'j{"token":"OTHER","uid":"u_1"}'),
  'token-json': stored('j"TOKEN-1"'),
  'token-spaces': stored('tTOKEN 1'),
  'token-unreadable': stored('u'),
  'uid-object': stored('tT', 'j{"token":"T","uid":{"id":1}}'),
  'record-text': stored('tT', 't{"token":"T"}'),
  'record-array': stored('tT', 'j[]'),
  'user-info-text': stored('tT', 'j{"token":"T","userInfo":"x"}'),
  'expires-negative': stored('tT', 'j{"token":"T","expiresAt":-1}'),
  'expires-huge': stored('tT', 'j{"token":"T","expiresAt":18446744073709551616}'),
  'expires-text': stored('tT', 'j{"token":"T","expiresAt":"tomorrow"}'),
  'queue-mixed': stored('m', 'm', 'j["A",1,null,"",{"t":"B"},"C D","\\u0041"]'),
  'queue-object': stored('m', 'm', 'j{"0":"A"}'),
  'queue-text': stored('m', 'm', 't["A"]'),
  'queue-deep': stored('m', 'm', 'j' + nasty['deep-65']),
};
for (const [name, bytes] of Object.entries(storedSeeds)) seed('stored', name, bytes);

// --- write ----------------------------------------------------------------------------------------------
for (const [target, files] of Object.entries(seeds)) {
  const dir = path.join(fuzzDir, 'corpus', target);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, buf] of files) fs.writeFileSync(path.join(dir, name), buf);
  console.log(`fuzz/corpus/${target}: ${files.size} seeds`);
}

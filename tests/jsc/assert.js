/**
 * The few assertions the jsc-side tests need (the shell has no assert module): loaded by
 * tests/jsc/main.js's CommonJS for tests/jsc/sandbox.test.js and tests/jsc/npm.test.js.
 */
'use strict';

/** ok, equal, deepEqual (key order ignored), throws and rejects (with a check on the error). */
const assert = {
  ok(value, message) {
    if (!value) throw new Error('expected a truthy value' + (message ? ': ' + message : ''));
  },
  equal(actual, expected, message) {
    if (actual !== expected) {
      throw new Error((message ? message + ': ' : '') + 'expected ' + JSON.stringify(expected) + ', got ' + JSON.stringify(actual));
    }
  },
  deepEqual(actual, expected, message) {
    const a = canonical(actual);
    const b = canonical(expected);
    if (a !== b) throw new Error((message ? message + ': ' : '') + 'expected ' + b + ', got ' + a);
  },
  throws(fn, check, message) {
    try {
      fn();
    } catch (err) {
      if (!check(err)) throw new Error((message ? message + ': ' : '') + 'threw the wrong error: ' + describe(err));
      return;
    }
    throw new Error((message ? message + ': ' : '') + 'did not throw');
  },
  async rejects(promise, check, message) {
    try {
      await promise;
    } catch (err) {
      if (!check(err)) throw new Error((message ? message + ': ' : '') + 'rejected with the wrong error: ' + describe(err));
      return;
    }
    throw new Error((message ? message + ': ' : '') + 'did not reject');
  },
};

function describe(err) {
  return err && err.code ? err.code + ' ' + err.message : String(err && err.message ? err.message : err);
}

/** JSON with sorted keys, so key order does not matter. */
function canonical(value) {
  return JSON.stringify(value, (key, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out = {};
      Object.keys(v).sort().forEach((k) => {
        out[k] = v[k];
      });
      return out;
    }
    return v;
  });
}

module.exports = { assert, canonical };

/**
 * One engine-run of the round benchmark, the same code under Node and under JavaScriptCore
 * (bench/engines.js runs it in fresh processes of each; see there for the table).
 *
 *   measure(host, impl, { rounds }) → { startupMs, roundMs: { median, p90, min }, callsPerRound, rounds }
 *
 * host: the engine's harness — createEnv(root) gives a fresh fake mini-program runtime (fake wx
 * counting every call, fake server, CommonJS require over the code package), now() a clock in ms.
 * Node: bench/engines.js's child over tests/node/support; JSC: tests/jsc/main.js.
 * impl: { root, entry } — the wx-session package or the plain-JS baseline (bench/baseline/).
 *
 * Start-up is the first require + init in the process (nothing compiled yet, as at an app launch).
 * A round is login → checkHasLogined → logout, awaited one after the other; every round must log in
 * and out for real (checked), so both implementations do the same work.
 */
'use strict';

async function measure(host, impl, options) {
  const rounds = options.rounds;
  const env = host.createEnv(impl.root);
  const initOptions = env.toRealm({ baseUrl: env.server.baseUrl });

  const t0 = host.now();
  const session = env.require(impl.entry);
  await session.init(initOptions);
  const startupMs = host.now() - t0;

  const before = Object.assign({}, env.fake.calls);
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t = host.now();
    const login = await session.login();
    const loggedIn = await session.checkHasLogined();
    await session.logout();
    times.push(host.now() - t);
    if (!login || !login.token || loggedIn !== true || env.server.isTokenValid(String(login.token))) {
      throw new Error('round ' + (i + 1) + ' did not log in, check and log out (loggedIn ' + loggedIn + ')');
    }
  }
  const callsPerRound = {};
  Object.keys(env.fake.calls).forEach((api) => {
    const n = env.fake.calls[api] - (before[api] || 0);
    if (n > 0) callsPerRound[api] = n / rounds;
  });
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return {
    engine: host.engine,
    rounds,
    startupMs,
    roundMs: { median, p90: times[Math.floor(0.9 * (times.length - 1))], min: times[0] },
    callsPerRound,
  };
}

module.exports = { measure };

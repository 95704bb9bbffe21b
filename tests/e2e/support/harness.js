/**
 * What the end-to-end tests share: scripts/dev.sh started on free ports (and always stopped),
 * headless Chromium through playwright-core, and the few things a test does to the preview —
 * find and tap a button of the visible mini-program page, answer the modal, read storage, take a
 * numbered screenshot into build/e2e/, ask the server whether a token is valid.
 *
 *   const dev = await startDev('session');        // { previewUrl, serverUrl, serverPid, dataDir, stop() }
 *   await restartServer(dev);                      // the same server binary and data dir, again
 *   const lm = await startDev('litemall', { protocol: 'litemall' });  // the app speaks litemall
 *   const af = await startDev('apifm', { baseUrl, protocolJson: { preset: 'apifm', … } });  // another backend
 *   const browser = await launchBrowser();
 *   const page = await openPreview(browser, dev);  // a fresh context: empty storage, touch
 *   await login(page);                             // tick the agreement if needed, 微信一键登录
 *   await tapButton(page, '我的账户');
 *   await waitForData(page, (d) => d.phone);       // the visible page's data
 *   await shot(page, 'logged-in');
 *
 * Environment: E2E_SESSION_DIR (optional) is passed to dev.sh as --session-dir. dev.sh runs with
 * --no-build: scripts/e2e.sh builds once before the tests.
 */
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const OUT_DIR = path.join(ROOT, 'build', 'e2e');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
const DEV_START_TIMEOUT_MS = 60000;
const UI_TIMEOUT_MS = 8000;
/** The storage keys the session writes (src/store.rs): the token, and the rest of the session. */
const SESSION_KEYS = ['token', 'wxSession'];

fs.mkdirSync(OUT_DIR, { recursive: true });

// ---- scripts/dev.sh ------------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${err.message})`;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return false;
  }
}

/**
 * Starts scripts/dev.sh (preview on a free port, server on a free port, users in a fresh data
 * directory under build/e2e/, removed by stop()) and resolves once its DEV_READY_FILE appears.
 * Its output goes to build/e2e/dev-<name>.log. `protocol` is dev.sh's --protocol: which dialect
 * of the server the app is configured for. `baseUrl` (dev.sh --base-url) points the app at another
 * backend the test runs itself (no reference server is started: serverPid is 0), and
 * `protocolJson` (an object: dev.sh --protocol-json) is then session.init's protocol.
 */
async function startDev(name, { protocol = 'default', baseUrl = '', protocolJson = null } = {}) {
  const serverPort = await freePort();
  const dataDir = fs.mkdtempSync(path.join(OUT_DIR, `data-${name}-`));
  // Unique per test process: two runs at once (two people, or test.sh twice) must not read each
  // other's ready file. dev.sh deletes it when it stops.
  const readyFile = path.join(OUT_DIR, `dev-${name}-${process.pid}.ready.json`);
  const logFile = path.join(OUT_DIR, `dev-${name}.log`);
  fs.rmSync(readyFile, { force: true });
  const log = fs.openSync(logFile, 'w');
  const args = ['--no-build', '--port', '0', '--server-port', String(serverPort), '--protocol', protocol, '--data-dir', dataDir];
  if (baseUrl) args.push('--base-url', baseUrl);
  if (protocolJson) args.push('--protocol-json', JSON.stringify(protocolJson));
  if (process.env.E2E_SESSION_DIR) args.push('--session-dir', process.env.E2E_SESSION_DIR);
  // detached: dev.sh leads its own process group, so stop() can reach anything it left behind.
  const child = spawn(path.join(ROOT, 'scripts', 'dev.sh'), args, {
    cwd: ROOT,
    env: Object.assign({}, process.env, { DEV_READY_FILE: readyFile }),
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

  /** Servers restartServer() started (outside dev.sh's process group). */
  const restarted = [];

  async function stop() {
    for (const server of restarted) {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM');
      const done = await Promise.race([exited, sleep(8000).then(() => null)]);
      if (!done) console.error(`# dev.sh (${name}) ignored SIGTERM for 8 s; killing its process group`);
    }
    // Whatever dev.sh started is in its process group; nothing may outlive the test.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (err) {
      // ESRCH: the group is already gone, which is the normal case.
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const deadline = Date.now() + DEV_START_TIMEOUT_MS;
  for (;;) {
    if (fs.existsSync(readyFile)) {
      const ready = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
      return Object.assign(ready, { name, logFile, stop, exited, restarted, alive: () => child.exitCode === null });
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`scripts/dev.sh exited (${child.exitCode ?? child.signalCode}) before it was ready; ${logFile}:\n${tail(logFile)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`scripts/dev.sh was not ready after ${DEV_START_TIMEOUT_MS / 1000} s; ${logFile}:\n${tail(logFile)}`);
    }
    await sleep(100);
  }
}

/** Stops the dev server behind a running dev.sh (the preview stays up) and waits until it is gone. */
async function killServer(dev) {
  process.kill(dev.serverPid, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (alive(dev.serverPid) || (await serverAnswers(dev.serverUrl))) {
    if (Date.now() > deadline) throw new Error(`the server (pid ${dev.serverPid}) is still up 5 s after SIGKILL`);
    await sleep(50);
  }
}

/**
 * Kills the server behind a running dev.sh (SIGKILL: nothing gets to flush on the way out) and
 * starts the same binary again on the same port with the same data directory, as a deploy or a
 * crash and restart would. The preview keeps running. Updates dev.serverPid.
 */
async function restartServer(dev) {
  await killServer(dev);
  const port = new URL(dev.serverUrl).port;
  const log = fs.openSync(path.join(OUT_DIR, `server-${dev.name}-restart.log`), 'w');
  const env = Object.assign({}, process.env, { WX_SESSION_DATA_DIR: dev.dataDir });
  ['REDIS_URL', 'WX_SESSION_REDIS_CLUSTER', 'WX_SESSION_CONFIG', 'DATABASE_URL'].forEach((name) => delete env[name]);
  const server = spawn(dev.serverBin, ['--dev', '--listen', `127.0.0.1:${port}`], { cwd: ROOT, env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  dev.restarted.push(server);
  dev.serverPid = server.pid;
  const deadline = Date.now() + 15000;
  while (!(await serverAnswers(dev.serverUrl))) {
    if (server.exitCode !== null) throw new Error(`the restarted server exited (${server.exitCode}); see build/e2e/server-${dev.name}-restart.log`);
    if (Date.now() > deadline) throw new Error('the restarted server did not answer /healthz within 15 s');
    await sleep(100);
  }
}

async function serverAnswers(serverUrl) {
  try {
    const response = await fetch(`${serverUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch (err) {
    return false;
  }
}

/** GET /auth/check with the token: 200 valid, 401 rejected. */
async function checkToken(serverUrl, token) {
  const response = await fetch(`${serverUrl}/auth/check`, { headers: { Authorization: `Bearer ${token}` } });
  return response.status;
}

/**
 * litemall's check, GET /wx/user/index with X-Litemall-Token: the errno of the answer (0 valid,
 * 501 not logged in). litemall answers HTTP 200 either way, so anything else is a failure here.
 */
async function litemallCheck(serverUrl, token) {
  const response = await fetch(`${serverUrl}/wx/user/index`, { headers: { 'X-Litemall-Token': token } });
  if (response.status !== 200) throw new Error(`GET /wx/user/index answered HTTP ${response.status}`);
  return (await response.json()).errno;
}

// ---- the browser -----------------------------------------------------------------------------------

function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/e2e.sh installs it (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
}

/**
 * A fresh browser context (its own localStorage: a phone of its own) with a touch screen and a
 * phone-sized viewport, showing the preview once the app has launched. Console errors and page
 * errors are kept on page.problems for failure messages.
 */
async function openPreview(browser, dev, { user = 'alice' } = {}) {
  const context = await browser.newContext({
    hasTouch: true,
    viewport: { width: 390, height: 760 },
    deviceScaleFactor: 2,
    locale: 'zh-CN',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') page.problems.push(`console.error: ${message.text()}`);
  });
  await page.goto(`${dev.previewUrl}?user=${encodeURIComponent(user)}`);
  await waitForLaunch(page);
  return page;
}

/** Waits until the preview has launched the app and the launch-time check has settled. */
async function waitForLaunch(page) {
  await page.waitForFunction(() => window.__preview && (document.body.dataset.ready === 'true' || window.__preview.error));
  const error = await page.evaluate(() => window.__preview.error);
  if (error) throw new Error(`the preview did not start: ${error}\n${page.problems.join('\n')}`);
  await page.evaluate(() => window.__preview.app().globalData.launchCheck);
  await visiblePage(page).locator('wx-view').first().waitFor();
}

/** The mini-program page on top of the stack (the others are hidden). */
function visiblePage(page) {
  return page.locator('#mp-pages > page:not([hidden])');
}

async function pageText(page) {
  return (await visiblePage(page).innerText()).replace(/\s+/g, ' ').trim();
}

/** Waits until the visible page shows `text`. */
async function waitForText(page, text) {
  try {
    await visiblePage(page).getByText(text, { exact: false }).first().waitFor({ state: 'visible' });
  } catch (err) {
    throw new Error(`the page never showed "${text}"; it reads: ${await pageText(page).catch(() => '?')}\n${page.problems.join('\n')}`);
  }
}

/** Finds the <button> whose text is exactly `label` on the visible page and taps it (touch). */
async function tapButton(page, label) {
  const exact = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  const button = visiblePage(page).locator('wx-button').filter({ hasText: exact });
  try {
    await button.first().waitFor({ state: 'visible' });
  } catch (err) {
    throw new Error(`no visible "${label}" button; the page reads: ${await pageText(page).catch(() => '?')}\n${page.problems.join('\n')}`);
  }
  if ((await button.count()) !== 1) throw new Error(`${await button.count()} buttons read "${label}"`);
  // A disabled button gets no tap on a phone (nor in the preview): wait as a person would.
  await page.waitForFunction((el) => !el.hasAttribute('disabled'), await button.elementHandle());
  await button.tap();
}

/**
 * 微信一键登录 as a person does it: tick 我已阅读并同意《用户协议》和《隐私政策》 (unless it is ticked
 * already, as after 退出 in the same launch), then tap the button.
 */
async function login(page) {
  await visiblePage(page).getByText('微信一键登录').first().waitFor();
  if (!(await pageData(page)).agreed) await tickAgreement(page);
  await tapButton(page, '微信一键登录');
}

/** Ticks the agreement line on the login page (a tap on 我已阅读并同意). */
async function tickAgreement(page) {
  await visiblePage(page).getByText('我已阅读并同意').tap();
  await page.waitForFunction(() => window.__preview.pages().slice(-1)[0].data.agreed === true);
}

/** Waits until the page on top of the stack is `route` (e.g. 'pages/user/user'). */
async function waitForRoute(page, route) {
  await page.waitForFunction((r) => {
    const top = window.__preview.pages().slice(-1)[0];
    return top && top.route === r;
  }, route);
}

/** The visible page's data (what its setData said last). */
function pageData(page) {
  return page.evaluate(() => window.__preview.pages().slice(-1)[0].data);
}

/** Waits until the visible page's data passes `predicate` (a function of data, run in the browser). */
async function waitForData(page, predicate, arg) {
  try {
    await page.waitForFunction(
      ([source, value]) => {
        const top = window.__preview.pages().slice(-1)[0];
        // eslint-disable-next-line no-new-func
        return top && new Function('data', 'arg', `return (${source})(data, arg);`)(top.data, value);
      },
      [String(predicate), arg]
    );
  } catch (err) {
    throw new Error(`the page's data never passed ${predicate}; it is ${JSON.stringify(await pageData(page).catch(() => '?'))}\n${page.problems.join('\n')}`);
  }
}

/** Answers the open wx.showModal: 'confirm' or 'cancel'. Returns what the modal said. */
async function answerModal(page, answer) {
  const modal = page.locator('#mp-modal:not([hidden])');
  await modal.waitFor({ state: 'visible' });
  const said = {
    title: await modal.locator('.mp-modal-title').innerText(),
    content: await modal.locator('.mp-modal-content').innerText(),
    confirmText: await modal.locator('[data-answer="confirm"]').innerText(),
    cancelText: await modal.locator('[data-answer="cancel"]').innerText(),
  };
  await modal.locator(`[data-answer="${answer}"]`).tap();
  await page.locator('#mp-modal').waitFor({ state: 'hidden' });
  return said;
}

/** How many toasts the preview has shown so far (pass it to waitForToast). */
function toastCount(page) {
  return page.evaluate(() => window.__preview.toasts.length);
}

/** Waits for a toast after the first `seen` ones; checks it is on screen and returns its text. */
async function waitForToast(page, seen) {
  await page.waitForFunction((n) => window.__preview.toasts.length > n, seen);
  const title = await page.evaluate(() => window.__preview.toasts[window.__preview.toasts.length - 1].title);
  const onScreen = page.locator('#mp-prompt[data-kind="toast"]:not([hidden]) .mp-prompt-title');
  await onScreen.filter({ hasText: title }).waitFor({ state: 'visible' });
  return title;
}

/** Waits until no loading prompt is shown (login/logout finished). */
async function waitForNoLoading(page) {
  await page.locator('#mp-prompt[data-kind="loading"]:not([hidden])').waitFor({ state: 'hidden' });
}

/** The mini-program's storage: localStorage, every value JSON-decoded. */
function readStorage(page) {
  return page.evaluate(() => {
    const out = {};
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      out[key] = JSON.parse(localStorage.getItem(key));
    }
    return out;
  });
}

/** Screenshots numbered per test file: build/e2e/<file>-<nn>-<step>.png. */
function screenshots(file) {
  const prefix = path.basename(file).replace(/\.test\.js$/, '');
  let n = 0;
  for (const old of fs.readdirSync(OUT_DIR)) {
    if (old.startsWith(`${prefix}-`) && old.endsWith('.png')) fs.rmSync(path.join(OUT_DIR, old));
  }
  return async function shot(page, step) {
    n += 1;
    // Let a setData or an animation that was just triggered reach the screen.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const target = path.join(OUT_DIR, `${prefix}-${String(n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: target });
    return target;
  };
}

module.exports = {
  ROOT,
  OUT_DIR,
  SESSION_KEYS,
  startDev,
  killServer,
  restartServer,
  serverAnswers,
  checkToken,
  litemallCheck,
  launchBrowser,
  openPreview,
  waitForLaunch,
  visiblePage,
  pageText,
  waitForText,
  tapButton,
  login,
  tickAgreement,
  pageData,
  waitForData,
  waitForRoute,
  answerModal,
  toastCount,
  waitForToast,
  waitForNoLoading,
  readStorage,
  screenshots,
};

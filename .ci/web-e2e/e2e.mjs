// End-to-end test of the archsim playground (issue 26), run by `.ci/web`.
//
// It drives Debian's Chromium (/usr/bin/chromium) with playwright-core
// against the built playground (`web/build` → output/web/, served over
// http) and checks that the browser runs the same engine as the native
// binary: for each case in CASES the browser's report.json must equal the
// CLI's (wall-clock metrics zeroed), value for value. It also types an
// error into the editor and compares the message with `archsim validate`,
// opens a shared URL in a new page, runs a small sweep, takes screenshots
// and writes timings.
//
//   node .ci/web-e2e/e2e.mjs --list    print the cases, one per line:
//                                      stem<TAB>override override…
//   node .ci/web-e2e/e2e.mjs           run the test; environment:
//     E2E_URL      the page (e.g. http://127.0.0.1:8123/)
//     E2E_CLI_DIR  folder holding <stem>/report.json and <stem>/summary.txt
//                  from `archsim run scenarios/<stem>.yaml --set … --out`
//     ARCHSIM      the native binary (for `archsim validate`)
//     E2E_OUT      where screenshots and timings go (output/ci-screenshots)
//     CHROMIUM     the browser (default /usr/bin/chromium)
//
// Any failed check exits with status 1 and a message saying what differed.

import { chromium } from 'playwright-core';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

// Bundled scenarios run in both the browser and the CLI, shortened as
// tests/integration/golden.rs shortens them (a short duration and warm-up)
// but long enough to reach each scenario's fault or load step. Together
// they cover the M/M/1 service, load balancer + cache + replicated
// database, retries and timeouts under a load spike, a primary crash and
// failover, Raft elections, and a fan-out; the distributions exponential,
// constant, log-normal, zipf and uniform (Raft's election timeouts).
export const CASES = [
  { stem: 'single-server', overrides: ['duration=20s', 'warmup=2s'] },
  { stem: 'caching-strategies', overrides: ['duration=20s', 'warmup=2s'] },
  { stem: 'retry-storm', overrides: ['duration=3m', 'warmup=30s'] },
  { stem: 'database-failover', overrides: ['duration=75s', 'warmup=5s'] },
  { stem: 'raft-leader-election', overrides: ['duration=25s', 'warmup=2s'] },
  { stem: 'microservice-fanout', overrides: ['duration=20s', 'warmup=2s'] },
];

// The error typed into the editor: in this scenario, this line becomes BAD.
const ERROR_CASE = { stem: 'caching-strategies', line: /^\s*replicas: 2\s*$/, from: 'replicas: 2', to: 'replicas: two' };

// The sweep: a small scenario, one parameter, three points, two replications.
const SWEEP_CASE = {
  stem: 'horizontal-scaling',
  overrides: ['duration=20s', 'warmup=2s'],
  vary: 'components.api.replicas=1,2,3',
  replications: 2,
  points: 3,
};

// Metrics measured on the wall clock: the only fields allowed to differ
// (src/report/mod.rs WALL_CLOCK).
const WALL_CLOCK = ['sim.wall_s', 'sim.events_per_s'];

const RUN_TIMEOUT_MS = 120_000;

if (process.argv.includes('--list')) {
  for (const c of CASES) console.log(`${c.stem}\t${c.overrides.join(' ')}`);
  process.exit(0);
}

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') fail(`environment variable ${name} is not set`);
  return v;
};

function fail(msg) {
  console.error(`e2e: FAIL: ${msg}`);
  process.exit(1);
}

const log = (msg) => console.log(`e2e: ${msg}`);

const URL_ = env('E2E_URL');
const CLI_DIR = env('E2E_CLI_DIR');
const ARCHSIM = env('ARCHSIM');
const OUT = env('E2E_OUT', 'output/ci-screenshots');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
fs.mkdirSync(OUT, { recursive: true });

// Checks that fail are collected (so one run shows every scenario that
// differs), then reported together at the end.
const failures = [];
const check = (ok, msg) => {
  if (!ok) {
    failures.push(msg);
    console.error(`e2e: FAIL: ${msg}`);
  }
  return ok;
};

// ---- report comparison -------------------------------------------------

function zeroWallClock(report) {
  for (const k of WALL_CLOCK) {
    if (report?.metrics?.[k] && typeof report.metrics[k] === 'object') report.metrics[k].value = 0;
  }
  return report;
}

// Every path where a and b differ (exact: numbers with ===), in order.
function diffPaths(a, b, at = '$', out = []) {
  if (Object.is(a, b)) return out;
  const ta = Array.isArray(a) ? 'array' : a === null ? 'null' : typeof a;
  const tb = Array.isArray(b) ? 'array' : b === null ? 'null' : typeof b;
  if (ta !== tb) {
    out.push({ path: at, browser: a, cli: b });
  } else if (ta === 'array') {
    if (a.length !== b.length) out.push({ path: `${at}.length`, browser: a.length, cli: b.length });
    for (let i = 0; i < Math.min(a.length, b.length); i++) diffPaths(a[i], b[i], `${at}[${i}]`, out);
  } else if (ta === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const p = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${at}.${k}` : `${at}[${JSON.stringify(k)}]`;
      if (!(k in a)) out.push({ path: p, browser: '(missing)', cli: b[k] });
      else if (!(k in b)) out.push({ path: p, browser: a[k], cli: '(missing)' });
      else diffPaths(a[k], b[k], p, out);
    }
  } else {
    out.push({ path: at, browser: a, cli: b });
  }
  return out;
}

const short = (v) => {
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

const firstLine = (s) => (s ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

// ---- the browser -------------------------------------------------------

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
try {
  const origin = new URL(URL_).origin;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
} catch {
  // Older browsers lack the clipboard permissions: sharing still writes the URL.
}

let pageNo = 0;
const pageErrors = [];
function watch(page) {
  const tag = `page ${++pageNo}`;
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`e2e: browser console error (${tag}): ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    pageErrors.push(e.message);
    console.error(`e2e: browser page error (${tag}): ${e.message}`);
  });
  page.on('requestfailed', (r) => console.error(`e2e: request failed (${tag}): ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return page;
}

// Opens the page and waits for the wasm module; returns the time taken.
async function openPage(url) {
  const page = watch(await context.newPage());
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.archsim && window.archsim.ready, null, { timeout: 30_000 })
    .catch(() => fail(`window.archsim.ready was not set 30 s after load${pageErrors.length ? ` (page errors: ${pageErrors.join('; ')})` : ''}`));
  await page.evaluate(() => window.archsim.ready).catch((e) => fail(`window.archsim.ready rejected: ${e.message}`));
  return { page, readyMs: Date.now() - t0 };
}

// The editor's text, as the page would share it: click #share and decode
// the fragment `#s=<base64url of deflate-raw(JSON {text, overrides})>`.
async function sharedState(page) {
  const before = await page.evaluate(() => location.href);
  await page.click('#share');
  await page.waitForFunction((b) => location.hash.startsWith('#s=') && location.href !== b, before, { timeout: 10_000 })
    .catch(() => {});
  const href = await page.evaluate(() => location.href);
  const hash = new URL(href).hash;
  if (!hash.startsWith('#s=')) fail(`#share did not write #s=… into the URL (location is ${href})`);
  let state;
  try {
    const bytes = Buffer.from(hash.slice(3), 'base64url');
    state = JSON.parse(zlib.inflateRawSync(bytes).toString('utf8'));
  } catch (e) {
    fail(`the shared fragment is not base64url(deflate-raw(JSON)): ${e.message}`);
  }
  if (typeof state?.text !== 'string') fail('the shared state has no text');
  return { href, state };
}

async function pageDiag(page) {
  return page.evaluate(() => ({
    status: document.querySelector('#status')?.textContent ?? '(no #status)',
    errors: [...document.querySelectorAll('#errors li')].map((li) => li.textContent),
  }));
}

// Chooses a bundled scenario and waits until the editor holds it (the page
// checks each text it loads; the check of a valid scenario leaves #errors
// empty).
// The page may show the run and the sweep on tabs: show the one needed.
async function showTab(page, name, field) {
  if (!(await page.isVisible(field)) && (await page.$(`#tab-${name}`))) await page.click(`#tab-${name}`);
}

async function choose(page, stem, overrides) {
  const options = await page.$$eval('#scenario option', (os) => os.map((o) => o.value));
  if (!options.includes(stem)) fail(`#scenario has no option "${stem}" (it has ${options.length} options)`);
  await page.selectOption('#scenario', stem);
  await page.fill('#overrides', overrides.join('\n'));
}

// Clicks a button and waits for window.archsim[key] to be a new response,
// or for the status line (statusSel) to turn into an error.
async function clickAndWait(page, button, key, statusSel, what) {
  await page.evaluate((k) => { window.__e2ePrev = window.archsim[k]; }, key);
  const t0 = Date.now();
  await page.click(button);
  try {
    await page.waitForFunction(([k, sel]) => (window.archsim[k] && window.archsim[k] !== window.__e2ePrev)
      || document.querySelector(sel)?.classList.contains('error'), [key, statusSel], {
      timeout: RUN_TIMEOUT_MS,
      polling: 100,
    });
  } catch {
    const d = await pageDiag(page);
    fail(`${what}: no result after ${RUN_TIMEOUT_MS / 1000} s; #status: ${d.status}; #errors: ${JSON.stringify(d.errors)}`);
  }
  const failed = await page.evaluate(([k, sel]) => window.archsim[k] === window.__e2ePrev
    && (document.querySelector(sel)?.textContent ?? 'error'), [key, statusSel]);
  if (failed) fail(`${what}: the page reports an error: ${failed}`);
  const ms = Date.now() - t0;
  const resp = await page.evaluate((k) => {
    const r = window.archsim[k];
    return { ok: r.ok, report: r.report, events: r.events, wall_s: r.wall_s, events_per_s: r.events_per_s, errors: r.errors, table: r.table };
  }, key);
  if (resp.ok === false) fail(`${what}: the page's response is an error: ${JSON.stringify(resp.errors)}`);
  return { resp, ms };
}

const t0 = Date.now();
const { page, readyMs } = await openPage(URL_);
log(`page ready (wasm loaded) in ${readyMs} ms`);
const scenarios = await (await fetch(new URL('scenarios.json', URL_))).json();
const scenarioText = (stem) => scenarios.find((s) => s.stem === stem)?.text ?? fail(`scenarios.json has no ${stem}`);

// ---- 1-2. runs compared with the CLI -------------------------------------

const rows = [];
let firstResultMs = null;
let shotTaken = false;
for (const c of CASES) {
  const what = `${c.stem} (${c.overrides.join(' ')})`;
  await choose(page, c.stem, c.overrides);
  const { resp, ms } = await clickAndWait(page, '#run', 'last', '#status', `run ${what}`);
  if (firstResultMs === null) firstResultMs = Date.now() - t0;

  const cliText = fs.readFileSync(path.join(CLI_DIR, c.stem, 'report.json'), 'utf8');
  const cliSummary = fs.readFileSync(path.join(CLI_DIR, c.stem, 'summary.txt'), 'utf8');
  if (typeof resp.report !== 'string') fail(`${what}: window.archsim.last.report is not a string`);
  const web = JSON.parse(resp.report);
  const cli = JSON.parse(cliText);
  const cliEventsPerS = cli.metrics?.['sim.events_per_s']?.value;
  const fpWeb = web.metrics?.['sim.fingerprint']?.value;
  const fpCli = cli.metrics?.['sim.fingerprint']?.value;
  zeroWallClock(web);
  zeroWallClock(cli);
  const diffs = diffPaths(web, cli);
  if (check(diffs.length === 0, `${what}: browser report.json differs from the CLI's in ${diffs.length} places`)) {
    // Same values; the text must match too (key order, number formatting).
    check(JSON.stringify(web) === JSON.stringify(cli), `${what}: same values but a different key order`);
  } else {
    for (const d of diffs.slice(0, 15)) console.error(`    ${d.path}: browser ${short(d.browser)}  cli ${short(d.cli)}`);
    if (diffs.length > 15) console.error(`    … and ${diffs.length - 15} more`);
  }
  check(fpCli !== undefined && fpWeb === fpCli, `${what}: sim.fingerprint browser ${fpWeb} cli ${fpCli}`);

  const summary = await page.$eval('#summary', (e) => e.textContent ?? '');
  check(summary.trim() !== '', `${what}: #summary is empty`);
  check(
    firstLine(summary) === firstLine(cliSummary),
    `${what}: #summary's first line ${short(firstLine(summary))} is not the CLI summary.txt's ${short(firstLine(cliSummary))}`,
  );
  const frameText = await page.frameLocator('#result').locator('body').innerText({ timeout: 10_000 }).catch(() => '');
  check(frameText.trim() !== '', `${what}: the #result iframe is empty`);

  rows.push({ stem: c.stem, ms, events: resp.events, webEps: resp.events_per_s, cliEps: cliEventsPerS, fp: fpWeb });
  log(`${what}: ${diffs.length === 0 ? 'report.json equal to the CLI' : 'DIFFERS'}; fingerprint ${fpWeb}; ` +
    `${resp.events} events, browser ${Math.round(resp.events_per_s)} events/s, native ${Math.round(cliEventsPerS)} events/s; ` +
    `click to result ${ms} ms`);
  if (!shotTaken && c.stem === 'single-server') {
    await page.screenshot({ path: path.join(OUT, 'playground-run.png'), fullPage: true });
    shotTaken = true;
  }
}

// ---- 3. an error typed into the editor ----------------------------------

{
  const c = ERROR_CASE;
  await choose(page, c.stem, []);
  await page.waitForFunction(() => document.querySelectorAll('#errors li').length === 0, null, { timeout: 10_000 })
    .catch(() => fail(`${c.stem}: #errors is not empty for the bundled scenario`));
  // Put the cursor at the end of the line: click it if the editor shows it,
  // else walk down from the top with the arrow keys.
  const target = page.locator('.cm-line', { hasText: c.line }).first();
  if (await target.count()) {
    await target.scrollIntoViewIfNeeded();
    await target.click();
  } else {
    await page.click('.cm-content');
    await page.keyboard.press('Control+Home');
    for (let i = 0; i < 500; i++) {
      const line = await page.$eval('.cm-activeLine', (e) => e.textContent ?? '').catch(() => '');
      if (c.line.test(line)) break;
      await page.keyboard.press('ArrowDown');
    }
  }
  await page.keyboard.press('End');
  const active = await page.$eval('.cm-activeLine', (e) => e.textContent ?? '').catch(() => '');
  check(c.line.test(active), `could not put the cursor on the line "${c.from}" (the active line is ${short(active)})`);
  await page.keyboard.press('Backspace');
  await page.keyboard.type('two', { delay: 30 });

  let errs = [];
  try {
    await page.waitForFunction(() => [...document.querySelectorAll('#errors li')].some((li) => /:\d+:\d+/.test(li.textContent)),
      null, { timeout: 10_000 });
    errs = await page.$$eval('#errors li', (ls) => ls.map((l) => l.textContent.trim()));
  } catch {
    fail(`typed "${c.to}": #errors shows no message with line:col (it holds ${JSON.stringify((await pageDiag(page)).errors)})`);
  }
  log(`typed "${c.to}": #errors shows ${JSON.stringify(errs)}`);
  const marker = await page.locator('.cm-lintRange-error, .cm-lint-marker-error').count();
  check(marker > 0, 'no lint marker (.cm-lintRange-error or .cm-lint-marker-error) in the editor');

  // 4. Share the erroneous text: the fragment is the editor's exact text.
  const { href, state } = await sharedState(page);
  const expected = scenarioText(c.stem).replace(c.from, c.to);
  check(state.text === expected, `the editor's text (as shared) is not the scenario with "${c.from}" → "${c.to}"`);

  // The CLI reads the same text from a file named as the page names it.
  const m = /^(?:error: )?(.*?):(\d+):(\d+): /.exec(errs[0]);
  if (!m) fail(`the page's message does not start with FILE:LINE:COL: ${short(errs[0])}`);
  const label = m[1];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archsim-e2e-'));
  if (path.isAbsolute(label) || label.split('/').includes('..')) fail(`unexpected file label ${label}`);
  fs.mkdirSync(path.dirname(path.join(dir, label)), { recursive: true });
  fs.writeFileSync(path.join(dir, label), state.text);
  const v = spawnSync(ARCHSIM, ['validate', label], { cwd: dir, encoding: 'utf8' });
  check(v.status !== 0, `archsim validate accepted the text the page rejects`);
  const cliMsg = v.stderr.trim();
  check(errs.join('\n') === cliMsg, `the page's error ${short(errs.join('\n'))} is not the CLI's ${short(cliMsg)}`);
  log(`archsim validate ${label}: ${short(cliMsg)}`);

  // Open the shared URL in a new page: the editor must hold the same text.
  const { page: page2 } = await openPage(href);
  let got;
  const hasGetText = await page2.evaluate(() => typeof window.archsim.getText === 'function');
  if (hasGetText) {
    // The shared text is decoded after load: give it a moment to arrive.
    await page2.waitForFunction((t) => window.archsim.getText() === t, state.text, { timeout: 10_000 }).catch(() => {});
    got = await page2.evaluate(() => window.archsim.getText());
  } else {
    // Without a getter, share again from the new page and decode that.
    await page2.waitForTimeout(500);
    got = (await sharedState(page2)).state.text;
  }
  check(got === state.text, `the shared URL opened in a new page holds different text (${got.length} chars, shared ${state.text.length})`);
  log(`shared URL (${href.length} chars) reopened in a new page: ${got === state.text ? 'same text' : 'DIFFERENT text'}`);
  await page2.close();
}

// ---- 5. a small sweep ----------------------------------------------------

let sweepMs = null;
{
  const c = SWEEP_CASE;
  await choose(page, c.stem, c.overrides);
  await showTab(page, 'sweep', '#sweep-vary');
  await page.fill('#sweep-vary', c.vary);
  await page.fill('#sweep-replications', String(c.replications));
  const { resp, ms } = await clickAndWait(page, '#sweep-run', 'lastSweep', '#sweep-status', `sweep ${c.stem} ${c.vary}`);
  sweepMs = ms;
  const svgs = await page.frameLocator('#sweep-result').locator('svg').count();
  check(svgs > 0, `sweep ${c.stem}: the #sweep-result iframe has no <svg> chart`);
  let points = null;
  try {
    const rep = JSON.parse(resp.report);
    points = Array.isArray(rep.points) ? rep.points.length : null;
  } catch {
    // checked below through the table
  }
  const table = await page.$eval('#sweep-table', (e) => e.textContent ?? '');
  const tableRows = table.split('\n').filter((l) => /^\s*[123]\b/.test(l));
  check(points === null || points === c.points, `sweep ${c.stem}: the sweep report has ${points} points, expected ${c.points}`);
  check(tableRows.length === c.points, `sweep ${c.stem}: #sweep-table has ${tableRows.length} rows for replicas 1..3, expected ${c.points}:\n${table}`);
  log(`sweep ${c.stem} ${c.vary} ×${c.replications}: ${svgs} svg, ${points} points, ${ms} ms`);
  await page.screenshot({ path: path.join(OUT, 'playground-sweep.png'), fullPage: true });
}

// ---- 6. a long run stopped ------------------------------------------------
// A run that would take minutes (black-friday at a 2 h duration) is stopped
// with #stop: the status says so at once, and the next run works (the
// page starts a fresh worker).
{
  await choose(page, 'black-friday', ['duration=2h']);
  await showTab(page, 'run', '#status');
  await page.click('#run');
  await page.waitForSelector('#stop', { state: 'visible', timeout: 10000 });
  await page.waitForTimeout(1500);
  const t = Date.now();
  await page.click('#stop');
  await page.waitForFunction(() => /Stopped/.test(document.querySelector('#status')?.textContent ?? ''), null, { timeout: 5000 })
    .catch(() => fail('stop: #status does not say the run stopped within 5 s'));
  const stopMs = Date.now() - t;
  check(await page.isHidden('#stop'), 'stop: the Stop button is still shown after the run stopped');
  const c = CASES[0];
  await choose(page, c.stem, c.overrides);
  const { resp } = await clickAndWait(page, '#run', 'last', '#status', `run ${c.stem} after a stop`);
  check(resp.ok && resp.events > 0, 'stop: the run after a stop gave no result');
  log(`stop: a long run stopped in ${stopMs} ms; the next run worked (${resp.events} events)`);
}

// ---- 7. timings -----------------------------------------------------------

const pageTimings = await page.evaluate(() => window.archsim.timings ?? null);
const lines = [];
lines.push('archsim playground: timings from the CI browser test (.ci/web-e2e/e2e.mjs)');
lines.push(`browser: ${browser.version()} (headless)`);
lines.push(`page open to wasm ready: ${readyMs} ms (test clock)`);
lines.push(`page open to first result (${CASES[0].stem} ${CASES[0].overrides.join(' ')}): ${firstResultMs} ms (test clock)`);
if (pageTimings) {
  lines.push(`page's own timings (performance.now, ms): opened ${Math.round(pageTimings.opened)}, ready ${Math.round(pageTimings.ready)}, first result ${Math.round(pageTimings.firstResult)}`);
}
lines.push('');
lines.push('scenario                 events     browser events/s  native events/s  ratio  click-to-result ms');
for (const r of rows) {
  const ratio = r.cliEps ? (r.webEps / r.cliEps).toFixed(2) : '-';
  lines.push(`${r.stem.padEnd(24)} ${String(r.events).padStart(9)} ${String(Math.round(r.webEps)).padStart(18)} ${String(Math.round(r.cliEps)).padStart(16)} ${ratio.padStart(6)} ${String(r.ms).padStart(19)}`);
}
const big = rows.reduce((a, b) => (b.events > a.events ? b : a), rows[0]);
lines.push('');
lines.push(`largest run (${big.stem}): browser ${Math.round(big.webEps)} events/s, native ${Math.round(big.cliEps)} events/s`);
lines.push(`sweep (${SWEEP_CASE.stem}, ${SWEEP_CASE.vary}, ${SWEEP_CASE.replications} replications): ${sweepMs} ms`);
fs.writeFileSync(path.join(OUT, 'playground-timings.txt'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));

await browser.close();
if (failures.length) {
  console.error(`e2e: ${failures.length} check(s) failed:`);
  for (const f of failures) console.error(`  - ${f}`);
  process.exit(1);
}
log(`ok (${CASES.length} scenarios equal to the CLI, error message, shared URL, sweep; screenshots in ${OUT})`);

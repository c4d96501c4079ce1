// archsim playground: the page. It owns the DOM and two Web Workers running
// the same worker.js (each its own instance of archsim.wasm):
//   - the run worker: run, sweep, explain and version, one request at a time,
//     in order, with progress;
//   - the check worker: only `check`, for the editor's diagnostics, so that
//     typing is linted at once even while a long run occupies the run worker.
// Test hooks (used by the end-to-end test; see web/README.md) live on
// window.archsim.

import { createEditor } from './editor.js';
import { splitLessons, renderLesson, firstStem } from './lessons.js';
import { encodeShare, decodeShare, shareFromHash } from './share.js';

const timings = { opened: performance.now(), ready: null, firstResult: null };
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- workers

// A worker and its queue: request(req, onProgress) resolves with the response.
// Requests are sent one at a time; the next waits for the answer before.
function workerClient(url) {
  let worker = null;
  const queue = [];
  let active = null;
  let nextId = 1;
  const pump = () => {
    if (active || queue.length === 0) return;
    active = queue.shift();
    worker.postMessage({ id: active.id, req: active.req });
  };
  // Answer the request in flight and those waiting with one error.
  const failAll = (message, extra = {}) => {
    const failed = active ? [active, ...queue.splice(0)] : queue.splice(0);
    active = null;
    for (const f of failed) f.resolve({ ok: false, ...extra, errors: [{ line: null, col: null, message }] });
  };
  const start = () => {
    worker = new Worker(url);
    worker.onmessage = (event) => {
      const { id, resp, progress } = event.data;
      if (!active || id !== active.id) return;
      if (progress !== undefined) { active.onProgress?.(progress); return; }
      const done = active;
      active = null;
      done.resolve(resp);
      pump();
    };
    worker.onerror = (event) => {
      failAll(`the worker failed: ${event.message || 'could not start (see the console)'}`);
    };
  };
  start();
  return {
    // Stop whatever runs: a simulation is one synchronous call inside the
    // worker, so the only way to stop it is to end the worker. A fresh one
    // (a fresh instance of the module) takes the next request.
    stop() {
      worker.terminate();
      failAll('stopped before it finished', { stopped: true });
      start();
    },
    request(req, onProgress) {
      return new Promise((resolve) => {
        queue.push({ id: nextId++, req, onProgress, resolve });
        pump();
      });
    },
    // Drop requests not yet sent (resolving them with null): used by the check
    // worker, where only the newest text matters.
    dropPending() {
      for (const q of queue.splice(0)) q.resolve(null);
    },
  };
}

const runWorker = workerClient('worker.js');
const checkWorker = workerClient('worker.js');

// ---------------------------------------------------------------- state

let scenarios = []; // [{file, stem, text}] from scenarios.json
let currentFile = 'scenario.yaml'; // the file name errors and reports carry
let busy = 0; // requests in flight on the run worker
let reportUrl = null;
let sweepUrl = null;

const hooks = {
  ready: null,
  last: null,
  lastSweep: null,
  lastExplain: null,
  lastCheck: null,
  timings,
  load: (stem) => loadScenario(stem),
  setText: (text) => editor.setText(text),
  getText: () => editor.getText(),
};
window.archsim = hooks;

// Resolves (with the version) when the wasm module is instantiated and the page
// has its scenarios and lessons; see the end of this file.
const wasmReady = runWorker.request({ op: 'version' }).then((resp) => {
  if (!resp || !resp.ok) throw new Error(errorText(resp));
  timings.ready = performance.now();
  $('version').textContent = `v${resp.version}`;
  return resp.version;
});

// ---------------------------------------------------------------- helpers

function errorText(resp) {
  if (!resp) return 'no answer';
  return (resp.errors || []).map((e) => e.message).join('\n') || 'unknown error';
}

function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle('error', isError);
}

// The overrides field: one PATH=VALUE per line; on one line, several may be
// separated by spaces (a space followed by `path=` outside brackets and quotes
// starts a new one, so `retry={max: 4, jitter: full}` stays whole). Pasted
// command-line pieces work too: `--set` words are dropped, and quotes around a
// whole override are removed as a shell would.
export function parseOverrides(text) {
  const out = [];
  const unquote = (s) => (/^(['"]).*\1$/s.test(s) && s.length >= 2 ? s.slice(1, -1) : s);
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)--(set|vary)(\s+|=)/g, ' ');
    let depth = 0;
    let quote = null;
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quote) { if (ch === quote) quote = null; }
      else if (ch === '"' || ch === "'") quote = ch;
      else if ('{['.includes(ch)) depth++;
      else if ('}]'.includes(ch)) depth = Math.max(0, depth - 1);
      if (!quote && depth === 0 && /\s/.test(ch) && /^\s*['"]?[A-Za-z_][\w.-]*=/.test(line.slice(i + 1)) && cur.trim()) {
        out.push(unquote(cur.trim()));
        cur = '';
        continue;
      }
      cur += ch;
    }
    if (cur.trim()) out.push(unquote(cur.trim()));
  }
  return out;
}

// The overrides of the form: the field's lines, then the seed.
function currentOverrides() {
  const list = parseOverrides($('overrides').value);
  const seed = $('seed').value.trim();
  if (seed !== '') list.push(`seed=${seed}`);
  return list;
}

function positiveInt(el) {
  const n = Number.parseInt(el.value, 10);
  return Number.isFinite(n) && n >= 1 ? n : null;
}

function formatCount(n) {
  return Math.round(n).toLocaleString('en-US');
}

function formatRate(perSecond) {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M events/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(0)} k events/s`;
  return `${perSecond.toFixed(0)} events/s`;
}

function formatDuration(seconds) {
  if (typeof seconds !== 'number') return '?';
  if (seconds >= 3600) return `${+(seconds / 3600).toFixed(2)} h`;
  if (seconds >= 60) return `${+(seconds / 60).toFixed(2)} min`;
  return `${+seconds.toFixed(3)} s`;
}

function setBusy(delta) {
  busy += delta;
  for (const b of document.querySelectorAll('button.act')) b.disabled = busy > 0;
  document.body.classList.toggle('busy', busy > 0);
  $('stop').hidden = busy === 0;
}

function showTab(name) {
  for (const [tab, view] of [['tab-run', 'run-view'], ['tab-sweep', 'sweep-view']]) {
    const on = tab === `tab-${name}`;
    $(tab).setAttribute('aria-selected', String(on));
    $(view).hidden = !on;
  }
}

function onProgress(fraction) {
  $('progress').value = fraction;
}

// Show an HTML document in an iframe and make the iframe as tall as it.
function showPage(iframe, html) {
  iframe.onload = () => {
    try {
      const doc = iframe.contentDocument;
      const height = Math.max(doc.documentElement.scrollHeight, doc.body ? doc.body.scrollHeight : 0);
      iframe.style.height = `${Math.min(Math.max(height + 16, 200), 20000)}px`;
    } catch {
      iframe.style.height = '80vh';
    }
  };
  iframe.srcdoc = html;
  iframe.classList.add('filled');
}

function downloadLink(link, text, name, oldUrl) {
  if (oldUrl) URL.revokeObjectURL(oldUrl);
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  link.href = url;
  link.download = name;
  link.hidden = false;
  return url;
}

// ---------------------------------------------------------------- editor and check

function showErrors(errors) {
  const list = $('errors');
  list.replaceChildren(...errors.map((e) => {
    const li = document.createElement('li');
    li.textContent = e.message;
    return li;
  }));
}

async function lint(text) {
  checkWorker.dropPending();
  const resp = await checkWorker.request({ op: 'check', text, file: currentFile, overrides: currentOverrides() });
  if (resp === null) return []; // superseded by a newer edit
  if (editor.getText() !== text) return []; // stale
  hooks.lastCheck = resp;
  const errors = resp.ok ? [] : resp.errors || [];
  showErrors(errors);
  const check = $('check-status');
  check.classList.toggle('bad', !resp.ok);
  check.textContent = resp.ok
    ? `✓ valid: ${resp.name ?? 'scenario'}, seed ${resp.seed ?? '?'}, ${formatDuration(resp.duration_s)} simulated`
    : `✗ ${errors.length} error${errors.length === 1 ? '' : 's'}`;
  return errors;
}

const editor = createEditor($('editor'), { lint, onRun: () => run(), label: 'Scenario YAML' });

// ---------------------------------------------------------------- actions

function request(op, extra = {}) {
  return { op, text: editor.getText(), file: currentFile, overrides: currentOverrides(), ...extra };
}

async function run() {
  const status = $('status');
  const replications = positiveInt($('replications')) ?? 1;
  setBusy(+1);
  $('progress').value = 0;
  setStatus(status, replications > 1 ? `Running ${replications} replications…` : 'Running…');
  const started = performance.now();
  try {
    const resp = await runWorker.request(request('run', { replications }), onProgress);
    if (!resp.ok) {
      if (resp.stopped) setStatus(status, `Stopped after ${((performance.now() - started) / 1000).toFixed(1)} s.`);
      else setStatus(status, `The run failed:\n${errorText(resp)}`, true);
      return resp;
    }
    hooks.last = resp;
    $('intro').hidden = true;
    showTab('run');
    if (timings.firstResult === null) timings.firstResult = performance.now();
    $('progress').value = 1;
    const wall = resp.wall_s ?? (performance.now() - started) / 1000;
    setStatus(status, `Ran ${formatCount(resp.events)} events in ${wall.toFixed(2)} s (${formatRate(resp.events_per_s ?? resp.events / wall)})`);
    $('summary').textContent = resp.summary;
    $('explain').textContent = resp.explain || '';
    reportUrl = downloadLink($('download-report'), resp.report, 'report.json', reportUrl);
    showPage($('result'), resp.page);
    return resp;
  } finally {
    setBusy(-1);
  }
}

async function explain() {
  const status = $('status');
  setBusy(+1);
  setStatus(status, 'Explaining…');
  try {
    const resp = await runWorker.request(request('explain'), onProgress);
    if (!resp.ok) {
      setStatus(status, `explain failed:\n${errorText(resp)}`, true);
      return resp;
    }
    hooks.lastExplain = resp;
    $('explain').textContent = resp.text;
    showTab('run');
    setStatus(status, 'Theory only (no simulation): see “Theory against simulation” below.');
    $('explain').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    return resp;
  } finally {
    setBusy(-1);
  }
}

async function sweep() {
  const status = $('sweep-status');
  const vary = parseOverrides($('sweep-vary').value);
  const replications = positiveInt($('sweep-replications'));
  setBusy(+1);
  $('progress').value = 0;
  setStatus(status, 'Sweeping…');
  showTab('sweep');
  const started = performance.now();
  try {
    const extra = { vary };
    if (replications !== null) extra.replications = replications;
    const resp = await runWorker.request(request('sweep', extra), (f) => { onProgress(f); setStatus(status, `Sweeping… ${Math.round(f * 100)}%`); });
    if (!resp.ok) {
      if (resp.stopped) setStatus(status, `Stopped after ${((performance.now() - started) / 1000).toFixed(1)} s.`);
      else setStatus(status, `The sweep failed:\n${errorText(resp)}`, true);
      return resp;
    }
    hooks.lastSweep = resp;
    $('progress').value = 1;
    setStatus(status, `Swept in ${((performance.now() - started) / 1000).toFixed(2)} s.`);
    $('sweep-table').textContent = resp.table;
    sweepUrl = downloadLink($('download-sweep'), resp.report, 'sweep-report.json', sweepUrl);
    showPage($('sweep-result'), resp.page);
    return resp;
  } finally {
    setBusy(-1);
  }
}

// ---------------------------------------------------------------- scenarios

function setForm({ overrides = [], seed = '', replications = 1, vary = [], sweepReplications = '' } = {}) {
  $('overrides').value = overrides.join('\n');
  $('seed').value = seed ?? '';
  $('replications').value = replications ?? 1;
  $('sweep-vary').value = vary.join(' ');
  $('sweep-replications').value = sweepReplications ?? '';
}

function loadScenario(stem, form) {
  const s = scenarios.find((x) => x.stem === stem);
  if (!s) throw new Error(`no bundled scenario named ${stem}`);
  currentFile = s.file;
  $('scenario').value = stem;
  setForm(form);
  editor.setText(s.text);
  return s;
}

// A lesson's command button: load its scenario and settings, then do it.
async function runCommand(cmd) {
  const form = { overrides: cmd.overrides, seed: cmd.seed ?? '', vary: cmd.vary };
  if (cmd.op === 'sweep') form.sweepReplications = cmd.replications ?? '';
  else form.replications = cmd.replications ?? 1;
  loadScenario(cmd.stem, form);
  await hooks.ready;
  if (cmd.op === 'run') { $('status').scrollIntoView({ block: 'nearest', behavior: 'smooth' }); return run(); }
  if (cmd.op === 'explain') return explain();
  return sweep();
}

// ---------------------------------------------------------------- lessons

let lessons = [];

// The editor holds a bundled scenario exactly as shipped (nothing to lose by replacing it).
function editorUnchanged() {
  const s = scenarios.find((x) => x.file === currentFile);
  return !s || s.text === editor.getText();
}

// Show lesson `index`; when `follow`, also load its first scenario into the
// editor, unless the editor holds edits of the reader's own.
function showLesson(index, follow = false) {
  const i = Math.min(Math.max(0, index), lessons.length - 1);
  const stem = firstStem(lessons[i].body);
  if (follow && stem && editorUnchanged()) loadScenario(stem);
  $('lesson-select').value = String(i);
  renderLesson($('lesson-text'), lessons[i].body, runCommand);
  $('lesson-text').scrollTop = 0;
  $('lesson-prev').disabled = i === 0;
  $('lesson-next').disabled = i === lessons.length - 1;
  for (const b of $('lesson-text').querySelectorAll('button.act')) b.disabled = busy > 0;
}

function setupLessons(md) {
  lessons = splitLessons(md);
  const select = $('lesson-select');
  select.replaceChildren(...lessons.map((l, i) => new Option(l.title, String(i))));
  select.addEventListener('change', () => showLesson(Number(select.value), true));
  $('lesson-prev').addEventListener('click', () => showLesson(Number(select.value) - 1, true));
  $('lesson-next').addEventListener('click', () => showLesson(Number(select.value) + 1, true));
  // Start at the first numbered lesson (the introduction is about the command line).
  const first = lessons.findIndex((l) => firstStem(l.body));
  showLesson(first >= 0 ? first : 0);
  return first >= 0 ? firstStem(lessons[first].body) : null;
}

// ---------------------------------------------------------------- share

async function share() {
  const state = { text: editor.getText(), overrides: currentOverrides(), file: currentFile };
  const encoded = await encodeShare(state);
  history.replaceState(null, '', `#s=${encoded}`);
  const url = location.href;
  let copied = false;
  try {
    await navigator.clipboard.writeText(url);
    copied = true;
  } catch { /* no clipboard permission: the address bar has it */ }
  setStatus($('status'), copied ? 'Link copied: it holds the whole scenario (nothing is uploaded).' : 'The address bar now holds a link to this scenario (nothing is uploaded).');
  return url;
}

async function loadShared(encoded) {
  const { text, overrides, file } = await decodeShare(encoded);
  const seedIndex = overrides.findIndex((o) => /^seed=/.test(o));
  const seed = seedIndex >= 0 ? overrides.splice(seedIndex, 1)[0].slice(5) : '';
  currentFile = file || 'shared.yaml';
  const known = scenarios.find((s) => s.file === currentFile && s.text === text);
  $('scenario').value = known ? known.stem : '';
  setForm({ overrides, seed });
  editor.setText(text);
}

// ---------------------------------------------------------------- start

async function start() {
  $('run').addEventListener('click', () => run());
  $('tab-run').addEventListener('click', () => showTab('run'));
  $('tab-sweep').addEventListener('click', () => showTab('sweep'));
  $('explain-run').addEventListener('click', () => explain());
  $('sweep-run').addEventListener('click', () => sweep());
  $('stop').addEventListener('click', () => runWorker.stop());
  $('share').addEventListener('click', () => share().catch((e) => setStatus($('status'), `Sharing failed: ${e.message}`, true)));
  $('overrides').addEventListener('input', () => editor.relint());
  $('seed').addEventListener('input', () => editor.relint());
  $('scenario').addEventListener('change', () => { if ($('scenario').value) loadScenario($('scenario').value); });
  window.addEventListener('hashchange', () => {
    const encoded = shareFromHash(location.hash);
    if (encoded) loadShared(encoded).catch((e) => setStatus($('status'), `This shared link could not be read: ${e.message}`, true));
  });

  const [scenarioList, md] = await Promise.all([
    fetch('scenarios.json').then((r) => { if (!r.ok) throw new Error(`scenarios.json: HTTP ${r.status}`); return r.json(); }),
    fetch('lessons.md').then((r) => { if (!r.ok) throw new Error(`lessons.md: HTTP ${r.status}`); return r.text(); }),
  ]);
  scenarios = scenarioList;
  const select = $('scenario');
  select.replaceChildren(new Option('(edited or shared)', ''), ...scenarios.map((s) => new Option(s.stem, s.stem)));
  select.options[0].disabled = true;

  const firstLessonStem = setupLessons(md);
  const encoded = shareFromHash(location.hash);
  if (encoded) {
    try {
      await loadShared(encoded);
      return;
    } catch (e) {
      setStatus($('status'), `This shared link could not be read: ${e.message}`, true);
    }
  }
  const stem = scenarios.some((s) => s.stem === firstLessonStem) ? firstLessonStem : 'single-server';
  loadScenario(scenarios.some((s) => s.stem === stem) ? stem : scenarios[0].stem);
}

const started = start();
hooks.ready = Promise.all([wasmReady, started]).then(([version]) => {
  if (!$('status').classList.contains('error')) $('status').textContent = 'Ready. Press Run (or Ctrl+Enter in the editor).';
  return version;
});
hooks.ready.catch(() => {}); // reported in #status below; awaiting code still sees the rejection
started.catch((e) => setStatus($('status'), `The page did not start: ${e.message}`, true));
wasmReady.catch((e) => {
  $('version').textContent = 'not loaded';
  setStatus($('status'), `The simulator did not load: ${e.message}`, true);
});

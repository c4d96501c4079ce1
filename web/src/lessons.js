// docs/lessons.md as a guided sequence: split into lessons at its "## " headings,
// rendered by a small Markdown subset (headings, paragraphs, fenced code, inline
// code, emphasis, links, lists), and every `archsim run|explain|sweep` line of
// a code block parsed into an action the page can perform.

// Split the file into {title, body} lessons. The text before the first "## "
// becomes an introduction lesson.
export function splitLessons(md) {
  const lessons = [];
  let current = { title: 'Introduction', body: [] };
  let inFence = false;
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    if (!inFence && line.startsWith('## ')) {
      lessons.push(current);
      current = { title: line.slice(3).trim(), body: [] };
      continue;
    }
    if (!inFence && line.startsWith('# ') && lessons.length === 0 && current.body.length === 0) {
      continue; // the document's own title
    }
    current.body.push(line);
  }
  lessons.push(current);
  return lessons
    .map((l) => ({ title: l.title, body: l.body.join('\n').trim() }))
    .filter((l) => l.body.length > 0);
}

// Split a command line into words the way a POSIX shell would for the
// simple cases in the lessons: whitespace separates, '…' and "…" quote.
export function shellWords(line) {
  const words = [];
  let word = null;
  let quote = null;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word = word ?? '';
    } else if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

// Flags that need files, a cluster or a terminal: such a command stays text.
const CLI_ONLY = new Set(['--shards', '--tasks', '--emit', '--missing', '--resume', '--shard']);
// Flags about outputs the browser cannot write: dropped, with a note on the button.
const DROPPED = new Set(['--png', '--trace', '--trace-filter', '--format', '--out']);
// Flags the page needs no help with (it always shows explain, the summary, the SLO verdicts).
const IMPLIED = new Set(['--explain', '--quiet', '--check-slo']);
const TAKES_VALUE = new Set(['--set', '--seed', '--duration', '--replications', '--vary', '--trace', '--trace-filter', '--format', '--out', '--shards', '--tasks', '--emit', '--shard']);

// Parse `archsim run|explain|sweep scenarios/X.yaml [flags]` into
// {op, stem, overrides[], seed, replications, vary[], dropped[]}; null when the
// line is not such a command or needs the command line.
export function parseCommand(line) {
  const words = shellWords(line.trim());
  if (words[0] !== 'archsim') return null;
  const op = words[1];
  if (!['run', 'explain', 'sweep'].includes(op)) return null;
  const file = words[2] || '';
  const m = /^scenarios\/([\w.-]+)\.yaml$/.exec(file);
  if (!m) return null;
  const cmd = { op, stem: m[1], overrides: [], seed: null, replications: null, vary: [], dropped: [] };
  for (let i = 3; i < words.length; i++) {
    const flag = words[i];
    const value = TAKES_VALUE.has(flag) ? words[++i] : undefined;
    if (CLI_ONLY.has(flag)) return null;
    if (DROPPED.has(flag)) { cmd.dropped.push(flag); continue; }
    if (IMPLIED.has(flag)) continue;
    switch (flag) {
      case '--set': cmd.overrides.push(value); break;
      case '--seed': cmd.seed = value; break;
      case '--duration': cmd.overrides.push(`duration=${value}`); break;
      case '--replications': cmd.replications = value; break;
      case '--vary': cmd.vary.push(value); break;
      default: return null; // a flag this page does not know: leave it to the command line
    }
    if (value === undefined) return null;
  }
  return cmd;
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// Inline Markdown: `code`, **strong**, *em*, [text](url). Code spans are cut out
// first so that their contents stay literal.
function inline(text) {
  const parts = text.split(/(`[^`]*`)/);
  return parts.map((part) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length >= 2) {
      return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
    }
    let s = escapeHtml(part);
    s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
    s = s.replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, '$1<em>$2</em>');
    s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (all, label, url) =>
      /^https?:\/\//.test(url) ? `<a href="${url}" target="_blank" rel="noopener">${label}</a>` : label);
    return s;
  }).join('');
}

// Render one lesson's Markdown into `container`. `onCommand(cmd)` is called when
// one of the command buttons is pressed.
export function renderLesson(container, body, onCommand) {
  container.replaceChildren();
  const lines = body.split('\n');
  let i = 0;
  let html = '';
  const commands = []; // filled while building the HTML, wired to buttons afterwards
  const flushPara = (para) => { if (para.length) html += `<p>${inline(para.join(' '))}</p>`; };
  let para = [];
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith('```')) {
      flushPara(para); para = [];
      const code = [];
      i++;
      while (i < lines.length && !lines[i].startsWith('```')) code.push(lines[i++]);
      i++; // the closing fence
      html += '<div class="code-block">';
      const plain = [];
      let cliOnly = false;
      const flushPlain = () => {
        if (plain.length) html += `<pre><code>${escapeHtml(plain.join('\n'))}</code></pre>`;
        plain.length = 0;
      };
      for (const c of code) {
        const cmd = parseCommand(c);
        if (cmd) {
          flushPlain();
          const note = cmd.dropped.length ? ` (here without ${cmd.dropped.join(', ')}: a command-line output)` : '';
          html += `<button type="button" class="cmd act" data-cmd="${commands.length}" title="Load ${escapeHtml(cmd.stem)} with these settings and ${cmd.op} it${escapeHtml(note)}">`
            + `<span class="cmd-op">▶ ${cmd.op}</span><code>${escapeHtml(c.trim())}</code></button>`;
          commands.push(cmd);
        } else {
          if (/^\s*archsim\s/.test(c)) cliOnly = true;
          plain.push(c);
        }
      }
      flushPlain();
      if (cliOnly) html += '<p class="cli-note">Command line only: this playground runs, explains and sweeps, but does not plan, shard or write job files.</p>';
      html += '</div>';
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flushPara(para); para = [];
      const level = Math.min(6, heading[1].length + 1);
      html += `<h${level}>${inline(heading[2])}</h${level}>`;
      i++;
      continue;
    }
    const item = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(line);
    if (item) {
      flushPara(para); para = [];
      const ordered = /\d/.test(item[1]);
      const items = [];
      while (i < lines.length) {
        const m = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(lines[i]);
        if (m) { items.push(m[2]); i++; continue; }
        // a continuation line of the item before (indented, not blank)
        if (lines[i].trim() && /^\s+/.test(lines[i]) && items.length) { items[items.length - 1] += ' ' + lines[i].trim(); i++; continue; }
        break;
      }
      const tag = ordered ? 'ol' : 'ul';
      html += `<${tag}>${items.map((t) => `<li>${inline(t)}</li>`).join('')}</${tag}>`;
      continue;
    }
    if (!line.trim()) { flushPara(para); para = []; i++; continue; }
    para.push(line.trim());
    i++;
  }
  flushPara(para);
  container.innerHTML = html;
  for (const button of container.querySelectorAll('button[data-cmd]')) {
    const cmd = commands[Number(button.dataset.cmd)];
    button.addEventListener('click', () => onCommand(cmd));
  }
  return commands;
}

// The scenario stem of a lesson's first runnable command, if any.
export function firstStem(body) {
  for (const line of body.split('\n')) {
    const cmd = parseCommand(line);
    if (cmd) return cmd.stem;
  }
  return null;
}

// The CodeMirror 6 editor: YAML highlighting, the usual keys, and lint
// diagnostics from archsim's own `check` (the same file:line:column messages
// as `archsim validate`).
import { EditorState, StateEffect } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching, foldGutter } from '@codemirror/language';
import { yaml } from '@codemirror/lang-yaml';
import { linter, lintGutter } from '@codemirror/lint';

// Dispatched when something besides the text changes the check (the overrides):
// the linter then runs again (after its delay) on the same text.
const relintEffect = StateEffect.define();

// Turn archsim's 1-based line and column into a document range: from the
// column to the end of the word there (or one character, at least).
export function errorRange(doc, line, col) {
  if (line == null) return { from: 0, to: 0 };
  const l = doc.line(Math.min(Math.max(1, line), doc.lines));
  const from = Math.min(l.from + Math.max(0, (col ?? 1) - 1), l.to);
  const word = /^[^\s:,[\]{}#]+/.exec(l.text.slice(from - l.from));
  let to = word ? from + word[0].length : from;
  if (to === from && from < l.to) to = from + 1;
  if (to === from && from > l.from) return { from: from - 1, to };
  return { from, to };
}

// lint(text) returns a Promise of archsim's error list ([] when valid);
// onRun() is called on Ctrl/Cmd+Enter.
export function createEditor(parent, { lint, onRun, label }) {
  const source = async (view) => {
    const doc = view.state.doc;
    const errors = await lint(doc.toString());
    if (view.state.doc !== doc) return []; // edited meanwhile: the next lint will tell
    return errors
      .filter((e) => e.line != null)
      .map((e) => ({ ...errorRange(doc, e.line, e.col), severity: 'error', message: e.message, source: 'archsim' }));
  };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: '',
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        foldGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        yaml(),
        lintGutter(),
        linter(source, {
          delay: 300,
          needsRefresh: (update) => update.transactions.some((tr) => tr.effects.some((e) => e.is(relintEffect))),
        }),
        keymap.of([
          { key: 'Mod-Enter', run: () => { onRun(); return true; } },
          indentWithTab,
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        EditorView.contentAttributes.of({ 'aria-label': label }),
        EditorView.lineWrapping,
      ],
    }),
  });
  return {
    view,
    getText: () => view.state.doc.toString(),
    setText: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 }, scrollIntoView: true }),
    relint: () => view.dispatch({ effects: relintEffect.of(null) }),
  };
}

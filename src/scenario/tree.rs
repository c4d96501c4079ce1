//! A located YAML tree for scenario files.
//!
//! Scenario errors should read like a compiler's: `file:line:column`, the
//! dotted path of the offending field and a source snippet. serde-saphyr parses
//! the YAML (anchors, aliases, `<<` merges, duplicate-key rejection and
//! resource budgets come from it) into a [`Node`] tree that remembers where
//! every key and value came from. `--set PATH=VALUE` overrides are applied to
//! that tree ([`apply_override`]), and typed structs are then deserialized from
//! it ([`from_node`]) by a deserializer that knows the path and origin of every
//! node, so that each error can be pinned to a place in the file or to the
//! `--set` that introduced the value.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, Expected, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use unicode_width::UnicodeWidthStr;

/// Where a node came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A position in the scenario file; `line` and `col` are 1-based and `col`
    /// counts characters, not bytes.
    File {
        /// 1-based line number.
        line: u32,
        /// 1-based column, in characters.
        col: u32,
    },
    /// The value of a `--set` override; `index` is its 0-based position on the
    /// command line.
    Override {
        /// 0-based position of the `--set` among all overrides.
        index: usize,
    },
    /// No location is known.
    Unknown,
}

/// A YAML value together with its origin.
#[derive(Clone, Debug)]
pub struct Node {
    /// Where the value came from. For a value reached through an alias or a
    /// `<<` merge this is where it is *defined* (the anchored text), because
    /// that is the text the user has to edit.
    pub origin: Origin,
    /// The value itself.
    pub value: Value,
}

/// The value of a [`Node`].
#[derive(Clone, Debug)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i128),
    /// A floating-point number (also integers too large for `i64`).
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order (keys merged with `<<` come after the
    /// mapping's own keys).
    Map(Vec<(Key, Node)>),
}

/// A mapping key together with its origin.
#[derive(Clone, Debug)]
pub struct Key {
    /// The key's text; non-string scalar keys (`1:`, `true:`) are stored as
    /// their text.
    pub name: String,
    /// Where the key came from.
    pub origin: Origin,
}

/// A located problem in an input; `Display` renders it for humans.
///
/// Rendered forms:
///
/// ```text
/// error: scenario.yaml:12:12: components.api.cores: expected a positive integer, found 0
///    |
/// 12 |     cores: 0
///    |            ^
/// ```
///
/// `error: --set #2 (components.api.cores=0): components.api.cores: <message>`
/// for override origins (numbered from 1, as a person counts them), and
/// `error: scenario.yaml: <path>: <message>` when the origin is unknown.
#[derive(Clone, Debug, thiserror::Error)]
pub struct SourceError {
    /// The file name shown to the user.
    pub file: String,
    /// Where the problem is.
    pub origin: Origin,
    /// Dotted path of the offending field, if known; an empty path is not shown.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The text of the line `origin` points to (for [`Origin::File`]).
    pub source_line: Option<String>,
    /// The `--set` texts (`PATH=VALUE`), shown for [`Origin::Override`].
    pub overrides: Vec<String>,
}

impl SourceError {
    /// Builds an error, taking the offending line from `text` for
    /// [`Origin::File`] origins.
    pub fn new(
        file: &str,
        text: &str,
        origin: Origin,
        path: Option<String>,
        message: String,
        overrides: &[String],
    ) -> Self {
        let source_line = match origin {
            Origin::File { line, .. } if line > 0 => text
                .lines()
                .nth(line as usize - 1)
                .map(|l| l.trim_end_matches('\r').to_owned()),
            _ => None,
        };
        SourceError {
            file: file.to_owned(),
            origin,
            path,
            message,
            source_line,
            overrides: overrides.to_vec(),
        }
    }
}

/// Most characters of the offending line a snippet shows; a longer line is
/// cut to a window around the column, with `…` where text is left out.
pub const SNIPPET_CHARS: usize = 100;

/// Longest run of non-blank characters a message or field path shows whole;
/// longer ones (a huge key or value echoed back) keep their two ends.
pub const MESSAGE_WORD_CHARS: usize = 120;

/// Most characters of a message shown; the rest is replaced by a count.
pub const MESSAGE_CHARS: usize = 2_000;

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages and source lines can carry user text (key names, scalar
        // values); escaping control characters keeps them from driving the
        // terminal, and eliding long runs keeps a huge value from flooding it.
        let shown = |text: &str| sanitize(&elide(text), false).into_owned();
        let file = shown(&self.file);
        match &self.origin {
            Origin::File { line, col } => write!(f, "error: {file}:{line}:{col}: ")?,
            Origin::Override { index } => match self.overrides.get(*index) {
                // A full label (`--seed 3`, `--set #2 (…)`, `sweep point (…)`) as the caller made it.
                Some(text) if text.starts_with("--") || text.starts_with("sweep ") => {
                    write!(f, "error: {}: ", shown(text))?
                }
                Some(text) => write!(f, "error: --set #{} ({}): ", index + 1, shown(text))?,
                None => write!(f, "error: --set #{}: ", index + 1)?,
            },
            Origin::Unknown => write!(f, "error: {file}: ")?,
        }
        if let Some(path) = self.path.as_deref().filter(|p| !p.is_empty()) {
            write!(f, "{}: ", shown(path))?;
        }
        f.write_str(&shown(&self.message))?;

        if let (Origin::File { line, col }, Some(src)) = (&self.origin, &self.source_line) {
            let number = line.to_string();
            let gutter = " ".repeat(number.len() + 1);
            let (snippet, pad) = snippet(src, (*col).max(1) as usize - 1);
            write!(f, "\n{gutter}|\n{number} | {snippet}\n{gutter}| {pad}^")?;
        }
        Ok(())
    }
}

/// The part of `src` a snippet shows (escaped, cut to [`SNIPPET_CHARS`]
/// around character `col0`, 0-based) and the padding that puts a caret
/// under that character.
fn snippet(src: &str, col0: usize) -> (String, String) {
    let total = src.chars().count();
    let (start, end) = if total <= SNIPPET_CHARS {
        (0, total)
    } else {
        let start = col0.saturating_sub(SNIPPET_CHARS / 2).min(total - SNIPPET_CHARS);
        (start, start + SNIPPET_CHARS)
    };
    let window: String = src.chars().skip(start).take(end - start).collect();
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.push_str(&sanitize(&window, true));
    if end < total {
        shown.push('…');
    }
    (shown, caret_pad(&window, col0.saturating_sub(start), start > 0))
}

/// Blanks as wide as the first `n` characters of `window` as a terminal
/// draws them (past its end: one column each), after the leading `…` when
/// `cut`. Tabs are copied so the caret lines up however wide the terminal
/// draws them; escaped characters take the width of their escape; other text
/// its display width (two columns for CJK and most emoji, none for combining
/// marks), measured run by run so that sequences such as an emoji with a
/// presentation selector count as the terminal shows them.
fn caret_pad(window: &str, n: usize, cut: bool) -> String {
    let mut pad = String::new();
    if cut {
        pad.push(' ');
    }
    let spaces = |pad: &mut String, k: usize| pad.extend(std::iter::repeat_n(' ', k));
    let mut run = String::new();
    for c in window.chars().chain(std::iter::repeat(' ')).take(n) {
        let escaped = needs_escape(c, true);
        if c == '\t' || escaped {
            spaces(&mut pad, run.width());
            run.clear();
        }
        match c {
            '\t' => pad.push('\t'),
            c if escaped => spaces(&mut pad, escape_char(c).chars().count()),
            c => run.push(c),
        }
    }
    spaces(&mut pad, run.width());
    pad
}

/// `text` with every run of more than [`MESSAGE_WORD_CHARS`] non-blank
/// characters cut to its two ends around `…`, and the whole cut to
/// [`MESSAGE_CHARS`] characters.
fn elide(text: &str) -> Cow<'_, str> {
    let long_word = text
        .split(char::is_whitespace)
        .any(|w| w.len() > MESSAGE_WORD_CHARS && w.chars().count() > MESSAGE_WORD_CHARS);
    if !long_word && text.len() <= MESSAGE_CHARS {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let n = word.chars().count();
        if n > MESSAGE_WORD_CHARS {
            let head = MESSAGE_WORD_CHARS * 2 / 3;
            let tail = MESSAGE_WORD_CHARS - head - 1;
            out.extend(word.chars().take(head));
            out.push('…');
            out.extend(word.chars().skip(n - tail));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    let n = out.chars().count();
    if n > MESSAGE_CHARS {
        let mut cut: String = out.chars().take(MESSAGE_CHARS).collect();
        cut.push_str(&format!("… ({} more characters)", n - MESSAGE_CHARS));
        out = cut;
    }
    Cow::Owned(out)
}

/// A deserialization error pinned to the node where it happened.
#[derive(Clone, Debug)]
pub struct PathError {
    /// Dotted path of the offending node (`""` for the root).
    pub path: String,
    /// Origin of the offending node (for an unknown field: of its key; for a
    /// missing field: of the enclosing map).
    pub origin: Origin,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for PathError {}

/// Whether `c` is shown escaped in messages: control characters (but a tab
/// when `keep_tabs`), and the invisible marks that reorder or hide text on a
/// terminal (bidirectional overrides and isolates, zero-width characters).
fn needs_escape(c: char, keep_tabs: bool) -> bool {
    if c == '\t' {
        return !keep_tabs;
    }
    super::limits::is_unsafe_char(c)
}

/// How a character of [`needs_escape`] is shown: `\n`, `\u{1b}`, ….
fn escape_char(c: char) -> String {
    let e = c.escape_debug().to_string();
    // escape_debug leaves some format characters as they are.
    if e.chars().count() == 1 {
        c.escape_unicode().to_string()
    } else {
        e
    }
}

/// `text` with the characters of [`needs_escape`] written as `\u{…}`
/// escapes (`\n`, `\t`, … for the common ones).
fn sanitize(text: &str, keep_tabs: bool) -> Cow<'_, str> {
    let bad = |c: char| needs_escape(c, keep_tabs);
    if text.chars().any(bad) {
        Cow::Owned(
            text.chars()
                .map(|c| if bad(c) { escape_char(c) } else { c.to_string() })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Parses YAML text into a located tree.
///
/// An empty document gives a [`Value::Null`] root. Duplicate keys, unknown
/// anchors, several documents and documents that exceed serde-saphyr's default
/// budgets (alias bombs, excessive nesting) are errors.
pub fn parse_yaml(text: &str) -> Result<Node, (Origin, String)> {
    // YAML 1.2 booleans only: with YAML 1.1's `yes`/`no`/`on`/`off`/`y`/`n`,
    // a typeless tree would turn a component named `y` or a value `no` into a
    // boolean before the typed structs ever see the text. Likewise `007`
    // would otherwise become the float 7.0.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<ParsedNode>(text, options)
        .map(|parsed| parsed.0)
        .map_err(|err| convert_saphyr_error(&err))
}

fn origin_of_location(loc: &serde_saphyr::Location) -> Origin {
    if loc.line() == 0 {
        Origin::Unknown
    } else {
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Origin::File {
            line: clamp(loc.line()),
            col: clamp(loc.column().max(1)),
        }
    }
}

fn convert_saphyr_error(err: &serde_saphyr::Error) -> (Origin, String) {
    use serde_saphyr::MessageFormatter as _;
    let origin = err
        .location()
        .map_or(Origin::Unknown, |loc| origin_of_location(&loc));
    // The renderer would add the location and a snippet of its own; the bare
    // message comes from the formatter applied to the innermost error.
    let mut inner = err;
    while let serde_saphyr::Error::AliasError { error, .. } | serde_saphyr::Error::WithSnippet { error, .. } =
        inner
    {
        inner = error;
    }
    let message = serde_saphyr::UserMessageFormatter.format_message(inner);
    (origin, strip_location_text(&message))
}

/// Removes "line N column M: " prefixes and " at line N, column M" suffixes,
/// in case a message embeds the location we already report.
fn strip_location_text(message: &str) -> String {
    let mut msg = message.trim();
    if let Some(rest) = msg.strip_prefix("line ") {
        let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).count();
        let n = digits(rest);
        if n > 0
            && let Some(rest) = rest[n..].strip_prefix(" column ")
        {
            let m = digits(rest);
            if m > 0
                && let Some(rest) = rest[m..].strip_prefix(": ")
            {
                msg = rest;
            }
        }
    }
    if let Some(pos) = msg.rfind(" at line ") {
        let tail = &msg[pos + " at line ".len()..];
        let is_loc = tail
            .split_once(", column ")
            .is_some_and(|(l, c)| is_number(l) && is_number(c));
        if is_loc {
            msg = &msg[..pos];
        }
    }
    msg.to_owned()
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// A node as read from serde-saphyr; `Spanned` supplies the locations.
struct ParsedNode(Node);

impl<'de> Deserialize<'de> for ParsedNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<ParsedValue>::deserialize(deserializer)?;
        Ok(ParsedNode(Node {
            origin: origin_of_location(&spanned.defined),
            value: spanned.value.0,
        }))
    }
}

struct ParsedValue(Value);

impl<'de> Deserialize<'de> for ParsedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParsedValueVisitor)
    }
}

struct ParsedValueVisitor;

impl<'de> Visitor<'de> for ParsedValueVisitor {
    type Value = ParsedValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<ParsedValue, D::Error> {
        ParsedValue::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Int(i128::from(v))))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParsedValue, E> {
        // Kept exactly: seeds and key counts use the whole u64 range.
        Ok(ParsedValue(Value::Int(i128::from(v))))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Int(v)))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<ParsedValue, E> {
        Ok(ParsedValue(
            i128::try_from(v).map_or(Value::Float(v as f64), Value::Int),
        ))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Float(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Str(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<ParsedValue, E> {
        Ok(ParsedValue(Value::Str(v)))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ParsedValue, E> {
        match std::str::from_utf8(v) {
            Ok(s) => Ok(ParsedValue(Value::Str(s.to_owned()))),
            Err(_) => Err(E::custom("binary data that is not UTF-8 is not supported")),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ParsedValue, A::Error> {
        let mut items = Vec::new();
        while let Some(ParsedNode(node)) = seq.next_element()? {
            items.push(node);
        }
        Ok(ParsedValue(Value::Seq(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParsedValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<ParsedKey>>()? {
            let ParsedNode(value) = map.next_value()?;
            let key = Key {
                name: key.value.0,
                origin: origin_of_location(&key.defined),
            };
            entries.push((key, value));
        }
        Ok(ParsedValue(Value::Map(entries)))
    }
}

/// A mapping key as text.
struct ParsedKey(String);

impl<'de> Deserialize<'de> for ParsedKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = ParsedKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string mapping key")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ParsedKey, E> {
                Ok(ParsedKey(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<ParsedKey, E> {
                Ok(ParsedKey(v))
            }
        }

        // Asking for a string gets the key exactly as written (`1.50`, `0x10`)
        // rather than the number YAML would read it as.
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Text of a float that still reads as a float (`1.0`, not `1`).
fn float_text(v: f64) -> String {
    format!("{v:?}")
}

// ---------------------------------------------------------------------------
// Overrides
// ---------------------------------------------------------------------------

/// Applies one `--set PATH=VALUE` override to the tree.
///
/// `path` is dotted; a numeric segment indexes into a sequence
/// (`faults.0.at`), any other segment names a map key. Missing map keys along
/// the way are created as maps, and a `null` on the way is treated as an empty
/// map. Setting a key replaces its whole subtree. `value_yaml` is parsed as
/// YAML and every node of it gets [`Origin::Override`]`{ index }`.
pub fn apply_override(root: &mut Node, path: &str, value_yaml: &str, index: usize) -> Result<(), String> {
    if path.is_empty() {
        return Err("invalid --set: the path before `=` is empty".to_owned());
    }
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("invalid --set path `{path}`: empty path segment"));
    }
    let mut value =
        parse_yaml(value_yaml).map_err(|(_, msg)| format!("invalid --set value for `{path}`: {msg}"))?;
    let origin = Origin::Override { index };
    set_origin(&mut value, &origin);

    let mut value = Some(value);
    let mut cur = root;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let here = || {
            if i == 0 {
                "the document root".to_owned()
            } else {
                format!("`{}`", segments[..i].join("."))
            }
        };
        if matches!(cur.value, Value::Null) {
            cur.value = Value::Map(Vec::new());
        }
        let slot = match &mut cur.value {
            Value::Map(entries) => {
                let pos = match entries.iter().position(|(k, _)| k.name == *seg) {
                    Some(pos) => pos,
                    None => {
                        entries.push((
                            Key {
                                name: (*seg).to_owned(),
                                origin: origin.clone(),
                            },
                            Node {
                                origin: origin.clone(),
                                value: Value::Map(Vec::new()),
                            },
                        ));
                        entries.len() - 1
                    }
                };
                &mut entries[pos].1
            }
            Value::Seq(items) => {
                let Ok(idx) = seg.parse::<usize>() else {
                    return Err(format!(
                        "cannot set `{path}`: {} is a sequence, so `{seg}` must be an index",
                        here()
                    ));
                };
                let len = items.len();
                match items.get_mut(idx) {
                    Some(item) => item,
                    None => {
                        return Err(format!(
                            "cannot set `{path}`: index {idx} is out of range, {} has {len} element{}",
                            here(),
                            if len == 1 { "" } else { "s" }
                        ));
                    }
                }
            }
            other => {
                return Err(format!(
                    "cannot set `{path}`: {} is {}, not a map or a sequence",
                    here(),
                    kind_name(other)
                ));
            }
        };
        if last {
            if let Some(value) = value.take() {
                *slot = value;
            }
            return Ok(());
        }
        cur = slot;
    }
    Ok(())
}

fn set_origin(node: &mut Node, origin: &Origin) {
    node.origin = origin.clone();
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| set_origin(n, origin)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, n)| {
            k.origin = origin.clone();
            set_origin(n, origin);
        }),
        _ => {}
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a sequence",
        Value::Map(_) => "a map",
    }
}

/// Origin of the deepest node that exists along the dotted `path` (the root's
/// if not even the first segment exists). Numeric segments index sequences.
pub fn locate<'a>(root: &'a Node, path: &str) -> &'a Origin {
    &deepest(root, path).0.origin
}

/// Origin of the key `key` of the map at the dotted `parent` path (for a
/// problem with a name itself rather than with its value); where that map or
/// key does not exist, as [`locate`] of `parent`.
pub fn locate_key<'a>(root: &'a Node, parent: &str, key: &str) -> &'a Origin {
    let (node, whole) = deepest(root, parent);
    if whole
        && let Value::Map(entries) = &node.value
        && let Some((k, _)) = entries.iter().find(|(k, _)| k.name == key)
    {
        return &k.origin;
    }
    &node.origin
}

/// The deepest node along `path`, and whether it is the whole path's.
fn deepest<'a>(root: &'a Node, path: &str) -> (&'a Node, bool) {
    let mut node = root;
    if path.is_empty() {
        return (node, true);
    }
    for seg in path.split('.') {
        let next = match &node.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == seg).map(|e| &e.1),
            Value::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return (node, false),
        }
    }
    (node, true)
}

// ---------------------------------------------------------------------------
// Deserialization from the tree
// ---------------------------------------------------------------------------

/// Deserializes a typed value from the tree.
///
/// Errors carry the dotted path and origin of the innermost node involved.
/// Besides serde's usual data model, enums accept three spellings: a plain
/// string (`lru`, for unit variants, or for variants whose content can be an
/// empty map), a map with a string `kind` key whose other keys are the
/// variant's content (`{kind: service, replicas: 3}`), and a single-key map
/// (`{service: {replicas: 3}}`).
///
/// An error raised by a visitor itself (not by a nested value) is pinned to
/// the node the visitor was reading — or, for a map visitor that fails after
/// reading a key but before reading its value, to that key. A value checked
/// inside its own `Deserialize` impl gets the value's own location.
pub fn from_node<T: DeserializeOwned>(root: &Node) -> Result<T, PathError> {
    T::deserialize(NodeDe::new(root, "")).map_err(|err| {
        let err = err.at("", &root.origin);
        let (path, origin) = err.at.unwrap_or((String::new(), Origin::Unknown));
        PathError {
            path,
            origin,
            message: err.message,
        }
    })
}

/// Error of the tree deserializer; `at` is filled by the innermost place that
/// knows which node was being read.
#[derive(Debug)]
struct DeError {
    message: String,
    at: Option<(String, Origin)>,
}

impl DeError {
    fn new(message: String) -> Self {
        DeError { message, at: None }
    }

    fn at(mut self, path: &str, origin: &Origin) -> Self {
        if self.at.is_none() {
            self.at = Some((path.to_owned(), origin.clone()));
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        DeError::new(format!(
            "expected {}, found {}",
            describe_expected(exp),
            describe_unexpected(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::invalid_type(unexp, exp)
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        DeError::new(format!(
            "expected {}, found {len} element{}",
            describe_expected(exp),
            if len == 1 { "" } else { "s" }
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(unknown_name("variant", variant, expected))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(unknown_name("field", field, expected))
    }

    fn missing_field(field: &'static str) -> Self {
        // A hint for the fields learners most often leave out.
        let hint = match field {
            "backend" => {
                "; a cache needs `backend: NAME`, the database or service it caches (its misses are read there)"
            }
            "origin" => "; a CDN needs `origin: NAME`, the component its edges fetch from",
            "backends" => {
                "; a load balancer needs `backends: NAME`, the service whose replicas it spreads requests over"
            }
            "consumer" => "; a queue needs `consumer: NAME`, the service that processes its messages",
            "target" => "; name the component with `target: NAME`",
            "service_time" => "; a service needs `service_time`, e.g. `{ exponential: 10ms }`",
            "algorithm" => {
                "; a load balancer needs `algorithm`, e.g. `round_robin`, `least_connections` or `power_of_two`"
            }
            "read_time" => {
                "; a database needs `read_time`, e.g. `{ exponential: 2ms }` (`write_time` defaults to it)"
            }
            _ => "",
        };
        DeError::new(format!("missing field `{field}`{hint}"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        DeError::new(format!("duplicate field `{field}`"))
    }
}

fn unknown_name(what: &str, name: &str, expected: &[&str]) -> String {
    let mut msg = format!("unknown {what} `{name}`");
    if expected.is_empty() {
        msg.push_str(&format!(", there are no {what}s"));
        return msg;
    }
    msg.push_str(", expected ");
    if expected.len() > 1 {
        msg.push_str("one of ");
    }
    msg.push_str(&backticked(expected));
    if let Some(best) = closest(name, expected) {
        msg.push_str(&format!(" (did you mean `{best}`?)"));
    }
    msg
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Edit distance between two names, in characters: optimal string
/// alignment, which counts swapping two neighbouring characters as one edit
/// (`nmae` for `name` is a typical typo) and edits no substring twice.
fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// The candidate within a small edit distance of `name`, for "did you mean".
fn closest<'e>(name: &str, candidates: &[&'e str]) -> Option<&'e str> {
    let len = name.chars().count();
    let limit = (len / 3).clamp(1, 3);
    candidates
        .iter()
        // The distance is at least the difference in length: skipping those
        // keeps a huge unknown key from costing its length × every candidate.
        .filter(|c| len.abs_diff(c.chars().count()) <= limit)
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Rewrites serde's Rust-flavoured expectations (`u32`, `struct Foo`) in
/// words a scenario author understands.
fn describe_expected(exp: &dyn Expected) -> String {
    let text = exp.to_string();
    let fixed = match text.as_str() {
        "u8" => "an integer between 0 and 255",
        "u16" => "an integer between 0 and 65535",
        "u32" => "an integer between 0 and 4294967295",
        "u64" | "u128" | "usize" => "a non-negative integer",
        "i8" => "an integer between -128 and 127",
        "i16" => "an integer between -32768 and 32767",
        "i32" => "an integer between -2147483648 and 2147483647",
        "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "unit" => "null",
        "char" => "a single character",
        "option" => "a value or null",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_owned();
    }
    if text.starts_with("struct ") || text.starts_with("struct variant ") {
        "a map".to_owned()
    } else if text.starts_with("tuple struct ") || text.starts_with("tuple variant ") {
        "a sequence".to_owned()
    } else if text.starts_with("unit struct ") {
        "null".to_owned()
    } else {
        text
    }
}

fn describe_unexpected(unexp: &Unexpected<'_>) -> String {
    match unexp {
        Unexpected::Bool(b) => b.to_string(),
        Unexpected::Unsigned(n) => n.to_string(),
        Unexpected::Signed(n) => n.to_string(),
        Unexpected::Float(f) => float_text(*f),
        Unexpected::Char(c) => format!("character {c:?}"),
        Unexpected::Str(s) => {
            let short: String = s.chars().take(60).collect();
            let ellipsis = if short.len() < s.len() { "…" } else { "" };
            format!("string \"{short}{ellipsis}\"")
        }
        Unexpected::Bytes(_) => "bytes".to_owned(),
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Option => "an optional value".to_owned(),
        Unexpected::NewtypeStruct => "a newtype struct".to_owned(),
        Unexpected::Seq => "a sequence".to_owned(),
        Unexpected::Map => "a map".to_owned(),
        Unexpected::Enum => "an enum".to_owned(),
        Unexpected::UnitVariant => "a unit variant".to_owned(),
        Unexpected::NewtypeVariant => "a newtype variant".to_owned(),
        Unexpected::TupleVariant => "a tuple variant".to_owned(),
        Unexpected::StructVariant => "a struct variant".to_owned(),
        Unexpected::Other(other) => (*other).to_owned(),
    }
}

fn join_path(parent: &str, segment: &str) -> String {
    if parent.is_empty() {
        segment.to_owned()
    } else {
        format!("{parent}.{segment}")
    }
}

/// What a [`NodeDe`] presents: a node's value, or a map with one entry hidden
/// (the `kind` tag of an internally tagged enum), or an empty map (content of
/// an enum variant given as a plain string).
#[derive(Clone, Copy)]
enum Shape<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'a str),
    Seq(&'a [Node]),
    Map {
        entries: &'a [(Key, Node)],
        skip: Option<usize>,
    },
}

impl<'a> Shape<'a> {
    fn of(value: &'a Value) -> Self {
        match value {
            Value::Null => Shape::Null,
            Value::Bool(b) => Shape::Bool(*b),
            Value::Int(i) => Shape::Int(*i),
            Value::Float(f) => Shape::Float(*f),
            Value::Str(s) => Shape::Str(s),
            Value::Seq(items) => Shape::Seq(items),
            Value::Map(entries) => Shape::Map { entries, skip: None },
        }
    }

    fn unexpected(&self) -> Unexpected<'a> {
        match *self {
            Shape::Null => Unexpected::Unit,
            Shape::Bool(b) => Unexpected::Bool(b),
            Shape::Int(i) => match (u64::try_from(i), i64::try_from(i)) {
                (Ok(u), _) => Unexpected::Unsigned(u),
                (_, Ok(s)) => Unexpected::Signed(s),
                _ => Unexpected::Float(i as f64),
            },
            Shape::Float(f) => Unexpected::Float(f),
            Shape::Str(s) => Unexpected::Str(s),
            Shape::Seq(_) => Unexpected::Seq,
            Shape::Map { .. } => Unexpected::Map,
        }
    }
}

/// Deserializer over one node; `path` is the node's dotted path.
struct NodeDe<'a, 'p> {
    shape: Shape<'a>,
    origin: &'a Origin,
    path: &'p str,
}

impl<'a, 'p> NodeDe<'a, 'p> {
    fn new(node: &'a Node, path: &'p str) -> Self {
        NodeDe {
            shape: Shape::of(&node.value),
            origin: &node.origin,
            path,
        }
    }

    fn mismatch<V: Visitor<'a>>(&self, visitor: &V) -> DeError {
        de::Error::invalid_type(self.shape.unexpected(), visitor)
    }

    fn any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Null => visitor.visit_unit(),
            Shape::Bool(b) => visitor.visit_bool(b),
            // The serde_json convention: non-negative integers as u64, the
            // rest as i64; serde's primitive visitors range-check both.
            Shape::Int(i) => match (u64::try_from(i), i64::try_from(i)) {
                (Ok(u), _) => visitor.visit_u64(u),
                (_, Ok(s)) => visitor.visit_i64(s),
                _ => visitor.visit_i128(i),
            },
            Shape::Float(f) => visitor.visit_f64(f),
            Shape::Str(s) => visitor.visit_borrowed_str(s),
            Shape::Seq(items) => self.seq_of(items, visitor),
            Shape::Map { entries, skip } => self.map_of(entries, skip, visitor),
        }
    }

    fn seq_of<V: Visitor<'a>>(&self, items: &'a [Node], visitor: V) -> Result<V::Value, DeError> {
        let mut access = SeqAcc {
            items: items.iter(),
            index: 0,
            parent: self.path,
            child: String::new(),
        };
        let value = visitor.visit_seq(&mut access)?;
        match access.items.len() {
            0 => Ok(value),
            left => Err(de::Error::invalid_length(
                access.index + left,
                &format!("{} elements", access.index).as_str(),
            )),
        }
    }

    fn map_of<V: Visitor<'a>>(
        &self,
        entries: &'a [(Key, Node)],
        skip: Option<usize>,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let mut access = MapAcc {
            entries,
            skip,
            next: 0,
            current: None,
            parent: self.path,
            child: String::new(),
        };
        // Hand-written visitors often read a key and reject it before asking
        // for its value (`unknown_field`, `duplicate_field`, "only one key
        // allowed"); such an error is about that key, not the whole map.
        visitor.visit_map(&mut access).map_err(|e| match access.current {
            Some((key, _)) => e.at(&access.child, &key.origin),
            None => e,
        })
    }

    fn float<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Int(i) => visitor.visit_f64(i as f64),
            Shape::Float(f) => visitor.visit_f64(f),
            _ => self.any(visitor),
        }
    }

    fn text<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Str(s) => visitor.visit_borrowed_str(s),
            Shape::Int(i) => visitor.visit_string(i.to_string()),
            Shape::Float(f) => visitor.visit_string(float_text(f)),
            Shape::Bool(b) => visitor.visit_string(b.to_string()),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Str(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            Shape::Seq(items) => self.seq_of(items, visitor),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Null => visitor.visit_unit(),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn unit_struct<V: Visitor<'a>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.unit(visitor)
    }

    fn newtype_struct<V: Visitor<'a>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Seq(items) => self.seq_of(items, visitor),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn tuple<V: Visitor<'a>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.seq(visitor)
    }

    fn tuple_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.seq(visitor)
    }

    fn map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.shape {
            Shape::Map { entries, skip } => self.map_of(entries, skip, visitor),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn struct_<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.map(visitor)
    }

    fn ignored<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn enum_<V: Visitor<'a>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let expected = || {
            DeError::new(format!(
                "expected one of {} — as a plain string, as a map with `kind: <variant>`, \
                 or as a single-key map `<variant>: ...`; found {}",
                backticked(variants),
                describe_unexpected(&self.shape.unexpected())
            ))
        };
        match self.shape {
            Shape::Str(name) => visitor.visit_enum(EnumAcc {
                variant: name,
                variant_origin: self.origin,
                variant_path: self.path.to_owned(),
                content: Content::Bare,
                content_origin: self.origin,
                content_path: self.path.to_owned(),
            }),
            Shape::Map { entries, skip } => {
                let live = || entries.iter().enumerate().filter(move |(i, _)| Some(*i) != skip);
                if let Some((kind_index, (_, tag))) = live().find(|(_, (k, _))| k.name == "kind") {
                    let kind_path = join_path(self.path, "kind");
                    match &tag.value {
                        Value::Str(name) => {
                            return visitor.visit_enum(EnumAcc {
                                variant: name,
                                variant_origin: &tag.origin,
                                variant_path: kind_path,
                                content: Content::Rest {
                                    entries,
                                    skip: kind_index,
                                },
                                content_origin: self.origin,
                                content_path: self.path.to_owned(),
                            });
                        }
                        // A variant really named `kind` may still be meant in
                        // the single-key form below.
                        _ if !variants.contains(&"kind") => {
                            return Err(DeError::new(format!(
                                "`kind` must be a string naming one of {}, found {}",
                                backticked(variants),
                                describe_unexpected(&Shape::of(&tag.value).unexpected())
                            ))
                            .at(&kind_path, &tag.origin));
                        }
                        _ => {}
                    }
                }
                let mut iter = live();
                match (iter.next(), iter.next()) {
                    (Some((_, (key, value))), None) => {
                        let path = join_path(self.path, &key.name);
                        visitor.visit_enum(EnumAcc {
                            variant: &key.name,
                            variant_origin: &key.origin,
                            variant_path: path.clone(),
                            content: Content::Node(value),
                            content_origin: &value.origin,
                            content_path: path,
                        })
                    }
                    _ => Err(expected()),
                }
            }
            _ => Err(expected()),
        }
    }
}

/// Generates `Deserializer` methods that call the inherent method of the
/// same role and pin any error that is not located yet to this node.
macro_rules! located_methods {
    ($($method:ident => $inner:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
                let (path, origin) = (self.path, self.origin);
                self.$inner($($arg,)* visitor).map_err(|e| e.at(path, origin))
            }
        )*
    };
}

impl<'de> Deserializer<'de> for NodeDe<'de, '_> {
    type Error = DeError;

    located_methods! {
        deserialize_any => any();
        deserialize_bool => any();
        deserialize_i8 => any();
        deserialize_i16 => any();
        deserialize_i32 => any();
        deserialize_i64 => any();
        deserialize_i128 => any();
        deserialize_u8 => any();
        deserialize_u16 => any();
        deserialize_u32 => any();
        deserialize_u64 => any();
        deserialize_u128 => any();
        deserialize_f32 => float();
        deserialize_f64 => float();
        deserialize_char => text();
        deserialize_str => text();
        deserialize_string => text();
        deserialize_identifier => text();
        deserialize_bytes => bytes();
        deserialize_byte_buf => bytes();
        deserialize_option => option();
        deserialize_unit => unit();
        deserialize_unit_struct => unit_struct(name: &'static str);
        deserialize_newtype_struct => newtype_struct(name: &'static str);
        deserialize_seq => seq();
        deserialize_tuple => tuple(len: usize);
        deserialize_tuple_struct => tuple_struct(name: &'static str, len: usize);
        deserialize_map => map();
        deserialize_struct => struct_(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum => enum_(name: &'static str, variants: &'static [&'static str]);
        deserialize_ignored_any => ignored();
    }
}

struct SeqAcc<'a, 'p> {
    items: std::slice::Iter<'a, Node>,
    index: usize,
    parent: &'p str,
    child: String,
}

impl<'de> SeqAccess<'de> for SeqAcc<'de, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        self.child = join_path(self.parent, &self.index.to_string());
        self.index += 1;
        seed.deserialize(NodeDe::new(node, &self.child))
            .map(Some)
            .map_err(|e| e.at(&self.child, &node.origin))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAcc<'a, 'p> {
    entries: &'a [(Key, Node)],
    skip: Option<usize>,
    next: usize,
    /// The entry whose key was read last and whose value was not yet.
    current: Option<(&'a Key, &'a Node)>,
    parent: &'p str,
    child: String,
}

impl<'de> MapAccess<'de> for MapAcc<'de, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        if Some(self.next) == self.skip {
            self.next += 1;
        }
        let Some((key, node)) = self.entries.get(self.next) else {
            self.current = None;
            return Ok(None);
        };
        self.next += 1;
        self.current = Some((key, node));
        self.child = join_path(self.parent, &key.name);
        // An unknown-field error is raised while the derived code reads the
        // key, so the key's own location is the one to report.
        seed.deserialize(KeyDe {
            name: &key.name,
            origin: &key.origin,
            path: &self.child,
        })
        .map(Some)
        .map_err(|e| e.at(&self.child, &key.origin))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((_, node)) = self.current.take() else {
            return Err(DeError::new(
                "internal error: map value requested before its key".to_owned(),
            ));
        };
        seed.deserialize(NodeDe::new(node, &self.child))
            .map_err(|e| e.at(&self.child, &node.origin))
    }

    fn size_hint(&self) -> Option<usize> {
        let left = self.entries.len().saturating_sub(self.next);
        let skipped = self.skip.is_some_and(|s| s >= self.next);
        Some(left - usize::from(skipped))
    }
}

/// Deserializer over a map key (or an enum variant name): a string that can
/// also be read as a number or boolean, for maps keyed by those.
struct KeyDe<'a, 'p> {
    name: &'a str,
    origin: &'a Origin,
    path: &'p str,
}

impl<'a> KeyDe<'a, '_> {
    fn any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.name)
    }

    fn int<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if let Ok(u) = self.name.parse::<u64>() {
            visitor.visit_u64(u)
        } else if let Ok(i) = self.name.parse::<i64>() {
            visitor.visit_i64(i)
        } else {
            self.any(visitor)
        }
    }

    fn float<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.name.parse::<f64>() {
            Ok(f) => visitor.visit_f64(f),
            Err(_) => self.any(visitor),
        }
    }

    fn bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.name {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => self.any(visitor),
        }
    }

    fn option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn newtype_struct<V: Visitor<'a>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn enum_<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_enum(de::value::BorrowedStrDeserializer::<DeError>::new(self.name))
    }

    fn ignored<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

impl<'de> Deserializer<'de> for KeyDe<'de, '_> {
    type Error = DeError;

    located_methods! {
        deserialize_any => any();
        deserialize_bool => bool();
        deserialize_i8 => int();
        deserialize_i16 => int();
        deserialize_i32 => int();
        deserialize_i64 => int();
        deserialize_i128 => int();
        deserialize_u8 => int();
        deserialize_u16 => int();
        deserialize_u32 => int();
        deserialize_u64 => int();
        deserialize_u128 => int();
        deserialize_f32 => float();
        deserialize_f64 => float();
        deserialize_char => any();
        deserialize_str => any();
        deserialize_string => any();
        deserialize_identifier => any();
        deserialize_bytes => any();
        deserialize_byte_buf => any();
        deserialize_option => option();
        deserialize_unit => any();
        deserialize_newtype_struct => newtype_struct(name: &'static str);
        deserialize_seq => any();
        deserialize_map => any();
        deserialize_enum => enum_(name: &'static str, variants: &'static [&'static str]);
        deserialize_ignored_any => ignored();
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }
}

/// Where an enum variant's content comes from.
enum Content<'a> {
    /// The variant was a plain string: its content is an empty map.
    Bare,
    /// The single-key form: the key's value.
    Node(&'a Node),
    /// The `kind` form: the map without its `kind` entry.
    Rest { entries: &'a [(Key, Node)], skip: usize },
}

struct EnumAcc<'a> {
    variant: &'a str,
    variant_origin: &'a Origin,
    variant_path: String,
    content: Content<'a>,
    content_origin: &'a Origin,
    content_path: String,
}

impl<'a> EnumAcc<'a> {
    fn content_de<'p>(&self, path: &'p str) -> NodeDe<'a, 'p> {
        let shape = match self.content {
            Content::Bare => Shape::Map {
                entries: &[],
                skip: None,
            },
            Content::Node(node) => Shape::of(&node.value),
            Content::Rest { entries, skip } => Shape::Map {
                entries,
                skip: Some(skip),
            },
        };
        NodeDe {
            shape,
            origin: self.content_origin,
            path,
        }
    }
}

impl<'de> EnumAccess<'de> for EnumAcc<'de> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let key = KeyDe {
            name: self.variant,
            origin: self.variant_origin,
            path: &self.variant_path,
        };
        match seed.deserialize(key) {
            Ok(value) => Ok((value, self)),
            Err(e) => Err(e.at(&self.variant_path, self.variant_origin)),
        }
    }
}

impl<'de> VariantAccess<'de> for EnumAcc<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        let takes_nothing = |found: &str| {
            DeError::new(format!(
                "variant `{}` takes no value, found {found}",
                self.variant
            ))
        };
        match self.content {
            Content::Bare => Ok(()),
            Content::Node(node) => match &node.value {
                Value::Null => Ok(()),
                Value::Map(entries) if entries.is_empty() => Ok(()),
                other => Err(
                    takes_nothing(&describe_unexpected(&Shape::of(other).unexpected()))
                        .at(&self.content_path, &node.origin),
                ),
            },
            Content::Rest { entries, skip } => match entries.iter().enumerate().find(|(i, _)| *i != skip) {
                None => Ok(()),
                Some((_, (key, _))) => Err(DeError::new(format!(
                    "unknown field `{}`: variant `{}` takes no fields",
                    key.name, self.variant
                ))
                .at(&join_path(&self.content_path, &key.name), &key.origin)),
            },
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let path = self.content_path.as_str();
        seed.deserialize(self.content_de(path))
            .map_err(|e| e.at(path, self.content_origin))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.content_de(&self.content_path)
            .deserialize_tuple(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.content_de(&self.content_path)
            .deserialize_struct("", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn file(line: u32, col: u32) -> Origin {
        Origin::File { line, col }
    }

    fn parse(text: &str) -> Node {
        parse_yaml(text).unwrap_or_else(|e| panic!("parse failed: {e:?}"))
    }

    /// The node at a dotted path (panics if absent).
    fn get<'a>(root: &'a Node, path: &str) -> &'a Node {
        path.split('.').fold(root, |node, seg| match &node.value {
            Value::Map(entries) => {
                &entries
                    .iter()
                    .find(|(k, _)| k.name == seg)
                    .unwrap_or_else(|| panic!("no key {seg} in {path}"))
                    .1
            }
            Value::Seq(items) => &items[seg.parse::<usize>().unwrap()],
            _ => panic!("scalar on the way to {path}"),
        })
    }

    /// The origin of the key at the end of a dotted path.
    fn key_origin(root: &Node, path: &str) -> Origin {
        let (parent, name) = path.rsplit_once('.').map_or(("", path), |(p, n)| (p, n));
        let parent = if parent.is_empty() {
            root
        } else {
            get(root, parent)
        };
        let Value::Map(entries) = &parent.value else {
            panic!("not a map: {parent:?}")
        };
        entries
            .iter()
            .find(|(k, _)| k.name == name)
            .unwrap()
            .0
            .origin
            .clone()
    }

    fn keys(node: &Node) -> Vec<&str> {
        match &node.value {
            Value::Map(entries) => entries.iter().map(|(k, _)| k.name.as_str()).collect(),
            other => panic!("not a map: {other:?}"),
        }
    }

    const LAYOUT: &str = "\
name: demo
defaults: &d
  cores: 2
  mem: 4
components:
  api:
    <<: *d
    mem: 8
  db: { cores: 1, tags: [x, 'y'] }
list:
  - a
  - { x: 1, y: [2, 3.5, ~, true] }
  - k: v
    j: 7
after: *d
1: one
last: 1
";

    #[test]
    fn parse_locates_keys_and_values() {
        let root = parse(LAYOUT);
        assert_eq!(root.origin, file(1, 1));
        assert_eq!(
            keys(&root),
            ["name", "defaults", "components", "list", "after", "1", "last"]
        );
        assert_eq!(key_origin(&root, "name"), file(1, 1));
        assert_eq!(get(&root, "name").origin, file(1, 7));
        assert!(matches!(&get(&root, "name").value, Value::Str(s) if s == "demo"));
        assert_eq!(key_origin(&root, "defaults.cores"), file(3, 3));
        assert_eq!(get(&root, "defaults.cores").origin, file(3, 10));
        // A block map starts at its first key.
        assert_eq!(get(&root, "components").origin, file(6, 3));
        assert_eq!(key_origin(&root, "components.api.mem"), file(8, 5));
        assert_eq!(get(&root, "components.api.mem").origin, file(8, 10));
        // Flow map and flow sequence inside it.
        assert_eq!(get(&root, "components.db").origin, file(9, 7));
        assert_eq!(key_origin(&root, "components.db.cores"), file(9, 9));
        assert_eq!(get(&root, "components.db.cores").origin, file(9, 16));
        assert_eq!(get(&root, "components.db.tags").origin, file(9, 25));
        assert_eq!(get(&root, "components.db.tags.1").origin, file(9, 29));
        // Sequences.
        assert_eq!(get(&root, "list").origin, file(11, 3));
        assert_eq!(get(&root, "list.0").origin, file(11, 5));
        assert_eq!(get(&root, "list.1").origin, file(12, 5));
        assert_eq!(key_origin(&root, "list.1.y"), file(12, 13));
        assert_eq!(get(&root, "list.1.y.1").origin, file(12, 20));
        assert!(matches!(get(&root, "list.1.y.1").value, Value::Float(f) if f == 3.5));
        assert!(matches!(get(&root, "list.1.y.2").value, Value::Null));
        assert!(matches!(get(&root, "list.1.y.3").value, Value::Bool(true)));
        assert_eq!(key_origin(&root, "list.2.j"), file(14, 5));
        assert_eq!(get(&root, "list.2.j").origin, file(14, 8));
        // Non-string keys become their text.
        assert_eq!(key_origin(&root, "1"), file(16, 1));
        // Nodes after the anchor, alias and merge keep their own positions.
        assert_eq!(key_origin(&root, "last"), file(17, 1));
        assert_eq!(get(&root, "last").origin, file(17, 7));
    }

    #[test]
    fn parse_points_aliases_and_merges_at_their_definition() {
        let root = parse(LAYOUT);
        // `<<: *d` merges after the map's own keys; `mem: 8` wins.
        assert_eq!(keys(get(&root, "components.api")), ["mem", "cores"]);
        assert!(matches!(get(&root, "components.api.mem").value, Value::Int(8)));
        assert_eq!(key_origin(&root, "components.api.cores"), file(3, 3));
        assert_eq!(get(&root, "components.api.cores").origin, file(3, 10));
        // A whole aliased map.
        assert_eq!(keys(get(&root, "after")), ["cores", "mem"]);
        assert_eq!(get(&root, "after").origin, file(3, 3));
        assert_eq!(get(&root, "after.mem").origin, file(4, 8));
    }

    #[test]
    fn parse_empty_and_scalar_documents() {
        assert!(matches!(parse("").value, Value::Null));
        assert!(matches!(parse("# nothing\n").value, Value::Null));
        let root = parse("42\n");
        assert!(matches!(root.value, Value::Int(42)));
        assert_eq!(root.origin, file(1, 1));
        let root = parse("x: 9223372036854775807\ny: -3\nz: 0x10\nw: 1.5e3\n");
        assert!(matches!(get(&root, "x").value, Value::Int(9223372036854775807)));
        assert!(matches!(get(&root, "y").value, Value::Int(-3)));
        assert!(matches!(get(&root, "z").value, Value::Int(16)));
        assert!(matches!(get(&root, "w").value, Value::Float(f) if f == 1500.0));
    }

    #[test]
    fn parse_keeps_yaml_1_1_words_and_key_text() {
        let root = parse("y: no\non: off\n1.50: a\n0x10: b\ntrue: c\nzip: 0755\nok: True\n");
        assert_eq!(keys(&root), ["y", "on", "1.50", "0x10", "true", "zip", "ok"]);
        assert!(matches!(&get(&root, "y").value, Value::Str(s) if s == "no"));
        assert!(matches!(&get(&root, "on").value, Value::Str(s) if s == "off"));
        assert!(matches!(&get(&root, "zip").value, Value::Str(s) if s == "0755"));
        assert!(matches!(get(&root, "ok").value, Value::Bool(true)));
    }

    #[test]
    fn parse_counts_columns_in_characters() {
        let root = parse("\"é€\": [1, 2]\n");
        assert_eq!(get(&root, "é€.1").origin, file(1, 11));
    }

    fn parse_err(text: &str) -> (Origin, String) {
        parse_yaml(text).expect_err("expected a parse error")
    }

    fn assert_clean(msg: &str) {
        assert!(!msg.contains("line "), "location left in message: {msg}");
        assert!(!msg.contains('\n'), "snippet left in message: {msg}");
    }

    #[test]
    fn parse_reports_bad_indentation() {
        let (origin, msg) = parse_err("a:\n  b: 1\n   c: 2\n");
        assert_eq!(origin, file(3, 5));
        assert_eq!(msg, "mapping values are not allowed in this context");
    }

    #[test]
    fn parse_reports_unclosed_flow_map() {
        let (origin, msg) = parse_err("a: { b: 1, c: 2\nd: 3\n");
        assert_eq!(origin, file(2, 2));
        assert_clean(&msg);
        assert!(msg.contains("flow mapping"), "{msg}");
    }

    #[test]
    fn parse_rejects_duplicate_keys() {
        let (origin, msg) = parse_err("a: 1\nb:\n  x: 1\n  x: 2\n");
        assert_eq!(origin, file(4, 3));
        assert_eq!(msg, "duplicate mapping key `x` is not allowed here");
    }

    #[test]
    fn parse_reports_other_errors() {
        let (origin, msg) = parse_err("a: *nope\n");
        assert_eq!(origin, file(1, 4));
        assert_clean(&msg);
        let (origin, msg) = parse_err("a: \"open\n");
        assert_eq!(origin, file(1, 4));
        assert_clean(&msg);
        let (origin, msg) = parse_err("a: 1\n---\nb: 2\n");
        assert_eq!(origin, file(3, 1));
        assert_clean(&msg);
        let (origin, msg) = parse_err("? [1, 2]\n: x\n");
        assert!(matches!(origin, Origin::File { line: 1, .. }), "{origin:?}");
        assert_eq!(msg, "expected string scalar");
        let (origin, msg) = parse_err("a: 1\n~: 2\n");
        assert_eq!(origin, file(2, 1));
        assert_eq!(msg, "null is not allowed here");
    }

    #[test]
    fn parse_stops_alias_bombs() {
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let refs = vec![format!("*{}", pair[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
        }
        let started = std::time::Instant::now();
        let (origin, msg) = parse_err(&text);
        assert!(started.elapsed().as_secs() < 10);
        assert!(matches!(origin, Origin::File { .. }), "{origin:?}");
        assert!(msg.contains("too large or too complex"), "{msg}");
        assert_clean(&msg);
    }

    #[test]
    fn edit_distance_counts_swaps_once() {
        assert_eq!(edit_distance("nmae", "name"), 1);
        assert_eq!(edit_distance("capasity", "capacity"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        // Optimal string alignment, not unrestricted Damerau–Levenshtein
        // (which gives 2 here: swap, then insert between the swapped pair).
        assert_eq!(edit_distance("ca", "abc"), 3);
        // Characters, not bytes.
        assert_eq!(edit_distance("héllo", "hello"), 1);
        assert_eq!(edit_distance("日本語", "日語本"), 1);
        assert_eq!(edit_distance("🦀rust", "rust🦀"), 2);
        assert_eq!(closest("nmae", &["name", "mean"]), Some("name"));
        assert_eq!(closest("replicas", &["replicas", "cores"]), Some("replicas"));
        assert_eq!(closest("zzz", &["replicas", "cores"]), None);
    }

    #[test]
    fn strip_location_text_removes_embedded_positions() {
        assert_eq!(strip_location_text("line 3 column 5: bad thing"), "bad thing");
        assert_eq!(strip_location_text("bad thing at line 3, column 5"), "bad thing");
        assert_eq!(strip_location_text("line of sight"), "line of sight");
    }

    // -- overrides --------------------------------------------------------

    const BASE: &str = "\
components:
  api:
    replicas: 2
    cores: 1
faults:
  - at: 10s
  - at: 20s
empty:
";

    #[test]
    fn override_replaces_a_scalar() {
        let mut root = parse(BASE);
        apply_override(&mut root, "components.api.replicas", "4", 0).unwrap();
        let node = get(&root, "components.api.replicas");
        assert!(matches!(node.value, Value::Int(4)));
        assert_eq!(node.origin, Origin::Override { index: 0 });
        // The key itself is still the one in the file, and so are its siblings.
        assert_eq!(key_origin(&root, "components.api.replicas"), file(3, 5));
        assert_eq!(get(&root, "components.api.cores").origin, file(4, 12));
    }

    #[test]
    fn override_creates_missing_path() {
        let mut root = parse(BASE);
        apply_override(&mut root, "clients.web.arrival.poisson", "300/s", 1).unwrap();
        let node = get(&root, "clients.web.arrival.poisson");
        assert!(matches!(&node.value, Value::Str(s) if s == "300/s"));
        assert_eq!(node.origin, Origin::Override { index: 1 });
        assert_eq!(key_origin(&root, "clients.web"), Origin::Override { index: 1 });
        assert_eq!(get(&root, "clients").origin, Origin::Override { index: 1 });
        assert_eq!(keys(&root), ["components", "faults", "empty", "clients"]);
        // A null on the way is filled in as a map.
        apply_override(&mut root, "empty.x", "true", 2).unwrap();
        assert!(matches!(get(&root, "empty.x").value, Value::Bool(true)));
        // An empty value is placed at the key's colon.
        assert_eq!(get(&root, "empty").origin, file(8, 6));
        // Into an empty document.
        let mut root = parse("");
        apply_override(&mut root, "a.b", "1", 0).unwrap();
        assert!(matches!(get(&root, "a.b").value, Value::Int(1)));
    }

    #[test]
    fn override_indexes_into_a_sequence() {
        let mut root = parse(BASE);
        apply_override(&mut root, "faults.1.at", "25s", 3).unwrap();
        let node = get(&root, "faults.1.at");
        assert!(matches!(&node.value, Value::Str(s) if s == "25s"));
        assert_eq!(node.origin, Origin::Override { index: 3 });
        assert_eq!(get(&root, "faults.0.at").origin, file(6, 9));
        apply_override(&mut root, "faults.0", "{ at: 1s }", 4).unwrap();
        assert_eq!(get(&root, "faults.0.at").origin, Origin::Override { index: 4 });
    }

    #[test]
    fn override_replaces_a_subtree_with_a_flow_map() {
        let mut root = parse(BASE);
        apply_override(
            &mut root,
            "components.api",
            "{ service: { exponential: 10ms } }",
            0,
        )
        .unwrap();
        assert_eq!(keys(get(&root, "components.api")), ["service"]);
        let node = get(&root, "components.api.service.exponential");
        assert!(matches!(&node.value, Value::Str(s) if s == "10ms"));
        assert_eq!(node.origin, Origin::Override { index: 0 });
        assert_eq!(
            key_origin(&root, "components.api.service.exponential"),
            Origin::Override { index: 0 }
        );
        apply_override(&mut root, "faults", "[1, 2, 3]", 1).unwrap();
        assert!(matches!(&get(&root, "faults").value, Value::Seq(v) if v.len() == 3));
        assert_eq!(get(&root, "faults.2").origin, Origin::Override { index: 1 });
    }

    #[test]
    fn override_errors_name_the_path() {
        let mut root = parse(BASE);
        let err = |root: &mut Node, path: &str, value: &str| {
            apply_override(root, path, value, 0).expect_err("expected an error")
        };
        assert_eq!(
            err(&mut root, "faults.2.at", "1s"),
            "cannot set `faults.2.at`: index 2 is out of range, `faults` has 2 elements"
        );
        assert_eq!(
            err(&mut root, "faults.first", "1s"),
            "cannot set `faults.first`: `faults` is a sequence, so `first` must be an index"
        );
        assert_eq!(
            err(&mut root, "components.api.cores.x", "1"),
            "cannot set `components.api.cores.x`: `components.api.cores` is an integer, \
             not a map or a sequence"
        );
        assert_eq!(
            err(&mut root, "", "1"),
            "invalid --set: the path before `=` is empty"
        );
        assert_eq!(
            err(&mut root, "components..cores", "1"),
            "invalid --set path `components..cores`: empty path segment"
        );
        let msg = err(&mut root, "components.api.cores", "{ a: 1");
        assert!(
            msg.starts_with("invalid --set value for `components.api.cores`: "),
            "{msg}"
        );
        // Failed overrides leave the tree alone.
        assert!(matches!(get(&root, "components.api.cores").value, Value::Int(1)));
    }

    #[test]
    fn locate_finds_the_deepest_existing_node() {
        let root = parse(BASE);
        assert_eq!(locate(&root, "components.api.cores"), &file(4, 12));
        assert_eq!(locate(&root, "components.api.memory"), &file(3, 5));
        assert_eq!(locate(&root, "faults.1.at"), &file(7, 9));
        // A block sequence starts at its first `-`.
        assert_eq!(locate(&root, "faults.9.at"), &file(6, 3));
        assert_eq!(locate(&root, "nothing.here"), &file(1, 1));
        assert_eq!(locate(&root, ""), &file(1, 1));
    }

    // -- typed deserialization ---------------------------------------------

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Scenario {
        name: String,
        #[serde(default)]
        seed: Option<u64>,
        components: IndexMap<String, Component>,
        #[serde(default)]
        clients: Vec<Client>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    enum Component {
        Service(ServiceSpec),
        Cache(CacheSpec),
        Queue { capacity: u32 },
        Sink,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct ServiceSpec {
        replicas: u32,
        #[serde(default)]
        cores: Option<u32>,
        latency: Dur,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct CacheSpec {
        capacity: u64,
        #[serde(default)]
        eviction: Eviction,
    }

    #[derive(Debug, Default, Deserialize, PartialEq, Eq, Hash)]
    #[serde(rename_all = "snake_case")]
    enum Eviction {
        #[default]
        Lru,
        Fifo,
        Random {
            seed: u64,
        },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Client {
        name: String,
        rate: f64,
        #[serde(default)]
        tags: Vec<String>,
        weights: Option<(u8, u8)>,
    }

    /// A hand-written `Deserialize` that looks at the node type itself, the
    /// way duration and distribution types in archsim do.
    #[derive(Debug, PartialEq)]
    enum Dur {
        Fixed(u64),
        Exponential(u64),
    }

    fn millis<E: de::Error>(text: &str) -> Result<u64, E> {
        let (digits, factor) = if let Some(d) = text.strip_suffix("ms") {
            (d, 1)
        } else if let Some(d) = text.strip_suffix('s') {
            (d, 1000)
        } else {
            return Err(E::custom(format!(
                "invalid duration `{text}`: expected a number followed by `ms` or `s`"
            )));
        };
        digits
            .trim()
            .parse::<u64>()
            .map(|n| n * factor)
            .map_err(|_| E::invalid_value(Unexpected::Str(text), &"a duration such as `10ms`"))
    }

    /// Parses inside its own `Deserialize`, so errors point at the value.
    struct Millis(u64);

    impl<'de> Deserialize<'de> for Millis {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = String::deserialize(deserializer)?;
            millis(&text).map(Millis)
        }
    }

    impl<'de> Deserialize<'de> for Dur {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct DurVisitor;
            impl<'de> Visitor<'de> for DurVisitor {
                type Value = Dur;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a duration or a distribution")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                    millis(v).map(Dur::Fixed)
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dur, A::Error> {
                    let Some(key) = map.next_key::<String>()? else {
                        return Err(de::Error::custom("empty distribution"));
                    };
                    if key != "exponential" {
                        return Err(de::Error::unknown_variant(&key, &["exponential"]));
                    }
                    let Millis(mean) = map.next_value()?;
                    Ok(Dur::Exponential(mean))
                }
            }
            deserializer.deserialize_any(DurVisitor)
        }
    }

    const GOOD: &str = "\
name: 2024
seed: ~
components:
  api:
    kind: service
    replicas: 3
    latency: { exponential: 10ms }
  store:
    cache:
      capacity: 100
      eviction: fifo
  q:
    queue: { capacity: 5 }
  out: sink
  c2:
    kind: cache
    capacity: 7
    eviction: { random: { seed: 9 } }
  q2: { kind: queue, capacity: 6 }
  out2: { kind: sink }
  out3: { sink: ~ }
clients:
  - name: web
    rate: 2
    tags: [a, 1.0, true]
    weights: [1, 2]
  - { name: batch, rate: 0.5 }
";

    #[test]
    fn from_node_reads_a_scenario() {
        let scenario: Scenario = from_node(&parse(GOOD)).unwrap();
        let expected = Scenario {
            name: "2024".to_owned(),
            seed: None,
            components: IndexMap::from([
                (
                    "api".to_owned(),
                    Component::Service(ServiceSpec {
                        replicas: 3,
                        cores: None,
                        latency: Dur::Exponential(10),
                    }),
                ),
                (
                    "store".to_owned(),
                    Component::Cache(CacheSpec {
                        capacity: 100,
                        eviction: Eviction::Fifo,
                    }),
                ),
                ("q".to_owned(), Component::Queue { capacity: 5 }),
                ("out".to_owned(), Component::Sink),
                (
                    "c2".to_owned(),
                    Component::Cache(CacheSpec {
                        capacity: 7,
                        eviction: Eviction::Random { seed: 9 },
                    }),
                ),
                ("q2".to_owned(), Component::Queue { capacity: 6 }),
                ("out2".to_owned(), Component::Sink),
                ("out3".to_owned(), Component::Sink),
            ]),
            clients: vec![
                Client {
                    name: "web".to_owned(),
                    rate: 2.0,
                    tags: vec!["a".to_owned(), "1.0".to_owned(), "true".to_owned()],
                    weights: Some((1, 2)),
                },
                Client {
                    name: "batch".to_owned(),
                    rate: 0.5,
                    tags: vec![],
                    weights: None,
                },
            ],
        };
        assert_eq!(scenario, expected);
    }

    fn fail<T: DeserializeOwned + fmt::Debug>(text: &str) -> PathError {
        from_node::<T>(&parse(text)).expect_err("expected a deserialization error")
    }

    fn assert_error(err: &PathError, path: &str, origin: Origin, message: &str) {
        assert_eq!(
            (err.path.as_str(), &err.origin, err.message.as_str()),
            (path, &origin, message)
        );
    }

    const SERVICE: &str = "\
name: x
components:
  api:
    kind: service
    replicas: 3
    latency: 10ms
";

    #[test]
    fn typo_in_a_kind_variant_points_at_the_key() {
        let err = fail::<Scenario>(&SERVICE.replace("latency", "latncy"));
        assert_error(
            &err,
            "components.api.latncy",
            file(6, 5),
            "unknown field `latncy`, expected one of `replicas`, `cores`, `latency` \
             (did you mean `latency`?)",
        );
    }

    #[test]
    fn unknown_kind_points_at_the_kind_value() {
        let err = fail::<Scenario>(&SERVICE.replace("kind: service", "kind: servise"));
        assert_error(
            &err,
            "components.api.kind",
            file(4, 11),
            "unknown variant `servise`, expected one of `service`, `cache`, `queue`, `sink` \
             (did you mean `service`?)",
        );
        let err = fail::<Scenario>(&SERVICE.replace("kind: service", "kind: 7"));
        assert_error(
            &err,
            "components.api.kind",
            file(4, 11),
            "`kind` must be a string naming one of `service`, `cache`, `queue`, `sink`, found 7",
        );
    }

    #[test]
    fn string_where_an_integer_is_expected() {
        let err = fail::<Scenario>(&SERVICE.replace("replicas: 3", "replicas: three"));
        assert_error(
            &err,
            "components.api.replicas",
            file(5, 15),
            "expected an integer between 0 and 4294967295, found string \"three\"",
        );
        let err = fail::<Scenario>(&SERVICE.replace("replicas: 3", "replicas: -3"));
        assert_error(
            &err,
            "components.api.replicas",
            file(5, 15),
            "expected an integer between 0 and 4294967295, found -3",
        );
        let err = fail::<Scenario>(&SERVICE.replace("replicas: 3", "replicas: 2.5"));
        assert_error(
            &err,
            "components.api.replicas",
            file(5, 15),
            "expected an integer between 0 and 4294967295, found 2.5",
        );
    }

    #[test]
    fn missing_field_points_at_the_enclosing_map() {
        let err = fail::<Scenario>(&SERVICE.replace("    replicas: 3\n", ""));
        assert_error(&err, "components.api", file(4, 5), "missing field `replicas`");
        let err = fail::<Scenario>("components: {}\n");
        assert_error(&err, "", file(1, 1), "missing field `name`");
        // A plain string is the `kind` form without fields.
        let err = fail::<Scenario>("name: x\ncomponents:\n  c: cache\n");
        assert_error(&err, "components.c", file(3, 6), "missing field `capacity`");
    }

    #[test]
    fn custom_deserialize_errors_are_located() {
        let err = fail::<Scenario>(&SERVICE.replace("10ms", "10 min"));
        assert_error(
            &err,
            "components.api.latency",
            file(6, 14),
            "invalid duration `10 min`: expected a number followed by `ms` or `s`",
        );
        let err = fail::<Scenario>(&SERVICE.replace("10ms", "{ exponential: 5xs }"));
        assert_error(
            &err,
            "components.api.latency.exponential",
            file(6, 29),
            "expected a duration such as `10ms`, found string \"5xs\"",
        );
        // Rejected by the visitor right after reading the key: the key is at fault.
        let err = fail::<Scenario>(&SERVICE.replace("10ms", "{ pareto: 5ms }"));
        assert_error(
            &err,
            "components.api.latency.pareto",
            file(6, 16),
            "unknown variant `pareto`, expected `exponential`",
        );
        let err = fail::<Scenario>(&SERVICE.replace("10ms", "[1]"));
        assert_error(
            &err,
            "components.api.latency",
            file(6, 14),
            "expected a duration or a distribution, found a sequence",
        );
    }

    #[test]
    fn unknown_fields_elsewhere() {
        let err = fail::<Scenario>(&format!("nmae: y\n{SERVICE}"));
        assert_error(
            &err,
            "nmae",
            file(1, 1),
            "unknown field `nmae`, expected one of `name`, `seed`, `components`, `clients` \
             (did you mean `name`?)",
        );
        let err = fail::<Scenario>("name: x\ncomponents:\n  q:\n    queue: { capacity: 5, size: 1 }\n");
        assert_error(
            &err,
            "components.q.queue.size",
            file(4, 27),
            "unknown field `size`, expected `capacity`",
        );
        let err = fail::<Scenario>("name: x\ncomponents:\n  q: { kind: sink, size: 1 }\n");
        assert_error(
            &err,
            "components.q.size",
            file(3, 20),
            "unknown field `size`: variant `sink` takes no fields",
        );
    }

    #[test]
    fn enum_shapes_that_fit_no_form() {
        let err = fail::<Scenario>("name: x\ncomponents:\n  q: 5\n");
        assert_error(
            &err,
            "components.q",
            file(3, 6),
            "expected one of `service`, `cache`, `queue`, `sink` — as a plain string, as a map \
             with `kind: <variant>`, or as a single-key map `<variant>: ...`; found 5",
        );
        let err = fail::<Scenario>("name: x\ncomponents:\n  q: { a: 1, b: 2 }\n");
        assert_eq!((err.path.as_str(), &err.origin), ("components.q", &file(3, 6)));
        let err = fail::<Scenario>("name: x\ncomponents:\n  q: { sink: 3 }\n");
        assert_error(
            &err,
            "components.q.sink",
            file(3, 14),
            "variant `sink` takes no value, found 3",
        );
        let err = fail::<Scenario>("name: x\ncomponents:\n  q: { sinc: ~ }\n");
        assert_error(
            &err,
            "components.q.sinc",
            file(3, 8),
            "unknown variant `sinc`, expected one of `service`, `cache`, `queue`, `sink` \
             (did you mean `sink`?)",
        );
    }

    #[test]
    fn sequence_elements_have_index_paths() {
        let text =
            "name: x\ncomponents: {}\nclients:\n  - { name: a, rate: 1 }\n  - name: b\n    rate: fast\n";
        let err = fail::<Scenario>(text);
        assert_error(
            &err,
            "clients.1.rate",
            file(6, 11),
            "expected a number, found string \"fast\"",
        );
        let text = "name: x\ncomponents: {}\nclients:\n  - { name: a, rate: 1, weights: [300, 1] }\n";
        let err = fail::<Scenario>(text);
        assert_error(
            &err,
            "clients.0.weights.0",
            file(4, 35),
            "expected an integer between 0 and 255, found 300",
        );
        let text = "name: x\ncomponents: {}\nclients:\n  - { name: a, rate: 1, weights: [1, 2, 3] }\n";
        let err = fail::<Scenario>(text);
        assert_error(
            &err,
            "clients.0.weights",
            file(4, 34),
            "expected 2 elements, found 3 elements",
        );
        let text = "name: x\ncomponents: {}\nclients: {}\n";
        let err = fail::<Scenario>(text);
        assert_error(&err, "clients", file(3, 10), "expected a sequence, found a map");
    }

    #[test]
    fn null_and_wrong_roots() {
        let err = fail::<Scenario>("");
        assert_error(&err, "", file(1, 1), "expected a map, found null");
        let err = fail::<Scenario>("- 1\n");
        assert_error(&err, "", file(1, 1), "expected a map, found a sequence");
        let err = fail::<Scenario>("name: ~\ncomponents: {}\n");
        assert_error(&err, "name", file(1, 7), "expected a string, found null");
    }

    #[test]
    fn errors_in_overridden_values_point_at_the_override() {
        let mut root = parse(SERVICE);
        apply_override(&mut root, "components.api.replicas", "-1", 2).unwrap();
        let err = from_node::<Scenario>(&root).unwrap_err();
        assert_error(
            &err,
            "components.api.replicas",
            Origin::Override { index: 2 },
            "expected an integer between 0 and 4294967295, found -1",
        );
        let mut root = parse(SERVICE);
        apply_override(&mut root, "components.api.corse", "4", 0).unwrap();
        let err = from_node::<Scenario>(&root).unwrap_err();
        assert_eq!(
            (err.path.as_str(), &err.origin),
            ("components.api.corse", &Origin::Override { index: 0 })
        );
        let mut root = parse(SERVICE);
        apply_override(&mut root, "components.api.cores", "4", 0).unwrap();
        apply_override(&mut root, "seed", "12", 1).unwrap();
        let scenario: Scenario = from_node(&root).unwrap();
        assert_eq!(scenario.seed, Some(12));
        assert!(matches!(
            &scenario.components["api"],
            Component::Service(ServiceSpec { cores: Some(4), .. })
        ));
    }

    #[test]
    fn merged_values_are_located_at_their_definition() {
        let text = "\
base: &b
  replicas: many
  latency: 1ms
name: x
components:
  api:
    kind: service
    <<: *b
";
        #[derive(Debug, Deserialize)]
        struct WithBase {
            #[allow(dead_code)]
            base: IndexMap<String, String>,
            #[allow(dead_code)]
            name: String,
            #[allow(dead_code)]
            components: IndexMap<String, Component>,
        }
        let err = fail::<WithBase>(text);
        assert_error(
            &err,
            "components.api.replicas",
            file(2, 13),
            "expected an integer between 0 and 4294967295, found string \"many\"",
        );
    }

    #[test]
    fn maps_with_typed_keys_and_primitives() {
        let root = parse("1: a\n20: b\n");
        let map: IndexMap<u32, String> = from_node(&root).unwrap();
        assert_eq!(map, IndexMap::from([(1, "a".to_owned()), (20, "b".to_owned())]));
        let err = from_node::<IndexMap<u8, String>>(&parse("1: a\n300: b\n")).unwrap_err();
        assert_error(
            &err,
            "300",
            file(2, 1),
            "expected an integer between 0 and 255, found 300",
        );
        let unit: () = from_node(&parse("~")).unwrap();
        assert_eq!(unit, ());
        let pair: (bool, char, f32) = from_node(&parse("[true, x, 3]")).unwrap();
        assert_eq!(pair, (true, 'x', 3.0));
        let big: i128 = from_node(&parse("-5")).unwrap();
        assert_eq!(big, -5);
        let keyed: IndexMap<Eviction, u8> = from_node(&parse("lru: 1\nfifo: 2\n")).unwrap();
        assert_eq!(keyed, IndexMap::from([(Eviction::Lru, 1), (Eviction::Fifo, 2)]));
        #[derive(Debug, Deserialize, PartialEq)]
        struct Wrapper(u16);
        let wrapped: Vec<Wrapper> = from_node(&parse("[1, 2]")).unwrap();
        assert_eq!(wrapped, [Wrapper(1), Wrapper(2)]);
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(untagged)]
        enum Loose {
            Num(i64),
            Text(String),
        }
        let loose: Vec<Loose> = from_node(&parse("[1, x]")).unwrap();
        assert_eq!(loose, [Loose::Num(1), Loose::Text("x".to_owned())]);
    }

    // -- rendering ----------------------------------------------------------

    #[test]
    fn renders_file_errors_with_a_snippet() {
        let text =
            "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\nh: 8\ni: 9\ncomponents:\n  api:\n    cores: 0\n";
        let root = parse(text);
        let origin = locate(&root, "components.api.cores").clone();
        let err = SourceError::new(
            "scenario.yaml",
            text,
            origin,
            Some("components.api.cores".to_owned()),
            "expected a positive integer, found 0".to_owned(),
            &[],
        );
        assert_eq!(
            err.to_string(),
            "error: scenario.yaml:12:12: components.api.cores: expected a positive integer, found 0\n   \
             |\n12 |     cores: 0\n   |            ^"
        );
    }

    #[test]
    fn renders_override_unknown_and_pathless_errors() {
        let overrides = ["seed=1".to_owned(), "components.api.cores=0".to_owned()];
        let err = SourceError::new(
            "scenario.yaml",
            "",
            Origin::Override { index: 1 },
            Some("components.api.cores".to_owned()),
            "must be positive".to_owned(),
            &overrides,
        );
        assert_eq!(err.source_line, None);
        assert_eq!(
            err.to_string(),
            "error: --set #2 (components.api.cores=0): components.api.cores: must be positive"
        );
        let err = SourceError::new(
            "scenario.yaml",
            "x: 1\n",
            Origin::Unknown,
            Some("warmup".to_owned()),
            "warmup must be shorter than duration".to_owned(),
            &overrides,
        );
        assert_eq!(
            err.to_string(),
            "error: scenario.yaml: warmup: warmup must be shorter than duration"
        );
        let err = SourceError::new(
            "s.yaml",
            "a: [1,\n",
            file(2, 1),
            None,
            "unclosed bracket".to_owned(),
            &[],
        );
        assert_eq!(err.to_string(), "error: s.yaml:2:1: unclosed bracket");
    }

    #[test]
    fn renders_carets_by_characters_and_tabs() {
        let text = "#\tnote\n\"é€\": [1, \"\u{1b}x\"]\n";
        let err = SourceError::new("s.yaml", text, file(2, 11), None, "bad\u{7}".to_owned(), &[]);
        assert_eq!(
            err.to_string(),
            "error: s.yaml:2:11: bad\\u{7}\n  |\n2 | \"é€\": [1, \"\\u{1b}x\"]\n  |           ^"
        );
        let err = SourceError::new("s.yaml", text, file(1, 3), None, "m".to_owned(), &[]);
        assert_eq!(
            err.to_string(),
            "error: s.yaml:1:3: m\n  |\n1 | #\tnote\n  |  \t^"
        );
        let err = SourceError::new("s.yaml", text, file(2, 14), None, "m".to_owned(), &[]);
        assert_eq!(
            err.to_string(),
            "error: s.yaml:2:14: m\n  |\n2 | \"é€\": [1, \"\\u{1b}x\"]\n  |                   ^"
        );
    }

    /// The last two lines of `text`'s error at `line:col` (the source line
    /// and the caret line), without their gutters.
    fn snippet_lines(text: &str, line: u32, col: u32) -> (String, String) {
        let err = SourceError::new("s.yaml", text, file(line, col), None, "m".to_owned(), &[]);
        let shown = err.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        let cut = |l: &str| l.split_once("| ").map_or(String::new(), |(_, r)| r.to_owned());
        (cut(lines[lines.len() - 2]), cut(lines[lines.len() - 1]))
    }

    #[test]
    fn carets_line_up_under_wide_characters() {
        // CJK characters take two terminal columns each.
        let (src, caret) = snippet_lines("日本: x\n", 1, 5);
        assert_eq!((src.as_str(), caret.as_str()), ("日本: x", "      ^"));
        // So does an emoji, also with a presentation selector after it.
        let (src, caret) = snippet_lines("🦀 a: 1\n", 1, 3);
        assert_eq!((src.as_str(), caret.as_str()), ("🦀 a: 1", "   ^"));
        let (_, caret) = snippet_lines("\u{2764}\u{fe0f} a: 1\n", 1, 4);
        assert_eq!(caret, "   ^");
        // A combining accent takes none.
        let (_, caret) = snippet_lines("e\u{301}x: 1\n", 1, 3);
        assert_eq!(caret, " ^");
        // Tabs are still copied, between wide characters too.
        let (src, caret) = snippet_lines("\t日: x\n", 1, 5);
        assert_eq!((src.as_str(), caret.as_str()), ("\t日: x", "\t    ^"));
        // A caret past the end of the line.
        let (_, caret) = snippet_lines("日本\n", 1, 3);
        assert_eq!(caret, "    ^");
    }

    #[test]
    fn long_lines_of_wide_characters_are_windowed_and_the_caret_lines_up() {
        // The window counts characters (100 of them); the caret counts columns.
        let text = format!("{}x\n", "日".repeat(200));
        let (src, caret) = snippet_lines(&text, 1, 201);
        assert_eq!(src, format!("…{}x", "日".repeat(99)));
        assert_eq!(caret, format!("{}^", " ".repeat(1 + 2 * 99)));
        let text = format!("{}x{}\n", "日".repeat(200), "b".repeat(200));
        let (src, caret) = snippet_lines(&text, 1, 201);
        assert_eq!(src, format!("…{}x{}…", "日".repeat(50), "b".repeat(49)));
        assert_eq!(caret, format!("{}^", " ".repeat(1 + 2 * 50)));
        // Cut on the right only: no leading `…`, no blank for it.
        let text = format!("日x{}\n", "b".repeat(200));
        let (src, caret) = snippet_lines(&text, 1, 2);
        assert!(src.starts_with("日x") && src.ends_with('…'), "{src}");
        assert_eq!(caret, "  ^");
    }
}

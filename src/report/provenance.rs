//! What produced an output folder: `provenance.json` (archsim's version,
//! the scenario file as given and the SHA-256 of its bytes, the command
//! line, every override in order, the flags that shape results, the time
//! written) and `scenario.resolved.yaml` (the effective scenario after
//! every override, which alone reproduces the folder's results).
//!
//! The resolved file is the scenario's YAML tree after the overrides
//! ([`crate::scenario::effective_tree`]), written back as YAML: values stay
//! as the user wrote them (`300/s`, `10ms`, `warmup: auto`), numbers are
//! written so that they read back to the same bits, file names a scenario
//! gives (`trace:`, `empirical:`) become absolute, the seed is always
//! written, and the flags that shape results are recorded in the file
//! (`run:` for a run, `sweep.vary`/`sweep.replications` for a sweep).
//! Nothing here goes into report.json, which stays reproducible.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::scenario::tree::{Key, Node, Origin, Value};

/// The provenance file of a run or sweep folder.
pub const PROVENANCE: &str = "provenance.json";

/// The effective scenario of a run or sweep folder.
pub const RESOLVED: &str = "scenario.resolved.yaml";

/// Largest resolved scenario read back (as a scenario file).
const MAX_RESOLVED_BYTES: u64 = crate::scenario::limits::MAX_SCENARIO_BYTES;

/// `provenance.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// archsim version that wrote the folder.
    pub archsim_version: String,
    /// `run`, `sweep` or `merge`.
    pub command: String,
    /// The whole command line, program name first.
    pub argv: Vec<String>,
    /// The scenario file.
    pub scenario: Source,
    /// Files the scenario names (traces, empirical distributions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<DataFile>,
    /// Every override, in the order applied (`--seed`, `--duration`, each
    /// `--set`, then a sweep's `--vary`).
    pub overrides: Vec<Override>,
    /// The flags that shape results, with their effective values.
    pub settings: Settings,
    /// For `merge`: the shard folders joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// When the folder was written (UTC, RFC 3339): wall clock, like
    /// `sim.wall_s`, so never part of what a rerun reproduces.
    pub written_utc: String,
}

/// The scenario file as given.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Source {
    /// The scenario's name.
    pub name: String,
    /// The path as given on the command line.
    pub file: String,
    /// SHA-256 of the file's bytes, in hex (null when unknown).
    pub sha256: Option<String>,
}

/// A file the scenario names.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DataFile {
    /// As written in the scenario.
    pub path: String,
    /// Where it was read (absolute; the resolved scenario names it so).
    pub resolved: String,
    /// SHA-256 of its bytes (null when it could not be read again).
    pub sha256: Option<String>,
}

/// One override.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Override {
    /// The flag: `--seed`, `--duration`, `--set` or `--vary`.
    pub flag: String,
    /// Its value as given (`3`, `10m`, `components.api.replicas=4`).
    pub value: String,
}

/// The flags that shape results (those not given are left out).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// Replications (per point, for a sweep).
    pub replications: Option<u32>,
    /// Time-series interval.
    pub interval: Option<String>,
    /// In-flight limit before a run is declared unstable.
    pub max_in_flight: Option<u64>,
    /// Sweep worker threads.
    pub jobs: Option<usize>,
    /// Sweep slice `K/N`.
    pub shard: Option<String>,
    /// `--precision` targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precision: Vec<String>,
    /// `--max-replications` (with `--precision`).
    pub max_replications: Option<u32>,
    /// Whether this sweep continued earlier lines (`--resume`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

/// What to record for a folder.
pub struct Request<'a> {
    /// `run` or `sweep`.
    pub command: &'a str,
    /// The scenario file as given.
    pub file: &'a Path,
    /// The overrides as given to [`crate::scenario::load`] (labelled or plain).
    pub overrides: &'a [String],
    /// A sweep's `--vary` flags.
    pub vary: &'a [String],
    /// The flags that shape results.
    pub settings: Settings,
    /// The effective seed.
    pub seed: u64,
    /// Values set in the resolved tree besides the overrides (path
    /// segments, value): what the flags record there.
    pub edits: Vec<(Vec<String>, Node)>,
    /// The command that reruns the resolved file (`archsim run DIR/scenario.resolved.yaml`).
    pub rerun: String,
    /// What the rerun reproduces (`report.json`).
    pub result: &'a str,
}

/// The two files of a folder's provenance.
pub struct Written {
    /// `provenance.json`'s content.
    pub provenance: Provenance,
    /// `scenario.resolved.yaml`'s text.
    pub resolved_yaml: String,
}

impl Written {
    /// The files, by name, to stage with the folder's results.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let json = serde_json::to_string_pretty(&self.provenance).unwrap_or_default() + "\n";
        vec![
            (PROVENANCE.to_string(), json.into_bytes()),
            (RESOLVED.to_string(), self.resolved_yaml.clone().into_bytes()),
        ]
    }
}

/// SHA-256 of bytes, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The command line of this process.
pub fn argv() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// The overrides as (flag, value) pairs: a labelled `--seed`/`--duration`
/// override gives its value alone, a plain one is a `--set`.
pub fn overrides_of(overrides: &[String], vary: &[String]) -> Vec<Override> {
    let mut out: Vec<Override> = overrides
        .iter()
        .map(|o| match crate::scenario::split_label(o) {
            (Some(flag), text) => Override {
                flag: flag.to_string(),
                value: text.split_once('=').map_or(text, |(_, v)| v).to_string(),
            },
            (None, text) => Override {
                flag: "--set".into(),
                value: text.to_string(),
            },
        })
        .collect();
    out.extend(vary.iter().map(|v| Override {
        flag: "--vary".into(),
        value: v.clone(),
    }));
    out
}

/// Build a folder's provenance and resolved scenario. Errors are messages
/// (the scenario already loaded, so they are unexpected: an unreadable
/// file between loading and now).
pub fn make(req: &Request) -> Result<Written, String> {
    let file = req.file;
    let text = crate::scenario::read_source(file, &[]).map_err(|e| e.to_string())?;
    let mut root = crate::scenario::effective_tree(&text, req.overrides)?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut data = Vec::new();
    absolute_files(&mut root, &base, &mut data);
    set_seed(&mut root, req.seed);
    for (path, value) in &req.edits {
        set_path(&mut root, path, value.clone());
    }
    let name = match &root.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.name == "name")
            .and_then(|(_, v)| match &v.value {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    let provenance = Provenance {
        archsim_version: env!("CARGO_PKG_VERSION").to_string(),
        command: req.command.to_string(),
        argv: argv(),
        scenario: Source {
            name,
            file: file.display().to_string(),
            sha256: Some(sha256_hex(text.as_bytes())),
        },
        data_files: data,
        overrides: overrides_of(req.overrides, req.vary),
        settings: req.settings.clone(),
        merged_from: Vec::new(),
        written_utc: utc_now(),
    };
    let mut yaml = String::new();
    for l in comment(req.command, &line(&provenance), &req.rerun, req.result) {
        let _ = writeln!(yaml, "# {l}");
    }
    yaml.push_str(&to_yaml(&root));
    Ok(Written {
        provenance,
        resolved_yaml: yaml,
    })
}

/// The comment heading a resolved file: what it is and how to rerun it.
fn comment(command: &str, prov_line: &str, rerun: &str, result: &str) -> Vec<String> {
    vec![
        format!(
            "The effective scenario of this {command} folder, written by archsim {}:",
            env!("CARGO_PKG_VERSION")
        ),
        format!("{prov_line}."),
        "Every override is applied and file names are absolute.".to_string(),
        format!("`{rerun}` reproduces {result} (wall-clock values aside)."),
    ]
}

/// One line saying what produced a folder: `from scenarios/x.yaml (sha256
/// 1a2b3c4d…) with --seed 3 --set a=b`. Summaries and pages show it.
pub fn line(p: &Provenance) -> String {
    let mut s = format!("from {}", shell_word(&p.scenario.file));
    if let Some(h) = &p.scenario.sha256 {
        let _ = write!(s, " (sha256 {}…)", &h[..h.len().min(8)]);
    }
    if !p.overrides.is_empty() {
        s.push_str(" with");
        for o in &p.overrides {
            let _ = write!(s, " {} {}", o.flag, shell_word(&o.value));
        }
    }
    s
}

/// The provenance line among a summary's lines, if it has one.
pub fn line_in(summary: &str) -> Option<&str> {
    summary
        .lines()
        .find(|l| l.starts_with("from ") && l.contains(" (sha256 "))
}

/// The provenance line of a summary as a page paragraph (empty without one).
pub fn line_html(summary: &str) -> String {
    line_in(summary).map_or_else(String::new, |l| {
        format!(
            "<p class=\"meta provenance\">{} · <code>{RESOLVED}</code> reruns it</p>\n",
            super::html::escape(l)
        )
    })
}

/// A summary with the provenance line after its identity line (`archsim
/// VERSION · NAME · seed …`), or at the end if it has none.
pub fn insert_line(summary: &str, line: &str) -> String {
    let head = format!("archsim {} · ", env!("CARGO_PKG_VERSION"));
    let mut out = String::with_capacity(summary.len() + line.len() + 1);
    let mut done = false;
    for l in summary.split_inclusive('\n') {
        out.push_str(l);
        if !done && l.starts_with(&head) {
            out.push_str(line);
            out.push('\n');
            done = true;
        }
    }
    if !done {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A word as a shell would need it: unchanged when safe, else in single quotes.
pub fn shell_word(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%^".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Read a folder's provenance, if it has a readable one.
pub fn read(dir: &Path) -> Option<Provenance> {
    let bytes = crate::files::read_limited(&dir.join(PROVENANCE), MAX_RESOLVED_BYTES).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Read a folder's resolved scenario as a tree, if it has a readable one.
pub fn read_resolved(dir: &Path) -> Option<Node> {
    let bytes = crate::files::read_limited(&dir.join(RESOLVED), MAX_RESOLVED_BYTES).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    crate::scenario::tree::parse_yaml(&text).ok()
}

// ---------------------------------------------------------------------------
// The tree
// ---------------------------------------------------------------------------

fn node(value: Value) -> Node {
    Node {
        origin: Origin::Unknown,
        value,
    }
}

/// A JSON value (a sweep's grid values) as a tree node.
pub fn node_from_json(v: &serde_json::Value) -> Node {
    use serde_json::Value as J;
    node(match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i128::from(i)),
            (_, Some(u)) => Value::Int(i128::from(u)),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::Str(s.clone()),
        J::Array(a) => Value::Seq(a.iter().map(node_from_json).collect()),
        J::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.clone(),
                            origin: Origin::Unknown,
                        },
                        node_from_json(v),
                    )
                })
                .collect(),
        ),
    })
}

/// A string node.
pub fn str_node(s: &str) -> Node {
    node(Value::Str(s.to_string()))
}

/// An integer node.
pub fn int_node(i: u64) -> Node {
    node(Value::Int(i128::from(i)))
}

/// A map node with the given entries, in order.
pub fn map_node(entries: Vec<(String, Node)>) -> Node {
    node(Value::Map(
        entries
            .into_iter()
            .map(|(name, n)| {
                (
                    Key {
                        name,
                        origin: Origin::Unknown,
                    },
                    n,
                )
            })
            .collect(),
    ))
}

/// Set the value at `path` (map keys; maps made where missing), replacing
/// what is there.
pub fn set_path(root: &mut Node, path: &[String], value: Node) {
    let Some((first, rest)) = path.split_first() else {
        *root = value;
        return;
    };
    if !matches!(root.value, Value::Map(_)) {
        root.value = Value::Map(Vec::new());
    }
    let Value::Map(entries) = &mut root.value else {
        return;
    };
    let pos = match entries.iter().position(|(k, _)| &k.name == first) {
        Some(p) => p,
        None => {
            entries.push((
                Key {
                    name: first.clone(),
                    origin: Origin::Unknown,
                },
                node(Value::Map(Vec::new())),
            ));
            entries.len() - 1
        }
    };
    set_path(&mut entries[pos].1, rest, value);
}

/// Write the effective seed, after the name, description and tags when the
/// file has no seed of its own.
fn set_seed(root: &mut Node, seed: u64) {
    let Value::Map(entries) = &mut root.value else {
        return;
    };
    let value = int_node(seed);
    if let Some((_, v)) = entries.iter_mut().find(|(k, _)| k.name == "seed") {
        *v = value;
        return;
    }
    let at = entries
        .iter()
        .rposition(|(k, _)| matches!(k.name.as_str(), "name" | "description" | "tags"))
        .map_or(0, |i| i + 1);
    entries.insert(
        at,
        (
            Key {
                name: "seed".into(),
                origin: Origin::Unknown,
            },
            value,
        ),
    );
}

/// Make the file names of `trace:` arrivals and `empirical:`
/// distributions absolute (relative ones are relative to the scenario's
/// folder), recording each with its hash.
fn absolute_files(n: &mut Node, base: &Path, data: &mut Vec<DataFile>) {
    match &mut n.value {
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                if matches!(k.name.as_str(), "trace" | "empirical")
                    && let Value::Str(s) = &mut v.value
                    && !s.is_empty()
                {
                    let joined = base.join(&*s);
                    let abs = std::path::absolute(&joined).unwrap_or(joined);
                    if !data.iter().any(|d: &DataFile| d.path == *s) {
                        let sha256 =
                            crate::files::read_limited(&abs, crate::scenario::limits::MAX_DATA_FILE_BYTES)
                                .ok()
                                .map(|b| sha256_hex(&b));
                        data.push(DataFile {
                            path: s.clone(),
                            resolved: abs.display().to_string(),
                            sha256,
                        });
                    }
                    *s = abs.display().to_string();
                } else {
                    absolute_files(v, base, data);
                }
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|i| absolute_files(i, base, data)),
        _ => {}
    }
}

/// Every leaf of a tree as a dotted path and its text, in file order: a
/// list of plain values is one leaf (`[1, 1, 0.5]`), a list of maps is
/// indexed (`faults.0.at`), an empty map or list is a leaf (`{}`, `[]`).
pub fn flatten(root: &Node) -> IndexMap<String, String> {
    fn walk(n: &Node, path: &str, out: &mut IndexMap<String, String>) {
        let join = |seg: &str| {
            if path.is_empty() {
                seg.to_string()
            } else {
                format!("{path}.{seg}")
            }
        };
        match &n.value {
            Value::Map(entries) if !entries.is_empty() => {
                for (k, v) in entries {
                    walk(v, &join(&k.name), out);
                }
            }
            Value::Seq(items) if !items.is_empty() && !items.iter().all(is_scalar) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &join(&i.to_string()), out);
                }
            }
            _ => {
                out.insert(path.to_string(), display(n));
            }
        }
    }
    let mut out = IndexMap::new();
    walk(root, "", &mut out);
    out
}

/// A leaf's text for people: strings as they are, numbers shortest.
fn display(n: &Node) -> String {
    match &n.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
        Value::Seq(items) => format!("[{}]", items.iter().map(display).collect::<Vec<_>>().join(", ")),
        Value::Map(entries) if entries.is_empty() => "{}".into(),
        Value::Map(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", k.name, display(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn is_scalar(n: &Node) -> bool {
    match &n.value {
        Value::Seq(v) => v.is_empty(),
        Value::Map(v) => v.is_empty(),
        _ => true,
    }
}

// ---------------------------------------------------------------------------
// YAML out
// ---------------------------------------------------------------------------

/// The tree as block-style YAML that parses back to the same tree. Checked
/// by parsing it again; should a value ever not read back the same, every
/// string is written quoted instead.
pub fn to_yaml(root: &Node) -> String {
    let text = emit(root, false);
    match crate::scenario::tree::parse_yaml(&text) {
        Ok(back) if same(&back, root) => text,
        _ => emit(root, true),
    }
}

fn emit(root: &Node, quote_all: bool) -> String {
    let mut out = String::new();
    if is_scalar(root) {
        out.push_str(&scalar(root, quote_all));
        out.push('\n');
    } else {
        block(root, 0, false, quote_all, &mut out);
    }
    out
}

/// Whether two trees hold the same values (origins aside; floats by bits).
pub fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kp, p), (kq, q))| kp.name == kq.name && same(p, q))
        }
        _ => false,
    }
}

fn block(n: &Node, indent: usize, inline_first: bool, quote_all: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    match &n.value {
        Value::Map(entries) => {
            for (i, (k, v)) in entries.iter().enumerate() {
                if !(i == 0 && inline_first) {
                    out.push_str(&pad);
                }
                out.push_str(&text(&k.name, quote_all));
                out.push(':');
                if let Some(lit) = literal(v, indent + 2, quote_all) {
                    out.push(' ');
                    out.push_str(&lit);
                } else if is_scalar(v) || is_flow_list(v) {
                    out.push(' ');
                    out.push_str(&scalar(v, quote_all));
                    out.push('\n');
                } else {
                    out.push('\n');
                    block(v, indent + 2, false, quote_all, out);
                }
            }
        }
        Value::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                if !(i == 0 && inline_first) {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                if let Some(lit) = literal(v, indent + 2, quote_all) {
                    out.push_str(&lit);
                } else if is_scalar(v) || is_flow_list(v) {
                    out.push_str(&scalar(v, quote_all));
                    out.push('\n');
                } else {
                    block(v, indent + 2, true, quote_all, out);
                }
            }
        }
        _ => {
            out.push_str(&pad);
            out.push_str(&scalar(n, quote_all));
            out.push('\n');
        }
    }
}

/// A string of several lines as a literal block (`|`, then its lines
/// indented), where one reads back the same: printable text whose lines
/// do not start with blanks. Chomping keeps its trailing line breaks.
fn literal(n: &Node, indent: usize, quote_all: bool) -> Option<String> {
    let Value::Str(s) = &n.value else { return None };
    let body = s.trim_end_matches('\n');
    let breaks = s.len() - body.len();
    // Several lines, or one long line ending in its line break (a folded
    // description).
    let worth = body.contains('\n') || (breaks > 0 && body.chars().count() > 60);
    let printable = !body.is_empty()
        && body.chars().all(|c| c == '\n' || !c.is_control())
        && body
            .split('\n')
            .all(|l| !l.starts_with([' ', '\t']) && !l.ends_with([' ', '\t']));
    if quote_all || !worth || !printable {
        return None;
    }
    let chomp = match breaks {
        0 => "|-",
        1 => "|",
        _ => "|+",
    };
    let pad = " ".repeat(indent);
    let mut out = format!("{chomp}\n");
    for l in body.split('\n') {
        if !l.is_empty() {
            out.push_str(&pad);
            out.push_str(l);
        }
        out.push('\n');
    }
    for _ in 1..breaks {
        out.push('\n');
    }
    Some(out)
}

/// A non-empty list of plain values, written `[a, b]`.
fn is_flow_list(n: &Node) -> bool {
    matches!(&n.value, Value::Seq(items) if !items.is_empty() && items.iter().all(is_scalar))
}

fn scalar(n: &Node, quote_all: bool) -> String {
    match &n.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float(*f),
        Value::Str(s) => text(s, quote_all),
        Value::Seq(items) if items.is_empty() => "[]".into(),
        Value::Seq(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| scalar(i, quote_all))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Map(_) => "{}".into(),
    }
}

/// A float that reads back to the same bits, and as a float (`1.0`,
/// `1.0e-7`, `.inf`).
fn float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    let s = format!("{f:?}");
    if s.contains('.') {
        s
    } else if let Some(e) = s.find('e') {
        format!("{}.0{}", &s[..e], &s[e..])
    } else {
        format!("{s}.0")
    }
}

/// A string or key: plain when that reads back as the same string, else
/// double-quoted (JSON's escapes are YAML's too).
fn text(s: &str, quote_all: bool) -> String {
    let plain_chars = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./+-%".contains(c))
        && !s.starts_with([' ', '-', '%', '.'])
        && !s.ends_with(' ');
    let plain = !quote_all
        && plain_chars
        && matches!(crate::scenario::tree::parse_yaml(s), Ok(Node { value: Value::Str(ref t), .. }) if t == s);
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

// ---------------------------------------------------------------------------
// UTC time
// ---------------------------------------------------------------------------

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// Seconds since 1970-01-01T00:00:00Z as RFC 3339 (proleptic Gregorian
/// calendar: days are counted in 400-year eras of 146097 days).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Shift the epoch to 0000-03-01 so that leap days end each year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // day of era, 0..146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// The absolute form of a path (for messages and records).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(yaml: &str) -> Node {
        crate::scenario::tree::parse_yaml(yaml).unwrap()
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(utc(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn yaml_reads_back_the_same() {
        let cases = [
            "name: x\nseed: 18446744073709551615\nf: [0.1, 1.0, 1e-7, 1e20, -2.5e300, 5e-324]\n",
            "a: { b: [], c: {}, d: null, e: true, f: '', g: 'true', h: '007', i: '1e3', j: '-x', k: 'a: b', l: ' x' }\n",
            "s: \"tab\\there\\nnew line · é \\\" quote\"\nt: '# not a comment'\nu: 'x #y'\nv: api[0]\nw: '~'\n",
            "faults:\n  - { at: 2m, crash: 'api[0]', for: 1m }\n  - partition: [[us-east], [eu-west]]\nspeed: [1, 1, 0.5]\n",
            "'1': one\n'true': yes\nk.e.y: 3\n\"sp ace\": 4\n",
            "nested:\n  - - 1\n    - [2, 3]\n  - - { a: 1 }\n",
            "rate: 300/s\nd: 10ms\nwarmup: auto\n",
            "d: |\n  line one\n\n  line three\ne: |+\n  x\n\n\nf: |-\n  a\n  b\ng: [\"a\\nb\"]\nh:\n  - |\n    p\n    q\n",
            "description: >\n  A long folded description of more than sixty characters, which a literal\n  block holds on one line.\nx: \" lead\\nx\"\n",
        ];
        for c in cases {
            let t = tree(c);
            let y = emit(&t, false);
            let back = tree(&y);
            assert!(same(&back, &t), "{c}\n---\n{y}");
            let q = emit(&t, true);
            assert!(same(&tree(&q), &t), "{c}\n---\n{q}");
        }
        // Text of several lines is a literal block.
        let y = emit(&tree("d: \"a\\nb\\n\"\n"), false);
        assert_eq!(y, "d: |\n  a\n  b\n");
    }

    #[test]
    fn every_bundled_scenario_reads_back_the_same() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let t = tree(&std::fs::read_to_string(&p).unwrap());
            let y = emit(&t, false);
            assert!(same(&tree(&y), &t), "{}:\n{y}", p.display());
            n += 1;
        }
        assert!(n > 10);
    }

    #[test]
    fn flattened_paths() {
        let t = tree(
            "name: x\ncomponents:\n  api: { replicas: 2, speed: [1, 0.5], calls: [{ target: db }] }\nfaults: []\n",
        );
        let f = flatten(&t);
        let got: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("name", "x"),
                ("components.api.replicas", "2"),
                ("components.api.speed", "[1, 0.5]"),
                ("components.api.calls.0.target", "db"),
                ("faults", "[]"),
            ]
        );
    }

    #[test]
    fn seed_and_paths() {
        let mut t = tree("name: x\ndescription: d\nduration: 1s\n");
        set_seed(&mut t, 7);
        set_path(&mut t, &["run".into(), "replications".into()], int_node(3));
        assert_eq!(
            emit(&t, false),
            "name: x\ndescription: d\nseed: 7\nduration: 1s\nrun:\n  replications: 3\n"
        );
    }

    #[test]
    fn the_line_and_where_it_goes() {
        let p = Provenance {
            archsim_version: "0".into(),
            command: "run".into(),
            argv: vec![],
            scenario: Source {
                name: "x".into(),
                file: "scenarios/x.yaml".into(),
                sha256: Some("1a2b3c4d5e6f".into()),
            },
            data_files: vec![],
            overrides: overrides_of(
                &[
                    crate::scenario::labeled("--seed", "seed=3"),
                    "clients.web.arrival.poisson=90/s".into(),
                    "a=[1, 2]".into(),
                ],
                &[],
            ),
            settings: Settings::default(),
            merged_from: vec![],
            written_utc: String::new(),
        };
        let l = line(&p);
        assert_eq!(
            l,
            "from scenarios/x.yaml (sha256 1a2b3c4d…) with --seed 3 --set clients.web.arrival.poisson=90/s --set 'a=[1, 2]'"
        );
        let head = format!("archsim {} · x · seed 3\n", env!("CARGO_PKG_VERSION"));
        let s = insert_line(&format!("x: question\n{head}Requests …\n"), &l);
        assert_eq!(s, format!("x: question\n{head}{l}\nRequests …\n"));
        assert_eq!(line_in(&s), Some(l.as_str()));
        assert!(line_html(&s).contains("with --seed 3"));
    }
}

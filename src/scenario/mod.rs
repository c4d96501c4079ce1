//! The scenario file: YAML with located errors, `--set` overrides, units,
//! distributions, the serde types, and validation into the model's config.
//!
//! Loading goes file text → located tree ([`tree`]) → overrides applied →
//! typed [`spec::Scenario`] → [`validate::build`] → [`crate::model::Config`].
//! Every error on the way names file:line:column and the field path.

pub mod dist;
pub mod kinds;
pub mod limits;
pub mod spec;
pub mod tree;
pub mod units;
pub mod validate;

use std::path::{Path, PathBuf};

pub use spec::Scenario;
pub use tree::SourceError;
pub use validate::BuildOptions;

use crate::model::Config;

/// A scenario read, checked and resolved.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file's content as typed values (after overrides).
    pub scenario: Scenario,
    /// The model's configuration.
    pub config: Config,
    /// Where it was read from.
    pub path: PathBuf,
}

impl Loaded {
    /// Component names and kinds in file order.
    pub fn component_kinds(&self) -> Vec<(String, &'static str)> {
        self.scenario
            .components
            .iter()
            .map(|(k, c)| (k.clone(), c.kind()))
            .collect()
    }
}

/// Why a scenario could not be loaded: one or more located problems.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct LoadError(pub Vec<SourceError>);

const LABEL_SEP: char = '\u{1f}';

/// An override that names the flag it came from in error messages, e.g.
/// `labeled("--seed", "seed=3")` is reported as `--seed (seed=3)` rather
/// than as a `--set`.
pub fn labeled(flag: &str, text: &str) -> String {
    format!("{flag}{LABEL_SEP}{text}")
}

/// An override's flag and text: `(Some("--seed"), "seed=3")` for one made
/// by [`labeled`], `(None, text)` for a plain `--set`.
pub fn split_label(o: &str) -> (Option<&str>, &str) {
    match o.split_once(LABEL_SEP) {
        Some((flag, text)) => (Some(flag), text),
        None => (None, o),
    }
}

/// Read, override, check and resolve a scenario file. `overrides` are
/// `PATH=VALUE` strings as given to `--set`.
pub fn load(path: &Path, overrides: &[String], opts: &BuildOptions) -> Result<Loaded, LoadError> {
    let label = path.display().to_string();
    let text = read_source(path, overrides)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_str(&label, &text, &base, overrides, opts).map(|(scenario, config)| Loaded {
        scenario,
        config,
        path: path.to_path_buf(),
    })
}

/// The text of a scenario file, read with a cap of
/// [`limits::MAX_SCENARIO_BYTES`] (a device such as `/dev/zero` is refused
/// instead of read forever). Text that is not UTF-8 is reported at the
/// line and column of its first bad byte. `overrides` only label the error.
pub fn read_source(path: &Path, overrides: &[String]) -> Result<String, LoadError> {
    let label = path.display().to_string();
    let bytes = limits::read_capped(path, limits::MAX_SCENARIO_BYTES, "the file").map_err(|e| {
        // `read_capped` names the path; the label already does.
        let e = e.replacen(&format!("the file {label}"), "the file", 1);
        LoadError(vec![SourceError::new(
            &label,
            "",
            tree::Origin::Unknown,
            None,
            e,
            overrides,
        )])
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, col, byte) = limits::utf8_error_position(e.as_bytes(), e.utf8_error());
        let shown = String::from_utf8_lossy(e.as_bytes()).into_owned();
        LoadError(vec![SourceError::new(
            &label,
            &shown,
            tree::Origin::File { line, col },
            None,
            format!("not UTF-8: byte 0x{byte:02X} cannot be read as text (save the file as UTF-8)"),
            overrides,
        )])
    })
}

/// The scenario's tree after every override: the effective scenario as
/// YAML values, before typing and checks. `overrides` are labelled or
/// plain `PATH=VALUE` strings, as for [`load`]; an error is a plain
/// message (the scenario loads with [`load`] for located ones).
pub fn effective_tree(text: &str, overrides: &[String]) -> Result<tree::Node, String> {
    let plain: Vec<String> = overrides.iter().map(|o| split_label(o).1.to_string()).collect();
    override_tree(text, &plain).map_err(|(_, path, msg)| match path {
        Some(p) => format!("{p}: {msg}"),
        None => msg,
    })
}

/// Parse `text` and apply plain `PATH=VALUE` overrides in order.
fn override_tree(
    text: &str,
    overrides: &[String],
) -> Result<tree::Node, (tree::Origin, Option<String>, String)> {
    let mut root = tree::parse_yaml(text).map_err(|(origin, msg)| (origin, None, msg))?;
    for (i, o) in overrides.iter().enumerate() {
        let origin = tree::Origin::Override { index: i };
        let Some((p, v)) = o.split_once('=') else {
            return Err((
                origin,
                None,
                "expected PATH=VALUE, e.g. components.api.replicas=4".to_string(),
            ));
        };
        tree::apply_override(&mut root, p.trim(), v, i)
            .map_err(|m| (origin, Some(p.trim().to_string()), m))?;
    }
    Ok(root)
}

/// Each override's label in messages and its plain `PATH=VALUE` text:
/// overrides may carry the flag that made them (see [`labeled`]); plain
/// ones are numbered as the user's `--set`s.
fn override_labels(overrides: &[String]) -> (Vec<String>, Vec<String>) {
    let mut set_n = 0;
    overrides
        .iter()
        .map(|o| match o.split_once(LABEL_SEP) {
            Some((l, t)) => (format!("{l} ({t})"), t.to_string()),
            None => {
                set_n += 1;
                (format!("--set #{set_n} ({o})"), o.clone())
            }
        })
        .unzip()
}

/// A problem that only a command knows of (a sweep, from its points'
/// runs), reported as the loader reports its own: at the file:line:column
/// (or the override) where the dotted field `path` is, naming it. The
/// `text` and `overrides` are those the scenario was loaded with.
pub fn error_at(label: &str, text: &str, overrides: &[String], path: &str, message: String) -> LoadError {
    let (labels, plain) = override_labels(overrides);
    let origin = match override_tree(text, &plain) {
        Ok(root) => tree::locate(&root, path).clone(),
        Err(_) => tree::Origin::Unknown,
    };
    LoadError(vec![SourceError::new(
        label,
        text,
        origin,
        Some(path.to_string()),
        message,
        &labels,
    )])
}

/// As [`load`], from text; `label` names the source in messages and
/// `base_dir` resolves relative file names inside the scenario.
pub fn load_str(
    label: &str,
    text: &str,
    base_dir: &Path,
    overrides: &[String],
    opts: &BuildOptions,
) -> Result<(Scenario, Config), LoadError> {
    let (labels, overrides) = override_labels(overrides);
    let located = |origin, path, message| SourceError::new(label, text, origin, path, message, &labels);
    let root = override_tree(text, &overrides)
        .map_err(|(origin, path, msg)| LoadError(vec![located(origin, path, msg)]))?;
    let scenario: Scenario = tree::from_node(&root).map_err(|e| {
        let path = if e.path.is_empty() { None } else { Some(e.path) };
        LoadError(vec![located(e.origin, path, e.message)])
    })?;
    let config = validate::build(&scenario, base_dir, opts).map_err(|problems| {
        LoadError(
            problems
                .into_iter()
                .map(|p| {
                    let origin = match &p.key {
                        // A problem with a name: point at the key itself.
                        Some(key) => {
                            let parent = p
                                .path
                                .strip_suffix(key.as_str())
                                .and_then(|s| s.strip_suffix('.'))
                                .unwrap_or("");
                            tree::locate_key(&root, parent, key)
                        }
                        None => tree::locate(&root, &p.path),
                    };
                    located(origin.clone(), Some(p.path), p.message)
                })
                .collect(),
        )
    })?;
    Ok((scenario, config))
}

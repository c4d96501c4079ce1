//! `archsim compare`: reports side by side (being written).

use std::path::PathBuf;

use super::SweepError;

/// Output format of `compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    /// Aligned text table (coloured on a terminal).
    Text,
    /// GitHub-flavoured Markdown table.
    Markdown,
    /// JSON document.
    Json,
}

/// Compare two or more report.json / sweep.json files; returns what to print.
pub fn run(paths: &[PathBuf], format: CompareFormat, color: bool) -> Result<String, SweepError> {
    let _ = (paths, format, color);
    Err(SweepError::Io("compare is not implemented yet".into()))
}

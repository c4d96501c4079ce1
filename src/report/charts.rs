//! Charts (being written).
#![allow(missing_docs, unused)]

/// Something on the time axis worth marking (a fault's active interval).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Annotation {
    /// Start, seconds of simulated time.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Short label drawn on the shading.
    pub label: String,
}

/// One chart: its file name (`latency.svg`), title and SVG text.
#[derive(Clone, Debug)]
pub struct ChartFile {
    pub file: String,
    pub title: String,
    pub svg: String,
}

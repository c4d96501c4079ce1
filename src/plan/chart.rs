//! The plan's chart: the SLO metric against the searched parameter.

use super::output::PlanReport;
use crate::report::plot::ChartFile;

/// The plan's charts (filled in by the chart work).
pub fn plan_charts(_r: &PlanReport) -> Vec<ChartFile> {
    Vec::new()
}

//! The plan's HTML page.

use super::output::PlanReport;
use crate::report::plot::ChartFile;

/// The page (filled in by the page work).
pub fn plan_page(r: &PlanReport, _description: &str, _charts: &[ChartFile]) -> String {
    format!(
        "<!doctype html><title>{}</title><pre>{}</pre>",
        r.scenario,
        super::output::summary(r)
    )
}

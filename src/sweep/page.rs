//! The sweep folder's `index.html`: the grid, the table of points and the
//! charts, made with the page kit of [`crate::report::html`].

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::report::html::{charts_section, description_html, escape, inline, page, with_ci};
use crate::report::plot::ChartFile;
use crate::report::value_label;
use crate::run::{MetricValue, SweepReport};

/// The sweep's page: name, description, the grid, the table of points
/// (parameters, replications, key metrics ± 95%, UNSTABLE marked), every
/// chart.
pub fn sweep_page(report: &SweepReport, description: &str, charts: &[ChartFile]) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{} <small>sweep</small></h1>", escape(&report.scenario));
    let _ = writeln!(
        b,
        "<p class=\"meta\">seed {} · {} points · {} replication{} per point (common random numbers)</p>",
        report.seed,
        report.points.len(),
        report.replications,
        if report.replications == 1 { "" } else { "s" }
    );
    b.push_str(&description_html(description));
    b.push_str("<h2>Grid</h2>\n<ul>\n");
    for (k, vs) in &report.vary {
        let vals: Vec<String> = vs.iter().map(|v| escape(&value_label(v))).collect();
        let _ = writeln!(b, "<li><code>{}</code>: {}</li>", escape(k), vals.join(", "));
    }
    b.push_str("</ul>\n");

    let unstable = report
        .points
        .iter()
        .filter(|p| p.notes.iter().any(|n| n.starts_with("UNSTABLE")))
        .count();
    if unstable > 0 {
        let _ = writeln!(
            b,
            "<div class=\"warn\">{unstable} of {} points are UNSTABLE: offered load exceeds capacity, \
             queues grow for as long as the run lasts, and their latency depends on the duration.</div>",
            report.points.len()
        );
    }

    let metrics: Vec<(&str, &str, f64)> = [
        ("latency.p99_ms", "p99 ms", 1.0),
        ("latency.mean_ms", "mean ms", 1.0),
        ("throughput_rps", "req/s", 1.0),
        ("availability", "availability %", 100.0),
        ("cost.total", "cost $", 1.0),
    ]
    .into_iter()
    .filter(|(m, _, _)| report.points.iter().any(|p| p.metrics.contains_key(*m)))
    .collect();
    b.push_str("<h2>Points</h2>\n<div class=\"scroll\"><table>\n<tr>");
    for k in report.vary.keys() {
        // Dotted paths may break after a dot, so the column can be narrow.
        let _ = write!(
            b,
            "<th class=\"l\"><code>{}</code></th>",
            escape(k).replace('.', ".<wbr>")
        );
    }
    b.push_str("<th>reps</th>");
    for (_, h, _) in &metrics {
        let _ = write!(b, "<th>{h}</th>");
    }
    b.push_str("<th class=\"l\">status</th></tr>\n");
    for p in &report.points {
        let is_unstable = p.notes.iter().any(|n| n.starts_with("UNSTABLE"));
        let _ = write!(b, "<tr{}>", if is_unstable { " class=\"unstable\"" } else { "" });
        for k in report.vary.keys() {
            let v = p.params.get(k).map(value_label).unwrap_or_default();
            let _ = write!(b, "<td class=\"l\">{}</td>", escape(&v));
        }
        let _ = write!(b, "<td>{}</td>", p.replications);
        for (m, _, scale) in &metrics {
            let cell = p
                .metrics
                .get(*m)
                .map(|v| {
                    with_ci(&MetricValue {
                        value: v.value * scale,
                        ci95: v.ci95.map(|c| c * scale),
                    })
                })
                .unwrap_or_else(|| "-".into());
            let _ = write!(b, "<td>{cell}</td>");
        }
        let status = if is_unstable {
            "<span class=\"badge\">UNSTABLE</span>"
        } else {
            ""
        };
        let _ = writeln!(b, "<td class=\"l\">{status}</td></tr>");
    }
    b.push_str("</table></div>\n");
    let notes: BTreeSet<&String> = report
        .points
        .iter()
        .flat_map(|p| p.notes.iter())
        .filter(|n| !n.starts_with("UNSTABLE"))
        .collect();
    if !notes.is_empty() {
        b.push_str("<details>\n<summary>Other notes</summary>\n<ul>\n");
        for n in notes {
            let _ = writeln!(b, "<li>{}</li>", inline(n));
        }
        b.push_str("</ul>\n</details>\n");
    }
    b.push_str(&charts_section(charts));
    page(&format!("{} · archsim sweep", report.scenario), &b)
}

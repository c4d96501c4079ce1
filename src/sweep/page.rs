//! The sweep folder's `index.html`: the grid, the table of points and the
//! charts, made with the page kit of [`crate::report::html`].

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::report::answers::{badge_html, fmt_value, objective_text};
use crate::report::html::{charts_section, description_html, escape, heading, inline, page};
use crate::report::plot::ChartFile;
use crate::report::value_label;
use crate::run::SweepReport;
use crate::run::slo::{SloResult, Verdict, lookup, overall};

/// The sweep's page: name, description, the grid, the SLO objectives and
/// how many points meet them, the table of points (parameters,
/// replications, the headline metrics ± 95% leading, each point's SLO
/// verdict, UNSTABLE marked), every chart.
pub fn sweep_page(report: &SweepReport, description: &str, charts: &[ChartFile]) -> String {
    let mut b = String::new();
    let (title, head) = heading(description, &report.scenario, "sweep");
    b.push_str(&head);
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

    // The headline leads; then any other metric an objective is on.
    let mut metrics = super::headline(report);
    let judged = super::has_objectives(report);
    for r in report.points.iter().flat_map(|p| p.slo.iter()) {
        if !metrics.contains(&r.metric) {
            metrics.push(r.metric.clone());
        }
    }
    if judged {
        b.push_str(&slo_section(report));
    }
    b.push_str("<h2>Points</h2>\n<div class=\"scroll\"><table>\n<tr>");
    for k in report.vary.keys() {
        // Dotted paths may break after a dot, so the column can be narrow.
        let _ = write!(b, "<th class=\"l\"><code>{}</code></th>", wrap_dots(k));
    }
    b.push_str("<th>reps</th>");
    for m in &metrics {
        let _ = write!(b, "<th><code>{}</code></th>", wrap_dots(m));
    }
    if judged {
        b.push_str("<th class=\"l\">SLO</th>");
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
        for m in &metrics {
            let cell = lookup(&p.metrics, m)
                .map(|v| fmt_value(m, &v, p.replications))
                .unwrap_or_else(|| "-".into());
            let _ = write!(b, "<td>{}</td>", escape(&cell));
        }
        if judged {
            let _ = write!(b, "<td class=\"l\">{}</td>", verdict_html(&p.slo));
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
    page(&title, &b)
}

/// Dotted names may break after a dot, so a column can be narrow.
fn wrap_dots(s: &str) -> String {
    escape(s).replace('.', ".<wbr>")
}

/// A point's verdict badge, with the objectives that decided it when there
/// are several (see [`super::verdict_text`]) on a line of their own, so the
/// column stays narrow.
fn verdict_html(results: &[SloResult]) -> String {
    let Some(all) = overall(results) else {
        return String::new();
    };
    let text = super::verdict_text(results);
    match text.split_once(" (") {
        Some((_, which)) => format!(
            "{}<br><span class=\"ci\">{}</span>",
            badge_html(all),
            escape(which.trim_end_matches(')'))
        ),
        None => badge_html(all),
    }
}

/// The SLO section: the objectives, the rule, and how many points met them.
fn slo_section(report: &SweepReport) -> String {
    let mut objectives: Vec<String> = Vec::new();
    for r in report.points.iter().flat_map(|p| p.slo.iter()) {
        let t = objective_text(r);
        if !objectives.contains(&t) {
            objectives.push(t);
        }
    }
    let count = |v: Verdict| {
        report
            .points
            .iter()
            .filter(|p| overall(&p.slo) == Some(v))
            .count()
    };
    let mut s = String::from("<h2 id=\"slo\">SLO</h2>\n<ul>\n");
    for o in &objectives {
        let _ = writeln!(s, "<li><code>{}</code></li>", escape(o));
    }
    s.push_str("</ul>\n");
    let _ = writeln!(
        s,
        "<p>Of {} points: {} {}, {} {}, {} {}. A point passes an objective when the whole 95% interval of its \
         metric lies on the good side of the target, fails when the whole interval lies on the bad side, and is \
         uncertain when the target falls inside it (more replications would tell); with one replication the \
         verdict rests on the estimate alone.</p>",
        report.points.len(),
        count(Verdict::Pass),
        badge_html(Verdict::Pass),
        count(Verdict::Fail),
        badge_html(Verdict::Fail),
        count(Verdict::Uncertain),
        badge_html(Verdict::Uncertain),
    );
    s
}

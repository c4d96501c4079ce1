//! `index.html` of a run folder, and the page kit every folder's page is
//! made with (SPEC §3): one file with inline CSS and inline SVG, no script
//! and no network access, so it opens by double-click anywhere. All text
//! from the user (names, descriptions, parameter values, notes) is escaped.
//! The sweep's and the comparison's pages are `sweep::page` and
//! `compare::page`.

use std::fmt::Write;

use super::plot::ChartFile;
use crate::run::{MetricValue, Report};

const CSS: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
  max-width: 1060px; margin: 2rem auto; padding: 0 1rem; color: #222; background: #fff; line-height: 1.5; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
.meta { color: #555; margin: 0 0 1rem; }
.description { max-width: 46rem; }
code, pre { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', monospace; font-size: .88em; }
code { background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
pre { background: #f7f7f7; border: 1px solid #e2e2e2; padding: .8rem; overflow-x: auto; line-height: 1.35; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #cfcfcf; padding: .3rem .65rem; text-align: right; vertical-align: top; }
td { white-space: nowrap; }
.ci { color: #666; font-size: .85em; }
th { background: #f2f2f2; font-weight: 600; }
th.l, td.l { text-align: left; }
tr.unstable td { background: #fdf0e6; }
.badge { display: inline-block; background: #D55E00; color: #fff; font-size: .75rem; font-weight: 600;
  padding: 0 .4em; border-radius: 3px; }
.warn { background: #fff4e5; border: 1px solid #E69F00; border-left: 6px solid #D55E00;
  padding: .6rem 1rem; margin: .8rem 0; }
.note { background: #eef5fb; border: 1px solid #b9d6ec; border-left: 6px solid #0072B2;
  padding: .6rem 1rem; margin: .8rem 0; }
.verdict { display: inline-block; color: #fff; font-weight: 700; font-size: .8rem; padding: .05em .5em;
  border-radius: 3px; letter-spacing: .03em; }
.verdict.pass { background: #007A55; }
.verdict.fail { background: #C03A00; }
.verdict.uncertain { background: #8A6D00; }
table.headline td { font-size: 1.1rem; }
.scroll { overflow-x: auto; }
figure { margin: 1.2rem 0 2rem; }
figure svg { display: block; width: 100%; max-width: 960px; height: auto; border: 1px solid #e6e6e6; }
figcaption { color: #555; font-size: .9rem; margin-top: .3rem; }
details { margin: .6rem 0; }
summary { cursor: pointer; color: #0072B2; }
footer { color: #777; font-size: .85rem; margin-top: 3rem; border-top: 1px solid #eee; padding-top: .6rem; }
";

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `code` spans (the scenario descriptions use them).
pub(crate) fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    // An unmatched backtick leaves an unclosed span: keep the text as it was.
    if s.matches('`').count() % 2 == 1 {
        return escape(s);
    }
    out
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\
         <footer>Written by archsim {}. Charts are also saved beside this page as SVG files.</footer>\n\
         </body>\n</html>\n",
        escape(title),
        env!("CARGO_PKG_VERSION"),
    )
}

/// A chart's SVG ready to sit inside HTML: the XML namespace dropped (HTML
/// knows `<svg>`), an accessible name added.
fn inline_svg(c: &ChartFile) -> String {
    let svg = c
        .svg
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replacen(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "", 1);
    let svg = match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    };
    svg.replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{}\"", escape(&c.title)),
        1,
    )
}

pub(crate) fn charts_section(charts: &[ChartFile]) -> String {
    if charts.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2>Charts</h2>\n");
    for c in charts {
        let _ = write!(
            s,
            "<figure id=\"{}\">\n{}\n<figcaption>{} — <code>{}</code></figcaption>\n</figure>\n",
            escape(c.file.trim_end_matches(".svg")),
            inline_svg(c),
            escape(&c.title),
            escape(&c.file)
        );
    }
    s
}

pub(crate) fn notes_section(notes: &[String]) -> String {
    let mut s = String::new();
    for n in notes {
        let class = if n.starts_with("UNSTABLE") { "warn" } else { "note" };
        let _ = writeln!(s, "<div class=\"{class}\">{}</div>", inline(n));
    }
    s
}

pub(crate) fn description_html(description: &str) -> String {
    let d = description.trim();
    if d.is_empty() {
        return String::new();
    }
    let mut s = String::from("<div class=\"description\">\n");
    for para in d.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let _ = writeln!(s, "<p>{}</p>", inline(para.trim()));
    }
    s.push_str("</div>\n");
    s
}

/// Four significant figures (see [`crate::report::fmt4`]).
pub(crate) fn num(v: f64) -> String {
    crate::report::fmt4(v)
}

/// `value ± ci95` (the value alone without an interval or with a zero one:
/// every replication agreed).
pub(crate) fn with_ci(m: &MetricValue) -> String {
    match m.ci95 {
        Some(c) if c.is_finite() && c > 0.0 => {
            format!("{} <span class=\"ci\">± {}</span>", num(m.value), num(c))
        }
        _ => num(m.value),
    }
}

/// Seconds for the page's header: 120, 30, 0.5.
pub(crate) fn secs(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How a headline metric reads: a label, a unit, a scale.
const HEADLINE: &[(&str, &str, &str, f64)] = &[
    ("requests.offered", "Requests offered", "", 1.0),
    ("requests.completed", "Requests completed", "", 1.0),
    ("requests.failed", "Requests failed", "", 1.0),
    ("requests.rejected", "Requests rejected", "", 1.0),
    ("requests.timed_out", "Requests timed out", "", 1.0),
    ("throughput_rps", "Throughput", "req/s", 1.0),
    ("availability", "Availability", "%", 100.0),
    ("latency.mean_ms", "Latency, mean", "ms", 1.0),
    ("latency.p50_ms", "Latency, p50", "ms", 1.0),
    ("latency.p90_ms", "Latency, p90", "ms", 1.0),
    ("latency.p95_ms", "Latency, p95", "ms", 1.0),
    ("latency.p99_ms", "Latency, p99", "ms", 1.0),
    ("latency.p999_ms", "Latency, p99.9", "ms", 1.0),
    ("latency.max_ms", "Latency, max", "ms", 1.0),
    ("cost.total", "Cost", "$", 1.0),
];

fn headline_table(r: &Report) -> String {
    let ci = r.replications > 1;
    let mut s = String::from("<table>\n<tr><th class=\"l\">metric</th><th>value</th>");
    if ci {
        s.push_str("<th>± 95%</th>");
    }
    s.push_str("<th class=\"l\">unit</th><th class=\"l\">name in report.json</th></tr>\n");
    for (key, label, unit, scale) in HEADLINE {
        let Some(m) = r.metrics.get(*key) else { continue };
        // Money only when the scenario sets prices.
        if *key == "cost.total" && !r.metrics.contains_key("cost.per_hour") {
            continue;
        }
        let _ = write!(
            s,
            "<tr><td class=\"l\">{label}</td><td>{}</td>",
            num(m.value * scale)
        );
        if ci {
            let _ = write!(
                s,
                "<td>{}</td>",
                m.ci95.map(|c| num(c * scale)).unwrap_or_else(|| "-".into())
            );
        }
        let _ = writeln!(
            s,
            "<td class=\"l\">{unit}</td><td class=\"l\"><code>{key}</code></td></tr>"
        );
    }
    s.push_str("</table>\n");
    s
}

/// Per-component table from `components.<name>.<metric>` entries.
fn components_table(r: &Report) -> String {
    let mut names: Vec<String> = Vec::new();
    for k in r.metrics.keys() {
        if let Some(rest) = k.strip_prefix("components.")
            && let Some((name, _)) = rest.split_once('.')
            && !name.contains('[')
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return String::new();
    }
    let cols: &[(&str, &str, f64)] = &[
        ("utilization", "utilization %", 100.0),
        ("queue_length_mean", "queue (mean)", 1.0),
        ("wait.mean_ms", "wait ms (mean)", 1.0),
        ("throughput_rps", "req/s", 1.0),
        ("rejected", "rejected", 1.0),
        ("replicas_mean", "replicas (mean)", 1.0),
    ];
    let present: Vec<&(&str, &str, f64)> = cols
        .iter()
        .filter(|(m, _, _)| {
            names
                .iter()
                .any(|n| r.metrics.contains_key(&format!("components.{n}.{m}")))
        })
        .collect();
    let mut s = String::from("<div class=\"scroll\"><table>\n<tr><th class=\"l\">component</th>");
    for (_, h, _) in &present {
        let _ = write!(s, "<th>{h}</th>");
    }
    s.push_str("</tr>\n");
    for n in &names {
        let _ = write!(s, "<tr><td class=\"l\">{}</td>", escape(n));
        for (m, _, scale) in &present {
            // A database's utilisation is its busiest primary's: an average
            // with idle followers would hide the bottleneck.
            let busiest = format!("components.{n}.primary_utilization_max");
            let key = if *m == "utilization" && r.metrics.contains_key(&busiest) {
                busiest
            } else {
                format!("components.{n}.{m}")
            };
            let cell = r
                .metrics
                .get(&key)
                .map(|v| {
                    with_ci(&MetricValue {
                        value: v.value * scale,
                        ci95: v.ci95.map(|c| c * scale),
                    })
                })
                .unwrap_or_else(|| "-".into());
            let _ = write!(s, "<td>{cell}</td>");
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table></div>\n");
    s
}

fn all_metrics(r: &Report) -> String {
    let mut s = String::from(
        "<details>\n<summary>All metrics</summary>\n<div class=\"scroll\"><table>\n\
         <tr><th class=\"l\">metric</th><th>value</th><th>± 95%</th></tr>\n",
    );
    for (k, m) in &r.metrics {
        let _ = writeln!(
            s,
            "<tr><td class=\"l\"><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(k),
            num(m.value),
            m.ci95.map(num).unwrap_or_else(|| "-".into())
        );
    }
    s.push_str("</table></div>\n</details>\n");
    s
}

/// The run's page: name, description, notes (UNSTABLE in a warning box),
/// the headline and component tables, the text summary, every chart.
pub fn run_page(report: &Report, description: &str, summary_text: &str, charts: &[ChartFile]) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>", escape(&report.scenario));
    let reps = if report.replications == 1 {
        "1 replication".to_string()
    } else {
        format!("{} replications (± is the 95% interval)", report.replications)
    };
    let _ = writeln!(
        b,
        "<p class=\"meta\">seed {} · {reps} · {} s simulated · {} s warm-up</p>",
        report.seed,
        secs(report.duration_s),
        secs(report.warmup_s)
    );
    b.push_str(&super::provenance::line_html(summary_text));
    b.push_str(&description_html(description));
    b.push_str(&super::answers::slo_html(&report.slo, report.replications));
    b.push_str(&super::answers::headline_html(report));
    b.push_str(&notes_section(&report.notes));
    b.push_str("<h2>Summary</h2>\n");
    b.push_str(&headline_table(report));
    let comps = components_table(report);
    if !comps.is_empty() {
        b.push_str("<h3>Components</h3>\n");
        b.push_str(&comps);
    }
    if !summary_text.trim().is_empty() {
        let _ = writeln!(
            b,
            "<details>\n<summary>Text summary (summary.txt)</summary>\n<pre>{}</pre>\n</details>",
            escape(summary_text.trim_end())
        );
    }
    b.push_str(&all_metrics(report));
    b.push_str(&charts_section(charts));
    page(&format!("{} · archsim run", report.scenario), &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(25.682173), "25.68");
        assert_eq!(num(12345.0), "12345");
        assert_eq!(num(0.99912), "0.9991");
        assert_eq!(num(0.0), "0");
    }
}

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
h1 { font-size: 1.55rem; margin: 0 0 .2rem; line-height: 1.25; }
.subtitle { color: #555; font-size: 1.05rem; margin: 0 0 .3rem; }
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
th.theory, td.theory { background: #f5f8fb; color: #333; font-style: italic; }
td.theory.off { color: #C03A00; font-weight: 600; }
td.better { background: #e3f4ec; }
td.worse { background: #fbe6dc; }
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

/// The question a scenario asks, for a page's title: from the first
/// paragraph of its description, the first sentence ending in `?`, else
/// the first sentence; `None` without a description.
pub(crate) fn question(description: &str) -> Option<String> {
    let para = description.trim().split("\n\n").next().unwrap_or("");
    let flat = para.split_whitespace().collect::<Vec<_>>().join(" ");
    let all = sentences(&flat);
    if let Some(q) = all.iter().find(|s| s.ends_with('?')) {
        return Some(q.clone());
    }
    let first = all.first()?;
    // A long first sentence that opens with a lead-in ("A retry storm, a
    // metastable failure: an api with 8 cores…") is titled by its lead-in.
    if first.chars().count() > LONG_TITLE
        && let Some((lead, _)) = first.split_once(": ")
        && lead.chars().count() <= LEAD_IN
        && !lead.contains('`')
    {
        return Some(lead.to_string());
    }
    Some(first.clone())
}

/// Characters beyond which a title sentence is cut at its colon.
const LONG_TITLE: usize = 90;
/// Longest lead-in before a colon that can stand as a title.
const LEAD_IN: usize = 80;

/// The sentences of one line of text: each ends at `.`, `?` or `!`
/// followed by a space and a word that does not start in lower case
/// (`0.8 s`, `e.g. a` and `vs. b` do not end one).
fn sentences(flat: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = flat.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for (k, &(i, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '?' | '!') {
            continue;
        }
        let next = chars.get(k + 1).map(|x| x.1);
        let after = chars.get(k + 2).map(|x| x.1);
        let word = flat[start..i].rsplit(' ').next().unwrap_or("");
        // `e.g.`, `i.e.`, `vs.`: letters and dots only.
        let dotted = word.contains('.') && word.chars().all(|ch| ch.is_alphabetic() || ch == '.');
        let abbreviation = c == '.' && (dotted || ["vs", "etc", "approx", "cf"].contains(&word));
        let ends = match (next, after) {
            (None, _) => true,
            (Some(' '), Some(a)) => !a.is_lowercase() && !abbreviation,
            _ => false,
        };
        if ends {
            let s = flat[start..=i].trim();
            if !s.is_empty() {
                out.push(s.to_string());
            }
            start = i + c.len_utf8();
        }
    }
    let rest = flat[start.min(flat.len())..].trim();
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// A page's heading: the scenario's question as the title, its name (and
/// what the page is: run, sweep, comparison) as a smaller subtitle; the
/// name as the title when there is no description. Returns the text for
/// `<title>` and the HTML of the heading.
pub(crate) fn heading(description: &str, name: &str, kind: &str) -> (String, String) {
    match question(description) {
        Some(q) => (
            format!("{} · {name}", q.replace('`', "")),
            format!(
                "<h1>{}</h1>\n<p class=\"subtitle\">{} · archsim {}</p>\n",
                inline(&q),
                escape(name),
                escape(kind)
            ),
        ),
        None => (
            format!("{name} · archsim {kind}"),
            format!(
                "<h1>{}</h1>\n<p class=\"subtitle\">archsim {}</p>\n",
                escape(name),
                escape(kind)
            ),
        ),
    }
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

/// The theory cell beside a simulated value of `metric`: the prediction
/// (scaled like the value), marked `off` when it lies outside the
/// simulated value's 95% interval (or differs by more than 10% without
/// one), and by more than a gap too small to matter (0.1 ms, one
/// percentage point).
fn theory_cell(metric: &str, sim: Option<&MetricValue>, predicted: Option<f64>, scale: f64) -> String {
    match predicted.filter(|t| t.is_finite()) {
        Some(t) => theory_cell_text(metric, sim, t, &num(t * scale)),
        None => "<td class=\"theory\">-</td>".into(),
    }
}

/// As [`theory_cell`], the prediction `t` written as `text`.
pub(crate) fn theory_cell_text(metric: &str, sim: Option<&MetricValue>, t: f64, text: &str) -> String {
    use super::metrics::{Unit, unit_of};
    let floor = match unit_of(metric) {
        Unit::Ms => 0.1,
        Unit::Fraction => 0.01,
        _ => 0.0,
    };
    let off = sim.is_some_and(|m| {
        let gap = (m.value - t).abs();
        let allowed = match m.ci95 {
            Some(c) if c.is_finite() && c > 0.0 => c,
            _ => 0.1 * t.abs().max(m.value.abs()),
        };
        gap > allowed.max(floor)
    });
    let (class, tip) = if off {
        (" off", " title=\"outside the simulated value's interval\"")
    } else {
        ("", "")
    };
    format!("<td class=\"theory{class}\"{tip}>{}</td>", escape(text))
}

fn headline_table(r: &Report) -> String {
    let ci = r.replications > 1;
    // Steady state, what is served is what is offered.
    let predicted = |key: &str| match key {
        "throughput_rps" => r.theory.get("offered_rps"),
        k => r.theory.get(k),
    };
    let theory = HEADLINE.iter().any(|(k, ..)| predicted(k).is_some());
    let mut s = String::from("<table>\n<tr><th class=\"l\">metric</th><th>value</th>");
    if ci {
        s.push_str("<th>± 95%</th>");
    }
    if theory {
        s.push_str("<th class=\"theory\">theory</th>");
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
        if theory {
            match predicted(key) {
                Some(t) => s.push_str(&theory_cell(key, Some(m), Some(*t), *scale)),
                None => s.push_str("<td class=\"theory\"></td>"),
            }
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
        ("hit_ratio", "hit ratio %", 100.0),
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
    // A theory column beside each metric queueing theory predicts for
    // some component.
    let predicted = |m: &str| {
        names
            .iter()
            .any(|n| r.theory.contains_key(&format!("components.{n}.{m}")))
    };
    let mut s = String::from("<div class=\"scroll\"><table>\n<tr><th class=\"l\">component</th>");
    for (m, h, _) in &present {
        let _ = write!(s, "<th>{h}</th>");
        if predicted(m) {
            s.push_str("<th class=\"theory\">theory</th>");
        }
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
            if predicted(m) {
                let t = r.theory.get(&format!("components.{n}.{m}")).copied();
                s.push_str(&theory_cell(&key, r.metrics.get(&key), t, *scale));
            }
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

/// How to read the theory columns.
const THEORY_NOTE: &str = "<p class=\"meta\"><em>theory</em> is what <code>archsim explain</code> predicts \
(steady state, Poisson arrivals, the queueing model it names for each tier). A prediction in \
<span style=\"color:#C03A00;font-weight:600\">red</span> lies outside the simulated value's 95% interval: \
the model's assumptions do not hold here, for instance a bottleneck elsewhere, retries, a finite queue \
or work that is not exponential.</p>\n";

/// The run's page: name, description, notes (UNSTABLE in a warning box),
/// the headline and component tables, the text summary, every chart.
pub fn run_page(report: &Report, description: &str, summary_text: &str, charts: &[ChartFile]) -> String {
    let mut b = String::new();
    let (title, head) = heading(description, &report.scenario, "run");
    b.push_str(&head);
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
    b.push_str(&super::answers::alerts_html(report));
    b.push_str(&notes_section(&report.notes));
    b.push_str("<h2>Summary</h2>\n");
    b.push_str(&headline_table(report));
    let comps = components_table(report);
    if !comps.is_empty() {
        b.push_str("<h3>Components</h3>\n");
        b.push_str(&comps);
    }
    if !report.theory.is_empty() {
        b.push_str(THEORY_NOTE);
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
    page(&title, &b)
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

    #[test]
    fn the_question_is_the_first_sentence_or_the_first_one_asked() {
        // A question in the first paragraph wins, wherever it is.
        assert_eq!(
            question("Each replica has 2 cores.\n  How many replicas keep p99 under 100 ms? Try more.")
                .as_deref(),
            Some("How many replicas keep p99 under 100 ms?")
        );
        // Else the first sentence; decimals and abbreviations do not end one.
        assert_eq!(
            question("One server at utilisation 0.8. Theory predicts 50 ms.").as_deref(),
            Some("One server at utilisation 0.8.")
        );
        assert_eq!(
            question("Compare A vs. B, e.g. Redis, at 0.8 load. More.").as_deref(),
            Some("Compare A vs. B, e.g. Redis, at 0.8 load.")
        );
        // A question in a later paragraph does not count.
        assert_eq!(
            question("A cache in front of a database.\n\nWhat hit ratio do we need?").as_deref(),
            Some("A cache in front of a database.")
        );
        assert_eq!(
            question("No full stop at all").as_deref(),
            Some("No full stop at all")
        );
        // A long sentence with a lead-in before a colon: the lead-in.
        assert_eq!(
            question(
                "A retry storm, a metastable failure: an api with 8 cores of 8 ms work serves 700/s; \
                 for five seconds the load doubles. Clients retry."
            )
            .as_deref(),
            Some("A retry storm, a metastable failure")
        );
        // A short one keeps its colon.
        assert_eq!(question("Caching: why? No.").as_deref(), Some("Caching: why?"));
        assert_eq!(question("  \n "), None);
    }

    #[test]
    fn the_heading_is_the_question_with_the_name_below() {
        let (title, h) = heading("Is `retry` <safe>? Yes.", "storm", "run");
        assert_eq!(title, "Is retry <safe>? · storm");
        assert!(
            h.starts_with("<h1>Is <code>retry</code> &lt;safe&gt;?</h1>"),
            "{h}"
        );
        assert!(h.contains("<p class=\"subtitle\">storm · archsim run</p>"), "{h}");
        let (title, h) = heading("", "storm", "sweep");
        assert_eq!(title, "storm · archsim sweep");
        assert!(h.starts_with("<h1>storm</h1>"), "{h}");
    }
}

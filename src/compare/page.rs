//! The comparison folder's `index.html`: the inputs, then the answer
//! first, as in `compare.md` and the text: what differs in the
//! configurations, the headline metrics with the SLO verdicts, the
//! significant differences, the rest (the same rows, cells and notes,
//! built from the [`Comparison`] itself), then the charts, made with the
//! page kit of [`crate::report::html`].

use std::fmt::Write;

use super::{
    CONFIG_TITLE, Comparison, FOOTNOTE, HEADLINE_TITLE, REST_TITLE, Row, SIGNIFICANT_TITLE, cells,
    config_notes, config_value, header, left_aligned, letter, metric_group, no_significant, point_label,
    present_in, sections, upper_first,
};
use crate::report::answers::badge_html;
use crate::report::html::{charts_section, escape, heading, page};
use crate::report::plot::ChartFile;

/// The comparison's page: the inputs, what differs in their
/// configurations, the headline metrics and SLO verdicts, the significant
/// differences, every other (point, metric) row, the unmatched points, the
/// charts.
pub fn compare_page(c: &Comparison, charts: &[ChartFile]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for n in &c.scenarios {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    let name = if names.is_empty() {
        "comparison".to_string()
    } else {
        names.join(" vs ")
    };
    let (title, head) = heading(&c.description, &name, "compare");
    let mut b = head;
    b.push_str("<h2>Inputs</h2>\n<ol type=\"A\">\n");
    for i in &c.inputs {
        let _ = writeln!(b, "<li><code>{}</code></li>", escape(i));
    }
    b.push_str("</ol>\n");
    b.push_str(&configuration(c));
    b.push_str(&tables(c));
    b.push_str(&charts_section(charts));
    page(&title, &b)
}

/// What differs in the configurations: a table of path and each input's value.
fn configuration(c: &Comparison) -> String {
    let mut s = format!("<h2 id=\"configuration\">{}</h2>\n", escape(CONFIG_TITLE));
    let d = &c.configuration.differences;
    if !d.is_empty() {
        s.push_str("<div class=\"scroll\"><table>\n<tr><th class=\"l\">setting</th>");
        for i in 0..c.inputs.len() {
            let _ = write!(s, "<th class=\"l\">{}</th>", letter(i));
        }
        s.push_str("</tr>\n");
        for diff in d {
            let _ = write!(s, "<tr><td class=\"l\"><code>{}</code></td>", escape(&diff.path));
            for (i, v) in diff.values.iter().enumerate() {
                let _ = write!(s, "<td class=\"l\">{}</td>", escape(&config_value(c, i, v)));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</table></div>\n");
    }
    for note in config_notes(c) {
        let _ = writeln!(s, "<p>{}</p>", escape(&upper_first(&note)));
    }
    s
}

/// The headline, significant and other rows, the points not in every
/// input, the footnote (the inputs' letters are the list at the top).
fn tables(c: &Comparison) -> String {
    let n = c.inputs.len();
    let class = |j: usize| if left_aligned(j, n) { " class=\"l\"" } else { "" };
    let sec = sections(c);
    let width = header(n).len();
    // `grouped`: a heading row before each group of metrics (the rest).
    let table = |rows: &[&Row], with_point: bool, grouped: bool| -> String {
        let mut s = String::from("<div class=\"scroll\"><table>\n<tr>");
        for (j, h) in header(n).iter().enumerate() {
            let _ = write!(s, "<th{}>{}</th>", class(j), escape(h));
        }
        s.push_str("</tr>\n");
        let mut last: Option<String> = None;
        for r in rows {
            let group = metric_group(&r.metric);
            if grouped && last.as_ref() != Some(&group) {
                let _ = writeln!(
                    s,
                    "<tr class=\"group\"><th class=\"l\" colspan=\"{width}\">{}</th></tr>",
                    escape(&group_title(&group))
                );
                last = Some(group);
            }
            s.push_str(&table_row(r, with_point, &class));
        }
        s.push_str("</table></div>\n");
        s
    };
    let mut s = format!("<h2 id=\"headline\">{}</h2>\n", escape(HEADLINE_TITLE));
    if sec.headline.is_empty() {
        s.push_str("<p>None in every input.</p>\n");
    } else {
        s.push_str(&table(&sec.headline, true, false));
    }
    if !c.slo.is_empty() {
        s.push_str("<h3>SLO</h3>\n<div class=\"scroll\"><table>\n<tr><th class=\"l\">objective</th>");
        for i in 0..n {
            let _ = write!(s, "<th class=\"l\">{}</th>", letter(i));
        }
        s.push_str("</tr>\n");
        for r in &c.slo {
            let at = r
                .point
                .as_ref()
                .map(|p| format!(" @ {}", point_label(p)))
                .unwrap_or_default();
            let _ = write!(
                s,
                "<tr><td class=\"l\">{}</td>",
                escape(&format!("{}{at}", r.objective))
            );
            for (v, m) in r.verdicts.iter().zip(&r.measured) {
                let cell = match v {
                    Some(v) => format!("{} {}", badge_html(*v), escape(m.as_deref().unwrap_or(""))),
                    None => "-".into(),
                };
                let _ = write!(s, "<td class=\"l\">{cell}</td>");
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</table></div>\n");
    }
    let _ = writeln!(s, "<h2 id=\"significant\">{}</h2>", escape(SIGNIFICANT_TITLE));
    if sec.significant.is_empty() {
        let _ = writeln!(s, "<p>{}.</p>", escape(&upper_first(no_significant(c))));
    } else {
        s.push_str(&table(&sec.significant, true, false));
    }
    let _ = writeln!(s, "<h2 id=\"rest\">{}</h2>", escape(REST_TITLE));
    for (label, rows) in &sec.rest {
        if rows.is_empty() && label.is_some() {
            continue;
        }
        if let Some(l) = label {
            let _ = writeln!(s, "<h4>{}</h4>", escape(l));
        }
        s.push_str(&table(rows, false, true));
    }
    if c.kind == "sweeps" && c.rows.is_empty() {
        s.push_str("<p>No point is present in every input.</p>\n");
    }
    if !c.unmatched.is_empty() {
        s.push_str("<p>unmatched points (not in every input):</p>\n<ul>\n");
        for u in &c.unmatched {
            let _ = writeln!(
                s,
                "<li>{}: only in {}</li>",
                escape(&point_label(&u.point)),
                present_in(c, u)
            );
        }
        s.push_str("</ul>\n");
    }
    let _ = writeln!(s, "<p><em>{}</em></p>", escape(FOOTNOTE));
    s
}

/// A group's heading in "the rest".
fn group_title(group: &str) -> String {
    match group.split_once('.') {
        _ if group == "overall" => "the run as a whole".to_string(),
        Some(("clients", n)) => format!("client {n}"),
        Some(("components", n)) => format!("component {n}"),
        Some(("breakdown", n)) => format!("where the time goes: {n}"),
        _ => group.to_string(),
    }
}

/// One row: a significant change that is better is green, worse is red,
/// on the changed input's value and its difference, significance cells
/// (and, with two inputs, the other way round on A's value).
fn table_row(r: &Row, with_point: bool, class: &dyn Fn(usize) -> &'static str) -> String {
    let n = r.values.len();
    let word = |v: i8| match v {
        1 => Some("better"),
        -1 => Some("worse"),
        _ => None,
    };
    let mark = |j: usize| -> Option<&'static str> {
        match j {
            0 => None,
            1 if n == 2 => word(-r.verdict(0)),
            1 => None,
            j if j <= n => word(r.verdict(j - 2)),
            j => {
                let k = j - n - 1;
                (k % 4 != 3).then(|| word(r.verdict(k / 4))).flatten()
            }
        }
    };
    let mut s = String::from("<tr>");
    for (j, cell) in cells(r, false, with_point).iter().enumerate() {
        let classes: Vec<&str> = [(!class(j).is_empty()).then_some("l"), mark(j)]
            .into_iter()
            .flatten()
            .collect();
        let attr = if classes.is_empty() {
            String::new()
        } else {
            format!(" class=\"{}\"", classes.join(" "))
        };
        let _ = write!(s, "<td{attr}>{}</td>", escape(&cell.text));
    }
    s.push_str("</tr>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Direction, Test, Unmatched};

    fn row(point: Option<&str>, metric: &str) -> Row {
        Row {
            point: point.map(|p| {
                [("x".to_string(), serde_json::Value::from(p))]
                    .into_iter()
                    .collect()
            }),
            metric: metric.into(),
            values: vec![10.0, 12.0],
            ci95: vec![Some(1.0), Some(1.0)],
            diff: vec![2.0],
            rel_diff: vec![Some(20.0)],
            significant: vec![Some(true)],
            test: Test::Paired,
            tests: vec![Test::Paired],
            direction: Direction::Lower,
        }
    }

    #[test]
    fn sections_in_order_and_sweep_points_get_a_heading_and_a_table_each() {
        let calm = |p, m| Row {
            significant: vec![Some(false)],
            ..row(p, m)
        };
        let c = Comparison {
            inputs: vec!["a|b/sweep.json".into(), "c/sweep.json".into()],
            kind: "sweeps",
            configuration: crate::compare::Configuration {
                differences: vec![crate::compare::ConfigDiff {
                    path: "components.api.replicas".into(),
                    values: vec![Some("2".into()), None],
                }],
                unknown: vec!["c/sweep.json".into()],
            },
            headline: vec!["throughput_rps".into()],
            headline_rows: vec![calm(Some("1,2"), "throughput_rps")],
            rows: vec![
                calm(Some("1,2"), "latency.p99_ms"),
                row(Some("1,2"), "components.api.wait.mean_ms"),
                calm(Some("1,2"), "throughput_rps"),
                calm(Some("<3>"), "latency.p99_ms"),
            ],
            unmatched: vec![Unmatched {
                point: [("x".to_string(), serde_json::Value::from("4"))]
                    .into_iter()
                    .collect(),
                present_in: vec!["c/sweep.json".into()],
            }],
            ..Comparison::default()
        };
        let h = compare_page(&c, &[]);
        assert!(
            h.contains("<ol type=\"A\">\n<li><code>a|b/sweep.json</code></li>"),
            "{h}"
        );
        let at = |t: &str| h.find(t).unwrap_or_else(|| panic!("no {t} in {h}"));
        assert!(
            at(CONFIG_TITLE) < at(HEADLINE_TITLE)
                && at(HEADLINE_TITLE) < at("Significant differences")
                && at("Significant differences") < at(REST_TITLE)
        );
        assert!(
            h.contains("<td class=\"l\"><code>components.api.replicas</code></td><td class=\"l\">2</td><td class=\"l\">?</td>"),
            "{h}"
        );
        assert!(h.contains("B: no scenario.resolved.yaml"), "{h}");
        assert!(h.contains("<td class=\"l\">throughput_rps @ x=1,2</td>"), "{h}");
        assert!(
            h.contains(
                "<td class=\"l\">components.api.wait.mean_ms @ x=1,2</td><td class=\"better\">10.00 ± 1.000</td>\
                 <td class=\"worse\">12.00 ± 1.000</td><td class=\"worse\">+2.000</td><td class=\"worse\">+20.00%</td>\
                 <td class=\"l worse\">yes, worse</td><td class=\"l\">paired</td>"
            ),
            "{h}"
        );
        assert!(
            h.contains("<h4>x=1,2</h4>") && h.contains("<h4>x=&lt;3&gt;</h4>"),
            "{h}"
        );
        // Headline, significant, and one table per point in the rest; a
        // headline metric is not repeated there.
        assert_eq!(h.matches("<table>").count(), 1 + 2 + 2);
        assert_eq!(h.matches(">throughput_rps").count(), 1, "{h}");
        assert!(h.contains("<li>x=4: only in B</li>"), "{h}");
        assert!(h.contains("<p><em>significance at 95% vs A"), "{h}");
    }
}

//! The comparison folder's `index.html`: the inputs, the table (the same
//! rows, cells and notes as `compare.md`, built from the [`Comparison`]
//! itself) and the charts, made with the page kit of
//! [`crate::report::html`].

use std::fmt::Write;

use super::{
    Comparison, FOOTNOTE, Row, cells, groups, header, left_aligned, letter, point_label, present_in,
};
use crate::report::html::{charts_section, escape, page};
use crate::report::plot::ChartFile;

/// The comparison's page: the inputs, the table of every (point, metric)
/// row with differences and significance, the unmatched points, the charts.
pub fn compare_page(c: &Comparison, charts: &[ChartFile]) -> String {
    let mut b = String::from("<h1>Comparison</h1>\n<h2>Inputs</h2>\n<ol type=\"A\">\n");
    for i in &c.inputs {
        let _ = writeln!(b, "<li><code>{}</code></li>", escape(i));
    }
    b.push_str("</ol>\n<h2>Table</h2>\n");
    b.push_str(&table(c));
    b.push_str(&charts_section(charts));
    page("archsim compare", &b)
}

/// The table section: the legend, one table per point (one in all for
/// reports), the points not in every input, the footnote.
fn table(c: &Comparison) -> String {
    let n = c.inputs.len();
    let class = |j: usize| if left_aligned(j, n) { " class=\"l\"" } else { "" };
    let mut s = String::from("<ul>\n");
    for (i, input) in c.inputs.iter().enumerate() {
        let _ = writeln!(s, "<li>{} = <code>{}</code></li>", letter(i), escape(input));
    }
    s.push_str("</ul>\n");
    for (label, rows) in groups(c) {
        if let Some(l) = label {
            let _ = writeln!(s, "<h4>{}</h4>", escape(&l));
        }
        s.push_str("<div class=\"scroll\"><table>\n<tr>");
        for (j, h) in header(n).iter().enumerate() {
            let _ = write!(s, "<th{}>{}</th>", class(j), escape(h));
        }
        s.push_str("</tr>\n");
        for r in rows {
            s.push_str(&table_row(r, &class));
        }
        s.push_str("</table></div>\n");
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

fn table_row(r: &Row, class: &dyn Fn(usize) -> &'static str) -> String {
    let mut s = String::from("<tr>");
    for (j, cell) in cells(r, false).iter().enumerate() {
        let _ = write!(s, "<td{}>{}</td>", class(j), escape(&cell.text));
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
    fn sweep_points_get_a_heading_and_a_table_each() {
        let c = Comparison {
            inputs: vec!["a|b/sweep.json".into(), "c/sweep.json".into()],
            kind: "sweeps",
            rows: vec![
                row(Some("1,2"), "latency.p99_ms"),
                row(Some("<3>"), "latency.p99_ms"),
            ],
            unmatched: vec![Unmatched {
                point: [("x".to_string(), serde_json::Value::from("4"))]
                    .into_iter()
                    .collect(),
                present_in: vec!["c/sweep.json".into()],
            }],
        };
        let h = compare_page(&c, &[]);
        assert!(h.contains("<li>A = <code>a|b/sweep.json</code></li>"), "{h}");
        assert!(
            h.contains("<h4>x=1,2</h4>") && h.contains("<h4>x=&lt;3&gt;</h4>"),
            "{h}"
        );
        assert_eq!(h.matches("<table>").count(), 2);
        assert!(
            h.contains(
                "<td class=\"l\">latency.p99_ms</td><td>10.00 ± 1.000</td><td>12.00 ± 1.000</td>\
                 <td>+2.000</td><td>+20.00%</td><td class=\"l\">yes, worse</td><td class=\"l\">paired</td>"
            ),
            "{h}"
        );
        assert!(h.contains("<li>x=4: only in B</li>"), "{h}");
        assert!(h.contains("<p><em>significance at 95% vs A"), "{h}");
    }
}

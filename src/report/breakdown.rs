//! "Where the time goes": a run's `breakdown.*` metrics as tiers sorted by
//! their share of the mean latency, a few lines for the summary, and a
//! stacked bar chart.
//!
//! A tier's `network`, `queue` and `service` are additive: over all tiers,
//! plus `other`, they add up to `latency.mean_ms`. Its `downstream` (time it
//! waited on its own calls) includes its callees' parts, so it is shown
//! beside them, never added to them.

use std::collections::BTreeSet;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::plot::{
    BLUE, ChartFile, Coord, DESC_PX, GREEN, INK, Item, MUTED, Swatch, VERMILLION, anchored, category_axis,
    draw_header, fmt_value, font, house_mesh, linear_axis, render_svg, y_label_area,
};
use crate::run::{MetricValue, Report};

/// The categories of a tier, in the order of [`Tier`]'s fields.
const CATEGORIES: [&str; 4] = ["network", "queue", "service", "downstream"];

/// Most bars the chart draws (the largest tiers).
const MAX_BARS: usize = 12;

/// One category of a tier: its mean per request and the 99th percentile
/// of its per-request contribution (ms), each with its 95% interval when
/// there are replications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Part {
    /// Mean per successful request (a request not visiting the tier counts 0).
    pub mean: MetricValue,
    /// 99th percentile of the per-request contribution.
    pub p99: MetricValue,
}

/// A component on the critical path of successful requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Tier {
    /// The component's name.
    pub name: String,
    /// On the wire to it and back.
    pub network: Part,
    /// Queued there before service.
    pub queue: Part,
    /// In service there.
    pub service: Part,
    /// Waiting there for its own calls (includes theirs: not additive).
    pub downstream: Part,
    /// network + queue + service: its share of the mean latency (ms), the
    /// interval from the per-replication sums when there are several.
    pub total: MetricValue,
}

const ZERO: MetricValue = MetricValue {
    value: 0.0,
    ci95: None,
};

fn metric(r: &Report, name: &str) -> MetricValue {
    r.metrics.get(name).copied().unwrap_or(ZERO)
}

fn part(r: &Report, prefix: &str) -> Part {
    Part {
        mean: metric(r, &format!("{prefix}.mean_ms")),
        p99: metric(r, &format!("{prefix}.p99_ms")),
    }
}

/// The tiers of a run (components with `breakdown.*` metrics), largest
/// total first (ties by name). Empty when the run has no breakdown (no
/// successful request).
pub fn tiers(r: &Report) -> Vec<Tier> {
    let names: BTreeSet<&str> = r
        .metrics
        .keys()
        .filter_map(|k| {
            let rest = k.strip_prefix("breakdown.")?.strip_suffix(".mean_ms")?;
            CATEGORIES
                .iter()
                .find_map(|c| rest.strip_suffix(c)?.strip_suffix('.'))
        })
        .collect();
    let mut out: Vec<Tier> = names
        .into_iter()
        .map(|name| {
            let p = |c: &str| part(r, &format!("breakdown.{name}.{c}"));
            let (network, queue, service) = (p("network"), p("queue"), p("service"));
            let value = network.mean.value + queue.mean.value + service.mean.value;
            Tier {
                name: name.to_string(),
                network,
                queue,
                service,
                downstream: p("downstream"),
                total: MetricValue {
                    value,
                    ci95: total_ci95(r, name),
                },
            }
        })
        .collect();
    out.sort_by(|a, b| b.total.value.total_cmp(&a.total.value).then(a.name.cmp(&b.name)));
    out
}

/// The 95% interval of a tier's total, from its parts' values in each
/// replication (`None` with one replication).
fn total_ci95(r: &Report, name: &str) -> Option<f64> {
    let per: Vec<&Vec<f64>> = ["network", "queue", "service"]
        .iter()
        .map(|c| r.replication_values.get(&format!("breakdown.{name}.{c}.mean_ms")))
        .collect::<Option<_>>()?;
    let n = per[0].len();
    if n < 2 || per.iter().any(|v| v.len() != n) {
        return None;
    }
    let sums: Vec<f64> = (0..n).map(|i| per.iter().map(|v| v[i]).sum()).collect();
    crate::stats::mean_ci95(&sums).1
}

/// What no tier holds: the time of successful requests spent on failed or
/// timed-out attempts and retry backoff (`breakdown.other.*`).
pub fn other(r: &Report) -> Option<Part> {
    r.metrics
        .contains_key("breakdown.other.mean_ms")
        .then(|| part(r, "breakdown.other"))
}

/// `v` ms with its interval when there are replications: `38.10 ±0.40`.
fn ms(r: &Report, v: MetricValue) -> String {
    match v.ci95 {
        Some(ci) if r.replications > 1 => format!("{:.2} ±{:.2}", v.value, ci),
        _ => format!("{:.2}", v.value),
    }
}

/// Rows of cells as aligned lines: the first column left-aligned, the
/// second right-aligned, the others left-aligned; two spaces apart,
/// indented by two.
fn align(rows: &[Vec<String>]) -> Vec<String> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    // The name and share columns fit every row; the others the full rows
    // only (a short row's last cell runs on).
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter(|r| c < 2 || r.len() == cols)
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    if c == 1 {
                        format!("{s:>w$}", w = width[c])
                    } else {
                        format!("{s:<w$}", w = width[c])
                    }
                })
                .collect();
            format!("  {}", cells.join("  ").trim_end())
        })
        .collect()
}

/// The summary's "Where the time goes" block: a heading with the mean
/// latency, then the `top` largest tiers with their share of it and their
/// queue, service and network means (± the 95% interval with
/// replications), then what the rest and `other` hold. Empty without a
/// breakdown or without latency.
pub fn summary_lines(r: &Report, top: usize) -> Vec<String> {
    let all = tiers(r);
    let latency = r.value("latency.mean_ms").unwrap_or(0.0);
    if all.is_empty() || latency <= 0.0 {
        return Vec::new();
    }
    let share = |v: f64| format!("{:.0}%", 100.0 * v / latency);
    let mut rows: Vec<Vec<String>> = all
        .iter()
        .filter(|t| t.total.value > 0.0)
        .take(top)
        .map(|t| {
            vec![
                t.name.clone(),
                share(t.total.value),
                format!("queue {} ms", ms(r, t.queue.mean)),
                format!("service {} ms", ms(r, t.service.mean)),
                format!("network {} ms", ms(r, t.network.mean)),
            ]
        })
        .collect();
    let shown = rows.len();
    let rest: Vec<&Tier> = all.iter().filter(|t| t.total.value > 0.0).skip(shown).collect();
    if !rest.is_empty() {
        let sum: f64 = rest.iter().map(|t| t.total.value).sum();
        rows.push(vec![
            format!("{} more", rest.len()),
            share(sum),
            format!("{} ms together", fmt_ms(sum)),
        ]);
    }
    if let Some(o) = other(r)
        && o.mean.value > 0.005 * latency
    {
        rows.push(vec![
            "other".into(),
            share(o.mean.value),
            format!("{} ms failed attempts, retry waits", ms(r, o.mean)),
        ]);
    }
    let mut out = vec![format!(
        "Where the time goes (mean {} ms per successful request, critical path)",
        ms(r, metric(r, "latency.mean_ms"))
    )];
    out.extend(align(&rows));
    out
}

/// Two decimals.
fn fmt_ms(v: f64) -> String {
    format!("{v:.2}")
}

/// Colours of the stacked categories (fixed, whatever the tiers), and of
/// the `other` bar.
const STACK: [(&str, RGBColor); 3] = [("network", BLUE), ("queue", VERMILLION), ("service", GREEN)];
const OTHER: RGBColor = MUTED;

/// The chart `breakdown.svg`: one bar per tier (the largest twelve),
/// stacked network, queue and service in fixed colours, and a grey bar for
/// `other` when it holds anything; ms from 0; 95% whiskers on each bar's
/// total with replications. `None` without breakdown metrics.
pub fn chart(r: &Report) -> Option<ChartFile> {
    let all = tiers(r);
    if all.is_empty() {
        return None;
    }
    let mut bars: Vec<(String, [f64; 3], Option<f64>)> = all
        .iter()
        .take(MAX_BARS)
        .map(|t| {
            (
                t.name.clone(),
                [t.network.mean.value, t.queue.mean.value, t.service.mean.value],
                t.total.ci95,
            )
        })
        .collect();
    let other = other(r).filter(|o| o.mean.value > 0.0);
    let title = "Where the time goes (mean ms per request)";
    let latency = r.value("latency.mean_ms").unwrap_or(0.0);
    let mut subtitle = format!(
        "mean latency {} ms = the bars' sum; one bar per component on the critical path",
        fmt_value(latency)
    );
    if all.len() > MAX_BARS {
        subtitle = format!(
            "mean latency {} ms; the {MAX_BARS} largest of {} components on the critical path",
            fmt_value(latency),
            all.len()
        );
    }
    if r.replications > 1 {
        subtitle.push_str("; whiskers: 95% interval");
    }
    let n_tiers = bars.len();
    if let Some(o) = &other {
        bars.push(("other".into(), [0.0, 0.0, o.mean.value], o.mean.ci95));
    }
    let top = bars
        .iter()
        .map(|(_, v, ci)| v.iter().sum::<f64>() + ci.unwrap_or(0.0))
        .fold(0.0, f64::max);
    let mut y = linear_axis("Mean per request (ms)", 0.0, top * 1.12, 6, true, false);
    if y.hi < top * 1.12 {
        y.hi = top * 1.12;
    }
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let x = category_axis("Component", &labels);
    let svg = render_svg(|root| {
        let mut legend: Vec<Item> = STACK
            .iter()
            .map(|(l, c)| Item::Series(l, *c, Swatch::Square))
            .collect();
        if other.is_some() {
            legend.push(Item::Series(
                "other (failed attempts, retry waits)",
                OTHER,
                Swatch::Square,
            ));
        }
        let top = draw_header(root, title, Some(&subtitle), &legend, &[])?;
        let area = root.margin(top, 10, 12, 24);
        let (Coord::Linear(xc), Coord::Linear(yc)) = (x.coord(), y.coord()) else {
            return Ok(());
        };
        let mut chart = ChartBuilder::on(&area)
            .x_label_area_size(50)
            .y_label_area_size(y_label_area(&y))
            .build_cartesian_2d(xc, yc)?;
        let xfmt = |v: &f64| x.label_of(*v);
        let yfmt = |v: &f64| y.label_of(*v);
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh()
            .x_labels(labels.len().max(2))
            .y_labels(y.ticks.len().max(2))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .x_desc(x.desc.clone())
            .y_desc(y.desc.clone());
        house_mesh(&mut mesh, DESC_PX).draw()?;
        let half = 0.34;
        for (i, (_, parts, ci)) in bars.iter().enumerate() {
            let xi = i as f64;
            let mut base = 0.0;
            for (k, v) in parts.iter().enumerate() {
                if *v <= 0.0 {
                    continue;
                }
                let c = if i >= n_tiers { OTHER } else { STACK[k].1 };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(xi - half, base), (xi + half, base + v)],
                    c.filled(),
                )))?;
                base += v;
            }
            let mut label_top = chart.backend_coord(&(xi, base)).1;
            if let Some(ci) = ci.filter(|c| *c > 0.0 && c.is_finite()) {
                let (px, top) = chart.backend_coord(&(xi, base + ci));
                let (_, bot) = chart.backend_coord(&(xi, (base - ci).max(0.0)));
                root.draw(&PathElement::new(
                    vec![
                        (px - 5, top),
                        (px + 5, top),
                        (px, top),
                        (px, bot),
                        (px - 5, bot),
                        (px + 5, bot),
                    ],
                    INK.stroke_width(1),
                ))?;
                label_top = top;
            }
            let (px, _) = chart.backend_coord(&(xi, base));
            root.draw(&Text::new(
                fmt_value(base),
                (px, label_top - 3),
                anchored(font(12.0, INK), HPos::Center, VPos::Bottom),
            ))?;
        }
        Ok(())
    })
    .ok()?;
    Some(ChartFile {
        file: "breakdown.svg".into(),
        title: title.into(),
        svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn report(metrics: &[(&str, f64)], reps: u32) -> Report {
        Report {
            archsim_version: "0".into(),
            scenario: "t".into(),
            seed: 1,
            replications: reps,
            duration_s: 1.0,
            warmup_s: 0.0,
            headline: Vec::new(),
            slo: Vec::new(),
            theory: Default::default(),
            metrics: metrics
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        MetricValue {
                            value: *v,
                            ci95: (reps > 1).then_some(0.5),
                        },
                    )
                })
                .collect(),
            notes: Vec::new(),
            latency_cdf: Vec::new(),
            alerts: Vec::new(),
            replication_seeds: Vec::new(),
            replication_values: BTreeMap::new(),
        }
    }

    fn sample(reps: u32) -> Report {
        report(
            &[
                ("latency.mean_ms", 50.0),
                ("breakdown.api.network.mean_ms", 2.0),
                ("breakdown.api.queue.mean_ms", 3.0),
                ("breakdown.api.service.mean_ms", 5.0),
                ("breakdown.api.downstream.mean_ms", 35.0),
                ("breakdown.api.service.p99_ms", 20.0),
                ("breakdown.db.network.mean_ms", 2.0),
                ("breakdown.db.queue.mean_ms", 18.0),
                ("breakdown.db.service.mean_ms", 10.0),
                ("breakdown.db.downstream.mean_ms", 0.0),
                // A component named "other" is a tier; the remainder is not.
                ("breakdown.other.network.mean_ms", 0.0),
                ("breakdown.other.queue.mean_ms", 0.0),
                ("breakdown.other.service.mean_ms", 5.0),
                ("breakdown.other.downstream.mean_ms", 0.0),
                ("breakdown.other.mean_ms", 5.0),
                ("breakdown.other.p99_ms", 40.0),
                ("components.db.wait.mean_ms", 18.0),
            ],
            reps,
        )
    }

    #[test]
    fn tiers_are_sorted_by_their_total_and_add_up_with_other() {
        let r = sample(1);
        let t = tiers(&r);
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["db", "api", "other"]);
        assert_eq!(t[0].total.value, 30.0);
        assert_eq!(t[1].total.value, 10.0);
        assert_eq!(t[1].downstream.mean.value, 35.0);
        assert_eq!(t[1].service.p99.value, 20.0);
        let o = other(&r).expect("the remainder");
        assert_eq!((o.mean.value, o.p99.value), (5.0, 40.0));
        let sum: f64 = t.iter().map(|t| t.total.value).sum::<f64>() + o.mean.value;
        assert_eq!(sum, 50.0);
        assert!(tiers(&report(&[("latency.mean_ms", 1.0)], 1)).is_empty());
    }

    #[test]
    fn the_summary_gives_shares_of_the_mean_latency() {
        let lines = summary_lines(&sample(1), 2);
        assert_eq!(
            lines[0],
            "Where the time goes (mean 50.00 ms per successful request, critical path)"
        );
        assert_eq!(
            lines[1],
            "  db      60%  queue 18.00 ms  service 10.00 ms  network 2.00 ms"
        );
        assert_eq!(
            lines[2],
            "  api     20%  queue 3.00 ms   service 5.00 ms   network 2.00 ms"
        );
        assert!(
            lines[3].contains("1 more") && lines[3].contains("10%"),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].contains("other") && lines[4].contains("10%"),
            "{}",
            lines[4]
        );
        // The shares' columns line up.
        let col = |l: &str| l.find('%');
        assert_eq!(col(&lines[1]), col(&lines[2]));
        // With replications, intervals.
        let lines = summary_lines(&sample(3), 3);
        assert!(lines[1].contains("queue 18.00 ±0.50 ms"), "{}", lines[1]);
        assert!(summary_lines(&report(&[("latency.mean_ms", 1.0)], 1), 3).is_empty());
    }

    #[test]
    fn the_chart_stacks_each_tier_and_is_absent_without_a_breakdown() {
        let c = chart(&sample(1)).expect("a chart");
        assert_eq!(c.file, "breakdown.svg");
        assert!(c.svg.contains("Where the time goes (mean ms per request)"));
        for l in ["network", "queue", "service", "db", "api"] {
            assert!(c.svg.contains(&format!(">\n{l}\n</text>")), "{l} missing");
        }
        // Bars for the two tiers with parts, the component named "other"
        // and the remainder: db's stack is network, queue, service.
        let green = c.svg.matches("fill=\"#009E73\"").count();
        assert!(green >= 3, "{green} service blocks");
        assert!(chart(&report(&[("latency.mean_ms", 1.0)], 1)).is_none());
    }
}

//! The plan folder's `index.html`: the answer first, theory beside it,
//! what the search cost, the charts, every probe, made with the page kit of
//! [`crate::report::html`].

use std::fmt::Write;

use super::output::{PlanReport, objectives_text, value_text};
use crate::report::answers::badge_html;
use crate::report::html::{
    charts_section, description_html, escape, heading, inline, notes_section, num, page,
};
use crate::report::plot::ChartFile;

/// The page: the question as title, the answer (`id="answer"`), theory's
/// answer (`id="theory"`), the search's cost against a grid, the charts
/// (the plan's first), the probes in search order (`id="probes"`), notes,
/// objectives.
pub fn plan_page(r: &PlanReport, description: &str, charts: &[ChartFile]) -> String {
    let mut b = String::new();
    let (title, head) = heading(description, &r.scenario, "plan");
    b.push_str(&head);
    let _ = writeln!(
        b,
        "<p class=\"meta\">question <code>{}</code>{} · seed {} · {}–{} replications per probe (common random numbers)</p>",
        escape(&r.question),
        r.parameter
            .as_ref()
            .map(|p| format!(" on <code>{}</code>", escape(p)))
            .unwrap_or_default(),
        r.seed,
        r.replications.0,
        r.replications.1
    );
    let class = if r.answer.found { "note" } else { "warn" };
    let _ = writeln!(
        b,
        "<div class=\"{class}\" id=\"answer\" style=\"font-size:1.2rem\"><strong>{}</strong></div>",
        escape(&r.answer.sentence)
    );
    if let Some(t) = &r.theory
        && !t.sentence.is_empty()
    {
        let _ = writeln!(b, "<p id=\"theory\">{}</p>", escape(&t.sentence));
    }
    let over = match (r.grid.from, r.grid.to, r.grid.step) {
        (Some(a), Some(z), Some(s)) => format!(
            " ({} to {} step {})",
            value_text(a, &r.unit),
            value_text(z, &r.unit),
            value_text(s, &r.unit)
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        b,
        "<p class=\"meta\" id=\"cost\">Search: {} probes, {} simulations; a grid at the same resolution{}: {} points × {} replications = {} simulations.</p>",
        r.probes.len(),
        r.simulations,
        escape(&over),
        r.grid.points,
        r.replications.0,
        r.grid.simulations
    );
    if let Some(c) = r.answer.configurations {
        let _ = writeln!(
            b,
            "<p class=\"meta\">Configurations: {} simulated, {} implied to fail by a failure with more capacity, {} dearer than the answer, of {}.</p>",
            c.evaluated, c.implied, c.beyond, c.total
        );
    }
    b.push_str(&description_html(description));
    // The plan's chart first, then the rest (topology).
    let mut ordered: Vec<ChartFile> = charts
        .iter()
        .filter(|c| c.file.starts_with("plan"))
        .cloned()
        .collect();
    ordered.extend(charts.iter().filter(|c| !c.file.starts_with("plan")).cloned());
    b.push_str(&charts_section(&ordered));
    b.push_str(&probes_table(r));
    if !r.notes.is_empty() {
        b.push_str("<h2>Notes</h2>\n");
        b.push_str(&notes_section(&r.notes));
    }
    let _ = writeln!(
        b,
        "<h2 id=\"objectives\">Objectives</h2>\n<p><code>{}</code></p>\n<p>A probe passes an objective when the whole 95% interval of its metric lies on the good side of the target, fails when it lies wholly on the bad side, and is uncertain when the target falls inside it; an uncertain probe is run again with twice the replications, up to {}.</p>",
        escape(&objectives_text(&r.objectives)),
        r.replications.1
    );
    page(&title, &b)
}

fn probes_table(r: &PlanReport) -> String {
    let cheapest = r.question == "cheapest";
    let mut s = String::from("<h2>Probes</h2>\n<div class=\"scroll\"><table id=\"probes\">\n<tr><th>#</th>");
    if cheapest {
        s.push_str("<th class=\"l\">configuration</th><th>$/hour</th>");
    } else {
        let _ = write!(
            s,
            "<th><code>{}</code></th>",
            escape(r.parameter.as_deref().unwrap_or(""))
        );
    }
    for o in &r.objectives {
        let _ = write!(
            s,
            "<th><code>{}</code></th>",
            escape(&o.metric).replace('.', ".<wbr>")
        );
    }
    s.push_str("<th>replications</th><th class=\"l\">verdict</th></tr>\n");
    for p in &r.probes {
        let _ = write!(s, "<tr><td>{}</td>", p.index + 1);
        if cheapest {
            let _ = write!(
                s,
                "<td class=\"l\">{}</td><td>{:.2}</td>",
                inline(&super::chart::configuration_text(&p.params)),
                p.x
            );
        } else {
            let _ = write!(s, "<td>{}</td>", escape(&value_text(p.x, &r.unit)));
        }
        for o in &r.objectives {
            let cell = p
                .slo
                .iter()
                .find(|x| x.metric == o.metric && x.target == o.target)
                .and_then(|x| x.value.map(|v| (v, x.ci95)));
            let text = match cell {
                Some((v, Some(c))) if c.is_finite() && c > 0.0 => {
                    format!("{} <span class=\"ci\">± {}</span>", num(v), num(c))
                }
                Some((v, _)) => num(v),
                None => "—".into(),
            };
            let _ = write!(s, "<td>{text}</td>");
        }
        let rounds = if p.rounds.len() > 1 {
            p.rounds
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("→")
        } else {
            p.replications.to_string()
        };
        let _ = writeln!(
            s,
            "<td>{}</td><td class=\"l\">{}</td></tr>",
            escape(&rounds),
            badge_html(p.verdict)
        );
    }
    s.push_str("</table></div>\n");
    s
}

//! The plan's chart and page, from a plan.json written by hand: the
//! target line, the answer band, one marker per probe, a runaway probe
//! off the scale; the page's answer, probe table and well-formedness.

use archsim::plan::chart::plan_charts;
use archsim::plan::output::PlanReport;
use archsim::plan::page::plan_page;

fn probe(i: usize, x: f64, v: f64, ci: f64, verdict: &str) -> serde_json::Value {
    serde_json::json!({
        "index": i, "params": {"clients.web.arrival.poisson": format!("{x}/s")}, "x": x,
        "replications": 3, "verdict": verdict,
        "slo": [{"metric": "latency.p99_ms", "goal": "at_most", "target": 100.0, "value": v,
                 "ci95": ci, "interval": true, "verdict": verdict}],
        "metrics": {"latency.p99_ms": {"value": v, "ci95": ci}}, "rounds": [3]
    })
}

fn report() -> PlanReport {
    serde_json::from_value(serde_json::json!({
        "archsim_version": "0", "scenario": "cp <demo>", "seed": 1, "question": "max_load",
        "parameter": "clients.web.arrival.poisson", "unit": "/s",
        "objectives": [{"metric": "latency.p99_ms", "goal": "at_most", "target": 100.0}],
        "replications": [3, 24], "precision": "5/s",
        "answer": {"sentence": "The most load meeting the SLO is 190/s & <more>.", "found": true,
                   "value": 190.0, "pass": 190.0, "fail": 195.0},
        "theory": {"value": 300.0, "limit": "saturation of api", "sentence": "Theory: 300/s."},
        "probes": [probe(0, 300.0, 1274.0, 600.0, "fail"), probe(1, 240.0, 118.0, 7.0, "fail"),
                   probe(2, 150.0, 94.0, 2.5, "pass"), probe(3, 190.0, 97.0, 1.3, "pass"),
                   probe(4, 195.0, 100.2, 1.0, "uncertain")],
        "simulations": 15, "grid": {"points": 60, "simulations": 180}, "notes": []
    }))
    .expect("a plan report")
}

#[test]
fn chart_shows_target_answer_probes_and_off_scale() {
    let charts = plan_charts(&report());
    assert_eq!(charts.len(), 1);
    let svg = &charts[0].svg;
    assert_eq!(charts[0].file, "plan.svg");
    assert!(charts[0].title.contains("Most load"), "{}", charts[0].title);
    assert!(svg.contains("SLO 100 ms"), "target line label");
    assert!(svg.contains("\nanswer\n"), "answer band label");
    assert!(svg.contains("theory: saturation of api"));
    assert!(
        svg.contains("1274 ms"),
        "the runaway probe is written off the scale"
    );
    assert!(svg.contains("<polygon"), "an off-scale triangle");
    // Probe numbers 1..5, each once.
    for n in 1..=5 {
        assert_eq!(svg.matches(&format!("\n{n}\n</text>")).count(), 1, "label {n}");
    }
    // Pass dots (2) + legend's, crosses: one fail on scale + off-scale one + key's.
    assert!(svg.matches("stroke-width=\"3\"").count() >= 2 * 3, "fail crosses");
    // The runaway probe does not set the axis: no tick as high as 1000.
    assert!(!svg.contains("\n1000\n") && !svg.contains("\n1200\n"));
}

#[test]
fn page_has_answer_and_probes_escaped_and_closed() {
    let r = report();
    let charts = plan_charts(&r);
    let html = plan_page(&r, "How much load can the api take?", &charts);
    assert!(html.contains("id=\"answer\""));
    assert!(html.contains("id=\"probes\""));
    assert!(html.contains("id=\"theory\""));
    assert!(html.contains("190/s &amp; &lt;more&gt;."), "answer escaped");
    assert!(!html.contains("<more>"));
    assert_eq!(html.matches("<table").count(), html.matches("</table>").count());
    assert_eq!(html.matches("<tr>").count(), 6, "a header and a row per probe");
    assert_eq!(html.matches("class=\"verdict fail\"").count(), 2);
    let chart = html.find("<svg").expect("chart embedded");
    assert!(html.find("id=\"answer\"").expect("answer") < chart);
    assert!(chart < html.find("id=\"probes\"").expect("probes"));
}

#[test]
fn empty_report_does_not_panic() {
    let mut r = report();
    r.probes.clear();
    r.theory = None;
    r.answer = Default::default();
    assert!(plan_charts(&r).is_empty());
    let html = plan_page(&r, "", &[]);
    assert!(html.contains("id=\"probes\""));
    r.objectives.clear();
    assert!(plan_charts(&r).is_empty());
}

//! Alerts: rules over the time series with Prometheus semantics (Prometheus
//! docs, "Alerting rules": evaluated every evaluation interval E; true →
//! pending; pending for at least `for` → firing; false → inactive, a firing
//! alert resolves).
//!
//! The exact timing the tests check (see `src/model/alerts.rs`). The
//! time series is sampled every Δ; the row at time r covers (r − Δ, r].
//! Evaluations happen at the multiples of E (here a multiple of Δ), each
//! seeing the latest row. A crash of every replica at f makes every
//! request fail at once (connection refused), so:
//! - `errors above 0` is true first in the row r₁ = the first multiple of
//!   Δ above f; it fires at ⌈r₁/E⌉·E + `for` (with `for` a multiple of E),
//!   so detection = fired − f lies in (`for`, `for` + E];
//! - an interval average (`error_ratio above 0.5`) may need the first whole
//!   interval after f, which adds less than Δ: detection ∈ (`for`, `for` + E + Δ);
//! - a fault of length b shows in rows r ∈ (f, f + b + Δ), so the alert is
//!   pending for less than b + Δ: it never fires when `for` ≥ b + Δ, and
//!   when f and b are on the sampling grid (rows f + Δ … f + b, pending
//!   b − Δ) it never fires when `for` ≥ b;
//! - after the fault ends at g, the first clean row is ⌈g/Δ⌉·Δ + Δ (the
//!   row holding g still has errors unless g is on the grid, where the
//!   row at g + Δ is clean), and the alert resolves at the first evaluation
//!   at or after it: within E + Δ of g.

use crate::common::run_yaml;

const S: f64 = 1.0;

/// A client at 200/s straight to two replicas; every replica crashes at
/// `at` for `len` (seconds). `alerts` is the YAML list of rules.
fn crash_scenario(at: f64, len: f64, sample: f64, every: f64, alerts: &str) -> String {
    format!(
        "
name: alert-timing
duration: 240s
warmup: 0s
run: {{ interval: {sample}s }}
alert_interval: {every}s
clients:
  web: {{ arrival: {{ poisson: 200/s }}, target: api }}
components:
  api:
    kind: service
    replicas: 2
    cores: 4
    service_time: {{ exponential: 5ms }}
    queue_capacity: 1000
faults:
  - {{ at: {at}s, crash: api, for: {len}s }}
alerts:
{alerts}
"
    )
}

/// The first multiple of `step` strictly above `t` (times in seconds, on
/// a millisecond grid so the arithmetic is exact).
fn above(t: f64, step: f64) -> f64 {
    let (t, step) = ((t * 1000.0).round() as i64, (step * 1000.0).round() as i64);
    ((t / step + 1) * step) as f64 / 1000.0
}

/// The first multiple of `step` at or above `t`.
fn ceil_to(t: f64, step: f64) -> f64 {
    let (t, step) = ((t * 1000.0).round() as i64, (step * 1000.0).round() as i64);
    (((t + step - 1) / step) * step) as f64 / 1000.0
}

fn metric(r: &archsim::run::Report, name: &str) -> Option<f64> {
    r.value(name)
}

#[test]
fn detection_is_for_plus_at_most_one_evaluation_interval() {
    // (Δ, E) pairs, `for` values (multiples of E), fault starts on and off
    // the grids.
    let grids = [(1.0, 1.0), (1.0, 5.0), (2.0, 10.0)];
    let holds = [0.0, 1.0, 3.0];
    for (sample, every) in grids {
        for k in holds {
            let hold = k * every;
            for at in [60.0, 60.3, 93.7] {
                let rules = format!(
                    "  - {{ name: errs, metric: errors, above: 0, for: {hold}s }}\n  \
                     - {{ name: half, metric: error_ratio, above: 0.5, for: {hold}s }}"
                );
                let y = crash_scenario(at, 60.0, sample, every, &rules);
                let (r, _) = run_yaml(&y, 3, 1);
                // `errors above 0`: exact.
                let r1 = above(at, sample);
                let fired = ceil_to(r1, every) + hold;
                let d = metric(&r, "alerts.errs.detection_s").expect("errs fired");
                let first = metric(&r, "alerts.errs.first_fired_s").unwrap();
                println!(
                    "Δ={sample} E={every} for={hold} f={at}: errs fired {first} (predicted {fired}), detection {d:.3}"
                );
                assert!(
                    (first - fired).abs() < 1e-9,
                    "errs fired at {first}, predicted {fired}"
                );
                assert!(
                    d > hold && d <= hold + every + 1e-9,
                    "detection {d} outside (for, for + E] = ({hold}, {}]",
                    hold + every
                );
                // The interval average: within one more sampling interval.
                let dh = metric(&r, "alerts.half.detection_s").expect("half fired");
                println!("  error_ratio > 0.5: detection {dh:.3}");
                assert!(
                    dh > hold && dh < hold + every + sample,
                    "detection {dh} outside (for, for + E + Δ) = ({hold}, {})",
                    hold + every + sample
                );
                assert_eq!(metric(&r, "alerts.errs.fired"), Some(1.0));
                // The report lists the episode with its resolution.
                let log = &r.alerts[0];
                assert_eq!(log.name, "errs");
                assert_eq!(log.episodes.len(), 1);
                assert_eq!(log.detection_s, Some(d));
                // Resolution: at the first evaluation at or after the first
                // clean row, ⌈g/Δ⌉·Δ + Δ.
                let g = at + 60.0;
                let clean = ceil_to(g, sample) + sample;
                let resolved = log.episodes[0].resolved_at_s.expect("resolved");
                assert!(
                    (resolved - ceil_to(clean, every)).abs() < 1e-9,
                    "resolved at {resolved}, predicted {}",
                    ceil_to(clean, every)
                );
                assert!(resolved > g && resolved - g <= every + sample + 1e-9);
                let firing = metric(&r, "alerts.errs.firing_s").unwrap();
                assert!((firing - (resolved - first)).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn an_interval_average_can_take_one_more_sampling_interval() {
    // A crash 0.7 s into a 1 s interval leaves that interval's error ratio
    // near 0.3: `error_ratio above 0.5` waits for the next row, and its
    // detection exceeds `for` + E (by 0.3 s) while staying below `for` + E + Δ.
    let rules = "  - { name: half, metric: error_ratio, above: 0.5, for: 10s }";
    let (r, _) = run_yaml(&crash_scenario(60.7, 60.0, 1.0, 1.0, rules), 5, 1);
    let d = metric(&r, "alerts.half.detection_s").unwrap();
    assert!(
        (d - 11.3).abs() < 1e-9,
        "detection {d}, predicted 62 + 10 − 60.7 = 11.3"
    );
}

#[test]
fn a_fault_shorter_than_for_never_pages() {
    // On the sampling grid: a 10 s crash shows in rows 61 … 70, pending
    // 9 s: `for: 10s` stays quiet, `for: 9s` fires.
    let rules = "  - { name: quiet, metric: errors, above: 0, for: 10s }\n  \
                 - { name: loud, metric: errors, above: 0, for: 9s }";
    let (r, _) = run_yaml(&crash_scenario(60.0, 10.0, 1.0, 1.0, rules), 7, 1);
    assert_eq!(metric(&r, "alerts.quiet.fired"), Some(0.0));
    assert_eq!(metric(&r, "alerts.quiet.detection_s"), None);
    assert_eq!(metric(&r, "alerts.loud.fired"), Some(1.0));
    assert_eq!(metric(&r, "alerts.loud.first_fired_s"), Some(70.0));
    // Off the grid the blip smears over one more row (61 … 71): `for` ≥
    // b + Δ never fires, whatever the phase.
    for (at, every) in [(60.5, 1.0), (61.9, 1.0), (60.25, 2.0), (63.5, 5.0)] {
        let rules = "  - { name: quiet, metric: errors, above: 0, for: 11s }\n  \
                     - { name: avg, metric: error_ratio, above: 0.01, for: 11s }";
        let (r, _) = run_yaml(&crash_scenario(at, 10.0, 1.0, every, rules), 8, 1);
        assert_eq!(
            metric(&r, "alerts.quiet.fired"),
            Some(0.0),
            "f = {at}, E = {every}"
        );
        assert_eq!(metric(&r, "alerts.avg.fired"), Some(0.0), "f = {at}, E = {every}");
    }
    // And a real outage of the same rule's `for` pages.
    let rules = "  - { name: quiet, metric: errors, above: 0, for: 11s }";
    let (r, _) = run_yaml(&crash_scenario(60.5, 30.0, 1.0, 1.0, rules), 8, 1);
    assert_eq!(metric(&r, "alerts.quiet.fired"), Some(1.0));
    assert_eq!(metric(&r, "alerts.quiet.detection_s"), Some(61.0 + 11.0 - 60.5));
}

#[test]
fn no_fault_no_detection_and_below_rules() {
    // Availability below 0.9 with a steady, healthy system: never fires.
    let y = crash_scenario(
        300.0,
        1.0,
        1.0,
        1.0,
        "  - { name: avail, metric: availability, below: 0.9 }",
    );
    let (r, _) = run_yaml(&y, 1, 1);
    assert_eq!(metric(&r, "alerts.avail.fired"), Some(0.0));
    assert_eq!(metric(&r, "alerts.avail.firing_s"), Some(0.0));
    assert_eq!(metric(&r, "alerts.avail.first_fired_s"), None);
    assert!(r.alerts[0].episodes.is_empty());
    // A replica's utilisation column: the crash empties it.
    let y = crash_scenario(
        100.0,
        20.0,
        1.0,
        1.0,
        "  - { name: idle, metric: api.utilization, below: 0.001, for: 5s, severity: ticket }",
    );
    let (r, outs) = run_yaml(&y, 1, 1);
    assert_eq!(metric(&r, "alerts.idle.fired"), Some(1.0));
    assert_eq!(metric(&r, "alerts.idle.detection_s"), Some(6.0));
    assert_eq!(r.alerts[0].severity.as_deref(), Some("ticket"));
    // Its firing window is shaded on the charts.
    let a = outs[0]
        .annotations
        .iter()
        .find(|a| a.label == "alert idle firing")
        .expect("annotation");
    assert_eq!((a.start_s, a.end_s), (106.0, 121.0));
    let _ = S;
}

#[test]
fn alerts_do_not_change_the_run() {
    // The rules are evaluated from the recorded series after the run:
    // the trajectory (fingerprint) is that of the same scenario without them.
    let with = crash_scenario(60.0, 30.0, 1.0, 1.0, "  - { name: e, metric: errors, above: 0 }");
    let without = with.replace("alerts:\n  - { name: e, metric: errors, above: 0 }\n", "");
    let without = without.replace("alert_interval: 1s\n", "");
    assert!(!without.contains("alerts"));
    let (a, _) = run_yaml(&with, 4, 1);
    let (b, _) = run_yaml(&without, 4, 1);
    assert_eq!(a.value("sim.fingerprint"), b.value("sim.fingerprint"));
    assert_eq!(a.value("availability"), b.value("availability"));
}

#[test]
fn the_bundled_scenario_gives_the_numbers_its_description_states() {
    let (r, _) = crate::common::run_bundled("alerting.yaml", &[], 1);
    // Outage at 300 s, evaluated every 15 s: `page` (for 1m) at 375 s.
    assert_eq!(r.value("alerts.page.fired"), Some(1.0));
    assert_eq!(r.value("alerts.page.detection_s"), Some(75.0));
    assert_eq!(r.value("alerts.page.first_fired_s"), Some(375.0));
    // `noisy` (for 0s) fires on the blip (120 s) and the outage, 15 s after each.
    assert_eq!(r.value("alerts.noisy.fired"), Some(2.0));
    assert_eq!(r.value("alerts.noisy.detection_s"), Some(15.0));
    let noisy = &r.alerts[0];
    let times: Vec<(f64, Option<f64>)> = noisy
        .episodes
        .iter()
        .map(|e| (e.fired_at_s, e.resolved_at_s))
        .collect();
    assert_eq!(times, [(135.0, Some(150.0)), (315.0, Some(495.0))]);
    // A `for` longer than the 3 min outage never pages.
    let (r, _) = crate::common::run_bundled("alerting.yaml", &["alerts.1.for=5m"], 1);
    assert_eq!(r.value("alerts.page.fired"), Some(0.0));
    // Evaluated every minute: `for` + E = 120 s, and the 20 s blip falls
    // between two evaluations.
    let (r, _) = crate::common::run_bundled("alerting.yaml", &["alert_interval=1m"], 1);
    assert_eq!(r.value("alerts.page.detection_s"), Some(120.0));
    assert_eq!(r.value("alerts.noisy.fired"), Some(1.0));
}

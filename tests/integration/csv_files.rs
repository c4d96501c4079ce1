//! CSV files (issue 18): `timeseries.csv` and `sweep.csv` are written by the
//! csv crate, so a column name or a parameter value holding a comma, a
//! quote or a line break is quoted and reads back exactly, every row with
//! as many fields as the header; fields that need no quoting are written
//! as before.

use std::collections::BTreeMap;

use archsim::report::timeseries_csv;
use archsim::run::{MetricValue, PointReport, SweepReport};
use indexmap::IndexMap;
use serde_json::Value;

use crate::common::run_yaml;

const SCENARIO: &str = "
name: csv-test
seed: 5
duration: 5s
warmup: 1s
clients:
  web: { arrival: { poisson: 50/s }, target: api }
components:
  api: { kind: service, cores: 2, service_time: { exponential: 10ms } }
";

/// (header, rows) of CSV text, read with the csv crate (no length check, so
/// the test can check lengths itself).
fn read(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = r.headers().expect("header").iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("record").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn timeseries_column_names_with_commas_and_quotes_round_trip() {
    let (_, outs) = run_yaml(SCENARIO, 1, 1);
    let plain = timeseries_csv(&outs[0]);
    let mut o = outs[0].clone();
    assert!(o.rows.len() >= 4, "a row per interval");
    // Scenario validation refuses these names today: the column names are
    // set directly, as a component so named would make them.
    let hostile = [
        "components.a,b.utilization",
        "components.say \"hi\".queue_mean",
        "clients.x\ry.latency_mean_ms",
        "clients.line\nbreak.throughput_rps",
    ];
    for (i, name) in hostile.iter().enumerate() {
        o.columns[i + 1] = name.to_string();
    }
    let text = timeseries_csv(&o);
    let (header, rows) = read(&text);
    assert_eq!(header, o.columns, "header fields round-trip exactly");
    assert_eq!(rows.len(), o.rows.len());
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), header.len(), "row {i} has as many fields as the header");
    }
    assert!(text.starts_with("t_s,\"components.a,b.utilization\",\"components.say \"\"hi\"\".queue_mean\","));
    // Only the header changed: the rows are byte for byte those of the plain file.
    let (_, plain_rows) = plain.split_once('\n').expect("a header line");
    assert!(text.ends_with(plain_rows));
    assert_eq!(text.len() - plain_rows.len(), text.find(plain_rows).unwrap());
    // Plain names need no quotes: the file is what it always was.
    assert!(!plain.contains('"'));
    assert_eq!(read(&plain).0, outs[0].columns);
}

#[test]
fn sweep_csv_quotes_parameter_values_with_commas() {
    let mv = |value: f64, ci95: Option<f64>| MetricValue { value, ci95 };
    let values = [
        Value::String("a,b".into()),
        serde_json::json!({ "exponential": "10ms", "cap": "1s" }),
        serde_json::json!([1, 2]),
        Value::String("say \"hi\"".into()),
    ];
    let points: Vec<PointReport> = values
        .iter()
        .map(|v| {
            let metrics: BTreeMap<String, MetricValue> = [
                ("latency.p99_ms".to_string(), mv(12.5, Some(0.25))),
                ("throughput_rps".to_string(), mv(100.0, None)),
            ]
            .into();
            PointReport {
                theory: Default::default(),
                slo: Vec::new(),
                params: [("components.api.service_time".to_string(), v.clone())]
                    .into_iter()
                    .collect::<IndexMap<_, _>>(),
                replications: 2,
                metrics,
                replication_seeds: vec![1, 2],
                replication_values: BTreeMap::new(),
                notes: Vec::new(),
            }
        })
        .collect();
    let report = SweepReport {
        headline: Vec::new(),
        archsim_version: "test".into(),
        scenario: "csv-test".into(),
        seed: 1,
        replications: 2,
        vary: [("components.api.service_time".to_string(), values.to_vec())]
            .into_iter()
            .collect(),
        points,
    };
    let text = archsim::sweep::csv(&report);
    let (header, rows) = read(&text);
    assert_eq!(
        header,
        [
            "components.api.service_time",
            "replications",
            "latency.p99_ms",
            "latency.p99_ms.ci95",
            "throughput_rps",
            "throughput_rps.ci95"
        ]
    );
    let labels: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(labels, ["a,b", "exponential=10ms, cap=1s", "1 2", "say \"hi\""]);
    for r in &rows {
        assert_eq!(r.len(), header.len());
        assert_eq!(&r[1..], ["2", "12.5", "0.25", "100", ""]);
    }
    // Numbers are formatted as before; only the fields that need it are quoted.
    assert!(text.contains("\n\"a,b\",2,12.5,0.25,100,\n"), "{text}");
    assert!(text.contains("\n1 2,2,12.5,0.25,100,\n"), "{text}");
}

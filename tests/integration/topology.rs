//! The topology diagram (issue 20): one box per client and component, one
//! arrow per call labelled with the load `explain` predicts, faults
//! marked; the same graph as `explain --format dot`; on the run page, as
//! topology.svg and .png; the same bytes every time.
//!
//! The SVG structure read here is documented in `report::topology`: a node
//! is a `<g class="node">` (`"node fault"` when a fault hits it) with
//! `data-name`, a call a `<g class="edge">` with `data-from`, `data-to`,
//! `data-kind` and `data-label`, its label a `<g class="edge-label">` with
//! the same ends, an autoscaler's link a `<g class="link">`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use archsim::explain::{EdgeKind, Prediction, predict, render_dot};
use archsim::report::plot::{WIDTH, to_png};
use archsim::report::topology;
use archsim::scenario::{BuildOptions, Scenario, load, load_str};

use crate::common::{bin, scenario_dir};

const BUNDLED: &[&str] = &[
    "single-server.yaml",
    "microservice-fanout.yaml",
    "multi-region-geodns.yaml",
    "black-friday.yaml",
    "region-outage.yaml",
    "cdn-static-content.yaml",
    "which-tier-to-scale.yaml",
    "caching-strategies.yaml",
    "async-queue.yaml",
];

/// Every kind of edge: a cache-aside cache's misses, a queue, an
/// autoscaler, a closed-loop client, static content, a crash and a
/// slowdown, a component nothing calls.
const MIXED: &str = "
name: topology-test
duration: 20s
warmup: 2s
clients:
  mobile-users: { arrival: { poisson: 300/s }, target: gw, keys: { zipf: { n: 5000, s: 0.9 } },
                  static: { fraction: 0.3, target: edge, keys: { uniform: 100 } } }
  batch: { arrival: { closed: { users: 5, think_time: { constant: 1s } } }, target: reports, keys: { uniform: 100 } }
components:
  gw: { kind: gateway, target: lb }
  lb: { kind: load_balancer, algorithm: round_robin, backends: api }
  api: { kind: service, replicas: 3, service_time: { exponential: 1ms },
         calls: [catalog-cache, { target: orders, on: write }, jobs] }
  catalog-cache: { kind: cache, capacity: 500, read_policy: cache_aside, backend: catalog-db }
  catalog-db: { kind: database, shards: 2, read_time: { exponential: 1ms } }
  orders: { kind: database, read_time: { exponential: 1ms } }
  jobs: { kind: queue, consumer: worker }
  worker: { kind: service, service_time: { exponential: 1ms }, calls: [orders] }
  reports: { kind: service, service_time: { exponential: 1ms }, calls: [orders] }
  edge: { kind: cdn, capacity: 50, origin: api }
  scaler: { kind: autoscaler, target: api, min: 2, max: 6, policy: { target_tracking: { metric: cpu, target: 0.6 } } }
  legacy: { kind: service, service_time: { exponential: 1ms } }
faults:
  - { at: 5s, crash: \"api[0]\", for: 5s }
  - { at: 5s, slow: worker, factor: 5, for: 5s }
";

fn bundled(file: &str) -> (Scenario, Prediction) {
    let l = load(&scenario_dir().join(file), &[], &BuildOptions::default())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let p = predict(&l.scenario, &l.config);
    (l.scenario, p)
}

fn mixed() -> (Scenario, Prediction) {
    let (sc, cfg) = load_str("mixed.yaml", MIXED, Path::new("."), &[], &BuildOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let p = predict(&sc, &cfg);
    (sc, p)
}

fn cases() -> Vec<(String, Scenario, Prediction)> {
    let mut v: Vec<(String, Scenario, Prediction)> = BUNDLED
        .iter()
        .map(|f| {
            let (sc, p) = bundled(f);
            (f.to_string(), sc, p)
        })
        .collect();
    let (sc, p) = mixed();
    v.push(("mixed".into(), sc, p));
    v
}

fn has_class(n: &roxmltree::Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|w| w == class))
}

fn attr(n: &roxmltree::Node, a: &str) -> String {
    n.attribute(a).unwrap_or_else(|| panic!("no {a}")).to_string()
}

/// (from, to, label) of the diagram's groups of `class`, sorted.
fn ends(doc: &roxmltree::Document, class: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "g" && has_class(n, class))
        .map(|n| (attr(&n, "data-from"), attr(&n, "data-to"), attr(&n, "data-label")))
        .collect();
    v.sort();
    v
}

#[test]
fn one_node_per_client_and_component_one_edge_per_call() {
    for (name, sc, p) in cases() {
        let svg = topology::svg(&p.graph, "Topology");
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            doc.root_element().attribute("width"),
            Some(WIDTH.to_string().as_str())
        );
        assert!(
            doc.descendants().any(|n| n.tag_name().name() == "title"),
            "{name}: no <title>"
        );
        // Nodes: each client and component exactly once.
        let mut drawn: Vec<String> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "g" && has_class(n, "node"))
            .map(|n| attr(&n, "data-name"))
            .collect();
        drawn.sort();
        let mut want: Vec<String> = sc.clients.keys().chain(sc.components.keys()).cloned().collect();
        want.sort();
        assert_eq!(drawn, want, "{name}");
        // Boxes stay inside the width.
        for r in doc.descendants().filter(|n| n.tag_name().name() == "rect") {
            let x: f64 = r.attribute("x").map_or(0.0, |v| v.parse().unwrap());
            let w: f64 = r.attribute("width").unwrap().parse().unwrap();
            assert!(
                x >= 0.0 && x + w <= f64::from(WIDTH) + 0.01,
                "{name}: rect at {x}+{w}"
            );
        }
        // Calls: one arrow each, labelled as the graph says.
        let mut calls: Vec<(String, String, String)> = p
            .graph
            .edges
            .iter()
            .filter(|e| e.kind != EdgeKind::Scales)
            .map(|e| {
                (
                    p.graph.nodes[e.from].name.clone(),
                    p.graph.nodes[e.to].name.clone(),
                    e.label(),
                )
            })
            .collect();
        calls.sort();
        assert_eq!(ends(&doc, "edge"), calls, "{name}");
        // Each label shows its text (split over lines where narrow).
        for g in doc
            .descendants()
            .filter(|n| n.tag_name().name() == "g" && has_class(n, "edge-label"))
        {
            let shown: Vec<&str> = g
                .descendants()
                .filter(|n| n.tag_name().name() == "text")
                .filter_map(|t| t.text())
                .collect();
            let shown = shown.join(" ");
            let (from, to) = (attr(&g, "data-from"), attr(&g, "data-to"));
            assert!(
                calls
                    .iter()
                    .any(|(f, t, l)| *f == from && *t == to && *l == shown),
                "{name}: label {shown:?} on {from} → {to}"
            );
        }
    }
}

/// The rates on the arrows are the prediction's: what arrives at each
/// component along its calls is the load `explain` predicts there, and
/// each label is that rate rounded.
#[test]
fn edge_labels_are_the_predicted_rates() {
    for (name, _, p) in cases() {
        let g = &p.graph;
        let nclients = g.nodes.len() - p.tiers.len();
        for (i, t) in p.tiers.iter().enumerate() {
            let arriving: f64 = g
                .edges
                .iter()
                .filter(|e| e.to == nclients + i && matches!(e.kind, EdgeKind::Call | EdgeKind::Misses))
                .filter_map(|e| e.rate)
                .sum();
            let load = t.reads + t.writes;
            assert!(
                (arriving - load).abs() <= 1e-9 * load.max(1.0),
                "{name}: {} gets {arriving} along its calls, predicted {load}",
                t.name
            );
        }
        for e in &g.edges {
            if let (EdgeKind::Call, Some(r)) = (e.kind, e.rate) {
                assert_eq!(e.label(), format!("{r:.0}/s"), "{name}");
            }
        }
    }
    // The fan-out: 100/s to each of the six services behind the frontend.
    let (_, p) = bundled("microservice-fanout.yaml");
    let svg = topology::svg(&p.graph, "Topology");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let from_frontend: Vec<_> = ends(&doc, "edge")
        .into_iter()
        .filter(|e| e.0 == "frontend")
        .collect();
    assert_eq!(from_frontend.len(), 6);
    assert!(from_frontend.iter().all(|e| e.2 == "100/s"), "{from_frontend:?}");
}

/// `explain --format dot` and the diagram draw the same graph: the same
/// nodes, the same calls with the same labels, the autoscaler's link.
#[test]
fn dot_and_diagram_list_the_same_edges() {
    for (name, _, p) in cases() {
        let dot = render_dot(&p);
        let mut dot_calls = Vec::new();
        let mut dot_links = Vec::new();
        let mut dot_nodes = Vec::new();
        for line in dot.lines().map(str::trim) {
            if let Some((ends, rest)) = line.split_once(" [") {
                let label = rest
                    .split("label=\"")
                    .nth(1)
                    .and_then(|l| l.split('"').next())
                    .unwrap_or_default()
                    .to_string();
                if let Some((a, b)) = ends.split_once(" -> ") {
                    let e = (
                        a.trim_matches('"').to_string(),
                        b.trim_matches('"').to_string(),
                        label,
                    );
                    if rest.contains("style=dotted") {
                        dot_links.push(e);
                    } else {
                        dot_calls.push(e);
                    }
                } else if ends.starts_with('"') {
                    dot_nodes.push(ends.trim_matches('"').to_string());
                }
            }
        }
        dot_calls.sort();
        dot_links.sort();
        dot_nodes.sort();
        let svg = topology::svg(&p.graph, "Topology");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(ends(&doc, "edge"), dot_calls, "{name}\n{dot}");
        assert_eq!(ends(&doc, "link"), dot_links, "{name}\n{dot}");
        let mut nodes: Vec<String> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "g" && has_class(n, "node"))
            .map(|n| attr(&n, "data-name"))
            .collect();
        nodes.sort();
        assert_eq!(nodes, dot_nodes, "{name}");
    }
    // The mixed scenario has one of each: the misses, static content, a
    // closed loop, an idle component and the autoscaler's link.
    let (_, p) = mixed();
    let doc_svg = topology::svg(&p.graph, "Topology");
    let doc = roxmltree::Document::parse(&doc_svg).unwrap();
    let calls = ends(&doc, "edge");
    let has = |f: &str, t: &str, l: &str| calls.iter().any(|e| e.0 == f && e.1 == t && e.2 == l);
    assert!(
        calls
            .iter()
            .any(|e| e.0 == "api" && e.1 == "catalog-db" && e.2.ends_with("/s misses")),
        "{calls:?}"
    );
    assert!(has("mobile-users", "edge", "static"), "{calls:?}");
    assert!(has("batch", "reports", "closed loop"), "{calls:?}");
    assert!(has("reports", "orders", "0/s"), "{calls:?}");
    assert!(has("mobile-users", "gw", "300/s"), "{calls:?}");
    assert_eq!(
        ends(&doc, "link"),
        [("scaler".to_string(), "api".to_string(), "scales".to_string())]
    );
}

/// Faulted components are outlined and captioned; the others are not.
#[test]
fn faulted_components_are_marked() {
    let marked = |p: &Prediction| -> BTreeMap<String, String> {
        let svg = topology::svg(&p.graph, "Topology");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        doc.descendants()
            .filter(|n| n.tag_name().name() == "g" && has_class(n, "fault"))
            .map(|n| {
                assert!(has_class(&n, "node"));
                // Outlined in the fail colour, with a caption.
                assert!(
                    n.descendants()
                        .any(|c| c.attribute("stroke") == Some(archsim::report::plot::FAIL_COLOR)),
                    "{svg}"
                );
                let fault = attr(&n, "data-fault");
                assert!(
                    n.descendants()
                        .filter_map(|t| t.text())
                        .any(|t| fault.starts_with(t)),
                    "{fault}"
                );
                (attr(&n, "data-name"), fault)
            })
            .collect()
    };
    let (_, p) = bundled("region-outage.yaml");
    let m = marked(&p);
    assert_eq!(m.keys().collect::<Vec<_>>(), ["api_us", "lb_us"], "{m:?}");
    assert!(m.values().all(|f| f == "region outage"), "{m:?}");
    let (_, p) = mixed();
    let m = marked(&p);
    assert_eq!(m.get("api").map(String::as_str), Some("crash"), "{m:?}");
    assert_eq!(m.get("worker").map(String::as_str), Some("slow ×5"), "{m:?}");
    assert_eq!(m.len(), 2, "{m:?}");
    let (_, p) = bundled("single-server.yaml");
    assert!(marked(&p).is_empty());
}

#[test]
fn the_diagram_renders_and_is_deterministic() {
    for (name, _, p) in cases() {
        let a = topology::svg(&p.graph, "Topology");
        let b = topology::svg(&p.graph, "Topology");
        assert_eq!(a, b, "{name}");
        let png = to_png(&a).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5_000,
            "{name}: {} bytes",
            png.len()
        );
    }
    // Predicting and drawing again from the file gives the same bytes.
    let (_, p1) = bundled("region-outage.yaml");
    let (_, p2) = bundled("region-outage.yaml");
    assert_eq!(topology::svg(&p1.graph, "T"), topology::svg(&p2.graph, "T"));
}

/// A run folder has topology.svg (and .png with --png), its page shows it
/// first under its title, and compare draws it from the folders'
/// resolved scenarios: once when they share a graph, else once each.
#[test]
fn run_and_compare_pages_show_the_topology() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |dir: &str, set: &[&str]| {
        let mut c = Command::new(bin());
        c.arg("run")
            .arg(scenario_dir().join("which-tier-to-scale.yaml"))
            .args([
                "--duration",
                "20s",
                "--set",
                "warmup=2s",
                "--png",
                "--quiet",
                "--out",
            ])
            .arg(tmp.path().join(dir));
        for s in set {
            c.args(["--set", s]);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        tmp.path().join(dir)
    };
    let a = run("a", &[]);
    let b = run("b", &[]);
    let c = run("c", &["components.api.replicas=6"]);
    assert!(a.join("topology.png").is_file());
    let svg = std::fs::read_to_string(a.join("topology.svg")).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
    let page = std::fs::read_to_string(a.join("index.html")).unwrap();
    let fig = page.find("<figure id=\"topology\">").expect("topology figure");
    assert_eq!(page.find("<figure"), Some(fig), "the topology leads the charts");
    assert!(page.contains(&topology::title(None)));
    let names = vec!["a".to_string(), "b".to_string()];
    let same = topology::of_run_folders(&[a.clone(), b.clone()], &names);
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].file, "topology.svg");
    assert_eq!(same[0].svg, svg.replace(&topology::title(None), &same[0].title));
    let names = vec!["a".to_string(), "c".to_string()];
    let differ = topology::of_run_folders(&[a.join("report.json"), c.clone()], &names);
    let files: Vec<&str> = differ.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(files, ["topology-1.svg", "topology-2.svg"]);
    assert!(differ[1].title.contains('c'));
    // Through the command: the compare folder has the diagram.
    let out = Command::new(bin())
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(tmp.path().join("cmp"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tmp.path().join("cmp/topology.svg").is_file());
}

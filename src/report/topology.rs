//! The topology diagram on the run, sweep and compare pages (issue 20):
//! every client and component of [`crate::explain::Graph`] as a box shaped
//! and coloured by its kind, every call as an arrow labelled with the load
//! `explain` offers it, faulted components outlined in the fail colour.
//! Hand-written SVG without JavaScript, so it inlines into a page, renders
//! in resvg for the PNG and reads the same in a browser.
//!
//! The layout is a small layered drawing in the manner of Sugiyama, Tagawa
//! and Toda (1981), left to right:
//! - each node's column is its longest path from a node without callers
//!   (clients first), and a component without callers sits one column left
//!   of its nearest callee; an autoscaler sits under the service it scales;
//! - a call spanning several columns passes through a reserved slot in each
//!   column it crosses, so it never runs through a box;
//! - the order within each column is found by repeated barycentre sweeps,
//!   keeping the order with the fewest crossings;
//! - heights are placed by least squares under the order (each item as
//!   close as it can get to the mean height of its neighbours: pool
//!   adjacent violators), so chains run straight.
//!
//! Everything is sorted with explicit tie-breaks: the same graph gives the
//! same bytes.
//!
//! What tests rely on: each node is one `<g class="node">` with `data-name`
//! and `data-kind` (and `data-fault` when a fault hits it), each call one
//! `<g class="edge">` with `data-from`, `data-to` and `data-label` (its
//! `<text>` shows that label), an autoscaler's link one `<g class="link">`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::plot::{ChartFile, FAIL_COLOR, WIDTH, text_width};
use crate::explain::{EdgeKind, Graph, GraphNode};

/// The diagram's file name in a run, sweep or compare folder.
pub const FILE: &str = "topology.svg";

const MARGIN: f64 = 12.0;
const TOP: f64 = 40.0;
const NAME_PX: f64 = 12.0;
const CAPTION_PX: f64 = 10.0;
const LABEL_PX: f64 = 10.5;
const PAD: f64 = 7.0;
const GAP: f64 = 22.0;
const SLOT: f64 = 10.0;
const INK: &str = "#222222";
const MUTED: &str = "#555555";
const EDGE: &str = "#666666";
const IDLE: &str = "#B0B0B0";

/// The diagram of `graph` as a chart titled `title`, written as `file`.
pub fn chart(graph: &Graph, title: &str, file: &str) -> ChartFile {
    ChartFile {
        file: file.to_string(),
        title: title.to_string(),
        svg: svg(graph, title),
    }
}

/// The diagram of a scenario as its file has it (a sweep's base, resolved
/// with files relative to `base_dir`), or `None` when it does not resolve
/// (a trace file that is not there).
pub fn of_scenario(sc: &crate::scenario::Scenario, base_dir: &Path) -> Option<ChartFile> {
    of_scenario_titled(
        sc,
        base_dir,
        "Topology as written, before the sweep's changes: the load theory offers each call",
    )
}

/// As [`of_scenario`], with its own title (a plan's: before its probes).
pub fn of_scenario_titled(sc: &crate::scenario::Scenario, base_dir: &Path, title: &str) -> Option<ChartFile> {
    let cfg = crate::scenario::validate::build(sc, base_dir, &Default::default()).ok()?;
    let p = crate::explain::predict(sc, &cfg);
    Some(chart(&p.graph, title, FILE))
}

/// The title of a diagram, of one input when named.
pub fn title(of: Option<&str>) -> String {
    match of {
        Some(name) => format!("Topology of {name}: the load theory offers each call"),
        None => "Topology: the load theory offers each call".to_string(),
    }
}

/// The diagrams of run folders (or their report.json files), drawn from
/// each folder's `scenario.resolved.yaml`: one diagram when every input
/// that has one draws the same graph, else one per input
/// (`topology-1.svg`, …, titled with `names`). Inputs without a resolvable
/// scenario are left out.
pub fn of_run_folders(paths: &[PathBuf], names: &[String]) -> Vec<ChartFile> {
    let mut graphs: Vec<(usize, Graph)> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let dir = if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let file = dir.join(super::provenance::RESOLVED);
        if !file.is_file() {
            continue;
        }
        if let Ok(l) = crate::scenario::load(&file, &[], &Default::default()) {
            graphs.push((i, crate::explain::predict(&l.scenario, &l.config).graph));
        }
    }
    let Some((_, first)) = graphs.first() else {
        return Vec::new();
    };
    if graphs.iter().all(|(_, g)| g == first) {
        let t = if graphs.len() > 1 {
            "Topology (the same in every input): the load theory offers each call".to_string()
        } else {
            title(None)
        };
        return vec![chart(first, &t, FILE)];
    }
    graphs
        .iter()
        .map(|(i, g)| {
            let name = names.get(*i).map_or("an input", String::as_str);
            chart(g, &title(Some(name)), &format!("topology-{}.svg", i + 1))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

/// An entry of a column: a node, or a call passing through.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Item {
    Node(usize),
    /// Edge index, and which of its passes.
    Pass(usize),
}

/// A box's text, measured.
struct Boxed {
    name: Vec<String>,
    name_px: f64,
    captions: Vec<String>,
    faults: Vec<String>,
    w: f64,
    h: f64,
}

/// Whether an edge is a call (drawn left to right through the columns).
fn is_flow(k: EdgeKind) -> bool {
    k != EdgeKind::Scales
}

fn columns(g: &Graph) -> Vec<usize> {
    let n = g.nodes.len();
    let flows: Vec<(usize, usize)> = g
        .edges
        .iter()
        .filter(|e| is_flow(e.kind) && e.from != e.to)
        .map(|e| (e.from, e.to))
        .collect();
    let has_in = |v: usize| flows.iter().any(|&(_, t)| t == v);
    let has_out = |v: usize| flows.iter().any(|&(f, _)| f == v);
    let mut col = vec![0usize; n];
    // Longest path (calls form a DAG; the bound stops a cycle).
    for _ in 0..n {
        let mut changed = false;
        for &(f, t) in &flows {
            if col[t] < col[f] + 1 && col[f] < n {
                col[t] = col[f] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // A component without callers: just left of its nearest callee.
    for v in 0..n {
        if g.nodes[v].kind != "client" && !has_in(v) && has_out(v) {
            let near = flows
                .iter()
                .filter(|&&(f, _)| f == v)
                .map(|&(_, t)| col[t])
                .min()
                .unwrap_or(1);
            col[v] = near.saturating_sub(1);
        }
    }
    // Unconnected: an autoscaler under its target, anything else last.
    let last = col.iter().copied().max().unwrap_or(0);
    for v in 0..n {
        if !has_in(v) && !has_out(v) && g.nodes[v].kind != "client" {
            col[v] = anchor(g, v).map_or(last.max(1), |t| col[t]);
        }
    }
    col
}

/// The node an unconnected autoscaler hangs under.
fn anchor(g: &Graph, v: usize) -> Option<usize> {
    let calls = g
        .edges
        .iter()
        .any(|e| is_flow(e.kind) && (e.from == v || e.to == v));
    if calls {
        return None;
    }
    g.edges
        .iter()
        .find(|e| e.kind == EdgeKind::Scales && e.from == v && e.to != v)
        .map(|e| e.to)
}

/// Crossings between two adjacent columns.
fn crossings(segs: &[(usize, usize)]) -> usize {
    let mut c = 0;
    for (i, a) in segs.iter().enumerate() {
        for b in &segs[i + 1..] {
            if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                c += 1;
            }
        }
    }
    c
}

/// Place items of heights `h` in order, each as near as it can to its
/// wanted top `want`, at least `gap[i]` below the one before (pool
/// adjacent violators: the least-squares placement under the order).
fn place(want: &[f64], h: &[f64], gap: &[f64]) -> Vec<f64> {
    // Offsets of each item from the top of its block.
    let n = want.len();
    let mut blocks: Vec<(usize, usize, f64)> = Vec::new(); // (first, last, top)
    let mut off = vec![0.0; n];
    for i in 0..n {
        blocks.push((i, i, want[i]));
        off[i] = 0.0;
        while blocks.len() > 1 {
            let k = blocks.len() - 1;
            let (pf, pl, pt) = blocks[k - 1];
            let (cf, cl, ct) = blocks[k];
            let prev_bottom = pt + off[pl] + h[pl];
            if prev_bottom + gap[cf] <= ct + 1e-9 {
                break;
            }
            // Merge: offsets of the current block continue the previous.
            let base = off[pl] + h[pl] + gap[cf];
            for o in &mut off[cf..=cl] {
                *o += base;
            }
            let sum: f64 = (pf..=cl).map(|j| want[j] - off[j]).sum();
            let top = sum / (cl - pf + 1) as f64;
            blocks.pop();
            blocks.pop();
            blocks.push((pf, cl, top));
        }
    }
    let mut y = vec![0.0; n];
    for (f, l, top) in blocks {
        for j in f..=l {
            y[j] = top + off[j];
        }
    }
    y
}

/// Words of a name, each keeping the separator after it.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in name.chars() {
        cur.push(c);
        if matches!(c, '-' | '_' | '.' | ' ' | '/' | ':') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Bold text is about a tenth wider than DejaVu Sans's regular advances.
fn bold_width(s: &str, px: f64) -> f64 {
    text_width(s, px) * 1.1
}

/// `text` in lines no wider than `max` at `px` (bold when `bold`): broken
/// after separators, and inside a word only when the word alone is wider.
fn wrap(text: &str, max: f64, px: f64, bold: bool) -> Vec<String> {
    let width = |s: &str| {
        if bold {
            bold_width(s, px)
        } else {
            text_width(s, px)
        }
    };
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in words(text) {
        let joined = format!("{cur}{w}");
        if width(joined.trim_end()) <= max || cur.is_empty() && width(w.trim_end()) <= max {
            cur = joined;
            continue;
        }
        if !cur.is_empty() {
            lines.push(cur.trim_end().to_string());
            cur = String::new();
        }
        for c in w.chars() {
            let next = format!("{cur}{c}");
            if width(next.trim_end()) > max && !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
                cur.push(c);
            } else {
                cur = next;
            }
        }
    }
    if !cur.trim_end().is_empty() {
        lines.push(cur.trim_end().to_string());
    }
    lines
}

fn measure(n: &GraphNode, max_w: f64, hard: f64) -> Boxed {
    // Slanted sides take room from the text.
    let extra = match n.kind {
        "load_balancer" | "dns" => 14.0,
        "gateway" => 8.0,
        _ => 0.0,
    };
    // A word is broken only when it would not fit even in a box as wide as
    // its column allows: the box widens (into the gap) first.
    let longest = words(&n.name)
        .iter()
        .map(|w| bold_width(w.trim_end(), 8.0))
        .chain(n.kind.split('_').map(|w| text_width(w, CAPTION_PX)))
        .chain(n.count.iter().map(|c| text_width(c, CAPTION_PX)))
        .chain(
            n.faults
                .iter()
                .flat_map(|f| f.split(' '))
                .map(|w| bold_width(w, CAPTION_PX) + 11.0),
        )
        .fold(0.0, f64::max);
    let inner = (max_w - 2.0 * PAD - extra).max(longest.min(hard - 2.0 * PAD - extra));
    let max_w = max_w.max(inner + 2.0 * PAD + extra);
    // The largest name size that keeps every word whole in at most three
    // lines; a word is broken only when it is wider than the box at 8 px.
    let whole = |px: f64| {
        words(&n.name)
            .iter()
            .all(|w| bold_width(w.trim_end(), px) <= inner)
    };
    let (name_px, name) = [NAME_PX, 11.0, 10.0, 9.0, 8.0]
        .iter()
        .map(|&px| (px, wrap(&n.name, inner, px, true)))
        .find(|(px, l)| whole(*px) && l.len() <= 3)
        .unwrap_or_else(|| (8.0, wrap(&n.name, inner, 8.0, true)));
    let mut captions = wrap(&n.kind.replace('_', " "), inner, CAPTION_PX, false);
    if let Some(c) = &n.count {
        let last = captions.pop().unwrap_or_default();
        let joined = format!("{last} · {c}");
        if text_width(&joined, CAPTION_PX) <= inner {
            captions.push(joined);
        } else {
            captions.push(last);
            captions.extend(wrap(c, inner, CAPTION_PX, false));
        }
    }
    if let Some(r) = &n.region {
        captions.extend(wrap(&format!("in {r}"), inner, CAPTION_PX, false));
    }
    // The first fault line leaves room for the bolt.
    let faults = if n.faults.is_empty() {
        Vec::new()
    } else {
        wrap(&n.faults.join(", "), inner - 11.0, CAPTION_PX, true)
    };
    let widest = name
        .iter()
        .map(|l| bold_width(l, name_px))
        .chain(captions.iter().map(|l| text_width(l, CAPTION_PX)))
        .chain(faults.iter().map(|l| bold_width(l, CAPTION_PX) + 11.0))
        .fold(0.0, f64::max);
    let h = 2.0 * PAD
        + 2.0
        + name.len() as f64 * (name_px + 3.0)
        + (captions.len() + faults.len()) as f64 * (CAPTION_PX + 3.0)
        + if matches!(n.kind, "database" | "consensus") {
            8.0
        } else {
            0.0
        };
    Boxed {
        name,
        name_px,
        captions,
        faults,
        w: (widest + 2.0 * PAD + extra).clamp(64.0, max_w),
        h,
    }
}

/// Everything the drawing needs, laid out.
struct Layout {
    /// Per node: (x, y) of its top-left corner, and its box.
    at: Vec<(f64, f64)>,
    boxes: Vec<Boxed>,
    /// Per flow edge: its points (port out, passes, port in).
    paths: Vec<Vec<(f64, f64)>>,
    height: f64,
}

fn layout(g: &Graph) -> Layout {
    let n = g.nodes.len();
    let col = columns(g);
    let ncols = col.iter().copied().max().unwrap_or(0) + 1;
    let colw = (f64::from(WIDTH) - 2.0 * MARGIN) / ncols as f64;
    // Room between columns for the widest label, within reason.
    let label_w = g
        .edges
        .iter()
        .filter(|e| is_flow(e.kind))
        .map(|e| {
            label_lines(&e.label())
                .iter()
                .map(|l| text_width(l, LABEL_PX))
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max);
    let gap_x = (label_w + 14.0).clamp(34.0, 96.0);
    let max_w = (colw - gap_x).max(colw * 0.68).clamp(66.0, 180.0);
    let boxes: Vec<Boxed> = g.nodes.iter().map(|nd| measure(nd, max_w, colw - 16.0)).collect();
    let colx = |c: usize| MARGIN + colw * (c as f64 + 0.5);

    // Columns' items: nodes (autoscalers under their target come later),
    // then each long call's passes.
    let hung: Vec<Option<usize>> = (0..n).map(|v| anchor(g, v)).collect();
    let mut items: Vec<Vec<Item>> = vec![Vec::new(); ncols];
    for v in 0..n {
        if hung[v].is_none() {
            items[col[v]].push(Item::Node(v));
        }
    }
    // Per edge: the chain of items it visits.
    let mut chains: Vec<Vec<Item>> = vec![Vec::new(); g.edges.len()];
    for (ei, e) in g.edges.iter().enumerate() {
        if !is_flow(e.kind) {
            continue;
        }
        let mut chain = vec![Item::Node(e.from)];
        for column in items.iter_mut().take(col[e.to]).skip(col[e.from] + 1) {
            column.push(Item::Pass(ei));
            chain.push(Item::Pass(ei));
        }
        chain.push(Item::Node(e.to));
        chains[ei] = chain;
    }
    // Where each item is: (column, index in column).
    let pos_of = |items: &Vec<Vec<Item>>, it: Item, c: usize| -> Option<usize> {
        items.get(c).and_then(|l| l.iter().position(|&x| x == it))
    };
    let col_of = |it: Item, ei: usize, k: usize| match it {
        Item::Node(v) => col[v],
        Item::Pass(_) => col[g.edges[ei].from] + k,
    };
    // Segments between adjacent columns: (left column, left item, right item).
    let mut segs: Vec<(usize, Item, Item)> = Vec::new();
    for (ei, ch) in chains.iter().enumerate() {
        for k in 1..ch.len() {
            let c = col_of(ch[k - 1], ei, k - 1);
            if col_of(ch[k], ei, k) == c + 1 {
                segs.push((c, ch[k - 1], ch[k]));
            }
        }
    }
    let count = |items: &Vec<Vec<Item>>| -> usize {
        (0..ncols.saturating_sub(1))
            .map(|c| {
                let s: Vec<(usize, usize)> = segs
                    .iter()
                    .filter(|s| s.0 == c)
                    .filter_map(|s| Some((pos_of(items, s.1, c)?, pos_of(items, s.2, c + 1)?)))
                    .collect();
                crossings(&s)
            })
            .sum()
    };
    let mut best = (count(&items), items.clone());
    for round in 0..8 {
        let down = round % 2 == 0;
        let order: Vec<usize> = if down {
            (1..ncols).collect()
        } else {
            (0..ncols.saturating_sub(1)).rev().collect()
        };
        for c in order {
            let other = if down { c - 1 } else { c + 1 };
            let mut keyed: Vec<(f64, usize, Item)> = items[c]
                .iter()
                .enumerate()
                .map(|(i, &it)| {
                    let ns: Vec<usize> = segs
                        .iter()
                        .filter_map(|s| {
                            if down && s.0 == other && s.2 == it {
                                pos_of(&items, s.1, other)
                            } else if !down && s.0 == c && s.1 == it {
                                pos_of(&items, s.2, other)
                            } else {
                                None
                            }
                        })
                        .collect();
                    let key = if ns.is_empty() {
                        i as f64
                    } else {
                        ns.iter().sum::<usize>() as f64 / ns.len() as f64
                    };
                    (key, i, it)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            items[c] = keyed.into_iter().map(|k| k.2).collect();
        }
        let now = count(&items);
        if now < best.0 {
            best = (now, items.clone());
        }
    }
    let mut items = best.1;
    // Autoscalers go right under what they scale.
    for v in 0..n {
        if let Some(t) = hung[v]
            && let Some(i) = pos_of(&items, Item::Node(t), col[t])
        {
            let mut j = i + 1;
            while let Some(Item::Node(u)) = items[col[t]].get(j)
                && hung[*u] == Some(t)
            {
                j += 1;
            }
            items[col[t]].insert(j, Item::Node(v));
        }
    }

    // Heights: stacked first, then pulled towards their neighbours.
    let height_of = |it: Item| match it {
        Item::Node(v) => boxes[v].h,
        Item::Pass(_) => SLOT,
    };
    let gaps = |l: &[Item]| -> Vec<f64> {
        (0..l.len())
            .map(|i| match (i.checked_sub(1).map(|j| l[j]), l[i]) {
                (Some(Item::Pass(_)), Item::Pass(_)) => 6.0,
                (Some(_), _) => GAP,
                (None, _) => 0.0,
            })
            .collect()
    };
    let mut top: Vec<Vec<f64>> = items
        .iter()
        .map(|l| {
            let h: Vec<f64> = l.iter().map(|&it| height_of(it)).collect();
            place(&vec![0.0; l.len()], &h, &gaps(l))
        })
        .collect();
    let center = |top: &Vec<Vec<f64>>, it: Item, c: usize| -> Option<f64> {
        let i = items[c].iter().position(|&x| x == it)?;
        Some(top[c][i] + height_of(it) / 2.0)
    };
    for round in 0..10 {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..ncols).collect()
        } else {
            (0..ncols).rev().collect()
        };
        for c in order {
            let l = &items[c];
            let h: Vec<f64> = l.iter().map(|&it| height_of(it)).collect();
            let want: Vec<f64> = l
                .iter()
                .enumerate()
                .map(|(i, &it)| {
                    if let Item::Node(v) = it
                        && let Some(t) = hung[v]
                        && let Some(tc) = center(&top, Item::Node(t), c)
                    {
                        return tc + boxes[t].h / 2.0 + GAP;
                    }
                    let ns: Vec<f64> = segs
                        .iter()
                        .filter_map(|s| {
                            if s.0 + 1 == c && s.2 == it {
                                center(&top, s.1, c - 1)
                            } else if s.0 == c && s.1 == it {
                                center(&top, s.2, c + 1)
                            } else {
                                None
                            }
                        })
                        .collect();
                    if ns.is_empty() {
                        top[c][i]
                    } else {
                        ns.iter().sum::<f64>() / ns.len() as f64 - h[i] / 2.0
                    }
                })
                .collect();
            top[c] = place(&want, &h, &gaps(l));
        }
    }
    let min = top.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let shift = if min.is_finite() { TOP - min } else { TOP };
    let mut at = vec![(0.0, 0.0); n];
    let mut pass_y: Vec<Vec<f64>> = vec![Vec::new(); g.edges.len()];
    let mut bottom: f64 = TOP;
    for c in 0..ncols {
        for (i, &it) in items[c].iter().enumerate() {
            let y = top[c][i] + shift;
            bottom = bottom.max(y + height_of(it));
            match it {
                Item::Node(v) => at[v] = (colx(c) - boxes[v].w / 2.0, y),
                Item::Pass(ei) => pass_y[ei].push(y + SLOT / 2.0),
            }
        }
    }

    // Ports: a node's calls leave its right side (and arrive on its left)
    // spread in the order of where they go (come from).
    let mut paths: Vec<Vec<(f64, f64)>> = vec![Vec::new(); g.edges.len()];
    let colw_box = |c: usize| -> f64 {
        items[c]
            .iter()
            .filter_map(|it| match it {
                Item::Node(v) => Some(boxes[*v].w),
                Item::Pass(_) => None,
            })
            .fold(0.0, f64::max)
    };
    let next_y = |ei: usize, first: bool| -> f64 {
        let e = &g.edges[ei];
        let ys = &pass_y[ei];
        let end = |v: usize| at[v].1 + boxes[v].h / 2.0;
        if first {
            ys.first().copied().unwrap_or_else(|| end(e.to))
        } else {
            ys.last().copied().unwrap_or_else(|| end(e.from))
        }
    };
    let mut out_port = vec![0.0; g.edges.len()];
    let mut in_port = vec![0.0; g.edges.len()];
    for v in 0..n {
        for (outgoing, port) in [(true, &mut out_port), (false, &mut in_port)] {
            let mut es: Vec<usize> = (0..g.edges.len())
                .filter(|&ei| {
                    let e = &g.edges[ei];
                    is_flow(e.kind) && if outgoing { e.from == v } else { e.to == v }
                })
                .collect();
            es.sort_by(|&a, &b| {
                next_y(a, outgoing)
                    .total_cmp(&next_y(b, outgoing))
                    .then(a.cmp(&b))
            });
            let m = es.len() as f64;
            let (y, h) = (at[v].1, boxes[v].h);
            let span = (h - 16.0).max(0.0).min(m * 9.0);
            for (k, &ei) in es.iter().enumerate() {
                port[ei] = y + h / 2.0 - span / 2.0 + span * (k as f64 + 0.5) / m;
            }
        }
    }
    for (ei, e) in g.edges.iter().enumerate() {
        if !is_flow(e.kind) {
            continue;
        }
        let mut pts = vec![(at[e.from].0 + boxes[e.from].w, out_port[ei])];
        for (k, &y) in pass_y[ei].iter().enumerate() {
            let c = col[e.from] + 1 + k;
            let w = colw_box(c).max(20.0);
            pts.push((colx(c) - w / 2.0, y));
            pts.push((colx(c) + w / 2.0, y));
        }
        pts.push((at[e.to].0, in_port[ei]));
        paths[ei] = pts;
    }
    Layout {
        at,
        boxes,
        paths,
        height: bottom,
    }
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number for SVG: at most one decimal.
fn f(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Fill and stroke of a kind.
fn colours(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "client" => ("#EEEEEE", "#555555"),
        "service" => ("#E3EFF8", "#0072B2"),
        "load_balancer" => ("#FCF0D6", "#A87400"),
        "gateway" => ("#F6E4EE", "#A34D7C"),
        "cache" => ("#DDF2EA", "#00795A"),
        "cdn" => ("#E1F2FB", "#2A86B8"),
        "database" | "consensus" => ("#FBE6D8", "#B04D00"),
        "queue" => ("#FAF6D2", "#857800"),
        "dns" => ("#ECECF6", "#4B4B8F"),
        _ => ("#FFFFFF", "#555555"),
    }
}

/// A label split for a narrow gap: `45/s misses` → `45/s`, `misses`.
fn label_lines(label: &str) -> Vec<String> {
    match label.split_once(' ') {
        Some((a, b)) => vec![a.to_string(), b.to_string()],
        None => vec![label.to_string()],
    }
}

/// The outline of a `kind` box at `(x, y, w, h)`.
fn shape(s: &mut String, kind: &str, (x, y, w, h): (f64, f64, f64, f64), stroke: &str, sw: f64) {
    let (fill, _) = colours(kind);
    let common = format!("fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{}\"", f(sw));
    let poly = |pts: &[(f64, f64)]| {
        let p: Vec<String> = pts.iter().map(|(a, b)| format!("{},{}", f(*a), f(*b))).collect();
        p.join(" ")
    };
    match kind {
        "load_balancer" | "dns" => {
            let d = 9.0;
            let pts = [
                (x + d, y),
                (x + w - d, y),
                (x + w, y + h / 2.0),
                (x + w - d, y + h),
                (x + d, y + h),
                (x, y + h / 2.0),
            ];
            let _ = writeln!(s, "<polygon points=\"{}\" {common}/>", poly(&pts));
        }
        "gateway" => {
            let d = 7.0;
            let pts = [
                (x + d, y),
                (x + w - d, y),
                (x + w, y + d),
                (x + w, y + h - d),
                (x + w - d, y + h),
                (x + d, y + h),
                (x, y + h - d),
                (x, y + d),
            ];
            let _ = writeln!(s, "<polygon points=\"{}\" {common}/>", poly(&pts));
        }
        "database" | "consensus" => {
            let e = 5.0;
            let rx = w / 2.0;
            let _ = writeln!(
                s,
                "<path d=\"M{x0},{y1} A{rx},{e} 0 0 1 {x1},{y1} V{y2} A{rx},{e} 0 0 1 {x0},{y2} Z\" {common}/>",
                x0 = f(x),
                x1 = f(x + w),
                y1 = f(y + e),
                y2 = f(y + h - e),
                rx = f(rx),
                e = f(e)
            );
            let _ = writeln!(
                s,
                "<path d=\"M{},{} A{},{} 0 0 0 {},{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
                f(x),
                f(y + e),
                f(rx),
                f(e),
                f(x + w),
                f(y + e),
                f(sw)
            );
        }
        _ => {
            let rx = match kind {
                "client" => (h / 2.0).min(16.0),
                "cache" | "cdn" => 10.0,
                "queue" => 2.0,
                _ => 4.0,
            };
            let dash = if kind == "autoscaler" {
                " stroke-dasharray=\"4 3\""
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" {common}{dash}/>",
                f(x),
                f(y),
                f(w),
                f(h),
                f(rx)
            );
            if kind == "queue" {
                // Slots along its right end: messages waiting.
                for k in 1..=3 {
                    let lx = x + w - 3.0 - 4.0 * f64::from(k);
                    let _ = writeln!(
                        s,
                        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{stroke}\" stroke-width=\"1\"/>",
                        f(lx),
                        f(y + 4.0),
                        f(y + h - 4.0)
                    );
                }
            }
        }
    }
}

/// A lightning bolt, 8 × 11, its top-left at (x, y).
fn bolt(x: f64, y: f64) -> String {
    let pts = [
        (4.5, 0.0),
        (0.0, 6.5),
        (3.5, 6.5),
        (2.5, 11.0),
        (8.0, 4.0),
        (4.5, 4.0),
        (6.0, 0.0),
    ];
    let p: Vec<String> = pts
        .iter()
        .map(|(a, b)| format!("{},{}", f(x + a), f(y + b)))
        .collect();
    format!("<polygon points=\"{}\" fill=\"{FAIL_COLOR}\"/>", p.join(" "))
}

fn node(s: &mut String, nd: &GraphNode, b: &Boxed, x: f64, y: f64) {
    let faulted = !nd.faults.is_empty();
    let class = if faulted { "node fault" } else { "node" };
    let fault_attr = if faulted {
        format!(" data-fault=\"{}\"", esc(&nd.faults.join(", ")))
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "<g class=\"{class}\" data-name=\"{}\" data-kind=\"{}\"{fault_attr}>",
        esc(&nd.name),
        nd.kind
    );
    let (_, stroke) = colours(nd.kind);
    let (stroke, sw) = if faulted { (FAIL_COLOR, 3.0) } else { (stroke, 1.5) };
    shape(s, nd.kind, (x, y, b.w, b.h), stroke, sw);
    let cx = x + b.w / 2.0;
    let mut ty = y
        + PAD
        + 1.0
        + if matches!(nd.kind, "database" | "consensus") {
            8.0
        } else {
            0.0
        };
    for l in &b.name {
        ty += b.name_px;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" fill=\"{INK}\" text-anchor=\"middle\">{}</text>",
            f(cx),
            f(ty),
            f(b.name_px),
            esc(l)
        );
        ty += 3.0;
    }
    for l in &b.captions {
        ty += CAPTION_PX;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{MUTED}\" text-anchor=\"middle\">{}</text>",
            f(cx),
            f(ty),
            f(CAPTION_PX),
            esc(l)
        );
        ty += 3.0;
    }
    for (k, l) in b.faults.iter().enumerate() {
        ty += CAPTION_PX;
        let lw = bold_width(l, CAPTION_PX) + if k == 0 { 11.0 } else { 0.0 };
        let lx = cx - lw / 2.0;
        if k == 0 {
            let _ = writeln!(s, "{}", bolt(lx, ty - 9.0));
        }
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" fill=\"{FAIL_COLOR}\">{}</text>",
            f(lx + if k == 0 { 11.0 } else { 0.0 }),
            f(ty),
            f(CAPTION_PX),
            esc(l)
        );
        ty += 3.0;
    }
    s.push_str("</g>\n");
}

/// The point at `t` on the cubic from `a` to `b` that leaves and arrives
/// level.
fn on_curve(a: (f64, f64), b: (f64, f64), t: f64) -> (f64, f64) {
    let dx = (b.0 - a.0) / 2.0;
    let p = [a, (a.0 + dx, a.1), (b.0 - dx, b.1), b];
    let u = 1.0 - t;
    let w = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
    (
        (0..4).map(|i| w[i] * p[i].0).sum(),
        (0..4).map(|i| w[i] * p[i].1).sum(),
    )
}

/// The SVG of the diagram.
pub fn svg(g: &Graph, title: &str) -> String {
    let lay = layout(g);
    let max_rate = g
        .edges
        .iter()
        .filter_map(|e| e.rate.filter(|_| is_flow(e.kind)))
        .fold(0.0, f64::max);
    // Labels: on the first stretch of each call, pushed apart where they
    // would overlap.
    struct Label {
        edge: usize,
        lines: Vec<String>,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    }
    let mut labels: Vec<Label> = Vec::new();
    for (ei, e) in g.edges.iter().enumerate() {
        let pts = &lay.paths[ei];
        if !is_flow(e.kind) || pts.len() < 2 {
            continue;
        }
        let (a, b) = (pts[0], pts[1]);
        let full = e.label();
        let one = text_width(&full, LABEL_PX);
        let lines = if one + 6.0 > (b.0 - a.0) - 8.0 {
            label_lines(&full)
        } else {
            vec![full]
        };
        let w = lines.iter().map(|l| text_width(l, LABEL_PX)).fold(0.0, f64::max) + 6.0;
        let h = lines.len() as f64 * (LABEL_PX + 2.0) + 2.0;
        let b = if pts.len() == 2 { (b.0 - 8.0, b.1) } else { b };
        let (mut x, y) = on_curve(a, b, 0.5);
        // Inside the gap when it is wide enough, clear of both boxes.
        let (lo, hi) = (a.0 + w / 2.0 + 2.0, b.0 - w / 2.0 - 2.0);
        x = if lo <= hi {
            x.clamp(lo, hi)
        } else {
            (a.0 + b.0) / 2.0
        };
        labels.push(Label {
            edge: ei,
            lines,
            x,
            y,
            w,
            h,
        });
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&i, &j| labels[i].y.total_cmp(&labels[j].y).then(i.cmp(&j)));
    for _ in 0..3 {
        for a in 0..order.len() {
            for b in a + 1..order.len() {
                let (i, j) = (order[a], order[b]);
                let (p, q) = (&labels[i], &labels[j]);
                let xo = (p.x - q.x).abs() < (p.w + q.w) / 2.0;
                let need = (p.h + q.h) / 2.0 + 1.0;
                if xo && (q.y - p.y) < need && q.y >= p.y {
                    let push = need - (q.y - p.y);
                    labels[i].y -= push / 2.0;
                    labels[j].y += push / 2.0;
                }
            }
        }
    }
    let label_top = labels.iter().map(|l| l.y - l.h / 2.0).fold(TOP, f64::min);
    let label_bottom = labels.iter().map(|l| l.y + l.h / 2.0).fold(0.0, f64::max);
    let lift = (TOP - label_top).max(0.0);

    let legend = legend(g);
    let legend_lines = wrap(&legend, f64::from(WIDTH) - 2.0 * MARGIN, 10.0, false);
    let body_bottom = lay.height.max(label_bottom) + lift;
    let height = (body_bottom + 14.0 + legend_lines.len() as f64 * 13.0 + 6.0).ceil();

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{h}\" viewBox=\"0 0 {WIDTH} {h}\" font-family=\"sans-serif\">",
        h = f(height)
    );
    let _ = writeln!(s, "<title>{}</title>", esc(title));
    let _ = writeln!(
        s,
        "<rect width=\"{WIDTH}\" height=\"{}\" fill=\"#FFFFFF\"/>",
        f(height)
    );
    // A long title (a compare input's path) is set smaller to fit.
    let room = f64::from(WIDTH) - 2.0 * MARGIN;
    // (DejaVu Sans Bold runs up to a fifth wider than the regular widths
    // `text_width` knows: sized with that margin, a title never spills.)
    let title_px = (15.0 * room / (text_width(title, 15.0) * 1.2)).clamp(8.0, 15.0);
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"22\" font-size=\"{}\" font-weight=\"bold\" fill=\"{INK}\">{}</text>",
        f(MARGIN),
        f(title_px),
        esc(title)
    );
    let _ = writeln!(s, "<g transform=\"translate(0 {})\">", f(lift));
    // Edges under the boxes, labels over everything.
    for (ei, e) in g.edges.iter().enumerate() {
        let (from, to) = (&g.nodes[e.from], &g.nodes[e.to]);
        if !is_flow(e.kind) {
            // An autoscaler's dotted link up to its service.
            let (a, b) = (lay.at[e.from], lay.at[e.to]);
            let (ab, bb) = (&lay.boxes[e.from], &lay.boxes[e.to]);
            let x = (a.0 + ab.w / 2.0).min(b.0 + bb.w / 2.0);
            let (y0, y1) = (a.1, b.1 + bb.h);
            let _ = writeln!(
                s,
                "<g class=\"link\" data-from=\"{}\" data-to=\"{}\" data-label=\"{}\">",
                esc(&from.name),
                esc(&to.name),
                esc(&e.label())
            );
            let _ = writeln!(
                s,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{MUTED}\" stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>",
                f(x),
                f(y0),
                f(y1 + 6.0)
            );
            let _ = writeln!(
                s,
                "<polygon points=\"{},{} {},{} {},{}\" fill=\"{MUTED}\"/>",
                f(x - 4.0),
                f(y1 + 7.0),
                f(x),
                f(y1),
                f(x + 4.0),
                f(y1 + 7.0)
            );
            s.push_str("</g>\n");
            continue;
        }
        let pts = &lay.paths[ei];
        if pts.len() < 2 {
            continue;
        }
        let idle = e.rate == Some(0.0);
        let colour = if idle { IDLE } else { EDGE };
        let width = match e.rate {
            Some(r) if max_rate > 0.0 && r > 0.0 => 1.2 + 2.8 * (r / max_rate).sqrt(),
            _ => 1.2,
        };
        let dash = match e.kind {
            EdgeKind::Misses => " stroke-dasharray=\"6 3\"",
            EdgeKind::Static => " stroke-dasharray=\"2 2\"",
            _ => "",
        };
        // The last stretch stops where the arrowhead starts.
        let mut d = format!("M{},{}", f(pts[0].0), f(pts[0].1));
        for k in 1..pts.len() {
            let (a, mut b) = (pts[k - 1], pts[k]);
            let last = k == pts.len() - 1;
            if last {
                b.0 -= 8.0;
            }
            if k % 2 == 0 && !last || (b.1 - a.1).abs() < 0.05 {
                let _ = write!(d, " L{},{}", f(b.0), f(b.1));
            } else {
                let dx = (b.0 - a.0) / 2.0;
                let _ = write!(
                    d,
                    " C{},{} {},{} {},{}",
                    f(a.0 + dx),
                    f(a.1),
                    f(b.0 - dx),
                    f(b.1),
                    f(b.0),
                    f(b.1)
                );
            }
        }
        let end = pts[pts.len() - 1];
        let _ = writeln!(
            s,
            "<g class=\"edge\" data-from=\"{}\" data-to=\"{}\" data-kind=\"{}\" data-label=\"{}\">",
            esc(&from.name),
            esc(&to.name),
            match e.kind {
                EdgeKind::Misses => "misses",
                EdgeKind::Static => "static",
                _ => "call",
            },
            esc(&e.label())
        );
        let _ = writeln!(
            s,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{}\"{dash}/>",
            f(width)
        );
        let head = 4.0 + width / 2.0;
        let _ = writeln!(
            s,
            "<polygon points=\"{},{} {},{} {},{}\" fill=\"{colour}\"/>",
            f(end.0 - 9.0),
            f(end.1 - head),
            f(end.0),
            f(end.1),
            f(end.0 - 9.0),
            f(end.1 + head)
        );
        s.push_str("</g>\n");
    }
    for (v, nd) in g.nodes.iter().enumerate() {
        let (x, y) = lay.at[v];
        node(&mut s, nd, &lay.boxes[v], x, y);
    }
    // Labels last, so no line or box hides them; each belongs to its edge
    // by `data-for`.
    for l in &labels {
        let e = &g.edges[l.edge];
        let _ = writeln!(
            s,
            "<g class=\"edge-label\" data-from=\"{}\" data-to=\"{}\" data-kind=\"{}\">",
            esc(&g.nodes[e.from].name),
            esc(&g.nodes[e.to].name),
            match e.kind {
                EdgeKind::Misses => "misses",
                EdgeKind::Static => "static",
                _ => "call",
            }
        );
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"#FFFFFF\" fill-opacity=\"0.9\"/>",
            f(l.x - l.w / 2.0),
            f(l.y - l.h / 2.0),
            f(l.w),
            f(l.h)
        );
        let colour = if e.rate == Some(0.0) { MUTED } else { INK };
        for (k, line) in l.lines.iter().enumerate() {
            let y = l.y - l.h / 2.0 + 1.0 + (k as f64 + 1.0) * (LABEL_PX + 2.0) - 2.5;
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{colour}\" text-anchor=\"middle\">{}</text>",
                f(l.x),
                f(y),
                f(LABEL_PX),
                esc(line)
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</g>\n");
    for (k, l) in legend_lines.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{MUTED}\">{}</text>",
            f(MARGIN),
            f(body_bottom + 14.0 + 13.0 * k as f64 + 6.0),
            esc(l)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// What the drawing's conventions mean, only those it uses.
fn legend(g: &Graph) -> String {
    let mut parts = vec![
        "Arrows: mean requests per second that queueing theory offers each call (archsim explain), thicker for more"
            .to_string(),
    ];
    let has = |k: EdgeKind| g.edges.iter().any(|e| e.kind == k);
    if g.edges.iter().any(|e| e.rate == Some(0.0)) {
        parts.push("grey: none".into());
    }
    if has(EdgeKind::Misses) {
        parts.push("dashed: a cache-aside cache's misses, read from its backend".into());
    }
    if has(EdgeKind::Static) {
        parts.push("dotted: static content (not predicted)".into());
    }
    if has(EdgeKind::Scales) {
        parts.push("dotted up: an autoscaler and the service it scales".into());
    }
    if g.nodes.iter().any(|n| !n.faults.is_empty()) {
        parts.push("red outline: a fault the scenario injects".into());
    }
    format!("{}.", parts.join("; "))
}

//! Faults: scheduled crashes, slowdowns, partitions, outages, injected latency, disk loss, and random crash/repair processes.

use super::network::region_index;
use super::*;
use crate::scenario::kinds::database::{DatabaseSpec, nodes_per_shard};

/// A crash target: `name`, `name[i]` (a replica) or `name.node[i]` (a cache node).
pub(crate) fn parse_instance(target: &str) -> (&str, Option<&str>) {
    let t = target.trim();
    if let Some(open) = t.find('[')
        && t.ends_with(']')
    {
        let name = t[..open].strip_suffix(".node").unwrap_or(&t[..open]);
        return (name, Some(&t[open + 1..t.len() - 1]));
    }
    (t, None)
}

/// Check the `faults:` list and resolve it.
#[allow(clippy::type_complexity)]
pub(crate) fn faults(
    ck: &mut Checker,
    sc: &Scenario,
    nclients: u32,
    known: &dyn Fn() -> String,
    regions: &[u16],
) -> (
    Vec<FaultCfg>,
    Vec<RandomFaultCfg>,
    Vec<Arc<Groups>>,
    Vec<(Arc<Groups>, u64)>,
) {
    // What one partition or injected latency costs: a side per client and
    // component, and per region.
    let grid = (regions.len() + sc.network.regions.len()) as u64;
    let mut fixed = Vec::new();
    let mut random = Vec::new();
    let mut partitions = Vec::new();
    let mut latencies = Vec::new();
    // Sides named by regions, components or clients.
    let groups = |ck: &mut Checker, path: &str, sides: &[&[String]]| -> Groups {
        let mut g = Groups {
            comp: vec![0; regions.len()],
            region: vec![0; sc.network.regions.len()],
        };
        for (si, side) in sides.iter().enumerate() {
            // Sides are fewer than u16::MAX (checked by the caller).
            let gid = u16::try_from(si + 1).unwrap_or(u16::MAX);
            for (mi, m) in side.iter().enumerate() {
                let mp = format!("{path}.{si}.{mi}");
                let id = sc
                    .clients
                    .get_index_of(m)
                    .map(|i| i as u32)
                    .or_else(|| sc.components.get_index_of(m).map(|i| nclients + i as u32));
                if let Some(id) = id {
                    if g.comp[id as usize] != 0 {
                        ck.err(mp, format!("`{m}` is on two sides"));
                    }
                    g.comp[id as usize] = gid;
                } else if let Some(r) = ck.region(m).map(usize::from) {
                    if g.region[r] != 0 {
                        ck.err(mp, format!("region `{m}` is on two sides"));
                    }
                    g.region[r] = gid;
                    for (c, &cr) in regions.iter().enumerate() {
                        if cr == r as u16 && g.comp[c] == 0 {
                            g.comp[c] = gid;
                        }
                    }
                } else {
                    ck.err(
                        mp,
                        format!(
                            "no region, component or client named `{m}` (components are {})",
                            known()
                        ),
                    );
                }
            }
        }
        g
    };
    for (i, f) in sc.faults.iter().enumerate() {
        let fp = format!("faults.{i}");
        let set = [
            f.crash.is_some(),
            f.hang.is_some(),
            f.slow.is_some(),
            f.random.is_some(),
            f.partition.is_some(),
            f.outage.is_some(),
            f.latency.is_some(),
            f.disk_loss.is_some(),
            f.node_loss.is_some(),
        ];
        if set.iter().filter(|x| **x).count() != 1 {
            ck.err(
                fp,
                "a fault needs exactly one of `crash: TARGET`, `hang: SERVICE[N]`, `slow: SERVICE` (with `factor`), \
                 `random: SERVICE` (with `mtbf` and `mttr`), `partition: [[…], […]]`, \
                 `outage: { region }`, `latency: { between: [A, B], add }`, `disk_loss: DB.shard[N]` or \
                 `node_loss: DB.shard[N].node[K]`",
            );
            continue;
        }
        // The component and how many instances it has.
        let lookup = |ck: &mut Checker, field: &str, name: &str| -> Option<(u32, &'static str, u32)> {
            match sc.components.get_full(name) {
                Some((idx, _, c)) if c.as_kind().instances().is_some() => Some((
                    nclients + idx as u32,
                    c.kind(),
                    c.as_kind().instances().unwrap_or(1),
                )),
                Some((_, _, other)) => {
                    ck.err(
                        format!("{fp}.{field}"),
                        format!(
                            "`{name}` is {}; crashes and slowdowns apply to services, caches, CDN edges, \
                             queues and database shards' primaries",
                            other.a_kind()
                        ),
                    );
                    None
                }
                None => {
                    ck.err(
                        format!("{fp}.{field}"),
                        format!("no component named `{name}` (components are {})", known()),
                    );
                    None
                }
            }
        };
        if let Some(r) = &f.random {
            for (field, v) in [
                ("at", f.at.is_some()),
                ("for", f.duration.is_some()),
                ("factor", f.factor.is_some()),
            ] {
                if v {
                    ck.err(
                        format!("{fp}.{field}"),
                        "a random fault runs for the whole run: it takes only `mtbf` and `mttr`",
                    );
                }
            }
            if let Some(ComponentSpec::Consensus(c)) = sc.components.get(r) {
                ck.err(
                    format!("{fp}.random"),
                    format!(
                        "`{r}` is a consensus group: random crashes apply to services and caches; crash \
                         its leader with `crash: {r}.leader` or a member with `crash: {r}.node[K]` (K \
                         from 0 to {})",
                        c.members.saturating_sub(1)
                    ),
                );
                continue;
            }
            if f.effect == Some(FaultEffect::Hang) {
                random_hangs(ck, &fp, r, f, &lookup, &mut random);
                continue;
            }
            if f.mttr.is_none()
                && let Some(ComponentSpec::Database(d)) = sc.components.get(r)
            {
                random_losses(ck, &fp, r, d, f.mtbf, &lookup, &mut random);
                continue;
            }
            let (mtbf, mttr) = match (f.mtbf, f.mttr) {
                (Some(b), Some(r)) if !b.is_zero() && !r.is_zero() => (b, r),
                _ => {
                    ck.err(
                        fp.clone(),
                        "a random fault needs `mtbf` and `mttr`, both longer than zero",
                    );
                    continue;
                }
            };
            // Each instance fails and recovers on a cycle of mean mtbf + mttr.
            let before = ck.problems.len();
            for (field, d) in [("mtbf", mtbf), ("mttr", mttr)] {
                ck.period(&format!("{fp}.{field}"), d.as_nanos(), &format!("`{field}`"), "");
            }
            if ck.problems.len() > before {
                continue;
            }
            let found = lookup(ck, "random", r);
            if let Some((_, "database", _)) = found {
                ck.err(
                    format!("{fp}.random"),
                    format!(
                        "`{r}` is a database: random crashes apply to services and caches; \
                         crash a shard's primary with `crash: {r}.shard[N].primary`, or omit `mttr` for \
                         random node losses (with `rereplication`)"
                    ),
                );
            } else if let Some((comp, _, instances)) = found {
                random.push(RandomFaultCfg {
                    comp,
                    name: r.clone(),
                    instances,
                    mtbf: mtbf.as_nanos() as f64,
                    mttr: mttr.as_nanos() as f64,
                    losses: false,
                    hang: false,
                });
            }
            continue;
        }
        for (field, v) in [
            ("mtbf", f.mtbf.is_some()),
            ("mttr", f.mttr.is_some()),
            ("effect", f.effect.is_some()),
        ] {
            if v {
                ck.err(
                    format!("{fp}.{field}"),
                    format!("`{field}` belongs to a `random` fault"),
                );
            }
        }
        let Some(at) = f.at else {
            ck.err(fp.clone(), "a fault needs `at: TIME` (when it starts)");
            continue;
        };
        if f.duration.is_some_and(|d| d.is_zero()) {
            ck.err(
                format!("{fp}.for"),
                "`for` must be longer than zero (omit it for a permanent fault)",
            );
        }
        let start = at.as_nanos();
        let end = f.duration.map(|d| start.saturating_add(d.as_nanos()));
        if let Some(target) = &f.hang {
            if f.factor.is_some() {
                ck.err(format!("{fp}.factor"), "`factor` belongs to a `slow` fault");
            }
            if let Some(action) = hang_target(ck, &fp, target, &lookup) {
                fixed.push(FaultCfg {
                    comp: action.0,
                    action: FaultAction::Hang(action.1),
                    start,
                    end,
                    label: format!("{} hung", target.trim()),
                });
            }
        } else if let Some(target) = &f.crash {
            if f.factor.is_some() {
                ck.err(format!("{fp}.factor"), "`factor` belongs to a `slow` fault");
            }
            // A consensus group: `NAME.leader` or `NAME.node[K]`.
            let t = target.trim();
            let group = t
                .strip_suffix(".leader")
                .or_else(|| parse_shard(t).map(|x| x.0))
                .unwrap_or(parse_instance(t).0);
            if let Some(ComponentSpec::Consensus(c)) = sc.components.get(group) {
                let Some((comp, _, _)) = lookup(ck, "crash", group) else {
                    continue;
                };
                match crate::scenario::kinds::consensus::crash_action(t, group, c.members) {
                    Ok(action) => fixed.push(FaultCfg {
                        comp,
                        action,
                        start,
                        end,
                        label: format!("{t} crashed"),
                    }),
                    Err(msg) => ck.err(format!("{fp}.crash"), msg),
                }
                continue;
            }
            if let Some((name, shard, rest)) = parse_shard(target) {
                let Some((comp, kind, shards)) = lookup(ck, "crash", name) else {
                    continue;
                };
                let per = match sc.components.get(name) {
                    Some(ComponentSpec::Database(d)) => nodes_per_shard(d),
                    _ => 1,
                };
                // `.leader` names a Raft shard's leader of the moment (a
                // primary/follower shard's leader is its primary).
                let action = match (shard, parse_node(rest)) {
                    (Some(n), _)
                        if kind == "database" && n < shards && matches!(rest, ".primary" | ".leader") =>
                    {
                        Some(FaultAction::CrashPrimary(n))
                    }
                    (Some(n), Some(k)) if kind == "database" && n < shards && k < per => {
                        Some(FaultAction::Crash(n * per + k))
                    }
                    _ => None,
                };
                match action {
                    Some(action) => fixed.push(FaultCfg {
                        comp,
                        action,
                        start,
                        end,
                        label: format!("{} crashed", target.trim()),
                    }),
                    None => ck.err(
                        format!("{fp}.crash"),
                        format!(
                            "`{target}`: a database crash names a shard's primary, `{name}.shard[N].primary` \
                             (or its leader, `.leader`), with N from 0 to {}, or one of its nodes, `{name}.shard[N].node[K]`, with K \
                             from 0 to {}",
                            shards.saturating_sub(1),
                            per.saturating_sub(1)
                        ),
                    ),
                }
                continue;
            }
            let (name, index) = parse_instance(target);
            let Some((comp, kind, instances)) = lookup(ck, "crash", name) else {
                continue;
            };
            if kind == "database" {
                ck.err(
                    format!("{fp}.crash"),
                    format!(
                        "`{target}`: a database crash names a shard's primary, `{name}.shard[N].primary`"
                    ),
                );
                continue;
            }
            let action = match index {
                None => FaultAction::CrashAll,
                Some(ix) => match ix.trim().parse::<u32>() {
                    Ok(n) if n < instances => FaultAction::Crash(n),
                    _ => {
                        let what = if kind == "service" { "replica" } else { "node" };
                        ck.err(
                            format!("{fp}.crash"),
                            format!(
                                "`{target}`: `{name}` has {instances} {what}s, numbered 0 to {}",
                                instances.saturating_sub(1)
                            ),
                        );
                        continue;
                    }
                },
            };
            fixed.push(FaultCfg {
                comp,
                action,
                start,
                end,
                label: format!("{} crashed", target.trim()),
            });
        } else if let Some(sides) = &f.partition {
            let refs: Vec<&[String]> = sides.iter().map(|v| v.as_slice()).collect();
            if refs.len() < 2 || refs.iter().any(|s| s.is_empty()) {
                ck.err(
                    format!("{fp}.partition"),
                    "a partition needs at least two non-empty sides: `[[us-east], [eu-west]]`",
                );
                continue;
            }
            if refs.len() >= usize::from(u16::MAX) {
                ck.err(
                    format!("{fp}.partition"),
                    format!(
                        "a partition has at most {} sides, found {}",
                        u16::MAX - 1,
                        refs.len()
                    ),
                );
                continue;
            }
            if !ck.charge_grid(&format!("{fp}.partition"), grid, "a partition") {
                continue;
            }
            let g = groups(ck, &format!("{fp}.partition"), &refs);
            let label = sides.iter().map(|s| s.join(", ")).collect::<Vec<_>>().join(" | ");
            fixed.push(FaultCfg {
                comp: NETWORK,
                action: FaultAction::Partition(partitions.len() as u32),
                start,
                end,
                label: format!("partition {label}"),
            });
            partitions.push(Arc::new(g));
        } else if let Some(o) = &f.outage {
            let Some(r) = region_index(ck, sc, &format!("{fp}.outage.region"), &o.region) else {
                continue;
            };
            fixed.push(FaultCfg {
                comp: NETWORK,
                action: FaultAction::Outage(r),
                start,
                end,
                label: format!("{} outage", o.region),
            });
        } else if let Some(l) = &f.latency {
            if l.between.len() != 2 {
                ck.err(
                    format!("{fp}.latency.between"),
                    "name exactly two components, clients or regions",
                );
                continue;
            }
            if !ck.charge_grid(&format!("{fp}.latency"), grid, "an injected latency") {
                continue;
            }
            let a = std::slice::from_ref(&l.between[0]);
            let b = std::slice::from_ref(&l.between[1]);
            let g = groups(ck, &format!("{fp}.latency.between"), &[a, b]);
            fixed.push(FaultCfg {
                comp: NETWORK,
                action: FaultAction::Latency(latencies.len() as u32),
                start,
                end,
                label: format!("+{} {}↔{}", l.add, l.between[0], l.between[1]),
            });
            latencies.push((Arc::new(g), l.add.as_nanos()));
        } else if let Some(target) = &f.disk_loss {
            if f.duration.is_some() {
                ck.err(
                    format!("{fp}.for"),
                    "a disk loss is instant and the shard is down for the database's `backup.restore_time`: omit `for`",
                );
            }
            let Some((name, Some(n), "")) = parse_shard(target) else {
                ck.err(
                    format!("{fp}.disk_loss"),
                    format!("`{target}`: name a database shard, `DB.shard[N]`"),
                );
                continue;
            };
            let Some((comp, kind, shards)) = lookup(ck, "disk_loss", name) else {
                continue;
            };
            let backed_up =
                matches!(sc.components.get(name), Some(ComponentSpec::Database(d)) if d.backup.is_some());
            if kind != "database" || n >= shards {
                ck.err(
                    format!("{fp}.disk_loss"),
                    format!("`{target}`: name a database shard, `DB.shard[N]` with N below its shard count"),
                );
            } else if !backed_up {
                ck.err(
                    format!("{fp}.disk_loss"),
                    format!("`{name}` has no `backup: {{ every, restore_time }}` to restore the shard from"),
                );
            } else {
                fixed.push(FaultCfg {
                    comp,
                    action: FaultAction::DiskLoss(n),
                    start,
                    end: None,
                    label: format!("{} disk lost", target.trim()),
                });
            }
        } else if let Some(target) = &f.node_loss {
            if f.duration.is_some() {
                ck.err(
                    format!("{fp}.for"),
                    "a node loss is permanent (a replacement re-replicates the shard after the database's \
                     `rereplication.replace_after`): omit `for`",
                );
            }
            let parsed = parse_shard(target).and_then(|(name, n, rest)| Some((name, n?, parse_node(rest)?)));
            let name = parsed.map_or_else(|| parse_shard(target).map_or(target.trim(), |t| t.0), |t| t.0);
            let Some((comp, kind, shards)) = lookup(ck, "node_loss", name) else {
                continue;
            };
            let db = match sc.components.get(name) {
                Some(ComponentSpec::Database(d)) => Some(d),
                _ => None,
            };
            let per = db.map_or(1, nodes_per_shard);
            match parsed {
                Some((_, n, k)) if kind == "database" && n < shards && k < per => {
                    if db.is_some_and(|d| d.rereplication.is_none()) {
                        ck.err(
                            format!("{fp}.node_loss"),
                            format!(
                                "`{name}` has no `rereplication: {{ data, bandwidth, replace_after }}` to \
                                 replace the lost node with"
                            ),
                        );
                        continue;
                    }
                    fixed.push(FaultCfg {
                        comp,
                        action: FaultAction::LoseNode(n * per + k),
                        start,
                        end: None,
                        label: format!("{} lost", target.trim()),
                    });
                }
                _ => ck.err(
                    format!("{fp}.node_loss"),
                    format!(
                        "`{target}`: name a database node, `DB.shard[N].node[K]` with N below its shard count \
                         and K below its nodes per shard ({per})"
                    ),
                ),
            }
        } else if let Some(target) = &f.slow {
            let factor = match f.factor {
                Some(x) if x.is_finite() && x > 0.0 => x,
                Some(x) => {
                    ck.err(
                        format!("{fp}.factor"),
                        format!("factor must be a positive number, found {x}"),
                    );
                    continue;
                }
                None => {
                    ck.err(
                        fp.clone(),
                        "a `slow` fault needs `factor` (service times are multiplied by it)",
                    );
                    continue;
                }
            };
            let Some((comp, kind, _)) = lookup(ck, "slow", target) else {
                continue;
            };
            if kind != "service" {
                ck.err(
                    format!("{fp}.slow"),
                    format!("`{target}` is a {kind}; only a service can be slowed"),
                );
                continue;
            }
            fixed.push(FaultCfg {
                comp,
                action: FaultAction::Slow(factor),
                start,
                end,
                label: format!("{target} ×{factor} slower"),
            });
        }
    }
    (fixed, random, partitions, latencies)
}

/// A hang's target: `SERVICE[N]`, one replica of a service: (component id, replica).
fn hang_target(ck: &mut Checker, fp: &str, target: &str, lookup: &Lookup<'_>) -> Option<(u32, u32)> {
    let (name, index) = parse_instance(target);
    let (comp, kind, instances) = lookup(ck, "hang", name)?;
    let path = format!("{fp}.hang");
    if kind != "service" || target.contains(".node[") {
        ck.err(
            path,
            format!("`{target}`: only a service replica can hang, `SERVICE[N]`; `{name}` is a {kind}"),
        );
        return None;
    }
    match index.map(|ix| ix.trim().parse::<u32>()) {
        Some(Ok(n)) if n < instances => Some((comp, n)),
        None => {
            ck.err(
                path,
                format!(
                    "`{target}`: name one replica, `{name}[N]` with N from 0 to {}",
                    instances - 1
                ),
            );
            None
        }
        Some(_) => {
            ck.err(
                path,
                format!(
                    "`{target}`: `{name}` has {instances} replicas, numbered 0 to {}",
                    instances.saturating_sub(1)
                ),
            );
            None
        }
    }
}

/// `{ random: SERVICE, mtbf, effect: hang }` (`mttr` optional): every replica
/// hangs at random; without `mttr` a hang lasts until a liveness restart.
fn random_hangs(
    ck: &mut Checker,
    fp: &str,
    name: &str,
    f: &FaultSpec,
    lookup: &Lookup<'_>,
    random: &mut Vec<RandomFaultCfg>,
) {
    let Some(mtbf) = f.mtbf.filter(|b| !b.is_zero()) else {
        ck.err(
            fp.to_string(),
            "random hangs need `mtbf` (the mean time between hangs of each replica), longer than zero",
        );
        return;
    };
    let before = ck.problems.len();
    ck.period(&format!("{fp}.mtbf"), mtbf.as_nanos(), "`mtbf`", "");
    if let Some(r) = f.mttr {
        ck.period(
            &format!("{fp}.mttr"),
            r.as_nanos(),
            "`mttr`",
            "`mttr` must be longer than zero (omit it: a hang then lasts until a liveness restart)",
        );
    }
    if ck.problems.len() > before {
        return;
    }
    let Some((comp, kind, instances)) = lookup(ck, "random", name) else {
        return;
    };
    if kind != "service" {
        ck.err(
            format!("{fp}.effect"),
            format!("`{name}` is a {kind}: only service replicas hang; use `effect: crash`"),
        );
        return;
    }
    random.push(RandomFaultCfg {
        comp,
        name: name.to_string(),
        instances,
        mtbf: mtbf.as_nanos() as f64,
        mttr: f.mttr.map_or(0.0, |d| d.as_nanos() as f64),
        losses: false,
        hang: true,
    });
}

/// `.node[K]` after a shard target: `Some(K)`, or `None` for anything else.
fn parse_node(rest: &str) -> Option<u32> {
    rest.trim()
        .strip_prefix(".node[")?
        .strip_suffix(']')?
        .trim()
        .parse()
        .ok()
}

/// The fault checker's lookup of a component: its id, kind and instances.
type Lookup<'a> = dyn Fn(&mut Checker, &str, &str) -> Option<(u32, &'static str, u32)> + 'a;

/// `{ random: DB, mtbf }` with no `mttr` on a database: every node loses
/// its disk at random, for good (a renewal process per node slot).
fn random_losses(
    ck: &mut Checker,
    fp: &str,
    name: &str,
    d: &DatabaseSpec,
    mtbf: Option<Duration>,
    lookup: &Lookup<'_>,
    random: &mut Vec<RandomFaultCfg>,
) {
    if d.rereplication.is_none() {
        ck.err(
            format!("{fp}.random"),
            format!(
                "`{name}` is a database without `rereplication`: random node losses (no `mttr`) need \
                 `rereplication: {{ data, bandwidth, replace_after }}` to replace the lost nodes"
            ),
        );
        return;
    }
    let Some(mtbf) = mtbf.filter(|b| !b.is_zero()) else {
        ck.err(
            fp.to_string(),
            "random node losses need `mtbf` (the mean time between losses of each node), longer than zero",
        );
        return;
    };
    let before = ck.problems.len();
    ck.period(&format!("{fp}.mtbf"), mtbf.as_nanos(), "`mtbf`", "");
    if ck.problems.len() > before {
        return;
    }
    if let Some((comp, _, shards)) = lookup(ck, "random", name) {
        random.push(RandomFaultCfg {
            comp,
            name: name.to_string(),
            instances: shards.saturating_mul(nodes_per_shard(d)),
            mtbf: mtbf.as_nanos() as f64,
            mttr: 0.0,
            losses: true,
            hang: false,
        });
    }
}

/// A shard target: `NAME.shard[N]` plus what follows (`.primary`), or
/// `None` when `target` names no shard. A bad number gives `Some((name, None, rest))`.
pub(crate) fn parse_shard(target: &str) -> Option<(&str, Option<u32>, &str)> {
    let t = target.trim();
    let at = t.find(".shard[")?;
    let close = at + t[at..].find(']')?;
    let n = t[at + 7..close].trim().parse().ok();
    Some((&t[..at], n, &t[close + 1..]))
}

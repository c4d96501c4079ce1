//! Scenario-wide totals: the memory a run would need, summed over every component, against the limits.

use super::*;

/// Adds `n` to a scenario-wide total; true the first time the total passes
/// `limit` (each total is reported once, at the component that crosses it).
pub(crate) fn crosses(total: &mut u64, n: u64, limit: u64, reported: &mut bool) -> bool {
    *total = total.saturating_add(n);
    let first = *total > limit && !*reported;
    *reported |= first;
    first
}

/// Checks what the whole scenario would allocate against the scenario-wide
/// limits of [`super::limits`], component by component in file order; each
/// total is reported once, at the first component that takes it over.
pub(crate) fn totals(ck: &mut Checker, sc: &Scenario, comps: &[CompCfg], key_space: u64) {
    let (mut cells, mut instances, mut slots, mut entries, mut points) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut over = [false; 5];
    let n = |x: u32| u64::from(x);
    for (name, c) in sc.components.keys().zip(comps) {
        let p = format!("components.{name}");
        // This component's share of each total, with the field to blame and
        // why it needs it.
        let mut table: Option<(u64, String)> = None;
        let mut inst: Option<(u64, &str)> = None;
        let mut slot = 0;
        let mut entry = 0;
        let mut ring: Option<(u64, &str)> = None;
        match c {
            CompCfg::Service(svc) => {
                inst = Some((n(svc.pool.max(svc.replicas)), "replicas"));
                if let StateCfg::Stateful { users, .. } = svc.state {
                    table = Some((
                        n(users),
                        format!(
                            "a stateful service remembers the replica holding each of {users} identities' sessions"
                        ),
                    ));
                }
            }
            CompCfg::Balancer(b) => {
                if b.algorithm == Algorithm::ConsistentHash {
                    ring = Some((n(b.vnodes) * n(b.replicas), "vnodes"));
                }
                if b.algorithm == Algorithm::Sticky {
                    let ids = b.identities.min(1 << 26);
                    table = Some((
                        ids,
                        format!("a sticky balancer remembers the replica of each of {ids} identities"),
                    ));
                }
            }
            CompCfg::Cache(k) => {
                let nodes = n(k.nodes.max(1));
                inst = Some((nodes, "nodes"));
                entry = nodes * n(k.capacity);
                if k.policy == Policy::Lfu {
                    table = Some((
                        nodes * k.key_space,
                        format!(
                            "an LFU cache counts requests for each of the {} keys on each of its {nodes} nodes",
                            k.key_space
                        ),
                    ));
                }
            }
            CompCfg::Database(d) => {
                let nodes = n(d.max_shards) * n(d.per_shard());
                inst = Some((nodes, "shards"));
                slot = nodes * n(d.cores);
                if let Scheme::ConsistentHash { vnodes } = d.scheme {
                    ring = Some((n(vnodes) * n(d.max_shards), "partitioning.consistent_hash.vnodes"));
                }
                // The committed version, one cell per node of a shard, and
                // one more for a quorum's coordinator, a backup and a directory.
                let per_key = 1
                    + n(d.per_shard())
                    + u64::from(matches!(d.mode, Mode::Quorum { .. }))
                    + u64::from(d.backup.is_some())
                    + u64::from(d.scheme == Scheme::Directory);
                table = Some((
                    key_space * per_key,
                    format!(
                        "a database keeps {per_key} entries for each of the {key_space} keys the clients use"
                    ),
                ));
                // Each backup copies every key: the run's copies are
                // keys × backups, bounded like any other work the file asks
                // for up front.
                if let Some((every, _)) = d.backup {
                    let run = sc.duration.as_nanos();
                    let copies = key_space.saturating_mul(run / every.max(1));
                    if copies > MAX_BACKUP_COPIES {
                        let floor = Duration(
                            (u128::from(run) * u128::from(key_space) / u128::from(MAX_BACKUP_COPIES))
                                .min(u128::from(u64::MAX)) as u64
                                + 1,
                        );
                        ck.err(
                            format!("{p}.backup.every"),
                            format!(
                                "each backup copies all {key_space} keys: a backup every {} over {} makes {copies} key copies, \
                                 more than the {MAX_BACKUP_COPIES} a run may make; back up at most every {floor}, or use fewer keys",
                                Duration(every),
                                Duration(run)
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
        if let Some((t, why)) = table
            && crosses(&mut cells, t, MAX_TABLE_CELLS, &mut over[0])
        {
            ck.err_key(
                    "components",
                    name,
                    format!(
                        "the per-key and per-identity tables of all components may hold at most {MAX_TABLE_CELLS} \
                         entries (1 GiB), and this one takes them to {cells}: {why}; use fewer keys (the \
                         clients' `keys`), databases, replicas or identities"
                    ),
                );
        }
        if let Some((i, field)) = inst
            && crosses(&mut instances, i, MAX_INSTANCES, &mut over[1])
        {
            ck.err(
                format!("{p}.{field}"),
                format!(
                    "service replicas, cache nodes and database nodes of all components together may be at \
                         most {MAX_INSTANCES}, and this one's {i} take them to {instances}"
                ),
            );
        }
        if crosses(&mut slots, slot, MAX_DB_CORE_SLOTS, &mut over[2]) {
            ck.err(
                format!("{p}.cores"),
                format!(
                    "database nodes × cores may be at most {MAX_DB_CORE_SLOTS} over all databases (each node \
                     reserves a slot per core), and this one's {slot} take them to {slots}"
                ),
            );
        }
        if crosses(&mut entries, entry, MAX_CACHE_ENTRIES, &mut over[3]) {
            ck.err(
                format!("{p}.capacity"),
                format!(
                    "caches and CDNs together may hold at most {MAX_CACHE_ENTRIES} entries (nodes × capacity, \
                     allocated up front), and this one's {entry} take them to {entries}"
                ),
            );
        }
        if let Some((r, field)) = ring
            && crosses(&mut points, r, MAX_RING_POINTS, &mut over[4])
        {
            ck.err(
                format!("{p}.{field}"),
                format!(
                    "the consistent-hash rings of all balancers and databases may hold at most \
                         {MAX_RING_POINTS} points together, and this one's {r} take them to {points}"
                ),
            );
        }
    }
}

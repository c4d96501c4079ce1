//! What clients and call edges share: key popularity, call policies (timeouts, retries, breakers), arrival traces.

use super::*;

/// Key popularity, checked (`p` is the path of the `keys` field).
pub(crate) fn keys_cfg(ck: &mut Checker, p: &str, keys: Option<KeySpec>) -> KeysCfg {
    match keys {
        None => KeysCfg::Single,
        Some(KeySpec::Uniform(n)) => {
            if n == 0 {
                ck.err(format!("{p}.uniform"), "the number of keys must be at least 1");
            }
            KeysCfg::Uniform(n.max(1))
        }
        Some(KeySpec::Zipf(z)) => {
            if z.n == 0 {
                ck.err(format!("{p}.zipf.n"), "the number of keys must be at least 1");
            }
            if !(z.s.is_finite() && z.s >= 0.0) {
                ck.err(
                    format!("{p}.zipf.s"),
                    format!("the exponent must be zero or positive, found {}", z.s),
                );
            }
            KeysCfg::Zipf(z.n.max(1), z.s)
        }
    }
}

/// A client without `keys:` sends every request with key 0. Where keys
/// decide what happens (a cache or CDN holds that one key and hits on it
/// every time; a database with several shards, or a consistent-hash
/// balancer, sends it all to one shard or replica) the numbers would be
/// wrong without a word, so such a client is bad input when its requests
/// can reach one of them: through balancers, gateways, DNS, services'
/// calls, queues' consumers, caches' backends ([`Kind::edges`]). A
/// session `store` is read by user, not by key, and is not such an edge.
/// `added` is the shards each component gains by events (file order).
///
/// [`Kind::edges`]: crate::scenario::kinds::Kind::edges
pub(crate) fn keyless_clients(ck: &mut Checker, sc: &Scenario, added: &[u32]) {
    for (name, c) in &sc.clients {
        if c.keys.is_some() {
            continue;
        }
        // Static requests use the static keys, else the client's.
        let statics = c
            .static_content
            .as_ref()
            .filter(|st| st.keys.is_none())
            .map(|st| st.target.as_str());
        let found = std::iter::once((c.target.as_str(), false))
            .chain(statics.map(|t| (t, true)))
            .find_map(|(start, stat)| keyed_on_the_way(sc, start, added).map(|f| (f, stat)));
        let Some(((route, (what, why)), stat)) = found else {
            continue;
        };
        let (sends, add) = if stat {
            ("its static requests reach", "to the client (or to its `static`)")
        } else {
            ("its requests reach", "to the client")
        };
        ck.err_key(
            "clients",
            name,
            format!(
                "`{name}` has no `keys`, so every request it sends has the same key, and {sends} {what} \
                 ({name} → {}), {why}: add a key popularity {add}, e.g. `keys: {{ uniform: 10000 }}` \
                 (10,000 equally popular keys) or `keys: {{ zipf: {{ n: 10000, s: 0.99 }} }}` (a few \
                 keys much more popular than the rest)",
                route.join(" → ")
            ),
        );
    }
}

/// The route to a component whose behaviour depends on request keys, the
/// component ("cache `c`") and what one key does to it.
type Keyed<'a> = (Vec<&'a str>, (String, &'static str));

/// The first component reachable from `start` (breadth first, along
/// [`Kind::edges`](crate::scenario::kinds::Kind::edges)) whose behaviour
/// depends on request keys.
fn keyed_on_the_way<'a>(sc: &'a Scenario, start: &'a str, added: &[u32]) -> Option<Keyed<'a>> {
    let first = sc.components.get_index_of(start)?;
    let mut came_from: Vec<Option<usize>> = vec![None; sc.components.len()];
    let mut seen = vec![false; sc.components.len()];
    seen[first] = true;
    let mut queue = std::collections::VecDeque::from([first]);
    while let Some(i) = queue.pop_front() {
        let (name, c) = sc.components.get_index(i)?;
        let found = match c {
            ComponentSpec::Cache(_) => Some((
                format!("cache `{name}`"),
                "which would hold that one key and answer almost every read from it (a hit ratio near 1)",
            )),
            ComponentSpec::Cdn(_) => Some((
                format!("CDN `{name}`"),
                "which would hold that one object and answer almost every request from it (a hit ratio \
                 near 1)",
            )),
            ComponentSpec::Database(d) if d.shards.saturating_add(added.get(i).copied().unwrap_or(0)) > 1 => {
                Some((
                    format!("database `{name}`"),
                    "whose shards split the keys, so the one shard holding that key would take every \
                     request while the others idle",
                ))
            }
            ComponentSpec::LoadBalancer(b) if b.algorithm == Algorithm::ConsistentHash => Some((
                format!("load balancer `{name}`"),
                "which hashes request keys onto its replicas, so every request would go to one \
                 replica",
            )),
            _ => None,
        };
        if let Some(found) = found {
            let mut route = vec![name.as_str()];
            let mut at = i;
            while let Some(prev) = came_from[at] {
                at = prev;
                route.push(sc.components.get_index(at)?.0.as_str());
            }
            route.reverse();
            return Some((route, found));
        }
        for e in c.as_kind().edges(name) {
            if let Some(t) = sc.components.get_index_of(e.target)
                && !seen[t]
            {
                seen[t] = true;
                came_from[t] = Some(i);
                queue.push_back(t);
            }
        }
    }
    None
}

/// The number of keys a popularity draws from.
pub(crate) fn key_count(k: &KeysCfg) -> u64 {
    match *k {
        KeysCfg::Single => 1,
        KeysCfg::Uniform(n) | KeysCfg::Zipf(n, _) => n,
    }
}

/// A caller's timeout, retries, breaker and idempotency, checked (`p` is the
/// path of the client or call edge that carries them).
pub(crate) fn call_policy(
    ck: &mut Checker,
    p: &str,
    timeout: Option<Duration>,
    retry: Option<&RetrySpec>,
    breaker: Option<&BreakerSpec>,
    idempotent: Option<bool>,
) -> CallPolicy {
    if let Some(t) = timeout
        && t.is_zero()
    {
        ck.err(format!("{p}.timeout"), "a timeout must be longer than zero");
    }
    let retry = retry.map(|r| {
        let rp = format!("{p}.retry");
        let max = r.max.unwrap_or(3);
        if !(1..=MAX_ATTEMPTS).contains(&max) {
            ck.err(
                format!("{rp}.max"),
                format!("attempts (the first included) must be between 1 and {MAX_ATTEMPTS}, found {max}"),
            );
        }
        let (base, cap) = match r.backoff {
            None => (100_000_000, 10_000_000_000),
            Some(BackoffSpec::Constant(d)) => (d.as_nanos(), d.as_nanos()),
            Some(BackoffSpec::Exponential(e)) => {
                if e.cap < e.base {
                    ck.err(
                        format!("{rp}.backoff.exponential.cap"),
                        format!("the cap ({}) must be at least the base ({})", e.cap, e.base),
                    );
                }
                (e.base.as_nanos(), e.cap.as_nanos())
            }
        };
        let jitter = match r.jitter.unwrap_or(JitterSpec::Full) {
            JitterSpec::Full => Jitter::Full,
            JitterSpec::Equal => Jitter::Equal,
            JitterSpec::None => Jitter::None,
        };
        let budget = r.budget.map(|b| {
            let bp = format!("{rp}.budget");
            if !(b.ratio.is_finite() && b.ratio >= 0.0) {
                ck.err(
                    bp.clone(),
                    format!("a budget ratio must be zero or positive, found {}", b.ratio),
                );
            }
            let min = b.min_per_s.unwrap_or(10.0);
            if !(min.is_finite() && min >= 0.0) {
                ck.err(
                    format!("{bp}.min_per_s"),
                    format!("min_per_s must be zero or positive, found {min}"),
                );
            }
            let window = b.window.map_or(10_000_000_000, |w| w.as_nanos());
            if window == 0 {
                ck.err(format!("{bp}.window"), "a window must be longer than zero");
            }
            (b.ratio.max(0.0), min.max(0.0), window.max(1))
        });
        RetryCfg {
            max_attempts: max.clamp(1, MAX_ATTEMPTS) as u16,
            backoff: Backoff {
                base,
                cap: cap.max(base),
                jitter,
            },
            budget: budget.filter(|(r, m, _)| r.is_finite() && m.is_finite()),
        }
    });
    let breaker = breaker.map(|b| {
        let bp = format!("{p}.circuit_breaker");
        let ratio = b.failure_ratio.unwrap_or(0.5);
        if !(ratio > 0.0 && ratio <= 1.0) {
            ck.err(
                format!("{bp}.failure_ratio"),
                format!("a failure ratio must be above 0 and at most 1, found {ratio}"),
            );
        }
        let window = b.window.map_or(10_000_000_000, |w| w.as_nanos());
        if window == 0 {
            ck.err(format!("{bp}.window"), "a window must be longer than zero");
        }
        let open_for = b.open_for.map_or(5_000_000_000, |w| w.as_nanos());
        if open_for == 0 {
            ck.err(format!("{bp}.open_for"), "open_for must be longer than zero");
        }
        if b.half_open_probes == Some(0) {
            ck.err(format!("{bp}.half_open_probes"), "at least one probe is needed");
        }
        BreakerCfg {
            failure_ratio: if ratio > 0.0 && ratio <= 1.0 { ratio } else { 0.5 },
            window: window.max(1),
            open_for: open_for.max(1),
            half_open_probes: b.half_open_probes.unwrap_or(3).max(1),
            min_calls: b.min_calls.unwrap_or(20).max(1),
        }
    });
    CallPolicy {
        timeout: timeout.map(|t| t.as_nanos().max(1)),
        retry,
        breaker,
        idempotent: idempotent.unwrap_or(false),
    }
}

/// Arrival times from a file: one duration since the start per line, blank
/// lines and `#` comments ignored. At most [`MAX_DATA_FILE_BYTES`] are read
/// and at most [`MAX_DATA_VALUES`] times kept.
pub fn load_trace(path: &Path) -> Result<Vec<u64>, String> {
    let text = crate::scenario::limits::read_text_capped(path, MAX_DATA_FILE_BYTES, "trace file")?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        if out.len() as u64 >= MAX_DATA_VALUES {
            return Err(format!(
                "{}: more than {MAX_DATA_VALUES} arrival times, the most archsim keeps",
                path.display()
            ));
        }
        let d: Duration = l
            .parse()
            .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        out.push(d.as_nanos());
    }
    if out.windows(2).any(|w| w[1] < w[0]) {
        return Err(format!("{}: arrival times must not decrease", path.display()));
    }
    Ok(out)
}

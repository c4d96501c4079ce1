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

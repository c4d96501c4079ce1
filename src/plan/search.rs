//! The searches of `archsim plan`, apart from simulation: each asks an
//! oracle "does every SLO hold here?" and decides where to ask next. The
//! oracle is the simulation (replications, adaptive, under common random
//! numbers) or, for the theory bracket, `explain`'s prediction; the tests
//! use a plain function.
//!
//! - [`threshold`]: a monotone parameter with the SLO holding on one side
//!   of an unknown threshold (load below it, resources above it). Bracket
//!   from a guess with steps that grow geometrically (×1.25, ×1.56, ×2.44…
//!   so a good guess costs one or two probes and a bad one few more), then
//!   bisect until the last pass and the first fail are within the
//!   precision.
//! - [`cheapest`]: configurations over ordered choices; a verdict is
//!   monotone in capacity (more never breaks an SLO that less met, under
//!   the same load), so the search walks the staircase between the pass
//!   and fail regions, bisecting one choice and never simulating a
//!   configuration whose verdict a simulated one implies or that is dearer
//!   than the best found.
use crate::math;

/// How close the last pass and the first fail must be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precision {
    /// In the parameter's unit.
    Absolute(f64),
    /// A fraction of the passing value.
    Relative(f64),
}

impl Precision {
    /// Whether `a` and `b` are close enough.
    pub fn met(self, a: f64, b: f64, integer: bool) -> bool {
        let gap = (a - b).abs();
        if integer && gap <= 1.0 {
            return true;
        }
        match self {
            Precision::Absolute(p) => gap <= p,
            Precision::Relative(r) => gap <= r * a.abs().min(b.abs()),
        }
    }

    /// The spacing of a grid with this resolution around `at`.
    pub fn step_at(self, at: f64, integer: bool) -> f64 {
        let s = match self {
            Precision::Absolute(p) => p,
            Precision::Relative(r) => r * at.abs(),
        };
        if integer { s.max(1.0).round() } else { s }
    }
}

/// A one-dimensional search: where the SLO holds and how finely to look.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The SLO holds below the threshold (a load); false: above it (a
    /// resource).
    pub good_below: bool,
    /// Only integers (replicas, cores, shards, cache entries).
    pub integer: bool,
    /// The smallest and largest value the search may try.
    pub limits: (f64, f64),
    /// Where to search (`plan.range`): both ends are tried first.
    pub range: Option<(f64, f64)>,
    /// The answer's resolution.
    pub precision: Precision,
    /// Where to start without a range (theory's answer, or the value the
    /// scenario has).
    pub guess: f64,
}

/// What a threshold search found: the last value that passed and the
/// first that failed (either may be missing: nothing passed, nothing
/// failed within the limits or the range).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Found {
    /// The passing value nearest the threshold.
    pub pass: Option<f64>,
    /// The failing value nearest the threshold.
    pub fail: Option<f64>,
    /// The least and greatest value tried (the span a grid would cover).
    pub span: (f64, f64),
}

/// Most probes of one threshold search (bracketing and bisection).
pub const MAX_PROBES: usize = 80;

/// Search `line` for the threshold, asking `judge(x)` whether every SLO
/// holds at `x` (errors stop the search).
pub fn threshold<E>(line: &Line, mut judge: impl FnMut(f64) -> Result<bool, E>) -> Result<Found, E> {
    let snap = |x: f64| snap(x, line);
    let mut found = Found {
        span: (f64::INFINITY, f64::NEG_INFINITY),
        ..Found::default()
    };
    let probes = std::cell::Cell::new(0usize);
    let mut ask = |x: f64, found: &mut Found| -> Result<bool, E> {
        probes.set(probes.get() + 1);
        found.span = (found.span.0.min(x), found.span.1.max(x));
        judge(x)
    };
    // Toward the bad side is up for a load, down for a resource.
    let toward_bad = |x: f64, k: u32| -> f64 {
        let f = 1.25f64.powi(1 << k.min(6)).min(4.0);
        let y = if line.good_below { x * f } else { x / f };
        let y = snap(y);
        if line.integer && y == x {
            snap(if line.good_below { x + 1.0 } else { x - 1.0 })
        } else {
            y
        }
    };
    let toward_good = |x: f64, k: u32| -> f64 {
        let f = 1.25f64.powi(1 << k.min(6)).min(4.0);
        let y = if line.good_below { x / f } else { x * f };
        let y = snap(y);
        if line.integer && y == x {
            snap(if line.good_below { x - 1.0 } else { x + 1.0 })
        } else {
            y
        }
    };
    let (mut pass, mut fail);
    if let Some((a, b)) = line.range {
        let (good_end, bad_end) = if line.good_below { (a, b) } else { (b, a) };
        let (good_end, bad_end) = (snap(good_end), snap(bad_end));
        if !ask(good_end, &mut found)? {
            found.fail = Some(good_end);
            return Ok(found);
        }
        pass = good_end;
        if ask(bad_end, &mut found)? {
            found.pass = Some(bad_end);
            return Ok(found);
        }
        fail = bad_end;
    } else {
        let x = snap(line.guess);
        if ask(x, &mut found)? {
            pass = x;
            let mut k = 0;
            loop {
                let y = toward_bad(pass, k);
                if y == pass || probes.get() >= MAX_PROBES {
                    found.pass = Some(pass);
                    return Ok(found);
                }
                if ask(y, &mut found)? {
                    pass = y;
                    k += 1;
                } else {
                    fail = y;
                    break;
                }
            }
        } else {
            fail = x;
            let mut k = 0;
            loop {
                let y = toward_good(fail, k);
                if y == fail || probes.get() >= MAX_PROBES {
                    found.fail = Some(fail);
                    return Ok(found);
                }
                if ask(y, &mut found)? {
                    pass = y;
                    break;
                } else {
                    fail = y;
                    k += 1;
                }
            }
        }
    }
    while !line.precision.met(pass, fail, line.integer) && probes.get() < MAX_PROBES {
        let m = snap_between(pass, fail, line);
        if m == pass || m == fail {
            break;
        }
        if ask(m, &mut found)? {
            pass = m;
        } else {
            fail = m;
        }
    }
    found.pass = Some(pass);
    found.fail = Some(fail);
    Ok(found)
}

/// `x` kept within the limits (and whole, for an integer line), and
/// rounded to 4 significant digits so that probes read as a person would
/// write them.
fn snap(x: f64, line: &Line) -> f64 {
    let x = x.clamp(line.limits.0, line.limits.1);
    if line.integer {
        return x.round().clamp(line.limits.0.ceil(), line.limits.1.floor());
    }
    round_sig(x, 4).clamp(line.limits.0, line.limits.1)
}

/// The probe between `a` and `b`: their midpoint, rounded to the coarsest
/// of 2–6 significant digits that still falls strictly between them.
fn snap_between(a: f64, b: f64, line: &Line) -> f64 {
    let m = (a + b) / 2.0;
    if line.integer {
        let m = if line.good_below { m.floor() } else { m.ceil() };
        return m.clamp(line.limits.0, line.limits.1);
    }
    let (lo, hi) = (a.min(b), a.max(b));
    for d in 2..=6 {
        let r = round_sig(m, d);
        if r > lo && r < hi {
            return r;
        }
    }
    m
}

/// `x` rounded to `d` significant digits.
pub fn round_sig(x: f64, d: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let mag = math::log10(x.abs()).floor() as i32;
    let scale = 10f64.powi(d - 1 - mag);
    (x * scale).round() / scale
}

/// How a [`cheapest`] search ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cheapest {
    /// The cheapest configuration that passed (choice indices), if any.
    pub answer: Option<Vec<usize>>,
    /// Configurations simulated.
    pub evaluated: usize,
    /// Configurations whose verdict a simulated one implies: no more
    /// capacity in any choice than one that failed (they fail), or no
    /// less than one that passed (they pass).
    pub implied: usize,
    /// Configurations left unknown: dearer than the answer.
    pub beyond: usize,
}

/// Most configurations a `cheapest` space may have.
pub const MAX_CONFIGURATIONS: u64 = 1_000_000;

/// Every configuration of choices with `sizes[i]` options each, in
/// row-major order (the last choice varies fastest).
pub fn configurations(sizes: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = sizes.iter().product();
    (0..total)
        .map(|n| {
            let mut rest = n;
            let mut idx = vec![0; sizes.len()];
            for (d, s) in sizes.iter().enumerate().rev() {
                idx[d] = rest % s;
                rest /= s;
            }
            idx
        })
        .collect()
}

fn le(a: &[usize], b: &[usize]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y)
}

/// The cheapest configuration meeting every SLO, over choices whose
/// options are listed from least to most capacity (and price). Two facts
/// cut the work: a verdict is monotone in capacity (a configuration with
/// no more of anything than one that failed fails too; one with no less
/// than one that passed passes), and a configuration dearer than the best
/// found so far cannot be the answer. So the search walks the staircase
/// of the pass region: for each setting of the other choices (cheapest
/// first), the longest choice is bisected for its least passing option,
/// looking only at options cheaper than the best so far, and only after
/// the dearest of those has passed (if it fails, every cheaper one does).
/// With two choices of n options each that is O(n log n) simulations at
/// most instead of n², and usually far fewer.
pub fn cheapest<E>(
    sizes: &[usize],
    price: impl Fn(&[usize]) -> f64,
    mut judge: impl FnMut(&[usize]) -> Result<bool, E>,
) -> Result<Cheapest, E> {
    let all = configurations(sizes);
    let mut out = Cheapest::default();
    if sizes.is_empty() || all.is_empty() {
        return Ok(out);
    }
    // The longest choice is bisected; the others are enumerated.
    let long = (0..sizes.len())
        .max_by_key(|&d| (sizes[d], std::cmp::Reverse(d)))
        .unwrap_or(0);
    let mut rest_sizes = sizes.to_vec();
    rest_sizes[long] = 1;
    let mut combos = configurations(&rest_sizes);
    combos.sort_by(|a, b| price(a).total_cmp(&price(b)).then_with(|| a.cmp(b)));
    let mut passed: Vec<Vec<usize>> = Vec::new();
    let mut failed: Vec<Vec<usize>> = Vec::new();
    let mut best: Option<(f64, Vec<usize>)> = None;
    let mut verdict =
        |c: &[usize], passed: &mut Vec<Vec<usize>>, failed: &mut Vec<Vec<usize>>| -> Result<bool, E> {
            if passed.iter().any(|p| le(p, c)) {
                return Ok(true);
            }
            if failed.iter().any(|f| le(c, f)) {
                return Ok(false);
            }
            let ok = judge(c)?;
            if ok {
                passed.retain(|p| !le(c, p));
                passed.push(c.to_vec());
            } else {
                failed.retain(|f| !le(f, c));
                failed.push(c.to_vec());
            }
            Ok(ok)
        };
    let at = |combo: &[usize], j: usize| {
        let mut c = combo.to_vec();
        c[long] = j;
        c
    };
    for combo in &combos {
        // Options of the long choice cheaper than the best so far (a
        // prefix: price grows with capacity).
        let m = (0..sizes[long])
            .take_while(|&j| best.as_ref().is_none_or(|(b, _)| price(&at(combo, j)) < *b))
            .count();
        if m == 0 {
            continue;
        }
        if !verdict(&at(combo, m - 1), &mut passed, &mut failed)? {
            continue;
        }
        let (mut lo, mut hi) = (0, m - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if verdict(&at(combo, mid), &mut passed, &mut failed)? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let c = at(combo, lo);
        let p = price(&c);
        if best.as_ref().is_none_or(|(b, bc)| p < *b || (p == *b && c < *bc)) {
            best = Some((p, c));
        }
    }
    out.evaluated = passed.len() + failed.len();
    // Count from the full sets of simulated results, not the maximal ones.
    out.answer = best.map(|(_, c)| c);
    Ok(out)
}

/// Sort configurations by how their verdict is known after a search:
/// `simulated` ones are evaluated; the rest are implied (below a failure
/// or above a pass) or beyond (unknown).
pub fn tally(sizes: &[usize], simulated: &[(Vec<usize>, bool)]) -> (usize, usize, usize) {
    let all = configurations(sizes);
    let (mut evaluated, mut implied, mut beyond) = (0, 0, 0);
    for c in &all {
        if simulated.iter().any(|(s, _)| s == c) {
            evaluated += 1;
        } else if simulated
            .iter()
            .any(|(s, ok)| if *ok { le(s, c) } else { le(c, s) })
        {
            implied += 1;
        } else {
            beyond += 1;
        }
    }
    (evaluated, implied, beyond)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_line(range: Option<(f64, f64)>, guess: f64) -> Line {
        Line {
            good_below: true,
            integer: false,
            limits: (1e-3, 1e9),
            range,
            precision: Precision::Absolute(5.0),
            guess,
        }
    }

    #[test]
    fn finds_a_load_threshold_within_the_precision() {
        for guess in [10.0, 450.0, 700.0, 5000.0] {
            let mut n = 0;
            let f = threshold::<()>(&load_line(None, guess), |x| {
                n += 1;
                Ok(x <= 437.0)
            })
            .unwrap();
            let (p, q) = (f.pass.unwrap(), f.fail.unwrap());
            assert!(p <= 437.0 && q > 437.0 && q - p <= 5.0, "{guess}: {p} {q}");
            assert!(n <= 16, "{guess}: {n} probes");
        }
    }

    #[test]
    fn a_range_is_checked_at_both_ends() {
        let f = threshold::<()>(&load_line(Some((100.0, 300.0)), 0.0), |x| Ok(x <= 437.0)).unwrap();
        assert_eq!((f.pass, f.fail), (Some(300.0), None));
        let f = threshold::<()>(&load_line(Some((500.0, 900.0)), 0.0), |x| Ok(x <= 437.0)).unwrap();
        assert_eq!((f.pass, f.fail), (None, Some(500.0)));
        let f = threshold::<()>(&load_line(Some((100.0, 900.0)), 0.0), |x| Ok(x <= 437.0)).unwrap();
        assert!(f.fail.unwrap() - f.pass.unwrap() <= 5.0);
        assert_eq!(f.span, (100.0, 900.0));
    }

    #[test]
    fn finds_the_fewest_resources() {
        for guess in [1.0, 7.0, 13.0, 64.0] {
            let line = Line {
                good_below: false,
                integer: true,
                limits: (1.0, 1024.0),
                range: None,
                precision: Precision::Absolute(1.0),
                guess,
            };
            let f = threshold::<()>(&line, |x| Ok(x >= 13.0)).unwrap();
            assert_eq!((f.pass, f.fail), (Some(13.0), Some(12.0)), "{guess}");
        }
    }

    #[test]
    fn nothing_passes_or_everything_does() {
        let f = threshold::<()>(&load_line(None, 100.0), |_| Ok(false)).unwrap();
        assert_eq!(f.pass, None);
        let f = threshold::<()>(&load_line(None, 100.0), |_| Ok(true)).unwrap();
        assert_eq!(f.fail, None);
    }

    #[test]
    fn cheapest_walks_the_staircase() {
        // Two choices of 8 options; capacity a + 2b must be at least 9;
        // price a + 2.1 b (+0.1 to keep it positive).
        let sizes = [8, 8];
        let price = |c: &[usize]| 0.1 + c[0] as f64 + 2.1 * c[1] as f64;
        let passes = |c: &[usize]| c[0] + 2 * c[1] >= 9;
        let mut tried: Vec<(Vec<usize>, bool)> = Vec::new();
        let r = cheapest::<()>(&sizes, price, |c| {
            tried.push((c.to_vec(), passes(c)));
            Ok(passes(c))
        })
        .unwrap();
        // Brute force: the cheapest passing configuration.
        let brute = configurations(&sizes)
            .into_iter()
            .filter(|c| passes(c))
            .min_by(|a, b| price(a).total_cmp(&price(b)))
            .unwrap();
        assert_eq!(r.answer, Some(brute));
        let (e, i, b) = tally(&sizes, &tried);
        assert_eq!(e, tried.len());
        assert_eq!(e + i + b, 64);
        assert!(e < 20, "{e} simulated of 64");
        assert!(i > 0);
        // What is left unknown is no cheaper than the answer.
        let best = price(r.answer.as_ref().unwrap());
        for c in configurations(&sizes) {
            let known = tried
                .iter()
                .any(|(s, ok)| if *ok { le(s, &c) } else { le(&c, s) });
            assert!(known || price(&c) >= best, "{c:?} unknown and cheaper");
        }
    }

    #[test]
    fn cheapest_with_nothing_passing_tries_the_biggest() {
        let mut n = 0;
        let r = cheapest::<()>(
            &[4, 3],
            |c| c[0] as f64 + c[1] as f64,
            |_| {
                n += 1;
                Ok(false)
            },
        )
        .unwrap();
        assert_eq!(r.answer, None);
        assert!(n <= 4, "{n}");
    }

    #[test]
    fn rounding_keeps_probes_readable() {
        assert_eq!(round_sig(437.512, 4), 437.5);
        assert_eq!(round_sig(0.0012345, 2), 0.0012);
        let line = load_line(None, 0.0);
        assert_eq!(snap_between(400.0, 500.0, &line), 450.0);
        assert_eq!(snap_between(437.5, 443.75, &line), 440.0);
    }
}

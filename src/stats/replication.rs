//! Statistics over independent replications: 95% confidence intervals, Welch's t-test, the
//! paired-difference interval and the coefficient of variation.

use super::student_t::{student_t_cdf, student_t_quantile};
use super::welford::Welford;

/// Mean and 95% half-width over replications: (mean, None) for fewer than 2 samples; half-width = t_{0.975, n-1} · s / sqrt(n).
///
/// An empty slice gives (0.0, None) rather than NaN, so reports stay serialisable.
pub fn mean_ci95(samples: &[f64]) -> (f64, Option<f64>) {
    let mut w = Welford::new();
    for &x in samples {
        w.push(x);
    }
    if w.count() < 2 {
        return (w.mean(), None);
    }
    let n = w.count() as f64;
    let half = student_t_quantile(0.975, n - 1.0) * w.std_dev() / n.sqrt();
    (w.mean(), Some(half))
}

/// Welch's t-test two-sided p-value (for `compare`, later): H₀ "equal means", unequal variances.
///
/// t = (ā − b̄)/√(s_a²/n_a + s_b²/n_b), ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a−1) +
/// (s_b²/n_b)²/(n_b−1)) (Welch 1947; Welch–Satterthwaite), p = 2·P(T_ν > |t|).
///
/// None when either side has fewer than 2 samples or a non-finite value. When both samples
/// have zero variance (deterministic replications) the test is degenerate; its limit is
/// returned: 1.0 if the means are equal, 0.0 otherwise.
pub fn welch_p_value(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|x| !x.is_finite()) {
        return None;
    }
    let (wa, wb) = (welford_of(a), welford_of(b));
    let va = wa.variance() / a.len() as f64;
    let vb = wb.variance() / b.len() as f64;
    let se2 = va + vb;
    let diff = wa.mean() - wb.mean();
    if se2 == 0.0 {
        return Some(if diff == 0.0 { 1.0 } else { 0.0 });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    // The lower tail at −|t| is the accurately computed one (no 1 − x cancellation).
    let q = student_t_cdf(-t.abs(), df);
    Some((2.0 * q).clamp(0.0, 1.0))
}

/// The paired-difference CI (for `compare`, later): (mean of b_i − a_i, 95% half-width
/// t_{0.975, n−1} · s_d/√n). Pairs replication i of `a` with replication i of `b` (same seed:
/// common random numbers). None for different lengths, fewer than 2 pairs or non-finite values.
pub fn paired_diff_ci95(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    if a.len() != b.len() || a.len() < 2 || a.iter().chain(b).any(|x| !x.is_finite()) {
        return None;
    }
    let mut w = Welford::new();
    for (x, y) in a.iter().zip(b) {
        w.push(y - x);
    }
    let n = a.len() as f64;
    Some((
        w.mean(),
        student_t_quantile(0.975, n - 1.0) * w.std_dev() / n.sqrt(),
    ))
}

fn welford_of(xs: &[f64]) -> Welford {
    let mut w = Welford::new();
    for &x in xs {
        w.push(x);
    }
    w
}

/// Coefficient of variation of a set of loads (population std / mean; 0 for empty or zero mean).
///
/// Uses |mean|, so the result is never negative.
pub fn coefficient_of_variation(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let w = welford_of(xs);
    if w.mean() == 0.0 {
        return 0.0;
    }
    let n = xs.len() as f64;
    let pop_var = w.variance() * (n - 1.0) / n;
    pop_var.sqrt() / w.mean().abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::assert_rel;

    #[test]
    fn mean_ci95_values() {
        assert_eq!(mean_ci95(&[]), (0.0, None));
        assert_eq!(mean_ci95(&[4.0]), (4.0, None));
        // mean 3, s = √2.5, half = t_{0.975,4}·√2.5/√5 = 2.7764451052·0.7071067812.
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m, 3.0);
        assert_rel(h.unwrap(), 1.963_243_161_477_557_7, 1e-12);
        // Identical replications: zero width.
        assert_eq!(mean_ci95(&[2.0, 2.0, 2.0]), (2.0, Some(0.0)));
    }

    #[test]
    fn welch_hand_computed() {
        // a = 1..5, b = 3..7: means 3 and 5, both variances 2.5, n = 5, so
        // se² = 0.5 + 0.5 = 1, t = −2, ν = 1²/(0.25/4 + 0.25/4) = 8.
        // For even ν, A&S 26.7.3: P(|T| < t) = sin θ (1 + cos²θ/2 + (1·3)/(2·4) cos⁴θ
        // + (1·3·5)/(2·4·6) cos⁶θ), tan θ = t/√ν = 1/√2 → sin²θ = 1/3, cos²θ = 2/3:
        // = (1/√3)(1 + 1/3 + 1/6 + 5/54) = 43/(27√3), so p = 1 − 43/(27√3) = 0.0805162379572627.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [3.0, 4.0, 5.0, 6.0, 7.0];
        let want = 1.0 - 43.0 / (27.0 * 3f64.sqrt());
        assert_rel(welch_p_value(&a, &b).unwrap(), want, 1e-13);
        assert_rel(welch_p_value(&b, &a).unwrap(), want, 1e-13);
        assert_rel(want, 0.080_516_237_957_262_67, 1e-14);
    }

    #[test]
    fn welch_edge_cases() {
        assert_eq!(welch_p_value(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(welch_p_value(&[1.0, f64::NAN], &[1.0, 2.0]), None);
        assert_eq!(welch_p_value(&[1.0, 1.0], &[1.0, 1.0]), Some(1.0));
        assert_eq!(welch_p_value(&[1.0, 1.0], &[2.0, 2.0]), Some(0.0));
        // Unequal variances and sizes: p in (0, 1) and identical samples give p = 1.
        let a = [10.0, 12.0, 11.5, 9.8, 10.7, 11.1];
        let b = [14.0, 9.0, 16.5];
        let p = welch_p_value(&a, &b).unwrap();
        assert!(p > 0.0 && p < 1.0);
        assert_eq!(welch_p_value(&a, &a), Some(1.0));
    }

    #[test]
    fn paired_diff_values() {
        // d = [1, 2, 2]: mean 5/3, s² = 1/3, half = t_{0.975,2}·√(1/3)/√3 = 4.30265273/3.
        let (m, h) = paired_diff_ci95(&[1.0, 2.0, 3.0], &[2.0, 4.0, 5.0]).unwrap();
        assert_rel(m, 5.0 / 3.0, 1e-15);
        assert_rel(h, 4.302_652_729_749_464 / 3.0, 1e-12);
        assert_eq!(paired_diff_ci95(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(paired_diff_ci95(&[1.0], &[1.0]), None);
    }

    #[test]
    fn coefficient_of_variation_values() {
        assert_eq!(coefficient_of_variation(&[]), 0.0);
        assert_eq!(coefficient_of_variation(&[0.0, 0.0]), 0.0);
        assert_eq!(coefficient_of_variation(&[3.0, 3.0, 3.0]), 0.0);
        assert_rel(coefficient_of_variation(&[0.0, 2.0]), 1.0, 1e-15);
        // Classic example: mean 5, population std 2.
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_rel(coefficient_of_variation(&xs), 0.4, 1e-15);
    }
}

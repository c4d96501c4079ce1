//! MSER-5 warm-up truncation.

/// MSER-5 truncation point (White 1997, "An effective truncation heuristic
/// for bias reduction in simulation output"; Spratt 1998 for the batch size
/// of 5): the series is grouped into means of 5 observations, Y_1..Y_k, and
/// the cut d (0 ≤ d ≤ k/2) minimising
/// Σ_{i>d} (Y_i − Ȳ_d)² / (k − d)² is chosen. Returns the number of raw
/// observations to delete (5·d). Too short a series (< 10 batches) gives 0.
pub fn mser5(series: &[f64]) -> usize {
    let batches: Vec<f64> = series
        .chunks_exact(5)
        .map(|c| c.iter().sum::<f64>() / 5.0)
        .collect();
    let k = batches.len();
    if k < 10 {
        return 0;
    }
    // Suffix sums make every candidate O(1): Σ(y−ȳ)² = Σy² − (Σy)²/m.
    let mut best = (f64::INFINITY, 0usize);
    let (mut sum, mut sq) = (0.0f64, 0.0f64);
    let mut stats = vec![(0.0, 0.0); k + 1];
    for i in (0..k).rev() {
        sum += batches[i];
        sq += batches[i] * batches[i];
        stats[i] = (sum, sq);
    }
    for (d, &(s, q)) in stats.iter().enumerate().take(k / 2 + 1) {
        let m = (k - d) as f64;
        let ss = (q - s * s / m).max(0.0);
        let v = ss / (m * m);
        if v < best.0 {
            best = (v, d);
        }
    }
    best.1 * 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_an_initial_transient_and_leaves_a_stationary_series() {
        // 100 observations: a decaying transient over the first 30, then
        // a stationary alternation around 1.0.
        let series: Vec<f64> = (0..200)
            .map(|i| {
                let noise = if i % 2 == 0 { 0.05 } else { -0.05 };
                let transient = if i < 30 { 5.0 * (30 - i) as f64 / 30.0 } else { 0.0 };
                1.0 + noise + transient
            })
            .collect();
        let cut = mser5(&series);
        assert!((25..=40).contains(&cut), "cut {cut}");
        let flat: Vec<f64> = (0..200).map(|i| if i % 2 == 0 { 1.05 } else { 0.95 }).collect();
        assert!(mser5(&flat) <= 10, "{}", mser5(&flat));
        assert_eq!(mser5(&[1.0; 20]), 0);
    }
}

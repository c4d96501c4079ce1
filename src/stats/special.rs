//! Special functions: log-gamma, log-beta, the regularised incomplete beta function and
//! erf/erfc, each from the textbook formula it names. The one implementation of each in
//! archsim: the distribution moments of the scenario (Weibull, truncated normal) use them too.

use crate::math;
use std::f64::consts::PI;

/// Tail of Stirling's series for ln Γ(y): Σ_{k≥1} B_{2k} / (2k(2k−1) y^{2k−1})
/// (Abramowitz & Stegun 6.1.40), up to k = 7. For y ≥ 15 the first omitted term is below 1e-19.
fn stirling_tail(y: f64) -> f64 {
    let r = 1.0 / y;
    let r2 = r * r;
    // Coefficients B_2/2, B_4/12, B_6/30, B_8/56, B_10/90, B_12/132, B_14/182.
    r * (1.0 / 12.0
        + r2 * (-1.0 / 360.0
            + r2 * (1.0 / 1260.0
                + r2 * (-1.0 / 1680.0
                    + r2 * (1.0 / 1188.0 + r2 * (-691.0 / 360_360.0 + r2 * (1.0 / 156.0)))))))
}

/// Threshold above which Stirling's series is used directly.
const STIRLING_MIN: f64 = 15.0;

/// ln Γ(x) for x > 0 (NaN for x < 0).
///
/// For x ≥ ½ the Lanczos approximation with g = 7 and the nine coefficients tabulated by
/// P. Godfrey (as given in the Wikipedia article "Lanczos approximation"): relative error of
/// Γ about 1e-15, so an absolute error of ln Γ about 1e-15. Below ½ the recurrence
/// Γ(x) = Γ(x+1)/x (A&S 6.1.15). Γ(½) = √π (A&S 6.1.8) is returned exactly: it enters every
/// t-distribution evaluation (b = ½).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const P: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x == 0.5 {
        return 0.5 * math::ln(PI);
    }
    if x < 0.5 {
        return ln_gamma(x + 1.0) - math::ln(x);
    }
    let x = x - 1.0;
    let mut a = P[0];
    for (i, p) in P.iter().enumerate().skip(1) {
        a += p / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * math::ln(2.0 * PI) + (x + 0.5) * math::ln(t) - t + math::ln(a)
}

/// ln Γ(x + s) − ln Γ(x) for x, s > 0, without subtracting two large logs.
///
/// For y ≥ 15, Stirling's series for both terms combines to
/// s·ln y + (y+s−½)·ln(1+s/y) − s + S(y+s) − S(y). Smaller x is shifted up with
/// Γ(y+s)/Γ(y) = [Γ(y+1+s)/Γ(y+1)]·y/(y+s), each step contributing −ln(1+s/y); every term is
/// small, so the result keeps full relative accuracy.
pub(super) fn ln_gamma_ratio(x: f64, s: f64) -> f64 {
    let mut y = x;
    let mut shift = 0.0;
    while y < STIRLING_MIN {
        shift += math::ln_1p(s / y);
        y += 1.0;
    }
    s * math::ln(y) + (y + s - 0.5) * math::ln_1p(s / y) - s + stirling_tail(y + s) - stirling_tail(y) - shift
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a+b), via the ratio above for the larger argument.
pub(super) fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, big) = if a <= b { (a, b) } else { (b, a) };
    ln_gamma(small) - ln_gamma_ratio(big, small)
}

/// Iteration cap of the continued fractions: a guard only, they need at most a few dozen
/// iterations in the regions where they are used (ν ≤ `LARGE_DF`).
const CF_MAX_ITER: usize = 100_000;
/// Smallest magnitude allowed in Lentz's method (avoids division by zero).
const CF_TINY: f64 = 1e-300;

/// Continued fraction of the regularised incomplete beta function,
/// I_x(a,b) = x^a (1−x)^b / (a B(a,b)) · 1/(1+ d₁/(1+ d₂/(1+ …))) with
/// d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)),  d_{2m} = m(b−m)x / ((a+2m−1)(a+2m))
/// (Numerical Recipes, 3rd ed., §6.4, eq. 6.4.5), evaluated with the modified Lentz method
/// (Thompson & Barnett 1986; NR §5.2). Converges quickly for x < (a+1)/(a+b+2).
fn beta_cf(a: f64, b: f64, x: f64, y: f64) -> f64 {
    let guard = |v: f64| if v.abs() < CF_TINY { CF_TINY } else { v };
    // Term d₁ (m = 0 of the odd formula) is folded into the start. 1 − (a+b)x/(a+1) is
    // rewritten as y + (1−b)x/(a+1), y = 1 − x, which does not cancel when a is large and x
    // close to 1.
    let mut c = 1.0;
    let mut d = 1.0 / guard(y + (1.0 - b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=CF_MAX_ITER {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    h
}

/// I_x(a, b) by the continued fraction, given ln x and ln(1−x) computed accurately by the
/// caller (so that x close to 1 does not lose the information in 1−x).
pub(super) fn inc_beta_direct(a: f64, b: f64, x: f64, ln_x: f64, ln_1mx: f64) -> f64 {
    let front = math::exp(a * ln_x + b * ln_1mx - ln_beta(a, b)) / a;
    front * beta_cf(a, b, x, math::exp(ln_1mx))
}

/// The error function erf x = (2/√π) ∫₀ˣ e^{−t²} dt, to a few ε relative: by its power
/// series for |x| ≤ 1.5 and 1 − erfc x beyond. Odd; ±1 at ±∞, NaN for NaN.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x.abs() <= ERF_SWITCH {
        erf_series(x)
    } else if x > 0.0 {
        1.0 - erfc_cf(x)
    } else {
        erfc_cf(-x) - 1.0
    }
}

/// The complementary error function erfc x = 1 − erf x, with full relative accuracy for
/// large x (down to the smallest double, x ≈ 27): by the continued fraction for x > 1.5, as
/// 1 − erf x for |x| ≤ 1.5 and 2 − erfc(−x) below. 0 at +∞, 2 at −∞, NaN for NaN.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x.abs() <= ERF_SWITCH {
        1.0 - erf_series(x)
    } else if x > 0.0 {
        erfc_cf(x)
    } else {
        2.0 - erfc_cf(-x)
    }
}

/// erf(x) by its power series erf x = (2/√π) e^{−x²} Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·…·(2n+1))
/// (A&S 7.1.6). All terms are positive, so the relative error is a few ε; used for |x| ≤ 1.5.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    loop {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
        if term.abs() <= sum.abs() * f64::EPSILON * 0.25 {
            break;
        }
    }
    2.0 / PI.sqrt() * math::exp(-x2) * sum
}

/// erfc(x) for x ≥ 1: erfc x = Γ(½, x²)/√π with the continued fraction of the upper
/// incomplete gamma function, Γ(a,z) = e^{−z} z^a · 1/(z+1−a− 1(1−a)/(z+3−a− 2(2−a)/(z+5−a− …)))
/// (NR 3rd ed. §6.2, eq. 6.2.7; A&S 6.5.31), evaluated with modified Lentz. Relative error a few ε.
fn erfc_cf(x: f64) -> f64 {
    // erfc 40 < 1e-697 is 0 in doubles (from x ≈ 27.3 on), and x² overflows for huge x.
    if x > 40.0 {
        return 0.0;
    }
    let z = x * x;
    let a = 0.5;
    let mut b = z + 1.0 - a;
    let mut c = 1.0 / CF_TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..=CF_MAX_ITER {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < CF_TINY {
            d = CF_TINY;
        }
        c = b + an / c;
        if c.abs() < CF_TINY {
            c = CF_TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    math::exp(-z) * x * h / PI.sqrt()
}

/// Switch point between the erf series and the erfc continued fraction.
const ERF_SWITCH: f64 = 1.5;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::assert_rel;

    // Reference values: exact ones where Γ has a closed form (Γ(n) = (n−1)!, Γ(½) = √π,
    // A&S 6.1.6, 6.1.8); the others computed with mpmath at 30 digits and rounded to the
    // nearest double, agreeing with Abramowitz & Stegun where it tabulates them (Γ(1/3) and
    // Γ(1/4) in §6.1, erf in table 7.1).

    #[test]
    fn ln_gamma_exact_values() {
        let sqrt_pi_ln = 0.5 * math::ln(PI);
        assert_eq!(ln_gamma(0.5), sqrt_pi_ln);
        assert!(ln_gamma(1.0).abs() < 1e-15);
        assert_eq!(ln_gamma(2.0), 0.0);
        // Γ(3/2) = √π/2, Γ(5/2) = 3√π/4.
        assert_rel(ln_gamma(1.5), sqrt_pi_ln - math::ln(2f64), 1e-14);
        assert_rel(ln_gamma(2.5), sqrt_pi_ln + math::ln(0.75f64), 1e-14);
        // Γ(n) = (n−1)!.
        let mut factorial = 1.0f64;
        for n in 3..=25u32 {
            factorial *= f64::from(n - 1);
            assert_rel(ln_gamma(f64::from(n)), math::ln(factorial), 1e-14);
        }
    }

    #[test]
    fn ln_gamma_reference_values() {
        let table = [
            (1.0 / 3.0, math::ln(2.678_938_534_707_747_5f64)),
            (0.25, math::ln(3.625_609_908_221_908f64)),
            (0.1, 2.252_712_651_734_206),
            (1e-3, 6.907_178_885_383_853),
            (1.2, -0.085_374_090_003_315_85),
            (10.0, 12.801_827_480_081_469),
            (100.0, 359.134_205_369_575_4),
            (171.5, 709.143_163_030_928_2),
            (1e6, 12_815_504.569_147_611),
        ];
        for (x, want) in table {
            assert_rel(ln_gamma(x), want, 1e-14);
        }
        // Below ½ by the recurrence, above by Lanczos: continuous across the switch.
        assert_rel(ln_gamma(0.5 - 1e-12), ln_gamma(0.5 + 1e-12), 1e-11);
        assert_eq!(ln_gamma(0.0), f64::INFINITY);
        assert!(ln_gamma(-0.5).is_nan());
    }

    #[test]
    fn erf_and_erfc_reference_values() {
        let table = [
            (0.1, 0.112_462_916_018_284_9, 0.887_537_083_981_715_2),
            (0.5, 0.520_499_877_813_046_5, 0.479_500_122_186_953_5),
            (1.0, 0.842_700_792_949_714_9, 0.157_299_207_050_285_13),
            (1.5, 0.966_105_146_475_310_8, 0.033_894_853_524_689_274),
            (2.0, 0.995_322_265_018_952_7, 0.004_677_734_981_047_266),
            (3.0, 0.999_977_909_503_001_4, 2.209_049_699_858_544e-5),
        ];
        for (x, erf_x, erfc_x) in table {
            assert_rel(erf(x), erf_x, 1e-15);
            assert_eq!(erf(-x), -erf(x));
            assert_rel(erfc(x), erfc_x, 1e-14);
            assert_rel(erfc(-x), 1.0 + erf_x, 1e-15);
        }
        // The far tail keeps its relative accuracy.
        assert_rel(erfc(5.0), 1.537_459_794_428_035e-12, 1e-14);
        assert_rel(erfc(10.0), 2.088_487_583_762_545e-45, 1e-14);
        assert_rel(erfc(26.0), 5.663_192_408_856_143e-296, 1e-13);
        assert_eq!((erf(0.0), erfc(0.0)), (0.0, 1.0));
        assert_eq!((erf(f64::INFINITY), erf(f64::NEG_INFINITY)), (1.0, -1.0));
        assert_eq!((erfc(f64::INFINITY), erfc(f64::NEG_INFINITY)), (0.0, 2.0));
        assert_eq!(erfc(1e200), 0.0);
        assert!(erf(f64::NAN).is_nan() && erfc(f64::NAN).is_nan());
    }

    #[test]
    fn ln_gamma_values() {
        assert!((ln_gamma(0.5) - 0.5 * math::ln(PI)).abs() < 1e-14);
        assert!((ln_gamma(5.0) - math::ln(24f64)).abs() < 1e-14);
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(20.0) - math::ln(121_645_100_408_832_000f64)).abs() < 1e-13);
        // Γ(x+½)/Γ(x) → √x for large x.
        assert!(
            (ln_gamma_ratio(1e6, 0.5) - 0.5 * math::ln(1e6f64) - math::ln(1.0 - 1.0 / 8e6f64)).abs() < 1e-13
        );
    }
}

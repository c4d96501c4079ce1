//! The elementary functions (logarithms, exponentials, powers, the
//! trigonometric ones), computed by one implementation on every platform:
//! the `libm` crate, a pure-Rust port of musl's C library.
//!
//! `f64::ln` and its kin call the system's C library (glibc on Linux,
//! another elsewhere; the `libm` code in the browser's WebAssembly), and
//! those may round the last bit differently: glibc's `log10` and libm's
//! differ on some inputs, which changed `availability.nines` in the 17th
//! digit between the command line and the browser. Every number archsim
//! reports goes through these functions instead, so a scenario and seed
//! give the same `report.json` on every platform. (`sqrt`, `mul_add` and
//! the arithmetic operators are correctly rounded by IEEE 754 everywhere
//! and need no such care; `powi` is repeated multiplication on every
//! target.) Clippy's `disallowed-methods` (clippy.toml) keeps the system's
//! versions out of the library.

/// Natural logarithm.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `ln(1 + x)`, accurate for small `x`.
#[inline]
pub fn ln_1p(x: f64) -> f64 {
    libm::log1p(x)
}

/// Base-10 logarithm.
#[inline]
pub fn log10(x: f64) -> f64 {
    libm::log10(x)
}

/// Base-2 logarithm.
#[inline]
pub fn log2(x: f64) -> f64 {
    libm::log2(x)
}

/// `e^x`.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// `e^x − 1`, accurate for small `x`.
#[inline]
pub fn exp_m1(x: f64) -> f64 {
    libm::expm1(x)
}

/// `x^y`.
#[inline]
pub fn powf(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// Sine.
#[inline]
pub fn sin(x: f64) -> f64 {
    libm::sin(x)
}

/// Cosine.
#[inline]
pub fn cos(x: f64) -> f64 {
    libm::cos(x)
}

/// Tangent.
#[inline]
pub fn tan(x: f64) -> f64 {
    libm::tan(x)
}

/// Arctangent.
#[inline]
pub fn atan(x: f64) -> f64 {
    libm::atan(x)
}

/// Four-quadrant arctangent of `y / x`.
#[inline]
pub fn atan2(y: f64, x: f64) -> f64 {
    libm::atan2(y, x)
}

/// Hyperbolic tangent.
#[inline]
pub fn tanh(x: f64) -> f64 {
    libm::tanh(x)
}

/// Cube root.
#[inline]
pub fn cbrt(x: f64) -> f64 {
    libm::cbrt(x)
}

/// `sqrt(x² + y²)` without undue overflow.
#[inline]
pub fn hypot(x: f64, y: f64) -> f64 {
    libm::hypot(x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agree_with_known_values() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(log10(1000.0), 3.0);
        assert_eq!(powf(2.0, 10.0), 1024.0);
        assert!((ln(std::f64::consts::E) - 1.0).abs() < 1e-15);
        // The input that set the command line and the browser apart:
        // -log10(1 - a) for an availability a of the load-balancing lesson.
        let x = 0.8628668322714221_f64;
        assert_eq!(log10(powf(10.0, x)), log10(powf(10.0, x)));
    }
}

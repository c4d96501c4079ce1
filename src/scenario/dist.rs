//! Distributions for every duration-valued scenario field that varies.
//!
//! [`DistSpec`] is what the scenario file says (`{ exponential: 10ms }`,
//! `{ uniform: [1ms, 3ms] }`, a bare `5ms`, ...); [`Sampler`] is the compiled
//! form the engine draws from. All randomness comes from the RNG the caller
//! passes in, so a run is reproducible from its seed. The draw algorithms are
//! rand_distr's, so a change of rand_distr version can change the numbers a
//! seed produces; the golden test in this file pins them.

use crate::math;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use rand::distr::Uniform;
use rand_distr::{Gamma, LogNormal, Normal, Pareto, Weibull};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::limits::{MAX_DATA_FILE_BYTES, MAX_DATA_VALUES, read_text_capped};
use super::units::Duration;
pub use crate::engine::sampler::Sampler;
use crate::engine::sampler::Shape;
use crate::stats::{ln_gamma, normal_cdf};

/// The distribution names a scenario may use, in the order error messages
/// list them.
const NAMES: [&str; 9] = [
    "exponential",
    "constant",
    "uniform",
    "normal",
    "lognormal",
    "erlang",
    "pareto",
    "weibull",
    "empirical",
];

/// A distribution of durations as written in a scenario.
///
/// YAML forms: `{ exponential: MEAN }`, `{ constant: D }` or just `D`,
/// `{ uniform: [MIN, MAX] }`, `{ normal: { mean, std } }`,
/// `{ lognormal: { mean, cv } }`, `{ erlang: { k, mean } }`,
/// `{ pareto: { min, alpha } }`, `{ weibull: { scale, shape } }`,
/// `{ empirical: FILE }`. Durations use the syntax of
/// [`units`](super::units). Deserializing checks shape only; call
/// [`DistSpec::validate`] (or [`sampler`], which calls it) for the
/// parameter ranges.
#[derive(Clone, Debug, PartialEq)]
pub enum DistSpec {
    /// Exponential with the given mean (memoryless; SCV 1).
    Exponential {
        /// Mean; must be > 0.
        mean: Duration,
    },
    /// Always the same duration.
    Constant(Duration),
    /// Uniform on `[min, max]`.
    Uniform {
        /// Lower bound.
        min: Duration,
        /// Upper bound; must be >= `min`.
        max: Duration,
    },
    /// Normal with the given parameters, truncated at 0 (negative draws are
    /// redrawn), so the actual mean is above `mean` when `std` is not small
    /// next to it. [`DistSpec::mean_ns`] reports the truncated mean.
    Normal {
        /// Mean of the normal before truncation.
        mean: Duration,
        /// Standard deviation of the normal before truncation.
        std: Duration,
    },
    /// Log-normal given by its mean and coefficient of variation (std/mean).
    Lognormal {
        /// Mean; must be > 0.
        mean: Duration,
        /// Coefficient of variation; finite and >= 0.
        cv: f64,
    },
    /// Erlang: the sum of `k` exponentials, with total mean `mean` (SCV 1/k).
    Erlang {
        /// Number of phases; >= 1.
        k: u32,
        /// Mean of the sum; must be > 0.
        mean: Duration,
    },
    /// Pareto (type I): `min` × U^(-1/alpha). The mean is infinite for
    /// alpha <= 1 and the variance for alpha <= 2.
    Pareto {
        /// Smallest value (scale); must be > 0.
        min: Duration,
        /// Tail index (shape); finite and > 0.
        alpha: f64,
    },
    /// Weibull with the given scale and shape (shape 1 is exponential).
    Weibull {
        /// Scale; must be > 0.
        scale: Duration,
        /// Shape; finite and > 0.
        shape: f64,
    },
    /// Uniform choice among the durations listed in a file, one per line
    /// (blank lines and `#` comments ignored). A relative path is resolved
    /// against the scenario file's directory.
    Empirical(PathBuf),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalParams {
    mean: Duration,
    std: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LognormalParams {
    mean: Duration,
    cv: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErlangParams {
    k: u32,
    mean: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParetoParams {
    min: Duration,
    alpha: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeibullParams {
    scale: Duration,
    shape: f64,
}

fn must_be_positive(dist: &str, field: &str, value: Duration) -> Result<(), String> {
    if value.is_zero() {
        Err(format!(
            "{dist}: `{field}` must be greater than 0s (for no delay use `constant: 0s`)"
        ))
    } else {
        Ok(())
    }
}

fn must_be_finite_positive(dist: &str, field: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{dist}: `{field}` must be a finite number greater than 0, found {value}"
        ))
    }
}

impl DistSpec {
    /// The distribution's name as written in a scenario (`"exponential"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            DistSpec::Exponential { .. } => "exponential",
            DistSpec::Constant(_) => "constant",
            DistSpec::Uniform { .. } => "uniform",
            DistSpec::Normal { .. } => "normal",
            DistSpec::Lognormal { .. } => "lognormal",
            DistSpec::Erlang { .. } => "erlang",
            DistSpec::Pareto { .. } => "pareto",
            DistSpec::Weibull { .. } => "weibull",
            DistSpec::Empirical(_) => "empirical",
        }
    }

    /// Checks the parameter ranges; the message names the distribution and
    /// the offending field. Does not read empirical files.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            DistSpec::Exponential { mean } => must_be_positive("exponential", "mean", *mean),
            DistSpec::Constant(_) => Ok(()),
            DistSpec::Uniform { min, max } => {
                if min > max {
                    Err(format!(
                        "uniform: `min` ({min}) must not be greater than `max` ({max})"
                    ))
                } else {
                    Ok(())
                }
            }
            // Both fields are non-negative durations, so the mean is at or
            // above the truncation point and at least half of all normal
            // draws are accepted: no parameters make rejection sampling slow.
            DistSpec::Normal { .. } => Ok(()),
            DistSpec::Lognormal { mean, cv } => {
                must_be_positive("lognormal", "mean", *mean)?;
                if cv.is_finite() && *cv >= 0.0 {
                    Ok(())
                } else {
                    Err(format!(
                        "lognormal: `cv` must be a finite number >= 0, found {cv}"
                    ))
                }
            }
            DistSpec::Erlang { k, mean } => {
                if *k == 0 {
                    return Err("erlang: `k` must be at least 1, found 0".to_string());
                }
                must_be_positive("erlang", "mean", *mean)
            }
            DistSpec::Pareto { min, alpha } => {
                must_be_positive("pareto", "min", *min)?;
                must_be_finite_positive("pareto", "alpha", *alpha)
            }
            DistSpec::Weibull { scale, shape } => {
                must_be_positive("weibull", "scale", *scale)?;
                must_be_finite_positive("weibull", "shape", *shape)
            }
            DistSpec::Empirical(path) => {
                if path.as_os_str().is_empty() {
                    Err("empirical: the file name is empty".to_string())
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The mean in nanoseconds, from the parameters alone: `None` for
    /// `empirical` (the file has to be loaded; use [`Sampler::mean_ns`]),
    /// infinite for a Pareto with alpha <= 1. Assumes valid parameters.
    pub fn mean_ns(&self) -> Option<f64> {
        self.moments().map(|m| m.mean)
    }

    /// Mean and squared coefficient of variation of the distribution the
    /// sampler draws from, for every form but `empirical`.
    fn moments(&self) -> Option<Moments> {
        let ns = |d: Duration| d.as_nanos() as f64;
        Some(match *self {
            DistSpec::Exponential { mean } => Moments::new(ns(mean), 1.0),
            DistSpec::Constant(d) => Moments::new(ns(d), 0.0),
            DistSpec::Uniform { min, max } => {
                let (a, b) = (ns(min), ns(max));
                // Var = (b-a)²/12 about a mean of (a+b)/2.
                Moments::from_var((a + b) / 2.0, (b - a) * (b - a) / 12.0)
            }
            DistSpec::Normal { mean, std } => {
                let (m, v) = truncated_normal_moments(ns(mean), ns(std));
                Moments::from_var(m, v)
            }
            DistSpec::Lognormal { mean, cv } => Moments::new(ns(mean), cv * cv),
            DistSpec::Erlang { k, mean } => Moments::new(ns(mean), 1.0 / f64::from(k)),
            DistSpec::Pareto { min, alpha } => {
                // Pareto type I: E = α·xm/(α−1) for α > 1;
                // Var/E² = 1/(α(α−2)) for α > 2.
                let mean = if alpha > 1.0 {
                    alpha * ns(min) / (alpha - 1.0)
                } else {
                    f64::INFINITY
                };
                let scv = if alpha > 2.0 {
                    1.0 / (alpha * (alpha - 2.0))
                } else {
                    f64::INFINITY
                };
                Moments::new(mean, scv)
            }
            DistSpec::Weibull { scale, shape } => {
                // E = λΓ(1+1/k), E[X²] = λ²Γ(1+2/k), so
                // SCV = Γ(1+2/k)/Γ(1+1/k)² − 1, evaluated in logs to avoid
                // overflow for small shapes.
                let g1 = ln_gamma(1.0 + 1.0 / shape);
                let g2 = ln_gamma(1.0 + 2.0 / shape);
                Moments::new(ns(scale) * math::exp(g1), math::exp_m1(g2 - 2.0 * g1))
            }
            DistSpec::Empirical(_) => return None,
        })
    }
}

/// First two moments in the form callers want them.
#[derive(Clone, Copy, Debug)]
struct Moments {
    mean: f64,
    scv: f64,
}

impl Moments {
    fn new(mean: f64, scv: f64) -> Self {
        Moments { mean, scv }
    }

    /// From a variance; a zero mean can only come with zero variance for a
    /// non-negative variable, and its SCV is taken as 0 (a constant).
    fn from_var(mean: f64, var: f64) -> Self {
        let scv = if mean > 0.0 { var / (mean * mean) } else { 0.0 };
        Moments { mean, scv }
    }
}

/// Mean and variance of N(mu, sigma²) conditioned on being >= 0, for
/// mu >= 0. Formulas for the lower-truncated normal (Johnson, Kotz &
/// Balakrishnan, *Continuous Univariate Distributions* vol. 1, §10.1):
/// with α = −mu/sigma and λ = φ(α)/(1 − Φ(α)),
/// E = mu + sigma·λ and Var = sigma²·(1 + α·λ − λ²).
fn truncated_normal_moments(mu: f64, sigma: f64) -> (f64, f64) {
    if sigma == 0.0 {
        return (mu, 0.0);
    }
    let alpha = -mu / sigma;
    // 1 − Φ(α) = Φ(−α) with −α >= 0, so it is at least 1/2: no cancellation.
    let phi = math::exp(-0.5 * alpha * alpha) / (2.0 * std::f64::consts::PI).sqrt();
    let lambda = phi / normal_cdf(-alpha);
    (
        mu + sigma * lambda,
        sigma * sigma * (1.0 + alpha * lambda - lambda * lambda),
    )
}

impl Serialize for DistSpec {
    /// Writes the map form, `{ name: params }`; a constant is written as
    /// `{ constant: D }` so the output says what it is.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        let name = self.name();
        match *self {
            DistSpec::Exponential { mean } => map.serialize_entry(name, &mean)?,
            DistSpec::Constant(d) => map.serialize_entry(name, &d)?,
            DistSpec::Uniform { min, max } => map.serialize_entry(name, &[min, max])?,
            DistSpec::Normal { mean, std } => map.serialize_entry(name, &NormalParams { mean, std })?,
            DistSpec::Lognormal { mean, cv } => map.serialize_entry(name, &LognormalParams { mean, cv })?,
            DistSpec::Erlang { k, mean } => map.serialize_entry(name, &ErlangParams { k, mean })?,
            DistSpec::Pareto { min, alpha } => map.serialize_entry(name, &ParetoParams { min, alpha })?,
            DistSpec::Weibull { scale, shape } => {
                map.serialize_entry(name, &WeibullParams { scale, shape })?
            }
            DistSpec::Empirical(ref path) => map.serialize_entry(name, path)?,
        }
        map.end()
    }
}

impl DistSpec {
    /// The distribution named `name` whose parameters are the current map
    /// value of `map`: for types that accept a distribution or other keys in
    /// one map (e.g. a per-operation service time).
    pub fn from_entry<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<DistSpec, A::Error> {
        Ok(match name {
            "exponential" => DistSpec::Exponential {
                mean: map.next_value()?,
            },
            "constant" => DistSpec::Constant(map.next_value()?),
            "uniform" => {
                let [min, max]: [Duration; 2] = map.next_value()?;
                DistSpec::Uniform { min, max }
            }
            "normal" => {
                let NormalParams { mean, std } = map.next_value()?;
                DistSpec::Normal { mean, std }
            }
            "lognormal" => {
                let LognormalParams { mean, cv } = map.next_value()?;
                DistSpec::Lognormal { mean, cv }
            }
            "erlang" => {
                let ErlangParams { k, mean } = map.next_value()?;
                DistSpec::Erlang { k, mean }
            }
            "pareto" => {
                let ParetoParams { min, alpha } = map.next_value()?;
                DistSpec::Pareto { min, alpha }
            }
            "weibull" => {
                let WeibullParams { scale, shape } = map.next_value()?;
                DistSpec::Weibull { scale, shape }
            }
            "empirical" => DistSpec::Empirical(map.next_value()?),
            other => {
                return Err(de::Error::custom(format!(
                    "unknown distribution `{other}`, expected one of {}",
                    NAMES.join(", ")
                )));
            }
        })
    }
}

struct DistSpecVisitor;

impl<'de> Visitor<'de> for DistSpecVisitor {
    type Value = DistSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a distribution: a duration such as 5ms (constant), or a map with one key \
             such as {exponential: 10ms}",
        )
    }

    // Scalars are constants; they go through Duration's own Deserialize so
    // the accepted forms and messages are exactly those of a duration field.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<DistSpec, E> {
        v.parse().map(DistSpec::Constant).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DistSpec, E> {
        Duration::deserialize(de::value::I64Deserializer::<E>::new(v)).map(DistSpec::Constant)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DistSpec, E> {
        Duration::deserialize(de::value::U64Deserializer::<E>::new(v)).map(DistSpec::Constant)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<DistSpec, E> {
        Duration::deserialize(de::value::F64Deserializer::<E>::new(v)).map(DistSpec::Constant)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DistSpec, A::Error> {
        let Some(name) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "a distribution map needs exactly one key, one of {}; found an empty map",
                NAMES.join(", ")
            )));
        };
        let spec = DistSpec::from_entry(&name, &mut map)?;
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a distribution map has exactly one key, found `{name}` and `{extra}`"
            )));
        }
        Ok(spec)
    }
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DistSpecVisitor)
    }
}

impl JsonSchema for DistSpec {
    fn schema_name() -> Cow<'static, str> {
        "DistSpec".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::DistSpec").into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let d = generator.subschema_for::<Duration>();
        // One single-key object per form; the value schemas mirror the
        // helper structs above (all fields required, no others allowed).
        let one = |name: &str, value: serde_json::Value| {
            serde_json::json!({
                "type": "object",
                "properties": { name: value },
                "required": [name],
                "additionalProperties": false
            })
        };
        let params = |fields: serde_json::Value, required: [&str; 2]| {
            serde_json::json!({
                "type": "object",
                "properties": fields,
                "required": required,
                "additionalProperties": false
            })
        };
        let positive = serde_json::json!({ "type": "number", "exclusiveMinimum": 0 });
        json_schema!({
            "description": "A distribution of durations: a bare duration (constant) or a map \
                            with exactly one key naming the distribution.",
            "oneOf": [
                d.clone(),
                one("exponential", d.clone().into()),
                one("constant", d.clone().into()),
                one("uniform", serde_json::json!({
                    "type": "array", "items": d.clone(), "minItems": 2, "maxItems": 2
                })),
                one("normal", params(serde_json::json!({ "mean": d.clone(), "std": d.clone() }),
                    ["mean", "std"])),
                one("lognormal", params(serde_json::json!({
                    "mean": d.clone(), "cv": { "type": "number", "minimum": 0 }
                }), ["mean", "cv"])),
                one("erlang", params(serde_json::json!({
                    "k": { "type": "integer", "minimum": 1 }, "mean": d.clone()
                }), ["k", "mean"])),
                one("pareto", params(serde_json::json!({ "min": d.clone(), "alpha": positive }),
                    ["min", "alpha"])),
                one("weibull", params(serde_json::json!({ "scale": d.clone(), "shape": positive }),
                    ["scale", "shape"])),
                one("empirical", serde_json::json!({
                    "type": "string",
                    "description": "File with one duration per line; blank lines and # \
                                    comments are ignored. Relative to the scenario file."
                })),
            ]
        })
    }
}

/// Compiles `spec` after [`validating`](DistSpec::validate) it. An
/// `empirical` file is read now, relative to `base_dir` unless absolute;
/// a bad line is reported as `file:line: message`.
pub fn sampler(spec: &DistSpec, base_dir: &Path) -> Result<Sampler, String> {
    spec.validate()?;
    let ns = |d: Duration| d.as_nanos() as f64;
    let err = |e: &dyn fmt::Display| format!("{}: {e}", spec.name());
    let kind = match *spec {
        DistSpec::Constant(d) => Shape::Constant(d.as_nanos()),
        DistSpec::Exponential { mean } => Shape::Exponential(ns(mean)),
        DistSpec::Uniform { min, max } if min == max => Shape::Constant(min.as_nanos()),
        DistSpec::Uniform { min, max } => {
            Shape::Uniform(Uniform::new_inclusive(ns(min), ns(max)).map_err(|e| err(&e))?)
        }
        DistSpec::Normal { mean, std } if std.is_zero() => Shape::Constant(mean.as_nanos()),
        DistSpec::Normal { mean, std } => {
            Shape::TruncatedNormal(Normal::new(ns(mean), ns(std)).map_err(|e| err(&e))?)
        }
        DistSpec::Lognormal { mean, cv: 0.0 } => Shape::Constant(mean.as_nanos()),
        DistSpec::Lognormal { mean, cv } => {
            Shape::LogNormal(LogNormal::from_mean_cv(ns(mean), cv).map_err(|e| err(&e))?)
        }
        DistSpec::Erlang { k, mean } => {
            let k = f64::from(k);
            Shape::Gamma(Gamma::new(k, ns(mean) / k).map_err(|e| err(&e))?)
        }
        DistSpec::Pareto { min, alpha } => Shape::Pareto(Pareto::new(ns(min), alpha).map_err(|e| err(&e))?),
        DistSpec::Weibull { scale, shape } => {
            Shape::Weibull(Weibull::new(ns(scale), shape).map_err(|e| err(&e))?)
        }
        DistSpec::Empirical(ref file) => {
            let path = base_dir.join(file);
            return Sampler::empirical(load_empirical(&path)?)
                .map_err(|e| format!("{}: {e}", path.display()));
        }
    };
    let m = spec.moments().expect("only empirical lacks closed-form moments");
    Ok(Sampler::from_shape(kind, m.mean, m.scv))
}

/// Reads an empirical file: one duration per line, `#` starts a comment,
/// blank lines are skipped. Errors name the file and the 1-based line. At
/// most [`MAX_DATA_FILE_BYTES`] are read and [`MAX_DATA_VALUES`] kept.
fn load_empirical(path: &Path) -> Result<Vec<u64>, String> {
    let text = read_text_capped(path, MAX_DATA_FILE_BYTES, "empirical file")
        .map_err(|e| format!("empirical: {e}"))?;
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let content = line.split_once('#').map_or(line, |(before, _)| before).trim();
        if content.is_empty() {
            continue;
        }
        if values.len() as u64 >= MAX_DATA_VALUES {
            return Err(format!(
                "empirical: {}: more than {MAX_DATA_VALUES} durations, the most archsim keeps",
                path.display()
            ));
        }
        let d: Duration = content
            .parse()
            .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        values.push(d.as_nanos());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;
    use serde_json::json;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn sampler(spec: &DistSpec) -> Sampler {
        super::sampler(spec, Path::new(".")).unwrap_or_else(|e| panic!("{spec:?}: {e}"))
    }

    /// One of every form, with parameters that the moment test can check.
    fn every_form() -> Vec<DistSpec> {
        vec![
            DistSpec::Exponential { mean: ms(5) },
            DistSpec::Constant(ms(7)),
            DistSpec::Uniform {
                min: ms(1),
                max: ms(3),
            },
            DistSpec::Normal {
                mean: ms(10),
                std: ms(2),
            },
            DistSpec::Lognormal {
                mean: ms(10),
                cv: 0.5,
            },
            DistSpec::Erlang { k: 3, mean: ms(6) },
            DistSpec::Pareto {
                min: ms(1),
                alpha: 3.0,
            },
            DistSpec::Weibull {
                scale: ms(10),
                shape: 2.0,
            },
        ]
    }

    /// Sample mean and population SCV of `n` draws.
    fn sample_moments(s: &Sampler, n: usize, seed: u64) -> (f64, f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut sum, mut sum2) = (0.0, 0.0);
        for _ in 0..n {
            let x = s.sample_f64(&mut rng);
            sum += x;
            sum2 += x * x;
        }
        let mean = sum / n as f64;
        let var = sum2 / n as f64 - mean * mean;
        (mean, var / (mean * mean))
    }

    #[test]
    fn sample_moments_match_the_formulas() {
        const N: usize = 200_000;
        let mut specs: Vec<(DistSpec, f64)> = every_form()
            .into_iter()
            .map(|s| {
                // The sample SCV of a Pareto with alpha 3 has infinite
                // variance itself (no 4th moment), so only its mean is tight.
                let tol = if matches!(s, DistSpec::Pareto { .. }) {
                    0.5
                } else {
                    0.03
                };
                (s, tol)
            })
            .collect();
        specs.extend([
            // Heavily truncated: the formula's correction is large here.
            (
                DistSpec::Normal {
                    mean: ms(1),
                    std: ms(2),
                },
                0.03,
            ),
            (
                DistSpec::Normal {
                    mean: Duration::ZERO,
                    std: ms(1),
                },
                0.03,
            ),
            (
                DistSpec::Lognormal {
                    mean: ms(10),
                    cv: 1.5,
                },
                0.2,
            ),
            (DistSpec::Erlang { k: 1, mean: ms(2) }, 0.03),
            (
                DistSpec::Pareto {
                    min: ms(1),
                    alpha: 5.0,
                },
                0.1,
            ),
            (
                DistSpec::Weibull {
                    scale: ms(10),
                    shape: 0.7,
                },
                0.05,
            ),
            (
                DistSpec::Uniform {
                    min: Duration::ZERO,
                    max: ms(1),
                },
                0.03,
            ),
        ]);
        for (spec, scv_tol) in specs {
            let s = sampler(&spec);
            assert_eq!(spec.mean_ns(), Some(s.mean_ns()));
            let (mean, scv) = sample_moments(&s, N, 1);
            let se = s.mean_ns() * (s.scv() / N as f64).sqrt();
            assert!(
                (mean - s.mean_ns()).abs() <= 4.0 * se,
                "{spec:?}: sample mean {mean} vs {} (se {se})",
                s.mean_ns()
            );
            assert!(
                (scv - s.scv()).abs() <= scv_tol * s.scv() + 1e-9,
                "{spec:?}: sample scv {scv} vs {}",
                s.scv()
            );
        }
    }

    #[test]
    fn closed_form_moments() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        // Half-normal: mean σ√(2/π), SCV π/2 − 1.
        let s = sampler(&DistSpec::Normal {
            mean: Duration::ZERO,
            std: ms(1),
        });
        assert!(close(s.mean_ns(), 1e6 * (2.0 / std::f64::consts::PI).sqrt()));
        assert!(close(s.scv(), std::f64::consts::FRAC_PI_2 - 1.0));
        // A normal far from 0 is hardly truncated.
        let s = sampler(&DistSpec::Normal {
            mean: ms(100),
            std: ms(1),
        });
        assert!(close(s.mean_ns(), 1e8));
        assert!(close(s.scv(), 1e-4));
        // Weibull shape 1 is exponential; shape 2 has mean λ√π/2.
        let s = sampler(&DistSpec::Weibull {
            scale: ms(4),
            shape: 1.0,
        });
        assert!(close(s.mean_ns(), 4e6) && close(s.scv(), 1.0), "{s:?}");
        let s = sampler(&DistSpec::Weibull {
            scale: ms(4),
            shape: 2.0,
        });
        assert!(close(s.mean_ns(), 4e6 * std::f64::consts::PI.sqrt() / 2.0));
        assert!(close(s.scv(), 4.0 / std::f64::consts::PI - 1.0));
        // Γ(6) = 120 through the Weibull mean with shape 1/5.
        let s = sampler(&DistSpec::Weibull {
            scale: Duration(1),
            shape: 0.2,
        });
        assert!(close(s.mean_ns(), 120.0), "{}", s.mean_ns());
        // Pareto's infinite moments.
        let p = |alpha| sampler(&DistSpec::Pareto { min: ms(1), alpha });
        assert_eq!(p(1.0).mean_ns(), f64::INFINITY);
        assert_eq!(p(0.5).scv(), f64::INFINITY);
        assert!(close(p(1.5).mean_ns(), 3e6) && p(2.0).scv() == f64::INFINITY);
        assert!(close(p(3.0).scv(), 1.0 / 3.0));
        assert_eq!(DistSpec::Empirical("x".into()).mean_ns(), None);
    }

    #[test]
    fn degenerate_specs_are_constants() {
        let zero_specs = [
            DistSpec::Constant(Duration::ZERO),
            DistSpec::Uniform {
                min: Duration::ZERO,
                max: Duration::ZERO,
            },
            DistSpec::Normal {
                mean: Duration::ZERO,
                std: Duration::ZERO,
            },
        ];
        for spec in zero_specs {
            let s = sampler(&spec);
            assert!(s.is_zero(), "{spec:?}");
            assert_eq!((s.mean_ns(), s.scv()), (0.0, 0.0));
        }
        let s = sampler(&DistSpec::Lognormal { mean: ms(3), cv: 0.0 });
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(!s.is_zero());
        assert_eq!(s.sample(&mut rng), 3_000_000);
        assert_eq!(s.scv(), 0.0);
        let c = Sampler::constant(17);
        assert_eq!((c.sample(&mut rng), c.sample_f64(&mut rng)), (17, 17.0));
        assert!(Sampler::constant(0).is_zero() && !c.is_zero());
        assert!(!sampler(&DistSpec::Exponential { mean: Duration(1) }).is_zero());
    }

    #[test]
    fn sample_rounds_sample_f64() {
        for spec in every_form() {
            let s = sampler(&spec);
            let mut a = ChaCha8Rng::seed_from_u64(9);
            let mut b = ChaCha8Rng::seed_from_u64(9);
            for _ in 0..1000 {
                let x = s.sample_f64(&mut b);
                assert!(x >= 0.0);
                assert_eq!(s.sample(&mut a), x.round() as u64, "{spec:?}");
            }
        }
    }

    #[test]
    fn sampler_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + fmt::Debug>() {}
        check::<Sampler>();
        check::<DistSpec>();
    }

    /// The first three draws of every form from seed 42. These are the
    /// numbers users see: if this test fails after a dependency update, that
    /// dependency (rand, rand_chacha or rand_distr) changed the streams that
    /// seeds produce, and results of existing scenarios will change too.
    #[test]
    fn golden_values() {
        let mut specs = every_form();
        specs.push(DistSpec::Normal {
            mean: ms(1),
            std: ms(2),
        });
        let expected: [[u64; 3]; 9] = [
            [4_379_417, 7_469_684, 3_258_318],   // exponential 5ms
            [7_000_000, 7_000_000, 7_000_000],   // constant 7ms
            [2_363_792, 2_900_551, 1_855_033],   // uniform [1ms, 3ms]
            [10_955_962, 12_668_141, 9_578_267], // normal 10ms ± 2ms
            [11_209_957, 16_797_038, 8_096_274], // lognormal 10ms, cv 0.5
            [7_051_678, 4_673_863, 3_829_585],   // erlang k 3, 6ms
            [1_136_128, 1_017_146, 1_327_443],   // pareto 1ms, alpha 3
            [6_187_712, 2_258_394, 9_218_257],   // weibull 10ms, shape 2
            [1_955_962, 3_668_141, 578_267],     // normal 1ms ± 2ms (truncated)
        ];
        let mut got = Vec::new();
        for spec in &specs {
            let s = sampler(spec);
            let mut rng = ChaCha8Rng::seed_from_u64(42);
            got.push([s.sample(&mut rng), s.sample(&mut rng), s.sample(&mut rng)]);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let e = Sampler::empirical(vec![1, 20, 300, 4000, 50_000]).unwrap();
        let e_got = [e.sample(&mut rng), e.sample(&mut rng), e.sample(&mut rng)];
        assert_eq!(got, expected, "{specs:?}");
        assert_eq!(e_got, [20, 4000, 1], "empirical");
    }

    fn from_json(v: serde_json::Value) -> Result<DistSpec, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn deserializes_every_form() {
        let cases = [
            (json!("5ms"), DistSpec::Constant(ms(5))),
            (json!(2), DistSpec::Constant(Duration::from_secs(2))),
            (json!(0.5), DistSpec::Constant(ms(500))),
            (json!({"constant": "7ms"}), DistSpec::Constant(ms(7))),
            (json!({"constant": 1}), DistSpec::Constant(Duration::from_secs(1))),
            (
                json!({"exponential": "10ms"}),
                DistSpec::Exponential { mean: ms(10) },
            ),
            (
                json!({"uniform": ["1ms", "3ms"]}),
                DistSpec::Uniform {
                    min: ms(1),
                    max: ms(3),
                },
            ),
            (
                json!({"normal": {"mean": "10ms", "std": 0.002}}),
                DistSpec::Normal {
                    mean: ms(10),
                    std: ms(2),
                },
            ),
            (
                json!({"lognormal": {"mean": "10ms", "cv": 0.5}}),
                DistSpec::Lognormal {
                    mean: ms(10),
                    cv: 0.5,
                },
            ),
            (
                json!({"erlang": {"k": 3, "mean": "6ms"}}),
                DistSpec::Erlang { k: 3, mean: ms(6) },
            ),
            (
                json!({"pareto": {"min": "1ms", "alpha": 3}}),
                DistSpec::Pareto {
                    min: ms(1),
                    alpha: 3.0,
                },
            ),
            (
                json!({"weibull": {"scale": "10ms", "shape": 2.0}}),
                DistSpec::Weibull {
                    scale: ms(10),
                    shape: 2.0,
                },
            ),
            (
                json!({"empirical": "data/latency.txt"}),
                DistSpec::Empirical("data/latency.txt".into()),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(from_json(value.clone()), Ok(expected.clone()), "{value}");
            // Serialize writes the map form, which reads back the same.
            let back = serde_json::to_value(&expected).unwrap();
            assert_eq!(from_json(back), Ok(expected));
        }
        let v = serde_json::to_value(DistSpec::Normal {
            mean: ms(10),
            std: ms(2),
        })
        .unwrap();
        assert_eq!(v, json!({"normal": {"mean": "10ms", "std": "2ms"}}));
        let v = serde_json::to_value(DistSpec::Uniform {
            min: ms(1),
            max: Duration::from_secs(3),
        })
        .unwrap();
        assert_eq!(v, json!({"uniform": ["1ms", "3s"]}));
    }

    #[test]
    fn deserialize_errors_are_clear() {
        let e = from_json(json!({"expo": "1s"})).unwrap_err();
        assert!(
            e.contains(
                "unknown distribution `expo`, expected one of exponential, constant, uniform, \
                 normal, lognormal, erlang, pareto, weibull, empirical"
            ),
            "{e}"
        );
        let e = from_json(json!({"normal": {"mean": "1s", "sdt": "2s"}})).unwrap_err();
        assert!(e.contains("unknown field `sdt`"), "{e}");
        let e = from_json(json!({"normal": {"mean": "1s"}})).unwrap_err();
        assert!(e.contains("missing field `std`"), "{e}");
        let e = from_json(json!({"exponential": "1s", "constant": "2s"})).unwrap_err();
        assert!(e.contains("exactly one key"), "{e}");
        let e = from_json(json!({})).unwrap_err();
        assert!(e.contains("exactly one key"), "{e}");
        let e = from_json(json!({"uniform": ["1ms"]})).unwrap_err();
        assert!(e.contains("length 1"), "{e}");
        let e = from_json(json!({"exponential": "10 parsecs"})).unwrap_err();
        assert!(e.contains("expected a duration such as 250ms"), "{e}");
        let e = from_json(json!("-3ms")).unwrap_err();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = from_json(json!(-3)).unwrap_err();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = from_json(json!({"erlang": {"k": -1, "mean": "1s"}})).unwrap_err();
        assert!(e.contains("invalid value"), "{e}");
        assert!(from_json(json!(["1ms", "2ms"])).is_err());
        assert!(from_json(json!(null)).is_err());
    }

    #[test]
    fn deserializes_from_yaml() {
        let spec: DistSpec = serde_saphyr::from_str("{ uniform: [1ms, 2.5ms] }").unwrap();
        assert_eq!(
            spec,
            DistSpec::Uniform {
                min: ms(1),
                max: Duration(2_500_000)
            }
        );
        let spec: DistSpec = serde_saphyr::from_str("erlang: { k: 2, mean: 1.5 }").unwrap();
        assert_eq!(spec, DistSpec::Erlang { k: 2, mean: ms(1500) });
        let spec: DistSpec = serde_saphyr::from_str("250us").unwrap();
        assert_eq!(spec, DistSpec::Constant(Duration::from_micros(250)));
        let spec: DistSpec = serde_saphyr::from_str("3").unwrap();
        assert_eq!(spec, DistSpec::Constant(Duration::from_secs(3)));
        let e = serde_saphyr::from_str::<DistSpec>("normal: { mean: 1s, sdt: 2s }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sdt"), "{e}");
    }

    #[test]
    fn validate_names_the_field() {
        let err = |spec: DistSpec| {
            let e = spec.validate().unwrap_err();
            // Sampler::new refuses the same specs with the same message.
            assert_eq!(super::sampler(&spec, Path::new(".")).unwrap_err(), e);
            e
        };
        let e = err(DistSpec::Uniform {
            min: ms(3),
            max: ms(1),
        });
        assert!(
            e.contains("uniform: `min` (3ms)") && e.contains("`max` (1ms)"),
            "{e}"
        );
        let e = err(DistSpec::Exponential { mean: Duration::ZERO });
        assert!(e.contains("exponential: `mean` must be greater than 0s"), "{e}");
        for cv in [-0.1, f64::NAN, f64::INFINITY] {
            let e = err(DistSpec::Lognormal { mean: ms(1), cv });
            assert!(e.contains("lognormal: `cv`"), "{e}");
        }
        let e = err(DistSpec::Lognormal {
            mean: Duration::ZERO,
            cv: 1.0,
        });
        assert!(e.contains("lognormal: `mean`"), "{e}");
        let e = err(DistSpec::Erlang { k: 0, mean: ms(1) });
        assert!(e.contains("erlang: `k` must be at least 1"), "{e}");
        let e = err(DistSpec::Erlang {
            k: 2,
            mean: Duration::ZERO,
        });
        assert!(e.contains("erlang: `mean`"), "{e}");
        for alpha in [0.0, -1.0, f64::NAN] {
            let e = err(DistSpec::Pareto { min: ms(1), alpha });
            assert!(e.contains("pareto: `alpha`"), "{e}");
        }
        let e = err(DistSpec::Pareto {
            min: Duration::ZERO,
            alpha: 2.0,
        });
        assert!(e.contains("pareto: `min`"), "{e}");
        let e = err(DistSpec::Weibull {
            scale: ms(1),
            shape: 0.0,
        });
        assert!(e.contains("weibull: `shape`"), "{e}");
        let e = err(DistSpec::Weibull {
            scale: Duration::ZERO,
            shape: 1.0,
        });
        assert!(e.contains("weibull: `scale`"), "{e}");
        let e = err(DistSpec::Empirical(PathBuf::new()));
        assert!(e.contains("empirical"), "{e}");
        for spec in every_form() {
            assert_eq!(spec.validate(), Ok(()), "{spec:?}");
        }
    }

    #[test]
    fn empirical_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lat.txt"),
            "# measured latencies\n1ms\n\n  3ms  # slow one\n2000us\r\n4\n",
        )
        .unwrap();
        let s = super::sampler(&DistSpec::Empirical("lat.txt".into()), dir.path()).unwrap();
        // Values 1ms, 3ms, 2ms, 4s: exact mean and population SCV.
        let mean = (1e6 + 3e6 + 2e6 + 4e9) / 4.0;
        assert_eq!(s.mean_ns(), mean);
        let var = [1e6, 3e6, 2e6, 4e9]
            .iter()
            .map(|x| (x - mean) * (x - mean))
            .sum::<f64>()
            / 4.0;
        assert!((s.scv() - var / (mean * mean)).abs() < 1e-12);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(s.sample(&mut rng));
        }
        let all: std::collections::BTreeSet<u64> = [1_000_000, 2_000_000, 3_000_000, 4_000_000_000].into();
        assert_eq!(seen, all);
        let (m, _) = sample_moments(&s, 200_000, 1);
        let se = s.mean_ns() * (s.scv() / 200_000.0).sqrt();
        assert!((m - s.mean_ns()).abs() <= 4.0 * se);

        // An absolute path ignores base_dir.
        let abs = dir.path().join("lat.txt");
        assert!(super::sampler(&DistSpec::Empirical(abs), Path::new("/nonexistent")).is_ok());

        std::fs::write(dir.path().join("bad.txt"), "1ms\n# fine\n10 parsecs\n").unwrap();
        let e = super::sampler(&DistSpec::Empirical("bad.txt".into()), dir.path()).unwrap_err();
        assert!(e.contains("bad.txt:3: expected a duration"), "{e}");

        std::fs::write(dir.path().join("empty.txt"), "# nothing\n\n").unwrap();
        let e = super::sampler(&DistSpec::Empirical("empty.txt".into()), dir.path()).unwrap_err();
        assert!(e.contains("empty.txt: contains no durations"), "{e}");

        let e = super::sampler(&DistSpec::Empirical("missing.txt".into()), dir.path()).unwrap_err();
        assert!(e.contains("cannot read") && e.contains("missing.txt"), "{e}");

        std::fs::write(dir.path().join("same.txt"), "0\n0s\n").unwrap();
        let s = super::sampler(&DistSpec::Empirical("same.txt".into()), dir.path()).unwrap();
        assert!(s.is_zero());
    }

    #[test]
    fn schema_lists_every_form() {
        let schema = schemars::schema_for!(DistSpec);
        let v = serde_json::to_value(&schema).unwrap();
        let forms = v["oneOf"].as_array().expect("oneOf");
        assert_eq!(forms.len(), 1 + NAMES.len());
        for name in NAMES {
            assert!(
                forms.iter().any(|f| f["required"] == json!([name])),
                "{name} missing from {v}"
            );
        }
        assert!(v["$defs"]["Duration"]["pattern"].is_string(), "{v}");
    }
}

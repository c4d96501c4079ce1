//! Durations, rates, sizes and bandwidths as the scenario file writes them.
//!
//! This is a contract shared with every tool that reads or writes scenario
//! files, so the accepted forms are deliberately small and fixed:
//!
//! * durations: a number followed by one of `ns`, `us` (also `µs`), `ms`,
//!   `s`, `m` (minutes), `h` or `d`, optionally separated by whitespace, e.g.
//!   `250ns`, `1.5ms`, `2 s`, `1m`. A bare number (a YAML integer or float, or
//!   a string holding only a number) is seconds. Decimals and an exponent
//!   (`1e-3s`) are allowed; negative values are not.
//! * rates: a number followed by `/s`, `/m` or `/h`, e.g. `300/s`,
//!   `18000/m`, `20/h`. A bare number is per second.
//!
//! A [`Duration`] is held as integer nanoseconds so that simulated time never
//! accumulates floating-point drift; a [`Rate`] is held as `f64` events per
//! second because rates are only ever used to derive (random) gaps.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_SEC: u64 = 1_000_000_000;
const NS_PER_MIN: u64 = 60 * NS_PER_SEC;
const NS_PER_HOUR: u64 = 60 * NS_PER_MIN;
const NS_PER_DAY: u64 = 24 * NS_PER_HOUR;

/// 2^64 as f64: every finite f64 below it converts to u64 without saturating.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// JSON-Schema (ECMA 262) regex for the string form of a duration. Kept next
/// to the parser so the two are changed together.
const DURATION_PATTERN: &str = r"^\s*\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(ns|us|µs|μs|ms|s|m|h|d)?\s*$";

/// JSON-Schema regex for the string form of a rate.
const RATE_PATTERN: &str = r"^\s*\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(/\s*(s|m|h))?\s*$";

/// A non-negative span of simulated time, in integer nanoseconds.
///
/// Parses from and displays as the scenario's duration syntax (see the
/// module docs); `d.to_string().parse() == Ok(d)` holds for every value.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

impl Duration {
    /// The empty duration.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable duration (about 584 years).
    pub const MAX: Duration = Duration(u64::MAX);

    /// A duration of `ns` nanoseconds.
    pub const fn from_nanos(ns: u64) -> Self {
        Duration(ns)
    }

    /// A duration of `us` microseconds, saturating at [`Duration::MAX`].
    pub const fn from_micros(us: u64) -> Self {
        Duration(us.saturating_mul(NS_PER_US))
    }

    /// A duration of `ms` milliseconds, saturating at [`Duration::MAX`].
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms.saturating_mul(NS_PER_MS))
    }

    /// A duration of `s` whole seconds, saturating at [`Duration::MAX`].
    pub const fn from_secs(s: u64) -> Self {
        Duration(s.saturating_mul(NS_PER_SEC))
    }

    /// The duration in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The duration in seconds (lossy above 2^53 ns, about 104 days).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_SEC as f64
    }

    /// The duration in milliseconds (lossy above 2^53 ns, about 104 days).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NS_PER_MS as f64
    }

    /// The duration closest to `s` seconds, rounded to the nearest
    /// nanosecond; `None` if `s` is negative, NaN, infinite or beyond
    /// [`Duration::MAX`]. `-0.0` counts as zero.
    pub fn from_secs_f64(s: f64) -> Option<Self> {
        if s.is_nan() || s < 0.0 {
            return None;
        }
        let ns = (s * NS_PER_SEC as f64).round();
        if ns < TWO_POW_64 {
            Some(Duration(ns as u64))
        } else {
            None
        }
    }

    /// Whether this is the empty duration.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

fn duration_expected(input: &str) -> String {
    format!(
        "expected a duration such as 250ms, 2s or 1m (a number with unit ns, us, ms, s, m, h \
         or d; a bare number is seconds), found `{input}`"
    )
}

fn duration_too_large(input: &str) -> String {
    format!("duration `{input}` is too large (the longest is about 584 years)")
}

/// A decimal number split into its significant digits and a power of ten:
/// value = `digits` × 10^`exp10`. Parsing durations through this instead of
/// through `f64` keeps `0.1s`, `1.000000001s` or `18446744073.709551615s`
/// exact, which is what makes `Display` round-trip for every value.
struct Decimal {
    digits: u128,
    exp10: i64,
}

/// At most this many significant digits are kept. With `digits < 10^24` and
/// a unit factor below 10^14 (a day in ns) the product fits in a u128. The
/// dropped digits are worth less than 10^-5 ns at any representable
/// duration, so they could only matter for an exact rounding tie.
const MAX_SIG_DIGITS: u32 = 24;

/// Splits `s` into the longest leading decimal number (digits, optional
/// fraction, optional exponent) and the rest. `None` if there is no digit.
fn split_number(s: &str) -> Option<(Decimal, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut digits: u128 = 0;
    let mut sig = 0u32;
    let mut exp10: i64 = 0;
    let mut any_digit = false;
    let mut push = |d: u8, fractional: bool, digits: &mut u128, exp10: &mut i64| {
        if *digits == 0 && d == 0 {
            // Leading zeros carry no information but shift fraction digits.
            if fractional {
                *exp10 -= 1;
            }
            return;
        }
        if sig < MAX_SIG_DIGITS {
            *digits = *digits * 10 + u128::from(d);
            sig += 1;
            if fractional {
                *exp10 -= 1;
            }
        } else if !fractional {
            // Integer digit beyond the kept precision: scales the value.
            *exp10 += 1;
        }
    };
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        push(bytes[i] - b'0', false, &mut digits, &mut exp10);
        any_digit = true;
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            push(bytes[i] - b'0', true, &mut digits, &mut exp10);
            any_digit = true;
            i += 1;
        }
    }
    if !any_digit {
        return None;
    }
    // An exponent only counts if digits follow; otherwise the `e` belongs to
    // whatever comes next (and will be rejected as a unit).
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        let negative = match bytes.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let start = j;
        let mut e: i64 = 0;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            // Saturate: anything this far out is zero or too large anyway.
            e = (e * 10 + i64::from(bytes[j] - b'0')).min(1_000_000);
            j += 1;
        }
        if j > start {
            exp10 += if negative { -e } else { e };
            i = j;
        }
    }
    Some((Decimal { digits, exp10 }, &s[i..]))
}

/// `dec × factor` rounded to the nearest integer (ties away from zero);
/// `None` if it exceeds `u64::MAX`.
fn scale_decimal(dec: &Decimal, factor: u64) -> Option<u64> {
    if dec.digits == 0 {
        return Some(0);
    }
    // Cannot overflow: digits < 10^24 and factor < 10^14.
    let mut v = dec.digits * u128::from(factor);
    if dec.exp10 >= 0 {
        for _ in 0..dec.exp10 {
            v = v.checked_mul(10)?;
            if v > u128::from(u64::MAX) {
                return None;
            }
        }
    } else {
        let shift = dec.exp10.unsigned_abs();
        // v < 10^38, so dividing by 10^39 or more always rounds to zero.
        if shift > 38 {
            return Some(0);
        }
        let div = 10u128.pow(shift as u32);
        v = (v + div / 2) / div;
    }
    u64::try_from(v).ok()
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.starts_with('-') {
            return Err(format!("a duration cannot be negative, found `{input}`"));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let (dec, rest) = split_number(s).ok_or_else(|| duration_expected(input))?;
        let factor = match rest.trim_start() {
            "" | "s" => NS_PER_SEC,
            "ns" => 1,
            // Both the micro sign U+00B5 and Greek mu U+03BC are in use.
            "us" | "µs" | "μs" => NS_PER_US,
            "ms" => NS_PER_MS,
            "m" => NS_PER_MIN,
            "h" => NS_PER_HOUR,
            "d" => NS_PER_DAY,
            _ => return Err(duration_expected(input)),
        };
        scale_decimal(&dec, factor)
            .map(Duration)
            .ok_or_else(|| duration_too_large(input))
    }
}

/// Writes `ns / unit` as a decimal with trailing zeros trimmed; exact
/// because `unit` is a power of ten with `frac_digits` zeros.
fn write_decimal(f: &mut fmt::Formatter<'_>, ns: u64, unit: u64, frac_digits: usize) -> fmt::Result {
    let whole = ns / unit;
    let frac = ns % unit;
    if frac == 0 {
        write!(f, "{whole}")
    } else {
        let frac = format!("{frac:0frac_digits$}");
        write!(f, "{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl fmt::Display for Duration {
    /// Compact and exact: whole days, hours or minutes when the value is a
    /// multiple of one, otherwise the largest of s, ms, us, ns that keeps the
    /// integer part non-zero, with as many decimals as needed (`90s`, `1h`,
    /// `1.5ms`, `250ns`, `0s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        for (unit, suffix) in [(NS_PER_DAY, "d"), (NS_PER_HOUR, "h"), (NS_PER_MIN, "m")] {
            if ns.is_multiple_of(unit) {
                return write!(f, "{}{suffix}", ns / unit);
            }
        }
        let (unit, digits, suffix) = if ns >= NS_PER_SEC {
            (NS_PER_SEC, 9, "s")
        } else if ns >= NS_PER_MS {
            (NS_PER_MS, 6, "ms")
        } else if ns >= NS_PER_US {
            (NS_PER_US, 3, "us")
        } else {
            (1, 0, "ns")
        };
        write_decimal(f, ns, unit, digits)?;
        f.write_str(suffix)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as 250ms, 2s or 1m, or a number of seconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        v.checked_mul(NS_PER_SEC)
            .map(Duration)
            .ok_or_else(|| E::custom(duration_too_large(&format!("{v}s"))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        if v < 0 {
            return Err(E::custom(format!("a duration cannot be negative, found {v}")));
        }
        self.visit_u64(v.unsigned_abs())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        if v.is_nan() || v.is_infinite() {
            return Err(E::custom(format!(
                "a duration must be a finite number of seconds, found {v}"
            )));
        }
        if v < 0.0 {
            return Err(E::custom(format!("a duration cannot be negative, found {v}")));
        }
        Duration::from_secs_f64(v).ok_or_else(|| E::custom(duration_too_large(&format!("{v}s"))))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any` so that YAML `2`, `1.5` and `10ms` all work.
        deserializer.deserialize_any(DurationVisitor)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Duration").into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        // `pattern` constrains only strings and `minimum` only numbers.
        json_schema!({
            "description": "A duration: a number with unit ns, us, ms, s, m, h or d \
                            (e.g. `250ms`, `1.5s`, `1m`); a bare number is seconds.",
            "type": ["string", "number"],
            "pattern": DURATION_PATTERN,
            "minimum": 0
        })
    }
}

/// A non-negative, finite number of events per second.
///
/// Parses from `300/s`, `18000/m`, `20/h` or a bare number (per second) and
/// displays as `<n>/s` using the shortest decimal that round-trips.
#[derive(Copy, Clone, Debug, Default, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl Rate {
    /// Events per second.
    pub fn per_sec(self) -> f64 {
        self.0
    }

    /// A rate of `per_sec` events per second; `None` unless finite and >= 0.
    pub fn from_per_sec(per_sec: f64) -> Option<Rate> {
        (per_sec.is_finite() && per_sec >= 0.0).then_some(Rate(per_sec))
    }
}

fn rate_expected(input: &str) -> String {
    format!(
        "expected a rate such as 300/s, 18000/m or 20/h (a bare number is per second), \
         found `{input}`"
    )
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.starts_with('-') {
            return Err(format!("a rate cannot be negative, found `{input}`"));
        }
        let (number, per) = match s.split_once('/') {
            None => (s, 1.0),
            Some((number, unit)) => {
                let per = match unit.trim() {
                    "s" => 1.0,
                    "m" => 60.0,
                    "h" => 3600.0,
                    _ => return Err(rate_expected(input)),
                };
                (number.trim_end(), per)
            }
        };
        // f64's parser would also take `inf` and `nan`; require a digit.
        if !number.bytes().any(|b| b.is_ascii_digit()) {
            return Err(rate_expected(input));
        }
        let value: f64 = number.parse().map_err(|_| rate_expected(input))?;
        let per_sec = value / per;
        if !per_sec.is_finite() {
            return Err(format!("rate `{input}` is too large"));
        }
        Ok(Rate(per_sec))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // f64's Display is the shortest representation that parses back to
        // the same value, and never uses exponent notation.
        write!(f, "{}/s", self.0)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

struct RateVisitor;

impl Visitor<'_> for RateVisitor {
    type Value = Rate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rate such as 300/s, 18000/m or 20/h, or a number per second")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
        Ok(Rate(v as f64))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
        if v < 0 {
            return Err(E::custom(format!("a rate cannot be negative, found {v}")));
        }
        Ok(Rate(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
        if v < 0.0 {
            return Err(E::custom(format!("a rate cannot be negative, found {v}")));
        }
        Rate::from_per_sec(v).ok_or_else(|| E::custom(format!("a rate must be a finite number, found {v}")))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RateVisitor)
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Rate").into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A rate: a number per second, minute or hour \
                            (e.g. `300/s`, `18000/m`, `20/h`); a bare number is per second.",
            "type": ["string", "number"],
            "pattern": RATE_PATTERN,
            "minimum": 0
        })
    }
}

/// JSON-Schema regex for the string form of a byte size.
const SIZE_PATTERN: &str =
    r"^\s*\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$";

/// JSON-Schema regex for the string form of a bandwidth.
const BANDWIDTH_PATTERN: &str =
    r"^\s*\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*/\s*(s|m|h)\s*$";

/// The units of a byte size, largest first within each family: decimal
/// (SI, powers of 10, as disks and networks are sold) and binary (IEC,
/// powers of 2).
const SIZE_UNITS: [(&str, u64); 11] = [
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("kB", 1_000),
    ("KB", 1_000),
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
    ("", 1),
];

/// A non-negative amount of data, in whole bytes.
///
/// Parses from a number followed by `B`, `kB` (also `KB`), `MB`, `GB`, `TB`
/// (powers of 10) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 2); a bare number
/// is bytes. `s.to_string().parse() == Ok(s)` holds for every value.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

fn size_expected(input: &str) -> String {
    format!(
        "expected a size such as 500GB, 64MiB or 1.5TB (a number with unit B, kB, MB, GB, TB, \
         KiB, MiB, GiB or TiB; a bare number is bytes), found `{input}`"
    )
}

/// Parses a size's text into bytes (exact for decimals, rounded to the
/// nearest byte).
fn parse_size(input: &str, what: &str) -> Result<u64, String> {
    let s = input.trim();
    if s.starts_with('-') {
        return Err(format!("{what} cannot be negative, found `{input}`"));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let (dec, rest) = split_number(s).ok_or_else(|| size_expected(input))?;
    let unit = rest.trim_start();
    let factor = SIZE_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|&(_, f)| f)
        .ok_or_else(|| size_expected(input))?;
    scale_decimal(&dec, factor).ok_or_else(|| format!("size `{input}` is too large (at most 2^64 − 1 bytes)"))
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, String> {
        parse_size(input, "a size").map(ByteSize)
    }
}

impl fmt::Display for ByteSize {
    /// The largest unit the value is a whole multiple of (`500GB`, `64MiB`,
    /// `1500B`), decimal units first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for &(unit, factor) in &SIZE_UNITS[..SIZE_UNITS.len() - 2] {
            if unit != "KB" && b != 0 && b.is_multiple_of(factor) {
                return write!(f, "{}{unit}", b / factor);
            }
        }
        write!(f, "{b}B")
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

struct ByteSizeVisitor;

impl Visitor<'_> for ByteSizeVisitor {
    type Value = ByteSize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size such as 500GB or 64MiB, or a number of bytes")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
        Ok(ByteSize(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
        if v < 0 {
            return Err(E::custom(format!("a size cannot be negative, found {v}")));
        }
        Ok(ByteSize(v.unsigned_abs()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ByteSize, E> {
        if !v.is_finite() || v < 0.0 {
            return Err(E::custom(format!(
                "a size must be a finite, non-negative number of bytes, found {v}"
            )));
        }
        if v.round() >= TWO_POW_64 {
            return Err(E::custom(format!(
                "size `{v}` is too large (at most 2^64 − 1 bytes)"
            )));
        }
        Ok(ByteSize(v.round() as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ByteSizeVisitor)
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::ByteSize").into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A size: a number with unit B, kB, MB, GB, TB (powers of 10) or KiB, MiB, \
                            GiB, TiB (powers of 2), e.g. `500GB`, `64MiB`; a bare number is bytes.",
            "type": ["string", "integer"],
            "pattern": SIZE_PATTERN,
            "minimum": 0
        })
    }
}

/// A non-negative, finite data rate, held as bytes per second.
///
/// Parses from a size per second, minute or hour (`100MB/s`, `6GB/m`,
/// `1TiB/h`) and displays as `<bytes>B/s` with the shortest decimal that
/// round-trips.
#[derive(Copy, Clone, Debug, Default, PartialEq, PartialOrd)]
pub struct Bandwidth(pub f64);

impl Bandwidth {
    /// Bytes per second.
    pub fn bytes_per_sec(self) -> f64 {
        self.0
    }
}

fn bandwidth_expected(input: &str) -> String {
    format!("expected a bandwidth such as 100MB/s, 1GiB/s or 6GB/m (a size per s, m or h), found `{input}`")
}

impl FromStr for Bandwidth {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.starts_with('-') {
            return Err(format!("a bandwidth cannot be negative, found `{input}`"));
        }
        let Some((size, unit)) = s.rsplit_once('/') else {
            return Err(bandwidth_expected(input));
        };
        let per = match unit.trim() {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bandwidth_expected(input)),
        };
        let s = size.trim().strip_prefix('+').unwrap_or(size.trim());
        let (_, rest) = split_number(s).ok_or_else(|| bandwidth_expected(input))?;
        let unit = rest.trim_start();
        let factor = SIZE_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|&(_, f)| f)
            .ok_or_else(|| bandwidth_expected(input))?;
        // Through f64 (a bandwidth only derives a copy time), with f64's
        // correctly rounded parser so that `Display` round-trips.
        let number = &s[..s.len() - rest.len()];
        let value = number.parse::<f64>().map_err(|_| bandwidth_expected(input))? * factor as f64;
        let per_sec = value / per;
        if !per_sec.is_finite() {
            return Err(format!("bandwidth `{input}` is too large"));
        }
        Ok(Bandwidth(per_sec))
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}B/s", self.0)
    }
}

impl Serialize for Bandwidth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

struct BandwidthVisitor;

impl Visitor<'_> for BandwidthVisitor {
    type Value = Bandwidth;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bandwidth such as 100MB/s or 1GiB/s")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bandwidth, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Bandwidth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BandwidthVisitor)
    }
}

impl JsonSchema for Bandwidth {
    fn schema_name() -> Cow<'static, str> {
        "Bandwidth".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Bandwidth").into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A bandwidth: a size per second, minute or hour (e.g. `100MB/s`, `1GiB/s`, \
                            `6GB/m`); sizes as for `ByteSize`.",
            "type": "string",
            "pattern": BANDWIDTH_PATTERN
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    fn d(s: &str) -> u64 {
        s.parse::<Duration>().unwrap_or_else(|e| panic!("{s}: {e}")).0
    }

    #[test]
    fn every_unit() {
        assert_eq!(d("250ns"), 250);
        assert_eq!(d("500us"), 500_000);
        assert_eq!(d("500µs"), 500_000);
        assert_eq!(d("500μs"), 500_000);
        assert_eq!(d("10ms"), 10_000_000);
        assert_eq!(d("2s"), 2_000_000_000);
        assert_eq!(d("1m"), 60_000_000_000);
        assert_eq!(d("1h"), 3_600_000_000_000);
        assert_eq!(d("1d"), 86_400_000_000_000);
    }

    #[test]
    fn decimals_whitespace_and_bare_numbers() {
        assert_eq!(d("1.5s"), 1_500_000_000);
        assert_eq!(d("0.25ms"), 250_000);
        assert_eq!(d(".5s"), 500_000_000);
        assert_eq!(d("2.s"), 2_000_000_000);
        assert_eq!(d("0.1s"), 100_000_000);
        assert_eq!(d("1.000000001s"), 1_000_000_001);
        assert_eq!(d("10 ms"), 10_000_000);
        assert_eq!(d("  3 h "), 3 * 3_600_000_000_000);
        assert_eq!(d("+4s"), 4_000_000_000);
        assert_eq!(d("2"), 2_000_000_000);
        assert_eq!(d("1.5"), 1_500_000_000);
        assert_eq!(d("0"), 0);
        assert_eq!(d("0.0000000004"), 0, "rounds to nearest ns");
        assert_eq!(d("0.0000000005"), 1, "ties round up");
        assert_eq!(d("1.4ns"), 1);
        assert_eq!(d("1e-3s"), 1_000_000);
        assert_eq!(d("1.5E3ms"), 1_500_000_000);
        assert_eq!(d("0000012ms"), 12_000_000);
        assert_eq!(d("18446744073.709551615s"), u64::MAX);
        assert_eq!(d("18446744073709551615ns"), u64::MAX);
        // 30 significant digits: the ones past the 24th are dropped.
        assert_eq!(d("1.23456789012345678901234567890s"), 1_234_567_890);
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = "10 parsecs".parse::<Duration>().unwrap_err();
        assert!(e.contains("expected a duration such as 250ms"), "{e}");
        assert!(e.contains("`10 parsecs`"), "{e}");
        let e = "-1s".parse::<Duration>().unwrap_err();
        assert!(e.contains("a duration cannot be negative"), "{e}");
        let e = "abc".parse::<Duration>().unwrap_err();
        assert!(e.contains("expected a duration"), "{e}");
        let e = "1e400s".parse::<Duration>().unwrap_err();
        assert!(e.contains("too large"), "{e}");
        let e = "18446744073.709551616s".parse::<Duration>().unwrap_err();
        assert!(e.contains("too large"), "{e}");
        for bad in [
            "", " ", "s", ".s", "1 0s", "1ss", "1S", "inf", "NaN", "1e", "1x", "1.2.3s",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn display_is_compact() {
        let cases = [
            (0, "0s"),
            (250, "250ns"),
            (1_500, "1.5us"),
            (1_500_000, "1.5ms"),
            (250_000_000, "250ms"),
            (2_000_000_000, "2s"),
            (90_000_000_000, "90s"),
            (60_000_000_000, "1m"),
            (5_400_000_000_000, "90m"),
            (3_600_000_000_000, "1h"),
            (129_600_000_000_000, "36h"),
            (86_400_000_000_000, "1d"),
            (1_000_000_001, "1.000000001s"),
            (u64::MAX, "18446744073.709551615s"),
        ];
        for (ns, text) in cases {
            assert_eq!(Duration(ns).to_string(), text);
        }
    }

    #[test]
    fn display_round_trips() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for i in 0..5000u32 {
            // Mix full-range values with small ones and unit multiples, so
            // every branch of Display is exercised.
            let raw = rng.next_u64();
            let ns = match i % 5 {
                0 => raw,
                1 => raw % 10_000,
                2 => raw % 10_000_000_000,
                3 => (raw % 100_000) * NS_PER_MIN,
                _ => (raw % 1_000) * [1, NS_PER_US, NS_PER_MS, NS_PER_SEC][(raw % 4) as usize],
            };
            let text = Duration(ns).to_string();
            assert_eq!(text.parse::<Duration>(), Ok(Duration(ns)), "{text}");
        }
    }

    #[test]
    fn from_secs_f64_edges() {
        assert_eq!(Duration::from_secs_f64(1.5), Some(Duration(1_500_000_000)));
        assert_eq!(Duration::from_secs_f64(-0.0), Some(Duration::ZERO));
        assert_eq!(Duration::from_secs_f64(-1e-12), None);
        assert_eq!(Duration::from_secs_f64(f64::NAN), None);
        assert_eq!(Duration::from_secs_f64(f64::INFINITY), None);
        assert_eq!(Duration::from_secs_f64(1.9e10), None);
        assert_eq!(Duration(1_500_000).as_millis_f64(), 1.5);
        assert_eq!(Duration(2_500_000_000).as_secs_f64(), 2.5);
        assert!(Duration::ZERO.is_zero() && !Duration(1).is_zero());
    }

    #[test]
    fn deserialize_yaml_shaped_values() {
        let de = |v: serde_json::Value| serde_json::from_value::<Duration>(v);
        assert_eq!(de(json!("10ms")).unwrap(), Duration(10_000_000));
        assert_eq!(de(json!(2)).unwrap(), Duration(2_000_000_000));
        assert_eq!(de(json!(1.5)).unwrap(), Duration(1_500_000_000));
        assert_eq!(de(json!(0.001)).unwrap(), Duration(1_000_000));
        assert_eq!(de(json!("3")).unwrap(), Duration(3_000_000_000));
        let e = de(json!(-1)).unwrap_err().to_string();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = de(json!(-0.5)).unwrap_err().to_string();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = de(json!(u64::MAX)).unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
        let e = de(json!("10 parsecs")).unwrap_err().to_string();
        assert!(e.contains("expected a duration"), "{e}");
        assert!(de(json!(true)).is_err());
        assert!(de(json!(null)).is_err());
        // Serialize writes the display string, which reads back the same.
        let v = serde_json::to_value(Duration(1_500_000)).unwrap();
        assert_eq!(v, json!("1.5ms"));
        assert_eq!(de(v).unwrap(), Duration(1_500_000));
    }

    #[test]
    fn rates() {
        let r = |s: &str| s.parse::<Rate>().unwrap_or_else(|e| panic!("{s}: {e}")).per_sec();
        assert_eq!(r("300/s"), 300.0);
        assert_eq!(r("18000/m"), 300.0);
        assert_eq!(r("20/h"), 20.0 / 3600.0);
        assert_eq!(r("300"), 300.0);
        assert_eq!(r("2.5"), 2.5);
        assert_eq!(r(" 60 / m "), 1.0);
        assert_eq!(r("0/s"), 0.0);
        assert_eq!(r("1e3/s"), 1000.0);
        for bad in [
            "", "/s", "300/d", "300/", "abc", "inf", "NaN/s", "1e400/s", "3 00/s",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?} should not parse");
        }
        let e = "-5/s".parse::<Rate>().unwrap_err();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = "5/week".parse::<Rate>().unwrap_err();
        assert!(e.contains("expected a rate such as 300/s"), "{e}");

        assert_eq!(Rate(300.0).to_string(), "300/s");
        assert_eq!(Rate(20.0 / 3600.0).to_string(), "0.005555555555555556/s");
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..2000 {
            // Clearing the sign bit covers every non-negative f64, subnormals included.
            let x = Rate(f64::from_bits(rng.next_u64() & !(1 << 63)));
            if x.0.is_finite() {
                assert_eq!(x.to_string().parse::<Rate>(), Ok(x));
            }
        }

        let de = |v: serde_json::Value| serde_json::from_value::<Rate>(v);
        assert_eq!(de(json!("18000/m")).unwrap(), Rate(300.0));
        assert_eq!(de(json!(300)).unwrap(), Rate(300.0));
        assert_eq!(de(json!(0.5)).unwrap(), Rate(0.5));
        assert!(de(json!(-3)).is_err());
        assert!(de(json!(-0.5)).is_err());
        assert_eq!(serde_json::to_value(Rate(300.0)).unwrap(), json!("300/s"));
    }

    #[test]
    fn schema_patterns_are_present() {
        let schema = schemars::schema_for!(Duration);
        let v = serde_json::to_value(&schema).unwrap();
        assert_eq!(v["pattern"], json!(DURATION_PATTERN));
        let schema = schemars::schema_for!(Rate);
        let v = serde_json::to_value(&schema).unwrap();
        assert_eq!(v["pattern"], json!(RATE_PATTERN));
    }
    #[test]
    fn sizes() {
        let b = |s: &str| {
            s.parse::<ByteSize>()
                .unwrap_or_else(|e| panic!("{s}: {e}"))
                .bytes()
        };
        assert_eq!(b("0"), 0);
        assert_eq!(b("512"), 512);
        assert_eq!(b("512B"), 512);
        assert_eq!(b("1kB"), 1_000);
        assert_eq!(b("1KB"), 1_000);
        assert_eq!(b("1.5 MB"), 1_500_000);
        assert_eq!(b("500GB"), 500_000_000_000);
        assert_eq!(b("2TB"), 2_000_000_000_000);
        assert_eq!(b("1KiB"), 1_024);
        assert_eq!(b("64MiB"), 64 << 20);
        assert_eq!(b("1GiB"), 1 << 30);
        assert_eq!(b("0.5TiB"), 1 << 39);
        assert_eq!(b("1e3MB"), 1_000_000_000);
        assert_eq!(b("+3B"), 3);
        for bad in ["", "GB", "1 G", "1gb", "1Kib", "1 MB/s", "1.2.3GB", "x", "1 0B"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?} should not parse");
        }
        let e = "-1GB".parse::<ByteSize>().unwrap_err();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = "10 parsecs".parse::<ByteSize>().unwrap_err();
        assert!(
            e.contains("expected a size such as 500GB") && e.contains("`10 parsecs`"),
            "{e}"
        );
        let e = "20000000TB".parse::<ByteSize>().unwrap_err();
        assert!(e.contains("too large"), "{e}");
        for (n, text) in [
            (0, "0B"),
            (1_500, "1500B"),
            (1_000, "1kB"),
            (500_000_000_000, "500GB"),
            (1 << 30, "1GiB"),
            (3 << 20, "3MiB"),
        ] {
            assert_eq!(ByteSize(n).to_string(), text);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for i in 0..2000u32 {
            let raw = rng.next_u64();
            let n = match i % 3 {
                0 => raw,
                1 => (raw % 1000) * 1_000_000_000,
                _ => (raw % 1000) << 30,
            };
            assert_eq!(ByteSize(n).to_string().parse::<ByteSize>(), Ok(ByteSize(n)));
        }
        let de = |v: serde_json::Value| serde_json::from_value::<ByteSize>(v);
        assert_eq!(de(json!("5GB")).unwrap(), ByteSize(5_000_000_000));
        assert_eq!(de(json!(4096)).unwrap(), ByteSize(4096));
        assert!(de(json!(-1)).is_err());
        assert_eq!(serde_json::to_value(ByteSize(1 << 20)).unwrap(), json!("1MiB"));
    }

    #[test]
    fn bandwidths() {
        let w = |s: &str| {
            s.parse::<Bandwidth>()
                .unwrap_or_else(|e| panic!("{s}: {e}"))
                .bytes_per_sec()
        };
        assert_eq!(w("100MB/s"), 1e8);
        assert_eq!(w("100 MB / s"), 1e8);
        assert_eq!(w("6GB/m"), 1e8);
        assert_eq!(w("3.6TB/h"), 1e9);
        assert_eq!(w("1GiB/s"), 1_073_741_824.0);
        assert_eq!(w("512/s"), 512.0);
        assert_eq!(w("0B/s"), 0.0);
        for bad in [
            "",
            "100MB",
            "100",
            "MB/s",
            "100MB/d",
            "100Mb/s",
            "/s",
            "1e400GB/s",
        ] {
            assert!(bad.parse::<Bandwidth>().is_err(), "{bad:?} should not parse");
        }
        let e = "-1MB/s".parse::<Bandwidth>().unwrap_err();
        assert!(e.contains("cannot be negative"), "{e}");
        let e = "fast".parse::<Bandwidth>().unwrap_err();
        assert!(
            e.contains("expected a bandwidth such as 100MB/s") && e.contains("`fast`"),
            "{e}"
        );
        assert_eq!(Bandwidth(1e8).to_string(), "100000000B/s");
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..1000 {
            let x = Bandwidth((rng.next_u64() >> 11) as f64 / 7.0);
            assert_eq!(x.to_string().parse::<Bandwidth>(), Ok(x));
        }
        let de = |v: serde_json::Value| serde_json::from_value::<Bandwidth>(v);
        assert_eq!(de(json!("1MB/s")).unwrap(), Bandwidth(1e6));
        assert!(de(json!(5)).is_err(), "a bare number has no unit of time");
        let v = serde_json::to_value(schemars::schema_for!(ByteSize)).unwrap();
        assert_eq!(v["pattern"], json!(SIZE_PATTERN));
        let v = serde_json::to_value(schemars::schema_for!(Bandwidth)).unwrap();
        assert_eq!(v["pattern"], json!(BANDWIDTH_PATTERN));
    }
}

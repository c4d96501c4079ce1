//! The grid of a sweep: the `sweep.vary` block and `--vary` flags, range
//! expansion, and the cartesian product of points.

use indexmap::IndexMap;
use serde_json::Value;

/// One point of the grid: its parameter values and the `--set`-style
/// overrides that produce it.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Path → value, in the order the parameters were declared.
    pub params: IndexMap<String, Value>,
}

impl Point {
    /// `PATH=VALUE` overrides (values as YAML flow text).
    pub fn overrides(&self) -> Vec<String> {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={}", yaml_text(v)))
            .collect()
    }
}

/// A value as YAML flow text (JSON is YAML): strings stay strings.
pub fn yaml_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Split `V1,V2,…` at commas outside brackets and braces.
fn split_values(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for ch in s.chars() {
        match ch {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out.into_iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Parse one value as YAML into a JSON value.
fn parse_value(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| format!("`{text}` is not a YAML value: {e}"))
}

/// `300/s` → (300, "/s"), `2.5 GB` → (2.5, "GB"), `4` → (4, "").
pub(crate) fn split_unit(s: &str) -> Option<(f64, String)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || *c == '.' || ((*c == '-' || *c == '+') && *i == 0))
        .map(|(i, c)| i + c.len_utf8())
        .last()?;
    let n: f64 = s[..end].parse().ok()?;
    Some((n, s[end..].trim().to_string()))
}

/// Expand `A..B` or `A..B step S` into its values; `None` if the text is
/// not a range. The ends may carry a unit, the same one, which the step
/// may repeat: `400/s..1000/s step 100/s` gives `400/s`, `500/s`, …,
/// `1000/s` (strings, read as the parameter's type like any value);
/// `10ms..50ms step 10ms` gives durations. Bare integers give integers.
pub fn expand_range(text: &str) -> Option<Result<Vec<Value>, String>> {
    let (range, step) = match text.split_once(" step ") {
        Some((r, s)) => (r.trim(), Some(s.trim())),
        None => (text.trim(), None),
    };
    let (a, b) = range.split_once("..")?;
    let (a, b) = (a.trim(), b.trim());
    let ints = a.parse::<i64>().ok().zip(b.parse::<i64>().ok());
    let step_int = step.map_or(Some(1), |s| s.parse::<i64>().ok());
    if let (Some((a, b)), Some(s)) = (ints, step_int) {
        if s <= 0 || b < a {
            return Some(Err(format!("range `{text}` needs from ≤ to and a positive step")));
        }
        if b.checked_sub(a).is_none_or(|d| d / s > 100_000) {
            return Some(Err(format!("range `{text}` has too many values")));
        }
        return Some(Ok((0..=(b - a) / s).map(|i| Value::from(a + i * s)).collect()));
    }
    let (fa, ua) = split_unit(a)?;
    let (fb, ub) = split_unit(b)?;
    let (fs, us) = match step {
        Some(s) => split_unit(s)?,
        None => (1.0, String::new()),
    };
    if ua != ub || !(us.is_empty() || us == ua) {
        return Some(Err(format!(
            "range `{text}`: its ends and step must share one unit (`{ua}` against `{ub}`{}); \
             write both ends in the same unit",
            if us.is_empty() || us == ua {
                String::new()
            } else {
                format!(", step `{us}`")
            }
        )));
    }
    if !(fs > 0.0 && fb >= fa && fa.is_finite() && fb.is_finite()) {
        return Some(Err(format!("range `{text}` needs from ≤ to and a positive step")));
    }
    let n = ((fb - fa) / fs + 1e-9).floor() as u64;
    if n > 100_000 {
        return Some(Err(format!("range `{text}` has too many values")));
    }
    Some(Ok((0..=n)
        .map(|i| {
            // Round away the binary noise of a + i·s (0.1 + 0.2 …).
            let x = (fa + i as f64 * fs) * 1e9;
            let x = x.round() / 1e9;
            if ua.is_empty() {
                Value::from(x)
            } else {
                // With a unit, a value as the user would write it.
                let sep = if a.trim_end_matches(ua.as_str()).ends_with(' ') {
                    " "
                } else {
                    ""
                };
                Value::from(format!("{x}{sep}{ua}"))
            }
        })
        .collect()))
}

/// Values of one parameter, with a lone range string expanded.
fn expand(values: &[Value]) -> Result<Vec<Value>, String> {
    if let [Value::String(s)] = values
        && let Some(r) = expand_range(s)
    {
        return r;
    }
    Ok(values.to_vec())
}

/// The varied parameters: the file's block, then `--vary PATH=V1,V2,…`
/// flags (a flag replaces the file's values for the same path).
pub fn parameters(
    file: &IndexMap<String, Vec<Value>>,
    flags: &[String],
) -> Result<IndexMap<String, Vec<Value>>, String> {
    let mut out = IndexMap::new();
    for (k, v) in file {
        let vals = expand(v).map_err(|e| format!("sweep.vary.{k}: {e}"))?;
        if vals.is_empty() {
            return Err(format!("sweep.vary.{k}: needs at least one value"));
        }
        out.insert(k.clone(), vals);
    }
    for f in flags {
        let (path, vals) = f
            .split_once('=')
            .ok_or_else(|| format!("--vary {f}: expected PATH=V1,V2,… e.g. components.api.replicas=1,2,4"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("--vary {f}: the path is empty"));
        }
        let texts = split_values(vals);
        let vals = match texts.as_slice() {
            [one] if expand_range(one).is_some() => expand_range(one).unwrap_or(Ok(Vec::new())),
            _ => texts.iter().map(|t| parse_value(t)).collect(),
        }
        .map_err(|e| format!("--vary {f}: {e}"))?;
        if vals.is_empty() {
            return Err(format!("--vary {f}: needs at least one value"));
        }
        out.insert(path.to_string(), vals);
    }
    check_size(&out)?;
    Ok(out)
}

/// Check that every parameter `sweep.plot.categorical` names is varied
/// (by the file's `sweep.vary` or a `--vary` flag).
pub fn check_plot(
    plot: Option<&crate::scenario::spec::PlotSpec>,
    params: &IndexMap<String, Vec<Value>>,
) -> Result<(), String> {
    for (i, name) in plot
        .map(|p| p.categorical.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !params.contains_key(name) {
            let varied: Vec<&str> = params.keys().map(String::as_str).collect();
            return Err(format!(
                "sweep.plot.categorical[{i}]: `{name}` is not a varied parameter; it must be one of: {}",
                varied.join(", ")
            ));
        }
    }
    Ok(())
}

/// Most points a grid may have: every point's configuration is loaded (and
/// validated) before anything runs, so the grid is bounded up front.
pub const MAX_POINTS: u64 = 10_000;

/// The number of points of a grid, refused past [`MAX_POINTS`] with the
/// sizes that make it up.
pub fn check_size(params: &IndexMap<String, Vec<Value>>) -> Result<u64, String> {
    let n = params
        .values()
        .fold(1u64, |n, v| n.saturating_mul(v.len() as u64));
    if n > MAX_POINTS {
        let sizes: Vec<String> = params.iter().map(|(k, v)| format!("{} ({k})", v.len())).collect();
        return Err(format!(
            "the grid has {n} points ({}); at most {MAX_POINTS} points are allowed: vary fewer values, or split the question into several sweeps",
            sizes.join(" × ")
        ));
    }
    Ok(n)
}

/// The cartesian product, first parameter outermost (slowest changing).
pub fn points(params: &IndexMap<String, Vec<Value>>) -> Vec<Point> {
    let mut pts = vec![Point {
        params: IndexMap::new(),
    }];
    for (k, vals) in params {
        let mut next = Vec::with_capacity(pts.len() * vals.len());
        for p in &pts {
            for v in vals {
                let mut q = p.clone();
                q.params.insert(k.clone(), v.clone());
                next.push(q);
            }
        }
        pts = next;
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand() {
        let r = expand_range("1..4").unwrap().unwrap();
        assert_eq!(
            r,
            vec![Value::from(1), Value::from(2), Value::from(3), Value::from(4)]
        );
        let r = expand_range("2..10 step 4").unwrap().unwrap();
        assert_eq!(r, vec![Value::from(2), Value::from(6), Value::from(10)]);
        let r = expand_range("0.1..0.3 step 0.1").unwrap().unwrap();
        assert_eq!(r, vec![Value::from(0.1), Value::from(0.2), Value::from(0.3)]);
        assert!(expand_range("300/s").is_none());
        assert!(expand_range("5..1").unwrap().is_err());
        // Units: the values are written as the user would.
        let r = expand_range("400/s..700/s step 100/s").unwrap().unwrap();
        assert_eq!(r, ["400/s", "500/s", "600/s", "700/s"].map(Value::from).to_vec());
        let r = expand_range("10ms..30ms step 10ms").unwrap().unwrap();
        assert_eq!(r, ["10ms", "20ms", "30ms"].map(Value::from).to_vec());
        let r = expand_range("0.5s..1.5s step 0.5").unwrap().unwrap();
        assert_eq!(r, ["0.5s", "1s", "1.5s"].map(Value::from).to_vec());
        let e = expand_range("500ms..2s step 500ms").unwrap().unwrap_err();
        assert!(e.contains("share one unit"), "{e}");
        assert!(expand_range("a..b").is_none());
    }

    #[test]
    fn flags_and_file_make_a_cartesian_grid() {
        let mut file = IndexMap::new();
        file.insert("components.api.replicas".to_string(), vec![Value::from("1..3")]);
        file.insert("x".to_string(), vec![Value::from(9)]);
        let flags = vec![
            "clients.web.arrival.poisson=100/s, 200/s".to_string(),
            "x={ exponential: 10ms },5".to_string(),
        ];
        let p = parameters(&file, &flags).unwrap();
        assert_eq!(
            p["x"],
            vec![serde_json::json!({"exponential": "10ms"}), Value::from(5)]
        );
        let pts = points(&p);
        assert_eq!(pts.len(), 3 * 2 * 2);
        assert_eq!(
            pts[0].overrides(),
            vec![
                "components.api.replicas=1",
                "x={\"exponential\":\"10ms\"}",
                "clients.web.arrival.poisson=\"100/s\""
            ]
        );
        assert_eq!(crate::report::value_label(&pts[2].params["x"]), "5");
        assert!(parameters(&IndexMap::new(), &["novalues".into()]).is_err());
    }
}

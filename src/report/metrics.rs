//! One table of what a metric is: its human name and its unit. Chart
//! titles and axis labels, the summary, the pages and `compare` all read
//! metric names through [`describe`], so `components.api.utilization` is
//! "api: utilisation (%)" on every chart and 61.2% in every table.

/// The unit a metric is measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A fraction 0–1, shown as a percentage (availability, ratios,
    /// utilisation).
    Fraction,
    /// Milliseconds.
    Ms,
    /// Seconds.
    Seconds,
    /// Requests (or events) per second.
    PerSecond,
    /// US dollars.
    Dollars,
    /// A count of things (requests, replicas, stale reads).
    Count,
    /// A number with no unit (nines, a coefficient of variation).
    Plain,
}

impl Unit {
    /// The unit as written after a value or in an axis title ("" for none).
    pub fn label(self) -> &'static str {
        match self {
            Unit::Fraction => "%",
            Unit::Ms => "ms",
            Unit::Seconds => "s",
            Unit::PerSecond => "req/s",
            Unit::Dollars => "$",
            Unit::Count | Unit::Plain => "",
        }
    }

    /// The factor from the metric's stored value to the shown one (100
    /// for fractions shown as percentages).
    pub fn scale(self) -> f64 {
        if self == Unit::Fraction { 100.0 } else { 1.0 }
    }
}

/// A metric's human description.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricDesc {
    /// "p99 latency", "api: utilisation", "web: availability".
    pub name: String,
    /// What its values are measured in.
    pub unit: Unit,
}

impl MetricDesc {
    /// An axis title: the name and the unit in brackets ("p99 latency
    /// (ms)", "Availability (%)", "Total cost ($)").
    pub fn axis_title(&self) -> String {
        match self.unit.label() {
            "" => self.name.clone(),
            u => format!("{} ({u})", self.name),
        }
    }

    /// Whether an honest axis for this metric starts at zero: fractions
    /// (a hit ratio of 52–60% drawn from 52% triples the difference),
    /// counts, rates, money and durations are all magnitudes.
    pub fn zero_based(&self) -> bool {
        self.unit != Unit::Plain
    }
}

/// Leaf names (the part after `clients.NAME.` or `components.NAME.`, or a
/// whole top-level name) and their human names.
const NAMES: &[(&str, &str)] = &[
    ("throughput_rps", "throughput"),
    ("availability", "availability"),
    ("availability.nines", "availability (nines)"),
    ("availability.downtime_s", "downtime"),
    ("error_ratio", "error ratio"),
    ("latency.mean_ms", "mean latency"),
    ("latency.max_ms", "maximum latency"),
    ("latency.p999_ms", "p99.9 latency"),
    ("requests.offered", "requests offered"),
    ("requests.completed", "requests completed"),
    ("requests.failed", "requests failed"),
    ("requests.rejected", "requests rejected"),
    ("requests.timed_out", "requests timed out"),
    ("requests.in_flight", "requests in flight"),
    ("requests.backlog_at_end", "backlog at the end"),
    ("requests.retries", "retries"),
    ("retries", "retries"),
    ("consistency.reads", "reads checked"),
    ("consistency.stale_reads", "stale reads"),
    ("consistency.stale_read_ratio", "stale-read ratio"),
    ("data.lost_writes", "lost writes"),
    ("data.lost_messages", "lost messages"),
    ("data.duplicate_writes", "duplicate writes"),
    ("sessions.lost", "sessions lost"),
    ("sessions.relogins", "re-logins"),
    ("cost.instance_hours", "instance-hours"),
    ("cost.total", "total cost"),
    ("cost.per_hour", "cost per hour"),
    ("cost.per_month", "cost per month"),
    ("utilization", "utilisation"),
    ("hit_ratio", "hit ratio"),
    ("miss_ratio", "miss ratio"),
    ("replicas_max", "maximum replicas"),
    ("replicas_min", "minimum replicas"),
    ("replicas_mean", "mean replicas"),
    ("replicas_final", "replicas at the end"),
    ("instances_mean", "mean instances"),
    ("scale_events", "scale events"),
    ("queue_length_mean", "mean queue length"),
    ("in_system_mean", "mean requests in the system"),
    ("wait.mean_ms", "mean wait"),
    ("sojourn.mean_ms", "mean time in the component"),
    ("arrival_rps", "arrival rate"),
    ("departure_rps", "departure rate"),
    ("load_cv", "load imbalance (CV)"),
    ("wasted_work_ratio", "wasted work"),
    ("primary_utilization_max", "busiest primary's utilisation"),
    ("primary_utilization_mean", "mean primary utilisation"),
    ("follower_utilization_mean", "mean follower utilisation"),
    ("stale_read_ratio", "stale-read ratio"),
    ("depth_mean", "mean depth"),
    ("depth_max", "maximum depth"),
    ("fired", "times fired"),
    ("first_fired_s", "first fired at"),
    ("firing_s", "time firing"),
    ("detection_s", "detection time"),
];

/// The unit of `metric`, from its name.
pub fn unit_of(metric: &str) -> Unit {
    let leaf = metric.rsplit('.').next().unwrap_or(metric);
    if metric.ends_with("availability")
        || metric.ends_with("_ratio")
        || leaf.starts_with("utilization")
        || leaf.ends_with("utilization")
        || leaf.ends_with("utilization_max")
        || leaf.ends_with("utilization_mean")
        || metric.ends_with("_share")
    {
        Unit::Fraction
    } else if metric.ends_with("_ms") {
        Unit::Ms
    } else if metric.ends_with("_s") && !metric.ends_with("events_per_s") {
        Unit::Seconds
    } else if metric.ends_with("_rps") || metric.ends_with("_per_s") {
        Unit::PerSecond
    } else if metric.starts_with("cost.") && metric != "cost.instance_hours" {
        Unit::Dollars
    } else if metric.ends_with("nines") || metric.ends_with("load_cv") || metric.ends_with("_mean") {
        Unit::Plain
    } else if metric.starts_with("requests.")
        || metric.ends_with("retries")
        || metric.starts_with("data.")
        || metric.starts_with("sessions.")
        || metric.starts_with("consistency.")
        || leaf.starts_with("replicas")
        || leaf.ends_with("events")
        || leaf == "rejected"
        || leaf == "fired"
        || leaf == "failed"
        || leaf == "requests"
        || metric == "cost.instance_hours"
    {
        Unit::Count
    } else {
        Unit::Plain
    }
}

/// The human name of a leaf: from [`NAMES`], `latency.p95_ms` → "p95
/// latency", `breakdown` segments, else the words of the name.
fn leaf_name(leaf: &str) -> String {
    if let Some((_, n)) = NAMES.iter().find(|(k, _)| *k == leaf) {
        return (*n).to_string();
    }
    if let Some(q) = leaf.strip_prefix("latency.").and_then(|r| r.strip_suffix("_ms")) {
        return format!("{q} latency");
    }
    // breakdown.NAME.SEGMENT.STAT: "queue.mean_ms" → "mean queue time".
    for seg in ["network", "queue", "service", "downstream"] {
        if let Some(stat) = leaf.strip_prefix(seg).and_then(|r| r.strip_prefix('.')) {
            let what = match seg {
                "network" => "network time",
                "queue" => "queueing time",
                "service" => "service time",
                _ => "time downstream",
            };
            return match stat {
                "mean_ms" => format!("mean {what}"),
                s => format!("{} {what}", s.trim_end_matches("_ms")),
            };
        }
    }
    let trimmed = ["_ms", "_rps", "_s"]
        .iter()
        .find_map(|s| leaf.strip_suffix(s))
        .unwrap_or(leaf);
    trimmed.replace(['_', '.'], " ")
}

/// Upper-case the first letter (but not of a percentile: "p99 latency").
fn capitalised(s: &str) -> String {
    if s.starts_with('p') && s[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return s.to_string();
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The human description of a report.json metric.
pub fn describe(metric: &str) -> MetricDesc {
    let unit = unit_of(metric);
    for prefix in ["clients.", "components.", "breakdown.", "alerts."] {
        if let Some(rest) = metric.strip_prefix(prefix) {
            // Component names may hold dots; the leaf is what follows the
            // first dot that starts a known leaf, else the last segment.
            let split = rest
                .match_indices('.')
                .map(|(i, _)| i)
                .find(|&i| {
                    let leaf = &rest[i + 1..];
                    NAMES.iter().any(|(k, _)| *k == leaf)
                        || leaf.starts_with("latency.")
                        || ["network.", "queue.", "service.", "downstream."]
                            .iter()
                            .any(|s| leaf.starts_with(s))
                })
                .or_else(|| rest.rfind('.'));
            if let Some(i) = split {
                let (owner, leaf) = (&rest[..i], &rest[i + 1..]);
                return MetricDesc {
                    name: format!("{owner}: {}", leaf_name(leaf)),
                    unit,
                };
            }
        }
    }
    MetricDesc {
        name: capitalised(&leaf_name(metric)),
        unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_units_of_the_common_metrics() {
        let cases = [
            ("latency.p99_ms", "p99 latency (ms)"),
            ("latency.p95_ms", "p95 latency (ms)"),
            ("latency.mean_ms", "Mean latency (ms)"),
            ("latency.p999_ms", "p99.9 latency (ms)"),
            ("throughput_rps", "Throughput (req/s)"),
            ("availability", "Availability (%)"),
            ("error_ratio", "Error ratio (%)"),
            ("cost.total", "Total cost ($)"),
            ("requests.offered", "Requests offered"),
            ("components.api.utilization", "api: utilisation (%)"),
            ("components.api[3].utilization", "api[3]: utilisation (%)"),
            ("components.cache.hit_ratio", "cache: hit ratio (%)"),
            ("components.hpa.replicas_max", "hpa: maximum replicas"),
            (
                "components.db.primary_utilization_max",
                "db: busiest primary's utilisation (%)",
            ),
            ("clients.web.latency.p99_ms", "web: p99 latency (ms)"),
            ("clients.web.availability", "web: availability (%)"),
            ("breakdown.db.queue.mean_ms", "db: mean queueing time (ms)"),
            ("components.my.api.utilization", "my.api: utilisation (%)"),
            ("consistency.stale_read_ratio", "Stale-read ratio (%)"),
            ("availability.nines", "Availability (nines)"),
            (
                "alerts.high-errors.detection_s",
                "high-errors: detection time (s)",
            ),
            ("alerts.high-errors.fired", "high-errors: times fired"),
        ];
        for (m, want) in cases {
            assert_eq!(describe(m).axis_title(), want, "{m}");
        }
    }

    #[test]
    fn fractions_counts_and_plain_numbers() {
        assert_eq!(unit_of("components.api.utilization"), Unit::Fraction);
        assert_eq!(unit_of("requests.completed"), Unit::Count);
        assert_eq!(unit_of("components.hpa.scale_events"), Unit::Count);
        assert_eq!(unit_of("availability.nines"), Unit::Plain);
        assert_eq!(unit_of("components.api.queue_length_mean"), Unit::Plain);
        assert!(describe("availability").zero_based());
        assert!(!describe("availability.nines").zero_based());
    }
}

//! A message queue: producers enqueue, a consumer service works the messages off.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::forecast::Flow;
use super::{Edge, Home, Kind};
use crate::model::CompCfg;
use crate::model::queue::{Ack, QueueCfg};
use crate::scenario::limits::*;
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// A message queue: producers' calls complete on enqueue, a consumer
/// service processes the messages later.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The service (or a load balancer in front of one) that processes the messages.
    pub consumer: String,
    /// Messages handed to each serving replica of the consumer at once: its workers (default: its cores).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Messages that may wait; a message arriving at a full queue is rejected (default unbounded).
    #[serde(default)]
    pub capacity: Option<u64>,
    /// Waiting messages survive a broker crash (default true); `false` loses them.
    #[serde(default = "yes")]
    pub durable: bool,
    /// When the producer's call is answered: `after_enqueue` (default) or `after_processing`.
    #[serde(default)]
    pub ack: AckSpec,
    /// Deliveries of a message whose processing fails before it is dead-lettered (default 3).
    #[serde(default = "three_u16")]
    pub max_deliveries: u16,
    /// Hand messages to the consumer in batches (one call carries up to `size` messages).
    #[serde(default)]
    pub batch: Option<BatchSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
}

/// Batched delivery: a call to the consumer carries up to `size` messages.
/// A batch leaves when it is full, or when its oldest message has waited
/// `max_wait` (like Kafka's `batch.size` and `linger.ms`), and only while
/// the consumer has a free worker.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSpec {
    /// Most messages in one call.
    pub size: u32,
    /// Longest the oldest message waits for the batch to fill (default 0: send what is waiting).
    #[serde(default)]
    pub max_wait: Duration,
}

/// When a queue answers its producer.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AckSpec {
    /// Once the message is enqueued.
    #[default]
    AfterEnqueue,
    /// Once the consumer has processed it.
    AfterProcessing,
}

fn yes() -> bool {
    true
}

fn three_u16() -> u16 {
    3
}

impl Kind for QueueSpec {
    fn home(&self) -> Home<'_> {
        Home::region(self.region.as_ref())
    }

    fn edges(&self, _name: &str) -> Vec<Edge<'_>> {
        vec![Edge::new("consumer", &self.consumer)]
    }

    fn instances(&self) -> Option<u32> {
        Some(1)
    }

    /// Everything goes to the consumer.
    fn flows(&self, c: &CompCfg, _cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
        let CompCfg::Queue(q) = c else {
            return (Vec::new(), None);
        };
        (
            vec![Flow {
                to: q.consumer as usize,
                reads: 1.0,
                writes: 1.0,
            }],
            None,
        )
    }

    fn decouples(&self, c: &CompCfg) -> bool {
        matches!(c, CompCfg::Queue(q) if q.ack == Ack::AfterEnqueue)
    }

    /// A queue is its consumer's waiting room: end to end is about the
    /// consumer's response time (wait + service).
    fn refine(&self, c: &CompCfg, response_ms: &dyn Fn(usize) -> Option<f64>) -> Option<String> {
        let CompCfg::Queue(q) = c else { return None };
        let e2e = response_ms(q.consumer_service.unwrap_or(q.consumer) as usize);
        let ack = match q.ack {
            Ack::AfterEnqueue => "answers on enqueue",
            Ack::AfterProcessing => "answers after processing",
        };
        Some(match e2e {
            Some(ms) => format!("{ack}; end to end ≈ {ms:.2} ms (the consumer's response)"),
            None => ack.to_string(),
        })
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let q = self;
        // The service behind the consumer, whose cores and serving
        // replicas size the workers.
        let svc = match cx.sc.components.get(&q.consumer) {
            Some(ComponentSpec::Service(s)) => Some((q.consumer.as_str(), s)),
            Some(ComponentSpec::LoadBalancer(b)) => match cx.sc.components.get(&b.backends) {
                Some(ComponentSpec::Service(s)) => Some((b.backends.as_str(), s)),
                _ => None,
            },
            _ => None,
        };
        let consumer_service = svc.and_then(|(n, _)| cx.comp_id(n));
        let workers = q
            .concurrency
            .unwrap_or_else(|| svc.map_or(1, |(_, s)| s.cores.max(1)));
        let consumer = match cx.sc.components.get(&q.consumer) {
            Some(ComponentSpec::Service(_) | ComponentSpec::LoadBalancer(_)) => {
                cx.comp_id(&q.consumer).unwrap_or(0)
            }
            Some(other) => {
                ck.err(
                            format!("{p}.consumer"),
                            format!(
                                "`{}` is {}; a queue's consumer must be a service (or a load balancer in front of one)",
                                q.consumer,
                                other.a_kind()
                            ),
                        );
                0
            }
            None => {
                ck.err(
                    format!("{p}.consumer"),
                    format!(
                        "no component named `{}` (components are {})",
                        q.consumer,
                        cx.known()
                    ),
                );
                0
            }
        };
        match q.concurrency {
            Some(0) => ck.err(format!("{p}.concurrency"), "concurrency must be at least 1"),
            Some(n) if n > MAX_CONCURRENCY => ck.err(
                format!("{p}.concurrency"),
                format!("at most {MAX_CONCURRENCY} workers, found {n}"),
            ),
            _ => {}
        }
        if q.capacity == Some(0) {
            ck.err(
                format!("{p}.capacity"),
                "capacity must be at least 1 (omit it for an unbounded queue)",
            );
        }
        if q.max_deliveries == 0 {
            ck.err(format!("{p}.max_deliveries"), "max_deliveries must be at least 1");
        }
        if let Some(b) = &q.batch {
            if !(1..=MAX_BATCH).contains(&b.size) {
                ck.err(
                    format!("{p}.batch.size"),
                    format!("batch size must be between 1 and {MAX_BATCH}, found {}", b.size),
                );
            } else if u64::from(workers.clamp(1, MAX_CONCURRENCY)) * u64::from(b.size) > MAX_BATCH_SLOTS {
                // Every worker's batch reserves room for a full batch.
                ck.err(
                    format!("{p}.batch.size"),
                    format!(
                        "workers × batch size may be at most {MAX_BATCH_SLOTS} message slots, found \
                                 {workers} × {}; use smaller batches or set a lower `concurrency`",
                        b.size
                    ),
                );
            }
        }
        CompCfg::Queue(QueueCfg {
            name: name.to_string(),
            consumer,
            concurrency: workers.clamp(1, MAX_CONCURRENCY),
            consumer_service,
            capacity: q.capacity.unwrap_or(u64::MAX),
            durable: q.durable,
            ack: match q.ack {
                AckSpec::AfterEnqueue => Ack::AfterEnqueue,
                AckSpec::AfterProcessing => Ack::AfterProcessing,
            },
            max_deliveries: q.max_deliveries.max(1),
            batch: q.batch.as_ref().map_or(1, |b| {
                u16::try_from(b.size.clamp(1, MAX_BATCH)).unwrap_or(u16::MAX)
            }),
            max_wait: q.batch.as_ref().map_or(0, |b| b.max_wait.as_nanos()),
        })
    }
}

//! What travels through the event queue: [`Msg`] and its fingerprint code.

use super::request::{Outcome, ReqRef};
use crate::engine::Message;

/// Target id for messages addressed to the world itself (sampling, warm-up).
pub const WORLD: u32 = u32::MAX;

/// What travels through the event queue.
#[derive(Clone, Copy, Debug)]
pub enum Msg {
    /// A client's next arrival; for a closed loop, user `user`'s next request.
    Arrive {
        /// Closed-loop user (0 for open clients).
        user: u32,
    },
    /// A request hop delivered to the component that serves it.
    Request(ReqRef),
    /// The answer to a hop, delivered to its `reply_to`.
    Response(ReqRef, Outcome),
    /// A FIFO replica finished a request's service time.
    Done(ReqRef),
    /// Processor sharing: replica `replica`'s earliest job may be finished
    /// (ignored unless `generation` is still current).
    PsDone {
        /// Replica index.
        replica: u32,
        /// Reschedule generation.
        generation: u32,
    },
    /// A hop the receiver waits for has taken too long.
    Timeout(ReqRef),
    /// A delayed step of a record the receiver owns (a cache's lookup time,
    /// a follower applying a replicated write, a directory lookup).
    Later(ReqRef),
    /// Cache-aside fill: store the record's key and version; the receiver
    /// frees the record (no answer).
    Fill(ReqRef),
    /// A timed scenario event addressed to the receiver (its own code).
    Event(u32),
    /// A periodic timer of the receiver (write-back flushes).
    Tick,
    /// A health-check probe of replica `replica`, answered to `from` by a
    /// replica that is up.
    Probe {
        /// The balancer asking.
        from: u32,
        /// Replica probed.
        replica: u32,
        /// Probe round.
        seq: u32,
    },
    /// A replica answers a probe.
    ProbeReply {
        /// Replica.
        replica: u32,
        /// Probe round.
        seq: u32,
    },
    /// A started replica has finished starting (ignored unless `epoch` is still current).
    Ready {
        /// Replica slot.
        replica: u32,
        /// Start generation.
        epoch: u32,
    },
    /// A service tells the balancers in front how many replicas serve.
    Members(u32),
    /// A probe's time is up.
    ProbeTimeout {
        /// Replica.
        replica: u32,
        /// Probe round.
        seq: u32,
    },
    /// World: fault `idx` starts (`on`) or ends for one instance.
    Fault {
        /// Index into the scheduled faults, then the random ones.
        idx: u32,
        /// Instance of a random fault (0 otherwise).
        instance: u32,
        /// Starts (true) or ends.
        on: bool,
    },
    /// World: end of warm-up, statistics restart.
    Warmup,
    /// World: middle of the measured window (stability check).
    Midpoint,
    /// World: a time-series interval ends.
    Sample,
}

impl Message for Msg {
    #[inline]
    fn code(&self) -> u64 {
        match *self {
            Msg::Arrive { user } => 1 | (u64::from(user) << 8),
            Msg::Request(r) => 2 ^ (r.code() << 8),
            Msg::Response(r, o) => 3 ^ ((o as u64) << 4) ^ (r.code() << 8),
            Msg::Done(r) => 4 ^ (r.code() << 8),
            Msg::PsDone { replica, generation } => {
                5 ^ (u64::from(replica) << 8) ^ (u64::from(generation) << 32)
            }
            Msg::Timeout(r) => 6 ^ (r.code() << 8),
            Msg::Warmup => 7,
            Msg::Midpoint => 8,
            Msg::Sample => 9,
            Msg::Later(r) => 10 ^ (r.code() << 8),
            Msg::Fill(r) => 11 ^ (r.code() << 8),
            Msg::Event(c) => 12 ^ (u64::from(c) << 8),
            Msg::Tick => 13,
            Msg::Probe { from, replica, seq } => {
                15 ^ (u64::from(from) << 8) ^ (u64::from(replica) << 24) ^ (u64::from(seq) << 40)
            }
            Msg::ProbeReply { replica, seq } => 16 ^ (u64::from(replica) << 8) ^ (u64::from(seq) << 40),
            Msg::ProbeTimeout { replica, seq } => 17 ^ (u64::from(replica) << 8) ^ (u64::from(seq) << 40),
            Msg::Ready { replica, epoch } => 18 ^ (u64::from(replica) << 8) ^ (u64::from(epoch) << 40),
            Msg::Members(n) => 19 ^ (u64::from(n) << 8),
            Msg::Fault { idx, instance, on } => {
                14 ^ (u64::from(idx) << 8) ^ (u64::from(instance) << 32) ^ (u64::from(on) << 63)
            }
        }
    }
}

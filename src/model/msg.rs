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
    /// A hop the receiver waits for has taken too long.
    Timeout(ReqRef),
    /// A delayed step of a record the receiver owns (a cache's lookup time,
    /// a follower applying a replicated write, a directory lookup).
    Later(ReqRef),
    /// Cache-aside fill: store the record's key and version; the receiver
    /// frees the record (no answer).
    Fill(ReqRef),
    /// A timed scenario event addressed to the receiver (its own code: a
    /// database's [`ADD_SHARD`](super::database::ADD_SHARD) or
    /// [`REMOVE_SHARD`](super::database::REMOVE_SHARD)).
    Event(u32),
    /// One of the receiver's own timers, set by itself: each component
    /// reads it as its own [`Timer`] enum.
    Timer(TimerWord),
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
    /// A service tells the balancers in front how many replicas serve.
    Members(u32),
    /// A service tells the balancers in front that replica `replica` leaves
    /// (`serving: false`) or rejoins their rotation: it is draining for a
    /// deploy, failing its readiness probe, or restarting (Kubernetes takes a
    /// pod out of its Service's endpoints the same way).
    Rotation {
        /// Replica slot.
        replica: u32,
        /// In rotation from now on.
        serving: bool,
    },
    /// A service's replica `replica` heartbeats to a registry.
    Heartbeat {
        /// The service's component id.
        service: u32,
        /// Replica slot.
        replica: u32,
    },
    /// A client asks a registry for the live instances of `service`.
    Lookup {
        /// Who asks (the answer goes there).
        from: u32,
        /// The service's component id.
        service: u32,
    },
    /// A registry's answer to a [`Msg::Lookup`]: the live replica slots, as bits.
    View(u64),
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
    #[inline(always)]
    fn slot(&self) -> Option<u32> {
        match *self {
            Msg::Request(r)
            | Msg::Response(r, _)
            | Msg::Done(r)
            | Msg::Timeout(r)
            | Msg::Later(r)
            | Msg::Fill(r) => Some(r.idx),
            _ => None,
        }
    }

    #[inline]
    fn code(&self) -> u64 {
        match *self {
            Msg::Arrive { user } => 1 | (u64::from(user) << 8),
            Msg::Request(r) => 2 ^ (r.code() << 8),
            Msg::Response(r, o) => 3 ^ ((o as u64) << 4) ^ (r.code() << 8),
            Msg::Done(r) => 4 ^ (r.code() << 8),
            Msg::Timeout(r) => 6 ^ (r.code() << 8),
            Msg::Warmup => 7,
            Msg::Midpoint => 8,
            Msg::Sample => 9,
            Msg::Later(r) => 10 ^ (r.code() << 8),
            Msg::Fill(r) => 11 ^ (r.code() << 8),
            Msg::Event(c) => 12 ^ (u64::from(c) << 8),
            Msg::Timer(w) => w.code(),
            Msg::Probe { from, replica, seq } => {
                15 ^ (u64::from(from) << 8) ^ (u64::from(replica) << 24) ^ (u64::from(seq) << 40)
            }
            Msg::ProbeReply { replica, seq } => 16 ^ (u64::from(replica) << 8) ^ (u64::from(seq) << 40),
            Msg::Members(n) => 19 ^ (u64::from(n) << 8),
            Msg::Rotation { replica, serving } => 23 ^ (u64::from(replica) << 8) ^ (u64::from(serving) << 40),
            Msg::Heartbeat { service, replica } => {
                41 ^ (u64::from(service) << 8) ^ (u64::from(replica) << 40)
            }
            Msg::Lookup { from, service } => 42 ^ (u64::from(from) << 8) ^ (u64::from(service) << 40),
            Msg::View(mask) => 43 ^ (mask << 8) ^ (mask >> 56),
            Msg::Fault { idx, instance, on } => {
                14 ^ (u64::from(idx) << 8) ^ (u64::from(instance) << 32) ^ (u64::from(on) << 63)
            }
        }
    }
}

/// A component's own timer as it travels in [`Msg::Timer`]: a kind byte,
/// two 32-bit fields, and where the second field sits in the fingerprint
/// code. Components never build or read one by hand: each defines its
/// timers as its own enum implementing [`Timer`], whose `encode` and
/// `decode` are the only places that know the layout.
///
/// The fingerprint code is `kind ^ (a << 8) ^ (b << shift)`. Each timer's
/// encoding is chosen so that this is exactly the code the same event had
/// when it was a variant of [`Msg`] of its own (`PsDone`, `Ready`, `Tick`,
/// `ProbeTimeout`, or a self-addressed `Event` with a packed code), so
/// fingerprints did not move when the timers became typed. The fields
/// themselves are kept whole, so decoding is exact even where the code
/// truncates a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerWord {
    kind: u8,
    shift: u8,
    a: u32,
    b: u32,
}

impl TimerWord {
    /// A word of kind `kind` carrying `a` and `b`, whose fingerprint code is
    /// `kind ^ (a << 8) ^ (b << shift)` (`shift` below 64).
    #[inline]
    pub const fn new(kind: u8, a: u32, b: u32, shift: u8) -> TimerWord {
        TimerWord { kind, shift, a, b }
    }

    /// The kind byte.
    #[inline]
    pub const fn kind(self) -> u8 {
        self.kind
    }

    /// The first field.
    #[inline]
    pub const fn a(self) -> u32 {
        self.a
    }

    /// The second field.
    #[inline]
    pub const fn b(self) -> u32 {
        self.b
    }

    /// The fingerprint code.
    #[inline]
    pub const fn code(self) -> u64 {
        (self.kind as u64) ^ ((self.a as u64) << 8) ^ ((self.b as u64) << self.shift)
    }
}

/// A component's private timers: a small `Copy` enum that only its own
/// component schedules (to itself) and handles, carried by [`Msg::Timer`].
pub trait Timer: Copy {
    /// The word this timer travels as (see [`TimerWord`] for the code).
    fn encode(self) -> TimerWord;
    /// The timer a word encodes (`None`: not one of this component's).
    fn decode(w: TimerWord) -> Option<Self>;
    /// Its name in traces.
    fn name(self) -> &'static str;
}

impl Msg {
    /// Timer `t` as a message.
    #[inline]
    pub fn timer<T: Timer>(t: T) -> Msg {
        Msg::Timer(t.encode())
    }
}

/// The trace name of word `w` read as a timer of type `T` (`"timer"` if it
/// is not one): what a component returns from
/// [`Component::timer_name`](super::Component::timer_name).
pub fn timer_name<T: Timer>(w: TimerWord) -> &'static str {
    T::decode(w).map_or("timer", T::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_stays_sixteen_bytes() {
        // 16 bytes before the timers became typed, and no more after.
        assert_eq!(std::mem::size_of::<Msg>(), 16);
        assert_eq!(std::mem::size_of::<TimerWord>(), 12);
    }

    #[test]
    fn timer_word_code_is_the_xor_layout() {
        let w = TimerWord::new(5, 7, 9, 32);
        assert_eq!(w.code(), 5 ^ (7 << 8) ^ (9 << 32));
        assert_eq!(Msg::Timer(w).code(), w.code());
        assert_eq!(TimerWord::new(13, 0, 0, 0).code(), 13);
    }
}

//! The [`Component`] trait: what every client and component kind implements.

use super::config::FaultAction;
use super::ctx::{Ctx, Metrics, ReportCtx};
use super::msg::{Msg, TimerWord};
use crate::engine::SimTime;

/// A client or component of the simulated system.
pub trait Component {
    /// Its name in the scenario.
    fn name(&self) -> &str;
    /// React to a message.
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx);
    /// Start the first events (arrivals) at time zero.
    fn start(&mut self, _ctx: &mut Ctx) {}
    /// Warm-up ends: restart time averages and counters.
    fn on_warmup(&mut self, _now: SimTime) {}
    /// Middle of the measured window.
    fn on_midpoint(&mut self, _now: SimTime) {}
    /// Names of this component's time-series columns.
    fn columns(&self, _out: &mut Vec<String>) {}
    /// Values of those columns for the interval ending now.
    fn sample(&mut self, _now: SimTime, _out: &mut Vec<f64>) {}
    /// Final metrics.
    fn report(&self, _rc: &ReportCtx, _out: &mut Metrics, _notes: &mut Vec<String>) {}
    /// Requests this component holds now (queued or in service): names the
    /// bottleneck when an unstable run is stopped.
    fn backlog(&self) -> u64 {
        0
    }
    /// The client's latency histogram, for the overall percentiles.
    fn client_latency(&self) -> Option<&crate::stats::Histogram> {
        None
    }
    /// A fault starts (`on`) or ends.
    fn fault(&mut self, _action: FaultAction, _on: bool, _ctx: &mut Ctx) {}
    /// Time intervals of its own to shade on the time charts (a deploy
    /// window), read at the end of the run (`now`: the end).
    fn annotations(&self, _now: SimTime, _out: &mut Vec<super::Annotation>) {}
    /// What in this component's configuration takes zero simulated time
    /// and could keep a request looping at one instant (a think time, a
    /// retry backoff, a service time of 0s), with the fix: advice when the
    /// run is stopped because its clock stopped. `None`: nothing to say.
    fn zero_time_advice(&self) -> Option<String> {
        None
    }
    /// The trace name of one of this component's own timers (a component
    /// with timers answers [`timer_name`](super::timer_name) of its
    /// [`Timer`](super::Timer) type).
    fn timer_name(&self, _w: TimerWord) -> &'static str {
        "timer"
    }
}

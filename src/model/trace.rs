//! Event traces: one JSON line per event the engine delivers, so a student
//! can follow single requests through the system.
//!
//! A line is `{"t_s", "component", "instance", "request", "kind"}`:
//! `instance` is the replica (or node) serving the hop when known,
//! `request` the logical request number (shared by every hop and retry of
//! one client request), `kind` what happened (`arrive`, `request`,
//! `response:ok`, `done`, `timeout`, …). Filters keep one component, a
//! time window, or a sample of the requests (whole requests: a request is
//! kept or dropped with all its hops).

use std::io::Write;
use std::path::PathBuf;

use super::{Arena, Msg, Outcome};
use crate::engine::SimTime;

/// How every trace line starts (how archsim recognises a trace it wrote
/// before, which `--trace` may replace).
pub const LINE_START: &[u8] = b"{\"t_s\":";

/// What to trace.
#[derive(Clone, Debug)]
pub struct TraceCfg {
    /// Output file (written atomically when the run ends).
    pub path: PathBuf,
    /// Only events delivered to this component id.
    pub component: Option<u32>,
    /// Only events at or after this time.
    pub from: SimTime,
    /// Only events before this time.
    pub to: SimTime,
    /// Share of the requests kept (1 = all).
    pub sample: f64,
}

/// A trace being written.
pub struct Tracer {
    cfg: TraceCfg,
    out: crate::files::AtomicFile,
    names: Vec<String>,
    threshold: u64,
    /// Lines written.
    pub lines: u64,
    error: Option<String>,
}

impl Tracer {
    /// Open a temporary file next to the destination (removed if the
    /// trace is not finished).
    pub fn new(cfg: TraceCfg, names: Vec<String>) -> std::io::Result<Tracer> {
        let out = crate::files::AtomicFile::create(&cfg.path)?;
        let threshold = if cfg.sample >= 1.0 {
            u64::MAX
        } else {
            (cfg.sample.max(0.0) * u64::MAX as f64) as u64
        };
        Ok(Tracer {
            cfg,
            out,
            names,
            threshold,
            lines: 0,
            error: None,
        })
    }

    /// Record one delivered event (`comp` is its target, which names its
    /// own timers).
    pub fn record(
        &mut self,
        now: SimTime,
        target: u32,
        msg: &Msg,
        reqs: &Arena,
        comp: &dyn super::Component,
    ) {
        if now < self.cfg.from || now >= self.cfg.to || self.cfg.component.is_some_and(|c| c != target) {
            return;
        }
        let (kind, req): (&str, Option<super::ReqRef>) = match *msg {
            Msg::Arrive { .. } => ("arrive", None),
            Msg::Request(r) => ("request", Some(r)),
            Msg::Response(r, Outcome::Ok) => ("response:ok", Some(r)),
            Msg::Response(r, Outcome::Failed) => ("response:failed", Some(r)),
            Msg::Response(r, Outcome::Rejected) => ("response:rejected", Some(r)),
            Msg::Response(r, Outcome::Miss) => ("response:miss", Some(r)),
            Msg::Done(r) => ("done", Some(r)),
            Msg::Timeout(r) => ("timeout", Some(r)),
            Msg::Later(r) => ("later", Some(r)),
            Msg::Fill(r) => ("fill", Some(r)),
            Msg::Event(_) => ("event", None),
            Msg::Timer(w) => (comp.timer_name(w), None),
            Msg::Probe { .. } => ("probe", None),
            Msg::ProbeReply { .. } => ("probe_reply", None),
            Msg::Members(_) => ("members", None),
            Msg::Rotation { .. } => ("rotation", None),
            Msg::Heartbeat { .. } => ("heartbeat", None),
            Msg::Lookup { .. } => ("lookup", None),
            Msg::View(_) => ("view", None),
            Msg::Fault { .. } | Msg::Warmup | Msg::Midpoint | Msg::Sample => return,
        };
        let rec = req.and_then(|r| reqs.get(r));
        let origin = rec.map(|r| r.origin);
        if self.threshold != u64::MAX {
            match origin {
                Some(o) if crate::engine::rng::mix_seed(o, 0x0074_7261_6365) > self.threshold => return,
                None => return,
                _ => {}
            }
        }
        let name = self.names.get(target as usize).map_or("?", String::as_str);
        let mut line = format!(
            "{{\"t_s\":{:.9},\"component\":{}",
            now as f64 / 1e9,
            serde_json::to_string(name).unwrap_or_default()
        );
        if let Some(r) = rec
            && r.replica != super::ANY_REPLICA
        {
            line.push_str(&format!(",\"instance\":{}", r.replica));
        }
        if let Some(o) = origin {
            line.push_str(&format!(",\"request\":{o}"));
        }
        line.push_str(&format!(",\"kind\":\"{kind}\"}}\n"));
        // After the first write error the trace is abandoned (and reported).
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.out.write_all(line.as_bytes()) {
            self.error = Some(e.to_string());
        }
        self.lines += 1;
    }

    /// Flush and move the file into place (on an error the temporary file
    /// is removed and the destination left as it was).
    pub fn finish(mut self) -> Result<u64, String> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.finish().map_err(|e| e.to_string())?;
        Ok(self.lines)
    }
}

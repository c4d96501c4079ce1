//! The network: latency between components and regions, and the network
//! faults in force (partitions, injected latency, region outages).

use crate::engine::SimTime;
use crate::engine::rng::Rng;
use crate::engine::sampler::Sampler;

/// No region (a scenario without `network.regions`, or a database spread
/// over several).
pub const NO_REGION: u16 = u16::MAX;

/// The network: latency between components and regions, and the network
/// faults in force (partitions, injected latency, region outages).
///
/// Every message between components goes through [`Ctx::send`](super::Ctx::send); with no
/// regions and no network fault in force it takes the one-sampler fast path.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// One-way latency of a hop inside a region; `None` is zero.
    pub latency: Option<Sampler>,
    /// Region names.
    pub regions: Vec<String>,
    /// Region of each client and component id ([`NO_REGION`] = none).
    pub region: Vec<u16>,
    /// One-way latency between regions `a` and `b` at `a * regions + b`
    /// (`None`: the in-region latency).
    pub between: Vec<Option<Sampler>>,
    /// Partitions in force: (fault index, groups).
    pub cuts: Vec<(u32, std::sync::Arc<Groups>)>,
    /// Injected latency in force: (fault index, sides, extra ns).
    pub extra: Vec<(u32, std::sync::Arc<Groups>, u64)>,
    /// Regions out (every component in them unreachable).
    pub down: Vec<bool>,
    /// Nothing but the in-region latency applies (the fast path).
    pub simple: bool,
    /// Ids below this are clients: users, who outlive a region outage (the
    /// data centre goes down, not its users).
    pub clients: u32,
}

/// Components split into numbered groups (0 = in none), by component id
/// and by region: a partition's sides, or the two ends of injected latency.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Groups {
    /// Group of each client and component id.
    pub comp: Vec<u16>,
    /// Group of each region (for database nodes placed in regions).
    pub region: Vec<u16>,
}

impl Groups {
    /// Whether `a` and `b` are on two different sides.
    #[inline]
    fn split(&self, a: u32, b: u32) -> bool {
        let ga = self.comp.get(a as usize).copied().unwrap_or(0);
        let gb = self.comp.get(b as usize).copied().unwrap_or(0);
        ga != 0 && gb != 0 && ga != gb
    }
}

impl Network {
    /// Recompute the fast-path flag after a change.
    pub fn refresh(&mut self) {
        self.simple = self.between.is_empty()
            && self.cuts.is_empty()
            && self.extra.is_empty()
            && !self.down.contains(&true);
    }

    /// Whether a partition in force separates `a` and `b`, or either is in
    /// a region that is out.
    pub fn cut(&self, a: u32, b: u32) -> bool {
        let out = |c: u32| {
            c >= self.clients
                && self
                    .region
                    .get(c as usize)
                    .is_some_and(|&r| self.down.get(r as usize).copied().unwrap_or(false))
        };
        self.cuts.iter().any(|(_, g)| g.split(a, b)) || out(a) || out(b)
    }

    /// Whether a caller `caller` can reach a database node placed in
    /// region `node_region` (partitions only: outages crash the node).
    pub fn reaches(&self, caller: u32, node_region: u16) -> bool {
        self.cuts.iter().all(|(_, g)| {
            let gc = g.comp.get(caller as usize).copied().unwrap_or(0);
            let gn = g.region.get(node_region as usize).copied().unwrap_or(0);
            gc == 0 || gn == 0 || gc == gn
        })
    }

    /// Whether database nodes in regions `a` and `b` can reach each other.
    pub fn regions_reach(&self, a: u16, b: u16) -> bool {
        self.cuts.iter().all(|(_, g)| {
            let ga = g.region.get(a as usize).copied().unwrap_or(0);
            let gb = g.region.get(b as usize).copied().unwrap_or(0);
            ga == 0 || gb == 0 || ga == gb
        })
    }

    /// The distribution of a hop's one-way latency from `from` to `to`: the
    /// latency between their regions if one is set, else the in-region
    /// latency (`None`: zero).
    #[inline]
    fn hop(&self, from: u32, to: u32) -> Option<&Sampler> {
        let n = self.regions.len();
        let ra = self.region.get(from as usize).copied().unwrap_or(NO_REGION);
        let rb = self.region.get(to as usize).copied().unwrap_or(NO_REGION);
        (ra != rb && ra != NO_REGION && rb != NO_REGION)
            .then(|| self.between.get(ra as usize * n + rb as usize))
            .flatten()
            .and_then(|s| s.as_ref())
            .or(self.latency.as_ref())
    }

    /// Mean one-way latency (ns) of a hop from `from` to `to`, as
    /// [`Network::delay`] draws it, leaving out latency a fault injects for
    /// its window.
    pub fn mean_delay_ns(&self, from: u32, to: u32) -> f64 {
        self.hop(from, to).map_or(0.0, Sampler::mean_ns)
    }

    /// One-way latency of a hop from `from` to `to`, drawn from `rng`.
    pub(super) fn delay(&self, rng: &mut Rng, from: u32, to: u32) -> SimTime {
        let mut d = self.hop(from, to).map_or(0, |s| s.sample(rng));
        for (_, g, add) in &self.extra {
            if g.split(from, to) {
                d = d.saturating_add(*add);
            }
        }
        d
    }
}

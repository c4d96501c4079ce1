//! The network: regions, where each client and component runs, latencies within and between regions.

use super::*;

/// The index of region `name`, or a located error.
pub(crate) fn region_index(ck: &mut Checker, sc: &Scenario, path: &str, name: &str) -> Option<u16> {
    match ck.region(name) {
        Some(i) => Some(i),
        None => {
            let known = if sc.network.regions.is_empty() {
                "`network.regions` lists none".to_string()
            } else {
                let more = sc.network.regions.len().saturating_sub(MAX_REGIONS);
                format!(
                    "regions are {}{}",
                    sc.network
                        .regions
                        .iter()
                        .take(MAX_REGIONS)
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            };
            ck.err(path, format!("no region named `{name}` ({known})"));
            None
        }
    }
}

/// The network: in-region latency, regions, the latency between them, and
/// the region of every client and component.
pub(crate) fn network(ck: &mut Checker, sc: &Scenario) -> Network {
    let latency = match &sc.network.latency {
        Some(d) => ck.sampler("network.latency", d).filter(|s| !s.is_zero()),
        None => None,
    };
    let regions = sc.network.regions.clone();
    if regions.len() > MAX_REGIONS {
        ck.err(
            "network.regions",
            format!("at most {MAX_REGIONS} regions, found {}", regions.len()),
        );
    }
    for (i, r) in regions.iter().enumerate() {
        if ck.region(r).is_some_and(|first| usize::from(first) != i) {
            ck.err(
                format!("network.regions.{i}"),
                format!("region `{r}` is listed twice"),
            );
        }
    }
    let n = regions.len().min(MAX_REGIONS);
    let mut between: Vec<Option<Sampler>> = if regions.len() > 1 && n == regions.len() {
        vec![None; n * n]
    } else {
        Vec::new()
    };
    for (i, b) in sc.network.between.iter().enumerate() {
        let bp = format!("network.between.{i}");
        if b.regions.len() != 2 {
            ck.err(format!("{bp}.regions"), "name exactly two regions");
            continue;
        }
        let a = region_index(ck, sc, &format!("{bp}.regions.0"), &b.regions[0]);
        let c = region_index(ck, sc, &format!("{bp}.regions.1"), &b.regions[1]);
        let lat = ck.sampler(&format!("{bp}.latency"), &b.latency);
        if let (Some(a), Some(c), Some(lat)) = (a, c, lat)
            && !between.is_empty()
        {
            between[a as usize * n + c as usize] = Some(lat.clone());
            between[c as usize * n + a as usize] = Some(lat);
        }
    }
    let default = if regions.is_empty() { NO_REGION } else { 0 };
    let mut region = Vec::new();
    for (name, c) in &sc.clients {
        region.push(match &c.region {
            Some(r) => region_index(ck, sc, &format!("clients.{name}.region"), r).unwrap_or(default),
            None => default,
        });
    }
    for (name, c) in &sc.components {
        let p = format!("components.{name}");
        let r = match c.as_kind().home() {
            Home::Default => default,
            Home::Everywhere => NO_REGION,
            Home::Region(r) => region_index(ck, sc, &format!("{p}.region"), r).unwrap_or(default),
            Home::Placement { region, placement } => {
                let mut r = match (region, placement.first()) {
                    (Some(r), _) => region_index(ck, sc, &format!("{p}.region"), r).unwrap_or(default),
                    (None, Some(r)) => {
                        region_index(ck, sc, &format!("{p}.placement.0"), r).unwrap_or(default)
                    }
                    (None, None) => default,
                };
                let mut placed = Vec::new();
                for (i, pl) in placement.iter().enumerate() {
                    if let Some(x) = region_index(ck, sc, &format!("{p}.placement.{i}"), pl) {
                        placed.push(x);
                    }
                }
                // A database spread over regions is reached in every one: the
                // network never cuts it off as a whole; its nodes are split.
                if placed.iter().any(|&x| x != placed[0]) {
                    r = NO_REGION;
                }
                r
            }
        };
        region.push(r);
    }
    let mut net = Network {
        latency,
        regions,
        region,
        between,
        down: vec![false; n],
        clients: sc.clients.len() as u32,
        ..Network::default()
    };
    net.refresh();
    net
}

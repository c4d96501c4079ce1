//! Every limit a scenario is checked against, in one place.
//!
//! The model allocates its tables up front from numbers the user writes
//! (replicas, keys, identities, cache capacity, time-series rows), and its
//! timers fire as often as the user says. Each limit here keeps one of those
//! within what a laptop can hold or finish; validation reports the field
//! that crosses it and states the limit. The values are generous for real
//! capacity planning: each one is far above what a production system has of
//! that thing, or what a chart can show.

use std::fmt::Write as _;
use std::path::Path;

// ---------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------

/// Shortest period of a repeating timer (health checks, autoscaler syncs,
/// write-back flushes, backups, random-failure cycles, diurnal cycles): 1 ms.
/// Real control loops run every second or more (Kubernetes syncs its HPA
/// every 15 s); a 1 ms floor still allows sub-second experiments while a
/// timer fires at most 1,000 times per simulated second per instance, so a
/// run cannot be drowned in its own ticks.
pub const MIN_PERIOD_NS: u64 = 1_000_000;

// ---------------------------------------------------------------------------
// One thing
// ---------------------------------------------------------------------------

/// Largest replica count a service (or autoscaler `max`) may have, and the
/// most nodes a cache may have.
pub const MAX_REPLICAS: u32 = 100_000;
/// Largest core count per replica or database node.
pub const MAX_CORES: u32 = 1_000_000;
/// Largest closed-loop population, of one client and of all together.
pub const MAX_USERS: u32 = 10_000_000;
/// Most identities (distinct users) of one client, and of all clients
/// together: sticky balancers and stateful services keep a table entry per
/// identity.
pub const MAX_IDENTITIES: u64 = 1 << 24;
/// Long-lived client connections, over all clients (a `layer: 4` balancer keeps a slot for each).
pub const MAX_CONNECTIONS: u32 = 1_000_000;
/// Largest consistent-hash ring of one balancer or database, and of all of
/// them together (each point is 16 bytes).
pub const MAX_RING_POINTS: u64 = 10_000_000;
/// Longest simulated duration (100 years): times stay far from u64 overflow.
pub const MAX_DURATION_NS: u64 = 100 * 365 * 86_400 * 1_000_000_000;
/// Largest key space a database or LFU cache may index (dense tables).
pub const MAX_DATA_KEYS: u64 = 1 << 25;
/// Most entries of one cache (nodes × capacity), and of all caches and CDNs
/// together: entries are allocated up front.
pub const MAX_CACHE_ENTRIES: u64 = 1 << 24;
/// Most per-key version cells one database may keep (keys × copies per key).
pub const MAX_DB_CELLS: u64 = 1 << 27;
/// Most Raft log entries a database may hold (shards × members × 2 ×
/// `log_capacity`, 16 bytes each: 512 MiB).
pub const MAX_RAFT_LOG_ENTRIES: u64 = 1 << 25;
/// Most key copies a run's database backups may make (keys × backups): a
/// backup snapshots every key, about 10 ns each, so this is seconds of work.
pub const MAX_BACKUP_COPIES: u64 = 1 << 30;
/// Most session-token cells one database may keep (identities × shards;
/// two 4-byte tokens each, so 128 MiB): a `session:` block tracks what each
/// user last wrote and read on each shard.
pub const MAX_SESSION_CELLS: u64 = 1 << 24;
/// Most shards a database may have (resharding events included).
pub const MAX_SHARDS: u32 = 10_000;
/// Largest quorum group `n`.
pub const MAX_QUORUM_N: u32 = 64;
/// Most followers per shard.
pub const MAX_FOLLOWERS: u32 = 63;
/// Most virtual nodes per shard of a consistent-hash database.
pub const MAX_VNODES: u32 = 1 << 20;
/// Most attempts a retry policy may make.
pub const MAX_ATTEMPTS: u32 = 100;
/// Most regions a scenario may have.
pub const MAX_REGIONS: usize = 64;
/// Most consumer workers of one queue.
pub const MAX_CONCURRENCY: u32 = 1_000_000;
/// Largest batch a queue hands its consumer.
pub const MAX_BATCH: u32 = u16::MAX as u32;

// ---------------------------------------------------------------------------
// All things together
// ---------------------------------------------------------------------------

/// Most entries of the dense per-key and per-identity tables of the whole
/// scenario (4 bytes each, so 1 GiB): every database keeps the committed
/// version of every key plus one cell per node (and one more for a quorum
/// coordinator, a backup and a directory), an LFU cache counts every key on
/// each node, a sticky balancer and a stateful service remember every
/// identity.
pub const MAX_TABLE_CELLS: u64 = 1 << 28;
/// Most instances (service replica slots, cache nodes, database nodes) of the
/// whole scenario.
pub const MAX_INSTANCES: u64 = 1_000_000;
/// Most request slots of all database nodes together (nodes × cores): each
/// node reserves one per core.
pub const MAX_DB_CORE_SLOTS: u64 = 1 << 24;
/// Most message slots a queue reserves for its batches (workers × batch size).
pub const MAX_BATCH_SLOTS: u64 = 1 << 24;
/// Most cells of the tables partitions, injected latencies and DNS keep per
/// client and component (faults × clients and components; for a DNS,
/// clients × targets), over the whole scenario.
pub const MAX_GRID_CELLS: u64 = 1 << 24;

// ---------------------------------------------------------------------------
// Time series
// ---------------------------------------------------------------------------

/// Most time-series rows the automatic interval produces.
pub const MAX_ROWS: u64 = 10_000;
/// Most time-series rows an explicit `--interval` may ask for (every row
/// holds every column for the whole run).
pub const MAX_SERIES_ROWS: u64 = 1_000_000;

// ---------------------------------------------------------------------------
// Files and names
// ---------------------------------------------------------------------------

/// Most replications of one run (`run.replications`, `--replications`;
/// a sweep's cap per point is the same).
pub const MAX_REPLICATIONS: u32 = 1_000;

/// Largest scenario file read (16 MiB).
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;
/// Largest file a scenario names (an arrival `trace`, an `empirical`
/// distribution): 128 MiB, about a day of arrivals at 100 per second.
pub const MAX_DATA_FILE_BYTES: u64 = 128 << 20;
/// Most values all the files a scenario names may hold together (8 bytes
/// each, so 128 MiB).
pub const MAX_DATA_VALUES: u64 = 1 << 24;
/// Longest scenario, client or component name, in bytes.
pub const MAX_NAME_BYTES: usize = 100;

/// `n` bytes as people say it: `16 MiB`, `512 KiB`, `100 bytes`.
pub fn bytes(n: u64) -> String {
    crate::files::human_bytes(n)
}

/// Reads at most `limit` bytes of `path`. A longer file (or a device that
/// never ends, such as `/dev/zero`) is refused after reading `limit + 1`
/// bytes, so memory and time stay bounded whatever the path names.
/// `what` names the file in messages (`trace file`, `empirical file`).
pub fn read_capped(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    crate::files::read_limited(path, limit).map_err(|e| match e {
        crate::files::ReadError::TooLarge(_) => format!(
            "{what} {} is larger than {}, the most archsim reads",
            path.display(),
            bytes(limit)
        ),
        crate::files::ReadError::Io(e) => format!("cannot read {what} {}: {e}", path.display()),
    })
}

/// As [`read_capped`], as UTF-8 text; bad UTF-8 is reported with the
/// 1-based line and column (in characters) of the first invalid byte.
pub fn read_text_capped(path: &Path, limit: u64, what: &str) -> Result<String, String> {
    let buf = read_capped(path, limit, what)?;
    String::from_utf8(buf).map_err(|e| {
        let bytes = e.as_bytes();
        let (line, col, byte) = utf8_error_position(bytes, e.utf8_error());
        format!(
            "{}:{line}:{col}: not UTF-8: byte 0x{byte:02X} (save the {what} as UTF-8)",
            path.display()
        )
    })
}

/// Line, column (1-based, in characters) and value of the first byte of
/// `bytes` that is not valid UTF-8, as `err` reports it.
pub fn utf8_error_position(bytes: &[u8], err: std::str::Utf8Error) -> (u32, u32, u8) {
    let at = err.valid_up_to();
    // The prefix is valid by definition.
    let valid = std::str::from_utf8(&bytes[..at]).unwrap_or("");
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line = valid.matches('\n').count() + 1;
    let col = valid[line_start..].chars().count() + 1;
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (clamp(line), clamp(col), bytes.get(at).copied().unwrap_or(0))
}

/// Whether `c` must not reach a terminal as it is: a control character, or
/// an invisible mark that reorders or hides text (bidirectional overrides
/// and isolates, zero-width characters, the byte-order mark).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A name's problem as a file name, CSV column or message part, if any:
/// empty, longer than [`MAX_NAME_BYTES`], holding a control character or one
/// of `forbidden`, or an [unsafe character](is_unsafe_char).
pub fn name_problem(name: &str, forbidden: &[char]) -> Option<String> {
    if name.trim().is_empty() {
        return Some("a name may not be empty".to_string());
    }
    if name.len() > MAX_NAME_BYTES {
        return Some(format!(
            "a name may be at most {MAX_NAME_BYTES} bytes long, found {} bytes",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|&c| is_unsafe_char(c)) {
        return Some(format!(
            "a name may not contain control characters or invisible formatting marks, found {}",
            c.escape_debug()
        ));
    }
    if let Some(c) = name.chars().find(|c| forbidden.contains(c)) {
        let mut list = String::new();
        for (i, f) in forbidden.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(list, "{sep}`{f}`");
        }
        return Some(format!("a name may not contain {list}, found `{c}`"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_reads_as_people_say_it() {
        assert_eq!(bytes(16 << 20), "16 MiB");
        assert_eq!(bytes(1 << 30), "1 GiB");
        assert_eq!(bytes(1536), "1536 bytes");
        assert_eq!(bytes(100), "100 bytes");
    }

    #[test]
    fn utf8_position_counts_characters_on_the_line() {
        // `é` is two bytes but one column: the bad byte is the 5th character.
        let bytes = b"x\na: \xc3\xa9\xff".to_vec();
        let err = std::str::from_utf8(&bytes).unwrap_err();
        assert_eq!(utf8_error_position(&bytes, err), (2, 5, 0xff));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(name_problem("api", &['/']), None);
        assert!(name_problem(&"x".repeat(101), &[]).unwrap().contains("100 bytes"));
        assert!(name_problem("a\u{1b}b", &[]).unwrap().contains("\\u{1b}"));
        assert!(name_problem("a,b", &[',', '"']).unwrap().contains("found `,`"));
        assert!(name_problem(" ", &[]).is_some());
    }

    #[test]
    fn a_device_that_never_ends_is_refused_at_the_cap() {
        let e = read_capped(Path::new("/dev/zero"), 1000, "trace file").unwrap_err();
        assert!(e.contains("larger than 1000 bytes"), "{e}");
    }
}

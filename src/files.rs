//! Files archsim writes and reads, so that nothing is lost and nothing is
//! mixed:
//!
//! - [`write_atomic`]: a temporary file beside the destination, synced, then
//!   renamed over it; the temporary file is removed when anything fails.
//! - [`Folder`]: an output folder claimed for one writer (a lock held while
//!   archsim writes to it) under one rule for `run`, `sweep`, `merge` and
//!   `compare`: archsim writes only into a folder that is missing, empty, or
//!   holds archsim's finished results of the same kind for the same
//!   scenario, which it replaces; anything else (another scenario's or
//!   another kind's results, files archsim did not write, an unfinished
//!   sweep, see [`unfinished_sweep`]) needs `--force`, and even then files
//!   archsim did not write are kept. A sweep's `--resume` continues an
//!   unfinished sweep instead.
//! - [`Stage`]: a run's or a sweep's outputs are written into a hidden
//!   staging folder inside the output folder and renamed into place only
//!   when every one of them was written, so a disk that fills up leaves the
//!   old results whole instead of half old and half new. Renames within a
//!   folder need no free space.
//! - [`read_limited`]: inputs are read up to a size limit, so a device such
//!   as `/dev/zero` or a runaway file cannot exhaust memory.
//! - [`check_output_file`]: a single output file (a trace) replaces only a
//!   regular file, never a link or a device.
//!
//! Test hook: with `ARCHSIM_TEST_DISK_BYTES=N` in the environment, the
//! writes archsim makes through this module fail with "no space left on
//! device" once N bytes have been written (the write that crosses the limit
//! is cut there, as a filling disk cuts it). The tests use it to check that
//! every write error is reported.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The environment variable of the disk-full test hook.
pub const DISK_BYTES_ENV: &str = "ARCHSIM_TEST_DISK_BYTES";

/// Name of the manifest in an output folder: what wrote it and which files
/// are archsim's.
pub const MANIFEST: &str = ".archsim.json";

/// Prefix of everything archsim keeps for itself in an output folder.
const PRIVATE_PREFIX: &str = ".archsim";

/// Bytes the test hook still lets through (None: no hook).
fn budget() -> Option<&'static AtomicU64> {
    static BUDGET: OnceLock<Option<AtomicU64>> = OnceLock::new();
    BUDGET
        .get_or_init(|| {
            std::env::var(DISK_BYTES_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(AtomicU64::new)
        })
        .as_ref()
}

/// How many of `want` bytes the hook lets through now (all without a hook).
fn allowance(want: usize) -> usize {
    let Some(b) = budget() else { return want };
    let mut left = b.load(Ordering::Relaxed);
    loop {
        let take = left.min(want as u64);
        match b.compare_exchange(left, left - take, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return take as usize,
            Err(now) => left = now,
        }
    }
}

fn disk_full() -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        format!("No space left on device (simulated by {DISK_BYTES_ENV})"),
    )
}

/// A writer whose writes count against the test hook's budget; without the
/// hook it is the inner writer.
pub struct Metered<W: Write>(pub W);

impl<W: Write> Write for Metered<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = allowance(buf.len());
        if n == 0 {
            return Err(disk_full());
        }
        self.0.write(&buf[..n])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A temporary name beside `path`, unique within the process.
fn temp_beside(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new(""));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.tmp{}-{n}", std::process::id()))
}

/// Write a file atomically: a temporary file in the same folder, synced,
/// then renamed over `path`, so a reader never sees half a file. On any
/// error the temporary file is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_beside(path);
    let written = (|| {
        let mut f = Metered(std::fs::File::create(&tmp)?);
        f.write_all(bytes)?;
        f.0.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A file being written in place and moved over its destination when
/// finished (a trace): [`Metered`], removed if dropped unfinished.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    out: Option<io::BufWriter<Metered<std::fs::File>>>,
}

impl AtomicFile {
    /// Start writing `dest` (through a temporary file beside it).
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        let tmp = temp_beside(dest);
        let f = std::fs::File::create(&tmp)?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            out: Some(io::BufWriter::new(Metered(f))),
        })
    }

    /// Flush, sync and rename into place.
    pub fn finish(mut self) -> io::Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let f = out.into_inner().map_err(|e| e.into_error())?;
        f.0.sync_all()?;
        std::fs::rename(&self.tmp, &self.dest)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.out {
            Some(o) => o.write(buf),
            None => Err(io::Error::other("the file is already finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(o) => o.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// It is larger than the limit (bytes).
    TooLarge(u64),
    /// It could not be opened or read (missing, a folder, permissions…).
    Io(io::Error),
}

impl ReadError {
    /// Whether the file does not exist.
    pub fn not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(limit) => write!(
                f,
                "larger than the limit of {} for this input",
                human_bytes(*limit)
            ),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Bytes in a readable unit: `16 MiB`, `1 GiB`, `1536 bytes`.
pub fn human_bytes(n: u64) -> String {
    for (unit, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if n >= unit && n.is_multiple_of(unit) {
            return format!("{} {name}", n / unit);
        }
    }
    format!("{n} bytes")
}

/// Read at most `limit` bytes of a file; a longer input (or an endless one
/// such as `/dev/zero`) is an error, not an out-of-memory abort.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(ReadError::Io)?;
    // Never hold more than the limit: a regular file's buffer is sized from
    // its length; an endless input grows the buffer by doubling, capped at
    // limit + 1 (read_to_end would double past it, to twice the limit).
    let cap = limit.saturating_add(1).min(usize::MAX as u64) as usize;
    let hint = f.metadata().map_or(0, |m| m.len()).saturating_add(1);
    let mut buf: Vec<u8> = Vec::with_capacity(hint.min(cap as u64) as usize);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        if buf.len() as u64 + n as u64 > limit {
            return Err(ReadError::TooLarge(limit));
        }
        if buf.capacity() - buf.len() < n {
            let want = (buf.capacity() * 2).max(buf.len() + n).min(cap);
            buf.reserve_exact(want - buf.len());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf)
}

/// Largest report.json, sweep.json or sweep-plan.json archsim reads back.
pub const MAX_RESULT_FILE: u64 = 256 << 20;

/// Why an output path cannot be used (bad input, exit 2) or could not be
/// written (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The path or folder is not one archsim may write (exit 2).
    #[error("error: {0}")]
    Refused(String),
    /// Another archsim is writing there (exit 1).
    #[error("error: {0}")]
    Busy(String),
    /// A file could not be written (exit 1).
    #[error("error: {0}")]
    Io(String),
}

impl OutputError {
    /// The process exit code (SPEC §1).
    pub fn exit_code(&self) -> i32 {
        match self {
            OutputError::Refused(_) => 2,
            _ => 1,
        }
    }
}

fn io_error(what: &str, p: &Path, e: impl std::fmt::Display) -> OutputError {
    OutputError::Io(format!("cannot {what} {}: {e}", p.display()))
}

/// Check a path archsim is about to write a single file to (a trace): it
/// must be new, or a regular file (never a symbolic link, a device, a pipe
/// or a folder), in a folder that exists; an existing non-empty file must
/// start with `ours` (a file archsim wrote before) unless `force`.
pub fn check_output_file(path: &Path, flag: &str, ours: &[u8], force: bool) -> Result<(), OutputError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(OutputError::Refused(format!(
            "{flag} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.file_type().is_file() => {
            let mut head = vec![0u8; ours.len()];
            let is_ours = m.len() == 0
                || std::fs::File::open(path)
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                    .is_ok_and(|()| head == ours);
            if is_ours || force {
                Ok(())
            } else {
                Err(OutputError::Refused(format!(
                    "{flag} {}: the file exists and was not written by archsim; choose another path, or add --force to replace it",
                    path.display()
                )))
            }
        }
        Ok(m) => {
            let what = if m.file_type().is_symlink() {
                "a symbolic link"
            } else if m.is_dir() {
                "a folder"
            } else {
                "not a regular file (a device, pipe or socket)"
            };
            Err(OutputError::Refused(format!(
                "{flag} {}: is {what}; archsim writes only to a new file or replaces a regular file",
                path.display()
            )))
        }
    }
}

/// What an output folder holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A run folder (`archsim run`).
    Run,
    /// A sweep folder (`archsim sweep`, `archsim merge`).
    Sweep,
    /// A comparison folder (`archsim compare --out`).
    Compare,
    /// A capacity plan's folder (`archsim plan`).
    Plan,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Sweep => "sweep",
            Kind::Compare => "comparison",
            Kind::Plan => "plan",
        }
    }
}

/// `.archsim.json`: which archsim command wrote the folder, for which
/// scenario, and which files in it are archsim's (the only ones a later
/// `--force` may replace or remove).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// archsim version.
    pub archsim_version: String,
    /// What the folder holds.
    pub kind: Kind,
    /// The scenario (for a comparison: `compare`).
    pub name: String,
    /// Files archsim wrote, sorted.
    pub files: Vec<String>,
}

/// An output folder claimed by this process: a lock (released when the
/// value is dropped or the process ends, even by kill -9) and what the
/// folder held before.
pub struct Folder {
    dir: PathBuf,
    kind: Kind,
    name: String,
    /// Archsim's files from before (manifest, or known names in a folder
    /// written by an older archsim).
    old_files: Vec<String>,
    /// Whether the folder held the same kind of results for the same name.
    same: bool,
    /// Whether it held no archsim result at all (missing or empty).
    fresh: bool,
    _lock: std::fs::File,
}

/// Files an archsim of this or an earlier version may have written, by
/// folder kind (for folders without a manifest).
fn known_files(kind: Kind, name: &str) -> bool {
    let chart = name.ends_with(".svg") || name.ends_with(".png");
    match kind {
        Kind::Run => {
            chart
                || matches!(
                    name,
                    "report.json" | "summary.txt" | "timeseries.csv" | "index.html"
                )
        }
        Kind::Sweep => {
            chart
                || matches!(
                    name,
                    "sweep.json" | "sweep.csv" | "points.jsonl" | "sweep-plan.json" | "index.html"
                )
        }
        Kind::Compare => chart || matches!(name, "compare.md" | "index.html"),
        Kind::Plan => {
            chart
                || matches!(
                    name,
                    "plan.json" | "summary.txt" | "probes.jsonl" | "plan-input.json" | "index.html"
                )
        }
    }
}

/// Read what an existing folder holds: its manifest, or for an older
/// archsim's folder the kind and name its result files show.
fn inspect(dir: &Path, entries: &[String]) -> Option<(Kind, String)> {
    let read_json = |f: &str| -> Option<serde_json::Value> {
        let bytes = read_limited(&dir.join(f), MAX_RESULT_FILE).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    if let Some(m) = read_json(MANIFEST).and_then(|v| serde_json::from_value::<Manifest>(v).ok()) {
        return Some((m.kind, m.name));
    }
    let name_in = |f: &str| {
        read_json(f)
            .and_then(|v| v.get("scenario").and_then(|s| s.as_str()).map(str::to_string))
            .unwrap_or_default()
    };
    let has = |f: &str| entries.iter().any(|e| e == f);
    if has("plan-input.json") {
        Some((Kind::Plan, name_in("plan-input.json")))
    } else if has("sweep-plan.json") {
        Some((Kind::Sweep, name_in("sweep-plan.json")))
    } else if has("report.json") {
        Some((Kind::Run, name_in("report.json")))
    } else if has("compare.md") {
        Some((Kind::Compare, "compare".into()))
    } else {
        None
    }
}

impl Folder {
    /// Claim `dir` for writing results of `kind` for the scenario `name`
    /// (`flag` names the option in messages, e.g. `--out`).
    ///
    /// Refused (exit 2) when `dir` is not a folder, a dangling link, or holds
    /// something other than archsim's results of the same kind and name,
    /// unless `force`. Busy (exit 1) while another archsim writes there.
    pub fn claim(dir: &Path, kind: Kind, name: &str, force: bool, flag: &str) -> Result<Folder, OutputError> {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() && !dir.exists() => {
                let to = std::fs::read_link(dir)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                return Err(OutputError::Refused(format!(
                    "{flag} {}: is a symbolic link to {to}, which does not exist; create it or choose another {flag}",
                    dir.display()
                )));
            }
            Ok(_) if !dir.is_dir() => {
                return Err(OutputError::Refused(format!(
                    "{flag} {}: is a file, not a folder",
                    dir.display()
                )));
            }
            _ => {}
        }
        std::fs::create_dir_all(dir).map_err(|e| io_error("create the folder", dir, e))?;
        let lock = lock_folder(dir)?;
        let entries: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| io_error("read the folder", dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        // Leftovers of a writer that died: nobody else holds the lock.
        for e in entries.iter().filter(|e| e.starts_with(".archsim-stage")) {
            let _ = std::fs::remove_dir_all(dir.join(e));
        }
        let mut visible: Vec<&String> = entries
            .iter()
            .filter(|e| !e.starts_with(PRIVATE_PREFIX))
            .collect();
        visible.sort();
        let held = inspect(dir, &entries);
        let fresh = visible.is_empty() && held.is_none();
        let same = held.as_ref().is_some_and(|(k, n)| *k == kind && n == name);
        if !fresh && !same && !force {
            let what = match &held {
                Some((k, n)) if *k == kind => format!("the {} results of `{n}`", k.noun()),
                Some((k, n)) => format!("a {} folder of `{n}`", k.noun()),
                None => {
                    let mut shown: Vec<String> = visible.iter().take(3).map(|s| format!("`{s}`")).collect();
                    if visible.len() > 3 {
                        shown.push("…".into());
                    }
                    format!("files archsim did not write ({})", shown.join(", "))
                }
            };
            let force_does = if held.is_some() {
                "add --force to replace them (files archsim did not write are kept)"
            } else {
                "add --force to write into it anyway (its files are kept)"
            };
            return Err(OutputError::Refused(format!(
                "{flag} {}: holds {what}; choose another {flag}, or {force_does}",
                dir.display()
            )));
        }
        let old_files = match read_limited(&dir.join(MANIFEST), MAX_RESULT_FILE)
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
        {
            Some(m) => m.files,
            None => match &held {
                Some((k, _)) => visible
                    .iter()
                    .filter(|f| known_files(*k, f))
                    .map(|f| f.to_string())
                    .collect(),
                None => Vec::new(),
            },
        };
        Ok(Folder {
            dir: dir.to_path_buf(),
            kind,
            name: name.to_string(),
            old_files,
            same,
            fresh,
            _lock: lock,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Whether the folder held results of the same kind for the same name.
    pub fn held_same(&self) -> bool {
        self.same
    }

    /// Whether the folder held nothing (missing or empty).
    pub fn was_empty(&self) -> bool {
        self.fresh
    }

    /// Remove archsim's earlier files (for `--force` and fresh starts);
    /// files archsim did not write stay.
    pub fn clear(&mut self) -> Result<(), OutputError> {
        for f in std::mem::take(&mut self.old_files) {
            let p = self.dir.join(&f);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("remove", &p, e)),
            }
        }
        let _ = std::fs::remove_file(self.dir.join(MANIFEST));
        Ok(())
    }

    /// Write the manifest now, listing `live` (files written in place, such
    /// as a sweep's points.jsonl) with whatever archsim files it already has.
    pub fn record(&mut self, live: &[&str]) -> Result<(), OutputError> {
        let mut files = self.old_files.clone();
        files.extend(live.iter().map(|s| s.to_string()));
        files.sort();
        files.dedup();
        self.old_files = files.clone();
        self.write_manifest(files)
    }

    fn manifest_text(&self, files: Vec<String>) -> String {
        let m = Manifest {
            archsim_version: env!("CARGO_PKG_VERSION").to_string(),
            kind: self.kind,
            name: self.name.clone(),
            files,
        };
        serde_json::to_string_pretty(&m).unwrap_or_default() + "\n"
    }

    fn write_manifest(&self, files: Vec<String>) -> Result<(), OutputError> {
        let text = self.manifest_text(files);
        let p = self.dir.join(MANIFEST);
        write_atomic(&p, text.as_bytes()).map_err(|e| io_error("write", &p, e))
    }

    /// Start writing a set of files that lands as a unit.
    pub fn stage(&self) -> Result<Stage<'_>, OutputError> {
        let path = self.dir.join(format!(".archsim-stage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).map_err(|e| io_error("create", &path, e))?;
        Ok(Stage {
            folder: self,
            path,
            files: Vec::new(),
            committed: false,
        })
    }
}

/// Whether `dir` holds an unfinished sweep: replications in points.jsonl
/// but no sweep.json (interrupted, or a disk that filled). Such lines are
/// work kept for `--resume`, not results to replace: writing over them
/// needs `--force`.
pub fn unfinished_sweep(dir: &Path) -> bool {
    std::fs::metadata(dir.join("points.jsonl")).is_ok_and(|m| m.len() > 0) && !dir.join("sweep.json").exists()
}

/// Lock a folder against other archsim processes for as long as the
/// returned file is open (an advisory lock, released by the kernel when the
/// process ends however it ends).
fn lock_folder(dir: &Path) -> Result<std::fs::File, OutputError> {
    let lock_path = dir.join(".archsim.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error("open the lock", &lock_path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(OutputError::Busy(format!(
            "{}: another archsim is writing to this folder; wait for it to finish or choose another folder",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error("lock", &lock_path, e)),
    }
}

/// Files being written into a hidden folder inside the output folder; on
/// [`Stage::commit`] each is renamed into place (renames need no space, so
/// once everything is written the results land whole). Dropped without a
/// commit, the staging folder is removed and the output folder is as it was.
pub struct Stage<'a> {
    folder: &'a Folder,
    path: PathBuf,
    files: Vec<String>,
    committed: bool,
}

impl Stage<'_> {
    /// Write one file of the set.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let p = self.path.join(name);
        let written = (|| {
            let mut f = Metered(std::fs::File::create(&p)?);
            f.write_all(bytes)?;
            f.0.sync_all()
        })();
        written.map_err(|e| io_error("write", &self.folder.dir.join(name), e))?;
        self.files.push(name.to_string());
        Ok(())
    }

    /// Move every staged file into the output folder, remove archsim's
    /// files from before that this set does not replace (keeping `live`,
    /// files written in place), and record the new set in the manifest.
    /// The manifest is staged too, so every write that can fail for want
    /// of space happens before the first file moves.
    pub fn commit(mut self, live: &[&str]) -> Result<(), OutputError> {
        let dir = &self.folder.dir;
        let mut files: Vec<String> = self.files.clone();
        files.extend(live.iter().map(|s| s.to_string()));
        files.sort();
        files.dedup();
        let manifest = self.folder.manifest_text(files.clone());
        let staged = self.path.join(MANIFEST);
        (|| {
            let mut f = Metered(std::fs::File::create(&staged)?);
            f.write_all(manifest.as_bytes())?;
            f.0.sync_all()
        })()
        .map_err(|e| io_error("write", &dir.join(MANIFEST), e))?;
        for f in self.files.iter().map(String::as_str).chain([MANIFEST]) {
            let to = dir.join(f);
            std::fs::rename(self.path.join(f), &to).map_err(|e| io_error("move into place", &to, e))?;
        }
        self.committed = true;
        let _ = std::fs::remove_dir_all(&self.path);
        for old in &self.folder.old_files {
            if !files.contains(old) {
                let _ = std::fs::remove_file(dir.join(old));
            }
        }
        Ok(())
    }
}

impl Drop for Stage<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_limited_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'x'; 100]).unwrap();
        assert_eq!(read_limited(&p, 100).unwrap().len(), 100);
        assert!(matches!(read_limited(&p, 99), Err(ReadError::TooLarge(99))));
        assert!(read_limited(&dir.path().join("no"), 9).is_err_and(|e| e.not_found()));
        assert!(read_limited(dir.path(), 9).is_err(), "a folder");
        if Path::new("/dev/zero").exists() {
            assert!(matches!(
                read_limited(Path::new("/dev/zero"), 1 << 20),
                Err(ReadError::TooLarge(_))
            ));
        }
    }

    #[test]
    fn atomic_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // Into a missing folder: an error, no file.
        assert!(write_atomic(&dir.path().join("no/a.txt"), b"x").is_err());
    }

    #[test]
    fn folder_rules() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        {
            let f = Folder::claim(&out, Kind::Run, "a", false, "--out").unwrap();
            assert!(f.was_empty());
            // A second claim while the first is held: busy.
            let busy = Folder::claim(&out, Kind::Run, "a", false, "--out");
            assert!(matches!(busy, Err(OutputError::Busy(_))));
            let mut s = f.stage().unwrap();
            s.write("report.json", b"{}").unwrap();
            s.write("old.svg", b"<svg/>").unwrap();
            s.commit(&[]).unwrap();
        }
        // Same kind and name: allowed; stale files of ours are removed,
        // foreign files kept.
        std::fs::write(out.join("mine.txt"), b"keep").unwrap();
        {
            let f = Folder::claim(&out, Kind::Run, "a", false, "--out").unwrap();
            assert!(f.held_same());
            let mut s = f.stage().unwrap();
            s.write("report.json", b"{}").unwrap();
            s.commit(&[]).unwrap();
        }
        assert!(!out.join("old.svg").exists());
        assert!(out.join("mine.txt").exists());
        // Another scenario's results: refused without force.
        let other = Folder::claim(&out, Kind::Run, "b", false, "--out");
        assert!(matches!(other, Err(OutputError::Refused(_))));
        let other = Folder::claim(&out, Kind::Sweep, "a", false, "--out");
        assert!(matches!(other, Err(OutputError::Refused(_))));
        assert!(Folder::claim(&out, Kind::Run, "b", true, "--out").is_ok());
        // A staged set dropped without commit leaves the folder as it was.
        {
            let f = Folder::claim(&out, Kind::Run, "a", false, "--out").unwrap();
            let mut s = f.stage().unwrap();
            s.write("report.json", b"new").unwrap();
        }
        assert_eq!(std::fs::read(out.join("report.json")).unwrap(), b"{}");
        let private: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".archsim-stage"))
            .collect();
        assert!(private.is_empty(), "{private:?}");
        // A folder of someone else's files.
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("notes.txt"), b"x").unwrap();
        assert!(matches!(
            Folder::claim(&theirs, Kind::Run, "a", false, "--out"),
            Err(OutputError::Refused(_))
        ));
    }

    #[test]
    fn output_file_checks() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.jsonl");
        let check = |p: &Path, force| check_output_file(p, "--trace", b"{\"t_s\":", force);
        assert!(check(&f, false).is_ok());
        std::fs::write(&f, b"").unwrap();
        assert!(check(&f, false).is_ok(), "an empty file");
        std::fs::write(&f, b"{\"t_s\":0.1}\n").unwrap();
        assert!(check(&f, false).is_ok(), "an earlier trace");
        std::fs::write(&f, b"my notes").unwrap();
        assert!(check(&f, false).is_err(), "someone else's file");
        assert!(check(&f, true).is_ok(), "with --force");
        #[cfg(unix)]
        {
            let l = dir.path().join("link");
            std::os::unix::fs::symlink(&f, &l).unwrap();
            assert!(check(&l, true).is_err());
            assert!(check(Path::new("/dev/null"), true).is_err());
        }
        assert!(check(dir.path(), true).is_err());
        assert!(check(&dir.path().join("no/t"), true).is_err());
    }
}

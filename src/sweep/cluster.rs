//! A sweep on a workload manager: array tasks that each run a range of
//! shards, the job files that submit them (Slurm, Kubernetes, AWS Batch,
//! or a local script with the same index variables), and what is missing
//! after a run.
//!
//! A split is N shards (`--shard K/N` slices, [`super::in_slice`]) run by T
//! tasks, T ≤ N: task i (0-based, as every manager numbers array tasks)
//! runs shards ⌊i·N/T⌋ + 1 … ⌊(i+1)·N/T⌋, each into its own folder
//! `DIR/shard-K-of-N` with `--resume`, one after the other. Sites limit
//! array sizes, so T can stay small while N stays whatever the work needs;
//! a task that is requeued or run again redoes only what its folders lack.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::{Plan, SweepError, SweepOptions, SweepOutcome};

/// Most shards of one split.
pub const MAX_SHARDS: u32 = 100_000;

/// The environment variables a task reads its index from with `--task
/// env`, in this order: archsim's own (for a local run), then Slurm's,
/// Kubernetes Indexed Jobs' and AWS Batch's array index.
pub const INDEX_VARS: [&str; 4] = [
    "ARCHSIM_TASK_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// What to do about missing shards or replications, appended to merge's
/// refusal: for a split's folders (`shard-K-of-N`, [`--emit`](super::jobfiles)),
/// rerun the tasks; for slices made by hand, the slices.
pub fn rerun_hint(dirs: &[PathBuf]) -> &'static str {
    let split = dirs.iter().any(|d| {
        d.file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_shard_dir)
            .is_some()
    });
    if split {
        "\n  rerun the tasks that hold them: `archsim sweep … --emit MANAGER --missing` writes job files \
         for just those (a task's rerun redoes only what its folders lack)"
    } else {
        "\n  rerun each incomplete slice with the command that made it plus --resume \
         (`archsim sweep … --shard K/N --resume --out DIR`): it runs only what the folder lacks"
    }
}

/// N shards run by T array tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Shards (N).
    pub shards: u32,
    /// Tasks (T ≤ N).
    pub tasks: u32,
}

impl Split {
    /// `shards` shards in `tasks` tasks (default: one shard per task).
    pub fn new(shards: u32, tasks: Option<u32>) -> Result<Split, String> {
        let tasks = tasks.unwrap_or(shards);
        if !(1..=MAX_SHARDS).contains(&shards) {
            return Err(format!("--shards {shards}: expected 1 to {MAX_SHARDS}"));
        }
        if !(1..=shards).contains(&tasks) {
            return Err(format!(
                "--tasks {tasks}: expected 1 to --shards ({shards}); a task runs one or more whole shards"
            ));
        }
        Ok(Split { shards, tasks })
    }

    /// The shards (1-based) task `task` (0-based) runs.
    pub fn shards_of(&self, task: u32) -> RangeInclusive<u32> {
        let (n, t) = (u64::from(self.shards), u64::from(self.tasks));
        let first = u64::from(task) * n / t + 1;
        let last = (u64::from(task) + 1) * n / t;
        first as u32..=last as u32
    }

    /// The task (0-based) that runs shard `shard` (1-based).
    pub fn task_of(&self, shard: u32) -> u32 {
        // The last task whose first shard is at most `shard`.
        let (n, t) = (u64::from(self.shards), u64::from(self.tasks));
        let guess = ((u64::from(shard) - 1) * t / n) as u32;
        (guess..self.tasks)
            .take_while(|&i| *self.shards_of(i).start() <= shard)
            .last()
            .unwrap_or(guess)
    }
}

/// The folder of shard `k` of `n` under the sweep folder `root`.
pub fn shard_dir(root: &Path, k: u32, n: u32) -> PathBuf {
    root.join(format!("shard-{k}-of-{n}"))
}

/// Shard (K, N) from a folder name `shard-K-of-N`.
fn parse_shard_dir(name: &str) -> Option<(u32, u32)> {
    let (k, n) = name.strip_prefix("shard-")?.split_once("-of-")?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// Merge's inputs: each folder as given, except one that is not a sweep
/// folder itself but holds `shard-K-of-N` folders, which stands for them
/// (in shard order).
pub fn expand_roots(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        if d.join("sweep-plan.json").exists() {
            out.push(d.clone());
            continue;
        }
        let mut found: Vec<((u32, u32), PathBuf)> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let key = parse_shard_dir(name.to_str()?)?;
                e.path().join("sweep-plan.json").exists().then(|| (key, e.path()))
            })
            .collect();
        if found.is_empty() {
            out.push(d.clone());
        } else {
            found.sort();
            out.extend(found.into_iter().map(|(_, p)| p));
        }
    }
    out
}

/// The task index `--task` names: a number, or `env` (the first of
/// [`INDEX_VARS`] that is set); through `list` (`--task-list`) when given,
/// as a resubmission of missing tasks numbers its array 0 … M−1.
pub fn task_index(arg: &str, list: &[u32], split: Split) -> Result<u32, String> {
    let (raw, from) = if arg == "env" {
        let found = INDEX_VARS
            .iter()
            .find_map(|v| std::env::var(v).ok().map(|x| (x, *v)));
        match found {
            Some((x, v)) => (x, format!("${v}")),
            None => {
                return Err(format!(
                    "--task env: none of {} is set (run inside an array job, or set ARCHSIM_TASK_INDEX)",
                    INDEX_VARS.join(", ")
                ));
            }
        }
    } else {
        (arg.to_string(), "--task".to_string())
    };
    let i: u32 = raw
        .trim()
        .parse()
        .map_err(|_| format!("{from} = `{raw}`: expected a task number from 0"))?;
    let task = if list.is_empty() {
        i
    } else {
        *list
            .get(i as usize)
            .ok_or_else(|| format!("{from} = {i}: --task-list has only {} entries", list.len()))?
    };
    if task >= split.tasks {
        return Err(format!(
            "task {task} (from {from}): the split has tasks 0 to {}",
            split.tasks - 1
        ));
    }
    Ok(task)
}

/// Run task `task` of `split`: each of its shards into its folder under
/// `root`, resumed (a rerun redoes only what is missing). Stops at the
/// first shard that fails.
pub fn run_task(
    opts: &SweepOptions,
    root: &Path,
    split: Split,
    task: u32,
    cancel: &AtomicBool,
) -> Result<Vec<(u32, SweepOutcome)>, SweepError> {
    let mut done = Vec::new();
    for k in split.shards_of(task) {
        let mut o = opts.clone();
        o.shard = Some((k, split.shards));
        o.out = Some(shard_dir(root, k, split.shards));
        o.resume = true;
        o.force = false;
        done.push((k, super::run(&o, cancel)?));
    }
    Ok(done)
}

/// One shard's (or an unsharded folder's) missing replications.
#[derive(Clone, Debug, PartialEq)]
pub struct Gap {
    /// The shard (K, N), or none for the whole sweep.
    pub shard: Option<(u32, u32)>,
    /// Its folder, if there is one.
    pub dir: Option<PathBuf>,
    /// Replications the slice holds in all.
    pub expected: usize,
    /// The (point, replication) pairs it lacks.
    pub missing: Vec<(usize, u32)>,
}

/// The slices with missing replications: of the split into `n` shards
/// (every shard), or of the whole sweep, given which jobs are `present`.
pub fn gaps(
    points: u64,
    replications: u32,
    n: Option<u32>,
    dirs: &BTreeMap<u32, &Path>,
    present: impl Fn((usize, u32)) -> bool,
) -> Vec<Gap> {
    let slices: Vec<Option<(u32, u32)>> = match n {
        Some(n) => (1..=n).map(|k| Some((k, n))).collect(),
        None => vec![None],
    };
    slices
        .into_iter()
        .filter_map(|shard| {
            let (mut expected, mut missing) = (0, Vec::new());
            for job in super::slice_jobs(points, replications, shard) {
                expected += 1;
                if !present(job) {
                    missing.push(job);
                }
            }
            (!missing.is_empty()).then(|| Gap {
                shard,
                dir: shard.and_then(|(k, _)| dirs.get(&k).map(|d| d.to_path_buf())),
                expected,
                missing,
            })
        })
        .collect()
}

/// A point's parameters from its index in grid order (the first varied
/// parameter changes slowest), as `path=value, …`.
fn point_params(plan: &Plan, point: usize) -> String {
    let mut rest = point;
    let mut parts: Vec<String> = Vec::new();
    for (path, values) in plan.vary.iter().rev() {
        let n = values.len().max(1);
        if let Some(v) = values.get(rest % n) {
            parts.push(format!("{path}={}", crate::report::value_label(v)));
        }
        rest /= n;
    }
    parts.reverse();
    parts.join(", ")
}

/// What [`gaps`] found, for a person: how many replications are missing,
/// then each slice with its folder and (up to a few) the missing points.
pub fn describe_gaps(gaps: &[Gap], plan: &Plan) -> String {
    const SHOWN: usize = 4;
    let missing: usize = gaps.iter().map(|g| g.missing.len()).sum();
    let mut text = format!(
        "{missing} replication{} of the sweep {} missing:",
        if missing == 1 { "" } else { "s" },
        if missing == 1 { "is" } else { "are" }
    );
    for g in gaps {
        let what = match g.shard {
            Some((k, n)) => format!("shard {k}/{n}"),
            None => "the sweep".to_string(),
        };
        let dir = g
            .dir
            .as_ref()
            .map(|d| format!(" ({})", d.display()))
            .unwrap_or_default();
        let list: Vec<String> = g
            .missing
            .iter()
            .take(SHOWN)
            .map(|&(p, r)| format!("point {p} [{}] replication {r}", point_params(plan, p)))
            .collect();
        let more = g.missing.len().saturating_sub(SHOWN);
        text.push_str(&format!(
            "\n  {what}{dir}: {} of {} missing: {}{}",
            g.missing.len(),
            g.expected,
            list.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }
    text
}

/// The tasks of `split` with something missing under `root`: a shard
/// folder absent, without a plan of this sweep, or short of lines.
pub fn unfinished_tasks(plan: &Plan, points: u64, root: &Path, split: Split) -> Result<Vec<u32>, SweepError> {
    let mut tasks = Vec::new();
    for task in 0..split.tasks {
        let mut whole = true;
        for k in split.shards_of(task) {
            let dir = shard_dir(root, k, split.shards);
            let theirs = match super::read_plan(&dir.join("sweep-plan.json")) {
                Ok(Some(p)) => p,
                _ => {
                    whole = false;
                    break;
                }
            };
            if !theirs.same_sweep(plan) || theirs.shard != Some((k, split.shards)) {
                return Err(SweepError::BadInput(format!(
                    "error: {} holds a different sweep than the one asked for (scenario, overrides, grid, \
                     replications or split differ): choose another --out",
                    dir.display()
                )));
            }
            let (lines, _) = super::read_plan_lines(&dir.join("points.jsonl"), &theirs)?;
            let have: std::collections::BTreeSet<(usize, u32)> =
                lines.iter().map(|l| (l.point, l.replication)).collect();
            if super::slice_jobs(points, plan.replications, Some((k, split.shards)))
                .any(|j| !have.contains(&j))
            {
                whole = false;
                break;
            }
        }
        if !whole {
            tasks.push(task);
        }
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_times_shards_cover_every_job_exactly_once() {
        // For several splits and grids: every (point, replication) job is
        // run by exactly one shard of exactly one task.
        for points in [1u64, 3, 16, 50] {
            for reps in [1u32, 3, 7] {
                let jobs = points * u64::from(reps);
                for n in [1u32, 2, 3, 5, 8, 13, 48, 100] {
                    for t in (1..=n).filter(|t| [1, 2, 3, 4, 7, n / 2, n - 1, n].contains(t)) {
                        let split = Split::new(n, Some(t)).unwrap();
                        let mut seen = vec![0u32; jobs as usize];
                        let mut shards_seen = vec![0u32; n as usize];
                        for task in 0..t {
                            for k in split.shards_of(task) {
                                shards_seen[k as usize - 1] += 1;
                                assert_eq!(split.task_of(k), task, "N={n} T={t} shard {k}");
                                for (p, r) in super::super::slice_jobs(points, reps, Some((k, n))) {
                                    seen[p * reps as usize + r as usize] += 1;
                                }
                            }
                        }
                        assert!(
                            shards_seen.iter().all(|&c| c == 1),
                            "N={n} T={t}: {shards_seen:?}"
                        );
                        assert!(
                            seen.iter().all(|&c| c == 1),
                            "P={points} R={reps} N={n} T={t}: {seen:?}"
                        );
                        // Tasks are balanced: their shard counts differ by at most one.
                        let sizes: Vec<usize> = (0..t).map(|i| split.shards_of(i).count()).collect();
                        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                        assert!(hi - lo <= 1 && *lo >= 1, "N={n} T={t}: {sizes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_split_refuses_more_tasks_than_shards() {
        assert!(Split::new(4, Some(5)).is_err());
        assert!(Split::new(0, None).is_err());
        assert_eq!(Split::new(4, None).unwrap().tasks, 4);
    }

    #[test]
    fn task_index_reads_a_number_or_a_list() {
        let split = Split::new(8, Some(4)).unwrap();
        assert_eq!(task_index("3", &[], split), Ok(3));
        assert!(task_index("4", &[], split).is_err());
        assert!(task_index("x", &[], split).is_err());
        assert_eq!(task_index("1", &[0, 2], split), Ok(2));
        assert!(task_index("2", &[0, 2], split).is_err());
    }

    #[test]
    fn shard_folder_names_round_trip() {
        let d = shard_dir(Path::new("out"), 3, 8);
        assert_eq!(d, Path::new("out/shard-3-of-8"));
        assert_eq!(parse_shard_dir("shard-3-of-8"), Some((3, 8)));
        assert_eq!(parse_shard_dir("shard-x-of-8"), None);
    }
}

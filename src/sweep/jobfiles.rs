//! Job files for a sweep on a workload manager (`archsim sweep … --emit
//! MANAGER`): a Slurm array script and a merge job that waits for it, a
//! Kubernetes Indexed Job and a merge Job, AWS Batch job definition and
//! submissions, or a local script that runs the tasks in turn with the same
//! index variable. Every task runs the same command, `archsim sweep …
//! --task env`, which reads its index from the manager's variable (see
//! [`super::cluster::INDEX_VARS`]).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::SweepError;
use super::cluster::Split;

/// The workload managers archsim writes job files for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Manager {
    /// A Slurm array (`sbatch`) and a merge job after it (`afterok`).
    Slurm,
    /// A Kubernetes Indexed Job and a merge Job.
    K8s,
    /// An AWS Batch array job and a merge job depending on it.
    Batch,
    /// A shell script running the tasks here, one after the other.
    Local,
}

impl Manager {
    /// The value of `--emit` that names it.
    pub fn flag_value(self) -> &'static str {
        match self {
            Manager::Slurm => "slurm",
            Manager::K8s => "k8s",
            Manager::Batch => "batch",
            Manager::Local => "local",
        }
    }
}

/// What to write.
pub struct Emit<'a> {
    /// The manager.
    pub manager: Manager,
    /// The split.
    pub split: Split,
    /// The tasks to submit: all of them, or the unfinished ones.
    pub tasks: &'a [u32],
    /// A resubmission of unfinished tasks (`--missing`): its own folder
    /// (`jobs/missing`) and job names.
    pub missing: bool,
    /// Scenario name (job names).
    pub name: &'a str,
    /// The sweep folder as given (relative to `cwd` unless absolute).
    pub root: &'a Path,
    /// The working directory the commands run in (absolute).
    pub cwd: &'a Path,
    /// The archsim binary for Slurm and local scripts (containers use
    /// `archsim` from the image's PATH).
    pub exe: &'a str,
    /// A task's arguments after the binary (`sweep FILE … --task env`).
    pub task_args: &'a [String],
    /// The merge's arguments after the binary (`merge DIR --out DIR/merged`).
    pub merge_args: &'a [String],
    /// Cores per task (`--jobs` of each task).
    pub cpus: u32,
    /// A line for the files' headers: what the sweep is.
    pub about: &'a str,
}

/// Quote `s` for a POSIX shell (left bare when it is plainly safe).
pub fn sh_quote(s: &str) -> String {
    crate::report::provenance::shell_word(s)
}

fn sh_join(args: &[String]) -> String {
    args.iter().map(|a| sh_quote(a)).collect::<Vec<_>>().join(" ")
}

/// Slurm's `--array` list for `tasks`: ranges of consecutive numbers
/// (`0-3`, `2,5-7`).
pub fn array_spec(tasks: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tasks.len() {
        let mut j = i;
        while j + 1 < tasks.len() && tasks[j + 1] == tasks[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            tasks[i].to_string()
        } else {
            format!("{}-{}", tasks[i], tasks[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// A name Kubernetes accepts (RFC 1123 label: lowercase letters, digits
/// and `-`, at most 63 characters), from `archsim-` and the scenario name.
pub fn k8s_name(name: &str, suffix: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(63 - "archsim-".len() - suffix.len());
    let s = s.trim_matches('-');
    let s = if s.is_empty() { "sweep" } else { s };
    format!("archsim-{s}{suffix}")
}

/// The task command with the subset mapping (`--task-list`) when the
/// array does not number the tasks themselves, and the cores.
fn task_command(e: &Emit, list: bool) -> Vec<String> {
    let mut args = e.task_args.to_vec();
    if list {
        args.push("--task-list".into());
        args.push(e.tasks.iter().map(u32::to_string).collect::<Vec<_>>().join(","));
    }
    args.push("--jobs".into());
    args.push(e.cpus.to_string());
    args
}

/// Whether the tasks are all of them, numbered 0 … T−1 (else the command
/// maps the array's index through `--task-list`).
fn all_tasks(e: &Emit) -> bool {
    e.tasks.len() as u32 == e.split.tasks && e.tasks.iter().enumerate().all(|(i, &t)| i as u32 == t)
}

/// Write the job files into `DIR/jobs` (or `DIR/jobs/missing` for a
/// subset), creating `DIR/jobs/logs` for Slurm's output files. Returns
/// the files written and the command that submits them.
pub fn emit(e: &Emit) -> Result<(Vec<PathBuf>, String), SweepError> {
    let abs_root = e.cwd.join(e.root);
    let jobs = if e.missing {
        abs_root.join("jobs").join("missing")
    } else {
        abs_root.join("jobs")
    };
    let logs = abs_root.join("jobs").join("logs");
    // Slurm does not create the folder of its output files.
    let folders = if e.manager == Manager::Slurm {
        vec![&jobs, &logs]
    } else {
        vec![&jobs]
    };
    for d in folders {
        std::fs::create_dir_all(d).map_err(|err| super::io_err("create", d, err))?;
    }
    let header = format!(
        "archsim sweep on {}: {}\n{} shards in {} tasks{}; written by `archsim sweep … --emit {}`.\n\
         Each task runs its shards one after the other, each into {}/shard-K-of-{} with --resume,\n\
         so a task that is requeued or run again redoes only what its folders lack.",
        match e.manager {
            Manager::Slurm => "Slurm",
            Manager::K8s => "Kubernetes",
            Manager::Batch => "AWS Batch",
            Manager::Local => "this machine",
        },
        e.about,
        e.split.shards,
        e.split.tasks,
        if e.missing {
            format!(" (these files: only tasks {}, unfinished)", array_spec(e.tasks))
        } else {
            String::new()
        },
        e.manager.flag_value(),
        e.root.display(),
        e.split.shards
    );
    let comment = |prefix: &str| {
        header
            .lines()
            .map(|l| format!("{prefix} {l}\n"))
            .collect::<String>()
    };
    let cd = sh_quote(&e.cwd.display().to_string());
    let mut files: Vec<(&str, String, bool)> = Vec::new();
    let submit;
    match e.manager {
        Manager::Slurm => {
            let mut args = e.task_args.to_vec();
            args.push("--jobs".into());
            let array = format!(
                "#!/bin/bash\n{}#SBATCH --job-name={}\n#SBATCH --array={}\n#SBATCH --cpus-per-task={}\n\
                 #SBATCH --chdir={}\n#SBATCH --output={}/task-%a-job-%A.out\n#SBATCH --requeue\n\
                 set -euo pipefail\nexec {} {} \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
                comment("#"),
                k8s_name(e.name, ""),
                array_spec(e.tasks),
                e.cpus,
                e.cwd.display(),
                logs.display(),
                sh_quote(e.exe),
                sh_join(&args)
            );
            let merge = format!(
                "#!/bin/bash\n# Merge the shards of the array into {}/merged (queued by submit-slurm.sh after the array succeeds).\n\
                 #SBATCH --job-name={}\n#SBATCH --chdir={}\n#SBATCH --output={}/merge-job-%j.out\n\
                 set -euo pipefail\nexec {} {}\n",
                e.root.display(),
                k8s_name(e.name, "-merge"),
                e.cwd.display(),
                logs.display(),
                sh_quote(e.exe),
                sh_join(e.merge_args)
            );
            let submit_text = format!(
                "#!/bin/bash\n# Queue the array, then the merge once every task has succeeded (afterok;\n\
                 # if a task fails or is cancelled, Slurm cancels the merge: see docs/cluster.md).\n\
                 set -euo pipefail\nhere=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n\
                 array=$(sbatch --parsable \"$here/slurm-array.sh\")\narray=${{array%%;*}}\n\
                 merge=$(sbatch --parsable --dependency=afterok:$array --kill-on-invalid-dep=yes \"$here/slurm-merge.sh\")\n\
                 merge=${{merge%%;*}}\n\
                 echo \"array job $array (tasks {}), merge job $merge after it: squeue -j $array,$merge\"\n",
                array_spec(e.tasks)
            );
            files.push(("slurm-array.sh", array, true));
            files.push(("slurm-merge.sh", merge, true));
            files.push(("submit-slurm.sh", submit_text, true));
            submit = format!(
                "bash {}",
                sh_quote(&jobs.join("submit-slurm.sh").display().to_string())
            );
        }
        Manager::K8s => {
            // A resubmission is a new Job: the first one's spec cannot be changed.
            let (name, merge_name) = if e.missing {
                (k8s_name(e.name, "-rerun"), k8s_name(e.name, "-rerun-merge"))
            } else {
                (k8s_name(e.name, ""), k8s_name(e.name, "-merge"))
            };
            let mut cmd = vec!["archsim".to_string()];
            cmd.extend(task_command(e, !all_tasks(e)));
            let mut merge_cmd = vec!["archsim".to_string()];
            merge_cmd.extend(e.merge_args.iter().cloned());
            let m = e.tasks.len();
            let job = |name: &str, cmd: &[String], indexed: bool| {
                let list = cmd
                    .iter()
                    .map(|a| serde_json::to_string(a).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(", ");
                // Indexed: each index has its own retries (a retry resumes
                // its shards' folders), and a retry starts only once the
                // failed pod has stopped, so that two pods never write one
                // folder (both fields: Kubernetes 1.29 or later).
                let spec = if indexed {
                    format!(
                        "  completionMode: Indexed\n  completions: {m}\n  parallelism: {m}\n  \
                         backoffLimitPerIndex: 2\n  podReplacementPolicy: Failed\n"
                    )
                } else {
                    "  backoffLimit: 2\n".to_string()
                };
                format!(
                    "{}#\n# The image must have `archsim` on its PATH; the claim `archsim-work` holds the\n\
                     # scenario and receives the results, mounted as the working directory /work.\n\
                     apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/name: archsim\n\
                     spec:\n{spec}  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: archsim\n\
                     \x20   spec:\n      restartPolicy: Never\n      containers:\n        - name: archsim\n\
                     \x20         image: archsim:latest\n          workingDir: /work\n          command: [{list}]\n\
                     \x20         resources:\n            requests:\n              cpu: \"{}\"\n\
                     \x20         volumeMounts:\n            - name: work\n              mountPath: /work\n\
                     \x20     volumes:\n        - name: work\n          persistentVolumeClaim:\n            claimName: archsim-work\n",
                    comment("#"),
                    if indexed { e.cpus } else { 1 }
                )
            };
            files.push(("k8s-job.yaml", job(&name, &cmd, true), false));
            files.push(("k8s-merge.yaml", job(&merge_name, &merge_cmd, false), false));
            let submit_text = format!(
                "#!/bin/bash\n# Start the Indexed Job, wait until every index has completed (or the Job has\n\
                 # failed), then start the merge Job.\n\
                 set -euo pipefail\nhere=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n\
                 kubectl apply -f \"$here/k8s-job.yaml\"\n\
                 while :; do\n  \
                 state=$(kubectl get job/{name} -o jsonpath='{{.status.conditions[*].type}}')\n  \
                 case \"$state\" in\n    \
                 *Complete*) break ;;\n    \
                 *Failed*) echo \"job/{name} failed: see which indexes with kubectl describe job/{name}; \
                 archsim sweep … --emit k8s --missing writes a Job for just the unfinished tasks\" >&2; exit 1 ;;\n  \
                 esac\n  sleep 10\ndone\n\
                 kubectl apply -f \"$here/k8s-merge.yaml\"\n"
            );
            files.push(("submit-k8s.sh", submit_text, true));
            submit = format!(
                "bash {}",
                sh_quote(&jobs.join("submit-k8s.sh").display().to_string())
            );
        }
        Manager::Batch => {
            let name = k8s_name(e.name, "");
            let mut cmd = vec!["archsim".to_string()];
            cmd.extend(task_command(e, !all_tasks(e)));
            let mut merge_cmd = vec!["archsim".to_string()];
            merge_cmd.extend(e.merge_args.iter().cloned());
            let definition = json!({
                "jobDefinitionName": name,
                "type": "container",
                "retryStrategy": { "attempts": 3 },
                "containerProperties": {
                    "image": "archsim:latest",
                    "command": cmd,
                    "resourceRequirements": [
                        { "type": "VCPU", "value": e.cpus.to_string() },
                        { "type": "MEMORY", "value": "2048" }
                    ]
                }
            });
            let mut array = json!({
                "jobName": name,
                "jobQueue": "archsim",
                "jobDefinition": name,
            });
            // Batch arrays have 2 to 10,000 children; one task is a plain
            // job, which Batch gives no array index: it gets its own.
            if e.tasks.len() >= 2 {
                array["arrayProperties"] = json!({ "size": e.tasks.len() });
            } else {
                array["containerOverrides"] = json!({
                    "environment": [{ "name": "ARCHSIM_TASK_INDEX", "value": "0" }]
                });
            }
            let merge = json!({
                "jobName": k8s_name(e.name, "-merge"),
                "jobQueue": "archsim",
                "jobDefinition": name,
                "dependsOn": [{ "jobId": "ARRAY_JOB_ID" }],
                "containerOverrides": { "command": merge_cmd }
            });
            let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
            files.push(("batch-job-definition.json", pretty(&definition), false));
            files.push(("batch-submit-array.json", pretty(&array), false));
            files.push(("batch-submit-merge.json", pretty(&merge), false));
            let submit_text = format!(
                "#!/bin/bash\n{}#\n# The image must have `archsim` on its PATH and the scenario and results on a\n\
                 # shared file system in its working directory; the queue is named `archsim`.\n\
                 set -euo pipefail\nhere=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n\
                 aws batch register-job-definition --cli-input-json \"file://$here/batch-job-definition.json\" >/dev/null\n\
                 array=$(aws batch submit-job --cli-input-json \"file://$here/batch-submit-array.json\" --query jobId --output text)\n\
                 sed \"s/ARRAY_JOB_ID/$array/\" \"$here/batch-submit-merge.json\" > \"$here/.merge-$array.json\"\n\
                 merge=$(aws batch submit-job --cli-input-json \"file://$here/.merge-$array.json\" --query jobId --output text)\n\
                 echo \"job $array ({}), merge job $merge after it\"\n",
                comment("#"),
                if e.tasks.len() == 1 {
                    "1 task".to_string()
                } else {
                    format!("an array of {} tasks", e.tasks.len())
                }
            );
            files.push(("submit-batch.sh", submit_text, true));
            submit = format!(
                "bash {}",
                sh_quote(&jobs.join("submit-batch.sh").display().to_string())
            );
        }
        Manager::Local => {
            let cmd = task_command(e, !all_tasks(e));
            let text = format!(
                "#!/bin/bash\n{}#\n# The same command as on a cluster, with the index in ARCHSIM_TASK_INDEX.\n\
                 set -euo pipefail\ncd {cd}\nfor i in $(seq 0 {}); do\n  \
                 ARCHSIM_TASK_INDEX=$i {} {}\ndone\n{} {}\n",
                comment("#"),
                e.tasks.len() - 1,
                sh_quote(e.exe),
                sh_join(&cmd),
                sh_quote(e.exe),
                sh_join(e.merge_args)
            );
            files.push(("local.sh", text, true));
            submit = format!("bash {}", sh_quote(&jobs.join("local.sh").display().to_string()));
        }
    }
    let mut written = Vec::new();
    for (name, text, exec) in files {
        let p = jobs.join(name);
        crate::files::write_atomic(&p, text.as_bytes()).map_err(|err| super::io_err("write", &p, err))?;
        if exec {
            set_executable(&p)?;
        }
        written.push(p);
    }
    Ok((written, submit))
}

#[cfg(unix)]
fn set_executable(p: &Path) -> Result<(), SweepError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .map_err(|err| super::io_err("chmod", p, err))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<(), SweepError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "cli")]
    #[test]
    fn flag_values_are_the_command_lines() {
        use clap::ValueEnum;
        for m in Manager::value_variants() {
            let name = m.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(m.flag_value()));
        }
    }

    #[test]
    fn array_specs_join_consecutive_tasks() {
        assert_eq!(array_spec(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_spec(&[2, 5, 6, 7, 9]), "2,5-7,9");
        assert_eq!(array_spec(&[4]), "4");
    }

    #[test]
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(sh_quote("scenarios/a.yaml"), "scenarios/a.yaml");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn kubernetes_names_are_rfc1123_labels() {
        let n = k8s_name("Capacity_Planning!", "-merge");
        assert_eq!(n, "archsim-capacity-planning-merge");
        let long = k8s_name(&"x".repeat(200), "-merge");
        assert!(long.len() <= 63, "{long}");
    }
}

# Bash functions for CI scripts that drive the local Slurm cluster started by
# .ci/slurm/start. Source it: `. .ci/slurm/lib.sh`. Safe under set -euo pipefail.
# Job ids: a plain job id (12), an array's id (12, meaning all its tasks),
# or one array task (12_3).

# Finished states: squeue -j with an explicit id lists finished jobs too (for
# MinJobAge=300 s), so "still in the queue" means in none of these.
SLURM_DONE_STATES=" COMPLETED CANCELLED FAILED TIMEOUT NODE_FAIL PREEMPTED BOOT_FAIL DEADLINE OUT_OF_MEMORY REVOKED "

# _slurm_live JOBID: prints "ID STATE" for each unfinished task of the job;
# returns 0 when squeue answered (also "Invalid job id": the job was purged,
# so none), 1 when squeue could not ask the controller.
_slurm_live() {
  local out err rc=0 id st errf
  errf=$(mktemp)
  out=$(squeue -h -r -j "$1" -t all -o '%i %T' 2>"$errf") || rc=$?
  err=$(cat "$errf")
  rm -f "$errf"
  if [ "$rc" -ne 0 ]; then
    case "$err" in *"Invalid job id"*) return 0 ;; esac
    return 1
  fi
  while read -r id st; do
    [ -n "$id" ] || continue
    case "$SLURM_DONE_STATES" in *" $st "*) ;; *) printf '%s %s\n' "$id" "$st" ;; esac
  done <<<"$out"
}

# slurm_wait JOBID [TIMEOUT_S=600]: waits until no task of the job is in the
# queue. 0 when it left the queue, 1 on timeout (prints what is still there).
slurm_wait() {
  local id=$1 timeout=${2:-600} start=$SECONDS live
  while :; do
    if live=$(_slurm_live "$id"); then
      [ -z "$live" ] && return 0
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      echo "slurm_wait: job $id still queued after ${timeout}s:" >&2
      squeue -r -j "$id" >&2 2>/dev/null || true
      return 1
    fi
    sleep 1
  done
}

# slurm_state JOBID_TASK: prints the job's (or array task's) state, e.g.
# PENDING, RUNNING, COMPLETED, CANCELLED, FAILED; from squeue while it is
# queued, else from `scontrol show job` (which remembers a finished job for
# MinJobAge=300 s); prints nothing if Slurm no longer knows the job.
slurm_state() {
  local id=$1 st
  st=$(squeue -h -r -j "$id" -o '%T' 2>/dev/null | head -n1) || st=
  if [ -z "$st" ]; then
    st=$(scontrol -o show job "$id" 2>/dev/null | head -n1 |
      sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p') || st=
  fi
  [ -z "$st" ] || printf '%s\n' "$st"
}

# slurm_wait_running JOBID_TASK [TIMEOUT_S=120]: waits until that job or array
# task is RUNNING. 0 when it is, 1 on timeout, 2 if it finished without being
# seen running (its state is printed on stderr).
slurm_wait_running() {
  local id=$1 timeout=${2:-120} start=$SECONDS st
  while :; do
    st=$(slurm_state "$id")
    case "$st" in
      RUNNING) return 0 ;;
      COMPLETED | CANCELLED | FAILED | TIMEOUT | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE | OUT_OF_MEMORY)
        echo "slurm_wait_running: $id is $st" >&2
        return 2 ;;
    esac
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      echo "slurm_wait_running: $id not running after ${timeout}s (state: ${st:-unknown})" >&2
      return 1
    fi
    sleep 0.5
  done
}

# slurm_cancel_deps [JOBID]: cancels the pending jobs whose dependency can never
# be satisfied (reason DependencyNeverSatisfied, e.g. afterok on a job that
# failed or was cancelled); with JOBID, only those whose dependency names that
# job. Slurm leaves such jobs pending forever otherwise. Prints the ids cancelled.
slurm_cancel_deps() {
  local want=${1:-} id reason dep re ids=()
  while read -r id reason dep; do
    [ "$reason" = DependencyNeverSatisfied ] || continue
    if [ -n "$want" ]; then
      # dependency strings look like afterok:12_*(failed),afterany:13(unfulfilled)
      re=":${want}([_(:,?]|\$)"
      [[ "$dep" =~ $re ]] || continue
    fi
    ids+=("$id")
  done < <(squeue -h -r -t PENDING -o '%i %r %E' 2>/dev/null || true)
  [ "${#ids[@]}" -eq 0 ] && return 0
  scancel "${ids[@]}"
  printf '%s\n' "${ids[@]}"
}

#!/usr/bin/env bash
# Runs the Slurm job array of docs/sweeps.md on a real, single-node Slurm
# on this machine, merges the shards, and checks that the result is byte-
# identical to an unsharded run of the same sweep.
#
#   sudo tools/slurm-sweep-test.sh        # or EYESIM=path/to/eyesim ...
#
# It installs slurm-wlm and munge from Debian's packages if they are
# missing, starts munged (unless one runs), slurmctld and slurmd with a
# configuration in a scratch folder, submits the documented job script and
# merge job, waits for them, compares, and on any exit stops every daemon
# it started, by PID file. Exit status 0 only if everything matched.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "slurm-sweep-test: run as root (it installs packages and starts daemons)" >&2; exit 1; }

say() { echo "slurm-sweep-test: $*"; }

# --- eyesim ---------------------------------------------------------------
if [ -z "${EYESIM:-}" ]; then
    TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
    say "building eyesim (release)"
    (cd "$REPO" && cargo build --release --quiet)
    EYESIM="$TARGET/release/eyesim"
fi
EYESIM="$(realpath "$EYESIM")"
[ -x "$EYESIM" ] || { say "no eyesim binary at $EYESIM"; exit 1; }

# --- packages -------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi
say "$(slurmctld -V), $(munged -V 2>&1 | awk '{print $1}')"

WORK="$(mktemp -d /tmp/eyesim-slurm.XXXXXX)"
STARTED_MUNGE=""
cleanup() {
    local rc=$?
    set +e
    if [ -n "${SLURM_CONF:-}" ] && command -v scancel >/dev/null; then
        scancel --quiet --user=root 2>/dev/null
    fi
    for p in slurmd slurmctld; do
        if [ -s "$WORK/$p.pid" ]; then
            local pid
            pid="$(cat "$WORK/$p.pid")"
            kill "$pid" 2>/dev/null && say "stopped $p (pid $pid)"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    if [ -n "$STARTED_MUNGE" ] && [ -s /run/munge/munged.pid ]; then
        local pid
        pid="$(cat /run/munge/munged.pid)"
        kill "$pid" 2>/dev/null && say "stopped munged (pid $pid)"
    fi
    if [ "$rc" = 0 ]; then rm -rf "$WORK"; else say "kept $WORK for inspection (logs in $WORK/log)"; fi
    exit "$rc"
}
trap cleanup EXIT INT TERM

# --- munge ----------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- munged
    STARTED_MUNGE=1
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    say "started munged (pid $(cat /run/munge/munged.pid))"
fi
munge -n | unmunge | grep -q "STATUS: *Success" || { say "munge does not work"; exit 1; }

# --- slurm ----------------------------------------------------------------
HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM=$(( $(free -m | awk '/^Mem:/ {print $2}') * 9 / 10 ))
mkdir -p "$WORK/state" "$WORK/spool" "$WORK/log" "$WORK/run"
export SLURM_CONF="$WORK/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=eyesim-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldPort=6917
SlurmdPort=6918
MinJobAge=3600
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
    [ -s "$WORK/slurmctld.pid" ] && [ -s "$WORK/slurmd.pid" ] && break
    sleep 0.5
done
say "started slurmctld (pid $(cat "$WORK/slurmctld.pid")) and slurmd (pid $(cat "$WORK/slurmd.pid"))"
for _ in $(seq 60); do
    sinfo -h -o %t 2>/dev/null | grep -qx idle && break
    sleep 1
done
sinfo
srun -N1 hostname >/dev/null
say "srun -N1 hostname: $(srun -N1 hostname)"

# --- the documented job array ----------------------------------------------
cd "$WORK/run"
cp -r "$REPO/hwconfigs" .
sed -n '/<!-- slurm-job:begin -->/,/<!-- slurm-job:end -->/p' "$REPO/docs/sweeps.md" |
    sed '/^<!--/d; /^```/d' >job.sh
grep -q 'eyesim sweep' job.sh || { say "no job script found in docs/sweeps.md"; exit 1; }
MERGE_CMD="$(sed -n '/<!-- slurm-merge:begin -->/,/<!-- slurm-merge:end -->/p' "$REPO/docs/sweeps.md" |
    sed -n "s/.*--wrap *\\\\\?//; s/^ *'\(.*\)'.*/\1/p")"
[ -n "$MERGE_CMD" ] || { say "no merge command found in docs/sweeps.md"; exit 1; }
mkdir -p bin && ln -s "$EYESIM" bin/eyesim
export PATH="$WORK/run/bin:$PATH"
say "job script (docs/sweeps.md):"
sed 's/^/    /' job.sh
# The documented #SBATCH lines stand, except the CPUs per task: this node
# has only $CPUS.
ARRAY=$(sbatch --parsable --cpus-per-task=1 --output="$WORK/log/task-%A_%a.out" job.sh)
MERGE=$(sbatch --parsable --dependency="afterany:$ARRAY" --output="$WORK/log/merge-%j.out" --wrap "$MERGE_CMD")
say "submitted array job $ARRAY and merge job $MERGE ($MERGE_CMD)"

deadline=$(( $(date +%s) + 1800 ))
while squeue -h -j "$ARRAY,$MERGE" 2>/dev/null | grep -q .; do
    [ "$(date +%s)" -lt "$deadline" ] || { say "timed out waiting for the jobs"; squeue; exit 1; }
    sleep 2
done
states="$(scontrol -o show job "$ARRAY" | sed -n 's/.*JobState=\([A-Z_]*\).*ExitCode=\([0-9:]*\).*/\1 \2/p' | sort | uniq -c)"
say "array tasks: $(echo "$states" | tr '\n' ' ')"
merge_state="$(scontrol -o show job "$MERGE" | sed -n 's/.*JobState=\([A-Z_]*\).*ExitCode=\([0-9:]*\).*/\1 \2/p')"
say "merge job: $merge_state"
if echo "$states" | grep -qv "COMPLETED 0:0" || [ "$merge_state" != "COMPLETED 0:0" ]; then
    for f in "$WORK"/log/*.out; do echo "--- $f"; tail -5 "$f"; done
    exit 1
fi

# --- byte identity with the unsharded run ------------------------------------
"$EYESIM" sweep --spec hwconfigs/sweeps/alexnet-glb-spads.toml --out unsharded --quiet
say "shards: $(ls -d results/sweep/shard-* | wc -l), merged: results/sweep/all"
diffs=0
for f in $(cd unsharded && find . -type f | sort); do
    if cmp -s "unsharded/$f" "results/sweep/all/$f"; then
        say "identical: $f ($(wc -c <"unsharded/$f") bytes)"
    else
        say "DIFFERS: $f"
        diffs=$((diffs + 1))
    fi
done
extra=$(cd results/sweep/all && find . -type f | sort | while read -r f; do [ -e "../../../unsharded/$f" ] || echo "$f"; done)
[ -z "$extra" ] || { say "only in the merge: $extra"; diffs=$((diffs + 1)); }
[ "$diffs" = 0 ] || { say "FAIL: $diffs file(s) differ"; exit 1; }
say "PASS: the merged shards of the Slurm job array equal the unsharded sweep byte for byte"

#!/usr/bin/env bash
# slurm_cluster.sh - a complete single-node Slurm cluster in one directory,
# for tests/cli_slurm.sh (and anyone who wants to try `autorec slurm`).
#
#   tests/slurm_cluster.sh start DIR   installs slurm-wlm and munge when
#                                      missing, writes DIR/slurm.conf and a
#                                      munge key, starts munged, slurmctld and
#                                      slurmd, waits until the node is idle
#   tests/slurm_cluster.sh stop DIR    stops the three daemons (by pid file)
#   tests/slurm_cluster.sh logs DIR    prints the daemons' logs
#
# After start, `source DIR/env` points the Slurm commands (sbatch, squeue,
# scancel, sinfo) at this cluster (SLURM_CONF).  Everything lives in DIR:
# key, socket, state and spool directories, pid files, logs.  The node is
# this host (`hostname -s`, reached at 127.0.0.1: no name resolution
# needed) with its `nproc` CPUs; CPUs are the consumable
# resource (select/cons_tres, CR_CPU), so array tasks share the node.  No
# cgroups (proctrack/linuxproc, task/none), no accounting (no sacct).
# The daemons run as root (SlurmUser=root), as in CI.  start exits non-zero,
# with the logs printed, when the cluster does not come up.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() { echo "usage: $0 start|stop|logs DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

# A TCP port nobody listens on, from a range above the usual ones.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

print_logs() {
    local f
    for f in "$dir"/munged.log "$dir"/slurmctld.log "$dir"/slurmd.log "$dir"/*.stderr; do
        [ -s "$f" ] || continue
        echo "---- $f (last 40 lines)"
        tail -n 40 "$f"
    done
}

# Sends SIGTERM to the daemon of pid file $1, then SIGKILL after 10 s.
stop_pidfile() {
    local f=$1 pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$f"
}

stop() {
    # cancel whatever still runs in this cluster (and only this one), so no
    # task outlives it
    if [ -s "$dir/slurmctld.pid" ] && [ -f "$dir/slurm.conf" ]; then
        SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --user="$(id -un)" 2>/dev/null
        for _ in $(seq 100); do
            [ -z "$(SLURM_CONF="$dir/slurm.conf" squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    stop_pidfile "$dir/slurmd.pid"
    stop_pidfile "$dir/slurmctld.pid"
    stop_pidfile "$dir/munged.pid"
}

fail_start() {
    echo "slurm_cluster: $*" >&2
    print_logs >&2
    stop
    exit 1
}

start() {
    bash "$here/tools/install_deps.sh" slurm-wlm munge || { echo "slurm_cluster: cannot install slurm-wlm and munge" >&2; exit 1; }
    [ "$(id -u)" -eq 0 ] || { echo "slurm_cluster: must run as root (SlurmUser=root)" >&2; exit 1; }
    mkdir -p "$dir" || exit 1
    dir=$(cd "$dir" && pwd)
    # munged wants its socket directory searchable by all
    chmod 0755 "$dir"
    mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
    chmod 0755 "$dir/munge"
    local host cpus ctld_port slurmd_port
    host=$(hostname -s)
    cpus=$(nproc)
    ctld_port=$(free_port) && slurmd_port=$(free_port) || fail_start "no free TCP port"
    [ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))

    # munge: a fresh key, our own socket, pid, log and seed files
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
        --seed-file="$dir/munge/munged.seed" 2>"$dir/munged.stderr" \
        || fail_start "munged did not start"
    for _ in $(seq 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
    munge -n -S "$dir/munge/munge.socket" | unmunge -S "$dir/munge/munge.socket" >/dev/null 2>&1 \
        || fail_start "munge does not answer on $dir/munge/munge.socket"

    cat >"$dir/slurm.conf" <<CONF
# single-node test cluster written by tests/slurm_cluster.sh
ClusterName=autorec-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=256 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    cat >"$dir/env" <<ENV
export SLURM_CONF=$dir/slurm.conf
ENV
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -i 2>"$dir/slurmctld.stderr" || fail_start "slurmctld did not start"
    slurmd 2>"$dir/slurmd.stderr" || fail_start "slurmd did not start"
    local state=""
    for _ in $(seq 300); do
        state=$(sinfo -h -N -n "$host" -o %T 2>/dev/null | head -n 1)
        case "$state" in idle|idle~|mixed|allocated) echo "slurm_cluster: node $host ($cpus CPUs) $state, SLURM_CONF=$dir/slurm.conf"; return 0 ;; esac
        sleep 0.1
    done
    fail_start "node $host did not become idle within 30 s (state '${state:-none}')"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    logs) print_logs ;;
    *) usage ;;
esac

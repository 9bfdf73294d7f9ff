#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the tests of `xbench run --launcher slurm`.
#
#   bash scripts/slurm.sh start    install (Debian's slurm-wlm and munge), configure, start; wait for the node
#   bash scripts/slurm.sh status   what runs, and sinfo
#   bash scripts/slurm.sh stop     stop slurmd, slurmctld and munged
#
# Needs root (apt-get, daemons). `start` is idempotent: when the node already answers idle or
# busy, it returns in about a second. The node is this machine as `slurmd -C` sees it (hostname,
# CPUs, memory) plus any NVIDIA GPUs; one partition, `debug`, the default. Accounting is off, so
# `sacct` does not answer: xbench reads job states from squeue.
set -euo pipefail

CONF_DIR=/etc/slurm
STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm
PARTITION=debug

log() { echo "slurm.sh: $*" >&2; }

running() { pgrep -x "$1" >/dev/null 2>&1; }

node_ready() {
    # idle, mixed or allocated: slurmd is registered and jobs can start
    local state
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n1) || return 1
    [[ "$state" =~ ^(idle|mixed|allocated|completing)$ ]]
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        return
    fi
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y -q slurm-wlm munge >/dev/null
    }
}

gpu_count() {
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true
    else
        echo 0
    fi
}

write_config() {
    local node gpus gres_line=""
    # "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
    node=$(slurmd -C | head -n1)
    # A job that asks for no memory gets its CPUs' share, not the whole node (which would run
    # one job at a time).
    local cpus mem
    cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
    gpus=$(gpu_count)
    mkdir -p "$CONF_DIR" "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR" "$RUN_DIR"
    if [[ "$gpus" -gt 0 ]]; then
        gres_line="Gres=gpu:$gpus"
        printf 'Name=gpu File=/dev/nvidia[0-%d]\n' "$((gpus - 1))" > "$CONF_DIR/gres.conf"
    else
        rm -f "$CONF_DIR/gres.conf"
    fi
    cat > "$CONF_DIR/slurm.conf.new" <<EOF
# Written by xbench's scripts/slurm.sh: a single-node cluster on $(hostname).
ClusterName=xbench
SlurmctldHost=$(hostname)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire seconds before it may start again (default 120); on one node
# with quick tests 5 is plenty.
AuthInfo=cred_expire=5
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# No cgroups in a container or VM without systemd: track processes by their parents.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / cpus))
# Accounting off (no slurmdbd): squeue and scontrol answer, sacct does not.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Requeue: a preempted or signalled job may be put back in the queue (scontrol requeue), as
# submitit does when a job's checkpoint() returns its resubmission.
JobRequeue=1
# Finished jobs stay visible to squeue/scontrol for 5 minutes.
MinJobAge=300
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
KillWait=30
MaxArraySize=10001
GresTypes=gpu
$node $gres_line State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    if ! cmp -s "$CONF_DIR/slurm.conf.new" "$CONF_DIR/slurm.conf" 2>/dev/null; then
        mv "$CONF_DIR/slurm.conf.new" "$CONF_DIR/slurm.conf"
        return 0  # changed
    fi
    rm -f "$CONF_DIR/slurm.conf.new"
    return 1
}

start_munge() {
    if running munged; then return; fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
    chmod 0755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged
}

wait_for_node() {
    local deadline=$((SECONDS + 60))
    while ! node_ready; do
        if ((SECONDS > deadline)); then
            log "the node did not become idle within 60 s; see $LOG_DIR/slurmctld.log and slurmd.log"
            sinfo -N -l >&2 || true
            exit 1
        fi
        # a node left DOWN by an earlier unclean stop comes back at once
        scontrol update nodename="$(hostname)" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
}

start() {
    install_packages
    if write_config && running slurmctld; then
        log "slurm.conf changed: restarting the daemons"
        stop_daemon slurmd
        stop_daemon slurmctld
    fi
    if running slurmctld && running slurmd && running munged && node_ready; then
        return 0  # already up with this configuration: nothing to do
    fi
    start_munge
    running slurmctld || slurmctld
    running slurmd || slurmd
    wait_for_node
    log "up: $(sinfo -h -o '%P %D node(s) %c cpus %m MB %T' | head -n1)"
}

stop_daemon() {
    local name=$1 pid
    pid=$(pgrep -x "$name" || true)
    [[ -z "$pid" ]] && return
    kill $pid
    for _ in $(seq 1 50); do
        running "$name" || return 0
        sleep 0.2
    done
    log "$name did not stop in 10 s; killing it"
    kill -9 $pid 2>/dev/null || true
}

stop() {
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
    log "stopped"
}

status() {
    for name in munged slurmctld slurmd; do
        if running "$name"; then echo "$name: running"; else echo "$name: stopped"; fi
    done
    if running slurmctld; then sinfo; fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

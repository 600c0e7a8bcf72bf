#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for the tests and for trying the SLURM recipe.
#
#   scripts/slurm-local.sh start    # install (Debian packages) when missing, configure, start; idempotent
#   scripts/slurm-local.sh stop     # stop every daemon this script started
#   scripts/slurm-local.sh status   # exit 0 when the cluster takes jobs
#
# Needs root (it installs packages and writes /etc/slurm/slurm.conf). It starts munged, a private
# MariaDB instance, slurmdbd, slurmctld and slurmd. Accounting is not optional: submitit polls job
# states with `sacct`, and sacct only reads from slurmdbd (Slurm 22.05 has no file-based accounting
# storage any more); without it a cancelled or timed-out job would look "UNKNOWN", i.e. unfinished,
# forever. MariaDB is private (own data dir, socket and port under $HPO_SLURM_DIR, bound to 127.0.0.1)
# so a system database, if there is one, is left alone.
#
# The node is described by `slurmd -C`: this machine's real CPU count and memory. One partition,
# `debug`, is the default. Time limits are checked by slurmctld every 30 s or so, so a job past its
# `--time` is killed within about a minute of it (KillWait=5 s after the SIGTERM).
set -euo pipefail

DIR=${HPO_SLURM_DIR:-/var/lib/hpo-slurm-local}
CONF_DIR=/etc/slurm
MARKER="# written by hpo_sweeper's scripts/slurm-local.sh"
DB_PORT=${HPO_SLURM_DB_PORT:-3307}
DB_PASS=hpo-local-only   # the database listens on 127.0.0.1 only
CLUSTER=hpolocal

log() { echo "slurm-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages and writes $CONF_DIR)"; }

install_missing() {
    local missing=() pkg cmd
    # command -> Debian package
    for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client sacct:slurm-client \
                slurmdbd:slurmdbd munged:munge mariadbd:mariadb-server; do
        cmd=${pair%%:*}; pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} = 0 ] && return 0
    log "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q -o DPkg::Lock::Timeout=600 update >"$DIR/log/apt.log" 2>&1 || { cat "$DIR/log/apt.log" >&2; die "apt-get update failed"; }
    # slurm-wlm is the metapackage of slurmctld + slurmd; named too so the install matches the docs.
    apt-get -q -y -o DPkg::Lock::Timeout=600 install slurm-wlm "${missing[@]}" >>"$DIR/log/apt.log" 2>&1 \
        || { tail -30 "$DIR/log/apt.log" >&2; die "apt-get install failed"; }
}

wait_for() {  # wait_for SECONDS WHAT COMMAND...
    local limit=$1 what=$2; shift 2
    for _ in $(seq $((limit * 4))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    die "$what did not come up within ${limit}s (logs: $DIR/log)"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_configs() {
    local host node
    host=$(hostname -s)
    # `slurmd -C` prints this machine's NodeName line (CPUs, sockets, cores, RealMemory).
    node=$(slurmd -C | head -1)
    [[ $node == NodeName=* ]] || die "unexpected output of slurmd -C: $node"
    if [ -f "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARKER" "$CONF_DIR/slurm.conf"; then
        die "$CONF_DIR/slurm.conf exists and was not written by this script; not overwriting it"
    fi
    mkdir -p "$CONF_DIR"
    cat >"$CONF_DIR/slurm.conf" <<EOF
$MARKER: a one-node cluster on $host
ClusterName=$CLUSTER
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# No cgroups in containers: track job processes by parent pid, no task affinity.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
# submitit creates an array job's folders (where SLURM opens the tasks' stdout) only after sbatch
# returns, so on an idle one-node cluster a job started at once failed "Could not open stdout file"
# (a race seen here, even with scheduling deferred: backfill started a job 0.1 s after submission;
# a real cluster's scheduling latency hides it). The prolog, run by slurmd before it starts the
# job, waits (up to 30 s) for the job's stdout folder to exist.
Prolog=$DIR/prolog.sh
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# submitit polls sacct, which needs slurmdbd (see the top of this script).
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$host
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$DIR/prolog.sh" <<'PROLOG'
#!/bin/sh
# Wait for the job's stdout folder (made by submitit right after sbatch returns); see slurm.conf.
out=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -n 's/^ *StdOut=//p' | head -1)
[ -n "$out" ] || exit 0
dir=$(dirname "$out")
i=0
while [ ! -d "$dir" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
exit 0
PROLOG
    chmod 755 "$DIR/prolog.sh"
    cat >"$CONF_DIR/slurmdbd.conf" <<EOF
$MARKER
AuthType=auth/munge
DbdHost=$host
SlurmUser=root
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$CONF_DIR/slurmdbd.conf"  # slurmdbd refuses a config others can read
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
    [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
    touch "$DIR/started-munged"
    wait_for 20 munged sh -c 'munge -n | unmunge'
}

start_mariadb() {
    local sock=$DIR/mysql/mysqld.sock
    if alive "$DIR/mysql/mariadbd.pid"; then return 0; fi
    if [ ! -d "$DIR/mysql/data/mysql" ]; then
        mkdir -p "$DIR/mysql/data"
        mariadb-install-db --user=root --datadir="$DIR/mysql/data" --auth-root-authentication-method=socket \
            >"$DIR/log/mariadb-install.log" 2>&1 || { cat "$DIR/log/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    /usr/sbin/mariadbd --no-defaults --user=root --datadir="$DIR/mysql/data" --socket="$sock" \
        --pid-file="$DIR/mysql/mariadbd.pid" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --innodb-buffer-pool-size=64M --log-error="$DIR/log/mariadb.log" </dev/null >>"$DIR/log/mariadb.log" 2>&1 &
    # (its output goes to the log, not to this script's stdout: a caller reading that to its end would wait
    # for the database to exit)
    wait_for 60 MariaDB mariadb-admin --socket="$sock" ping
    mariadb --socket="$sock" -u root <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

start() {
    need_root
    mkdir -p "$DIR"/{log,state,spool,mysql}
    install_missing
    if status >/dev/null 2>&1; then log "already running"; return 0; fi
    write_configs
    start_munge
    start_mariadb
    alive "$DIR/slurmdbd.pid" || /usr/sbin/slurmdbd
    wait_for 60 slurmdbd sacctmgr -n list cluster
    sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null 2>&1 || true  # "already exists" on a restart
    alive "$DIR/slurmctld.pid" || /usr/sbin/slurmctld
    wait_for 60 slurmctld scontrol ping
    alive "$DIR/slurmd.pid" || /usr/sbin/slurmd
    wait_for 60 "the node" node_idle
    log "up: $(sinfo -h -o '%P %D nodes, %c CPUs, %m MB, %T')"
}

node_idle() {
    local state
    state=$(sinfo -h -o %T 2>/dev/null | head -1)
    case $state in
        idle*|mixed*|allocated*) return 0 ;;
        down*|drain*) scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1; return 1 ;;
        *) return 1 ;;
    esac
}

status() {
    scontrol ping 2>/dev/null | grep -q UP && node_idle && sacct -n -X -S now >/dev/null 2>&1
}

stop_pidfile() {  # stop_pidfile NAME PIDFILE
    local pid
    [ -f "$2" ] || return 0
    pid=$(cat "$2")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && { log "$1 did not stop on SIGTERM; SIGKILL"; kill -9 "$pid"; }
    fi
    rm -f "$2"
}

stop() {
    need_root
    # Jobs first, so that none is left running under a dead slurmd.
    command -v scancel >/dev/null && scontrol ping 2>/dev/null | grep -q UP && scancel --full --user=root 2>/dev/null || true
    stop_pidfile slurmd "$DIR/slurmd.pid"
    stop_pidfile slurmctld "$DIR/slurmctld.pid"
    stop_pidfile slurmdbd "$DIR/slurmdbd.pid"
    stop_pidfile mariadbd "$DIR/mysql/mariadbd.pid"
    if [ -f "$DIR/started-munged" ]; then
        stop_pidfile munged /run/munge/munged.pid
        rm -f "$DIR/started-munged"
    fi
    log "stopped"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) if status; then log "up"; else log "not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

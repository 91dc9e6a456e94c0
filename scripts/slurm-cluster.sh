#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, for qforge's Slurm executor tests and
# for trying `qforge run --executor slurm` on one machine.
#
#   scripts/slurm-cluster.sh [--install] start  [STATE_DIR]
#   scripts/slurm-cluster.sh                status [STATE_DIR]
#   scripts/slurm-cluster.sh                stop   [STATE_DIR]
#
# start: writes STATE_DIR/slurm.conf (one node named after `hostname -s` at
# 127.0.0.1, one partition `debug`), generates a munge key if there is none,
# starts munged, slurmctld and slurmd with everything (sockets, spool, state,
# logs, pid files) under STATE_DIR, and waits until `sinfo` shows the node
# idle. Running it again while the cluster is up does nothing. stop ends the
# daemons it started. --install first runs `apt-get install -y slurm-wlm munge`
# (needs root and a prior `apt-get update`); without it nothing is installed.
#
# Point the Slurm commands at the cluster with: export SLURM_CONF=STATE_DIR/slurm.conf
# STATE_DIR defaults to $QFORGE_SLURM_STATE, else /tmp/qforge-slurm.
set -euo pipefail

install=0
if [[ "${1:-}" == "--install" ]]; then install=1; shift; fi
action="${1:-}"
state="${2:-${QFORGE_SLURM_STATE:-/tmp/qforge-slurm}}"
case "$action" in start|stop|status) ;; *)
  echo "usage: $0 [--install] start|stop|status [STATE_DIR]" >&2; exit 2 ;;
esac
if [[ "$action" == start ]]; then mkdir -p "$state"; fi
state="$(cd "$state" 2>/dev/null && pwd || echo "$state")"
conf="$state/slurm.conf"
export SLURM_CONF="$conf"

say() { echo "slurm-cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

alive() { # pid file -> true when its process runs
  [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

need_tools() {
  local missing=()
  for t in munged slurmctld slurmd sinfo sbatch; do
    command -v "$t" >/dev/null 2>&1 || [[ -x "/usr/sbin/$t" ]] || missing+=("$t")
  done
  if ((${#missing[@]})); then
    die "not installed: ${missing[*]}; install with: apt-get install -y slurm-wlm munge (or run: $0 --install start)"
  fi
}

bin() { command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"; }

write_conf() {
  local node cpus mem_total mem
  node="$(hostname -s)"
  cpus="$(nproc)"
  mem_total="$(free -m | awk '/^Mem:/ {print $2}')"
  # Leave room for the OS and the daemons; Slurm refuses a node that reports
  # less memory than RealMemory.
  mem=$(( mem_total > 2048 ? mem_total - 1024 : mem_total / 2 ))
  mkdir -p "$state"/{ctld,spool,log,run,munge}
  cat > "$conf.tmp" <<CONF
# Written by scripts/slurm-cluster.sh: a one-node cluster on localhost.
ClusterName=qforge
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket.2
SlurmctldPort=${QFORGE_SLURMCTLD_PORT:-6817}
SlurmdPort=${QFORGE_SLURMD_PORT:-6818}
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Finished jobs stay visible to scontrol for 5 minutes; a time limit is
# enforced on the minute, and a stopped job is killed 2 s after SIGTERM.
MinJobAge=300
KillWait=2
OverTimeLimit=0
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
MaxArraySize=10001
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
  mv "$conf.tmp" "$conf"
}

start_munge() {
  local key="$state/munge/munge.key"
  if [[ ! -s "$key" ]]; then
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$key" --force >/dev/null
    else
      dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
    fi
  fi
  chmod 700 "$state/munge"
  chmod 600 "$key"
  if alive "$state/munge/munged.pid"; then return; fi
  "$(bin munged)" --force \
    --key-file="$key" \
    --socket="$state/munge/munge.socket.2" \
    --pid-file="$state/munge/munged.pid" \
    --log-file="$state/log/munged.log" \
    --seed-file="$state/munge/munged.seed" \
    || die "munged did not start; see $state/log/munged.log"
}

node_state() {
  timeout 10 sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true
}

status() {
  local ok=1
  for d in munge/munged slurmctld slurmd; do
    local pidfile="$state/run/$(basename "$d").pid"
    [[ "$d" == munge/munged ]] && pidfile="$state/munge/munged.pid"
    if alive "$pidfile"; then say "$(basename "$d") running (pid $(cat "$pidfile"))"; else say "$(basename "$d") not running"; ok=0; fi
  done
  if ((ok)); then say "node: $(node_state)"; fi
  ((ok))
}

port_taken() { # port -> true when something listens on it
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_daemon() { # name, pid file, log file
  local name="$1" pidfile="$2" log="$3"
  alive "$pidfile" && return
  "$(bin "$name")" -f "$conf" || die "$name did not start; see $log"
  for _ in $(seq 1 20); do alive "$pidfile" && return; sleep 0.25; done
  die "$name exited right after starting: $(tail -n 1 "$log" 2>/dev/null); see $log"
}

start() {
  if ((install)); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >&2
  fi
  need_tools
  if [[ -f "$conf" ]] && alive "$state/run/slurmctld.pid" && alive "$state/run/slurmd.pid"; then
    say "already running with $conf"
  else
    local ctld_port="${QFORGE_SLURMCTLD_PORT:-6817}" slurmd_port="${QFORGE_SLURMD_PORT:-6818}"
    for port in "$ctld_port" "$slurmd_port"; do
      if port_taken "$port" && ! alive "$state/run/slurmctld.pid" && ! alive "$state/run/slurmd.pid"; then
        die "port $port is already in use, probably by a Slurm cluster started from another state folder ($(pgrep -a 'slurmctld|slurmd' | tr '\n' ';')); stop it with: $0 stop OTHER_STATE_DIR, or choose other ports with QFORGE_SLURMCTLD_PORT and QFORGE_SLURMD_PORT"
      fi
    done
    write_conf
    start_munge
    start_daemon slurmctld "$state/run/slurmctld.pid" "$state/log/slurmctld.log"
    start_daemon slurmd "$state/run/slurmd.pid" "$state/log/slurmd.log"
  fi
  local s=""
  for _ in $(seq 1 60); do
    s="$(node_state)"
    case "$s" in
      idle*|mixed*|allocated*) break ;;
      down*|drain*) scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  case "$s" in idle*|mixed*|allocated*) ;; *)
    die "the node did not become idle (state: ${s:-unknown}); see $state/log/slurmctld.log and $state/log/slurmd.log" ;;
  esac
  say "cluster up: node $(hostname -s) is $s, partition debug"
  echo "export SLURM_CONF=$conf"
}

stop_daemon() { # pid file, name
  if alive "$1"; then
    local pid; pid="$(cat "$1")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    say "stopped $2 (pid $pid)"
  fi
  rm -f "$1"
}

stop() {
  stop_daemon "$state/run/slurmd.pid" slurmd
  stop_daemon "$state/run/slurmctld.pid" slurmctld
  stop_daemon "$state/munge/munged.pid" munged
  say "stopped the cluster in $state"
}

"$action"

#!/usr/bin/env bash
# slurm-local.sh — a private one-node Slurm cluster for tests and local use.
#
#   scripts/slurm-local.sh start DIR   start munge (if not running), slurmctld and slurmd with
#                                      their state, logs and slurm.conf under DIR; prints
#                                      "export SLURM_CONF=DIR/slurm.conf" for the clients
#   scripts/slurm-local.sh stop DIR    stop the daemons started for DIR (by pid)
#   scripts/slurm-local.sh status DIR  sinfo of that cluster
#
# Works as root without systemd or cgroups (proctrack/linuxproc, task/none), as
# ../shared/docs/local-slurm.md describes. Ports come from MRPC_SLURM_PORT (default 6817;
# slurmd uses port+1). Every wait is bounded.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
cmd=${1:-}; dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || { sed -n '2,12p' "$0"; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
port=${MRPC_SLURM_PORT:-6817}
host=$(hostname -s)

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "slurm-local: timed out after ${secs}s waiting for $what" >&2
  return 1
}

start() {
  mkdir -p "$dir/spool/ctld" "$dir/spool/d" "$dir/log" "$dir/run"
  # munge: one daemon per machine; start it when no one has.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
    su -s /bin/sh munge -c /usr/sbin/munged
    wait_for 10 munge sh -c 'munge -n | unmunge'
  fi
  local mem cpus
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=mrpc-local
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
KillWait=10
MaxArraySize=10001
SchedulerParameters=sched_interval=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF=$dir/slurm.conf
  /usr/sbin/slurmctld -f "$SLURM_CONF"
  wait_for 20 slurmctld scontrol ping
  /usr/sbin/slurmd -f "$SLURM_CONF"
  wait_for 30 "node $host idle" sh -c "sinfo -h -N -o %T | grep -qE '^(idle|mixed|allocated)'"
  echo "export SLURM_CONF=$dir/slurm.conf"
}

stop() {
  for d in slurmd slurmctld; do
    local pidfile=$dir/run/$d.pid
    if [[ -f "$pidfile" ]]; then
      local pid; pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$pidfile"
    fi
  done
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) SLURM_CONF=$dir/slurm.conf sinfo ;;
  *) echo "slurm-local: unknown command $cmd" >&2; exit 2 ;;
esac

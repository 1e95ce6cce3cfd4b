#!/usr/bin/env bash
# slurm-local.sh — a private Slurm cluster on this machine, for tests and local use:
# one node (default), or N nodes, each slurmd in its own network namespace.
#
#   scripts/slurm-local.sh start DIR [--nodes N]   start munge (if not running), slurmctld and
#                                      N slurmd (default 1) with their state, logs and
#                                      slurm.conf under DIR; prints
#                                      "export SLURM_CONF=DIR/slurm.conf" for the clients.
#                                      Starting a running cluster again only prints that line.
#   scripts/slurm-local.sh stop DIR    stop the daemons started for DIR (by pid) and remove
#                                      every namespace and bridge made for it
#   scripts/slurm-local.sh status DIR  sinfo of that cluster
#   scripts/slurm-local.sh kill-node DIR NODE    power loss of NODE (N > 1): SIGKILL to every
#                                      process in its namespace (slurmd, job steps, trainers)
#   scripts/slurm-local.sh start-node DIR NODE   start NODE's slurmd again (back to service)
#   scripts/slurm-local.sh exec DIR NODE CMD...  run CMD on NODE (its network and hostname)
#
# Works as root without systemd or cgroups (proctrack/linuxproc, task/none), as
# ../shared/docs/local-slurm.md describes. Ports come from MRPC_SLURM_PORT (default 6817;
# slurmd uses port+1). Every wait is bounded. The script touches only clusters it started:
# DIR/run/cluster.id records what it made (pids, namespaces, bridge), and stop refuses a
# DIR without it.
#
# N > 1 nodes (../shared/docs/multinode-slurm.md): a bridge mrpcb<tag> with 10.99.X.1/24 in
# this namespace, where slurmctld runs; node K is namespace mrpc-<tag>-nodeK (hostname nodeK,
# address 10.99.X.(10+K) on a veth to the bridge, no route elsewhere), slurmd started with
# nsenter --net (not `ip netns exec`, which hides /sys/fs/cgroup from slurmd). <tag> comes
# from DIR, X is the first free subnet. All nodes share the filesystem, as cluster nodes
# share /scratch. Node failures are quick to see: SlurmdTimeout=10, cred_expire=15,
# JobRequeue=1, ReturnToService=2. Where namespaces cannot be made, start exits with 77
# and says why.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0; fi
cmd=${1:-}; dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || { sed -n '2,17p' "$0"; exit 2; }
shift 2
nodes=1
if [[ "$cmd" == start ]]; then
  while [[ $# -gt 0 ]]; do
    case $1 in
      --nodes) nodes=${2:-}; shift 2 || { echo "slurm-local: --nodes needs a number" >&2; exit 2; } ;;
      --nodes=*) nodes=${1#--nodes=}; shift ;;
      *) echo "slurm-local: unknown option $1" >&2; exit 2 ;;
    esac
  done
  [[ "$nodes" =~ ^[0-9]+$ ]] && (( nodes >= 1 && nodes <= 64 )) ||
    { echo "slurm-local: --nodes $nodes: expected a number of nodes from 1 to 64" >&2; exit 2; }
fi
if [[ "$cmd" != stop && "$cmd" != status ]]; then mkdir -p "$dir"; fi
[[ -d "$dir" ]] && dir=$(cd "$dir" && pwd)
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

marker=$dir/run/cluster.id
# alive PID: the process exists and is not a zombie (PID 1 here reaps slowly, kill -0 sees zombies).
alive() { local st; st=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null) && [[ -n "$st" && "$st" != Z ]]; }
# stop_pid PID: TERM, up to 10 s, then KILL.
stop_pid() {
  local pid=$1
  alive "$pid" || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do alive "$pid" || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 25); do alive "$pid" || return 0; sleep 0.2; done
}
marker_get() { sed -n "s/^$1=//p" "$marker" 2>/dev/null | head -n 1; }
node_ns() { echo "mrpc-$(marker_get tag)-$1"; }
# node_netns NODE: the namespace of NODE of this cluster, or exit 2 saying there is no such node.
node_netns() {
  local ns; ns=$(node_ns "$1")
  [[ -e /run/netns/$ns ]] || { echo "slurm-local: no node $1 in $dir" >&2; exit 2; }
  echo "$ns"
}

start_munge() { # one daemon per machine; start it when no one has.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
    su -s /bin/sh munge -c /usr/sbin/munged
    wait_for 10 munge sh -c 'munge -n | unmunge'
  fi
}

# running: this DIR has a cluster that this script started and whose controller is alive.
running() {
  [[ -f "$marker" && -f "$dir/run/slurmctld.pid" ]] && alive "$(cat "$dir/run/slurmctld.pid")"
}

start() {
  if running; then
    local have; have=$(marker_get nodes)
    if [[ "$have" != "$nodes" ]]; then
      echo "slurm-local: the cluster in $dir runs with $have node(s), not $nodes: stop it first" >&2; exit 2
    fi
    echo "export SLURM_CONF=$dir/slurm.conf"; return 0
  fi
  if [[ -f "$marker" ]]; then stop; fi   # a cluster that died: clean up what it left
  if [[ -f "$dir/slurm.conf" && ! -f "$marker" && ! -f "$dir/run/cluster.stopped" ]] &&
     pgrep -f -- "-f $dir/slurm.conf" >/dev/null 2>&1; then
    echo "slurm-local: $dir has a running cluster that this script did not start: not touching it" >&2; exit 2
  fi
  mkdir -p "$dir/spool/ctld" "$dir/spool/d" "$dir/log" "$dir/run"
  if (( nodes > 1 )); then start_multi; else start_one; fi
  echo "export SLURM_CONF=$dir/slurm.conf"
}

# conf_common NAME CONTROLLER: the slurm.conf lines of every cluster this script makes.
conf_common() {
  cat <<CONF
ClusterName=$1
SlurmctldHost=$2
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
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmctldTimeout=30
MinJobAge=300
KillWait=10
MaxArraySize=10001
SchedulerParameters=sched_interval=2
CONF
}

start_one() {
  start_munge
  local mem cpus
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  printf 'owner=mrpc-slurm-local\ndir=%s\nnodes=1\nport=%s\n' "$dir" "$port" > "$marker"
  {
    conf_common mrpc-local "$host"
    cat <<CONF
SlurmdSpoolDir=$dir/spool/d
SlurmdPidFile=$dir/run/slurmd.pid
SlurmdLogFile=$dir/log/slurmd.log
SlurmdTimeout=30
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  } > "$dir/slurm.conf"
  export SLURM_CONF=$dir/slurm.conf
  /usr/sbin/slurmctld -f "$SLURM_CONF"
  wait_for 20 slurmctld scontrol ping
  /usr/sbin/slurmd -f "$SLURM_CONF"
  wait_for 30 "node $host idle" sh -c "sinfo -h -N -o %T | grep -qE '^(idle|mixed|allocated)'"
}

# skip WHY: the machine cannot make namespaces; the tests that need them skip (77).
skip() { echo "slurm-local: cannot build a multi-node cluster here: $*" >&2; rm -f "$marker"; exit 77; }

start_multi() {
  command -v ip >/dev/null && command -v nsenter >/dev/null && command -v unshare >/dev/null ||
    skip "ip (iproute2), nsenter and unshare (util-linux) are needed"
  (( EUID == 0 )) || skip "network namespaces need root"
  local tag net x
  tag=$(printf '%s' "$dir" | md5sum | cut -c1-6)
  # The first 10.99.X.0/24 that no interface of this machine uses.
  net=""
  for x in $(seq $(( 0x${tag:0:2} % 200 + 20 )) 254) $(seq 20 254); do
    if ! ip -4 -o addr show | grep -q " 10\.99\.$x\."; then net=10.99.$x; break; fi
  done
  [[ -n "$net" ]] || skip "no free 10.99.X.0/24 subnet"
  local br=mrpcb$tag k ns list=""
  for k in $(seq 1 "$nodes"); do list+=" mrpc-$tag-node$k"; done
  for ns in $list; do
    if [[ -e /run/netns/$ns ]]; then
      echo "slurm-local: namespace $ns exists but $dir does not record it: not touching it (ip netns del $ns if it is stale)" >&2
      exit 2
    fi
  done
  if ip link show "$br" >/dev/null 2>&1; then
    echo "slurm-local: bridge $br exists but $dir does not record it: not touching it" >&2; exit 2
  fi
  # What is made is recorded before it is made, so that stop removes it whatever fails.
  printf 'owner=mrpc-slurm-local\ndir=%s\nnodes=%s\nport=%s\ntag=%s\nsubnet=%s.0/24\nbridge=%s\nnetns=%s\n' \
    "$dir" "$nodes" "$port" "$tag" "$net" "$br" "${list# }" > "$marker"
  ip link add "$br" type bridge 2>/dev/null || skip "cannot create a bridge (ip link add type bridge failed)"
  ip addr add "$net.1/24" dev "$br"
  ip link set "$br" up
  for k in $(seq 1 "$nodes"); do
    ns=mrpc-$tag-node$k
    ip netns add "$ns" 2>/dev/null || skip "cannot create network namespace $ns (ip netns add failed)"
    ip link add "mv$tag$k" type veth peer name eth0 netns "$ns"
    ip link set "mv$tag$k" master "$br" up
    ip -n "$ns" addr add "$net.$((10 + k))/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    mkdir -p "$dir/tmp/node$k" "$dir/spool/node$k"
  done
  start_munge
  local cpus mem
  cpus=$(nproc)
  mem=$(( ($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512) / nodes ))
  {
    conf_common "mrpc-local-$tag" "$host($net.1)"
    cat <<CONF
AuthInfo=cred_expire=15
JobRequeue=1
SlurmdSpoolDir=$dir/spool/%n
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmdLogFile=$dir/log/slurmd-%n.log
TmpFS=$dir/tmp/%n
SlurmdTimeout=10
CONF
    for k in $(seq 1 "$nodes"); do
      echo "NodeName=node$k NodeAddr=$net.$((10 + k)) NodeHostname=node$k CPUs=$cpus RealMemory=$mem State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=node[1-$nodes] Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO"
  } > "$dir/slurm.conf"
  export SLURM_CONF=$dir/slurm.conf
  /usr/sbin/slurmctld -f "$SLURM_CONF"
  wait_for 20 slurmctld scontrol ping
  for k in $(seq 1 "$nodes"); do start_node "node$k"; done
  wait_for 30 "$nodes nodes idle" sh -c \
    "[ \$(sinfo -h -N -o %T | grep -cE '^(idle|mixed|allocated)\$') -eq $nodes ]"
}

start_node() { # start_node NODE: slurmd in NODE's namespace, with NODE as its hostname
  local node=$1 ns; ns=$(node_netns "$node") || exit 2
  local pidfile=$dir/run/slurmd-$node.pid
  if [[ -f "$pidfile" ]] && alive "$(cat "$pidfile")"; then return 0; fi
  nsenter --net="/run/netns/$ns" unshare --uts sh -c \
    'hostname "$1" && exec /usr/sbin/slurmd -f "$2" -N "$1"' slurmd "$node" "$dir/slurm.conf"
  wait_for 10 "slurmd of $node" test -s "$pidfile"
}

kill_node() { # kill_node NODE: every process in NODE's namespace, at once, with SIGKILL
  local node=$1 ns; ns=$(node_netns "$node") || exit 2
  local pids; pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [[ -n "$pids" ]]; then
    # shellcheck disable=SC2086  # a list of pids
    kill -9 $pids 2>/dev/null || true
  fi
  echo "slurm-local: $node lost power (SIGKILL to $(wc -w <<<"$pids") processes)"
}

exec_node() { # exec_node NODE CMD...
  local node=$1 ns; shift; ns=$(node_netns "$node") || exit 2
  SLURM_CONF=$dir/slurm.conf exec nsenter --net="/run/netns/$ns" unshare --uts sh -c \
    'hostname "$1" && shift && exec "$@"' node "$node" "$@"
}

stop() {
  if [[ ! -f "$marker" ]]; then
    if [[ -f "$dir/slurm.conf" && ! -f "$dir/run/cluster.stopped" ]]; then
      echo "slurm-local: $dir has no $marker: this script did not start that cluster, not touching it" >&2; exit 2
    fi
    return 0   # nothing started here: nothing to stop
  fi
  local ns pid f
  # Nodes first: every process in their namespaces (slurmd, job steps, trainers), by pid.
  for ns in $(marker_get netns); do
    if [[ -e /run/netns/$ns ]]; then
      for pid in $(ip netns pids "$ns" 2>/dev/null || true); do stop_pid "$pid" & done
      wait
    fi
  done
  for f in "$dir"/run/slurmd*.pid "$dir/run/slurmctld.pid"; do
    [[ -f "$f" ]] || continue
    stop_pid "$(cat "$f")"
    rm -f "$f"
  done
  for ns in $(marker_get netns); do
    if [[ -e /run/netns/$ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi   # its veth goes with it
  done
  local br; br=$(marker_get bridge)
  if [[ -n "$br" ]] && ip link show "$br" >/dev/null 2>&1; then ip link del "$br" 2>/dev/null || true; fi
  mv -f "$marker" "$dir/run/cluster.stopped"   # what it was; stopping again is a no-op
}

need_multi() {
  [[ -f "$marker" ]] || { echo "slurm-local: no cluster started in $dir" >&2; exit 2; }
  [[ "$(marker_get nodes)" -gt 1 ]] || { echo "slurm-local: the cluster in $dir has one node (no namespaces)" >&2; exit 2; }
  [[ -n "${1:-}" ]] || { echo "slurm-local: $cmd needs a NODE (node1, node2, ...)" >&2; exit 2; }
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) SLURM_CONF=$dir/slurm.conf sinfo ;;
  kill-node) need_multi "${1:-}"; kill_node "$1" ;;
  start-node) need_multi "${1:-}"; start_node "$1" ;;
  exec) need_multi "${1:-}"; exec_node "$@" ;;
  *) echo "slurm-local: unknown command $cmd" >&2; exit 2 ;;
esac

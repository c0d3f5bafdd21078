#!/usr/bin/env bash
# A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd from Debian's
# packages, all state under one folder, on this machine's host name.
#   cluster.sh start DIR [NODE...]   configure and start; prints the environment the clients need
#   cluster.sh stop DIR              stop every daemon started from DIR
# Each NODE (default: this machine's host name) is a Slurm node of its own, served by its own
# slurmd on this machine (Slurm's multiple-slurmd mode), with CPUS CPUs (default: this
# machine's); the partition "rack" holds them all. With HEALTH_CHECK_PROGRAM set, slurmd runs
# it at start and every HEALTH_CHECK_INTERVAL seconds (default 10), as a site's node health check.
set -euo pipefail
action=${1:?usage: cluster.sh start|stop DIR [NODE...]}
dir=$(realpath -m "${2:?usage: cluster.sh start|stop DIR [NODE...]}")
shift 2
host=$(hostname -s)
nodes=("$@")
((${#nodes[@]})) || nodes=("$host")
cpus=${CPUS:-$(nproc)}
user=$(id -un)

stop() {
  for file in "$dir"/slurmd-*.pid "$dir/slurmctld.pid" "$dir/munged.pid"; do
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$file"
  done
}

if [ "$action" = stop ]; then
  stop
  exit 0
fi
[ "$action" = start ] || { echo "cluster.sh: unknown action $action" >&2; exit 2; }

stop
rm -rf "$dir/spool"
mkdir -p "$dir"/{munge,spool/ctld,log}
chmod 700 "$dir/munge"
# munge: its own key and socket, so it never meets a system munged.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
munged --key-file="$dir/munge/munge.key" --socket="$socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" --force

# Ports of our own, free now, so that two clusters or a system one never collide: slurmctld's,
# then one per node.
read -r -a ports < <(python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])' $((${#nodes[@]} + 1)))

cat > "$dir/slurm.conf" <<CONF
ClusterName=rackqual-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmi2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
CONF
if [ -n "${HEALTH_CHECK_PROGRAM:-}" ]; then
  printf 'HealthCheckProgram=%s\nHealthCheckInterval=%s\nHealthCheckNodeState=ANY\n' \
    "$HEALTH_CHECK_PROGRAM" "${HEALTH_CHECK_INTERVAL:-10}" >> "$dir/slurm.conf"
fi
for i in "${!nodes[@]}"; do
  echo "NodeName=${nodes[$i]} NodeHostname=$host NodeAddr=127.0.0.1 Port=${ports[$((i + 1))]} CPUs=$cpus State=UNKNOWN"
done >> "$dir/slurm.conf"
echo "PartitionName=rack Nodes=$(IFS=,; echo "${nodes[*]}") Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8" \
  >> "$dir/slurm.conf"
# No cgroup plugin is used (proctrack/linuxproc, task/none); slurmd still reads the file.
: > "$dir/cgroup.conf"

export SLURM_CONF="$dir/slurm.conf"
slurmctld -c -f "$SLURM_CONF"
for node in "${nodes[@]}"; do
  mkdir -p "$dir/spool/d-$node"
  slurmd -f "$SLURM_CONF" -N "$node"
done
# Up when every node is idle.
for _ in $(seq 150); do
  states=$(sinfo -h -N -o %T 2>/dev/null | sort -u | tr '\n' ' ' || true)
  [ "$states" = "idle " ] && break
  sleep 0.2
done
if [ "$states" != "idle " ]; then
  echo "cluster.sh: the nodes did not come up (states: $states); logs in $dir/log" >&2
  tail -n 20 "$dir"/log/*.log >&2 || true
  exit 1
fi
echo "SLURM_CONF=$SLURM_CONF"

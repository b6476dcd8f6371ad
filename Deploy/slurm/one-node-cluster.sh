#!/usr/bin/env bash
# A throw-away one-node Slurm cluster on this machine, for trying descent.sbatch (and for the
# system test that submits it): munged, slurmctld and slurmd with a generated slurm.conf, every
# path under DIR and the ports given, talking over 127.0.0.1 only. Needs root and Debian's
# slurm-wlm and munge packages.
#
#   one-node-cluster.sh start DIR [CTLD_PORT] [SLURMD_PORT]   # prints "export SLURM_CONF=DIR/slurm.conf"
#   one-node-cluster.sh stop DIR                              # stops the daemons, leaves DIR
#
# Then: export SLURM_CONF=DIR/slurm.conf; sbatch ...; squeue; ...
set -euo pipefail
command=${1:-}; dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR [CTLD_PORT] [SLURMD_PORT]" >&2; exit 2
fi

stop() {
    local name pid
    for name in slurmd slurmctld munged; do
        [ -f "$dir/$name.pid" ] || continue
        pid=$(cat "$dir/$name.pid" 2>/dev/null || true)
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/$name.pid"
    done
}

if [ "$command" = stop ]; then stop; exit 0; fi
[ "$command" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

[ "$(id -u)" = 0 ] || { echo "one-node-cluster: needs root (slurmd runs jobs as their users)" >&2; exit 3; }
for tool in munged mungekey slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
        echo "one-node-cluster: $tool not found; install Debian's slurm-wlm and munge packages" >&2; exit 3; }
done
export PATH="$PATH:/usr/sbin"
ctld_port=${3:-6817}; slurmd_port=${4:-6818}
mkdir -p "$dir/state" "$dir/spool"
chmod 700 "$dir"
dir=$(cd "$dir" && pwd)
host=$(hostname -s)
cpus=$(nproc)
[ "$cpus" -lt 4 ] && cpus=4   # a coordinator and workers fit on a small machine (processes share the cores)

mungekey --create --keyfile="$dir/munge.key" --force 2>/dev/null || dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$dir/munge.key"
munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" </dev/null >"$dir/munged.out" 2>&1 \
    || { cat "$dir/munged.out" >&2; echo "one-node-cluster: munged did not start" >&2; exit 4; }

cat > "$dir/slurm.conf" <<CONF
ClusterName=descent$$
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=10
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
# The daemons' own output goes to files: they must not hold the caller's stdout open.
slurmctld -i -f "$SLURM_CONF" </dev/null >"$dir/slurmctld.out" 2>&1 || { cat "$dir/slurmctld.out" >&2; stop; exit 4; }
slurmd -f "$SLURM_CONF" </dev/null >"$dir/slurmd.out" 2>&1 || { cat "$dir/slurmd.out" >&2; stop; exit 4; }
for _ in $(seq 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; then
        echo "export SLURM_CONF=$SLURM_CONF"; exit 0
    fi
    sleep 0.2
done
echo "one-node-cluster: the node did not come up in 20 s; sinfo says: $(sinfo -h -N -l 2>&1 | tail -1)" >&2
tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 4

#!/usr/bin/env bash
# slurm/local-cluster/start.sh: a real single-node Slurm (22.05, with accounting) on this machine,
# for the suite's Slurm tests and for trying `launch.py --executor slurm` on a workstation.
#
# Made for Debian 12 as root, without systemd and without cgroups (containers, microVMs, CI
# runners). It uses neither, so a workstation that has them should work as well. It:
#   1. installs munge, slurmctld, slurmd, slurm-client, slurmdbd, mariadb-server if missing,
#   2. writes /etc/slurm/slurm.conf and slurmdbd.conf (the node's layout from `slurmd -C`),
#   3. starts munged, a private mariadbd, slurmdbd, slurmctld and slurmd by hand,
#   4. waits until `sinfo` shows the node idle, runs one job, waits for sacct to record it,
#      and says how to use the cluster.
# Running it again while the cluster is up changes nothing and exits 0 at once. What it starts is
# recorded in the state dir, and stop.sh stops exactly that. See README.md (same folder).
#
#   bash slurm/local-cluster/start.sh [--no-install]
#
# Settings (environment):
#   VT_SLURM_STATE_DIR   /var/lib/vt-slurm   pid records, spool, logs, the accounting database
#   VT_SLURM_PARTITION   local               the one partition (slurm/profiles/local.yaml names it)
#   VT_SLURM_CLUSTER     vtlocal             ClusterName (sacct -M, the accounting database)
#   VT_SLURM_GPUS        auto                GPUs to offer as gres/gpu: a count, or auto (/dev/nvidiaN)
#   VT_SLURM_TIMEOUT     60                  seconds to wait for each daemon and for the node
#   VT_SLURM_NO_INSTALL  0                   1: never run apt-get; fail if a package is missing
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

NO_INSTALL=${VT_SLURM_NO_INSTALL:-0}
for arg in "$@"; do
  case $arg in
    --no-install) NO_INSTALL=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "start.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  # Installing packages, writing /etc/slurm and running slurmd all need root.
  command -v sudo >/dev/null || { echo "start.sh: run as root (installs packages, starts daemons)" >&2; exit 1; }
  exec sudo --preserve-env=VT_SLURM_STATE_DIR,VT_SLURM_PARTITION,VT_SLURM_CLUSTER,VT_SLURM_GPUS,VT_SLURM_TIMEOUT,VT_SLURM_NO_INSTALL \
    bash "$0" "$@"
fi

STATE=${VT_SLURM_STATE_DIR:-/var/lib/vt-slurm}   # not /var/tmp: tmpfiles cleaners prune it
PARTITION=${VT_SLURM_PARTITION:-local}
CLUSTER=${VT_SLURM_CLUSTER:-vtlocal}
WANT_GPUS=${VT_SLURM_GPUS:-auto}
TIMEOUT=${VT_SLURM_TIMEOUT:-60}
CONF=/etc/slurm                 # where sinfo/sbatch/sacct look without SLURM_CONF in their env
MARK="# Written by vt-ablations slurm/local-cluster/start.sh"   # first line of every file we own
DB_SOCK=$STATE/mysql/mysqld.sock
PKGS=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[start.sh %5ss] %s\n' "$(elapsed "$T0")" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# ---------------------------------------------------------------- process records
# A record is "PID STARTTIME" (STARTTIME: field 22 of /proc/PID/stat), so a pid that was reused by
# another process after a reboot or a crash is never taken for ours, and stop.sh never kills it.
starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }
# alive PID: exists and is not a zombie (this machine's PID 1 may reap orphans late)
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $1 }') || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
record() { echo "$2 $(starttime "$2")" > "$STATE/started/$1"; }
# ours NAME: print the pid and succeed when the process recorded for NAME still runs
ours() {
  local pid st
  [ -r "$STATE/started/$1" ] || return 1
  read -r pid st < "$STATE/started/$1" || return 1
  [ -n "$pid" ] && alive "$pid" && [ "$(starttime "$pid")" = "$st" ] && echo "$pid"
}
# pid_from_file FILE: the pid a daemon wrote, once that process runs
pid_from_file() {
  local pid
  [ -r "$1" ] || return 1
  pid=$(tr -dc '0-9' < "$1")
  [ -n "$pid" ] && alive "$pid" && echo "$pid"
}
stop_ours() {
  local pid
  pid=$(ours "$1") || { rm -f "$STATE/started/$1"; return 0; }
  log "stopping $1 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then log "$1 ignored SIGTERM for 30 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$STATE/started/$1"
}

# wait_for WHAT COMMAND...: poll until COMMAND succeeds, or fail naming the log to read
wait_for() {
  local what=$1 t end newest
  shift
  t=$(date +%s.%N)
  end=$((SECONDS + TIMEOUT))
  while [ "$SECONDS" -lt "$end" ]; do
    if "$@" > /dev/null 2>&1; then
      log "$what ready ($(elapsed "$t") s)"
      return 0
    fi
    sleep 0.1
  done
  newest=$(ls -t "$STATE"/log/*.log 2> /dev/null | head -1)
  [ -n "$newest" ] && { echo "--- last lines of $newest:"; tail -5 "$newest"; } >&2
  die "$what not ready after $TIMEOUT s (VT_SLURM_TIMEOUT); see the logs in $STATE/log"
}

# put FILE MODE: replace FILE with stdin when the content differs; succeed when it changed.
# Refuses to replace a file that this script did not write (a real cluster's configuration).
put() {
  local tmp
  if [ -e "$1" ] && [ "$(head -1 "$1")" != "$MARK" ]; then
    die "$1 exists and was not written by this script; move it away to use the local cluster"
  fi
  tmp=$(mktemp "$1.XXXXXX")
  cat > "$tmp"
  chmod "$2" "$tmp"
  if [ -e "$1" ] && cmp -s "$tmp" "$1"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$1"
}

install -d -m 0755 "$STATE" "$STATE/started" "$STATE/log" "$STATE/run" "$STATE/slurmctld" "$STATE/slurmd"
# One start.sh or stop.sh at a time (tests may start the cluster from several processes at once).
# Every daemon below is started with 9>&-: a daemon holding fd 9 would hold this lock forever.
exec 9> "$STATE/lock"
flock -w 300 9 || die "another start.sh/stop.sh has held $STATE/lock for 300 s"

# ---------------------------------------------------------------- packages
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$NO_INSTALL" = 1 ] && die "missing packages: ${missing[*]} (apt-get install --no-install-recommends ${missing[*]})"
  t=$(date +%s.%N)
  log "installing ${missing[*]}"
  # The packages' maintainer scripts would start munge and mariadb through init scripts; we start
  # every daemon ourselves, so forbid that for the length of the install (policy-rc.d exit 101).
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  rc=0
  {
    # Update the package lists only when they do not know the packages (a fresh container).
    apt-cache show "${missing[@]}" > /dev/null 2>&1 || apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
  } > "$STATE/log/apt.log" 2>&1 9>&- || rc=$?
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$rc" != 0 ]; then
    tail -20 "$STATE/log/apt.log" >&2
    die "apt-get failed (full log: $STATE/log/apt.log)"
  fi
  log "installed in $(elapsed "$t") s"
fi

# Daemons of a cluster this script did not start (another Slurm, or start.sh with another
# VT_SLURM_STATE_DIR) would take the same ports; check before touching /etc/slurm.
for d in slurmctld slurmd slurmdbd; do
  for pid in $(pgrep -x "$d" || true); do
    alive "$pid" || continue   # a zombie that PID 1 has not reaped yet holds nothing
    [ "$pid" = "$(ours "$d" || true)" ] || die "a $d that this script did not start runs (pid $pid); stop it first"
  done
done

# ---------------------------------------------------------------- configuration
NODE=$(hostname -s 2> /dev/null || hostname)
[ -n "$NODE" ] || die "this machine has no hostname; Slurm needs one for the node name"
# `slurmd -C` prints this machine's layout as slurm.conf wants it, e.g.
# NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105
HW=$(slurmd -C | head -1)
hw() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< "$HW"; }
CPUS=$(hw CPUs)
[ -n "$CPUS" ] || die "cannot read the node layout from 'slurmd -C': $HW"
# Offer 90% of the memory: a node that reports less than its configured RealMemory is drained.
MEM=$(($(hw RealMemory) * 90 / 100))
# Without a default, a job that asks for no memory is given all of it, and jobs then run one at a
# time however many CPUs are free. A CPU's share of the memory keeps CPUs the limit.
DEFMEM=$((MEM / CPUS))

GPUS=$WANT_GPUS
if [ "$GPUS" = auto ]; then
  GPUS=$(find /dev -maxdepth 1 -regex '/dev/nvidia[0-9]+' 2> /dev/null | wc -l)
fi
[[ "$GPUS" =~ ^[0-9]+$ ]] || die "VT_SLURM_GPUS must be a count or 'auto', not '$GPUS'"
GRES_NODE="" GRES_CONF=""
if [ "$GPUS" -gt 0 ]; then
  GRES_NODE=" Gres=gpu:$GPUS"
  GRES_CONF="# gres/gpu: --gpus jobs get these devices, and CUDA_VISIBLE_DEVICES names them.
GresTypes=gpu
AccountingStorageTRES=gres/gpu"
fi

CONF_CHANGED=0
install -d -m 0755 "$CONF"
put "$CONF/slurm.conf" 0644 << EOF && CONF_CHANGED=1 || true
$MARK
# for a single-node test cluster; each start rewrites it. Edit the script, not this file.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
# Everything runs as root: no slurm user to create, and jobs run as whoever submits them.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# No cgroups here: follow a job's processes through /proc, and pin them nowhere.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Cores and memory are the consumable resources, so several small jobs share the node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEFMEM
SchedulerType=sched/backfill
# batch_sched_delay=0: start a job as soon as it is submitted (the default 3 adds ~3 s to each).
# sched_interval=2: look at all pending jobs every 2 s, not 60: a requeued job starts as soon as it
# may, instead of up to a minute later.
SchedulerParameters=batch_sched_delay=0,sched_interval=2
# Jobs may be requeued (scontrol requeue; submitit's checkpoint() after preemption or timeout).
JobRequeue=1
# A requeued job may start again only cred_expire seconds later (default 120): 10 makes a
# preempt-and-resume test take seconds, not minutes. Credentials live that long, ample on one node.
AuthInfo=cred_expire=10
# After a restart the node rejoins by itself instead of staying DOWN.
ReturnToService=2
# Accounting through slurmdbd: sacct is how submitit sees a job end (a cancelled one included).
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
$GRES_CONF
# No mail on this machine.
MailProg=/bin/true
# Seconds from SIGTERM to SIGKILL when a job is cancelled or runs out of time (default 30).
KillWait=10
# Finished jobs stay visible to squeue/scontrol for 5 minutes; sacct keeps them for good.
MinJobAge=300
InactiveLimit=0
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# The layout from slurmd -C; 127.0.0.1 so that a changing network address does not matter.
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS Boards=$(hw Boards) SocketsPerBoard=$(hw SocketsPerBoard) CoresPerSocket=$(hw CoresPerSocket) ThreadsPerCore=$(hw ThreadsPerCore) RealMemory=$MEM$GRES_NODE State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

if [ "$GPUS" -gt 0 ]; then
  put "$CONF/gres.conf" 0644 << EOF && CONF_CHANGED=1 || true
$MARK
NodeName=$NODE Name=gpu File=/dev/nvidia[0-$((GPUS - 1))]
EOF
elif [ -e "$CONF/gres.conf" ] && [ "$(head -1 "$CONF/gres.conf")" = "$MARK" ]; then
  rm -f "$CONF/gres.conf"
  CONF_CHANGED=1
fi

DBD_CHANGED=0
put "$CONF/slurmdbd.conf" 0600 << EOF && DBD_CHANGED=1 || true
$MARK
# slurmdbd keeps job accounting in a MariaDB of our own (its socket under $STATE).
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
LogFile=$STATE/log/slurmdbd.log
PidFile=$STATE/run/slurmdbd.pid
StorageType=accounting_storage/mysql
# root over the unix socket (MariaDB's socket authentication): no password to keep anywhere.
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF

# ---------------------------------------------------------------- already up?
how_to_use() {
  cat >&2 << EOF

Slurm is up: cluster '$CLUSTER', partition '$PARTITION', node $NODE: $CPUS CPUs, $MEM MB, $GPUS GPUs.
$(sinfo)

  sbatch --wrap hostname; squeue; sacct          # try it
  python ablations/launch.py --grid relpos_vs_abs --executor slurm --cluster slurm/profiles/local.yaml
  bash slurm/local-cluster/stop.sh [--purge]     # stop it (--purge: forget jobs and accounting)
  logs: $STATE/log
EOF
}
node_state() { sinfo -h -N -n "$NODE" -o %T 2> /dev/null | head -1; }
if [ "$CONF_CHANGED$DBD_CHANGED" = 00 ] && ours mariadbd > /dev/null && ours slurmdbd > /dev/null &&
  ours slurmctld > /dev/null && ours slurmd > /dev/null && munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  case $(node_state) in
    idle | mixed | allocated | completing)
      log "already up (nothing changed)"
      how_to_use
      exit 0
      ;;
  esac
fi

T_UP=$(date +%s.%N)

# ---------------------------------------------------------------- munge
# Slurm signs every message with munge. A munged that already runs (the system's) is used as is.
if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  log "munged already running"
else
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  # munged refuses a key or directories that other users could read or write.
  chown munge:munge /etc/munge/munge.key
  chmod 0600 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged < /dev/null >> "$STATE/log/munged.out" 2>&1 9>&- ||
    die "munged did not start; see /var/log/munge/munged.log"
  wait_for munged pid_from_file /run/munge/munged.pid
  record munged "$(pid_from_file /run/munge/munged.pid)"
  wait_for munge bash -c 'munge -n | unmunge'
fi

# ---------------------------------------------------------------- MariaDB for accounting
# A private server: its own data dir and socket under $STATE, no TCP port (--skip-networking), and
# --no-defaults so that /etc/mysql settings (and a MariaDB the machine already runs) play no part.
if ! ours mariadbd > /dev/null; then
  install -d -o mysql -g mysql -m 0750 "$STATE/mysql"
  if [ ! -d "$STATE/mysql/mysql" ]; then
    log "creating the accounting database in $STATE/mysql"
    mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mysql" --skip-test-db \
      --auth-root-authentication-method=socket > "$STATE/log/mariadb-install-db.log" 2>&1 9>&- ||
      die "mariadb-install-db failed; see $STATE/log/mariadb-install-db.log"
  fi
  rm -f "$STATE/mysql/mariadbd.pid"
  log "starting mariadbd"
  # setsid: not in the caller's session, so closing that terminal does not hang it up.
  # The two innodb settings are slurmdbd's recommendations (it logs an error below them); the
  # buffer pool is only address space until the database grows into it.
  setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql" --socket="$DB_SOCK" \
    --pid-file="$STATE/mysql/mariadbd.pid" --log-error="$STATE/log/mariadbd.log" --skip-networking \
    --innodb-buffer-pool-size=1G --innodb-lock-wait-timeout=900 < /dev/null >> "$STATE/log/mariadbd.out" 2>&1 9>&- &
  wait_for mariadbd pid_from_file "$STATE/mysql/mariadbd.pid"
  record mariadbd "$(pid_from_file "$STATE/mysql/mariadbd.pid")"
fi
wait_for "mariadb socket" mysqladmin --no-defaults --socket="$DB_SOCK" ping

# ---------------------------------------------------------------- slurmdbd, slurmctld, slurmd
# start_slurm NAME: start the daemon (it forks into the background) and record its pid.
start_slurm() {
  rm -f "$STATE/run/$1.pid"
  log "starting $1"
  # MYSQL_UNIX_PORT: the MariaDB client library (slurmdbd) connects to "localhost" through it.
  MYSQL_UNIX_PORT=$DB_SOCK "/usr/sbin/$1" < /dev/null >> "$STATE/log/$1.out" 2>&1 9>&- ||
    die "$1 did not start; see $STATE/log/$1.log"
  wait_for "$1 pid" pid_from_file "$STATE/run/$1.pid"
  record "$1" "$(pid_from_file "$STATE/run/$1.pid")"
}

if ours slurmdbd > /dev/null && [ "$DBD_CHANGED" = 1 ]; then
  log "slurmdbd.conf changed: restarting slurmdbd"
  stop_ours slurmdbd
fi
ours slurmdbd > /dev/null || start_slurm slurmdbd
wait_for slurmdbd sacctmgr -n list cluster

if [ "$CONF_CHANGED" = 1 ]; then
  for d in slurmd slurmctld; do
    if ours "$d" > /dev/null; then
      log "slurm.conf changed: restarting $d"
      stop_ours "$d"
    fi
  done
fi
# Saved state of another ClusterName makes slurmctld exit ("CLUSTER ID MISMATCH").
if [ -f "$STATE/slurmctld/clustername" ] && [ "$(cat "$STATE/slurmctld/clustername")" != "$CLUSTER" ]; then
  log "forgetting the saved state of cluster '$(cat "$STATE/slurmctld/clustername")'"
  rm -f "$STATE/slurmctld/clustername"
fi
ours slurmctld > /dev/null || start_slurm slurmctld
wait_for slurmctld bash -c 'scontrol ping | grep -q UP'
ours slurmd > /dev/null || start_slurm slurmd

node_ready() {
  local st
  st=$(node_state)
  case $st in
    idle | mixed | allocated | completing) return 0 ;;
    *drain* | down*)
      # e.g. "Node unexpectedly rebooted", or a kill that failed before the last stop
      log "node $NODE is $st ($(sinfo -h -N -n "$NODE" -o %E)): resuming it"
      scontrol update NodeName="$NODE" State=RESUME > /dev/null 2>&1 || true
      return 1
      ;;
    *) return 1 ;;
  esac
}
wait_for "node $NODE" node_ready

# One job end to end (munge credential, slurmctld, slurmd, a job step) while nothing else runs,
# then its record in sacct: slurmctld reaches slurmdbd a second or so after it starts, and a caller
# (submitit) that polls sacct before then would see nothing.
if [ "$(node_state)" = idle ]; then
  t=$(date +%s.%N)
  id=$(timeout "$TIMEOUT" srun --quiet --job-name=vt-smoke --immediate="$TIMEOUT" -n1 -t1 \
    printenv SLURM_JOB_ID 9>&-) || die "'srun' failed on the fresh cluster; see $STATE/log/slurmctld.log and slurmd.log"
  log "srun ok: job $id ($(elapsed "$t") s)"
  wait_for "accounting (sacct shows job $id)" bash -c "sacct -n -X -j $id -o State | grep -q COMPLETED"
fi

log "daemons up in $(elapsed "$T_UP") s"
how_to_use

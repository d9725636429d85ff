#!/usr/bin/env bash
# slurm/local-cluster/stop.sh: stop the single-node Slurm that start.sh started, and nothing else.
#
#   bash slurm/local-cluster/stop.sh [--purge]
#
# 1. cancels every job of the local cluster and waits for them to end: with proctrack/linuxproc,
#    job processes outlive a stopped slurmd, so they are ended while Slurm can still end them;
# 2. stops slurmd, slurmctld, slurmdbd, mariadbd and munged, each only if start.sh started it
#    (its record "PID STARTTIME" in the state dir matches a running process);
# --purge: also deletes the state dir (job ids start again at 1, the accounting database and the
#    logs are gone) and the files start.sh wrote in /etc/slurm. Packages stay installed.
# Running it when nothing runs does nothing and exits 0.
#
# Settings (environment): VT_SLURM_STATE_DIR (default /var/lib/vt-slurm), as for start.sh.
set -euo pipefail

PURGE=0
for arg in "$@"; do
  case $arg in
    --purge) PURGE=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "stop.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "stop.sh: run as root (the daemons run as root)" >&2; exit 1; }
  exec sudo --preserve-env=VT_SLURM_STATE_DIR bash "$0" "$@"
fi

STATE=${VT_SLURM_STATE_DIR:-/var/lib/vt-slurm}
MARK="# Written by vt-ablations slurm/local-cluster/start.sh"

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[stop.sh %5ss] %s\n' "$(elapsed "$T0")" "$*" >&2; }

# The same records as start.sh: "PID STARTTIME", so a reused pid is never taken for ours.
starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $1 }') || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
ours() {
  local pid st
  [ -r "$STATE/started/$1" ] || return 1
  read -r pid st < "$STATE/started/$1" || return 1
  [ -n "$pid" ] && alive "$pid" && [ "$(starttime "$pid")" = "$st" ] && echo "$pid"
}
# stop NAME: SIGTERM the recorded process, SIGKILL it after 30 s; forget the record
STOPPED=0
stop() {
  local pid
  if pid=$(ours "$1"); then
    STOPPED=$((STOPPED + 1))
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then log "$1 ignored SIGTERM for 30 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$STATE/started/$1"
}

if [ ! -d "$STATE/started" ]; then
  log "nothing to stop ($STATE/started does not exist)"
else
  exec 9> "$STATE/lock"
  flock -w 300 9 || { log "another start.sh/stop.sh has held $STATE/lock for 300 s"; exit 1; }

  if ours slurmctld > /dev/null && ours slurmd > /dev/null; then
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
      log "cancelling jobs $jobs"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      # KillWait (10 s) from SIGTERM to SIGKILL, then the node's epilog: 30 s is plenty.
      for _ in $(seq 1 300); do
        [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
        sleep 0.1
      done
      [ -z "$(squeue -h -o %A 2>/dev/null)" ] || log "jobs still listed after 30 s: $(squeue -h -o '%A %T' | tr '\n' ' ')"
    fi
  fi
  # slurmd before slurmctld (no "node not responding" churn), slurmdbd after slurmctld (it sends the
  # last job records), the database after slurmdbd, munge last (everyone signs with it).
  for d in slurmd slurmctld slurmdbd mariadbd munged; do stop "$d"; done
  if [ "$STOPPED" = 0 ]; then log "nothing of start.sh's was running"; else log "stopped $STOPPED daemons"; fi
fi

if [ "$PURGE" = 1 ]; then
  log "purging $STATE and the files start.sh wrote in /etc/slurm"
  # Only a directory start.sh made (it holds start.sh's lock file): a mistyped
  # VT_SLURM_STATE_DIR must not delete anything else.
  if [ -e "$STATE/lock" ] && [ -d "$STATE/started" ]; then rm -rf "$STATE"; else log "$STATE: not a state dir of start.sh, left alone"; fi
  for f in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf /etc/slurm/gres.conf; do
    if [ -e "$f" ] && [ "$(head -1 "$f")" = "$MARK" ]; then rm -f "$f"; fi
  done
fi

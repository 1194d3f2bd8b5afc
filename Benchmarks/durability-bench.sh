#!/usr/bin/env bash
# SET throughput with the append-only log on: strata-server (A) against redis-server (B),
# both started with the same persistence settings, measured in the same run by
# ../shared/tools/bench-compare.sh (alternating A/B rounds, medians, ratio A/B).
#
# For each mode in MODES a fresh pair of servers is started on fresh data directories:
#   everysec  appendonly yes, appendfsync everysec
#   always    appendonly yes, appendfsync always
#   no        appendonly no (context: the same workload without the log)
# Both servers: --save "" --bind 127.0.0.1, default auto-aof-rewrite settings (Redis
# rewrites its AOF, Strata checkpoints, once the log has doubled and is >= 64 MB).
# After each mode the size of each data directory is printed (du), then both servers are
# killed and the directories removed.
#
# usage: Benchmarks/durability-bench.sh
# env (defaults in brackets):
#   STRATA_BIN [/tmp/strata-server-bench]  REDIS_BIN [redis-server]
#   MODES ["everysec always no"]           ROUNDS [3]
#   WORKLOADS ["p1_d64 p16_d64 p1_d1024 p16_d1024"]  TESTS [set]
#   STRATA_PORT [7390]  REDIS_PORT [7391]  WORK [/tmp] (parent of the fresh data dirs)
#   N_P1, N_PIPE, CLIENTS, KEYSPACE: passed through to bench-compare.sh
#   TOOLS [../shared/tools relative to the repository]
#   EXTRA_ARGS (more arguments for both servers, e.g. "--auto-aof-rewrite-percentage 0")
# output: "## mode <m>" then bench-compare.sh's lines (A = strata, B = redis), then du.
set -euo pipefail
cd "$(dirname "$0")/.."
STRATA_BIN=${STRATA_BIN:-/tmp/strata-server-bench}
REDIS_BIN=${REDIS_BIN:-redis-server}
MODES=${MODES:-"everysec always no"}
TOOLS=${TOOLS:-$(cd .. && pwd)/shared/tools}
STRATA_PORT=${STRATA_PORT:-7390}
REDIS_PORT=${REDIS_PORT:-7391}
WORK=${WORK:-/tmp}
read -r -a extra <<< "${EXTRA_ARGS:-}"
export ROUNDS=${ROUNDS:-3}
export TESTS=${TESTS:-set}
export WORKLOADS=${WORKLOADS:-"p1_d64 p16_d64 p1_d1024 p16_d1024"}

work=$(mktemp -d "$WORK/durability-bench.XXXXXX")
spid=""; rpid=""
stop_servers() {
  for p in $spid $rpid; do kill -9 "$p" 2>/dev/null || true; done
  for p in $spid $rpid; do wait "$p" 2>/dev/null || true; done
  spid=""; rpid=""
}
cleanup() { stop_servers; rm -rf "$work"; }
trap cleanup EXIT

wait_ping() {
  local port=$1
  for _ in $(seq 1 300); do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "server on port $port did not answer PING" >&2; exit 1
}

start_servers() {  # mode
  local mode=$1 aof
  case $mode in
    everysec|always) aof=(--appendonly yes --appendfsync "$mode") ;;
    no) aof=(--appendonly no) ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  rm -rf "$work/strata" "$work/redis"; mkdir -p "$work/strata" "$work/redis"
  "$STRATA_BIN" --port "$STRATA_PORT" --bind 127.0.0.1 --save "" "${aof[@]}" ${extra[@]+"${extra[@]}"} \
    --dir "$work/strata" --logfile "$work/strata.$mode.log" &
  spid=$!
  "$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" "${aof[@]}" ${extra[@]+"${extra[@]}"} \
    --dir "$work/redis" --logfile "$work/redis.$mode.log" &
  rpid=$!
  wait_ping "$STRATA_PORT"; wait_ping "$REDIS_PORT"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) cores, redis $("$REDIS_BIN" --version | cut -d' ' -f3)," \
     "strata $STRATA_BIN ($(stat -c %y "$STRATA_BIN" | cut -d. -f1))"
for mode in $MODES; do
  echo "## mode $mode: A=strata B=redis"
  start_servers "$mode"
  "$TOOLS/bench-compare.sh" "$STRATA_PORT" "$REDIS_PORT"
  echo "# data dirs after the run: strata $(du -sh "$work/strata" | cut -f1), redis $(du -sh "$work/redis" | cut -f1)"
  for port in "$STRATA_PORT" "$REDIS_PORT"; do
    echo "# port $port: $(redis-cli -p "$port" info persistence | tr -d '\r' \
      | grep -E '^(aof_rewrites|aof_current_size|aof_delayed_fsync|aof_last_write_status)' | tr '\n' ' ')"
  done
  grep -E 'Checkpoint|checkpoint|MISCONF|warning' "$work/strata.$mode.log" | tail -n 3 || true
  stop_servers
done

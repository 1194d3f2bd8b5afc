#!/usr/bin/env bash
# Starts redis-server and strata-server side by side (same settings, no persistence) and
# runs ../shared/tools/bench-compare.sh against both: redis-benchmark, 50 clients, SET/GET,
# 64 B and 1 KB values, pipeline 1 and 16, alternating rounds, medians and ratios.
# Then loads 1 M keys of 100 B into each and reports bytes per key (used_memory and RSS).
# usage: Benchmarks/compare-with-redis.sh [rounds]   (env: STRATA_BIN, SKIP_MEMORY=1)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
STRATA_BIN=${STRATA_BIN:-.build/release/strata-server}
TOOLS=${TOOLS:-../shared/tools}
STRATA_PORT=${STRATA_PORT:-7390}
REDIS_PORT=${REDIS_PORT:-7391}
work=$(mktemp -d)
# Waits for the servers to exit before removing their directory (strata may still be
# writing RocksDB files while it shuts down).
cleanup() { kill "${spid:-}" "${rpid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_servers() {
  "$STRATA_BIN" --port "$STRATA_PORT" --save "" --appendonly no --dir "$work" --logfile "$work/strata.log" &
  spid=$!
  redis-server --port "$REDIS_PORT" --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" &
  rpid=$!
  for _ in $(seq 1 100); do
    redis-cli -p "$STRATA_PORT" ping >/dev/null 2>&1 && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "servers did not start" >&2; exit 1
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) cores, $(redis-server --version | cut -d' ' -f3)"
start_servers
echo "## throughput: A=strata B=redis"
ROUNDS=$ROUNDS "$TOOLS/bench-compare.sh" "$STRATA_PORT" "$REDIS_PORT"

if [ "${SKIP_MEMORY:-0}" != 1 ]; then
  echo "## memory: 1M keys x 100 B"
  redis-cli -p "$STRATA_PORT" flushall >/dev/null; redis-cli -p "$REDIS_PORT" flushall >/dev/null
  kill "$spid" "$rpid"; wait "$spid" "$rpid" 2>/dev/null || true
  start_servers
  echo "strata:"; "$TOOLS/bench-mem-load.sh" "$STRATA_PORT" "$spid" 1000000 100
  echo "redis:";  "$TOOLS/bench-mem-load.sh" "$REDIS_PORT" "$rpid" 1000000 100
fi

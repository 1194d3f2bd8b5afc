#!/usr/bin/env bash
# Start-up time with a saved dataset: wall time from spawning the server to the first GET
# that gets the key's value (Benchmarks/first-get.py polls every 1 ms; -LOADING and refused
# connections do not count), plus DBSIZE right after it.
#
# strata-server: --appendonly yes (appendfsync everysec), --maxmemory MAXMEMORY
#   --maxmemory-policy allkeys-lru (tiering on by default: most keys end up cold in
#   RocksDB). Load KEYS keys of VALUE_SIZE bytes with strata-load --load, then
#   (a) crash path: SIGKILL right after the load, then REPEATS starts that each replay the
#       log tail (each ended by SIGKILL, the last by SHUTDOWN, so the tail is the same);
#   (b) clean path: REPEATS starts after a SHUTDOWN (which checkpoints), each ended by
#       SHUTDOWN.
# redis-server: no maxmemory, --appendonly no; the same load, SAVE (dump.rdb), SHUTDOWN
#   NOSAVE, then REPEATS starts that load the RDB, each ended by SHUTDOWN NOSAVE.
# Both: --save "" --bind 127.0.0.1, a fresh data directory under WORK, removed at the end.
# The files are in the page cache (just written, 23 GB RAM): this is a process restart,
# not a cold boot.
#
# usage: Benchmarks/startup-bench.sh
# env (defaults in brackets):
#   KEYS [2000000]  VALUE_SIZE [1000]  MAXMEMORY [200mb]  REPEATS [3]
#   SERVERS ["strata redis"]  STRATA_BIN [/tmp/strata-server-bench]  REDIS_BIN [redis-server]
#   STRATA_LOAD [Benchmarks/.build/release/strata-load]  LOAD_CLIENTS [50]  LOAD_PIPELINE [64]
#   LOAD_THREADS [2]  GET_KEY [12345] (key number of the first GET; loaded early, so cold)
#   STRATA_PORT [7392]  REDIS_PORT [7393]  WORK [/tmp]  KEEP_RESULTS (dir to copy logs/JSON to)
#   STRATA_EXTRA_ARGS (more strata-server arguments)
#   KEEP_DATA (a directory: the data directories are moved there instead of deleted)
# output: the load, sizes on disk, one JSON line per start (with the server's log lines of
#   that start), then a summary with medians.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-2000000}
VALUE_SIZE=${VALUE_SIZE:-1000}
MAXMEMORY=${MAXMEMORY:-200mb}
REPEATS=${REPEATS:-3}
SERVERS=${SERVERS:-strata redis}
STRATA_BIN=${STRATA_BIN:-/tmp/strata-server-bench}
REDIS_BIN=${REDIS_BIN:-redis-server}
STRATA_LOAD=${STRATA_LOAD:-Benchmarks/.build/release/strata-load}
LOAD_CLIENTS=${LOAD_CLIENTS:-50}
LOAD_PIPELINE=${LOAD_PIPELINE:-64}
LOAD_THREADS=${LOAD_THREADS:-2}
GET_KEY=${GET_KEY:-12345}
STRATA_PORT=${STRATA_PORT:-7392}
REDIS_PORT=${REDIS_PORT:-7393}
WORK=${WORK:-/tmp}
STRATA_EXTRA_ARGS=${STRATA_EXTRA_ARGS:-}
FIRST_GET=Benchmarks/first-get.py
[ -x "$STRATA_LOAD" ] || { echo "strata-load not found at $STRATA_LOAD (cd Benchmarks && swift build -c release --product strata-load)" >&2; exit 1; }

work=$(mktemp -d "$WORK/startup-bench.XXXXXX")
results=$work/results.jsonl
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if [ -n "${KEEP_RESULTS:-}" ]; then mkdir -p "$KEEP_RESULTS"; cp "$work"/*.log "$results" "$KEEP_RESULTS"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

wait_ping() {
  for _ in $(seq 1 3000); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "no PONG from port $1" >&2; exit 1
}
bytes() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {printf "%d", s}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.0f MB", b / 1e6}'; }

load() {  # port
  local t0 t1
  t0=$(date +%s.%N)
  "$STRATA_LOAD" --port "$1" --keys "$KEYS" --value-size "$VALUE_SIZE" --clients "$LOAD_CLIENTS" \
    --pipeline "$LOAD_PIPELINE" --threads "$LOAD_THREADS" --load | grep -E 'keys/s|mismatches' | sed 's/^ */  /'
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v k="$KEYS" 'BEGIN {printf "  load: %.1f s, %.0f keys/s\n", b - a, k / (b - a)}'
}

measure() {  # label stop port log server-command...
  local label=$1 stop=$2 port=$3 log=$4; shift 4
  python3 "$FIRST_GET" --label "$label" --stop "$stop" --port "$port" --key "key:$GET_KEY" \
    --key-number "$GET_KEY" --value-size "$VALUE_SIZE" --log "$log" -- "$@" > "$work/measure.out"
  # Redis's banner lines are left out.
  grep -v -E 'oO0OoO0Oo|Redis version=|Configuration loaded|monotonic clock|Running mode|overcommit' "$work/measure.out"
  grep '^{' "$work/measure.out" >> "$results"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, redis $("$REDIS_BIN" --version | cut -d' ' -f3)," \
     "strata $STRATA_BIN ($(stat -c %y "$STRATA_BIN" | cut -d. -f1)); $KEYS keys x $VALUE_SIZE B" \
     "(strata-load values: printable, 6 random bits per byte), load_before=$(cut -d' ' -f1-3 /proc/loadavg)"

for server in $SERVERS; do
  dir=$work/$server; log=$work/$server.log; mkdir -p "$dir"
  case $server in
  strata)
    # shellcheck disable=SC2206  # STRATA_EXTRA_ARGS is a list of words
    cmd=("$STRATA_BIN" --port "$STRATA_PORT" --bind 127.0.0.1 --dir "$dir" --logfile "$log" --save ""
         --appendonly yes --appendfsync everysec --maxmemory "$MAXMEMORY" --maxmemory-policy allkeys-lru
         $STRATA_EXTRA_ARGS)
    port=$STRATA_PORT
    echo "## strata: ${cmd[*]}"
    "${cmd[@]}" & pid=$!
    wait_ping "$port"
    load "$port"
    redis-cli -p "$port" info | tr -d '\r' | grep -E '^(used_memory|used_memory_rss|cold_keys|hot_keys|keys_cold|tier_cold_keys|db0):' | sed 's/^/  /' || true
    echo "  on disk before SIGKILL: cold $(mb "$(bytes "$dir/cold")"), log $(mb "$(bytes "$dir/appendonlydir")")"
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    echo "## strata: start after SIGKILL (log replay), $REPEATS times"
    for i in $(seq 1 "$REPEATS"); do
      stop=kill; [ "$i" = "$REPEATS" ] && stop=shutdown
      measure "strata-kill-$i" "$stop" "$port" "$log" "${cmd[@]}"
    done
    echo "  on disk after the checkpoint: cold $(mb "$(bytes "$dir/cold")"), log $(mb "$(bytes "$dir/appendonlydir")")"
    echo "## strata: start after SHUTDOWN (checkpointed), $REPEATS times"
    for i in $(seq 1 "$REPEATS"); do
      measure "strata-clean-$i" shutdown "$port" "$log" "${cmd[@]}"
    done
    echo "  on disk: $(mb "$(bytes "$dir/cold" "$dir/appendonlydir")") (cold $(mb "$(bytes "$dir/cold")"), log $(mb "$(bytes "$dir/appendonlydir")"))"
    ;;
  redis)
    cmd=("$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" --logfile "$log" --save ""
         --appendonly no)
    port=$REDIS_PORT
    echo "## redis: ${cmd[*]}"
    "${cmd[@]}" & pid=$!
    wait_ping "$port"
    load "$port"
    redis-cli -p "$port" info | tr -d '\r' | grep -E '^(used_memory|used_memory_rss|db0):' | sed 's/^/  /'
    t0=$(date +%s.%N); redis-cli -p "$port" save >/dev/null; t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "  SAVE: %.1f s\n", b - a}'
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$pid" 2>/dev/null || true; pid=""
    echo "  on disk: dump.rdb $(mb "$(bytes "$dir/dump.rdb")")"
    echo "## redis: start loading dump.rdb, $REPEATS times"
    for i in $(seq 1 "$REPEATS"); do
      measure "redis-rdb-$i" shutdown-nosave "$port" "$log" "${cmd[@]}"
    done
    ;;
  *) echo "unknown server $server" >&2; exit 2 ;;
  esac
  if [ -n "${KEEP_DATA:-}" ]; then mkdir -p "$KEEP_DATA"; mv "$dir" "$KEEP_DATA/"; else rm -rf "$dir"; fi
done

echo "## summary (medians of $REPEATS; ms from spawn)"
python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault(r["label"].rsplit("-", 1)[0], []).append(r)
med = {}
for g, rs in groups.items():
    m = statistics.median(r["first_get_ms"] for r in rs)
    med[g] = m
    print(f"{g:14s} first GET {m:8.1f} ms (runs: {', '.join(str(r['first_get_ms']) for r in rs)}); "
          f"DBSIZE {', '.join(str(r['dbsize']) for r in rs)}; RSS {statistics.median(r['rss_kb'] for r in rs) / 1024:.0f} MB; "
          f"values ok: {all(r['value_ok'] for r in rs)}")
if "redis-rdb" in med:
    for g in ("strata-clean", "strata-kill"):
        if g in med:
            print(f"redis / {g}: {med['redis-rdb'] / med[g]:.1f}x")
EOF

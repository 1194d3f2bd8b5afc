#!/usr/bin/env bash
# Tiering benchmark: a data set ten times larger than maxmemory, served by strata-server
# (which is to keep cold keys in RocksDB) and by redis-server (which can only evict them).
# For each server: load every key with strata-load --load, then measure
#   (a) zipf reads over all keys      (most reads hot, the tail cold)
#   (b) uniform reads over all keys   (mostly cold: the worst case for a tier)
#   (c) hot readers' p99 alone, then with cold readers running at the same time in a
#       second strata-load process (does a cold read stall the hot ones?)
# and print one table. Every GET is verified (--verify): a wrong value is a mismatch, an
# evicted key is a miss, so the hit rate shows what each server still holds.
#
# usage: Benchmarks/tiering-bench.sh [keys] [value_size] [maxmemory_bytes]
#   defaults: 10000000 keys x 100 B, maxmemory = keys * value_size / 10
# env: STRATA_SERVER (default ../.build/release/strata-server), STRATA_TIER_ARGS (extra
#   strata-server arguments, e.g. the tiering directives once they exist), STRATA_LOAD,
#   SERVERS ("strata strata-ram redis"; strata-ram is strata without maxmemory, the
#   all-in-RAM reference), SETTLE (seconds to wait for RocksDB's compaction after the load,
#   default 60), STRATA_PORT, REDIS_PORT, CLIENTS, PIPELINE, LOAD_PIPELINE, THREADS,
#   DURATION, WARMUP, ZIPF_S, HOT_KEYS (hot range [0, HOT_KEYS), default keys/100),
#   HOT_ROUNDS (pairs of hot-alone / hot-with-cold runs, default 3),
#   RESULTS_DIR (where the JSON lines are kept; default a fresh temporary directory)
# Smoke test: DURATION=2 WARMUP=1 Benchmarks/tiering-bench.sh 10000 100 8000000. Redis counts
# its ~1 MB baseline and the clients' query buffers against maxmemory: a tiny maxmemory makes the
# load's SETs fail with OOM (counted as errors in the table, not fatal).
set -euo pipefail
cd "$(dirname "$0")"

KEYS=${1:-10000000}
VALUE_SIZE=${2:-100}
MAXMEMORY=${3:-$((KEYS * VALUE_SIZE / 10))}
STRATA_SERVER=${STRATA_SERVER:-../.build/release/strata-server}
STRATA_TIER_ARGS=${STRATA_TIER_ARGS:-}
SERVERS=${SERVERS:-strata strata-ram redis}
SETTLE=${SETTLE:-60}
STRATA_PORT=${STRATA_PORT:-7490}
REDIS_PORT=${REDIS_PORT:-7491}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-1}
LOAD_PIPELINE=${LOAD_PIPELINE:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ZIPF_S=${ZIPF_S:-0.99}
HOT_KEYS=${HOT_KEYS:-$((KEYS / 100 > 0 ? KEYS / 100 : 1))}
HOT_ROUNDS=${HOT_ROUNDS:-3}

if [ -z "${STRATA_LOAD:-}" ]; then
  for candidate in .build/release/strata-load .build-loadgen/release/strata-load; do
    [ -x "$candidate" ] && STRATA_LOAD=$candidate && break
  done
fi
[ -x "${STRATA_LOAD:-}" ] || { echo "strata-load not found: swift build -c release --product strata-load (or set STRATA_LOAD)" >&2; exit 1; }

work=$(mktemp -d)
RESULTS_DIR=${RESULTS_DIR:-$work/results}
mkdir -p "$RESULTS_DIR"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work/data"
  [ "${RESULTS_DIR#"$work"}" = "$RESULTS_DIR" ] && rm -rf "$work"  # results kept elsewhere
  return 0
}
trap cleanup EXIT

# Field $2 of the JSON line $1 (flat objects of numbers only, as strata-load prints).
jget() { sed -E "s/.*\"$2\":([^,}]*).*/\1/" <<<"$1"; }

# The JSON line of a strata-load run; the human-readable part goes to the log.
load_tool() {
  local name=$1; shift
  "$STRATA_LOAD" --threads "$THREADS" --keys "$KEYS" --value-size "$VALUE_SIZE" --json "$@" \
    > "$RESULTS_DIR/$name.txt"
  tail -n 1 "$RESULTS_DIR/$name.txt" | tee "$RESULTS_DIR/$name.json"
}

start_server() {  # kind port
  local kind=$1 port=$2
  mkdir -p "$work/data/$kind"
  case $kind in
    strata)
      # shellcheck disable=SC2086  # STRATA_TIER_ARGS is a list of words
      "$STRATA_SERVER" --port "$port" --dir "$work/data/$kind" --logfile "$RESULTS_DIR/$kind.log" \
        --save "" --appendonly no --maxmemory "$MAXMEMORY" --maxmemory-policy allkeys-lru \
        $STRATA_TIER_ARGS &
      ;;
    strata-ram)
      # The reference for "vs everything in RAM": the same server without maxmemory.
      # shellcheck disable=SC2086
      "$STRATA_SERVER" --port "$port" --dir "$work/data/$kind" --logfile "$RESULTS_DIR/$kind.log" \
        --save "" --appendonly no --maxmemory 0 $STRATA_TIER_ARGS &
      ;;
    redis)
      redis-server --port "$port" --dir "$work/data/$kind" --logfile "$RESULTS_DIR/$kind.log" \
        --save "" --appendonly no --maxmemory "$MAXMEMORY" --maxmemory-policy allkeys-lru &
      ;;
  esac
  server_pid=$!
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "$kind did not start on port $port (log: $RESULTS_DIR/$kind.log)" >&2
  exit 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

declare -A row
run_server() {  # kind port
  local kind=$1 port=$2 j
  echo "== $kind (port $port)" >&2
  start_server "$kind" "$port"

  j=$(load_tool "$kind-load" --port "$port" --load --clients "$CLIENTS" --pipeline "$LOAD_PIPELINE")
  row[$kind,load]=$(jget "$j" ops_per_sec)
  row[$kind,load_err]=$(jget "$j" errors)
  row[$kind,mem]=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  row[$kind,rss_kb]=$(ps -o rss= -p "$server_pid" | tr -d ' ')
  # The reads are measured once RocksDB has finished compacting what the load wrote (at
  # most SETTLE seconds): the load's background work is not what the read figures are about.
  if [ "$kind" = strata ]; then
    local waited=0 pending
    while [ "$waited" -lt "$SETTLE" ]; do
      pending=$(redis-cli -p "$port" info tiering | sed -n 's/^rocksdb_pending_compaction_bytes:\([0-9]*\).*/\1/p')
      [ "${pending:-0}" = 0 ] && [ "$waited" -ge 5 ] && break
      sleep 1; waited=$((waited + 1))
    done
    row[$kind,settle]=$waited
  else
    row[$kind,settle]=0
  fi

  local common=(--port "$port" --pipeline "$PIPELINE" --duration "$DURATION" --warmup "$WARMUP" --verify)
  for dist in zipf uniform; do
    j=$(load_tool "$kind-$dist" "${common[@]}" --clients "$CLIENTS" --distribution "$dist" --zipf-s "$ZIPF_S")
    row[$kind,$dist]="$(jget "$j" ops_per_sec) $(jget "$j" hit_rate) $(jget "$j" p99_us) $(jget "$j" mismatches)/$(jget "$j" errors)"
  done

  # (c) Hot readers: zipf over the hot range, half the connections. First alone, then
  # with cold readers (uniform over the rest of the keys) in a second process. A p99 over
  # a few seconds on shared cores is noisy: HOT_ROUNDS pairs, and the table shows the
  # pair with the median p99 ratio (every pair's ratio is on the "p99 ratios" line).
  local half=$((CLIENTS / 2 > 0 ? CLIENTS / 2 : 1)) round ratios=() pairs=()
  for round in $(seq 1 "$HOT_ROUNDS"); do
    j=$(load_tool "$kind-hot-alone-$round" "${common[@]}" --clients "$half" --distribution zipf \
        --zipf-s "$ZIPF_S" --key-range "0:$HOT_KEYS")
    local alone="$(jget "$j" ops_per_sec) $(jget "$j" p99_us)"
    if [ "$HOT_KEYS" -lt "$KEYS" ]; then
      load_tool "$kind-cold-$round" "${common[@]}" --clients "$half" --distribution uniform \
        --key-range "$HOT_KEYS:$KEYS" --seed "$((round + 1))" >/dev/null &
      local cold_pid=$!
      j=$(load_tool "$kind-hot-with-cold-$round" "${common[@]}" --clients "$half" --distribution zipf \
          --zipf-s "$ZIPF_S" --key-range "0:$HOT_KEYS")
      wait "$cold_pid"
      local c; c=$(cat "$RESULTS_DIR/$kind-cold-$round.json")
      local with="$(jget "$j" ops_per_sec) $(jget "$j" p99_us)"
      local ratio; ratio=$(awk -v a="${alone#* }" -v w="${with#* }" 'BEGIN { printf "%.2f", w / a }')
      ratios+=("$ratio")
      pairs+=("$ratio|$alone|$with|$(jget "$c" ops_per_sec) $(jget "$c" hit_rate) $(jget "$c" p99_us)")
    else
      pairs+=("0|$alone|- -|- - -")
    fi
  done
  local median
  median=$(printf '%s\n' "${pairs[@]}" | sort -t'|' -k1,1n | sed -n "$(( (${#pairs[@]} + 1) / 2 ))p")
  IFS='|' read -r _ row[$kind,hot_alone] row[$kind,hot_cold] row[$kind,cold] <<<"$median"
  row[$kind,ratios]=$(IFS=/; echo "${ratios[*]:--}")
  stop_server
}

for kind in $SERVERS; do
  case $kind in
    strata) run_server strata "$STRATA_PORT" ;;
    strata-ram) run_server strata-ram "$STRATA_PORT" ;;
    redis) run_server redis "$REDIS_PORT" ;;
    *) echo "unknown server '$kind' in SERVERS" >&2; exit 1 ;;
  esac
done

echo "# tiering-bench $(date -u +%Y-%m-%dT%H:%MZ): $KEYS keys x $VALUE_SIZE B, maxmemory $MAXMEMORY," \
  "$CLIENTS clients, pipeline $PIPELINE, ${DURATION}s (+${WARMUP}s warm-up), zipf s=$ZIPF_S, hot keys [0, $HOT_KEYS)"
printf '| %-30s' "measure"; for kind in $SERVERS; do printf '| %-22s' "$kind"; done; echo "|"
printf '|%s' "-------------------------------"; for _ in $SERVERS; do printf '|%s' "-----------------------"; done; echo "|"
line() {  # label key field-index
  printf '| %-30s' "$1"
  for kind in $SERVERS; do
    read -r -a f <<<"${row[$kind,$2]}"
    printf '| %-22s' "${f[$3]}"
  done
  echo "|"
}
line "load keys/s" load 0
line "load errors" load_err 0
line "used_memory after load (B)" mem 0
line "RSS after load (KB)" rss_kb 0
line "settle after load (s)" settle 0
for dist in zipf uniform; do
  line "$dist GET ops/s" "$dist" 0
  line "$dist hit rate" "$dist" 1
  line "$dist p99 us" "$dist" 2
  line "$dist mismatches / errors" "$dist" 3
done
line "hot alone ops/s" hot_alone 0
line "hot alone p99 us" hot_alone 1
line "hot with cold ops/s" hot_cold 0
line "hot with cold p99 us" hot_cold 1
line "hot p99 ratios (with / alone)" ratios 0
line "cold readers ops/s" cold 0
line "cold readers hit rate" cold 1
line "cold readers p99 us" cold 2
if [ -n "${row[strata,zipf]:-}" ] && [ -n "${row[strata-ram,zipf]:-}" ]; then
  read -r -a tiered <<<"${row[strata,zipf]}"
  read -r -a ram <<<"${row[strata-ram,zipf]}"
  echo "zipf: strata with maxmemory / strata with everything in RAM = $(awk -v a="${tiered[0]}" -v b="${ram[0]}" 'BEGIN { printf "%.3f", a / b }')"
fi
echo "JSON lines and server logs: $RESULTS_DIR"

#!/usr/bin/env bash
# Cold-tier benchmark: strata-server with a data set larger than maxmemory (most keys cold in
# RocksDB) against redis-server holding everything in RAM, the same loads in the same run,
# then one table of figures with each ratio beside its goal.
#
#   strata: --maxmemory MAXMEMORY --maxmemory-policy allkeys-lru --appendonly yes --appendfsync everysec
#   redis:  no maxmemory (all in RAM),                            --appendonly yes --appendfsync everysec
#   both:   --save "" --bind 127.0.0.1, a fresh data directory under WORK, started once and
#           used by the phases load, overwrite, uniform and restart (in that order).
#
# Phases (PHASES, any subset; they always run in this order):
#   load       strata-load --load of KEYS keys x VALUE_SIZE B (LOAD_CLIENTS connections,
#              pipeline LOAD_PIPELINE): keys/s of each, ratio strata/redis (goal >= 0.9); every
#              error reply is counted and the first ones printed (goal 0).
#   overwrite  KEYS SETs of uniformly random keys of the same range (random order, with
#              replacement: ~63% of the keys get rewritten; for strata most of them are cold by
#              then): ops/s, ratio strata overwrite / strata fresh load (goal >= 0.9), and INFO
#              tiering cold_read_keys during it (goal 0: a SET must not read the old value).
#   uniform    uniform random GETs over all keys: (a) strata-load, 1 connection, pipeline 256,
#              every value verified; (b) redis-benchmark -P 16 -c 50 -r KEYS, hits counted from
#              INFO keyspace_hits/misses and a sample of values checked. Ratio strata/redis
#              (goal >= 0.5 each).
#   restart    SETs running (RESTART_WRITE_SECONDS) when each server gets SIGKILL, then
#              Benchmarks/first-get.py restarts it and times spawn -> first GET answered with the
#              right value (-LOADING, refused connections and nil do not count); then a verified
#              sample of GETs. Strata's time (goal < 1 s), ratio redis/strata (goal >= 5).
#   dbbench    db_bench (rocksdb-tools) fillrandom and readrandom, KEYS keys x VALUE_SIZE B, key
#              size of our key names, 64 MB block cache, zstd, one thread: the physical
#              reference, printed beside strata's load and uniform GET figures.
#   indexbytes a fresh strata-server under INDEX_MAXMEMORY loaded with INDEX_KEYS x
#              INDEX_VALUE_SIZE B (nearly all cold): INFO tiering cold_index_bytes_per_key
#              (goal <= 8), with INFO memory used_memory beside; redis with the same keys (all in
#              RAM) as the reference (INDEX_SERVERS).
# A phase that needs data (overwrite, uniform, restart) loads it first when "load" was left out.
#
# Key names: key:<10^12 + n> for n in [0, KEYS), i.e. "key:1" + 12 digits, which is what
# redis-benchmark's key:__rand_int__ (12 zero-padded digits) becomes with the prefix key:1, so
# redis-benchmark runs the same GET as -t get but as the command `GET key:1__rand_int__` and hits
# the keys strata-load wrote (strata-load cannot zero-pad). Values: strata-load's deterministic
# values (Benchmarks/Sources/LoadSupport/DeterministicValue.swift), checked on every verified GET.
#
# usage: Benchmarks/cold-tier-bench.sh [keys] [value_size] [maxmemory]
#   defaults: 2000000 keys x 1000 B, maxmemory 200mb
# env (defaults in brackets):
#   PHASES ["load overwrite uniform restart dbbench indexbytes"]
#   STRATA_BIN [.build/release/strata-server; copied into WORK at the start]  REDIS_BIN [redis-server]  DB_BENCH [db_bench]
#   STRATA_LOAD [.build-bench/release/strata-load, else Benchmarks/.build/release/strata-load]
#   STRATA_PORT [7701]  REDIS_PORT [7702]  INDEX_STRATA_PORT [7703]  INDEX_REDIS_PORT [7704]
#   LOAD_CLIENTS [50]  LOAD_PIPELINE [64]  THREADS [2] (strata-load event loops)
#   OVERWRITE_REQUESTS [keys]
#   GET_SECONDS [10]  WARMUP [2]      (phase uniform (a), and db_bench readrandom's duration)
#   RB_REQUESTS [max(keys, 100000)]  RB_CLIENTS [50]  RB_PIPELINE [16]  SAMPLE [50] (phase uniform (b))
#   SETTLE [60] (at most this many seconds waiting, before each measurement, for the server to be
#           idle: no compaction pending, no rewrite running, < 5% of a core)
#   RESTART_WRITE_SECONDS [3] (0: kill right after the previous phase)  GET_KEY [12345]
#   RESTART_VERIFY [20000] (verified GETs after the restart)
#   DBBENCH_ARGS (more db_bench arguments)
#   INDEX_KEYS [10000000]  INDEX_VALUE_SIZE [16]  INDEX_MAXMEMORY [32mb]  INDEX_SERVERS ["strata redis"]
#   STRATA_EXTRA_ARGS, REDIS_EXTRA_ARGS (more server arguments)
#   WORK [/tmp] (parent of the data directories, removed at the end unless KEEP_DATA=1)
#   RESULTS_DIR [WORK/cold-tier-bench-<time>] (kept: server logs, tool outputs, table.md)
# Smoke test (~1 min): GET_SECONDS=3 WARMUP=1 SETTLE=15 RESTART_WRITE_SECONDS=2 INDEX_KEYS=200000 \
#   INDEX_MAXMEMORY=8mb Benchmarks/cold-tier-bench.sh 50000 1000 32mb
# (under 8mb strata refuses most of the load's SETs with OOM: the table then shows the errors
# and the misses they cause; a restart GETs the first key from GET_KEY on that both servers hold.)
set -euo pipefail
case ${1:-} in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."

KEYS=${1:-2000000}
VALUE_SIZE=${2:-1000}
MAXMEMORY=${3:-200mb}
PHASES=${PHASES:-load overwrite uniform restart dbbench indexbytes}
STRATA_BIN=${STRATA_BIN:-.build/release/strata-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
DB_BENCH=${DB_BENCH:-db_bench}
STRATA_PORT=${STRATA_PORT:-7701}
REDIS_PORT=${REDIS_PORT:-7702}
INDEX_STRATA_PORT=${INDEX_STRATA_PORT:-7703}
INDEX_REDIS_PORT=${INDEX_REDIS_PORT:-7704}
LOAD_CLIENTS=${LOAD_CLIENTS:-50}
LOAD_PIPELINE=${LOAD_PIPELINE:-64}
THREADS=${THREADS:-2}
OVERWRITE_REQUESTS=${OVERWRITE_REQUESTS:-$KEYS}
GET_SECONDS=${GET_SECONDS:-10}
WARMUP=${WARMUP:-2}
RB_REQUESTS=${RB_REQUESTS:-$((KEYS > 100000 ? KEYS : 100000))}
RB_CLIENTS=${RB_CLIENTS:-50}
RB_PIPELINE=${RB_PIPELINE:-16}
SAMPLE=${SAMPLE:-50}
SETTLE=${SETTLE:-60}
RESTART_WRITE_SECONDS=${RESTART_WRITE_SECONDS:-3}
GET_KEY=${GET_KEY:-$((KEYS > 12345 ? 12345 : KEYS / 2))}
RESTART_VERIFY=${RESTART_VERIFY:-20000}
DBBENCH_ARGS=${DBBENCH_ARGS:-}
INDEX_KEYS=${INDEX_KEYS:-10000000}
INDEX_VALUE_SIZE=${INDEX_VALUE_SIZE:-16}
INDEX_MAXMEMORY=${INDEX_MAXMEMORY:-32mb}
INDEX_SERVERS=${INDEX_SERVERS:-strata redis}
WORK=${WORK:-/tmp}
read -r -a strata_extra <<<"${STRATA_EXTRA_ARGS:-}"
read -r -a redis_extra <<<"${REDIS_EXTRA_ARGS:-}"
FIRST_GET=Benchmarks/first-get.py
KEY_BASE=1000000000000  # key:<KEY_BASE + n> = "key:1" + %012d: see "Key names" above
KEY_ARGS=(--keys $((KEY_BASE + KEYS)) --key-range "$KEY_BASE:$((KEY_BASE + KEYS))")
KEY_LEN=$((4 + ${#KEY_BASE}))

if [ -z "${STRATA_LOAD:-}" ]; then
  for candidate in .build-bench/release/strata-load Benchmarks/.build/release/strata-load \
                   Benchmarks/.build-loadgen/release/strata-load; do
    [ -x "$candidate" ] && STRATA_LOAD=$candidate && break
  done
fi
[ -x "${STRATA_LOAD:-}" ] || { echo "strata-load not found (cd Benchmarks && swift build -c release" \
  "--scratch-path ../.build-bench --product strata-load), or set STRATA_LOAD" >&2; exit 1; }
[ -x "$STRATA_BIN" ] || { echo "strata-server not found at $STRATA_BIN (set STRATA_BIN)" >&2; exit 1; }
for phase in $PHASES; do
  case $phase in load|overwrite|uniform|restart|dbbench|indexbytes) ;;
    *) echo "unknown phase '$phase' in PHASES" >&2; exit 2 ;; esac
done
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
if has_phase dbbench && ! command -v "$DB_BENCH" >/dev/null; then
  echo "db_bench not found: apt-get install -y rocksdb-tools (or leave dbbench out of PHASES)" >&2; exit 1
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d "$WORK/cold-tier-bench-data.XXXXXX")
RESULTS_DIR=${RESULTS_DIR:-$WORK/cold-tier-bench-$stamp}
mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
# One binary for the whole run, even if STRATA_BIN is rebuilt meanwhile (restarts use it again).
STRATA_SRC=$STRATA_BIN
cp "$STRATA_SRC" "$work/strata-server"
STRATA_BIN=$work/strata-server

# Every process this script starts (servers, background loaders) is listed here by pid and
# killed on exit; nothing is killed by name.
pids=()
spid=""; rpid=""
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP_DATA:-0}" = 1 ]; then echo "data kept in $work" >&2; else rm -rf "$work"; fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$*"; }
# Field $2 of the flat JSON object $1 (empty when absent).
jget() { sed -nE "s/.*\"$2\": *\"?([^,}\"]*).*/\1/p" <<<"$1"; }
info_field() {  # port section field
  redis-cli -h 127.0.0.1 -p "$1" info "$2" 2>/dev/null | tr -d '\r' | sed -n "s/^$3:\(.*\)/\1/p"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.3f", a / b }'; }
bytes() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {printf "%d", s}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}'; }

# The pid listening on TCP port $1 (empty if none).
listener_pid() { ss -Hltnp "( sport = :$1 )" 2>/dev/null | sed -nE 's/.*pid=([0-9]+).*/\1/p' | head -n 1; }
port_free() {  # port...
  local p
  for p in "$@"; do
    [ -z "$(listener_pid "$p")" ] || { echo "port $p is in use (pid $(listener_pid "$p")): set the *_PORT variables" >&2; exit 1; }
  done
}

wait_ping() {  # port pid
  for _ in $(seq 1 3000); do
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server on port $1 exited (logs: $RESULTS_DIR)" >&2; exit 1; }
    sleep 0.1
  done
  echo "no PONG from port $1" >&2; exit 1
}

# Waits (at most SETTLE s) until the server is idle: no RocksDB compaction pending or
# demotion in flight (strata), no checkpoint / AOF rewrite running, and under 5% of a core
# over one second. Prints the seconds waited.
wait_quiet() {  # port pid
  local port=$1 pid=$2 t0 t1 busy pending start=$SECONDS hz
  hz=$(getconf CLK_TCK)
  while [ $((SECONDS - start)) -lt "$SETTLE" ]; do
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    sleep 1
    t1=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    busy=$(( (t1 - t0) * 100 / hz ))
    pending=$(( $(info_field "$port" tiering rocksdb_pending_compaction_bytes || true) + 0 \
              + $(info_field "$port" tiering demotions_in_flight || true) + 0 \
              + $(info_field "$port" persistence aof_rewrite_in_progress || true) + 0 ))
    [ "$busy" -lt 5 ] && [ "$pending" = 0 ] && break
  done
  echo $((SECONDS - start))
}

# Runs strata-load, keeps its output in RESULTS_DIR/<name>.txt and prints its JSON line
# ("{}" if it failed); its first error and mismatch lines go to stdout as well.
sload() {  # name strata-load-args...
  local name=$1; shift
  "$STRATA_LOAD" --json "$@" > "$RESULTS_DIR/$name.txt" 2>&1 || true
  grep -E '^  (error|mismatch):' "$RESULTS_DIR/$name.txt" | head -n 5 | sed "s/^ */  $name: /" >&2 || true
  local last; last=$(tail -n 1 "$RESULTS_DIR/$name.txt")
  if [[ $last == "{"* ]]; then echo "$last"; else
    echo "  strata-load $name failed: $(tail -n 3 "$RESULTS_DIR/$name.txt" | tr '\n' ' ')" >&2; echo "{}"; fi
}

declare -A R  # results: R[kind,figure]

strata_cmd() {  # array-name dir port maxmemory log
  local -n into=$1
  into=("$STRATA_BIN" --port "$3" --bind 127.0.0.1 --dir "$2" --logfile "$5" --save ""
        --appendonly yes --appendfsync everysec --maxmemory "$4" --maxmemory-policy allkeys-lru
        ${strata_extra[@]+"${strata_extra[@]}"})
}
redis_cmd() {  # array-name dir port log
  local -n into=$1
  into=("$REDIS_BIN" --port "$3" --bind 127.0.0.1 --dir "$2" --logfile "$4" --save ""
        --appendonly yes --appendfsync everysec ${redis_extra[@]+"${redis_extra[@]}"})
}

started=0; loaded=0
declare -a scmd rcmd
start_main_servers() {
  [ "$started" = 1 ] && return 0
  mkdir -p "$work/strata" "$work/redis"
  strata_cmd scmd "$work/strata" "$STRATA_PORT" "$MAXMEMORY" "$RESULTS_DIR/strata.log"
  redis_cmd rcmd "$work/redis" "$REDIS_PORT" "$RESULTS_DIR/redis.log"
  port_free "$STRATA_PORT" "$REDIS_PORT"
  log "## servers"
  log "  strata: ${scmd[*]}"
  log "  redis:  ${rcmd[*]}"
  "${scmd[@]}" & spid=$!; pids+=("$spid")
  "${rcmd[@]}" & rpid=$!; pids+=("$rpid")
  wait_ping "$STRATA_PORT" "$spid"; wait_ping "$REDIS_PORT" "$rpid"
  started=1
}
port_of() { [ "$1" = strata ] && echo "$STRATA_PORT" || echo "$REDIS_PORT"; }
pid_of() { [ "$1" = strata ] && echo "$spid" || echo "$rpid"; }

# ---------------------------------------------------------------- phase load
phase_load() {
  start_main_servers
  local implied=""; has_phase load || implied=" (implied by a later phase)"
  log "## load: $KEYS keys x $VALUE_SIZE B, strata-load --load, $LOAD_CLIENTS clients, pipeline $LOAD_PIPELINE$implied"
  local kind port j
  for kind in strata redis; do
    port=$(port_of "$kind")
    j=$(sload "$kind-load" --port "$port" "${KEY_ARGS[@]}" --value-size "$VALUE_SIZE" --load \
        --clients "$LOAD_CLIENTS" --pipeline "$LOAD_PIPELINE" --threads "$THREADS")
    R[$kind,load]=$(jget "$j" ops_per_sec); R[$kind,load_err]=$(jget "$j" errors)
    R[$kind,load_dbsize]=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    R[$kind,load_mem]=$(info_field "$port" memory used_memory)
    R[$kind,load_rss]=$(info_field "$port" memory used_memory_rss)
    log "  $kind: $(jget "$j" ops_per_sec) keys/s in $(jget "$j" requests) SETs, errors $(jget "$j" errors)," \
        "p99 $(jget "$j" p99_us) us, max $(jget "$j" max_us) us; DBSIZE ${R[$kind,load_dbsize]}," \
        "used_memory $(mb "${R[$kind,load_mem]}"), RSS $(mb "${R[$kind,load_rss]}")"
    if [ "$kind" = strata ]; then
      log "  strata tiering: $(redis-cli -h 127.0.0.1 -p "$port" info tiering | tr -d '\r' | grep -E \
        '^(hot_keys|cold_keys|demotions|tiering_write_stalls|tiering_write_stall_usec|cold_write_errors|rocksdb_sst_bytes):' | tr '\n' ' ')"
    fi
    log "  $kind: idle after $(wait_quiet "$port" "$(pid_of "$kind")") s"
  done
  loaded=1
}
ensure_loaded() { [ "$loaded" = 1 ] || phase_load; }

# ---------------------------------------------------------------- phase overwrite
phase_overwrite() {
  ensure_loaded
  log "## overwrite: $OVERWRITE_REQUESTS SETs of uniform random keys in [0, $KEYS), $LOAD_CLIENTS clients, pipeline $LOAD_PIPELINE"
  local kind port j before after st0 st1 sw0 sw1
  for kind in strata redis; do
    port=$(port_of "$kind")
    if [ "$kind" = strata ]; then
      before=$(info_field "$port" tiering cold_read_keys); st0=$(info_field "$port" tiering tiering_write_stalls)
      sw0=$(info_field "$port" tiering tiering_write_stall_usec)
      log "  strata before: hot_keys $(info_field "$port" tiering hot_keys), cold_keys $(info_field "$port" tiering cold_keys)"
    fi
    j=$(sload "$kind-overwrite" --port "$port" "${KEY_ARGS[@]}" --value-size "$VALUE_SIZE" --read-ratio 0 \
        --distribution uniform --requests "$OVERWRITE_REQUESTS" --warmup 0 --clients "$LOAD_CLIENTS" \
        --pipeline "$LOAD_PIPELINE" --threads "$THREADS" --seed 11)
    R[$kind,overwrite]=$(jget "$j" ops_per_sec); R[$kind,overwrite_err]=$(jget "$j" errors)
    local extra=""
    if [ "$kind" = strata ]; then
      after=$(info_field "$port" tiering cold_read_keys); st1=$(info_field "$port" tiering tiering_write_stalls)
      sw1=$(info_field "$port" tiering tiering_write_stall_usec)
      R[strata,overwrite_cold_reads]=$((after - before))
      extra="; cold_read_keys +$((after - before)), write stalls +$((st1 - st0)) ($(( (sw1 - sw0) / 1000 )) ms)"
    fi
    log "  $kind: $(jget "$j" ops_per_sec) ops/s, errors $(jget "$j" errors), p99 $(jget "$j" p99_us) us, max $(jget "$j" max_us) us$extra"
    log "  $kind: idle after $(wait_quiet "$port" "$(pid_of "$kind")") s"
  done
}

# ---------------------------------------------------------------- phase uniform
# Checks SAMPLE random keys by redis-benchmark's own naming (key:1 + %012d) against the
# deterministic values; prints "right/total".
sample_check() {  # port
  python3 - "$1" "$KEYS" "$VALUE_SIZE" "$KEY_BASE" "$SAMPLE" "$FIRST_GET" <<'EOF'
import importlib.util, random, socket, sys
port, keys, size, base, n = map(int, sys.argv[1:6])
spec = importlib.util.spec_from_file_location("first_get", sys.argv[6])
fg = importlib.util.module_from_spec(spec); spec.loader.exec_module(fg)
s = socket.create_connection(("127.0.0.1", port)); r = fg.Reader(s)
rnd, right = random.Random(7), 0
for _ in range(n):
    k = rnd.randrange(keys)
    s.sendall(fg.command("GET", "key:1%012d" % k))  # what key:1__rand_int__ becomes
    kind, v = r.reply()
    right += kind == "bulk" and v == fg.deterministic_value(base + k, size)
print(f"{right}/{n}")
EOF
}

phase_uniform() {
  ensure_loaded
  local kind port j c0 c1 h0 h1 m0 m1 out rps
  log "## uniform GETs over [0, $KEYS): (a) strata-load 1 connection pipeline 256, ${GET_SECONDS}s (+${WARMUP}s), verified;" \
      "(b) redis-benchmark -P $RB_PIPELINE -c $RB_CLIENTS -r $KEYS -n $RB_REQUESTS GET key:1__rand_int__"
  for kind in strata redis; do
    port=$(port_of "$kind")
    c0=$(info_field "$port" tiering cold_read_keys || true)
    j=$(sload "$kind-uniform-p256" --port "$port" "${KEY_ARGS[@]}" --value-size "$VALUE_SIZE" \
        --distribution uniform --clients 1 --pipeline 256 --threads 1 --duration "$GET_SECONDS" \
        --warmup "$WARMUP" --verify --seed 21)
    c1=$(info_field "$port" tiering cold_read_keys || true)
    R[$kind,p256]=$(jget "$j" ops_per_sec)
    R[$kind,p256_hits]=$(awk -v h="$(jget "$j" hit_rate)" 'BEGIN { if (h == "") print "-"; else printf "%.2f%%", h * 100 }')
    R[$kind,p256_bad]=$(( $(jget "$j" mismatches) + 0 + $(jget "$j" errors) + 0 ))
    R[$kind,p256_miss]=$(jget "$j" misses)
    log "  (a) $kind: $(jget "$j" ops_per_sec) GET/s, hit rate ${R[$kind,p256_hits]}, mismatches $(jget "$j" mismatches)," \
        "errors $(jget "$j" errors), p50 $(jget "$j" p50_us) us, p99 $(jget "$j" p99_us) us${c0:+; cold_read_keys +$((c1 - c0))}"

    h0=$(info_field "$port" stats keyspace_hits); m0=$(info_field "$port" stats keyspace_misses)
    c0=$(info_field "$port" tiering cold_read_keys || true)
    out=$(redis-benchmark -h 127.0.0.1 -p "$port" -P "$RB_PIPELINE" -c "$RB_CLIENTS" -r "$KEYS" -n "$RB_REQUESTS" \
          -d "$VALUE_SIZE" --csv GET "key:1__rand_int__" 2>&1 || true)
    echo "$out" > "$RESULTS_DIR/$kind-redis-benchmark.txt"
    h1=$(info_field "$port" stats keyspace_hits); m1=$(info_field "$port" stats keyspace_misses)
    c1=$(info_field "$port" tiering cold_read_keys || true)
    rps=$(echo "$out" | tr -d '"\r' | awk -F, '$1 ~ /^GET/ {print $2}' | tail -n 1)
    R[$kind,rb]=$rps
    R[$kind,rb_miss]=$((m1 - m0))
    R[$kind,rb_hits]=$(awk -v h=$((h1 - h0)) -v m=$((m1 - m0)) 'BEGIN { if (h + m == 0) print "-"; else printf "%.2f%%", h * 100 / (h + m) }')
    R[$kind,rb_sample]=$(sample_check "$port")
    log "  (b) $kind: ${rps:-FAILED (see $kind-redis-benchmark.txt)} GET/s, keyspace hits +$((h1 - h0)) misses +$((m1 - m0))" \
        "(${R[$kind,rb_hits]}), sample of values right ${R[$kind,rb_sample]}${c0:+; cold_read_keys +$((c1 - c0))}" \
        "$(echo "$out" | tr -d '"\r' | awk -F, '$1 ~ /^GET/ {printf "p50 %s ms, p99 %s ms", $5, $7}')"
  done
}

# ---------------------------------------------------------------- phase restart
phase_restart() {
  ensure_loaded
  local kind port pid lp j dbsize dir key=$((KEY_BASE + GET_KEY)) label tries=0
  # The first key from GET_KEY on that both servers hold (a load with error replies leaves holes).
  while [ "$(redis-cli -h 127.0.0.1 -p "$STRATA_PORT" exists "key:$key")" != 1 ] \
     || [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" exists "key:$key")" != 1 ]; do
    key=$((key + 1)); tries=$((tries + 1))
    [ "$key" -lt $((KEY_BASE + KEYS)) ] && [ "$tries" -lt 10000 ] || { log "  no key from $GET_KEY on held by both servers"; return 0; }
  done
  [ "$tries" = 0 ] || log "  (keys $GET_KEY..$((key - KEY_BASE - 1)) are missing on a server: GET key number $((key - KEY_BASE)) instead)"
  log "## restart: SIGKILL after ${RESTART_WRITE_SECONDS}s of SETs (appendfsync everysec), then first-get.py: spawn -> first right GET key:$key"
  for kind in strata redis; do
    port=$(port_of "$kind"); pid=$(pid_of "$kind"); dir=$work/$kind
    dbsize=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    lp=""
    if [ "$RESTART_WRITE_SECONDS" != 0 ]; then
      "$STRATA_LOAD" --port "$port" "${KEY_ARGS[@]}" --value-size "$VALUE_SIZE" --read-ratio 0 --distribution uniform \
        --duration 3600 --warmup 0 --clients "$LOAD_CLIENTS" --pipeline "$LOAD_PIPELINE" --threads "$THREADS" --seed 31 \
        > "$RESULTS_DIR/$kind-restart-writes.txt" 2>&1 &
      lp=$!; pids+=("$lp")
      sleep "$RESTART_WRITE_SECONDS"
    fi
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    [ -n "$lp" ] && { wait "$lp" 2>/dev/null || true; }
    local sizes
    if [ "$kind" = strata ]; then
      sizes="cold $(mb "$(bytes "$dir/cold")"), log $(mb "$(bytes "$dir/appendonlydir")"), all $(mb "$(bytes "$dir")")"
    else
      sizes="appendonlydir $(mb "$(bytes "$dir/appendonlydir")") ($(ls "$dir/appendonlydir" 2>/dev/null | tr '\n' ' '))"
    fi
    log "  $kind: DBSIZE before the SETs ${dbsize}; killed$([ -n "$lp" ] && echo " during SETs ($(grep -o '[0-9]* requests' "$RESULTS_DIR/$kind-restart-writes.txt" | head -n1) before the kill)"); on disk: $sizes"
    label=$kind-restart
    local -a cmd
    if [ "$kind" = strata ]; then cmd=("${scmd[@]}"); else cmd=("${rcmd[@]}"); fi
    port_free "$port"
    python3 "$FIRST_GET" --label "$label" --stop none --port "$port" --key "key:$key" --key-number "$key" \
      --value-size "$VALUE_SIZE" --log "$RESULTS_DIR/$kind.log" -- "${cmd[@]}" > "$RESULTS_DIR/$label.txt" 2>&1 || true
    j=$(grep '^{' "$RESULTS_DIR/$label.txt" | tail -n 1 || true)
    # first-get.py leaves the server running (--stop none, and also when it gives up): its pid
    # from the JSON line, else from the listening socket (checked to be this run's server).
    pid=$(jget "$j" pid)
    if [ -z "$pid" ]; then
      pid=$(listener_pid "$port")
      [ -n "$pid" ] && ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir" && pid=""
    fi
    [ -n "$pid" ] && pids+=("$pid")
    if [ -z "$j" ]; then
      log "  $kind: first-get.py failed: $(tail -n 3 "$RESULTS_DIR/$label.txt" | tr '\n' ' ')"
      [ -n "$pid" ] && { kill -9 "$pid"; wait "$pid" 2>/dev/null || true; }
      continue
    fi
    if [ "$kind" = strata ]; then spid=$pid; else rpid=$pid; fi
    R[$kind,restart_ms]=$(jget "$j" first_get_ms); R[$kind,restart_ok]=$(jget "$j" value_ok)
    R[$kind,restart_dbsize]=$(jget "$j" dbsize)
    log "  $kind: first right GET $(jget "$j" first_get_ms) ms (connect $(jget "$j" first_connect_ms) ms," \
        "$(jget "$j" loading_replies) -LOADING replies, value_ok $(jget "$j" value_ok)); DBSIZE $(jget "$j" dbsize) at $(jget "$j" dbsize_ms) ms"
    grep -E 'Data loaded|DB loaded|Done loading|[Rr]eplay|loaded in|Ready to accept|corrupt|truncat' "$RESULTS_DIR/$label.txt" \
      | sed 's/^ *log: [0-9]*:[A-Z] /    log: /' | head -n 8 || true
    wait_ping "$port" "$pid"
    j=$(sload "$kind-after-restart" --port "$port" "${KEY_ARGS[@]}" --value-size "$VALUE_SIZE" --distribution uniform \
        --requests "$RESTART_VERIFY" --warmup 0 --clients 4 --pipeline 16 --threads 1 --verify --seed 41)
    R[$kind,restart_miss]=$(jget "$j" misses)
    R[$kind,restart_hits]=$(awk -v h="$(jget "$j" hit_rate)" 'BEGIN { if (h == "") print "-"; else printf "%.2f%%", h * 100 }')
    log "  $kind after the restart: $RESTART_VERIFY verified GETs: hit rate ${R[$kind,restart_hits]}, mismatches $(jget "$j" mismatches), errors $(jget "$j" errors)"
  done
}

# ---------------------------------------------------------------- phase dbbench
dbbench_ops() { sed -nE "s/^$1 *:.* ([0-9.]+) ops\/sec.*/\1/p" "$2" | tail -n 1; }
phase_dbbench() {
  local db=$work/dbbench common
  # shellcheck disable=SC2206  # DBBENCH_ARGS is a list of words
  common=(--db="$db" --num="$KEYS" --value_size="$VALUE_SIZE" --key_size="$KEY_LEN" --cache_size=$((64 << 20))
          --threads=1 --compression_type=zstd --compression_ratio=0.75 $DBBENCH_ARGS)
  log "## dbbench: $DB_BENCH ${common[*]} (values 0.75 compressible, as strata-load's 6 bits per byte)"
  log "  fillrandom (N random keys, with repeats) on a fresh DB: the write figure; then a fresh DB filled by"
  log "  filluniquerandom (each key once, random order) for readrandom, so that every read finds its key"
  local b
  for b in fillrandom filluniquerandom readrandom; do
    local more=()
    [ "$b" = fillrandom ] || [ "$b" = filluniquerandom ] && rm -rf "$db"
    [ "$b" = readrandom ] && more=(--use_existing_db=1 --duration="$GET_SECONDS")
    "$DB_BENCH" --benchmarks="$b" ${more[@]+"${more[@]}"} "${common[@]}" > "$RESULTS_DIR/db_bench-$b.txt" 2>&1 || true
    R[ref,$b]=$(dbbench_ops "$b" "$RESULTS_DIR/db_bench-$b.txt")
    log "  $(grep -E "^$b " "$RESULTS_DIR/db_bench-$b.txt" || echo "$b failed: $(tail -n 2 "$RESULTS_DIR/db_bench-$b.txt" | tr '\n' ' ')")"
    [ "$b" = readrandom ] || log "    on disk after $b: $(mb "$(bytes "$db")")"
  done
  rm -rf "$db"
}

# ---------------------------------------------------------------- phase indexbytes
phase_indexbytes() {
  local kind port pid dir j
  log "## indexbytes: $INDEX_KEYS keys x $INDEX_VALUE_SIZE B (key:%d), strata under maxmemory $INDEX_MAXMEMORY; servers: $INDEX_SERVERS"
  for kind in $INDEX_SERVERS; do
    dir=$work/index-$kind; mkdir -p "$dir"
    local -a cmd
    case $kind in
      strata) port=$INDEX_STRATA_PORT; strata_cmd cmd "$dir" "$port" "$INDEX_MAXMEMORY" "$RESULTS_DIR/strata-index.log" ;;
      redis) port=$INDEX_REDIS_PORT; redis_cmd cmd "$dir" "$port" "$RESULTS_DIR/redis-index.log" ;;
      *) echo "unknown server '$kind' in INDEX_SERVERS" >&2; exit 2 ;;
    esac
    port_free "$port"
    "${cmd[@]}" & pid=$!; pids+=("$pid")
    wait_ping "$port" "$pid"
    j=$(sload "$kind-index-load" --port "$port" --keys "$INDEX_KEYS" --value-size "$INDEX_VALUE_SIZE" --load \
        --clients "$LOAD_CLIENTS" --pipeline "$LOAD_PIPELINE" --threads "$THREADS")
    R[$kind,ix_err]=$(jget "$j" errors)
    local waited; waited=$(wait_quiet "$port" "$pid")
    R[$kind,ix_keys]=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    R[$kind,ix_mem]=$(info_field "$port" memory used_memory)
    R[$kind,ix_rss]=$(info_field "$port" memory used_memory_rss)
    R[$kind,ix_mem_per_key]=$(awk -v m="${R[$kind,ix_mem]}" -v k="${R[$kind,ix_keys]}" 'BEGIN { if (k > 0) printf "%.1f", m / k; else print "-" }')
    log "  $kind: load $(jget "$j" ops_per_sec) keys/s, errors $(jget "$j" errors); idle after $waited s; DBSIZE ${R[$kind,ix_keys]}," \
        "used_memory $(mb "${R[$kind,ix_mem]}") (${R[$kind,ix_mem_per_key]} B/key), RSS $(mb "${R[$kind,ix_rss]}")"
    if [ "$kind" = strata ]; then
      local t; t=$(redis-cli -h 127.0.0.1 -p "$port" info tiering | tr -d '\r')
      R[strata,ix_per_cold]=$(sed -n 's/^cold_index_bytes_per_key://p' <<<"$t")
      local cold; cold=$(sed -n 's/^cold_keys://p' <<<"$t")
      R[strata,ix_mem_per_cold]=$(awk -v m="${R[strata,ix_mem]}" -v k="$cold" 'BEGIN { if (k > 0) printf "%.1f", m / k; else print "-" }')
      log "  strata tiering: $(grep -E '^(hot_keys|cold_keys|hot_keys_percent|cold_index_bytes|cold_index_bytes_per_key|demotions|tiering_write_stalls|rocksdb_memory|used_memory_for_maxmemory):' <<<"$t" | tr '\n' ' ')"
      log "  strata: used_memory / cold_keys = ${R[strata,ix_mem_per_cold]} B"
    fi
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  done
}

# ---------------------------------------------------------------- run
log "# cold-tier-bench $(date -u +%Y-%m-%dT%H:%MZ): $KEYS keys x $VALUE_SIZE B, strata maxmemory $MAXMEMORY; phases: $PHASES"
log "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); strata $STRATA_SRC ($(stat -c %y "$STRATA_SRC" | cut -d. -f1), copied to the work dir," \
    "git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- Sources 2>/dev/null || echo '+dirty Sources')), $("$REDIS_BIN" --version | cut -d' ' -f1-3)"
log "# results and logs: $RESULTS_DIR"
has_phase load && phase_load
has_phase overwrite && phase_overwrite
has_phase uniform && phase_uniform
has_phase restart && phase_restart
has_phase dbbench && phase_dbbench
has_phase indexbytes && phase_indexbytes

# ---------------------------------------------------------------- table
v() { local x=${R[$1]:-}; echo "${x:--}"; }
met_ge() { awk -v a="$1" -v g="$2" 'BEGIN { if (a == "-" || a == "") print "-"; else print (a + 0 >= g ? "yes" : "no") }'; }
met_le() { awk -v a="$1" -v g="$2" 'BEGIN { if (a == "-" || a == "") print "-"; else print (a + 0 <= g ? "yes" : "no") }'; }
met_lt() { awk -v a="$1" -v g="$2" 'BEGIN { if (a == "-" || a == "") print "-"; else print (a + 0 < g ? "yes" : "no") }'; }
met_eq() { [ "$1" = - ] && echo - || { [ "$1" = "$2" ] && echo yes || echo no; }; }
rows=()
row() { rows+=("$(printf '| %-46s | %-12s | %-12s | %-7s | %-10s | %-4s |' "$@")"); }
if has_phase load || [ "$loaded" = 1 ]; then
  r=$(ratio "$(v strata,load)" "$(v redis,load)")
  row "fresh load keys/s (strata / redis)" "$(v strata,load)" "$(v redis,load)" "$r" ">= 0.9" "$(met_ge "$r" 0.9)"
  row "fresh load error replies" "$(v strata,load_err)" "$(v redis,load_err)" "-" "0" "$(met_eq "$(v strata,load_err)" 0)"
fi
if has_phase overwrite; then
  r=$(ratio "$(v strata,overwrite)" "$(v strata,load)")
  row "overwrite ops/s (strata overwrite / load)" "$(v strata,overwrite)" "$(v redis,overwrite)" "$r" ">= 0.9" "$(met_ge "$r" 0.9)"
  row "overwrite error replies" "$(v strata,overwrite_err)" "$(v redis,overwrite_err)" "-" "0" "$(met_eq "$(v strata,overwrite_err)" 0)"
  row "cold_read_keys during the overwrite" "$(v strata,overwrite_cold_reads)" "-" "-" "0" "$(met_eq "$(v strata,overwrite_cold_reads)" 0)"
fi
if has_phase uniform; then
  r=$(ratio "$(v strata,p256)" "$(v redis,p256)")
  row "uniform GET/s, 1 conn, P256 (strata / redis)" "$(v strata,p256)" "$(v redis,p256)" "$r" ">= 0.5" "$(met_ge "$r" 0.5)"
  row "  its hit rate (met: 0 misses)" "$(v strata,p256_hits)" "$(v redis,p256_hits)" "-" "100%" "$(met_eq "$(v strata,p256_miss)" 0)"
  row "  its mismatches + errors" "$(v strata,p256_bad)" "$(v redis,p256_bad)" "-" "0" "$(met_eq "$(v strata,p256_bad)" 0)"
  r=$(ratio "$(v strata,rb)" "$(v redis,rb)")
  row "redis-benchmark GET/s -P$RB_PIPELINE -c$RB_CLIENTS (s / r)" "$(v strata,rb)" "$(v redis,rb)" "$r" ">= 0.5" "$(met_ge "$r" 0.5)"
  row "  its hit rate (INFO keyspace_hits/misses)" "$(v strata,rb_hits)" "$(v redis,rb_hits)" "-" "100%" "$(met_eq "$(v strata,rb_miss)" 0)"
  row "  sample of values right" "$(v strata,rb_sample)" "$(v redis,rb_sample)" "-" "all" "$(met_eq "$(v strata,rb_sample)" "$SAMPLE/$SAMPLE")"
fi
if has_phase restart; then
  r=$(ratio "$(v redis,restart_ms)" "$(v strata,restart_ms)")
  row "kill -9 -> first right GET ms (redis / strata)" "$(v strata,restart_ms)" "$(v redis,restart_ms)" "$r" ">= 5" "$(met_ge "$r" 5)"
  row "  strata's time" "$(v strata,restart_ms)" "-" "-" "< 1000 ms" "$(met_lt "$(v strata,restart_ms)" 1000)"
  row "  value right / DBSIZE at first GET" "$(v strata,restart_ok) $(v strata,restart_dbsize)" \
      "$(v redis,restart_ok) $(v redis,restart_dbsize)" "-" "true" "$(met_eq "$(v strata,restart_ok)" true)"
  row "  verified GET hit rate after the restart" "$(v strata,restart_hits)" "$(v redis,restart_hits)" "-" "100%" "$(met_eq "$(v strata,restart_miss)" 0)"
fi
if has_phase dbbench; then
  row "db_bench fillrandom ops/s vs strata load" "$(v strata,load)" "$(v ref,fillrandom)" "$(ratio "$(v strata,load)" "$(v ref,fillrandom)")" "reference" "-"
  [ -n "${R[strata,overwrite]:-}" ] && row "db_bench fillrandom ops/s vs strata overwrite" "$(v strata,overwrite)" "$(v ref,fillrandom)" "$(ratio "$(v strata,overwrite)" "$(v ref,fillrandom)")" "reference" "-"
  row "db_bench readrandom ops/s vs strata P256 GET" "$(v strata,p256)" "$(v ref,readrandom)" "$(ratio "$(v strata,p256)" "$(v ref,readrandom)")" "reference" "-"
fi
if has_phase indexbytes; then
  row "cold_index_bytes_per_key ($INDEX_KEYS x ${INDEX_VALUE_SIZE} B)" "$(v strata,ix_per_cold)" "-" "-" "<= 8" "$(met_le "$(v strata,ix_per_cold)" 8)"
  row "  used_memory / cold key (strata)" "$(v strata,ix_mem_per_cold)" "-" "-" "-" "-"
  row "  used_memory / key, all keys (redis: in RAM)" "$(v strata,ix_mem_per_key)" "$(v redis,ix_mem_per_key)" \
      "$(ratio "$(v strata,ix_mem_per_key)" "$(v redis,ix_mem_per_key)")" "-" "-"
  row "  load error replies" "$(v strata,ix_err)" "$(v redis,ix_err)" "-" "0" "$(met_eq "$(v strata,ix_err)" 0)"
fi
{
  echo
  echo "# cold-tier-bench $stamp: $KEYS keys x $VALUE_SIZE B, strata maxmemory $MAXMEMORY (redis: all in RAM), both appendonly everysec"
  printf '| %-46s | %-12s | %-12s | %-7s | %-10s | %-4s |\n' figure strata "redis/ref" ratio goal met
  printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..14})" \
    "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..6})"
  printf '%s\n' "${rows[@]}"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); logs and tool outputs: $RESULTS_DIR"
} | tee "$RESULTS_DIR/table.md"

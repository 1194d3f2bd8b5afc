#!/usr/bin/env bash
# Log bytes one change appends (issue 13, item 9): for a hash of 10, 10 000 and 1 000 000
# fields, and a list and a set of as many elements, the growth of the append-only log
# after one HSET of a new 10-byte field with a 10-byte value, one LPUSH and one SADD of a
# 10-byte element (the command is repeated 100 times; the median is printed).
# usage: Benchmarks/log-bytes-per-change.sh [strata-server binary]
set -euo pipefail
BIN=${1:-.build/release/strata-server}
PORT=7611; DIR=$(mktemp -d)
"$BIN" --port $PORT --save '' --appendonly yes --appendfsync everysec --dir "$DIR" --logfile "$DIR/log" \
  --auto-aof-rewrite-percentage 0 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
python3 - "$PORT" "$DIR" <<'PY'
import glob, os, statistics, sys, time
import redis
port, directory = int(sys.argv[1]), sys.argv[2]
r = redis.Redis(port=port)
def log_bytes():
    time.sleep(0.02)  # everysec: the loop writes the buffer after each pass
    return sum(os.path.getsize(p) for p in glob.glob(directory + "/appendonlydir/*.log"))
def fill(kind, key, n):
    pipe = r.pipeline(transaction=False)
    for start in range(0, n, 1000):
        chunk = ["%09d" % i for i in range(start, min(n, start + 1000))]
        if kind == "hash": pipe.hset(key, mapping={c: c for c in chunk})
        elif kind == "list": pipe.rpush(key, *chunk)
        else: pipe.sadd(key, *chunk)
        if len(pipe) >= 100: pipe.execute()
    pipe.execute()
print("%-6s %10s %14s" % ("type", "elements", "bytes/command"))
for n in (10, 10_000, 1_000_000):
    for kind in ("hash", "list", "set"):
        key = "%s:%d" % (kind, n)
        fill(kind, key, n)
        sizes = []
        for i in range(100):
            before = log_bytes()
            element = "x%09d" % i
            if kind == "hash": r.hset(key, element, "v%09d" % i)
            elif kind == "list": r.lpush(key, element)
            else: r.sadd(key, element)
            sizes.append(log_bytes() - before)
        print("%-6s %10d %14d" % (kind, n, statistics.median(sizes)))
        r.delete(key)
PY

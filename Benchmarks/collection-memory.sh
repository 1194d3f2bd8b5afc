#!/usr/bin/env bash
# Memory per element of collections, against redis-server in the same run: loads each
# shape with `redis-cli --pipe` into two running servers (A, then B), reads INFO memory's
# used_memory before and after (FLUSHALL between shapes) and prints bytes per element
# (per key for the small ones) and the ratio A/B. Goal (issue 13): A/B <= 1.0.
#
# usage: Benchmarks/collection-memory.sh PORT_A PORT_B [N=1000000]
#   SHAPES="list set" picks shapes (default: all five)
#   shapes: one N-element list, one N-field hash, one N-member set (9-byte elements),
#           N small hashes of 10 fields, N small sets of 5 integers
set -eu
A=$1; B=$2; N=${3:-1000000}

used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '/^used_memory:/{print $2}'; }

# RESP for one shape on stdout.
generate() {
    awk -v n="$N" -v shape="$1" 'function bulk(s) { return "$" length(s) "\r\n" s "\r\n" }
    BEGIN {
        if (shape == "list" || shape == "hash" || shape == "set") {
            cmd = shape == "list" ? "RPUSH" : shape == "hash" ? "HSET" : "SADD"
            per = shape == "hash" ? 2 : 1
            for (start = 0; start < n; start += 1000) {
                end = start + 1000 < n ? start + 1000 : n
                out = bulk(cmd) bulk("big")
                for (i = start; i < end; i++) {
                    out = out bulk(sprintf("e:%07d", i))
                    if (per == 2) out = out bulk(sprintf("v:%07d", i))
                }
                printf "*%d\r\n%s", 2 + (end - start) * per, out
            }
        } else if (shape == "small-hashes") {
            for (i = 0; i < n; i++) {
                out = bulk("HSET") bulk("h:" i)
                for (f = 0; f < 10; f++) out = out bulk("field" f) bulk("value" f)
                printf "*22\r\n%s", out
            }
        } else {
            for (i = 0; i < n; i++) printf "*7\r\n%s", bulk("SADD") bulk("s:" i) bulk("1") bulk("2") bulk("3") bulk("4") bulk("5")
        }
    }'
}

printf "%-14s %12s %12s %8s   (bytes of used_memory per %s)\n" shape A B A/B "element or key"
for shape in ${SHAPES:-list hash set small-hashes small-sets}; do
    declare -A per=()
    for port in "$A" "$B"; do
        redis-cli -p "$port" flushall >/dev/null
        sleep 1
        before=$(used "$port")
        generate "$shape" | redis-cli -p "$port" --pipe >/dev/null
        sleep 2
        after=$(used "$port")
        per[$port]=$(echo "($after - $before) / $N" | bc -l)
        redis-cli -p "$port" flushall >/dev/null
    done
    printf "%-14s %12.1f %12.1f %8.2f\n" "$shape" "${per[$A]}" "${per[$B]}" "$(echo "${per[$A]} / ${per[$B]}" | bc -l)"
done

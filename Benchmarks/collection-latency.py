#!/usr/bin/env python3
"""How long one large collection holds the event loop: while a 100 MB list, hash or set is
demoted to RocksDB (by eviction under maxmemory, as in production), promoted back by a
read, deleted hot and cold, UNLINKed, RENAMEd, MOVEd and COPYed hot (with the log on: the
writer takes the value), and copied by a checkpoint (BGSAVE: into the log with
appendonly yes, into RocksDB without; a change to it while the walk runs), a second process
PINGs every millisecond and records each reply's latency. Prints p99 and max per phase
(goal: max <= 10 ms).

usage: Benchmarks/collection-latency.py PORT [MB] [TYPES]   (a running strata-server with
       tiering on and no maxmemory; MB defaults to 100, TYPES to list,hash,set)
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

import redis

PORT = int(sys.argv[1])
MEGABYTES = int(sys.argv[2]) if len(sys.argv) > 2 else 100
TYPES = (sys.argv[3] if len(sys.argv) > 3 else "list,hash,set").split(",")
ELEMENT = 100  # bytes per element (a set's members carry their index too)


PROBE = r"""
import os, socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
out = []
while os.path.exists(sys.argv[2]):
    t = time.monotonic()
    s.sendall(b"PING\r\n")
    s.recv(64)
    out.append(struct.pack("dd", t, time.monotonic() - t))
    time.sleep(0.001)
open(sys.argv[3], "wb").write(b"".join(out))
"""


def build(r, kind, key):
    count = MEGABYTES * 1024 * 1024 // ELEMENT
    pad = b"x" * (ELEMENT - 12)
    pipe = r.pipeline(transaction=False)
    for start in range(0, count, 1000):
        chunk = [b"%011d:" % i + pad for i in range(start, min(start + 1000, count))]
        if kind == "list":
            pipe.rpush(key, *chunk)
        elif kind == "set":
            pipe.sadd(key, *chunk)
        else:
            pipe.hset(key, mapping={c[:11]: c for c in chunk})
        if len(pipe) >= 20:
            pipe.execute()
    pipe.execute()
    return count


def wait_tier(r, key, tier, timeout=120):  # r: a client of the key's database
    deadline = time.time() + timeout
    while r.execute_command("TIER", "GET", key) != tier.encode():
        assert time.time() < deadline, "%s did not become %s" % (key, tier)
        time.sleep(0.005)


def main():
    r = redis.Redis(port=PORT, socket_timeout=300)
    r.config_set("maxmemory", 0)
    r.config_set("tiering-promote", "always")  # the promote phase's one read brings it back
    r.config_set("maxmemory-policy", "allkeys-lru")
    phases = []
    running = tempfile.NamedTemporaryFile(delete=False).name
    results = running + ".samples"

    def phase(name, action):
        print("...", name, file=sys.stderr, flush=True)
        time.sleep(0.05)
        start = time.monotonic()
        action()
        time.sleep(0.05)
        phases.append((name, start, time.monotonic()))

    worker = subprocess.Popen([sys.executable, "-c", PROBE, str(PORT), running, results])
    time.sleep(0.5)
    db1 = redis.Redis(port=PORT, db=1, socket_timeout=300)
    member0 = b"%011d:" % 0 + b"x" * (ELEMENT - 12)
    read = {"list": lambda k, c=r: c.lindex(k, 0), "hash": lambda k, c=r: c.hget(k, b"%011d" % 0),
            "set": lambda k, c=r: c.sismember(k, member0)}

    def demote_by_eviction(key):
        # The memory maxmemory is held against (RocksDB's and the buffers' not counted).
        used = int(r.info("tiering")["used_memory_for_maxmemory"])
        r.config_set("maxmemory", max(used - MEGABYTES * 1024 * 1024 // 2, 1 << 20))
        r.set("trigger", "x")  # a write: eviction makes room
        wait_tier(r, key, "cold")
        r.config_set("maxmemory", 0)

    change = {"list": lambda k: r.lset(k, 1, b"y"), "hash": lambda k: r.hset(k, b"%011d" % 1, b"y"),
              "set": lambda k: r.sadd(k, b"new")}

    def checkpoint(key, kind):
        # The walk takes a while over the small keys, so the change comes before it meets
        # the large one (its first change during the walk).
        r.bgsave()
        change[kind](key)
        deadline = time.time() + 120
        while r.info("persistence")["rdb_bgsave_in_progress"]:
            assert time.time() < deadline, "the checkpoint did not end"
            time.sleep(0.005)

    def small_keys(command):
        pipe = r.pipeline(transaction=False)
        for i in range(200_000):
            pipe.execute_command(command, b"small:%d" % i, *((b"v" * 20,) if command == "SET" else ()))
            if len(pipe) >= 1000:
                pipe.execute()
        pipe.execute()

    # The checkpoints first, with the small keys; they go before the other phases, where
    # eviction would demote them too (a batch of many small keys is not what is measured).
    small_keys("SET")
    for kind in TYPES:
        key = "big:" + kind
        r.delete(key)
        build(r, kind, key)
        phase(kind + " checkpoint + change", lambda: checkpoint(key, kind))
        change[kind](key)
        phase(kind + " checkpoint", lambda: checkpoint(key, kind))
        r.unlink(key)
    small_keys("DEL")
    for kind in TYPES:
        key = "big:" + kind
        r.delete(key)
        build(r, kind, key)
        r.execute_command("TIER", "PROMOTE", key)
        phase(kind + " demote (eviction)", lambda: demote_by_eviction(key))
        phase(kind + " promote (a read)", lambda: (read[kind](key), wait_tier(r, key, "hot")))
        phase(kind + " DEL hot", lambda: r.delete(key))
        build(r, kind, key)
        demote_by_eviction(key)
        phase(kind + " DEL cold", lambda: r.delete(key))
        build(r, kind, key)
        phase(kind + " UNLINK hot", lambda: r.unlink(key))
        # With the log on, the writer takes these (LargeHotMoves.swift); the phase lasts
        # until the target is back in RAM. The copy of a hash or set stays in RocksDB: the
        # COPY phase includes its promotion by the read.
        build(r, kind, key)
        r.delete(key + ":renamed", key + ":copy")
        db1.delete(key + ":renamed")
        phase(kind + " RENAME hot", lambda: (r.rename(key, key + ":renamed"), read[kind](key + ":renamed"),
                                             wait_tier(r, key + ":renamed", "hot")))
        phase(kind + " MOVE hot", lambda: (r.move(key + ":renamed", 1), read[kind](key + ":renamed", db1),
                                           wait_tier(db1, key + ":renamed", "hot")))
        phase(kind + " COPY hot", lambda: (db1.copy(key + ":renamed", key + ":copy"),
                                           read[kind](key + ":copy", db1), wait_tier(db1, key + ":copy", "hot"),
                                           wait_tier(db1, key + ":renamed", "hot")))
        db1.unlink(key + ":renamed", key + ":copy")
    os.unlink(running)
    worker.wait()
    raw = open(results, "rb").read()
    os.unlink(results)
    samples = [struct.unpack_from("dd", raw, i) for i in range(0, len(raw), 16)]
    print("%-28s %8s %8s %8s" % ("phase (%d MB)" % MEGABYTES, "pings", "p99_ms", "max_ms"))
    for name, start, end in phases:
        lat = sorted(d for t, d in samples if start <= t <= end)
        if not lat:
            continue
        print("%-28s %8d %8.2f %8.2f" % (name, len(lat), lat[int(len(lat) * 0.99)] * 1e3, lat[-1] * 1e3))


if __name__ == "__main__":
    main()

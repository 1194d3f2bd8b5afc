"""The cold tier: demotion to RocksDB, reads back, both tiers seen as one.

Strata only (TIER and INFO tiering do not exist in Redis). These tests force tiers
explicitly, so they run once, in the default (all hot) mode of the suite.
"""
import os
import random
import time

import pytest
import redis

from conftest import EXTRA_ARGS

pytestmark = [
    pytest.mark.strata_only,
    pytest.mark.skipif(bool(EXTRA_ARGS), reason="forces tiers itself; runs in the default mode"),
]


def tier(r, key):
    return r.execute_command("TIER", "GET", key).decode()


def info_tiering(r):
    return r.info("tiering")


def binary_value(n, size=100):
    rnd = random.Random(n)
    return bytes(rnd.getrandbits(8) for _ in range(size))


# --- explicit demotion and reads ------------------------------------------------------


def test_demoted_key_reads_back_byte_for_byte(r):
    values = {b"k:%d" % i: binary_value(i, 1 + i * 37 % 5000) for i in range(200)}
    values[b"\x00bin\xffkey"] = b"\x00\x01\xff" * 3000  # compressible, above the threshold
    values[b"empty"] = b""
    r.mset(values)
    assert r.execute_command("TIER", "DEMOTE", *values.keys()) == len(values)
    for key in values:
        assert tier(r, key) == "cold"
    assert r.dbsize() == len(values)
    for key, value in values.items():
        assert r.get(key) == value
    # tiering-promote second-touch (the default): a second read brings them back
    assert all(tier(r, key) == "cold" for key in values)
    for key, value in values.items():
        assert r.get(key) == value
    assert all(tier(r, key) == "hot" for key in values)


def test_inspection_does_not_promote(r):
    r.set("a", "1")
    r.set("b", "2", ex=1000)
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.exists("a", "b", "nope") == 2
    assert r.type("a") == b"string"
    assert r.ttl("a") == -1
    assert 990 <= r.ttl("b") <= 1000
    assert r.object("encoding", "a") == b"int"
    cursor, scanned = r.scan(0, count=1000)
    assert cursor == 0 and sorted(scanned) == [b"a", b"b"]
    assert sorted(r.keys("*")) == [b"a", b"b"]
    assert r.randomkey() in (b"a", b"b")
    assert tier(r, "a") == "cold" and tier(r, "b") == "cold"
    info = info_tiering(r)
    assert info["cold_keys"] == 2 and info["hot_keys"] == 0


def test_writes_to_cold_keys(r):
    r.set("n", "10")
    r.set("s", "abc", ex=500)
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.incr("n") == 11
    assert r.append("s", "def") == 6
    assert 490 <= r.ttl("s") <= 500
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.get("n") == b"11" and r.get("s") == b"abcdef"
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.delete("n", "s", "x") == 2
    assert r.dbsize() == 0
    assert r.get("n") is None


def test_overwrite_after_demotion_never_returns_stale_copy(r):
    r.set("k", "old")
    r.execute_command("TIER", "DEMOTE", "k")
    r.get("k")            # promoted, clean copy stays in RocksDB
    r.set("k", "new")     # now the RocksDB copy is stale
    r.execute_command("TIER", "DEMOTE", "k")
    assert r.get("k") == b"new"
    r.delete("k")
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.get("k") is None
    assert r.dbsize() == 0


def test_rename_copy_move_swapdb_flush_with_cold_keys(r):
    r.set("src", "v", px=100000)
    r.set("other", "o")
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.rename("src", "dst")
    assert r.get("src") is None and r.get("dst") == b"v" and r.pttl("dst") > 90000
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.copy("dst", "dst2", destination_db=3)
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.move("other", 3)
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.dbsize() == 1
    r.swapdb(0, 3)
    assert r.dbsize() == 2
    assert sorted(r.keys()) == [b"dst2", b"other"]
    assert r.get("other") == b"o"
    r.execute_command("TIER", "DEMOTE-ALL")
    r.flushdb()
    assert r.dbsize() == 0 and r.get("dst2") is None
    r.select(3)
    assert r.get("dst") == b"v"
    r.execute_command("TIER", "DEMOTE-ALL")
    r.flushall()
    assert r.dbsize() == 0 and r.get("dst") is None


def test_info_keyspace_counts_both_tiers(r):
    for i in range(50):
        r.set("k%d" % i, i, ex=1000 if i % 2 else None)
    r.execute_command("TIER", "DEMOTE", *["k%d" % i for i in range(0, 50, 3)])
    ks = r.info("keyspace")["db0"]
    assert ks["keys"] == 50 and ks["expires"] == 25
    assert r.dbsize() == 50


def test_watch_exec_with_cold_keys(r):
    r.set("w", "1")
    r.execute_command("TIER", "DEMOTE-ALL")
    p = r.pipeline()
    p.watch("w")
    p.multi()
    p.incr("w")
    p.get("w")
    assert p.execute() == [2, b"2"]


# --- expiry of cold keys ----------------------------------------------------------------


def test_cold_keys_expire_and_leave_dbsize(r):
    r.set("keep", "x")
    for i in range(100):
        r.set("e%d" % i, "v" * 50, px=300)
    r.execute_command("TIER", "DEMOTE-ALL")
    assert r.dbsize() == 101
    time.sleep(0.4)
    for i in range(0, 100, 10):
        assert r.get("e%d" % i) is None
    deadline = time.time() + 5
    while r.dbsize() > 1 and time.time() < deadline:
        time.sleep(0.05)
    assert r.dbsize() == 1
    assert r.keys() == [b"keep"]
    assert info_tiering(r)["cold_expired_keys"] >= 90


def _write_expiring_cold_values(r, ttl_ms):
    """Writes 20 MB of values with a TTL, demotes them and waits for RocksDB to hold them
    on disk before they expire. Returns (peak SST bytes, time of writing) or None when the
    values expired first (a value expired by its compaction is dropped there: the machine
    was too slow for this TTL). Each value is different: 20 000 copies of one value compress
    to less than a quarter in RocksDB's blocks, below the 5 MB this looks for."""
    before = info_tiering(r)["rocksdb_sst_bytes"]  # a failed attempt's files may remain
    written = time.time()
    pipe = r.pipeline(transaction=False)
    for i in range(20000):
        pipe.set("x%d" % i, os.urandom(1000), px=ttl_ms)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    r.execute_command("TIER", "DEMOTE-ALL")
    while time.time() < written + ttl_ms / 1000:
        peak = info_tiering(r)["rocksdb_sst_bytes"]
        if peak - before >= 5_000_000:
            return peak, written
        time.sleep(0.1)
    return None


def test_cold_expiry_reclaims_disk_space(server_factory):
    srv = server_factory("--tiering-write-buffer-size", "1mb", "--hz", "50")
    r = srv.client()
    # A machine too slow to write 20 MB within the TTL retries with a longer one instead of
    # failing on its speed.
    for ttl_ms in (4000, 15000, 40000):
        filled = _write_expiring_cold_values(r, ttl_ms)
        if filled is not None:
            break
        r.flushall()
    assert filled is not None, "the values never reached RocksDB's files before expiring"
    peak, written = filled
    time.sleep(max(0.0, written + ttl_ms / 1000 - time.time()))
    # Reclaiming is RocksDB's compaction: under a loaded CI machine it once took over 30 s.
    deadline = time.time() + 60
    while time.time() < deadline:
        if r.dbsize() == 0 and info_tiering(r)["rocksdb_sst_bytes"] < peak // 10:
            break
        time.sleep(0.2)
    assert r.dbsize() == 0
    assert info_tiering(r)["rocksdb_sst_bytes"] < peak // 10


# --- SCAN across tiers ----------------------------------------------------------------


def test_scan_returns_every_key_while_keys_move(r):
    keys = ["s:%d" % i for i in range(3000)]
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, k)
    pipe.execute()
    r.execute_command("TIER", "DEMOTE", *keys[::2])
    rnd = random.Random(7)
    seen = set()
    cursor = 0
    calls = 0
    while True:
        cursor, batch = r.scan(cursor, count=rnd.choice([1, 10, 100]))
        seen.update(batch)
        calls += 1
        # move keys between tiers between calls
        sample = rnd.sample(keys, 40)
        r.execute_command("TIER", "DEMOTE", *sample[:20])
        r.execute_command("TIER", "PROMOTE", *sample[20:])
        if cursor == 0:
            break
        assert calls < 100000
    assert seen == {k.encode() for k in keys}


def test_scan_match_type_and_count_over_cold_keys(r):
    for i in range(500):
        r.set("m:%d" % i, i)
        r.set("n:%d" % i, i)
    r.execute_command("TIER", "DEMOTE-ALL")
    found = set()
    for key in r.scan_iter(match="m:*", count=50, _type="string"):
        found.add(key)
    assert len(found) == 500
    assert list(r.scan_iter(_type="list")) == []
    assert info_tiering(r)["hot_keys"] == 0


# --- eviction becomes demotion --------------------------------------------------------


def _load(r, count, size, prefix="key:"):
    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.set("%s%d" % (prefix, i), binary_value(i, size))
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()


def test_maxmemory_demotes_instead_of_dropping(server_factory):
    srv = server_factory("--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru")
    r = srv.client()
    _load(r, 30000, 1000)  # ~30 MB of values into 8 MB
    assert r.dbsize() == 30000
    info = info_tiering(r)
    assert info["cold_keys"] > 15000 and info["demotions"] > 15000
    assert r.info("stats")["evicted_keys"] == 0
    memory = r.info("memory")
    assert memory["used_memory"] - memory["mem_not_counted_for_evict"] <= 8 * 1024 * 1024 * 1.05
    for start in range(0, 30000, 500):
        keys = ["key:%d" % i for i in range(start, start + 500)]
        assert r.mget(keys) == [binary_value(i, 1000) for i in range(start, start + 500)]


def test_one_command_reading_more_than_maxmemory(server_factory):
    """An MGET whose cold keys add up to more than maxmemory is answered: the keys read
    back for it stay in RAM until it has run (they used to be demoted again while its
    last keys were read, and read again, until the client timed out)."""
    srv = server_factory("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
    r = srv.client()
    _load(r, 3000, 4000, prefix="big:")       # ~12 MB into 4 MB: most keys cold
    assert info_tiering(r)["cold_keys"] > 1500
    keys = ["big:%d" % i for i in range(2000)]  # ~8 MB in one reply
    assert r.mget(keys) == [binary_value(i, 4000) for i in range(2000)]
    # and memory comes back under the limit once it has run
    r.set("after", "x")
    memory = r.info("memory")
    assert memory["used_memory"] - memory["mem_not_counted_for_evict"] <= 4 * 1024 * 1024 + 512 * 1024


@pytest.mark.parametrize("policy", ["allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-ttl",
                                    "volatile-random", "volatile-lfu"])
def test_every_policy_demotes(server_factory, policy):
    srv = server_factory("--maxmemory", "6mb", "--maxmemory-policy", policy)
    r = srv.client()
    pipe = r.pipeline(transaction=False)
    for i in range(12000):
        pipe.set("p:%d" % i, binary_value(i, 1000), ex=100000)
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()
    assert r.dbsize() == 12000
    assert info_tiering(r)["cold_keys"] > 3000
    assert r.get("p:0") == binary_value(0, 1000)
    assert r.get("p:11999") == binary_value(11999, 1000)


def test_tiering_no_drops_keys_like_redis(server_factory):
    srv = server_factory("--maxmemory", "6mb", "--maxmemory-policy", "allkeys-lru", "--tiering", "no")
    r = srv.client()
    _load(r, 12000, 1000)
    assert r.dbsize() < 12000
    assert r.info("stats")["evicted_keys"] > 0
    assert r.info("tiering")["tiering_enabled"] == 0


def test_noeviction_answers_oom(server_factory):
    srv = server_factory("--maxmemory", "4mb", "--maxmemory-policy", "noeviction")
    r = srv.client()
    with pytest.raises(redis.ResponseError) as e:
        _load(r, 12000, 1000)
    assert "command not allowed when used memory > 'maxmemory'." in str(e.value)
    assert r.get("key:0") == binary_value(0, 1000)  # reads still work
    assert info_tiering(r)["cold_keys"] == 0


def test_tier_command_errors(raw):
    assert raw.cmd("TIER", "NOPE") == b"-ERR unknown subcommand 'NOPE'. Try TIER HELP.\r\n"
    assert raw.cmd("TIER", "GET") == b"-ERR wrong number of arguments for 'tier|get' command\r\n"


def test_tier_get_promote(r):
    assert tier(r, "missing") == "none"
    assert r.execute_command("TIER", "PROMOTE", "missing") == 0
    r.set("p", "v")
    assert tier(r, "p") == "hot"
    assert r.execute_command("TIER", "DEMOTE", "p", "missing") == 1
    assert tier(r, "p") == "cold"
    assert r.execute_command("TIER", "PROMOTE", "p", "missing") == 1
    assert tier(r, "p") == "hot"


def _thread_nices(srv):
    """{thread name: set of nice values} of the server's threads (Linux /proc)."""
    found = {}
    task_dir = "/proc/%d/task" % srv.proc.pid
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "stat")) as f:
                stat = f.read()
        except FileNotFoundError:
            continue  # the thread ended
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        nice = int(stat[stat.rindex(")") + 2:].split()[16])  # field 19: nice
        found.setdefault(name, set()).add(nice)
    return found


def test_cold_reads_run_at_tiering_io_nice(server_factory, r):
    assert r.config_get("tiering-io-nice") == {"tiering-io-nice": "10"}  # the default
    nice = 7
    srv = server_factory("--tiering-io-nice", str(nice))
    r = srv.client()
    assert not any(min(19, os.nice(0) + nice) in values for values in _thread_nices(srv).values())
    r.mset({"n:%d" % i: "v%d" % i for i in range(50)})
    assert r.execute_command("TIER", "DEMOTE-ALL") == b"OK"
    assert tier(r, "n:0") == "cold"
    for i in range(50):
        assert r.get("n:%d" % i) == b"v%d" % i
    nices = _thread_nices(srv)
    # The event loop keeps the server's priority (the test runner's); the thread that read
    # the keys runs `nice` above it.
    base = os.nice(0)
    assert [n for name, values in nices.items() if name == "strata-loop" for n in values] == [base]
    assert any(min(19, base + nice) in values for name, values in nices.items() if name != "strata-loop")


# --- memory that holds ----------------------------------------------------------------


def _rss(srv):
    with open("/proc/%d/statm" % srv.proc.pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_rss_stays_bounded_under_a_10x_load(server_factory):
    """maxmemory 64 MB, 640 MB of writes: RSS <= 1.25 * maxmemory + the cold index (which
    maxmemory does not count) + the fixed baseline (the idle server + RocksDB's block cache
    + two write buffers), nothing lost."""
    mb = 1024 * 1024
    srv = server_factory("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru",
                         "--tiering-block-cache-size", "16mb", "--tiering-write-buffer-size", "8mb")
    r = srv.client()
    baseline = _rss(srv) + 16 * mb + 2 * 8 * mb
    bound = 1.25 * 64 * mb + baseline
    count, size = 640 * 1024, 1000
    bodies = [binary_value(n, size - 8) for n in range(1000)]

    def value(i):
        return bodies[i % 1000] + b"%08d" % i

    peak = 0
    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.set("big:%d" % i, value(i))
        if i % 1000 == 999:
            pipe.execute()
            if i % 20000 == 19999:
                peak = max(peak, _rss(srv))
    pipe.execute()
    peak = max(peak, _rss(srv))
    assert r.dbsize() == count
    bound += info_tiering(r)["cold_index_bytes"]
    assert peak <= bound, "RSS peak %d MB > bound %d MB" % (peak // mb, bound // mb)
    info = info_tiering(r)
    assert info["cold_keys"] > count * 0.8
    assert info["cold_index_bytes_per_key"] <= 32
    # every value reads back byte for byte
    for start in range(0, count, 1000):
        numbers = range(start, min(start + 1000, count))
        got = r.mget(["big:%d" % i for i in numbers])
        for i, stored in zip(numbers, got):
            assert stored == value(i), i
    peak = max(peak, _rss(srv))
    print("RSS peak %.1f MB, bound %.1f MB (baseline %.1f MB)" % (peak / mb, bound / mb, baseline / mb))
    assert peak <= bound

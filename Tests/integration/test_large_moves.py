"""RENAME, MOVE and COPY of collections past 4 MB while the log is on.

Strata hands such a value to the cold tier's writer instead of logging the target's whole
state (LargeHotMoves.swift): the target is briefly a move in flight, and comes back to RAM
once RocksDB holds it (a copied hash or set stays in RocksDB; its source comes back). None of that may show: every element is there, the source is gone
(or independent, for COPY), the expiry and encoding carry over, commands sent right after
the move see its result, and a transaction around it behaves as in Redis. The crash side
is in test_crash_collections.py."""
import time

import pytest

from conftest import EXTRA_ARGS, TARGET, ServerInstance

BIG = 60_000  # elements of about 100 bytes: past the 4 MB at which the writer takes over
PAD = b"x" * 90


def element(i):
    return b"%08d:" % i + PAD


@pytest.fixture(scope="module")
def logged():
    inst = ServerInstance(("--appendfsync", "always"), appendonly="yes", save="")
    inst.start()
    inst.wait_loaded()
    yield inst
    inst.stop()


@pytest.fixture
def c(logged):
    client = logged.client()
    client.flushall()
    yield client
    client.close()


def fill(c, kind, key):
    pipe = c.pipeline(transaction=False)
    for start in range(0, BIG, 2000):
        chunk = [element(i) for i in range(start, start + 2000)]
        if kind == "list":
            pipe.rpush(key, *chunk)
        elif kind == "hash":
            pipe.hset(key, mapping={e[:8]: e for e in chunk})
        else:
            pipe.sadd(key, *chunk)
    pipe.execute()


def check_whole(c, kind, key, extra=0):
    if kind == "list":
        assert c.llen(key) == BIG + extra
        assert c.lindex(key, 0) == element(0)
        assert c.lindex(key, BIG - 1) == element(BIG - 1)
        assert c.lrange(key, 29_998, 30_001) == [element(i) for i in range(29_998, 30_002)]
    elif kind == "hash":
        assert c.hlen(key) == BIG + extra
        assert c.hmget(key, [b"%08d" % i for i in (0, 777, BIG - 1)]) == [element(i) for i in (0, 777, BIG - 1)]
    else:
        assert c.scard(key) == BIG + extra
        assert c.smismember(key, [element(0), element(777), element(BIG - 1), b"absent"]) == [1, 1, 1, 0]


def add_one(c, kind, key, n):
    if kind == "list":
        return c.rpush(key, "added:%d" % n)
    if kind == "hash":
        return c.hset(key, "added:%d" % n, n)
    return c.sadd(key, "added:%d" % n)


ENCODING = {"list": b"quicklist", "hash": b"hashtable", "set": b"hashtable"}


@pytest.mark.parametrize("kind", ["list", "hash", "set"])
def test_rename_of_a_large_collection(c, kind):
    fill(c, kind, "src")
    c.set("dst", "old value")
    c.expire("src", 1000)
    pipe = c.pipeline(transaction=False)
    pipe.rename("src", "dst")
    pipe.type("dst")
    pipe.exists("src")
    pipe.object("encoding", "dst")
    add_one(pipe, kind, "dst", 1)
    replies = pipe.execute()
    assert replies[:4] == [True, kind.encode(), 0, ENCODING[kind]]
    check_whole(c, kind, "dst", extra=1)
    assert 990 <= c.ttl("dst") <= 1000
    # The source name is free and independent of the target.
    add_one(c, kind, "src", 2)
    check_whole(c, kind, "dst", extra=1)
    assert c.type("src") == kind.encode()
    # A second rename before the first one's target came back.
    c.rename("dst", "dst2")
    c.rename("dst2", "dst3")
    check_whole(c, kind, "dst3", extra=1)
    assert c.exists("dst", "dst2") == 0
    assert c.dbsize() == 2


@pytest.mark.parametrize("kind", ["list", "hash", "set"])
def test_move_of_a_large_collection(logged, c, kind):
    fill(c, kind, "k")
    assert c.move("k", 3) is True
    assert c.exists("k") == 0
    assert c.dbsize() == 0
    db3 = logged.client(db=3)
    check_whole(db3, kind, "k")
    add_one(db3, kind, "k", 1)
    check_whole(db3, kind, "k", extra=1)
    assert db3.dbsize() == 1
    db3.close()


@pytest.mark.parametrize("kind", ["list", "hash", "set"])
def test_copy_of_a_large_collection(logged, c, kind):
    fill(c, kind, "src")
    assert c.copy("src", "dst") is True
    add_one(c, kind, "src", 1)
    add_one(c, kind, "dst", 2)
    add_one(c, kind, "dst", 3)
    check_whole(c, kind, "src", extra=1)
    check_whole(c, kind, "dst", extra=2)
    assert c.copy("src", "dst") is False
    assert c.copy("src", "dst", replace=True) is True
    check_whole(c, kind, "dst", extra=1)
    assert c.copy("src", "other", destination_db=2) is True
    db2 = logged.client(db=2)
    check_whole(db2, kind, "other", extra=1)
    db2.close()


@pytest.mark.parametrize("kind", ["hash", "set"])
def test_commands_right_after_the_copy_of_a_large_hash_or_set(c, kind):
    """Strata stores a copied hash or set under both names through RocksDB, both keys
    briefly moves in flight (LargeHotMoves.swift). Commands sent with the COPY see each key
    as Redis would: changes to one do not show in the other, and DEL, SET, RENAME or another
    COPY of the source right after it leave the copy whole."""
    fill(c, kind, "src")
    pipe = c.pipeline(transaction=False)
    pipe.copy("src", "dst")
    pipe.type("src")
    pipe.exists("src", "dst")
    add_one(pipe, kind, "src", 1)
    pipe.copy("src", "dst2")
    pipe.rename("src", "renamed")
    pipe.copy("dst", "src")
    assert pipe.execute() == [True, kind.encode(), 2, 1, True, True, True]
    check_whole(c, kind, "dst")
    check_whole(c, kind, "src")
    check_whole(c, kind, "dst2", extra=1)
    check_whole(c, kind, "renamed", extra=1)
    add_one(c, kind, "dst", 2)
    check_whole(c, kind, "dst", extra=1)
    check_whole(c, kind, "src")
    pipe = c.pipeline(transaction=False)
    pipe.copy("dst", "a")
    pipe.delete("dst")
    pipe.copy("a", "b")
    pipe.set("a", "string now")
    assert pipe.execute() == [True, 1, True, True]
    assert c.exists("dst") == 0
    assert c.get("a") == b"string now"
    check_whole(c, kind, "b", extra=1)
    assert c.dbsize() == 5


@pytest.mark.parametrize("tiering", ["yes", "no"])
def test_copy_of_a_large_hash_without_the_log(tiering):
    """With appendonly no, COPY of a hash or set past 4 MB goes through RocksDB too (no table
    is copied on the loop); with `tiering no` the copy is read back into RAM at once. Both
    keys outlive a restart."""
    if TARGET == "redis":
        pytest.skip("Strata's tiering")
    inst = ServerInstance(("--tiering", tiering), appendonly="no", save="")
    if tiering == "no":
        inst.args += ["--maxmemory", "0"]  # every key is in RAM: the mode's maxmemory would evict
    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        fill(c, "hash", "h")
        fill(c, "set", "s")
        assert c.copy("h", "h2") and c.copy("s", "s2")
        deadline = time.time() + 10
        if tiering == "no":
            while c.info("tiering")["hot_keys"] < 4:
                assert time.time() < deadline, "the copies were not read back into RAM"
                time.sleep(0.02)
        elif not EXTRA_ARGS:
            # The sources come back to RAM; the copies stay in RocksDB until used (in the
            # hot mode: the others demote the sources too).
            while c.execute_command("TIER", "GET", "s") != b"hot":
                assert time.time() < deadline, "the source did not come back to RAM"
                time.sleep(0.02)
            assert [c.execute_command("TIER", "GET", k) for k in ("h", "h2", "s2")] == [b"hot", b"cold", b"cold"]
        add_one(c, "hash", "h", 1)
        add_one(c, "set", "s2", 2)
        check_whole(c, "hash", "h", extra=1)
        check_whole(c, "hash", "h2")
        check_whole(c, "set", "s")
        check_whole(c, "set", "s2", extra=1)
        c.shutdown(save=True)
        inst.wait_exit()
        assert inst.try_start(), inst.log()[-4000:]
        inst.wait_loaded()
        c = inst.client()
        check_whole(c, "hash", "h", extra=1)
        check_whole(c, "hash", "h2")
        check_whole(c, "set", "s")
        check_whole(c, "set", "s2", extra=1)
        c.close()
    finally:
        inst.stop()


def test_commands_on_the_target_right_after_the_move(c):
    """DEL, SET and EXPIRE of the target while the writer holds its value: the later
    command wins, and the value coming back from RocksDB does not replace it."""
    fill(c, "hash", "a")
    fill(c, "list", "b")
    fill(c, "set", "s")
    pipe = c.pipeline(transaction=False)
    pipe.rename("a", "x")
    pipe.delete("x")
    pipe.rename("b", "y")
    pipe.set("y", "string now")
    pipe.rename("s", "z")
    pipe.pexpire("z", 200_000)
    assert pipe.execute() == [True, 1, True, True, True, True]
    assert c.exists("x") == 0
    assert c.get("y") == b"string now"
    check_whole(c, "set", "z")
    assert 190_000 < c.pttl("z") <= 200_000
    assert c.dbsize() == 2


def test_rename_of_a_large_collection_inside_multi(c):
    fill(c, "hash", "h")
    pipe = c.pipeline(transaction=True)
    pipe.rename("h", "h2")
    pipe.hlen("h2")
    pipe.hset("h2", "f", "v")
    pipe.copy("h2", "h3")
    pipe.hlen("h3")
    assert pipe.execute() == [True, BIG, 1, True, BIG + 1]
    check_whole(c, "hash", "h2", extra=1)
    check_whole(c, "hash", "h3", extra=1)


def test_a_large_rename_logs_no_value(logged, c):
    """The log grows by records, not by the 6 MB values."""
    if TARGET == "redis":
        pytest.skip("Strata's log")
    fill(c, "hash", "h")
    fill(c, "list", "l")
    before = logged_bytes(c)
    for n in range(5):
        c.rename("h", "h%d" % n)
        c.rename("h%d" % n, "h")
        c.rename("l", "l%d" % n)
        c.rename("l%d" % n, "l")
    assert logged_bytes(c) - before < 64 * 1024
    check_whole(c, "hash", "h")
    check_whole(c, "list", "l")


def logged_bytes(c):
    return c.info("persistence")["aof_current_size"]

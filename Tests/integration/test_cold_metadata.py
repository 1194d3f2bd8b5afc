"""Blind writes and metadata commands on cold keys: the reply is Redis's, and the value is
never read from RocksDB.

Each case sets keys up, demotes them (strata: TIER DEMOTE-ALL), runs one command and
checks its reply and the state after it; the same expectations run against redis-server
(STRATA_TARGET=redis), where nothing is demoted. Against strata, INFO tiering's
cold_read_keys must not move while the command runs. Runs in every tier mode.
"""
import time

import pytest
import redis

from conftest import TARGET

STRATA = TARGET == "strata"


def demote_all(r):
    if STRATA:
        assert r.execute_command("TIER", "DEMOTE-ALL") == b"OK"


def cold_reads(r):
    return r.info("tiering")["cold_read_keys"] if STRATA else 0


def setup_keys(r):
    r.set("plain", "value")
    r.set("volatile", "v", px=100_000)
    r.set("other", "o")
    demote_all(r)


def run_cold(r, *command):
    """Runs `command` against demoted keys; asserts it read no cold value."""
    before = cold_reads(r)
    reply = r.execute_command(*command)
    assert cold_reads(r) == before, "%s read a cold value" % (command,)
    return reply


# (command, expected reply) pairs; the state after each is checked by the tests below.
REPLIES = [
    (("EXISTS", "plain", "volatile", "missing", "plain"), 3),
    (("TYPE", "plain"), b"string"),
    (("TYPE", "missing"), b"none"),
    (("TTL", "plain"), -1),
    (("TTL", "missing"), -2),
    (("PTTL", "plain"), -1),
    (("EXPIRETIME", "plain"), -1),
    (("PEXPIRETIME", "missing"), -2),
    (("TOUCH", "plain", "volatile", "missing"), 2),
    (("DEL", "plain", "missing", "volatile"), 2),
    (("UNLINK", "plain", "plain"), 1),
    (("SET", "plain", "new"), True),
    (("SET", "plain", "new", "NX"), None),
    (("SET", "missing", "new", "NX"), True),
    (("SET", "plain", "new", "XX"), True),
    (("SET", "missing", "new", "XX"), None),
    (("SETNX", "plain", "new"), 0),
    (("SETEX", "plain", "100", "new"), True),
    (("PSETEX", "plain", "100000", "new"), True),
    (("MSET", "plain", "n1", "other", "n2"), True),
    (("MSETNX", "plain", "n1", "fresh", "n2"), 0),
    (("MSETNX", "fresh", "n1", "fresher", "n2"), 1),
    (("EXPIRE", "plain", "100"), 1),
    (("EXPIRE", "missing", "100"), 0),
    (("EXPIRE", "volatile", "100", "NX"), 0),
    (("EXPIRE", "plain", "100", "XX"), 0),
    (("EXPIRE", "volatile", "1000", "GT"), 1),
    (("PEXPIRE", "volatile", "1000", "LT"), 1),
    (("EXPIREAT", "plain", "4102444800"), 1),
    (("PEXPIREAT", "plain", "4102444800000"), 1),
    (("PERSIST", "volatile"), 1),
    (("PERSIST", "plain"), 0),
    (("RENAME", "plain", "renamed"), True),
    (("RENAME", "plain", "other"), True),
    (("RENAMENX", "plain", "other"), False),
    (("RENAMENX", "plain", "fresh"), True),
    (("COPY", "plain", "copied"), 1),
    (("COPY", "plain", "other"), 0),
    (("COPY", "plain", "other", "REPLACE"), 1),
    (("COPY", "volatile", "volatile", "DB", "2"), 1),
    (("MOVE", "plain", "3"), True),
]


@pytest.mark.parametrize("command,expected", REPLIES, ids=[" ".join(c) for c, _ in REPLIES])
def test_reply_on_cold_keys(r, command, expected):
    setup_keys(r)
    assert run_cold(r, *command) == expected


def test_ttl_family_reads_the_exact_expiry(r):
    setup_keys(r)
    assert 99_000 <= run_cold(r, "PTTL", "volatile") <= 100_000
    assert run_cold(r, "TTL", "volatile") in (99, 100)
    at = run_cold(r, "PEXPIRETIME", "volatile")
    assert run_cold(r, "EXPIRETIME", "volatile") in (at // 1000, (at + 999) // 1000)


def test_set_overwrites_a_cold_key(r):
    setup_keys(r)
    run_cold(r, "SET", "volatile", "new")
    assert r.get("volatile") == b"new" and r.ttl("volatile") == -1
    demote_all(r)
    run_cold(r, "SET", "plain", "kept", "XX", "KEEPTTL")
    run_cold(r, "SET", "volatile", "again", "PX", "5000")
    demote_all(r)
    assert r.get("plain") == b"kept" and r.ttl("plain") == -1
    assert r.get("volatile") == b"again" and 0 < r.pttl("volatile") <= 5000


def test_set_keepttl_keeps_a_cold_expiry(r):
    setup_keys(r)
    run_cold(r, "SET", "volatile", "new", "KEEPTTL")
    assert 90_000 < r.pttl("volatile") <= 100_000
    demote_all(r)
    assert r.get("volatile") == b"new"


def test_setex_and_mset_on_cold_keys(r):
    setup_keys(r)
    run_cold(r, "SETEX", "plain", "50", "x")
    run_cold(r, "MSET", "other", "y", "volatile", "z")
    assert r.mget("plain", "other", "volatile") == [b"x", b"y", b"z"]
    assert 45 <= r.ttl("plain") <= 50 and r.ttl("volatile") == -1


def test_delete_cold_keys_for_good(r):
    setup_keys(r)
    assert run_cold(r, "DEL", "plain", "volatile") == 2
    demote_all(r)
    assert r.get("plain") is None and r.get("volatile") is None
    assert r.exists("plain", "volatile") == 0
    assert r.dbsize() == 1


def test_expire_and_persist_change_a_cold_key(r):
    setup_keys(r)
    assert run_cold(r, "EXPIRE", "plain", "200") == 1
    assert run_cold(r, "PERSIST", "volatile") == 1
    assert 199 <= run_cold(r, "TTL", "plain") <= 200
    assert run_cold(r, "TTL", "volatile") == -1
    demote_all(r)
    # the values are untouched, and the new expiries hold once the keys are read back
    assert r.get("plain") == b"value" and r.get("volatile") == b"v"
    assert 199 <= r.ttl("plain") <= 200 and r.ttl("volatile") == -1
    demote_all(r)
    assert 199 <= r.ttl("plain") <= 200 and r.ttl("volatile") == -1


def test_expire_in_the_past_deletes_a_cold_key(r):
    setup_keys(r)
    assert run_cold(r, "EXPIRE", "plain", "-1") == 1
    assert run_cold(r, "PEXPIREAT", "volatile", "1") == 1
    assert r.exists("plain", "volatile") == 0
    assert r.dbsize() == 1
    demote_all(r)
    assert r.get("plain") is None


def test_cold_key_that_expired_is_gone_for_metadata_commands(r):
    r.set("short", "v", px=50)
    demote_all(r)
    time.sleep(0.1)
    assert run_cold(r, "EXISTS", "short") == 0
    assert run_cold(r, "TTL", "short") == -2
    assert run_cold(r, "TYPE", "short") == b"none"
    assert run_cold(r, "SET", "short", "v2", "XX") is None
    assert r.dbsize() == 0


def test_object_idletime_of_a_cold_key(r):
    setup_keys(r)
    assert run_cold(r, "OBJECT", "IDLETIME", "plain") <= 2
    assert run_cold(r, "OBJECT", "IDLETIME", "missing") is None


def test_watch_sees_a_cold_key_change(r):
    setup_keys(r)
    pipe = r.pipeline()
    pipe.watch("plain")
    other = redis.Redis(connection_pool=r.connection_pool)
    assert run_cold(other, "EXPIRE", "plain", "300") == 1
    pipe.multi()
    pipe.get("plain")
    with pytest.raises(redis.WatchError):
        pipe.execute()


def test_rename_copy_move_of_cold_keys_inside_the_cold_tier(r):
    setup_keys(r)
    run_cold(r, "RENAME", "volatile", "renamed")
    # read at once: the target waits for the move in RocksDB, it is never missing
    assert r.get("renamed") == b"v" and r.exists("volatile") == 0
    assert 90_000 < r.pttl("renamed") <= 100_000
    demote_all(r)
    run_cold(r, "RENAME", "renamed", "other")          # onto an existing cold key
    run_cold(r, "COPY", "plain", "copy", "DB", "1")
    run_cold(r, "MOVE", "other", "2")
    demote_all(r)
    assert r.mget("plain", "other", "renamed", "volatile") == [b"value", None, None, None]
    assert r.dbsize() == 1
    kwargs = r.connection_pool.connection_kwargs
    r1 = redis.Redis(host=kwargs["host"], port=kwargs["port"], db=1)
    r2 = redis.Redis(host=kwargs["host"], port=kwargs["port"], db=2)
    assert r1.get("copy") == b"value" and r1.ttl("copy") == -1
    assert r2.get("other") == b"v" and 90_000 < r2.pttl("other") <= 100_000
    r1.flushdb()
    r2.flushdb()


def test_commands_after_a_cold_move_in_one_transaction(r):
    setup_keys(r)
    pipe = r.pipeline(transaction=True)
    pipe.rename("plain", "a")
    pipe.expire("a", 500)
    pipe.rename("a", "b")
    pipe.copy("b", "c")
    pipe.delete("b")
    pipe.rename("volatile", "d")
    pipe.persist("d")
    assert pipe.execute() == [True, True, True, True, 1, True, True]
    demote_all(r)
    assert r.mget("plain", "a", "b", "c", "d") == [None, None, None, b"value", b"v"]
    assert 490 <= r.ttl("c") <= 500 and r.ttl("d") == -1
    demote_all(r)
    assert r.mget("c", "d") == [b"value", b"v"] and r.dbsize() == 3

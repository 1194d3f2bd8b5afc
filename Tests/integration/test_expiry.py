"""Key expiration: EXPIRE family, TTL family, lazy and active expiry."""

import time
from contextlib import contextmanager

import pytest
import redis

INCOMPAT = b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"


def now_s(r):
    return int(r.time()[0])


def now_ms(r):
    s, us = r.time()
    return s * 1000 + us // 1000


@contextmanager
def active_expire_disabled(r):
    assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") in (True, b"OK", "OK")
    try:
        yield
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# ---------------------------------------------------------------- EXPIRE / PEXPIRE basics

def test_expire_and_ttl(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("TTL", "k") == b":-1\r\n"
    assert raw.cmd("PTTL", "k") == b":-1\r\n"
    assert raw.cmd("EXPIRE", "k", "100") == b":1\r\n"
    assert raw.cmd("TTL", "k") == b":100\r\n"


def test_pexpire_and_pttl(r):
    r.set("k", "v")
    assert r.pexpire("k", 100000) is True
    assert 99000 <= r.pttl("k") <= 100000
    assert 99 <= r.ttl("k") <= 100


def test_ttl_missing_key(raw):
    assert raw.cmd("TTL", "nokey") == b":-2\r\n"
    assert raw.cmd("PTTL", "nokey") == b":-2\r\n"
    assert raw.cmd("EXPIRETIME", "nokey") == b":-2\r\n"
    assert raw.cmd("PEXPIRETIME", "nokey") == b":-2\r\n"


def test_expire_missing_key(raw):
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert raw.cmd(cmd, "nokey", "100") == b":0\r\n"
    assert raw.cmd("EXISTS", "nokey") == b":0\r\n"


@pytest.mark.parametrize("px,ttl", [(1600, 2), (1400, 1), (400, 0), (600, 1)])
def test_ttl_rounds_to_nearest_second(r, px, ttl):
    r.set("k", "v", px=px)
    assert r.ttl("k") == ttl


def test_expireat_and_expiretime(r):
    t = now_s(r) + 1000
    r.set("k", "v")
    assert r.expireat("k", t) is True
    assert r.expiretime("k") == t
    assert r.pexpiretime("k") == t * 1000
    assert 998 <= r.ttl("k") <= 1000


def test_pexpireat_and_pexpiretime(r):
    tm = now_ms(r) + 1000000
    r.set("k", "v")
    assert r.pexpireat("k", tm) is True
    assert r.pexpiretime("k") == tm


def test_expiretime_rounds(r):
    r.set("k", "v")
    r.pexpireat("k", 4000000000999)
    assert r.expiretime("k") == 4000000001
    assert r.pexpiretime("k") == 4000000000999
    r.pexpireat("k", 4000000000499)
    assert r.expiretime("k") == 4000000000


def test_expiretime_no_ttl(raw):
    raw.cmd("SET", "p", "v")
    assert raw.cmd("EXPIRETIME", "p") == b":-1\r\n"
    assert raw.cmd("PEXPIRETIME", "p") == b":-1\r\n"


# ---------------------------------------------------------------- NX XX GT LT

def test_expire_nx(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", "100", "NX") == 1
    assert r.execute_command("EXPIRE", "k", "200", "NX") == 0
    assert r.ttl("k") == 100


def test_expire_xx(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", "100", "XX") == 0
    assert r.ttl("k") == -1
    r.expire("k", 100)
    assert r.execute_command("EXPIRE", "k", "50", "XX") == 1
    assert r.ttl("k") == 50


def test_expire_gt(r):
    r.set("k", "v")
    # no TTL counts as infinite: GT never applies
    assert r.execute_command("EXPIRE", "k", "10", "GT") == 0
    assert r.ttl("k") == -1
    r.expire("k", 100)
    assert r.execute_command("EXPIRE", "k", "50", "GT") == 0
    assert r.execute_command("EXPIRE", "k", "500", "GT") == 1
    assert r.ttl("k") == 500


def test_expire_lt(r):
    r.set("k", "v")
    # no TTL counts as infinite: LT always applies
    assert r.execute_command("EXPIRE", "k", "600", "LT") == 1
    assert r.ttl("k") == 600
    assert r.execute_command("EXPIRE", "k", "700", "LT") == 0
    assert r.execute_command("EXPIRE", "k", "300", "LT") == 1
    assert r.ttl("k") == 300


def test_expire_xx_gt_combination(r):
    r.set("k", "v", ex=100)
    assert r.execute_command("EXPIRE", "k", "200", "XX", "GT") == 1
    assert r.ttl("k") == 200
    assert r.execute_command("EXPIRE", "k", "100", "XX", "GT") == 0


def test_expire_options_case_insensitive(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", "100", "nx") == 1
    assert r.execute_command("EXPIRE", "k", "100", "nx") == 0


def test_pexpire_and_at_variants_accept_flags(r):
    r.set("k", "v")
    assert r.execute_command("PEXPIRE", "k", "100000", "NX") == 1
    assert r.execute_command("PEXPIRE", "k", "200000", "LT") == 0
    t = now_s(r)
    assert r.execute_command("EXPIREAT", "k", t + 300, "GT") == 1
    assert r.execute_command("PEXPIREAT", "k", (t + 50) * 1000, "XX") == 1
    assert r.pexpiretime("k") == (t + 50) * 1000


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
@pytest.mark.parametrize("flags", [("NX", "XX"), ("NX", "GT"), ("NX", "LT"), ("XX", "NX")])
def test_expire_incompatible_nx(raw, cmd, flags):
    raw.cmd("SET", "k", "v")
    assert raw.cmd(cmd, "k", "100000000000", *flags) == INCOMPAT
    assert raw.cmd("TTL", "k") == b":-1\r\n"


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_expire_incompatible_gt_lt(raw, cmd):
    raw.cmd("SET", "k", "v")
    assert raw.cmd(cmd, "k", "100000000000", "GT", "LT") == \
        b"-ERR GT and LT options at the same time are not compatible\r\n"


def test_expire_unsupported_option(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("EXPIRE", "k", "10", "FOO") == b"-ERR Unsupported option FOO\r\n"
    assert raw.cmd("PEXPIRE", "k", "10", "bar") == b"-ERR Unsupported option bar\r\n"


# ---------------------------------------------------------------- negative / past expire deletes

@pytest.mark.parametrize("cmd,arg", [
    ("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "-5"), ("PEXPIRE", "0"),
    ("EXPIREAT", "1"), ("PEXPIREAT", "0"), ("EXPIREAT", "-100"),
])
def test_expire_in_past_deletes_key(raw, cmd, arg):
    raw.cmd("SET", "p", "v")
    assert raw.cmd(cmd, "p", arg) == b":1\r\n"
    assert raw.cmd("EXISTS", "p") == b":0\r\n"
    assert raw.cmd("GET", "p") == b"$-1\r\n"


def test_expire_in_past_with_nx_on_key_with_ttl(raw):
    raw.cmd("SET", "p", "v", "EX", "100")
    assert raw.cmd("EXPIRE", "p", "-1", "NX") == b":0\r\n"
    assert raw.cmd("EXISTS", "p") == b":1\r\n"


# ---------------------------------------------------------------- invalid values

@pytest.mark.parametrize("cmd,arg", [
    ("EXPIRE", "9223372036854775807"),
    ("EXPIRE", "9223372036854775"),
    ("EXPIRE", "-9223372036854775808"),
    ("PEXPIRE", "9223372036854775807"),
    ("EXPIREAT", "9223372036854775807"),
])
def test_invalid_expire_time(raw, cmd, arg):
    raw.cmd("SET", "q", "v")
    assert raw.cmd(cmd, "q", arg) == \
        b"-ERR invalid expire time in '%s' command\r\n" % cmd.lower().encode()
    assert raw.cmd("TTL", "q") == b":-1\r\n"


@pytest.mark.parametrize("arg", ["abc", "1.5", "", "99999999999999999999"])
def test_expire_not_integer(raw, arg):
    raw.cmd("SET", "q", "v")
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert raw.cmd(cmd, "q", arg) == b"-ERR value is not an integer or out of range\r\n"


def test_expire_arity(raw):
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert raw.cmd(cmd, "q") == \
            b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.lower().encode()
    for cmd in ("TTL", "PTTL", "PERSIST", "EXPIRETIME", "PEXPIRETIME"):
        assert raw.cmd(cmd) == \
            b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.lower().encode()


# ---------------------------------------------------------------- PERSIST

def test_persist(raw):
    raw.cmd("SET", "p", "v", "EX", "100")
    assert raw.cmd("PERSIST", "p") == b":1\r\n"
    assert raw.cmd("TTL", "p") == b":-1\r\n"
    assert raw.cmd("PERSIST", "p") == b":0\r\n"
    assert raw.cmd("PERSIST", "nokey") == b":0\r\n"


# ---------------------------------------------------------------- TTL interplay with writes

def test_set_overwrite_clears_ttl(r):
    r.set("k", "v", ex=100)
    r.set("k", "v2")
    assert r.ttl("k") == -1


def test_set_keepttl_keeps_ttl(r):
    r.set("k", "v", ex=100)
    r.set("k", "v2", keepttl=True)
    assert 99 <= r.ttl("k") <= 100


def test_getex_persist_clears_ttl(r):
    r.set("k", "v", ex=100)
    assert r.getex("k", persist=True) == b"v"
    assert r.ttl("k") == -1


def test_getset_and_setex_reset_ttl(r):
    r.set("k", "v", ex=100)
    r.getset("k", "w")
    assert r.ttl("k") == -1
    r.execute_command("SETEX", "k", 50, "x")
    assert r.ttl("k") == 50


def test_rename_carries_ttl(r):
    r.set("a", "v", px=100000)
    r.rename("a", "b")
    assert 99000 <= r.pttl("b") <= 100000
    assert r.pttl("a") == -2


def test_modifying_commands_keep_ttl(r):
    r.set("k", "1", ex=100)
    r.incr("k")
    r.incrby("k", 5)
    r.decr("k")
    r.incrbyfloat("k", 1.5)
    r.append("k", "0")
    r.setrange("k", 0, "9")
    r.setbit("k", 1, 1)
    assert 99 <= r.ttl("k") <= 100


def test_del_removes_ttl(r):
    r.set("k", "v", ex=100)
    r.delete("k")
    r.set("k", "v")
    assert r.ttl("k") == -1


def test_expired_key_recreated_has_no_ttl(r):
    r.set("k", "v", px=30)
    time.sleep(0.06)
    assert r.get("k") is None
    assert r.incr("k") == 1
    assert r.ttl("k") == -1


# ---------------------------------------------------------------- actual expiry

def test_key_expires(r):
    r.set("k", "v", px=100)
    assert r.get("k") == b"v"
    time.sleep(0.15)
    assert r.get("k") is None
    assert r.exists("k") == 0
    assert r.ttl("k") == -2


def test_pexpire_short(r):
    r.set("k", "v")
    r.pexpire("k", 50)
    time.sleep(0.1)
    assert r.exists("k") == 0


def test_lazy_expiry_on_access(r):
    with active_expire_disabled(r):
        for i in range(5):
            r.set("lazy:%d" % i, "v", px=50)
        r.set("keep", "v")
        time.sleep(0.15)
        # not yet reclaimed: still counted, but not visible
        assert r.dbsize() == 6
        assert r.get("lazy:0") is None
        assert r.exists("lazy:1") == 0
        assert r.ttl("lazy:2") == -2
        assert r.dbsize() == 3
        assert r.keys("*") == [b"keep"]
        assert r.execute_command("STRLEN", "lazy:3") == 0
        assert r.execute_command("APPEND", "lazy:4", "new") == 3
        assert r.get("lazy:4") == b"new"
        assert r.ttl("lazy:4") == -1


def test_lazy_expiry_counts_in_stats(r):
    with active_expire_disabled(r):
        r.set("k", "v", px=30)
        before = r.info("stats")["expired_keys"]
        time.sleep(0.08)
        assert r.get("k") is None
        assert r.info("stats")["expired_keys"] == before + 1


def test_active_expiry(r):
    n = 50
    r.mset({"act:%d" % i: "v" for i in range(n)})
    for i in range(n):
        r.pexpire("act:%d" % i, 100)
    r.set("persistent", "v")
    assert r.dbsize() == n + 1
    deadline = time.time() + 2.5
    while time.time() < deadline:
        if r.dbsize() == 1:
            break
        time.sleep(0.05)
    assert r.dbsize() == 1
    assert r.info("keyspace")["db0"]["keys"] == 1
    assert r.get("persistent") == b"v"


def test_info_keyspace_expires_count(r):
    r.set("a", "1", ex=100)
    r.set("b", "1", ex=100)
    r.set("c", "1")
    ks = r.info("keyspace")["db0"]
    assert ks["keys"] == 3
    assert ks["expires"] == 2
    r.persist("a")
    assert r.info("keyspace")["db0"]["expires"] == 1

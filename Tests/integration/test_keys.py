"""Generic keyspace commands."""

import time

import pytest
import redis

from conftest import mode_config


def rerr(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def sorted_keys(r, pattern="*"):
    return sorted(r.keys(pattern))


# ---------------------------------------------------------------- DEL / UNLINK / EXISTS

def test_del_counts_deleted_keys(raw):
    raw.cmd("MSET", "a", "1", "b", "2", "c", "3")
    assert raw.cmd("DEL", "a", "a", "nokey") == b":1\r\n"
    assert raw.cmd("DEL", "b", "c") == b":2\r\n"
    assert raw.cmd("DEL", "b") == b":0\r\n"
    assert raw.cmd("DBSIZE") == b":0\r\n"


def test_unlink(raw):
    raw.cmd("MSET", "a", "1", "b", "2", "c", "3")
    assert raw.cmd("UNLINK", "b", "b", "c", "x") == b":2\r\n"
    assert raw.cmd("EXISTS", "a", "b", "c") == b":1\r\n"


def test_exists_counts_duplicates(raw):
    raw.cmd("MSET", "a", "1", "b", "2")
    assert raw.cmd("EXISTS", "a", "a", "b", "nokey") == b":3\r\n"
    assert raw.cmd("EXISTS", "nokey") == b":0\r\n"
    assert raw.cmd("EXISTS", "a", "a", "a", "a") == b":4\r\n"


@pytest.mark.parametrize("cmd", ["DEL", "UNLINK", "EXISTS", "TOUCH", "TYPE", "KEYS",
                                 "RENAME", "RENAMENX", "COPY", "MOVE"])
def test_arity_errors(raw, cmd):
    assert raw.cmd(cmd) == \
        b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.lower().encode()


@pytest.mark.parametrize("args", [("DBSIZE", "x"), ("RANDOMKEY", "x"), ("KEYS", "a", "b"),
                                  ("SWAPDB", "0"), ("SWAPDB", "0", "1", "2")])
def test_arity_errors_extra_args(raw, args):
    assert raw.cmd(*args) == \
        b"-ERR wrong number of arguments for '%s' command\r\n" % args[0].lower().encode()


# ---------------------------------------------------------------- TYPE

def test_type(raw):
    raw.cmd("SET", "s", "v")
    assert raw.cmd("TYPE", "s") == b"+string\r\n"
    assert raw.cmd("TYPE", "nokey") == b"+none\r\n"
    raw.cmd("SET", "i", "123")
    assert raw.cmd("TYPE", "i") == b"+string\r\n"


def test_type_list(r, make_list_key):
    make_list_key(r, "l")
    assert r.type("l") == b"list"


# ---------------------------------------------------------------- RENAME / RENAMENX

def test_rename(r):
    r.set("a", "1")
    assert r.rename("a", "b") is True
    assert r.get("b") == b"1"
    assert r.exists("a") == 0


def test_rename_same_key(raw):
    raw.cmd("SET", "a", "1")
    assert raw.cmd("RENAME", "a", "a") == b"+OK\r\n"
    assert raw.cmd("GET", "a") == b"$1\r\n1\r\n"


def test_rename_missing_key(raw):
    assert raw.cmd("RENAME", "nokey", "x") == b"-ERR no such key\r\n"
    assert raw.cmd("RENAME", "nokey", "nokey") == b"-ERR no such key\r\n"
    assert raw.cmd("RENAMENX", "nokey", "x") == b"-ERR no such key\r\n"


def test_rename_overwrites_destination_and_ttl(r):
    r.set("a", "1", ex=100)
    r.set("b", "2", ex=200)
    r.rename("a", "b")
    assert r.get("b") == b"1"
    assert 99 <= r.ttl("b") <= 100
    r.set("c", "3")
    r.rename("c", "b")
    assert r.ttl("b") == -1


def test_rename_over_other_type(r, make_list_key):
    make_list_key(r, "l")
    r.set("s", "v")
    r.rename("s", "l")
    assert r.type("l") == b"string"
    assert r.get("l") == b"v"


def test_renamenx(raw):
    raw.cmd("MSET", "a", "1", "b", "2")
    assert raw.cmd("RENAMENX", "a", "b") == b":0\r\n"
    assert raw.cmd("RENAMENX", "a", "a") == b":0\r\n"
    assert raw.cmd("RENAMENX", "a", "z") == b":1\r\n"
    assert raw.cmd("GET", "z") == b"$1\r\n1\r\n"
    assert raw.cmd("EXISTS", "a") == b":0\r\n"
    assert raw.cmd("GET", "b") == b"$1\r\n2\r\n"


# ---------------------------------------------------------------- COPY

def test_copy(raw):
    raw.cmd("SET", "z", "val")
    assert raw.cmd("COPY", "z", "y") == b":1\r\n"
    assert raw.cmd("GET", "y") == b"$3\r\nval\r\n"
    raw.cmd("SET", "z", "new")
    assert raw.cmd("COPY", "z", "y") == b":0\r\n"
    assert raw.cmd("GET", "y") == b"$3\r\nval\r\n"
    assert raw.cmd("COPY", "z", "y", "REPLACE") == b":1\r\n"
    assert raw.cmd("GET", "y") == b"$3\r\nnew\r\n"
    assert raw.cmd("COPY", "nokey", "q") == b":0\r\n"
    assert raw.cmd("EXISTS", "q") == b":0\r\n"


def test_copy_is_independent(r):
    r.set("a", "x")
    r.copy("a", "b")
    r.append("b", "y")
    assert r.get("a") == b"x"
    assert r.get("b") == b"xy"


def test_copy_same_key(raw):
    raw.cmd("SET", "z", "v")
    assert raw.cmd("COPY", "z", "z") == b"-ERR source and destination objects are the same\r\n"


def test_copy_to_db(r, server):
    r.set("z", "v", px=100000)
    assert r.execute_command("COPY", "z", "w", "DB", "1") == 1
    assert r.exists("w") == 0
    c = server.client(db=1)
    try:
        assert c.get("w") == b"v"
        assert 99000 <= c.pttl("w") <= 100000
    finally:
        c.close()
    assert r.execute_command("COPY", "z", "w", "DB", "1") == 0
    assert r.execute_command("COPY", "z", "z", "DB", "1") == 1


def test_copy_preserves_ttl(r):
    r.set("d", "4", px=100000)
    assert r.copy("d", "e") is True
    assert 99000 <= r.pttl("e") <= 100000


@pytest.mark.parametrize("args,reply", [
    (("DB", "16"), b"-ERR DB index is out of range\r\n"),
    (("DB", "-1"), b"-ERR DB index is out of range\r\n"),
    (("DB", "x"), b"-ERR value is not an integer or out of range\r\n"),
    (("FOO",), b"-ERR syntax error\r\n"),
    (("DB",), b"-ERR syntax error\r\n"),
])
def test_copy_errors(raw, args, reply):
    raw.cmd("SET", "z", "v")
    assert raw.cmd("COPY", "z", "w", *args) == reply


# ---------------------------------------------------------------- MOVE

def test_move(r, server):
    r.set("k", "v", px=100000)
    assert r.move("k", 2) is True
    assert r.exists("k") == 0
    c = server.client(db=2)
    try:
        assert c.get("k") == b"v"
        assert 99000 <= c.pttl("k") <= 100000
        c.set("k2", "other")
    finally:
        c.close()
    r.set("k2", "mine")
    assert r.move("k2", 2) is False
    assert r.get("k2") == b"mine"
    assert r.move("nokey", 2) is False


@pytest.mark.parametrize("db,reply", [
    ("0", b"-ERR source and destination objects are the same\r\n"),
    ("16", b"-ERR DB index is out of range\r\n"),
    ("-1", b"-ERR DB index is out of range\r\n"),
    ("x", b"-ERR value is not an integer or out of range\r\n"),
])
def test_move_errors(raw, db, reply):
    raw.cmd("SET", "b", "v")
    assert raw.cmd("MOVE", "b", db) == reply


# ---------------------------------------------------------------- KEYS

@pytest.fixture
def pattern_keys(r):
    keys = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo",
            "h[a]llo", "a", "b", "c", "d", "h\\llo", "HELLO", "h]llo"]
    r.mset({k: "1" for k in keys})
    return r


@pytest.mark.parametrize("pattern,expected", [
    ("h?llo", ["h*llo", "h?llo", "h\\llo", "h]llo", "hallo", "hello", "hxllo"]),
    ("h*llo", ["h*llo", "h?llo", "h[a]llo", "h\\llo", "h]llo", "hallo", "heeeello",
               "hello", "hllo", "hxllo"]),
    ("h[ae]llo", ["hallo", "hello"]),
    ("h[^e]llo", ["h*llo", "h?llo", "h\\llo", "h]llo", "hallo", "hxllo"]),
    ("h[a-b]llo", ["hallo"]),
    ("[a-c]", ["a", "b", "c"]),
    ("[c-a]", ["a", "b", "c"]),
    ("h\\*llo", ["h*llo"]),
    ("h\\?llo", ["h?llo"]),
    ("h\\[a\\]llo", ["h[a]llo"]),
    ("h\\\\llo", ["h\\llo"]),
    ("h[\\]]llo", ["h]llo"]),
    ("\\a", ["a"]),
    ("H*", ["HELLO"]),
    ("hello", ["hello"]),
    ("x", []),
    ("", []),
    ("*e*o", ["heeeello", "hello"]),
    ("?", ["a", "b", "c", "d"]),
    ("[bd]", ["b", "d"]),
])
def test_keys_glob(pattern_keys, pattern, expected):
    assert sorted_keys(pattern_keys, pattern) == sorted(k.encode() for k in expected)


def test_keys_star(pattern_keys):
    assert len(pattern_keys.keys("*")) == 15


def test_keys_empty_db(raw):
    assert raw.cmd("KEYS", "*") == b"*0\r\n"


def test_keys_only_current_db(r, server):
    r.set("db0key", "1")
    c = server.client(db=5)
    try:
        c.set("db5key", "1")
        assert c.keys("*") == [b"db5key"]
    finally:
        c.close()
    assert r.keys("*") == [b"db0key"]


def test_keys_binary(r):
    r.set(b"bin\x00key\xff", "1")
    r.set(b"bin\r\nkey", "1")
    assert sorted(r.keys(b"bin*")) == sorted([b"bin\r\nkey", b"bin\x00key\xff"])
    assert r.keys(b"bin\x00*") == [b"bin\x00key\xff"]


# ---------------------------------------------------------------- SCAN

def test_scan_full_iteration_returns_all_keys(r):
    n = 1000
    r.mset({"key:%d" % i: i for i in range(n)})
    seen = set()
    cursor = 0
    calls = 0
    while True:
        cursor, keys = r.scan(cursor)
        seen.update(keys)
        calls += 1
        assert calls < 10000
        if cursor == 0:
            break
    assert seen == {b"key:%d" % i for i in range(n)}
    assert calls > 1  # default COUNT is 10: one call cannot return everything


def test_scan_with_count(r):
    r.mset({"key:%d" % i: i for i in range(300)})
    seen = set()
    cursor = 0
    calls = 0
    while True:
        cursor, keys = r.scan(cursor, count=100)
        seen.update(keys)
        calls += 1
        if cursor == 0:
            break
    assert len(seen) == 300
    assert calls < 30


def test_scan_with_match(r):
    r.mset({"user:%d" % i: i for i in range(200)})
    r.mset({"item:%d" % i: i for i in range(200)})
    seen = set(r.scan_iter(match="user:1*", count=50))
    assert seen == {b"user:%d" % i for i in range(200) if str(i).startswith("1")}


def test_scan_with_type(r, make_list_key):
    r.mset({"s%d" % i: i for i in range(20)})
    assert set(r.scan_iter(_type="string")) == {b"s%d" % i for i in range(20)}
    assert list(r.scan_iter(_type="list")) == []
    make_list_key(r, "mylist")
    assert list(r.scan_iter(_type="list")) == [b"mylist"]
    assert b"mylist" not in set(r.scan_iter(_type="string"))


def test_scan_raw_reply_shape(raw):
    raw.cmd("SET", "only", "1")
    assert raw.cmd("SCAN", "0") == b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"
    raw.cmd("DEL", "only")
    assert raw.cmd("SCAN", "0") == b"*2\r\n$1\r\n0\r\n*0\r\n"


def test_scan_is_per_db(r, server):
    r.set("zero", "1")
    c = server.client(db=3)
    try:
        c.set("three", "1")
        assert list(c.scan_iter()) == [b"three"]
    finally:
        c.close()


@pytest.mark.parametrize("args,reply", [
    (("abc",), b"-ERR invalid cursor\r\n"),
    (("18446744073709551616",), b"-ERR invalid cursor\r\n"),
    (("0", "FOO"), b"-ERR syntax error\r\n"),
    (("0", "COUNT", "0"), b"-ERR syntax error\r\n"),
    (("0", "COUNT", "-1"), b"-ERR syntax error\r\n"),
    (("0", "COUNT", "abc"), b"-ERR value is not an integer or out of range\r\n"),
    (("0", "MATCH"), b"-ERR syntax error\r\n"),
    (("0", "TYPE"), b"-ERR syntax error\r\n"),
])
def test_scan_errors(raw, args, reply):
    assert raw.cmd("SCAN", *args) == reply


def test_scan_arity(raw):
    assert raw.cmd("SCAN") == b"-ERR wrong number of arguments for 'scan' command\r\n"


# ---------------------------------------------------------------- RANDOMKEY / DBSIZE / TOUCH

def test_randomkey(raw, r):
    assert raw.cmd("RANDOMKEY") == b"$-1\r\n"
    r.set("only", "1")
    assert raw.cmd("RANDOMKEY") == b"$4\r\nonly\r\n"
    r.mset({"a": 1, "b": 2, "c": 3})
    seen = {r.randomkey() for _ in range(100)}
    assert seen <= {b"only", b"a", b"b", b"c"}
    assert len(seen) >= 2


def test_dbsize(raw, r):
    assert raw.cmd("DBSIZE") == b":0\r\n"
    r.mset({"a": 1, "b": 2})
    assert raw.cmd("DBSIZE") == b":2\r\n"
    r.delete("a")
    assert raw.cmd("DBSIZE") == b":1\r\n"


def test_touch(raw):
    raw.cmd("SET", "b", "1")
    assert raw.cmd("TOUCH", "b", "nokey", "b") == b":2\r\n"
    assert raw.cmd("TOUCH", "nokey") == b":0\r\n"


# ---------------------------------------------------------------- OBJECT

@pytest.mark.parametrize("value,encoding", [
    ("12345", b"int"),
    ("-5", b"int"),
    ("0", b"int"),
    ("9223372036854775807", b"int"),
    ("-9223372036854775808", b"int"),
    ("9223372036854775808", b"embstr"),
    ("012", b"embstr"),
    ("1.5", b"embstr"),
    (" 1", b"embstr"),
    ("+1", b"embstr"),
    ("", b"embstr"),
    ("hello", b"embstr"),
    ("a" * 44, b"embstr"),
    ("a" * 45, b"raw"),
])
def test_object_encoding_strings(r, value, encoding):
    r.set("k", value)
    assert r.object("encoding", "k") == encoding


def test_object_encoding_transitions(r):
    r.set("e", "hello")
    r.append("e", "x")
    assert r.object("encoding", "e") == b"raw"
    r.set("i", "12345")
    r.setrange("i", 0, "9")
    assert r.object("encoding", "i") == b"raw"
    r.set("i2", "1")
    r.incr("i2")
    assert r.object("encoding", "i2") == b"int"
    r.incrbyfloat("fl", "1.5")
    assert r.object("encoding", "fl") == b"embstr"


def test_object_missing_key(raw):
    for sub in ("ENCODING", "FREQ", "IDLETIME", "REFCOUNT"):
        assert raw.cmd("OBJECT", sub, "nokey") == b"$-1\r\n"


def test_object_freq_without_lfu(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("OBJECT", "FREQ", "k") == (
        b"-ERR An LFU maxmemory policy is not selected, access frequency not "
        b"tracked. Please note that when switching between policies at runtime "
        b"LRU and LFU data will take some time to adjust.\r\n")


def test_object_freq_with_lfu(r):
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        r.set("k", "v")
        for _ in range(10):
            r.get("k")
        freq = r.object("freq", "k")
        assert isinstance(freq, int) and freq >= 1
    finally:
        r.config_set("maxmemory-policy", mode_config("maxmemory-policy"))


def test_object_idletime(r):
    r.set("k", "v")
    assert r.object("idletime", "k") in (0, 1)
    time.sleep(1.2)
    assert r.object("idletime", "k") >= 1
    r.get("k")
    assert r.object("idletime", "k") in (0, 1)


def test_object_refcount(r):
    r.set("k", "some string value")
    assert r.object("refcount", "k") == 1


def test_object_refcount_shared_integer(r):
    # small integers are shared objects in redis, except when maxmemory is set with an LRU
    # or LFU policy (each key then needs its own access time)
    r.set("sh", "100")
    policy = mode_config("maxmemory-policy")
    own_objects = mode_config("maxmemory") != "0" and ("lru" in policy or "lfu" in policy)
    assert r.object("refcount", "sh") == (1 if own_objects else 2147483647)


def test_object_errors(raw):
    assert raw.cmd("OBJECT", "FOO", "k") == b"-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"
    assert raw.cmd("OBJECT") == b"-ERR wrong number of arguments for 'object' command\r\n"
    assert raw.cmd("OBJECT", "ENCODING") == \
        b"-ERR wrong number of arguments for 'object|encoding' command\r\n"
    assert raw.cmd("OBJECT", "ENCODING", "a", "b") == \
        b"-ERR wrong number of arguments for 'object|encoding' command\r\n"


def test_object_help(r):
    lines = r.execute_command("OBJECT", "HELP")
    assert lines[0] == b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert b"ENCODING <key>" in lines
    assert b"HELP" in lines


# ---------------------------------------------------------------- FLUSHDB / FLUSHALL / SWAPDB

def test_flushdb_only_current_db(r, server):
    r.set("a", "1")
    c = server.client(db=1)
    try:
        c.set("b", "1")
        assert c.flushdb() is True
        assert c.dbsize() == 0
    finally:
        c.close()
    assert r.dbsize() == 1


@pytest.mark.parametrize("opt", [(), ("ASYNC",), ("SYNC",), ("async",)])
def test_flushdb_options(raw, r, opt):
    r.mset({"a": 1, "b": 2})
    assert raw.cmd("FLUSHDB", *opt) == b"+OK\r\n"
    assert raw.cmd("DBSIZE") == b":0\r\n"


@pytest.mark.parametrize("opt", [(), ("ASYNC",), ("SYNC",)])
def test_flushall_options(raw, r, server, opt):
    r.set("a", "1")
    c = server.client(db=7)
    try:
        c.set("b", "1")
        assert raw.cmd("FLUSHALL", *opt) == b"+OK\r\n"
        assert c.dbsize() == 0
    finally:
        c.close()
    assert r.dbsize() == 0


@pytest.mark.parametrize("args", [("FLUSHDB", "FOO"), ("FLUSHALL", "FOO"),
                                  ("FLUSHDB", "ASYNC", "SYNC")])
def test_flush_syntax_error(raw, args):
    assert raw.cmd(*args) == b"-ERR syntax error\r\n"


def test_swapdb(r, server):
    r.set("in0", "zero")
    c = server.client(db=1)
    try:
        c.set("in1", "one")
        assert r.swapdb(0, 1) is True
        assert r.keys("*") == [b"in1"]
        assert c.keys("*") == [b"in0"]
        assert r.swapdb(1, 0) is True
        assert r.keys("*") == [b"in0"]
        assert r.swapdb(0, 0) is True
        assert r.keys("*") == [b"in0"]
    finally:
        c.close()


def test_swapdb_carries_ttl(r, server):
    r.set("k", "v", ex=100)
    r.swapdb(0, 4)
    c = server.client(db=4)
    try:
        assert 99 <= c.ttl("k") <= 100
    finally:
        c.close()


@pytest.mark.parametrize("args,reply", [
    (("0", "16"), b"-ERR DB index is out of range\r\n"),
    (("-1", "0"), b"-ERR DB index is out of range\r\n"),
    (("x", "1"), b"-ERR invalid first DB index\r\n"),
    (("0", "x"), b"-ERR invalid second DB index\r\n"),
])
def test_swapdb_errors(raw, args, reply):
    assert raw.cmd("SWAPDB", *args) == reply


# ---------------------------------------------------------------- binary keys

def test_binary_keys_generic_commands(r):
    k1 = b"\x00\x01\x02"
    k2 = b"key\r\nwith\r\nnewlines"
    r.set(k1, "a")
    r.set(k2, "b")
    assert r.exists(k1, k2) == 2
    assert r.type(k1) == b"string"
    r.rename(k1, b"\xff\xfe")
    assert r.get(b"\xff\xfe") == b"a"
    assert r.copy(k2, b"\x00") is True
    assert sorted(r.keys("*")) == sorted([b"\xff\xfe", k2, b"\x00"])
    assert r.delete(b"\xff\xfe", k2, b"\x00") == 3

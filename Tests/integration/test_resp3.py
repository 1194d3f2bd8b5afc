"""RESP3: HELLO 3 and the exact RESP3 framing of replies."""

import re

import pytest
import redis

from conftest import mode_config, skip_unless_command

HELLO3_RE = re.compile(
    rb"%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n"
    rb"\$\d+\r\n7\.[0-9.]+\r\n\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n"
    rb"\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n"
    rb"\$7\r\nmodules\r\n\*0\r\n")


@pytest.fixture
def raw3(raw):
    reply = raw.cmd("HELLO", "3")
    assert HELLO3_RE.fullmatch(reply), reply
    return raw


# ---------------------------------------------------------------- HELLO

def test_hello3_map_fields_redis_py(r3):
    d = r3.execute_command("HELLO", "3")
    assert isinstance(d, dict)
    assert list(d.keys()) == [b"server", b"version", b"proto", b"id", b"mode",
                              b"role", b"modules"]
    assert d[b"server"] == b"redis"
    assert d[b"version"].startswith(b"7.")
    assert d[b"proto"] == 3
    assert d[b"id"] == r3.client_id()
    assert d[b"mode"] == b"standalone"
    assert d[b"role"] == b"master"
    assert d[b"modules"] == []


def test_hello3_raw(raw3):
    # the fixture already checked the exact framing; id must match CLIENT ID
    assert re.fullmatch(rb":\d+\r\n", raw3.cmd("CLIENT", "ID"))


def test_hello_back_to_2(raw3):
    reply = raw3.cmd("HELLO", "2")
    assert reply.startswith(b"*14\r\n$6\r\nserver\r\n")
    assert b"$5\r\nproto\r\n:2\r\n" in reply
    assert raw3.cmd("GET", "missing") == b"$-1\r\n"
    assert raw3.cmd("CONFIG", "GET", "maxmemory-samples") == \
        b"*2\r\n$17\r\nmaxmemory-samples\r\n$1\r\n5\r\n"


def test_hello4_keeps_resp3(raw3):
    assert raw3.cmd("HELLO", "4") == b"-NOPROTO unsupported protocol version\r\n"
    assert raw3.cmd("GET", "missing") == b"_\r\n"


def test_hello3_redis_py_hello4_error(r3):
    with pytest.raises(redis.ResponseError) as e:
        r3.execute_command("HELLO", "4")
    assert str(e.value) == "NOPROTO unsupported protocol version"


# ---------------------------------------------------------------- nulls

@pytest.mark.parametrize("cmd", [
    ("GET", "missing"),
    ("GETDEL", "missing"),
    ("GETEX", "missing"),
    ("GETSET", "fresh", "1"),
    ("SET", "fresh2", "1", "GET"),
    ("SET", "fresh3", "1", "XX"),
    ("RANDOMKEY",),
    ("CLIENT", "GETNAME"),
    ("OBJECT", "ENCODING", "missing"),
])
def test_null_is_underscore(raw3, cmd):
    assert raw3.cmd(*cmd) == b"_\r\n"


def test_null_in_array(raw3):
    raw3.cmd("SET", "a", "1")
    assert raw3.cmd("MGET", "a", "missing", "a") == b"*3\r\n$1\r\n1\r\n_\r\n$1\r\n1\r\n"


def test_null_after_set_nx_on_existing(raw3):
    assert raw3.cmd("SET", "x", "1") == b"+OK\r\n"
    assert raw3.cmd("SET", "x", "2", "NX") == b"_\r\n"


def test_exec_aborted_is_null(r, raw3):
    raw3.cmd("SET", "w", "1")
    assert raw3.cmd("WATCH", "w") == b"+OK\r\n"
    r.set("w", "2")
    assert raw3.cmd("MULTI") == b"+OK\r\n"
    assert raw3.cmd("PING") == b"+QUEUED\r\n"
    assert raw3.cmd("EXEC") == b"_\r\n"


def test_bitfield_overflow_fail_null(raw3):
    assert raw3.cmd("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10") == \
        b"*1\r\n_\r\n"


def test_redis_py_null(r3):
    assert r3.get("missing") is None
    assert r3.mget("missing", "missing2") == [None, None]


# ---------------------------------------------------------------- maps

def test_config_get_is_map(raw3):
    assert raw3.cmd("CONFIG", "GET", "maxmemory-samples") == \
        b"%1\r\n$17\r\nmaxmemory-samples\r\n$1\r\n5\r\n"
    assert raw3.cmd("CONFIG", "GET", "no-such-param") == b"%0\r\n"


def test_config_get_map_redis_py(r3):
    d = r3.config_get("maxmemory*")
    assert isinstance(d, dict)
    assert d["maxmemory"] == mode_config("maxmemory")
    assert d["maxmemory-samples"] == "5"


def test_lcs_idx_is_map(raw3):
    raw3.cmd("SET", "s1", "ohmytext")
    raw3.cmd("SET", "s2", "mynewtext")
    assert raw3.cmd("LCS", "s1", "s2", "IDX") == (
        b"%2\r\n$7\r\nmatches\r\n*2\r\n"
        b"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert raw3.cmd("LCS", "s1", "s2", "IDX", "MINMATCHLEN", "10") == \
        b"%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n"


def test_lcs_idx_resp2_is_flat_array(raw):
    raw.cmd("SET", "s1", "ohmytext")
    raw.cmd("SET", "s2", "mynewtext")
    assert raw.cmd("LCS", "s1", "s2", "IDX", "MINMATCHLEN", "10") == \
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n"


# ---------------------------------------------------------------- verbatim

def test_info_is_verbatim_string(raw3):
    reply = raw3.cmd("INFO", "server")
    m = re.fullmatch(rb"=(\d+)\r\ntxt:(.*)\r\n", reply, re.S)
    assert m, reply[:80]
    assert int(m.group(1)) == len(m.group(2)) + 4
    assert m.group(2).startswith(b"# Server\r\nredis_version:7.")


def test_info_resp2_is_bulk(raw):
    reply = raw.cmd("INFO", "server")
    m = re.fullmatch(rb"\$(\d+)\r\n(.*)\r\n", reply, re.S)
    assert m
    assert int(m.group(1)) == len(m.group(2))
    assert m.group(2).startswith(b"# Server\r\n")


def test_client_info_is_verbatim(raw3):
    reply = raw3.cmd("CLIENT", "INFO")
    m = re.fullmatch(rb"=(\d+)\r\ntxt:(id=\d+ .* resp=3\n)\r\n", reply, re.S)
    assert m, reply
    assert int(m.group(1)) == len(m.group(2)) + 4


def test_info_redis_py_resp3(r3):
    info = r3.info("server")
    assert info["redis_version"].startswith("7.")


# ---------------------------------------------------------------- other types

def test_incrbyfloat_is_still_bulk_in_resp3(raw3):
    raw3.cmd("SET", "f", "1.5")
    assert raw3.cmd("INCRBYFLOAT", "f", "1") == b"$3\r\n2.5\r\n"


def test_integers_and_status(raw3):
    assert raw3.cmd("SET", "k", "v") == b"+OK\r\n"
    assert raw3.cmd("STRLEN", "k") == b":1\r\n"
    assert raw3.cmd("TTL", "k") == b":-1\r\n"
    assert raw3.cmd("TTL", "missing") == b":-2\r\n"
    assert raw3.cmd("TYPE", "k") == b"+string\r\n"
    assert raw3.cmd("TYPE", "missing") == b"+none\r\n"


def test_errors_same_in_resp3(raw3):
    assert raw3.cmd("GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    raw3.cmd("SET", "k", "v")
    assert raw3.cmd("INCR", "k") == b"-ERR value is not an integer or out of range\r\n"


def test_scan_and_time_shapes(raw3):
    raw3.cmd("SET", "only", "1")
    assert raw3.cmd("SCAN", "0") == b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"
    assert re.fullmatch(rb"\*2\r\n\$10\r\n\d{10}\r\n\$\d\r\n\d{1,6}\r\n",
                        raw3.cmd("TIME"))


def test_exec_replies_in_resp3(raw3):
    assert raw3.cmd("MULTI") == b"+OK\r\n"
    for c in (("SET", "a", "1"), ("GET", "missing"), ("INCR", "a"),
              ("CONFIG", "GET", "databases")):
        assert raw3.cmd(*c) == b"+QUEUED\r\n"
    assert raw3.cmd("EXEC") == (
        b"*4\r\n+OK\r\n_\r\n:2\r\n%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n")


def test_pipelined_resp3(raw3):
    raw3.send(raw3.encode("SET", "p", "1") + raw3.encode("GET", "nope")
              + raw3.encode("GET", "p"))
    assert raw3.read_replies(3) == [b"+OK\r\n", b"_\r\n", b"$1\r\n1\r\n"]


# ---------------------------------------------------------------- DEBUG PROTOCOL

@pytest.mark.parametrize("kind,expected", [
    ("string", b"$11\r\nHello World\r\n"),
    ("integer", b":12345\r\n"),
    ("double", b",3.141\r\n"),
    ("bignum", b"(1234567999999999999999999999999999999\r\n"),
    ("null", b"_\r\n"),
    ("array", b"*3\r\n:0\r\n:1\r\n:2\r\n"),
    ("set", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
    ("map", b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
    ("true", b"#t\r\n"),
    ("false", b"#f\r\n"),
    ("verbatim", b"=29\r\ntxt:This is a verbatim\nstring\r\n"),
])
def test_debug_protocol_resp3(raw3, kind, expected):
    assert raw3.cmd("DEBUG", "PROTOCOL", kind) == expected


@pytest.mark.parametrize("kind,expected", [
    ("double", b"$5\r\n3.141\r\n"),
    ("null", b"$-1\r\n"),
    ("set", b"*3\r\n:0\r\n:1\r\n:2\r\n"),
    ("map", b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n"),
    ("true", b":1\r\n"),
    ("false", b":0\r\n"),
    ("bignum", b"$37\r\n1234567999999999999999999999999999999\r\n"),
    ("verbatim", b"$25\r\nThis is a verbatim\nstring\r\n"),
])
def test_debug_protocol_resp2_downgrades(raw, kind, expected):
    assert raw.cmd("DEBUG", "PROTOCOL", kind) == expected


def test_debug_protocol_redis_py_types(r3):
    assert r3.execute_command("DEBUG", "PROTOCOL", "double") == 3.141
    assert r3.execute_command("DEBUG", "PROTOCOL", "true") is True
    assert r3.execute_command("DEBUG", "PROTOCOL", "false") is False
    assert r3.execute_command("DEBUG", "PROTOCOL", "map") == {0: False, 1: True, 2: False}
    assert r3.execute_command("DEBUG", "PROTOCOL", "null") is None


# ---------------------------------------------------------------- other data types (isolated)

def test_double_reply_from_sorted_set(r3, raw3):
    skip_unless_command(r3, "ZADD", "z", "1.5", "m")
    assert raw3.cmd("ZSCORE", "z", "m") == b",1.5\r\n"
    assert raw3.cmd("ZINCRBY", "z", "1", "m") == b",2.5\r\n"
    assert r3.zscore("z", "m") == 2.5


def test_set_reply_from_set_type(r3, raw3):
    skip_unless_command(r3, "SADD", "s", "a")
    assert raw3.cmd("SMEMBERS", "s") == b"~1\r\n$1\r\na\r\n"
    r3.sadd("s", "b")
    assert r3.smembers("s") == {b"a", b"b"}

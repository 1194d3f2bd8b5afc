"""String commands."""

import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "value is not an integer or out of range"
SYNTAX = "syntax error"


def rerr(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def now_s(r):
    return int(r.time()[0])


def now_ms(r):
    s, us = r.time()
    return s * 1000 + us // 1000


# ---------------------------------------------------------------- SET

def test_set_get_basic(r):
    assert r.execute_command("SET", "k", "v") is True
    assert r.get("k") == b"v"
    assert r.execute_command("SET", "k", "v2") is True
    assert r.get("k") == b"v2"
    assert r.get("missing") is None


def test_set_raw_reply(raw):
    assert raw.cmd("SET", "k", "v") == b"+OK\r\n"
    assert raw.cmd("GET", "k") == b"$1\r\nv\r\n"
    assert raw.cmd("GET", "nokey") == b"$-1\r\n"


def test_set_ex(r):
    assert r.set("k", "v", ex=100)
    assert 99 <= r.ttl("k") <= 100


def test_set_px(r):
    assert r.set("k", "v", px=100000)
    assert 99000 <= r.pttl("k") <= 100000


def test_set_exat_pxat(r):
    t = now_s(r)
    assert r.set("k", "v", exat=t + 100)
    assert 98 <= r.ttl("k") <= 100
    assert r.expiretime("k") == t + 100
    tm = now_ms(r)
    assert r.set("k2", "v", pxat=tm + 100000)
    assert r.pexpiretime("k2") == tm + 100000


def test_set_exat_in_the_past_deletes(r):
    r.set("k", "old")
    assert r.execute_command("SET", "k", "v", "EXAT", "1") is True
    assert r.exists("k") == 0
    assert r.execute_command("SET", "k", "v", "PXAT", "1") is True
    assert r.get("k") is None


def test_set_options_case_insensitive(r):
    assert r.execute_command("SET", "k", "v", "ex", "100", "nx") is True
    assert 99 <= r.ttl("k") <= 100


def test_set_nx(raw):
    assert raw.cmd("SET", "k", "v", "NX") == b"+OK\r\n"
    assert raw.cmd("SET", "k", "w", "NX") == b"$-1\r\n"
    assert raw.cmd("GET", "k") == b"$1\r\nv\r\n"


def test_set_xx(raw):
    assert raw.cmd("SET", "k", "v", "XX") == b"$-1\r\n"
    assert raw.cmd("EXISTS", "k") == b":0\r\n"
    raw.cmd("SET", "k", "v")
    assert raw.cmd("SET", "k", "w", "XX") == b"+OK\r\n"
    assert raw.cmd("GET", "k") == b"$1\r\nw\r\n"


def test_set_get_option(raw):
    assert raw.cmd("SET", "k", "v1", "GET") == b"$-1\r\n"
    assert raw.cmd("SET", "k", "v2", "GET") == b"$2\r\nv1\r\n"
    assert raw.cmd("GET", "k") == b"$2\r\nv2\r\n"


def test_set_nx_get_combination(raw):
    # allowed since 7.0: returns the old value, sets only if missing
    assert raw.cmd("SET", "k", "v1", "NX", "GET") == b"$-1\r\n"
    assert raw.cmd("GET", "k") == b"$2\r\nv1\r\n"
    assert raw.cmd("SET", "k", "v2", "NX", "GET") == b"$2\r\nv1\r\n"
    assert raw.cmd("GET", "k") == b"$2\r\nv1\r\n"


def test_set_xx_get_combination(raw):
    assert raw.cmd("SET", "k", "v1", "XX", "GET") == b"$-1\r\n"
    assert raw.cmd("EXISTS", "k") == b":0\r\n"
    raw.cmd("SET", "k", "v1")
    assert raw.cmd("SET", "k", "v2", "XX", "GET") == b"$2\r\nv1\r\n"
    assert raw.cmd("GET", "k") == b"$2\r\nv2\r\n"


def test_set_get_on_wrong_type(r, make_list_key):
    make_list_key(r, "l")
    assert rerr(r, "SET", "l", "v", "GET") == WRONGTYPE
    assert r.type("l") == b"list"


def test_set_overwrites_other_type(r, make_list_key):
    make_list_key(r, "l")
    assert r.set("l", "v")
    assert r.type("l") == b"string"
    assert r.get("l") == b"v"


def test_set_keepttl(r):
    r.set("k", "v", ex=100)
    assert r.execute_command("SET", "k", "v2", "KEEPTTL") is True
    assert 99 <= r.ttl("k") <= 100
    assert r.get("k") == b"v2"
    r.set("k", "v3")
    assert r.ttl("k") == -1


@pytest.mark.parametrize("args", [
    ("EX", "10", "PX", "100"),
    ("EX", "10", "EXAT", "100"),
    ("PX", "10", "PXAT", "100"),
    ("NX", "XX"),
    ("XX", "NX"),
    ("EX", "10", "KEEPTTL"),
    ("KEEPTTL", "PX", "1"),
    ("KEEPTTL", "EXAT", "1"),
    ("FOO",),
    ("EX",),
    ("PX",),
    ("NX", "FOO"),
    ("GET", "PERSIST"),
    ("PERSIST",),
])
def test_set_syntax_errors(raw, args):
    assert raw.cmd("SET", "k", "v", *args) == b"-ERR syntax error\r\n"
    assert raw.cmd("EXISTS", "k") == b":0\r\n"


@pytest.mark.parametrize("args", [
    ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("PX", "-100"), ("EXAT", "0"),
    ("PXAT", "0"), ("EXAT", "-5"),
    ("EX", "9223372036854775"), ("PX", "9223372036854775807"),
    ("EXAT", "9223372036854775807"),
])
def test_set_invalid_expire_time(raw, args):
    assert raw.cmd("SET", "k", "v", *args) == \
        b"-ERR invalid expire time in 'set' command\r\n"
    assert raw.cmd("EXISTS", "k") == b":0\r\n"


@pytest.mark.parametrize("val", ["abc", "1.5", "", "99999999999999999999"])
def test_set_non_integer_expire(raw, val):
    assert raw.cmd("SET", "k", "v", "EX", val) == \
        b"-ERR value is not an integer or out of range\r\n"


def test_set_arity(raw):
    assert raw.cmd("SET", "k") == b"-ERR wrong number of arguments for 'set' command\r\n"


def test_set_empty_value_and_key(r):
    assert r.set("", "")
    assert r.get("") == b""
    assert r.strlen("") == 0
    assert r.exists("") == 1


# ---------------------------------------------------------------- GET / wrong type

@pytest.mark.parametrize("args", [
    ("GET", "l"), ("APPEND", "l", "x"), ("STRLEN", "l"), ("INCR", "l"),
    ("DECR", "l"), ("INCRBY", "l", "2"), ("DECRBY", "l", "2"),
    ("INCRBYFLOAT", "l", "1"), ("SETRANGE", "l", "0", "x"),
    ("SETRANGE", "l", "0", ""), ("GETRANGE", "l", "0", "1"),
    ("SUBSTR", "l", "0", "1"), ("GETDEL", "l"), ("GETEX", "l"),
    ("GETSET", "l", "x"),
])
def test_wrongtype_on_list(r, make_list_key, args):
    make_list_key(r, "l")
    assert rerr(r, *args) == WRONGTYPE
    assert r.type("l") == b"list"


def test_mget_returns_nil_for_wrong_type(r, make_list_key):
    make_list_key(r, "l")
    r.set("s", "v")
    assert r.mget("s", "l", "missing") == [b"v", None, None]


def test_setnx_msetnx_on_list_key_do_not_overwrite(r, make_list_key):
    make_list_key(r, "l")
    assert r.setnx("l", "x") is False
    assert r.msetnx({"l": "x", "new": "y"}) is False
    assert r.type("l") == b"list"
    assert r.exists("new") == 0


def test_lcs_on_non_string(r, make_list_key):
    make_list_key(r, "l")
    r.set("s", "v")
    assert rerr(r, "LCS", "l", "s") == "The specified keys must contain string values"
    assert rerr(r, "LCS", "s", "l") == "The specified keys must contain string values"


# ---------------------------------------------------------------- GETEX

def test_getex_no_options(r):
    r.set("k", "v", ex=100)
    assert r.execute_command("GETEX", "k") == b"v"
    assert 99 <= r.ttl("k") <= 100


def test_getex_ex_px_exat_pxat(r):
    r.set("k", "v")
    assert r.execute_command("GETEX", "k", "EX", "100") == b"v"
    assert 99 <= r.ttl("k") <= 100
    assert r.execute_command("GETEX", "k", "PX", "5000") == b"v"
    assert 4900 <= r.pttl("k") <= 5000
    t = now_s(r)
    assert r.execute_command("GETEX", "k", "EXAT", t + 200) == b"v"
    assert r.expiretime("k") == t + 200
    tm = now_ms(r)
    assert r.execute_command("GETEX", "k", "PXAT", tm + 300000) == b"v"
    assert r.pexpiretime("k") == tm + 300000


def test_getex_persist(r):
    r.set("k", "v", ex=100)
    assert r.execute_command("GETEX", "k", "PERSIST") == b"v"
    assert r.ttl("k") == -1


def test_getex_exat_past_deletes(r):
    r.set("k", "v")
    assert r.execute_command("GETEX", "k", "EXAT", "1") == b"v"
    assert r.exists("k") == 0


def test_getex_missing_key(raw):
    assert raw.cmd("GETEX", "nokey", "EX", "10") == b"$-1\r\n"
    assert raw.cmd("EXISTS", "nokey") == b":0\r\n"


@pytest.mark.parametrize("args", [
    ("EX", "10", "PX", "10"), ("PERSIST", "EX", "10"), ("EX", "10", "PERSIST"),
    ("FOO",), ("EX",), ("KEEPTTL",), ("NX",),
])
def test_getex_syntax_errors(raw, args):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("GETEX", "k", *args) == b"-ERR syntax error\r\n"


@pytest.mark.parametrize("args", [
    ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("EXAT", "0"), ("PXAT", "-1"),
    ("EX", "9223372036854775"),
])
def test_getex_invalid_expire(raw, args):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("GETEX", "k", *args) == b"-ERR invalid expire time in 'getex' command\r\n"
    assert raw.cmd("TTL", "k") == b":-1\r\n"


def test_getex_non_integer(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("GETEX", "k", "EX", "abc") == b"-ERR value is not an integer or out of range\r\n"


# ---------------------------------------------------------------- GETDEL / GETSET

def test_getdel(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("GETDEL", "k") == b"$1\r\nv\r\n"
    assert raw.cmd("GETDEL", "k") == b"$-1\r\n"
    assert raw.cmd("EXISTS", "k") == b":0\r\n"


def test_getset(r):
    assert r.getset("k", "v1") is None
    assert r.getset("k", "v2") == b"v1"
    assert r.get("k") == b"v2"


def test_getset_clears_ttl(r):
    r.set("k", "v", ex=100)
    assert r.getset("k", "w") == b"v"
    assert r.ttl("k") == -1


# ---------------------------------------------------------------- SETNX / SETEX / PSETEX

def test_setnx(raw):
    assert raw.cmd("SETNX", "k", "v") == b":1\r\n"
    assert raw.cmd("SETNX", "k", "w") == b":0\r\n"
    assert raw.cmd("GET", "k") == b"$1\r\nv\r\n"


def test_setex(r, raw):
    assert raw.cmd("SETEX", "k", "100", "v") == b"+OK\r\n"
    assert 99 <= r.ttl("k") <= 100
    assert r.get("k") == b"v"


def test_psetex(r, raw):
    assert raw.cmd("PSETEX", "k", "100000", "v") == b"+OK\r\n"
    assert 99000 <= r.pttl("k") <= 100000


@pytest.mark.parametrize("cmd,ttl", [
    ("SETEX", "0"), ("SETEX", "-1"), ("SETEX", "9223372036854775"),
    ("PSETEX", "0"), ("PSETEX", "-5"), ("PSETEX", "9223372036854775807"),
])
def test_setex_invalid_expire(raw, cmd, ttl):
    assert raw.cmd(cmd, "k", ttl, "v") == \
        b"-ERR invalid expire time in '%s' command\r\n" % cmd.lower().encode()
    assert raw.cmd("EXISTS", "k") == b":0\r\n"


def test_setex_non_integer(raw):
    assert raw.cmd("SETEX", "k", "abc", "v") == b"-ERR value is not an integer or out of range\r\n"
    assert raw.cmd("PSETEX", "k", "1.5", "v") == b"-ERR value is not an integer or out of range\r\n"


# ---------------------------------------------------------------- MSET / MSETNX / MGET

def test_mset_mget(raw):
    assert raw.cmd("MSET", "a", "1", "b", "2", "a", "3") == b"+OK\r\n"
    assert raw.cmd("MGET", "a", "b", "nokey") == b"*3\r\n$1\r\n3\r\n$1\r\n2\r\n$-1\r\n"


def test_mset_clears_ttl(r):
    r.set("a", "v", ex=100)
    r.mset({"a": "1"})
    assert r.ttl("a") == -1


def test_msetnx(raw):
    assert raw.cmd("MSETNX", "a", "1", "b", "2") == b":1\r\n"
    assert raw.cmd("MSETNX", "b", "x", "c", "3") == b":0\r\n"
    assert raw.cmd("MGET", "a", "b", "c") == b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"


@pytest.mark.parametrize("args", [("MSET", "a"), ("MSET", "a", "1", "b"),
                                  ("MSETNX", "a"), ("MSETNX", "a", "1", "b"),
                                  ("MGET",), ("MSET",)])
def test_mset_arity(raw, args):
    assert raw.cmd(*args) == \
        b"-ERR wrong number of arguments for '%s' command\r\n" % args[0].lower().encode()


# ---------------------------------------------------------------- APPEND / STRLEN

def test_append(raw):
    assert raw.cmd("APPEND", "a", "Hello") == b":5\r\n"
    assert raw.cmd("APPEND", "a", " World") == b":11\r\n"
    assert raw.cmd("GET", "a") == b"$11\r\nHello World\r\n"
    assert raw.cmd("APPEND", "a", "") == b":11\r\n"


def test_append_to_integer(r):
    r.set("i", "1")
    assert r.append("i", "2") == 2
    assert r.get("i") == b"12"
    assert r.incr("i") == 13


def test_append_keeps_ttl(r):
    r.set("a", "x", ex=100)
    r.append("a", "y")
    assert 99 <= r.ttl("a") <= 100


def test_strlen(raw):
    assert raw.cmd("STRLEN", "nokey") == b":0\r\n"
    raw.cmd("SET", "k", "hello")
    assert raw.cmd("STRLEN", "k") == b":5\r\n"
    raw.cmd("SET", "i", "-12345")
    assert raw.cmd("STRLEN", "i") == b":6\r\n"


# ---------------------------------------------------------------- GETRANGE / SUBSTR

@pytest.mark.parametrize("start,end,expected", [
    (0, 4, b"Hello"),
    (-5, -1, b"World"),
    (0, -1, b"Hello World"),
    (-100, 100, b"Hello World"),
    (5, 2, b""),
    (100, 200, b""),
    (-1, -5, b""),
    (6, 6, b"W"),
    (10, 100, b"d"),
    # redis 7.0: a negative end beyond the start is clamped to index 0
    (0, -100, b"H"),
    (-100, -50, b"H"),
])
def test_getrange(r, start, end, expected):
    r.set("s", "Hello World")
    assert r.getrange("s", start, end) == expected


def test_getrange_missing_key_is_empty_string(raw):
    assert raw.cmd("GETRANGE", "nokey", "0", "-1") == b"$0\r\n\r\n"


def test_getrange_empty_string(raw):
    raw.cmd("SET", "e", "")
    assert raw.cmd("GETRANGE", "e", "0", "-1") == b"$0\r\n\r\n"


def test_getrange_on_integer_encoded(r):
    r.set("i", "12345")
    assert r.getrange("i", 1, 2) == b"23"
    assert r.getrange("i", -2, -1) == b"45"


def test_getrange_extreme_indices(r):
    r.set("s", "Hello")
    assert r.getrange("s", 9223372036854775807, 9223372036854775807) == b""
    assert r.getrange("s", 0, 9223372036854775807) == b"Hello"


def test_getrange_errors(raw):
    raw.cmd("SET", "s", "x")
    assert raw.cmd("GETRANGE", "s", "0") == b"-ERR wrong number of arguments for 'getrange' command\r\n"
    assert raw.cmd("GETRANGE", "s", "a", "1") == b"-ERR value is not an integer or out of range\r\n"


def test_substr(r):
    r.set("s", "Hello World")
    assert r.execute_command("SUBSTR", "s", "0", "4") == b"Hello"
    assert r.execute_command("SUBSTR", "s", "-5", "-1") == b"World"


# ---------------------------------------------------------------- SETRANGE

def test_setrange_pads_with_zero_bytes(raw):
    assert raw.cmd("SETRANGE", "k", "5", "abc") == b":8\r\n"
    assert raw.cmd("GET", "k") == b"$8\r\n\x00\x00\x00\x00\x00abc\r\n"
    assert raw.cmd("SETRANGE", "k", "0", "XY") == b":8\r\n"
    assert raw.cmd("GET", "k") == b"$8\r\nXY\x00\x00\x00abc\r\n"
    assert raw.cmd("SETRANGE", "k", "10", "Z") == b":11\r\n"
    assert raw.cmd("GET", "k") == b"$11\r\nXY\x00\x00\x00abc\x00\x00Z\r\n"


def test_setrange_overwrite_middle(r):
    r.set("k", "Hello World")
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == b"Hello Redis"


def test_setrange_on_integer(r):
    r.set("i", "123")
    assert r.setrange("i", 1, "x") == 3
    assert r.get("i") == b"1x3"


def test_setrange_empty_value(raw):
    assert raw.cmd("SETRANGE", "nk", "0", "") == b":0\r\n"
    assert raw.cmd("SETRANGE", "nk", "100", "") == b":0\r\n"
    assert raw.cmd("EXISTS", "nk") == b":0\r\n"
    raw.cmd("SET", "k", "abc")
    assert raw.cmd("SETRANGE", "k", "20", "") == b":3\r\n"
    assert raw.cmd("GET", "k") == b"$3\r\nabc\r\n"
    # no size check with an empty value
    assert raw.cmd("SETRANGE", "k", "536870912", "") == b":3\r\n"


def test_setrange_negative_offset(raw):
    assert raw.cmd("SETRANGE", "k", "-1", "x") == b"-ERR offset is out of range\r\n"
    assert raw.cmd("SETRANGE", "k", "-1", "") == b"-ERR offset is out of range\r\n"


def test_setrange_too_big(raw):
    assert raw.cmd("SETRANGE", "k", "536870912", "x") == \
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    assert raw.cmd("SETRANGE", "k", "536870911", "xy") == \
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    assert raw.cmd("EXISTS", "k") == b":0\r\n"


def test_setrange_non_integer(raw):
    assert raw.cmd("SETRANGE", "k", "x", "v") == b"-ERR value is not an integer or out of range\r\n"


def test_setrange_keeps_ttl(r):
    r.set("k", "abc", ex=100)
    r.setrange("k", 1, "X")
    assert 99 <= r.ttl("k") <= 100


# ---------------------------------------------------------------- INCR family

def test_incr_decr_basic(raw):
    assert raw.cmd("INCR", "n") == b":1\r\n"
    assert raw.cmd("INCR", "n") == b":2\r\n"
    assert raw.cmd("DECR", "n") == b":1\r\n"
    assert raw.cmd("INCRBY", "n", "10") == b":11\r\n"
    assert raw.cmd("DECRBY", "n", "20") == b":-9\r\n"
    assert raw.cmd("INCRBY", "n", "-1") == b":-10\r\n"
    assert raw.cmd("DECRBY", "n", "-10") == b":0\r\n"
    assert raw.cmd("GET", "n") == b"$1\r\n0\r\n"
    assert raw.cmd("DECR", "m") == b":-1\r\n"


def test_incr_result_is_string_value(r):
    r.set("n", "41")
    assert r.incr("n") == 42
    assert r.get("n") == b"42"
    assert r.object("encoding", "n") == b"int"


def test_incr_keeps_ttl(r):
    r.set("n", "1", ex=100)
    r.incr("n")
    assert 99 <= r.ttl("n") <= 100


def test_incr_overflow(raw):
    raw.cmd("SET", "n", "9223372036854775806")
    assert raw.cmd("INCR", "n") == b":9223372036854775807\r\n"
    assert raw.cmd("INCR", "n") == b"-ERR increment or decrement would overflow\r\n"
    assert raw.cmd("INCRBY", "n", "1") == b"-ERR increment or decrement would overflow\r\n"
    assert raw.cmd("GET", "n") == b"$19\r\n9223372036854775807\r\n"
    raw.cmd("SET", "m", "-9223372036854775808")
    assert raw.cmd("DECR", "m") == b"-ERR increment or decrement would overflow\r\n"
    assert raw.cmd("DECRBY", "m", "1") == b"-ERR increment or decrement would overflow\r\n"
    assert raw.cmd("INCRBY", "m", "-1") == b"-ERR increment or decrement would overflow\r\n"
    assert raw.cmd("DECRBY", "m", "-1") == b":-9223372036854775807\r\n"


def test_incrby_extremes(raw):
    assert raw.cmd("INCRBY", "x", "9223372036854775807") == b":9223372036854775807\r\n"
    assert raw.cmd("INCRBY", "y", "-9223372036854775808") == b":-9223372036854775808\r\n"
    assert raw.cmd("DECRBY", "z", "9223372036854775807") == b":-9223372036854775807\r\n"


def test_decrby_min_int64(raw):
    # negating LLONG_MIN is refused with its own message
    assert raw.cmd("DECRBY", "y", "-9223372036854775808") == b"-ERR decrement would overflow\r\n"
    assert raw.cmd("EXISTS", "y") == b":0\r\n"


@pytest.mark.parametrize("value", ["abc", " 1", "1 ", "+1", "01", "1.0", "",
                                   "99999999999999999999", "0x10", "1e3"])
def test_incr_on_non_integer_value(raw, value):
    raw.cmd("SET", "n", value)
    assert raw.cmd("INCR", "n") == b"-ERR value is not an integer or out of range\r\n"
    assert raw.cmd("DECRBY", "n", "1") == b"-ERR value is not an integer or out of range\r\n"


@pytest.mark.parametrize("incr", ["abc", "1.5", "", "99999999999999999999", " 1"])
def test_incrby_non_integer_argument(raw, incr):
    assert raw.cmd("INCRBY", "n", incr) == b"-ERR value is not an integer or out of range\r\n"
    assert raw.cmd("DECRBY", "n", incr) == b"-ERR value is not an integer or out of range\r\n"


def test_incr_negative_zero_string(raw):
    raw.cmd("SET", "n", "-0")
    assert raw.cmd("INCR", "n") == b"-ERR value is not an integer or out of range\r\n"


# ---------------------------------------------------------------- INCRBYFLOAT

@pytest.mark.parametrize("initial,incr,expected", [
    (None, "10.5", b"10.5"),
    ("10.5", "0.1", b"10.6"),
    ("5.0e3", "0", b"5000"),
    (None, "5.0e3", b"5000"),
    (None, "3.0000000000000001", b"3.0000000000000001"),
    ("0.1", "0.2", b"0.3"),
    (None, "-0", b"0"),
    (None, "1e-5", b"0.00001"),
    (None, "1e20", b"100000000000000000000"),
    ("10", "2", b"12"),
    ("1", "-1.5", b"-0.5"),
    (None, "1.", b"1"),
    (None, ".5", b"0.5"),
    ("3", "-3", b"0"),
    ("1.5", "1", b"2.5"),
    (None, "-5.25", b"-5.25"),
])
def test_incrbyfloat_formatting(r, raw, initial, incr, expected):
    if initial is not None:
        r.set("f", initial)
    assert raw.cmd("INCRBYFLOAT", "f", incr) == b"$%d\r\n%s\r\n" % (len(expected), expected)
    assert r.get("f") == expected


def test_incrbyfloat_accumulates(r):
    for _ in range(10):
        r.incrbyfloat("f", "0.1")
    assert r.get("f") == b"1"


def test_incrbyfloat_keeps_ttl(r):
    r.set("f", "1", ex=100)
    r.incrbyfloat("f", 1)
    assert 99 <= r.ttl("f") <= 100


@pytest.mark.parametrize("incr", ["inf", "-inf", "+inf"])
def test_incrbyfloat_infinity(raw, incr):
    assert raw.cmd("INCRBYFLOAT", "f", incr) == b"-ERR increment would produce NaN or Infinity\r\n"
    assert raw.cmd("EXISTS", "f") == b":0\r\n"


@pytest.mark.parametrize("incr", ["nan", "abc", "1.0x", "", " 1", "1.5e"])
def test_incrbyfloat_not_float_argument(raw, incr):
    assert raw.cmd("INCRBYFLOAT", "f", incr) == b"-ERR value is not a valid float\r\n"


@pytest.mark.parametrize("value", ["abc", " 1", "1,5", ""])
def test_incrbyfloat_not_float_value(raw, value):
    raw.cmd("SET", "f", value)
    assert raw.cmd("INCRBYFLOAT", "f", "1") == b"-ERR value is not a valid float\r\n"


# ---------------------------------------------------------------- LCS

@pytest.fixture
def lcs_keys(r):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    return r


def test_lcs_plain(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2") == b"$6\r\nmytext\r\n"


def test_lcs_len(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2", "LEN") == b":6\r\n"


def test_lcs_idx(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2", "IDX") == (
        b"*4\r\n$7\r\nmatches\r\n*2\r\n"
        b"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
        b"$3\r\nlen\r\n:6\r\n")


def test_lcs_idx_minmatchlen(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4") == (
        b"*4\r\n$7\r\nmatches\r\n*1\r\n"
        b"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"$3\r\nlen\r\n:6\r\n")


def test_lcs_idx_withmatchlen(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == (
        b"*4\r\n$7\r\nmatches\r\n*1\r\n"
        b"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert raw.cmd("LCS", "key1", "key2", "idx", "withmatchlen") == (
        b"*4\r\n$7\r\nmatches\r\n*2\r\n"
        b"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n"
        b"$3\r\nlen\r\n:6\r\n")


def test_lcs_negative_minmatchlen_is_zero(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2", "MINMATCHLEN", "-5", "IDX") == \
        raw.cmd("LCS", "key1", "key2", "IDX")


def test_lcs_withmatchlen_without_idx_is_ignored(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2", "WITHMATCHLEN") == b"$6\r\nmytext\r\n"
    assert raw.cmd("LCS", "key1", "key2", "LEN", "WITHMATCHLEN") == b":6\r\n"


def test_lcs_missing_keys(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "nokey") == b"$0\r\n\r\n"
    assert raw.cmd("LCS", "nokey", "nokey2") == b"$0\r\n\r\n"
    assert raw.cmd("LCS", "nokey", "nokey2", "LEN") == b":0\r\n"
    assert raw.cmd("LCS", "nokey", "nokey2", "IDX") == \
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"


def test_lcs_errors(raw, lcs_keys):
    assert raw.cmd("LCS", "key1", "key2", "LEN", "IDX") == \
        b"-ERR If you want both the length and indexes, please just use IDX.\r\n"
    assert raw.cmd("LCS", "key1", "key2", "FOO") == b"-ERR syntax error\r\n"
    assert raw.cmd("LCS", "key1", "key2", "MINMATCHLEN") == b"-ERR syntax error\r\n"
    assert raw.cmd("LCS", "key1", "key2", "MINMATCHLEN", "abc") == \
        b"-ERR value is not an integer or out of range\r\n"
    assert raw.cmd("LCS", "key1") == b"-ERR wrong number of arguments for 'lcs' command\r\n"


def test_lcs_identical_and_disjoint(r):
    r.mset({"a": "abcdef", "b": "abcdef", "c": "xyz"})
    assert r.execute_command("LCS", "a", "b") == b"abcdef"
    assert r.execute_command("LCS", "a", "c") == b""
    assert r.execute_command("LCS", "a", "c", "LEN") == 0

"""Hash commands (Redis 7.0 behaviour: replies, error texts, edge cases, encodings).

Every test holds against redis-server 7.0.15 (STRATA_TARGET=redis) and against Strata in
each tier mode. Encodings are only checked right after a hash grew (a form follows the
contents, and a hash read back from RocksDB takes the form its contents call for)."""

import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def rerr(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


@pytest.fixture
def entries_limit(r):
    old = r.config_get("hash-max-listpack-entries")["hash-max-listpack-entries"]
    yield lambda n: r.config_set("hash-max-listpack-entries", n)
    r.config_set("hash-max-listpack-entries", old)


def test_hset_hget_and_counts(r):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert r.execute_command("HSET", "h", "a", "9", "c", "3") == 1
    assert r.hget("h", "a") == b"9"
    assert r.hget("h", "zz") is None
    assert r.hget("missing", "a") is None
    assert r.hlen("h") == 3 and r.hlen("missing") == 0
    assert r.type("h") == b"hash"
    assert r.hgetall("h") == {b"a": b"9", b"b": b"2", b"c": b"3"}
    assert sorted(r.hkeys("h")) == [b"a", b"b", b"c"]
    assert sorted(r.hvals("h")) == [b"2", b"3", b"9"]
    assert r.hgetall("missing") == {} and r.hkeys("missing") == [] and r.hvals("missing") == []


def test_hset_arity(r):
    assert rerr(r, "HSET", "h", "a") == "wrong number of arguments for 'hset' command"
    assert rerr(r, "HSET", "h", "a", "1", "b") == "wrong number of arguments for 'hset' command"
    assert rerr(r, "HMSET", "h", "a", "1", "b") == "wrong number of arguments for 'hmset' command"
    assert r.exists("h") == 0


def test_hmset_hmget_hsetnx(r):
    assert r.execute_command("HMSET", "h", "a", "1", "b", "2") is True  # redis-py's reading of +OK
    assert r.hmget("h", "a", "x", "b") == [b"1", None, b"2"]
    assert r.hmget("missing", "a", "b") == [None, None]
    assert r.hsetnx("h", "a", "other") == 0
    assert r.hsetnx("h", "n", "new") == 1
    assert r.hget("h", "a") == b"1" and r.hget("h", "n") == b"new"


def test_hdel_hexists_and_last_field_deletes_key(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hexists("h", "a") is True and r.hexists("h", "z") is False
    assert r.hdel("h", "a", "a", "zz") == 1
    assert r.hdel("missing", "a") == 0
    assert r.hdel("h", "b", "c") == 2
    assert r.exists("h") == 0


def test_hstrlen(r):
    r.hset("h", "f", "hello")
    assert r.hstrlen("h", "f") == 5
    assert r.hstrlen("h", "nope") == 0
    assert r.hstrlen("missing", "f") == 0


def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -7) == -2
    r.hset("h", "s", "abc")
    assert rerr(r, "HINCRBY", "h", "s", 1) == "hash value is not an integer"
    assert rerr(r, "HINCRBY", "h", "n", "x") == "value is not an integer or out of range"
    r.hset("h", "big", str(2 ** 63 - 1))
    assert rerr(r, "HINCRBY", "h", "big", 1) == "increment or decrement would overflow"
    assert r.hget("h", "big") == str(2 ** 63 - 1).encode()


def test_hincrbyfloat(r):
    r.hset("h", "f", "10.5")
    # redis-py turns the reply into a float; the stored text is checked as bytes.
    assert r.hincrbyfloat("h", "f", 0.1) == 10.6 and r.hget("h", "f") == b"10.6"
    assert r.hincrbyfloat("h", "new", 3) == 3 and r.hget("h", "new") == b"3"
    assert r.hincrbyfloat("h", "f", -10.6) == 0 and r.hget("h", "f") == b"0"
    r.hset("h", "s", "abc")
    assert rerr(r, "HINCRBYFLOAT", "h", "s", "1") == "hash value is not a float"
    assert rerr(r, "HINCRBYFLOAT", "h", "f", "x") == "value is not a valid float"
    assert rerr(r, "HINCRBYFLOAT", "h", "f", "inf") == "value is NaN or Infinity"


def test_hrandfield(r):
    assert r.hrandfield("missing") is None
    assert r.hrandfield("missing", 3) == []
    fields = {"f%d" % i: "v%d" % i for i in range(20)}
    r.hset("h", mapping=fields)
    assert r.hrandfield("h").decode() in fields
    assert r.hrandfield("h", 0) == []
    got = r.hrandfield("h", 5)
    assert len(got) == 5 and len(set(got)) == 5
    assert sorted(r.hrandfield("h", 100)) == sorted(k.encode() for k in fields)
    repeated = r.hrandfield("h", -50)
    assert len(repeated) == 50 and all(k.decode() in fields for k in repeated)
    pairs = r.hrandfield("h", 4, withvalues=True)
    assert len(pairs) == 8
    for field, value in zip(pairs[0::2], pairs[1::2]):
        assert fields[field.decode()] == value.decode()
    assert rerr(r, "HRANDFIELD", "h", "1", "nope") == "syntax error"
    assert rerr(r, "HRANDFIELD", "h", "x") == "value is not an integer or out of range"


def test_hscan_returns_every_pair(r):
    fields = {"f%d" % i: "v%d" % i for i in range(1000)}
    r.hset("h", mapping=fields)
    seen = {}
    cursor = 0
    while True:
        cursor, page = r.hscan("h", cursor, count=50)
        seen.update(page)
        if cursor == 0:
            break
    assert seen == {k.encode(): v.encode() for k, v in fields.items()}
    _, small = r.hscan("h", 0, match="f99?", count=2000)
    assert sorted(small) == [b"f99%d" % i for i in range(10)]
    assert rerr(r, "HSCAN", "h", "x") == "invalid cursor"
    assert r.hscan("missing", 0) == (0, {})


def test_wrongtype_both_ways(r):
    r.set("s", "x")
    for args in (("HSET", "s", "a", "1"), ("HGET", "s", "a"), ("HGETALL", "s"), ("HDEL", "s", "a"),
                 ("HLEN", "s"), ("HINCRBY", "s", "a", 1), ("HSCAN", "s", 0), ("HRANDFIELD", "s")):
        assert rerr(r, *args) == WRONGTYPE, args
    r.hset("h", "a", "1")
    for args in (("GET", "h"), ("LPUSH", "h", "x"), ("SADD", "h", "x")):
        assert rerr(r, *args) == WRONGTYPE, args


def test_binary_and_empty_fields(r):
    field, value = b"\x00\xff\r\n", b"\xff\x00" * 5000
    r.hset("h", field, value)
    r.hset("h", "", "")
    assert r.hget("h", field) == value
    assert r.hget("h", "") == b""
    assert r.hlen("h") == 2


def test_encoding_converts_at_the_limits(r, entries_limit):
    entries_limit(4)
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.object("encoding", "h") == b"listpack"
    r.hset("h", mapping={"d": "4", "e": "5"})
    assert r.object("encoding", "h") == b"hashtable"
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4", b"e": b"5"}
    r.hset("long", "f", "x" * 65)
    assert r.object("encoding", "long") == b"hashtable"
    assert r.config_set("hash-max-ziplist-entries", 7)
    assert r.config_get("hash-max-listpack-entries")["hash-max-listpack-entries"] == "7"


def test_large_hash_renamed_copied_and_expired(r):
    fields = {"f%d" % i: "v%d" % i for i in range(1000)}
    r.hset("h", mapping=fields)
    assert r.rename("h", "h2")
    assert r.copy("h2", "h3")
    expected = {k.encode(): v.encode() for k, v in fields.items()}
    assert r.hgetall("h2") == expected and r.hgetall("h3") == expected
    assert r.expire("h3", 100) and 0 < r.ttl("h3") <= 100
    assert r.persist("h3") and r.ttl("h3") == -1
    assert r.hdel("h2", *fields) == 1000
    assert r.exists("h2") == 0

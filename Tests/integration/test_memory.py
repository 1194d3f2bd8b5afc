"""MEMORY USAGE | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP.

The figures differ between implementations (and runs), so the tests check shapes, types,
error texts and relations that hold for any honest accounting: a key's usage grows with its
value, keys.count is the number of keys, ratios are numbers. Runs in every tier mode: a
cold key must answer as if it were hot.
"""

import pytest
import redis

from conftest import parse_resp


def rerr(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def usage(r, key, *options):
    return r.execute_command("MEMORY", "USAGE", key, *options)


def fill(r, kind, key, n):
    """A value of `kind` with n elements (n * 10 bytes for a string)."""
    r.delete(key)
    if kind == "string":
        r.set(key, b"y" * (n * 10))
    elif kind == "list":
        r.rpush(key, *[b"x" * 10] * n)
    elif kind == "hash":
        r.hset(key, mapping={b"f%d" % i: b"v" * 10 for i in range(n)})
    elif kind == "set":
        r.sadd(key, *[b"m%d" % i for i in range(n)])


def stats_dict(r):
    """MEMORY STATS as a dict of bytes names, from the RESP2 flat array."""
    reply = r.execute_command("MEMORY", "STATS")
    return reply if isinstance(reply, dict) else dict(zip(reply[0::2], reply[1::2]))


def raw_stats_pairs(raw):
    """MEMORY STATS as (name, value) pairs, decoded from the raw reply."""
    reply = parse_resp(raw.cmd("MEMORY", "STATS"))
    if reply and isinstance(reply[0], tuple):  # RESP3 map
        return reply
    return list(zip(reply[0::2], reply[1::2]))


INTEGER_FIELDS = [
    b"peak.allocated", b"total.allocated", b"startup.allocated", b"replication.backlog",
    b"clients.slaves", b"clients.normal", b"cluster.links", b"aof.buffer", b"lua.caches",
    b"functions.caches", b"overhead.total", b"keys.count", b"keys.bytes-per-key",
    b"dataset.bytes", b"allocator.allocated", b"allocator.active", b"allocator.resident",
    b"allocator-fragmentation.bytes", b"allocator-rss.bytes", b"rss-overhead.bytes",
    b"fragmentation.bytes",
]
DOUBLE_FIELDS = [
    b"dataset.percentage", b"peak.percentage", b"allocator-fragmentation.ratio",
    b"allocator-rss.ratio", b"rss-overhead.ratio", b"fragmentation",
]


# ---------------------------------------------------------------- USAGE

def test_usage_missing_key_is_nil(r):
    assert usage(r, "nokey") is None
    assert usage(r, "nokey", "SAMPLES", "5") is None


def test_usage_of_a_string(r):
    r.set("k", "v")
    small = usage(r, "k")
    assert isinstance(small, int) and small > 0
    r.set("k", b"y" * 100_000)
    large = usage(r, "k")
    # the value's bytes are all in RAM, plus the allocator's rounding and some overhead
    assert 100_000 <= large < 2 * 100_000
    assert large > small


@pytest.mark.parametrize("kind", ["string", "list", "hash", "set"])
def test_usage_grows_with_the_value(r, kind):
    sizes = [10, 100, 1000]
    figures = []
    for n in sizes:
        fill(r, kind, "k", n)
        figures.append(usage(r, "k"))
    assert figures[0] < figures[1] < figures[2], figures
    # roughly proportional: 100x the elements is far more than 20x the bytes, and each
    # element's 10 bytes are counted
    assert figures[2] > 20 * figures[0], figures
    assert figures[2] >= 1000 * 10, figures


@pytest.mark.parametrize("kind", ["list", "hash", "set"])
def test_usage_samples_option(r, kind):
    fill(r, kind, "k", 500)
    assert usage(r, "k", "SAMPLES", "0") > 500 * 10
    assert usage(r, "k", "samples", "1") > 0
    assert usage(r, "k", "SAMPLES", "5", "SAMPLES", "0") > 0


def test_usage_does_not_count_as_an_access(r):
    r.set("k", "v")
    before = r.info("stats")
    usage(r, "k")
    usage(r, "nokey")
    after = r.info("stats")
    assert after["keyspace_hits"] == before["keyspace_hits"]
    assert after["keyspace_misses"] == before["keyspace_misses"]


@pytest.mark.parametrize("options,error", [
    (("SAMPLES", "-1"), "syntax error"),
    (("SAMPLES", "x"), "value is not an integer or out of range"),
    (("SAMPLES", "99999999999999999999"), "value is not an integer or out of range"),
    (("SAMPLES",), "syntax error"),
    (("FOO", "1"), "syntax error"),
    (("SAMPLES", "1", "FOO"), "syntax error"),
])
def test_usage_option_errors(r, options, error):
    r.set("k", "v")
    assert rerr(r, "MEMORY", "USAGE", "k", *options) == error
    # options are checked before the key is looked up
    assert rerr(r, "MEMORY", "USAGE", "nokey", *options) == error


def test_usage_in_another_database(r):
    r.execute_command("SELECT", 1)
    try:
        r.set("k", b"y" * 1000)
        assert usage(r, "k") >= 1000
    finally:
        r.execute_command("SELECT", 0)
    assert usage(r, "k") is None


def test_usage_inside_multi(r):
    r.set("k", b"y" * 1000)
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("MEMORY", "USAGE", "k")
    pipe.execute_command("MEMORY", "USAGE", "nokey")
    first, second = pipe.execute()
    assert first >= 1000 and second is None


@pytest.mark.strata_only
@pytest.mark.parametrize("kind", ["string", "list", "hash", "set"])
def test_usage_of_a_cold_key_is_its_hot_usage(r, kind):
    fill(r, kind, "k", 300)
    hot = usage(r, "k")
    try:
        r.execute_command("TIER", "DEMOTE", "k")
    except redis.ResponseError as e:
        pytest.skip(str(e))
    assert r.execute_command("TIER", "GET", "k") == b"cold"
    assert usage(r, "k") == hot
    assert r.execute_command("TIER", "DEMOTE", "k") in (0, 1)
    assert usage(r, "k", "SAMPLES", "0") == hot


# ---------------------------------------------------------------- STATS

def test_stats_fields_and_types(r):
    r.mset({"a": "1", "b": "2", "c": "3"})
    r.rpush("l", "x", "y")
    stats = stats_dict(r)
    for name in INTEGER_FIELDS:
        assert isinstance(stats[name], int), name
    for name in DOUBLE_FIELDS:
        float(stats[name])  # a bulk string holding a double in RESP2
    assert stats[b"keys.count"] == r.dbsize() == 4
    assert stats[b"total.allocated"] > 0
    assert stats[b"peak.allocated"] >= stats[b"total.allocated"] * 0.5
    assert stats[b"allocator.resident"] >= stats[b"allocator.active"] > 0
    db0 = stats[b"db.0"]
    db0 = db0 if isinstance(db0, dict) else dict(zip(db0[0::2], db0[1::2]))
    assert isinstance(db0[b"overhead.hashtable.main"], int)
    assert isinstance(db0[b"overhead.hashtable.expires"], int)


def test_stats_order_and_databases(raw):
    raw.cmd("SET", "a", "1")
    raw.cmd("SELECT", "2")
    raw.cmd("SET", "b", "1")
    raw.cmd("SET", "c", "1")
    names = [name for name, _ in raw_stats_pairs(raw)]
    assert names[:10] == [b"peak.allocated", b"total.allocated", b"startup.allocated",
                          b"replication.backlog", b"clients.slaves", b"clients.normal",
                          b"cluster.links", b"aof.buffer", b"lua.caches", b"functions.caches"]
    # one entry per database that holds keys, in order, then the totals
    assert names[10:12] == [b"db.0", b"db.2"]
    assert names[12:] == [b"overhead.total", b"keys.count", b"keys.bytes-per-key",
                          b"dataset.bytes", b"dataset.percentage", b"peak.percentage",
                          b"allocator.allocated", b"allocator.active", b"allocator.resident",
                          b"allocator-fragmentation.ratio", b"allocator-fragmentation.bytes",
                          b"allocator-rss.ratio", b"allocator-rss.bytes", b"rss-overhead.ratio",
                          b"rss-overhead.bytes", b"fragmentation", b"fragmentation.bytes"]
    stats = dict(raw_stats_pairs(raw))
    assert stats[b"keys.count"] == 3
    raw.cmd("FLUSHALL")
    names = [name for name, _ in raw_stats_pairs(raw)]
    assert not [n for n in names if n.startswith(b"db.")]
    assert dict(raw_stats_pairs(raw))[b"keys.count"] == 0


def test_stats_keys_count_follows_dbsize(r):
    for i in range(50):
        r.set("k%d" % i, b"v" * 100)
    assert stats_dict(r)[b"keys.count"] == r.dbsize() == 50
    r.delete(*["k%d" % i for i in range(20)])
    assert stats_dict(r)[b"keys.count"] == r.dbsize() == 30


def test_stats_resp3_map(r3, raw):
    r3.set("a", "1")
    stats = r3.execute_command("MEMORY", "STATS")
    assert isinstance(stats, dict)
    assert stats[b"keys.count"] == 1
    assert isinstance(stats[b"dataset.percentage"], float)
    assert isinstance(stats[b"db.0"], dict)
    assert stats[b"db.0"][b"overhead.hashtable.main"] >= 0
    # the exact framing: a map, doubles as RESP3 doubles, a nested map per database
    raw.cmd("HELLO", "3")
    reply = raw.cmd("MEMORY", "STATS")
    assert reply.startswith(b"%")
    assert b"$18\r\ndataset.percentage\r\n," in reply
    assert b"$4\r\ndb.0\r\n%" in reply


def test_stats_resp2_flat_array(raw):
    raw.cmd("SET", "a", "1")
    reply = raw.cmd("MEMORY", "STATS")
    count = int(reply[1:reply.index(b"\r\n")])
    assert reply.startswith(b"*") and count % 2 == 0
    assert b"$18\r\ndataset.percentage\r\n$" in reply
    assert b"$4\r\ndb.0\r\n*" in reply


# ---------------------------------------------------------------- DOCTOR / MALLOC-STATS / PURGE

def test_doctor_text(r):
    text = r.execute_command("MEMORY", "DOCTOR")
    assert isinstance(text, bytes) and text
    assert b"Sam" in text
    assert text.endswith(b"\n")


def test_doctor_resp3_verbatim(raw):
    raw.cmd("HELLO", "3")
    reply = raw.cmd("MEMORY", "DOCTOR")
    assert reply.startswith(b"=") and b"\r\ntxt:" in reply


def test_malloc_stats_text(r):
    text = r.execute_command("MEMORY", "MALLOC-STATS")
    assert b"Begin jemalloc statistics" in text
    assert b"End jemalloc statistics" in text


def test_purge(r):
    r.set("k", b"y" * 100_000)
    r.delete("k")
    assert r.execute_command("MEMORY", "PURGE") in (b"OK", True)
    assert r.ping()


# ---------------------------------------------------------------- HELP, errors, command table

def test_help(r):
    lines = r.execute_command("MEMORY", "HELP")
    assert lines[0] == b"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    for line in (b"DOCTOR", b"MALLOC-STATS", b"PURGE", b"STATS", b"USAGE <key> [SAMPLES <count>]",
                 b"HELP"):
        assert line in lines
    assert lines[-1] == b"    Prints this help."


@pytest.mark.parametrize("cmd,error", [
    (("MEMORY",), "wrong number of arguments for 'memory' command"),
    (("MEMORY", "USAGE"), "wrong number of arguments for 'memory|usage' command"),
    (("MEMORY", "STATS", "x"), "wrong number of arguments for 'memory|stats' command"),
    (("MEMORY", "DOCTOR", "x"), "wrong number of arguments for 'memory|doctor' command"),
    (("MEMORY", "PURGE", "x"), "wrong number of arguments for 'memory|purge' command"),
    (("MEMORY", "HELP", "x"), "wrong number of arguments for 'memory|help' command"),
    (("MEMORY", "FOO"), "unknown subcommand 'FOO'. Try MEMORY HELP."),
])
def test_errors(r, cmd, error):
    assert rerr(r, *cmd) == error


def test_command_info_and_getkeys(raw):
    info = raw.call("COMMAND", "INFO", "memory|usage")[0]
    assert info[0] == b"memory|usage"
    assert info[1] == -3
    assert b"readonly" in info[2]
    assert (info[3], info[4], info[5]) == (2, 2, 1)
    assert raw.call("COMMAND", "GETKEYS", "MEMORY", "USAGE", "k") == [b"k"]
    top = raw.call("COMMAND", "INFO", "memory")[0]
    assert top[1] == -2
    assert sorted(sub[0] for sub in top[9]) == [
        b"memory|doctor", b"memory|help", b"memory|malloc-stats", b"memory|purge",
        b"memory|stats", b"memory|usage"]
    docs = raw.call("COMMAND", "DOCS", "memory")
    assert docs[0] == b"memory"


def test_bad_input_does_not_hurt_the_server(r):
    for args in [("USAGE", ""), ("USAGE", "k", "SAMPLES", ""), ("USAGE", "k", "SAMPLES", "-0"),
                 ("USAGE", b"\x00\xff"), ("STATS",), ("DOCTOR",), ("PURGE",), ("HELP",),
                 (b"\xff\xfe",), ("USAGE", "k", "SAMPLES", "9223372036854775807")]:
        try:
            r.execute_command("MEMORY", *args)
        except redis.ResponseError:
            pass
    assert r.ping()

"""Set commands (Redis 7.0 behaviour: replies, error texts, edge cases, encodings).

Every test holds against redis-server 7.0.15 (STRATA_TARGET=redis) and against Strata in
each tier mode. The one deliberate difference: Strata keeps a small set of strings in a
listpack (Redis 7.2's form), where 7.0 reports "hashtable" (SMALL_STRINGS). Encoding
assertions are only made where a set read back from RocksDB takes the same form (a form
follows the contents: a set that shrank is not checked)."""

import time

import pytest
import redis

from conftest import TARGET

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "value is not an integer or out of range"
SYNTAX = "syntax error"
MUST_BE_POSITIVE = "value is out of range, must be positive"
SMALL_STRINGS = b"hashtable" if TARGET == "redis" else b"listpack"


def rerr(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def members(r, key):
    return set(r.smembers(key))


def enc(r, key):
    return r.object("encoding", key)


@pytest.fixture
def intset_limit(r):
    """Lets a test change set-max-intset-entries; puts 512 back afterwards."""
    yield lambda n: r.config_set("set-max-intset-entries", n)
    r.config_set("set-max-intset-entries", 512)


# ---------------------------------------------------------------- SADD / SREM / SCARD

def test_sadd_creates_and_counts_new_members(r):
    assert r.sadd("s", "a", "b", "c") == 3
    assert r.sadd("s", "a", "d") == 1
    assert r.sadd("s", "a", "a", "e", "e") == 1
    assert r.sadd("s", "a") == 0
    assert members(r, "s") == {b"a", b"b", b"c", b"d", b"e"}
    assert r.scard("s") == 5
    assert r.type("s") == b"set"


def test_sadd_duplicates_in_one_call_on_new_key(r):
    assert r.sadd("s", "x", "x", "x") == 1
    assert r.smembers("s") == {b"x"}
    assert r.sadd("i", 5, 5, 7) == 2
    assert r.smembers("i") == {b"5", b"7"}


def test_srem(r):
    r.sadd("s", "a", "b", "c", "d")
    assert r.srem("s", "a", "zz") == 1
    assert r.srem("s", "b", "b") == 1
    assert r.srem("s", "nope") == 0
    assert members(r, "s") == {b"c", b"d"}
    assert r.srem("missing", "a") == 0
    assert r.exists("missing") == 0


def test_srem_last_member_deletes_key(r):
    r.sadd("s", "a", "b")
    assert r.srem("s", "a", "b", "c") == 2
    assert r.exists("s") == 0
    assert r.type("s") == b"none"
    r.sadd("i", 1, 2)
    assert r.srem("i", 1, 2) == 2
    assert r.exists("i") == 0


def test_srem_on_intset_with_non_integers(r):
    r.sadd("i", 1, 2, 3)
    assert r.srem("i", "a", "01", "-0", " 1") == 0
    assert r.srem("i", "2") == 1
    assert r.smembers("i") == {b"1", b"3"}


def test_scard_missing_and_sizes(r):
    assert r.scard("missing") == 0
    r.sadd("s", *range(1000))
    assert r.scard("s") == 1000
    r.sadd("s", "x")
    assert r.scard("s") == 1001


# ---------------------------------------------------------------- membership

def test_sismember(r):
    r.sadd("s", "a", "b")
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "c") == 0
    assert r.sismember("missing", "a") == 0
    r.sadd("i", 1, 2, -3)
    assert r.sismember("i", "-3") == 1
    assert r.sismember("i", "2") == 1
    assert r.sismember("i", "02") == 0
    assert r.sismember("i", "x") == 0


def test_smismember(r):
    r.sadd("s", "a", "b")
    assert r.smismember("s", "a", "x", "b", "a") == [1, 0, 1, 1]
    assert r.smismember("missing", "a", "b") == [0, 0]
    r.sadd("i", 10, 20)
    assert r.smismember("i", "10", "30", "abc") == [1, 0, 0]


def test_smembers(r):
    assert r.smembers("missing") == set()
    r.sadd("s", "x", "y", "z")
    assert r.smembers("s") == {b"x", b"y", b"z"}


def test_smembers_intset_in_ascending_order(raw):
    # An intset is sorted in both servers; the reply walks it in order.
    raw.call("SADD", "i", "5", "-9223372036854775808", "0", "9223372036854775807", "-1")
    assert raw.call("SMEMBERS", "i") == [b"-9223372036854775808", b"-1", b"0", b"5",
                                         b"9223372036854775807"]


# ---------------------------------------------------------------- binary and integers

def test_binary_members(r):
    weird = [b"a\x00b", b"\r\n", b"\x00", b"", b"\xff\xfe", b"x" * 1000, b"*", b"\r\n*1\r\n"]
    assert r.sadd("s", *weird) == len(weird)
    assert members(r, "s") == set(weird)
    for m in weird:
        assert r.sismember("s", m) == 1
    assert r.sismember("s", b"a") == 0
    assert r.sismember("s", b"a\x00") == 0
    assert r.srem("s", b"a\x00b", b"") == 2
    assert members(r, "s") == set(weird) - {b"a\x00b", b""}


def test_empty_member(r):
    assert r.sadd("s", "") == 1
    assert r.smembers("s") == {b""}
    assert r.sismember("s", "") == 1
    assert r.scard("s") == 1
    assert enc(r, "s") == SMALL_STRINGS


def test_non_canonical_integers_are_strings(r):
    odd = [b"-0", b"01", b"9223372036854775808", b"-9223372036854775809", b"+1", b" 1",
           b"1 ", b"0x10", b"1e3", b"1.0", b"00"]
    assert r.sadd("s", 0, 1, 10) == 3
    assert enc(r, "s") == b"intset"
    assert r.sadd("s", *odd) == len(odd)
    assert enc(r, "s") == SMALL_STRINGS
    assert members(r, "s") == {b"0", b"1", b"10"} | set(odd)
    assert r.scard("s") == 3 + len(odd)
    # "-0" and "0", "01" and "1" are different members
    assert r.srem("s", "-0", "01") == 2
    assert r.sismember("s", "0") == 1
    assert r.sismember("s", "1") == 1
    assert r.sismember("s", "-0") == 0


def test_int64_bounds_stay_in_intset(r):
    assert r.sadd("i", "-9223372036854775808", "9223372036854775807", "0", "-1") == 4
    assert enc(r, "i") == b"intset"
    assert r.sismember("i", "-9223372036854775808") == 1
    assert r.sismember("i", "9223372036854775807") == 1
    assert r.sadd("i", "9223372036854775808") == 1
    assert enc(r, "i") == SMALL_STRINGS
    assert r.scard("i") == 5


# ---------------------------------------------------------------- encodings

def test_encoding_intset(r):
    r.sadd("i", *range(-100, 100))
    assert enc(r, "i") == b"intset"
    assert r.scard("i") == 200


def test_encoding_intset_to_hashtable_past_512(r):
    r.sadd("i", *range(512))
    assert enc(r, "i") == b"intset"
    assert r.sadd("i", 512) == 1
    assert enc(r, "i") == b"hashtable"
    assert r.scard("i") == 513
    assert r.sismember("i", 0) == 1 and r.sismember("i", 512) == 1


def test_encoding_intset_to_small_strings(r):
    r.sadd("s", 1, 2, 3)
    assert enc(r, "s") == b"intset"
    assert r.sadd("s", "a") == 1
    assert enc(r, "s") == SMALL_STRINGS
    assert members(r, "s") == {b"1", b"2", b"3", b"a"}


def test_encoding_large_intset_plus_string_is_hashtable(r):
    r.sadd("s", *range(200))
    assert enc(r, "s") == b"intset"
    r.sadd("s", "a")
    assert enc(r, "s") == b"hashtable"
    assert r.scard("s") == 201


def test_encoding_small_strings_to_hashtable_past_128(r):
    r.sadd("s", *["m%d" % i for i in range(128)])
    assert enc(r, "s") == SMALL_STRINGS
    assert r.sadd("s", "m128") == 1
    assert enc(r, "s") == b"hashtable"
    assert r.scard("s") == 129
    assert r.sismember("s", "m0") == 1 and r.sismember("s", "m128") == 1


def test_encoding_long_member_makes_hashtable(r):
    r.sadd("s", "a", "x" * 64)
    assert enc(r, "s") == SMALL_STRINGS
    r.sadd("s", "y" * 65)
    assert enc(r, "s") == b"hashtable"
    assert members(r, "s") == {b"a", b"x" * 64, b"y" * 65}
    r.sadd("t", "z" * 65)
    assert enc(r, "t") == b"hashtable"


def test_encoding_config_set_max_intset_entries(r, intset_limit):
    intset_limit(4)
    r.sadd("i", 1, 2, 3, 4)
    assert enc(r, "i") == b"intset"
    r.sadd("i", 5)
    assert enc(r, "i") == b"hashtable"
    assert members(r, "i") == {b"1", b"2", b"3", b"4", b"5"}
    # a new set created past the limit in one call
    r.sadd("j", 1, 2, 3, 4, 5, 6)
    assert enc(r, "j") == b"hashtable"
    intset_limit(512)
    r.sadd("k", 1, 2, 3, 4, 5, 6)
    assert enc(r, "k") == b"intset"


def test_hashtable_set_operations(r):
    big = ["e%d" % i for i in range(300)]
    r.sadd("s", *big)
    assert enc(r, "s") == b"hashtable"
    assert r.sadd("s", "e0", "new") == 1
    assert r.srem("s", "e1", "e2", "zz") == 2
    assert r.scard("s") == 299
    assert r.sismember("s", "new") == 1
    assert r.sismember("s", "e1") == 0
    assert members(r, "s") == (set(x.encode() for x in big) - {b"e1", b"e2"}) | {b"new"}
    assert r.srem("s", *members(r, "s")) == 299
    assert r.exists("s") == 0


# ---------------------------------------------------------------- SPOP

def test_spop_single(r):
    r.sadd("s", "a", "b", "c")
    popped = r.spop("s")
    assert popped in {b"a", b"b", b"c"}
    assert r.scard("s") == 2
    assert r.sismember("s", popped) == 0
    assert r.spop("missing") is None


def test_spop_last_member_deletes_key(r):
    r.sadd("s", "only")
    assert r.spop("s") == b"only"
    assert r.exists("s") == 0
    r.sadd("i", 7)
    assert r.spop("i", 1) == [b"7"]
    assert r.exists("i") == 0


@pytest.mark.parametrize("contents", [
    list(range(20)),                            # intset
    ["s%d" % i for i in range(20)],             # small strings
    ["h%d" % i for i in range(1000)],           # hashtable, few popped
    list(range(1000)),                          # hashtable of integers
])
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9])
def test_spop_count_distinct_and_removed(r, contents, fraction):
    everything = set(str(x).encode() for x in contents)
    r.sadd("s", *contents)
    count = max(1, int(len(contents) * fraction))
    popped = r.spop("s", count)
    assert len(popped) == count
    assert len(set(popped)) == count
    assert set(popped) <= everything
    remaining = members(r, "s")
    assert len(remaining) == len(contents) - count
    assert remaining | set(popped) == everything
    assert remaining & set(popped) == set()


def test_spop_count_whole_set_and_more(r):
    r.sadd("s", "a", "b", "c")
    assert sorted(r.spop("s", 3)) == [b"a", b"b", b"c"]
    assert r.exists("s") == 0
    r.sadd("s", "a", "b", "c")
    assert sorted(r.spop("s", 100)) == [b"a", b"b", b"c"]
    assert r.exists("s") == 0
    r.sadd("s", *range(600))
    assert sorted(int(x) for x in r.spop("s", 9223372036854775807)) == list(range(600))
    assert r.exists("s") == 0


def test_spop_count_zero_negative_and_errors(r):
    r.sadd("s", "a", "b")
    assert r.spop("s", 0) == []
    assert r.scard("s") == 2
    assert r.spop("missing", 0) == []
    assert r.spop("missing", 5) == []
    assert MUST_BE_POSITIVE in rerr(r, "SPOP", "s", -1)
    assert MUST_BE_POSITIVE in rerr(r, "SPOP", "s", "x")
    assert MUST_BE_POSITIVE in rerr(r, "SPOP", "missing", "-5")
    assert MUST_BE_POSITIVE in rerr(r, "SPOP", "s", "9223372036854775808")
    assert SYNTAX in rerr(r, "SPOP", "s", 1, 2)
    assert r.scard("s") == 2


def test_spop_drains_set_without_repeats(r):
    r.sadd("s", *["m%d" % i for i in range(150)])
    seen = []
    while r.exists("s"):
        seen += r.spop("s", 7)
    assert len(seen) == 150
    assert set(seen) == set(b"m%d" % i for i in range(150))


# ---------------------------------------------------------------- SRANDMEMBER

def test_srandmember_single(r):
    r.sadd("s", "a", "b", "c")
    assert r.srandmember("s") in {b"a", b"b", b"c"}
    assert r.scard("s") == 3
    assert r.srandmember("missing") is None


@pytest.mark.parametrize("contents", [
    list(range(50)),
    ["s%d" % i for i in range(50)],
    ["h%d" % i for i in range(1000)],
])
@pytest.mark.parametrize("count", [1, 10, 30, 49])
def test_srandmember_positive_count_distinct(r, contents, count):
    everything = set(str(x).encode() for x in contents)
    r.sadd("s", *contents)
    picked = r.srandmember("s", count)
    assert len(picked) == count
    assert len(set(picked)) == count
    assert set(picked) <= everything
    assert r.scard("s") == len(contents)


def test_srandmember_count_at_least_size_returns_all(r):
    r.sadd("s", "a", "b", "c")
    assert sorted(r.srandmember("s", 3)) == [b"a", b"b", b"c"]
    assert sorted(r.srandmember("s", 1000)) == [b"a", b"b", b"c"]
    assert sorted(r.srandmember("s", 9223372036854775807)) == [b"a", b"b", b"c"]
    r.sadd("big", *range(700))
    assert sorted(int(x) for x in r.srandmember("big", 700)) == list(range(700))


def test_srandmember_negative_count_allows_repeats(r):
    r.sadd("s", "a", "b", "c")
    picked = r.srandmember("s", -20)
    assert len(picked) == 20
    assert set(picked) <= {b"a", b"b", b"c"}
    r.sadd("one", "x")
    assert r.srandmember("one", -5) == [b"x"] * 5
    r.sadd("big", *["h%d" % i for i in range(500)])
    picked = r.srandmember("big", -1000)
    assert len(picked) == 1000
    assert set(picked) <= set(b"h%d" % i for i in range(500))
    assert r.scard("big") == 500


def test_srandmember_reaches_every_member(r):
    r.sadd("small", *range(8))
    r.sadd("big", *["h%d" % i for i in range(200)])
    seen_small, seen_big = set(), set()
    for _ in range(30):
        seen_small.update(r.srandmember("small", -50))
        seen_big.update(r.srandmember("big", -400))
    assert seen_small == set(str(i).encode() for i in range(8))
    assert seen_big == set(b"h%d" % i for i in range(200))


def test_srandmember_count_zero_missing_and_errors(r):
    r.sadd("s", "a")
    assert r.srandmember("s", 0) == []
    assert r.srandmember("missing", 3) == []
    assert r.srandmember("missing", -3) == []
    assert r.srandmember("missing", 0) == []
    assert NOT_INT in rerr(r, "SRANDMEMBER", "s", "x")
    assert NOT_INT in rerr(r, "SRANDMEMBER", "missing", "1.5")
    assert rerr(r, "SRANDMEMBER", "s", "-9223372036854775808") == (
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert SYNTAX in rerr(r, "SRANDMEMBER", "s", 1, 2)


# ---------------------------------------------------------------- SMOVE

def test_smove_basic(r):
    r.sadd("a", "x", "y")
    r.sadd("b", "z")
    assert r.smove("a", "b", "x") == 1
    assert members(r, "a") == {b"y"}
    assert members(r, "b") == {b"x", b"z"}
    assert r.smove("a", "b", "nope") == 0
    assert members(r, "a") == {b"y"}
    assert members(r, "b") == {b"x", b"z"}


def test_smove_to_missing_destination_and_emptying_source(r):
    r.sadd("a", "x")
    assert r.smove("a", "new", "x") == 1
    assert r.exists("a") == 0
    assert r.smembers("new") == {b"x"}
    assert r.type("new") == b"set"


def test_smove_member_already_in_destination(r):
    r.sadd("a", "x", "y")
    r.sadd("b", "x")
    assert r.smove("a", "b", "x") == 1
    assert members(r, "a") == {b"y"}
    assert members(r, "b") == {b"x"}


def test_smove_same_key(r):
    r.sadd("a", "x", "y")
    assert r.smove("a", "a", "x") == 1
    assert r.smove("a", "a", "zz") == 0
    assert members(r, "a") == {b"x", b"y"}


def test_smove_missing_source(r):
    r.sadd("b", "z")
    assert r.smove("missing", "b", "z") == 0
    assert r.smove("missing", "other", "z") == 0
    assert r.exists("other") == 0
    r.set("str", "v")
    assert r.smove("missing", "str", "z") == 0   # the source is checked first


def test_smove_wrong_types(r):
    r.sadd("a", "x")
    r.set("str", "v")
    assert rerr(r, "SMOVE", "a", "str", "x") == WRONGTYPE
    assert members(r, "a") == {b"x"}
    assert r.get("str") == b"v"
    assert rerr(r, "SMOVE", "str", "a", "x") == WRONGTYPE
    assert rerr(r, "SMOVE", "str", "missing", "x") == WRONGTYPE
    assert rerr(r, "SMOVE", "str", "str", "x") == WRONGTYPE


def test_smove_keeps_destination_ttl_and_converts(r):
    r.sadd("src", "a", "b")
    r.sadd("dst", 1, 2)
    r.expire("dst", 1000)
    assert enc(r, "dst") == b"intset"
    assert r.smove("src", "dst", "a") == 1
    assert enc(r, "dst") == SMALL_STRINGS
    assert members(r, "dst") == {b"1", b"2", b"a"}
    assert 990 <= r.ttl("dst") <= 1000


def test_smove_between_hashtables(r):
    r.sadd("a", *["a%d" % i for i in range(300)])
    r.sadd("b", *["b%d" % i for i in range(300)])
    for i in range(0, 300, 3):
        assert r.smove("a", "b", "a%d" % i) == 1
    assert r.scard("a") == 200
    assert r.scard("b") == 400
    assert r.sismember("b", "a0") == 1
    assert r.sismember("a", "a0") == 0
    assert r.sismember("a", "a1") == 1


# ---------------------------------------------------------------- SINTER / SUNION / SDIFF

@pytest.fixture
def abc(r):
    r.sadd("a", 1, 2, 3, 4, "x")
    r.sadd("b", 3, 4, 5, "x", "y")
    r.sadd("c", 4, "x", "z")
    return r


def test_sinter(abc):
    r = abc
    assert r.sinter("a", "b") == {b"3", b"4", b"x"}
    assert r.sinter("a", "b", "c") == {b"4", b"x"}
    assert r.sinter("a") == members(r, "a")
    assert r.sinter("a", "a") == members(r, "a")
    assert r.sinter("a", "missing") == set()
    assert r.sinter("missing", "a") == set()
    assert r.sinter("missing") == set()


def test_sunion(abc):
    r = abc
    assert r.sunion("a", "b") == {b"1", b"2", b"3", b"4", b"5", b"x", b"y"}
    assert r.sunion("a", "b", "c", "missing") == {b"1", b"2", b"3", b"4", b"5", b"x", b"y", b"z"}
    assert r.sunion("missing") == set()
    assert r.sunion("missing", "c") == {b"4", b"x", b"z"}


def test_sdiff(abc):
    r = abc
    assert r.sdiff("a", "b") == {b"1", b"2"}
    assert r.sdiff("a", "b", "c") == {b"1", b"2"}
    assert r.sdiff("b", "a") == {b"5", b"y"}
    assert r.sdiff("a") == members(r, "a")
    assert r.sdiff("a", "missing") == members(r, "a")
    assert r.sdiff("missing", "a") == set()
    assert r.sdiff("a", "a") == set()


def test_set_algebra_wrongtype_anywhere(abc):
    r = abc
    r.set("str", "v")
    for cmd in ("SINTER", "SUNION", "SDIFF"):
        assert rerr(r, cmd, "str") == WRONGTYPE
        assert rerr(r, cmd, "a", "str") == WRONGTYPE
        # a missing key before it does not hide it (Redis 7.0 looks every key up)
        assert rerr(r, cmd, "missing", "str") == WRONGTYPE
    for cmd in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
        assert rerr(r, cmd, "dst", "a", "str") == WRONGTYPE
        assert rerr(r, cmd, "dst", "missing", "str") == WRONGTYPE
    assert r.exists("dst") == 0


def test_set_algebra_large_sets(r):
    r.sadd("evens", *range(0, 20000, 2))
    r.sadd("threes", *range(0, 20000, 3))
    r.sadd("words", *["w%d" % i for i in range(1000)], *range(0, 100))
    inter = set(int(x) for x in r.sinter("evens", "threes"))
    assert inter == set(range(0, 20000, 6))
    assert r.sintercard(2, ["evens", "threes"]) == len(inter)
    union = r.sunion("evens", "threes")
    assert set(int(x) for x in union) == set(range(0, 20000, 2)) | set(range(0, 20000, 3))
    diff = set(int(x) for x in r.sdiff("evens", "threes"))
    assert diff == set(range(0, 20000, 2)) - set(range(0, 20000, 3))
    assert r.sinter("words", "evens") == set(str(i).encode() for i in range(0, 100, 2))


def test_sinterstore(abc):
    r = abc
    assert r.sinterstore("dst", ["a", "b"]) == 3
    assert members(r, "dst") == {b"3", b"4", b"x"}
    assert r.sinterstore("dst", ["a", "c"]) == 2
    assert members(r, "dst") == {b"4", b"x"}
    assert r.type("dst") == b"set"


def test_sunionstore_and_sdiffstore(abc):
    r = abc
    assert r.sunionstore("u", ["a", "c"]) == 6
    assert members(r, "u") == {b"1", b"2", b"3", b"4", b"x", b"z"}
    assert r.sdiffstore("d", ["a", "b"]) == 2
    assert members(r, "d") == {b"1", b"2"}
    assert enc(r, "d") == b"intset"
    assert r.sunionstore("u2", ["missing", "c"]) == 3
    assert members(r, "u2") == {b"4", b"x", b"z"}


def test_store_empty_result_deletes_destination(abc):
    r = abc
    r.sadd("dst", "old")
    assert r.sinterstore("dst", ["a", "missing"]) == 0
    assert r.exists("dst") == 0
    r.set("dst", "string")
    assert r.sunionstore("dst", ["missing"]) == 0
    assert r.exists("dst") == 0
    r.set("dst", "string")
    assert r.sdiffstore("dst", ["a", "a"]) == 0
    assert r.exists("dst") == 0
    assert r.sdiffstore("never", ["missing", "a"]) == 0
    assert r.exists("never") == 0


def test_store_overwrites_other_type_and_clears_ttl(abc):
    r = abc
    r.set("dst", "string", ex=1000)
    assert r.sunionstore("dst", ["c"]) == 3
    assert r.type("dst") == b"set"
    assert members(r, "dst") == {b"4", b"x", b"z"}
    assert r.ttl("dst") == -1
    r.sadd("dst2", "old")
    r.expire("dst2", 1000)
    assert r.sinterstore("dst2", ["a", "b"]) == 3
    assert r.ttl("dst2") == -1
    assert members(r, "dst2") == {b"3", b"4", b"x"}


def test_store_destination_is_a_source(abc):
    r = abc
    assert r.sunionstore("a", ["a", "c"]) == 6
    assert members(r, "a") == {b"1", b"2", b"3", b"4", b"x", b"z"}
    assert r.sinterstore("b", ["b", "a"]) == 3
    assert members(r, "b") == {b"3", b"4", b"x"}
    assert r.sdiffstore("c", ["c", "b"]) == 1
    assert members(r, "c") == {b"z"}


def test_store_result_encodings(r):
    r.sadd("i1", *range(10))
    r.sadd("i2", *range(5, 15))
    assert r.sinterstore("d", ["i1", "i2"]) == 5
    assert enc(r, "d") == b"intset"
    r.sadd("big", *range(1000))
    assert r.sunionstore("d", ["big", "i1"]) == 1000
    assert enc(r, "d") == b"hashtable"
    r.sadd("h", *["h%d" % i for i in range(200)], *range(3))
    assert r.sinterstore("d", ["h", "i1"]) == 3
    assert enc(r, "d") == b"intset"
    assert r.sdiffstore("d", ["h", "i1"]) == 200
    assert enc(r, "d") == b"hashtable"


# ---------------------------------------------------------------- SINTERCARD

def test_sintercard(abc):
    r = abc
    assert r.sintercard(2, ["a", "b"]) == 3
    assert r.sintercard(3, ["a", "b", "c"]) == 2
    assert r.sintercard(1, ["a"]) == 5
    assert r.sintercard(2, ["a", "missing"]) == 0
    assert r.sintercard(1, ["missing"]) == 0
    assert r.sintercard(2, ["a", "b"], limit=0) == 3
    assert r.sintercard(2, ["a", "b"], limit=1) == 1
    assert r.sintercard(2, ["a", "b"], limit=2) == 2
    assert r.sintercard(2, ["a", "b"], limit=3) == 3
    assert r.sintercard(2, ["a", "b"], limit=100) == 3
    assert r.execute_command("SINTERCARD", 2, "a", "b", "LIMIT", 5, "limit", 1) == 1


def test_sintercard_errors(abc):
    r = abc
    r.set("str", "v")
    assert rerr(r, "SINTERCARD", 0, "a") == "numkeys should be greater than 0"
    assert rerr(r, "SINTERCARD", -1, "a") == "numkeys should be greater than 0"
    assert rerr(r, "SINTERCARD", "x", "a") == "numkeys should be greater than 0"
    assert rerr(r, "SINTERCARD", 3, "a", "b") == "Number of keys can't be greater than number of args"
    assert rerr(r, "SINTERCARD", 1, "a", "LIMIT", -1) == "LIMIT can't be negative"
    assert rerr(r, "SINTERCARD", 1, "a", "LIMIT", "x") == "LIMIT can't be negative"
    assert SYNTAX in rerr(r, "SINTERCARD", 1, "a", "LIMIT")
    assert SYNTAX in rerr(r, "SINTERCARD", 1, "a", "foo", 1)
    assert SYNTAX in rerr(r, "SINTERCARD", 1, "a", "b")
    # options are checked before the keys
    assert rerr(r, "SINTERCARD", 1, "str", "LIMIT", "x") == "LIMIT can't be negative"
    assert rerr(r, "SINTERCARD", 1, "str") == WRONGTYPE
    assert rerr(r, "SINTERCARD", 2, "missing", "str") == WRONGTYPE
    assert "wrong number of arguments for 'sintercard' command" in rerr(r, "SINTERCARD", 1)


# ---------------------------------------------------------------- SSCAN

def sscan_all(r, key, **kw):
    cursor, found, calls = 0, [], 0
    while True:
        cursor, batch = r.sscan(key, cursor, **kw)
        found += batch
        calls += 1
        if cursor == 0:
            return found, calls


def test_sscan_small_sets_come_whole(r):
    r.sadd("i", 3, 1, 2)
    assert r.sscan("i", 0) == (0, [b"1", b"2", b"3"])
    assert r.sscan("i", 0, count=1) == (0, [b"1", b"2", b"3"])
    # an intset ignores the cursor
    assert r.sscan("i", 12345) == (0, [b"1", b"2", b"3"])
    assert r.sscan("i", 0, match="[12]") == (0, [b"1", b"2"])
    r.sadd("s", "a", "b", "c")
    cursor, found = r.sscan("s", 0)
    assert cursor == 0
    assert sorted(found) == [b"a", b"b", b"c"]
    cursor, found = r.sscan("s", 0, match="b*")
    assert (cursor, found) == (0, [b"b"])


def test_sscan_missing_key(r):
    assert r.sscan("missing", 0) == (0, [])
    assert r.sscan("missing", 0, match="x*", count=5) == (0, [])
    # options are only checked once the key is found
    assert r.execute_command("SSCAN", "missing", 0, "COUNT", 0) == (0, [])


def test_sscan_errors(r):
    r.sadd("s", "a", "b")
    r.set("str", "v")
    assert rerr(r, "SSCAN", "s", "x") == "invalid cursor"
    assert rerr(r, "SSCAN", "s", " 1") == "invalid cursor"
    assert rerr(r, "SSCAN", "s", "18446744073709551616") == "invalid cursor"
    assert rerr(r, "SSCAN", "missing", "x") == "invalid cursor"
    assert rerr(r, "SSCAN", "str", 0) == WRONGTYPE
    assert rerr(r, "SSCAN", "str", 0, "COUNT", 0) == WRONGTYPE
    assert SYNTAX in rerr(r, "SSCAN", "s", 0, "COUNT", 0)
    assert SYNTAX in rerr(r, "SSCAN", "s", 0, "COUNT", -1)
    assert NOT_INT in rerr(r, "SSCAN", "s", 0, "COUNT", "x")
    assert SYNTAX in rerr(r, "SSCAN", "s", 0, "MATCH")
    assert SYNTAX in rerr(r, "SSCAN", "s", 0, "TYPE", "set")   # SCAN only
    assert SYNTAX in rerr(r, "SSCAN", "s", 0, "foo", "bar")
    assert "wrong number of arguments for 'sscan' command" in rerr(r, "SSCAN", "s")


def test_sscan_large_set_complete(r):
    every = set(b"m%d" % i for i in range(20000))
    r.sadd("big", *every)
    assert enc(r, "big") == b"hashtable"
    found, calls = sscan_all(r, "big", count=100)
    # (a set read back from RocksDB between calls may come back mid-resize, where SCAN
    # may repeat members, so only the set of them is exact)
    assert set(found) == every
    assert calls > 20000 // 1000
    found, _ = sscan_all(r, "big", count=5000)
    assert set(found) == every


def test_sscan_large_set_match(r):
    r.sadd("big", *["m%d" % i for i in range(20000)])
    found, _ = sscan_all(r, "big", match="m1234*", count=200)
    assert sorted(found) == sorted([b"m1234"] + [b"m1234%d" % i for i in range(10)])
    found, _ = sscan_all(r, "big", match="nothing*", count=1000)
    assert found == []


def test_sscan_guarantee_across_changes(r):
    """Members present for the whole scan are returned, while the set grows (resizes)
    and loses other members."""
    r.sadd("big", *["keep%d" % i for i in range(3000)], *["drop%d" % i for i in range(3000)])
    cursor, found, step = 0, set(), 0
    while True:
        cursor, batch = r.sscan("big", cursor, count=50)
        found.update(batch)
        step += 1
        if step == 10:
            r.srem("big", *["drop%d" % i for i in range(3000)])
        if step == 20:
            r.sadd("big", *["grow%d" % i for i in range(30000)])
        if cursor == 0:
            break
    assert set(b"keep%d" % i for i in range(3000)) <= found
    assert step > 20


# ---------------------------------------------------------------- WRONGTYPE both ways

@pytest.mark.parametrize("cmd", [
    ("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"), ("SISMEMBER", "str", "a"),
    ("SMISMEMBER", "str", "a"), ("SCARD", "str"), ("SPOP", "str"), ("SPOP", "str", 2),
    ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", -2), ("SMOVE", "str", "s", "a"),
    ("SINTER", "str"), ("SUNION", "str"), ("SDIFF", "str"), ("SINTERCARD", 1, "str"),
    ("SINTERSTORE", "d", "str"), ("SUNIONSTORE", "d", "str"), ("SDIFFSTORE", "d", "str"),
    ("SSCAN", "str", 0),
])
def test_set_command_on_string(r, cmd):
    r.set("str", "v")
    r.sadd("s", "a")
    assert rerr(r, *cmd) == WRONGTYPE
    assert r.get("str") == b"v"
    assert r.smembers("s") == {b"a"}


@pytest.mark.parametrize("cmd", [
    ("GET", "s"), ("APPEND", "s", "x"), ("INCR", "s"), ("STRLEN", "s"), ("GETRANGE", "s", 0, 1),
    ("SETRANGE", "s", 0, "x"), ("INCRBYFLOAT", "s", 1), ("GETDEL", "s"),
])
@pytest.mark.parametrize("contents", [["a", "b"], [1, 2], ["h%d" % i for i in range(200)]])
def test_string_command_on_set(r, cmd, contents):
    r.sadd("s", *contents)
    assert rerr(r, *cmd) == WRONGTYPE
    assert r.scard("s") == len(contents)


# ---------------------------------------------------------------- generic commands on sets

@pytest.mark.parametrize("contents", [[1, 2, 3], ["a", "b\x00"], ["h%d" % i for i in range(300)]])
def test_del_rename_copy_expire(r, contents):
    expected = set(str(x).encode() for x in contents)
    r.sadd("s", *contents)
    assert r.rename("s", "t") is True
    assert r.exists("s") == 0
    assert members(r, "t") == expected
    assert r.type("t") == b"set"
    assert r.copy("t", "u") is True
    assert members(r, "u") == expected
    # the copy is independent
    r.sadd("u", "extra")
    r.srem("u", str(contents[0]))
    assert members(r, "t") == expected
    assert members(r, "u") == (expected - {str(contents[0]).encode()}) | {b"extra"}
    assert r.expire("t", 1000) is True
    assert 990 <= r.ttl("t") <= 1000
    r.sadd("t", "more")
    assert 990 <= r.ttl("t") <= 1000
    assert members(r, "t") == expected | {b"more"}
    assert r.delete("t") == 1
    assert r.exists("t") == 0
    assert r.smembers("t") == set()
    assert r.scard("u") == len(contents)


def test_expired_set_is_missing(r):
    r.sadd("s", "a", "b")
    r.pexpire("s", 1)
    time.sleep(0.02)
    assert r.scard("s") == 0
    assert r.sadd("s", "c") == 1
    assert r.smembers("s") == {b"c"}
    assert r.ttl("s") == -1


def test_watch_sees_only_real_changes(r):
    r.sadd("s", "a")
    p = r.pipeline(transaction=True)
    p.watch("s")
    r.sadd("s", "a")          # no change: the transaction still runs
    r.srem("s", "zz")
    p.multi()
    p.scard("s")
    assert p.execute() == [1]
    p.watch("s")
    r.sadd("s", "b")          # a change: it aborts
    p.multi()
    p.scard("s")
    with pytest.raises(redis.WatchError):
        p.execute()
    p.reset()


# ---------------------------------------------------------------- RESP3 reply types

def test_resp3_reply_types(raw):
    raw.call("HELLO", "3")
    raw.call("SADD", "s", "a")
    raw.call("SADD", "t", "a")
    assert raw.cmd("SMEMBERS", "s") == b"~1\r\n$1\r\na\r\n"
    assert raw.cmd("SMEMBERS", "missing") == b"~0\r\n"
    assert raw.cmd("SINTER", "s", "t") == b"~1\r\n$1\r\na\r\n"
    assert raw.cmd("SINTER", "s", "missing") == b"~0\r\n"
    assert raw.cmd("SUNION", "s", "t") == b"~1\r\n$1\r\na\r\n"
    assert raw.cmd("SDIFF", "s", "missing") == b"~1\r\n$1\r\na\r\n"
    assert raw.cmd("SRANDMEMBER", "s", 1) == b"*1\r\n$1\r\na\r\n"
    assert raw.cmd("SRANDMEMBER", "s", -2) == b"*2\r\n$1\r\na\r\n$1\r\na\r\n"
    assert raw.cmd("SRANDMEMBER", "missing", 2) == b"*0\r\n"
    assert raw.cmd("SRANDMEMBER", "missing") == b"_\r\n"
    assert raw.cmd("SMISMEMBER", "s", "a", "b") == b"*2\r\n:1\r\n:0\r\n"
    assert raw.cmd("SSCAN", "s", 0) == b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
    assert raw.cmd("SPOP", "missing") == b"_\r\n"
    assert raw.cmd("SPOP", "missing", 2) == b"~0\r\n"
    assert raw.cmd("SPOP", "s", 0) == b"~0\r\n"
    assert raw.cmd("SPOP", "s", 1) == b"~1\r\n$1\r\na\r\n"
    assert raw.cmd("SPOP", "t") == b"$1\r\na\r\n"
    assert raw.cmd("EXISTS", "s", "t") == b":0\r\n"


def test_resp2_raw_replies(raw):
    assert raw.cmd("SADD", "s", "a", "b") == b":2\r\n"
    assert raw.cmd("SPOP", "missing", 0) == b"*0\r\n"
    assert raw.cmd("SPOP", "missing") == b"$-1\r\n"
    assert raw.cmd("SRANDMEMBER", "missing") == b"$-1\r\n"
    assert raw.cmd("SMEMBERS", "missing") == b"*0\r\n"
    assert raw.cmd("SINTERCARD", 1, "s") == b":2\r\n"
    assert raw.cmd("SINTERSTORE", "d", "s") == b":2\r\n"


# ---------------------------------------------------------------- command table

@pytest.mark.parametrize("name,arity,flags,keys,categories", [
    ("sadd", -3, {"write", "denyoom", "fast"}, (1, 1, 1), ["@write", "@set", "@fast"]),
    ("srem", -3, {"write", "fast"}, (1, 1, 1), ["@write", "@set", "@fast"]),
    ("smembers", 2, {"readonly"}, (1, 1, 1), ["@read", "@set", "@slow"]),
    ("sismember", 3, {"readonly", "fast"}, (1, 1, 1), ["@read", "@set", "@fast"]),
    ("smismember", -3, {"readonly", "fast"}, (1, 1, 1), ["@read", "@set", "@fast"]),
    ("scard", 2, {"readonly", "fast"}, (1, 1, 1), ["@read", "@set", "@fast"]),
    ("spop", -2, {"write", "fast"}, (1, 1, 1), ["@write", "@set", "@fast"]),
    ("srandmember", -2, {"readonly"}, (1, 1, 1), ["@read", "@set", "@slow"]),
    ("smove", 4, {"write", "fast"}, (1, 2, 1), ["@write", "@set", "@fast"]),
    ("sinter", -2, {"readonly"}, (1, -1, 1), ["@read", "@set", "@slow"]),
    ("sintercard", -3, {"readonly", "movablekeys"}, (0, 0, 0), ["@read", "@set", "@slow"]),
    ("sunion", -2, {"readonly"}, (1, -1, 1), ["@read", "@set", "@slow"]),
    ("sdiff", -2, {"readonly"}, (1, -1, 1), ["@read", "@set", "@slow"]),
    ("sinterstore", -3, {"write", "denyoom"}, (1, -1, 1), ["@write", "@set", "@slow"]),
    ("sunionstore", -3, {"write", "denyoom"}, (1, -1, 1), ["@write", "@set", "@slow"]),
    ("sdiffstore", -3, {"write", "denyoom"}, (1, -1, 1), ["@write", "@set", "@slow"]),
    ("sscan", -3, {"readonly"}, (1, 1, 1), ["@read", "@set", "@slow"]),
])
def test_command_info(raw, name, arity, flags, keys, categories):
    info = raw.call("COMMAND", "INFO", name)[0]
    assert info[0] == name.encode()
    assert info[1] == arity
    assert set(f.decode() for f in info[2]) == flags
    assert tuple(info[3:6]) == keys
    assert [c.decode() for c in info[6]] == categories


def test_command_getkeys(raw):
    assert raw.call("COMMAND", "GETKEYS", "SINTERCARD", 2, "a", "b", "LIMIT", 1) == [b"a", b"b"]
    assert raw.call("COMMAND", "GETKEYS", "SINTERSTORE", "d", "a", "b") == [b"d", b"a", b"b"]
    assert raw.call("COMMAND", "GETKEYS", "SMOVE", "a", "b", "m") == [b"a", b"b"]


@pytest.mark.parametrize("cmd", [
    ("SADD", "s"), ("SREM", "s"), ("SMEMBERS",), ("SMEMBERS", "a", "b"), ("SISMEMBER", "s"),
    ("SMISMEMBER", "s"), ("SCARD",), ("SPOP",), ("SRANDMEMBER",), ("SMOVE", "a", "b"),
    ("SINTER",), ("SUNION",), ("SDIFF",), ("SINTERSTORE", "d"), ("SUNIONSTORE", "d"),
    ("SDIFFSTORE", "d"), ("SSCAN", "s"),
])
def test_arity_errors(r, cmd):
    assert rerr(r, *cmd) == "wrong number of arguments for '%s' command" % cmd[0].lower()

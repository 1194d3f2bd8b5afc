"""List commands (non-blocking; the blocking ones are in test_blocking.py)."""

import pytest
import redis

from conftest import TARGET

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "value is not an integer or out of range"
SYNTAX = "syntax error"


def rerr(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def lst(r, key):
    return r.lrange(key, 0, -1)


# ---------------------------------------------------------------- push / pop

def test_push_order_and_length(r):
    assert r.rpush("l", "a", "b") == 2
    assert r.lpush("l", "x", "y") == 4
    assert lst(r, "l") == [b"y", b"x", b"a", b"b"]
    assert r.llen("l") == 4
    assert r.type("l") == b"list"


def test_pushx_only_on_existing(r):
    assert r.lpushx("l", "a") == 0
    assert r.rpushx("l", "a", "b") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert r.lpushx("l", "a", "b") == 3
    assert r.rpushx("l", "z") == 4
    assert lst(r, "l") == [b"b", b"a", b"m", b"z"]


def test_pop_single_and_count(r):
    r.rpush("l", "a", "b", "c", "d")
    assert r.lpop("l") == b"a"
    assert r.rpop("l") == b"d"
    assert r.execute_command("LPOP", "l", 0) == []
    assert r.execute_command("RPOP", "l", 5) == [b"c", b"b"]
    assert r.exists("l") == 0
    assert r.lpop("l") is None
    assert r.execute_command("LPOP", "l", 2) is None


def test_pop_raw_replies(raw):
    assert raw.cmd("LPOP", "nokey") == b"$-1\r\n"
    assert raw.cmd("LPOP", "nokey", "2") == b"*-1\r\n"
    assert raw.cmd("LPOP", "nokey", "0") == b"*-1\r\n"
    raw.cmd("RPUSH", "l", "a")
    assert raw.cmd("LPOP", "l", "0") == b"*0\r\n"
    assert raw.cmd("RPOP", "l", "1") == b"*1\r\n$1\r\na\r\n"


def test_pop_errors(r):
    r.rpush("l", "a")
    assert rerr(r, "LPOP", "l", -1) == "value is out of range, must be positive"
    assert rerr(r, "RPOP", "l", "x") == "value is out of range, must be positive"
    assert rerr(r, "LPOP", "l", 1, 2) == "wrong number of arguments for 'lpop' command"


def test_binary_elements(r):
    values = [b"\x00\r\n", b"", b"\xff" * 300, b"a\x00b"]
    r.rpush("l", *values)
    assert lst(r, "l") == values
    assert r.lindex("l", 2) == b"\xff" * 300
    assert r.rpop("l") == b"a\x00b"


# ---------------------------------------------------------------- reading

def test_lrange_indexes(r):
    r.rpush("l", *"abcde")
    assert r.lrange("l", 0, -1) == [b"a", b"b", b"c", b"d", b"e"]
    assert r.lrange("l", 1, 2) == [b"b", b"c"]
    assert r.lrange("l", -2, -1) == [b"d", b"e"]
    assert r.lrange("l", -100, 1) == [b"a", b"b"]
    assert r.lrange("l", 3, 100) == [b"d", b"e"]
    assert r.lrange("l", 4, 2) == []
    assert r.lrange("l", 5, 10) == []
    assert r.lrange("nokey", 0, -1) == []
    assert rerr(r, "LRANGE", "l", "a", 1) == NOT_INT


def test_lindex(r):
    r.rpush("l", "a", "b", "c")
    assert r.lindex("l", 0) == b"a"
    assert r.lindex("l", -1) == b"c"
    assert r.lindex("l", -3) == b"a"
    assert r.lindex("l", 3) is None
    assert r.lindex("l", -4) is None
    assert r.lindex("nokey", 0) is None
    assert rerr(r, "LINDEX", "l", "1.5") == NOT_INT


def test_llen_missing(r):
    assert r.llen("nokey") == 0


def test_lpos(r):
    r.rpush("l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert r.execute_command("LPOS", "l", "c") == 2
    assert r.execute_command("LPOS", "l", "c", "RANK", 2) == 6
    assert r.execute_command("LPOS", "l", "c", "RANK", -1) == 7
    assert r.execute_command("LPOS", "l", "c", "RANK", -2) == 6
    assert r.execute_command("LPOS", "l", "c", "COUNT", 0) == [2, 6, 7]
    assert r.execute_command("LPOS", "l", "c", "COUNT", 2) == [2, 6]
    assert r.execute_command("LPOS", "l", "c", "COUNT", 0, "RANK", -1) == [7, 6, 2]
    assert r.execute_command("LPOS", "l", "c", "COUNT", 0, "MAXLEN", 3) == [2]
    assert r.execute_command("LPOS", "l", "c", "RANK", -1, "MAXLEN", 1) == 7
    assert r.execute_command("LPOS", "l", "zz") is None
    assert r.execute_command("LPOS", "l", "zz", "COUNT", 0) == []
    assert r.execute_command("LPOS", "nokey", "a") is None
    assert r.execute_command("LPOS", "nokey", "a", "COUNT", 1) == []


def test_lpos_errors(r):
    r.rpush("l", "a")
    assert rerr(r, "LPOS", "l", "a", "RANK", 0).startswith("RANK can't be zero")
    assert rerr(r, "LPOS", "l", "a", "COUNT", -1) == "COUNT can't be negative"
    assert rerr(r, "LPOS", "l", "a", "MAXLEN", -1) == "MAXLEN can't be negative"
    assert rerr(r, "LPOS", "l", "a", "FOO", 1) == SYNTAX
    assert rerr(r, "LPOS", "l", "a", "RANK") == SYNTAX
    assert rerr(r, "LPOS", "l", "a", "RANK", "x") == NOT_INT


# ---------------------------------------------------------------- changing inside

def test_lset(r):
    r.rpush("l", "a", "b", "c")
    assert r.lset("l", 1, "B") is True
    assert r.lset("l", -1, "C") is True
    assert lst(r, "l") == [b"a", b"B", b"C"]
    assert rerr(r, "LSET", "l", 3, "x") == "index out of range"
    assert rerr(r, "LSET", "nokey", 0, "x") == "no such key"


def test_linsert(r):
    r.rpush("l", "a", "c")
    assert r.linsert("l", "BEFORE", "c", "b") == 3
    assert r.linsert("l", "after", "c", "d") == 4
    assert lst(r, "l") == [b"a", b"b", b"c", b"d"]
    assert r.linsert("l", "BEFORE", "zz", "x") == -1
    assert r.linsert("nokey", "BEFORE", "a", "x") == 0
    assert rerr(r, "LINSERT", "l", "MIDDLE", "a", "x") == SYNTAX


def test_lrem(r):
    r.rpush("l", "a", "b", "a", "c", "a", "b")
    assert r.lrem("l", 2, "a") == 2
    assert lst(r, "l") == [b"b", b"c", b"a", b"b"]
    r.delete("l")
    r.rpush("l", "a", "b", "a", "c", "a", "b")
    assert r.lrem("l", -2, "a") == 2
    assert lst(r, "l") == [b"a", b"b", b"c", b"b"]
    assert r.lrem("l", 0, "b") == 2
    assert lst(r, "l") == [b"a", b"c"]
    assert r.lrem("l", 0, "zz") == 0
    assert r.lrem("l", 0, "a") == 1
    assert r.lrem("l", 0, "c") == 1
    assert r.exists("l") == 0
    assert r.lrem("nokey", 0, "a") == 0


def test_ltrim(r):
    r.rpush("l", *"abcdef")
    assert r.ltrim("l", 1, -2) is True
    assert lst(r, "l") == [b"b", b"c", b"d", b"e"]
    assert r.ltrim("l", -2, 100) is True
    assert lst(r, "l") == [b"d", b"e"]
    assert r.ltrim("l", 5, 10) is True
    assert r.exists("l") == 0
    assert r.ltrim("nokey", 0, 1) is True


# ---------------------------------------------------------------- moving

def test_lmove_and_rpoplpush(r):
    r.rpush("src", "a", "b", "c")
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == b"a"
    assert r.lmove("src", "dst", "RIGHT", "LEFT") == b"c"
    assert lst(r, "dst") == [b"c", b"a"]
    assert r.rpoplpush("src", "dst") == b"b"
    assert r.exists("src") == 0
    assert lst(r, "dst") == [b"b", b"c", b"a"]
    assert r.rpoplpush("src", "dst") is None
    assert rerr(r, "LMOVE", "dst", "x", "UP", "LEFT") == SYNTAX


def test_lmove_same_list_rotates(r):
    r.rpush("l", "a", "b", "c")
    assert r.lmove("l", "l", "LEFT", "RIGHT") == b"a"
    assert lst(r, "l") == [b"b", b"c", b"a"]
    assert r.rpoplpush("l", "l") == b"a"
    assert lst(r, "l") == [b"a", b"b", b"c"]


def test_lmove_wrong_destination_pops_nothing(r):
    r.rpush("src", "a")
    r.set("s", "v")
    assert rerr(r, "LMOVE", "src", "s", "LEFT", "LEFT") == WRONGTYPE
    assert lst(r, "src") == [b"a"]
    assert rerr(r, "RPOPLPUSH", "s", "src") == WRONGTYPE


def test_lmpop(r):
    r.rpush("b", "1", "2", "3")
    assert r.execute_command("LMPOP", 2, "a", "b", "LEFT") == [b"b", [b"1"]]
    assert r.execute_command("LMPOP", 2, "a", "b", "RIGHT", "COUNT", 10) == [b"b", [b"3", b"2"]]
    assert r.execute_command("LMPOP", 2, "a", "b", "LEFT") is None
    assert rerr(r, "LMPOP", 0, "a", "LEFT") == "numkeys should be greater than 0"
    assert rerr(r, "LMPOP", 3, "a", "LEFT") == SYNTAX
    assert rerr(r, "LMPOP", 1, "a", "MIDDLE") == SYNTAX
    assert rerr(r, "LMPOP", 1, "a", "LEFT", "COUNT", 0) == "count should be greater than 0"
    assert rerr(r, "LMPOP", 1, "a", "LEFT", "COUNT", 1, "COUNT", 2) == SYNTAX
    assert rerr(r, "LMPOP", 2, "a", "LEFT") == SYNTAX


def test_lmpop_wrongtype_before_nonempty(r):
    r.set("s", "v")
    r.rpush("l", "x")
    assert rerr(r, "LMPOP", 2, "s", "l", "LEFT") == WRONGTYPE
    assert r.execute_command("LMPOP", 2, "l", "s", "LEFT") == [b"l", [b"x"]]


# ---------------------------------------------------------------- types

@pytest.mark.parametrize("cmd", [
    ("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
    ("LPOP", "s"), ("RPOP", "s", 2), ("LLEN", "s"), ("LRANGE", "s", 0, -1), ("LINDEX", "s", 0),
    ("LSET", "s", 0, "a"), ("LINSERT", "s", "BEFORE", "a", "b"), ("LREM", "s", 0, "a"),
    ("LTRIM", "s", 0, 1), ("LPOS", "s", "a"), ("LMOVE", "s", "d", "LEFT", "LEFT"),
    ("RPOPLPUSH", "s", "d"), ("LMPOP", 1, "s", "LEFT"),
])
def test_list_commands_on_a_string(r, cmd):
    r.set("s", "v")
    assert rerr(r, *cmd) == WRONGTYPE
    assert r.get("s") == b"v"


@pytest.mark.parametrize("cmd", [("GET", "l"), ("APPEND", "l", "x"), ("INCR", "l"), ("STRLEN", "l"),
                                 ("SETRANGE", "l", 0, "x"), ("GETRANGE", "l", 0, 1)])
def test_string_commands_on_a_list(r, cmd):
    r.rpush("l", "a")
    assert rerr(r, *cmd) == WRONGTYPE
    assert lst(r, "l") == [b"a"]


def test_set_overwrites_a_list(r):
    r.rpush("l", "a")
    assert r.set("l", "v") is True
    assert r.get("l") == b"v"
    assert r.rpush("l2", "a") == 1
    assert rerr(r, "GETSET", "l2", "x") == WRONGTYPE
    assert lst(r, "l2") == [b"a"]


# ---------------------------------------------------------------- large lists, encodings

def test_large_list_every_operation(r):
    n = 5000
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.rpush("big", "element-%d" % i)
    pipe.execute()
    assert r.llen("big") == n
    assert r.object("encoding", "big") == b"quicklist"
    assert r.lindex("big", 0) == b"element-0"
    assert r.lindex("big", 2500) == b"element-2500"
    assert r.lindex("big", -1) == b"element-4999"
    assert r.lrange("big", 1000, 1002) == [b"element-1000", b"element-1001", b"element-1002"]
    assert r.lset("big", 3000, "X") is True
    assert r.lindex("big", 3000) == b"X"
    assert r.linsert("big", "AFTER", "X", "Y") == n + 1
    assert r.lindex("big", 3001) == b"Y"
    assert r.execute_command("LPOS", "big", "Y") == 3001
    assert r.lrem("big", 0, "Y") == 1
    assert r.ltrim("big", 10, -11) is True
    assert r.llen("big") == n - 20
    assert r.lindex("big", 0) == b"element-10"
    assert r.lindex("big", -1) == b"element-4989"
    expected = [b"element-%d" % i for i in range(10, 4990)]
    expected[2990] = b"X"
    assert lst(r, "big") == expected
    popped = r.execute_command("LPOP", "big", 3000)
    assert popped == expected[:3000]
    assert lst(r, "big") == expected[3000:]


def test_small_list_encoding(r):
    r.rpush("l", "a")
    assert r.object("encoding", "l") == b"quicklist"


def test_node_size_config(r):
    old = r.config_get("list-max-listpack-size")["list-max-listpack-size"]
    try:
        assert r.config_get("list-max-ziplist-size") == {"list-max-ziplist-size": old}
        r.config_set("list-max-listpack-size", 4)
        assert r.config_get("list-max-ziplist-size") == {"list-max-ziplist-size": "4"}
        r.rpush("l", *[str(i) for i in range(50)])
        assert lst(r, "l") == [str(i).encode() for i in range(50)]
        for i in range(0, 50, 7):
            assert r.lindex("l", i) == str(i).encode()
        r.linsert("l", "BEFORE", "25", "x")
        assert r.lindex("l", 25) == b"x"
        assert r.lindex("l", 26) == b"25"
    finally:
        r.config_set("list-max-listpack-size", old)


def test_compress_depth_keeps_every_element(r):
    """list-compress-depth compresses the nodes between the ends: every read and change in
    the middle still sees the elements, and the list takes less memory."""
    old = r.config_get("list-compress-depth")["list-compress-depth"]
    model = [b"element-%d-" % i + b"abc" * 20 for i in range(6000)]
    usage = {}
    try:
        for depth in (0, 1, 3):
            r.delete("l")
            r.config_set("list-compress-depth", depth)
            for i in range(0, len(model), 1000):
                r.rpush("l", *model[i:i + 1000])
            usage[depth] = r.memory_usage("l", samples=0)
            items = list(model)
            assert lst(r, "l") == items
            for i in range(0, len(items), 499):
                assert r.lindex("l", i) == items[i]
            for i in (2500, 3001, 3777):
                r.lset("l", i, b"set%d" % i)
                items[i] = b"set%d" % i
            r.linsert("l", "BEFORE", items[3250], b"inserted")
            items.insert(3250, b"inserted")
            assert r.lrem("l", 0, items[2000]) == 1
            del items[2000]
            assert r.lpos("l", items[4500]) == 4500
            assert r.lrange("l", 2990, 3010) == items[2990:3011]
            for _ in range(150):
                assert r.lpop("l") == items.pop(0)
                assert r.rpop("l") == items.pop()
            r.ltrim("l", 100, -100)
            items = items[100:-99]
            assert lst(r, "l") == items
            assert r.object("encoding", "l") == b"quicklist"
        assert usage[1] < usage[0] / 2, usage
        assert usage[3] < usage[0] / 2, usage
    finally:
        r.config_set("list-compress-depth", old)


def test_copy_rename_expire_keep_a_list(r):
    r.rpush("l", *[str(i) for i in range(300)])
    assert r.copy("l", "c") is True
    assert r.rename("l", "m") is True
    r.rpush("c", "extra")
    assert r.llen("m") == 300
    assert r.llen("c") == 301
    assert r.expire("m", 100) is True
    assert 0 < r.ttl("m") <= 100
    assert lst(r, "m") == [str(i).encode() for i in range(300)]
    assert r.delete("m", "c") == 2


def test_list_in_multi(r):
    p = r.pipeline(transaction=True)
    p.rpush("l", "a", "b")
    p.lpop("l")
    p.lrange("l", 0, -1)
    assert p.execute() == [2, b"a", [b"b"]]


def test_queue_pattern_many_rounds(r):
    # RQ/Celery style: producers LPUSH, consumers RPOP; order is first in, first out.
    for round_ in range(20):
        r.lpush("q", *["job-%d-%d" % (round_, i) for i in range(50)])
    seen = []
    while True:
        item = r.rpop("q")
        if item is None:
            break
        seen.append(item)
    assert seen == [b"job-%d-%d" % (k, i) for k in range(20) for i in range(50)]

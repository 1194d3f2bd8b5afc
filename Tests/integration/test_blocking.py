"""Blocking list commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, with several clients."""

import time

import pytest
import redis

from conftest import TARGET

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def rerr(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def wait_blocked(r, n, timeout=5.0):
    """Waits until INFO reports `n` blocked clients."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if r.info("clients")["blocked_clients"] == n:
            return
        time.sleep(0.01)
    raise AssertionError("blocked_clients never reached %d: %r" % (n, r.info("clients")["blocked_clients"]))


def test_blpop_serves_at_once_when_data(r):
    r.rpush("b", "x", "y")
    assert r.blpop(["a", "b"], 1) == (b"b", b"x")
    assert r.brpop(["a", "b"], 1) == (b"b", b"y")
    assert r.exists("b") == 0


def test_blpop_times_out(r, raw):
    start = time.time()
    assert raw.cmd("BLPOP", "nokey", "0.1") == b"*-1\r\n"
    assert time.time() - start >= 0.09
    assert raw.cmd("BRPOPLPUSH", "nokey", "d", "0.05") == b"*-1\r\n"
    assert raw.cmd("BLMOVE", "nokey", "d", "LEFT", "RIGHT", "0.05") == b"*-1\r\n"
    assert raw.cmd("BLMPOP", "0.05", "1", "nokey", "LEFT") == b"*-1\r\n"


def test_timeout_errors(r):
    assert rerr(r, "BLPOP", "k", "abc") == "timeout is not a float or out of range"
    assert rerr(r, "BLPOP", "k", "-1") == "timeout is negative"
    assert rerr(r, "BLMOVE", "k", "d", "LEFT", "RIGHT", "x") == "timeout is not a float or out of range"
    assert rerr(r, "BLMOVE", "k", "d", "UP", "RIGHT", "0") == "syntax error"
    assert rerr(r, "BLMPOP", "0", "0", "k", "LEFT") == "numkeys should be greater than 0"
    assert rerr(r, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0") == "count should be greater than 0"


def test_push_wakes_blocked_client(r, raw_factory):
    c = raw_factory()
    c.send_command("BLPOP", "q", "0")
    wait_blocked(r, 1)
    assert r.rpush("q", "job") == 1
    assert c.read_reply() == b"*2\r\n$1\r\nq\r\n$3\r\njob\r\n"
    wait_blocked(r, 0)
    assert r.exists("q") == 0


def test_first_come_first_served(r, raw_factory):
    clients = [raw_factory() for _ in range(3)]
    for i, c in enumerate(clients):
        c.send_command("BRPOP", "q", "0")
        wait_blocked(r, i + 1)
    r.rpush("q", "one")
    assert clients[0].read_reply() == b"*2\r\n$1\r\nq\r\n$3\r\none\r\n"
    wait_blocked(r, 2)
    assert clients[1].read_available(0.1) == b""
    r.rpush("q", "two", "three")
    # BRPOP takes from the tail: the second client gets "three", the third "two".
    assert clients[1].read_reply() == b"*2\r\n$1\r\nq\r\n$5\r\nthree\r\n"
    assert clients[2].read_reply() == b"*2\r\n$1\r\nq\r\n$3\r\ntwo\r\n"
    wait_blocked(r, 0)


def test_blocked_on_several_keys(r, raw_factory):
    c = raw_factory()
    c.send_command("BLPOP", "a", "b", "c", "5")
    wait_blocked(r, 1)
    r.rpush("c", "x")
    assert c.read_reply() == b"*2\r\n$1\r\nc\r\n$1\r\nx\r\n"


def test_push_from_exec_wakes(r, raw_factory):
    c = raw_factory()
    c.send_command("BLPOP", "q", "0")
    wait_blocked(r, 1)
    p = r.pipeline(transaction=True)
    p.rpush("q", "a", "b")
    p.lpop("q")
    assert p.execute() == [2, b"a"]
    assert c.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n"


def test_blocking_inside_multi_does_not_block(r):
    p = r.pipeline(transaction=True)
    p.blpop(["q"], 0)
    p.execute_command("BLMOVE", "q", "d", "LEFT", "LEFT", 0)
    p.execute_command("BLMPOP", 0, 1, "q", "LEFT")
    assert p.execute() == [None, None, None]


def test_blmove_waits_then_moves(r, raw_factory):
    r.rpush("dst", "old")
    c = raw_factory()
    c.send_command("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
    wait_blocked(r, 1)
    r.rpush("src", "a", "b")
    assert c.read_reply() == b"$1\r\nb\r\n"
    assert r.lrange("dst", 0, -1) == [b"b", b"old"]
    assert r.lrange("src", 0, -1) == [b"a"]


def test_brpoplpush_chain(r, raw_factory):
    c = raw_factory()
    c.send_command("BRPOPLPUSH", "s", "d", "0")
    wait_blocked(r, 1)
    r.lpush("s", "v")
    assert c.read_reply() == b"$1\r\nv\r\n"
    assert r.lrange("d", 0, -1) == [b"v"]


def test_blmpop_waits(r, raw_factory):
    c = raw_factory()
    c.send_command("BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2")
    wait_blocked(r, 1)
    r.rpush("b", "1", "2", "3")
    assert c.read_reply() == b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"


def test_wrongtype(r):
    r.set("s", "v")
    assert rerr(r, "BLPOP", "s", "0") == WRONGTYPE
    r.rpush("l", "x")
    assert rerr(r, "BLPOP", "s", "l", "0") == WRONGTYPE
    assert r.blpop(["l", "s"], 0) == (b"l", b"x")
    assert rerr(r, "BLMOVE", "s", "d", "LEFT", "LEFT", "0") == WRONGTYPE


def test_client_unblock(r, raw_factory):
    c = raw_factory()
    cid = parse_int(c.cmd("CLIENT", "ID"))
    c.send_command("BLPOP", "q", "0")
    wait_blocked(r, 1)
    assert b"flags=b" in [line for line in r.execute_command("CLIENT", "LIST").split(b"\n")
                          if b"id=%d " % cid in line][0]
    assert r.execute_command("CLIENT", "UNBLOCK", cid) == 1
    assert c.read_reply() == b"*-1\r\n"
    assert r.execute_command("CLIENT", "UNBLOCK", cid) == 0
    c.send_command("BLPOP", "q", "0")
    wait_blocked(r, 1)
    assert r.execute_command("CLIENT", "UNBLOCK", cid, "ERROR") == 1
    assert c.read_reply() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    assert rerr(r, "CLIENT", "UNBLOCK", cid, "FOO") == "CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    assert r.execute_command("CLIENT", "UNBLOCK", 999999) == 0


def parse_int(reply):
    assert reply.startswith(b":")
    return int(reply[1:-2])


def test_disconnect_while_blocked(r, raw_factory):
    c = raw_factory()
    c.send_command("BLPOP", "q", "0")
    wait_blocked(r, 1)
    c.close()
    wait_blocked(r, 0)
    # A push afterwards stays in the list: nobody took it.
    assert r.rpush("q", "x") == 1
    assert r.lrange("q", 0, -1) == [b"x"]


def test_pipelined_commands_after_a_blocked_one_wait(r, raw_factory):
    c = raw_factory()
    c.send(c.encode("BLPOP", "q", "0") + c.encode("PING"))
    wait_blocked(r, 1)
    assert c.read_available(0.1) == b""
    r.rpush("q", "x")
    assert c.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n"
    assert c.read_reply() == b"+PONG\r\n"


def test_many_idle_blocked_clients(r, raw_factory):
    clients = [raw_factory() for _ in range(200)]
    for i, c in enumerate(clients):
        c.send_command("BLPOP", "many", "0")
        if i % 50 == 49:
            wait_blocked(r, i + 1)  # in this order: the queue is first come first served
    wait_blocked(r, 200)
    r.rpush("many", *[str(i) for i in range(200)])
    for i, c in enumerate(clients):
        value = str(i).encode()
        assert c.read_reply() == b"*2\r\n$4\r\nmany\r\n$%d\r\n%s\r\n" % (len(value), value)
    wait_blocked(r, 0)
    assert r.exists("many") == 0


def test_rename_creates_list_for_waiter(r, raw_factory):
    r.rpush("other", "x")
    c = raw_factory()
    c.send_command("BLPOP", "q", "0")
    wait_blocked(r, 1)
    r.rename("other", "q")
    assert c.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n"


def test_timeout_float_precision(r, raw):
    start = time.time()
    assert raw.cmd("BLPOP", "nokey", "0.01") == b"*-1\r\n"
    assert time.time() - start < 2

"""MULTI / EXEC / DISCARD / WATCH / UNWATCH."""

import time

import pytest
import redis

from conftest import RawConnection


@pytest.fixture
def other(server):
    c = server.client()
    yield c
    c.close()


def watch_then(raw, key, action, *queued):
    """WATCH key, run action(), then MULTI/queued.../EXEC; return EXEC reply."""
    assert raw.cmd("WATCH", key) == b"+OK\r\n"
    action()
    assert raw.cmd("MULTI") == b"+OK\r\n"
    for q in queued or (("PING",),):
        assert raw.cmd(*q) == b"+QUEUED\r\n"
    return raw.cmd("EXEC")


# ---------------------------------------------------------------- MULTI / EXEC / DISCARD

def test_multi_exec_basic(raw):
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.cmd("INCR", "a") == b"+QUEUED\r\n"
    assert raw.cmd("GET", "a") == b"+QUEUED\r\n"
    assert raw.cmd("GET", "missing") == b"+QUEUED\r\n"
    assert raw.cmd("EXEC") == b"*4\r\n+OK\r\n:2\r\n$1\r\n2\r\n$-1\r\n"


def test_empty_transaction(raw):
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("EXEC") == b"*0\r\n"


def test_queued_commands_not_visible_before_exec(raw, other):
    raw.cmd("MULTI")
    raw.cmd("SET", "a", "1")
    assert other.get("a") is None
    raw.cmd("EXEC")
    assert other.get("a") == b"1"


def test_discard(raw, other):
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.cmd("DISCARD") == b"+OK\r\n"
    assert raw.cmd("GET", "a") == b"$-1\r\n"
    assert raw.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert other.exists("a") == 0


def test_nested_multi(raw):
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.cmd("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    # the nested MULTI does not abort the transaction
    assert raw.cmd("EXEC") == b"*1\r\n+OK\r\n"


def test_exec_without_multi(raw):
    assert raw.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_discard_without_multi(raw):
    assert raw.cmd("DISCARD") == b"-ERR DISCARD without MULTI\r\n"


def test_multi_arity(raw):
    assert raw.cmd("MULTI", "x") == b"-ERR wrong number of arguments for 'multi' command\r\n"


def test_exec_with_args_inside_multi_aborts(raw):
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.cmd("EXEC", "x") == (
        b"-EXECABORT Transaction discarded because of: wrong number of "
        b"arguments for 'exec' command\r\n")
    assert raw.cmd("GET", "a") == b"$-1\r\n"


# ---------------------------------------------------------------- errors

def test_queue_time_errors_execabort(raw, other):
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.cmd("GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert raw.cmd("FOO") == b"-ERR unknown command 'FOO', with args beginning with: \r\n"
    assert raw.cmd("SET", "b", "2") == b"+QUEUED\r\n"
    assert raw.cmd("EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert other.exists("a", "b") == 0
    # no longer in MULTI
    assert raw.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_queue_time_error_then_discard(raw):
    raw.cmd("MULTI")
    assert raw.cmd("INCR") == b"-ERR wrong number of arguments for 'incr' command\r\n"
    assert raw.cmd("DISCARD") == b"+OK\r\n"
    assert raw.cmd("PING") == b"+PONG\r\n"


def test_execabort_redis_py(r):
    p = r.pipeline(transaction=True)
    p.set("a", "1")
    p.execute_command("GET")
    with pytest.raises(redis.exceptions.ResponseError):
        p.execute()
    assert r.exists("a") == 0


def test_runtime_errors_do_not_stop_exec(raw):
    raw.cmd("MULTI")
    assert raw.cmd("SET", "a", "x") == b"+QUEUED\r\n"
    assert raw.cmd("INCR", "a") == b"+QUEUED\r\n"
    assert raw.cmd("SET", "b", "2") == b"+QUEUED\r\n"
    assert raw.cmd("SELECT", "99") == b"+QUEUED\r\n"
    assert raw.cmd("GET", "b") == b"+QUEUED\r\n"
    assert raw.cmd("EXEC") == (
        b"*5\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
        b"-ERR DB index is out of range\r\n$1\r\n2\r\n")


def test_runtime_wrongtype_inside_exec(r, raw, make_list_key):
    make_list_key(r, "l")
    raw.cmd("MULTI")
    raw.cmd("GET", "l")
    raw.cmd("SET", "s", "1")
    assert raw.cmd("EXEC") == (
        b"*2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+OK\r\n")


def test_runtime_errors_redis_py(r):
    r.set("a", "x")
    p = r.pipeline(transaction=True)
    p.incr("a")
    p.set("b", "2")
    res = p.execute(raise_on_error=False)
    assert isinstance(res[0], redis.ResponseError)
    assert str(res[0]) == "value is not an integer or out of range"
    assert res[1] is True
    assert r.get("b") == b"2"


# ---------------------------------------------------------------- SELECT inside MULTI

def test_select_inside_multi(raw, r, server):
    raw.cmd("MULTI")
    raw.cmd("SELECT", "1")
    raw.cmd("SET", "s", "1")
    raw.cmd("SELECT", "0")
    raw.cmd("SET", "s0", "1")
    assert raw.cmd("EXEC") == b"*4\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n"
    c = server.client(db=1)
    try:
        assert c.get("s") == b"1"
        assert c.exists("s0") == 0
    finally:
        c.close()
    assert r.get("s0") == b"1"


def test_select_inside_multi_persists_after_exec(raw, server):
    raw.cmd("MULTI")
    raw.cmd("SELECT", "2")
    assert raw.cmd("EXEC") == b"*1\r\n+OK\r\n"
    raw.cmd("SET", "after", "1")
    c = server.client(db=2)
    try:
        assert c.get("after") == b"1"
    finally:
        c.close()


# ---------------------------------------------------------------- WATCH

def test_watch_other_client_write_aborts(raw, other):
    other.set("k", "v")
    assert watch_then(raw, "k", lambda: other.set("k", "v2"), ("SET", "k", "mine")) == b"*-1\r\n"
    assert other.get("k") == b"v2"


def test_watch_same_value_write_aborts(raw, other):
    other.set("k", "v")
    assert watch_then(raw, "k", lambda: other.set("k", "v")) == b"*-1\r\n"


def test_watch_unmodified_succeeds(raw, other):
    other.set("k", "v")
    assert watch_then(raw, "k", lambda: other.get("k"), ("SET", "k", "mine")) == b"*1\r\n+OK\r\n"
    assert other.get("k") == b"mine"


def test_watch_own_write_before_multi_aborts(raw):
    raw.cmd("SET", "k", "v")
    assert watch_then(raw, "k", lambda: raw.cmd("SET", "k", "w")) == b"*-1\r\n"


def test_watch_missing_key_created_aborts(raw, other):
    assert watch_then(raw, "k", lambda: other.set("k", "v")) == b"*-1\r\n"


def test_watch_missing_key_deleted_again_is_not_touch(raw, other):
    assert watch_then(raw, "k", lambda: other.delete("k")) == b"*1\r\n+PONG\r\n"


@pytest.mark.parametrize("action", [
    lambda o: o.expire("k", 100),
    lambda o: o.incr("k"),
    lambda o: o.append("k", "x"),
    lambda o: o.delete("k"),
    lambda o: o.rename("k", "j"),
    lambda o: o.flushall(),
    lambda o: o.flushdb(),
    lambda o: o.swapdb(0, 1),
])
def test_watch_modifications_abort(raw, other, action):
    other.set("k", "1")
    assert watch_then(raw, "k", lambda: action(other)) == b"*-1\r\n"


def test_watch_rename_onto_key_aborts(raw, other):
    other.set("j", "v")
    assert watch_then(raw, "k", lambda: other.rename("j", "k")) == b"*-1\r\n"


@pytest.mark.parametrize("action", [
    lambda o: o.get("k"),
    lambda o: o.set("k", "x", nx=True),
    lambda o: o.persist("k"),
    lambda o: o.set("other", "x"),
])
def test_watch_non_modifications_do_not_abort(raw, other, action):
    other.set("k", "1")
    assert watch_then(raw, "k", lambda: action(other)) == b"*1\r\n+PONG\r\n"


def test_watch_other_db_does_not_abort(raw, server, other):
    other.set("k", "v")
    c = server.client(db=1)
    try:
        assert watch_then(raw, "k", lambda: c.set("k", "x")) == b"*1\r\n+PONG\r\n"
    finally:
        c.close()


def test_flushall_of_missing_watched_key_does_not_abort(raw, other):
    assert watch_then(raw, "k", lambda: other.flushall()) == b"*1\r\n+PONG\r\n"


def test_watch_key_that_expires_aborts(raw, other):
    other.set("k", "v", px=50)
    assert watch_then(raw, "k", lambda: time.sleep(0.1)) == b"*-1\r\n"


def test_watch_key_already_expired_does_not_abort(raw, other):
    other.set("k", "v", px=20)
    time.sleep(0.05)
    assert watch_then(raw, "k", lambda: None) == b"*1\r\n+PONG\r\n"


def test_watch_inside_multi(raw):
    raw.cmd("MULTI")
    assert raw.cmd("WATCH", "x") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    # does not abort the transaction
    assert raw.cmd("EXEC") == b"*0\r\n"


def test_unwatch(raw, other):
    other.set("k", "v")
    raw.cmd("WATCH", "k")
    assert raw.cmd("UNWATCH") == b"+OK\r\n"
    other.set("k", "x")
    raw.cmd("MULTI")
    raw.cmd("GET", "k")
    assert raw.cmd("EXEC") == b"*1\r\n$1\r\nx\r\n"


def test_unwatch_inside_multi_is_queued(raw):
    raw.cmd("MULTI")
    assert raw.cmd("UNWATCH") == b"+QUEUED\r\n"
    assert raw.cmd("EXEC") == b"*1\r\n+OK\r\n"


def test_exec_unwatches_all_keys(raw, other):
    other.set("k", "v")
    assert watch_then(raw, "k", lambda: None) == b"*1\r\n+PONG\r\n"
    other.set("k", "x")
    raw.cmd("MULTI")
    raw.cmd("PING")
    assert raw.cmd("EXEC") == b"*1\r\n+PONG\r\n"


def test_aborted_exec_unwatches(raw, other):
    other.set("k", "v")
    assert watch_then(raw, "k", lambda: other.set("k", "1")) == b"*-1\r\n"
    other.set("k", "2")
    raw.cmd("MULTI")
    raw.cmd("PING")
    assert raw.cmd("EXEC") == b"*1\r\n+PONG\r\n"


def test_discard_unwatches(raw, other):
    other.set("k", "v")
    raw.cmd("WATCH", "k")
    raw.cmd("MULTI")
    raw.cmd("DISCARD")
    other.set("k", "x")
    raw.cmd("MULTI")
    raw.cmd("PING")
    assert raw.cmd("EXEC") == b"*1\r\n+PONG\r\n"


def test_watch_multiple_keys(raw, other):
    raw.cmd("WATCH", "a", "b", "c")
    other.set("c", "1")
    raw.cmd("MULTI")
    raw.cmd("PING")
    assert raw.cmd("EXEC") == b"*-1\r\n"


def test_watch_arity(raw):
    assert raw.cmd("WATCH") == b"-ERR wrong number of arguments for 'watch' command\r\n"
    assert raw.cmd("UNWATCH", "x") == b"-ERR wrong number of arguments for 'unwatch' command\r\n"


def test_watch_redis_py_optimistic_lock(r, other):
    r.set("counter", "10")
    with r.pipeline() as p:
        p.watch("counter")
        val = int(p.get("counter"))
        other.incr("counter")
        p.multi()
        p.set("counter", val + 1)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("counter") == b"11"


# ---------------------------------------------------------------- reply types inside EXEC

def test_exec_reply_types_resp2(raw):
    raw.cmd("MULTI")
    for c in (("SET", "a", "1"), ("GET", "missing"), ("INCR", "a"),
              ("MGET", "a", "missing"), ("CONFIG", "GET", "databases"),
              ("ECHO", "hi"), ("TTL", "a")):
        assert raw.cmd(*c) == b"+QUEUED\r\n"
    assert raw.cmd("EXEC") == (
        b"*7\r\n+OK\r\n$-1\r\n:2\r\n*2\r\n$1\r\n2\r\n$-1\r\n"
        b"*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n$2\r\nhi\r\n:-1\r\n")


def test_exec_reply_types_resp3(raw):
    assert raw.cmd("HELLO", "3").startswith(b"%7\r\n")
    raw.cmd("MULTI")
    for c in (("SET", "a", "1"), ("GET", "missing"), ("INCR", "a"),
              ("MGET", "a", "missing"), ("CONFIG", "GET", "databases")):
        assert raw.cmd(*c) == b"+QUEUED\r\n"
    assert raw.cmd("EXEC") == (
        b"*5\r\n+OK\r\n_\r\n:2\r\n*2\r\n$1\r\n2\r\n_\r\n"
        b"%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n")


def test_hello_inside_multi_switches_protocol(raw):
    raw.cmd("MULTI")
    raw.cmd("HELLO", "3")
    raw.cmd("GET", "missing")
    reply = raw.cmd("EXEC")
    assert reply.startswith(b"*2\r\n%7\r\n")
    assert reply.endswith(b"_\r\n")


def test_pipelined_transaction(raw):
    raw.send(raw.encode("MULTI") + raw.encode("SET", "x", "1") + raw.encode("INCRBY", "x", "5")
             + raw.encode("EXEC") + raw.encode("GET", "x"))
    assert raw.read_replies(5) == [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n",
                                   b"*2\r\n+OK\r\n:6\r\n", b"$1\r\n6\r\n"]


def test_transaction_is_atomic_wrt_other_clients(r, server):
    r.set("n", "0")
    clients = [RawConnection(server.host, server.port) for _ in range(4)]
    try:
        for c in clients:
            c.send(b"".join(c.encode(*cmd) for cmd in
                            [("MULTI",)] + [("INCR", "n")] * 50 + [("EXEC",)]))
        for c in clients:
            replies = c.read_replies(52)
            assert replies[0] == b"+OK\r\n"
            assert all(x == b"+QUEUED\r\n" for x in replies[1:51])
            nums = replies[51].split(b"\r\n")[1:-1]
            vals = [int(x[1:]) for x in nums]
            assert len(vals) == 50
            # consecutive: nothing interleaved inside one EXEC
            assert vals == list(range(vals[0], vals[0] + 50))
    finally:
        for c in clients:
            c.close()
    assert r.get("n") == b"200"


# ---------------------------------------------------------------- atomic units and the tier

@pytest.mark.strata_only
def test_no_key_leaves_ram_while_exec_runs(server):
    """MULTI, TIER DEMOTE-ALL, KEYS *, EXISTS, GET, TIER DEMOTE, EXEC: the queued commands
    see the key as it was (it answered [OK, [], 0, nil] when the demotion ran inside EXEC);
    the demotion of everything runs once EXEC has ended."""
    r = server.client()
    r.flushall()
    r.set("k", "v")
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("TIER", "DEMOTE-ALL")
    pipe.keys("*")
    pipe.exists("k")
    pipe.get("k")
    pipe.execute_command("TIER", "DEMOTE", "k")
    pipe.get("k")
    assert pipe.execute() == [b"OK", [b"k"], 1, b"v", 0, b"v"]
    assert r.execute_command("TIER", "GET", "k") == b"cold"
    assert r.get("k") == b"v"

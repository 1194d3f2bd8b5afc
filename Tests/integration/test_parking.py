"""The parked-command path (Strata only).

`DEBUG PARK-KEYS <prefix> <ms>` makes every command that touches a key with the prefix
wait <ms> before it runs, the way a command touching a cold key waits for its background
read. Checks: only that connection waits; its pipelined replies keep their order; other
clients are served meanwhile; MULTI/EXEC waits for all its keys before running atomically.
"""
import time

import pytest

pytestmark = pytest.mark.strata_only

DELAY_MS = 400


@pytest.fixture
def parked(r):
    assert r.execute_command("DEBUG", "PARK-KEYS", "slow:", DELAY_MS) == b"OK"
    yield
    r.execute_command("DEBUG", "PARK-KEYS", "", 0)


def test_pipelined_replies_keep_order_while_parked(parked, raw_factory):
    a = raw_factory()
    start = time.monotonic()
    a.send(a.encode("SET", "slow:1", "v1") + a.encode("GET", "slow:1")
           + a.encode("PING") + a.encode("GET", "fast") + a.encode("ECHO", "last"))
    replies = a.read_replies(5)
    elapsed = time.monotonic() - start
    assert replies == [b"+OK\r\n", b"$2\r\nv1\r\n", b"+PONG\r\n", b"$-1\r\n", b"$4\r\nlast\r\n"]
    # SET and GET each park once.
    assert elapsed >= 2 * DELAY_MS / 1000 * 0.9


def test_other_clients_are_served_while_one_waits(parked, raw_factory):
    a = raw_factory()
    b = raw_factory()
    start = time.monotonic()
    a.send_command("GET", "slow:x")
    for i in range(20):
        assert b.cmd("SET", "k%d" % i, "v") == b"+OK\r\n"
    assert b.cmd("GET", "k3") == b"$1\r\nv\r\n"
    served = time.monotonic() - start
    assert served < DELAY_MS / 1000, "the other client was held up by the parked one"
    assert a.read_reply() == b"$-1\r\n"
    assert time.monotonic() - start >= DELAY_MS / 1000 * 0.9


def test_input_arriving_while_parked_is_kept(parked, raw_factory):
    a = raw_factory()
    a.send_command("SET", "slow:2", "x")
    time.sleep(0.05)
    a.send_command("APPEND", "slow:2", "y")
    a.send(b"PING\r\n")
    assert a.read_replies(3) == [b"+OK\r\n", b":2\r\n", b"+PONG\r\n"]
    assert a.cmd("GET", "slow:2") == b"$2\r\nxy\r\n"


def test_exec_waits_for_all_queued_keys(parked, raw_factory):
    a = raw_factory()
    b = raw_factory()
    assert a.cmd("MULTI") == b"+OK\r\n"
    assert a.cmd("SET", "slow:t1", "1") == b"+QUEUED\r\n"
    assert a.cmd("INCR", "slow:t2") == b"+QUEUED\r\n"
    assert a.cmd("GET", "plain") == b"+QUEUED\r\n"
    start = time.monotonic()
    a.send_command("EXEC")
    assert b.cmd("PING") == b"+PONG\r\n"
    assert time.monotonic() - start < DELAY_MS / 1000
    assert a.read_reply() == b"*3\r\n+OK\r\n:1\r\n$-1\r\n"
    assert time.monotonic() - start >= DELAY_MS / 1000 * 0.9


def test_client_closing_while_parked_does_not_break_server(parked, raw_factory, r):
    a = raw_factory()
    a.send_command("SET", "slow:gone", "1")
    a.close()
    time.sleep(DELAY_MS / 1000 + 0.2)
    assert r.ping()

"""The socket layer: replies larger than the socket takes at once (a client that does
not read), peers that half-close or vanish, many connections at once. Replies must
arrive whole and in order, and one stuck client must not hold up the others.

Values stay small enough for the mixed mode's 4 MB maxmemory: a client that must fall
behind asks for the same few keys many times, past what the kernel buffers (a loopback
socket's send buffer grows to 4 MB), and has a small receive buffer."""

import socket
import time

from conftest import RawConnection

KB = 1024


def enc(*args):
    return RawConnection.encode(*args)


def _wait_for_clients(r, expected, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if r.info("clients")["connected_clients"] == expected:
            return True
        time.sleep(0.05)
    return False


def _unsent_reply_bytes(r, name):
    for entry in r.client_list():
        if entry["name"] == name:
            return int(entry["omem"])
    raise AssertionError("no client named %s" % name)


def test_replies_larger_than_the_socket_arrive_whole_and_in_order(r, raw_factory):
    values = [bytes([65 + i]) * (128 * KB) for i in range(4)]
    for i, value in enumerate(values):
        r.set("big:%d" % i, value)
    slow = raw_factory(receive_buffer=4 * KB)
    assert slow.cmd("CLIENT", "SETNAME", "slow") == b"+OK\r\n"
    order = [i % 4 for i in range(96)]  # 12 MB of replies
    slow.send(b"".join(enc("GET", "big:%d" % i) for i in order) + enc("PING"))
    # The server holds what the socket did not take, and serves others meanwhile.
    deadline = time.time() + 5
    while _unsent_reply_bytes(r, "slow") == 0 and time.time() < deadline:
        time.sleep(0.05)
    assert _unsent_reply_bytes(r, "slow") > 0
    assert r.ping() is True
    assert r.get("big:3") == values[3]
    for i in order:
        assert slow.read_reply() == b"$%d\r\n%s\r\n" % (len(values[i]), values[i])
    assert slow.read_reply() == b"+PONG\r\n"
    # The connection keeps working once its backlog is out.
    assert slow.cmd("ECHO", "after") == b"$5\r\nafter\r\n"
    assert _unsent_reply_bytes(r, "slow") == 0


def test_client_that_vanishes_with_replies_pending(r, raw_factory):
    value = b"x" * (256 * KB)
    r.set("big", value)
    baseline = r.info("clients")["connected_clients"]
    gone = raw_factory(receive_buffer=4 * KB)
    gone.send(enc("GET", "big") * 8)
    time.sleep(0.3)
    # Close with a reset (linger 0): the server's next write fails.
    gone.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    gone.close()
    assert _wait_for_clients(r, baseline)
    assert r.get("big") == value


def test_quit_waits_for_the_replies_before_it(r, raw_factory):
    value = b"q" * (512 * KB)
    r.set("big", value)
    c = raw_factory(receive_buffer=4 * KB)
    c.send(enc("GET", "big") + enc("QUIT"))
    time.sleep(0.3)  # QUIT has run; most of the reply is still in the server
    assert c.read_reply() == b"$%d\r\n%s\r\n" % (len(value), value)
    assert c.read_reply() == b"+OK\r\n"
    assert c.read_until_closed(timeout=5) == b""


def test_half_closed_client_gets_its_replies(server, r):
    s = socket.create_connection((server.host, server.port), timeout=5)
    s.sendall(b"PING\r\n" + enc("SET", "hc", "1") + enc("INCR", "hc") + enc("GET", "hc"))
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    assert out == b"+PONG\r\n+OK\r\n:2\r\n$1\r\n2\r\n"


def test_many_connections_at_once(server, r):
    baseline = r.info("clients")["connected_clients"]
    sockets = [socket.create_connection((server.host, server.port), timeout=5) for _ in range(300)]
    try:
        for i, s in enumerate(sockets):
            s.sendall(enc("SET", "conn:%d" % i, str(i)))
        for s in sockets:
            assert s.recv(16) == b"+OK\r\n"
        assert r.info("clients")["connected_clients"] == baseline + 300
        for i, s in enumerate(sockets):
            s.sendall(enc("GET", "conn:%d" % i))
        for i, s in enumerate(sockets):
            expected = str(i).encode()
            assert s.recv(64) == b"$%d\r\n%s\r\n" % (len(expected), expected)
    finally:
        for s in sockets:
            s.close()
    assert _wait_for_clients(r, baseline)


def test_request_arriving_a_byte_at_a_time_among_other_clients(r, raw_factory):
    slow = raw_factory()
    fast = raw_factory()
    frame = enc("SET", "drip", "v" * 100)
    for i, byte in enumerate(frame):
        slow.send(bytes([byte]))
        if i % 20 == 0:
            assert fast.cmd("PING") == b"+PONG\r\n"
    assert slow.read_reply() == b"+OK\r\n"
    assert r.get("drip") == b"v" * 100

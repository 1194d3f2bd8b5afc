"""RESP2 wire protocol: pipelining, inline commands, protocol errors,
binary safety, generic error texts and a seeded fuzz run."""

import random
import socket
import time

import pytest
import redis

from conftest import RawConnection


def enc(*args):
    return RawConnection.encode(*args)


# ---------------------------------------------------------------- pipelining

def test_pipeline_many_commands_in_one_write(raw):
    n = 1000
    payload = b"".join(enc("SET", "k%d" % i, "v%d" % i) for i in range(n))
    payload += b"".join(enc("GET", "k%d" % i) for i in range(n))
    payload += enc("DBSIZE")
    raw.send(payload)
    for i in range(n):
        assert raw.read_reply() == b"+OK\r\n"
    for i in range(n):
        v = b"v%d" % i
        assert raw.read_reply() == b"$%d\r\n%s\r\n" % (len(v), v)
    assert raw.read_reply() == b":%d\r\n" % n


def test_pipeline_mixed_inline_and_multibulk(raw):
    raw.send(b"PING\r\n" + enc("SET", "a", "1") + b"INCR a\r\n" + enc("GET", "a"))
    assert raw.read_replies(4) == [b"+PONG\r\n", b"+OK\r\n", b":2\r\n", b"$1\r\n2\r\n"]


def test_command_split_across_many_writes(raw):
    data = enc("SET", "split", "value-" * 10) + enc("GET", "split")
    for i in range(len(data)):
        raw.send(data[i:i + 1])
        if i % 7 == 0:
            time.sleep(0.001)
    assert raw.read_reply() == b"+OK\r\n"
    assert raw.read_reply() == b"$60\r\n" + b"value-" * 10 + b"\r\n"


def test_pipelined_errors_do_not_break_stream(raw):
    raw.send(enc("SET", "s", "x") + enc("INCR", "s") + enc("GET") + enc("NOPE")
             + enc("GET", "s"))
    assert raw.read_replies(5) == [
        b"+OK\r\n",
        b"-ERR value is not an integer or out of range\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
        b"-ERR unknown command 'NOPE', with args beginning with: \r\n",
        b"$1\r\nx\r\n",
    ]


def test_large_value_roundtrip(raw):
    value = random.Random(7).randbytes(1 << 20)
    assert raw.cmd("SET", "big", value) == b"+OK\r\n"
    assert raw.cmd("STRLEN", "big") == b":1048576\r\n"
    assert raw.cmd("GET", "big") == b"$1048576\r\n" + value + b"\r\n"


# ---------------------------------------------------------------- inline

def test_inline_ping(raw):
    raw.send(b"PING\r\n")
    assert raw.read_reply() == b"+PONG\r\n"


def test_inline_set_get(raw):
    raw.send(b"SET a b\r\nGET a\r\n")
    assert raw.read_replies(2) == [b"+OK\r\n", b"$1\r\nb\r\n"]


def test_inline_lf_only_terminator(raw):
    raw.send(b"PING\nECHO hi\n")
    assert raw.read_replies(2) == [b"+PONG\r\n", b"$2\r\nhi\r\n"]


def test_inline_multiple_spaces_and_tabs(raw):
    raw.send(b"  SET \t  sp   val  \r\nGET sp\r\n")
    assert raw.read_replies(2) == [b"+OK\r\n", b"$3\r\nval\r\n"]


def test_inline_double_quoted_args(raw):
    raw.send(b'SET "my key" "hello world"\r\n')
    assert raw.read_reply() == b"+OK\r\n"
    assert raw.cmd("GET", "my key") == b"$11\r\nhello world\r\n"


def test_inline_double_quote_escapes(raw):
    raw.send(b'SET esc "a\\x41\\n\\t\\"\\\\z"\r\n')
    assert raw.read_reply() == b"+OK\r\n"
    assert raw.cmd("GET", "esc") == b'$7\r\naA\n\t"\\z\r\n'


def test_inline_single_quoted_args(raw):
    raw.send(b"SET sq 'it\\'s \"raw\\n\"'\r\n")
    assert raw.read_reply() == b"+OK\r\n"
    assert raw.cmd("GET", "sq") == b'$12\r\nit\'s "raw\\n"\r\n'


def test_inline_empty_quoted_arg(raw):
    raw.send(b'ECHO ""\r\n')
    assert raw.read_reply() == b"$0\r\n\r\n"


def test_inline_empty_lines_ignored(raw):
    raw.send(b"\r\n\r\n\n   \r\nPING\r\n")
    assert raw.read_reply() == b"+PONG\r\n"
    assert raw.read_available(0.2) == b""


@pytest.mark.parametrize("line", [
    b'SET a "b\r\n',
    b"SET a 'b\r\n",
    b'ECHO "a"b\r\n',
    b"ECHO 'a'b\r\n",
])
def test_inline_unbalanced_quotes(raw, line):
    raw.send(line)
    assert raw.read_until_closed(timeout=2) == \
        b"-ERR Protocol error: unbalanced quotes in request\r\n"


def test_inline_unknown_command_text(raw):
    raw.send(b"foo a b\r\n")
    assert raw.read_reply() == \
        b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"


def test_inline_too_big(raw):
    raw.send(b"a" * 70000)
    assert raw.read_until_closed(timeout=3) == \
        b"-ERR Protocol error: too big inline request\r\n"


def test_inline_dollar_line_is_a_command_name(raw):
    # a line starting with something other than '*' is an inline command
    raw.send(b"$abc\r\n")
    assert raw.read_reply() == \
        b"-ERR unknown command '$abc', with args beginning with: \r\n"


# ---------------------------------------------------------------- protocol errors

@pytest.mark.parametrize("data", [
    b"*abc\r\n",
    b"*2147483648\r\n",
    b"*99999999999999999999\r\n",
    b"*+1\r\n$4\r\nPING\r\n",
    b"* 1\r\n$4\r\nPING\r\n",
    b"*01\r\n$4\r\nPING\r\n",
    b"*\r\n",
])
def test_invalid_multibulk_length(raw, data):
    raw.send(data)
    assert raw.read_until_closed(timeout=2) == \
        b"-ERR Protocol error: invalid multibulk length\r\n"


@pytest.mark.parametrize("data", [
    b"*1\r\n$abc\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$-5\r\n",
    b"*1\r\n$\r\n",
    b"*1\r\n$+4\r\nPING\r\n",
    b"*1\r\n$536870913\r\n",  # proto-max-bulk-len (512mb) + 1
    b"*1\r\n$2147483648\r\n",
    b"*1\r\n$99999999999999999999\r\n",
])
def test_invalid_bulk_length(raw, data):
    raw.send(data)
    assert raw.read_until_closed(timeout=2) == \
        b"-ERR Protocol error: invalid bulk length\r\n"


def test_expected_dollar(raw):
    raw.send(b"*1\r\nfoo\r\n")
    assert raw.read_until_closed(timeout=2) == \
        b"-ERR Protocol error: expected '$', got 'f'\r\n"


def test_expected_dollar_second_arg(raw):
    raw.send(b"*2\r\n$4\r\nECHO\r\n:5\r\n")
    assert raw.read_until_closed(timeout=2) == \
        b"-ERR Protocol error: expected '$', got ':'\r\n"


def test_too_big_mbulk_count_string(raw):
    raw.send(b"*" + b"1" * 70000)
    assert raw.read_until_closed(timeout=3) == \
        b"-ERR Protocol error: too big mbulk count string\r\n"


def test_too_big_bulk_count_string(raw):
    raw.send(b"*1\r\n$" + b"1" * 70000)
    assert raw.read_until_closed(timeout=3) == \
        b"-ERR Protocol error: too big bulk count string\r\n"


def test_commands_before_protocol_error_are_executed(r, raw):
    raw.send(enc("SET", "before-err", "1") + b"*x\r\n" + enc("SET", "after-err", "1"))
    assert raw.read_until_closed(timeout=2) == (
        b"+OK\r\n-ERR Protocol error: invalid multibulk length\r\n")
    assert r.get("before-err") == b"1"
    assert r.exists("after-err") == 0


@pytest.mark.parametrize("header", [b"*-1\r\n", b"*0\r\n", b"*-100\r\n"])
def test_empty_or_negative_multibulk_is_ignored(raw, header):
    raw.send(header + b"PING\r\n" + header + enc("ECHO", "x"))
    assert raw.read_replies(2) == [b"+PONG\r\n", b"$1\r\nx\r\n"]
    assert not raw.is_closed(timeout=0.2)


def test_large_but_valid_multibulk_count_waits_for_data(raw):
    # 1M+1 elements is not a protocol error: the server waits for the rest
    raw.send(b"*1048577\r\n")
    assert raw.read_available(0.3) == b""
    assert not raw.closed


def test_bulk_at_max_len_waits_for_data(raw):
    raw.send(b"*1\r\n$536870912\r\n")
    assert raw.read_available(0.3) == b""
    assert not raw.closed


def test_empty_command_name(raw):
    assert raw.cmd("") == b"-ERR unknown command '', with args beginning with: \r\n"


def test_connection_usable_after_partial_frame_completes(raw):
    raw.send(b"*2\r\n$4\r\nEC")
    time.sleep(0.05)
    raw.send(b"HO\r\n$3\r\nab")
    time.sleep(0.05)
    raw.send(b"c\r\n")
    assert raw.read_reply() == b"$3\r\nabc\r\n"


# ---------------------------------------------------------------- binary safety

@pytest.mark.parametrize("key,value", [
    (b"k\x00ey", b"v\x00al"),
    (b"k\r\ney", b"v\r\nal\r\n"),
    (b"\xff\xfe\x00\x01", b"\x00" * 10),
    (b"*1\r\n$4\r\nPING\r\n", b"$-1\r\n"),
    (b"", b""),
])
def test_binary_safe_keys_and_values(r, raw, key, value):
    assert raw.cmd("SET", key, value) == b"+OK\r\n"
    assert raw.cmd("GET", key) == b"$%d\r\n%s\r\n" % (len(value), value)
    assert raw.cmd("STRLEN", key) == b":%d\r\n" % len(value)
    assert raw.cmd("EXISTS", key) == b":1\r\n"
    assert r.get(key) == value
    assert key in r.keys("*")


def test_all_byte_values_roundtrip(r):
    value = bytes(range(256)) * 4
    key = bytes(range(256))
    r.set(key, value)
    assert r.get(key) == value
    assert r.append(key, b"\x00") == 1025
    assert r.getrange(key, 1020, -1) == b"\xfc\xfd\xfe\xff\x00"


# ---------------------------------------------------------------- error texts

@pytest.mark.parametrize("args,name", [
    (("GET",), "get"),
    (("GET", "a", "b"), "get"),
    (("SET", "a"), "set"),
    (("MSET", "a"), "mset"),
    (("MSET", "a", "b", "c"), "mset"),
    (("DEL",), "del"),
    (("EXISTS",), "exists"),
    (("INCR",), "incr"),
    (("Get",), "get"),
    (("CLIENT",), "client"),
    (("CLIENT", "SETNAME"), "client|setname"),
    (("CONFIG", "GET"), "config|get"),
])
def test_wrong_arity_text(raw, args, name):
    assert raw.cmd(*args) == \
        b"-ERR wrong number of arguments for '%s' command\r\n" % name.encode()


@pytest.mark.parametrize("args,reply", [
    (("foo",), b"-ERR unknown command 'foo', with args beginning with: \r\n"),
    (("foo", "a", "b"),
     b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"),
    (("FooBar", "x"),
     b"-ERR unknown command 'FooBar', with args beginning with: 'x' \r\n"),
    (("foo", ""), b"-ERR unknown command 'foo', with args beginning with: '' \r\n"),
    # CR/LF in the echoed text is replaced by spaces
    (("foo", "a\r\nb"),
     b"-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n"),
])
def test_unknown_command_text(raw, args, reply):
    assert raw.cmd(*args) == reply


def test_unknown_command_args_truncated_to_128_chars(raw):
    reply = raw.cmd("foo", "a" * 50, "b" * 50, "c" * 50, "d")
    assert reply == (b"-ERR unknown command 'foo', with args beginning with: '"
                     + b"a" * 50 + b"' '" + b"b" * 50 + b"' '" + b"c" * 22
                     + b"' \r\n")


def test_unknown_command_name_truncated_to_128_chars(raw):
    reply = raw.cmd("x" * 200)
    assert reply == (b"-ERR unknown command '" + b"x" * 128
                     + b"', with args beginning with: \r\n")


@pytest.mark.parametrize("args", [
    ("CONFIG", "FOO"), ("CLIENT", "foo", "bar"), ("OBJECT", "FOO", "k"),
])
def test_unknown_subcommand_text(raw, args):
    assert raw.cmd(*args) == ("-ERR unknown subcommand '%s'. Try %s HELP.\r\n"
                              % (args[1], args[0].upper())).encode()


@pytest.mark.parametrize("args", [
    ("INCRBY", "n", "x"),
    ("INCRBY", "n", "1.5"),
    ("INCRBY", "n", "99999999999999999999"),
    ("EXPIRE", "n", "abc"),
    ("GETRANGE", "n", "a", "1"),
    ("SETRANGE", "n", "x", "v"),
    ("SET", "n", "v", "EX", "abc"),
    ("SET", "n", "v", "EX", "1.5"),
    ("SCAN", "0", "COUNT", "abc"),
])
def test_not_an_integer_text(raw, args):
    raw.cmd("SET", "n", "1")
    assert raw.cmd(*args) == b"-ERR value is not an integer or out of range\r\n"


@pytest.mark.parametrize("args", [
    ("INCRBYFLOAT", "n", "abc"), ("INCRBYFLOAT", "n", "1.0x"),
])
def test_not_a_float_text(raw, args):
    raw.cmd("SET", "n", "1")
    assert raw.cmd(*args) == b"-ERR value is not a valid float\r\n"


def test_errors_via_redis_py(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("GET")
    assert str(e.value) == "wrong number of arguments for 'get' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("foo", "a", "b")
    assert str(e.value) == "unknown command 'foo', with args beginning with: 'a' 'b' "


# ---------------------------------------------------------------- fuzz

_FUZZ_CORPUS = [
    ("SET", "fz:a", "hello"), ("GET", "fz:a"), ("APPEND", "fz:a", "xyz"),
    ("INCR", "fz:n"), ("INCRBY", "fz:n", "17"), ("DECR", "fz:n"),
    ("MSET", "fz:b", "1", "fz:c", "2"), ("MGET", "fz:a", "fz:b", "fz:c"),
    ("STRLEN", "fz:a"), ("GETRANGE", "fz:a", "0", "-1"), ("EXISTS", "fz:a"),
    ("DEL", "fz:b"), ("EXPIRE", "fz:c", "100"), ("TTL", "fz:c"), ("PING",),
    ("ECHO", "abc"), ("TYPE", "fz:a"), ("GETDEL", "fz:z"), ("SETNX", "fz:d", "v"),
    ("INCRBYFLOAT", "fz:f", "1.5"), ("DBSIZE",), ("SCAN", "0", "COUNT", "5"),
    ("BITCOUNT", "fz:a"), ("GETBIT", "fz:a", "3"), ("STRLEN", "fz:n"),
    ("HELLO", "3"), ("HELLO", "2"), ("MULTI",), ("EXEC",), ("WATCH", "fz:a"),
    ("PTTL", "fz:a"), ("KEYS", "fz:*"), ("GETSET", "fz:a", "x"),
]


def _fuzz_frame(rng):
    kind = rng.random()
    cmds = [rng.choice(_FUZZ_CORPUS) for _ in range(rng.randint(1, 4))]
    if kind < 0.15:
        # inline form
        data = b"".join((" ".join(c)).encode() + b"\r\n" for c in cmds)
    else:
        data = b"".join(enc(*c) for c in cmds)
    if kind > 0.9:
        # pure garbage
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
    data = bytearray(data)
    for _ in range(rng.randint(0, 6)):
        op = rng.random()
        if not data:
            break
        pos = rng.randrange(len(data))
        if op < 0.3:
            data[pos] = rng.getrandbits(8)
        elif op < 0.5:
            data[pos:pos] = bytes([rng.choice(b"*$\r\n-+:0123456789\" '\\\x00")])
        elif op < 0.7:
            del data[pos:pos + rng.randint(1, 5)]
        elif op < 0.8:
            data = data[:pos]
        elif op < 0.9:
            # replace a length by a weird one
            idx = data.find(b"$", pos)
            if idx >= 0:
                weird = rng.choice([b"-1", b"-2", b"0", b"99999", b"4294967296",
                                    b"abc", b"", b"536870913", b"3"])
                end = data.find(b"\r\n", idx)
                if end > 0:
                    data[idx + 1:end] = weird
        else:
            idx = data.find(b"*", pos)
            if idx >= 0:
                weird = rng.choice([b"-1", b"0", b"1", b"1024", b"2147483648",
                                    b"x", b"", b"-7"])
                end = data.find(b"\r\n", idx)
                if end > 0:
                    data[idx + 1:end] = weird
    return bytes(data)


def _resp2_complete_prefix_ok(data):
    """Check data is a sequence of complete RESP2/RESP3 replies."""
    from conftest import ConnectionClosed

    class _Buf(RawConnection):
        def __init__(self, b):
            self.buf = b
            self.closed = True

        def _fill(self):
            raise ConnectionClosed("incomplete")

    p = _Buf(data)
    while p.buf:
        p.read_reply()
    return True


def test_fuzz_random_and_mutated_frames(server, r):
    sentinel_key = b"fuzz:sentinel:\x00\xff"
    sentinel_val = b"precious \r\n value \x00"
    r.set(sentinel_key, sentinel_val)
    baseline = r.info("clients")["connected_clients"]
    rng = random.Random(20240601)
    frames = 2000
    for i in range(frames):
        frame = _fuzz_frame(rng)
        s = socket.create_connection((server.host, server.port), timeout=5)
        try:
            s.sendall(frame)
            if rng.random() < 0.5:
                # half-close so the server sees EOF and must close us
                s.shutdown(socket.SHUT_WR)
                chunks = []
                while True:
                    try:
                        d = s.recv(65536)
                    except ConnectionResetError:
                        break
                    if not d:
                        break
                    chunks.append(d)
                out = b"".join(chunks)
                try:
                    _resp2_complete_prefix_ok(out)
                except Exception as e:  # pragma: no cover - diagnostic
                    pytest.fail("frame %d %r produced malformed output %r (%s)"
                                % (i, frame, out, e))
        finally:
            s.close()
    c = server.client()
    try:
        assert c.ping() is True
        assert c.get(sentinel_key) == sentinel_val
        # all fuzz connections are gone again
        deadline = time.time() + 3
        while time.time() < deadline:
            n = c.info("clients")["connected_clients"]
            if n <= baseline + 1:
                break
            time.sleep(0.05)
        assert n <= baseline + 1
    finally:
        c.close()
    # a normal raw client still works byte-exactly
    rc = RawConnection(server.host, server.port)
    try:
        assert rc.cmd("PING") == b"+PONG\r\n"
        assert rc.cmd("GET", sentinel_key) == \
            b"$%d\r\n%s\r\n" % (len(sentinel_val), sentinel_val)
    finally:
        rc.close()

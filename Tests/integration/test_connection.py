"""PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET."""

import re

import pytest
import redis


def err(excinfo):
    return str(excinfo.value)


# ---------------------------------------------------------------- PING / ECHO

def test_ping_plain(r):
    assert r.execute_command("PING") in (True, b"PONG")
    assert r.ping() is True


def test_ping_raw_reply_is_status(raw):
    assert raw.cmd("PING") == b"+PONG\r\n"


def test_ping_with_message_is_bulk(raw):
    assert raw.cmd("PING", "hello") == b"$5\r\nhello\r\n"
    assert raw.cmd("PING", "") == b"$0\r\n\r\n"


def test_ping_too_many_args(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("PING", "a", "b")
    assert err(e) == "wrong number of arguments for 'ping' command"


def test_ping_case_insensitive(raw):
    assert raw.cmd("pInG") == b"+PONG\r\n"


def test_echo(r, raw):
    assert r.echo("hello world") == b"hello world"
    assert raw.cmd("ECHO", "") == b"$0\r\n\r\n"
    assert raw.cmd("ECHO", b"a\x00b\r\nc") == b"$6\r\na\x00b\r\nc\r\n"


@pytest.mark.parametrize("args", [("ECHO",), ("ECHO", "a", "b")])
def test_echo_arity(raw, args):
    assert raw.cmd(*args) == b"-ERR wrong number of arguments for 'echo' command\r\n"


# ---------------------------------------------------------------- QUIT

def test_quit_replies_ok_and_closes(raw):
    raw.send_command("QUIT")
    assert raw.read_reply() == b"+OK\r\n"
    assert raw.is_closed(timeout=2)


def test_quit_ignores_extra_args_and_discards_pipeline(raw):
    # QUIT has arity -1; commands after it in the same write are not executed
    raw.send(raw.encode("QUIT", "x") + raw.encode("SET", "after-quit", "1"))
    assert raw.read_until_closed(timeout=2) == b"+OK\r\n"


def test_quit_does_not_run_following_commands(r, raw):
    raw.send(raw.encode("SET", "before", "1") + raw.encode("QUIT")
             + raw.encode("SET", "after", "1"))
    assert raw.read_until_closed(timeout=2) == b"+OK\r\n+OK\r\n"
    assert r.get("before") == b"1"
    assert r.exists("after") == 0


# ---------------------------------------------------------------- HELLO

HELLO_KEYS = ["server", "version", "proto", "id", "mode", "role", "modules"]


def _hello_resp2_as_dict(reply):
    assert isinstance(reply, list) and len(reply) == 14
    keys = [k.decode() for k in reply[0::2]]
    assert keys == HELLO_KEYS
    return dict(zip(keys, reply[1::2]))


def test_hello_no_args_resp2(r):
    d = _hello_resp2_as_dict(r.execute_command("HELLO"))
    assert d["server"] == b"redis"
    assert d["version"].startswith(b"7.")
    assert d["proto"] == 2
    assert d["id"] == r.client_id()
    assert d["mode"] == b"standalone"
    assert d["role"] == b"master"
    assert d["modules"] == []


def test_hello_2_raw_framing(raw):
    reply = raw.cmd("HELLO", "2")
    m = re.fullmatch(
        rb"\*14\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n"
        rb"\$\d+\r\n7\.[0-9.]+\r\n\$5\r\nproto\r\n:2\r\n\$2\r\nid\r\n:(\d+)\r\n"
        rb"\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n"
        rb"\$7\r\nmodules\r\n\*0\r\n", reply, re.S)
    assert m, reply
    assert raw.cmd("CLIENT", "ID") == b":%s\r\n" % m.group(1)


def test_hello_3_raw_framing_is_map(raw):
    reply = raw.cmd("HELLO", "3")
    assert re.fullmatch(
        rb"%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n"
        rb"\$\d+\r\n7\.[0-9.]+\r\n\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n"
        rb"\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n"
        rb"\$7\r\nmodules\r\n\*0\r\n", reply, re.S), reply
    # protocol really switched: a missing key is now the RESP3 null
    assert raw.cmd("GET", "no-such-key") == b"_\r\n"
    # and back to RESP2
    assert raw.cmd("HELLO", "2").startswith(b"*14\r\n")
    assert raw.cmd("GET", "no-such-key") == b"$-1\r\n"


@pytest.mark.parametrize("ver", ["4", "1", "0", "-1", "100"])
def test_hello_unsupported_version(raw, ver):
    assert raw.cmd("HELLO", ver) == b"-NOPROTO unsupported protocol version\r\n"
    # the connection stays usable with the old protocol
    assert raw.cmd("GET", "nokey") == b"$-1\r\n"


@pytest.mark.parametrize("ver", ["abc", "2.0", "", "3x"])
def test_hello_non_integer_version(raw, ver):
    assert raw.cmd("HELLO", ver) == \
        b"-ERR Protocol version is not an integer or out of range\r\n"


def test_hello_setname(r):
    d = _hello_resp2_as_dict(r.execute_command("HELLO", "2", "SETNAME", "myname"))
    assert d["proto"] == 2
    assert r.execute_command("CLIENT", "GETNAME") == b"myname"


def test_hello_auth_and_setname_without_password_configured(raw):
    # the default user is "nopass": any password is accepted for it
    reply = raw.cmd("HELLO", "3", "AUTH", "default", "whatever", "SETNAME", "n1")
    assert reply.startswith(b"%7\r\n")
    assert raw.cmd("CLIENT", "GETNAME") == b"$2\r\nn1\r\n"


def test_hello_auth_unknown_user(raw):
    assert raw.cmd("HELLO", "2", "AUTH", "nosuchuser", "pw") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


@pytest.mark.parametrize("args,opt", [
    (("HELLO", "3", "FOO"), "FOO"),
    (("HELLO", "2", "AUTH", "a"), "AUTH"),
    (("HELLO", "2", "SETNAME"), "SETNAME"),
    (("HELLO", "2", "SETNAME", "my", "name"), "name"),
])
def test_hello_syntax_errors(raw, args, opt):
    assert raw.cmd(*args) == \
        b"-ERR Syntax error in HELLO option '%s'\r\n" % opt.encode()


def test_hello_setname_invalid_name(raw):
    assert raw.cmd("HELLO", "3", "SETNAME", "a b") == \
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    # the protocol must not have been switched by the failed HELLO
    assert raw.cmd("GET", "nokey") == b"$-1\r\n"


# ---------------------------------------------------------------- AUTH

def test_auth_without_password_configured(raw):
    assert raw.cmd("AUTH", "x") == (
        b"-ERR AUTH <password> called without any password configured for "
        b"the default user. Are you sure your configuration is correct?\r\n")


def test_auth_default_user_nopass_accepts_anything(raw):
    assert raw.cmd("AUTH", "default", "anything") == b"+OK\r\n"


def test_auth_unknown_user(raw):
    assert raw.cmd("AUTH", "someone", "pw") == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def test_auth_arity(raw):
    assert raw.cmd("AUTH") == b"-ERR wrong number of arguments for 'auth' command\r\n"
    assert raw.cmd("AUTH", "a", "b", "c") == b"-ERR syntax error\r\n"


# ---------------------------------------------------------------- SELECT

def test_select_all_valid_dbs_are_isolated(server, r):
    c = server.client()
    try:
        for db in range(16):
            assert c.execute_command("SELECT", db) is True
            c.set("k", "v%d" % db)
        for db in range(16):
            c.execute_command("SELECT", db)
            assert c.get("k") == b"v%d" % db
            assert c.dbsize() == 1
    finally:
        c.close()


@pytest.mark.parametrize("db", ["16", "-1", "1000", "2147483647", "-2147483648"])
def test_select_out_of_range(raw, db):
    assert raw.cmd("SELECT", db) == b"-ERR DB index is out of range\r\n"


@pytest.mark.parametrize("db", ["2147483648", "-2147483649", "9223372036854775807"])
def test_select_beyond_int32(raw, db):
    # redis parses the index as a C int; note redis's grammar ("must between")
    assert raw.cmd("SELECT", db) == (
        b"-ERR value is out of range, value must between "
        b"-2147483648 and 2147483647\r\n")


@pytest.mark.parametrize("db", ["x", "1.0", "", " 1", "0x1", "99999999999999999999"])
def test_select_not_integer(raw, db):
    assert raw.cmd("SELECT", db) == b"-ERR value is not an integer or out of range\r\n"


def test_select_arity(raw):
    assert raw.cmd("SELECT") == b"-ERR wrong number of arguments for 'select' command\r\n"
    assert raw.cmd("SELECT", "1", "2") == \
        b"-ERR wrong number of arguments for 'select' command\r\n"


def test_select_raw_reply(raw):
    assert raw.cmd("SELECT", "15") == b"+OK\r\n"
    assert raw.cmd("SET", "in15", "x") == b"+OK\r\n"
    assert raw.cmd("SELECT", "0") == b"+OK\r\n"
    assert raw.cmd("GET", "in15") == b"$-1\r\n"


# ---------------------------------------------------------------- RESET

def test_reset_restores_connection_state(r, raw):
    assert raw.cmd("SELECT", "3") == b"+OK\r\n"
    assert raw.cmd("CLIENT", "SETNAME", "foo") == b"+OK\r\n"
    assert raw.cmd("HELLO", "3").startswith(b"%7")
    assert raw.cmd("SET", "k3", "v") == b"+OK\r\n"
    assert raw.cmd("RESET") == b"+RESET\r\n"
    # back in db 0, RESP2, no name
    assert raw.cmd("GET", "k3") == b"$-1\r\n"
    assert raw.cmd("CLIENT", "GETNAME") == b"$-1\r\n"
    r.select(3)
    assert r.get("k3") == b"v"


def test_reset_leaves_multi(raw):
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.cmd("RESET") == b"+RESET\r\n"
    assert raw.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert raw.cmd("GET", "a") == b"$-1\r\n"


def test_reset_unwatches(r, raw, server):
    r.set("w", "1")
    assert raw.cmd("WATCH", "w") == b"+OK\r\n"
    assert raw.cmd("RESET") == b"+RESET\r\n"
    r.set("w", "2")  # would abort the transaction if still watched
    assert raw.cmd("MULTI") == b"+OK\r\n"
    assert raw.cmd("GET", "w") == b"+QUEUED\r\n"
    assert raw.cmd("EXEC") == b"*1\r\n$1\r\n2\r\n"


def test_reset_arity(raw):
    assert raw.cmd("RESET", "x") == b"-ERR wrong number of arguments for 'reset' command\r\n"

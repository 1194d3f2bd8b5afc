"""requirepass, rename-command, protected configs, DEBUG gating, protected mode.
Every test uses a dedicated server instance."""

import socket
import time

import pytest
import redis

from conftest import RawConnection

NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled "
    b"and no password is set for the default user. In this mode connections are only "
    b"accepted from the loopback interface. If you want to connect from external "
    b"computers to Redis you may adopt one of the following solutions: 1) Just disable "
    b"protected mode sending the command 'CONFIG SET protected-mode no' from the "
    b"loopback interface by connecting to Redis from the same host the server is "
    b"running, however MAKE SURE Redis is not publicly accessible from internet if you "
    b"do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can "
    b"just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If "
    b"you started the server manually just for testing, restart it with the "
    b"'--protected-mode no' option. 4) Setup a an authentication password for the "
    b"default user. NOTE: You only need to do one of the above things in order for the "
    b"server to start accepting connections from the outside.\r\n")


def conn(s, source=None, host=None):
    return RawConnection(host or s.host, s.port, source=source)


# ---------------------------------------------------------------- requirepass

@pytest.fixture
def pw_server(server_factory):
    return server_factory("--requirepass", "s3cret")


@pytest.mark.parametrize("cmd", [("PING",), ("GET", "a"), ("SET", "a", "b"), ("MULTI",),
                                 ("ECHO", "x"), ("SELECT", "1"), ("CONFIG", "GET", "*")])
def test_noauth_before_auth(pw_server, cmd):
    c = conn(pw_server)
    assert c.cmd(*cmd) == NOAUTH
    c.close()


def test_unknown_command_before_auth(pw_server):
    c = conn(pw_server)
    assert c.cmd("FOO") == b"-ERR unknown command 'FOO', with args beginning with: \r\n"
    c.close()


def test_auth_wrong_then_right(pw_server):
    c = conn(pw_server)
    assert c.cmd("AUTH", "wrong") == WRONGPASS
    assert c.cmd("PING") == NOAUTH
    assert c.cmd("AUTH", "s3cret") == b"+OK\r\n"
    assert c.cmd("PING") == b"+PONG\r\n"
    assert c.cmd("SET", "a", "1") == b"+OK\r\n"
    c.close()


def test_auth_with_default_username(pw_server):
    c = conn(pw_server)
    assert c.cmd("AUTH", "default", "wrong") == WRONGPASS
    assert c.cmd("AUTH", "nosuchuser", "s3cret") == WRONGPASS
    assert c.cmd("AUTH", "default", "s3cret") == b"+OK\r\n"
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()


def test_auth_arity_with_password(pw_server):
    c = conn(pw_server)
    assert c.cmd("AUTH") == b"-ERR wrong number of arguments for 'auth' command\r\n"
    assert c.cmd("AUTH", "a", "b", "c") == b"-ERR syntax error\r\n"
    c.close()


def test_hello_requires_auth(pw_server):
    c = conn(pw_server)
    msg = (b"-NOAUTH HELLO must be called with the client already authenticated, otherwise "
           b"the HELLO AUTH <user> <pass> option can be used to authenticate the client and "
           b"select the RESP protocol version at the same time\r\n")
    assert c.cmd("HELLO", "3") == msg
    assert c.cmd("HELLO") == msg
    assert c.cmd("HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
    reply = c.cmd("HELLO", "3", "AUTH", "default", "s3cret")
    assert reply.startswith(b"%7\r\n$6\r\nserver\r\n")
    assert c.cmd("GET", "nokey") == b"_\r\n"
    c.close()


def test_quit_and_reset_allowed_before_auth(pw_server):
    c = conn(pw_server)
    assert c.cmd("RESET") == b"+RESET\r\n"
    assert c.cmd("QUIT") == b"+OK\r\n"
    assert c.is_closed(timeout=2)
    c.close()


def test_reset_deauthenticates(pw_server):
    c = conn(pw_server)
    assert c.cmd("AUTH", "s3cret") == b"+OK\r\n"
    assert c.cmd("RESET") == b"+RESET\r\n"
    assert c.cmd("PING") == NOAUTH
    c.close()


def test_unauthenticated_protocol_limits(pw_server):
    c = conn(pw_server)
    c.send(b"*11\r\n")
    assert c.read_until_closed(timeout=2) == \
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    c.close()
    c = conn(pw_server)
    c.send(b"*1\r\n$16385\r\n")
    assert c.read_until_closed(timeout=2) == \
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    c.close()
    # within the limits the server keeps waiting for the data
    c = conn(pw_server)
    c.send(b"*10\r\n")
    assert c.read_available(0.3) == b""
    assert not c.closed
    c.close()


def test_requirepass_redis_py(pw_server):
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    bad = redis.Redis(host=pw_server.host, port=pw_server.port, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.AuthenticationError):
        bad.ping()
    bad.close()
    good = redis.Redis(host=pw_server.host, port=pw_server.port, password="s3cret")
    assert good.ping() is True
    good.close()


def test_config_set_requirepass_at_runtime(server_factory):
    s = server_factory()
    c = conn(s)
    assert c.cmd("CONFIG", "SET", "requirepass", "newpw") == b"+OK\r\n"
    # the current connection stays authenticated
    assert c.cmd("PING") == b"+PONG\r\n"
    d = conn(s)
    assert d.cmd("PING") == NOAUTH
    assert d.cmd("AUTH", "newpw") == b"+OK\r\n"
    c.close()
    d.close()


# ---------------------------------------------------------------- rename-command

def test_rename_command_via_config_file(server_factory):
    s = server_factory(config_text='rename-command FLUSHALL MYFLUSH\nrename-command DEBUG ""\n')
    c = conn(s)
    assert c.cmd("FLUSHALL") == b"-ERR unknown command 'FLUSHALL', with args beginning with: \r\n"
    assert c.cmd("SET", "a", "1") == b"+OK\r\n"
    assert c.cmd("MYFLUSH") == b"+OK\r\n"
    assert c.cmd("DBSIZE") == b":0\r\n"
    assert c.cmd("myflush") == b"+OK\r\n"
    assert c.cmd("DEBUG", "SLEEP", "0") == \
        b"-ERR unknown command 'DEBUG', with args beginning with: 'SLEEP' '0' \r\n"
    # other commands are untouched
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()


# ---------------------------------------------------------------- protected configs / DEBUG

def test_protected_config_refused_by_default(server_factory):
    s = server_factory()
    c = conn(s)
    assert c.cmd("CONFIG", "GET", "enable-protected-configs") == \
        b"*2\r\n$24\r\nenable-protected-configs\r\n$2\r\nno\r\n"
    assert c.cmd("CONFIG", "SET", "dir", "/tmp") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'dir') - "
        b"can't set protected config\r\n")
    assert c.cmd("CONFIG", "SET", "enable-protected-configs", "yes") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'enable-protected-configs') - "
        b"can't set immutable config\r\n")
    c.close()


def test_protected_config_allowed_when_enabled(server_factory, tmp_path):
    s = server_factory("--enable-protected-configs", "yes")
    c = conn(s)
    assert c.cmd("CONFIG", "SET", "dir", str(tmp_path)) == b"+OK\r\n"
    assert c.cmd("CONFIG", "GET", "dir") == b"*2\r\n$3\r\ndir\r\n$%d\r\n%s\r\n" % (
        len(str(tmp_path)), str(tmp_path).encode())
    c.close()


def test_debug_command_disabled(server_factory):
    s = server_factory("--enable-debug-command", "no")
    c = conn(s)
    assert c.cmd("DEBUG", "SLEEP", "0") == (
        b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to "
        b"\"local\", you can run it from a local connection, otherwise you need to set this "
        b"option in the configuration file, and then restart the server.\r\n")
    assert c.cmd("CONFIG", "SET", "enable-debug-command", "yes") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - "
        b"can't set immutable config\r\n")
    c.close()


def test_debug_command_local(server_factory):
    s = server_factory("--enable-debug-command", "local")
    c = conn(s)
    assert c.cmd("DEBUG", "SLEEP", "0") == b"+OK\r\n"
    c.close()


# ---------------------------------------------------------------- protected mode

def test_protected_mode_denies_non_loopback_source(server_factory):
    s = server_factory("--protected-mode", "yes", bind="127.0.0.1 127.0.0.2")
    c = RawConnection("127.0.0.2", s.port, source="127.0.0.2")
    # the error is sent right after accept, then the connection is closed
    assert c.read_until_closed(timeout=3) == DENIED
    c.close()
    # also when connecting to 127.0.0.1 from 127.0.0.2
    c = RawConnection("127.0.0.1", s.port, source="127.0.0.2")
    assert c.read_until_closed(timeout=3) == DENIED
    c.close()


def test_protected_mode_allows_loopback_127_0_0_1(server_factory):
    s = server_factory("--protected-mode", "yes", bind="127.0.0.1 127.0.0.2")
    c = RawConnection("127.0.0.2", s.port, source="127.0.0.1")
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()
    c = RawConnection("127.0.0.1", s.port, source="127.0.0.1")
    assert c.cmd("SET", "a", "1") == b"+OK\r\n"
    c.close()


def test_protected_mode_with_password_allows_any_source(server_factory):
    s = server_factory("--protected-mode", "yes", "--requirepass", "pw",
                       bind="127.0.0.1 127.0.0.2")
    c = RawConnection("127.0.0.2", s.port, source="127.0.0.2")
    assert c.cmd("PING") == NOAUTH
    assert c.cmd("AUTH", "pw") == b"+OK\r\n"
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()


def test_protected_mode_off_allows_any_source(server_factory):
    s = server_factory("--protected-mode", "no", bind="127.0.0.1 127.0.0.2")
    c = RawConnection("127.0.0.2", s.port, source="127.0.0.2")
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()


def test_protected_mode_toggle_at_runtime(server_factory):
    s = server_factory("--protected-mode", "yes", bind="127.0.0.1 127.0.0.2")
    admin = RawConnection("127.0.0.1", s.port)
    assert admin.cmd("CONFIG", "SET", "protected-mode", "no") == b"+OK\r\n"
    c = RawConnection("127.0.0.2", s.port, source="127.0.0.2")
    assert c.cmd("PING") == b"+PONG\r\n"
    c.close()
    assert admin.cmd("CONFIG", "SET", "protected-mode", "yes") == b"+OK\r\n"
    c = RawConnection("127.0.0.2", s.port, source="127.0.0.2")
    assert c.read_until_closed(timeout=3) == DENIED
    c.close()
    admin.close()

"""Compatibility with the real redis-cli binary."""

import shutil
import subprocess

import pytest

REDIS_CLI = shutil.which("redis-cli")

pytestmark = pytest.mark.skipif(REDIS_CLI is None, reason="redis-cli not installed")


def cli(server, *args, input=None, timeout=30):
    p = subprocess.run([REDIS_CLI, "-h", server.host, "-p", str(server.port), *args],
                       input=input, capture_output=True, timeout=timeout)
    return p


def test_cli_set_get(server, r):
    p = cli(server, "set", "k", "v")
    assert p.returncode == 0
    assert p.stdout == b"OK\n"
    p = cli(server, "get", "k")
    assert p.stdout == b"v\n"
    assert r.get("k") == b"v"


def test_cli_get_missing_raw_and_no_raw(server, r):
    assert cli(server, "get", "nokey").stdout == b"\n"
    assert cli(server, "--no-raw", "get", "nokey").stdout == b"(nil)\n"


def test_cli_no_raw_formatting(server, r):
    r.set("k", "v")
    r.set("n", "5")
    assert cli(server, "--no-raw", "get", "k").stdout == b'"v"\n'
    assert cli(server, "--no-raw", "incr", "n").stdout == b"(integer) 6\n"
    assert cli(server, "--no-raw", "mget", "k", "n", "nokey").stdout == \
        b'1) "v"\n2) "6"\n3) (nil)\n'
    assert cli(server, "mget", "k", "n", "nokey").stdout == b"v\n6\n\n"
    assert cli(server, "--no-raw", "config", "get", "databases").stdout == \
        b'1) "databases"\n2) "16"\n'


def test_cli_no_raw_error(server, r):
    p = cli(server, "--no-raw", "foo", "a")
    assert p.stdout == b"(error) ERR unknown command 'foo', with args beginning with: 'a' \n"
    r.set("k", "v")
    p = cli(server, "--no-raw", "incr", "k")
    assert p.stdout == b"(error) ERR value is not an integer or out of range\n"


def test_cli_raw_error(server, r):
    p = cli(server, "foo", "a")
    assert p.stdout == b"ERR unknown command 'foo', with args beginning with: 'a' \n\n"


def test_cli_select_db(server, r):
    assert cli(server, "-n", "3", "set", "x", "y").stdout == b"OK\n"
    assert cli(server, "-n", "3", "get", "x").stdout == b"y\n"
    assert r.get("x") is None


def test_cli_stdin_commands(server, r):
    p = cli(server, input=b"SET a 1\nINCR a\nGET a\n")
    assert p.stdout == b"OK\n2\n2\n"


def test_cli_info_server(server, r):
    p = cli(server, "info", "server")
    assert p.returncode == 0
    text = p.stdout.decode()
    assert text.startswith("# Server\r\n")
    assert "redis_version:" in text
    assert "tcp_port:%d\r\n" % server.port in text


def test_cli_ping(server):
    assert cli(server, "ping").stdout == b"PONG\n"


def test_cli_pipe_mass_insertion(server, r):
    n = 10000
    parts = []
    for i in range(n):
        k = b"key:%d" % i
        v = b"value:%d" % i
        parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    p = cli(server, "--pipe", input=b"".join(parts), timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "All data transferred. Waiting for the last reply..." in out
    assert "Last reply received from server." in out
    assert "errors: 0, replies: %d" % n in out
    assert r.dbsize() == n
    assert r.get("key:9999") == b"value:9999"
    assert cli(server, "dbsize").stdout == b"%d\n" % n


def test_cli_pipe_counts_errors(server, r):
    p = cli(server, "--pipe", input=b"SET a 1\r\nINCR a\r\nFOO\r\n")
    assert p.returncode == 1
    out = p.stdout.decode()
    assert "errors: 1, replies: 3" in out
    assert "ERR unknown command 'FOO'" in out + p.stderr.decode()
    assert r.get("a") == b"2"

"""Black-box integration test harness for Strata (and reference redis-server).

Environment:
  STRATA_TARGET      "strata" (default) or "redis"
  STRATA_SERVER      path of the strata binary
                     (default: <repo>/.build/release/strata-server)
  STRATA_EXTRA_ARGS  extra whitespace-separated args appended for strata only

Both servers are started with redis-server style arguments:
  BINARY [CONFIG_FILE] --port P --bind 127.0.0.1 --save "" --appendonly no
         --dir TMPDIR --enable-debug-command yes --daemonize no --logfile ""
         [extra args...]

Persistence tests: ServerInstance(save="3600 1", appendonly="yes") puts those values in
place of the defaults (later arguments also win in both servers, so extra args such as
"--appendonly yes" override them too); ServerInstance(data_dir=PATH) uses PATH as --dir
and never deletes it; kill() / terminate() / restart() stop and start the server on the
same port and data directory (see ServerInstance).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

TARGET = os.environ.get("STRATA_TARGET", "strata").strip().lower() or "strata"
if TARGET not in ("strata", "redis"):
    raise RuntimeError("STRATA_TARGET must be 'strata' or 'redis', got %r" % TARGET)

if TARGET == "redis":
    SERVER_BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"
    EXTRA_ARGS = []
else:
    SERVER_BINARY = os.environ.get("STRATA_SERVER") or os.path.join(
        REPO_ROOT, ".build", "release", "strata-server")
    EXTRA_ARGS = os.environ.get("STRATA_EXTRA_ARGS", "").split()
    if os.sep in SERVER_BINARY:
        # servers run with cwd=TMPDIR, so a relative path must be resolved now
        SERVER_BINARY = os.path.abspath(SERVER_BINARY)

def _mode_config():
    """CONFIG GET values that the tier mode's extra arguments change (maxmemory is in
    bytes, as CONFIG GET prints it)."""
    values = {"maxmemory": "0", "maxmemory-policy": "noeviction"}
    units = {"kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
    for name, value in zip(EXTRA_ARGS[0::2], EXTRA_ARGS[1::2]):
        name = name.lstrip("-")
        if name == "maxmemory" and value[-2:].lower() in units:
            value = str(int(value[:-2]) * units[value[-2:].lower()])
        if name in values:
            values[name] = value
    return values


MODE_CONFIG = _mode_config()


def mode_config(name):
    return MODE_CONFIG[name]


START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _ping(host, port, timeout=0.5):
    """Return True when a raw RESP PING gets +PONG (or any sane reply)."""
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return False
    try:
        s.settimeout(timeout)
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        data = s.recv(64)
        # +PONG normally; -NOAUTH when requirepass is configured;
        # -DENIED when protected mode rejects us.  All mean "up".
        return data.startswith((b"+PONG", b"-NOAUTH", b"-DENIED", b"-"))
    except OSError:
        return False
    finally:
        s.close()


class ServerInstance:
    """One server process; it may be stopped and started again on the same port and
    data directory (restart tests).

    data_dir: the server's --dir. None (the default): a fresh temporary directory,
    deleted by stop(). A given directory is never deleted. Either way the server's output
    and config file live in the instance's own temporary directory (self.tmpdir), so a
    small data filesystem only holds data.
    save / appendonly: the values of the default "--save" / "--appendonly" arguments.
    """

    def __init__(self, extra_args=(), config_text=None, bind="127.0.0.1",
                 port=None, data_dir=None, save="", appendonly="no"):
        self.host = "127.0.0.1"
        self.bind = bind
        self.port = port or free_port()
        self.tmpdir = tempfile.mkdtemp(prefix="strata-it-")
        self.dir = self.tmpdir if data_dir is None else os.path.abspath(data_dir)
        self.config_path = None
        self.log_path = os.path.join(self.tmpdir, "server.out")
        self.runs = 0
        args = [SERVER_BINARY]
        if config_text is not None:
            self.config_path = os.path.join(self.tmpdir, "server.conf")
            with open(self.config_path, "w") as f:
                f.write(config_text)
            args.append(self.config_path)
        args += [
            "--port", str(self.port),
            "--bind", *bind.split(),
            "--save", save,
            "--appendonly", appendonly,
            "--dir", self.dir,
            "--enable-debug-command", "yes",
            "--daemonize", "no",
            "--logfile", "",
        ]
        args += list(extra_args)
        args += EXTRA_ARGS
        self.args = args
        self.proc = None
        self._log = None

    def _launch(self):
        if not os.path.exists(SERVER_BINARY):
            self.cleanup()
            pytest.exit("server binary not found: %s (STRATA_TARGET=%s)"
                        % (SERVER_BINARY, TARGET), returncode=1)
        self.runs += 1
        if self.runs > 1:   # one output file per run: server.out, server.2.out, ...
            self.log_path = os.path.join(self.tmpdir, "server.%d.out" % self.runs)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args, stdout=self._log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     cwd=self.tmpdir)

    def try_start(self, timeout=START_TIMEOUT):
        """Start the server: True once it answers on its port, False if the process
        exited first (its exit code is self.proc.returncode, its output self.log()).
        Raises RuntimeError if it neither answers nor exits within timeout."""
        self._launch()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                # it may have answered a last probe before exiting; either way it is gone
                self._close_log()
                return False
            if _ping(self.host, self.port):
                return True
            time.sleep(0.02)
        out = self.log()
        self.terminate(signal.SIGKILL)
        raise RuntimeError("server neither answered nor exited within %.0fs "
                           "(args=%r):\n%s" % (timeout, self.args, out))

    def start(self):
        try:
            if self.try_start():
                return self
        except RuntimeError:
            self.cleanup()
            raise
        out = self.log()
        rc = self.proc.returncode
        self.stop()
        raise RuntimeError("server did not start (args=%r, rc=%r):\n%s"
                           % (self.args, rc, out))

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def client(self, **kw):
        kw.setdefault("protocol", 2)
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def _close_log(self):
        if self._log is not None:
            try:
                self._log.close()
            except Exception:
                pass
            self._log = None

    def terminate(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Send sig and wait for the process to exit (SIGKILL after timeout); keeps the
        data directory. Returns the exit code (negative: killed by that signal), or None
        if no process was started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        self._close_log()
        return self.proc.returncode

    def kill(self):
        """kill -9: a crash. The data directory stays for a restart."""
        return self.terminate(signal.SIGKILL)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for a process that is stopping by itself (SHUTDOWN); returns its exit code."""
        rc = self.proc.wait(timeout=timeout)
        self._close_log()
        return rc

    def restart(self, sig=signal.SIGTERM):
        """Stop the running server with sig (if it runs) and start it again on the same
        port and data directory."""
        self.terminate(sig)
        return self.start()

    def wait_loaded(self, timeout=START_TIMEOUT):
        """Wait until the server no longer answers -LOADING (it may still refuse a PING
        for another reason, e.g. Redis's -MISCONF)."""
        deadline = time.time() + timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if not s.recv(64).startswith(b"-LOADING"):
                        return self
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server still loading after %.0fs" % timeout)
            time.sleep(0.02)

    def cleanup(self):
        """Delete the instance's temporary directory (and the data directory only if the
        instance created it)."""
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def stop(self):
        if self.proc is None:
            self.cleanup()
            return
        self.terminate()
        self.cleanup()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "strata_only: test only makes sense against strata-server")
    config.addinivalue_line(
        "markers", "redis_only: test only makes sense against redis-server")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if TARGET == "redis" and item.get_closest_marker("strata_only"):
            item.add_marker(pytest.mark.skip(reason="strata-only test"))
        if TARGET == "strata" and item.get_closest_marker("redis_only"):
            item.add_marker(pytest.mark.skip(reason="redis-only test"))


def pytest_report_header(config):
    return "strata integration target: %s (%s)" % (TARGET, SERVER_BINARY)


@pytest.fixture(scope="session")
def target():
    return TARGET


@pytest.fixture(scope="session")
def server():
    inst = ServerInstance().start()
    yield inst
    inst.stop()


def _fresh_client(server, protocol):
    c = redis.Redis(host=server.host, port=server.port, protocol=protocol,
                    socket_timeout=10)
    c.flushall()
    c.config_resetstat()
    return c


@pytest.fixture
def r(server):
    c = _fresh_client(server, 2)
    yield c
    c.close()


@pytest.fixture
def r3(server):
    c = _fresh_client(server, 3)
    yield c
    c.close()


class ConnectionClosed(Exception):
    pass


class RespError(Exception):
    """A decoded RESP error reply (also compares equal to its text)."""

    def __eq__(self, other):
        if isinstance(other, RespError):
            return self.args == other.args
        if isinstance(other, (bytes, str)):
            t = other.encode() if isinstance(other, str) else other
            return self.args[0] == t
        return NotImplemented

    def __hash__(self):
        return hash(self.args)


def parse_resp(data):
    """Decode exactly one RESP2/RESP3 reply into Python values:
    bulk/simple/verbatim strings -> bytes, integers/bignums -> int,
    doubles -> float, nulls -> None, booleans -> bool, arrays/sets/pushes
    -> list, maps -> list of (key, value) pairs, errors -> RespError."""
    value, end = _parse_value(data, 0)
    if end != len(data):
        raise ValueError("trailing data after reply: %r" % data[end:end + 50])
    return value


def _parse_value(data, pos):
    t = data[pos:pos + 1]
    eol = data.index(b"\r\n", pos)
    line = data[pos + 1:eol]
    nxt = eol + 2
    if t == b"+":
        return line, nxt
    if t in (b"-", b"!"):
        if t == b"!":
            n = int(line)
            return RespError(data[nxt:nxt + n]), nxt + n + 2
        return RespError(line), nxt
    if t in (b":", b"("):
        return int(line), nxt
    if t == b",":
        return float(line), nxt
    if t == b"_":
        return None, nxt
    if t == b"#":
        return line == b"t", nxt
    if t in (b"$", b"="):
        n = int(line)
        if n < 0:
            return None, nxt
        body = data[nxt:nxt + n]
        if t == b"=":
            body = body[4:]
        return body, nxt + n + 2
    if t in (b"*", b"~", b">"):
        n = int(line)
        if n < 0:
            return None, nxt
        out = []
        for _ in range(n):
            v, nxt = _parse_value(data, nxt)
            out.append(v)
        return out, nxt
    if t in (b"%", b"|"):
        n = int(line)
        out = []
        for _ in range(n):
            k, nxt = _parse_value(data, nxt)
            v, nxt = _parse_value(data, nxt)
            out.append((k, v))
        if t == b"|":
            return _parse_value(data, nxt)
        return out, nxt
    raise ValueError("bad RESP type %r at %d" % (t, pos))


class RawConnection:
    """A raw TCP connection that returns exact reply bytes."""

    def __init__(self, host, port, timeout=5.0, source=None, receive_buffer=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source is not None:
            self.sock.bind((source, 0))
        if receive_buffer is not None:
            # Before connecting, so that the advertised window is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.timeout = timeout
        self.buf = b""
        self.closed = False

    # -- sending -----------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send_command(self, *args):
        self.send(self.encode(*args))

    def cmd(self, *args):
        """Send one command as a multibulk and return the raw reply bytes."""
        self.send_command(*args)
        return self.read_reply()

    # -- receiving ---------------------------------------------------------
    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("timed out waiting for reply; buffered=%r"
                               % self.buf[:200])
        except ConnectionResetError:
            d = b""
        if not d:
            self.closed = True
            raise ConnectionClosed("connection closed; buffered=%r"
                                   % self.buf[:200])
        self.buf += d

    def _line_end(self, pos):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            self._fill()

    def _need(self, n):
        while len(self.buf) < n:
            self._fill()

    def _parse(self, pos):
        """Return the end offset of the reply starting at pos."""
        self._need(pos + 1)
        t = self.buf[pos:pos + 1]
        eol = self._line_end(pos)
        line = self.buf[pos + 1:eol]
        after = eol + 2
        if t in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return after
        if t in (b"$", b"!", b"="):
            n = int(line)
            if n < 0:
                return after
            self._need(after + n + 2)
            return after + n + 2
        if t in (b"*", b"~", b">"):
            n = int(line)
            for _ in range(max(n, 0)):
                after = self._parse(after)
            return after
        if t in (b"%", b"|"):
            n = int(line)
            for _ in range(2 * n):
                after = self._parse(after)
            if t == b"|":  # attribute precedes the real reply
                after = self._parse(after)
            return after
        raise ValueError("unknown RESP type byte %r in %r" % (t, self.buf[:200]))

    def read_reply(self):
        end = self._parse(0)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out

    def call(self, *args):
        """Send one command and return the decoded reply (see parse_resp)."""
        return parse_resp(self.cmd(*args))

    def read_replies(self, n):
        return [self.read_reply() for _ in range(n)]

    def read_line(self):
        i = self._line_end(0)
        out, self.buf = self.buf[:i + 2], self.buf[i + 2:]
        return out

    def read_exactly(self, n):
        self._need(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until_closed(self, timeout=None):
        """Read everything until the peer closes; returns the bytes read.
        Raises TimeoutError if the connection is still open after timeout."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        try:
            while True:
                try:
                    self._fill()
                except ConnectionClosed:
                    break
        finally:
            self.sock.settimeout(old)
        out, self.buf = self.buf, b""
        return out

    def is_closed(self, timeout=1.0):
        """True if the peer closed the connection (within timeout)."""
        if self.closed:
            return True
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    self.closed = True
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            self.closed = True
            return True
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass

    def read_available(self, wait=0.2):
        """Return whatever arrives within `wait` seconds (may be b'')."""
        old = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    self.closed = True
                    break
                self.buf += d
        except socket.timeout:
            pass
        except ConnectionResetError:
            self.closed = True
        finally:
            self.sock.settimeout(old)
        out, self.buf = self.buf, b""
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def raw_factory(server):
    conns = []

    def make(port=None, host=None, source=None, timeout=5.0, receive_buffer=None):
        c = RawConnection(host or server.host, port or server.port,
                          timeout=timeout, source=source, receive_buffer=receive_buffer)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()


@pytest.fixture
def raw(server, raw_factory):
    # make sure the keyspace is clean for raw-socket tests as well
    c = redis.Redis(host=server.host, port=server.port, protocol=2)
    c.flushall()
    c.config_resetstat()
    c.close()
    return raw_factory()


@pytest.fixture
def server_factory():
    started = []

    def make(*extra_args, config_text=None, bind="127.0.0.1", **kw):
        inst = ServerInstance(extra_args, config_text=config_text, bind=bind, **kw)
        started.append(inst)
        return inst.start()

    yield make
    for inst in started:
        inst.stop()


def skip_unless_command(client, *cmd):
    """Run cmd; pytest.skip if the server does not know the command."""
    try:
        return client.execute_command(*cmd)
    except redis.ResponseError as e:
        if str(e).startswith("unknown command"):
            pytest.skip("server lacks command %s" % cmd[0])
        raise


@pytest.fixture
def make_list_key():
    """Create a list key (for WRONGTYPE checks); skips if RPUSH is unknown."""
    def make(client, key, *values):
        skip_unless_command(client, "RPUSH", key, *(values or ("x",)))
        return key
    return make

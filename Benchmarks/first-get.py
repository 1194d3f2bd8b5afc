#!/usr/bin/env python3
"""Start a RESP server and measure the wall time from spawning it to the first GET that
gets a real answer (a -LOADING error, a refused connection or a nil reply do not count).

usage: first-get.py --port P --key K [--value-size N --key-number n] [--log FILE]
                    [--stop shutdown|shutdown-nosave|kill|none] -- server-command args...

Polls every --interval seconds (default 0.001): connect, then GET K on the same
connection until the reply is a bulk string. With --key-number/--value-size the reply is
checked byte for byte against strata-load's value for that key (DeterministicValue in
Benchmarks/Sources/LoadSupport). Then DBSIZE, the server's RSS, and --stop:
  shutdown         SHUTDOWN (Strata checkpoints; Redis saves only if save rules exist)
  shutdown-nosave  SHUTDOWN NOSAVE
  kill             SIGKILL
  none             leave it running (its pid is printed)
The time from sending SHUTDOWN to the process's exit is reported as stop_ms.
Prints one JSON line; with --log, also the log lines the server wrote during this run.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
M64 = (1 << 64) - 1


def deterministic_value(n, size):
    """strata-load's value of key n (SplitMix64 seeded n + 0x5EED, 6 bits a character)."""
    state = (n + 0x5EED) & M64
    out = bytearray()
    while len(out) < size:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        word = z ^ (z >> 31)
        for _ in range(10):
            if len(out) == size:
                break
            out.append(ALPHABET[word & 63])
            word >>= 6
    return bytes(out)


def command(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """('bulk', bytes|None) | ('error', text) | ('int', n) | ('status', text)"""
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return "bulk", None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return "bulk", data
        if kind == b"-":
            return "error", rest.decode(errors="replace")
        if kind == b":":
            return "int", int(rest)
        return "status", rest.decode(errors="replace")


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--key-number", type=int)
    ap.add_argument("--value-size", type=int)
    ap.add_argument("--interval", type=float, default=0.001)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--log")
    ap.add_argument("--label", default="")
    ap.add_argument("--stop", default="shutdown", choices=["shutdown", "shutdown-nosave", "kill", "none"])
    ap.add_argument("server", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    server = a.server[1:] if a.server[:1] == ["--"] else a.server
    if not server:
        ap.error("the server command is missing (after --)")
    expected = None
    if a.key_number is not None and a.value_size:
        expected = deterministic_value(a.key_number, a.value_size)
    log_offset = os.path.getsize(a.log) if a.log and os.path.exists(a.log) else 0

    t0 = time.monotonic()
    proc = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    connected_ms = None
    loading_replies = 0
    attempts = 0
    first = None
    sock = reader = None
    get = command("GET", a.key)
    while True:
        if time.monotonic() - t0 > a.timeout:
            proc.kill()
            sys.exit(f"no answer within {a.timeout} s")
        if proc.poll() is not None:
            sys.exit(f"the server exited with status {proc.returncode} before answering")
        attempts += 1
        try:
            if sock is None:
                sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                reader = Reader(sock)
                if connected_ms is None:
                    connected_ms = (time.monotonic() - t0) * 1000
            sock.sendall(get)
            kind, value = reader.reply()
            if kind == "bulk" and value is not None:
                first = (time.monotonic() - t0) * 1000
                break
            if kind == "error" and value.startswith("LOADING"):
                loading_replies += 1
            elif kind == "bulk":
                sys.exit(f"GET {a.key}: nil (the key is missing)")
            else:
                sys.exit(f"GET {a.key}: unexpected reply {kind} {value}")
        except (ConnectionError, OSError):
            if sock is not None:
                sock.close()
            sock = reader = None
        time.sleep(a.interval)

    ok = expected is None or value == expected
    sock.sendall(command("DBSIZE"))
    dbsize_reply = reader.reply()
    dbsize_ms = (time.monotonic() - t0) * 1000
    result = {
        "label": a.label, "first_get_ms": round(first, 1), "first_connect_ms": round(connected_ms, 1),
        "dbsize": dbsize_reply[1], "dbsize_ms": round(dbsize_ms, 1), "value_ok": ok, "value_len": len(value),
        "loading_replies": loading_replies, "attempts": attempts, "rss_kb": rss_kb(proc.pid), "pid": proc.pid,
    }
    if a.stop in ("shutdown", "shutdown-nosave"):
        # A SHUTDOWN refused with an error is sent again 10 ms later (counted in
        # shutdown_refused): strata-server answers "ERR Errors trying to SHUTDOWN" to a
        # SHUTDOWN that arrives in the first moments after it starts listening.
        shutdown = command("SHUTDOWN") if a.stop == "shutdown" else command("SHUTDOWN", "NOSAVE")
        refused = []
        t1 = time.monotonic()
        sock.sendall(shutdown)
        sock.settimeout(0.05)
        while proc.poll() is None:
            try:
                kind, text = reader.reply()
            except socket.timeout:
                continue
            except (ConnectionError, OSError):
                proc.wait()
                break
            refused.append((round((time.monotonic() - t0) * 1000, 1), f"{kind} {text}"))
            if len(refused) > 1000:
                proc.kill()
                sys.exit(f"SHUTDOWN refused 1000 times: {refused[-1]}")
            time.sleep(0.01)
            t1 = time.monotonic()
            sock.sendall(shutdown)
        result["stop_ms"] = round((time.monotonic() - t1) * 1000, 1)
        result["shutdown_refused"] = len(refused)
        if refused:
            result["shutdown_first_refusal"] = refused[0]
    elif a.stop == "kill":
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    sock.close()
    print(json.dumps(result), flush=True)
    if a.log and os.path.exists(a.log):
        with open(a.log, "rb") as f:
            f.seek(log_offset)
            for line in f.read().decode(errors="replace").splitlines():
                print("  log: " + line)
    if not ok:
        sys.exit(f"GET {a.key}: the value differs from the loaded one")


if __name__ == "__main__":
    main()

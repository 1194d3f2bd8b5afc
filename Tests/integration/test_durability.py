"""Durability: the append-only log, checkpoints (SAVE / BGSAVE / BGREWRITEAOF), restarts,
crashes (kill -9), damaged log files and a full disk.

Mostly target-neutral: Redis's own directives and commands, checked against redis-server
too. Tests that open Strata's log files (`<dir>/<appenddirname>/<appendfilename>.<N>.log`,
records framed as 4-byte little-endian payload length, 4-byte CRC32C, payload) or rely on
behaviour Redis does not have are strata_only.

Environment knobs:
  STRATA_CRASH_ROUNDS           kill -9 / restart rounds of the appendfsync-always crash
                                test (default 20; Tests/durability/crash-test.sh runs 50)
  STRATA_CRASH_EVERYSEC_ROUNDS  rounds of the everysec variant (default 2, ~3 s each)
  STRATA_CRASH_SEED             seed of the crash tests (default: random, printed on failure;
                                it fixes the ops and the kill delays, not the timing)

Only a process crash is simulated (SIGKILL): what the server had written to the kernel
survives it, so these tests check that a write is in the kernel before it is acknowledged,
not that it was fsynced (that would take a power cut).
"""
import glob
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (TARGET, ConnectionClosed, RawConnection, ServerInstance)

CRASH_ROUNDS = int(os.environ.get("STRATA_CRASH_ROUNDS", "20"))
EVERYSEC_ROUNDS = int(os.environ.get("STRATA_CRASH_EVERYSEC_ROUNDS", "2"))
CRASH_SEED = os.environ.get("STRATA_CRASH_SEED")

# Keep checkpoints under the tests' control: no automatic rewrite in the middle of a test
# that counts log records (tests that want one turn it on themselves).
NO_AUTO_REWRITE = ("--auto-aof-rewrite-percentage", "0")
ALWAYS = ("--appendfsync", "always", *NO_AUTO_REWRITE)
EVERYSEC = ("--appendfsync", "everysec", *NO_AUTO_REWRITE)


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def make_server():
    """make(*extra_args, appendonly="yes", save="", data_dir=None, port=None, start=True)
    -> ServerInstance (started and loaded unless start=False). All are stopped at the end,
    newest first (a later instance may use an earlier one's data directory)."""
    made = []

    def make(*extra_args, appendonly="yes", save="", data_dir=None, port=None, start=True,
             **kw):
        inst = ServerInstance(extra_args, appendonly=appendonly, save=save,
                              data_dir=data_dir, port=port, **kw)
        made.append(inst)
        if start:
            inst.start()
            inst.wait_loaded()
        return inst

    yield make
    for inst in reversed(made):
        inst.stop()


def restart(inst, sig=signal.SIGTERM):
    """Stop with sig and start again on the same port and data directory; wait until the
    data is loaded."""
    rc = inst.terminate(sig)
    if sig == signal.SIGTERM:
        assert rc == 0, "clean shutdown exited %r:\n%s" % (rc, inst.log()[-3000:])
    inst.start()
    inst.wait_loaded()
    return inst


def kill_and_restart(inst):
    return restart(inst, signal.SIGKILL)


def info_persistence(client):
    return client.info("persistence")


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (
                timeout, what() if callable(what) else what))
        time.sleep(interval)


def wait_background_done(client, timeout=15.0):
    """Wait until no BGSAVE / BGREWRITEAOF is running or scheduled."""
    def done():
        p = info_persistence(client)
        return (p["rdb_bgsave_in_progress"] == 0 and p["aof_rewrite_in_progress"] == 0
                and p.get("aof_rewrite_scheduled", 0) == 0)
    wait_until(done, timeout, what="background save / rewrite to finish")


def snapshot(inst, dbs=range(16)):
    """{db: {key: (value, pttl)}} of every string key in the given databases."""
    out = {}
    for db in dbs:
        c = inst.client(db=db)
        try:
            keys = c.keys("*")
            if keys:
                p = c.pipeline(transaction=False)
                for k in keys:
                    p.get(k)
                    p.pttl(k)
                res = p.execute()
                out[db] = {k: (res[2 * i], res[2 * i + 1]) for i, k in enumerate(keys)}
        finally:
            c.close()
    return out


def assert_same_data(before, after, elapsed_ms):
    """after (a snapshot taken elapsed_ms later) has the same keys and values as before;
    keys without a TTL still have none, TTLs kept counting (never grew, and dropped by no
    more than elapsed_ms plus slack)."""
    assert sorted(after) == sorted(before), "databases with keys differ"
    for db, keys in before.items():
        got = after[db]
        missing = sorted(set(keys) - set(got))[:10]
        extra = sorted(set(got) - set(keys))[:10]
        assert not missing and not extra, "db %d: missing %r, unexpected %r" % (db, missing, extra)
        for k, (value, pttl) in keys.items():
            v2, pttl2 = got[k]
            assert v2 == value, "db %d key %r: %r != %r" % (db, k, v2[:100], value[:100])
            if pttl == -1:
                assert pttl2 == -1, "db %d key %r lost or gained a TTL: %r" % (db, k, pttl2)
            else:
                assert 0 < pttl2 <= pttl, "db %d key %r: PTTL %r after, %r before" % (
                    db, k, pttl2, pttl)
                assert pttl2 >= pttl - elapsed_ms - 5000, (db, k, pttl, pttl2)


def fetch(client, keys, chunk=1000):
    """{key as bytes: value or None} with MGET in chunks."""
    keys = [k.encode() if isinstance(k, str) else k for k in keys]
    out = {}
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]
        out.update(zip(part, client.mget(part)))
    return out


def first_reply_after_loading(inst, *cmd, timeout=10.0):
    """Send cmd until the reply is not -LOADING; the first such reply (raw bytes)."""
    c = RawConnection(inst.host, inst.port, timeout=5)
    try:
        deadline = time.time() + timeout
        while True:
            reply = c.cmd(*cmd)
            if not reply.startswith(b"-LOADING"):
                return reply
            assert time.time() < deadline, "still loading after %.0fs" % timeout
            time.sleep(0.01)
    finally:
        c.close()


# --------------------------------------------------------------------------- crash model


class Op:
    """One acknowledged unit: one command, or a MULTI ... EXEC block.
    commands: the commands sent; replies: the exact reply expected for each;
    effects: [(key, value or None for deleted)] in order."""
    __slots__ = ("commands", "replies", "effects")

    def __init__(self, commands, replies, effects):
        self.commands = commands
        self.replies = replies
        self.effects = effects


APPENDS_PER_KEY = 200       # APPEND moves to a new key after this many chunks
LONG_TTL_MS = 3600 * 1000


class Writer:
    """A client with its own keys (prefix w<id>:) writing SET / INCR / APPEND / DEL / SET PX /
    MULTI blocks, pipelined, and recording which ops were sent and which acknowledged.

    The model: `base` is the verified state at the start of the round; `ops` the ops of the
    round in the order sent; after a crash the server must hold the state after exactly a
    prefix ops[:j] of them (each op changes a key to a value never seen before, so j is
    unique), with j at least the number of ops that had to survive."""

    def __init__(self, wid, seed):
        self.wid = wid
        self.rng = random.Random(seed)
        self.prefix = b"w%d:" % wid
        self.base = {}
        self.ttl_keys = set()
        self.n_keys = 0
        self.n_appends = 0
        self.new_round()

    def new_round(self):
        self.cur = dict(self.base)
        self.live = [k for k in self.cur if k.startswith(self.prefix + b"k:")]
        self.ops = []
        self.sent = 0
        self.acked = 0
        self.ack_times = []
        self.error = None

    # -- generating ops (against self.cur, the state after every generated op) ----------
    def _value(self, n):
        return b"v%d:%d:" % (self.wid, n) + b"x" * self.rng.randint(0, 120)

    def _set_new(self, ttl=False):
        n = self.n_keys
        self.n_keys += 1
        key = self.prefix + b"k:%d" % n
        value = self._value(n)
        self.live.append(key)
        if ttl:
            self.ttl_keys.add(key)
            cmd = (b"SET", key, value, b"PX", b"%d" % LONG_TTL_MS)
        else:
            cmd = (b"SET", key, value)
        return cmd, b"+OK\r\n", (key, value)

    def _incr(self):
        key = self.prefix + b"ctr"
        value = b"%d" % (int(self.cur.get(key, b"0")) + 1)
        return (b"INCR", key), b":" + value + b"\r\n", (key, value)

    def _append(self):
        key = self.prefix + b"log:%d" % (self.n_appends // APPENDS_PER_KEY)
        chunk = b"%d," % self.n_appends
        self.n_appends += 1
        value = self.cur.get(key, b"") + chunk
        return (b"APPEND", key, chunk), b":%d\r\n" % len(value), (key, value)

    def _delete(self):
        i = self.rng.randrange(len(self.live))
        self.live[i], self.live[-1] = self.live[-1], self.live[i]
        key = self.live.pop()
        return (b"DEL", key), b":1\r\n", (key, None)

    def _apply(self, effects):
        for key, value in effects:
            if value is None:
                self.cur.pop(key, None)
            else:
                self.cur[key] = value

    def next_op(self):
        r = self.rng.random()
        if r < 0.08:    # MULTI: two new keys and the counter, all or nothing
            parts = [self._set_new()]
            self._apply([parts[0][2]])
            parts.append(self._set_new(ttl=True))
            self._apply([parts[1][2]])
            parts.append(self._incr())
            self._apply([parts[2][2]])
            commands = [(b"MULTI",)] + [p[0] for p in parts] + [(b"EXEC",)]
            replies = [b"+OK\r\n"] + [b"+QUEUED\r\n"] * 3 + [
                b"*3\r\n" + b"".join(p[1] for p in parts)]
            return Op(commands, replies, [p[2] for p in parts])
        if r < 0.45:
            part = self._set_new(ttl=r < 0.12)
        elif r < 0.65:
            part = self._incr()
        elif r < 0.88:
            part = self._append()
        elif self.live:
            part = self._delete()
        else:
            part = self._set_new()
        self._apply([part[2]])
        return Op([part[0]], [part[1]], [part[2]])

    # -- the writer thread ---------------------------------------------------------------
    def run(self, host, port, stop, max_pipeline, pace):
        try:
            conn = RawConnection(host, port, timeout=10)
        except OSError:
            return      # killed before we connected
        try:
            while not stop.is_set():
                batch = [self.next_op() for _ in range(self.rng.randint(1, max_pipeline))]
                self.ops.extend(batch)
                self.sent = len(self.ops)    # maybe applied from here on
                try:
                    conn.send(b"".join(RawConnection.encode(*c) for op in batch
                                       for c in op.commands))
                    for op in batch:
                        for cmd, expected in zip(op.commands, op.replies):
                            reply = conn.read_reply()
                            if reply != expected:
                                self.error = "%r -> %r, expected %r (op %d of the round)" % (
                                    cmd, reply, expected, self.acked)
                                return
                        self.acked += 1
                        self.ack_times.append(time.monotonic())
                except (OSError, ConnectionClosed, TimeoutError):
                    return      # the server died under us
                if pace:
                    time.sleep(pace)
        except Exception as e:      # a bug in the test itself: report, don't hang
            self.error = "writer crashed: %r" % e
        finally:
            conn.close()

    # -- checking after a restart ----------------------------------------------------------
    def verify(self, actual, must_survive):
        """Find j in [must_survive, sent] such that the server state `actual` ({key: value
        or None} for every key of self.keys()) is the state after ops[:j]; adopt it as the
        next round's base. Returns (j, None) or (None, message)."""
        ops = self.ops[:self.sent]
        state = dict(self.base)
        for op in ops[:must_survive]:
            for key, value in op.effects:
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
        tail_keys = {key for op in ops[must_survive:] for key, _ in op.effects}
        wrong = [k for k in actual if k not in tail_keys and actual[k] != state.get(k)]
        wrong += [k for k in state if k not in actual]
        if wrong:
            return None, self._describe(wrong, actual, state, must_survive, "must survive")
        mismatched = {k for k in tail_keys if actual.get(k) != state.get(k)}
        j = must_survive
        while mismatched:
            if j == len(ops):
                best = self._describe(sorted(mismatched), actual, state, j, "after every sent op")
                return None, ("no prefix of the ops matches (acked %d, sent %d, must survive "
                              "%d); compared with the state %s" % (
                                  self.acked, self.sent, must_survive, best))
            for key, value in ops[j].effects:
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
                if actual.get(key) == state.get(key):
                    mismatched.discard(key)
                else:
                    mismatched.add(key)
            j += 1
        self.base = state
        return j, None

    def _describe(self, keys, actual, state, j, label):
        def short(v):
            return v if v is None or len(v) <= 60 else v[:25] + b"..." + v[-30:]
        lines = ["after %d ops (%s): %d keys differ" % (j, label, len(keys))]
        for k in sorted(keys)[:8]:
            lines.append("  %r: server %r, expected %r" % (k, short(actual.get(k)),
                                                           short(state.get(k))))
        return "\n".join(lines)

    def keys(self):
        """Every key this writer may have touched (base and this round's ops)."""
        out = set(self.base)
        for op in self.ops[:self.sent]:
            out.update(key for key, _ in op.effects)
        return out


def verify_writers(inst, writers, must_survive):
    """Check every writer's keys on the restarted server (see Writer.verify), then DBSIZE
    and TTLs. must_survive(writer) -> how many of its ops had to survive. Returns the
    lost-but-acknowledged op counts."""
    c = inst.client()
    try:
        lost = []
        total = 0
        for w in writers:
            keys = w.keys()
            actual = fetch(c, keys)
            need = must_survive(w)
            j, problem = w.verify(actual, need)
            assert problem is None, "writer %d: %s" % (w.wid, problem)
            lost.append(max(0, w.acked - j))
            total += len(w.base)
            ttl_keys = [k for k in w.base if k in w.ttl_keys]
            plain = [k for k in w.base if k not in w.ttl_keys]
            sample = ttl_keys[-200:] + random.sample(plain, min(200, len(plain)))
            p = c.pipeline(transaction=False)
            for k in sample:
                p.pttl(k)
            for k, pttl in zip(sample, p.execute()):
                if k in w.ttl_keys:
                    assert 0 < pttl <= LONG_TTL_MS, "key %r lost its TTL: PTTL %r" % (k, pttl)
                else:
                    assert pttl == -1, "key %r gained a TTL: PTTL %r" % (k, pttl)
        assert c.dbsize() == total, "DBSIZE %d, the writers' keys %d" % (c.dbsize(), total)
        return lost
    finally:
        c.close()


def keep_for_post_mortem(inst, label):
    """Copy the data directory and the server's output somewhere that survives the test."""
    dest = tempfile.mkdtemp(prefix="strata-%s-failure-" % label)
    try:
        shutil.copytree(inst.dir, os.path.join(dest, "data"), dirs_exist_ok=True)
        for f in glob.glob(os.path.join(inst.tmpdir, "server*.out")):
            shutil.copy(f, dest)
    except OSError:
        pass
    return dest


def crash_rounds(make_server, extra, rounds, n_writers, max_pipeline, pace, round_time,
                 must_survive, background_ops):
    seed = int(CRASH_SEED) if CRASH_SEED else random.randrange(1 << 30)
    rng = random.Random(seed)
    inst = make_server(*extra)
    writers = [Writer(i, seed * 100 + i) for i in range(n_writers)]
    lost_total = 0
    acked_total = 0
    rnd = 0
    try:
        for rnd in range(rounds):
            for w in writers:
                w.new_round()
            stop = threading.Event()
            threads = [threading.Thread(target=w.run, args=(inst.host, inst.port, stop,
                                                           max_pipeline, pace), daemon=True)
                       for w in writers]
            for t in threads:
                t.start()
            delay = round_time(rng)
            if background_ops and rng.random() < 0.35:
                # a checkpoint in progress when the kill comes (or just finished)
                first = rng.uniform(0, delay)
                time.sleep(first)
                t = time.monotonic()
                try:
                    with socket.create_connection((inst.host, inst.port), timeout=2) as s:
                        s.sendall(RawConnection.encode(rng.choice(["BGREWRITEAOF", "BGSAVE"])))
                        s.recv(200)
                except OSError:
                    pass
                time.sleep(max(0.0, delay - first - (time.monotonic() - t)))
            else:
                time.sleep(delay)
            kill_time = time.monotonic()
            inst.kill()
            for t in threads:
                t.join(timeout=15)
                assert not t.is_alive(), "a writer did not stop after the kill"
            for w in writers:
                assert w.error is None, "round %d, writer %d: wrong reply: %s" % (
                    rnd, w.wid, w.error)
            assert sum(w.acked for w in writers) > 0 or delay < 0.2, \
                "round %d: no write was acknowledged in %.2fs" % (rnd, delay)
            if not inst.try_start():    # (start() would delete the data directory)
                raise AssertionError("the server did not start again (exit code %r):\n%s" % (
                    inst.proc.returncode, inst.log()[-4000:]))
            inst.wait_loaded()
            lost = verify_writers(inst, writers, lambda w: must_survive(w, kill_time))
            lost_total += sum(lost)
            acked_total += sum(w.acked for w in writers)
        print("\n%d kill -9 rounds: %d ops acknowledged, %d of them lost, %d keys at the end "
              "(seed %d)" % (rounds, acked_total, lost_total,
                             sum(len(w.base) for w in writers), seed))
        return seed, writers, lost_total
    except BaseException as e:
        kept = keep_for_post_mortem(inst, "crash")
        raise AssertionError("crash test failed in round %d (STRATA_CRASH_SEED=%d; data and "
                             "server output kept in %s): %s" % (rnd, seed, kept, e)) from e


# --------------------------------------------------------------------------- crash tests


def test_crash_always_loses_no_acknowledged_write(make_server):
    """appendfsync always: kill -9 at random moments (sometimes during a BGREWRITEAOF /
    BGSAVE); after each restart the state is exactly what the acknowledged writes made,
    plus possibly some of the ones in flight, in order (never a gap)."""
    def round_time(rng):
        return rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9)])

    seed, writers, lost = crash_rounds(
        make_server, ALWAYS, CRASH_ROUNDS, n_writers=3, max_pipeline=6, pace=0,
        round_time=round_time, must_survive=lambda w, kill_time: w.acked,
        background_ops=True)
    assert lost == 0
    assert sum(len(w.base) for w in writers) > 0


def test_crash_everysec_loses_at_most_the_last_two_seconds(make_server):
    """appendfsync everysec: after kill -9, every write acknowledged more than 2 s before
    the kill is there, and the state is still a prefix of each client's writes."""
    def must_survive(w, kill_time):
        # ack times only grow: the count of acks before the cutoff
        cutoff = kill_time - 2.0
        n = 0
        for t in w.ack_times:
            if t > cutoff:
                break
            n += 1
        return n

    seed, writers, lost = crash_rounds(
        make_server, EVERYSEC, EVERYSEC_ROUNDS, n_writers=2, max_pipeline=4, pace=0.001,
        round_time=lambda rng: rng.uniform(2.5, 3.2), must_survive=must_survive,
        background_ops=False)
    print("everysec: %d acknowledged ops lost in %d kills (seed %d)" % (
        lost, EVERYSEC_ROUNDS, seed))


# --------------------------------------------------------------------------- restarts


def write_varied_data(c, n=2000):
    """Keys in several databases, some with TTLs, binary and empty values."""
    p = c.pipeline(transaction=False)
    for i in range(n):
        if i % 7 == 0:
            p.set("plain:%d" % i, "v%d" % i, ex=3600)
        else:
            p.set("plain:%d" % i, "v%d" % i)
    p.incrby("counter", 41)
    p.incr("counter")
    p.append("appended", "abc")
    p.append("appended", "def")
    p.set(b"bin\x00\xff\r\nkey", b"\x00\x01\x02\xff" * 100)
    p.set("empty", "")
    p.set("big", os.urandom(200_000))
    p.execute()
    for db in (1, 15):
        c.execute_command("SELECT", db)
        c.set("in-db-%d" % db, "x%d" % db)
        c.set("ttl-db-%d" % db, "y", px=500_000)
    c.execute_command("SELECT", 0)


@pytest.mark.parametrize("how", ["SIGTERM", "SHUTDOWN", "SHUTDOWN NOSAVE", "SIGKILL"])
def test_restart_keeps_every_key(make_server, how):
    inst = make_server(*ALWAYS)
    c = inst.client(single_connection_client=True)
    write_varied_data(c)
    before = snapshot(inst)
    t0 = time.time()
    if how.startswith("SHUTDOWN"):
        conn = RawConnection(inst.host, inst.port)
        conn.send_command(*how.split())
        assert conn.read_until_closed(timeout=10) == b""
        conn.close()
        assert inst.wait_exit(timeout=10) == 0
        inst.start()
        inst.wait_loaded()
    else:
        restart(inst, getattr(signal, how))
    assert_same_data(before, snapshot(inst), (time.time() - t0) * 1000)
    c = inst.client()
    assert c.get("counter") == b"42"
    assert c.incr("counter") == 43     # still an integer


def test_restart_with_custom_log_names(make_server):
    inst = make_server(*ALWAYS, "--appenddirname", "my-log-dir", "--appendfilename", "data.aof")
    c = inst.client()
    c.set("a", "1")
    c.set("b", "2")
    kill_and_restart(inst)
    assert inst.client().mget("a", "b") == [b"1", b"2"]
    assert inst.client().config_get("appenddirname") == {"appenddirname": "my-log-dir"}
    assert inst.client().config_get("appendfilename") == {"appendfilename": "data.aof"}
    names = os.listdir(os.path.join(inst.dir, "my-log-dir"))
    assert any(n.startswith("data.aof") for n in names), names
    assert not os.path.exists(os.path.join(inst.dir, "appendonlydir"))


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_dbsize_exact_right_after_start(make_server, how):
    """The first DBSIZE the restarted server answers (after any -LOADING) counts every key,
    whichever tier or file it is in."""
    inst = make_server(*ALWAYS)
    c = inst.client(single_connection_client=True)
    n = 20000
    p = c.pipeline(transaction=False)
    for i in range(0, n, 100):
        p.mset({"k:%d" % j: "value-%d" % j for j in range(i, i + 100)})
    for i in range(0, n, 10):
        p.pexpire("k:%d" % i, 3_600_000)
    p.execute()
    c.execute_command("SELECT", 2)
    c.mset({"d2:%d" % i: i for i in range(10)})
    c.close()
    inst.terminate(getattr(signal, how))
    inst.start()
    assert first_reply_after_loading(inst, "DBSIZE") == b":%d\r\n" % n
    c = inst.client()
    ks = c.info("keyspace")
    assert ks["db0"]["keys"] == n and ks["db0"]["expires"] == n // 10
    assert ks["db2"]["keys"] == 10
    assert info_persistence(c)["loading"] == 0
    assert c.get("k:12345") == b"value-12345"


def test_ttls_keep_counting_across_a_restart(make_server):
    """Expiry times are absolute: the clock keeps running while the server is down,
    whether the key came back from a checkpoint (SAVE) or from the log."""
    inst = make_server(*ALWAYS)
    c = inst.client()
    c.set("short-ckpt", "1")
    assert c.pexpire("short-ckpt", 1500)
    c.set("long-ckpt", "1")
    assert c.expire("long-ckpt", 60)
    assert c.save()
    c.set("short-log", "1")
    assert c.pexpire("short-log", 1500)
    c.set("long-log", "1", ex=60)
    c.set("forever", "1")
    set_at = time.time()
    before = {k: c.pttl(k) for k in ("long-ckpt", "long-log")}
    inst.kill()
    time.sleep(max(0.0, set_at + 2.0 - time.time()))
    inst.start()
    inst.wait_loaded()
    c = inst.client()
    down = (time.time() - set_at) * 1000
    for k in ("short-ckpt", "short-log"):
        assert c.get(k) is None, k
        assert c.exists(k) == 0, k
    for k, pttl in before.items():
        after = c.pttl(k)
        assert 0 < after <= pttl - 1900, "%s: PTTL %d before, %d after %.0f ms" % (
            k, pttl, after, down)
    assert c.ttl("forever") == -1
    # the expired keys are gone for good, not only hidden
    wait_until(lambda: c.dbsize() == 3, 5, what="expired keys to leave DBSIZE")


def test_sigterm_restart_after_sigterm_restart(make_server):
    """Several clean restarts in a row, with writes in between (a checkpoint over a
    checkpoint, an overwritten and a deleted key)."""
    inst = make_server(*EVERYSEC)
    for rnd in range(3):
        c = inst.client()
        c.set("round", rnd)
        c.set("only-%d" % rnd, rnd)
        c.delete("only-%d" % (rnd - 1))
        c.incr("n")
        c.close()
        restart(inst)
        c = inst.client()
        assert c.get("round") == b"%d" % rnd
        assert c.get("n") == b"%d" % (rnd + 1)
        assert c.exists("only-%d" % rnd) == 1 and c.exists("only-%d" % (rnd - 1)) == 0
        assert c.dbsize() == 3


# --- many command kinds replayed (log) or restored (checkpoint) -----------------------


def command_script_part1(c):
    c.set("s1", "hello")
    c.append("s1", " world")
    c.setrange("s1", 0, "J")
    for _ in range(3):
        c.incr("n1")
    c.incrby("n1", 10)
    c.decr("n1")
    c.decrby("n1", 2)
    c.incrbyfloat("f", "1.5")
    c.incrbyfloat("f", "2.25")
    c.execute_command("SETEX", "e1", 1000, "v")
    c.pexpire("e1", 900_000)
    c.set("p1", "v", ex=100)
    c.persist("p1")
    c.set("g", "v")
    assert c.getdel("g") == b"v"
    c.set("gx", "v")
    c.getex("gx", ex=500)
    c.set("gp", "v", ex=500)
    c.getex("gp", persist=True)
    c.mset({"m1": "a", "m2": "b"})
    assert not c.msetnx({"m3": "c", "m1": "z"})
    c.rename("m2", "m2r")
    c.set("r1", "x")
    assert not c.renamenx("r1", "m1")
    c.set("old", "o", ex=700)
    c.set("old", "replaced")              # SET drops the TTL
    c.set("kt", "k", ex=800)
    c.set("kt", "kept", keepttl=True)
    c.setbit("bits", 7, 1)
    c.setbit("bits", 100, 1)
    c.execute_command("BITFIELD", "bf", "SET", "u8", "0", "200")
    assert c.copy("s1", "s1copy")
    assert c.copy("s1", "s1db5", destination_db=5)
    c.set("mv", "v")
    assert c.move("mv", 3)
    c.set("del1", "x")
    c.delete("del1")
    c.set("un1", "x")
    c.unlink("un1")
    c.set("short", "gone soon", px=50)
    c.set("expat", "v")
    c.expireat("expat", int(time.time()) + 3000)
    c.set(b"\x00bin\xff", b"\x00\r\n\xff" * 50)
    c.set("empty", "")
    c.set("big", os.urandom(300_000))


def command_script_part2(c):
    c.execute_command("SELECT", 1)
    c.set("a1", "1")
    c.set("a2", "2", px=100_000)
    c.flushdb()
    c.set("after-flush", "1")
    c.execute_command("SELECT", 2)
    c.set("x2", "v2")
    c.execute_command("SELECT", 4)
    c.set("x4", "v4", ex=900)
    c.swapdb(2, 4)
    c.execute_command("SELECT", 6)
    c.flushdb()                           # what part 1 put there
    c.execute_command("SELECT", 0)
    p = c.pipeline(transaction=True)
    p.set("t1", "1")
    p.incr("t1")
    p.append("s1", "!")
    p.execute()
    c.delete("m1")
    c.set("s1copy", "overwritten")
    c.incr("n1")
    c.expire("p1", 2000)
    c.persist("e1")
    c.rename("r1", "r1-renamed")
    c.execute_command("SELECT", 5)
    c.set("s1db5", "changed in db 5")
    c.execute_command("SELECT", 0)


@pytest.mark.parametrize("how", ["log-SIGKILL", "checkpoint-SIGTERM", "rewrite-then-log-SIGKILL",
                                  "save-then-log-SIGKILL"])
def test_every_command_kind_survives(make_server, how):
    """Strings and key commands in several databases, replayed from the log (SIGKILL) or
    restored from a checkpoint (SIGTERM), or both (a checkpoint taken half way)."""
    inst = make_server(*ALWAYS)
    c = inst.client(single_connection_client=True)
    command_script_part1(c)
    c.execute_command("SELECT", 6)
    c.set("to-be-flushed", "x", ex=100)
    c.execute_command("SELECT", 0)
    if how.startswith("rewrite"):
        assert c.bgrewriteaof()
        wait_background_done(c)
    elif how.startswith("save"):
        assert c.save()
    command_script_part2(c)
    c.close()
    time.sleep(0.1)                        # "short" is expired now
    before = snapshot(inst)
    assert b"short" not in before[0]
    assert before[0][b"s1"][0] == b"Jello world!" and before[0][b"n1"][0] == b"11"
    assert before[0][b"f"][0] == b"3.75" and before[0][b"t1"][0] == b"2"
    assert sorted(before) == [0, 1, 2, 3, 4, 5]
    assert before[2] == {b"x4": before[2][b"x4"]} and before[4] == {b"x2": (b"v2", -1)}
    t0 = time.time()
    restart(inst, signal.SIGKILL if how.endswith("SIGKILL") else signal.SIGTERM)
    assert_same_data(before, snapshot(inst), (time.time() - t0) * 1000)


def test_crash_after_a_checkpoint_starts_from_its_index(make_server):
    """A checkpoint leaves a list of the keys RocksDB holds; after a crash, start-up loads
    it (instead of listing RocksDB) and replays the log over it: keys deleted, changed,
    added, moved by SWAPDB or flushed after the checkpoint come back as they were."""
    inst = make_server(*ALWAYS)
    c = inst.client(single_connection_client=True)
    c.mset({"k%d" % i: "v%d" % i for i in range(300)})
    c.set("ttl", "t", ex=1000)
    c.execute_command("SELECT", 1)
    c.mset({"one%d" % i: "w%d" % i for i in range(50)})
    c.execute_command("SELECT", 2)
    c.mset({"gone%d" % i: "g" for i in range(20)})
    c.execute_command("SELECT", 0)
    assert c.save()
    c.delete(*["k%d" % i for i in range(50)])
    c.mset({"k%d" % i: "changed%d" % i for i in range(50, 100)})
    c.mset({"new%d" % i: "n%d" % i for i in range(30)})
    c.persist("ttl")
    c.expire("k150", 1000)
    c.execute_command("SWAPDB", 1, 3)
    c.execute_command("SELECT", 2)
    c.flushdb()
    c.close()
    before = snapshot(inst)
    assert sorted(before) == [0, 3] and len(before[0]) == 300 - 50 + 30 + 1
    t0 = time.time()
    kill_and_restart(inst)
    if TARGET == "strata":
        assert "index of the last checkpoint" in inst.log(), inst.log()[-2000:]
    assert_same_data(before, snapshot(inst), (time.time() - t0) * 1000)
    c = inst.client()
    assert c.dbsize() == 281 and c.ttl("ttl") == -1 and 0 < c.ttl("k150") <= 1000
    # and again: the same checkpoint's index, the log replayed once more
    kill_and_restart(inst)
    if TARGET == "strata":
        assert "index of the last checkpoint" in inst.log()
    assert_same_data(before, snapshot(inst), (time.time() - t0) * 1000)


@pytest.mark.parametrize("checkpoint", [False, True])
def test_flushall_survives(make_server, checkpoint):
    inst = make_server(*ALWAYS)
    c = inst.client(single_connection_client=True)
    c.mset({"k%d" % i: i for i in range(100)})
    c.execute_command("SELECT", 1)
    c.set("db1", "x")
    if checkpoint:
        assert c.save()
    c.flushall()
    c.execute_command("SELECT", 0)
    c.set("after", "1")
    c.close()
    kill_and_restart(inst)
    c = inst.client(single_connection_client=True)
    assert c.keys("*") == [b"after"]
    c.execute_command("SELECT", 1)
    assert c.dbsize() == 0


def test_transaction_is_all_or_nothing_after_a_crash(make_server):
    """A MULTI/EXEC block is applied whole after a crash, wherever the kill cuts (the
    crash test has small blocks; these are large)."""
    inst = make_server(*ALWAYS)
    rng = random.Random()

    def writer(acked):
        try:
            conn = RawConnection(inst.host, inst.port, timeout=10)
        except OSError:
            return
        i = 0
        try:
            while True:
                cmds = [("MULTI",)] + [("SET", "tx:%d:%d" % (i, j), "v" * 50)
                                       for j in range(50)] + [("INCR", "tx-count"), ("EXEC",)]
                conn.send(b"".join(RawConnection.encode(*c) for c in cmds))
                for _ in cmds:
                    conn.read_reply()
                i += 1
                acked.append(i)
        except (OSError, ConnectionClosed, TimeoutError):
            pass
        finally:
            conn.close()

    for _ in range(3):
        inst.client().flushall()
        acked = []
        t = threading.Thread(target=writer, args=(acked,), daemon=True)
        t.start()
        time.sleep(rng.uniform(0.2, 0.5))
        inst.kill()
        t.join(10)
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        count = int(c.get("tx-count") or 0)
        assert len(acked) <= count <= len(acked) + 1
        for i in range(count):
            assert c.exists(*["tx:%d:%d" % (i, j) for j in range(50)]) == 50, i
        assert c.dbsize() == count * 50 + (1 if count else 0)
        c.close()


# --------------------------------------------------------------------------- SAVE / BGSAVE


def test_save_bgsave_lastsave_and_info_fields(make_server):
    inst = make_server(appendonly="no")
    raw = RawConnection(inst.host, inst.port)
    c = inst.client()
    p = info_persistence(c)
    for field in ("loading", "rdb_changes_since_last_save", "rdb_bgsave_in_progress",
                  "rdb_last_save_time", "aof_enabled", "aof_rewrite_in_progress"):
        assert isinstance(p[field], int), (field, p[field])
    assert p["loading"] == 0 and p["rdb_bgsave_in_progress"] == 0
    assert p["aof_enabled"] == 0 and p["aof_rewrite_in_progress"] == 0
    assert p["rdb_last_bgsave_status"] == "ok" and p["aof_last_write_status"] == "ok"
    assert abs(p["rdb_last_save_time"] - time.time()) < 30
    start_lastsave = int(raw.cmd("LASTSAVE")[1:-2])
    assert start_lastsave == p["rdb_last_save_time"]

    changes0 = p["rdb_changes_since_last_save"]
    assert raw.cmd("SET", "a", "1") == b"+OK\r\n"
    assert raw.cmd("INCR", "n") == b":1\r\n"
    assert raw.cmd("APPEND", "s", "x") == b":1\r\n"
    assert raw.cmd("GET", "a") == b"$1\r\n1\r\n"          # reads change nothing
    assert info_persistence(c)["rdb_changes_since_last_save"] == changes0 + 3

    assert raw.cmd("SAVE") == b"+OK\r\n"
    p = info_persistence(c)
    assert p["rdb_changes_since_last_save"] == 0
    lastsave1 = int(raw.cmd("LASTSAVE")[1:-2])
    assert lastsave1 >= start_lastsave and lastsave1 == p["rdb_last_save_time"]
    assert abs(lastsave1 - time.time()) < 5

    time.sleep(1.1)                       # LASTSAVE counts seconds
    assert raw.cmd("SET", "b", "2") == b"+OK\r\n"
    assert info_persistence(c)["rdb_changes_since_last_save"] == 1
    assert raw.cmd("BGSAVE") == b"+Background saving started\r\n"
    wait_background_done(c)
    p = info_persistence(c)
    assert p["rdb_last_bgsave_status"] == "ok"
    assert p["rdb_changes_since_last_save"] == 0
    lastsave2 = int(raw.cmd("LASTSAVE")[1:-2])
    assert lastsave2 > lastsave1 and lastsave2 == p["rdb_last_save_time"]
    raw.close()


def test_info_persistence_with_appendonly(make_server):
    inst = make_server(*ALWAYS)
    c = inst.client()
    p = info_persistence(c)
    assert p["aof_enabled"] == 1 and p["aof_last_write_status"] == "ok"
    assert c.config_get("appendonly") == {"appendonly": "yes"}
    assert c.config_get("appendfsync") == {"appendfsync": "always"}
    raw = RawConnection(inst.host, inst.port)
    assert raw.cmd("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"
    raw.close()
    wait_background_done(c)
    assert info_persistence(c)["aof_last_write_status"] == "ok"


def test_config_defaults_of_persistence_directives(make_server):
    inst = make_server(appendonly="no")
    cfg = inst.client().config_get("*")
    assert cfg["appendfilename"] == "appendonly.aof"
    assert cfg["appenddirname"] == "appendonlydir"
    assert cfg["aof-load-truncated"] == "yes"
    assert cfg["appendfsync"] == "everysec"
    assert cfg["stop-writes-on-bgsave-error"] == "yes"
    assert cfg["auto-aof-rewrite-percentage"] == "100"
    assert cfg["auto-aof-rewrite-min-size"] == str(64 * 1024 * 1024)
    assert cfg["dir"] == inst.dir


def test_later_arguments_win(make_server):
    """The harness relies on it: "--appendonly yes" after the default "--appendonly no"."""
    inst = make_server("--appendonly", "yes", "--save", "3600 1", appendonly="no", save="")
    c = inst.client()
    assert c.config_get("appendonly") == {"appendonly": "yes"}
    assert c.config_get("save") == {"save": "3600 1"}
    assert info_persistence(c)["aof_enabled"] == 1


@pytest.mark.parametrize("how", ["SAVE", "BGSAVE"])
def test_checkpoint_then_crash_without_log(make_server, how):
    """appendonly no: what a SAVE / BGSAVE wrote comes back after kill -9. (What came
    after it may be lost: Redis loses it; every key still holds a value it had.)"""
    inst = make_server(appendonly="no")
    c = inst.client(single_connection_client=True)
    c.mset({"saved:%d" % i: "v1-%d" % i for i in range(500)})
    c.set("saved-ttl", "t", ex=3000)
    c.execute_command("SELECT", 3)
    c.set("saved-db3", "x")
    c.execute_command("SELECT", 0)
    if how == "SAVE":
        assert c.save()
    else:
        assert c.bgsave()
        wait_background_done(c)
        assert info_persistence(c)["rdb_last_bgsave_status"] == "ok"
    assert info_persistence(c)["rdb_changes_since_last_save"] == 0
    # after the checkpoint: changes that may or may not survive
    for i in range(0, 500, 2):
        c.set("saved:%d" % i, "v2-%d" % i)
    c.delete(*["saved:%d" % i for i in range(1, 500, 10)])
    c.mset({"later:%d" % i: "l%d" % i for i in range(100)})
    c.close()
    kill_and_restart(inst)
    c = inst.client(single_connection_client=True)
    got = fetch(c, ["saved:%d" % i for i in range(500)])
    for i in range(500):
        v = got[b"saved:%d" % i]
        allowed = {b"v1-%d" % i}
        if i % 2 == 0:
            allowed.add(b"v2-%d" % i)
        if i % 10 == 1:
            allowed.add(None)
        assert v in allowed, (i, v)
    later = fetch(c, ["later:%d" % i for i in range(100)])
    assert all(v in (None, b"l%d" % int(k[6:])) for k, v in later.items())
    assert 0 < c.ttl("saved-ttl") <= 3000
    c.execute_command("SELECT", 3)
    assert c.get("saved-db3") == b"x"


def test_shutdown_save_without_log(make_server):
    """appendonly no, no save points: SHUTDOWN SAVE writes a checkpoint anyway."""
    inst = make_server(appendonly="no")
    c = inst.client()
    c.mset({"k%d" % i: i for i in range(100)})
    c.close()
    conn = RawConnection(inst.host, inst.port)
    conn.send_command("SHUTDOWN", "SAVE")
    assert conn.read_until_closed(timeout=10) == b""
    conn.close()
    assert inst.wait_exit(timeout=10) == 0
    inst.start()
    inst.wait_loaded()
    c = inst.client()
    assert c.dbsize() == 100 and c.get("k42") == b"42"


def test_sigterm_with_save_points_without_log(make_server):
    """appendonly no with save points: SIGTERM checkpoints before exiting."""
    inst = make_server(appendonly="no", save="3600 1")
    c = inst.client()
    c.mset({"k%d" % i: i for i in range(100)})
    c.set("ttl", "v", ex=1000)
    c.close()
    restart(inst)
    c = inst.client()
    assert c.dbsize() == 101 and c.get("k99") == b"99" and 0 < c.ttl("ttl") <= 1000


def test_auto_rewrite_keeps_the_log_small(make_server):
    """auto-aof-rewrite-percentage / -min-size: overwriting a few keys many times does not
    make the log files grow without bound; the data survives a crash afterwards."""
    inst = make_server("--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "100",
                       "--auto-aof-rewrite-min-size", "64kb")
    c = inst.client()
    log_dir = os.path.join(inst.dir, "appendonlydir")
    value = b"x" * 1000
    p = c.pipeline(transaction=False)
    for i in range(4000):                 # ~4 MB of writes, 50 live keys
        p.set("k%d" % (i % 50), value + b"%d" % i)
        if i % 200 == 199:
            p.execute()
            time.sleep(0.05)              # let the cron start rewrites
    p.execute()

    def log_bytes():
        return sum(os.path.getsize(f) for f in glob.glob(os.path.join(log_dir, "*"))
                   if os.path.isfile(f))
    wait_until(lambda: log_bytes() < 1_000_000, 10,
               what=lambda: "the log to be rewritten below 1 MB (now %d bytes)" % log_bytes())
    wait_background_done(c)
    expected = {b"k%d" % (i % 50): value + b"%d" % i for i in range(4000)}
    time.sleep(1.2)                       # everysec: let the last writes reach the kernel
    kill_and_restart(inst)
    c = inst.client()
    assert fetch(c, expected) == expected
    assert c.dbsize() == 50


@pytest.mark.strata_only
def test_auto_rewrite_after_a_large_value_is_deleted(make_server):
    """A checkpoint logs the hot keys again, so its base can be large; once that value is
    deleted the log is a long tail of a small dataset. A checkpoint comes without waiting
    for as much growth again (Redis would keep the AOF until it doubled), so a crash
    never replays much more than the live data."""
    inst = make_server("--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "100",
                       "--auto-aof-rewrite-min-size", "1mb")
    c = inst.client()
    log_dir = os.path.join(inst.dir, "appendonlydir")

    def log_bytes():
        return sum(os.path.getsize(f) for f in glob.glob(os.path.join(log_dir, "*"))
                   if os.path.isfile(f))
    if int(c.config_get("maxmemory")["maxmemory"]) != 0:
        pytest.skip("a 48 MB value does not fit this mode's maxmemory")
    c.set("big", b"b" * (48 << 20))
    c.set("small", "s")
    c.bgrewriteaof()
    wait_background_done(c)
    time.sleep(0.3)
    rewrites = info_persistence(c)["aof_rewrites"]
    if log_bytes() < 48 << 20:
        pytest.skip("the big value is cold (a tier mode): the checkpoint did not log it again")
    c.delete("big")
    wait_until(lambda: log_bytes() < 8 << 20, 15,
               what=lambda: "a checkpoint after the delete (log %d bytes)" % log_bytes())
    assert info_persistence(c)["aof_rewrites"] > rewrites
    wait_background_done(c)
    kill_and_restart(inst)
    c = inst.client()
    assert c.get("small") == b"s" and c.exists("big") == 0


# --------------------------------------------------------------------------- log files
# Strata's own format: strata_only.

HEADER_SEARCH = 256


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def parse_frames(data):
    """[(offset, payload_length)] of the records of a segment; a header before the first
    record (if any) is found as the first offset from which the records' lengths and
    checksums chain exactly to the end of the file."""
    fallback = None
    for start in range(0, min(HEADER_SEARCH, len(data)) + 1):
        frames = []
        pos = start
        crc_ok = True
        while pos + 8 <= len(data):
            length, crc = struct.unpack_from("<II", data, pos)
            if pos + 8 + length > len(data):
                break
            if crc32c(data[pos + 8:pos + 8 + length]) != crc:
                crc_ok = False
                if length > 1 << 26:
                    break
            frames.append((pos, length))
            pos += 8 + length
        if pos == len(data) and frames:
            if crc_ok:
                return frames
            if fallback is None:
                fallback = frames
    if fallback is not None:
        return fallback
    raise AssertionError("could not find the records of the log segment (%d bytes): %r" % (
        len(data), data[:64]))


def segment_files(inst, dirname="appendonlydir", filename="appendonly.aof"):
    """{N: path} of <dir>/<dirname>/<filename>.<N>.log."""
    out = {}
    pattern = re.compile(re.escape(filename) + r"\.([1-9][0-9]*)\.log$")
    for name in os.listdir(os.path.join(inst.dir, dirname)):
        m = pattern.match(name)
        if m:
            out[int(m.group(1))] = os.path.join(inst.dir, dirname, name)
    return out


def newest_segment(inst, **kw):
    segs = segment_files(inst, **kw)
    assert segs, "no log segment in %s: %r" % (inst.dir, os.listdir(inst.dir))
    return segs[max(segs)]


def key_name(i):
    return b"t:%05d" % i


def key_value(i):
    return b"value-%05d-" % i + b"abcdefghij" * 3


def write_sequential_keys(inst, n):
    """n SETs, one at a time (each acknowledged before the next is sent), then kill -9."""
    conn = RawConnection(inst.host, inst.port)
    for i in range(n):
        assert conn.cmd("SET", key_name(i), key_value(i)) == b"+OK\r\n"
    conn.close()
    inst.kill()


def keys_in_frames(data, frames, n):
    """For each frame, the indices of the t:NNNNN keys whose names appear in its payload."""
    out = []
    for pos, length in frames:
        payload = data[pos + 8:pos + 8 + length]
        out.append({int(m.group(1)) for m in re.finditer(rb"t:(\d{5})", payload)
                    if int(m.group(1)) < n})
    return out


@pytest.mark.strata_only
def test_log_files_are_named_and_framed(make_server):
    inst = make_server(*ALWAYS, "--appenddirname", "wal", "--appendfilename", "strata.aof")
    write_sequential_keys(inst, 20)
    segs = segment_files(inst, dirname="wal", filename="strata.aof")
    assert segs and min(segs) >= 1
    data = open(segs[max(segs)], "rb").read()
    frames = parse_frames(data)
    found = set().union(*keys_in_frames(data, frames, 20))
    assert found == set(range(20)), "records name keys %r" % sorted(found)
    assert all(crc32c(data[p + 8:p + 8 + n]) == struct.unpack_from("<I", data, p + 4)[0]
               for p, n in frames), "a record's checksum is not CRC32C of its payload"
    kill_and_restart(inst)
    assert inst.client().get(key_name(19)) == key_value(19)


@pytest.mark.strata_only
def test_truncated_last_record_is_dropped(make_server):
    n = 50
    inst = make_server(*ALWAYS)
    write_sequential_keys(inst, n)
    path = newest_segment(inst)
    data = open(path, "rb").read()
    frames = parse_frames(data)
    per_frame = keys_in_frames(data, frames, n)
    if any(per_frame):      # the records name their keys: the last record's are lost
        assert n - 1 in set().union(*per_frame), "the last write is in no record"
        lost = per_frame[-1]
    else:                   # else assume one record per SET
        lost = {n - 1}
    with open(path, "r+b") as f:
        f.truncate(len(data) - 3)           # a record cut short: a crash during its write
    inst.start()
    inst.wait_loaded()
    c = inst.client()
    got = fetch(c, [key_name(i) for i in range(n)])
    for i in range(n):
        # the cut record's write is gone from the log (a copy of it elsewhere, e.g. in
        # the cold tier, may still bring it back: then it must be right)
        allowed = (None, key_value(i)) if i in lost else (key_value(i),)
        assert got[key_name(i)] in allowed, (i, got[key_name(i)])
    present = sum(v is not None for v in got.values())
    assert c.dbsize() == present
    # the log goes on after the cut: a write now survives the next crash
    assert c.set("after", "1")
    c.close()
    kill_and_restart(inst)
    c = inst.client()
    assert c.get("after") == b"1" and c.dbsize() == present + 1
    assert fetch(c, [key_name(i) for i in range(n)]) == got


@pytest.mark.strata_only
def test_truncated_last_record_refused_with_aof_load_truncated_no(make_server):
    inst = make_server(*ALWAYS)
    write_sequential_keys(inst, 30)
    path = newest_segment(inst)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 3)
    strict = make_server(*ALWAYS, "--aof-load-truncated", "no", data_dir=inst.dir, start=False)
    assert not strict.try_start(), "started on a truncated log with aof-load-truncated no"
    assert strict.proc.returncode > 0, "exit code %r:\n%s" % (strict.proc.returncode, strict.log())
    assert os.path.basename(path) in strict.log(), strict.log()
    assert os.path.getsize(path) == size - 3, "a refused start changed the log"


def corrupt_middle_record(inst, n):
    """Flip bytes inside the payload of a record in the middle of the newest segment;
    returns (path, the keys in records before it, the keys in it, bytes after damage)."""
    path = newest_segment(inst)
    data = bytearray(open(path, "rb").read())
    frames = parse_frames(bytes(data))
    assert len(frames) >= 5, "expected many records in the newest segment, got %d" % len(frames)
    per_frame = keys_in_frames(bytes(data), frames, n)
    m = len(frames) // 2
    pos, length = frames[m]
    assert length >= 4
    mid = pos + 8 + length // 2
    for i in range(mid - 1, mid + 2):
        data[i] ^= 0xFF
    with open(path, "wb") as f:
        f.write(data)
    before = set().union(*per_frame[:m]) if any(per_frame) else set(range(m))
    damaged = per_frame[m] if any(per_frame) else {m}
    return path, before, damaged, bytes(data)


@pytest.mark.strata_only
def test_corrupt_record_in_the_middle_refuses_to_start(make_server):
    inst = make_server(*ALWAYS)
    write_sequential_keys(inst, 100)
    path, _, _, damaged_data = corrupt_middle_record(inst, 100)
    assert not inst.try_start(timeout=20), "started on a log corrupt in the middle"
    rc = inst.proc.returncode
    log = inst.log()
    assert rc > 0, "exit code %r (a signal is a crash, not a refusal):\n%s" % (rc, log[-3000:])
    assert "corrupt" in log.lower(), log[-3000:]
    assert os.path.basename(path) in log, log[-3000:]
    assert open(path, "rb").read() == damaged_data, "a refused start changed the log"


@pytest.mark.strata_only
def test_corrupt_record_loaded_up_to_the_damage_with_aof_load_corrupt_tail(make_server):
    n = 100
    inst = make_server(*ALWAYS)
    write_sequential_keys(inst, n)
    path, before, damaged, _ = corrupt_middle_record(inst, n)
    assert before, "no record before the damage"
    lenient = make_server(*ALWAYS, "--aof-load-corrupt-tail", "yes", data_dir=inst.dir,
                          port=inst.port)
    wait_until(lambda: "corrupt" in lenient.log().lower(), 5,
               what=lambda: "a warning about the corrupt record in the output:\n%s" % (
                   lenient.log()[-3000:]))
    c = lenient.client()
    got = fetch(c, [key_name(i) for i in range(n)])
    for i in range(n):
        v = got[key_name(i)]
        if i in before:
            assert v == key_value(i), "key %d (before the damage): %r" % (i, v)
        else:
            assert v in (None, key_value(i)), "key %d: %r" % (i, v)
    present = c.dbsize()
    # writes acknowledged after such a start survive the next crash
    assert c.set("after", "1")
    c.close()
    kill_and_restart(lenient)
    c = lenient.client()
    assert c.get("after") == b"1"
    assert c.dbsize() == present + 1
    for i in before:
        assert c.get(key_name(i)) == key_value(i)


@pytest.mark.strata_only
def test_checkpoint_starts_a_new_segment_and_drops_old_ones(make_server):
    inst = make_server(*ALWAYS)
    c = inst.client()
    c.mset({"k%d" % i: "v%d" % i for i in range(1000)})
    first = max(segment_files(inst))
    assert c.bgrewriteaof()
    wait_background_done(c)
    wait_until(lambda: min(segment_files(inst)) > first, 10,
               what=lambda: "the segments before the checkpoint to be deleted (%r)" % (
                   segment_files(inst)))
    c.set("after", "1")
    assert max(segment_files(inst)) > first
    kill_and_restart(inst)
    c = inst.client()
    assert c.dbsize() == 1001 and c.get("k999") == b"v999" and c.get("after") == b"1"


# --------------------------------------------------------------------------- full disk


class SmallDisk:
    """A small filesystem for the server's data directory: tmpfs when mount works (we run
    as root in CI), else (strata only) a file size limit on the server process via
    prlimit, which makes its writes fail with EFBIG instead of ENOSPC."""

    SIZE = "16m"

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="strata-smalldisk-")
        self.mounted = False
        self.filler = os.path.join(self.path, "filler")
        self.pid = None
        self.mount_error = None
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % self.SIZE, "tmpfs",
                              self.path], capture_output=True, text=True)
        if res.returncode == 0:
            self.mounted = True
        else:
            self.mount_error = (res.stderr or res.stdout).strip()

    def fill(self, pid, output_path=None):
        """No space left from now on (for the server process pid, whose output goes to
        output_path: the file size limit must leave room for its messages)."""
        if self.mounted:
            fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                for chunk in (1 << 20, 4096, 512, 1):
                    block = b"\0" * chunk
                    try:
                        while os.write(fd, block) > 0:
                            pass
                    except OSError:
                        pass
            finally:
                os.close(fd)
            return
        limit = max([os.path.getsize(os.path.join(root, name))
                     for root, _, names in os.walk(self.path) for name in names] +
                    [os.path.getsize(output_path) + 65536 if output_path else 0])
        self.pid = pid
        subprocess.run(["prlimit", "--pid", str(pid), "--fsize=%d" % limit], check=True)

    def free(self):
        if self.mounted:
            os.unlink(self.filler)
        else:
            subprocess.run(["prlimit", "--pid", str(self.pid), "--fsize=unlimited"], check=True)

    def close(self):
        if self.mounted:
            if subprocess.run(["umount", self.path]).returncode != 0:
                subprocess.run(["umount", "-l", self.path])
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def small_disk():
    # tests list it before make_server, so that their servers stop before the unmount
    disk = SmallDisk()
    if not disk.mounted:
        if TARGET == "redis":
            disk.close()
            pytest.skip("cannot mount a tmpfs (%s); the prlimit fallback would kill "
                        "redis-server with SIGXFSZ" % disk.mount_error)
        if not shutil.which("prlimit"):
            disk.close()
            pytest.skip("cannot mount a tmpfs (%s) and prlimit is missing" % disk.mount_error)
    yield disk
    disk.close()


def set_with_timeout(conn, key, value, timeout):
    """SET on conn; the raw reply, or None if none came within timeout (held)."""
    conn.sock.settimeout(timeout)
    conn.send_command("SET", key, value)
    try:
        return conn.read_reply()
    except TimeoutError:
        return None
    finally:
        conn.sock.settimeout(conn.timeout)


def fill_until_misconf(inst, disk, acked, pending, value):
    """Fill the disk; write until the server refuses writes with -MISCONF. Acknowledged
    keys go to `acked`, writes whose reply is held (no reply yet) to `pending` as
    (connection, key). Returns the MISCONF error line."""
    disk.fill(inst.proc.pid, inst.log_path)
    conn = RawConnection(inst.host, inst.port, timeout=5)
    i = 0
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            key = "full:%d" % i
            i += 1
            reply = set_with_timeout(conn, key, value, 1.0)
            if reply is None:
                pending.append((conn, key))
                conn = RawConnection(inst.host, inst.port, timeout=5)
                continue
            if reply == b"+OK\r\n":
                acked[key] = value
                continue
            assert reply.startswith(b"-MISCONF"), reply
            return reply
        raise AssertionError("writes still accepted after 20 s on a full disk (%d acked, "
                             "%d held)" % (len(acked), len(pending)))
    finally:
        conn.close()


def check_full_disk_then_recovery(inst, disk, sig):
    c = inst.client()
    value = b"x" * 1000
    acked = {"pre:%d" % i: b"p%d" % i for i in range(100)}
    c.mset(acked)
    pending = []
    misconf = fill_until_misconf(inst, disk, acked, pending, value)
    if disk.mounted:
        assert b"No space left on device" in misconf, misconf
    # still refused, on any connection, while the disk is full; reads keep working
    raw = RawConnection(inst.host, inst.port)
    reply = raw.cmd("SET", "refused", "1")
    assert reply.startswith(b"-MISCONF"), reply
    assert raw.cmd("GET", "pre:7") == b"$2\r\np7\r\n"
    assert raw.cmd("EXISTS", "pre:1", "pre:2", "nope") == b":2\r\n"
    assert raw.cmd("DBSIZE").startswith(b":")
    assert info_persistence(c)["aof_last_write_status"] == "err"
    got = fetch(c, acked)
    assert got == {k.encode(): v for k, v in acked.items()}
    raw.close()

    disk.free()

    def writes_resume():
        r = RawConnection(inst.host, inst.port)
        try:
            return r.cmd("SET", "resumed", "1") == b"+OK\r\n"
        finally:
            r.close()
    wait_until(writes_resume, 15, interval=0.1, what="writes to be accepted again")
    acked["resumed"] = b"1"
    for conn, key in pending:             # held replies come now, as successes
        conn.sock.settimeout(10)
        assert conn.read_reply() == b"+OK\r\n", key
        acked[key] = value
        conn.close()
    c.mset({"after:%d" % i: b"a%d" % i for i in range(100)})
    acked.update({"after:%d" % i: b"a%d" % i for i in range(100)})
    assert info_persistence(c)["aof_last_write_status"] == "ok"
    c.close()
    restart(inst, sig)
    c = inst.client()
    got = fetch(c, acked)
    assert got == {k.encode(): v for k, v in acked.items()}, [
        k for k, v in acked.items() if got[k.encode()] != v][:10]
    assert c.get("refused") is None


def test_full_disk_everysec_refuses_writes_then_recovers(small_disk, make_server):
    """appendfsync everysec (Redis too): a full disk makes writes fail with -MISCONF,
    reads go on; with space again writes are accepted, and no acknowledged write is lost
    (a clean restart keeps them all)."""
    inst = make_server(*EVERYSEC, data_dir=small_disk.path)
    check_full_disk_then_recovery(inst, small_disk, signal.SIGTERM)


@pytest.mark.strata_only
def test_full_disk_always_holds_replies_then_recovers(small_disk, make_server):
    """appendfsync always (Redis exits here): writes get -MISCONF, the write that hit the
    full disk is not acknowledged until it is on disk; after kill -9 every acknowledged
    write is there."""
    inst = make_server(*ALWAYS, data_dir=small_disk.path)
    check_full_disk_then_recovery(inst, small_disk, signal.SIGKILL)


@pytest.mark.strata_only
def test_crash_while_the_disk_is_full(small_disk, make_server):
    """kill -9 while writes are failing: the partly written record is dropped at the next
    start and every acknowledged write is there."""
    inst = make_server(*ALWAYS, data_dir=small_disk.path)
    c = inst.client()
    acked = {"pre:%d" % i: b"p%d" % i for i in range(100)}
    c.mset(acked)
    c.close()
    pending = []
    fill_until_misconf(inst, small_disk, acked, pending, b"y" * 3000)
    inst.kill()
    for conn, _ in pending:
        conn.close()
    small_disk.free()
    inst.start()
    inst.wait_loaded()
    c = inst.client()
    got = fetch(c, acked)
    assert got == {k.encode(): v for k, v in acked.items()}
    held = fetch(c, [key for _, key in pending])
    assert all(v in (None, b"y" * 3000) for v in held.values())
    assert c.set("after", "1")
    assert info_persistence(c)["aof_last_write_status"] == "ok"

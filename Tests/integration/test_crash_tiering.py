"""kill -9 while the cold tier is busy: during a load past maxmemory (keys being demoted)
and during an overwrite of cold keys (blind writes that never read the old value). After
the restart every acknowledged write is there, and the data is served within a loose start
bound (the < 1 s figure is a benchmark's: Benchmarks/cold-tier-bench.sh, phase restart).

Strata only: redis-server under the same maxmemory evicts, so acknowledged keys go.
"""
import random
import threading
import time

import pytest

from conftest import RawConnection, ServerInstance

pytestmark = pytest.mark.strata_only

VALUE_SIZE = 1000
START_BOUND_S = 5.0   # CI machines are slow and shared; the goal is < 1 s
PRESSURE = ("--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru",
            "--appendfsync", "always")


@pytest.fixture
def instances():
    made = []

    def make(*args):
        inst = ServerInstance(args, appendonly="yes")
        made.append(inst)
        inst.start()
        inst.wait_loaded()
        return inst

    yield make
    for inst in reversed(made):
        inst.stop()


def value(key, version):
    head = b"%s:%d:" % (key, version)
    return head + b"v" * (VALUE_SIZE - len(head))


def cold_keys(client):
    return int(client.info("tiering").get("cold_keys", 0))


class PipelinedWriter:
    """SETs `keys` in pipelines of `depth` on one raw connection (a --pipe-like stream);
    a key's version counts as acknowledged once its +OK has arrived. Stops at `stop` or
    when the connection breaks (the kill)."""

    def __init__(self, inst, keys, versions, depth=200, seed=0):
        self.inst, self.keys, self.depth = inst, keys, depth
        self.rng = random.Random(seed)
        self.acked = dict(versions)        # key -> last acknowledged version
        self.sent = dict(versions)         # key -> last version sent
        self.wrong = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            conn = RawConnection(self.inst.host, self.inst.port, timeout=10)
        except OSError:
            return
        try:
            while not self.stop.is_set():
                batch = [self.rng.choice(self.keys) for _ in range(self.depth)]
                versions = []
                out = []
                for k in batch:
                    v = self.sent.get(k, 0) + 1
                    self.sent[k] = v
                    versions.append(v)
                    out.append(RawConnection.encode("SET", k, value(k, v)))
                conn.send(b"".join(out))
                for k, v in zip(batch, versions):
                    reply = conn.read_reply()
                    if reply != b"+OK\r\n":
                        self.wrong = (k, reply)
                        return
                    self.acked[k] = max(self.acked.get(k, 0), v)
        except Exception:
            return   # the kill broke the connection
        finally:
            conn.close()


def restart_and_time(inst, probe_key, probe_value):
    """Starts the killed server again; seconds until GET probe_key answers probe_value
    (-LOADING meanwhile is fine)."""
    started = time.monotonic()
    assert inst.try_start(), "the server did not start again:\n%s" % inst.log()[-4000:]
    c = RawConnection(inst.host, inst.port, timeout=10)
    try:
        while c.call("GET", probe_key) != probe_value:
            assert time.monotonic() - started < 30, "no right value within 30 s"
            time.sleep(0.005)
    finally:
        c.close()
    return time.monotonic() - started


def settled_key(writer):
    """A key whose last version sent was acknowledged (its value after the crash is known)."""
    return next(k for k, v in writer.acked.items() if v > 0 and v == writer.sent[k])


def check_acknowledged(inst, writer):
    """Every key holds its last acknowledged version or a later one that was sent."""
    c = inst.client()
    keys = sorted(writer.sent)
    bad = []
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        for k, got in zip(part, c.mget(part)):
            low, high = writer.acked.get(k, 0), writer.sent[k]
            ok_versions = range(max(low, 1), high + 1)
            if low == 0 and got is None:
                continue        # never acknowledged, never arrived
            if got is None or not any(got == value(k, v) for v in ok_versions):
                bad.append((k, low, high, None if got is None else got[:20]))
    assert not bad, "%d keys lost or stale, e.g. %r" % (len(bad), bad[:5])
    return c


def test_kill_during_a_load_past_maxmemory(instances):
    inst = instances(*PRESSURE)
    keys = [b"load:%d" % i for i in range(40000)]
    writer = PipelinedWriter(inst, keys, {}, seed=1)
    # A load of fresh keys (random order, some written twice) that passes the 8 MB limit.
    writer.thread.start()
    c = inst.client()
    deadline = time.time() + 60
    while cold_keys(c) < 5000 and time.time() < deadline and writer.thread.is_alive():
        time.sleep(0.05)
    assert cold_keys(c) >= 5000, "the load never went past maxmemory (writer stopped on %r)" % (writer.wrong,)
    c.close()
    time.sleep(random.uniform(0.1, 0.6))     # mid-demotion
    inst.kill()
    writer.thread.join(15)
    assert writer.wrong is None, "a SET was refused: %r" % (writer.wrong,)
    acked = [k for k, v in writer.acked.items() if v > 0]
    assert len(acked) > 5000
    probe = settled_key(writer)
    elapsed = restart_and_time(inst, probe, value(probe, writer.acked[probe]))
    c = check_acknowledged(inst, writer)
    assert c.dbsize() >= len(acked)
    print("\nload: %d keys acknowledged, first right value %.3f s after the restart" % (
        len(acked), elapsed))
    assert elapsed < START_BOUND_S, "first right value after %.2f s" % elapsed


def test_kill_during_an_overwrite_of_cold_keys(instances):
    inst = instances(*PRESSURE)
    c = inst.client()
    keys = [b"cold:%d" % i for i in range(20000)]
    for i in range(0, len(keys), 500):
        p = c.pipeline(transaction=False)
        for k in keys[i:i + 500]:
            p.set(k, value(k, 1))
        assert all(p.execute())
    deadline = time.time() + 30
    while cold_keys(c) < 10000 and time.time() < deadline:
        time.sleep(0.05)
    assert cold_keys(c) >= 10000
    reads_before = int(c.info("tiering")["cold_read_keys"])
    versions = {k: 1 for k in keys}
    for round_number in range(2):
        writer = PipelinedWriter(inst, keys, versions, seed=10 + round_number)
        writer.thread.start()
        time.sleep(random.uniform(1.0, 2.0))
        if round_number == 0:
            c = inst.client()
            # Overwrites are blind: they never read the cold value they replace.
            assert int(c.info("tiering")["cold_read_keys"]) == reads_before
            c.close()
        inst.kill()
        writer.thread.join(15)
        assert writer.wrong is None, "a SET was refused: %r" % (writer.wrong,)
        assert sum(writer.acked[k] > versions[k] for k in keys) > 1000, "too few overwrites"
        probe = settled_key(writer)
        elapsed = restart_and_time(inst, probe, value(probe, writer.acked[probe]))
        c = check_acknowledged(inst, writer)
        assert c.dbsize() == len(keys)
        print("\noverwrite round %d: first right value %.3f s after the restart" % (
            round_number, elapsed))
        assert elapsed < START_BOUND_S, "first right value after %.2f s" % elapsed
        # What survived is the base of the next round.
        versions = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            for k, got in zip(part, c.mget(part)):
                versions[k] = int(got.split(b":")[2])
        c.close()

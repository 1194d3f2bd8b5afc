"""The cold tier under pressure: bulk loads past maxmemory, blind writes and metadata
commands on cold keys, SCAN over a static mixed-tier database.

Strata only (they read INFO tiering and start servers with their own maxmemory), so they
run once, in the default mode of the suite.
"""
import os
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from conftest import EXTRA_ARGS

pytestmark = [
    pytest.mark.strata_only,
    pytest.mark.skipif(bool(EXTRA_ARGS), reason="starts its own servers; runs in the default mode"),
]


def value_of(i, size=1000):
    """A distinct value per key, so that a value read back under the wrong key shows."""
    stamp = b"<%d>" % i
    return (stamp * (size // len(stamp) + 1))[:size]


def write_pipe_file(path, count, size=1000, prefix=b"key:"):
    with open(path, "wb") as f:
        for i in range(count):
            key = prefix + b"%d" % i
            value = value_of(i, size)
            f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))


class Pinger(threading.Thread):
    """A second client that PINGs every millisecond while the load runs."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.client = redis.Redis(port=port, socket_timeout=10)
        self.stop = threading.Event()
        self.answered = 0
        self.failures = []

    def run(self):
        while not self.stop.is_set():
            try:
                if self.client.ping():
                    self.answered += 1
            except redis.RedisError as error:
                self.failures.append(error)
            time.sleep(0.001)


def pipe_load(srv, path):
    """redis-cli --pipe of `path`; returns (errors, replies) from its summary line."""
    done = subprocess.run(["redis-cli", "-p", str(srv.port), "--pipe"], stdin=open(path, "rb"),
                          capture_output=True, timeout=600)
    summary = [line for line in done.stdout.decode(errors="replace").splitlines() if line.startswith("errors:")]
    assert summary, done.stdout[-2000:]
    parts = summary[-1].replace(",", "").split()
    return int(parts[1]), int(parts[3]), done.stdout + done.stderr  # error replies go to stderr


def check_values(r, count, size=1000, prefix="key:"):
    for start in range(0, count, 1000):
        numbers = range(start, min(start + 1000, count))
        got = r.mget(["%s%d" % (prefix, i) for i in numbers])
        for i, stored in zip(numbers, got):
            assert stored == value_of(i, size), i


@pytest.fixture(scope="module")
def pipe_file_100k():
    directory = tempfile.mkdtemp(prefix="strata-pipe-")
    path = os.path.join(directory, "load.txt")
    write_pipe_file(path, 100_000)
    yield path
    os.unlink(path)
    os.rmdir(directory)


# --- backpressure instead of -OOM --------------------------------------------------------


@pytest.mark.parametrize("fsync", ["no-log", "always"])
def test_pipe_import_past_maxmemory_gets_no_error(server_factory, pipe_file_100k, fsync):
    """100 000 x 1 KB through redis-cli --pipe into 16 MB: no -OOM (the import waits for
    demotion instead), every value right, and another client is served meanwhile."""
    args = ["--maxmemory", "16mb", "--maxmemory-policy", "allkeys-lru"]
    srv = server_factory(*args, appendonly="yes" if fsync == "always" else "no")
    r = srv.client()
    if fsync == "always":
        r.config_set("appendfsync", "always")
    pinger = Pinger(srv.port)
    pinger.start()
    errors, replies, output = pipe_load(srv, pipe_file_100k)
    pinger.stop.set()
    pinger.join()
    assert (errors, replies) == (0, 100_000), output[-500:]
    assert pinger.failures == [] and pinger.answered > 0
    assert r.dbsize() == 100_000
    info = r.info("tiering")
    assert info["cold_keys"] > 80_000
    assert info["tiering_write_stalls"] > 0
    check_values(r, 100_000)


def test_client_pipeline_past_maxmemory_gets_no_error(server_factory):
    """A redis-py pipeline of 20 000 SETs of 2 KB into 8 MB (it failed at its 193rd)."""
    srv = server_factory("--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru")
    r = srv.client()
    pipe = r.pipeline(transaction=False)
    for i in range(20_000):
        pipe.set("p:%d" % i, value_of(i, 2048))
    results = pipe.execute(raise_on_error=False)
    assert [x for x in results if x is not True] == []
    assert r.dbsize() == 20_000
    check_values(r, 20_000, 2048, prefix="p:")


def test_pipe_import_whose_cold_index_outgrows_maxmemory(server_factory, tmp_path):
    """400 000 small keys under 4 MB: the cold index alone (~25 B a key, 10 MB) is larger
    than maxmemory, which bounds the hot tier. Counted against the limit, every write after
    ~150 000 keys got -OOM (10 M keys under 32mb stopped at 1.3 M)."""
    srv = server_factory("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
    path = str(tmp_path / "small.txt")
    count = 400_000
    write_pipe_file(path, count, size=16, prefix=b"s:")
    errors, replies, output = pipe_load(srv, path)
    assert (errors, replies) == (0, count), output[-500:]
    r = srv.client()
    assert r.dbsize() == count
    tiering = r.info("tiering")
    assert tiering["cold_index_bytes"] > 4 * 1024 * 1024
    assert tiering["used_memory_for_maxmemory"] <= 5 * 1024 * 1024
    for i in range(0, count, 997):
        assert r.get("s:%d" % i) == value_of(i, 16), i


@pytest.mark.parametrize("policy", ["allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-ttl"])
def test_pipe_import_under_every_policy(server_factory, policy, tmp_path):
    srv = server_factory("--maxmemory", "8mb", "--maxmemory-policy", policy)
    path = str(tmp_path / "load.txt")
    with open(path, "wb") as f:
        for i in range(20_000):
            key, value = b"v:%d" % i, value_of(i, 1000)
            f.write(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$6\r\n100000\r\n"
                    % (len(key), key, len(value), value))
    errors, replies, output = pipe_load(srv, path)
    assert (errors, replies) == (0, 20_000), output[-500:]
    r = srv.client()
    assert r.dbsize() == 20_000
    check_values(r, 20_000, prefix="v:")


def test_noeviction_still_answers_oom_to_a_pipe_import(server_factory, pipe_file_100k):
    srv = server_factory("--maxmemory", "16mb", "--maxmemory-policy", "noeviction")
    errors, replies, output = pipe_load(srv, pipe_file_100k)
    assert replies == 100_000 and errors > 0
    assert b"OOM command not allowed when used memory > 'maxmemory'." in output
    r = srv.client()
    assert r.info("tiering")["cold_keys"] == 0


def test_volatile_policy_without_volatile_keys_answers_oom(server_factory):
    """Nothing the policy may demote: Redis's -OOM, not an endless wait."""
    srv = server_factory("--maxmemory", "4mb", "--maxmemory-policy", "volatile-lru")
    r = srv.client()
    with pytest.raises(redis.exceptions.OutOfMemoryError) as error:
        pipe = r.pipeline(transaction=False)
        for i in range(12_000):
            pipe.set("n:%d" % i, value_of(i))
        pipe.execute()
    assert "command not allowed when used memory > 'maxmemory'." in str(error.value)


# --- SCAN over a static mixed-tier database ---------------------------------------------


def _scan_all(r, count, match=None):
    seen = []
    cursor = 0
    while True:
        cursor, batch = r.scan(cursor, match=match, count=count)
        seen += batch
        if cursor == 0:
            return seen


@pytest.mark.parametrize("count", [1, 10, 1000])
def test_scan_returns_each_key_once_over_a_static_mixed_database(server_factory, count):
    """20 000 keys of 2 KB under 8 MB (most cold) and 100 small ones (hot): nothing moves
    during the scans, so every key comes exactly once (20 183 came for 20 100)."""
    srv = server_factory("--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru")
    r = srv.client()
    pipe = r.pipeline(transaction=False)
    for i in range(20_000):
        pipe.set("k:%d" % i, value_of(i, 2048))
        if i % 100 == 99:
            pipe.execute()
    pipe.execute()
    for i in range(100):
        r.set("m%d" % i, i)
    info = r.info("tiering")
    assert info["cold_keys"] > 10_000 and info["hot_keys"] > 100
    # (SCAN's own replies and listings take memory, so a few keys may still be demoted
    # meanwhile: a key keeps its place in the cursor order in both tiers.)
    for _ in range(2 if count > 1 else 1):
        seen = _scan_all(r, count)
        assert len(seen) == 20_100 and len(set(seen)) == 20_100
        matched = _scan_all(r, count, match="m*")
        assert sorted(matched) == sorted(b"m%d" % i for i in range(100))
    assert r.dbsize() == 20_100


# --- a full disk under the cold tier ------------------------------------------------------


@pytest.fixture
def small_tmpfs():
    """A 24 MB tmpfs (we run as root in CI); skips where mount is not allowed."""
    path = tempfile.mkdtemp(prefix="strata-tmpfs-")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", path], capture_output=True, text=True)
    if done.returncode != 0:
        os.rmdir(path)
        pytest.skip("cannot mount a tmpfs: %s" % (done.stderr or done.stdout).strip())
    yield path
    if subprocess.run(["umount", path]).returncode != 0:
        subprocess.run(["umount", "-l", path])
    os.rmdir(path)


def test_full_disk_under_the_cold_tier(small_tmpfs, server_factory):
    """RocksDB on a 24 MB filesystem, the log elsewhere: a load past maxmemory fills it up
    to tiering-min-free-disk. Writes then get their own clear error (no crash, reads still
    served); with room again they resume; after a kill -9 and a restart every acknowledged
    key reads back. (appendfsync always: with everysec, as with Redis's, a write acknowledged
    in the last second or two may be lost by a crash, e.g. while a checkpoint starts a new
    log segment.)"""
    srv = server_factory("--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru",
                         "--tiering-dirname", os.path.join(small_tmpfs, "cold"), "--tiering-min-free-disk", "12mb",
                         "--tiering-write-buffer-size", "1mb", "--appendfsync", "always", appendonly="yes")
    r = srv.client()
    acked = {}

    def load(batches):
        """Loads up to `batches` x 100 keys; returns the first refusal, or None."""
        for _ in range(batches):
            pipe = r.pipeline(transaction=False)
            values = {"f:%d:%d" % (len(acked), i): os.urandom(1000) for i in range(100)}
            for key, value in values.items():
                pipe.set(key, value)
            refusal = None
            for (key, value), reply in zip(values.items(), pipe.execute(raise_on_error=False)):
                if reply is True:
                    acked[key] = value
                elif refusal is None:
                    refusal = reply
            if refusal is not None:
                return refusal
        return None

    refusal = load(300)   # up to 30 MB of incompressible values
    assert refusal is not None, "no write was refused with the disk full"
    assert "cold tier cannot write to disk: No space left on device" in str(refusal), refusal
    assert r.ping() and "No space left" in str(r.info("tiering")["cold_last_write_error"])
    some = list(acked)[-50:]
    assert r.mget(some) == [acked[k] for k in some]   # reads are still served
    # Room again: demotion resumes within a second or so, and so do the writes.
    subprocess.run(["mount", "-o", "remount,size=256m", small_tmpfs], check=True)
    time.sleep(1.2)
    assert load(50) is None
    srv.terminate(signal.SIGKILL)
    assert srv.try_start(), srv.log()[-3000:]   # (start() would empty the data directory)
    srv.wait_loaded()
    r = srv.client()
    assert r.dbsize() == len(acked)
    keys = list(acked)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        assert r.mget(chunk) == [acked[k] for k in chunk]

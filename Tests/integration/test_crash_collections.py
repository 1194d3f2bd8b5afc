"""Crash recovery of lists, hashes and sets: kill -9 while clients push list elements, set
hash fields, add set members and set or remove their expiries (appendfsync always), with demotions to RocksDB and
checkpoints in between; after each restart every acknowledged change is there exactly once.

Lists, hashes and sets log their changes, not their values (LogChange.swift), and replay
must skip a change that a value in RocksDB already holds: a push applied twice or lost
shows here. Also run by Tests/durability/crash-test.sh (STRATA_CRASH_ROUNDS rounds).

Environment knobs: STRATA_CRASH_ROUNDS (default 20; this test runs half as many rounds),
STRATA_CRASH_SEED (fixes the ops and the kill delays, not the timing)."""
import os
import random
import socket
import threading
import time

import pytest
import redis

from conftest import EXTRA_ARGS, TARGET, ConnectionClosed, RawConnection, ServerInstance, mode_config, parse_resp

ROUNDS = max(2, int(os.environ.get("STRATA_CRASH_ROUNDS", "20")) // 2)
CRASH_SEED = os.environ.get("STRATA_CRASH_SEED")
ALWAYS = ("--appendfsync", "always", "--auto-aof-rewrite-percentage", "0")
# Values large enough, and RocksDB's memtable small enough, that demoted values reach SST
# files between checkpoints (RocksDB runs without its own WAL: what a crash leaves in the
# memtable is gone, and the log holds it).
SMALL_MEMTABLE = ("--tiering-write-buffer-size", "1mb")


class Model:
    """One writer's keys: a list, a hash and a set, as the acknowledged ops made them."""

    def __init__(self):
        self.items = []       # the list
        self.fields = {}      # the hash
        self.members = set()  # the set
        self.expiring = [False, False, False]  # whether the list, hash, set has a TTL

    def copy(self):
        other = Model()
        other.items = list(self.items)
        other.fields = dict(self.fields)
        other.members = set(self.members)
        other.expiring = list(self.expiring)
        return other

    def exists(self, which):
        return bool((self.items, self.fields, self.members)[which])

    def apply(self, op):
        """Applies op; returns the reply the server must give."""
        kind, arg = op
        reply = self.apply_to_value(kind, arg)
        for which in range(3):
            if not self.exists(which):
                self.expiring[which] = False  # an emptied key is gone, and its TTL with it
        return reply

    def apply_to_value(self, kind, arg):
        if kind in ("expire", "persist"):
            had = self.exists(arg) and (kind == "expire" or self.expiring[arg])
            if had:
                self.expiring[arg] = kind == "expire"
            return int(had)
        if kind == "rpush":
            self.items.append(arg)
            return len(self.items)
        if kind == "lpop":
            return self.items.pop(0) if self.items else None
        if kind == "hset":
            new = arg[0] not in self.fields
            self.fields[arg[0]] = arg[1]
            return int(new)
        if kind == "hdel":
            return int(self.fields.pop(arg, None) is not None)
        if kind == "sadd":
            new = arg not in self.members
            self.members.add(arg)
            return int(new)
        if kind == "srem":
            present = arg in self.members
            self.members.discard(arg)
            return int(present)
        raise AssertionError(kind)

    def same_as(self, items, fields, members, expiring):
        return (self.items == items and self.fields == fields and self.members == members
                and self.expiring == expiring)


class Writer:
    """Sends pipelined ops on its own keys; records which were acknowledged with the
    reply the model expects."""

    def __init__(self, wid, seed):
        self.wid = wid
        self.rng = random.Random(seed)
        self.keys = ("c%d:list" % wid, "c%d:hash" % wid, "c%d:set" % wid)
        self.base = Model()
        self.counter = 0

    def new_round(self):
        self.ops = []
        self.acked = 0
        self.error = None
        self.model = self.base.copy()  # the state after every op sent so far

    def padding(self):
        """400 bytes that do not compress (values are zstd-compressed for RocksDB)."""
        return self.rng.randbytes(200).hex().encode()

    def next_op(self):
        self.counter += 1
        n = self.counter
        roll = self.rng.random()
        if roll < 0.35:
            return ("rpush", b"e%d:" % n + self.padding())
        if roll < 0.45:
            return ("lpop", None)
        if roll < 0.75:
            return ("hset", (b"f%d" % self.rng.randrange(n + 1), b"v%d:" % n + self.padding()))
        if roll < 0.80:
            return ("hdel", b"f%d" % self.rng.randrange(n + 1))
        if roll < 0.93:
            return ("sadd", b"m%d" % n)
        if roll < 0.96:
            return ("srem", b"m%d" % self.rng.randrange(n + 1))
        # Only the expiry changes: logged as an EXPIRE record, not the value.
        return ("expire" if roll < 0.98 else "persist", self.rng.randrange(3))

    def command(self, op):
        kind, arg = op
        key = self.keys[0] if kind in ("rpush", "lpop") else self.keys[1] if kind[0] == "h" else self.keys[2]
        if kind == "hset":
            return ("HSET", key, arg[0], arg[1])
        if kind == "lpop":
            return ("LPOP", key)
        if kind == "expire":
            return ("EXPIRE", self.keys[arg], 1_000_000)
        if kind == "persist":
            return ("PERSIST", self.keys[arg])
        return (kind.upper(), key, arg)

    def run(self, host, port, stop):
        model = self.model
        try:
            conn = RawConnection(host, port, timeout=5)
        except OSError:
            return
        try:
            while not stop.is_set():
                batch = [self.next_op() for _ in range(self.rng.randint(1, 6))]
                self.ops.extend(batch)
                conn.send(b"".join(RawConnection.encode(*self.command(op)) for op in batch))
                for op in batch:
                    reply = parse_resp(conn.read_reply())
                    expected = model.apply(op)
                    if reply != expected:
                        self.error = "%r answered %r, expected %r" % (self.command(op), reply, expected)
                        return
                    self.acked += 1
        except (OSError, ConnectionClosed, TimeoutError):
            pass  # the kill cut the connection
        finally:
            conn.close()

    def verify(self, client):
        """Finds the prefix of the round's ops the server holds (at least the acknowledged
        ones); it becomes the next round's base. Returns its length, or None."""
        items = client.lrange(self.keys[0], 0, -1)
        fields = client.hgetall(self.keys[1])
        members = client.smembers(self.keys[2])
        expiring = [client.ttl(key) > 0 for key in self.keys]
        model = self.base.copy()
        for j in range(len(self.ops) + 1):
            if j >= self.acked and model.same_as(items, fields, members, expiring):
                self.base = model
                return j
            if j < len(self.ops):
                model.apply(self.ops[j])
        return None


def send_quietly(inst, *command):
    try:
        with socket.create_connection((inst.host, inst.port), timeout=2) as s:
            s.sendall(RawConnection.encode(*command))
            s.recv(200)
    except OSError:
        pass


def start_writers(inst, writers):
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(inst.host, inst.port, stop), daemon=True)
               for w in writers]
    for t in threads:
        t.start()
    return stop, threads


def stop_writers(stop, threads):
    stop.set()
    for t in threads:
        t.join(timeout=15)
        assert not t.is_alive(), "a writer did not stop"


def run_writers(inst, writers, seconds):
    stop, threads = start_writers(inst, writers)
    time.sleep(seconds)
    stop_writers(stop, threads)


def checkpoint(inst):
    c = inst.client()
    c.bgrewriteaof()
    deadline = time.time() + 15
    while c.info("persistence")["aof_rewrite_in_progress"] or c.info("persistence")["rdb_bgsave_in_progress"]:
        assert time.time() < deadline, "the checkpoint did not end"
        time.sleep(0.02)
    c.close()


def kill_and_restart(inst):
    inst.kill()
    assert inst.try_start(), "the server did not start again:\n%s" % inst.log()[-4000:]
    inst.wait_loaded()


def push_memtable_to_sst(inst, rng):
    """Writes more than RocksDB's memtable holds, then one more value, which makes RocksDB
    write the full memtable to an SST file (RocksDB runs without its own WAL: what a crash
    leaves in the memtable is gone, and the log holds it)."""
    c = inst.client()
    c.set("filler", rng.randbytes(1536 * 1024))
    c.execute_command("TIER", "DEMOTE", "filler")
    c.set("filler", "x")
    c.execute_command("TIER", "DEMOTE", "filler")
    c.close()
    time.sleep(0.5)


@pytest.mark.parametrize("mode", ["tiered", "tiering-no"])
def test_crash_keeps_every_acknowledged_collection_change(mode):
    if TARGET == "redis" and mode == "tiering-no":
        pytest.skip("a Strata directive")
    if mode == "tiering-no" and mode_config("maxmemory") != "0":
        pytest.skip("without tiering, maxmemory evicts (deletes) the writers' keys, as Redis does")
    seed = int(CRASH_SEED) if CRASH_SEED else random.randrange(1 << 30)
    rng = random.Random(seed)
    extra = ALWAYS + (("--tiering", "no") if mode == "tiering-no" else ())
    if TARGET != "redis":
        extra += SMALL_MEMTABLE
    inst = ServerInstance(extra, appendonly="yes", save="")
    writers = [Writer(i, seed * 10 + i) for i in range(3)]
    acked_total = 0
    try:
        inst.start()
        inst.wait_loaded()
        for rnd in range(ROUNDS):
            for w in writers:
                w.new_round()
            tiered = TARGET != "redis" and mode == "tiered"
            delay = rng.uniform(0.2, 0.8)
            if tiered and rnd % 3 == 0:
                # Every change RocksDB holds is in the log, and replay must skip them all:
                # the keys go cold, a checkpoint leaves them there (its new segment starts
                # with no record of them), the writers change them again, and they go
                # cold again and reach an SST file before the kill.
                run_writers(inst, writers, delay / 2)
                send_quietly(inst, "TIER", "DEMOTE-ALL")
                checkpoint(inst)
                run_writers(inst, writers, delay / 2)
                send_quietly(inst, "TIER", "DEMOTE-ALL")
                push_memtable_to_sst(inst, rng)
                inst.kill()
            else:
                # Demotions and a checkpoint while the writes go on.
                stop, threads = start_writers(inst, writers)
                time.sleep(delay / 3)
                if tiered:
                    send_quietly(inst, "TIER", "DEMOTE-ALL")
                time.sleep(delay / 3)
                if rng.random() < 0.5:
                    send_quietly(inst, rng.choice(["BGSAVE", "BGREWRITEAOF"]))
                time.sleep(delay / 3)
                inst.kill()
                stop_writers(stop, threads)
            for w in writers:
                assert w.error is None, "round %d, writer %d: %s" % (rnd, w.wid, w.error)
            assert inst.try_start(), "the server did not start again:\n%s" % inst.log()[-4000:]
            inst.wait_loaded()
            client = inst.client()
            for w in writers:
                held = w.verify(client)
                assert held is not None, (
                    "round %d (STRATA_CRASH_SEED=%d), writer %d: the keys match no prefix of "
                    "the %d ops sent with at least the %d acknowledged ones: list %d items, "
                    "hash %d fields, set %d members" % (
                        rnd, seed, w.wid, len(w.ops), w.acked, client.llen(w.keys[0]),
                        client.hlen(w.keys[1]), client.scard(w.keys[2])))
                acked_total += w.acked
            client.close()
        assert acked_total > 0
        print("\n%d rounds, %d changes acknowledged, none lost or doubled (seed %d)" % (
            ROUNDS, acked_total, seed))
    finally:
        inst.stop()


def test_changes_after_a_replay_under_maxmemory_survive_the_next_crash():
    """Replay past maxmemory demotes collections while the log is replayed. Each went to
    RocksDB stamped with the highest change number ever given instead of the last one
    replayed, and the next crash's replay skipped every later change to it: hundreds of
    acknowledged pushes and fields were lost."""
    if TARGET == "redis":
        pytest.skip("Strata's tiering (redis-server evicts under maxmemory)")
    if "--tiering-demote-all" in EXTRA_ARGS:
        pytest.skip("its own maxmemory is the point; all cold, each write reads 4 MB back (90 s)")
    rng = random.Random(5)
    inst = ServerInstance(ALWAYS + SMALL_MEMTABLE + ("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"),
                          appendonly="yes", save="")
    items, fields = [], {}
    counter = [0]

    def write(c, n):
        pipe = c.pipeline(transaction=False)
        for _ in range(n):
            counter[0] += 1
            value = b"e%d:" % counter[0] + rng.randbytes(200).hex().encode()
            items.append(value)
            pipe.rpush("q:list", value)
            field = b"f%d" % rng.randrange(counter[0])
            key = "q:hash%d" % rng.randrange(3)
            fields[(key, field)] = value
            pipe.hset(key, field, value)
        pipe.execute()

    def check(c):
        assert c.lrange("q:list", 0, -1) == items
        held = {}
        for h in range(3):
            held.update({("q:hash%d" % h, f): v for f, v in c.hgetall("q:hash%d" % h).items()})
        assert held == fields

    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        write(c, 3000)
        checkpoint(inst)  # the walk logs the hot collections' states into a new segment
        write(c, 1000)
        c.execute_command("TIER", "DEMOTE-ALL")
        write(c, 100)
        c.close()
        kill_and_restart(inst)  # replays the states past maxmemory: demotes meanwhile
        c = inst.client()
        check(c)
        write(c, 1500)
        c.close()
        kill_and_restart(inst)
        c = inst.client()
        check(c)
        c.close()
    finally:
        inst.stop()


def test_replay_reads_a_cold_collection_once():
    """A thousand logged changes each to collections that went cold after them (RocksDB's
    value holds them all): replay skips each one reading the value once per key, not once
    per change (which took the restart past 10 s)."""
    if TARGET == "redis":
        pytest.skip("Strata's tiering")
    inst = ServerInstance(ALWAYS + SMALL_MEMTABLE, appendonly="yes", save="")
    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        pipe = c.pipeline(transaction=False)
        for i in range(1000):
            pipe.rpush("q:list", b"e%d:" % i + b"x" * 300)
            pipe.hset("q:hash", "f%d" % i, b"v%d:" % i + b"x" * 300)
            pipe.sadd("q:set", "m%d" % i)
        pipe.execute()
        for key in ("q:list", "q:hash", "q:set"):
            c.execute_command("TIER", "DEMOTE", key)
        c.close()
        push_memtable_to_sst(inst, random.Random(7))
        kill_and_restart(inst)
        loaded = [line for line in inst.log().splitlines() if "Data loaded" in line][-1]
        replayed = int(loaded.split(" log records replayed")[0].rsplit(" ", 1)[1])
        reads = int(loaded.split(" collections read from RocksDB")[0].rsplit(" ", 1)[1])
        assert replayed >= 3000, loaded
        assert reads <= 3, loaded
        c = inst.client()
        assert c.llen("q:list") == 1000 and c.lindex("q:list", -1) == b"e999:" + b"x" * 300
        assert c.hlen("q:hash") == 1000 and c.hget("q:hash", "f123") == b"v123:" + b"x" * 300
        assert c.scard("q:set") == 1000 and c.sismember("q:set", "m999")
        c.close()
    finally:
        inst.stop()


BIG = 60_000  # elements of about 100 bytes: each collection is past the 4 MB at which a
              # checkpoint copies it into RocksDB instead of packing it into the log


def fill_big_collections(c, prefix="big", small_keys=30_000):
    pad = b"x" * 90
    pipe = c.pipeline(transaction=False)
    for start in range(0, BIG, 1000):
        chunk = [b"%08d:" % i + pad for i in range(start, start + 1000)]
        pipe.rpush(prefix + ":list", *chunk)
        pipe.hset(prefix + ":hash", mapping={e[:8]: e for e in chunk})
        pipe.sadd(prefix + ":set", *chunk)
    # Small keys, so that the walk takes several steps and the changes below come before
    # it meets the large keys as well as after.
    for i in range(small_keys):
        pipe.set("small:%d" % i, "v")
    pipe.execute()


def fill_without_maxmemory(c, prefix):
    """fill_big_collections without the mode's maxmemory: pipelined writes to one collection
    larger than it may get -OOM while it is being demoted (not what is tested here)."""
    c.config_set("maxmemory", 0)
    fill_big_collections(c, prefix=prefix, small_keys=0)
    c.config_set("maxmemory", mode_config("maxmemory"))


def change_big_collections(c, n):
    c.rpush("big:list", "pushed:%d" % n)
    c.lset("big:list", n % BIG, "set:%d" % n)
    c.hset("big:hash", "new:%d" % n, n)
    c.hdel("big:hash", b"%08d" % n)
    c.sadd("big:set", "new:%d" % n)


def check_big_collections(c, changes):
    """Exactly the first `changes` calls of change_big_collections are there."""
    assert c.llen("big:list") == BIG + changes
    assert c.lrange("big:list", BIG, -1) == [b"pushed:%d" % n for n in range(changes)]
    for n in (0, changes // 2, changes - 1):
        assert c.lindex("big:list", n) == b"set:%d" % n
    assert c.lindex("big:list", changes) == b"%08d:" % changes + b"x" * 90
    assert c.hlen("big:hash") == BIG
    assert c.hget("big:hash", "new:%d" % (changes - 1)) == str(changes - 1).encode()
    assert c.hget("big:hash", b"%08d" % (changes - 1)) is None
    assert c.hget("big:hash", b"%08d" % changes) == b"%08d:" % changes + b"x" * 90
    assert c.scard("big:set") == BIG + changes
    assert c.sismember("big:set", "new:%d" % (changes - 1))
    assert c.dbsize() == 30_004  # with push_memtable_to_sst's filler


def test_checkpoint_of_large_collections_keeps_every_change():
    """A checkpoint copies a list, a hash and a set of more than 4 MB into RocksDB (packing
    them for the log would hold the loop), while they change before and after the walk
    meets them; after kill -9 every acknowledged change is there exactly once."""
    if TARGET == "redis":
        pytest.skip("Strata's checkpoint")
    inst = ServerInstance(ALWAYS + SMALL_MEMTABLE, appendonly="yes", save="")
    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        fill_big_collections(c)
        changes = 0
        for _ in range(2):
            c.bgrewriteaof()
            while c.info("persistence")["aof_rewrite_in_progress"]:
                change_big_collections(c, changes)
                changes += 1
            for _ in range(20):
                change_big_collections(c, changes)
                changes += 1
        assert changes > 40
        # The new segment holds the small keys and the changes, not the large values.
        logged = sum(os.path.getsize(os.path.join(root, f))
                     for root, _, files in os.walk(inst.dir) for f in files if "aof" in f)
        assert logged < 4 << 20, logged
        c.close()
        push_memtable_to_sst(inst, random.Random(3))
        kill_and_restart(inst)
        c = inst.client()
        check_big_collections(c, changes)
        c.close()
    finally:
        inst.stop()


def test_checkpoint_without_the_log_copies_large_collections():
    """With appendonly no, BGSAVE copies the large collections into RocksDB, each as a
    state it really had while the checkpoint ran; SHUTDOWN SAVE's checkpoint keeps them all."""
    if TARGET == "redis":
        pytest.skip("Strata's checkpoint")
    inst = ServerInstance(SMALL_MEMTABLE, appendonly="no", save="")
    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        fill_big_collections(c)
        c.bgsave()
        changes = 0
        while c.info("persistence")["rdb_bgsave_in_progress"]:
            change_big_collections(c, changes)
            changes += 1
        c.close()
        push_memtable_to_sst(inst, random.Random(4))
        kill_and_restart(inst)
        c = inst.client()
        # Each key holds the changes up to some point of the checkpoint, in order.
        pushed = c.llen("big:list") - BIG
        assert 0 <= pushed <= changes
        assert c.lrange("big:list", BIG, -1) == [b"pushed:%d" % n for n in range(pushed)]
        added = c.scard("big:set") - BIG
        assert 0 <= added <= changes
        # The checkpoint may copy the set before the first SADD, or end before the first
        # change (SMISMEMBER and HMGET take at least one name).
        if added:
            assert all(c.smismember("big:set", ["new:%d" % n for n in range(added)]))
        if changes:
            # HSET new:n then HDEL of field n: new fields are a prefix, and each field before
            # the last new one is gone (the copy may fall between the last HSET and its HDEL).
            new = [v is not None for v in c.hmget("big:hash", ["new:%d" % n for n in range(changes)])]
            k = sum(new)
            assert new == [True] * k + [False] * (changes - k)
            old = [v is not None for v in c.hmget("big:hash", [b"%08d" % n for n in range(changes)])]
            assert old[:max(0, k - 1)] == [False] * max(0, k - 1) and all(old[k:])
        assert c.hlen("big:hash") in (BIG, BIG + 1)
        for n in range(changes, changes + 5):
            change_big_collections(c, n)
        c.shutdown(save=True)
        inst.wait_exit()
        assert inst.try_start(), "the server did not start again:\n%s" % inst.log()[-4000:]
        inst.wait_loaded()
        c = inst.client()
        assert c.llen("big:list") == BIG + pushed + 5
        assert c.hget("big:hash", "new:%d" % (changes + 4)) == str(changes + 4).encode()
        c.close()
    finally:
        inst.stop()


@pytest.mark.parametrize("wait_for_the_writer", [False, True])
def test_moves_of_large_collections_survive_a_crash(wait_for_the_writer):
    """RENAME, MOVE and COPY of collections past 4 MB go through RocksDB instead of the
    log (LargeHotMoves.swift). After a checkpoint, a change, the moves, changes to the
    targets, and the sources created again and demoted (their new RocksDB copies come after
    the moves' writes), kill -9, either right away or once the moves are written: each
    target holds the moved value with its later changes, each source its new value."""
    if TARGET == "redis":
        pytest.skip("Strata's tiering")
    inst = ServerInstance(ALWAYS + SMALL_MEMTABLE, appendonly="yes", save="")
    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        fill_without_maxmemory(c, "m")
        checkpoint(inst)
        c.hset("m:hash", "before", "1")  # the hash's RocksDB copy is older than the move
        pipe = c.pipeline(transaction=False)
        pipe.rename("m:hash", "m:hash2")
        pipe.move("m:set", 2)
        pipe.copy("m:list", "m:list2")
        pipe.hset("m:hash2", "after", "2")
        pipe.rpush("m:list2", "after")
        pipe.rpush("m:list", "source after")
        pipe.hset("m:hash", "new", "3")
        pipe.sadd("m:set", "new")
        pipe.execute()
        c.execute_command("TIER", "DEMOTE", "m:hash", "m:set")
        if wait_for_the_writer:
            # A read of a target waits for its move's write.
            db2 = inst.client(db=2)
            assert (c.hlen("m:hash2"), db2.scard("m:set"), c.llen("m:list2")) == (BIG + 2, BIG, BIG + 1)
            db2.close()
            push_memtable_to_sst(inst, random.Random(6))
        c.close()
        kill_and_restart(inst)
        c = inst.client()
        db2 = inst.client(db=2)
        assert c.hlen("m:hash2") == BIG + 2
        assert c.hmget("m:hash2", ["before", "after", b"%08d" % 5]) == [b"1", b"2", b"00000005:" + b"x" * 90]
        assert c.hgetall("m:hash") == {b"new": b"3"}
        assert db2.scard("m:set") == BIG
        assert db2.sismember("m:set", b"%08d:" % 7 + b"x" * 90)
        assert c.smembers("m:set") == {b"new"}
        assert c.llen("m:list2") == BIG + 1 and c.lindex("m:list2", -1) == b"after"
        assert c.llen("m:list") == BIG + 1 and c.lindex("m:list", -1) == b"source after"
        assert c.lrange("m:list", 0, BIG - 1) == c.lrange("m:list2", 0, BIG - 1)
        assert c.dbsize() == 5 + (1 if wait_for_the_writer else 0)  # push_memtable_to_sst's filler
        c.close()
        db2.close()
    finally:
        inst.stop()


@pytest.mark.parametrize("wait_for_the_writer", [False, True])
def test_copies_of_large_hashes_and_sets_survive_a_crash(wait_for_the_writer):
    """COPY of a hash or set past 4 MB stores the one value under both names in one RocksDB
    write (LargeHotMoves.swift); the source comes back to RAM and is changed, then demoted
    (its new RocksDB copy comes after the COPY's). After kill -9, right away or once the
    write is made, each copy holds the source's value at the COPY with its own later changes,
    and each source the source's later changes."""
    if TARGET == "redis":
        pytest.skip("Strata's tiering")
    inst = ServerInstance(ALWAYS + SMALL_MEMTABLE, appendonly="yes", save="")
    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        c.config_set("maxmemory", 0)  # as in fill_without_maxmemory
        fill_big_collections(c, prefix="c", small_keys=0)
        c.delete("c:list")
        c.config_set("maxmemory", mode_config("maxmemory"))
        checkpoint(inst)
        c.hset("c:hash", "before", "1")  # the hash's RocksDB copy is older than the COPY
        pipe = c.pipeline(transaction=False)
        pipe.copy("c:hash", "c:hash2")
        pipe.copy("c:set", "c:set2", destination_db=2)
        pipe.hset("c:hash2", "after", "2")
        pipe.hset("c:hash", "source after", "3")
        pipe.hdel("c:hash", b"%08d" % 5)
        pipe.sadd("c:set", "source after")
        pipe.srem("c:set", b"%08d:" % 7 + b"x" * 90)
        assert pipe.execute() == [True, True, 1, 1, 1, 1, 1]
        c.execute_command("TIER", "DEMOTE", "c:hash")
        db2 = inst.client(db=2)
        if wait_for_the_writer:
            assert (c.hlen("c:hash2"), db2.scard("c:set2"), c.hlen("c:hash")) == (BIG + 2, BIG, BIG + 1)
            push_memtable_to_sst(inst, random.Random(7))
        c.close()
        db2.close()
        kill_and_restart(inst)
        c = inst.client()
        db2 = inst.client(db=2)
        field5, member7 = b"%08d" % 5, b"%08d:" % 7 + b"x" * 90
        assert c.hlen("c:hash2") == BIG + 2
        assert c.hmget("c:hash2", ["before", "after", "source after", field5]) == [
            b"1", b"2", None, b"00000005:" + b"x" * 90]
        assert c.hlen("c:hash") == BIG + 1
        assert c.hmget("c:hash", ["before", "after", "source after", field5]) == [b"1", None, b"3", None]
        assert db2.scard("c:set2") == BIG
        assert db2.smismember("c:set2", [member7, "source after"]) == [1, 0]
        assert c.scard("c:set") == BIG
        assert c.smismember("c:set", [member7, "source after"]) == [0, 1]
        assert c.dbsize() == 3 + (1 if wait_for_the_writer else 0)  # push_memtable_to_sst's filler
        c.close()
        db2.close()
    finally:
        inst.stop()


def test_expiry_changes_log_the_expiry_not_the_value():
    """EXPIRE, PEXPIREAT, PERSIST and GETEX change only a key's expiry: the log gets that
    expiry, not the key's whole value (which, for a large collection, was 6.9 MB of log and
    60 ms of the loop per EXPIRE). After kill -9 the values are whole and the expiries
    are the ones set last."""
    inst = ServerInstance(ALWAYS, appendonly="yes", save="")
    try:
        inst.start()
        inst.wait_loaded()
        c = inst.client()
        fill_without_maxmemory(c, "e")
        c.set("e:string", "v" * 100_000)
        deadline = int(time.time() * 1000) + 500_000_000
        before = c.info("persistence")["aof_current_size"]
        assert c.expire("e:hash", 100_000) is True
        assert c.pexpireat("e:list", deadline) is True
        assert c.expire("e:set", 1000) is True
        assert c.persist("e:set") is True
        assert c.getex("e:string", ex=2000) == b"v" * 100_000
        pipe = c.pipeline(transaction=True)
        pipe.expire("e:hash", 200_000)
        pipe.hset("e:hash", "in-multi", "1")
        pipe.execute()
        grown = c.info("persistence")["aof_current_size"] - before
        assert grown < 4096, "the log grew by %d bytes" % grown
        c.close()
        kill_and_restart(inst)
        c = inst.client()
        assert 199_000 < c.ttl("e:hash") <= 200_000
        assert c.hlen("e:hash") == BIG + 1 and c.hget("e:hash", "in-multi") == b"1"
        assert c.pexpiretime("e:list") == deadline and c.llen("e:list") == BIG
        assert c.ttl("e:set") == -1 and c.scard("e:set") == BIG
        assert 1900 < c.ttl("e:string") <= 2000 and c.strlen("e:string") == 100_000
        c.close()
    finally:
        inst.stop()

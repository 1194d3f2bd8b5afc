"""Server commands: INFO, CONFIG, DBSIZE, TIME, SLOWLOG, LATENCY, CLIENT,
COMMAND, MONITOR, DEBUG, SHUTDOWN."""

import re
import time

import pytest
import redis

from conftest import RawConnection, mode_config


def bulk_text(reply):
    m = re.fullmatch(rb"\$(\d+)\r\n(.*)\r\n", reply, re.S)
    assert m, reply[:100]
    assert int(m.group(1)) == len(m.group(2))
    return m.group(2)


def info_raw(raw, *section):
    return bulk_text(raw.cmd("INFO", *section)).decode()


def section_names(text):
    return re.findall(r"^# (\w+)\r$", text, re.M)


def client_addr(conn):
    info = bulk_text(conn.cmd("CLIENT", "INFO"))
    return re.search(rb"addr=(\S+)", info).group(1)


def client_id(conn):
    return int(conn.cmd("CLIENT", "ID")[1:-2])


# ---------------------------------------------------------------- INFO

def test_info_default_sections(raw):
    text = info_raw(raw)
    assert section_names(text) == ["Server", "Clients", "Memory", "Persistence", "Stats",
                                   "Replication", "CPU", "Modules", "Errorstats",
                                   "Cluster", "Keyspace"]
    assert section_names(info_raw(raw, "default")) == section_names(text)


@pytest.mark.parametrize("which", ["all", "everything"])
def test_info_all_sections(raw, which):
    assert section_names(info_raw(raw, which)) == [
        "Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
        "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]


def test_info_lines_are_crlf_key_value(raw):
    text = info_raw(raw, "all")
    assert text.endswith("\r\n")
    for line in text.split("\r\n"):
        if not line or line.startswith("# "):
            continue
        assert re.fullmatch(r"[A-Za-z0-9_|\-.]+:.*", line), line


@pytest.mark.parametrize("section,title,fields", [
    ("server", "Server", ["redis_version", "redis_mode", "os", "arch_bits", "process_id",
                          "run_id", "tcp_port", "uptime_in_seconds", "uptime_in_days",
                          "hz", "executable", "config_file"]),
    ("clients", "Clients", ["connected_clients", "blocked_clients", "maxclients"]),
    ("memory", "Memory", ["used_memory", "used_memory_human", "used_memory_peak",
                          "maxmemory", "maxmemory_policy", "mem_allocator"]),
    ("persistence", "Persistence", ["loading", "rdb_changes_since_last_save",
                                    "rdb_bgsave_in_progress", "rdb_last_save_time",
                                    "aof_enabled"]),
    ("stats", "Stats", ["total_connections_received", "total_commands_processed",
                        "expired_keys", "evicted_keys", "keyspace_hits", "keyspace_misses",
                        "total_error_replies"]),
    ("replication", "Replication", ["role", "connected_slaves", "master_replid",
                                    "master_repl_offset"]),
    ("cpu", "CPU", ["used_cpu_sys", "used_cpu_user"]),
])
def test_info_section_fields(raw, section, title, fields):
    text = info_raw(raw, section)
    assert text.startswith("# %s\r\n" % title)
    assert section_names(text) == [title]
    keys = re.findall(r"^([a-z0-9_]+):", text, re.M)
    for f in fields:
        assert f in keys, f


def test_info_section_name_case_insensitive(raw):
    assert info_raw(raw, "SERVER").startswith("# Server\r\n")


def test_info_multiple_sections(raw):
    assert section_names(info_raw(raw, "server", "clients")) == ["Server", "Clients"]


def test_info_unknown_section_is_empty(raw):
    assert raw.cmd("INFO", "nosuchsection") == b"$0\r\n\r\n"


def test_info_server_values(r, server):
    info = r.info("server")
    assert str(info["redis_version"]).startswith("7.")
    assert info["redis_mode"] == "standalone"
    assert info["tcp_port"] == server.port
    assert info["process_id"] == server.proc.pid
    assert info["arch_bits"] == 64
    assert re.fullmatch(r"[0-9a-f]{40}", info["run_id"])


def test_info_replication_role(raw):
    text = info_raw(raw, "replication")
    assert "\r\nrole:master\r\n" in text
    assert "\r\nconnected_slaves:0\r\n" in text


def test_info_clients_counts(raw, server):
    extra = [RawConnection(server.host, server.port) for _ in range(3)]
    try:
        for i, c in enumerate(extra):
            assert c.cmd("CLIENT", "SETNAME", "extra%d" % i) == b"+OK\r\n"
        # read both views atomically
        raw.cmd("MULTI")
        raw.cmd("INFO", "clients")
        raw.cmd("CLIENT", "LIST")
        info, clients = raw.call("EXEC")
        n = int(re.search(rb"\r\nconnected_clients:(\d+)\r\n", info).group(1))
        lines = clients.decode().rstrip("\n").split("\n")
        assert n == len(lines)
        names = [parse_client_line(l)["name"] for l in lines]
        for i in range(3):
            assert names.count("extra%d" % i) == 1
    finally:
        for c in extra:
            c.close()


def test_info_keyspace_format(r, raw, server):
    assert info_raw(raw, "keyspace") == "# Keyspace\r\n"
    r.mset({"a": 1, "b": 2, "c": 3})
    r.expire("a", 100)
    c = server.client(db=3)
    try:
        c.set("x", "1")
    finally:
        c.close()
    text = info_raw(raw, "keyspace")
    lines = text.split("\r\n")
    assert lines[0] == "# Keyspace"
    assert re.fullmatch(r"db0:keys=3,expires=1,avg_ttl=\d+", lines[1]), lines[1]
    assert re.fullmatch(r"db3:keys=1,expires=0,avg_ttl=0", lines[2]), lines[2]
    assert lines[3:] == [""]


def test_info_stats_keyspace_hits_misses(r):
    r.set("a", "1")
    r.get("a")
    r.get("a")
    r.get("missing")
    s = r.info("stats")
    assert s["keyspace_hits"] == 2
    assert s["keyspace_misses"] == 1


def test_info_commandstats(r, raw):
    raw.cmd("SET", "a", "1")
    raw.cmd("GET", "a")
    raw.cmd("GET", "a")
    raw.cmd("INCR")          # rejected (arity)
    raw.cmd("SET", "s", "x")
    raw.cmd("INCR", "s")     # failed
    text = info_raw(raw, "commandstats")
    assert text.startswith("# Commandstats\r\n")
    assert re.search(r"^cmdstat_get:calls=2,usec=\d+,usec_per_call=\d+\.\d\d,"
                     r"rejected_calls=0,failed_calls=0\r$", text, re.M), text
    assert re.search(r"^cmdstat_set:calls=2,usec=\d+,usec_per_call=\d+\.\d\d,"
                     r"rejected_calls=0,failed_calls=0\r$", text, re.M), text
    assert re.search(r"^cmdstat_incr:calls=1,usec=\d+,usec_per_call=\d+\.\d\d,"
                     r"rejected_calls=1,failed_calls=1\r$", text, re.M), text
    assert re.search(r"^cmdstat_config\|resetstat:calls=1,", text, re.M), text


def test_info_errorstats(raw):
    raw.cmd("FOO")
    raw.cmd("GET")
    raw.cmd("SET", "s", "x")
    raw.cmd("INCR", "s")
    raw.cmd("RPUSH", "l", "x")  # creates a list if supported; error otherwise
    raw.cmd("GET", "l")         # WRONGTYPE if the list exists
    text = info_raw(raw, "errorstats")
    assert text.startswith("# Errorstats\r\n")
    m = re.search(r"^errorstat_ERR:count=(\d+)\r$", text, re.M)
    assert m, text
    wrongtype = re.search(r"^errorstat_WRONGTYPE:count=(\d+)\r$", text, re.M)
    if wrongtype:
        assert int(m.group(1)) == 3 and wrongtype.group(1) == "1"
    else:
        assert int(m.group(1)) == 4
    stats = info_raw(raw, "stats")
    assert re.search(r"^total_error_replies:4\r$", stats, re.M)


def test_config_resetstat(r):
    r.get("missing")
    r.set("a", "1")
    assert r.info("stats")["keyspace_misses"] == 1
    assert r.config_resetstat() is True
    s = r.info("stats")
    assert s["keyspace_misses"] == 0
    assert s["keyspace_hits"] == 0
    assert s["total_error_replies"] == 0
    cs = r.info("commandstats")
    assert "cmdstat_set" not in cs and "cmdstat_get" not in cs


def test_config_resetstat_arity(raw):
    assert raw.cmd("CONFIG", "RESETSTAT", "x") == \
        b"-ERR wrong number of arguments for 'config|resetstat' command\r\n"


# ---------------------------------------------------------------- CONFIG

def test_config_get_glob(r):
    d = r.config_get("maxmemory*")
    assert d["maxmemory"] == mode_config("maxmemory")
    assert d["maxmemory-policy"] == mode_config("maxmemory-policy")
    assert "maxmemory-samples" in d
    assert all(k.startswith("maxmemory") for k in d)


def test_config_get_raw_resp2_is_flat_array(raw):
    assert raw.cmd("CONFIG", "GET", "maxmemory-samples") == \
        b"*2\r\n$17\r\nmaxmemory-samples\r\n$1\r\n5\r\n"
    assert raw.cmd("CONFIG", "GET", "nosuchparam") == b"*0\r\n"


def test_config_get_multiple_params(raw):
    pairs = raw.call("CONFIG", "GET", "maxmemory-samples", "databases")
    assert len(pairs) == 4
    assert dict(zip(pairs[0::2], pairs[1::2])) == {b"maxmemory-samples": b"5", b"databases": b"16"}


def test_config_get_startup_args(r, server):
    d = r.config_get("*")
    assert d["port"] == str(server.port)
    assert d["bind"] == "127.0.0.1"
    assert d["save"] == ""
    assert d["appendonly"] == "no"
    assert d["databases"] == "16"
    assert d["enable-debug-command"] == "yes"


def test_config_set_single_and_multiple(r):
    try:
        assert r.config_set("maxmemory", "10mb") is True
        assert r.config_get("maxmemory") == {"maxmemory": "10485760"}
        assert r.execute_command("CONFIG", "SET", "maxmemory", "1gb",
                                 "maxmemory-policy", "allkeys-lru") in (True, b"OK")
        assert r.config_get("maxmemory") == {"maxmemory": "1073741824"}
        assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    finally:
        r.execute_command("CONFIG", "SET", "maxmemory", mode_config("maxmemory"),
                          "maxmemory-policy", mode_config("maxmemory-policy"))
    assert r.config_get("maxmemory") == {"maxmemory": mode_config("maxmemory")}


def test_config_set_is_atomic_on_error(r, raw):
    assert raw.cmd("CONFIG", "SET", "maxmemory", "1mb", "maxmemory-policy", "foo").startswith(
        b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')")
    assert r.config_get("maxmemory") == {"maxmemory": mode_config("maxmemory")}


@pytest.mark.parametrize("args,reply", [
    (("nosuch", "1"), b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"),
    (("maxmemory", "1mb", "nosuch", "x"),
     b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"),
    (("maxmemory", "abc"),
     b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
     b"argument must be a memory value\r\n"),
    (("maxmemory", "-1"),
     b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
     b"argument must be a memory value\r\n"),
    (("maxmemory-policy", "foo"),
     b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
     b"argument(s) must be one of the following: volatile-lru, volatile-lfu, "
     b"volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n"),
    (("hz", "abc"),
     b"-ERR CONFIG SET failed (possibly related to argument 'hz') - "
     b"argument couldn't be parsed into an integer\r\n"),
    (("hz", "-1"),
     b"-ERR CONFIG SET failed (possibly related to argument 'hz') - "
     b"argument must be between 0 and 2147483647 inclusive\r\n"),
    (("appendonly", "maybe"),
     b"-ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
     b"argument must be 'yes' or 'no'\r\n"),
    (("daemonize", "yes"),
     b"-ERR CONFIG SET failed (possibly related to argument 'daemonize') - "
     b"can't set immutable config\r\n"),
    (("enable-debug-command", "no"),
     b"-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - "
     b"can't set immutable config\r\n"),
    (("maxmemory", "1", "maxmemory", "2"),
     b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
     b"duplicate parameter\r\n"),
])
def test_config_set_errors(raw, args, reply):
    assert raw.cmd("CONFIG", "SET", *args) == reply


def test_config_set_protected_config_refused(raw):
    assert raw.cmd("CONFIG", "SET", "dir", "/tmp") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'dir') - "
        b"can't set protected config\r\n")


def test_config_arity(raw):
    assert raw.cmd("CONFIG", "SET", "maxmemory") == \
        b"-ERR wrong number of arguments for 'config|set' command\r\n"
    assert raw.cmd("CONFIG", "GET") == b"-ERR wrong number of arguments for 'config|get' command\r\n"
    assert raw.cmd("CONFIG") == b"-ERR wrong number of arguments for 'config' command\r\n"
    assert raw.cmd("CONFIG", "FOO") == b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"


def test_config_set_hz_visible_in_info(r):
    try:
        r.config_set("hz", "20")
        assert r.config_get("hz") == {"hz": "20"}
        assert r.info("server")["configured_hz"] == 20
    finally:
        r.config_set("hz", "10")


# ---------------------------------------------------------------- DBSIZE / TIME

def test_dbsize(raw, r):
    assert raw.cmd("DBSIZE") == b":0\r\n"
    r.mset({"a": 1, "b": 2})
    assert raw.cmd("DBSIZE") == b":2\r\n"


def test_time(raw):
    reply = raw.cmd("TIME")
    m = re.fullmatch(rb"\*2\r\n\$(\d+)\r\n(\d+)\r\n\$(\d+)\r\n(\d+)\r\n", reply)
    assert m, reply
    secs, usecs = int(m.group(2)), int(m.group(4))
    assert abs(secs - time.time()) < 5
    assert 0 <= usecs < 1000000
    assert raw.cmd("TIME", "x") == b"-ERR wrong number of arguments for 'time' command\r\n"


def test_time_is_monotonic_enough(r):
    a = r.time()
    b = r.time()
    assert (b[0], b[1]) >= (a[0], a[1])


# ---------------------------------------------------------------- SLOWLOG

@pytest.fixture
def slowlog_all(r):
    r.config_set("slowlog-log-slower-than", "0")
    r.slowlog_reset()
    yield r
    r.config_set("slowlog-log-slower-than", "10000")
    r.slowlog_reset()


def test_slowlog_get_len_reset(raw, slowlog_all):
    r = slowlog_all
    r.set("a", "1")
    # entries: SLOWLOG RESET itself, SET
    assert raw.cmd("SLOWLOG", "LEN") == b":2\r\n"
    entries = r.execute_command("SLOWLOG", "GET")
    # newest first; SLOWLOG LEN got logged as well
    assert [e[3] for e in entries] == [[b"SLOWLOG", b"LEN"], [b"SET", b"a", b"1"],
                                       [b"SLOWLOG", b"RESET"]]
    ids = [e[0] for e in entries]
    assert ids == sorted(ids, reverse=True)
    assert ids[0] - ids[1] == 1 and ids[1] - ids[2] == 1
    for e in entries:
        assert len(e) == 6
        assert abs(e[1] - time.time()) < 10
        assert isinstance(e[2], int) and e[2] >= 0
        assert re.fullmatch(rb"127\.0\.0\.1:\d+", e[4])
        assert e[5] == b""
    assert r.execute_command("SLOWLOG", "RESET") in (True, b"OK")
    assert raw.cmd("SLOWLOG", "LEN") == b":1\r\n"  # the RESET itself


def test_slowlog_get_count(slowlog_all):
    r = slowlog_all
    for i in range(5):
        r.set("k%d" % i, i)
    one = r.execute_command("SLOWLOG", "GET", "1")
    assert len(one) == 1
    assert one[0][3] == [b"SET", b"k4", b"4"]
    assert len(r.execute_command("SLOWLOG", "GET", "-1")) == 7
    assert r.execute_command("SLOWLOG", "GET", "0") == []
    assert len(r.execute_command("SLOWLOG", "GET")) == 9  # default 10 -> all 9 so far


def test_slowlog_client_name_and_truncation(raw, slowlog_all):
    raw.cmd("CLIENT", "SETNAME", "myname")
    raw.cmd("SET", "x" * 200, "v")
    raw.cmd("DEL", *["k%d" % i for i in range(40)])
    entries = slowlog_all.execute_command("SLOWLOG", "GET", "2")
    dele, sete = entries
    assert sete[3] == [b"SET", b"x" * 128 + b"... (72 more bytes)", b"v"]
    assert sete[5] == b"myname"
    assert len(dele[3]) == 32
    assert dele[3][:31] == [b"DEL"] + [b"k%d" % i for i in range(30)]
    assert dele[3][31] == b"... (10 more arguments)"


def test_slowlog_threshold_respected(r):
    r.config_set("slowlog-log-slower-than", "10000000")
    try:
        r.slowlog_reset()
        r.set("a", "1")
        assert r.slowlog_len() == 0
    finally:
        r.config_set("slowlog-log-slower-than", "10000")


def test_slowlog_errors(raw):
    assert raw.cmd("SLOWLOG", "GET", "-2") == b"-ERR count should be greater than or equal to -1\r\n"
    assert raw.cmd("SLOWLOG", "GET", "abc") == b"-ERR count should be greater than or equal to -1\r\n"
    assert raw.cmd("SLOWLOG", "FOO") == b"-ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.\r\n"
    assert raw.cmd("SLOWLOG") == b"-ERR wrong number of arguments for 'slowlog' command\r\n"
    assert raw.cmd("SLOWLOG", "LEN", "x") == \
        b"-ERR wrong number of arguments for 'slowlog|len' command\r\n"


# ---------------------------------------------------------------- LATENCY

def test_latency_disabled_shapes(raw):
    raw.cmd("LATENCY", "RESET")
    assert raw.cmd("LATENCY", "LATEST") == b"*0\r\n"
    assert raw.cmd("LATENCY", "HISTORY", "command") == b"*0\r\n"
    assert raw.cmd("LATENCY", "RESET") == b":0\r\n"
    doctor = bulk_text(raw.cmd("LATENCY", "DOCTOR"))
    assert doctor.startswith(b"I'm sorry, Dave, I can't do that. Latency monitoring is "
                             b"disabled in this Redis instance.")


def test_latency_with_monitoring(r, raw):
    r.config_set("latency-monitor-threshold", "1")
    try:
        raw.cmd("LATENCY", "RESET")
        assert raw.cmd("DEBUG", "SLEEP", "0.02") == b"+OK\r\n"
        latest = r.execute_command("LATENCY", "LATEST")
        assert len(latest) == 1
        name, ts, last, mx = latest[0]
        assert name == b"command"
        assert abs(ts - time.time()) < 10
        assert 20 <= last < 1000 and mx == last
        hist = r.execute_command("LATENCY", "HISTORY", "command")
        assert len(hist) == 1 and hist[0][0] == ts and hist[0][1] == last
        assert raw.cmd("LATENCY", "HISTORY", "nosuchevent") == b"*0\r\n"
        doctor = bulk_text(raw.cmd("LATENCY", "DOCTOR"))
        assert doctor.startswith(b"Dave, I have observed latency spikes in this Redis instance.")
        assert raw.cmd("LATENCY", "RESET", "nosuchevent") == b":0\r\n"
        assert raw.cmd("LATENCY", "RESET", "command") == b":1\r\n"
        assert raw.cmd("LATENCY", "LATEST") == b"*0\r\n"
    finally:
        r.config_set("latency-monitor-threshold", "0")
        raw.cmd("LATENCY", "RESET")


def test_latency_errors(raw):
    assert raw.cmd("LATENCY", "FOO") == b"-ERR unknown subcommand 'FOO'. Try LATENCY HELP.\r\n"
    assert raw.cmd("LATENCY", "HISTORY") == \
        b"-ERR wrong number of arguments for 'latency|history' command\r\n"


# ---------------------------------------------------------------- CLIENT

def test_client_id_unique_and_increasing(server):
    a = RawConnection(server.host, server.port)
    b = RawConnection(server.host, server.port)
    try:
        ia, ib = client_id(a), client_id(b)
        assert ib > ia > 0
        assert client_id(a) == ia
    finally:
        a.close()
        b.close()


def test_client_setname_getname(raw):
    assert raw.cmd("CLIENT", "GETNAME") == b"$-1\r\n"
    assert raw.cmd("CLIENT", "SETNAME", "foo") == b"+OK\r\n"
    assert raw.cmd("CLIENT", "GETNAME") == b"$3\r\nfoo\r\n"
    assert raw.cmd("CLIENT", "SETNAME", "") == b"+OK\r\n"
    assert raw.cmd("CLIENT", "GETNAME") == b"$-1\r\n"


@pytest.mark.parametrize("name", ["a b", "a\nb", "\x01"])
def test_client_setname_invalid(raw, name):
    assert raw.cmd("CLIENT", "SETNAME", name) == \
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"


CLIENT_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub",
                 "psub", "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem",
                 "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd", "user",
                 "redir", "resp"]


def parse_client_line(line):
    out = {}
    for part in line.split(" "):
        k, _, v = part.partition("=")
        out[k] = v
    return out


def test_client_info(raw, server):
    raw.cmd("CLIENT", "SETNAME", "me")
    raw.cmd("SELECT", "2")
    text = bulk_text(raw.cmd("CLIENT", "INFO")).decode()
    assert text.endswith("\n") and text.count("\n") == 1
    f = parse_client_line(text[:-1])
    for k in ("id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db",
              "multi", "cmd", "user", "resp"):
        assert k in f, k
    assert int(f["id"]) == client_id(raw)
    assert f["name"] == "me"
    assert f["db"] == "2"
    assert f["laddr"] == "127.0.0.1:%d" % server.port
    assert f["addr"] == "127.0.0.1:%d" % raw.sock.getsockname()[1]
    assert f["flags"] == "N"
    assert f["multi"] == "-1"
    assert f["cmd"] == "client|info"
    assert f["user"] == "default"
    assert f["resp"] == "2"


def test_client_info_field_order(raw):
    text = bulk_text(raw.cmd("CLIENT", "INFO")).decode()
    keys = [p.partition("=")[0] for p in text.strip().split(" ")]
    assert keys == CLIENT_FIELDS


def test_client_info_in_multi(raw):
    raw.cmd("MULTI")
    raw.cmd("PING")
    raw.cmd("CLIENT", "INFO")
    reply = raw.cmd("EXEC")
    assert b" multi=" in reply
    assert b"flags=x" in reply


def test_client_list(raw, server):
    other = RawConnection(server.host, server.port)
    try:
        other.cmd("CLIENT", "SETNAME", "other")
        text = bulk_text(raw.cmd("CLIENT", "LIST")).decode()
        lines = text.rstrip("\n").split("\n")
        assert text.endswith("\n")
        parsed = [parse_client_line(l) for l in lines]
        ids = [int(p["id"]) for p in parsed]
        assert client_id(raw) in ids and client_id(other) in ids
        assert ids == sorted(ids)
        mine = [p for p in parsed if int(p["id"]) == client_id(raw)][0]
        assert mine["cmd"] == "client|list"
        theirs = [p for p in parsed if p["name"] == "other"]
        assert len(theirs) == 1 and theirs[0]["cmd"] == "client|setname"
        only = bulk_text(raw.cmd("CLIENT", "LIST", "ID", str(client_id(other)))).decode()
        assert only.count("\n") == 1 and "name=other" in only
        assert raw.cmd("CLIENT", "LIST", "ID", "999999999") == b"$0\r\n\r\n"
        normal = bulk_text(raw.cmd("CLIENT", "LIST", "TYPE", "normal")).decode()
        assert "name=other" in normal
        assert raw.cmd("CLIENT", "LIST", "TYPE", "pubsub") == b"$0\r\n\r\n"
    finally:
        other.close()


@pytest.mark.parametrize("args,reply", [
    (("LIST", "TYPE", "foo"), b"-ERR Unknown client type 'foo'\r\n"),
    (("LIST", "ID", "abc"), b"-ERR Invalid client ID\r\n"),
    (("LIST", "FOO"), b"-ERR syntax error\r\n"),
    (("GETNAME", "x"), b"-ERR wrong number of arguments for 'client|getname' command\r\n"),
    (("ID", "x"), b"-ERR wrong number of arguments for 'client|id' command\r\n"),
    (("SETNAME",), b"-ERR wrong number of arguments for 'client|setname' command\r\n"),
    (("FOO",), b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"),
])
def test_client_errors(raw, args, reply):
    assert raw.cmd("CLIENT", *args) == reply


def test_client_kill_by_id(raw, server):
    victim = RawConnection(server.host, server.port)
    vid = client_id(victim)
    assert raw.cmd("CLIENT", "KILL", "ID", str(vid)) == b":1\r\n"
    assert victim.is_closed(timeout=2)
    assert raw.cmd("CLIENT", "KILL", "ID", str(vid)) == b":0\r\n"


def test_client_kill_by_addr(raw, server):
    victim = RawConnection(server.host, server.port)
    addr = client_addr(victim)
    assert raw.cmd("CLIENT", "KILL", "ADDR", addr) == b":1\r\n"
    assert victim.is_closed(timeout=2)
    assert raw.cmd("CLIENT", "KILL", "ADDR", addr) == b":0\r\n"


def test_client_kill_old_form(raw, server):
    victim = RawConnection(server.host, server.port)
    addr = client_addr(victim)
    assert raw.cmd("CLIENT", "KILL", addr) == b"+OK\r\n"
    assert victim.is_closed(timeout=2)
    assert raw.cmd("CLIENT", "KILL", addr) == b"-ERR No such client\r\n"
    assert raw.cmd("CLIENT", "KILL", "1.2.3.4:5") == b"-ERR No such client\r\n"


def test_client_kill_skipme(raw):
    addr = client_addr(raw)
    assert raw.cmd("CLIENT", "KILL", "ADDR", addr) == b":0\r\n"
    assert raw.cmd("CLIENT", "KILL", "ADDR", addr, "SKIPME", "yes") == b":0\r\n"
    assert raw.cmd("PING") == b"+PONG\r\n"
    assert raw.cmd("CLIENT", "KILL", "ADDR", addr, "SKIPME", "no") == b":1\r\n"
    assert raw.is_closed(timeout=2)


def test_client_kill_self_old_form(raw):
    addr = client_addr(raw)
    assert raw.cmd("CLIENT", "KILL", addr) == b"+OK\r\n"
    assert raw.is_closed(timeout=2)


@pytest.mark.parametrize("args,reply", [
    (("ID", "abc"), b"-ERR client-id should be greater than 0\r\n"),
    (("SKIPME", "maybe"), b"-ERR syntax error\r\n"),
    (("TYPE", "foo"), b"-ERR Unknown client type 'foo'\r\n"),
    (("USER", "nouser"), b"-ERR No such user 'nouser'\r\n"),
    (("FOO", "bar"), b"-ERR syntax error\r\n"),
    (("ADDR",), b"-ERR No such client\r\n"),
])
def test_client_kill_errors(raw, args, reply):
    assert raw.cmd("CLIENT", "KILL", *args) == reply


def test_client_setinfo(raw):
    """CLIENT SETINFO appeared in redis 7.2: 7.0 answers 'unknown subcommand'.
    Either behaviour is accepted, but each must be exact."""
    reply = raw.cmd("CLIENT", "SETINFO", "lib-name", "mylib")
    if reply.startswith(b"-"):
        assert reply == b"-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n"
        assert raw.cmd("CLIENT", "SETINFO", "lib-ver", "1.0") == reply
    else:
        assert reply == b"+OK\r\n"
        assert raw.cmd("CLIENT", "SETINFO", "lib-ver", "1.2.3") == b"+OK\r\n"
        info = bulk_text(raw.cmd("CLIENT", "INFO"))
        assert b" lib-name=mylib " in info
        assert b" lib-ver=1.2.3 " in info
        assert raw.cmd("CLIENT", "SETINFO", "foo", "bar") == \
            b"-ERR Unrecognized option 'foo'\r\n"


# ---------------------------------------------------------------- COMMAND

def test_command_count_matches_list(raw):
    m = re.fullmatch(rb":(\d+)\r\n", raw.cmd("COMMAND", "COUNT"))
    assert m
    count = int(m.group(1))
    assert count > 50
    names = raw.call("COMMAND", "LIST")
    # COMMAND LIST includes subcommands as "container|sub"
    top = [n for n in names if b"|" not in n]
    assert len(top) == count
    for n in (b"get", b"set", b"ping", b"command", b"config", b"bitfield", b"lcs"):
        assert n in top
    assert b"config|get" in names


def test_command_list_filterby(raw):
    assert raw.cmd("COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*") == \
        b"*1\r\n$8\r\ngetrange\r\n"
    assert raw.cmd("COMMAND", "LIST", "FILTERBY", "FOO", "x") == b"-ERR syntax error\r\n"


def test_command_info_get(raw):
    reply = raw.cmd("COMMAND", "INFO", "get")
    assert reply.startswith(
        b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        b"*3\r\n+@read\r\n+@string\r\n+@fast\r\n")


@pytest.mark.parametrize("name,arity,first,last,step", [
    ("set", -3, 1, 1, 1), ("mset", -3, 1, -1, 2), ("del", -2, 1, -1, 1),
    ("ping", -1, 0, 0, 0), ("getrange", 4, 1, 1, 1), ("bitop", -4, 2, -1, 1),
])
def test_command_info_key_positions(raw, name, arity, first, last, step):
    reply = raw.call("COMMAND", "INFO", name)
    assert len(reply) == 1
    info = reply[0]
    assert len(info) == 10
    assert info[0] == name.encode()
    assert info[1] == arity
    assert (info[3], info[4], info[5]) == (first, last, step)


def test_command_info_unknown_is_null(raw):
    assert raw.cmd("COMMAND", "INFO", "nosuchcmd") == b"*1\r\n$-1\r\n"
    reply = raw.call("COMMAND", "INFO", "get", "nosuchcmd", "set")
    assert [x[0] if x else x for x in reply] == [b"get", None, b"set"]


def test_command_docs(raw):
    reply = raw.cmd("COMMAND", "DOCS", "get")
    assert reply.startswith(
        b"*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n"
        b"$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"
        b"$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n")
    assert raw.cmd("COMMAND", "DOCS", "nosuchcmd") == b"*0\r\n"


@pytest.mark.parametrize("cmd,keys", [
    (("SET", "a", "b"), [b"a"]),
    (("MSET", "a", "1", "b", "2"), [b"a", b"b"]),
    (("DEL", "a", "b", "c"), [b"a", b"b", b"c"]),
    (("COPY", "a", "b"), [b"a", b"b"]),
    (("BITOP", "AND", "d", "a", "b"), [b"d", b"a", b"b"]),
    (("LCS", "a", "b"), [b"a", b"b"]),
    (("EXPIRE", "a", "10"), [b"a"]),
    (("get", "a"), [b"a"]),
    (("RENAME", "a", "b"), [b"a", b"b"]),
    (("OBJECT", "ENCODING", "k"), [b"k"]),
])
def test_command_getkeys(raw, cmd, keys):
    assert raw.call("COMMAND", "GETKEYS", *cmd) == keys


@pytest.mark.parametrize("cmd,reply", [
    (("PING", "x"), b"-ERR The command has no key arguments\r\n"),
    (("ECHO", "x"), b"-ERR The command has no key arguments\r\n"),
    (("CONFIG", "GET", "x"), b"-ERR The command has no key arguments\r\n"),
    (("NOSUCH", "a"), b"-ERR Invalid command specified\r\n"),
    (("GET", "a", "b"), b"-ERR Invalid number of arguments specified for command\r\n"),
    (("MSET", "a"), b"-ERR Invalid number of arguments specified for command\r\n"),
    (("GET",), b"-ERR wrong number of arguments for 'command|getkeys' command\r\n"),
    ((), b"-ERR wrong number of arguments for 'command|getkeys' command\r\n"),
])
def test_command_getkeys_errors(raw, cmd, reply):
    assert raw.cmd("COMMAND", "GETKEYS", *cmd) == reply


def test_command_unknown_subcommand(raw):
    assert raw.cmd("COMMAND", "FOO") == b"-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"


def test_command_no_args_lists_all(raw):
    count = int(raw.cmd("COMMAND", "COUNT")[1:-2])
    raw.send_command("COMMAND")
    reply = raw.read_reply()
    assert reply.startswith(b"*%d\r\n" % count)


# ---------------------------------------------------------------- MONITOR

def test_monitor(server, raw_factory):
    mon = raw_factory()
    assert mon.cmd("MONITOR") == b"+OK\r\n"
    c = raw_factory()
    port = c.sock.getsockname()[1]
    assert c.cmd("set", "k", "v") == b"+OK\r\n"
    assert c.cmd("SELECT", "3") == b"+OK\r\n"
    assert c.cmd("GET", b"a\x00\"b\n") == b"$-1\r\n"
    line1 = mon.read_line()
    line2 = mon.read_line()
    line3 = mon.read_line()
    m = re.fullmatch(rb"\+(\d+)\.(\d{6}) \[0 127\.0\.0\.1:(\d+)\] \"set\" \"k\" \"v\"\r\n", line1)
    assert m, line1
    assert int(m.group(3)) == port
    assert abs(int(m.group(1)) - time.time()) < 10
    assert re.fullmatch(rb"\+\d+\.\d{6} \[3 127\.0\.0\.1:%d\] \"SELECT\" \"3\"\r\n" % port,
                        line2), line2
    assert re.fullmatch(rb"\+\d+\.\d{6} \[3 127\.0\.0\.1:%d\] \"GET\" \"a\\x00\\\"b\\n\"\r\n"
                        % port, line3), line3


def test_monitor_redacts_auth(server, raw_factory):
    mon = raw_factory()
    assert mon.cmd("MONITOR") == b"+OK\r\n"
    c = raw_factory()
    c.cmd("AUTH", "secretpw")
    c.cmd("PING")
    line1 = mon.read_line()
    line2 = mon.read_line()
    assert line1.endswith(b"\"AUTH\" \"(redacted)\"\r\n"), line1
    assert line2.endswith(b"\"PING\"\r\n"), line2


# ---------------------------------------------------------------- DEBUG

def test_debug_sleep_0(raw):
    assert raw.cmd("DEBUG", "SLEEP", "0") == b"+OK\r\n"


def test_debug_errors(raw):
    assert raw.cmd("DEBUG") == b"-ERR wrong number of arguments for 'debug' command\r\n"
    assert raw.cmd("DEBUG", "FOO") == \
        b"-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP.\r\n"


# ---------------------------------------------------------------- SHUTDOWN

def test_shutdown_errors(server_factory):
    s = server_factory()
    c = RawConnection(s.host, s.port)
    try:
        assert c.cmd("SHUTDOWN", "FOO") == b"-ERR syntax error\r\n"
        assert c.cmd("SHUTDOWN", "NOSAVE", "SAVE") == b"-ERR syntax error\r\n"
        assert c.cmd("MULTI") == b"+OK\r\n"
        assert c.cmd("SHUTDOWN", "NOSAVE") == b"-ERR Command not allowed inside a transaction\r\n"
        assert c.cmd("DISCARD") == b"+OK\r\n"
        assert c.cmd("PING") == b"+PONG\r\n"
    finally:
        c.close()
    assert s.proc.poll() is None


def test_shutdown_nosave(server_factory):
    s = server_factory()
    c = RawConnection(s.host, s.port)
    c.cmd("SET", "k", "v")
    c.send_command("SHUTDOWN", "NOSAVE")
    assert c.read_until_closed(timeout=5) == b""
    c.close()
    assert s.proc.wait(timeout=10) == 0
    with pytest.raises(OSError):
        RawConnection(s.host, s.port, timeout=1).cmd("PING")

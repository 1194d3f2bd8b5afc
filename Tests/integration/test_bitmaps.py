"""SETBIT/GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO."""

import pytest
import redis

OFFSET_ERR = b"-ERR bit offset is not an integer or out of range\r\n"
BIT_ERR = b"-ERR bit is not an integer or out of range\r\n"
NOT_INT = b"-ERR value is not an integer or out of range\r\n"
SYNTAX = b"-ERR syntax error\r\n"
BAD_TYPE = (b"-ERR Invalid bitfield type. Use something like i16 u8. "
            b"Note that u64 is not supported but i64 is.\r\n")


# ---------------------------------------------------------------- SETBIT / GETBIT

def test_setbit_getbit_basic(raw):
    assert raw.cmd("SETBIT", "k", "7", "1") == b":0\r\n"
    assert raw.cmd("GET", "k") == b"$1\r\n\x01\r\n"
    assert raw.cmd("GETBIT", "k", "7") == b":1\r\n"
    assert raw.cmd("GETBIT", "k", "6") == b":0\r\n"
    assert raw.cmd("SETBIT", "k", "7", "0") == b":1\r\n"
    assert raw.cmd("SETBIT", "k", "7", "1") == b":0\r\n"
    assert raw.cmd("SETBIT", "k", "0", "1") == b":0\r\n"
    assert raw.cmd("GET", "k") == b"$1\r\n\x81\r\n"


def test_setbit_grows_with_zero_bytes(r):
    r.setbit("k", 100, 1)
    assert r.strlen("k") == 13
    assert r.get("k") == b"\x00" * 12 + b"\x08"


def test_getbit_beyond_end_and_missing(raw):
    raw.cmd("SET", "k", "a")
    assert raw.cmd("GETBIT", "k", "100000") == b":0\r\n"
    assert raw.cmd("GETBIT", "nokey", "0") == b":0\r\n"
    assert raw.cmd("GETBIT", "k", "4294967295") == b":0\r\n"
    assert raw.cmd("EXISTS", "nokey") == b":0\r\n"


def test_bits_of_integer_encoded_string(r):
    r.set("i", "1")  # 0x31 = 00110001
    assert [r.getbit("i", n) for n in range(8)] == [0, 0, 1, 1, 0, 0, 0, 1]
    assert r.setbit("i", 6, 1) == 0
    assert r.get("i") == b"3"


@pytest.mark.parametrize("offset", ["-1", "4294967296", "x", "1.5", "", "99999999999999999999"])
def test_setbit_bad_offset(raw, offset):
    assert raw.cmd("SETBIT", "k", offset, "1") == OFFSET_ERR
    assert raw.cmd("GETBIT", "k", offset) == OFFSET_ERR


@pytest.mark.parametrize("bit", ["2", "-1", "x", "", "01", " 1", "1.0"])
def test_setbit_bad_bit_value(raw, bit):
    assert raw.cmd("SETBIT", "k", "0", bit) == BIT_ERR
    assert raw.cmd("EXISTS", "k") == b":0\r\n"


def test_setbit_arity(raw):
    assert raw.cmd("SETBIT", "k", "0") == b"-ERR wrong number of arguments for 'setbit' command\r\n"
    assert raw.cmd("GETBIT", "k") == b"-ERR wrong number of arguments for 'getbit' command\r\n"


# ---------------------------------------------------------------- BITCOUNT

@pytest.mark.parametrize("args,expected", [
    ((), 26),
    (("0", "0"), 4),
    (("1", "1"), 6),
    (("1", "1", "BYTE"), 6),
    (("5", "30", "BIT"), 17),
    (("-1", "-1"), 4),
    (("-2", "-1", "BIT"), 1),
    (("10", "5"), 0),
    (("-100", "100"), 26),
    (("100", "200"), 0),
    (("0", "1", "bit"), 1),
    (("0", "-1", "BIT"), 26),
    (("-9223372036854775808", "9223372036854775807"), 26),
    (("0", "9223372036854775807", "BIT"), 26),
    # redis 7.0: a negative end beyond the start is clamped to index 0
    (("0", "-100"), 4),
])
def test_bitcount(r, args, expected):
    r.set("k", "foobar")
    assert r.execute_command("BITCOUNT", "k", *args) == expected


def test_bitcount_missing_key(raw):
    assert raw.cmd("BITCOUNT", "nokey") == b":0\r\n"
    assert raw.cmd("BITCOUNT", "nokey", "0", "10") == b":0\r\n"
    assert raw.cmd("BITCOUNT", "nokey", "0", "10", "BIT") == b":0\r\n"


@pytest.mark.parametrize("args,reply", [
    (("0",), SYNTAX),
    (("0", "1", "FOO"), SYNTAX),
    (("0", "1", "BYTE", "x"), SYNTAX),
    (("a", "b"), NOT_INT),
    (("0", "a"), NOT_INT),
])
def test_bitcount_errors(raw, args, reply):
    raw.cmd("SET", "k", "foobar")
    assert raw.cmd("BITCOUNT", "k", *args) == reply


def test_bitcount_all_bits(r):
    r.set("k", b"\xff" * 100 + b"\x00" * 3 + b"\x01")
    assert r.bitcount("k") == 801
    assert r.bitcount("k", 100, -1) == 1
    assert r.execute_command("BITCOUNT", "k", "799", "800", "BIT") == 1
    assert r.execute_command("BITCOUNT", "k", "800", "831", "BIT") == 1


# ---------------------------------------------------------------- BITPOS

@pytest.mark.parametrize("args,expected", [
    (("0",), 12),
    (("1",), 0),
    (("1", "2"), -1),
    (("0", "0", "0"), -1),
    (("1", "-1"), -1),
    (("0", "-1"), 16),
    (("0", "1"), 12),
    (("0", "1", "1"), 12),
    (("1", "1", "1"), 8),
    (("0", "2", "-1", "BIT"), 12),
    (("1", "7", "15", "BIT"), 7),
    (("1", "12", "15", "BIT"), -1),
    (("0", "0", "11", "BIT"), -1),
    (("0", "0", "12", "BIT"), 12),
    (("0", "0", "3", "BIT"), -1),
    (("1", "5", "2"), -1),
    (("0", "10", "20"), -1),
    (("1", "-100", "100"), 0),
    (("1", "0", "1", "bit"), 0),
    (("0", "0", "-100"), -1),
])
def test_bitpos(r, args, expected):
    r.set("k", b"\xff\xf0\x00")
    assert r.execute_command("BITPOS", "k", *args) == expected


@pytest.mark.parametrize("args,expected", [
    # looking for a clear bit in an all-ones string: without an explicit end
    # the string is considered padded with zeros on the right
    (("0",), 16),
    (("0", "0"), 16),
    (("0", "0", "-1"), -1),
    (("0", "0", "1"), -1),
    (("0", "0", "15", "BIT"), -1),
    (("0", "0", "100", "BIT"), -1),
    (("0", "2"), -1),
    (("0", "3"), -1),
    (("1", "16", "20", "BIT"), -1),
])
def test_bitpos_all_ones(r, args, expected):
    r.set("a", b"\xff\xff")
    assert r.execute_command("BITPOS", "a", *args) == expected


@pytest.mark.parametrize("args,expected", [
    (("1",), -1),
    (("1", "0", "-1"), -1),
    (("0",), 0),
    (("0", "5"), -1),
    (("1", "0", "15", "BIT"), -1),
    (("0", "3", "5", "BIT"), 3),
])
def test_bitpos_all_zeros(r, args, expected):
    r.set("z", b"\x00\x00")
    assert r.execute_command("BITPOS", "z", *args) == expected


def test_bitpos_missing_and_empty(raw):
    assert raw.cmd("BITPOS", "nokey", "0") == b":0\r\n"
    assert raw.cmd("BITPOS", "nokey", "1") == b":-1\r\n"
    assert raw.cmd("BITPOS", "nokey", "0", "5") == b":0\r\n"
    raw.cmd("SET", "e", "")
    assert raw.cmd("BITPOS", "e", "0") == b":-1\r\n"
    assert raw.cmd("BITPOS", "e", "1") == b":-1\r\n"


@pytest.mark.parametrize("args,reply", [
    (("2",), b"-ERR The bit argument must be 1 or 0.\r\n"),
    (("-1",), b"-ERR The bit argument must be 1 or 0.\r\n"),
    (("x",), NOT_INT),
    (("1", "a"), NOT_INT),
    (("1", "0", "a"), NOT_INT),
    (("1", "0", "1", "FOO"), SYNTAX),
    (("1", "0", "1", "BYTE", "x"), SYNTAX),
])
def test_bitpos_errors(raw, args, reply):
    raw.cmd("SET", "k", "\xff")
    assert raw.cmd("BITPOS", "k", *args) == reply


# ---------------------------------------------------------------- BITOP

@pytest.fixture
def bitop_keys(r):
    r.set("a", b"\xff\x0f")
    r.set("b", b"\x0f")
    return r


@pytest.mark.parametrize("op,expected", [
    ("AND", b"\x0f\x00"),
    ("OR", b"\xff\x0f"),
    ("XOR", b"\xf0\x0f"),
    ("and", b"\x0f\x00"),
])
def test_bitop_different_lengths(bitop_keys, op, expected):
    r = bitop_keys
    assert r.execute_command("BITOP", op, "d", "a", "b") == 2
    assert r.get("d") == expected


def test_bitop_not(bitop_keys):
    r = bitop_keys
    assert r.execute_command("BITOP", "NOT", "d", "a") == 2
    assert r.get("d") == b"\x00\xf0"


def test_bitop_not_multiple_keys(raw):
    assert raw.cmd("BITOP", "NOT", "d", "a", "b") == \
        b"-ERR BITOP NOT must be called with a single source key.\r\n"


def test_bitop_missing_keys(bitop_keys):
    r = bitop_keys
    assert r.execute_command("BITOP", "AND", "d", "a", "nokey") == 2
    assert r.get("d") == b"\x00\x00"
    assert r.execute_command("BITOP", "OR", "d", "a", "nokey") == 2
    assert r.get("d") == b"\xff\x0f"


def test_bitop_all_missing_deletes_dest(r):
    r.set("d", "x")
    assert r.execute_command("BITOP", "OR", "d", "nokey", "nokey2") == 0
    assert r.exists("d") == 0
    r.set("d", "x")
    assert r.execute_command("BITOP", "NOT", "d", "nokey") == 0
    assert r.exists("d") == 0
    r.set("e", "")
    r.set("d", "x")
    assert r.execute_command("BITOP", "AND", "d", "e") == 0
    assert r.exists("d") == 0


def test_bitop_overwrites_dest_and_clears_ttl(bitop_keys):
    r = bitop_keys
    r.set("d", "v", ex=100)
    assert r.execute_command("BITOP", "OR", "d", "a") == 2
    assert r.ttl("d") == -1
    assert r.get("d") == b"\xff\x0f"


def test_bitop_xor_multiple(bitop_keys):
    r = bitop_keys
    assert r.execute_command("BITOP", "XOR", "d", "a", "a", "b") == 2
    assert r.get("d") == b"\x0f\x00"


def test_bitop_dest_can_be_source(bitop_keys):
    r = bitop_keys
    assert r.execute_command("BITOP", "AND", "a", "a", "b") == 2
    assert r.get("a") == b"\x0f\x00"


def test_bitop_errors(raw):
    assert raw.cmd("BITOP", "FOO", "d", "a") == SYNTAX
    assert raw.cmd("BITOP", "AND", "d") == \
        b"-ERR wrong number of arguments for 'bitop' command\r\n"


def test_bitop_wrongtype(r, make_list_key):
    make_list_key(r, "l")
    r.set("s", "v")
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("BITOP", "AND", "d", "l", "s")
    assert str(e.value) == "WRONGTYPE Operation against a key holding the wrong kind of value"


@pytest.mark.parametrize("args", [
    ("SETBIT", "l", "0", "1"), ("GETBIT", "l", "0"), ("BITCOUNT", "l"),
    ("BITPOS", "l", "0"), ("BITFIELD", "l", "GET", "u8", "0"),
    ("BITFIELD_RO", "l", "GET", "u8", "0"),
])
def test_bit_commands_wrongtype(r, make_list_key, args):
    make_list_key(r, "l")
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    assert str(e.value) == "WRONGTYPE Operation against a key holding the wrong kind of value"


# ---------------------------------------------------------------- BITFIELD

def test_bitfield_set_get_signed_unsigned(r):
    assert r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "255",
                             "GET", "u8", "0", "GET", "i8", "0") == [0, 255, -1]
    assert r.get("bf") == b"\xff"


def test_bitfield_incrby_default_wrap(r):
    r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "255")
    assert r.execute_command("BITFIELD", "bf", "INCRBY", "u8", "0", "10") == [9]
    assert r.execute_command("BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "247") == [0]


def test_bitfield_overflow_sat(r):
    assert r.execute_command("BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300",
                             "INCRBY", "i8", "8", "-200") == [255, -128]
    assert r.execute_command("BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "i8", "0", "200",
                             "GET", "i8", "0") == [-1, 127]
    assert r.execute_command("BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u8", "0", "-5",
                             "GET", "u8", "0") == [127, 255]


def test_bitfield_overflow_fail(r, raw):
    r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "255")
    assert raw.cmd("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1",
                   "GET", "u8", "0") == b"*2\r\n$-1\r\n:255\r\n"
    assert r.execute_command("BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "i8", "0", "200",
                             "GET", "i8", "0") == [None, -1]
    assert r.execute_command("BITFIELD", "bf", "overflow", "fail", "incrby", "u2", "0", "10",
                             "get", "u2", "0") == [None, 3]


def test_bitfield_overflow_applies_to_following_ops_only(r):
    r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "250")
    assert r.execute_command("BITFIELD", "bf", "INCRBY", "u8", "0", "10",
                             "OVERFLOW", "SAT", "INCRBY", "u8", "0", "252",
                             "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1") == [4, 255, None]


def test_bitfield_set_wraps_value(r):
    assert r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "256", "GET", "u8", "0") == [0, 0]
    assert r.execute_command("BITFIELD", "bf", "SET", "i8", "0", "-129", "GET", "i8", "0") == [0, 127]
    assert r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "-5", "GET", "u8", "0") == [127, 251]


def test_bitfield_hash_offsets(r):
    assert r.execute_command("BITFIELD", "bf", "SET", "i5", "#1", "-3",
                             "GET", "i5", "#1", "GET", "u5", "5") == [0, -3, 29]
    assert r.execute_command("BITFIELD", "bf", "SET", "u8", "#2", "171") == [0]
    assert r.get("bf") == b"\x07\x40\xab"
    assert r.execute_command("BITFIELD", "bf", "GET", "u8", "16") == [171]


def test_bitfield_i64_and_odd_widths(r):
    assert r.execute_command("BITFIELD", "bf", "SET", "i64", "0", "-9223372036854775808",
                             "GET", "i64", "0") == [0, -9223372036854775808]
    assert r.execute_command("BITFIELD", "bf", "INCRBY", "i64", "0", "-1") == [9223372036854775807]
    assert r.execute_command("BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "1",
                             "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "1") == [9223372036854775807, None]
    assert r.execute_command("BITFIELD", "bf", "GET", "u63", "0") == [4611686018427387903]
    assert r.execute_command("BITFIELD", "bf", "SET", "u1", "0", "1", "GET", "i1", "0") == [0, -1]
    assert r.execute_command("BITFIELD", "bf", "GET", "u3", "61") == [7]


def test_bitfield_unaligned(r):
    r.set("bf", b"\x0f\xf0")
    assert r.execute_command("BITFIELD", "bf", "GET", "u8", "4", "GET", "u4", "2",
                             "GET", "i4", "6") == [255, 3, -1]


def test_bitfield_grows_key(r):
    assert r.execute_command("BITFIELD", "new", "SET", "u8", "100", "1") == [0]
    assert r.strlen("new") == 14
    assert r.execute_command("BITFIELD", "new3", "INCRBY", "u2", "100", "1") == [1]
    assert r.strlen("new3") == 13


def test_bitfield_get_does_not_create_key(r):
    assert r.execute_command("BITFIELD", "new2", "GET", "u8", "100") == [0]
    assert r.exists("new2") == 0


def test_bitfield_no_ops(raw):
    assert raw.cmd("BITFIELD", "nokey") == b"*0\r\n"
    assert raw.cmd("BITFIELD_RO", "nokey") == b"*0\r\n"


def test_bitfield_max_offset(r):
    assert r.execute_command("BITFIELD", "bf", "GET", "u8", "4294967288") == [0]
    assert r.execute_command("BITFIELD", "bf", "GET", "u8", "4294967295") == [0]
    assert r.execute_command("BITFIELD", "bf", "GET", "i64", "#67108863") == [0]
    assert r.exists("bf") == 0


@pytest.mark.parametrize("args,reply", [
    (("GET", "u64", "0"), BAD_TYPE),
    (("GET", "i65", "0"), BAD_TYPE),
    (("GET", "i0", "0"), BAD_TYPE),
    (("GET", "u0", "0"), BAD_TYPE),
    (("GET", "x8", "0"), BAD_TYPE),
    (("GET", "8", "0"), BAD_TYPE),
    (("GET", "u8", "-1"), OFFSET_ERR),
    (("GET", "u8", "#-1"), OFFSET_ERR),
    (("GET", "u8", "abc"), OFFSET_ERR),
    (("GET", "u8", "4294967296"), OFFSET_ERR),
    (("GET", "u8", "#536870912"), OFFSET_ERR),
    (("GET", "i64", "#67108864"), OFFSET_ERR),
    (("SET", "u8", "0", "abc"), NOT_INT),
    (("INCRBY", "u8", "0", "abc"), NOT_INT),
    (("OVERFLOW", "FOO", "GET", "u8", "0"), b"-ERR Invalid OVERFLOW type specified\r\n"),
    (("FOO", "u8", "0"), SYNTAX),
    (("GET", "u8"), SYNTAX),
    (("SET", "u8", "0"), SYNTAX),
    (("OVERFLOW",), SYNTAX),
])
def test_bitfield_errors(raw, args, reply):
    raw.cmd("SET", "bf", "x")
    assert raw.cmd("BITFIELD", "bf", *args) == reply
    assert raw.cmd("GET", "bf") == b"$1\r\nx\r\n"


def test_bitfield_error_aborts_whole_command(r):
    with pytest.raises(redis.ResponseError):
        r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "1", "GET", "u64", "0")
    assert r.exists("bf") == 0


def test_bitfield_ro(r):
    r.execute_command("BITFIELD", "bf", "SET", "u8", "0", "7", "SET", "u8", "8", "64")
    assert r.execute_command("BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i4", "#2") == [7, 4]
    assert r.execute_command("BITFIELD_RO", "nokey", "GET", "u8", "0") == [0]


@pytest.mark.parametrize("args", [
    ("SET", "u8", "0", "1"),
    ("INCRBY", "u8", "0", "1"),
    ("GET", "u8", "0", "SET", "u8", "0", "1"),
])
def test_bitfield_ro_rejects_writes(raw, args):
    raw.cmd("SET", "bf", "a")
    assert raw.cmd("BITFIELD_RO", "bf", *args) == \
        b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"
    assert raw.cmd("GET", "bf") == b"$1\r\na\r\n"


def test_bitfield_ro_overflow_accepted(r):
    r.set("bf", "a")
    assert r.execute_command("BITFIELD_RO", "bf", "OVERFLOW", "WRAP", "GET", "u8", "0") == [97]

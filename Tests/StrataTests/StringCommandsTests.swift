import Config
import NIOCore
import RESP
import Store
import XCTest

@testable import Commands

/// Runs commands through the real dispatcher against an in-memory server and returns the
/// raw reply bytes, so handlers can be tested without a socket.
final class StringsTestHarness {
    let server: ServerContext
    let client: Client

    init(configure: (ServerConfig) -> Void = { _ in }) {
        let config = ServerConfig()
        configure(config)
        server = ServerContext(config: config)
        client = server.makeClient(address: "127.0.0.1:1", localAddress: "127.0.0.1:6379", isLocal: true,
                                   outputBuffer: ByteBuffer())
    }

    /// Runs one command and returns its reply as text (RESP bytes decoded as Latin-1 so
    /// that any byte survives).
    @discardableResult
    func call(_ words: String...) -> String { call(words.map { Array($0.utf8) }) }

    func call(_ words: [[UInt8]]) -> String {
        _ = server.dispatch(client, CommandArguments(words))
        let bytes = client.reply.buffer.readBytes(length: client.reply.buffer.readableBytes) ?? []
        client.reply.buffer.clear()
        return String(bytes.map { Character(Unicode.Scalar($0)) })
    }

    /// The stored bytes of `key`, or nil.
    func value(_ key: String) -> [UInt8]? {
        Array(key.utf8).withUnsafeBytes { client.db.find($0)?.pointee.value.stringBytes }
    }
}

final class StringCommandsTests: XCTestCase {
    // MARK: - Pure helpers

    func testRangeResolutionFollowsRedis70() {
        XCTAssertEqual(StringRange.resolve(start: 0, end: 4, length: 11), 0...4)
        XCTAssertEqual(StringRange.resolve(start: -5, end: -1, length: 11), 6...10)
        XCTAssertEqual(StringRange.resolve(start: -100, end: 100, length: 11), 0...10)
        XCTAssertNil(StringRange.resolve(start: 5, end: 2, length: 11))
        XCTAssertNil(StringRange.resolve(start: -1, end: -5, length: 11))
        XCTAssertNil(StringRange.resolve(start: 100, end: 200, length: 11))
        XCTAssertNil(StringRange.resolve(start: 0, end: -1, length: 0))
        // A negative end beyond the start clamps to 0.
        XCTAssertEqual(StringRange.resolve(start: 0, end: -100, length: 11), 0...0)
        XCTAssertEqual(StringRange.resolve(start: -100, end: -50, length: 11), 0...0)
        XCTAssertEqual(StringRange.resolve(start: Int.min, end: Int.min, length: 5), 0...0)
        XCTAssertEqual(StringRange.resolve(start: 0, end: Int.max, length: 5), 0...4)
        // BITPOS has no both-negative check.
        XCTAssertEqual(StringRange.clamp(start: -50, end: -100, length: 3), 0...0)
    }

    func testExpireOptionParsing() {
        func parse(_ words: String..., forSet: Bool = true) -> ExpireOptions? {
            ExpireOptions.parse(CommandArguments(["set", "k", "v"] + words), from: 3, forSet: forSet)
        }
        XCTAssertNotNil(parse("EX", "10", "NX", "GET"))
        XCTAssertNotNil(parse("ex", "10", "ex", "20"))
        XCTAssertNotNil(parse("NX", "NX"))
        XCTAssertEqual(parse("PX", "5")?.expire?.kind, .px)
        XCTAssertEqual(parse("PX", "5")?.expire?.index, 4)
        XCTAssertNil(parse("EX", "10", "PX", "10"))
        XCTAssertNil(parse("NX", "XX"))
        XCTAssertNil(parse("KEEPTTL", "EXAT", "1"))
        XCTAssertNil(parse("EX", "10", "KEEPTTL"))
        XCTAssertNil(parse("EX"))
        XCTAssertNil(parse("PERSIST"))
        XCTAssertNotNil(parse("PERSIST", forSet: false))
        XCTAssertNil(parse("PERSIST", "EX", "1", forSet: false))
        XCTAssertNil(parse("GET", forSet: false))
        XCTAssertNil(parse("KEEPTTL", forSet: false))
    }

    func testAbsoluteExpiry() {
        let now: Int64 = 1_700_000_000_000
        XCTAssertEqual(ExpireOptions.absoluteMillis(10, .ex, now: now), now + 10_000)
        XCTAssertEqual(ExpireOptions.absoluteMillis(10, .px, now: now), now + 10)
        XCTAssertEqual(ExpireOptions.absoluteMillis(10, .exat, now: now), 10_000)
        XCTAssertEqual(ExpireOptions.absoluteMillis(10, .pxat, now: now), 10)
        XCTAssertNil(ExpireOptions.absoluteMillis(0, .ex, now: now))
        XCTAssertNil(ExpireOptions.absoluteMillis(-1, .pxat, now: now))
        XCTAssertNil(ExpireOptions.absoluteMillis(Int.max / 1000 + 1, .exat, now: now))
        // In range for the multiplication, but adding "now" overflows.
        XCTAssertNil(ExpireOptions.absoluteMillis(9_223_372_036_854_775, .ex, now: now))
        XCTAssertNil(ExpireOptions.absoluteMillis(Int.max, .px, now: now))
        XCTAssertEqual(ExpireOptions.absoluteMillis(Int.max, .pxat, now: now), Int64.max)
    }

    func testDecimalText() {
        for value in [0, 7, -7, 10, 12345, Int.max, Int.min] {
            XCTAssertEqual(String(decoding: DecimalText.bytes(value), as: UTF8.self), String(value))
        }
    }

    func testLongDoubleParsingMatchesString2ld() {
        func parse(_ text: String) -> LongDouble? { Array(text.utf8).withUnsafeBytes { DoubleFormat.parseLongDouble($0) } }
        XCTAssertEqual(parse("10.5"), 10.5)
        XCTAssertEqual(parse("1."), 1)
        XCTAssertEqual(parse(".5"), 0.5)
        XCTAssertEqual(parse("inf"), .infinity)
        XCTAssertNil(parse("nan"))
        XCTAssertNil(parse(" 1"))
        XCTAssertNil(parse("1 "))
        XCTAssertNil(parse(""))
        XCTAssertNil(parse("1.5e"))
        XCTAssertNil(parse("1e99999"))   // overflow
        XCTAssertNil(parse("1e-99999"))  // underflow to zero
    }

    func testIncrByFloatFormatting() {
        XCTAssertEqual(DoubleFormat.humanFriendly(10.5 + 0.1), "10.6")
        XCTAssertEqual(DoubleFormat.humanFriendly(5000), "5000")
        XCTAssertEqual(DoubleFormat.humanFriendly(-0.0), "0")
        XCTAssertEqual(DoubleFormat.humanFriendly(0.00001), "0.00001")
    }

    func testLongestCommonSubsequence() {
        let a = Array("ohmytext".utf8), b = Array("mynewtext".utf8)
        let result = a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in LongestCommonSubsequence.compute(pa, pb, backtrack: true) }
        }
        XCTAssertEqual(result.length, 6)
        XCTAssertEqual(String(decoding: result.text, as: UTF8.self), "mytext")
        XCTAssertEqual(result.matches, [
            .init(a: 4...7, b: 5...8),
            .init(a: 2...3, b: 0...1),
        ])
        let empty = [UInt8]().withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in LongestCommonSubsequence.compute(pa, pb, backtrack: true) }
        }
        XCTAssertEqual(empty.length, 0)
        XCTAssertTrue(empty.matches.isEmpty)
    }

    // MARK: - Handlers

    func testSetAndGetOptions() {
        let h = StringsTestHarness()
        XCTAssertEqual(h.call("SET", "k", "v"), "+OK\r\n")
        XCTAssertEqual(h.call("GET", "k"), "$1\r\nv\r\n")
        XCTAssertEqual(h.call("SET", "k", "w", "NX"), "$-1\r\n")
        XCTAssertEqual(h.call("SET", "k", "w", "XX", "GET"), "$1\r\nv\r\n")
        XCTAssertEqual(h.call("SET", "n", "w", "XX", "GET"), "$-1\r\n")
        XCTAssertEqual(h.call("GET", "n"), "$-1\r\n")
        XCTAssertEqual(h.call("SET", "k", "v", "EX", "0"), "-ERR invalid expire time in 'set' command\r\n")
        XCTAssertEqual(h.call("SETEX", "k", "-1", "v"), "-ERR invalid expire time in 'setex' command\r\n")
        XCTAssertEqual(h.call("SET", "k", "v", "EX", "x"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(h.call("SET", "k", "v", "FOO"), "-ERR syntax error\r\n")
        XCTAssertEqual(h.call("SET", "gone", "v", "PXAT", "1"), "+OK\r\n")
        XCTAssertNil(h.value("gone"))
        XCTAssertEqual(h.call("MSET", "a", "1", "b"), "-ERR wrong number of arguments for 'mset' command\r\n")
        XCTAssertEqual(h.call("MSETNX", "a", "1", "k", "2"), ":0\r\n")
        XCTAssertEqual(h.call("MGET", "k", "a"), "*2\r\n$1\r\nw\r\n$-1\r\n")
    }

    func testGetexKeepsOrChangesExpiry() {
        let h = StringsTestHarness()
        h.call("SET", "k", "v", "EX", "100")
        XCTAssertEqual(h.call("GETEX", "k", "PERSIST"), "$1\r\nv\r\n")
        let slotExpiry = Array("k".utf8).withUnsafeBytes { h.client.db.find($0)?.pointee.expireAt }
        XCTAssertEqual(slotExpiry, 0)
        XCTAssertEqual(h.call("GETEX", "k", "EXAT", "1"), "$1\r\nv\r\n")
        XCTAssertNil(h.value("k"))
        XCTAssertEqual(h.call("GETEX", "k", "FOO"), "-ERR syntax error\r\n")
    }

    func testAppendSetrangeAndRawEncoding() {
        let h = StringsTestHarness()
        XCTAssertEqual(h.call("APPEND", "k", "ab"), ":2\r\n")
        XCTAssertEqual(h.call("APPEND", "k", "cd"), ":4\r\n")
        let meta = Array("k".utf8).withUnsafeBytes { h.client.db.find($0)!.pointee.meta }
        XCTAssertNotEqual(meta & KeyFlags.rawString, 0)
        XCTAssertEqual(h.call("SETRANGE", "k", "6", "Z"), ":7\r\n")
        XCTAssertEqual(h.value("k"), Array("abcd\0\0Z".utf8))
        XCTAssertEqual(h.call("SETRANGE", "k", "536870912", "x"),
                       "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n")
        XCTAssertEqual(h.call("GETRANGE", "k", "0", "-100"), "$1\r\na\r\n")
    }

    func testSetrangeRespectsConfiguredLimit() {
        let h = StringsTestHarness { $0.protoMaxBulkLength = 10 }
        XCTAssertEqual(h.call("SETRANGE", "k", "9", "x"), ":10\r\n")
        XCTAssertEqual(h.call("APPEND", "k", "y"),
                       "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n")
    }

    func testIncrFamily() {
        let h = StringsTestHarness()
        XCTAssertEqual(h.call("INCRBY", "n", "9223372036854775807"), ":9223372036854775807\r\n")
        XCTAssertEqual(h.call("INCR", "n"), "-ERR increment or decrement would overflow\r\n")
        XCTAssertEqual(h.call("DECRBY", "m", "-9223372036854775808"), "-ERR decrement would overflow\r\n")
        XCTAssertNil(h.value("m"))
        h.call("SET", "s", "01")
        XCTAssertEqual(h.call("INCR", "s"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(h.call("INCRBYFLOAT", "f", "0.1"), "$3\r\n0.1\r\n")
        XCTAssertEqual(h.call("INCRBYFLOAT", "f", "0.2"), "$3\r\n0.3\r\n")
        XCTAssertEqual(h.call("INCRBYFLOAT", "f", "inf"), "-ERR increment would produce NaN or Infinity\r\n")
        XCTAssertEqual(h.call("INCRBYFLOAT", "f", "abc"), "-ERR value is not a valid float\r\n")
    }

    func testLcsReplies() {
        let h = StringsTestHarness()
        h.call("MSET", "a", "ohmytext", "b", "mynewtext")
        XCTAssertEqual(h.call("LCS", "a", "b"), "$6\r\nmytext\r\n")
        XCTAssertEqual(h.call("LCS", "a", "b", "LEN"), ":6\r\n")
        XCTAssertEqual(h.call("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
                       "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n")
        XCTAssertEqual(h.call("LCS", "a", "b", "LEN", "IDX"),
                       "-ERR If you want both the length and indexes, please just use IDX.\r\n")
    }

    func testLcsRefusesTablesBeyondBulkLimit() {
        let h = StringsTestHarness { $0.protoMaxBulkLength = 1000 }
        h.call("MSET", "a", String(repeating: "a", count: 20), "b", String(repeating: "b", count: 20))
        XCTAssertEqual(h.call("LCS", "a", "b"),
                       "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n")
    }
}

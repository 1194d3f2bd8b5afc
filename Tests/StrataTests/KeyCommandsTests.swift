import Commands
import Config
import NIOCore
import Store
import XCTest

/// Generic key and expiry commands through the dispatcher, with keys created directly in
/// the store (string commands live elsewhere). Expected replies come from Redis 7.0.15.
final class KeyCommandsTests: XCTestCase {
    private var server: ServerContext!
    private var client: Client!

    override func setUp() {
        server = ServerContext(config: ServerConfig())
        client = server.makeClient(address: "127.0.0.1:50000", localAddress: "127.0.0.1:6379", isLocal: true,
                                   outputBuffer: ByteBuffer())
    }

    /// Runs one command and returns its raw reply.
    @discardableResult
    private func run(_ words: String...) -> String {
        _ = server.dispatch(client, CommandArguments(words))
        let reply = client.reply.buffer.readString(length: client.reply.buffer.readableBytes) ?? ""
        client.reply.buffer.clear()
        return reply
    }

    private func put(_ key: String, _ value: String = "v", db: Int = 0, ttlMillis: Int64 = 0) {
        let expireAt = ttlMillis == 0 ? 0 : Clock.nowMillis() + ttlMillis
        Array(key.utf8).withUnsafeBytes { server.store.databases[db].set($0, .string(Array(value.utf8)), expireAt: expireAt) }
    }

    private func value(_ key: String, db: Int = 0) -> String? {
        Array(key.utf8).withUnsafeBytes { bytes in
            server.store.databases[db].find(bytes)?.pointee.value.stringBytes.map { String(decoding: $0, as: UTF8.self) }
        }
    }

    // MARK: - Specs

    /// Key positions, arity and flags as COMMAND INFO reports them on Redis 7.0.15.
    func testSpecsMatchRedis() {
        let expected: [(String, Int, (Int, Int, Int), [String])] = [
            ("del", -2, (1, -1, 1), ["write"]), ("unlink", -2, (1, -1, 1), ["write", "fast"]),
            ("exists", -2, (1, -1, 1), ["readonly", "fast"]), ("type", 2, (1, 1, 1), ["readonly", "fast"]),
            ("rename", 3, (1, 2, 1), ["write"]), ("renamenx", 3, (1, 2, 1), ["write", "fast"]),
            ("copy", -3, (1, 2, 1), ["write", "denyoom"]), ("move", 3, (1, 1, 1), ["write", "fast"]),
            ("keys", 2, (0, 0, 0), ["readonly"]), ("scan", -2, (0, 0, 0), ["readonly"]),
            ("randomkey", 1, (0, 0, 0), ["readonly"]), ("touch", -2, (1, -1, 1), ["readonly", "fast"]),
            ("object", -2, (0, 0, 0), []), ("flushdb", -1, (0, 0, 0), ["write"]),
            ("flushall", -1, (0, 0, 0), ["write"]), ("swapdb", 3, (0, 0, 0), ["write", "fast"]),
            ("dbsize", 1, (0, 0, 0), ["readonly", "fast"]),
            ("expire", -3, (1, 1, 1), ["write", "fast"]), ("pexpire", -3, (1, 1, 1), ["write", "fast"]),
            ("expireat", -3, (1, 1, 1), ["write", "fast"]), ("pexpireat", -3, (1, 1, 1), ["write", "fast"]),
            ("ttl", 2, (1, 1, 1), ["readonly", "fast"]), ("pttl", 2, (1, 1, 1), ["readonly", "fast"]),
            ("expiretime", 2, (1, 1, 1), ["readonly", "fast"]), ("pexpiretime", 2, (1, 1, 1), ["readonly", "fast"]),
            ("persist", 2, (1, 1, 1), ["write", "fast"]),
        ]
        for (name, arity, keys, flags) in expected {
            guard let spec = server.commands.lookup(name) else { XCTFail("missing \(name)"); continue }
            XCTAssertEqual(spec.arity, arity, name)
            XCTAssertEqual(spec.firstKey, keys.0, name)
            XCTAssertEqual(spec.lastKey, keys.1, name)
            XCTAssertEqual(spec.keyStep, keys.2, name)
            XCTAssertEqual(spec.flags.names, flags, name)
        }
        let object = server.commands.lookup("object")!
        for sub in ["encoding", "freq", "idletime", "refcount"] {
            let spec = object.subcommands[sub]!
            XCTAssertEqual(spec.arity, 3)
            XCTAssertEqual(spec.fullName, "object|\(sub)")
            XCTAssertEqual([spec.firstKey, spec.lastKey, spec.keyStep], [2, 2, 1])
            XCTAssertEqual(spec.flags.names, ["readonly"])
        }
        XCTAssertEqual(object.subcommands["help"]!.arity, 2)
        XCTAssertEqual(object.subcommands["help"]!.flags.names, ["loading", "stale"])
        XCTAssertEqual(server.commands.lookup("rename")!.keyPositions(CommandArguments(["rename", "a", "b"])), [1, 2])
        XCTAssertEqual(server.commands.lookup("copy")!.keyPositions(CommandArguments(["copy", "a", "b", "DB", "1"])),
                       [1, 2])
    }

    // MARK: - Key commands

    func testDelExistsTypeTouch() {
        put("a"); put("b")
        XCTAssertEqual(run("EXISTS", "a", "a", "b", "x"), ":3\r\n")
        XCTAssertEqual(run("TYPE", "a"), "+string\r\n")
        XCTAssertEqual(run("TYPE", "x"), "+none\r\n")
        XCTAssertEqual(run("TOUCH", "a", "x", "a"), ":2\r\n")
        XCTAssertEqual(run("DEL", "a", "a", "x"), ":1\r\n")
        XCTAssertEqual(run("UNLINK", "b"), ":1\r\n")
        XCTAssertEqual(run("DBSIZE"), ":0\r\n")
    }

    func testInspectionCountsHitsWithoutTouching() {
        put("a")
        run("EXISTS", "a"); run("TYPE", "x"); run("TTL", "a"); run("OBJECT", "ENCODING", "a")
        XCTAssertEqual(server.store.stats.keyspaceHits, 3)
        XCTAssertEqual(server.store.stats.keyspaceMisses, 1)
        run("RENAME", "a", "b"); run("EXPIRE", "b", "100"); run("PERSIST", "b"); run("RANDOMKEY"); run("KEYS", "*")
        XCTAssertEqual(server.store.stats.keyspaceHits, 3)
        XCTAssertEqual(server.store.stats.keyspaceMisses, 1)
    }

    func testRename() {
        put("a", "1", ttlMillis: 100_000); put("b", "2")
        XCTAssertEqual(run("RENAME", "a", "a"), "+OK\r\n")
        XCTAssertEqual(run("RENAMENX", "a", "a"), ":0\r\n")
        XCTAssertEqual(run("RENAMENX", "a", "b"), ":0\r\n")
        XCTAssertEqual(run("RENAME", "a", "b"), "+OK\r\n")
        XCTAssertEqual(value("b"), "1")
        XCTAssertNil(value("a"))
        let pttl = Int(run("PTTL", "b").dropFirst().dropLast())!  // "\r\n" is one Character
        XCTAssertTrue((99_000...100_000).contains(pttl))
        XCTAssertEqual(run("RENAME", "x", "y"), "-ERR no such key\r\n")
        XCTAssertEqual(run("RENAME", "x", "x"), "-ERR no such key\r\n")
        XCTAssertEqual(run("RENAMENX", "b", "c"), ":1\r\n")
        XCTAssertEqual(server.store.databases[0].expiresCount, 1)
        XCTAssertEqual(server.store.databases[0].count, 1)
    }

    func testRenameManyKeysThroughResizes() {
        for i in 0..<3000 { put("k\(i)", "\(i)") }
        for i in 0..<3000 { XCTAssertEqual(run("RENAME", "k\(i)", "n\(i)"), "+OK\r\n") }
        for i in stride(from: 0, to: 3000, by: 7) { XCTAssertEqual(value("n\(i)"), "\(i)") }
        XCTAssertEqual(run("DBSIZE"), ":3000\r\n")
    }

    func testCopyAndMove() {
        put("z", "val", ttlMillis: 100_000)
        XCTAssertEqual(run("COPY", "z", "z"), "-ERR source and destination objects are the same\r\n")
        XCTAssertEqual(run("COPY", "z", "w", "DB", "16"), "-ERR DB index is out of range\r\n")
        XCTAssertEqual(run("COPY", "z", "w", "DB", "x"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(run("COPY", "z", "w", "DB", "4294967296"),
                       "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n")
        XCTAssertEqual(run("COPY", "z", "w", "DB"), "-ERR syntax error\r\n")
        XCTAssertEqual(run("COPY", "z", "w", "FOO"), "-ERR syntax error\r\n")
        XCTAssertEqual(run("COPY", "z", "y"), ":1\r\n")
        XCTAssertEqual(run("COPY", "z", "y"), ":0\r\n")
        XCTAssertEqual(run("COPY", "z", "y", "REPLACE"), ":1\r\n")
        XCTAssertEqual(run("COPY", "z", "z", "DB", "1"), ":1\r\n")
        XCTAssertEqual(value("z", db: 1), "val")
        XCTAssertEqual(server.store.databases[1].expiresCount, 1)
        XCTAssertEqual(run("COPY", "nokey", "q"), ":0\r\n")

        XCTAssertEqual(run("MOVE", "z", "0"), "-ERR source and destination objects are the same\r\n")
        XCTAssertEqual(run("MOVE", "z", "-1"), "-ERR DB index is out of range\r\n")
        XCTAssertEqual(run("MOVE", "z", "1"), ":0\r\n")  // exists there
        XCTAssertEqual(run("MOVE", "y", "2"), ":1\r\n")
        XCTAssertNil(value("y"))
        XCTAssertEqual(value("y", db: 2), "val")
        XCTAssertEqual(server.store.databases[2].expiresCount, 1)
        XCTAssertEqual(run("MOVE", "nokey", "2"), ":0\r\n")
    }

    func testSwapdbAndFlush() {
        put("in0"); put("in1", db: 1)
        XCTAssertEqual(run("SWAPDB", "0", "16"), "-ERR DB index is out of range\r\n")
        XCTAssertEqual(run("SWAPDB", "x", "1"), "-ERR invalid first DB index\r\n")
        XCTAssertEqual(run("SWAPDB", "0", "x"), "-ERR invalid second DB index\r\n")
        XCTAssertEqual(run("SWAPDB", "4294967296", "0"), "-ERR invalid first DB index\r\n")
        XCTAssertEqual(run("SWAPDB", "0", "1"), "+OK\r\n")
        XCTAssertEqual(run("KEYS", "*"), "*1\r\n$3\r\nin1\r\n")
        XCTAssertEqual(run("FLUSHDB", "ASYNC", "SYNC"), "-ERR syntax error\r\n")
        XCTAssertEqual(run("FLUSHDB", "async"), "+OK\r\n")
        XCTAssertEqual(run("DBSIZE"), ":0\r\n")
        XCTAssertEqual(server.store.databases[1].count, 1)
        XCTAssertEqual(run("FLUSHALL", "FOO"), "-ERR syntax error\r\n")
        XCTAssertEqual(run("FLUSHALL"), "+OK\r\n")
        XCTAssertEqual(server.store.totalKeys, 0)
    }

    func testKeysHidesExpiredWithoutDeleting() {
        put("live"); put("dead", ttlMillis: 1)
        usleep(5000)
        XCTAssertEqual(run("KEYS", "*"), "*1\r\n$4\r\nlive\r\n")
        XCTAssertEqual(run("DBSIZE"), ":2\r\n")
        for _ in 0..<20 { XCTAssertEqual(run("RANDOMKEY"), "$4\r\nlive\r\n") }  // "dead" is collected, never returned
        XCTAssertEqual(run("KEYS", "l?v*"), "*1\r\n$4\r\nlive\r\n")
        XCTAssertEqual(run("KEYS", "x"), "*0\r\n")
    }

    func testScan() {
        XCTAssertEqual(run("SCAN", "0"), "*2\r\n$1\r\n0\r\n*0\r\n")
        put("only")
        XCTAssertEqual(run("SCAN", "0"), "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n")
        XCTAssertEqual(run("SCAN", "0", "TYPE", "STRING"), "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n")
        XCTAssertEqual(run("SCAN", "0", "TYPE", "foo"), "*2\r\n$1\r\n0\r\n*0\r\n")
        XCTAssertEqual(run("SCAN", "0", "MATCH", "x*"), "*2\r\n$1\r\n0\r\n*0\r\n")
        XCTAssertEqual(run("SCAN", "abc"), "-ERR invalid cursor\r\n")
        XCTAssertEqual(run("SCAN", "0", "COUNT", "0"), "-ERR syntax error\r\n")
        XCTAssertEqual(run("SCAN", "0", "COUNT", "abc"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(run("SCAN", "0", "MATCH"), "-ERR syntax error\r\n")
        for i in 0..<500 { put("k\(i)") }
        put("gone", ttlMillis: 1)
        usleep(5000)
        var seen = Set<String>()
        var cursor = "0"
        var calls = 0
        repeat {
            let reply = run("SCAN", cursor, "COUNT", "20")
            let lines = reply.components(separatedBy: "\r\n")
            cursor = lines[2]
            for index in stride(from: 5, to: lines.count - 1, by: 2) { seen.insert(lines[index]) }
            calls += 1
        } while cursor != "0"
        XCTAssertEqual(seen.count, 501)
        XCTAssertFalse(seen.contains("gone"))
        XCTAssertGreaterThan(calls, 10)
        XCTAssertEqual(run("DBSIZE"), ":501\r\n")  // SCAN collected the expired key
    }

    func testParseCursor() {
        func parse(_ text: String) -> UInt64? { Array(text.utf8).withUnsafeBytes { KeyCommands.parseCursor($0) } }
        XCTAssertEqual(parse("0"), 0)
        XCTAssertEqual(parse(""), 0)
        XCTAssertEqual(parse("+5"), 5)
        XCTAssertEqual(parse("-1"), UInt64.max)
        XCTAssertEqual(parse("-18446744073709551615"), 1)
        XCTAssertEqual(parse("18446744073709551615"), UInt64.max)
        XCTAssertEqual(parse("0\0zz"), 0)
        XCTAssertNil(parse("18446744073709551616"))
        XCTAssertNil(parse("-18446744073709551616"))
        XCTAssertNil(parse(" 0"))
        XCTAssertNil(parse("0 "))
        XCTAssertNil(parse("-"))
        XCTAssertNil(parse("abc"))
        XCTAssertNil(parse("0x10"))
    }

    // MARK: - OBJECT

    func testStringEncoding() {
        let cases: [(String, String)] = [
            ("12345", "int"), ("-5", "int"), ("0", "int"), ("9223372036854775807", "int"),
            ("-9223372036854775808", "int"), ("9223372036854775808", "embstr"), ("012", "embstr"),
            ("-0", "embstr"), ("1.5", "embstr"), (" 1", "embstr"), ("+1", "embstr"), ("", "embstr"),
            (String(repeating: "a", count: 44), "embstr"), (String(repeating: "a", count: 45), "raw"),
        ]
        for (text, encoding) in cases {
            XCTAssertEqual(KeyCommands.stringEncoding(Array(text.utf8), meta: 0), encoding, text)
        }
        XCTAssertEqual(KeyCommands.stringEncoding(Array("12".utf8), meta: KeyFlags.rawString), "raw")
    }

    func testObjectSubcommands() {
        put("n", "100"); put("big", "12345"); put("s", "some string value")
        XCTAssertEqual(run("OBJECT", "ENCODING", "n"), "$3\r\nint\r\n")
        XCTAssertEqual(run("OBJECT", "REFCOUNT", "n"), ":2147483647\r\n")
        XCTAssertEqual(run("OBJECT", "REFCOUNT", "big"), ":1\r\n")
        XCTAssertEqual(run("OBJECT", "REFCOUNT", "s"), ":1\r\n")
        XCTAssertEqual(run("OBJECT", "IDLETIME", "s"), ":0\r\n")
        XCTAssertTrue(run("OBJECT", "FREQ", "s").hasPrefix("-ERR An LFU maxmemory policy is not selected"))
        for sub in ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"] {
            XCTAssertEqual(run("OBJECT", sub, "nokey"), "$-1\r\n")
        }
        XCTAssertEqual(run("OBJECT", "FOO", "k"), "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n")
        XCTAssertEqual(run("OBJECT"), "-ERR wrong number of arguments for 'object' command\r\n")
        XCTAssertEqual(run("OBJECT", "ENCODING"), "-ERR wrong number of arguments for 'object|encoding' command\r\n")
        XCTAssertEqual(run("OBJECT", "HELP", "x"), "-ERR wrong number of arguments for 'object|help' command\r\n")
        XCTAssertTrue(run("OBJECT", "help").hasPrefix(
            "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"))
        server.config.maxmemoryPolicy = "allkeys-lfu"
        put("f")  // created with an LFU counter
        XCTAssertEqual(run("OBJECT", "FREQ", "f"), ":5\r\n")
        XCTAssertTrue(run("OBJECT", "IDLETIME", "f").hasPrefix("-ERR An LFU maxmemory policy is selected"))
    }

    // MARK: - Expiry

    func testExpireOptionsAndErrors() {
        put("k")
        XCTAssertEqual(run("EXPIRE", "k", "10", "FOO"), "-ERR Unsupported option FOO\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "10", "NX", "XX"),
                       "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "10", "GT", "LT"),
                       "-ERR GT and LT options at the same time are not compatible\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "abc"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "9223372036854775"), "-ERR invalid expire time in 'expire' command\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "-9223372036854775808"),
                       "-ERR invalid expire time in 'expire' command\r\n")
        XCTAssertEqual(run("PEXPIRE", "k", "9223372036854775807"),
                       "-ERR invalid expire time in 'pexpire' command\r\n")
        XCTAssertEqual(run("EXPIREAT", "k", "9223372036854775807"),
                       "-ERR invalid expire time in 'expireat' command\r\n")
        XCTAssertEqual(run("TTL", "k"), ":-1\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "10", "GT"), ":0\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "10", "XX"), ":0\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "600", "LT"), ":1\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "700", "LT"), ":0\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "700", "NX"), ":0\r\n")
        XCTAssertEqual(run("EXPIRE", "k", "700", "XX", "GT"), ":1\r\n")
        XCTAssertEqual(run("TTL", "k"), ":700\r\n")
        XCTAssertEqual(server.store.databases[0].expiresCount, 1)
        XCTAssertEqual(run("PERSIST", "k"), ":1\r\n")
        XCTAssertEqual(run("PERSIST", "k"), ":0\r\n")
        XCTAssertEqual(server.store.databases[0].expiresCount, 0)
        XCTAssertEqual(run("EXPIRE", "nokey", "10"), ":0\r\n")
    }

    func testExpireInThePastDeletes() {
        for (command, argument) in [("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "0"), ("EXPIREAT", "1"),
                                    ("PEXPIREAT", "0"), ("EXPIREAT", "-100")] {
            put("p", ttlMillis: 100_000)
            XCTAssertEqual(run(command, "p", argument), ":1\r\n", command)
            XCTAssertEqual(run("EXISTS", "p"), ":0\r\n")
            XCTAssertEqual(server.store.databases[0].expiresCount, 0)
        }
        put("p", ttlMillis: 100_000)
        XCTAssertEqual(run("EXPIRE", "p", "-1", "NX"), ":0\r\n")
        XCTAssertEqual(run("EXISTS", "p"), ":1\r\n")
    }

    func testTtlFamily() {
        XCTAssertEqual(run("TTL", "nokey"), ":-2\r\n")
        XCTAssertEqual(run("PEXPIRETIME", "nokey"), ":-2\r\n")
        put("k")
        XCTAssertEqual(run("EXPIRETIME", "k"), ":-1\r\n")
        XCTAssertEqual(run("PEXPIREAT", "k", "4000000000999"), ":1\r\n")
        XCTAssertEqual(run("EXPIRETIME", "k"), ":4000000001\r\n")
        XCTAssertEqual(run("PEXPIRETIME", "k"), ":4000000000999\r\n")
        XCTAssertEqual(run("PEXPIREAT", "k", "4000000000499"), ":1\r\n")
        XCTAssertEqual(run("EXPIRETIME", "k"), ":4000000000\r\n")
        XCTAssertEqual(run("PEXPIREAT", "k", "9223372036854775807"), ":1\r\n")
        XCTAssertEqual(run("EXPIRETIME", "k"), ":9223372036854776\r\n")
        put("r", ttlMillis: 1600)
        XCTAssertEqual(run("TTL", "r"), ":2\r\n")
        put("r", ttlMillis: 1400)
        XCTAssertEqual(run("TTL", "r"), ":1\r\n")
    }
}

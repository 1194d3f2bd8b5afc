import NIOCore
import RESP
import XCTest

/// The request parser: drip-fed one byte at a time, many requests per buffer, and every
/// protocol error Redis reports.
final class RequestParserTests: XCTestCase {
    /// Parses everything in `bytes` as it would arrive in `chunkSize` pieces; returns the
    /// requests as word lists.
    private func parseAll(_ bytes: [UInt8], chunkSize: Int, authenticated: Bool = true) throws -> [[String]] {
        var parser = RequestParser()
        var buffer = ByteBuffer()
        var ranges: [Range<Int>] = []
        var result: [[String]] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunkSize, bytes.count)
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            while let request = try parser.next(buffer, ranges: &ranges, authenticated: authenticated) {
                switch request {
                case .command(let next):
                    result.append(ranges.map { buffer.getString(at: $0.lowerBound, length: $0.count)! })
                    buffer.moveReaderIndex(to: next)
                case .inline(let storage, let next):
                    result.append(ranges.map { storage.getString(at: $0.lowerBound, length: $0.count)! })
                    buffer.moveReaderIndex(to: next)
                case .empty(let next):
                    buffer.moveReaderIndex(to: next)
                }
            }
        }
        XCTAssertEqual(buffer.readableBytes, 0, "unconsumed bytes")
        return result
    }

    private func error(_ text: String, authenticated: Bool = true) -> ProtocolError? {
        do {
            _ = try parseAll(Array(text.utf8), chunkSize: text.utf8.count, authenticated: authenticated)
            return nil
        } catch let error as ProtocolError {
            return error
        } catch {
            return nil
        }
    }

    func testMultibulkDripFedOneByteAtATime() throws {
        let stream = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n"
        let expected = [["SET", "key", "value"], ["PING"]]
        for chunk in [1, 2, 3, 7, 1000] {
            XCTAssertEqual(try parseAll(Array(stream.utf8), chunkSize: chunk), expected, "chunk \(chunk)")
        }
    }

    func testManyRequestsInOneBuffer() throws {
        var stream = ""
        for i in 0..<500 { stream += "*2\r\n$3\r\nGET\r\n$\(String(i).count)\r\n\(i)\r\n" }
        let requests = try parseAll(Array(stream.utf8), chunkSize: stream.utf8.count)
        XCTAssertEqual(requests.count, 500)
        XCTAssertEqual(requests[499], ["GET", "499"])
    }

    func testBinarySafeArguments() throws {
        var bytes = Array("*2\r\n$3\r\nGET\r\n$4\r\n".utf8)
        bytes += [0, 13, 10, 255]
        bytes += Array("\r\n".utf8)
        var parser = RequestParser()
        var buffer = ByteBuffer(bytes: bytes)
        var ranges: [Range<Int>] = []
        guard case .command = try parser.next(buffer, ranges: &ranges) else { return XCTFail("no command") }
        XCTAssertEqual(buffer.getBytes(at: ranges[1].lowerBound, length: ranges[1].count), [0, 13, 10, 255])
        buffer.clear()
    }

    func testInlineCommandsWithQuotes() throws {
        let stream = "PING\r\nSET a \"b c\\x41\\n\"\r\n\r\nGET 'it\\'s'\nECHO  x  \r\n"
        XCTAssertEqual(try parseAll(Array(stream.utf8), chunkSize: 1),
                       [["PING"], ["SET", "a", "b cA\n"], ["GET", "it's"], ["ECHO", "x"]])
    }

    func testEmptyAndNegativeCountsAreSkipped() throws {
        XCTAssertEqual(try parseAll(Array("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n".utf8), chunkSize: 1), [["PING"]])
    }

    func testProtocolErrorsMatchRedis() {
        XCTAssertEqual(error("*abc\r\n"), .invalidMultibulkLength)
        XCTAssertEqual(error("*+1\r\n"), .invalidMultibulkLength)
        XCTAssertEqual(error("*01\r\n"), .invalidMultibulkLength)
        XCTAssertEqual(error("*\r\n"), .invalidMultibulkLength)
        XCTAssertEqual(error("*3000000000\r\n"), .invalidMultibulkLength)
        XCTAssertEqual(error("*1\r\n$abc\r\n"), .invalidBulkLength)
        XCTAssertEqual(error("*1\r\n$-1\r\n"), .invalidBulkLength)
        XCTAssertEqual(error("*1\r\n$600000000\r\n"), .invalidBulkLength)
        XCTAssertEqual(error("*1\r\nfoo\r\n")?.message, "expected '$', got 'f'")
        XCTAssertEqual(error("SET a \"b\r\n"), .unbalancedQuotes)
        XCTAssertEqual(error("SET a \"b\"c\r\n"), .unbalancedQuotes)
        XCTAssertEqual(error("*11\r\n", authenticated: false), .unauthenticatedMultibulkLength)
        XCTAssertEqual(error("*1\r\n$20000\r\n", authenticated: false), .unauthenticatedBulkLength)
    }

    func testOverlongLinesWithoutNewline() {
        XCTAssertEqual(error(String(repeating: "a", count: 70_000)), .tooBigInline)
        XCTAssertEqual(error("*" + String(repeating: "1", count: 70_000)), .tooBigMultibulkCount)
        XCTAssertEqual(error("*1\r\n$" + String(repeating: "1", count: 70_000)), .tooBigBulkCount)
    }

    func testLargeArgumentCountIsResumedNotRescanned() throws {
        // 100k arguments fed in 4 KB chunks: linear work, and every argument intact.
        var stream = "*100001\r\n$4\r\nMSET\r\n"
        for i in 0..<100_000 { let s = String(i); stream += "$\(s.count)\r\n\(s)\r\n" }
        let start = Date()
        let requests = try parseAll(Array(stream.utf8), chunkSize: 4096)
        XCTAssertEqual(requests.count, 1)
        XCTAssertEqual(requests[0].count, 100_001)
        XCTAssertEqual(requests[0][100_000], "99999")
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "resuming must keep parsing linear")
    }

    func testStrictIntegerRules() {
        func parse(_ s: String) -> Int? { StrictInteger.parse(Array(s.utf8)) }
        XCTAssertEqual(parse("0"), 0)
        XCTAssertEqual(parse("-12"), -12)
        XCTAssertEqual(parse("9223372036854775807"), Int.max)
        XCTAssertEqual(parse("-9223372036854775808"), Int.min)
        XCTAssertNil(parse("9223372036854775808"))
        XCTAssertNil(parse("-0"))
        XCTAssertNil(parse("01"))
        XCTAssertNil(parse("+1"))
        XCTAssertNil(parse(" 1"))
        XCTAssertNil(parse(""))
        XCTAssertNil(parse("1a"))
    }
}

/// The reply writer's encodings in both protocol versions.
final class ReplyWriterTests: XCTestCase {
    private func encode(resp3: Bool, _ body: (inout ReplyWriter) -> Void) -> String {
        var writer = ReplyWriter(buffer: ByteBuffer(), resp3: resp3)
        body(&writer)
        return writer.buffer.getString(at: 0, length: writer.buffer.readableBytes)!
    }

    /// Bulk strings are written in one piece: the length's digits at every width.
    func testBulkLengths() {
        for length in [0, 1, 9, 10, 99, 100, 12_345, 1_000_000] {
            let body = String(repeating: "x", count: length)
            XCTAssertEqual(encode(resp3: false) { $0.bulk(body) }, "$\(length)\r\n\(body)\r\n")
        }
        XCTAssertEqual(encode(resp3: false) { $0.bulk("a"); $0.bulk(""); $0.bulk("bc") },
                       "$1\r\na\r\n$0\r\n\r\n$2\r\nbc\r\n")
    }

    func testScalars() {
        XCTAssertEqual(encode(resp3: false) { $0.integer(-42) }, ":-42\r\n")
        XCTAssertEqual(encode(resp3: false) { $0.integer(Int.min) }, ":-9223372036854775808\r\n")
        XCTAssertEqual(encode(resp3: false) { $0.bulk("hi") }, "$2\r\nhi\r\n")
        XCTAssertEqual(encode(resp3: false) { $0.null() }, "$-1\r\n")
        XCTAssertEqual(encode(resp3: true) { $0.null() }, "_\r\n")
        XCTAssertEqual(encode(resp3: false) { $0.nullArray() }, "*-1\r\n")
        XCTAssertEqual(encode(resp3: false) { $0.error("ERR a\r\nb") }, "-ERR a  b\r\n")
    }

    func testAggregatesDegradeInRESP2() {
        XCTAssertEqual(encode(resp3: false) { $0.mapHeader(2) }, "*4\r\n")
        XCTAssertEqual(encode(resp3: true) { $0.mapHeader(2) }, "%2\r\n")
        XCTAssertEqual(encode(resp3: true) { $0.setHeader(3) }, "~3\r\n")
        XCTAssertEqual(encode(resp3: true) { $0.boolean(true) }, "#t\r\n")
        XCTAssertEqual(encode(resp3: false) { $0.boolean(false) }, ":0\r\n")
        XCTAssertEqual(encode(resp3: true) { $0.double(1.5) }, ",1.5\r\n")
        XCTAssertEqual(encode(resp3: false) { $0.double(1.5) }, "$3\r\n1.5\r\n")
        XCTAssertEqual(encode(resp3: true) { $0.verbatim("x") }, "=5\r\ntxt:x\r\n")
    }

    func testLongDoubleFormattingMatchesRedis() {
        func human(_ s: String) -> String {
            let value = Array(s.utf8).withUnsafeBytes { DoubleFormat.parseLongDouble($0) }!
            return DoubleFormat.humanFriendly(value)
        }
        XCTAssertEqual(human("10.5"), "10.5")
        XCTAssertEqual(human("5.0e3"), "5000")
        // Redis adds in long double: 0.1 + 0.2 prints as 0.3, not 0.30000000000000004.
        let a = Array("0.1".utf8).withUnsafeBytes { DoubleFormat.parseLongDouble($0) }!
        let b = Array("0.2".utf8).withUnsafeBytes { DoubleFormat.parseLongDouble($0) }!
        XCTAssertEqual(DoubleFormat.humanFriendly(a + b), "0.3")
        XCTAssertNil(Array(" 1".utf8).withUnsafeBytes { DoubleFormat.parseLongDouble($0) })
        XCTAssertNil(Array("nan".utf8).withUnsafeBytes { DoubleFormat.parseLongDouble($0) })
    }
}

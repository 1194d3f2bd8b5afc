import NIOCore

/// Size limits the request parser enforces. Set from config (`proto-max-bulk-len`).
public struct RequestLimits: Sendable {
    /// Largest bulk string accepted (`proto-max-bulk-len`, 512 MB by default).
    public var maxBulkLength: Int
    /// Longest inline request or count line without a newline (Redis's PROTO_INLINE_MAX_SIZE).
    public var maxInlineLength: Int

    public init(maxBulkLength: Int = 512 * 1024 * 1024, maxInlineLength: Int = 64 * 1024) {
        self.maxBulkLength = maxBulkLength
        self.maxInlineLength = maxInlineLength
    }

    /// Redis caps request sizes for clients that still have to authenticate.
    public static let unauthenticatedMaxArguments = 10
    public static let unauthenticatedMaxBulk = 16 * 1024
}

/// A malformed request. The connection answers `-ERR Protocol error: <message>` and closes.
public struct ProtocolError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }

    public static let invalidMultibulkLength = ProtocolError("invalid multibulk length")
    public static let invalidBulkLength = ProtocolError("invalid bulk length")
    public static let unauthenticatedMultibulkLength = ProtocolError("unauthenticated multibulk length")
    public static let unauthenticatedBulkLength = ProtocolError("unauthenticated bulk length")
    public static let tooBigMultibulkCount = ProtocolError("too big mbulk count string")
    public static let tooBigBulkCount = ProtocolError("too big bulk count string")
    public static let tooBigInline = ProtocolError("too big inline request")
    public static let unbalancedQuotes = ProtocolError("unbalanced quotes in request")
    public static func expectedDollar(got byte: UInt8) -> ProtocolError {
        ProtocolError("expected '$', got '\(Character(Unicode.Scalar(byte)))'")
    }
}

/// One complete request found by `RequestParser.next`.
public enum ParsedRequest {
    /// A multibulk command; its arguments are the ranges (absolute indices into the buffer).
    /// `end` is where the next request starts.
    case command(end: Int)
    /// An inline command; its arguments are ranges into `storage`, a new buffer holding the
    /// unquoted words.
    case inline(storage: ByteBuffer, end: Int)
    /// Nothing to run (an empty inline line or a multibulk count <= 0), skip to `end`.
    case empty(end: Int)
}

/*
 Incremental RESP request parser, following Redis's processMultibulkBuffer and
 processInlineBuffer (networking.c) so that errors and edge cases match:

 - A request starting with '*' is multibulk: a count line, then `$len\r\n<bytes>\r\n` per
   argument. Like Redis, the bytes after a bulk payload are skipped, not checked, and a line
   ends at '\r' followed by any byte.
 - Anything else is an inline request: one line split into words, with Redis's quoting.
 - Arguments are never copied: they are ranges of the receive buffer, which the caller
   keeps alive until the command has run.

 Contract (SwiftNIO's decoder contract): `nil` means "need more bytes", a thrown
 `ProtocolError` means the input is malformed. A multibulk request that arrives in pieces is
 resumed where it stopped (`pendingArguments`, `resumeIndex`), so a command with a million
 arguments is not re-scanned on every read.
*/
public struct RequestParser {
    public var limits: RequestLimits
    /// Arguments still expected by the multibulk request being parsed (0: none in progress).
    private var pendingArguments = 0
    /// Where to continue scanning the request in progress (absolute buffer index).
    private var resumeIndex = 0

    public init(limits: RequestLimits = RequestLimits()) { self.limits = limits }

    /// True while a multibulk request has been started but not completed.
    public var isInsideRequest: Bool { pendingArguments > 0 }

    /// Parses the request that starts at `buffer.readerIndex`. `ranges` receives the
    /// argument ranges; it is cleared when a new request starts.
    /// - Parameter authenticated: false applies Redis's smaller limits for clients that
    ///   must still AUTH.
    public mutating func next(_ buffer: ByteBuffer, ranges: inout [Range<Int>],
                              authenticated: Bool = true) throws -> ParsedRequest? {
        let start = buffer.readerIndex
        let end = buffer.writerIndex
        if start == end { return nil }
        if pendingArguments == 0 {
            ranges.removeAll(keepingCapacity: true)
            if buffer.getInteger(at: start, as: UInt8.self) == UInt8(ascii: "*") {
                return try parseMultibulkStart(buffer, start: start, end: end, ranges: &ranges,
                                               authenticated: authenticated)
            }
            return try parseInline(buffer, start: start, end: end, ranges: &ranges)
        }
        return try parseArguments(buffer, end: end, ranges: &ranges, authenticated: authenticated)
    }

    private mutating func parseMultibulkStart(_ buffer: ByteBuffer, start: Int, end: Int,
                                              ranges: inout [Range<Int>],
                                              authenticated: Bool) throws -> ParsedRequest? {
        guard let lineEnd = buffer.findCR(from: start + 1, to: end) else {
            if end - start > limits.maxInlineLength { throw ProtocolError.tooBigMultibulkCount }
            return nil
        }
        guard lineEnd + 1 < end else { return nil }  // need the byte after '\r'
        guard let count = buffer.parseStrictInt(from: start + 1, to: lineEnd), count <= Int(Int32.max) else {
            throw ProtocolError.invalidMultibulkLength
        }
        let afterCount = lineEnd + 2
        if count <= 0 { return .empty(end: afterCount) }
        if !authenticated && count > RequestLimits.unauthenticatedMaxArguments {
            throw ProtocolError.unauthenticatedMultibulkLength
        }
        pendingArguments = count
        resumeIndex = afterCount
        if ranges.capacity < count { ranges.reserveCapacity(Swift.min(count, 1024)) }
        return try parseArguments(buffer, end: end, ranges: &ranges, authenticated: authenticated)
    }

    private mutating func parseArguments(_ buffer: ByteBuffer, end: Int, ranges: inout [Range<Int>],
                                         authenticated: Bool) throws -> ParsedRequest? {
        var index = resumeIndex
        while pendingArguments > 0 {
            guard index < end else { break }
            let first = buffer.getInteger(at: index, as: UInt8.self)!
            guard first == UInt8(ascii: "$") else {
                reset()
                throw ProtocolError.expectedDollar(got: first)
            }
            guard let lineEnd = buffer.findCR(from: index + 1, to: end) else {
                if end - index > limits.maxInlineLength { reset(); throw ProtocolError.tooBigBulkCount }
                break
            }
            guard lineEnd + 1 < end else { break }
            guard let length = buffer.parseStrictInt(from: index + 1, to: lineEnd), length >= 0,
                  length <= limits.maxBulkLength else {
                reset()
                throw ProtocolError.invalidBulkLength
            }
            if !authenticated && length > RequestLimits.unauthenticatedMaxBulk {
                reset()
                throw ProtocolError.unauthenticatedBulkLength
            }
            let payloadStart = lineEnd + 2
            // The payload plus its trailing CRLF must be here.
            guard end - payloadStart >= length + 2 else { break }
            ranges.append(payloadStart..<(payloadStart + length))
            index = payloadStart + length + 2
            pendingArguments -= 1
        }
        resumeIndex = index
        if pendingArguments > 0 { return nil }
        return .command(end: index)
    }

    /// The buffer's first `count` bytes were discarded (all before the request in
    /// progress): its resume index moves back with them; the caller moves its ranges.
    public mutating func rebase(discarding count: Int) {
        if pendingArguments > 0 { resumeIndex -= count }
    }

    /// Forgets a partially parsed request (after an error, or when the client resets).
    public mutating func reset() {
        pendingArguments = 0
        resumeIndex = 0
    }

    private func parseInline(_ buffer: ByteBuffer, start: Int, end: Int,
                             ranges: inout [Range<Int>]) throws -> ParsedRequest? {
        guard let newline = buffer.findByte(UInt8(ascii: "\n"), from: start, to: end) else {
            if end - start > limits.maxInlineLength { throw ProtocolError.tooBigInline }
            return nil
        }
        var lineEnd = newline
        if lineEnd > start, buffer.getInteger(at: lineEnd - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            lineEnd -= 1
        }
        let line = buffer.getSlice(at: start, length: lineEnd - start)!
        guard let words = InlineSplitter.split(line) else { throw ProtocolError.unbalancedQuotes }
        if words.ranges.isEmpty { return .empty(end: newline + 1) }
        ranges.append(contentsOf: words.ranges)
        return .inline(storage: words.storage, end: newline + 1)
    }
}

extension ByteBuffer {
    /// Index of the first '\r' in [from, to), or nil.
    @inlinable
    func findCR(from: Int, to: Int) -> Int? {
        findByte(UInt8(ascii: "\r"), from: from, to: to)
    }

    /// Index of the first `byte` in [from, to) (absolute indices), or nil.
    @inlinable
    func findByte(_ byte: UInt8, from: Int, to: Int) -> Int? {
        guard from < to else { return nil }
        return withVeryUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress else { return nil }
            guard let hit = memchr(base + from, Int32(byte), to - from) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    /// Parses a decimal integer the way Redis's string2ll does: optional '-', no '+', no
    /// leading zeros, no spaces, must fit in Int64.
    @inlinable
    func parseStrictInt(from: Int, to: Int) -> Int? {
        withVeryUnsafeBytes { raw -> Int? in
            StrictInteger.parse(UnsafeRawBufferPointer(rebasing: raw[from..<to]))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

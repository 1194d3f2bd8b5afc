import NIOCore

/*
 A minimal RESP2 reply parser: the load generator only needs to know what kind of reply
 came back and, for GET, the bulk bytes to verify. It parses + - : $ (including $-1) and *
 (elements parsed and dropped, nesting capped), so any reply a server might send to GET or
 SET keeps the stream in sync. Contract as in SwiftNIO decoders: nil = need more bytes,
 throw = malformed input.
*/

/// One reply, reduced to what the load generator looks at.
enum RESPReply {
    case status
    case error(String)
    case integer(Int)
    /// A bulk string (a slice of the receive buffer), or nil for the null bulk `$-1`.
    case bulk(ByteBuffer?)
    /// An array (its elements are not kept); -1 for the null array.
    case array(Int)
}

/// The input was not RESP2.
struct RESPProtocolError: Error, CustomStringConvertible {
    let description: String
}

/// Turns the byte stream into `RESPReply`s.
struct RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPReply

    /// Arrays nested deeper than this are refused (a server bug would otherwise recurse).
    static let maximumNesting = 32

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let start = buffer.readerIndex
        guard let reply = try Self.parse(&buffer, depth: 0) else {
            buffer.moveReaderIndex(to: start)
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// Parses one reply, advancing `buffer`; nil (with `buffer` partly consumed: the
    /// caller rewinds) when it is incomplete.
    static func parse(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPReply? {
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return readLine(&buffer) == nil ? nil : .status
        case UInt8(ascii: "-"):
            guard let line = readLine(&buffer) else { return nil }
            return .error(String(buffer: line))
        case UInt8(ascii: ":"):
            guard let line = readLine(&buffer) else { return nil }
            return .integer(try integer(line))
        case UInt8(ascii: "$"):
            guard let line = readLine(&buffer) else { return nil }
            let length = try integer(line)
            if length < 0 { return .bulk(nil) }
            guard buffer.readableBytes >= length + 2, let body = buffer.readSlice(length: length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(body)
        case UInt8(ascii: "*"):
            guard let line = readLine(&buffer) else { return nil }
            let count = try integer(line)
            guard depth < maximumNesting else { throw RESPProtocolError(description: "arrays nested too deep") }
            for _ in 0..<max(count, 0) {
                guard try parse(&buffer, depth: depth + 1) != nil else { return nil }
            }
            return .array(count)
        default:
            throw RESPProtocolError(description: "unexpected reply type byte \(type)")
        }
    }

    /// The bytes up to the next CRLF (which is consumed), or nil if no CRLF yet.
    private static func readLine(_ buffer: inout ByteBuffer) -> ByteBuffer? {
        let end = buffer.withUnsafeReadableBytes { bytes -> Int? in
            var i = 0
            while i + 1 < bytes.count {
                if bytes[i] == 13 && bytes[i + 1] == 10 { return i }
                i += 1
            }
            return nil
        }
        guard let end, let line = buffer.readSlice(length: end) else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    private static func integer(_ line: ByteBuffer) throws -> Int {
        guard let v = Int(String(buffer: line)) else {
            throw RESPProtocolError(description: "bad integer '\(String(buffer: line))'")
        }
        return v
    }
}

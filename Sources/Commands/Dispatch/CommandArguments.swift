import NIOCore
import RESP

/// The arguments of one command: ranges of a buffer that holds their bytes (the receive
/// buffer, or a copy for inline and queued commands). Parsing never copies an argument;
/// a handler copies only what it stores.
///
/// The pointers `bytes(_:)` returns stay valid as long as this value is alive: the buffer
/// is never written to while a command runs.
public struct CommandArguments {
    public let buffer: ByteBuffer
    public let ranges: [Range<Int>]

    public init(buffer: ByteBuffer, ranges: [Range<Int>]) {
        self.buffer = buffer
        self.ranges = ranges
    }

    /// Builds arguments from separate byte strings (tests, internal callers).
    public init(_ words: [[UInt8]]) {
        var buffer = ByteBufferAllocator().buffer(capacity: words.reduce(0) { $0 + $1.count })
        var ranges: [Range<Int>] = []
        for word in words {
            let start = buffer.writerIndex
            buffer.writeBytes(word)
            ranges.append(start..<buffer.writerIndex)
        }
        self.init(buffer: buffer, ranges: ranges)
    }

    public init(_ words: [String]) { self.init(words.map { Array($0.utf8) }) }

    @inlinable public var count: Int { ranges.count }

    /// The bytes of argument `index`, without copying.
    @inlinable
    public func bytes(_ index: Int) -> UnsafeRawBufferPointer {
        let range = ranges[index]
        return buffer.withVeryUnsafeBytes { all in
            UnsafeRawBufferPointer(rebasing: all[range])
        }
    }

    /// A copy of argument `index`.
    @inlinable
    public func array(_ index: Int) -> [UInt8] { [UInt8](bytes(index)) }

    /// Argument `index` as text (invalid UTF-8 is repaired; for names and options only).
    public func string(_ index: Int) -> String { String(decoding: bytes(index), as: UTF8.self) }

    /// Argument `index` lowercased, for subcommand and option names.
    public func lowercased(_ index: Int) -> String { string(index).lowercased() }

    /// Argument `index` as an integer under Redis's strict rules, or nil.
    @inlinable
    public func integer(_ index: Int) -> Int? { StrictInteger.parse(bytes(index)) }

    /// Argument `index` as a double (strtod rules, no NaN), or nil.
    public func double(_ index: Int) -> Double? { DoubleFormat.parseDouble(bytes(index)) }

    /// True when argument `index` equals `word`, ignoring ASCII case. `word` is lowercase.
    @inlinable
    public func matches(_ index: Int, _ word: StaticString) -> Bool {
        let arg = bytes(index)
        guard arg.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for i in 0..<arg.count {
            var c = arg[i]
            if c >= 65 && c <= 90 { c |= 0x20 }
            if c != w[i] { return false }
        }
        return true
    }

    /// All arguments as byte arrays (for queued commands, MONITOR, SLOWLOG).
    public var arrays: [[UInt8]] { (0..<count).map { array($0) } }

    /// A copy whose buffer holds only these arguments, so that it can be kept after the
    /// receive buffer is reused (MULTI queue, parked commands).
    public func detached() -> CommandArguments { CommandArguments(arrays) }
}

import Foundation

/// How key number `n` becomes a key name: `prefix + decimal(n) + suffix`, from a format
/// such as `key:%d`. The loader, the readers and rocksdb-gets all derive names here, so a
/// load phase and a later read phase (possibly another process) always agree.
public struct KeyFormat: Sendable {
    public let prefix: [UInt8]
    public let suffix: [UInt8]

    /// The format must contain `%d` exactly once.
    public init?(_ format: String) {
        let parts = format.components(separatedBy: "%d")
        guard parts.count == 2 else { return nil }
        prefix = Array(parts[0].utf8)
        suffix = Array(parts[1].utf8)
    }

    /// Length in bytes of the name of key `n`.
    @inlinable
    public func length(of n: Int) -> Int {
        prefix.count + decimalDigits(n) + suffix.count
    }

    /// Writes the name of key `n` at `dst` (which must have `length(of: n)` bytes) and
    /// returns the number of bytes written.
    @inlinable
    public func write(_ n: Int, to dst: UnsafeMutableRawBufferPointer) -> Int {
        var at = 0
        for b in prefix { dst[at] = b; at += 1 }
        let digits = decimalDigits(n)
        var v = n
        var i = at + digits - 1
        repeat {
            dst[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
            v /= 10
            i -= 1
        } while v > 0
        at += digits
        for b in suffix { dst[at] = b; at += 1 }
        return at
    }

    /// The name of key `n` as a String (for messages, not for the hot path).
    public func name(_ n: Int) -> String {
        String(decoding: prefix, as: UTF8.self) + String(n) + String(decoding: suffix, as: UTF8.self)
    }
}

/// Number of decimal digits of a non-negative integer (1 for 0).
@inlinable
public func decimalDigits(_ n: Int) -> Int {
    var digits = 1
    var v = n
    while v >= 10 { v /= 10; digits += 1 }
    return digits
}

/*
 The value stored under key n is a pure function of (n, size), so any reader can check a
 GET reply byte for byte without remembering what was written, and a SET in the mixed
 workload rewrites the same bytes the loader wrote (a verifying reader never sees a
 legitimate change). Bytes come from SplitMix64 seeded by n, six bits at a time, mapped
 to a 64-character printable alphabet (values stay readable in redis-cli): different keys
 get different values, so a server that returns another key's value is caught.
*/

/// Fills values for keys: `DeterministicValue.fill(key:into:)`.
public enum DeterministicValue {
    @usableFromInline
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Writes the value of key `n` into all of `dst` (its count is the value size).
    @inlinable
    public static func fill(key n: Int, into dst: UnsafeMutableRawBufferPointer) {
        var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: n) &+ 0x5EED)
        var i = 0
        let count = dst.count
        alphabet.withUnsafeBufferPointer { table in
            while i < count {
                var word = rng.next()
                // 10 characters of 6 bits per 64-bit word.
                var k = 0
                while k < 10 && i < count {
                    dst[i] = table[Int(word & 63)]
                    word >>= 6
                    k += 1
                    i += 1
                }
            }
        }
    }

    /// The value of key `n` as an array (for tests and messages).
    public static func bytes(key n: Int, size: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
            fill(key: n, into: UnsafeMutableRawBufferPointer(buf))
            initialized = size
        }
    }
}

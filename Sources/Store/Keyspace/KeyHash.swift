/// The hash of a key's bytes: a fast multiply-xorshift hash over 8-byte words with a
/// random seed (so that clients cannot choose colliding keys ahead of time). RocksDB's key
/// names and the cold index depend on it, so a persistent data directory keeps its seed
/// (StorageMetadata) and start-up sets it before any key is hashed.
public enum KeyHash {
    nonisolated(unsafe) public static var seed: UInt64 = UInt64.random(in: 1...UInt64.max)

    @inlinable @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 33)) &* 0xff51afd7ed558ccd
        z = (z ^ (z >> 33)) &* 0xc4ceb9fe1a85ec53
        return z ^ (z >> 33)
    }

    /// 64-bit hash of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = seed ^ (UInt64(truncatingIfNeeded: bytes.count) &* 0x9E3779B97F4A7C15)
        var index = 0
        let count = bytes.count
        guard let base = bytes.baseAddress else { return mix(h) }
        while index + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            h = (h ^ mix(word)) &* 0x9E3779B97F4A7C15
            h = (h << 31) | (h >> 33)
            index += 8
        }
        if index < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < count {
                tail |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << shift
                shift += 8
                index += 1
            }
            h = (h ^ mix(tail)) &* 0x9E3779B97F4A7C15
        }
        return mix(h)
    }

    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash($0) }
    }
}

/// A RocksDB key used as a dictionary key on the execution thread (reads in flight, pinned
/// keys, keys known absent): hashed once with `KeyHash`. Swift's `Hasher` takes a
/// `[UInt8]` one byte at a time, which was 4% of the execution thread's time when most
/// reads were cold.
public struct RocksKey: Hashable {
    public let bytes: [UInt8]
    let hash: UInt64

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        hash = bytes.withUnsafeBytes { KeyHash.hash($0) }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    public static func == (a: RocksKey, b: RocksKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
}

import CRocksDBBench
import LoadSupport

/// Keys per WriteBatch when loading: big enough that per-write overhead vanishes, small
/// enough that a batch (about 1 MB at 100 B values) stays cheap to build.
let keysPerBatch = 10_000

/// Writes every key 0..<keys with its deterministic value (the same names and bytes
/// strata-load uses), then flushes and compacts. Returns (load seconds, compaction seconds).
func loadKeys(_ db: RocksDB, keys: Int, valueSize: Int, format: KeyFormat) throws -> (Double, Double) {
    let start = monotonicNanos()
    let batch = rocksdb_writebatch_create()!
    defer { rocksdb_writebatch_destroy(batch) }
    var key = [UInt8](repeating: 0, count: format.length(of: max(keys - 1, 0)))
    var value = [UInt8](repeating: 0, count: valueSize)
    var n = 0
    while n < keys {
        let end = min(n + keysPerBatch, keys)
        rocksdb_writebatch_clear(batch)
        for k in n..<end {
            let keyLength = key.withUnsafeMutableBytes { format.write(k, to: $0) }
            value.withUnsafeMutableBytes { DeterministicValue.fill(key: k, into: $0) }
            key.withUnsafeBytes { kp in
                value.withUnsafeBytes { vp in
                    rocksdb_writebatch_put(batch, kp.baseAddress!.assumingMemoryBound(to: CChar.self), keyLength,
                                           vp.baseAddress!.assumingMemoryBound(to: CChar.self), valueSize)
                }
            }
        }
        try db.write(batch)
        n = end
    }
    let loaded = monotonicNanos()
    try db.flushAndCompact()
    let compacted = monotonicNanos()
    return (Double(loaded - start) / 1e9, Double(compacted - loaded) / 1e9)
}

import CRocksDBBench
import Foundation
import LoadSupport

/// What one reader thread does.
struct ReaderPlan: Sendable {
    var keys: Int
    var valueSize: Int
    var format: KeyFormat
    /// 1: one rocksdb_get per key; more: rocksdb_multi_get batches of this many keys.
    var batch: Int
    var verify: Bool
    var seed: UInt64
    /// Gets before this instant (monotonic ns) are not recorded.
    var measureFrom: UInt64
    var stopAt: UInt64
}

/// What one reader thread measured. Latency in nanoseconds, per get or per multiget batch.
struct ReaderResult: Sendable {
    var gets: UInt64 = 0
    var hits: UInt64 = 0
    var misses: UInt64 = 0
    var mismatches: UInt64 = 0
    var errors: UInt64 = 0
    var firstError: String?
    var latency = makeLatencyHistogram(highest: 60_000_000_000)
}

/*
 A reader draws uniform random keys (the cold-read case: no locality for the block cache
 beyond what the cache size gives) and times each rocksdb_get, or each rocksdb_multi_get
 batch, with the monotonic clock. Values come back malloc()ed and are freed at once.
*/
func runReader(_ db: RocksDB, _ plan: ReaderPlan) -> ReaderResult {
    var rng = SplitMix64(seed: plan.seed)
    var result = ReaderResult()
    let keyCapacity = plan.format.length(of: max(plan.keys - 1, 0))
    // One key buffer per batch slot: multi_get needs all keys alive at once.
    let keyBuffers = UnsafeMutableRawBufferPointer.allocate(byteCount: keyCapacity * plan.batch, alignment: 1)
    defer { keyBuffers.deallocate() }
    var keyNumbers = [Int](repeating: 0, count: plan.batch)
    var keyPointers = [UnsafePointer<CChar>?](repeating: nil, count: plan.batch)
    var keyLengths = [Int](repeating: 0, count: plan.batch)
    var values = [UnsafeMutablePointer<CChar>?](repeating: nil, count: plan.batch)
    var valueLengths = [Int](repeating: 0, count: plan.batch)
    var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: plan.batch)
    var expected = [UInt8](repeating: 0, count: plan.valueSize)
    for i in 0..<plan.batch {
        keyPointers[i] = UnsafePointer(keyBuffers.baseAddress!.advanced(by: i * keyCapacity).assumingMemoryBound(to: CChar.self))
    }

    while true {
        let start = monotonicNanos()
        if start >= plan.stopAt { break }
        for i in 0..<plan.batch {
            let n = rng.below(plan.keys)
            keyNumbers[i] = n
            let slot = UnsafeMutableRawBufferPointer(rebasing: keyBuffers[(i * keyCapacity)..<((i + 1) * keyCapacity)])
            keyLengths[i] = plan.format.write(n, to: slot)
        }
        if plan.batch == 1 {
            var length = 0
            values[0] = rocksdb_get(db.db, db.readOptions, keyPointers[0], keyLengths[0], &length, &errors[0])
            valueLengths[0] = length
        } else {
            rocksdb_multi_get(db.db, db.readOptions, plan.batch, keyPointers, keyLengths, &values, &valueLengths, &errors)
        }
        let end = monotonicNanos()
        let recorded = start >= plan.measureFrom
        if recorded { result.latency.record(max(1, end - start)) }

        for i in 0..<plan.batch {
            if let error = errors[i] {
                if recorded {
                    result.errors += 1
                    if result.firstError == nil { result.firstError = String(cString: error) }
                }
                rocksdb_free(error)
                errors[i] = nil
                continue
            }
            guard let value = values[i] else {
                if recorded { result.gets += 1; result.misses += 1 }
                continue
            }
            if recorded {
                result.gets += 1
                result.hits += 1
                if plan.verify {
                    expected.withUnsafeMutableBytes { DeterministicValue.fill(key: keyNumbers[i], into: $0) }
                    let same = valueLengths[i] == plan.valueSize
                        && expected.withUnsafeBytes { memcmp(value, $0.baseAddress!, plan.valueSize) == 0 }
                    if !same { result.mismatches += 1 }
                }
            }
            rocksdb_free(value)
            values[i] = nil
        }
    }
    return result
}

/// Runs `count` readers on threads of their own (not GCD: it would cap concurrency at the
/// core count, and oversubscription is part of what --threads explores), returns their results.
func runReaders(count: Int, _ body: @escaping @Sendable (Int) -> ReaderResult) -> [ReaderResult] {
    final class Results: @unchecked Sendable {  // guarded by `lock`
        let lock = NSLock()
        var items: [ReaderResult] = []
    }
    let results = Results()
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let thread = Thread {
            let r = body(i)
            results.lock.lock()
            results.items.append(r)
            results.lock.unlock()
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
    return results.items
}

/*
 Per-command latency distribution for INFO latencystats (Redis keeps an HDR histogram per
 command). Log-linear buckets over nanoseconds: values below 64 have a bucket each, above
 that every power of two is split in 32, so a bucket is at most ~3% wide. Allocated on a
 command's first call; recording is one index computation and one increment.
*/
public final class LatencyHistogram {
    static let linearLimit = 64
    static let subBucketBits = 5
    static let subBuckets = 1 << subBucketBits
    /// Values of 2^40 ns (18 minutes) and more share the last bucket.
    static let maxExponent = 39
    static let bucketCount = linearLimit + (maxExponent + 1 - 6) * subBuckets

    /// 32-bit counts (saturating): a histogram exists for every command called, and its
    /// memory counts against maxmemory.
    private var buckets = [UInt32](repeating: 0, count: LatencyHistogram.bucketCount)
    /// Recorded values.
    public private(set) var count = 0

    public init() {}

    @inline(__always)
    static func index(_ nanos: UInt64) -> Int {
        if nanos < UInt64(linearLimit) { return Int(nanos) }
        let exponent = 63 - nanos.leadingZeroBitCount  // >= 6
        if exponent > maxExponent { return bucketCount - 1 }
        let sub = Int((nanos >> UInt64(exponent - subBucketBits)) & UInt64(subBuckets - 1))
        return linearLimit + (exponent - 6) * subBuckets + sub
    }

    /// The largest value that falls in bucket `index`.
    static func upperBound(_ index: Int) -> UInt64 {
        if index < linearLimit { return UInt64(index) }
        let exponent = (index - linearLimit) / subBuckets + 6
        let sub = UInt64((index - linearLimit) % subBuckets)
        let width = UInt64(1) << UInt64(exponent - subBucketBits)
        let base = (UInt64(1) << UInt64(exponent)) + sub * width
        return base + width - 1
    }

    @inline(__always)
    public func record(nanoseconds: UInt64) {
        let index = LatencyHistogram.index(nanoseconds)
        if buckets[index] != .max { buckets[index] += 1 }
        count += 1
    }

    /// The value (microseconds) below which `percentile` percent of the samples fall.
    public func percentile(_ percentile: Double) -> Double {
        guard count > 0 else { return 0 }
        let target = max(1, Int((percentile / 100 * Double(count)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += Int(n)
            if seen >= target { return Double(LatencyHistogram.upperBound(index)) / 1000 }
        }
        return Double(LatencyHistogram.upperBound(buckets.count - 1)) / 1000
    }

    /// Cumulative counts at doubling bounds starting at 1024 ns (LATENCY HISTOGRAM, as
    /// Redis iterates its histogram): (bound in µs, samples below it), listed only where
    /// the count grows.
    public func powerOfTwoBuckets() -> [(Int, Int)] {
        var result: [(Int, Int)] = []
        var cumulative = 0
        var limit: UInt64 = 1024
        var index = 0
        while cumulative < count && index < buckets.count {
            while index < buckets.count && LatencyHistogram.upperBound(index) < limit {
                cumulative += Int(buckets[index])
                index += 1
            }
            if cumulative > (result.last?.1 ?? 0) { result.append((Int(limit / 1000), cumulative)) }
            limit *= 2
        }
        return result
    }
}

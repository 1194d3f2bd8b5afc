import Foundation
import Histogram

/// Latency histograms: microseconds for network round trips (strata-load), nanoseconds
/// for in-process gets (rocksdb-gets, where a cached get takes about a microsecond).
/// Three significant digits; values above the top are clamped to it rather than lost.
public typealias LatencyHistogram = Histogram<UInt64>

public func makeLatencyHistogram(highest: UInt64) -> LatencyHistogram {
    var h = LatencyHistogram(lowestDiscernibleValue: 1, highestTrackableValue: highest,
                             numberOfSignificantValueDigits: .three)
    h.autoResize = true
    return h
}

/// The outcome of a run, in the one format both tools print. Latencies are microseconds.
public struct RunSummary: Sendable {
    public var seconds: Double = 0
    public var requests: UInt64 = 0
    public var gets: UInt64 = 0
    public var sets: UInt64 = 0
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    public var mismatches: UInt64 = 0
    public var errors: UInt64 = 0
    public var p50: Double = 0
    public var p90: Double = 0
    public var p99: Double = 0
    public var p999: Double = 0
    public var max: Double = 0

    public init() {}

    /// Fills the percentiles from `histogram`, whose unit is `unitsPerMicrosecond`
    /// (1 for µs, 1000 for ns).
    public mutating func setLatencies(_ histogram: LatencyHistogram, unitsPerMicrosecond: Double) {
        guard histogram.totalCount > 0 else { return }
        func us(_ v: UInt64) -> Double { Double(v) / unitsPerMicrosecond }
        p50 = us(histogram.valueAtPercentile(50))
        p90 = us(histogram.valueAtPercentile(90))
        p99 = us(histogram.valueAtPercentile(99))
        p999 = us(histogram.valueAtPercentile(99.9))
        max = us(histogram.max)
    }

    public var opsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }
    public var hitRate: Double { gets > 0 ? Double(hits) / Double(gets) : 0 }

    /// A few readable lines.
    public func humanReadable(title: String) -> String {
        """
        \(title)
          \(requests) requests in \(fmt(seconds, 2)) s: \(fmt(opsPerSecond, 0)) ops/s
          gets \(gets) (hits \(hits), misses \(misses), hit rate \(fmt(hitRate * 100, 2))%), sets \(sets)
          mismatches \(mismatches), errors \(errors)
          latency us: p50 \(fmt(p50, 1))  p90 \(fmt(p90, 1))  p99 \(fmt(p99, 1))  p99.9 \(fmt(p999, 1))  max \(fmt(max, 1))
        """
    }

    /// One JSON object on one line, fields in a fixed order.
    public var jsonLine: String {
        "{\"ops_per_sec\":\(fmt(opsPerSecond, 1)),\"requests\":\(requests),\"gets\":\(gets),\"sets\":\(sets)," +
            "\"hits\":\(hits),\"misses\":\(misses),\"hit_rate\":\(fmt(hitRate, 6)),\"mismatches\":\(mismatches)," +
            "\"errors\":\(errors),\"p50_us\":\(fmt(p50, 1)),\"p90_us\":\(fmt(p90, 1)),\"p99_us\":\(fmt(p99, 1))," +
            "\"p999_us\":\(fmt(p999, 1)),\"max_us\":\(fmt(max, 1))}"
    }
}

/// Fixed-point formatting, `digits` after the point.
public func fmt(_ v: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", v)
}

/// Latency spikes per event, as Redis's LATENCY command reports them: samples above
/// `latency-monitor-threshold` milliseconds.
public final class LatencyMonitor {
    public struct Sample {
        public let timestamp: Int
        public let milliseconds: Int
    }

    public struct Event {
        public var samples: [Sample] = []
        public var maxMilliseconds = 0
    }

    /// Samples kept per event (Redis: LATENCY_TS_LEN).
    public static let historyLength = 160
    public private(set) var events: [String: Event] = [:]
    public init() {}

    /// Records a sample of `milliseconds` for `event` (one per second: a sample in the same
    /// second keeps the larger value).
    public func record(_ event: String, milliseconds: Int, timestamp: Int) {
        var entry = events[event] ?? Event()
        if let last = entry.samples.last, last.timestamp == timestamp {
            if milliseconds > last.milliseconds {
                entry.samples[entry.samples.count - 1] = Sample(timestamp: timestamp, milliseconds: milliseconds)
            }
        } else {
            entry.samples.append(Sample(timestamp: timestamp, milliseconds: milliseconds))
            if entry.samples.count > LatencyMonitor.historyLength { entry.samples.removeFirst() }
        }
        entry.maxMilliseconds = max(entry.maxMilliseconds, milliseconds)
        events[event] = entry
    }

    /// Forgets the named events (all when empty); returns how many were reset.
    @discardableResult
    public func reset(_ names: [String]) -> Int {
        if names.isEmpty {
            let count = events.count
            events.removeAll()
            return count
        }
        var count = 0
        for name in names where events.removeValue(forKey: name) != nil { count += 1 }
        return count
    }
}

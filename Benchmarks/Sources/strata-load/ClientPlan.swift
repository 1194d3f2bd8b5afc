import LoadSupport

/// What one connection does; built by the command, copied into the connection's handler.
struct ClientPlan: Sendable {
    enum Work: Sendable {
        /// SET every key of the range once, in order.
        case load(Range<Int>)
        /// GETs (fraction `readRatio`) and SETs of keys drawn by `chooser`; `quota` is this
        /// client's share of `--requests` (nil: run until the deadline).
        case mix(chooser: KeyChooser, readRatio: Double, quota: Int?)
    }

    var work: Work
    var pipeline: Int
    var valueSize: Int
    var keyFormat: KeyFormat
    var verify: Bool
    var seed: UInt64
}

/// The shared clock of a run, sent to every connection once all are connected, so that
/// warm-up and measurement start at the same instant for all of them.
struct Timeline: Sendable {
    /// Replies to batches sent before this instant (monotonic ns) are not recorded.
    var measureFrom: UInt64
    /// No batch is sent at or after this instant (nil: stop on the request quota).
    var stopAt: UInt64?
}

/// The user event that starts a connection's work.
struct StartSignal: Sendable {
    var timeline: Timeline
}

/// What one connection measured; merged into the run's summary.
struct ClientResult: Sendable {
    var requests: UInt64 = 0
    var gets: UInt64 = 0
    var sets: UInt64 = 0
    var hits: UInt64 = 0
    var misses: UInt64 = 0
    var mismatches: UInt64 = 0
    var errors: UInt64 = 0
    /// The first few error texts, for the report.
    var firstErrors: [String] = []
    /// Examples of mismatching keys (key number), for the report.
    var firstMismatches: [Int] = []
    /// When this connection's last recorded reply arrived (monotonic ns).
    var endedAt: UInt64 = 0
    /// Per-request latency in microseconds.
    var latency = makeLatencyHistogram(highest: 60_000_000)

    static let keptExamples = 5

    mutating func noteError(_ text: String) {
        errors += 1
        if firstErrors.count < Self.keptExamples { firstErrors.append(text) }
    }

    mutating func merge(_ other: ClientResult) {
        requests += other.requests
        gets += other.gets
        sets += other.sets
        hits += other.hits
        misses += other.misses
        mismatches += other.mismatches
        errors += other.errors
        firstErrors += other.firstErrors.prefix(Self.keptExamples - firstErrors.count)
        firstMismatches += other.firstMismatches.prefix(Self.keptExamples - firstMismatches.count)
        endedAt = max(endedAt, other.endedAt)
        latency.add(other.latency)
    }
}

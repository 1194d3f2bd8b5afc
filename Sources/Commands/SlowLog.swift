/// One SLOWLOG entry.
public struct SlowLogEntry {
    public let id: Int
    public let timestamp: Int
    public let microseconds: Int
    public let arguments: [[UInt8]]
    public let clientAddress: String
    public let clientName: String
}

/// Commands slower than `slowlog-log-slower-than`, newest first, at most `slowlog-max-len`.
public final class SlowLog {
    public private(set) var entries: [SlowLogEntry] = []
    private var nextID = 0
    public init() {}

    public func record(_ entry: (microseconds: Int, arguments: [[UInt8]], address: String, name: String),
                       timestamp: Int, maxLength: Int) {
        guard maxLength > 0 else { return }
        entries.insert(SlowLogEntry(id: nextID, timestamp: timestamp, microseconds: entry.microseconds,
                                    arguments: entry.arguments, clientAddress: entry.address,
                                    clientName: entry.name), at: 0)
        nextID += 1
        if entries.count > maxLength { entries.removeLast(entries.count - maxLength) }
    }

    public func reset() { entries.removeAll() }
}

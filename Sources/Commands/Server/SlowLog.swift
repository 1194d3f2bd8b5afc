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
    /// Arguments kept per entry (Redis: SLOWLOG_ENTRY_MAX_ARGC); the last one kept says
    /// how many more there were.
    public static let maxArguments = 32
    /// Bytes kept per argument (Redis: SLOWLOG_ENTRY_MAX_STRING).
    public static let maxArgumentLength = 128

    public private(set) var entries: [SlowLogEntry] = []
    private var nextID = 0
    public init() {}

    /// Records a command. Only the first arguments and bytes are copied (see the limits
    /// above), so a huge command costs no more than a small one; `redacted` positions are
    /// stored as "(redacted)".
    public func record(_ arguments: CommandArguments, redacted: [Int] = [], microseconds: Int,
                       address: String, name: String, timestamp: Int, maxLength: Int) {
        let kept = SlowLog.truncatedArguments(arguments, redacted: redacted)
        record((microseconds, kept, address, name), timestamp: timestamp, maxLength: maxLength)
    }

    /// Records an entry whose arguments are already truncated.
    public func record(_ entry: (microseconds: Int, arguments: [[UInt8]], address: String, name: String),
                       timestamp: Int, maxLength: Int) {
        guard maxLength > 0 else { return }
        entries.insert(SlowLogEntry(id: nextID, timestamp: timestamp, microseconds: entry.microseconds,
                                    arguments: entry.arguments, clientAddress: entry.address,
                                    clientName: entry.name), at: 0)
        nextID += 1
        if entries.count > maxLength { entries.removeLast(entries.count - maxLength) }
    }

    /// Redis's slowlogCreateEntry rules: at most 32 arguments, the 32nd replaced by
    /// "... (N more arguments)"; arguments over 128 bytes cut to 128 plus
    /// "... (N more bytes)".
    public static func truncatedArguments(_ arguments: CommandArguments, redacted: [Int] = []) -> [[UInt8]] {
        let keptCount = min(arguments.count, maxArguments)
        var kept: [[UInt8]] = []
        kept.reserveCapacity(keptCount)
        for index in 0..<keptCount {
            if index == maxArguments - 1 && arguments.count > maxArguments {
                kept.append(Array("... (\(arguments.count - maxArguments + 1) more arguments)".utf8))
            } else if redacted.contains(index) {
                kept.append(ArgumentRedaction.placeholder)
            } else {
                let bytes = arguments.bytes(index)
                if bytes.count > maxArgumentLength {
                    kept.append(Array(bytes.prefix(maxArgumentLength))
                                + Array("... (\(bytes.count - maxArgumentLength) more bytes)".utf8))
                } else {
                    kept.append(Array(bytes))
                }
            }
        }
        return kept
    }

    public func reset() { entries.removeAll() }

    /// Trims to `maxLength` entries (slowlog-max-len lowered).
    public func trim(to maxLength: Int) {
        if entries.count > maxLength { entries.removeLast(entries.count - max(0, maxLength)) }
    }
}

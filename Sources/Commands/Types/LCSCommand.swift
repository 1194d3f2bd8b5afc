import RESP
import Store

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN].
enum LCSCommand {
    /// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]; missing keys count as empty strings.
    static func lcs(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        // Both keys are looked up (and counted) before either is checked, as in Redis.
        let slotA = db.lookupRead(args.bytes(1))
        let slotB = db.lookupRead(args.bytes(2))
        var a: [UInt8] = []
        var b: [UInt8] = []
        if let slotA {
            guard case .string(let bytes) = slotA.pointee.value else { return refuseNonString(client) }
            a = bytes
        }
        if let slotB {
            guard case .string(let bytes) = slotB.pointee.value else { return refuseNonString(client) }
            b = bytes
        }
        var wantLength = false, wantIndexes = false, withMatchLength = false
        var minimumMatch = 0
        var index = 3
        while index < args.count {
            if args.matches(index, "idx") {
                wantIndexes = true
            } else if args.matches(index, "len") {
                wantLength = true
            } else if args.matches(index, "withmatchlen") {
                withMatchLength = true
            } else if args.matches(index, "minmatchlen") && index + 1 < args.count {
                guard let value = args.integer(index + 1) else { return client.error(ErrorReplies.notInteger) }
                minimumMatch = max(value, 0)
                index += 1
            } else {
                return client.error(ErrorReplies.syntax)
            }
            index += 1
        }
        if wantIndexes && wantLength {
            return client.error("ERR If you want both the length and indexes, please just use IDX.")
        }
        if a.count >= Int(UInt32.max) - 1 || b.count >= Int(UInt32.max) - 1 {
            return client.error("ERR String too long for LCS")
        }
        // The table is transient memory; Redis refuses it beyond proto-max-bulk-len.
        let (cells, overflow1) = (a.count + 1).multipliedReportingOverflow(by: b.count + 1)
        let (bytesNeeded, overflow2) = cells.multipliedReportingOverflow(by: MemoryLayout<UInt32>.size)
        if overflow1 || overflow2 || bytesNeeded > client.server.config.protoMaxBulkLength {
            return client.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        }
        let result = a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                LongestCommonSubsequence.compute(pa, pb, backtrack: !wantLength)
            }
        }
        if wantIndexes {
            let kept = result.matches.filter { minimumMatch == 0 || $0.length >= minimumMatch }
            client.reply.mapHeader(2)
            client.reply.bulk("matches")
            client.reply.arrayHeader(kept.count)
            for match in kept {
                client.reply.arrayHeader(withMatchLength ? 3 : 2)
                client.reply.arrayHeader(2)
                client.reply.integer(match.a.lowerBound)
                client.reply.integer(match.a.upperBound)
                client.reply.arrayHeader(2)
                client.reply.integer(match.b.lowerBound)
                client.reply.integer(match.b.upperBound)
                if withMatchLength { client.reply.integer(match.length) }
            }
            client.reply.bulk("len")
            client.reply.integer(result.length)
        } else if wantLength {
            client.reply.integer(result.length)
        } else {
            client.reply.bulk(result.text)
        }
    }

    private static func refuseNonString(_ client: Client) {
        client.error("ERR The specified keys must contain string values")
    }
}

/// The longest common subsequence of two byte strings, by the classic dynamic programming
/// table, walked back from the end the way Redis walks it so that the reported ranges (and
/// their order: last match first) are the same.
enum LongestCommonSubsequence {
    /// A run of consecutive matching bytes: its ranges in each string.
    struct Match: Equatable {
        var a: ClosedRange<Int>
        var b: ClosedRange<Int>
        /// Number of bytes in the run.
        var length: Int { a.count }
    }

    struct Result {
        /// Length of the LCS.
        var length: Int
        /// The LCS itself (empty unless `backtrack`).
        var text: [UInt8]
        /// The matching runs, from the end of the strings backwards (empty unless `backtrack`).
        var matches: [Match]
    }

    /// Fills the table and, with `backtrack`, recovers the LCS text and its matching runs.
    static func compute(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, backtrack: Bool) -> Result {
        let rows = a.count + 1, columns = b.count + 1
        // table[i * columns + j] = LCS length of a[0..<i] and b[0..<j].
        let table = UnsafeMutablePointer<UInt32>.allocate(capacity: rows * columns)
        defer { table.deallocate() }
        for j in 0..<columns { table[j] = 0 }
        for i in 1..<max(rows, 1) {
            let row = table + i * columns
            let above = row - columns
            row[0] = 0
            let byte = a[i - 1]
            for j in 1..<max(columns, 1) {
                if byte == b[j - 1] {
                    row[j] = above[j - 1] + 1
                } else {
                    row[j] = max(above[j], row[j - 1])
                }
            }
        }
        let length = Int(table[rows * columns - 1])
        guard backtrack else { return Result(length: length, text: [], matches: []) }

        var text = [UInt8](repeating: 0, count: length)
        var matches: [Match] = []
        var i = a.count, j = b.count, remaining = length
        // The run being collected, extended backwards while matches stay contiguous.
        var run: (aStart: Int, aEnd: Int, bStart: Int, bEnd: Int)? = nil
        while i > 0 && j > 0 {
            var emit = false
            if a[i - 1] == b[j - 1] {
                text[remaining - 1] = a[i - 1]
                if var current = run {
                    if current.aStart == i && current.bStart == j {
                        current.aStart -= 1
                        current.bStart -= 1
                        run = current
                    } else {
                        emit = true
                    }
                } else {
                    run = (i - 1, i - 1, j - 1, j - 1)
                }
                // A run touching the start of either string cannot grow: emit it now.
                if let current = run, current.aStart == 0 || current.bStart == 0 { emit = true }
                remaining -= 1
                i -= 1
                j -= 1
            } else {
                if table[(i - 1) * columns + j] > table[i * columns + j - 1] { i -= 1 } else { j -= 1 }
                if run != nil { emit = true }
            }
            if emit, let current = run {
                matches.append(Match(a: current.aStart...current.aEnd, b: current.bStart...current.bEnd))
                run = nil
            }
        }
        return Result(length: length, text: text, matches: matches)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RESP
import Store

/// KEYS and SCAN.
extension KeyCommands {
    /// Keys a SCAN call aims to return when COUNT is not given.
    static let defaultScanCount = 10

    /// KEYS pattern: every live key that matches. Keys whose time has passed are hidden but
    /// left for lazy or active expiry to collect (Redis 7.0 does not delete from KEYS), so
    /// DBSIZE still counts them.
    static func keys(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let now = client.server.store.nowMillis
        let pattern = args.bytes(1)
        let everything = GlobMatch.isMatchAll(pattern)
        // Nothing is inserted or removed until the reply is written, so the slots stay valid.
        var found: [SlotPointer] = []
        db.keys.forEach { slot in
            let expireAt = slot.pointee.expireAt
            if expireAt != 0 && expireAt <= now { return }
            if !everything {
                let matched = slot.pointee.key.withUnsafeBytes { GlobMatch.matches(pattern: pattern, subject: $0) }
                if !matched { return }
            }
            found.append(slot)
        }
        client.reply.arrayHeader(found.count)
        for slot in found { client.reply.bulk(slot.pointee.key) }
    }

    /// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type].
    ///
    /// Walks buckets with `Keyspace.scan` until COUNT keys were collected (or 10 * COUNT
    /// buckets were visited, or the iteration ended), then filters: pattern, type, expiry.
    /// Filtering after collection is what makes a call return fewer keys than COUNT, as in
    /// Redis. Expired keys that pass the pattern are collected (deleted) on the way.
    static func scan(_ client: Client, _ args: CommandArguments) {
        guard let start = parseCursor(args.bytes(1)) else { return client.error("ERR invalid cursor") }
        var count = defaultScanCount
        var patternIndex: Int? = nil
        var typeFilter: String? = nil
        var index = 2
        while index < args.count {
            let hasValue = index + 1 < args.count
            if args.matches(index, "count") && hasValue {
                guard let value = args.integer(index + 1) else { return client.error(ErrorReplies.notInteger) }
                guard value >= 1 else { return client.error(ErrorReplies.syntax) }
                count = value
            } else if args.matches(index, "match") && hasValue {
                patternIndex = GlobMatch.isMatchAll(args.bytes(index + 1)) ? nil : index + 1
            } else if args.matches(index, "type") && hasValue {
                typeFilter = cString(args.bytes(index + 1)).lowercased()
            } else {
                return client.error(ErrorReplies.syntax)
            }
            index += 2
        }

        let db = client.db
        let store = client.server.store
        let now = store.nowMillis
        // Phase 1: walk buckets. The callback must not modify the table, so it only copies
        // the candidates (a key copy shares the stored buffer).
        var candidates: [(key: [UInt8], expired: Bool, type: String)] = []
        var visited = 0  // keys seen before filtering: COUNT measures work, as in Redis 7.0
        let pattern = patternIndex.map { args.bytes($0) }
        var cursor = start
        var budget = count.multipliedReportingOverflow(by: 10).overflow ? Int.max : count * 10
        repeat {
            cursor = db.keys.scan(cursor: cursor) { slot in
                visited += 1
                if let pattern {
                    let matched = slot.pointee.key.withUnsafeBytes { GlobMatch.matches(pattern: pattern, subject: $0) }
                    if !matched { return }
                }
                let expireAt = slot.pointee.expireAt
                candidates.append((slot.pointee.key, expireAt != 0 && expireAt <= now,
                                   typeFilter == nil ? "" : slot.pointee.value.typeName))
            }
            budget -= 1
        } while cursor != 0 && budget >= 0 && visited < count

        // Phase 2: filters that may modify the table (expired keys are collected).
        var keys: [[UInt8]] = []
        keys.reserveCapacity(candidates.count)
        for candidate in candidates {
            if candidate.expired {
                _ = candidate.key.withUnsafeBytes { db.find($0) }
                // Redis's TYPE filter looks the key up, which counts the expired key as a miss.
                if typeFilter != nil { store.stats.keyspaceMisses += 1 }
                continue
            }
            if let typeFilter {
                store.stats.keyspaceHits += 1
                if candidate.type != typeFilter { continue }
            }
            keys.append(candidate.key)
        }

        client.reply.arrayHeader(2)
        client.reply.bulk(String(cursor))
        client.reply.arrayHeader(keys.count)
        for key in keys { client.reply.bulk(key) }
    }

    /// A SCAN cursor, parsed as Redis does with `strtoul`: an unsigned 64-bit decimal with an
    /// optional sign ("-1" wraps to 2^64-1), no leading space, read up to the first NUL byte;
    /// the empty string is cursor 0. Returns nil for an invalid cursor.
    public static func parseCursor(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        if end > 0 && isspace(Int32(bytes[0])) != 0 { return nil }
        var index = 0
        var negative = false
        if index < end && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        let digitsStart = index
        var value: UInt64 = 0
        var overflow = false
        while index < end, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            if o1 || o2 { overflow = true }
            value = sum
            index += 1
        }
        if index == digitsStart { return end == 0 ? 0 : nil }  // no digits: only "" is valid
        if index != end || overflow { return nil }
        return negative ? 0 &- value : value
    }

    /// The bytes up to the first NUL as text: Redis reads option values as C strings.
    static func cString(_ bytes: UnsafeRawBufferPointer) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
    }
}

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
        var coldFound: [[UInt8]] = []
        if let listing = client.coldListing, listing.storageID == db.storageID {
            for entry in listing.entries where isLiveColdEntry(entry, in: db, now: now) {
                if everything || entry.key.withUnsafeBytes({ GlobMatch.matches(pattern: pattern, subject: $0) }) {
                    coldFound.append(entry.key)
                }
            }
        }
        client.reply.arrayHeader(found.count + coldFound.count)
        for slot in found { client.reply.bulk(slot.pointee.key) }
        for key in coldFound { client.reply.bulk(key) }
    }

    /// A listed cold key that is still cold (not read back or deleted since it was listed)
    /// and has not expired.
    static func isLiveColdEntry(_ entry: ColdListing.Entry, in db: Database, now: Int64) -> Bool {
        if entry.expireAt != 0 && entry.expireAt <= now { return false }
        let hash = KeyHash.hash(entry.key)
        return entry.key.withUnsafeBytes { db.keys.find($0, hash: hash) == nil }
            && db.cold.contains(ColdIndex.fingerprint(hash))
    }

    /// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type].
    ///
    /// Walks buckets with `Keyspace.scan` until COUNT keys were collected (or 10 * COUNT
    /// buckets were visited, or the iteration ended), then filters: pattern, type, expiry.
    /// Filtering after collection is what makes a call return fewer keys than COUNT, as in
    /// Redis. Expired keys that pass the pattern are collected (deleted) on the way.
    static func scan(_ client: Client, _ args: CommandArguments) {
        guard let start = parseCursor(args.bytes(1)) else { return client.error("ERR invalid cursor") }
        let options: ScanOptions
        switch ScanOptions.parse(args) {
        case .success(let parsed): options = parsed
        case .failure(let error): return client.error(error.text)
        }
        let count = options.count
        let patternIndex = options.patternIndex
        let typeFilter = options.typeFilter

        let db = client.db
        let store = client.server.store
        let now = store.nowMillis
        // Phase 1: walk buckets. The callback must not modify the table, so it only copies
        // the candidates (a key copy shares the stored buffer). Cold keys listed for this
        // call (see `ColdAdmission`) join the hot keys of the same stretch of positions.
        var candidates: [(key: [UInt8], expired: Bool, type: String)] = []
        var visited = 0  // keys seen before filtering: COUNT measures work, as in Redis 7.0
        let pattern = patternIndex.map { args.bytes($0) }
        var cursor = start
        var budget = count.multipliedReportingOverflow(by: 10).overflow ? Int.max : count * 10
        var listing = client.coldListing
        if let current = listing, current.storageID != db.storageID || current.start != start.bitReversed {
            listing = nil
        }
        var coldNext = 0
        func takeCold(below end: UInt64?) {
            guard let listing else { return }
            while coldNext < listing.entries.count {
                let entry = listing.entries[coldNext]
                if let end, entry.position >= end { return }
                coldNext += 1
                guard isLiveColdEntry(entry, in: db, now: now) else { continue }
                visited += 1
                if let pattern, !entry.key.withUnsafeBytes({ GlobMatch.matches(pattern: pattern, subject: $0) }) {
                    continue
                }
                candidates.append((entry.key, false, ValueCodec.typeName(tag: entry.typeTag) ?? ""))
            }
        }
        // A cursor can point inside a bucket: where the previous call's cold listing ended.
        // That bucket's hot keys before it were returned then (a step emits whole buckets),
        // so they are skipped now; positions only grow along a scan, so the test is safe
        // for every step (a shrunk table's bucket starts before the cursor: those keys
        // were covered too).
        let startPosition = start.bitReversed
        repeat {
            var step: [(key: [UInt8], expired: Bool, type: String, position: UInt64)] = []
            var stepSeen = 0
            let next = db.keys.scan(cursor: cursor) { slot in
                if slot.pointee.scanPosition < startPosition { return }
                stepSeen += 1
                if let pattern {
                    let matched = slot.pointee.key.withUnsafeBytes { GlobMatch.matches(pattern: pattern, subject: $0) }
                    if !matched { return }
                }
                let expireAt = slot.pointee.expireAt
                step.append((slot.pointee.key, expireAt != 0 && expireAt <= now,
                             typeFilter == nil ? "" : slot.pointee.typeName, slot.pointee.scanPosition))
            }
            let stepEnd: UInt64? = next == 0 ? nil : next.bitReversed
            budget -= 1
            if let coldEnd = listing?.end, stepEnd == nil || coldEnd < stepEnd! {
                // The cold listing stops inside this step: end the call where it stops. The
                // hot keys beyond come with the next call, which starts there.
                for entry in step where entry.position < coldEnd {
                    visited += 1
                    candidates.append((entry.key, entry.expired, entry.type))
                }
                takeCold(below: coldEnd)
                cursor = coldEnd.bitReversed
                break
            }
            visited += stepSeen
            for entry in step { candidates.append((entry.key, entry.expired, entry.type)) }
            takeCold(below: stepEnd)
            cursor = next
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

    /*
     HSCAN and SSCAN once the key was found (Redis checks the cursor, then the key, then the
     options; so do they). A small hash or set (`table` nil: a listpack or intset) comes
     whole in one call with cursor 0, whatever the cursor, as Redis's small encodings do;
     `small` calls its argument with each field and value (an empty value for a set). A
     table is walked by `scanFields`. MATCH tests the field; `withValues` replies each
     field's value after it.
    */
    static func scanCollection(_ client: Client, _ args: CommandArguments, from cursor: UInt64, table: FieldTable?,
                               withValues: Bool,
                               small: ((UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> Void) {
        let options: ScanOptions
        switch ScanOptions.parse(args, from: 3, allowsType: false) {
        case .success(let parsed): options = parsed
        case .failure(let error): return client.error(error.text)
        }
        let pattern = options.patternIndex.map { args.bytes($0) }
        var found: [[UInt8]] = []
        func offer(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
            if let pattern, !GlobMatch.matches(pattern: pattern, subject: field) { return }
            found.append([UInt8](field))
            if withValues { found.append([UInt8](value)) }
        }
        var next: UInt64 = 0
        if let table {
            next = scanFields(table, from: cursor, count: options.count, offer)
        } else {
            small(offer)
        }
        client.reply.arrayHeader(2)
        client.reply.bulk(String(next))
        client.reply.arrayHeader(found.count)
        for item in found { client.reply.bulk(item) }
    }

    /// The reply of HSCAN and SSCAN for a missing key: cursor 0, nothing.
    static func replyEmptyScan(_ client: Client) {
        client.reply.arrayHeader(2)
        client.reply.bulk("0")
        client.reply.arrayHeader(0)
    }

    /// One HSCAN or SSCAN call over a large hash or set: walks `table` from `cursor` with the
    /// reverse-binary cursor (`ScanCursor`), which keeps SCAN's guarantee across resizes, until
    /// `count` fields were seen (matching or not: Redis 7.0 filters after collecting) or
    /// 10 * `count` buckets were. Returns the next cursor (0 at the end).
    private static func scanFields(_ table: FieldTable, from cursor: UInt64, count: Int,
                           _ visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> UInt64 {
        var budget = count.multipliedReportingOverflow(by: 10).overflow ? Int.max : count * 10
        var seen = 0
        var next = cursor
        repeat {
            next = table.scan(cursor: next) { field, value in
                seen += 1
                visit(field, value)
            }
            budget -= 1
        } while next != 0 && budget >= 0 && seen < count
        return next
    }

    /// SCAN's options after the cursor (the handler and the cold-tier admission step read
    /// them alike).
    struct ScanOptions {
        struct Failure: Error { let text: String }
        var count = KeyCommands.defaultScanCount
        /// Index of the MATCH pattern (nil when absent or matching everything).
        var patternIndex: Int? = nil
        var typeFilter: String? = nil

        /// The options from argument `start` on (SCAN's 2, HSCAN's and SSCAN's 3); TYPE only
        /// where `allowsType` (SCAN: the others refuse it as a syntax error).
        static func parse(_ args: CommandArguments, from start: Int = 2,
                          allowsType: Bool = true) -> Result<ScanOptions, Failure> {
            var options = ScanOptions()
            var index = start
            while index < args.count {
                let hasValue = index + 1 < args.count
                if args.matches(index, "count") && hasValue {
                    guard let value = args.integer(index + 1) else { return .failure(Failure(text: ErrorReplies.notInteger)) }
                    guard value >= 1 else { return .failure(Failure(text: ErrorReplies.syntax)) }
                    options.count = value
                } else if args.matches(index, "match") && hasValue {
                    options.patternIndex = GlobMatch.isMatchAll(args.bytes(index + 1)) ? nil : index + 1
                } else if allowsType && args.matches(index, "type") && hasValue {
                    options.typeFilter = cString(args.bytes(index + 1)).lowercased()
                } else {
                    return .failure(Failure(text: ErrorReplies.syntax))
                }
                index += 2
            }
            return .success(options)
        }
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

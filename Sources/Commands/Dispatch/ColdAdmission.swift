import NIOCore
import Store

/*
 The step between "a command may run" and "it runs" that makes tiering invisible:

 - Memory: a command that adds data (`denyoom`, or EXEC of such commands) first lets the
   store demote (or, with `tiering no`, evict) keys; over maxmemory it waits for the
   demotions being written, or gets Redis's -OOM error.
 - Cold keys: every key the command names (its spec's key positions, MOVE's and COPY's
   other database, every command queued in a transaction with the database it will run
   in) that is cold is read back first. Only this connection waits.
 - Listings: KEYS, SCAN and RANDOMKEY name no key but see the cold tier: the cold keys
   they need are listed from RocksDB first and handed to the handler on the client.
*/
extension ServerContext {
    /// Memory is over the limit and the cold tier cannot take keys: RocksDB refused its
    /// last write (a full disk). Every acknowledged key is still in RAM or on disk.
    static func coldTierFullError(_ reason: String) -> String {
        String(ErrorReplies.oom.dropLast()) + " and the cold tier cannot write to disk: \(reason)"
    }

    /// The memory check for commands that add data.
    func memoryAdmission(_ client: Client, _ spec: CommandSpec) -> MemoryVerdict {
        guard config.maxmemory > 0 else { return .proceed }
        let addsData = spec.flags.contains(.denyOOM)
            || (spec.name == "exec" && client.transaction?.contains { $0.spec.flags.contains(.denyOOM) } == true)
        return addsData ? store.checkMemory() : .proceed
    }

    /// Starts reading what the command needs from the cold tier; nil when it can run now.
    func coldAdmission(_ client: Client, _ spec: CommandSpec, _ arguments: CommandArguments,
                       _ tier: ColdTier) -> EventLoopFuture<Void>? {
        guard store.coldTotals.count > 0 else { return nil }
        let role = spec.coldRole
        switch role.kind {
        case .keys: return listingAdmission(client, tier, from: 0, limit: Int.max)
        case .scan:
            let cursor = KeyCommands.parseCursor(arguments.bytes(1)) ?? 0
            return listingAdmission(client, tier, from: cursor.bitReversed,
                                    limit: min(scanCount(arguments), 100_000))
        case .randomKey: return randomKeyAdmission(client, tier)
        case .singleKey:
            // The common case (GET, SET, INCR...): one key; nothing to do when it is hot, or
            // when the command does not need its value (the cold index answers).
            guard arguments.count > spec.firstKey, spec.coldNeed(arguments) == .value else { return nil }
            let db = client.db
            let key = arguments.bytes(spec.firstKey)
            if db.cold.count == 0 || db.keys.find(key) != nil { return nil }
            return tier.admit([(db, key)], purpose: role.purpose, pins: &client.coldPins)
        case .general:
            guard spec.name == "exec" || spec.coldNeed(arguments) == .value else { return nil }
            let keys = coldCandidateKeys(client, spec, arguments)
            guard !keys.isEmpty else { return nil }
            return tier.admit(keys, purpose: role.purpose, pins: &client.coldPins)
        }
    }

    /// The keys a command will touch, each with the database it will touch it in.
    func coldCandidateKeys(_ client: Client, _ spec: CommandSpec,
                           _ arguments: CommandArguments) -> [(Database, UnsafeRawBufferPointer)] {
        if spec.name == "exec" {
            guard let queued = client.transaction else { return [] }
            var db = client.db
            var keys: [(Database, UnsafeRawBufferPointer)] = []
            for entry in queued {
                if entry.spec.name == "select", let index = entry.arguments.integer(1),
                   index >= 0 && index < store.databases.count {
                    db = store.databases[index]
                    continue
                }
                let need = entry.spec.coldNeed(entry.arguments)
                if need == .value || need == .movedValue { keys += keysOf(entry.spec, entry.arguments, db) }
            }
            // WATCHed keys too: EXEC checks whether they changed or expired.
            for (index, key) in client.watch.keys {
                keys.append((store.databases[index], key.withUnsafeBytes { $0 }))
            }
            return keys
        }
        return keysOf(spec, arguments, client.db)
    }

    func keysOf(_ spec: CommandSpec, _ arguments: CommandArguments, _ db: Database) -> [(Database, UnsafeRawBufferPointer)] {
        var keys = spec.keyPositions(arguments).map { (db, arguments.bytes($0)) }
        // MOVE key db and COPY ... DB db also look at a key in another database.
        if spec.name == "move", arguments.count == 3, let target = otherDatabase(arguments, 2) {
            keys.append((target, arguments.bytes(1)))
        } else if spec.name == "copy", arguments.count >= 5 {
            for index in 3..<(arguments.count - 1) where arguments.matches(index, "db") {
                if let target = otherDatabase(arguments, index + 1) { keys.append((target, arguments.bytes(2))) }
            }
        }
        return keys
    }

    func otherDatabase(_ arguments: CommandArguments, _ index: Int) -> Database? {
        guard let number = arguments.integer(index), number >= 0 && number < store.databases.count else { return nil }
        return store.databases[number]
    }

    /// SCAN's COUNT (the handler answers a bad one with an error; the listing then does
    /// not matter).
    func scanCount(_ arguments: CommandArguments) -> Int {
        (try? KeyCommands.ScanOptions.parse(arguments).get())?.count ?? KeyCommands.defaultScanCount
    }

    /// KEYS and SCAN: lists the cold keys from `position` on (handed over in
    /// `client.coldListing`), unless that listing is already there.
    func listingAdmission(_ client: Client, _ tier: ColdTier, from position: UInt64, limit: Int) -> EventLoopFuture<Void>? {
        let db = client.db
        guard db.cold.count > 0 else { return nil }
        if let listing = client.coldListing, listing.storageID == db.storageID, listing.start == position { return nil }
        return tier.list(storageID: db.storageID, from: position, limit: limit).map { listing in
            client.coldListing = listing
        }.recover { _ in
            client.coldListing = nil
        }
    }

    /// RANDOMKEY: picks the tier in proportion to its keys; for the cold tier lists the keys
    /// at a random fingerprint's position (a few tries if those turn out expired or gone).
    func randomKeyAdmission(_ client: Client, _ tier: ColdTier, attempt: Int = 0) -> EventLoopFuture<Void>? {
        let db = client.db
        if client.coldListing != nil { return nil }
        guard db.cold.count > 0, Int.random(in: 0..<db.count, using: &FastRandom.shared) < db.cold.count,
              let fp = db.cold.randomFingerprint() else { return nil }
        let position = ColdKeyFormat.position(hash32: Keyspace.hash32(fp))
        return tier.list(storageID: db.storageID, from: position, limit: 1).flatMap { listing in
            let usable = listing.entries.contains { KeyCommands.isLiveColdEntry($0, in: db, now: Clock.nowMillis()) }
            if usable || attempt >= 4 {
                client.coldListing = listing
                return client.server.eventLoop!.makeSucceededVoidFuture()
            }
            return self.randomKeyAdmission(client, tier, attempt: attempt + 1)
                ?? client.server.eventLoop!.makeSucceededVoidFuture()
        }
    }
}

/// How a command meets the cold tier (see `coldAdmission`), from its spec.
struct ColdRole {
    enum Kind {
        /// KEYS, SCAN, RANDOMKEY: a listing of cold keys first.
        case keys, scan, randomKey
        /// Exactly one key, at `firstKey`.
        case singleKey
        /// Anything else: every key the command names (EXEC: its queued commands').
        case general
    }

    /// Commands that read a cold value only to look at it: it is not promoted. (EXISTS,
    /// TYPE and the TTL family read no value at all: `ColdNeed.metadata`.)
    static let inspectionCommands: Set<String> = ["object", "dump", "memory"]

    let kind: Kind
    let purpose: ColdTier.LoadPurpose

    init(_ spec: CommandSpec) {
        switch spec.name {
        case "keys": kind = .keys
        case "scan": kind = .scan
        case "randomkey": kind = .randomKey
        default:
            let special = ["exec", "move", "copy"].contains(spec.name)
            kind = !special && spec.keySearch == nil && spec.firstKey > 0 && spec.lastKey == spec.firstKey
                ? .singleKey : .general
        }
        if ColdRole.inspectionCommands.contains(spec.parentName ?? spec.name) {
            purpose = .inspect
        } else if spec.flags.contains(.write) || spec.name == "exec" || spec.parentName == "tier" {
            purpose = .write
        } else {
            purpose = .read
        }
    }
}

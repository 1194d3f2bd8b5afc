import Config
import NIOCore

/// Counters reported by INFO stats.
public struct KeyspaceStats {
    public var expiredKeys = 0
    public var evictedKeys = 0
    public var keyspaceHits = 0
    public var keyspaceMisses = 0
    public init() {}
}

/// All databases and the state shared by them: the command clock, statistics, background
/// expiry. Owned by the execution thread.
public final class Store {
    public let config: ServerConfig
    public private(set) var databases: [Database] = []
    /// The time snapshot commands use (Unix ms), refreshed before each command, so that
    /// one command sees one "now" (Redis's commandTimeSnapshot).
    public var nowMillis: Int64 = Clock.nowMillis()
    public var stats = KeyspaceStats()
    /// Changes since the last save (INFO rdb_changes_since_last_save).
    public var dirty = 0
    /// Whether the active expiry cycle runs (DEBUG SET-ACTIVE-EXPIRE).
    public var activeExpireEnabled = true
    /// True when maxmemory-policy is an LFU policy: key metadata then holds LFU counters.
    @inline(__always) public var lfuPolicy: Bool { config.isLFUPolicy }

    var expireCursors: [Int]
    var coldExpireCursors: [Int]
    var expireDatabase = 0

    /// RocksDB: demoted keys (`tiering yes`) and checkpoints (nil until the server opens
    /// it at start).
    public private(set) var tier: ColdTier?
    /// RocksDB as a cold tier: nil with `tiering no` (it then holds checkpoints only).
    public var activeTier: ColdTier? { config.tiering ? tier : nil }
    /// The append-only log (nil with `appendonly no`).
    public internal(set) var log: AppendLog?
    /// What the running command changed, not logged yet (ChangeNote in LogChange.swift).
    var changeNotes: [UInt8] = []
    /// `changeNotes` holds a change note (not only states).
    var noteHasChanges = false
    /// The number of the last change logged (LogChange.swift): a value written to RocksDB
    /// holds every change up to the number current when it was taken.
    public internal(set) var changeSequence: UInt64 = 0
    /// While the log is replayed: the number of the last change replayed so far. A value
    /// demoted then (maxmemory reached during replay) holds the changes up to there and
    /// none of those the log has after it; stamped with `changeSequence`, the highest
    /// number ever given, it made the next replay skip them all (they were lost at the
    /// second crash).
    var replaySequence: UInt64?
    /// The number a value written to RocksDB now is stamped with.
    var sequenceOfCopies: UInt64 { replaySequence ?? changeSequence }
    /// Checkpoint bookkeeping (SAVE, BGSAVE, save rules, shutdown).
    public var persistence = PersistenceState()
    /// Which database owns each RocksDB storage id (SWAPDB exchanges them).
    var storageOwners: [Int]
    var evictionPool = EvictionPool()
    var memoryCheckCountdown = 0
    var lastMemorySample: UInt64 = 0
    var sampledUsedMemory = 0
    /// Bytes of the execution thread's allocations that maxmemory does not count: the
    /// clients' receive buffers (set by the server; see `usedMemoryForLimit`).
    public var memoryNotCountedForLimit: () -> Int = { 0 }
    /// Keys the last demotion step picked (0: the policy found none it may demote).
    var lastDemotionVictims = 0
    /// Writes held back until demotion made room (INFO tiering_write_stalls and
    /// tiering_write_stall_usec): how many, and for how long in all.
    public var writeStalls = 0
    public var writeStallMicros = 0
    /// Keys that clients are blocked on (set by the blocking registry): while there are
    /// any, every list created is noted in `createdLists` for it to serve.
    public var blockedKeys = 0
    public var createdLists: [(db: Int, key: [UInt8])] = []

    public init(config: ServerConfig) {
        self.config = config
        self.expireCursors = Array(repeating: 0, count: config.databases)
        self.coldExpireCursors = Array(repeating: 0, count: config.databases)
        self.storageOwners = Array(0..<min(config.databases, 256))
        databases = (0..<config.databases).map { Database(index: $0, store: self) }
    }

    /// Opens the cold tier in `path` (RocksDB), whose results come back on `loop`.
    public func openColdTier(path: String, loop: EventLoop) throws {
        // One RocksDB key prefix byte per database; 255 has no end of range to delete to.
        guard databases.count <= 255 else {
            throw ColdStorageError("the cold tier supports at most 255 databases")
        }
        tier = try ColdTier(store: self, path: path, loop: loop)
    }

    /// Closes the cold tier (at shutdown).
    public func closeColdTier() {
        tier?.close()
        tier = nil
    }

    /// The database whose keys live under a RocksDB storage id.
    @inline(__always)
    public func database(storageID: UInt8) -> Database? {
        let id = Int(storageID)
        return id < storageOwners.count ? databases[storageOwners[id]] : nil
    }

    /// Keys held in RAM, in all databases.
    public var hotKeys: Int { databases.reduce(0) { $0 + $1.keys.count } }
    /// Keys held only in RocksDB, in all databases.
    public var coldKeys: Int { coldTotals.count }
    public let coldTotals = ColdTotals()
    /// Bytes of the cold index, in all databases.
    public var coldIndexBytes: Int { databases.reduce(0) { $0 + $1.cold.allocatedBytes } }

    @inline(__always)
    public func refreshClock() { nowMillis = Clock.nowMillis() }

    /// FLUSHALL.
    public func flushAll(async: Bool) {
        for db in databases { db.removeAll(async: async) }
    }

    /// SWAPDB a b.
    public func swapDatabases(_ a: Int, _ b: Int) {
        guard a != b else { return }
        if log != nil { logSwap(a, b) }
        // A checkpoint walks databases by number: contents that moved behind its position
        // would be missed, so it starts over (the keys it copied are clean and skipped).
        if checkpointRunning && persistence.walkDatabase < databases.count {
            persistence.walkDatabase = 0
            persistence.walkCursor = 0
        }
        databases[a].swapContents(with: databases[b])
        storageOwners[Int(databases[a].storageID)] = a
        storageOwners[Int(databases[b].storageID)] = b
    }

    /// Keys in all databases.
    public var totalKeys: Int { databases.reduce(0) { $0 + $1.count } }

    // MARK: - Background work

    /// Slots examined between two clock reads in background loops.
    static let backgroundChunkSlots = 1024

    /*
     Active expiry: a clock hand sweeps each database's table and deletes keys whose time
     has passed, within a time budget per call (Redis: 25% of CPU at most, spread over `hz`
     calls per second). Lazy expiry on access covers the keys the hand has not reached yet,
     so correctness never depends on this cycle, only memory reclamation does.
    */
    public func activeExpireCycle(budgetMicros: Int) {
        guard activeExpireEnabled else { return }
        refreshClock()
        let deadline = Clock.monotonicNanos() + UInt64(budgetMicros) * 1000
        var databasesVisited = 0
        while databasesVisited < databases.count {
            let db = databases[expireDatabase]
            if db.expiresCount > 0 {
                var expired: [[UInt8]] = []
                var cursor = expireCursors[expireDatabase]
                repeat {
                    let now = nowMillis
                    cursor = db.keys.sweep(from: cursor, slots: Store.backgroundChunkSlots) { slot in
                        let at = slot.pointee.expireAt
                        if at != 0 && at <= now { expired.append(slot.pointee.key) }
                    }
                    for key in expired { key.withUnsafeBytes { _ = db.find($0) } }  // find() collects it
                    expired.removeAll(keepingCapacity: true)
                } while cursor != 0 && Clock.monotonicNanos() < deadline
                expireCursors[expireDatabase] = cursor
                if cursor != 0 { return }  // out of time: continue here next call
            }
            if db.cold.expiresCount > 0 {
                var expired: [UInt64] = []
                var cursor = coldExpireCursors[expireDatabase]
                repeat {
                    cursor = db.cold.sweepExpired(from: cursor, slots: Store.backgroundChunkSlots,
                                                  nowMillis: nowMillis) { expired.append($0) }
                } while cursor != 0 && Clock.monotonicNanos() < deadline
                coldExpireCursors[expireDatabase] = cursor
                stats.expiredKeys += expired.count
                db.coldKeysExpired(expired)
                tier?.purgeExpired(storageID: db.storageID, fingerprints: expired)
                if cursor != 0 { return }
            }
            expireDatabase = (expireDatabase + 1) % databases.count
            databasesVisited += 1
            if Clock.monotonicNanos() >= deadline { return }
        }
    }

    /// Moves resizing tables forward within a time budget, so that a resize finishes even
    /// when no writes arrive (Redis's incremental rehashing in serverCron).
    public func resizeStep(budgetMicros: Int) {
        let deadline = Clock.monotonicNanos() + UInt64(budgetMicros) * 1000
        for db in databases where db.keys.isResizing {
            while !db.keys.migrate(slots: Store.backgroundChunkSlots) {
                if Clock.monotonicNanos() >= deadline { return }
            }
        }
    }
}

import CShims
import Config
import Dispatch
import NIOCore

/// Counters for INFO tiering.
public struct ColdTierStats {
    public var promotions = 0
    public var demotions = 0
    public var demotedBytes = 0
    /// Keys brought into RAM for one command only (inspection, or `tiering-promote` said no).
    public var transientLoads = 0
    /// Background read requests, and the keys they asked for.
    public var coldReads = 0
    public var coldReadKeys = 0
    public var coldReadHits = 0
    /// Keys whose fingerprint was in the index but which RocksDB did not have (another key
    /// with the same 64-bit hash), or that were gone when the read came back.
    public var coldReadMisses = 0
    public var expiredColdKeys = 0
    public var writeErrors = 0
    public var readErrors = 0
    public init() {}
}

/*
 The cold tier: RocksDB behind the hot tier, driven from the execution thread.

 Threads. The execution thread never touches the disk. Demotion batches, deletes and the
 key listings of SCAN/KEYS/RANDOMKEY run on one serial *writer* queue, so they happen in
 the order the execution thread asked for them; point reads run on `tiering-io-threads`
 reader queues. Every result comes back as a task on the execution loop, which runs its
 tasks in the order they were queued, so a listing sees every demotion that was
 committed before it and none that was committed after (those keys are still hot when the
 listing's command runs, and the hot side reports them).

 One truth per key. A key is hot (in RAM, authoritative), cold (an entry in its database's
 `ColdIndex` and a value in RocksDB) or absent, never two at once:
 - a read puts the key in RAM and removes its index entry at the same moment; the RocksDB
   copy stays, flagged `clean` until the key changes, so demoting it again is free;
 - a demotion writes the value, and only when the write is done (back on the execution
   thread) does the key leave RAM and gain its index entry, and only if it did not change
   meanwhile;
 - a read whose key was demoted again while the read was in flight is discarded (`stale`),
   and the waiting command asks again;
 - deleting a hot key that has a RocksDB copy queues the copy's delete behind every write
   queued before it.
*/
public final class ColdTier {
    unowned(unsafe) let store: Store
    public let storage: ColdStorage
    let loop: EventLoop
    let writer = DispatchQueue(label: "strata.cold.writer")
    let maintenance = DispatchQueue(label: "strata.cold.maintenance")
    let readers: [DispatchQueue]
    var nextReader = 0
    /// The server's nice value plus `tiering-io-nice` (at most 19): set by every read job
    /// and demotion batch on the thread that runs it, each time (Dispatch shares its
    /// threads between queues and sets their priority itself: a Dispatch thread ran at
    /// nice -4, ahead of the event loop's 0).
    let ioNice: Int32
    public var stats = ColdTierStats()

    /// Reads in flight, by RocksDB key: a second command waiting for the same key joins it.
    var pending: [RocksKey: PendingRead] = [:]
    /// Reads asked for in this event-loop pass, not yet handed to a reader.
    var readBatch: [PendingRead] = []
    var readFlushScheduled = false
    /// Bumped whenever a key becomes cold; a key found absent despite its fingerprint is
    /// trusted absent only within the same epoch.
    var epoch: UInt64 = 0
    var knownAbsent: [RocksKey: UInt64] = [:]
    /// Keys loaded for one command that must go back after it (storage id, key).
    var transientKeys: [(UInt8, [UInt8])] = []
    /// Keys read for commands that have not run yet, by RocksDB key: how many wait for each.
    var pins: [RocksKey: Int] = [:]
    /// Atomic units (EXEC, later scripts) running now: while any runs, no key leaves RAM,
    /// whatever asks for it (DESIGN.md "Atomic units"), so that a queued KEYS, EXISTS or GET
    /// never finds a key half-way to RocksDB.
    public internal(set) var atomicUnits = 0
    /// A demotion of everything asked for inside an atomic unit, done when it ends.
    var demoteEverythingAfterAtomicUnits = false
    /// RocksDB deletes not yet handed to the writer: they go first in its next write.
    var pendingDeletes = ColdBatch()
    var deleteFlushScheduled = false
    /// The demotion batch being filled (checkpoint copies go in it too).
    var batch = DemotionBatch()
    /// Large hashes and sets being packed for demotion, a slice per turn (SlicedDemotion.swift).
    var slicedDemotions: [SlicedDemotion] = []
    var slicesScheduled = false
    /// Bytes of checkpoint copies in `batch`.
    var batchCheckpointBytes = 0
    /// The append-only log: RocksDB writes wait until it holds the records they follow.
    var log: AppendLog?
    public internal(set) var inFlightBatches = 0
    public internal(set) var inFlightKeys = 0
    /// Estimated bytes of RAM that the batches in flight free when they are committed.
    public internal(set) var inFlightBytes = 0
    /// Commands waiting for memory, woken by the next commit.
    var memoryWaiters: [EventLoopPromise<Void>] = []
    /// RocksDB's error for the last demotion batch, if it failed (a full disk); cleared by
    /// the next batch that is written. While it is set and memory is over the limit,
    /// writes are refused with `diskFullError` instead of waiting for room that cannot come.
    public internal(set) var lastWriteError: String?
    /// When that batch failed (monotonic ns): demotion is tried again a second later.
    var lastWriteFailure: UInt64 = 0
    /// Cold moves and the RocksDB changes asked for after them in the same command, in
    /// order (ColdTierMoves.swift); handed to the writer after the command.
    var rewrites: [ColdRewrite] = []
    /// The last cold move's sequence number (recovery starts it past every logged one).
    public var moveSequence: UInt64 = 0
    /// Targets of cold moves not yet written, by RocksDB key: reads of them wait.
    var movesInFlight: [RocksKey: EventLoopFuture<Void>] = [:]
    /// Large collections with the writer on their way to a new key (LargeHotMoves.swift):
    /// they come back to RAM, and only then can they be demoted to make room.
    public internal(set) var storesInFlight = 0
    /// Recent cold-read latencies in microseconds (for INFO's p50/p99).
    var readLatencies = LatencySamples(capacity: 4096)
    /// Recent cold reads, for `tiering-promote second-touch`.
    var recentReads: RecentReads
    /// Deletes of expired cold keys since the last compaction of the whole range.
    var expiredSinceCompaction = 0
    var compactionRunning = false

    final class PendingRead {
        let storageID: UInt8
        let key: [UInt8]
        let hash: UInt64
        let rocksKey: RocksKey
        var promote: Bool
        var stale = false
        let promise: EventLoopPromise<Void>

        init(storageID: UInt8, key: [UInt8], hash: UInt64, rocksKey: RocksKey, promote: Bool,
             promise: EventLoopPromise<Void>) {
            self.storageID = storageID
            self.key = key
            self.hash = hash
            self.rocksKey = rocksKey
            self.promote = promote
            self.promise = promise
        }
    }

    /// Opens the RocksDB directory `path` (recovery decides what its content is worth).
    public init(store: Store, path: String, loop: EventLoop) throws {
        let config = store.config
        self.store = store
        self.loop = loop
        recentReads = RecentReads(maxmemory: config.maxmemory)
        var options = ColdStorageOptions(path: path)
        options.blockCacheBytes = config.tieringBlockCacheSize
        options.writeBufferBytes = config.tieringWriteBufferSize
        options.compression = ColdCompression(rawValue: config.tieringCompression) ?? .zstd
        // RocksDB's own write-ahead log is not needed: the append-only log holds every
        // change since the last checkpoint, and a checkpoint ends with a flush of the
        // memtables (Persistence.swift).
        options.disableWAL = true
        // RocksDB may compact before start-up has replayed the log's EXPIRE records.
        ColdStorage.headerLags.add(1, ordering: .sequentiallyConsistent)
        storage = try ColdStorage(options: options)
        readers = (0..<max(1, config.tieringIOThreads)).map { DispatchQueue(label: "strata.cold.read.\($0)") }
        // Relative to the thread opening the tier (start-up, at the server's own priority).
        ioNice = Int32(min(19, Int(strata_thread_nice()) + config.tieringIONice))
    }

    private var replayHeld = true

    /// Start-up's replay of the log is done: every header that lags the index has its
    /// rewrite counted (see `ColdStorage.headerLags`).
    func endReplayHold() {
        guard replayHeld else { return }
        replayHeld = false
        ColdStorage.headerLags.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Waits for queued writes and closes RocksDB.
    public func close() {
        endReplayHold()
        log?.submit(force: true)
        flushPendingDeletes()
        writer.sync {}
        maintenance.sync {}
        for reader in readers { reader.sync {} }
        storage.close()
    }

    // MARK: - Reads

    public enum LoadPurpose {
        /// The command changes the key: it stays in RAM.
        case write
        /// A read: `tiering-promote` decides whether the key stays in RAM.
        case read
        /// TYPE, EXISTS, TTL, OBJECT...: the key goes back to the cold tier afterwards.
        case inspect
    }

    /// Starts reading those of `keys` that are cold. Returns nil when none is, else a
    /// future that completes when they are in RAM (the command must then be dispatched
    /// again: a key may have gone cold again meanwhile).
    /// `pins` gets the keys read for this command: they stay in RAM until it has run
    /// (`releasePins`), or a command that needs more than maxmemory would have its first
    /// keys demoted while its last ones are read, and read them again, for ever.
    public func admit(_ keys: [(Database, UnsafeRawBufferPointer)], purpose: LoadPurpose,
                      pins: inout [RocksKey]) -> EventLoopFuture<Void>? {
        var futures: [EventLoopFuture<Void>] = []
        var reads: [PendingRead] = []
        for (db, key) in keys {
            guard db.cold.count > 0 else { continue }
            let hash = KeyHash.hash(key)
            if db.keys.find(key, hash: hash) != nil { continue }
            guard db.cold.contains(ColdIndex.fingerprint(hash)) else { continue }
            let rocksKey = RocksKey(ColdKeyFormat.encode(storageID: db.storageID, hash32: Keyspace.hash32(hash), key: key))
            if let moving = movesInFlight[rocksKey] {
                // The key is the target of a move the writer has not made yet.
                futures.append(moving)
                continue
            }
            if knownAbsent[rocksKey] == epoch { continue }
            let promote = wantsPromotion(purpose, hash)
            self.pins[rocksKey, default: 0] += 1
            pins.append(rocksKey)
            if let read = pending[rocksKey] {
                read.promote = read.promote || promote
                futures.append(read.promise.futureResult)
                continue
            }
            let read = PendingRead(storageID: db.storageID, key: [UInt8](key), hash: hash, rocksKey: rocksKey,
                                   promote: promote, promise: loop.makePromise())
            pending[rocksKey] = read
            reads.append(read)
            futures.append(read.promise.futureResult)
        }
        if futures.isEmpty { return nil }
        if !reads.isEmpty { submit(reads) }
        return futures.count == 1 ? futures[0] : EventLoopFuture.andAllComplete(futures, on: loop)
    }

    func wantsPromotion(_ purpose: LoadPurpose, _ hash: UInt64) -> Bool {
        switch purpose {
        case .write: return true
        case .inspect: return false
        case .read:
            switch store.config.tieringPromote {
            case "never": return false
            case "second-touch":
                return recentReads.secondTouch(hash: hash, nowMillis: store.nowMillis,
                                               windowSeconds: store.config.tieringPromoteWindow)
            default: return true
            }
        }
    }

    /// Queues reads for this event-loop pass: they go to the readers together, after the
    /// pass's I/O (one wakeup and one MultiGet per reader, not one per command).
    func submit(_ reads: [PendingRead]) {
        readBatch.append(contentsOf: reads)
        if !readFlushScheduled {
            readFlushScheduled = true
            loop.execute { [self] in self.flushReads() }
        }
    }

    /// Hands the pass's reads to the reader queues, a few keys each at least.
    func flushReads() {
        readFlushScheduled = false
        guard !readBatch.isEmpty else { return }
        let all = readBatch
        readBatch.removeAll(keepingCapacity: true)
        let parts = min(readers.count, max(1, all.count / ColdTier.keysPerReadJob))
        let size = (all.count + parts - 1) / parts
        for start in stride(from: 0, to: all.count, by: size) {
            send(Array(all[start..<min(start + size, all.count)]))
        }
    }

    /// Below this many keys per reader, a pass's reads go to fewer readers.
    static let keysPerReadJob = 4

    private func send(_ reads: [PendingRead]) {
        stats.coldReads += 1
        stats.coldReadKeys += reads.count
        let queue = readers[nextReader]
        nextReader = (nextReader + 1) % readers.count
        let job = UncheckedBox((reads.map(\.rocksKey.bytes), Clock.monotonicNanos()))
        let storage = self.storage
        let loop = self.loop
        let nice = ioNice
        let limits = CollectionLimits(store.config)
        queue.async {
            strata_set_thread_nice(nice)
            let (keys, started) = job.value
            let results: [PreparedRead]
            var failed = false
            do {
                results = try storage.multiGet(keys).map { PreparedRead.prepare($0, limits: limits) }
            } catch {
                results = Array(repeating: .missing, count: keys.count)
                failed = true
            }
            let done = UncheckedBox(results)
            loop.execute { [self] in
                self.complete(reads, done.value, failed: failed, startedAt: started)
            }
        }
    }

    /// Back on the execution thread: puts the keys read into RAM, then wakes the commands
    /// (only after every key is in place: a woken command runs at once).
    func complete(_ reads: [PendingRead], _ results: [PreparedRead], failed: Bool, startedAt: UInt64) {
        readLatencies.record(Int((Clock.monotonicNanos() &- startedAt) / 1000))
        if failed { stats.readErrors += 1 }
        store.refreshClock()
        for (index, read) in reads.enumerated() {
            if pending[read.rocksKey] === read { pending[read.rocksKey] = nil }
            install(read, results[index])
        }
        // Promoted keys take memory too: make room as a write would (in the background).
        // The figures are read at most every millisecond here: jemalloc's statistics
        // refresh after every completed read was the execution thread's top cost.
        if store.config.maxmemory > 0 { _ = store.checkMemory(adding: false) }
        for read in reads { read.promise.succeed(()) }
    }

    func install(_ read: PendingRead, _ prepared: PreparedRead) {
        var installed = false
        defer { if !installed { prepared.discard() } }
        guard !read.stale, let db = store.database(storageID: read.storageID) else { return }
        if read.key.withUnsafeBytes({ db.keys.find($0, hash: read.hash) }) != nil { return }  // written meanwhile
        let fp = ColdIndex.fingerprint(read.hash)
        guard db.cold.contains(fp) else { return }  // deleted, expired or flushed meanwhile
        let decoded: (value: Value, expireAt: Int64, rawEncoding: Bool)
        switch prepared {
        case .missing:
            stats.coldReadMisses += 1
            knownAbsent[read.rocksKey] = epoch
            if knownAbsent.count > 4096 { knownAbsent = [read.rocksKey: epoch] }
            return
        case .undecodable:
            stats.readErrors += 1
            knownAbsent[read.rocksKey] = epoch
            return
        case .value(let value, let expireAt, let rawEncoding):
            decoded = (value, expireAt, rawEncoding)
        }
        stats.coldReadHits += 1
        let coldMeta = db.cold.meta(fp) ?? 0
        // The index's expiry, not the header's: an EXPIRE or PERSIST of the cold key changed
        // the index at once, and the header only when the writer has rewritten it.
        let expireAt = db.cold.expireAt(fp) ?? decoded.expireAt
        db.cold.remove(fp)
        if expireAt != 0 && expireAt <= store.nowMillis {
            stats.expiredColdKeys += 1
            store.stats.expiredKeys += 1
            deleteFromDisk(storageID: read.storageID, key: read.key)
            read.key.withUnsafeBytes { db.modified($0, countsAsDirty: false, logged: false) }
            return
        }
        let slot = db.insertLoaded(key: read.key, hash: read.hash, value: decoded.value, expireAt: expireAt,
                                   accessMeta: coldMeta, transient: !read.promote)
        installed = true  // the record holds the value (and a large collection's object)
        if pins[read.rocksKey] != nil { slot.pointee.meta |= KeyFlags.pinned }
        if decoded.rawEncoding { slot.pointee.meta |= KeyFlags.rawString }
        if read.promote {
            stats.promotions += 1
        } else {
            stats.transientLoads += 1
            transientKeys.append((read.storageID, read.key))
        }
    }

    /// After each command: keys loaded only for it go back to the cold tier (free: their
    /// RocksDB copy is current unless the command changed them, and then they stay).
    public func afterCommand() {
        flushRewrites()
        if !transientKeys.isEmpty {
            for (storageID, key) in transientKeys {
                guard let db = store.database(storageID: storageID),
                      let slot = key.withUnsafeBytes({ db.keys.find($0) }) else { continue }
                let meta = slot.pointee.meta
                // A pinned one goes when its command has run (releasePins).
                guard meta & KeyFlags.transient != 0, meta & KeyFlags.pinned == 0 else { continue }
                slot.pointee.meta = meta & ~KeyFlags.transient
                if meta & KeyFlags.clean != 0 && meta & KeyFlags.demoting == 0 { unload(db, slot) }
            }
            transientKeys.removeAll(keepingCapacity: true)
        }
        if store.config.tieringDemoteAll && store.config.tiering { demoteEverything() }
    }

    /// The command that asked for these keys has run (or its connection closed): they may
    /// leave RAM again.
    public func releasePins(_ keys: inout [RocksKey]) {
        for rocksKey in keys {
            guard let count = pins[rocksKey] else { continue }
            if count > 1 {
                pins[rocksKey] = count - 1
                continue
            }
            pins[rocksKey] = nil
            guard let (storageID, _, key) = ColdKeyFormat.decode(rocksKey.bytes),
                  let db = store.database(storageID: storageID),
                  let slot = key.withUnsafeBytes({ db.keys.find($0) }) else { continue }
            let meta = slot.pointee.meta & ~KeyFlags.pinned
            slot.pointee.meta = meta
            if meta & KeyFlags.transient != 0 {
                slot.pointee.meta = meta & ~KeyFlags.transient
                if meta & KeyFlags.clean != 0 && meta & KeyFlags.demoting == 0 { unload(db, slot) }
            }
        }
        keys.removeAll()
    }

    /// The log position a RocksDB write queued now must wait for: the records of every
    /// command before it (none for a write of the running command's own changes).
    func logPositionForWrite() -> UInt64 {
        log?.appendedEnd ?? 0
    }

    // MARK: - Deletes

    /// Queues the delete of `key`'s RocksDB copy behind every write queued before it.
    public func deleteFromDisk(storageID: UInt8, key: [UInt8]) {
        // The batch being filled may hold a put of this key: it must reach the writer
        // first (a delete asked for earlier goes before it, one asked for now after it).
        if !batch.isEmpty { flushDemotions() }
        let rocksKey = key.withUnsafeBytes { ColdKeyFormat.encode(storageID: storageID, key: $0) }
        // After a cold move of this command: behind it (ColdTierMoves.swift).
        if !rewrites.isEmpty { return rewrites.append(.delete(rocksKey)) }
        pendingDeletes.delete(rocksKey)
        if !deleteFlushScheduled {
            deleteFlushScheduled = true
            loop.execute { [self] in self.flushPendingDeletes() }
        }
    }

    /// Hands the queued deletes to the writer.
    public func flushPendingDeletes() {
        deleteFlushScheduled = false
        guard !pendingDeletes.isEmpty else { return }
        let deletes = UncheckedBox(pendingDeletes)
        pendingDeletes = ColdBatch()
        queueWrite { try $0.write(deletes.value) }
    }

    /// Runs `write` on the writer once the log holds the records of every command before
    /// it; a failure counts as a cold write error.
    func queueWrite(_ write: @escaping @Sendable (ColdStorage) throws -> Void) {
        let storage = self.storage
        let loop = self.loop
        let log = self.log, position = logPositionForWrite()
        writer.async {
            log?.waitWritten(position)
            do {
                try write(storage)
            } catch {
                loop.execute { [self] in self.stats.writeErrors += 1 }
            }
        }
    }

    /// EXPIRE or PERSIST of a cold key: rewrites the expiry in the header of its RocksDB
    /// copy, behind every write queued before (the index already holds the new expiry, and
    /// the log the change; the value is never read on the execution thread).
    func rewriteExpiry(storageID: UInt8, key: [UInt8], expireAt: Int64) {
        ColdStorage.headerLags.add(1, ordering: .sequentiallyConsistent)   // until `apply` has written it
        let rewrite = ColdRewrite.expiry(ColdKeyFormat.encode(storageID: storageID, key: key), expireAt)
        // After a cold move of this command: behind it (ColdTierMoves.swift).
        if !rewrites.isEmpty { return rewrites.append(rewrite) }
        if !batch.isEmpty { flushDemotions() }
        flushPendingDeletes()
        let job = UncheckedBox(rewrite)
        queueWrite { try ColdTier.apply(job.value, to: $0) }
    }

    /// FLUSHDB/FLUSHALL: removes every RocksDB key of a database.
    func dropStorage(_ storageID: UInt8) {
        if !batch.isEmpty { flushDemotions() }
        flushPendingDeletes()
        var drop = ColdBatch()
        // Storage ids stop at 254 (see `Store.openColdTier`), so the range has an end.
        drop.deleteRange(from: ColdKeyFormat.prefix(storageID: storageID),
                         to: ColdKeyFormat.prefixEnd(storageID: storageID)!)
        let job = UncheckedBox(drop)
        let storage = self.storage
        let log = self.log, position = logPositionForWrite()
        writer.async {
            log?.waitWritten(position)
            try? storage.write(job.value)
        }
        epoch &+= 1
        knownAbsent.removeAll()
    }

    // MARK: - Expiry

    /// Deletes, in the background, the RocksDB values of cold keys whose index entries the
    /// active expiry cycle removed: every value under the fingerprint's position whose own
    /// header says it expired (other keys sharing the 32-bit position are kept).
    func purgeExpired(storageID: UInt8, fingerprints: [UInt64]) {
        guard !fingerprints.isEmpty else { return }
        stats.expiredColdKeys += fingerprints.count
        expiredSinceCompaction += fingerprints.count
        flushPendingDeletes()
        let job = UncheckedBox(fingerprints)
        let storage = self.storage
        writer.async {
            let now = Clock.nowMillis()
            var deletes = ColdBatch()
            for fp in job.value {
                let position = ColdKeyFormat.position(hash32: Keyspace.hash32(fp))
                let start = ColdKeyFormat.seekKey(storageID: storageID, position: position)
                try? storage.forEach(from: start, to: nil) { key, value in
                    guard let decoded = ColdKeyFormat.decode(key), decoded.storageID == storageID,
                          UInt64(decoded.reversedHash) << 32 == position else { return false }
                    if let header = ValueCodec.header(value), header.expireAt != 0, header.expireAt <= now {
                        deletes.delete([UInt8](key))
                    }
                    return true
                }
            }
            if !deletes.isEmpty { try? storage.write(deletes) }
        }
        maybeCompact()
    }

    /// After many expired keys were deleted, compacts RocksDB so that their space (and the
    /// delete markers) go away; the compaction filter also drops expired values it meets.
    func maybeCompact() {
        let cold = store.coldKeys
        guard !compactionRunning, expiredSinceCompaction >= 1000,
              expiredSinceCompaction * 10 >= cold + expiredSinceCompaction else { return }
        compactionRunning = true
        expiredSinceCompaction = 0
        let storage = self.storage
        writer.async { [maintenance, loop] in
            // Behind the deletes just queued, then off the writer so demotions go on.
            maintenance.async {
                storage.compact(from: nil, to: nil)
                loop.execute { [self] in self.compactionRunning = false }
            }
        }
    }

    // MARK: - Listings (SCAN, KEYS, RANDOMKEY)

    /// Lists cold keys of a database from `position` on, in position order: at least
    /// `limit` entries (all those sharing the last one's position), on the writer queue so
    /// that the listing is ordered with demotions. The result's `end` is the position up to
    /// which the listing is complete (nil: to the end).
    public func list(storageID: UInt8, from position: UInt64, limit: Int) -> EventLoopFuture<ColdListing> {
        let promise = loop.makePromise(of: ColdListing.self)
        flushPendingDeletes()
        let storage = self.storage
        writer.async {
            var entries: [ColdListing.Entry] = []
            var end: UInt64? = nil
            let start = ColdKeyFormat.seekKey(storageID: storageID, position: position)
            do {
                try storage.forEach(from: start, to: ColdKeyFormat.prefixEnd(storageID: storageID)) { key, value in
                    guard let decoded = ColdKeyFormat.decode(key) else { return true }
                    let entryPosition = UInt64(decoded.reversedHash) << 32
                    if entries.count >= limit && entryPosition != entries.last!.position {
                        end = entryPosition
                        return false
                    }
                    let header = ValueCodec.header(value)
                    entries.append(ColdListing.Entry(key: decoded.key, position: entryPosition,
                                                     typeTag: header?.typeTag ?? 0, expireAt: header?.expireAt ?? 0))
                    return true
                }
                promise.succeed(ColdListing(storageID: storageID, start: position, entries: entries, end: end))
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    // MARK: - Memory

    /// Bytes RocksDB itself holds in memory (memtables, block cache, index and filter
    /// blocks): fixed by configuration, outside maxmemory.
    public private(set) var rocksDBMemory = 0

    /// Refreshes the RocksDB figures (from the cron: the property reads take a lock).
    public func sampleRocksDBMemory() {
        let memtables = Int(storage.integerProperty("rocksdb.cur-size-all-mem-tables") ?? 0)
        let readers = Int(storage.integerProperty("rocksdb.estimate-table-readers-mem") ?? 0)
        rocksDBMemory = memtables + readers + storage.blockCacheUsage
    }

    /// Read latency percentile in microseconds.
    public func readLatencyPercentile(_ p: Double) -> Int { readLatencies.percentile(p) }

    public var pendingReads: Int { pending.count }
}

/// A listing of cold keys (see `ColdTier.list`).
public struct ColdListing {
    public struct Entry {
        public let key: [UInt8]
        public let position: UInt64
        public let typeTag: UInt8
        public let expireAt: Int64
    }
    public let storageID: UInt8
    public let start: UInt64
    public let entries: [Entry]
    /// Entries are complete for positions below this (nil: up to the end).
    public let end: UInt64?
}

/// Hands a value to another thread. Used for data the execution thread no longer touches
/// (or shares copy-on-write), which Swift cannot prove Sendable.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A ring of recent samples, for percentiles in INFO.
struct LatencySamples {
    var samples: [Int]
    var next = 0
    var filled = false

    init(capacity: Int) { samples = Array(repeating: 0, count: capacity) }

    mutating func record(_ value: Int) {
        samples[next] = value
        next += 1
        if next == samples.count {
            next = 0
            filled = true
        }
    }

    func percentile(_ p: Double) -> Int {
        let count = filled ? samples.count : next
        guard count > 0 else { return 0 }
        let sorted = samples[0..<count].sorted()
        return sorted[min(count - 1, Int(Double(count - 1) * p / 100.0 + 0.5))]
    }
}

import CShims
import Dispatch
import NIOCore

/// Keys on their way to RocksDB. An item shares its key's record with RAM (the slot is
/// flagged `inBatch`): the writer thread reads the key and value from it while the
/// execution thread leaves it alone (an edit gives the slot a new record, a removal leaves
/// the record to the batch), and the commit frees it if the key let go of it meanwhile. A
/// copy of each key into the batch was freed a batch at a time and kept up to 15 MB of
/// dirty allocator pages resident under a sustained load.
///
/// A large collection is the exception: its object is changed in place, so the batch gets
/// a copy of its own (`LargeCopy`; `record` is then a private record holding the key, not
/// the slot's), and the slot is not flagged `inBatch`; a change in between clears `clean`,
/// which keeps the key hot.
struct DemotionBatch {
    struct Item {
        let storageID: UInt8
        /// `KeyHash.hash(key)`, computed once for the RocksDB key, the lookup at commit and
        /// the cold index.
        let hash: UInt64
        /// What is written: the slot's own record, or for a large collection a private
        /// record of its key (the value is `large`).
        let record: KeyRecord
        let large: LargeCopy?
        /// The slot's record when queued (the commit finds the key by it).
        let source: UnsafeMutableRawPointer
        let expireAt: Int64
        let rawEncoding: Bool
        /// RAM the key frees when it leaves (estimate; 0 for a checkpoint's copy).
        let bytes: Int
        /// A checkpoint's copy: the key stays in RAM, now clean.
        let keepHot: Bool
        /// The log's change sequence when the item was queued: the value holds every
        /// change logged up to it (LogChange.swift).
        let sequence: UInt64

        var rocksKey: [UInt8] {
            ColdKeyFormat.encode(storageID: storageID, hash32: Keyspace.hash32(hash), key: record.keyBytes)
        }
    }
    var items: [Item] = []
    var bytes = 0
    /// Items that leave RAM when written (the others are a checkpoint's copies).
    var leavingKeys = 0
    var checkpointItems = 0
    /// The largest `sequence` of the items.
    var sequence: UInt64 = 0
    var isEmpty: Bool { items.isEmpty }

    /// Queues the key at `slot` (not in a batch yet), sharing its record; a large
    /// collection's copy is `large` when a sliced demotion packed it already.
    mutating func append(_ db: Database, _ slot: SlotPointer, meta: UInt32, bytes: Int, keepHot: Bool,
                         large packed: LargeCopy? = nil) {
        let source = slot.pointee.record
        var record = source
        var large: LargeCopy?
        if let owned = source.ownedValue {
            large = packed ?? LargeCopy(of: owned)
            record = KeyRecord.make(key: source.keyBytes, value: UnsafeRawBufferPointer(start: nil, count: 0),
                                    type: source.valueType)
            slot.pointee.meta = meta | KeyFlags.demoting | KeyFlags.clean | KeyFlags.diskCopy
        } else {
            slot.pointee.meta = meta | KeyFlags.demoting | KeyFlags.inBatch | KeyFlags.clean | KeyFlags.diskCopy
        }
        let sequence = db.store.sequenceOfCopies
        self.sequence = max(self.sequence, sequence)
        items.append(Item(storageID: db.storageID, hash: KeyHash.hash(slot.pointee.keyBytes),
                          record: record, large: large, source: source.base, expireAt: slot.pointee.expireAt,
                          rawEncoding: meta & KeyFlags.rawString != 0, bytes: bytes, keepHot: keepHot,
                          sequence: sequence))
    }
}

/*
 Demotion: the eviction policy picks a victim, and with tiering on it is written to
 RocksDB instead of being dropped. A victim whose RocksDB copy is current (promoted and
 never changed) leaves RAM at once. Others are flagged `demoting`, collected into one
 batch (at most `tiering-demote-batch-bytes`) and written by the writer thread; when the
 write is done, each key that is still flagged and unchanged leaves RAM. A key that changed
 in between stays hot (its RocksDB copy is then older, and is overwritten or deleted later).
*/
extension ColdTier {
    /// Demotes the key at `slot`; returns the RAM it frees (now or when its batch is written).
    @discardableResult
    public func demote(_ db: Database, _ slot: SlotPointer) -> Int {
        if atomicUnits > 0 { return 0 }
        let meta = slot.pointee.meta
        if meta & (KeyFlags.demoting | KeyFlags.pinned) != 0 { return 0 }
        let bytes = ColdTier.estimatedBytes(slot)
        if meta & (KeyFlags.clean | KeyFlags.diskCopy) == KeyFlags.clean | KeyFlags.diskCopy {
            unload(db, slot)
            return bytes
        }
        if demoteInSlices(db, slot) { return bytes }
        batch.append(db, slot, meta: meta, bytes: bytes, keepHot: false)
        batch.bytes += bytes
        batch.leavingKeys += 1
        if batch.bytes + batchCheckpointBytes >= store.config.tieringDemoteBatchBytes { flushDemotions() }
        return bytes
    }

    /// A checkpoint copies the key at `slot` to RocksDB; it stays hot, and is clean once
    /// the write is done (unless it changes meanwhile). Returns the bytes queued.
    func copyForCheckpoint(_ db: Database, _ slot: SlotPointer, large: LargeCopy? = nil) -> Int {
        let bytes = ColdTier.estimatedBytes(slot)
        batch.append(db, slot, meta: slot.pointee.meta, bytes: 0, keepHot: true, large: large)
        batch.checkpointItems += 1
        // The copy frees nothing, but it is a write like the others: it counts toward the
        // batch's size.
        batchCheckpointBytes += bytes
        if batchCheckpointBytes + batch.bytes >= store.config.tieringDemoteBatchBytes { flushDemotions() }
        return bytes
    }

    /// RAM a key holds beyond its table slot: its record (plus the allocator's rounding,
    /// 8 bytes on average for small blocks).
    static func estimatedBytes(_ slot: SlotPointer) -> Int {
        let record = slot.pointee.record
        return KeyRecord.headerBytes + record.keyCount + record.valueCount + 8 + (record.ownedValue?.heapBytes ?? 0)
    }

    /// A key whose RocksDB copy is current leaves RAM.
    func unload(_ db: Database, _ slot: SlotPointer, hash: UInt64? = nil) {
        stats.demotions += 1
        db.unload(slot, hash: hash)
        epoch &+= 1
    }

    /// Hands the batch being filled to the writer. With `wait`, returns only once it is
    /// written and committed (the all-cold test mode and TIER DEMOTE use that).
    public func flushDemotions(wait: Bool = false) {
        if wait && !slicedDemotions.isEmpty { runSlices(budget: .max) }
        guard !batch.isEmpty else {
            if wait {
                flushPendingDeletes()
                log?.submit(force: true)
                writer.sync {}
            }
            return
        }
        var items = batch
        // RocksDB keeps the highest number given so far (start-up continues from it), also
        // when the batch's copies were taken at a lower one during replay.
        items.sequence = max(items.sequence, store.changeSequence)
        batch = DemotionBatch()
        batchCheckpointBytes = 0
        inFlightBatches += 1
        inFlightKeys += items.leavingKeys
        inFlightBytes += items.bytes
        let logPosition = logPositionForWrite()
        var write = pendingDeletes  // deletes asked for earlier go first
        pendingDeletes = ColdBatch()
        deleteFlushScheduled = false
        let threshold = store.config.tieringValueCompressionThreshold
        let minFreeDisk = store.config.tieringMinFreeDisk
        let job = UncheckedBox((items, write))
        write = ColdBatch()
        let storage = self.storage
        let log = self.log
        let encodeAndWrite: @Sendable () -> String? = {
            var (items, write) = job.value
            log?.waitWritten(logPosition)
            if let problem = storage.diskSpaceProblem(minFree: minFreeDisk) { return problem }
            // In key order: RocksDB's memtable (a skip list) inserts a sorted run from where
            // the previous insert ended instead of searching from the top each time; in
            // random order the inserts took most of the writer's time. Equal keys keep
            // their order (the later copy is the newer).
            let rocksKeys = items.items.map(\.rocksKey)
            let order = rocksKeys.indices.sorted { a, b in
                let x = rocksKeys[a], y = rocksKeys[b]
                return x.lexicographicallyPrecedes(y) || (x == y && a < b)
            }
            for index in order {
                let item = items.items[index]
                let encode = { (payload: UnsafeRawBufferPointer) in
                    ValueCodec.encode(type: item.record.valueType, payload: payload, expireAt: item.expireAt,
                                      compressionThreshold: threshold, rawEncoding: item.rawEncoding,
                                      sequence: item.sequence)
                }
                if let large = item.large {
                    write.put(rocksKeys[index], large.takePayload().withUnsafeBytes(encode))
                } else {
                    write.put(rocksKeys[index], encode(item.record.valueBytes))
                }
            }
            if items.sequence > 0 {
                write.put(StorageMetadata.changeSequenceKey, StorageMetadata.encodeSeed(items.sequence))
            }
            do {
                try storage.write(write)
                return nil
            } catch {
                return "\(error)"
            }
        }
        if wait {
            log?.submit(force: true)  // the writer waits for those records: hand them over
            let failure = writer.sync(execute: encodeAndWrite)
            commit(items, failure: failure)
        } else {
            let loop = self.loop
            let nice = ioNice
            writer.async {
                strata_set_thread_nice(nice)
                let failure = encodeAndWrite()
                // A list's snapshot may be freed here (its nodes came from the execution
                // thread's arena): cached by this thread, they would count as used memory.
                strata_flush_thread_cache()
                loop.execute { [self] in self.commit(job.value.0, failure: failure) }
            }
        }
    }

    /// Back on the execution thread after a batch was written (`failure`: RocksDB's error).
    func commit(_ items: DemotionBatch, failure: String?) {
        let written = failure == nil
        inFlightBatches -= 1
        inFlightKeys -= items.leavingKeys
        inFlightBytes -= items.bytes
        if let failure {
            stats.writeErrors += 1
            lastWriteError = String(failure.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
            lastWriteFailure = Clock.monotonicNanos()
        } else {
            lastWriteError = nil
        }
        store.batchCommitted(written: written, checkpointItems: items.checkpointItems)
        // Memory is about to drop: the next check must read it again, not act on a sample
        // taken while these keys were still in RAM (that over-demoted by tens of MB).
        store.memoryCheckCountdown = 0
        for item in items.items {
            // The slot still holding this very record is the key this item wrote (its
            // record cannot have been reused: the batch kept it allocated).
            let privateCopy = item.record.base != item.source
            defer { if privateCopy { item.record.free() } }
            guard let db = store.database(storageID: item.storageID),
                  let slot = db.keys.find(item.record.keyBytes, hash: item.hash),
                  slot.pointee.storage == item.source else {
                if !privateCopy { item.record.free() }  // the key changed, moved or went meanwhile
                continue
            }
            let meta = slot.pointee.meta
            slot.pointee.meta = meta & ~(KeyFlags.demoting | KeyFlags.inBatch)
            guard written else {
                slot.pointee.meta &= ~KeyFlags.clean
                continue
            }
            guard meta & KeyFlags.clean != 0, !item.keepHot else { continue }  // changed while being written
            stats.demotedBytes += item.bytes
            // A read of this key still in flight read an older copy (or none).
            if !pending.isEmpty { pending[RocksKey(item.rocksKey)]?.stale = true }
            unload(db, slot, hash: item.hash)
        }
        // The batch that filled while this one was written goes now (see checkMemory),
        // unless the disk just refused this one.
        if inFlightBatches == 0 && !batch.isEmpty && written { flushDemotions() }
        wakeMemoryWaiters()
    }

    func wakeMemoryWaiters() {
        guard !memoryWaiters.isEmpty else { return }
        let waiters = memoryWaiters
        memoryWaiters.removeAll()
        for waiter in waiters { waiter.succeed(()) }
    }

    /// A future that completes at the next commit (or soon, to look again).
    func waitForMemory() -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        memoryWaiters.append(promise)
        if memoryWaiters.count == 1 {
            loop.scheduleTask(in: .milliseconds(10)) { [self] in self.wakeMemoryWaiters() }
        }
        return promise.futureResult
    }

    /// Demotes every hot key of every database and waits for the write (the all-cold test
    /// mode runs this after each command; TIER DEMOTE-ALL runs it on request).
    public func demoteEverything() {
        if atomicUnits > 0 {
            demoteEverythingAfterAtomicUnits = true
            return
        }
        var any = false
        for db in store.databases where db.keys.count > 0 {
            var keys: [[UInt8]] = []
            keys.reserveCapacity(db.keys.count)
            db.keys.forEach { slot in keys.append(slot.pointee.key) }
            for key in keys {
                guard let slot = key.withUnsafeBytes({ db.keys.find($0) }) else { continue }
                demote(db, slot)
                any = true
            }
        }
        if any || !batch.isEmpty { flushDemotions(wait: true) }
    }

    /// An atomic unit starts: until it ends, `demote` and `demoteEverything` move nothing.
    public func beginAtomicUnit() { atomicUnits += 1 }

    /// An atomic unit ended; a demotion of everything asked for meanwhile runs now.
    public func endAtomicUnit() {
        atomicUnits -= 1
        if atomicUnits == 0 && demoteEverythingAfterAtomicUnits {
            demoteEverythingAfterAtomicUnits = false
            demoteEverything()
        }
    }
}

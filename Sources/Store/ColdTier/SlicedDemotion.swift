import Dispatch

/*
 Demoting a large collection without holding the event loop (issue: at most 10 ms at a
 time for a 100 MB value). The writer thread needs the value packed, and only the
 execution thread may read the live object, which it changes in place:
 - a list is copied on write: `QuickList.copy()` shares its nodes (Swift arrays) with the
   live list, so the copy costs a pointer per node, a later change to the live list copies
   only the nodes it touches, and the writer packs the copy on its own thread;
 - a hash or a set (a FieldTable, whose records are not values Swift can share) is packed
   on the loop a slice at a time (`sliceBudget` per turn, the sockets served in between).
   A change to it in between (its `version` moves) abandons the demotion: the key stays
   hot, as a key changed while its batch is written does. Only then is the key queued,
   flagged `demoting`: a checkpoint that meets it while it is being packed copies it as
   any other changed key, so nothing depends on a demotion that may be abandoned.
 A synchronous demotion (TIER DEMOTE, the all-cold test mode) packs whatever is left at once.

 A checkpoint copies a large collection into RocksDB the same way (`checkpointLargeCopy`),
 not into the log: writing it into the log would pack it on the loop at once. The key stays
 hot. A change in between starts the packing again, so that RocksDB gets a state the key
 really had (the log's later changes apply on top of it); after a few restarts the rest is
 packed at once, so that a hash written all the time still ends the checkpoint. A demotion
 asked for meanwhile takes the job over (it writes the copy too); a checkpoint's job that a
 demotion gave up goes on as a copy. The checkpoint ends only once its jobs are queued.
*/
final class LargeCopy: @unchecked Sendable {
    private var snapshot: QuickList?
    private var packed: [UInt8]?

    init(packed: [UInt8]) { self.packed = packed }

    /// What the writer needs of `owned`: a list's copy-on-write copy (packed later, on the
    /// writer thread), or a small enough hash's or set's payload, packed now.
    init(of owned: OwnedCollection) {
        if let list = owned as? QuickList {
            snapshot = unsafeDowncast(list.copy(), to: QuickList.self)
        } else {
            packed = owned.packedPayload()
        }
    }

    /// A large collection no key holds (LargeHotMoves.swift), with the reference this
    /// copy owns: packed on the writer thread, then given back to the loop.
    private var object: Unmanaged<OwnedCollection>?

    init(owning object: Unmanaged<OwnedCollection>) { self.object = object }

    /// The owned object's payload (writer thread; the object stays).
    func packOwned() -> [UInt8] { object?.takeUnretainedValue().packedPayload() ?? [] }

    /// The owned object and its reference, once (back on the loop).
    func takeObject() -> Unmanaged<OwnedCollection> {
        defer { object = nil }
        return object!
    }

    /// The packed payload, once (on the writer thread): what it held is freed there.
    func takePayload() -> [UInt8] {
        defer { snapshot = nil; packed = nil }
        return packed ?? snapshot?.packedPayload() ?? []
    }
}

final class SlicedDemotion {
    let storageID: UInt8
    let key: [UInt8]
    let hash: UInt64
    /// Nil once dropped (`ColdTier.drop`).
    var table: FieldTable?
    var version: UInt64
    var packing = FieldTable.Packing()
    /// A checkpoint's copy only: the key stays in RAM.
    var keepHot: Bool
    /// A checkpoint waits for this table's copy.
    var forCheckpoint: Bool
    /// Times the packing started again because the table changed (checkpoint copies).
    var restarts = 0

    init(storageID: UInt8, key: [UInt8], hash: UInt64, table: FieldTable, forCheckpoint: Bool) {
        self.storageID = storageID
        self.key = key
        self.hash = hash
        self.table = table
        version = table.version
        keepHot = forCheckpoint
        self.forCheckpoint = forCheckpoint
    }
}

extension ColdTier {
    /// Hashes and sets at least this large are packed in slices.
    static let slicedDemotionBytes = 4 << 20
    /// Table positions packed per slice (about a millisecond for 100-byte fields).
    static let slicePositions = 16_384
    /// Loop time given to packing per turn.
    static let sliceBudgetNanos: UInt64 = 2_000_000

    /// True when the key at `slot` is a large hash or set, now being packed in slices
    /// (false: the caller queues it at once).
    func demoteInSlices(_ db: Database, _ slot: SlotPointer) -> Bool {
        guard let table = slot.pointee.record.ownedValue as? FieldTable,
              table.heapBytes >= ColdTier.slicedDemotionBytes else { return false }
        if let job = slicedDemotions.first(where: { $0.table === table }) {
            job.keepHot = false  // a checkpoint's copy becomes the demotion
            return true
        }
        slicedDemotions.append(SlicedDemotion(storageID: db.storageID, key: slot.pointee.key,
                                              hash: KeyHash.hash(slot.pointee.keyBytes), table: table,
                                              forCheckpoint: false))
        scheduleSlices()
        return true
    }

    /// A checkpoint's copy of a large collection at `slot` into RocksDB (a list's
    /// copy-on-write snapshot at once, a hash or set packed in slices); it stays hot.
    func checkpointLargeCopy(_ db: Database, _ slot: SlotPointer) {
        guard let table = slot.pointee.record.ownedValue as? FieldTable else {
            _ = copyForCheckpoint(db, slot)
            return
        }
        if let job = slicedDemotions.first(where: { $0.table === table }) {
            job.forCheckpoint = true
            return
        }
        slicedDemotions.append(SlicedDemotion(storageID: db.storageID, key: slot.pointee.key,
                                              hash: KeyHash.hash(slot.pointee.keyBytes), table: table,
                                              forCheckpoint: true))
        scheduleSlices()
    }

    /// Whether the value at `slot` is large enough that a checkpoint copies it into RocksDB
    /// (`checkpointLargeCopy`) rather than packing it on the loop.
    static func isLarge(_ slot: SlotPointer) -> Bool {
        (slot.pointee.record.ownedValue?.heapBytes ?? 0) >= slicedDemotionBytes
    }

    /// Checkpoint copies still being packed.
    var checkpointCopiesPending: Bool { slicedDemotions.contains { $0.forCheckpoint } }

    /// Demotions being packed (a checkpoint's copies free nothing).
    var demotionsBeingPacked: Int { slicedDemotions.reduce(0) { $0 + ($1.keepHot ? 0 : 1) } }

    private func scheduleSlices() {
        guard !slicesScheduled else { return }
        slicesScheduled = true
        loop.execute { [self] in
            slicesScheduled = false
            runSlices(budget: ColdTier.sliceBudgetNanos)
        }
    }

    /// Packs for about `budget` nanoseconds (UInt64.max: until every job is done), queues
    /// the finished ones, and schedules the rest for the next turn of the loop.
    func runSlices(budget: UInt64) {
        let deadline = budget == .max ? UInt64.max : Clock.monotonicNanos() &+ budget
        var queued = false
        while let job = slicedDemotions.first, let table = job.table {
            // Renamed or deleted: nothing to write (and a checkpoint needs nothing of it).
            // Flagged `demoting`: on its way to RocksDB already.
            guard let db = store.database(storageID: job.storageID),
                  let slot = job.key.withUnsafeBytes({ db.keys.find($0, hash: job.hash) }),
                  slot.pointee.record.ownedValue === table, slot.pointee.meta & KeyFlags.demoting == 0 else {
                drop(slicedDemotions.removeFirst())
                continue
            }
            if !job.keepHot && (table.version != job.version || slot.pointee.meta & KeyFlags.pinned != 0 || atomicUnits > 0) {
                // Changed or pinned: the key stays as it is (a checkpoint's copy goes on).
                job.keepHot = true
            }
            if job.keepHot {
                guard job.forCheckpoint && store.checkpointRunning else {
                    drop(slicedDemotions.removeFirst())
                    continue
                }
                if table.version != job.version {
                    job.version = table.version
                    job.packing = FieldTable.Packing()
                    job.restarts += 1
                }
            }
            if table.pack(&job.packing, slots: job.restarts > 2 ? .max : ColdTier.slicePositions) {
                if Clock.monotonicNanos() >= deadline { break }
                continue
            }
            slicedDemotions.removeFirst()
            let packed = LargeCopy(packed: job.packing.payload)
            job.packing = FieldTable.Packing()
            if job.keepHot {
                _ = copyForCheckpoint(db, slot, large: packed)
            } else {
                let bytes = ColdTier.estimatedBytes(slot)
                batch.append(db, slot, meta: slot.pointee.meta, bytes: bytes, keepHot: false, large: packed)
                batch.bytes += bytes
                batch.leavingKeys += 1
            }
            queued = true
            drop(job)
            if Clock.monotonicNanos() >= deadline { break }
        }
        // The memory check flushes a batch only when it demotes: this one goes now unless
        // one is being written (it then goes when that one commits).
        if queued && budget != .max && inFlightBatches == 0 { flushDemotions() }
        if !slicedDemotions.isEmpty { scheduleSlices() }
    }

    /// The job's reference to the table goes on a background queue: it may be the last
    /// one (the key was deleted meanwhile, or a demotion's release on that queue ran
    /// first), and freeing the table is slow. As any background release it counts as
    /// `OwnedValue.releasing` until done: uncounted, a write over maxmemory with no key
    /// left in RAM got -OOM while the table was being freed.
    private func drop(_ job: SlicedDemotion) {
        guard let table = job.table else { return }
        job.table = nil
        OwnedValue.releaseInBackground(Unmanaged<OwnedCollection>.passRetained(table))
    }
}

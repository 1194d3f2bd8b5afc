import NIOCore

/*
 RENAME, MOVE and COPY of a large hot collection while the log is on (COPY of a hash or
 set also without it). In RAM a rename moves the object uncopied, but the log needs the
 target's value: logging its state packed it on the loop at once (over 40 ms for 100 MB).
 Instead the value goes through the cold tier the way a cold key's move does
 (ColdTierMoves.swift):
 - the object leaves the keyspace and is handed to the writer (a COPY of a list hands it
   the list's copy-on-write copy, which costs a pointer per node; of a hash or set, see
   below); the target gets an index entry and is a move in flight, so a command that
   needs its value waits, as for any cold move;
 - the log gets the MOVE record with a sequence number, as for a cold move;
 - the writer packs the object on its own thread (nothing else can reach it) and writes
   it under the target's RocksDB key, the source's delete and the move's sequence number
   in one RocksDB batch, behind every write queued before;
 - back on the loop the object returns to RAM under the target, clean (RocksDB holds
   exactly it), unless a command replaced or removed the target meanwhile.
 COPY of a large hash or set makes no copy in RAM: a FieldTable's records cannot be shared,
 and copying a 100 MB one held the loop over 800 ms. Both keys leave RAM instead, both are
 moves in flight, and the writer stores the one packed value under both names in the same
 batch. The object then returns to the source; the copy stays cold, and is read back
 (on a reader thread) when a command needs it, as any cold key is.
 The MOVE record replays as a cold move's (Recovery.swift): when RocksDB holds the move's
 batch, the target is RocksDB's; otherwise the source is either in RAM (replayed) or cold,
 and then RocksDB's copy of it is the value it had at the move (RocksDB keeps a prefix of
 the writer's batches, and every later write of the source comes after that batch). The
 source's copy a COPY's batch writes holds the change sequence of the moment of the COPY,
 as a demotion's does: replay applies the source's later changes on top of it.

 Not inside an atomic unit (EXEC, later scripts): the target would leave RAM in the middle
 of it. There the target's state is logged as before.
*/

/// A large collection's value on its way to RocksDB under a new key (`ColdRewrite.store`).
struct ColdStore {
    let sequence: UInt64
    /// The source's RocksDB key, deleted in the same write (nil for COPY).
    let source: [UInt8]?
    let target: RocksKey
    /// COPY of a hash or set: the source's RocksDB key, which the write stores the value
    /// under too. The object returns to the source (or, if the source was replaced
    /// meanwhile, to the target).
    let copySource: RocksKey?
    let type: ValueType
    let value: LargeCopy
    let expireAt: Int64
    /// The change sequence the value holds (`Store.sequenceOfCopies`), and the highest one
    /// given so far (RocksDB keeps it: start-up continues from it).
    let valueSequence: UInt64
    let changeSequence: UInt64
    let compressionThreshold: Int
    let done: EventLoopPromise<Void>
}

extension ColdTier {
    /// Whether RENAME, MOVE or COPY of the key at `slot` goes through the writer
    /// (`storeThroughWriter`) rather than logging the target's state. COPY of a hash or set
    /// does also without the log: it saves copying the table on the loop.
    func movesThroughWriter(_ slot: SlotPointer, copying: Bool) -> Bool {
        guard atomicUnits == 0, ColdTier.isLarge(slot) else { return false }
        return log != nil || copying && slot.pointee.record.ownedValue is FieldTable
    }

    /// Gives `object` (a large collection no key holds now, with a reference for the
    /// target) to `target` of `targetDB`, whose old value the caller removed, through
    /// RocksDB (see above); `source` of `sourceDB` lost it (RENAME, MOVE) or keeps its own
    /// (COPY: `keepSource`). With `sourceInFlight` (COPY of a hash or set) the source left
    /// RAM too, its index entry in place: the value is stored under both names. Returns the
    /// move's sequence number for the log record.
    func storeThroughWriter(_ object: Unmanaged<OwnedCollection>, type: ValueType, from sourceDB: Database,
                            _ source: UnsafeRawBufferPointer, keepSource: Bool, sourceInFlight: Bool,
                            to targetDB: Database, _ target: UnsafeRawBufferPointer, expireAt: Int64,
                            meta: UInt32) -> UInt64 {
        let targetHash = KeyHash.hash(target)
        targetDB.cold.insert(ColdIndex.fingerprint(targetHash), expireAt: expireAt, meta: meta)
        epoch &+= 1
        let targetKey = RocksKey(ColdKeyFormat.encode(storageID: targetDB.storageID,
                                                      hash32: Keyspace.hash32(targetHash), key: target))
        pending[targetKey]?.stale = true  // a read of the target in flight read its old value
        moveSequence += 1
        let done = loop.makePromise(of: Void.self)
        movesInFlight[targetKey] = done.futureResult
        var copySource: RocksKey?
        if sourceInFlight {
            let key = RocksKey(ColdKeyFormat.encode(storageID: sourceDB.storageID,
                                                    hash32: Keyspace.hash32(KeyHash.hash(source)), key: source))
            pending[key]?.stale = true
            movesInFlight[key] = done.futureResult
            copySource = key
        }
        storesInFlight += 1
        rewrites.append(.store(ColdStore(
            sequence: moveSequence,
            source: keepSource ? nil : ColdKeyFormat.encode(storageID: sourceDB.storageID, key: source),
            target: targetKey, copySource: copySource, type: type, value: LargeCopy(owning: object),
            expireAt: expireAt,
            valueSequence: store.sequenceOfCopies, changeSequence: store.changeSequence,
            compressionThreshold: store.config.tieringValueCompressionThreshold, done: done)))
        return moveSequence
    }

    /// The write of a `ColdStore` (writer thread): its value packed there, in one batch
    /// with the source's delete and the move's sequence number.
    static func write(_ move: ColdStore, to storage: ColdStorage) throws {
        var write = ColdBatch()
        let encoded = move.value.packOwned().withUnsafeBytes {
            ValueCodec.encode(type: move.type, payload: $0, expireAt: move.expireAt,
                              compressionThreshold: move.compressionThreshold, sequence: move.valueSequence)
        }
        write.put(move.target.bytes, encoded)
        if let source = move.copySource { write.put(source.bytes, encoded) }
        if let source = move.source { write.delete(source) }
        write.put(StorageMetadata.moveSequenceKey, StorageMetadata.encodeSeed(move.sequence))
        write.put(StorageMetadata.changeSequenceKey, StorageMetadata.encodeSeed(move.changeSequence))
        try storage.write(write)
    }

    /// Back on the loop once the writer has written it (`written` false: RocksDB refused):
    /// the object becomes a value in RAM again, the source's for a COPY of a hash or set,
    /// else the target's, unless that key is no longer this move's (replaced, removed, or
    /// the target of a later move).
    func finish(_ move: ColdStore, written: Bool) {
        var object: Unmanaged<OwnedCollection>? = move.value.takeObject()
        storesInFlight -= 1
        defer {
            move.done.succeed(())
            wakeMemoryWaiters()  // the value is back (or freed): it can be demoted
        }
        var homes: [RocksKey] = []
        for home in [move.copySource, move.target].compactMap({ $0 }) where movesInFlight[home] === move.done.futureResult {
            movesInFlight[home] = nil
            homes.append(home)
        }
        var installed: OwnedCollection?
        for home in homes {
            if let taken = object {
                guard reinstall(taken, at: home, type: move.type, clean: written) else { continue }
                installed = taken.takeUnretainedValue()
                object = nil
            } else if let installed, !written {
                // RocksDB refused the write: the key that stays cold has no value there.
                // Rare enough to copy the table on the loop.
                let copy = Unmanaged.passRetained(installed.copy())
                if !reinstall(copy, at: home, type: move.type, clean: false) { OwnedValue.releaseInBackground(copy) }
            } else if !store.config.tiering {
                // With `tiering no` every key lives in RAM: the copy is read back now.
                var pins: [RocksKey] = []
                if let (storageID, _, key) = ColdKeyFormat.decode(home.bytes), let db = store.database(storageID: storageID) {
                    _ = key.withUnsafeBytes { admit([(db, $0)], purpose: .write, pins: &pins) }
                }
                releasePins(&pins)
            }
        }
        if let object { OwnedValue.releaseInBackground(object) }
    }

    /// Makes `object` the value in RAM of the key `home` names, if that key is still only
    /// in the cold index (no command wrote it meanwhile). `clean`: RocksDB holds exactly it.
    private func reinstall(_ object: Unmanaged<OwnedCollection>, at home: RocksKey, type: ValueType,
                           clean: Bool) -> Bool {
        guard let (storageID, _, key) = ColdKeyFormat.decode(home.bytes),
              let db = store.database(storageID: storageID),
              key.withUnsafeBytes({ db.keys.find($0) }) == nil else { return false }
        let fp = ColdIndex.fingerprint(key.withUnsafeBytes { KeyHash.hash($0) })
        guard let expireAt = db.cold.expireAt(fp), let meta = db.cold.meta(fp) else { return false }
        db.cold.remove(fp)
        let slot = OwnedValue.payload(taking: object).withUnsafeBytes { payload in
            key.withUnsafeBytes {
                db.add($0, type: type, payload: payload, expireAt: expireAt, meta: meta & AccessTracking.lruMask)
            }
        }
        // RocksDB holds exactly this value (or, if the write failed, perhaps an older one).
        slot.pointee.meta |= clean ? KeyFlags.diskCopy | KeyFlags.clean : KeyFlags.diskCopy
        return true
    }
}

extension Database {
    /// RENAME or MOVE (`keepSource` false) or COPY (true) of the large hot collection at
    /// `slot` to `target` of `targetDB`, whose old value the caller removed, through the
    /// cold tier (LargeHotMoves.swift). Returns false, changing nothing, when that does not
    /// apply (no log, an atomic unit, a small value): the caller moves it in RAM. The target
    /// gets the source's expiry and `access` history; the caller signals the changes.
    public func moveThroughWriter(_ slot: SlotPointer, _ source: UnsafeRawBufferPointer, to targetDB: Database,
                                  _ target: UnsafeRawBufferPointer, keepSource: Bool, access: UInt32) -> Bool {
        guard let tier = store.tier, tier.movesThroughWriter(slot, copying: keepSource),
              let owned = slot.pointee.record.ownedValue else { return false }
        let type = slot.pointee.valueType
        let expireAt = slot.pointee.expireAt
        let object: Unmanaged<OwnedCollection>
        let sourceInFlight = keepSource && owned is FieldTable
        if sourceInFlight {
            // COPY of a hash or set: the source leaves RAM for the write (see above); its
            // RocksDB copy is overwritten by it.
            let sourceHash = KeyHash.hash(source), sourceMeta = slot.pointee.coldMeta
            object = OwnedValue.takeObject(takeLeavingDiskCopy(slot).record)
            cold.insert(ColdIndex.fingerprint(sourceHash), expireAt: expireAt, meta: sourceMeta)
        } else if keepSource {
            object = Unmanaged.passRetained(owned.copy())  // a list's copy shares its nodes
        } else {
            // The source's RocksDB copy is deleted in the move's own write.
            object = OwnedValue.takeObject(takeLeavingDiskCopy(slot).record)
        }
        if type == .list && store.blockedKeys > 0 { store.createdLists.append((targetDB.index, [UInt8](target))) }
        let sequence = tier.storeThroughWriter(object, type: type, from: self, source, keepSource: keepSource,
                                               sourceInFlight: sourceInFlight, to: targetDB, target, expireAt: expireAt,
                                               meta: ColdIndex.meta(access: access, typeTag: type.rawValue))
        store.logColdMove(from: self, source, to: targetDB, target, keepSource: keepSource, sequence: sequence)
        return true
    }
}

import Glibc

/// What start-up found and did.
public struct RecoveryReport {
    public var coldKeys = 0
    public var loadedKeys = 0
    public var expiredOnDisk = 0
    public var segments: [Int] = []
    public var frames = 0
    public var records = 0
    /// Collections replay read from RocksDB to apply (or skip) their logged changes.
    public var coldValuesRead = 0
    /// The log segment to append to, and where its valid part ends (nil: new file).
    public var appendSegment = 1
    public var appendValidLength: Int?
    public var warnings: [String] = []
    /// Nothing had been saved: the server starts with no keys.
    public var startedEmpty = false
    /// The cold index came from the snapshot a clean shutdown wrote.
    public var indexFromSnapshot = false
    public init() {}
}

/// A reason start-up must stop: damaged data the operator did not allow to be skipped.
public struct RecoveryError: Error, CustomStringConvertible {
    public let description: String
}

/*
 Start-up with persistence: open RocksDB, list its keys into the cold index (with
 `tiering no`, into RAM), then replay the log segments from the last checkpoint's on.
 The server answers once that is done; no value is read except with `tiering no`.

 A log that ends inside a record (a write cut short by a crash) loses that record, as
 Redis's `aof-load-truncated yes` does, and a checksum error in the very last record is
 the same thing. Damage anywhere else stops start-up with the file and offset, unless
 `aof-load-corrupt-tail yes` says to keep what comes before it.
*/
extension Store {
    /// Where a clean shutdown leaves the cold index (next to RocksDB's directory).
    public var indexSnapshotPath: String { config.tieringDirname + ".index" }

    public func recover(logDirectory: String, allowTruncated: Bool, allowCorrupt: Bool) throws -> RecoveryReport {
        guard let tier else { throw RecoveryError(description: "recovery needs the RocksDB tier open") }
        defer { tier.endReplayHold() }
        var report = RecoveryReport()
        persistence.logDirectory = logDirectory
        persistence.replayColdReads = 0
        let storage = tier.storage
        if let seed = try storage.get(StorageMetadata.seedKey).flatMap(StorageMetadata.decodeSeed) {
            KeyHash.seed = seed
        } else {
            var batch = ColdBatch()
            batch.put(StorageMetadata.seedKey, StorageMetadata.encodeSeed(KeyHash.seed))
            try storage.write(batch, sync: true)
            try storage.flush()
        }
        if let bytes = try storage.get(StorageMetadata.moveSequenceKey), let sequence = StorageMetadata.decodeSeed(bytes) {
            persistence.appliedMoveSequence = sequence
            tier.moveSequence = sequence
        }
        if let bytes = try storage.get(StorageMetadata.changeSequenceKey),
           let sequence = StorageMetadata.decodeSeed(bytes) {
            changeSequence = sequence
        }
        var firstSegment = 0
        let mark = try storage.get(StorageMetadata.checkpointKey)
        if mark == nil && AppendLog.segments(directory: logDirectory, baseName: config.appendfilename).isEmpty {
            // Nothing was ever saved: what RocksDB holds is an earlier run's demoted keys,
            // not a dataset (Redis without an RDB or AOF file starts empty too).
            var clear = ColdBatch()
            clear.deleteRange(from: [0], to: [StorageMetadata.prefix])
            try storage.write(clear)
            report.startedEmpty = true
            return report
        }
        if let bytes = mark {
            guard let mark = CheckpointMark(bytes) else {
                throw RecoveryError(description: "the checkpoint record in RocksDB is unreadable")
            }
            guard mark.mapping.count == storageOwners.count else {
                throw RecoveryError(description: "the data directory was written with \(mark.mapping.count) "
                                    + "databases; start with `databases \(mark.mapping.count)`")
            }
            applyStorageMapping(mark.mapping)
            firstSegment = mark.segment
            persistence.lastMarkToken = mark.token
        }
        // A clean shutdown left the index; else every key in RocksDB is listed.
        if config.tiering, let token = persistence.lastMarkToken,
           let count = try loadIndexSnapshot(path: indexSnapshotPath, token: token, keep: config.appendonly) {
            report.coldKeys = count
            report.indexFromSnapshot = true
            persistence.indexFromSnapshot = true
        } else {
            unlink(indexSnapshotPath)
            try loadStorageKeys(&report)
        }
        replaySequence = 0
        try replayLog(directory: logDirectory, from: firstSegment, allowTruncated: allowTruncated,
                      allowCorrupt: allowCorrupt, &report)
        replaySequence = nil
        persistence.loadedSequences.removeAll()
        persistence.coldHeldSequences.removeAll()
        report.coldValuesRead = persistence.replayColdReads
        try verifyColdRemovals()
        return report
    }

    /// The databases take the storage ids the checkpoint recorded.
    func applyStorageMapping(_ mapping: [Int]) {
        storageOwners = mapping
        for (storageID, owner) in mapping.enumerated() {
            databases[owner].storageID = UInt8(storageID)
        }
    }

    /// Every key in RocksDB becomes an entry of its database's cold index (with `tiering
    /// no`, a key in RAM); expired ones are deleted instead.
    private func loadStorageKeys(_ report: inout RecoveryReport) throws {
        let tier = self.tier!
        let now = Clock.nowMillis()
        let meta = AccessTracking.initialMeta(nowMillis: now, lfu: lfuPolicy) & AccessTracking.lruMask
        var expired = ColdBatch()
        var failure: Error?
        // Collected first, so that each index is sized once for its count (growing shard
        // by shard costs dozens of rebuilds each).
        var entries: [IndexSnapshot.Entry] = []
        var perStorage = [Int](repeating: 0, count: 256)
        try tier.storage.forEach(from: [0], to: [StorageMetadata.prefix]) { rawKey, value in
            guard let (storageID, _, key) = ColdKeyFormat.decode(rawKey),
                  let db = database(storageID: storageID),
                  let header = ValueCodec.header(value) else { return true }
            if header.expireAt != 0 && header.expireAt <= now {
                expired.delete(Array(rawKey))
                report.expiredOnDisk += 1
                return true
            }
            let hash = KeyHash.hash(key)
            if config.tiering {
                entries.append(.init(storageID: storageID, fingerprint: ColdIndex.fingerprint(hash),
                                     expireAt: header.expireAt,
                                     meta: ColdIndex.meta(access: meta, typeTag: header.typeTag)))
                perStorage[Int(storageID)] += 1
            } else {
                do {
                    let decoded = try ValueCodec.decodeRecord(value)
                    let slot = db.insertLoaded(key: key, hash: hash, value: decoded.value, expireAt: decoded.expireAt,
                                               accessMeta: meta, transient: false)
                    if decoded.rawEncoding { slot.pointee.meta |= KeyFlags.rawString }
                    if decoded.sequence > 0 {
                        let id = key.withUnsafeBytes { PersistenceState.keyID(storageID, $0) }
                        persistence.loadedSequences[id] = decoded.sequence
                    }
                    report.loadedKeys += 1
                } catch {
                    failure = error
                    return false
                }
            }
            return true
        }
        if let failure { throw RecoveryError(description: "a value in RocksDB is unreadable: \(failure)") }
        fillColdIndexes(entries, perStorage: perStorage)
        report.coldKeys = entries.count
        if !expired.isEmpty { try tier.storage.write(expired) }
    }

    // MARK: - Log replay

    private func replayLog(directory: String, from first: Int, allowTruncated: Bool, allowCorrupt: Bool,
                           _ report: inout RecoveryReport) throws {
        let all = AppendLog.segments(directory: directory, baseName: config.appendfilename)
        // Segments before the checkpoint's are left from a deletion cut short.
        for n in all where n < first {
            unlink(AppendLog.segmentPath(directory: directory, baseName: config.appendfilename, n))
        }
        let segments = all.filter { $0 >= first }
        report.appendSegment = max(first, 1, (all.last ?? 0))
        for (index, n) in segments.enumerated() {
            let path = AppendLog.segmentPath(directory: directory, baseName: config.appendfilename, n)
            let isLast = index == segments.count - 1
            let bytes = try FileSystem.readAll(path)
            report.segments.append(n)
            let end = try replaySegment(bytes, path: path, isLast: isLast, allowTruncated: allowTruncated,
                                        allowCorrupt: allowCorrupt, &report)
            if let end {
                // The rest of this segment (and any later one) cannot be used.
                report.appendSegment = n
                report.appendValidLength = end
                for later in segments[(index + 1)...] {
                    let laterPath = AppendLog.segmentPath(directory: directory, baseName: config.appendfilename, later)
                    report.warnings.append("discarded \(laterPath), which follows the damage")
                    unlink(laterPath)
                }
                return
            }
            if isLast {
                report.appendSegment = n
                report.appendValidLength = bytes.count
            }
        }
    }

    /// Replays one segment; returns where its usable part ends when it has to be cut
    /// (nil: all of it was used).
    private func replaySegment(_ bytes: [UInt8], path: String, isLast: Bool, allowTruncated: Bool,
                               allowCorrupt: Bool, _ report: inout RecoveryReport) throws -> Int? {
        try bytes.withUnsafeBytes { file in
            let magic = AppendLog.magic
            if file.count < magic.count {
                // A segment whose header was never completely written holds nothing.
                if isLast && magic.starts(with: file) { return 0 }
                throw RecoveryError(description: "\(path) is not a Strata log (bad header)")
            }
            guard file.prefix(magic.count).elementsEqual(magic) else {
                throw RecoveryError(description: "\(path) is not a Strata log (bad header)")
            }
            var offset = magic.count
            while offset < file.count {
                switch LogRecord.scanFrame(file, at: offset) {
                case .frame(let payload, let next):
                    guard let operations = LogRecord.operations(UnsafeRawBufferPointer(rebasing: file[payload])),
                          (try? apply(operations, UnsafeRawBufferPointer(rebasing: file[payload]))) != nil else {
                        return try damaged(path, offset, "a record that cannot be decoded", allowCorrupt, &report)
                    }
                    report.frames += 1
                    report.records += operations.count
                    offset = next
                    if report.frames % 1024 == 0 { try relieveMemoryDuringReplay() }
                case .truncated where isLast:
                    return try truncated(path, offset, file.count, allowTruncated, &report)
                case .badChecksum(let end) where isLast && end == file.count:
                    // The last record, written only in part before a crash.
                    return try truncated(path, offset, file.count, allowTruncated, &report)
                case .truncated:
                    return try damaged(path, offset, "a record cut short (and later segments follow)", allowCorrupt,
                                       &report)
                case .badChecksum:
                    return try damaged(path, offset, "a record whose checksum does not match", allowCorrupt, &report)
                }
            }
            return nil
        }
    }

    private func truncated(_ path: String, _ offset: Int, _ size: Int, _ allowed: Bool,
                           _ report: inout RecoveryReport) throws -> Int {
        guard allowed else {
            throw RecoveryError(description: "\(path) ends with a truncated record at offset \(offset) "
                                + "(aof-load-truncated is no). Set aof-load-truncated yes to drop it.")
        }
        report.warnings.append("\(path): dropped a truncated last record (\(size - offset) bytes at offset \(offset))")
        return offset
    }

    private func damaged(_ path: String, _ offset: Int, _ what: String, _ allowed: Bool,
                         _ report: inout RecoveryReport) throws -> Int {
        guard allowed else {
            throw RecoveryError(description: "\(path) is corrupt: \(what) at offset \(offset). Nothing was served. "
                                + "To start with the data before this point only, set aof-load-corrupt-tail yes "
                                + "(everything logged after it is lost).")
        }
        report.warnings.append("\(path) is corrupt (\(what) at offset \(offset)): loaded the records before it, "
                               + "discarded the rest (aof-load-corrupt-tail yes)")
        return offset
    }

    /// Applies one frame's records. Throws on a record that makes no sense (unknown
    /// database, undecodable value).
    private func apply(_ operations: [LogRecord.Operation], _ payload: UnsafeRawBufferPointer) throws {
        refreshClock()
        for operation in operations {
            dirty += 1
            switch operation {
            case .set(let index, let keyRange, let valueRange):
                guard index < databases.count else { throw RecoveryError(description: "database \(index)") }
                let key = UnsafeRawBufferPointer(rebasing: payload[keyRange])
                let decoded = try ValueCodec.decodeRecord(UnsafeRawBufferPointer(rebasing: payload[valueRange]))
                if decoded.expireAt != 0 && decoded.expireAt <= nowMillis {
                    try replayDelete(databases[index], key)
                } else {
                    try replaySet(databases[index], key, decoded.value, decoded.expireAt, decoded.rawEncoding)
                }
            case .delete(let index, let keyRange):
                guard index < databases.count else { throw RecoveryError(description: "database \(index)") }
                try replayDelete(databases[index], UnsafeRawBufferPointer(rebasing: payload[keyRange]))
            case .expire(let index, let keyRange, let expireAt):
                guard index < databases.count else { throw RecoveryError(description: "database \(index)") }
                try replayExpire(databases[index], UnsafeRawBufferPointer(rebasing: payload[keyRange]), expireAt)
            case .move(let sourceIndex, let source, let targetIndex, let target, let keep, let sequence):
                guard sourceIndex < databases.count, targetIndex < databases.count else {
                    throw RecoveryError(description: "database \(max(sourceIndex, targetIndex))")
                }
                try replayMove(databases[sourceIndex], UnsafeRawBufferPointer(rebasing: payload[source]),
                               databases[targetIndex], UnsafeRawBufferPointer(rebasing: payload[target]),
                               keepSource: keep, sequence: sequence)
            case .change(let index, let keyRange, let sequence, let op, let argumentRanges):
                guard index < databases.count else { throw RecoveryError(description: "database \(index)") }
                let arguments = argumentRanges.map { UnsafeRawBufferPointer(rebasing: payload[$0]) }
                try replayChange(databases[index], UnsafeRawBufferPointer(rebasing: payload[keyRange]), sequence, op,
                                 arguments)
            case .flushDatabase(let index):
                guard index < databases.count else { throw RecoveryError(description: "database \(index)") }
                try verifyColdRemovals()
                persistence.coldHeldSequences.removeAll()
                databases[index].removeAll(async: false)
            case .swapDatabases(let a, let b):
                guard a < databases.count, b < databases.count else {
                    throw RecoveryError(description: "database \(max(a, b))")
                }
                try verifyColdRemovals()
                persistence.coldHeldSequences.removeAll()
                swapDatabases(a, b)
            }
        }
    }

    private func replaySet(_ db: Database, _ key: UnsafeRawBufferPointer, _ value: Value, _ expireAt: Int64,
                           _ raw: Bool) throws {
        forgetLoadedSequence(db, key)
        let hash = KeyHash.hash(key)
        let slot: SlotPointer
        if let hot = db.keys.find(key, hash: hash) {
            db.replaceValue(hot, value)
            db.setExpiry(hot, expireAt)
            slot = hot
        } else {
            // A RocksDB copy under this name is older than this record: the key is hot now
            // (and that copy must go if the key is deleted, hence diskCopy).
            let onDisk = try removeColdEntry(db, key, hash)
            slot = db.add(key, value, expireAt: expireAt)
            // Over a checkpoint's index, RocksDB may hold keys written after it: assume a
            // copy, so that deleting the key deletes that one too.
            if onDisk || persistence.indexFromSnapshot { slot.pointee.meta |= KeyFlags.diskCopy }
        }
        slot.pointee.meta &= ~(KeyFlags.clean | KeyFlags.rawString)
        if raw { slot.pointee.meta |= KeyFlags.rawString }
    }

    /// "The key keeps its value and now expires at `expireAt`": applied to whichever tier
    /// holds the key; nothing when it is in neither (a later record of the log, or RocksDB,
    /// already says what became of it).
    private func replayExpire(_ db: Database, _ key: UnsafeRawBufferPointer, _ expireAt: Int64) throws {
        if expireAt != 0 && expireAt <= nowMillis { return try replayDelete(db, key) }
        let hash = KeyHash.hash(key)
        if let hot = db.keys.find(key, hash: hash) {
            db.setExpiry(hot, expireAt)
        } else if db.cold.count > 0, db.cold.expireAt(ColdIndex.fingerprint(hash)) != nil {
            db.setColdExpiry(key, expireAt)
        }
    }

    /// A move (ColdTierMoves.swift, LargeHotMoves.swift). When RocksDB holds its write (its
    /// move sequence is at least this one), the target's value is RocksDB's: the moved
    /// value, or one written later. That holds whatever replay rebuilt of the source in
    /// RAM: changes replayed to a source whose RocksDB copy the move deleted start from
    /// nothing, and moving that would lose the value. Neither RocksDB key is touched then.
    /// Otherwise a source an earlier record put in RAM moves there, and a cold source's
    /// move is made in RocksDB now. A source in neither tier was moved in RocksDB already
    /// and its index entry is gone with it (a listing of RocksDB found the target); later
    /// records say the rest (the target's expiry among them).
    private func replayMove(_ sourceDB: Database, _ source: UnsafeRawBufferPointer, _ targetDB: Database,
                            _ target: UnsafeRawBufferPointer, keepSource: Bool, sequence: UInt64) throws {
        guard let tier else { return }
        tier.moveSequence = max(tier.moveSequence, sequence)
        forgetLoadedSequence(sourceDB, source)
        forgetLoadedSequence(targetDB, target)
        let sourceHash = KeyHash.hash(source), targetHash = KeyHash.hash(target)
        let rocksDBHoldsIt = sequence <= persistence.appliedMoveSequence
        let hotSource = sourceDB.keys.find(source, hash: sourceHash)
        if let hot = hotSource, !rocksDBHoldsIt {
            let value = hot.pointee.value, expireAt = hot.pointee.expireAt
            let raw = hot.pointee.meta & KeyFlags.rawString != 0
            if !keepSource { sourceDB.remove(hot) }
            return try replaySet(targetDB, target, value, expireAt, raw)
        }
        let fp = ColdIndex.fingerprint(sourceHash)
        let expireAt: Int64, sourceMeta: UInt32
        if let hot = hotSource {
            (expireAt, sourceMeta) = (hot.pointee.expireAt, hot.pointee.coldMeta)
        } else if sourceDB.cold.count > 0, let coldExpiry = sourceDB.cold.expireAt(fp) {
            (expireAt, sourceMeta) = (coldExpiry, sourceDB.cold.meta(fp) ?? 0)
        } else {
            return
        }
        let meta = keepSource
            ? ColdIndex.meta(access: AccessTracking.initialMeta(nowMillis: nowMillis, lfu: lfuPolicy),
                             typeTag: ColdIndex.typeTag(meta: sourceMeta))
            : sourceMeta
        // The target's old value went with the move: a RAM copy (its RocksDB copy is
        // the moved value now, or is about to be) or an index entry.
        if let hot = targetDB.keys.find(target, hash: targetHash) {
            hot.pointee.meta &= ~(KeyFlags.diskCopy | KeyFlags.demoting)
            targetDB.remove(hot)
        } else {
            _ = try removeColdEntry(targetDB, target, targetHash)
        }
        if !rocksDBHoldsIt {
            // Behind every RocksDB write replay queued so far.
            tier.flushDemotions(wait: true)
            let targetKey = ColdKeyFormat.encode(storageID: targetDB.storageID, hash32: Keyspace.hash32(targetHash),
                                                 key: target)
            let move = ColdMove(sequence: sequence,
                                source: ColdKeyFormat.encode(storageID: sourceDB.storageID,
                                                             hash32: Keyspace.hash32(sourceHash), key: source),
                                target: RocksKey(targetKey), keepSource: keepSource, done: nil)
            try tier.writer.sync { try ColdTier.apply(.move(move), to: tier.storage) }
            persistence.appliedMoveSequence = sequence
        }
        if !keepSource {
            if let hot = sourceDB.keys.find(source, hash: sourceHash) {
                // What RocksDB holds under the source's name came after the move: it stays.
                hot.pointee.meta &= ~(KeyFlags.diskCopy | KeyFlags.demoting)
                sourceDB.remove(hot)
            } else {
                _ = try removeColdEntry(sourceDB, source, sourceHash)
            }
        }
        targetDB.cold.insert(ColdIndex.fingerprint(targetHash), expireAt: expireAt, meta: meta)
    }

    private func replayDelete(_ db: Database, _ key: UnsafeRawBufferPointer) throws {
        forgetLoadedSequence(db, key)
        let hash = KeyHash.hash(key)
        if let hot = db.keys.find(key, hash: hash) {
            db.remove(hot)
        } else if try removeColdEntry(db, key, hash) || persistence.indexFromSnapshot {
            tier?.deleteFromDisk(storageID: db.storageID, key: [UInt8](key))
        }
    }

    // MARK: - Changes (LogChange.swift)

    /*
     A change applies to the key's value unless that value already holds it:
     - a key in RAM that replay gave a value (a state record, an earlier change) holds
       none of the later changes;
     - a key that start-up loaded into RAM (`tiering no`) holds those up to the sequence
       its value was stored with (`loadedSequences`, until a record replaces it);
     - any other key is read from RocksDB: a value stored at this sequence or later, or
       holding another type, was written after the change (a later record of the log
       replaced what the change applied to), so the change is skipped; an older one is
       loaded into RAM and changed; no value at all is an empty one. What a skip learned is
       kept (`coldHeldSequences`): the changes since the last checkpoint of a collection
       that went cold after them are all skipped, and reading its whole value for each made
       replay quadratic (seconds for a few thousand changes).
    */
    private func replayChange(_ db: Database, _ key: UnsafeRawBufferPointer, _ sequence: UInt64, _ op: ChangeOp,
                              _ arguments: [UnsafeRawBufferPointer]) throws {
        changeSequence = max(changeSequence, sequence)
        replaySequence = sequence
        let hash = KeyHash.hash(key)
        var slot = db.keys.find(key, hash: hash)
        if let hot = slot {
            if !persistence.loadedSequences.isEmpty {
                let id = PersistenceState.keyID(db.storageID, key)
                if let held = persistence.loadedSequences[id] {
                    if sequence <= held { return }
                    persistence.loadedSequences[id] = nil
                }
            }
            if hot.pointee.valueType != op.valueType { return }
        } else {
            let id = PersistenceState.keyID(db.storageID, key)
            if let held = persistence.coldHeldSequences[id] {
                if sequence <= held { return }
                persistence.coldHeldSequences[id] = nil
            }
            if let stored = try storedValue(db, key, hash) {
                persistence.replayColdReads += 1
                if stored.value.type != op.valueType {
                    persistence.coldHeldSequences[id] = .max
                    return
                }
                if sequence <= stored.sequence {
                    persistence.coldHeldSequences[id] = stored.sequence
                    return
                }
                try replaySet(db, key, stored.value, stored.expireAt, false)
                slot = db.keys.find(key, hash: hash)
            }
        }
        guard applyChange(db, key, slot, op, arguments) else {
            throw RecoveryError(description: "a change record that does not fit its key's value")
        }
        db.keys.find(key, hash: hash)?.pointee.meta &= ~KeyFlags.clean
    }

    /// The value RocksDB holds for `key` (nil when none, or expired), read behind every
    /// write replay queued so far.
    private func storedValue(_ db: Database, _ key: UnsafeRawBufferPointer, _ hash: UInt64) throws
        -> (value: Value, expireAt: Int64, sequence: UInt64)? {
        guard let tier else { return nil }
        tier.flushDemotions()
        tier.flushPendingDeletes()
        let rocksKey = ColdKeyFormat.encode(storageID: db.storageID, hash32: Keyspace.hash32(hash), key: key)
        let storage = tier.storage
        let found = try tier.writer.sync { try storage.get(rocksKey) }
        guard let bytes = found else { return nil }
        let decoded = try bytes.withUnsafeBytes { try ValueCodec.decodeRecord($0) }
        if decoded.expireAt != 0 && decoded.expireAt <= nowMillis { return nil }
        return (decoded.value, decoded.expireAt, decoded.sequence)
    }

    /// Applies `op` to the collection at `slot` (nil: the key is missing, and a non-empty
    /// result creates it); false when the change does not fit the value.
    private func applyChange(_ db: Database, _ key: UnsafeRawBufferPointer, _ slot: SlotPointer?, _ op: ChangeOp,
                             _ arguments: [UnsafeRawBufferPointer]) -> Bool {
        let limits = db.limits
        switch op.valueType {
        case .hash:
            var hash = slot.flatMap { db.hash($0) } ?? .empty
            guard ChangeReplay.apply(op, arguments, to: &hash, limits: limits) else { return false }
            if let slot { db.store(hash, at: slot) } else if hash.count > 0 { db.add(key, hash: hash) }
        case .set:
            var set = slot.flatMap { db.set($0) } ?? .empty
            guard ChangeReplay.apply(op, arguments, to: &set, limits: limits) else { return false }
            if let slot { db.store(set, at: slot) } else if set.count > 0 { db.add(key, set: set) }
        default:
            let list = slot.flatMap { db.list($0) } ?? QuickList()
            guard ChangeReplay.apply(op, arguments, to: list, limit: limits.listNode) else { return false }
            if let slot { db.store(list, at: slot) } else if list.count > 0 { db.add(key, list: list) }
        }
        return true
    }

    /// A record replaced `key`'s value: what replay knew of the changes it holds is void.
    private func forgetLoadedSequence(_ db: Database, _ key: UnsafeRawBufferPointer) {
        if persistence.loadedSequences.isEmpty && persistence.coldHeldSequences.isEmpty { return }
        let id = PersistenceState.keyID(db.storageID, key)
        persistence.loadedSequences[id] = nil
        persistence.coldHeldSequences[id] = nil
    }

    /// Removes the cold index entry with `key`'s fingerprint; returns whether there was one.
    /// Another key may share the fingerprint: whether RocksDB holds this very key is
    /// checked later, many keys per MultiGet (`verifyColdRemovals`; a point read per
    /// replayed record made replay take minutes).
    private func removeColdEntry(_ db: Database, _ key: UnsafeRawBufferPointer, _ hash: UInt64) throws -> Bool {
        let fp = ColdIndex.fingerprint(hash)
        guard db.cold.count > 0, let expireAt = db.cold.expireAt(fp) else { return false }
        let meta = db.cold.meta(fp) ?? 0
        db.cold.remove(fp)
        let rocksKey = ColdKeyFormat.encode(storageID: db.storageID, hash32: Keyspace.hash32(hash), key: key)
        persistence.coldRemovals.append(.init(storageID: db.storageID, rocksKey: rocksKey, fingerprint: fp,
                                              expireAt: expireAt, meta: meta))
        return true
    }

    /// Puts back the index entries `removeColdEntry` removed that were another key's: the
    /// replayed key is not in RocksDB, and another key with the same fingerprint is. Runs
    /// before anything changes RocksDB: a FLUSHDB or SWAPDB record, a demotion, the end of
    /// replay. (Over a checkpoint's index an entry can also be the replayed key's own while
    /// RocksDB no longer holds it: deleted after the checkpoint. It stays removed.)
    func verifyColdRemovals() throws {
        guard let tier, !persistence.coldRemovals.isEmpty else { return }
        let removals = persistence.coldRemovals
        persistence.coldRemovals.removeAll()
        for start in stride(from: 0, to: removals.count, by: 1024) {
            let chunk = removals[start..<min(start + 1024, removals.count)]
            let found = try tier.storage.multiGet(chunk.map(\.rocksKey))
            for (removal, value) in zip(chunk, found) where value == nil {
                guard try holdsAnotherKey(with: removal) else { continue }
                database(storageID: removal.storageID)?.cold.insert(removal.fingerprint,
                                                                    expireAt: removal.expireAt,
                                                                    meta: removal.meta)
            }
        }
    }

    /// Whether RocksDB holds a key other than the removal's with its fingerprint. Keys with
    /// one 64-bit hash share its 32-bit table hash, so they sit together after the storage
    /// id (ColdKeyFormat): one short seek finds them.
    private func holdsAnotherKey(with removal: PersistenceState.ColdRemoval) throws -> Bool {
        guard let tier, removal.rocksKey.count >= ColdKeyFormat.headerLength else { return false }
        let prefix = Array(removal.rocksKey[..<ColdKeyFormat.headerLength])
        var end = prefix
        var index = end.count - 1
        while index >= 0 {   // the next prefix: add one, carrying
            if end[index] == 0xFF { end[index] = 0; index -= 1 } else { end[index] += 1; break }
        }
        var found = false
        try tier.storage.forEach(from: prefix, to: index >= 0 ? end : nil) { rawKey, _ in
            guard !rawKey.elementsEqual(removal.rocksKey) else { return true }
            let key = UnsafeRawBufferPointer(rebasing: rawKey[ColdKeyFormat.headerLength...])
            found = ColdIndex.fingerprint(KeyHash.hash(key)) == removal.fingerprint
            return !found
        }
        return found
    }

    /// During replay, with maxmemory: keys go to RocksDB as they would while serving (the
    /// log may hold more than fits), synchronously since the loop is not serving yet.
    private func relieveMemoryDuringReplay() throws {
        guard config.maxmemory > 0, config.tiering, let tier else { return }
        let limit = config.maxmemory
        guard usedMemoryForLimit() > limit / 100 * 95 else { return }
        try verifyColdRemovals()
        while usedMemoryForLimit() > limit / 100 * 90 {
            var victims = 0
            while victims < 4096, let (db, slot) = nextVictim() {
                tier.demote(db, slot)
                victims += 1
            }
            if victims == 0 { return }
            tier.flushDemotions(wait: true)
        }
    }
}

import NIOCore

/// Checkpoint bookkeeping, for LASTSAVE, INFO persistence and the save rules.
public struct PersistenceState {
    /// Unix seconds of the last successful checkpoint (start-up time before the first).
    public var lastSaveTime: Int64 = Clock.nowMillis() / 1000
    public var lastSaveOK = true
    /// Unix ms when the running checkpoint started (nil: none runs).
    public var runningSince: Int64?
    public var lastDurationSeconds = -1
    public var saves = 0
    /// Unix ms of the last failed attempt (a failed save rule waits before trying again).
    public var lastFailureAt: Int64 = 0
    /// `dirty` when the running checkpoint started: what it covers.
    var dirtyAtStart = 0
    /// auto-aof-rewrite-percentage's base (Store.checkpointBaseBytes); nil until measured.
    public var checkpointBaseBytes: UInt64?
    /// The log's bytes since the last checkpoint began, when it ended.
    var logBytesAtCheckpointEnd: UInt64 = 0
    let snapshotWriter = IndexSnapshotWriter()
    /// Called when the running checkpoint ends, with its outcome.
    var waiters: [(Bool) -> Void] = []
    /// Checkpoint walk: the database and SCAN cursor it is at.
    var walkDatabase = 0
    var walkCursor: UInt64 = 0
    var walkFailed = false
    /// The walk logs hot keys again instead of copying them to RocksDB (Checkpoint.swift).
    var walkIntoLog = false
    var walkSegment: Int?
    /// Keys changed while the walk logs states (LogChange.swift): the first change of each
    /// logs the key's state instead.
    var walkChangedKeys = Set<[UInt8]>()
    /// Large collections whose first change during that walk asks for a copy into RocksDB
    /// once the command is done (storage id and key).
    var largeCopiesAfterCommand: [[UInt8]] = []
    /// Keys the walk met while a demotion batch wrote a copy older than them (storage id
    /// and key): taken again once that batch is written (Checkpoint.swift).
    var walkDeferred: [[UInt8]] = []
    var walkMapping: [Int] = []
    public var keysWritten = 0
    /// Replay: cold index entries removed on the assumption that they were the replayed
    /// key's (Recovery.swift checks them in batches).
    struct ColdRemoval {
        let storageID: UInt8
        let rocksKey: [UInt8]
        let fingerprint: UInt64
        let expireAt: Int64
        let meta: UInt32
    }
    var coldRemovals: [ColdRemoval] = []
    /// The sequence number of the last cold move RocksDB holds (read at start-up): a
    /// logged move above it is replayed (ColdTierMoves.swift).
    var appliedMoveSequence: UInt64 = 0
    /// Replay: the change sequence of each collection start-up loaded into RAM (`tiering
    /// no`), by storage id and key, until a record replaces its value (Recovery.swift).
    var loadedSequences: [[UInt8]: UInt64] = [:]
    /// Replay: for a cold collection whose RocksDB value holds the changes being replayed,
    /// the sequence up to which it holds them (UInt64.max: a value of another type, which a
    /// later record wrote), so that each skipped change does not read the value again.
    /// Forgotten when a record replaces the key or RocksDB changes under it (Recovery.swift).
    var coldHeldSequences: [[UInt8]: UInt64] = [:]
    /// Replay: how many collections `coldHeldSequences` did not spare a RocksDB read.
    var replayColdReads = 0
    static func keyID(_ storageID: UInt8, _ key: UnsafeRawBufferPointer) -> [UInt8] {
        var id = [storageID]
        id.append(contentsOf: key)
        return id
    }
    /// Replay runs over a checkpoint's index snapshot, not over a listing of RocksDB.
    var indexFromSnapshot = false
    /// The token of the last checkpoint mark written or found at start.
    var lastMarkToken: UInt64?
    var writeErrorsAtStart = 0
    /// Where the log's segments are (set at start-up, also with appendonly no).
    public var logDirectory: String?
    public init() {}
}

/*
 Logging changes. `Database.modified` notes each key a command changes; after the command
 `logChanges` writes one frame with each noted key's state as it is now (SET with the
 value, or DELETE; EXPIRE when only its expiry changed), and the changes collections noted (LogChange.swift) as they are.
 FLUSHDB and SWAPDB first write what was noted so far (states as before the flush or
 swap), then their own record, so a frame replays in command order.
*/
extension Store {
    @inline(__always)
    func noteChange(_ db: Database, _ key: UnsafeRawBufferPointer) { note(ChangeNote.state, db, key) }

    /// Only `key`'s expiry changed: the log gets an EXPIRE record with the expiry it has
    /// after the command. Replay applies it to whichever tier holds the key then, and the
    /// records before it (or RocksDB) give the value, as for a cold key's EXPIRE.
    @inline(__always)
    func noteExpiry(_ db: Database, _ key: UnsafeRawBufferPointer) { note(ChangeNote.expiry, db, key) }

    @inline(__always)
    private func note(_ kind: UInt8, _ db: Database, _ key: UnsafeRawBufferPointer) {
        changeNotes.append(kind)
        changeNotes.append(UInt8(truncatingIfNeeded: db.index))
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: key.count).littleEndian) { changeNotes.append(contentsOf: $0) }
        changeNotes.append(contentsOf: key)
    }

    /// After a command (and from the cron): logs the keys it changed, as one frame.
    @inline(__always)
    public func logChanges() {
        guard let log else { return }
        if !changeNotes.isEmpty { writeNotedStates(log) }
        log.closeFrame()
    }

    private func writeNotedStates(_ log: AppendLog) {
        if !persistence.largeCopiesAfterCommand.isEmpty { copyLargeChangedKeys() }
        log.openFrame()
        let now = nowMillis
        let stated = noteHasChanges ? keysWithStateNotes() : []
        noteHasChanges = false
        changeNotes.withUnsafeBytes { notes in
            var at = 0
            while at < notes.count {
                let (next, kind) = ChangeNote.next(notes, at)
                defer { at = next }
                if kind == ChangeNote.change {
                    let record = UnsafeRawBufferPointer(rebasing: notes[(at + 5)..<next])
                    // A key this frame also gives a state to: the state holds the change.
                    if stated.isEmpty || !stated.contains(ChangeNote.keyID(record, at: 1)) {
                        log.buffer.append(contentsOf: record)
                    }
                    continue
                }
                let db = databases[Int(notes[at + 1])]
                let key = UnsafeRawBufferPointer(rebasing: notes[(at + 6)..<next])
                if let slot = db.keys.find(key), slot.pointee.expireAt == 0 || slot.pointee.expireAt > now {
                    if kind == ChangeNote.expiry {
                        LogRecord.appendExpire(db: db.index, key: key, expireAt: slot.pointee.expireAt, to: &log.buffer)
                        continue
                    }
                    slot.pointee.withStoredPayload { type, payload in
                        LogRecord.appendSet(db: db.index, key: key, type: type, payload: payload,
                                            expireAt: slot.pointee.expireAt,
                                            rawEncoding: slot.pointee.meta & KeyFlags.rawString != 0, to: &log.buffer)
                    }
                } else if db.cold.count > 0, let expireAt = db.cold.expireAt(ColdIndex.fingerprint(KeyHash.hash(key))),
                          expireAt == 0 || expireAt > now {
                    // Still cold: the command changed only its expiry (it never read the value).
                    LogRecord.appendExpire(db: db.index, key: key, expireAt: expireAt, to: &log.buffer)
                } else {
                    LogRecord.appendDelete(db: db.index, key: key, to: &log.buffer)
                }
            }
        }
        changeNotes.removeAll(keepingCapacity: true)
    }

    /// The (db, key) of every state note, when change notes are there too.
    private func keysWithStateNotes() -> Set<[UInt8]> {
        var keys = Set<[UInt8]>()
        changeNotes.withUnsafeBytes { notes in
            var at = 0
            while at < notes.count {
                let (next, kind) = ChangeNote.next(notes, at)
                if kind == ChangeNote.state { keys.insert(ChangeNote.keyID(notes, at: at + 1)) }
                at = next
            }
        }
        return keys
    }

    /// The checkpoint's copies of the large collections the command changed first during
    /// the walk (`noteChange`).
    private func copyLargeChangedKeys() {
        let keys = persistence.largeCopiesAfterCommand
        persistence.largeCopiesAfterCommand.removeAll()
        guard let tier, checkpointRunning else { return }
        for id in keys {
            guard let db = database(storageID: id[0]) else { continue }
            id.withUnsafeBytes { raw in
                let key = UnsafeRawBufferPointer(rebasing: raw[1...])
                guard let slot = db.keys.find(key, hash: KeyHash.hash(key)), ColdTier.isLarge(slot) else { return }
                if slot.pointee.meta & KeyFlags.demoting == 0 {
                    tier.checkpointLargeCopy(db, slot)
                } else {
                    // Its demotion's copy is older than this change: copied after that batch.
                    persistence.walkDeferred.append(id)
                }
            }
        }
    }

    /// A cold move (ColdTierMoves.swift): the keys noted so far, then its own record. The
    /// caller notes both keys afterwards (the source's DELETE, the target's EXPIRE follow).
    func logColdMove(from sourceDB: Database, _ source: UnsafeRawBufferPointer, to targetDB: Database,
                     _ target: UnsafeRawBufferPointer, keepSource: Bool, sequence: UInt64) {
        guard let log else { return }
        if !changeNotes.isEmpty { writeNotedStates(log) }
        log.openFrame()
        LogRecord.appendMove(sourceDB: sourceDB.index, source: source, targetDB: targetDB.index, target: target,
                             keepSource: keepSource, sequence: sequence, to: &log.buffer)
    }

    func logFlush(_ db: Database) {
        guard let log else { return }
        if !changeNotes.isEmpty { writeNotedStates(log) }
        log.openFrame()
        log.buffer.append(LogRecord.flushDatabase)
        log.buffer.append(UInt8(truncatingIfNeeded: db.index))
    }

    func logSwap(_ a: Int, _ b: Int) {
        guard let log else { return }
        if !changeNotes.isEmpty { writeNotedStates(log) }
        log.openFrame()
        log.buffer.append(LogRecord.swapDatabases)
        log.buffer.append(UInt8(truncatingIfNeeded: a))
        log.buffer.append(UInt8(truncatingIfNeeded: b))
    }

    /// Starts using `log` for every change from now on.
    public func attachLog(_ log: AppendLog) {
        self.log = log
        tier?.log = log
    }

    /// Stops logging (CONFIG SET appendonly no).
    public func detachLog() {
        log = nil
        tier?.log = nil
        dropIndexSnapshot()
    }

    /// True when a log write or the last checkpoint failed (writes may be refused).
    @inline(__always)
    public var hasDiskTrouble: Bool { !persistence.lastSaveOK || log?.lastError != nil }

    /// Why writes are refused now (Redis's -MISCONF replies), or nil.
    public func diskErrorReply() -> String? {
        if let error = log?.lastError { return "MISCONF Errors writing to the AOF file: \(error)" }
        if !persistence.lastSaveOK && config.stopWritesOnBgsaveError && !config.saveRules.isEmpty {
            return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "
                + "disk. Commands that may modify the data set are disabled, because this instance is configured "
                + "to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
                + "Please check the Redis logs for details about the RDB error."
        }
        return nil
    }
}

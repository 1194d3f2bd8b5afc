import NIOCore

/*
 A checkpoint makes RocksDB and the newest log segment hold every key, so that the older
 segments can go.

 1. The log starts a new segment; the storage-id mapping (SWAPDB) of that moment is kept.
 2. A walk over every database's hot keys (SCAN's cursor, so every key present for the
    whole walk is met; about a millisecond per step, so clients go on meanwhile) takes
    each key that RocksDB does not hold as it is (not `clean`), and either
    - logs its state again in the new segment (with the log on: the cold keys are in
      RocksDB already, so this rewrites only the hot ones, as Redis's AOF rewrite writes
      the dataset; sequential bytes, no RocksDB write or compaction), or
    - copies it into the writer's batches (without the log, and for the final checkpoint
      of a clean shutdown, so that the next start has nothing to replay). The key stays
      in RAM and becomes clean once written.
 3. Behind those batches and the demotions before them, the log is fsynced up to there,
    then the writer stores the checkpoint's description (the segment replay starts from,
    the mapping) and flushes RocksDB's memtables to SST files: from then on RocksDB and the
    new segment hold what the older segments said, and they are deleted.

 A collection of 4 MB or more goes into RocksDB in both cases: packing it for the log would
 hold the loop (a 100 MB hash took 40 ms). A list is copied on write and packed by the
 writer thread; a hash or set is packed on the loop in slices (SlicedDemotion.swift), and
 the mark waits for those copies. In RocksDB the copy carries the change sequence it was
 taken at, so replay applies only the changes logged after it.

 No instant snapshot is needed: a key taken after it changed (past step 1) has the
 change's record in the new segment too, and replaying records of states over a newer
 RocksDB value is right (LogRecord.swift). A crash at any point leaves the older
 segments in place, and recovery replays them all.
*/
extension Store {
    public var checkpointRunning: Bool { persistence.runningSince != nil }

    /// Starts a checkpoint unless one is running; `done` gets the outcome (on the loop)
    /// when the running one ends. `intoRocksDB`: hot keys are copied to RocksDB even with
    /// the log on (a clean shutdown's, so that the next start replays nothing).
    public func checkpoint(intoRocksDB: Bool = false, _ done: ((Bool) -> Void)? = nil) {
        if let done { persistence.waiters.append(done) }
        guard persistence.runningSince == nil else { return }
        persistence.walkIntoLog = log != nil && !intoRocksDB
        persistence.walkChangedKeys.removeAll()
        persistence.walkDeferred.removeAll()
        guard tier != nil else {
            finishCheckpoint(false)
            return
        }
        persistence.runningSince = Clock.nowMillis()
        persistence.dirtyAtStart = dirty
        persistence.walkDatabase = 0
        persistence.walkCursor = 0
        persistence.walkFailed = false
        persistence.keysWritten = 0
        persistence.walkMapping = storageOwners
        persistence.writeErrorsAtStart = tier!.stats.writeErrors
        if let log {
            log.rotate { [self] segment in
                guard let segment else {
                    self.finishCheckpoint(false)
                    return
                }
                self.persistence.walkSegment = segment
                self.checkpointStep()
            }
        } else {
            persistence.walkSegment = nil
            checkpointStep()
        }
    }

    /// One step of the walk (about a millisecond), then the next is scheduled.
    func checkpointStep() {
        guard let tier, persistence.runningSince != nil else { return }
        let deadline = Clock.monotonicNanos() &+ 1_000_000
        while persistence.walkDatabase < databases.count {
            // Two batches in flight at most, as for demotion, and one when memory is short
            // (demotion needs the other); the walk looks again shortly.
            if persistence.walkIntoLog ? logBufferFull : tier.inFlightBatches >= checkpointBatchLimit {
                scheduleCheckpointStep(tier)
                return
            }
            let db = databases[persistence.walkDatabase]
            var cursor = persistence.walkCursor
            let intoLog = persistence.walkIntoLog ? log : nil
            let now = Clock.nowMillis()
            repeat {
                cursor = db.keys.scan(cursor: cursor) { slot in
                    takeForCheckpoint(db, slot, tier, intoLog, now)
                }
            } while cursor != 0 && Clock.monotonicNanos() < deadline
                && (persistence.walkIntoLog ? !logBufferFull : tier.inFlightBatches < checkpointBatchLimit)
            persistence.walkCursor = cursor
            if cursor != 0 {
                scheduleCheckpointStep(tier)
                return
            }
            persistence.walkDatabase += 1
            persistence.walkCursor = 0
            if Clock.monotonicNanos() >= deadline {
                scheduleCheckpointStep(tier)
                return
            }
        }
        // Keys that were being demoted with a copy older than them: taken once it is written.
        if !persistence.walkDeferred.isEmpty && !takeDeferredKeys(tier) {
            scheduleCheckpointStep(tier)
            return
        }
        // Large collections are packed in slices meanwhile; the mark goes behind their copies.
        if tier.checkpointCopiesPending {
            scheduleCheckpointStep(tier)
            return
        }
        persistence.walkDatabase = Int.max  // done: commits no longer resume the walk
        tier.flushDemotions()
        let token = UInt64.random(in: 1...UInt64.max)
        tier.writeCheckpointMark(segment: persistence.walkSegment ?? 0, token: token,
                                 mapping: persistence.walkMapping) { [self] ok in
            if ok { self.persistence.lastMarkToken = token }
            let failedWrites = self.tier.map { $0.stats.writeErrors != self.persistence.writeErrorsAtStart } ?? true
            self.finishCheckpoint(ok && !self.persistence.walkFailed && !failedWrites)
        }
    }

    /// The walk meets the key at `slot`: unless RocksDB holds (or is being given) its state
    /// as it is, logs that state again in the new segment (`intoLog`) or copies it into
    /// RocksDB.
    private func takeForCheckpoint(_ db: Database, _ slot: SlotPointer, _ tier: ColdTier, _ intoLog: AppendLog?,
                                   _ now: Int64) {
        let meta = slot.pointee.meta
        if meta & KeyFlags.demoting != 0 {
            // Being written: the batch's copy is this state while the key is clean. A
            // collection's copy was taken when it was queued, and one changed since (with
            // the change logged only in an older segment, if before this checkpoint began)
            // needs its state taken too: after that batch, which the copy must not overtake.
            if meta & KeyFlags.clean == 0 {
                persistence.walkDeferred.append(PersistenceState.keyID(db.storageID, slot.pointee.keyBytes))
            }
            return
        }
        // RocksDB holds this very state.
        if meta & (KeyFlags.clean | KeyFlags.diskCopy) == KeyFlags.clean | KeyFlags.diskCopy { return }
        let expireAt = slot.pointee.expireAt
        if intoLog != nil && expireAt != 0 && expireAt <= now { return }  // expired: nothing to keep
        if ColdTier.isLarge(slot) {
            // Into RocksDB, even with the log: logging it would pack it here at once.
            tier.checkpointLargeCopy(db, slot)
        } else if let intoLog {
            intoLog.openFrame()
            slot.pointee.withStoredPayload { type, payload in
                LogRecord.appendSet(db: db.index, key: slot.pointee.keyBytes, type: type, payload: payload,
                                    expireAt: expireAt, rawEncoding: meta & KeyFlags.rawString != 0,
                                    to: &intoLog.buffer)
            }
            intoLog.closeFrame()
        } else {
            _ = tier.copyForCheckpoint(db, slot)
        }
        persistence.keysWritten += 1
    }

    /// Takes the deferred keys whose demotion batch has been written; true when none is
    /// left waiting.
    private func takeDeferredKeys(_ tier: ColdTier) -> Bool {
        let intoLog = persistence.walkIntoLog ? log : nil
        let now = Clock.nowMillis()
        var waiting: [[UInt8]] = []
        for id in persistence.walkDeferred {
            guard let db = database(storageID: id[0]) else { continue }
            id.withUnsafeBytes { raw in
                let key = UnsafeRawBufferPointer(rebasing: raw[1...])
                guard let slot = db.keys.find(key, hash: KeyHash.hash(key)) else { return }  // gone or cold
                if slot.pointee.meta & KeyFlags.demoting != 0 {
                    waiting.append(id)
                } else {
                    takeForCheckpoint(db, slot, tier, intoLog, now)
                }
            }
        }
        persistence.walkDeferred = waiting
        // A batch still being filled goes now: nothing else may send it while writes rest.
        if !waiting.isEmpty && tier.inFlightBatches == 0 && !tier.batch.isEmpty { tier.flushDemotions() }
        return waiting.isEmpty
    }

    private func scheduleCheckpointStep(_ tier: ColdTier) {
        // A scheduled task (not `execute`): the loop serves its connections in between.
        tier.loop.scheduleTask(in: .microseconds(200)) { [self] in self.checkpointStep() }
    }

    /// Batches the walk may keep in flight: one of the two when memory is over demotion's
    /// start, so that demotion is never shut out (writes wait for it).
    private var checkpointBatchLimit: Int {
        config.maxmemory > 0 && sampledUsedMemory > config.maxmemory / 100 * 95 ? 1 : 2
    }

    /// The walk logging keys again waits while this much is not written yet: the buffer
    /// is memory under maxmemory like any other (with `always` it waits for the fsync in
    /// flight), and a 4 MB maxmemory must not be filled by it.
    private var logBufferFull: Bool {
        guard let log else { return false }
        let limit = config.maxmemory > 0 ? min(256 * 1024, config.maxmemory / 16) : 4 << 20
        return log.buffer.count >= limit
    }

    /// A batch was written (or failed): `checkpointItems` of it were a checkpoint's copies.
    func batchCommitted(written: Bool, checkpointItems: Int) {
        if !written && checkpointItems > 0 { persistence.walkFailed = true }
    }

    func finishCheckpoint(_ ok: Bool) {
        let now = Clock.nowMillis()
        if let started = persistence.runningSince {
            persistence.lastDurationSeconds = Int((now - started + 500) / 1000)
        }
        persistence.runningSince = nil
        persistence.walkChangedKeys.removeAll()
        if ok {
            if let log {
                log.deleteSegments(before: persistence.walkSegment ?? log.currentSegment)
                persistence.logBytesAtCheckpointEnd = log.bytesSinceCheckpoint
                persistence.checkpointBaseBytes = nil
                _ = checkpointBaseBytes  // measured now
            } else if let directory = persistence.logDirectory {
                // Segments of an earlier run with appendonly yes: RocksDB holds it all now.
                AppendLog.deleteAllSegments(directory: directory, baseName: config.appendfilename)
            }
            saveIndexSnapshotInBackground()
            persistence.lastSaveOK = true
            persistence.lastSaveTime = now / 1000
            persistence.saves += 1
            dirty = max(0, dirty - persistence.dirtyAtStart)
        } else {
            persistence.lastSaveOK = false
            persistence.lastFailureAt = now
        }
        let waiters = persistence.waiters
        persistence.waiters.removeAll()
        for waiter in waiters { waiter(ok) }
    }

    /// From the cron: a checkpoint when a `save` rule or the log's size asks for one.
    public func checkpointIfDue() {
        guard tier != nil, persistence.runningSince == nil else { return }
        let now = Clock.nowMillis()
        // After a failure, wait 5 s before trying again (Redis: CONFIG_BGSAVE_RETRY_DELAY).
        if !persistence.lastSaveOK && now - persistence.lastFailureAt < 5000 { return }
        let sinceSave = now / 1000 - persistence.lastSaveTime
        for rule in config.saveRules where dirty >= rule.changes && sinceSave >= Int64(rule.seconds) {
            checkpoint()
            return
        }
        // Redis rewrites when the AOF has grown by the percentage over its size after the
        // last rewrite (aof_base_size).
        if let log, config.autoAofRewritePercentage > 0, log.bytesSinceCheckpoint >= UInt64(config.autoAofRewriteMinSize) {
            // In Double: the percentage may be up to 2^31, and bytes times that overflow UInt64.
            let percentage = Double(config.autoAofRewritePercentage)
            if Double(logGrowthSinceCheckpoint) * 100 >= Double(checkpointBaseBytes) * percentage {
                return checkpoint()
            }
            // The base is measured when a checkpoint ends and can be stale: after a large
            // value is deleted, a log holding it would wait for as much growth again (a
            // 4-key dataset kept a 537 MB log). What a checkpoint would write now is the
            // hot tier, so one is also due when the whole tail is larger than that by the
            // percentage: a crash then replays no more than that.
            let rewriteNow = Double(max(0, usedMemoryForLimit()))
            if Double(log.bytesSinceCheckpoint) * 100 >= rewriteNow * (100 + percentage) {
                checkpoint()
            }
        }
    }
}

extension Store {
    /// The log's base for auto-aof-rewrite (aof_base_size), measured when the last
    /// checkpoint ended (or at start-up): what the checkpoint wrote into the new segment
    /// (the hot keys logged again, and the writes made during its walk), and at least the
    /// hot tier's memory. Redis's base is the whole dataset, which its rewrite writes out;
    /// a checkpoint rewrites only the hot keys (the cold ones are in RocksDB already), and
    /// replaying the log after a crash costs its length, so the log may grow by the
    /// percentage of what a checkpoint costs, not of the dataset.
    public var checkpointBaseBytes: UInt64 {
        if let base = persistence.checkpointBaseBytes { return base }
        let base = max(UInt64(max(0, usedMemoryForLimit())), persistence.logBytesAtCheckpointEnd)
        persistence.checkpointBaseBytes = base
        return base
    }

    /// Log bytes written since the last checkpoint ended (the growth auto-aof-rewrite
    /// measures against the base).
    public var logGrowthSinceCheckpoint: UInt64 {
        guard let log else { return 0 }
        return log.bytesSinceCheckpoint - min(log.bytesSinceCheckpoint, persistence.logBytesAtCheckpointEnd)
    }
}

extension ColdTier {
    /// Behind every write queued so far: stores the checkpoint's description and flushes
    /// RocksDB's memtables; `done` (on the loop) says whether both worked. The log is
    /// fsynced first (on its own thread, so demotions go on meanwhile): the new segment
    /// may hold keys logged again by the walk, and the older segments go after this.
    func writeCheckpointMark(segment: Int, token: UInt64, mapping: [Int], _ done: @escaping (Bool) -> Void) {
        flushPendingDeletes()
        guard let log else { return storeCheckpointMark(segment: segment, token: token, mapping: mapping, done) }
        log.submit(force: true)
        log.whenSynced { [self] synced in
            guard synced else { return done(false) }
            self.storeCheckpointMark(segment: segment, token: token, mapping: mapping, done)
        }
    }

    private func storeCheckpointMark(segment: Int, token: UInt64, mapping: [Int], _ done: @escaping (Bool) -> Void) {
        flushPendingDeletes()
        let storage = self.storage, loop = self.loop
        let log = self.log, position = logPositionForWrite()
        let mark = CheckpointMark(segment: segment, token: token, mapping: mapping).encoded()
        let box = UncheckedBox(done)
        writer.async {
            log?.waitWritten(position)
            var ok = true
            do {
                var batch = ColdBatch()
                batch.put(StorageMetadata.checkpointKey, mark)
                try storage.write(batch)
                try storage.flush()
            } catch {
                ok = false
            }
            loop.execute { box.value(ok) }
        }
    }
}

import CShims
import NIOCore

/*
 RENAME, MOVE and COPY of a cold key, inside the cold tier: the value never comes into
 RAM. The command changes the cold index at once (the target gains the entry, a renamed or
 moved source loses it) and queues a *rewrite*; after the command, once its log record is
 appended, the writer reads the source's RocksDB value and writes it under the target's
 RocksDB key (deleting the source's for RENAME and MOVE), in one write batch.

 While that is under way the target is in the index but not yet in RocksDB: a command that
 needs the target's value waits for the rewrite (`movesInFlight`), and a read of the target
 already in flight is discarded (its value is the old one). Deletes and expiry rewrites that
 a command asks for after a move go into the same queue, so RocksDB sees them in command
 order.

 The log: a move is logged as a MOVE record with a sequence number, and every move's write
 batch also stores that number in RocksDB (StorageMetadata.moveSequenceKey). RocksDB keeps a
 prefix of the writer's batches through a crash (one column family, no WAL: a flush keeps
 every write before it), so on replay a record whose number is at most the stored one was
 applied to RocksDB already, and a larger one was not and is applied then (Recovery.swift).
*/

/// A RocksDB change a command asked for after a cold move, kept in command order.
enum ColdRewrite {
    case move(ColdMove)
    /// A large hot collection's RENAME, MOVE or COPY (LargeHotMoves.swift).
    case store(ColdStore)
    case delete([UInt8])
    case expiry([UInt8], Int64)
}

struct ColdMove {
    let sequence: UInt64
    let source: [UInt8]
    let target: RocksKey
    let keepSource: Bool
    /// Completed when the writer has made the move (nil during recovery).
    let done: EventLoopPromise<Void>?
}

extension ColdTier {
    /// Moves (RENAME, MOVE) or copies (COPY) the cold key `source` of `sourceDB` to `target`
    /// of `targetDB`, whose old value the caller removed from both tiers. The target gets
    /// `expireAt` and `meta` (`ColdIndex.meta`). Returns the move's sequence number for the
    /// log record (`Store.logColdMove`).
    public func moveCold(from sourceDB: Database, _ source: UnsafeRawBufferPointer, to targetDB: Database,
                         _ target: UnsafeRawBufferPointer, keepSource: Bool, expireAt: Int64,
                         meta: UInt32) -> UInt64 {
        let sourceHash = KeyHash.hash(source), targetHash = KeyHash.hash(target)
        if !keepSource { sourceDB.cold.remove(ColdIndex.fingerprint(sourceHash)) }
        targetDB.cold.insert(ColdIndex.fingerprint(targetHash), expireAt: expireAt, meta: meta)
        epoch &+= 1
        let targetKey = RocksKey(ColdKeyFormat.encode(storageID: targetDB.storageID,
                                                      hash32: Keyspace.hash32(targetHash), key: target))
        // A read of the target in flight read its old value (or none).
        pending[targetKey]?.stale = true
        moveSequence += 1
        let done = loop.makePromise(of: Void.self)
        movesInFlight[targetKey] = done.futureResult
        rewrites.append(.move(ColdMove(
            sequence: moveSequence,
            source: ColdKeyFormat.encode(storageID: sourceDB.storageID, hash32: Keyspace.hash32(sourceHash),
                                         key: source),
            target: targetKey, keepSource: keepSource, done: done)))
        return moveSequence
    }

    /// After the command (its log record is appended): hands the queued rewrites to the
    /// writer, behind every write queued before them.
    func flushRewrites() {
        guard !rewrites.isEmpty else { return }
        if !batch.isEmpty { flushDemotions() }
        flushPendingDeletes()
        let job = UncheckedBox(rewrites)
        rewrites.removeAll()
        let storage = self.storage
        let loop = self.loop
        let log = self.log, position = logPositionForWrite()
        writer.async {
            log?.waitWritten(position)
            // One write each: a later rewrite may read what an earlier one wrote.
            var failed = [Bool](repeating: false, count: job.value.count)
            for (index, rewrite) in job.value.enumerated() {
                do {
                    try ColdTier.apply(rewrite, to: storage)
                } catch {
                    failed[index] = true
                }
            }
            strata_flush_thread_cache()  // what the rewrites freed of the keyspace's arena
            let outcome = failed
            loop.execute { [self] in
                let failures = outcome.filter { $0 }.count
                if failures > 0 { stats.writeErrors += failures }
                for (index, rewrite) in job.value.enumerated() {
                    switch rewrite {
                    case .move(let move):
                        guard let done = move.done else { continue }
                        if movesInFlight[move.target] === done.futureResult { movesInFlight[move.target] = nil }
                        done.succeed(())
                    case .store(let move):
                        finish(move, written: !outcome[index])
                    case .delete, .expiry:
                        continue
                    }
                }
            }
        }
    }

    /// Applies one rewrite to RocksDB (writer thread, or recovery before serving).
    static func apply(_ rewrite: ColdRewrite, to storage: ColdStorage) throws {
        var write = ColdBatch()
        switch rewrite {
        case .move(let move):
            guard let value = try storage.get(move.source) else { return }
            write.put(move.target.bytes, value)
            if !move.keepSource { write.delete(move.source) }
            write.put(StorageMetadata.moveSequenceKey, StorageMetadata.encodeSeed(move.sequence))
        case .store(let move):
            return try ColdTier.write(move, to: storage)
        case .delete(let key):
            write.delete(key)
        case .expiry(let key, let expireAt):
            // After the write (or its failure): the header no longer lags the index.
            defer { ColdStorage.headerLags.subtract(1, ordering: .sequentiallyConsistent) }
            guard let stored = try storage.get(key),
                  let rewritten = stored.withUnsafeBytes({ ValueCodec.replacingExpiry($0, expireAt: expireAt) })
            else { return }
            write.put(key, rewritten)
        }
        try storage.write(write)
    }
}

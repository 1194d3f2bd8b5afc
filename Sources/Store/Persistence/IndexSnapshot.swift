import CShims
import Dispatch
import Glibc

/*
 A list of every key RocksDB holds, so that start-up does not have to list RocksDB's
 keys (which reads and decompresses every value block: seconds per gigabyte).

     16 bytes  "STRATA-INDEX v3\n"
     u64 LE    token of the checkpoint mark it belongs to
     u64 LE    entry count
     entries   u8 storage id, u64 LE fingerprint, i64 LE expiry (Unix ms), u32 LE meta
     u64 LE    pending key count
     pending   u8 storage id, u32 LE key length, the key, i64 LE expiry (Unix ms), u32 LE meta

 (v2 held expiries in whole seconds: a v2 file is not read, and start-up lists RocksDB.)
     u32 LE    CRC-32C of everything before

 Written when a checkpoint ends (taken on the loop at that instant, written to disk in
 the background): every cold key, and every hot key that RocksDB holds a copy of, which
 start-up makes cold. It is only used with its checkpoint mark (the token), and with the
 log: start-up loads it, then replays the log from the mark's segment, as it does over a
 listing of RocksDB. That is right because whatever changed in RocksDB after the
 snapshot has its record in the log after the mark: the checkpoint wrote every key that
 had changed before its walk met it, so a key RocksDB gains later (a demotion) or whose
 disk copy is older than RAM changed after the walk, which is after the mark.
 A key deleted later has its DELETE record there too.
 Pending keys are those being demoted at that instant: RocksDB gets them after the
 checkpoint's flush, so a crash may lose them there (their records are in the log, and
 replay brings them back). Start-up looks each one up and lists only those RocksDB has;
 an entry for a key it lacks would count a key twice once replay adds it again.

 Without the log, a crash leaves RocksDB with demotions made after the checkpoint and no
 record of them, so the snapshot is written only at a clean shutdown, when RocksDB holds
 exactly the keys (every hot key clean), and deleted as it is loaded.
*/
enum IndexSnapshot {
    static let magic: [UInt8] = Array("STRATA-INDEX v3\n".utf8)
    static let entryLength = 21

    struct Entry {
        var storageID: UInt8
        var fingerprint: UInt64
        var expireAt: Int64
        var meta: UInt32
    }

    struct PendingKey {
        var storageID: UInt8
        var key: [UInt8]
        var expireAt: Int64
        var meta: UInt32
    }

    /// The snapshot's bytes: the header and room for `capacity` entries, filled by
    /// `append`; `finish` adds the pending keys and the CRC-32C.
    struct Builder {
        var bytes: [UInt8]
        var count = 0

        init(token: UInt64, capacity: Int) {
            bytes = magic
            bytes.reserveCapacity(magic.count + 20 + capacity * entryLength)
            Builder.put(&bytes, token)
            Builder.put(&bytes, UInt64(0))
        }

        @inline(__always)
        mutating func append(storageID: UInt8, fingerprint: UInt64, expireAt: Int64, meta: UInt32) {
            bytes.append(storageID)
            Builder.put(&bytes, fingerprint)
            Builder.put(&bytes, expireAt)
            Builder.put(&bytes, meta)
            count += 1
        }

        @inline(__always)
        static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }

        /// The finished bytes (entry count filled in, the pending keys and the CRC appended).
        mutating func finish(pending: [PendingKey]) -> [UInt8] {
            bytes.withUnsafeMutableBytes {
                $0.storeBytes(of: UInt64(count).littleEndian, toByteOffset: magic.count + 8, as: UInt64.self)
            }
            Builder.put(&bytes, UInt64(pending.count))
            for key in pending {
                bytes.append(key.storageID)
                Builder.put(&bytes, UInt32(key.key.count))
                bytes.append(contentsOf: key.key)
                Builder.put(&bytes, key.expireAt)
                Builder.put(&bytes, key.meta)
            }
            Builder.put(&bytes, strata_crc32c(0, bytes, bytes.count))
            return bytes
        }
    }

    /// Writes `bytes` to `path` through a temporary file and a rename (a crash leaves the
    /// old file or the new one, whole), fsynced.
    static func writeFile(_ bytes: [UInt8], path: String) -> Bool {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        var done = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        AppendLog.syncDirectory(directory.isEmpty ? "/" : directory)
        return true
    }

    /// The entries and pending keys, if `path` holds an intact snapshot of the
    /// checkpoint `token`.
    static func read(path: String, token: UInt64) -> (entries: [Entry], pending: [PendingKey])? {
        guard let bytes = try? FileSystem.readAll(path) else { return nil }
        let size = bytes.count
        guard size >= magic.count + 28 else { return nil }
        return bytes.withUnsafeBytes { raw -> ([Entry], [PendingKey])? in
            func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            guard raw.prefix(magic.count).elementsEqual(magic),
                  load(size - 4, UInt32.self) == strata_crc32c(0, raw.baseAddress, size - 4),
                  load(magic.count, UInt64.self) == token else { return nil }
            let count = Int(load(magic.count + 8, UInt64.self))
            guard count <= (size - magic.count - 28) / entryLength else { return nil }
            var entries: [Entry] = []
            entries.reserveCapacity(count)
            var at = magic.count + 16
            for _ in 0..<count {
                entries.append(Entry(storageID: raw[at], fingerprint: load(at + 1, UInt64.self),
                                     expireAt: load(at + 9, Int64.self), meta: load(at + 17, UInt32.self)))
                at += entryLength
            }
            let pendingCount = Int(load(at, UInt64.self))
            at += 8
            var pending: [PendingKey] = []
            for _ in 0..<pendingCount {
                guard at + 5 <= size - 4 else { return nil }
                let length = Int(load(at + 1, UInt32.self))
                guard length <= size - 4 - at - 17 else { return nil }
                pending.append(PendingKey(storageID: raw[at], key: Array(raw[(at + 5)..<(at + 5 + length)]),
                                          expireAt: load(at + 5 + length, Int64.self),
                                          meta: load(at + 13 + length, UInt32.self)))
                at += 17 + length
            }
            guard at == size - 4 else { return nil }
            return (entries, pending)
        }
    }
}

extension Store {
    /// The snapshot of the index as it is now, for checkpoint `token`: the cold keys, and
    /// the hot keys RocksDB holds a copy of. With `requireClean`, nil unless every hot key
    /// is clean, so that RocksDB holds exactly these keys (a shutdown without the log).
    func indexSnapshotBytes(token: UInt64, requireClean: Bool) -> [UInt8]? {
        var builder = IndexSnapshot.Builder(token: token, capacity: hotKeys + coldKeys)
        var pending: [IndexSnapshot.PendingKey] = []
        for db in databases {
            let storageID = db.storageID
            db.cold.forEachEntry { fp, expireAt, meta in
                builder.append(storageID: storageID, fingerprint: fp, expireAt: expireAt, meta: meta)
            }
            var allClean = true
            db.keys.forEach { slot in
                let meta = slot.pointee.meta
                if requireClean && meta & (KeyFlags.clean | KeyFlags.diskCopy | KeyFlags.demoting)
                    != KeyFlags.clean | KeyFlags.diskCopy { allClean = false }
                guard meta & KeyFlags.diskCopy != 0 else { return }
                if meta & KeyFlags.demoting != 0 {
                    pending.append(.init(storageID: storageID, key: slot.pointee.key,
                                         expireAt: slot.pointee.expireAt, meta: slot.pointee.coldMeta))
                    return
                }
                builder.append(storageID: storageID,
                               fingerprint: ColdIndex.fingerprint(KeyHash.hash(slot.pointee.keyBytes)),
                               expireAt: slot.pointee.expireAt, meta: slot.pointee.coldMeta)
            }
            if !allClean { return nil }
        }
        return builder.finish(pending: pending)
    }

    /// When a checkpoint ends, with the log on: the snapshot for its mark, written in the
    /// background (a crash before it is on disk leaves the older one, whose token no
    /// longer matches: start-up then lists RocksDB).
    func saveIndexSnapshotInBackground() {
        guard config.tiering, let tier, log != nil, let token = persistence.lastMarkToken,
              let bytes = (try? OutsideOwnArena.run { indexSnapshotBytes(token: token, requireClean: false) }) ?? nil
        else { return }
        // The entries must describe what RocksDB keeps through a crash: the batches and
        // deletes sent so far are flushed to its files before the snapshot is written.
        tier.flushDemotions()
        tier.flushPendingDeletes()
        let storage = tier.storage, writer = persistence.snapshotWriter, path = indexSnapshotPath
        tier.writer.async {
            guard (try? storage.flush()) != nil else { return }
            writer.write(bytes, token: token, path: path)
        }
    }

    /// At a clean shutdown, after the final checkpoint: makes sure the snapshot start-up
    /// will load is on disk. With the log, the checkpoint's own; without, one written now
    /// if RocksDB holds exactly the keys (false otherwise: start-up lists RocksDB).
    public func finishIndexSnapshot() -> Bool {
        guard let tier, config.tiering, let token = persistence.lastMarkToken, !checkpointRunning else { return false }
        if log != nil {
            // The checkpoint's snapshot goes to its writer after a RocksDB flush queued on
            // the tier's writer: wait for that hand-over, then for the file.
            tier.writer.sync {}
            return persistence.snapshotWriter.waitWritten(token: token)
        }
        guard tier.inFlightBatches == 0, tier.batch.isEmpty, tier.pendingDeletes.isEmpty,
              let bytes = indexSnapshotBytes(token: token, requireClean: true) else { return false }
        return IndexSnapshot.writeFile(bytes, path: indexSnapshotPath)
    }

    /// The log stops (CONFIG SET appendonly no): a crash from now on would leave RocksDB
    /// with keys the snapshot does not list and no record of them.
    func dropIndexSnapshot() {
        persistence.snapshotWriter.remove(path: indexSnapshotPath)
    }

    /// Start-up: fills the cold indexes from the snapshot of checkpoint `token`. Without
    /// the log it is deleted (see above). Returns the number of entries, or nil when there
    /// is no usable one.
    func loadIndexSnapshot(path: String, token: UInt64, keep: Bool) throws -> Int? {
        defer {
            // Gone before anything is written to RocksDB.
            if !keep, unlink(path) == 0 { AppendLog.syncDirectory(".") }
        }
        guard let tier, let snapshot = IndexSnapshot.read(path: path, token: token) else { return nil }
        var entries = snapshot.entries
        let pending = snapshot.pending
        if !pending.isEmpty {
            let found = try tier.storage.multiGet(pending.map { key in
                ColdKeyFormat.encode(storageID: key.storageID, key: key.key)
            })
            for (key, value) in zip(pending, found) where value != nil {
                entries.append(.init(storageID: key.storageID, fingerprint: ColdIndex.fingerprint(KeyHash.hash(key.key)),
                                     expireAt: key.expireAt, meta: key.meta))
            }
        }
        var perStorage = [Int](repeating: 0, count: 256)
        for entry in entries { perStorage[Int(entry.storageID)] += 1 }
        fillColdIndexes(entries, perStorage: perStorage)
        return entries.count
    }

    /// Start-up: puts `entries` into the cold indexes, each sized once for its count.
    func fillColdIndexes(_ entries: [IndexSnapshot.Entry], perStorage: [Int]) {
        for (storageID, count) in perStorage.enumerated() where count > 0 {
            database(storageID: UInt8(storageID))?.cold.reserve(count)
        }
        for entry in entries {
            guard let db = database(storageID: entry.storageID) else { continue }
            db.cold.insert(entry.fingerprint, expireAt: entry.expireAt, meta: entry.meta)
        }
    }
}

/// Writes the checkpoints' snapshots off the loop, one after another.
final class IndexSnapshotWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "strata.index-snapshot")
    /// The token of the last snapshot written (queue only).
    private var writtenToken: UInt64?

    func write(_ bytes: [UInt8], token: UInt64, path: String) {
        let box = UncheckedBox(bytes)
        queue.async { [self] in
            writtenToken = IndexSnapshot.writeFile(box.value, path: path) ? token : nil
        }
    }

    /// Waits for the writes queued so far; true when the last one wrote `token`'s.
    func waitWritten(token: UInt64) -> Bool {
        queue.sync { writtenToken == token }
    }

    func remove(path: String) {
        queue.async { [self] in
            writtenToken = nil
            unlink(path)
        }
    }
}

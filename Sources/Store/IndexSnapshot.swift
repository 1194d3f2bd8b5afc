import CShims
import Glibc

/*
 The cold index written at a clean shutdown, so that the next start does not have to list
 every key in RocksDB (which reads every value block: seconds for gigabytes).

     16 bytes  "STRATA-INDEX v1\n"
     u64 LE    token of the checkpoint mark it belongs to
     u64 LE    entry count
     entries   u8 storage id, u64 LE fingerprint, u32 LE expiry seconds, u32 LE access meta
     u32 LE    CRC-32C of everything before

 It is only true of RocksDB as the final checkpoint left it: it is written after that
 checkpoint, when nothing else writes (the clients are gone), only if every hot key is
 clean (so RocksDB holds exactly the cold and the hot keys), and start-up uses it only if
 its token is the mark's, then deletes it before anything is written. After a crash there
 is none, and start-up lists RocksDB's keys instead.
*/
enum IndexSnapshot {
    static let magic: [UInt8] = Array("STRATA-INDEX v1\n".utf8)
    static let entryLength = 17

    struct Entry {
        var storageID: UInt8
        var fingerprint: UInt64
        var expirySeconds: UInt32
        var meta: UInt32
    }

    static func write(_ entries: [Entry], token: UInt64, path: String) -> Bool {
        var out: [UInt8] = magic
        out.reserveCapacity(magic.count + 20 + entries.count * entryLength)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        put(token)
        put(UInt64(entries.count))
        for entry in entries {
            out.append(entry.storageID)
            put(entry.fingerprint)
            put(entry.expirySeconds)
            put(entry.meta)
        }
        put(strata_crc32c(0, out, out.count))
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        var done = 0
        let ok = out.withUnsafeBytes { raw -> Bool in
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
        return true
    }

    /// The entries, if `path` holds an intact snapshot of the checkpoint `token`.
    static func read(path: String, token: UInt64) -> [Entry]? {
        guard let bytes = try? FileSystem.readAll(path) else { return nil }
        let size = bytes.count
        guard size >= magic.count + 20 else { return nil }
        return bytes.withUnsafeBytes { raw -> [Entry]? in
            func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            guard raw.prefix(magic.count).elementsEqual(magic),
                  load(size - 4, UInt32.self) == strata_crc32c(0, raw.baseAddress, size - 4),
                  load(magic.count, UInt64.self) == token else { return nil }
            let count = Int(load(magic.count + 8, UInt64.self))
            guard size == magic.count + 20 + count * entryLength else { return nil }
            var entries: [Entry] = []
            entries.reserveCapacity(count)
            var at = magic.count + 16
            for _ in 0..<count {
                entries.append(Entry(storageID: raw[at], fingerprint: load(at + 1, UInt64.self),
                                     expirySeconds: load(at + 9, UInt32.self), meta: load(at + 13, UInt32.self)))
                at += entryLength
            }
            return entries
        }
    }
}

extension Store {
    /// At a clean shutdown, after the final checkpoint: writes the snapshot of the cold
    /// index that start-up will load (every hot key becomes a cold one there). Returns
    /// false (and writes nothing) when RocksDB may not hold exactly these keys.
    public func writeIndexSnapshot(path: String) -> Bool {
        guard let tier, config.tiering, let token = persistence.lastMarkToken, !checkpointRunning,
              tier.inFlightBatches == 0, tier.batch.isEmpty, tier.pendingDeletes.isEmpty else { return false }
        var entries: [IndexSnapshot.Entry] = []
        entries.reserveCapacity(hotKeys + coldKeys)
        var allClean = true
        for db in databases {
            let storageID = db.storageID
            db.cold.forEachEntry { fp, seconds, meta in
                entries.append(.init(storageID: storageID, fingerprint: fp, expirySeconds: seconds, meta: meta))
            }
            db.keys.forEach { slot in
                let meta = slot.pointee.meta
                if meta & (KeyFlags.clean | KeyFlags.diskCopy | KeyFlags.demoting)
                    != KeyFlags.clean | KeyFlags.diskCopy { allClean = false }
                entries.append(.init(storageID: storageID, fingerprint: ColdIndex.fingerprint(KeyHash.hash(slot.pointee.key)),
                                     expirySeconds: ColdIndex.expirySeconds(slot.pointee.expireAt),
                                     meta: meta & AccessTracking.lruMask))
            }
        }
        guard allClean else { return false }
        return IndexSnapshot.write(entries, token: token, path: path)
    }

    /// Start-up: fills the cold indexes from the snapshot of checkpoint `token`, and
    /// deletes it. Returns the number of entries, or nil when there is no usable one.
    func loadIndexSnapshot(path: String, token: UInt64) -> Int? {
        defer {
            // Gone for good before anything is written to RocksDB: after a crash in this
            // run it would describe the wrong keys.
            if unlink(path) == 0 { AppendLog.syncDirectory(".") }
        }
        guard let entries = IndexSnapshot.read(path: path, token: token) else { return nil }
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
            db.cold.insert(entry.fingerprint, expirySeconds: entry.expirySeconds, accessMeta: entry.meta)
        }
    }
}

/// Marks a client's transaction as aborted when a key it WATCHes changes.
public final class WatchState {
    /// Set when a watched key was modified since WATCH; EXEC then fails.
    public var dirty = false
    /// The (database, key) pairs being watched.
    public var keys: [(db: Int, key: [UInt8])] = []
    public init() {}
}

/*
 One numbered database: the keyspace plus Redis's rules around it.

 - Expiry is lazy (every lookup checks `expireAt` against the command's time snapshot and
   deletes a dead key) plus the store's active cycle. Expired keys are never returned.
 - Every write goes through here so that WATCH, the dirty counter and the `expires` count
   stay right: handlers mutate values through `SlotPointer`s from the lookups, but change
   expiry and existence only through these methods.
*/
public final class Database {
    public let index: Int
    public private(set) var keys = Keyspace()
    /// Hot keys that have an expiry.
    public private(set) var expiresCount = 0
    /// The keys of this database that live only in RocksDB.
    public private(set) var cold: ColdIndex
    /// This database's key prefix in RocksDB. SWAPDB exchanges it with the contents, so
    /// cold keys never have to be rewritten.
    public internal(set) var storageID: UInt8
    // unowned(unsafe): the store owns its databases and outlives them; a checked unowned
    // reference costs an atomic retain and release on every access (seen in profiles).
    unowned(unsafe) let store: Store
    /// WATCHed keys of this database and who watches them.
    var watchers: [[UInt8]: [WatchState]] = [:]

    init(index: Int, store: Store) {
        self.index = index
        self.storageID = UInt8(truncatingIfNeeded: index)
        self.store = store
        self.cold = ColdIndex(totals: store.coldTotals)
    }

    /// Number of keys in both tiers (expired keys not yet collected included, as Redis
    /// counts them).
    public var count: Int { keys.count + cold.count }

    /// Keys with an expiry in both tiers.
    public var totalExpires: Int { expiresCount + cold.expiresCount }

    // MARK: - Lookups

    /// The live slot for `key`, or nil; deletes the key if it has expired. Does not count
    /// as an access (used by inspection commands: TYPE, TTL, EXISTS, OBJECT...).
    public func find(_ key: UnsafeRawBufferPointer) -> SlotPointer? {
        find(key, hash: KeyHash.hash(key))
    }

    /// `find` with the key's hash already computed (SET hashes once for lookup and insert).
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> SlotPointer? {
        guard let slot = keys.find(key, hash: hash) else { return nil }
        if slot.pointee.expireAt != 0 && slot.pointee.expireAt <= store.nowMillis {
            expire(slot)
            return nil
        }
        return slot
    }

    /// Lookup for a command that reads the key: counts a hit or miss and records the access.
    public func lookupRead(_ key: UnsafeRawBufferPointer) -> SlotPointer? {
        guard let slot = find(key) else {
            store.stats.keyspaceMisses += 1
            return nil
        }
        store.stats.keyspaceHits += 1
        touch(slot)
        return slot
    }

    /// Lookup for a command that will modify the key; records the access.
    public func lookupWrite(_ key: UnsafeRawBufferPointer) -> SlotPointer? {
        guard let slot = find(key) else { return nil }
        touch(slot)
        // The value is about to change: a RocksDB copy no longer matches it.
        slot.pointee.meta &= ~KeyFlags.clean
        return slot
    }

    @inline(__always)
    func touch(_ slot: SlotPointer) {
        slot.pointee.meta = AccessTracking.touched(meta: slot.pointee.meta, nowMillis: store.nowMillis,
                                                   lfu: store.lfuPolicy, logFactor: store.config.lfuLogFactor,
                                                   decayMinutes: store.config.lfuDecayTime)
    }

    // MARK: - Writes

    /// Creates a key that does not exist (the caller checked) and returns its slot.
    @discardableResult
    public func add(_ key: UnsafeRawBufferPointer, _ value: Value, expireAt: Int64 = 0, meta: UInt32? = nil) -> SlotPointer {
        value.withPayload { type, payload in
            withResidentPayload(type, payload) { add(key, type: type, payload: $0, expireAt: expireAt, meta: meta) }
        }
    }

    /// Creates a string key that does not exist (the caller checked) from the bytes given.
    @discardableResult
    public func add(_ key: UnsafeRawBufferPointer, string: UnsafeRawBufferPointer, expireAt: Int64 = 0,
                    meta: UInt32? = nil, hash: UInt64? = nil) -> SlotPointer {
        add(key, type: .string, payload: string, expireAt: expireAt, meta: meta, hash: hash)
    }

    /// Creates a key of `type` that does not exist (the caller checked) from its payload.
    @discardableResult
    public func add(_ key: UnsafeRawBufferPointer, type: ValueType, payload: UnsafeRawBufferPointer,
                    expireAt: Int64 = 0, meta: UInt32? = nil, hash: UInt64? = nil) -> SlotPointer {
        if expireAt != 0 { expiresCount += 1 }
        if type == .list && store.blockedKeys > 0 { store.createdLists.append((index, [UInt8](key))) }
        // A record moved from another key (RENAME, MOVE, COPY) has no RocksDB copy under
        // this name.
        let meta = (meta ?? AccessTracking.initialMeta(nowMillis: store.nowMillis, lfu: store.lfuPolicy))
            & ~KeyFlags.tierFlags
        return keys.insert(KeyRecord.make(key: key, value: payload, type: type), hash: hash ?? KeyHash.hash(key),
                           expireAt: expireAt, meta: meta)
    }

    /// Creates a string key of `count` zero bytes, exactly sized (SETBIT, SETRANGE and
    /// BITFIELD on a missing key), marked raw-encoded as Redis marks strings built in place.
    @discardableResult
    public func add(_ key: UnsafeRawBufferPointer, zeroedString count: Int) -> SlotPointer {
        let meta = AccessTracking.initialMeta(nowMillis: store.nowMillis, lfu: store.lfuPolicy) | KeyFlags.rawString
        return keys.insert(KeyRecord.make(key: key, zeroedValueCount: count), hash: KeyHash.hash(key), expireAt: 0,
                           meta: meta)
    }

    /// SET semantics: creates or overwrites `key` with `value`. The expiry becomes
    /// `expireAt` (0 = none) unless `keepTTL`. Signals the change.
    public func set(_ key: UnsafeRawBufferPointer, _ value: Value, expireAt: Int64 = 0, keepTTL: Bool = false) {
        value.withPayload { type, payload in
            withResidentPayload(type, payload) { set(key, type: type, payload: $0, expireAt: expireAt, keepTTL: keepTTL) }
        }
    }

    /// SET of a string value given as bytes (copied into the key's record).
    public func set(_ key: UnsafeRawBufferPointer, string: UnsafeRawBufferPointer, expireAt: Int64 = 0,
                    keepTTL: Bool = false) {
        set(key, type: .string, payload: string, expireAt: expireAt, keepTTL: keepTTL)
    }

    /// Creates or replaces `key` with a value of `type` whose payload is a copy of `payload`.
    public func set(_ key: UnsafeRawBufferPointer, type: ValueType, payload: UnsafeRawBufferPointer,
                    expireAt: Int64 = 0, keepTTL: Bool = false) {
        let hash = KeyHash.hash(key)
        if let slot = find(key, hash: hash) {
            slot.pointee.setValue(type, payload)
            slot.pointee.meta &= ~(KeyFlags.rawString | KeyFlags.clean)
            if !keepTTL { setExpiry(slot, expireAt) }
            touch(slot)
        } else if cold.count > 0, let entry = coldEntry(key, hash: hash) {
            // A blind write over a cold key: its value is not read. The key becomes hot and
            // its RocksDB copy, now stale, is overwritten by its next demotion or deleted
            // with it (diskCopy).
            cold.remove(ColdIndex.fingerprint(hash))
            let slot = add(key, type: type, payload: payload, expireAt: keepTTL ? entry.expireAt : expireAt, hash: hash)
            slot.pointee.meta |= KeyFlags.diskCopy
        } else {
            add(key, type: type, payload: payload, expireAt: expireAt, hash: hash)
        }
        modified(key)
    }

    /// Deletes `key` if it exists (and has not expired), in either tier: a cold key's
    /// value is not read. Signals the change.
    @discardableResult
    public func delete(_ key: UnsafeRawBufferPointer) -> Bool {
        guard removeAnyTier(key) else { return false }
        modified(key)
        return true
    }

    /// Removes the key at `slot` (the caller signals the change).
    public func remove(_ slot: SlotPointer) {
        take(slot).release()
    }

    /// Removes the key at `slot` (the caller signals the change) and returns its slot
    /// contents: the caller owns the record and releases it or inserts it again.
    public func take(_ slot: SlotPointer) -> KeySlot {
        let record = takeLeavingDiskCopy(slot)
        if record.meta & (KeyFlags.diskCopy | KeyFlags.demoting) != 0 {
            store.tier?.deleteFromDisk(storageID: storageID, key: record.key)
        }
        return record
    }

    /// `take` for a caller whose own RocksDB write deletes the key's copy there
    /// (LargeHotMoves.swift: a delete queued on its own could reach RocksDB without it).
    func takeLeavingDiskCopy(_ slot: SlotPointer) -> KeySlot {
        if slot.pointee.expireAt != 0 { expiresCount -= 1 }
        return keys.take(slot)
    }

    /// Sets (`at` > 0) or clears (`at` == 0) the expiry of the key at `slot`.
    public func setExpiry(_ slot: SlotPointer, _ at: Int64) {
        let had = slot.pointee.expireAt != 0
        slot.pointee.expireAt = at
        slot.pointee.meta &= ~KeyFlags.clean  // the RocksDB copy holds the old expiry
        if had && at == 0 { expiresCount -= 1 } else if !had && at != 0 { expiresCount += 1 }
    }

    /// Deletes an expired key and signals it (WATCH sees an expiry as a change).
    func expire(_ slot: SlotPointer) {
        let record = take(slot)
        store.stats.expiredKeys += 1
        modified(record.keyBytes, countsAsDirty: false, logged: false)
        record.release()
    }

    /// Records a change of `key`: aborts transactions watching it and counts one change for
    /// the save rules.
    /// `logged: false` for a change that needs no log record: an expiry (the records hold
    /// absolute expiry times, so replay drops the key by itself).
    @inline(__always)
    public func modified(_ key: UnsafeRawBufferPointer, countsAsDirty: Bool = true, logged: Bool = true) {
        if countsAsDirty { store.dirty += 1 }
        if logged && store.log != nil { store.noteChange(self, key) }
        touchWatchers(key)
    }

    /// Records a change of `key`'s expiry alone (EXPIRE, PERSIST, GETEX): as `modified`, but
    /// the log gets the key's new expiry rather than its whole value (which, for a large
    /// collection, packed it on the loop: 60 ms and 6.9 MB of log for a 200 000-field hash).
    @inline(__always)
    public func expiryModified(_ key: UnsafeRawBufferPointer) {
        store.dirty += 1
        if store.log != nil { store.noteExpiry(self, key) }
        touchWatchers(key)
    }

    @inline(__always)
    private func touchWatchers(_ key: UnsafeRawBufferPointer) {
        if watchers.isEmpty { return }
        if let states = watchers[[UInt8](key)] {
            for state in states { state.dirty = true }
        }
    }

    /// Removes every key. `async` frees the memory on a background thread.
    public func removeAll(async: Bool) {
        touchAllWatched(ifExistsIn: self, or: nil)
        store.dirty += count
        if store.log != nil { store.logFlush(self) }
        keys.removeAll(freeInBackground: async)
        expiresCount = 0
        if store.tier != nil {
            cold.removeAll()
            store.tier!.dropStorage(storageID)
        }
    }

    // MARK: - Tiers

    /// Puts a key read from RocksDB into RAM (the caller checked it is not hot). Its
    /// RocksDB copy stays and is clean until the key changes.
    @discardableResult
    func insertLoaded(key: [UInt8], hash: UInt64, value: Value, expireAt: Int64, accessMeta: UInt32,
                      transient: Bool) -> SlotPointer {
        if expireAt != 0 { expiresCount += 1 }
        var meta = (accessMeta & AccessTracking.lruMask) | KeyFlags.diskCopy | KeyFlags.clean
        if transient { meta |= KeyFlags.transient }
        let record = value.withPayload { type, payload in
            key.withUnsafeBytes { k in
                withResidentPayload(type, payload) { KeyRecord.make(key: k, value: $0, type: type) }
            }
        }
        return keys.insert(record, hash: hash, expireAt: expireAt, meta: meta)
    }

    /// Moves a hot key whose RocksDB copy is current out of RAM: it becomes cold.
    func unload(_ slot: SlotPointer, hash knownHash: UInt64? = nil) {
        let expireAt = slot.pointee.expireAt
        if expireAt != 0 { expiresCount -= 1 }
        let hash = knownHash ?? KeyHash.hash(slot.pointee.keyBytes)
        let meta = slot.pointee.coldMeta
        keys.remove(slot)
        cold.insert(ColdIndex.fingerprint(hash), expireAt: expireAt, meta: meta)
    }

    /// The active expiry cycle removed these cold keys (it knows their fingerprints only):
    /// transactions WATCHing one of them must fail, as for a hot key that expires.
    func coldKeysExpired(_ fingerprints: [UInt64]) {
        guard !watchers.isEmpty, !fingerprints.isEmpty else { return }
        let expired = Set(fingerprints)
        for (key, states) in watchers where expired.contains(ColdIndex.fingerprint(KeyHash.hash(key))) {
            for state in states { state.dirty = true }
        }
    }

    /// Whether `key` exists in either tier, for a write that depends on it (SET NX/XX,
    /// MSETNX): a hot key's access is recorded as `lookupWrite` does; a cold one's value is
    /// not read.
    public func existsForWrite(_ key: UnsafeRawBufferPointer) -> Bool {
        lookupWrite(key) != nil || coldEntry(key) != nil
    }

    // MARK: - Cold keys, from the index alone

    /// A cold key's entry in the index: its expiry (Unix ms, 0 = none) and metadata
    /// (`ColdIndex.meta`), nil when the key is not cold. Like `find`, deletes a key whose
    /// time has passed. Reads nothing from RocksDB: the index is the authority on which
    /// keys are cold and on their metadata (two keys with the same 64-bit hash would share
    /// an answer; the chance at a billion keys is about 1 in 10^10 per lookup).
    public func coldEntry(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (expireAt: Int64, meta: UInt32)? {
        guard cold.count > 0 else { return nil }
        let fp = ColdIndex.fingerprint(hash)
        guard let expireAt = cold.expireAt(fp) else { return nil }
        if expireAt != 0 && expireAt <= store.nowMillis {
            removeCold(key, hash: hash)
            store.stats.expiredKeys += 1
            store.tier?.stats.expiredColdKeys += 1
            modified(key, countsAsDirty: false, logged: false)
            return nil
        }
        return (expireAt, cold.meta(fp) ?? 0)
    }

    public func coldEntry(_ key: UnsafeRawBufferPointer) -> (expireAt: Int64, meta: UInt32)? {
        cold.count > 0 ? coldEntry(key, hash: KeyHash.hash(key)) : nil
    }

    /// Removes a cold key (the caller checked it is cold, and signals the change): its
    /// index entry now, its RocksDB value behind the writes queued before.
    func removeCold(_ key: UnsafeRawBufferPointer, hash: UInt64) {
        cold.remove(ColdIndex.fingerprint(hash))
        store.tier?.deleteFromDisk(storageID: storageID, key: [UInt8](key))
    }

    /// Removes `key` from whichever tier holds it (the caller signals the change); returns
    /// whether it existed. A cold key's value is not read.
    @discardableResult
    public func removeAnyTier(_ key: UnsafeRawBufferPointer) -> Bool {
        let hash = KeyHash.hash(key)
        if let slot = find(key, hash: hash) {
            remove(slot)
        } else if coldEntry(key, hash: hash) != nil {
            removeCold(key, hash: hash)
        } else {
            return false
        }
        return true
    }

    /// RENAME, MOVE (`keepSource` false) or COPY (true) of the cold key `source`, whose
    /// index entry is `entry`, to `target` of `targetDB` (whose old value the caller
    /// removed): inside the cold tier, without reading the value (ColdTierMoves.swift).
    /// The target gets the source's expiry and `access` history; the caller signals the
    /// changes.
    public func moveCold(_ source: UnsafeRawBufferPointer, _ entry: (expireAt: Int64, meta: UInt32),
                         to targetDB: Database, _ target: UnsafeRawBufferPointer, keepSource: Bool, access: UInt32) {
        guard let tier = store.tier else { return }
        let meta = ColdIndex.meta(access: access, typeTag: ColdIndex.typeTag(meta: entry.meta))
        if ColdIndex.typeTag(meta: entry.meta) == ValueType.list.rawValue && store.blockedKeys > 0 {
            store.createdLists.append((targetDB.index, [UInt8](target)))
        }
        let sequence = tier.moveCold(from: self, source, to: targetDB, target, keepSource: keepSource,
                                     expireAt: entry.expireAt, meta: meta)
        store.logColdMove(from: self, source, to: targetDB, target, keepSource: keepSource, sequence: sequence)
    }

    /// Sets (`at` > 0) or clears (0) a cold key's expiry without reading its value (the
    /// caller checked it is cold, and signals the change): the index changes now, and the
    /// writer rewrites the header of the RocksDB copy after the writes queued before.
    public func setColdExpiry(_ key: UnsafeRawBufferPointer, _ at: Int64) {
        cold.setExpiry(ColdIndex.fingerprint(KeyHash.hash(key)), expireAt: at)
        store.tier?.rewriteExpiry(storageID: storageID, key: [UInt8](key), expireAt: at)
    }

    /// Records an access to a cold key (TOUCH) in its index entry.
    public func touchCold(_ key: UnsafeRawBufferPointer, meta: UInt32) {
        let touched = AccessTracking.touched(meta: meta & AccessTracking.lruMask, nowMillis: store.nowMillis,
                                             lfu: store.lfuPolicy, logFactor: store.config.lfuLogFactor,
                                             decayMinutes: store.config.lfuDecayTime)
        cold.setAccess(ColdIndex.fingerprint(KeyHash.hash(key)), touched)
    }

    /// True when `key` is hot or has an entry in the cold index (which a read confirms).
    public func mayExist(_ key: UnsafeRawBufferPointer) -> Bool {
        let hash = KeyHash.hash(key)
        return keys.find(key, hash: hash) != nil || (cold.count > 0 && cold.contains(ColdIndex.fingerprint(hash)))
    }

    // MARK: - WATCH

    public func watch(_ key: [UInt8], by state: WatchState) {
        // A key that already expired is dead: collect it now so that its later collection
        // is not mistaken for a change.
        key.withUnsafeBytes { _ = find($0) }
        watchers[key, default: []].append(state)
        state.keys.append((index, key))
    }

    public func unwatch(_ key: [UInt8], by state: WatchState) {
        guard var states = watchers[key] else { return }
        states.removeAll { $0 === state }
        watchers[key] = states.isEmpty ? nil : states
    }

    /// True when a watched key is logically expired now (EXEC checks this: an expiry is a
    /// change even if nothing collected the key yet).
    public func isExpiredNow(_ key: [UInt8]) -> Bool {
        key.withUnsafeBytes { bytes in
            guard let slot = keys.find(bytes) else { return false }
            return slot.pointee.expireAt != 0 && slot.pointee.expireAt <= store.nowMillis
        }
    }

    /// FLUSHDB/FLUSHALL/SWAPDB: watched keys that exist in `a` or `b` become dirty.
    func touchAllWatched(ifExistsIn a: Database, or b: Database?) {
        for (key, states) in watchers {
            let exists = key.withUnsafeBytes { bytes in
                a.mayExist(bytes) || (b?.mayExist(bytes) ?? false)
            }
            if exists { for state in states { state.dirty = true } }
        }
    }

    /// SWAPDB: exchanges the contents (not the watchers) of two databases.
    func swapContents(with other: Database) {
        touchAllWatched(ifExistsIn: self, or: other)
        other.touchAllWatched(ifExistsIn: self, or: other)
        swap(&keys, &other.keys)
        swap(&expiresCount, &other.expiresCount)
        swap(&cold, &other.cold)
        swap(&storageID, &other.storageID)
    }
}

import Config
import NIOCore

/*
 Choosing keys to take out of RAM when memory passes maxmemory, as Redis's evict.c does:
 sample `maxmemory-samples` keys of each database, keep the best candidates in a pool of
 16 (the longest idle for LRU, the lowest counter for LFU, the nearest expiry for TTL) and
 take the best of the pool; the random policies take any key. `volatile-*` policies only
 consider keys with an expiry.

 With tiering the chosen keys are demoted to RocksDB (nothing is lost); with `tiering no`
 they are deleted, exactly as Redis evicts. Demotion, which takes keys out by the
 thousand, picks them a chunk at a time instead (`demoteVictims`): the same choice in
 steady state, without the pool's per-victim copies and lookups.
*/
struct EvictionPool {
    struct Candidate {
        var score: UInt64
        var database: Int
        var key: [UInt8]
    }
    static let size = 16
    /// Sorted by score, best (highest) last.
    var candidates: [Candidate] = []

    mutating func offer(_ candidate: Candidate) {
        if candidates.count == EvictionPool.size {
            guard candidate.score > candidates[0].score else { return }
            candidates.removeFirst()
        }
        if candidates.contains(where: { $0.database == candidate.database && $0.key == candidate.key }) { return }
        let index = candidates.firstIndex { $0.score > candidate.score } ?? candidates.count
        candidates.insert(candidate, at: index)
    }
}

/// What a command that adds data may do now that memory was checked.
public enum MemoryVerdict {
    case proceed
    /// Memory is over the limit while demotions are being written: wait for them.
    case wait(EventLoopFuture<Void>)
    /// Over the limit and nothing can be freed: Redis's -OOM error.
    case outOfMemory
    /// Over the limit, and the cold tier's last write failed (RocksDB's error): the disk is
    /// full or failing, so no key can leave RAM until it has room again.
    case diskFull(String)

    public var isWait: Bool {
        if case .wait = self { return true }
        return false
    }
}

extension Store {
    /// Memory that counts against maxmemory: what the execution thread allocated for the
    /// hot tier (keys, values, client buffers), not RocksDB's own memory (block cache,
    /// memtables), which configuration bounds separately.
    ///
    /// The cold index is left out too: demotion cannot shrink it (each demoted key adds an
    /// entry), so once it alone passed maxmemory every write got -OOM. Measured: 10 M keys
    /// of 16 B under 32mb stopped at 1.3 M keys with 8.7 M -OOM replies, the index holding
    /// 32 MB. maxmemory bounds the hot tier; the index costs `cold_index_bytes_per_key` on
    /// top (INFO tiering), as RocksDB's memory does.
    ///
    /// Clients' receive buffers are left out (`memoryNotCountedForLimit`), as Redis leaves
    /// out replica and AOF buffers: demotion cannot free them, and a connection that waits
    /// for memory is not read (at most 64 KB past its request, Connection.swift). Counted,
    /// 50 pipelined writers held 7 MB of an 8 MB limit in them: every key was demoted and
    /// their writes still got -OOM.
    public func usedMemoryForLimit() -> Int {
        max(0, MemoryStats.executionThreadBytes() - memoryNotCountedForLimit() - (log?.heldBytes ?? 0) - coldIndexBytes)
    }

    /// Checks memory before a command that may add data (`adding`), after cold reads put
    /// keys in RAM, and from the cron (`fresh`: always reads the figures), demoting or
    /// evicting keys as the policy says.
    public func checkMemory(adding: Bool = true, fresh: Bool = false, attempt: Int = 0) -> MemoryVerdict {
        let limit = config.maxmemory
        guard limit > 0 else { return .proceed }
        // Reading jemalloc's statistics costs about a microsecond: refresh at most every
        // 32 writes or every millisecond, whichever comes first.
        memoryCheckCountdown -= 1
        let now = Clock.monotonicNanos()
        if memoryCheckCountdown <= 0 || now &- lastMemorySample > 1_000_000 || fresh {
            memoryCheckCountdown = 32
            lastMemorySample = now
            sampledUsedMemory = usedMemoryForLimit()
            if sampledUsedMemory > limit / 100 * 95 {
                // Before acting on it, make it exact: freed blocks cached by this thread
                // still count as allocated.
                MemoryStats.flushThreadCache()
                sampledUsedMemory = usedMemoryForLimit()
            }
        }
        let used = sampledUsedMemory
        let noEviction = config.evictionPolicy.order == .none
        if let tier, config.tiering, !noEviction {
            // Demote from 95% of the limit down to 90%, in the background.
            let start = limit / 100 * 95
            // The disk refused the last batch (full): no new batch for a second, and writes
            // that need room are told so rather than left waiting.
            let diskTrouble = tier.lastWriteError != nil && now &- tier.lastWriteFailure < 1_000_000_000
            // Two batches in flight at most: their encoded copies are memory too.
            if used > start && tier.inFlightBatches < 2 && !diskTrouble {
                // What a hot key really holds (value, key, its share of the table and of
                // allocator rounding), from the figures themselves: a fixed estimate was
                // half of it, and demotion kept going while batches were in flight.
                let hot = hotKeys
                let perKey = hot > 0 ? max(64, used / hot) : 256
                // A checkpoint's copies in the batch stay in RAM: they free nothing.
                let leaving = (tier.inFlightKeys + tier.batch.leavingKeys + tier.demotionsBeingPacked) * perKey
                // At most two batches and about a millisecond per call: the rest follows
                // with the next writes or the cron.
                // At least one while over: with a few large keys (a 100 MB hash) the average
                // per key exceeds what must go, and the division alone demoted none.
                let excess = used - limit / 100 * 90 - leaving
                let keysToDemote = excess <= 0 ? 0
                    : max(1, min(excess / perKey, 2 * config.tieringDemoteBatchBytes / perKey))
                let victims = keysToDemote > 0
                    ? demoteVictims(tier, count: keysToDemote, deadline: now &+ 1_000_000) : 0
                lastDemotionVictims = victims
                // While a batch is being written the next one fills up, and goes when that
                // write commits (or when it is full): the writer's cost per key falls
                // steeply with the batch's size (RocksDB's memtable inserts a sorted run
                // from where the last insert ended), so a busy writer gets bigger batches.
                if victims > 0 && tier.inFlightBatches == 0 {
                    tier.flushDemotions()
                    sampledUsedMemory = usedMemoryForLimit()
                }
            }
            guard adding && sampledUsedMemory > limit else { return .proceed }
            if diskTrouble, let error = tier.lastWriteError { return .diskFull(error) }
            // Keys queued for demotion (or a checkpoint's copies, which hold victims
            // back while they are flagged) free memory once written: wait for that.
            if !tier.batch.isEmpty && tier.inFlightBatches == 0 { tier.flushDemotions() }
            if tier.inFlightBatches > 0 || tier.demotionsBeingPacked > 0 || tier.storesInFlight > 0 {
                return .wait(tier.waitForMemory())
            }
            // Nothing is being written: the victims left RAM at once (their RocksDB copy
            // was current) or there were none. Measure exactly (freed blocks cached by the
            // thread count until flushed) and demote again while that helps. A background
            // release is asked about first: one that ends between the two counted its
            // object in the figures but not as releasing (-OOM with no key in RAM).
            let releasing = OwnedValue.releasing
            MemoryStats.flushThreadCache()
            sampledUsedMemory = usedMemoryForLimit()
            if sampledUsedMemory <= limit { return .proceed }
            if attempt < 4 && hotKeys > 0 { return checkMemory(adding: true, fresh: true, attempt: attempt + 1) }
            // Keys can still leave RAM: wait and look again (backpressure) rather than refuse
            // a write that demotion will make room for. Only when the policy finds no key it
            // may demote (none with an expiry under a volatile policy, say) is memory beyond
            // what demotion can free, and the write gets Redis's -OOM (but see below).
            // A demoted large collection is freed on a background queue: wait for it too.
            if (hotKeys > 0 && lastDemotionVictims > 0) || releasing || OwnedValue.releasing {
                return .wait(tier.waitForMemory())
            }
            // The hot keys left are pinned: commands read them from RocksDB for themselves
            // and hold them until they have run (ColdTier.admit). A collection larger than
            // maxmemory is such a key after every demotion: refusing the write that read
            // it back got -OOM for pipelined writes to it (now and then: only when the
            // figures had just been refreshed). It runs; its keys leave RAM after it.
            // With no key in RAM at all, what the figures hold is not the dataset (buffers,
            // or blocks another thread is freeing): demotion has nothing to free, and the
            // write's own key goes to RocksDB after it as any other.
            if hotKeys == 0 || !tier.pins.isEmpty { return .proceed }
            return .outOfMemory
        }
        guard used > limit else { return .proceed }
        if noEviction { return adding ? .outOfMemory : .proceed }
        // tiering no: delete victims until under the limit, as Redis's performEvictions.
        var toFree = used - limit
        while toFree > 0 {
            guard let (db, slot) = nextVictim() else {
                // A large collection on its way to a new key (LargeHotMoves.swift) is back soon.
                if adding, let tier, tier.storesInFlight > 0 { return .wait(tier.waitForMemory()) }
                return adding ? .outOfMemory : .proceed
            }
            toFree -= ColdTier.estimatedBytes(slot)
            stats.evictedKeys += 1
            // Logged: the key is gone, as Redis propagates a DEL for an eviction (the log
            // records the key's state after the command, so noting it first is the same).
            db.modified(slot.pointee.keyBytes, countsAsDirty: false)
            db.remove(slot)
        }
        sampledUsedMemory = usedMemoryForLimit()
        return .proceed
    }

    /// Demotes up to `count` keys that the policy picks, a chunk at a time until `deadline`;
    /// returns how many it demoted.
    ///
    /// For a chunk of n victims it samples `maxmemory-samples` × n slots (spread over the
    /// databases by their key counts) and demotes the best n. In steady state that picks
    /// what Redis's pool does (each victim the best of about `maxmemory-samples` samples),
    /// without copying every sampled key into the pool and looking each victim up again:
    /// picking one victim at a time held demotion to ~300 keys per millisecond.
    func demoteVictims(_ tier: ColdTier, count: Int, deadline: UInt64) -> Int {
        let policy = config.evictionPolicy
        let volatileOnly = policy.volatileOnly
        // The random policies take any key: one sample per victim.
        let samples = policy.order == .random ? 1 : max(1, config.maxmemorySamples)
        let now = nowMillis
        let sources = databases.filter { volatileOnly ? $0.expiresCount > 0 : $0.keys.count > 0 }
        let keysInSources = sources.reduce(0) { $0 + $1.keys.count }
        guard keysInSources > 0 else { return 0 }
        var candidates: [(score: UInt64, db: Database, slot: SlotPointer)] = []
        // Keys whose RocksDB copy is current leave RAM at once, which changes the table:
        // they are unloaded after the chunk, while the sampled slot pointers are not in use.
        var unloadLater: [(Database, [UInt8])] = []
        var demoted = 0
        while demoted < count {
            let chunk = min(64, count - demoted)
            candidates.removeAll(keepingCapacity: true)
            for db in sources {
                let quota = (samples * chunk * db.keys.count + keysInSources - 1) / keysInSources
                // Volatile policies look at more slots: only keys with an expiry count.
                let looks = volatileOnly ? min(quota * 8, quota * db.keys.count / max(1, db.expiresCount)) : quota
                db.keys.sampleSlots(count: looks) { slot in
                    let meta = slot.pointee.meta
                    if meta & (KeyFlags.demoting | KeyFlags.pinned) != 0 { return }
                    let expireAt = slot.pointee.expireAt
                    if volatileOnly && expireAt == 0 { return }
                    candidates.append((victimScore(meta: meta, expireAt: expireAt, policy: policy, nowMillis: now),
                                       db, slot))
                }
            }
            if candidates.isEmpty { break }
            if policy.order != .random {
                candidates.sort { $0.score > $1.score }
            }
            var taken = 0
            for candidate in candidates where taken < chunk {
                let slot = candidate.slot
                let meta = slot.pointee.meta
                // Sampled twice, and already taken.
                if meta & KeyFlags.demoting != 0 { continue }
                taken += 1
                if meta & (KeyFlags.clean | KeyFlags.diskCopy) == KeyFlags.clean | KeyFlags.diskCopy {
                    slot.pointee.meta = meta | KeyFlags.demoting
                    unloadLater.append((candidate.db, slot.pointee.key))
                } else {
                    tier.demote(candidate.db, slot)
                }
            }
            for (db, key) in unloadLater {
                if let slot = key.withUnsafeBytes({ db.keys.find($0) }) { tier.unload(db, slot) }
            }
            unloadLater.removeAll(keepingCapacity: true)
            demoted += taken
            if taken == 0 || Clock.monotonicNanos() > deadline { break }
        }
        return demoted
    }

    /// How strongly the policy wants a key out of RAM (higher first).
    @inline(__always)
    func victimScore(meta: UInt32, expireAt: Int64, policy: EvictionPolicy, nowMillis: Int64) -> UInt64 {
        switch policy.order {
        case .lfu:
            let counter = AccessTracking.lfuDecayedCounter(meta: meta, nowMillis: nowMillis,
                                                           decayMinutes: config.lfuDecayTime)
            return UInt64(255 - counter)
        case .ttl:
            return UInt64.max - UInt64(max(0, expireAt))
        default:
            return UInt64(AccessTracking.idleSeconds(meta: meta, nowMillis: nowMillis))
        }
    }

    /// The next key the policy takes out of RAM, or nil when there is none.
    func nextVictim() -> (Database, SlotPointer)? {
        let policy = config.evictionPolicy
        let volatileOnly = policy.volatileOnly
        if policy.order == .random {
            let candidates = databases.filter { $0.keys.count > 0 }
            guard !candidates.isEmpty else { return nil }
            for _ in 0..<64 {
                let db = candidates.randomElement(using: &FastRandom.shared)!
                guard let slot = db.keys.randomSlot() else { continue }
                let meta = slot.pointee.meta
                if meta & (KeyFlags.demoting | KeyFlags.pinned) != 0 { continue }
                if volatileOnly && slot.pointee.expireAt == 0 { continue }
                return (db, slot)
            }
            return nil
        }
        for _ in 0..<16 {
            fillEvictionPool(volatileOnly: volatileOnly, policy: policy)
            while let best = evictionPool.candidates.popLast() {
                let db = databases[best.database]
                guard let slot = best.key.withUnsafeBytes({ db.keys.find($0) }) else { continue }
                if slot.pointee.meta & (KeyFlags.demoting | KeyFlags.pinned) != 0 { continue }
                return (db, slot)
            }
        }
        return nil
    }

    func fillEvictionPool(volatileOnly: Bool, policy: EvictionPolicy) {
        let samples = config.maxmemorySamples
        let now = nowMillis
        for db in databases where db.keys.count > 0 {
            if volatileOnly && db.expiresCount == 0 { continue }
            var taken = 0
            var tries = 0
            while taken < samples && tries < samples * 8 {
                tries += 1
                guard let slot = db.keys.randomSlot() else { break }
                let meta = slot.pointee.meta
                if meta & (KeyFlags.demoting | KeyFlags.pinned) != 0 { continue }
                let expireAt = slot.pointee.expireAt
                if volatileOnly && expireAt == 0 { continue }
                taken += 1
                evictionPool.offer(.init(score: victimScore(meta: meta, expireAt: expireAt, policy: policy, nowMillis: now),
                                         database: db.index, key: slot.pointee.key))
            }
        }
    }
}

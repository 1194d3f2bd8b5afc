#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CShims

/*
 The in-RAM index of one database's cold keys: for each key that lives only in RocksDB,
 its 64-bit hash (a fingerprint), its exact expiry (Unix ms) and its metadata: the
 access history (LRU clock or LFU counter, so OBJECT IDLETIME/FREQ and the eviction policy
 see the same history whichever tier the key is in) and its type. 20 bytes an entry
 whatever the key's length, at a load between 2/3 and 0.85: at most 30 bytes a key.

 The index is the authority for what the metadata commands report and change (EXISTS,
 TYPE, the TTL and EXPIRE families, PERSIST, TOUCH, OBJECT IDLETIME/FREQ) and for what
 blind writes need (SET's NX/XX/KEEPTTL): none of them reads the value. A value's own
 header in RocksDB also holds its expiry; the writer brings it up to date after an
 EXPIRE or PERSIST, and a read trusts the index's.

 What it answers without touching the disk:
 - DBSIZE and INFO keyspace (`count`, `expiresCount`), exactly and in O(1);
 - "is this key perhaps cold?": a key that is not hot is cold only if its fingerprint is
   here; a hit is confirmed by the read that fetches the value (two keys with the same
   64-bit hash both have an entry, so counts stay exact);
 - which cold keys have expired (a sweep of the expiries).

 Layout: 256 shards by the fingerprint's top byte, each a Robin Hood hash table (linear
 probing that keeps entries ordered by their distance from home, so a miss stops early)
 with backward-shift deletion (no tombstones). A shard is rebuilt whole when it grows or
 shrinks past its load bounds; a shard holds 1/256 of the keys, so a rebuild moves about
 40 000 entries (half a millisecond) at 10 M cold keys instead of all of them.
*/
public final class ColdIndex {
    static let shardCount = 256
    static let smallShard = 16
    static let maxLoad = 0.85
    static let minLoad = 0.67
    static let loadAfterResize = 0.76

    struct Shard {
        var fingerprints: UnsafeMutablePointer<UInt64>? = nil
        var expiries: UnsafeMutablePointer<Int64>? = nil
        var metas: UnsafeMutablePointer<UInt32>? = nil
        var capacity = 0
        var count = 0
    }

    var shards = [Shard](repeating: Shard(), count: ColdIndex.shardCount)
    public private(set) var count = 0 {
        didSet { totals?.count += count - oldValue }
    }
    /// Entries of every index of the store (so that "are there cold keys at all?" is one
    /// read per command, not one per database).
    let totals: ColdTotals?
    /// Entries with an expiry.
    public private(set) var expiresCount = 0
    /// Bytes allocated for entries.
    public private(set) var allocatedBytes = 0

    public init(totals: ColdTotals? = nil) { self.totals = totals }

    deinit { removeAll() }

    /// The fingerprint of a key hash (0 marks an empty slot).
    @inline(__always)
    public static func fingerprint(_ hash: UInt64) -> UInt64 { hash == 0 ? 1 : hash }

    /// Where a cold key's type tag (`ValueCodec.tag*`) sits in its metadata, above the
    /// 24 bits of access history.
    static let typeShift: UInt32 = 24

    /// A cold entry's metadata: the access history and the type tag.
    @inline(__always)
    public static func meta(access: UInt32, typeTag: UInt8) -> UInt32 {
        (access & AccessTracking.lruMask) | (UInt32(typeTag & 0x0F) << typeShift)
    }

    /// The type tag stored in a cold entry's metadata.
    @inline(__always)
    public static func typeTag(meta: UInt32) -> UInt8 { UInt8(truncatingIfNeeded: (meta >> typeShift) & 0x0F) }

    @inline(__always)
    static func shardIndex(_ fp: UInt64) -> Int { Int(fp >> 56) }

    @inline(__always)
    static func home(_ fp: UInt64, _ capacity: Int) -> Int {
        Int((UInt64(UInt32(truncatingIfNeeded: fp)) &* UInt64(capacity)) >> 32)
    }

    // MARK: - Queries

    /// True when an entry with this fingerprint exists.
    public func contains(_ fp: UInt64) -> Bool { slotIndex(fp) != nil }

    /// The expiry (Unix ms, 0 = none) of the entry with this fingerprint, nil when absent.
    public func expireAt(_ fp: UInt64) -> Int64? {
        guard let (s, i) = slotIndex(fp) else { return nil }
        return shards[s].expiries![i]
    }

    func slotIndex(_ fp: UInt64) -> (Int, Int)? {
        let s = ColdIndex.shardIndex(fp)
        let shard = shards[s]
        guard shard.count > 0, let fps = shard.fingerprints else { return nil }
        let capacity = shard.capacity
        var index = ColdIndex.home(fp, capacity)
        var distance = 0
        while true {
            let stored = fps[index]
            if stored == 0 { return nil }
            if stored == fp { return (s, index) }
            // Robin Hood order: an entry closer to its home than we are to ours means ours
            // would have been placed before it.
            if ColdIndex.distance(stored, index, capacity) < distance { return nil }
            index += 1
            if index == capacity { index = 0 }
            distance += 1
        }
    }

    @inline(__always)
    static func distance(_ fp: UInt64, _ index: Int, _ capacity: Int) -> Int {
        let h = home(fp, capacity)
        return index >= h ? index - h : index + capacity - h
    }

    // MARK: - Changes

    /// The metadata (access history and type, `meta(access:typeTag:)`) stored with this
    /// fingerprint, nil when absent.
    public func meta(_ fp: UInt64) -> UInt32? {
        guard let (s, i) = slotIndex(fp) else { return nil }
        return shards[s].metas![i]
    }

    /// Replaces the access history of the entry with this fingerprint (TOUCH), keeping
    /// its type.
    public func setAccess(_ fp: UInt64, _ access: UInt32) {
        guard let (s, i) = slotIndex(fp) else { return }
        let old = shards[s].metas![i]
        shards[s].metas![i] = (old & ~AccessTracking.lruMask) | (access & AccessTracking.lruMask)
    }

    /// Adds an entry (duplicates of a fingerprint are kept: two keys may share one).
    public func insert(_ fp: UInt64, expireAt: Int64, meta: UInt32 = 0) {
        let s = ColdIndex.shardIndex(fp)
        if Double(shards[s].count + 1) > Double(shards[s].capacity) * ColdIndex.maxLoad {
            resize(s, forCount: shards[s].count + 1)
        }
        ColdIndex.place(&shards[s], fp, expireAt, meta)
        count += 1
        if expireAt != 0 { expiresCount += 1 }
    }

    /// Removes one entry with this fingerprint; returns false when there is none.
    @discardableResult
    public func remove(_ fp: UInt64) -> Bool {
        guard let (s, index) = slotIndex(fp) else { return false }
        removeAt(s, index)
        return true
    }

    /// Changes the expiry of the entry with this fingerprint.
    public func setExpiry(_ fp: UInt64, expireAt: Int64) {
        guard let (s, index) = slotIndex(fp) else { return }
        let old = shards[s].expiries![index]
        shards[s].expiries![index] = expireAt
        if old == 0 && expireAt != 0 { expiresCount += 1 } else if old != 0 && expireAt == 0 { expiresCount -= 1 }
    }

    func removeAt(_ s: Int, _ start: Int) {
        let capacity = shards[s].capacity
        let fps = shards[s].fingerprints!, exps = shards[s].expiries!, metas = shards[s].metas!
        if exps[start] != 0 { expiresCount -= 1 }
        // Backward shift: pull the following entries of the run one step closer to home.
        var hole = start
        var next = hole + 1 == capacity ? 0 : hole + 1
        while fps[next] != 0 && ColdIndex.distance(fps[next], next, capacity) > 0 {
            fps[hole] = fps[next]
            exps[hole] = exps[next]
            metas[hole] = metas[next]
            hole = next
            next = next + 1 == capacity ? 0 : next + 1
        }
        fps[hole] = 0
        exps[hole] = 0
        metas[hole] = 0
        shards[s].count -= 1
        count -= 1
        let shard = shards[s]
        if shard.capacity > ColdIndex.smallShard && Double(shard.count) < Double(shard.capacity) * ColdIndex.minLoad {
            resize(s, forCount: shard.count)
        }
    }

    /// Removes every entry.
    public func removeAll() {
        for s in 0..<shards.count { ColdIndex.free(shards[s]) }
        shards = [Shard](repeating: Shard(), count: ColdIndex.shardCount)
        count = 0
        expiresCount = 0
        allocatedBytes = 0
    }

    /// Removes up to `budget` entries whose expiry has passed (`nowMillis`), starting
    /// at `position` (a clock hand over shards and slots); calls `expired` with each removed
    /// fingerprint. Returns the next position (0 after a full round).
    public func sweepExpired(from position: Int, slots budget: Int, nowMillis: Int64,
                             _ expired: (UInt64) -> Void) -> Int {
        guard expiresCount > 0 else { return 0 }
        // Positions are (shard << 32 | slot) + 1, so that 0 only ever means "start over".
        let start = position > 0 ? position - 1 : 0
        var s = start >> 32, index = start & 0xFFFF_FFFF
        var visited = 0
        while visited < budget && s < shards.count {
            let shard = shards[s]
            if index >= shard.capacity || shard.fingerprints == nil {
                s += 1
                index = 0
                continue
            }
            let fp = shard.fingerprints![index]
            let expireAt = shard.expiries![index]
            if fp != 0 && expireAt != 0 && expireAt <= nowMillis {
                removeAt(s, index)
                expired(fp)
                // The shift (or a shrink) may have moved another entry here: look again,
                // unless the shard was rebuilt, which restarts it.
                if shards[s].capacity != shard.capacity { index = 0 }
            } else {
                index += 1
            }
            visited += 1
        }
        return s >= shards.count ? 0 : ((s << 32) | index) + 1
    }

    /// Makes room for about `total` entries at once (start-up knows how many are coming:
    /// growing shard by shard costs dozens of rebuilds each).
    public func reserve(_ total: Int) {
        let perShard = total / ColdIndex.shardCount + total / ColdIndex.shardCount / 16 + 1
        for s in 0..<shards.count where Double(perShard) > Double(shards[s].capacity) * ColdIndex.maxLoad {
            resize(s, forCount: perShard)
        }
    }

    /// Visits every entry: fingerprint, expiry (Unix ms), metadata.
    public func forEachEntry(_ body: (UInt64, Int64, UInt32) -> Void) {
        for shard in shards where shard.count > 0 {
            for index in 0..<shard.capacity where shard.fingerprints![index] != 0 {
                body(shard.fingerprints![index], shard.expiries![index], shard.metas![index])
            }
        }
    }

    /// A fingerprint chosen at random (RANDOMKEY), or nil when empty.
    public func randomFingerprint() -> UInt64? {
        guard count > 0 else { return nil }
        var pick = Int.random(in: 0..<count, using: &FastRandom.shared)
        for shard in shards {
            if pick < shard.count {
                while true {
                    let fp = shard.fingerprints![Int.random(in: 0..<shard.capacity, using: &FastRandom.shared)]
                    if fp != 0 { return fp }
                }
            }
            pick -= shard.count
        }
        return nil
    }

    // MARK: - Storage

    static func place(_ shard: inout Shard, _ fp: UInt64, _ expireAt: Int64, _ meta: UInt32) {
        let capacity = shard.capacity
        let fps = shard.fingerprints!, exps = shard.expiries!, metas = shard.metas!
        var fp = fp, expireAt = expireAt, meta = meta
        var index = home(fp, capacity)
        var distance = 0
        while true {
            let stored = fps[index]
            if stored == 0 {
                fps[index] = fp
                exps[index] = expireAt
                metas[index] = meta
                shard.count += 1
                return
            }
            let storedDistance = ColdIndex.distance(stored, index, capacity)
            if storedDistance < distance {
                // Take the slot from the entry nearer its home, and carry it on.
                let storedExpiry = exps[index], storedMeta = metas[index]
                fps[index] = fp
                exps[index] = expireAt
                metas[index] = meta
                fp = stored
                expireAt = storedExpiry
                meta = storedMeta
                distance = storedDistance
            }
            index += 1
            if index == capacity { index = 0 }
            distance += 1
        }
    }

    func resize(_ s: Int, forCount entries: Int) {
        let old = shards[s]
        var capacity = Int((Double(entries) / ColdIndex.loadAfterResize).rounded(.up))
        capacity = Swift.max(capacity, ColdIndex.smallShard)
        // jemalloc rounds a large block up to its size class (up to 25% more): take the
        // whole class, which costs nothing more.
        capacity = strata_size_class(capacity * MemoryLayout<UInt64>.stride) / MemoryLayout<UInt64>.stride
        var shard = Shard()
        shard.capacity = capacity
        shard.fingerprints = .allocate(capacity: capacity)
        shard.fingerprints!.initialize(repeating: 0, count: capacity)
        shard.expiries = .allocate(capacity: capacity)
        shard.expiries!.initialize(repeating: 0, count: capacity)
        shard.metas = .allocate(capacity: capacity)
        shard.metas!.initialize(repeating: 0, count: capacity)
        if let fps = old.fingerprints, let exps = old.expiries, let metas = old.metas {
            for index in 0..<old.capacity where fps[index] != 0 {
                ColdIndex.place(&shard, fps[index], exps[index], metas[index])
            }
        }
        allocatedBytes += ColdIndex.blockBytes(shard) - ColdIndex.blockBytes(old)
        ColdIndex.free(old)
        shards[s] = shard
    }

    /// What a shard's arrays take from the allocator (their size classes, not the bytes
    /// asked for: counting those, 167 MB reported for 199 MB held, and maxmemory, which
    /// leaves the index out, was filled by the difference).
    static func blockBytes(_ shard: Shard) -> Int {
        guard let fps = shard.fingerprints, let exps = shard.expiries, let metas = shard.metas else { return 0 }
        return strata_usable_size(fps) + strata_usable_size(exps) + strata_usable_size(metas)
    }

    static func free(_ shard: Shard) {
        shard.fingerprints?.deallocate()
        shard.expiries?.deallocate()
        shard.metas?.deallocate()
    }
}

/// The number of cold keys across databases (see `ColdIndex.totals`).
public final class ColdTotals {
    public internal(set) var count = 0
    public init() {}
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CShims
import Dispatch

/// One key's slot in the keyspace table.
public struct KeySlot {
    /// Low 32 bits: the key's hash (0 = empty slot, 1 = deleted slot, real hashes >= 2).
    /// High 32 bits: metadata (`KeyMeta`): LRU clock or LFU counter and flags.
    @usableFromInline var hashAndMeta: UInt64
    /// The key and its value (owned by the slot; nil only in empty and deleted slots).
    public internal(set) var storage: UnsafeMutableRawPointer?
    /// Absolute expiry time in Unix milliseconds; 0 when the key has no expiry.
    public var expireAt: Int64

    @inlinable var hash32: UInt32 { UInt32(truncatingIfNeeded: hashAndMeta) }

    /// The key's place in SCAN order, shared by both tiers (see `ColdKeyFormat.position`).
    public var scanPosition: UInt64 { UInt64(hash32.bitReversed32) << 32 }

    /// The 32 metadata bits (LRU/LFU and flags).
    @inlinable public var meta: UInt32 {
        get { UInt32(truncatingIfNeeded: hashAndMeta >> 32) }
        set { hashAndMeta = (hashAndMeta & 0xFFFF_FFFF) | (UInt64(newValue) << 32) }
    }

    @inlinable public var record: KeyRecord { KeyRecord(base: storage!) }

    /// The key's bytes, valid until the slot changes.
    @inlinable public var keyBytes: UnsafeRawBufferPointer { record.keyBytes }

    /// A copy of the key.
    public var key: [UInt8] { [UInt8](record.keyBytes) }

    /// The value. Reading it copies a string's bytes (`stringBytes` does not) and gives a
    /// large collection's packed equivalent; setting it stores a copy.
    public var value: Value {
        get {
            let record = self.record
            let type = record.valueType
            if type == .string { return .string([UInt8](record.valueBytes)) }
            return .collection(type, record.ownedValue?.packedPayload() ?? [UInt8](record.valueBytes))
        }
        set { newValue.withPayload { setValue($0, $1) } }
    }

    /// Calls `body` with the value's type and its stored payload: a string's bytes, a
    /// collection's packed form (a large collection packed for the call). What the codec
    /// and the log store.
    @inlinable
    public func withStoredPayload<R>(_ body: (ValueType, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let record = self.record
        if let owned = record.ownedValue {
            return try owned.packedPayload().withUnsafeBytes { try body(record.valueType, $0) }
        }
        return try body(record.valueType, record.valueBytes)
    }

    /// The value's type, from the record's header.
    @inlinable public var valueType: ValueType { record.valueType }

    /// The name TYPE reports.
    public var typeName: String { valueType.name }

    /// The type tag the value codec and the cold index store for this value.
    public var typeTag: UInt8 { valueType.rawValue }

    /// What the cold index keeps of this key's metadata when it leaves RAM.
    public var coldMeta: UInt32 { ColdIndex.meta(access: meta, typeTag: typeTag) }

    /// The bytes of the string value, valid until the slot changes; nil for other types.
    @inlinable public var stringBytes: UnsafeRawBufferPointer? {
        let record = self.record
        return record.valueType == .string ? record.valueBytes : nil
    }

    /// Replaces the value with a string holding a copy of `bytes`.
    public mutating func setString(_ bytes: UnsafeRawBufferPointer) { setValue(.string, bytes) }

    /// Replaces the value with one of `type` whose payload is a copy of `bytes`.
    public mutating func setValue(_ type: ValueType, _ bytes: UnsafeRawBufferPointer) {
        if meta & KeyFlags.inBatch != 0 {
            storage = KeyRecord.make(key: record.keyBytes, value: bytes, type: type).base
            leaveBatch()
        } else {
            storage = record.replacingValue(bytes, type: type).base
        }
    }

    /// Grows the string value to at least `count` bytes (zero-filled, with slack for later
    /// growth) and returns a writable view of all of it, valid until the slot changes.
    public mutating func growString(to count: Int) -> UnsafeMutableRawBufferPointer {
        if meta & KeyFlags.inBatch != 0 {
            storage = KeyRecord.make(key: record.keyBytes, value: record.valueBytes, type: record.valueType).base
            leaveBatch()
        }
        let grown = record.growingValue(to: count)
        storage = grown.base
        return grown.mutableValueBytes
    }

    /// The slot got a record of its own while its old one is being written by a demotion
    /// batch: the batch frees the old one, and the key (changed) stays hot.
    private mutating func leaveBatch() {
        meta &= ~(KeyFlags.inBatch | KeyFlags.demoting | KeyFlags.clean)
    }

    /// Frees the record of a removed key, unless a demotion batch shares it (the batch
    /// frees it when it commits).
    public func release() {
        if meta & KeyFlags.inBatch == 0 { record.free() }
    }

    /// `release` for a record whose value a new record has taken over (a large
    /// collection's object moves, not copied).
    public func releaseKeepingValue() {
        if meta & KeyFlags.inBatch == 0 { record.freeKeepingValue() }
    }
}

/// A slot of the table, valid until the next insert or removal in the same keyspace
/// (either can move records while the table is being resized).
public typealias SlotPointer = UnsafeMutablePointer<KeySlot>

/*
 The keyspace of one database: an open-addressing hash table with linear probing that
 resizes incrementally, because Swift's Dictionary rehashes every entry at once (hundreds
 of milliseconds at 10 M keys) and a server must not pause that long.

 - Slots live in zeroed memory (`TableMemory`): a fresh table costs no initialisation
   (the kernel hands out zero pages lazily), and an all-zero slot reads as empty.
 - Deletion leaves a tombstone (hash 1), so a probe run never breaks; tombstones count
   toward the load factor and are cleared by the next resize.
 - Resizing (like Redis's dict) keeps two tables: new keys go into the new one, and every
   insert or removal moves `migrationStepSlots` slots of the old table, plus a time-bounded
   step from the server cron, so no single operation moves more than a few dozen records.
   Lookups check both tables while the move is in progress. The drained old table is freed
   on a background queue (unmapping hundreds of MB takes longer than a command should).
 - SCAN uses Redis's reverse-binary cursor over *home buckets*: in a linear-probing table
   every key with home bucket b lies in the run of non-empty slots that starts at b, so a
   bucket can be emitted by walking that run. The cursor arithmetic is Redis's, so keys
   that exist for the whole scan are returned at least once across resizes.
*/
public final class Keyspace {
    /// Slots moved from the old table per insert or removal while resizing.
    static let migrationStepSlots = 64
    /// Smallest table, in slots.
    static let minimumCapacity = 16

    @usableFromInline
    struct Table {
        var slots: SlotPointer
        var capacity: Int
        var mask: Int
        var used = 0
        var tombstones = 0

        init(capacity: Int) {
            self.capacity = capacity
            self.mask = capacity - 1
            let raw = TableMemory.allocate(bytes: capacity * MemoryLayout<KeySlot>.stride)
            self.slots = raw.bindMemory(to: KeySlot.self, capacity: capacity)
        }

        /// The state of slot `index`: 0 empty, 1 tombstone, else the stored hash.
        @inline(__always)
        func state(_ index: Int) -> UInt32 {
            UInt32(truncatingIfNeeded: (slots + index).pointee.hashAndMeta)
        }

        func find(_ key: UnsafeRawBufferPointer, hash: UInt32) -> SlotPointer? {
            var index = Int(hash) & mask
            while true {
                let slot = slots + index
                let state = UInt32(truncatingIfNeeded: slot.pointee.hashAndMeta)
                if state == 0 { return nil }
                if state == hash && slot.pointee.record.keyEquals(key) { return slot }
                index = (index + 1) & mask
            }
        }

        /// A free slot (empty or tombstone) for a key with this hash.
        mutating func freeSlot(hash: UInt32) -> SlotPointer {
            var index = Int(hash) & mask
            while true {
                let state = self.state(index)
                if state == 0 { return slots + index }
                if state == 1 {
                    tombstones -= 1
                    return slots + index
                }
                index = (index + 1) & mask
            }
        }
    }

    @usableFromInline var table: Table
    /// The table being drained into `table` while a resize is in progress.
    @usableFromInline var draining: Table?
    /// Next slot of `draining` to move.
    var drainIndex = 0

    /// Number of keys.
    public private(set) var count = 0

    public init() {
        table = Table(capacity: Keyspace.minimumCapacity)
    }

    deinit {
        Keyspace.destroy(table)
        if let draining { Keyspace.destroy(draining) }
    }

    /// True while a resize is in progress.
    public var isResizing: Bool { draining != nil }

    /// Slots allocated in all tables (for memory reporting).
    public var slotCapacity: Int { table.capacity + (draining?.capacity ?? 0) }

    /// The 32 bits of a key's hash that place it in the table (and in SCAN order).
    @inline(__always)
    public static func hash32(_ hash: UInt64) -> UInt32 {
        let h = UInt32(truncatingIfNeeded: hash >> 32)
        return h < 2 ? h &+ 2 : h
    }

    // MARK: - Lookup

    /// The slot holding `key`, or nil. Does not look at expiry.
    public func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> SlotPointer? {
        let h = Keyspace.hash32(hash)
        if let draining, let slot = draining.find(key, hash: h) { return slot }
        return table.find(key, hash: h)
    }

    public func find(_ key: UnsafeRawBufferPointer) -> SlotPointer? {
        find(key, hash: KeyHash.hash(key))
    }

    // MARK: - Prefetching

    /*
     A lookup costs two cache (and TLB) misses in a row: the slot, then the record with the
     key to compare and the value. A connection's pipelined commands are known before they
     run, so their lookups can overlap instead (Connection.prefetchKeys): first every
     home slot is requested, then, once those have arrived, the records of the matching
     slots. Prefetches never fault and change nothing.
    */

    /// Starts loading the home slot of a key with this hash (main table only; during a
    /// resize some keys are still in the old one, and those go unhelped).
    @inline(__always)
    public func prefetchSlot(hash: UInt64) {
        let h = Keyspace.hash32(hash)
        strata_prefetch(UnsafeRawPointer(table.slots + (Int(h) & table.mask)))
    }

    /// Starts loading the record of the slot whose hash matches (the slot itself should be
    /// in cache by now, from `prefetchSlot`): its first two cache lines, which hold the key
    /// and the start of the value.
    public func prefetchRecord(hash: UInt64) {
        let h = Keyspace.hash32(hash)
        var index = Int(h) & table.mask
        // A bounded probe: this is a hint, not a lookup.
        for _ in 0..<4 {
            let slot = table.slots + index
            let state = UInt32(truncatingIfNeeded: slot.pointee.hashAndMeta)
            if state == 0 { return }
            if state == h {
                if let record = slot.pointee.storage {
                    strata_prefetch(UnsafeRawPointer(record))
                    strata_prefetch(UnsafeRawPointer(record + 64))
                }
                return
            }
            index = (index + 1) & table.mask
        }
    }

    // MARK: - Insert and remove

    /// Inserts a key that is known to be absent and returns its slot.
    @discardableResult
    public func insert(key: UnsafeRawBufferPointer, hash: UInt64, value: UnsafeRawBufferPointer, expireAt: Int64 = 0,
                       meta: UInt32 = 0) -> SlotPointer {
        insert(KeyRecord.make(key: key, value: value), hash: hash, expireAt: expireAt, meta: meta)
    }

    @discardableResult
    public func insert(key: [UInt8], hash: UInt64, value: Value, expireAt: Int64 = 0, meta: UInt32 = 0) -> SlotPointer {
        insert(KeyRecord.make(key: key, value: value), hash: hash, expireAt: expireAt, meta: meta)
    }

    /// Inserts a record (new, or from `take`) whose key is known to be absent; the keyspace
    /// owns it from now on.
    @discardableResult
    public func insert(_ record: KeyRecord, hash: UInt64, expireAt: Int64, meta: UInt32) -> SlotPointer {
        if draining != nil { migrate(slots: Keyspace.migrationStepSlots) }
        if (table.used + table.tombstones + 1) * 4 > table.capacity * 3 { startResize(forAdding: 1) }
        let h = Keyspace.hash32(hash)
        let slot = table.freeSlot(hash: h)
        slot.initialize(to: KeySlot(hashAndMeta: UInt64(h) | (UInt64(meta) << 32), storage: record.base,
                                    expireAt: expireAt))
        table.used += 1
        count += 1
        return slot
    }

    /// Removes the key at `slot` (from `find`) and frees its record.
    public func remove(_ slot: SlotPointer) {
        take(slot).release()
    }

    /// Removes the key at `slot` and returns its slot contents: the caller owns the record
    /// and must `release` it or insert it again.
    public func take(_ slot: SlotPointer) -> KeySlot {
        let record = slot.move()
        slot.pointee.hashAndMeta = 1  // tombstone (a plain store: the slot is uninitialised)
        slot.pointee.storage = nil
        if let draining, draining.contains(slot) {
            self.draining!.used -= 1
            self.draining!.tombstones += 1
        } else {
            table.used -= 1
            table.tombstones += 1
        }
        count -= 1
        if draining != nil {
            migrate(slots: Keyspace.migrationStepSlots)
        } else if table.capacity > Keyspace.minimumCapacity && table.used * 16 < table.capacity {
            startResize(forAdding: 0)
        }
        return record
    }

    /// Removes every key. Returns the old tables' records to the caller's disposal closure
    /// (FLUSHALL ASYNC frees them on another thread).
    public func removeAll(freeInBackground: Bool) {
        let old = table
        let oldDraining = draining
        table = Table(capacity: Keyspace.minimumCapacity)
        draining = nil
        drainIndex = 0
        count = 0
        if freeInBackground {
            let box = TablesBox(tables: [old] + (oldDraining.map { [$0] } ?? []))
            // Counted as releasing until freed (a write over maxmemory waits for it).
            strata_releasing_objects_add(1)
            DispatchQueue.global(qos: .utility).async {
                for t in box.tables { Keyspace.destroy(t) }
                strata_flush_thread_cache()
                strata_releasing_objects_add(-1)
            }
        } else {
            Keyspace.destroy(old)
            if let oldDraining { Keyspace.destroy(oldDraining) }
        }
    }

    final class TablesBox: @unchecked Sendable {
        let tables: [Table]
        init(tables: [Table]) { self.tables = tables }
    }

    static func destroy(_ table: Table) {
        if table.used > 0 {
            for index in 0..<table.capacity where table.state(index) >= 2 {
                (table.slots + index).pointee.release()
            }
        }
        TableMemory.release(UnsafeMutableRawPointer(table.slots), bytes: table.byteCount)
    }

    // MARK: - Incremental resize

    private func startResize(forAdding extra: Int) {
        if draining != nil { migrate(slots: Int.max) }  // finish the previous resize first
        let needed = Swift.max(table.used + extra, 1)
        var capacity = Keyspace.minimumCapacity
        // At most half full after a resize: growth doubles (the trigger is 3/4), and a table
        // full of tombstones is rebuilt at the same size.
        while needed * 2 > capacity { capacity *= 2 }
        draining = table
        drainIndex = 0
        table = Table(capacity: capacity)
    }

    /// Moves up to `slots` slots of the draining table. Returns true when none is left.
    @discardableResult
    public func migrate(slots budget: Int) -> Bool {
        guard var old = draining else { return true }
        var visited = 0
        while drainIndex < old.capacity && visited < budget {
            let slot = old.slots + drainIndex
            if old.state(drainIndex) >= 2 {
                let record = slot.move()
                slot.pointee.hashAndMeta = 1
                slot.pointee.storage = nil
                old.used -= 1
                old.tombstones += 1
                let target = table.freeSlot(hash: record.hash32)
                target.initialize(to: record)
                table.used += 1
            }
            drainIndex += 1
            visited += 1
            if old.used == 0 { drainIndex = old.capacity }
        }
        if drainIndex >= old.capacity {
            draining = nil
            drainIndex = 0
            // Nothing is left to deinitialise.
            TableMemory.release(UnsafeMutableRawPointer(old.slots), bytes: old.byteCount)
            return true
        }
        draining = old
        return false
    }

    // MARK: - Iteration

    /// Calls `body` for every record (both tables). `body` must not insert or remove.
    public func forEach(_ body: (SlotPointer) -> Void) {
        if let draining { Keyspace.forEach(in: draining, body) }
        Keyspace.forEach(in: table, body)
    }

    static func forEach(in table: Table, _ body: (SlotPointer) -> Void) {
        var remaining = table.used
        var index = 0
        while remaining > 0 && index < table.capacity {
            if table.state(index) >= 2 {
                body(table.slots + index)
                remaining -= 1
            }
            index += 1
        }
    }

    /// Visits up to `budget` slot positions from `position` over both tables (the draining
    /// one first); returns where to go on, or nil once every record was visited. Calls that
    /// follow each other see every record exactly once only while nothing is inserted or
    /// removed in between (a sliced demotion checks that the key did not change).
    public func walk(from position: Int, slots budget: Int, _ body: (SlotPointer) -> Void) -> Int? {
        let first = draining?.capacity ?? 0
        var index = position
        var visited = 0
        while visited < budget {
            if index >= first + table.capacity { return nil }
            let (part, at) = index < first ? (draining!, index) : (table, index - first)
            if part.state(at) >= 2 { body(part.slots + at) }
            index += 1
            visited += 1
        }
        return index < first + table.capacity ? index : nil
    }

    /// A uniformly chosen slot (nil when empty). Used by RANDOMKEY and eviction sampling.
    public func randomSlot() -> SlotPointer? {
        guard count > 0 else { return nil }
        // From a random slot, the next occupied one (as Redis's dictGetSomeKeys walks on
        // from a random bucket): a sparse table costs a short sequential walk, not many
        // random probes. Records after long empty runs are a little more likely; eviction
        // sampling and RANDOMKEY do not need better.
        if let draining, draining.used > 0, Int.random(in: 0..<count, using: &FastRandom.shared) < draining.used {
            // Only the slots from `drainIndex` on still hold records: the moved part is a
            // run of tombstones as long as the migration has gone (walking it made eviction
            // sampling take 90% of the execution thread during a load).
            var index = Int.random(in: drainIndex..<draining.capacity, using: &FastRandom.shared)
            while draining.state(index) < 2 {
                index += 1
                if index == draining.capacity { index = drainIndex }
            }
            return draining.slots + index
        }
        guard table.used > 0 else { return nil }
        var index = Int.random(in: 0..<table.capacity, using: &FastRandom.shared)
        while table.state(index) < 2 { index = (index + 1) & table.mask }
        return table.slots + index
    }

    /// Calls `body` for about `count` records taken in runs: from a random slot, up to
    /// `run` consecutive records (Redis's dictGetSomeKeys samples the same way). A run costs
    /// one cache and TLB miss where `count` random slots cost `count`, and records sit in
    /// the table in hash order, so a run is as random a sample as scattered slots. A record
    /// may come twice. `body` must not insert or remove.
    public func sampleSlots(count: Int, run: Int = 16, _ body: (SlotPointer) -> Void) {
        guard self.count > 0 else { return }
        var emitted = 0
        while emitted < count {
            guard let first = randomSlot() else { return }
            body(first)
            emitted += 1
            // Walk on within the table that holds `first` (the draining table only from
            // `drainIndex`, as in randomSlot).
            let inDraining = draining.map { $0.contains(first) } ?? false
            let pick = inDraining ? draining! : table
            let lower = inDraining ? drainIndex : 0
            var index = first - pick.slots
            var inRun = 1
            var visited = 0
            while inRun < run && emitted < count && visited < run * 4 {
                index += 1
                visited += 1
                if index == pick.capacity { index = lower }
                if pick.state(index) >= 2 {
                    body(pick.slots + index)
                    inRun += 1
                    emitted += 1
                }
            }
        }
    }

    /// Visits slots starting at `position` (a clock hand over the main table, for active
    /// expiry and similar background sweeps); returns the next position (0 after a wrap).
    public func sweep(from position: Int, slots budget: Int, _ body: (SlotPointer) -> Void) -> Int {
        var index = position < table.capacity ? position : 0
        var visited = 0
        while visited < budget {
            if table.state(index) >= 2 { body(table.slots + index) }
            index += 1
            visited += 1
            if index >= table.capacity { return 0 }
        }
        return index
    }

    /// One SCAN step: emits the keys of the bucket(s) under `cursor` and returns the next
    /// cursor (0 when the iteration is complete). `body` must not insert or remove.
    public func scan(cursor: UInt64, _ body: (SlotPointer) -> Void) -> UInt64 {
        guard let draining else {
            return ScanCursor.step(cursor, smallMask: table.mask, largeMask: nil) { _, bucket in
                Keyspace.emitBucket(table, bucket, body)
            }
        }
        let (small, large) = draining.capacity <= table.capacity ? (draining, table) : (table, draining)
        return ScanCursor.step(cursor, smallMask: small.mask, largeMask: large.mask) { inLarge, bucket in
            Keyspace.emitBucket(inLarge ? large : small, bucket, body)
        }
    }

    /// Emits every record whose home bucket is `bucket`: they all sit in the run of
    /// non-empty slots starting there.
    static func emitBucket(_ table: Table, _ bucket: Int, _ body: (SlotPointer) -> Void) {
        var index = bucket
        var steps = 0
        while steps < table.capacity {
            let state = table.state(index)
            if state == 0 { return }
            if state >= 2 && Int(state) & table.mask == bucket { body(table.slots + index) }
            index = (index + 1) & table.mask
            steps += 1
        }
    }
}

extension Keyspace.Table {
    var byteCount: Int { capacity * MemoryLayout<KeySlot>.stride }

    func contains(_ slot: SlotPointer) -> Bool {
        slot >= slots && slot < slots + capacity
    }
}

extension UInt32 {
    /// The bits in reverse order.
    @inline(__always)
    public var bitReversed32: UInt32 { UInt32(truncatingIfNeeded: UInt64(self).bitReversed >> 32) }
}

extension UInt64 {
    /// The bits in reverse order (SCAN cursors count in reverse binary).
    @inline(__always)
    public var bitReversed: UInt64 {
        var v = self
        v = ((v >> 1) & 0x5555555555555555) | ((v & 0x5555555555555555) << 1)
        v = ((v >> 2) & 0x3333333333333333) | ((v & 0x3333333333333333) << 2)
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0F) | ((v & 0x0F0F0F0F0F0F0F0F) << 4)
        return v.byteSwapped
    }
}

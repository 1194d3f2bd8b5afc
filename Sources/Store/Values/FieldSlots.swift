import CShims

/*
 The hash table of a large hash or set: open addressing with linear probing over 8-byte
 slots, each the pointer to a `FieldEntry` with 16 bits of the field's hash in its top
 bits (user-space pointers use 48), 0 for an empty slot and 1 for a tombstone.

 It is the keyspace's table (`Keyspace`) made small: the keyspace's 24-byte slots carry an
 expiry and access metadata a field never has, and at a million fields those slots and a
 keyspace record per field took 82 bytes per field of a hash and 82 per member of a set,
 against redis-server's 72 and 56. The behaviour that matters is the keyspace's:

 - resizing keeps two tables and moves `migrationStepSlots` slots per insert or removal
   (no pause at a million fields); lookups check both;
 - a field's home bucket comes from the 32 bits of hash kept in its entry, so moving it
   to the new table and SCAN's bucket test cost no hashing;
 - HSCAN and SSCAN use Redis's reverse-binary cursor over home buckets (`ScanCursor`), with
   SCAN's guarantee across resizes;
 - HRANDFIELD and SPOP draw with `randomEntry` as RANDOMKEY does.

 The 16 bits of hash in the slot let a probe skip other fields without reading them.
*/
struct FieldSlots: ~Copyable {
    /// Slots moved from the old table per insert or removal while resizing.
    static let migrationStepSlots = 64
    /// Smallest table, in slots.
    static let minimumCapacity = 16
    static let pointerMask: UInt64 = (1 << 48) - 1

    typealias Slot = UnsafeMutablePointer<UInt64>

    struct Part {
        var slots: Slot
        var capacity: Int
        var mask: Int
        var used = 0
        var tombstones = 0

        init(capacity: Int) {
            self.capacity = capacity
            mask = capacity - 1
            slots = TableMemory.allocate(bytes: capacity * 8).bindMemory(to: UInt64.self, capacity: capacity)
        }

        func contains(_ slot: Slot) -> Bool { slot >= slots && slot < slots + capacity }

        func find(_ field: UnsafeRawBufferPointer, hash32: UInt32, tag: UInt64) -> Slot? {
            var index = Int(hash32) & mask
            while true {
                let word = slots[index]
                if word == 0 { return nil }
                if word > 1 && word & ~FieldSlots.pointerMask == tag && FieldSlots.entry(word).fieldEquals(field) {
                    return slots + index
                }
                index = (index + 1) & mask
            }
        }

        /// A free slot (empty or tombstone) for a field with this hash.
        mutating func freeSlot(hash32: UInt32) -> Slot {
            var index = Int(hash32) & mask
            while true {
                let word = slots[index]
                if word == 0 { return slots + index }
                if word == 1 {
                    tombstones -= 1
                    return slots + index
                }
                index = (index + 1) & mask
            }
        }

        /// Emits every entry whose home bucket is `bucket`: they all sit in the run of
        /// non-empty slots starting there.
        func emitBucket(_ bucket: Int, _ body: (FieldEntry) -> Void) {
            var index = bucket
            for _ in 0..<capacity {
                let word = slots[index]
                if word == 0 { return }
                if word > 1 {
                    let entry = FieldSlots.entry(word)
                    if Int(entry.hash32) & mask == bucket { body(entry) }
                }
                index = (index + 1) & mask
            }
        }

        /// Frees the entries left and the slots.
        func destroy() {
            var remaining = used
            var index = 0
            while remaining > 0 {
                let word = slots[index]
                if word > 1 {
                    FieldSlots.entry(word).free()
                    remaining -= 1
                }
                index += 1
            }
            TableMemory.release(UnsafeMutableRawPointer(slots), bytes: capacity * 8)
        }
    }

    var table = Part(capacity: FieldSlots.minimumCapacity)
    /// The table being drained into `table` while a resize is in progress.
    var draining: Part?
    /// Next slot of `draining` to move.
    var drainIndex = 0
    /// Fields stored.
    private(set) var count = 0

    init() {}

    deinit {
        table.destroy()
        draining?.destroy()
    }

    /// Slots allocated in both tables (memory accounting).
    var slotCapacity: Int { table.capacity + (draining?.capacity ?? 0) }

    @inline(__always)
    static func entry(_ word: UInt64) -> FieldEntry {
        FieldEntry(base: UnsafeMutableRawPointer(bitPattern: UInt(word & pointerMask))!)
    }

    /// The slot's 16 bits of hash: bits of the 64-bit hash that `Keyspace.hash32` (the
    /// home bucket) does not use.
    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt64 { hash << 48 }

    @inline(__always)
    static func word(_ entry: FieldEntry, tag: UInt64) -> UInt64 {
        let bits = UInt64(UInt(bitPattern: entry.base))
        precondition(bits & ~pointerMask == 0, "pointer beyond 48 bits")
        return bits | tag
    }

    // MARK: - Lookup and change

    /// The slot holding `field`, or nil.
    func find(_ field: UnsafeRawBufferPointer, hash: UInt64) -> Slot? {
        let hash32 = Keyspace.hash32(hash), tag = FieldSlots.tag(hash)
        if let draining, let slot = draining.find(field, hash32: hash32, tag: tag) { return slot }
        return table.find(field, hash32: hash32, tag: tag)
    }

    /// Inserts an entry (made with `Keyspace.hash32(hash)`) whose field is absent.
    mutating func insert(_ entry: FieldEntry, hash: UInt64) {
        if draining != nil { migrate(slots: FieldSlots.migrationStepSlots) }
        if (table.used + table.tombstones + 1) * 4 > table.capacity * 3 { startResize(forAdding: 1) }
        table.freeSlot(hash32: entry.hash32).pointee = FieldSlots.word(entry, tag: FieldSlots.tag(hash))
        table.used += 1
        count += 1
    }

    /// Points `slot` (from `find`) at `entry`, which replaced its entry for the same field.
    func replace(_ slot: Slot, with entry: FieldEntry) {
        slot.pointee = FieldSlots.word(entry, tag: slot.pointee & ~FieldSlots.pointerMask)
    }

    /// Removes the field at `slot` (from `find`) and returns its entry, which the caller
    /// frees.
    mutating func remove(_ slot: Slot) -> FieldEntry {
        let entry = FieldSlots.entry(slot.pointee)
        slot.pointee = 1
        if let draining, draining.contains(slot) {
            self.draining!.used -= 1
            self.draining!.tombstones += 1
        } else {
            table.used -= 1
            table.tombstones += 1
        }
        count -= 1
        if draining != nil {
            migrate(slots: FieldSlots.migrationStepSlots)
        } else if table.capacity > FieldSlots.minimumCapacity && table.used * 16 < table.capacity {
            startResize(forAdding: 0)
        }
        return entry
    }

    // MARK: - Prefetching

    /// Starts loading the home slot of a field with this hash (main table only, as
    /// `Keyspace.prefetchSlot`).
    @inline(__always)
    func prefetchSlot(hash: UInt64) {
        strata_prefetch(UnsafeRawPointer(table.slots + (Int(Keyspace.hash32(hash)) & table.mask)))
    }

    /// Starts loading the entry whose slot's bits of hash match (the slot should be in
    /// cache by now, from `prefetchSlot`). A bounded probe: a hint, not a lookup.
    func prefetchEntry(hash: UInt64) {
        let tag = FieldSlots.tag(hash)
        var index = Int(Keyspace.hash32(hash)) & table.mask
        for _ in 0..<4 {
            let word = table.slots[index]
            if word == 0 { return }
            if word > 1 && word & ~FieldSlots.pointerMask == tag {
                return strata_prefetch(UnsafeRawPointer(FieldSlots.entry(word).base))
            }
            index = (index + 1) & table.mask
        }
    }

    // MARK: - Incremental resize

    private mutating func startResize(forAdding extra: Int) {
        if draining != nil { migrate(slots: Int.max) }  // finish the previous resize first
        let needed = Swift.max(table.used + extra, 1)
        var capacity = FieldSlots.minimumCapacity
        // At most half full after a resize, as the keyspace's.
        while needed * 2 > capacity { capacity *= 2 }
        draining = table
        drainIndex = 0
        table = Part(capacity: capacity)
    }

    /// Moves up to `budget` slots of the draining table.
    private mutating func migrate(slots budget: Int) {
        guard var old = draining else { return }
        var visited = 0
        while drainIndex < old.capacity && visited < budget {
            let word = old.slots[drainIndex]
            if word > 1 {
                old.slots[drainIndex] = 1
                old.used -= 1
                old.tombstones += 1
                table.freeSlot(hash32: FieldSlots.entry(word).hash32).pointee = word
                table.used += 1
            }
            drainIndex += 1
            visited += 1
            if old.used == 0 { drainIndex = old.capacity }
        }
        if drainIndex >= old.capacity {
            draining = nil
            drainIndex = 0
            TableMemory.release(UnsafeMutableRawPointer(old.slots), bytes: old.capacity * 8)
            return
        }
        draining = old
    }

    // MARK: - Iteration

    /// Calls `body` with every entry. `body` must not change the table.
    func forEach(_ body: (FieldEntry) -> Void) {
        _ = walk(from: 0, slots: Int.max, body)
    }

    /// Visits up to `budget` slot positions from `position` over both tables (the draining
    /// one first); returns where to go on, or nil once every entry was visited. Calls that
    /// follow each other see every entry exactly once while the table does not change.
    func walk(from position: Int, slots budget: Int, _ body: (FieldEntry) -> Void) -> Int? {
        let first = draining?.capacity ?? 0
        let end = first + table.capacity
        var index = position
        var visited = 0
        while visited < budget {
            if index >= end { return nil }
            let word = index < first ? draining!.slots[index] : table.slots[index - first]
            if word > 1 { body(FieldSlots.entry(word)) }
            index += 1
            visited += 1
        }
        return index < end ? index : nil
    }

    /// A uniformly chosen entry (nil when empty): from a random slot, the next occupied one,
    /// as `Keyspace.randomSlot`.
    func randomEntry() -> FieldEntry? {
        guard count > 0 else { return nil }
        if let draining, draining.used > 0, Int.random(in: 0..<count, using: &FastRandom.shared) < draining.used {
            // Only the slots from `drainIndex` on still hold entries.
            var index = Int.random(in: drainIndex..<draining.capacity, using: &FastRandom.shared)
            while draining.slots[index] <= 1 {
                index += 1
                if index == draining.capacity { index = drainIndex }
            }
            return FieldSlots.entry(draining.slots[index])
        }
        guard table.used > 0 else { return nil }
        var index = Int.random(in: 0..<table.capacity, using: &FastRandom.shared)
        while table.slots[index] <= 1 { index = (index + 1) & table.mask }
        return FieldSlots.entry(table.slots[index])
    }

    /// One HSCAN or SSCAN step: emits the entries of the bucket(s) under `cursor` and
    /// returns the next cursor (0 when the iteration is complete). `body` must not change
    /// the table.
    func scan(cursor: UInt64, _ body: (FieldEntry) -> Void) -> UInt64 {
        let main = table
        guard let draining else {
            return ScanCursor.step(cursor, smallMask: main.mask, largeMask: nil) { _, bucket in
                main.emitBucket(bucket, body)
            }
        }
        let (small, large) = draining.capacity <= main.capacity ? (draining, main) : (main, draining)
        return ScanCursor.step(cursor, smallMask: small.mask, largeMask: large.mask) { inLarge, bucket in
            (inLarge ? large : small).emitBucket(bucket, body)
        }
    }
}

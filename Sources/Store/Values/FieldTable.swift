import CShims

/*
 The large form of a hash (its fields and values) or a set (its members, with empty
 values): a `FieldSlots` table of `FieldEntry` blocks, one per field.
*/
public final class FieldTable: OwnedCollection {
    var slots = FieldSlots()
    /// `.hash` or `.set`: what `packedPayload` writes.
    public let type: ValueType
    private var entryBytes = 0
    /// Counts the changes (a sliced demotion packs the table only while it does not change).
    public private(set) var version: UInt64 = 0

    public init(type: ValueType) { self.type = type }

    override public var count: Int { slots.count }
    override public var heapBytes: Int { entryBytes + slots.slotCapacity * 8 + 128 }
    /// Slots allocated (both tables during a resize).
    public var slotCapacity: Int { slots.slotCapacity }

    /// The value stored under `field` (valid until the table changes), or nil.
    @inline(__always)
    public func value(_ field: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let slot = slots.find(field, hash: KeyHash.hash(field)) else { return nil }
        return FieldSlots.entry(slot.pointee).value
    }

    public func contains(_ field: UnsafeRawBufferPointer) -> Bool {
        slots.find(field, hash: KeyHash.hash(field)) != nil
    }

    /// Stores `value` under `field`; true when the field is new.
    @discardableResult
    public func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let hash = KeyHash.hash(field)
        version &+= 1
        if let slot = slots.find(field, hash: hash) {
            let entry = FieldSlots.entry(slot.pointee)
            entryBytes -= FieldEntry.allocatedSize(field: field.count, value: entry.value.count)
            slots.replace(slot, with: entry.replacingValue(value))
            entryBytes += FieldEntry.allocatedSize(field: field.count, value: value.count)
            return false
        }
        add(field, value, hash: hash)
        return true
    }

    /// Adds `field` with `value` unless it is there (a set's SADD); true when it was added.
    @discardableResult
    public func insert(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let hash = KeyHash.hash(field)
        if slots.find(field, hash: hash) != nil { return false }
        version &+= 1
        add(field, value, hash: hash)
        return true
    }

    /// Adds a field known to be absent.
    private func add(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, hash: UInt64) {
        slots.insert(FieldEntry.make(field: field, value: value, hash32: Keyspace.hash32(hash)), hash: hash)
        entryBytes += FieldEntry.allocatedSize(field: field.count, value: value.count)
    }

    /// Removes `field`; true when it was there.
    @discardableResult
    public func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        guard let slot = slots.find(field, hash: KeyHash.hash(field)) else { return false }
        version &+= 1
        let entry = slots.remove(slot)
        entryBytes -= FieldEntry.allocatedSize(field: field.count, value: entry.value.count)
        entry.free()
        return true
    }

    /// Starts loading the slot of a field with this hash (`KeyHash.hash` of the field), for
    /// pipelined commands (`FieldSlots.prefetchSlot`).
    public func prefetchSlot(hash: UInt64) { slots.prefetchSlot(hash: hash) }

    /// Starts loading the entry of a field with this hash, once its slot is loaded.
    public func prefetchEntry(hash: UInt64) { slots.prefetchEntry(hash: hash) }

    /// Calls `body` with every field and its value. `body` must not change the table.
    public func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        slots.forEach { body($0.field, $0.value) }
    }

    /// A uniformly chosen field and its value (the table is not empty).
    public func randomEntry() -> (field: [UInt8], value: [UInt8]) {
        withRandomEntry { ([UInt8]($0), [UInt8]($1)) }
    }

    /// Calls `body` with a uniformly chosen field and its value (the table is not empty).
    public func withRandomEntry<R>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        let entry = slots.randomEntry()!
        return body(entry.field, entry.value)
    }

    /// One HSCAN or SSCAN step from `cursor` (`FieldSlots.scan`): calls `body` with the
    /// fields (and values) of the bucket(s) under it and returns the next cursor.
    public func scan(cursor: UInt64, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> UInt64 {
        slots.scan(cursor: cursor) { body($0.field, $0.value) }
    }

    override public func packedPayload() -> [UInt8] {
        var packing = Packing()
        while pack(&packing, slots: Int.max) {}
        return packing.payload
    }

    /// The packed payload being built a slice at a time (a sliced demotion).
    public struct Packing {
        public var payload: [UInt8] = [PackedForm.listpack.rawValue] + Listpack.empty()
        var entries = 0
        var position = 0
        public init() {}
    }

    /// Adds the entries of up to `slots` table positions to `packing`; returns true while
    /// some are left, false once the payload is complete. The table must not change
    /// between the calls.
    public func pack(_ packing: inout Packing, slots: Int) -> Bool {
        // Room for it all at once: growing by doubling copied up to 64 MB in one slice
        // (40 ms of a 100 MB hash's demotion). Packed, the entries take less than the table.
        if packing.position == 0 { packing.payload.reserveCapacity(heapBytes) }
        let next = self.slots.walk(from: packing.position, slots: slots) { entry in
            Listpack.appendEntry(entry.field, to: &packing.payload)
            packing.entries += 1
            if type == .hash {
                Listpack.appendEntry(entry.value, to: &packing.payload)
                packing.entries += 1
            }
        }
        guard let next else {
            let n = UInt32(packing.entries).littleEndian
            packing.payload.withUnsafeMutableBytes { $0.storeBytes(of: n, toByteOffset: 1, as: UInt32.self) }
            return false
        }
        packing.position = next
        return true
    }

    override public func copy() -> OwnedCollection {
        let other = FieldTable(type: type)
        forEach { field, value in other.set(field, value) }
        return other
    }
}

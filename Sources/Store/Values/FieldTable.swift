import CShims

/*
 The large form of a hash (its fields and values) or a set (its members, with empty
 values). It is a `Keyspace`: the table the keys themselves live in, which resizes a few
 slots at a time (no pause at a million fields), samples uniformly for HRANDFIELD and
 SPOP, and walks with Redis's reverse-binary cursor, so HSCAN and SSCAN keep SCAN's
 guarantee across resizes. One table, written and tested once, for keys and fields.
*/
public final class FieldTable: OwnedCollection {
    public let table = Keyspace()
    /// `.hash` or `.set`: what `packedPayload` writes.
    public let type: ValueType
    private var recordBytes = 0
    /// Counts the changes (a sliced demotion packs the table only while it does not change).
    public private(set) var version: UInt64 = 0

    public init(type: ValueType) { self.type = type }

    override public var count: Int { table.count }
    override public var heapBytes: Int {
        recordBytes + table.slotCapacity * MemoryLayout<KeySlot>.stride + 128
    }

    @inline(__always)
    static func recordSize(_ field: Int, _ value: Int) -> Int {
        strata_size_class(KeyRecord.headerBytes + field + value)
    }

    /// The value stored under `field` (valid until the table changes), or nil.
    @inline(__always)
    public func value(_ field: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        table.find(field)?.pointee.record.valueBytes
    }

    public func contains(_ field: UnsafeRawBufferPointer) -> Bool { table.find(field) != nil }

    /// Stores `value` under `field`; true when the field is new.
    @discardableResult
    public func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let hash = KeyHash.hash(field)
        version &+= 1
        if let slot = table.find(field, hash: hash) {
            recordBytes -= FieldTable.recordSize(field.count, slot.pointee.record.valueCount)
            slot.pointee.setString(value)
            recordBytes += FieldTable.recordSize(field.count, value.count)
            return false
        }
        table.insert(key: field, hash: hash, value: value)
        recordBytes += FieldTable.recordSize(field.count, value.count)
        return true
    }

    /// Removes `field`; true when it was there.
    @discardableResult
    public func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        guard let slot = table.find(field) else { return false }
        version &+= 1
        recordBytes -= FieldTable.recordSize(field.count, slot.pointee.record.valueCount)
        table.remove(slot)
        return true
    }

    /// Calls `body` with every field and its value. `body` must not change the table.
    public func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        table.forEach { slot in
            let record = slot.pointee.record
            body(record.keyBytes, record.valueBytes)
        }
    }

    /// A uniformly chosen field and its value (the table is not empty).
    public func randomEntry() -> (field: [UInt8], value: [UInt8]) {
        let record = table.randomSlot()!.pointee.record
        return ([UInt8](record.keyBytes), [UInt8](record.valueBytes))
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
        // (40 ms of a 100 MB hash's demotion). The entries take less than their records.
        if packing.position == 0 { packing.payload.reserveCapacity(heapBytes) }
        let next = table.walk(from: packing.position, slots: slots) { slot in
            let record = slot.pointee.record
            Listpack.appendEntry(record.keyBytes, to: &packing.payload)
            packing.entries += 1
            if type == .hash {
                Listpack.appendEntry(record.valueBytes, to: &packing.payload)
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

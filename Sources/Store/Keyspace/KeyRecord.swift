#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CShims

/*
 A hot key's name and value in one allocation:

     [value length: 7 bytes][type: 1 byte][key length: UInt32][key bytes][value bytes]

 (the first 8 bytes are one little-endian UInt64: the length in the low 56 bits, the
 `ValueType` in the top byte).

 Swift arrays cost a 32-byte header each, so a key and a string value as two arrays took
 two allocations and 64 bytes of headers (275 bytes of RAM per 100-byte key at 1 M keys,
 where Redis, which packs small strings with their object, takes 184). One block with a
 12-byte header costs one allocation, and a lookup that compares the key has the value's
 first bytes in the same cache lines.

 The record is plain memory, owned by the slot that points to it: `Keyspace` frees it when
 the key is removed (or hands it over with `take`), and the table can move slots with a
 plain copy. The one exception: while a demotion batch writes the record to RocksDB, the
 slot shares it with the batch (`KeyFlags.inBatch`, see DemotionBatch). A collection keeps
 its type in the header and, when small, its packed bytes in the value part; a large one's
 value part points to the object the record owns (`OwnedValue`, DESIGN.md "Values"),
 which `free` releases. A record with an owned value is never shared with a batch.
*/
public struct KeyRecord {
    public let base: UnsafeMutableRawPointer

    @usableFromInline static let valueCountOffset = 0
    /// The type's byte: the top byte of the little-endian length word.
    @usableFromInline static let typeOffset = 7
    @usableFromInline static let countMask: UInt64 = (1 << 56) - 1
    @usableFromInline static let keyCountOffset = 8
    @usableFromInline static let headerBytes = 12

    @inlinable init(base: UnsafeMutableRawPointer) { self.base = base }

    /// A new record holding copies of `key` and `value`.
    public static func make(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                            type: ValueType = .string) -> KeyRecord {
        let record = allocate(key: key, valueCount: value.count, zeroed: false, type: type)
        if value.count > 0 {
            (record.base + headerBytes + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
        return record
    }

    /// A new record holding a copy of `key` and `count` zero bytes as its value (calloc:
    /// a large block comes from fresh zero pages, untouched until written).
    public static func make(key: UnsafeRawBufferPointer, zeroedValueCount count: Int) -> KeyRecord {
        allocate(key: key, valueCount: count, zeroed: true, type: .string)
    }

    /// A block with the header and the key written; the value's bytes are the caller's.
    private static func allocate(key: UnsafeRawBufferPointer, valueCount: Int, zeroed: Bool,
                                 type: ValueType) -> KeyRecord {
        // A key this long would need a query buffer of more than 4 GB.
        precondition(key.count <= Int(UInt32.max), "key longer than 4 GB")
        let size = headerBytes + key.count + valueCount
        let base = (zeroed ? calloc(1, size) : malloc(size))!
        storeCount(valueCount, type: type, at: base)
        base.storeBytes(of: UInt32(key.count), toByteOffset: keyCountOffset, as: UInt32.self)
        if key.count > 0 { (base + headerBytes).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        return KeyRecord(base: base)
    }

    public static func make(key: [UInt8], value: Value) -> KeyRecord {
        key.withUnsafeBytes { k in value.withPayload { type, v in make(key: k, value: v, type: type) } }
    }

    /// Frees the memory (and drops a large collection's object); the record must not be
    /// used afterwards.
    public func free() {
        releaseOwnedValue()
        Glibc.free(base)
    }

    /// Frees the block but not a large collection's object, whose reference a new record
    /// has taken over (RENAME, MOVE).
    public func freeKeepingValue() { Glibc.free(base) }

    /// Drops the reference to the object of a large collection's owned form, if the value
    /// is one.
    @inline(__always)
    func releaseOwnedValue() {
        if valueType != .string { OwnedValue.release(valueBytes) }
    }

    /// The object of a large collection (`PackedForm.owned`), or nil for a string or a
    /// packed collection.
    @inlinable public var ownedValue: OwnedCollection? {
        valueType == .string ? nil : OwnedValue.object(valueBytes)
    }

    @inlinable public var keyCount: Int {
        Int(base.load(fromByteOffset: KeyRecord.keyCountOffset, as: UInt32.self))
    }

    @inlinable public var valueCount: Int {
        Int(base.load(fromByteOffset: KeyRecord.valueCountOffset, as: UInt64.self) & KeyRecord.countMask)
    }

    /// The value's type, from the header's top byte.
    @inlinable public var valueType: ValueType {
        ValueType(rawValue: base.load(fromByteOffset: KeyRecord.typeOffset, as: UInt8.self)) ?? .string
    }

    /// Writes the header's length word: `count` and the type in its top byte.
    @inline(__always)
    static func storeCount(_ count: Int, type: ValueType, at base: UnsafeMutableRawPointer) {
        precondition(UInt64(count) <= countMask, "value longer than 2^56 bytes")
        base.storeBytes(of: UInt64(count) | UInt64(type.rawValue) << 56, toByteOffset: valueCountOffset,
                        as: UInt64.self)
    }

    /// The key's bytes, valid while the record lives.
    @inlinable public var keyBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + KeyRecord.headerBytes, count: keyCount)
    }

    /// The string value's bytes, valid while the record lives (and not replaced).
    @inlinable public var valueBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + KeyRecord.headerBytes + keyCount, count: valueCount)
    }

    /// A writable view of the value, for in-place edits that keep its length (SETBIT,
    /// SETRANGE within the string, BITFIELD).
    @inlinable public var mutableValueBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + KeyRecord.headerBytes + keyCount, count: valueCount)
    }

    /// True when the stored key equals `key`.
    @inlinable
    func keyEquals(_ key: UnsafeRawBufferPointer) -> Bool {
        let count = keyCount
        return count == key.count && (count == 0 || memcmp(base + KeyRecord.headerBytes, key.baseAddress!, count) == 0)
    }

    /// The same key with another value (of `type`): a new record (this one is freed). An
    /// owned payload's reference passes to the record.
    func replacingValue(_ value: UnsafeRawBufferPointer, type: ValueType) -> KeyRecord {
        releaseOwnedValue()
        let keyCount = self.keyCount
        let total = KeyRecord.headerBytes + keyCount + value.count
        // A value of the same size class (the usual overwrite: a counter, a same-sized
        // value) is written in place; asking realloc for that cost ~0.5 µs a SET in
        // jemalloc. Otherwise realloc keeps the header and the key, in a block of the new
        // size's class (smaller values move to smaller blocks).
        let sameClass = strata_size_class(total) == strata_usable_size(self.base)
        let base = sameClass ? self.base : realloc(self.base, total)!
        KeyRecord.storeCount(value.count, type: type, at: base)
        if value.count > 0 {
            (base + KeyRecord.headerBytes + keyCount).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
        return KeyRecord(base: base)
    }

    /// The same record with the value grown to `count` bytes (new bytes zeroed; never
    /// shrinks). In place when the block has room; otherwise reallocated with slack the
    /// way Redis's sds grows (double below 1 MB, then 1 MB more), so that repeated APPENDs
    /// and SETBITs cost amortised O(1), not a copy each.
    func growingValue(to count: Int) -> KeyRecord {
        let old = valueCount
        guard count > old else { return self }
        let type = valueType
        let start = KeyRecord.headerBytes + keyCount
        var base = self.base
        if start + count > strata_usable_size(base) {
            let oneMB = 1 << 20
            let target = count < oneMB ? count * 2 : count + oneMB
            base = realloc(base, start + target)!
        }
        memset(base + start + old, 0, count - old)
        KeyRecord.storeCount(count, type: type, at: base)
        return KeyRecord(base: base)
    }
}

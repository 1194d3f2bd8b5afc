#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CShims

/*
 One field of a large hash (with its value) or one member of a large set, in one block:

     [hash: UInt32][field length: varint][field bytes][value length: varint][value bytes]

 A set's members have an empty value (one byte of length). The lengths are LEB128 varints
 (one byte up to 127), so a 9-byte member takes 15 bytes and one 16-byte size class, where
 a keyspace record (12-byte header) took 32. The 32 bits of hash that place the field in
 its table are kept so that a resize and HSCAN find a field's home bucket without hashing
 it again; the table's slot keeps only the pointer and 16 other bits of hash
 (`FieldSlots`).
*/
struct FieldEntry {
    let base: UnsafeMutableRawPointer

    @inline(__always) init(base: UnsafeMutableRawPointer) { self.base = base }

    /// A new block holding `field`, `value` and the 32 bits of hash that place it.
    static func make(field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, hash32: UInt32) -> FieldEntry {
        let base = malloc(size(field: field.count, value: value.count))!
        base.storeBytes(of: hash32, as: UInt32.self)
        var offset = 4 + writeLength(field.count, at: base + 4)
        if field.count > 0 { (base + offset).copyMemory(from: field.baseAddress!, byteCount: field.count) }
        offset += field.count
        offset += writeLength(value.count, at: base + offset)
        if value.count > 0 { (base + offset).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        return FieldEntry(base: base)
    }

    /// Bytes of the block for a field and a value of these lengths.
    @inline(__always)
    static func size(field: Int, value: Int) -> Int {
        4 + lengthBytes(field) + field + lengthBytes(value) + value
    }

    /// Bytes the allocator gives such a block (memory accounting).
    @inline(__always)
    static func allocatedSize(field: Int, value: Int) -> Int {
        strata_size_class(size(field: field, value: value))
    }

    @inline(__always) var hash32: UInt32 { base.load(as: UInt32.self) }

    @inline(__always)
    var field: UnsafeRawBufferPointer {
        let (count, width) = FieldEntry.readLength(base + 4)
        return UnsafeRawBufferPointer(start: base + 4 + width, count: count)
    }

    @inline(__always)
    var value: UnsafeRawBufferPointer {
        let (fieldCount, fieldWidth) = FieldEntry.readLength(base + 4)
        let at = base + 4 + fieldWidth + fieldCount
        let (count, width) = FieldEntry.readLength(at)
        return UnsafeRawBufferPointer(start: at + width, count: count)
    }

    /// True when the entry's field is `other`.
    @inline(__always)
    func fieldEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        let (count, width) = FieldEntry.readLength(base + 4)
        guard count == other.count else { return false }
        return count == 0 || memcmp(base + 4 + width, other.baseAddress!, count) == 0
    }

    /// The entry with its value replaced by a copy of `value` (the block may move: this
    /// entry must not be used afterwards).
    func replacingValue(_ value: UnsafeRawBufferPointer) -> FieldEntry {
        let (fieldCount, fieldWidth) = FieldEntry.readLength(base + 4)
        let offset = 4 + fieldWidth + fieldCount
        let moved = realloc(base, offset + FieldEntry.lengthBytes(value.count) + value.count)!
        let width = FieldEntry.writeLength(value.count, at: moved + offset)
        if value.count > 0 { (moved + offset + width).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        return FieldEntry(base: moved)
    }

    func free() { Glibc.free(base) }

    // MARK: - Lengths

    @inline(__always)
    static func lengthBytes(_ length: Int) -> Int {
        var bytes = 1
        var rest = length >> 7
        while rest > 0 {
            bytes += 1
            rest >>= 7
        }
        return bytes
    }

    /// Writes `length` as a varint at `at`; returns its bytes.
    @inline(__always)
    static func writeLength(_ length: Int, at: UnsafeMutableRawPointer) -> Int {
        var rest = length
        var offset = 0
        while rest >= 0x80 {
            at.storeBytes(of: UInt8(truncatingIfNeeded: rest) | 0x80, toByteOffset: offset, as: UInt8.self)
            rest >>= 7
            offset += 1
        }
        at.storeBytes(of: UInt8(rest), toByteOffset: offset, as: UInt8.self)
        return offset + 1
    }

    /// The varint at `at` and its bytes.
    @inline(__always)
    static func readLength(_ at: UnsafeRawPointer) -> (length: Int, bytes: Int) {
        let first = at.load(as: UInt8.self)
        if first < 0x80 { return (Int(first), 1) }
        var length = Int(first & 0x7F)
        var shift = 7
        var offset = 1
        while true {
            let byte = at.load(fromByteOffset: offset, as: UInt8.self)
            length |= Int(byte & 0x7F) << shift
            offset += 1
            if byte < 0x80 { return (length, offset) }
            shift += 7
        }
    }
}

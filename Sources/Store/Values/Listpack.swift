#if canImport(Glibc)
import Glibc
#endif
/*
 A packed sequence of byte strings: the small form of lists, hashes and sets (DESIGN.md
 "Values"), kept inside the key's record so that a small collection is one allocation, and
 the node of a large list (as Redis's quicklist is a list of listpacks).

     u32 LE   number of entries
     entry*   varint length (LEB128: 7 bits a byte, low bits first), the bytes, then the
              same length again as a *backward* varint (high bits first, the last byte
              of it marked), so that the entry before any position can be found from its
              end: pop and index from the tail need no scan from the front.

 An entry of up to 127 bytes costs 2 bytes of overhead (Redis's listpack: 2-3). The layout
 is the payload of the value codec's collection forms too, so a packed value goes to RocksDB
 and back without being re-encoded; `isValid` checks bytes that come from disk before any
 other function reads them (the others trust their input).
*/
public enum Listpack {
    public static let headerBytes = 4

    /// An empty listpack.
    public static func empty() -> [UInt8] { [0, 0, 0, 0] }

    // MARK: - Reading

    public static func count(_ bytes: UnsafeRawBufferPointer) -> Int {
        Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
    }

    /// The entry that starts at `offset`: its bytes and where the next entry starts.
    @inline(__always)
    public static func entry(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> (Range<Int>, next: Int) {
        var length = 0
        var shift = 0
        var at = offset
        while true {
            let byte = Int(bytes[at])
            at += 1
            length |= (byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        let start = at
        return (start..<(start + length), start + length + backwardLengthBytes(length))
    }

    /// The entry that ends at `end` (where the next one starts): its bytes and its start.
    @inline(__always)
    public static func entry(_ bytes: UnsafeRawBufferPointer, endingAt end: Int) -> (Range<Int>, start: Int) {
        // The backward varint, read from its end: the lowest 7-bit group first; a set high
        // bit says more groups come before it.
        var length = 0
        var shift = 0
        var at = end - 1
        while true {
            let byte = Int(bytes[at])
            length |= (byte & 0x7F) << shift
            at -= 1
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        let dataEnd = at + 1
        let dataStart = dataEnd - length
        return (dataStart..<dataEnd, dataStart - forwardLengthBytes(length))
    }

    /// Calls `body` with each entry, front to back.
    public static func forEach(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var offset = headerBytes
        for _ in 0..<count(bytes) {
            let (range, next) = entry(bytes, at: offset)
            body(UnsafeRawBufferPointer(rebasing: bytes[range]))
            offset = next
        }
    }

    /// The entries as arrays (tests, conversions to the large forms).
    public static func elements(_ bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(count(bytes))
        forEach(bytes) { result.append([UInt8]($0)) }
        return result
    }

    /// The byte offset of entry `index` (0-based from the front; `count` gives the end),
    /// walking from whichever end is nearer.
    public static func offset(_ bytes: UnsafeRawBufferPointer, of index: Int) -> Int {
        let n = count(bytes)
        if index <= n / 2 {
            var offset = headerBytes
            for _ in 0..<index { offset = entry(bytes, at: offset).next }
            return offset
        }
        var offset = bytes.count
        for _ in 0..<(n - index) { offset = entry(bytes, endingAt: offset).start }
        return offset
    }

    // MARK: - Writing

    static func forwardLengthBytes(_ length: Int) -> Int {
        var n = 1
        var rest = length >> 7
        while rest > 0 { n += 1; rest >>= 7 }
        return n
    }

    static func backwardLengthBytes(_ length: Int) -> Int { forwardLengthBytes(length) }

    /// The encoded size of an entry of `length` bytes.
    public static func entryBytes(_ length: Int) -> Int { 2 * forwardLengthBytes(length) + length }

    static func appendEntry(_ element: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var length = element.count
        while length >= 0x80 {
            out.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        out.append(UInt8(length))
        out.append(contentsOf: element)
        appendBackwardLength(element.count, to: &out)
    }

    /// The highest 7-bit group first and unmarked, each lower one marked (0x80: "more
    /// before me"), so that a reader starting at the end sees the lowest group first.
    static func appendBackwardLength(_ length: Int, to out: inout [UInt8]) {
        let n = forwardLengthBytes(length)
        for group in stride(from: n - 1, through: 0, by: -1) {
            let bits = UInt8((length >> (7 * group)) & 0x7F)
            out.append(group == n - 1 ? bits : bits | 0x80)
        }
    }

    static func setCount(_ count: Int, in bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 0, as: UInt32.self) }
    }

    /// Inserts `element` before entry `index` (`count` appends).
    public static func insert(_ element: UnsafeRawBufferPointer, at index: Int, in bytes: inout [UInt8]) {
        let (offset, n) = bytes.withUnsafeBytes { (Listpack.offset($0, of: index), count($0)) }
        if offset == bytes.count {
            appendEntry(element, to: &bytes)
        } else {
            // In place, with no temporary entry (LPUSH inserts at the front every time).
            let size = entryBytes(element.count)
            let tail = bytes.count - offset
            bytes.append(contentsOf: repeatElement(0, count: size))
            bytes.withUnsafeMutableBytes { raw in
                let at = raw.baseAddress! + offset
                memmove(at + size, at, tail)  // the ranges overlap
                writeEntry(element, at: at)
            }
        }
        setCount(n + 1, in: &bytes)
    }

    /// Writes `element`'s entry (as `appendEntry` encodes it) at `at`, which has
    /// `entryBytes(element.count)` bytes.
    static func writeEntry(_ element: UnsafeRawBufferPointer, at: UnsafeMutableRawPointer) {
        var position = 0
        var length = element.count
        while length >= 0x80 {
            at.storeBytes(of: UInt8(length & 0x7F) | 0x80, toByteOffset: position, as: UInt8.self)
            position += 1
            length >>= 7
        }
        at.storeBytes(of: UInt8(length), toByteOffset: position, as: UInt8.self)
        position += 1
        if let source = element.baseAddress, element.count > 0 {
            (at + position).copyMemory(from: source, byteCount: element.count)
            position += element.count
        }
        let n = forwardLengthBytes(element.count)
        for group in stride(from: n - 1, through: 0, by: -1) {
            let bits = UInt8((element.count >> (7 * group)) & 0x7F)
            at.storeBytes(of: group == n - 1 ? bits : bits | 0x80, toByteOffset: position, as: UInt8.self)
            position += 1
        }
    }

    public static func append(_ element: UnsafeRawBufferPointer, to bytes: inout [UInt8]) {
        let n = bytes.withUnsafeBytes { count($0) }
        appendEntry(element, to: &bytes)
        setCount(n + 1, in: &bytes)
    }

    /// Removes `removing` entries starting at entry `index`.
    public static func remove(at index: Int, count removing: Int = 1, in bytes: inout [UInt8]) {
        guard removing > 0 else { return }
        let (start, end, n) = bytes.withUnsafeBytes { raw -> (Int, Int, Int) in
            let start = offset(raw, of: index)
            var end = start
            for _ in 0..<removing { end = entry(raw, at: end).next }
            return (start, end, count(raw))
        }
        bytes.removeSubrange(start..<end)
        setCount(n - removing, in: &bytes)
    }

    /// Replaces entry `index` with `element`.
    public static func replace(at index: Int, with element: UnsafeRawBufferPointer, in bytes: inout [UInt8]) {
        let (start, end) = bytes.withUnsafeBytes { raw -> (Int, Int) in
            let start = offset(raw, of: index)
            return (start, entry(raw, at: start).next)
        }
        var encoded: [UInt8] = []
        appendEntry(element, to: &encoded)
        bytes.replaceSubrange(start..<end, with: encoded)
    }

    /// A listpack of `elements`.
    public static func make<S: Sequence>(_ elements: S) -> [UInt8] where S.Element == [UInt8] {
        var bytes = empty()
        var n = 0
        for element in elements {
            element.withUnsafeBytes { appendEntry($0, to: &bytes) }
            n += 1
        }
        setCount(n, in: &bytes)
        return bytes
    }

    // MARK: - Checking bytes from disk

    /// True when `bytes` is a well-formed listpack: the count matches the entries, every
    /// length fits, and each backward length repeats its forward one. Decoders call this
    /// before handing bytes to the functions above, which trust their input.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerBytes else { return false }
        let n = count(bytes)
        var offset = headerBytes
        for _ in 0..<n {
            var length = 0
            var shift = 0
            while true {
                guard offset < bytes.count, shift <= 28 else { return false }
                let byte = Int(bytes[offset])
                offset += 1
                length |= (byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            let back = backwardLengthBytes(length)
            guard length <= bytes.count - offset, back <= bytes.count - offset - length else { return false }
            offset += length
            var expected: [UInt8] = []
            appendBackwardLength(length, to: &expected)
            for byte in expected {
                guard bytes[offset] == byte else { return false }
                offset += 1
            }
        }
        return offset == bytes.count
    }
}

/*
 A sorted set of integers in 2, 4 or 8 bytes each: the small form of a set whose members
 are all integers (Redis's intset, up to `set-max-intset-entries`). Kept inside the key's
 record, and the payload of the value codec's intset form.

     u8       width: 2, 4 or 8 (bytes per member; the smallest that holds them all)
     u32 LE   number of members
     members  little-endian, signed, ascending, no repeats

 A member that needs a wider width upgrades the whole set, as Redis's does. `isValid` checks
 bytes from disk before any other function reads them.
*/
public enum IntSet {
    public static let headerBytes = 5

    public static func empty() -> [UInt8] { [2, 0, 0, 0, 0] }

    public static func width(_ bytes: UnsafeRawBufferPointer) -> Int { Int(bytes[0]) }

    public static func count(_ bytes: UnsafeRawBufferPointer) -> Int {
        Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
    }

    /// Member `index` (ascending order).
    @inline(__always)
    public static func member(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Int64 {
        let at = headerBytes + index * width(bytes)
        switch width(bytes) {
        case 2: return Int64(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int16.self)))
        case 4: return Int64(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int32.self)))
        default: return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int64.self))
        }
    }

    /// Where `value` is, or where it would be inserted.
    public static func search(_ bytes: UnsafeRawBufferPointer, _ value: Int64) -> (found: Bool, index: Int) {
        var low = 0
        var high = count(bytes)
        while low < high {
            let middle = (low + high) / 2
            let m = member(bytes, middle)
            if m == value { return (true, middle) }
            if m < value { low = middle + 1 } else { high = middle }
        }
        return (false, low)
    }

    public static func contains(_ bytes: UnsafeRawBufferPointer, _ value: Int64) -> Bool {
        search(bytes, value).found
    }

    public static func members(_ bytes: UnsafeRawBufferPointer) -> [Int64] {
        (0..<count(bytes)).map { member(bytes, $0) }
    }

    static func widthNeeded(_ value: Int64) -> Int {
        if value >= Int64(Int16.min) && value <= Int64(Int16.max) { return 2 }
        if value >= Int64(Int32.min) && value <= Int64(Int32.max) { return 4 }
        return 8
    }

    static func store(_ value: Int64, width: Int, at offset: Int, in raw: UnsafeMutableRawBufferPointer) {
        switch width {
        case 2: raw.storeBytes(of: Int16(truncatingIfNeeded: value).littleEndian, toByteOffset: offset, as: Int16.self)
        case 4: raw.storeBytes(of: Int32(truncatingIfNeeded: value).littleEndian, toByteOffset: offset, as: Int32.self)
        default: raw.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Int64.self)
        }
    }

    /// A set of `values` (any order, repeats dropped).
    public static func make(_ values: [Int64]) -> [UInt8] {
        let sorted = Array(Set(values)).sorted()
        let width = sorted.map(widthNeeded).max() ?? 2
        var bytes = [UInt8](repeating: 0, count: headerBytes + sorted.count * width)
        bytes[0] = UInt8(width)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(sorted.count).littleEndian, toByteOffset: 1, as: UInt32.self)
            for (index, value) in sorted.enumerated() {
                store(value, width: width, at: headerBytes + index * width, in: raw)
            }
        }
        return bytes
    }

    /// Adds `value`; false when it was already there.
    @discardableResult
    public static func insert(_ value: Int64, into bytes: inout [UInt8]) -> Bool {
        let (found, index, width, n) = bytes.withUnsafeBytes { raw -> (Bool, Int, Int, Int) in
            let (found, index) = search(raw, value)
            return (found, index, IntSet.width(raw), count(raw))
        }
        if found { return false }
        if widthNeeded(value) > width {
            // Upgrade: every member gets the wider width (rare: at most twice per set).
            var all = bytes.withUnsafeBytes { members($0) }
            all.insert(value, at: index)
            bytes = make(all)
            return true
        }
        let at = headerBytes + index * width
        bytes.insert(contentsOf: repeatElement(0, count: width), at: at)
        bytes.withUnsafeMutableBytes { raw in
            store(value, width: width, at: at, in: raw)
            raw.storeBytes(of: UInt32(n + 1).littleEndian, toByteOffset: 1, as: UInt32.self)
        }
        return true
    }

    /// Removes `value`; false when it was not there. The width stays (as in Redis).
    @discardableResult
    public static func remove(_ value: Int64, from bytes: inout [UInt8]) -> Bool {
        let (found, index, width, n) = bytes.withUnsafeBytes { raw -> (Bool, Int, Int, Int) in
            let (found, index) = search(raw, value)
            return (found, index, IntSet.width(raw), count(raw))
        }
        guard found else { return false }
        let at = headerBytes + index * width
        bytes.removeSubrange(at..<(at + width))
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(n - 1).littleEndian, toByteOffset: 1, as: UInt32.self) }
        return true
    }

    /// True when `bytes` is a well-formed intset: a known width, the size the count says,
    /// members strictly ascending.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerBytes else { return false }
        let width = self.width(bytes)
        guard width == 2 || width == 4 || width == 8 else { return false }
        let n = count(bytes)
        guard bytes.count - headerBytes == n * width else { return false }
        var previous: Int64? = nil
        for index in 0..<n {
            let m = member(bytes, index)
            if let previous, m <= previous { return false }
            previous = m
        }
        return true
    }
}

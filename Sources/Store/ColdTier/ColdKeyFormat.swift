/*
 How a key of database `storageID` is named in RocksDB:

     byte 0        storage id (one per database, 0...255)
     bytes 1...4   the key's 32-bit table hash (`Keyspace.hash32`), bit-reversed, big-endian
     bytes 5...    the key's bytes

 Why the reversed hash: SCAN walks the hot table's home buckets in reverse-binary cursor
 order (Redis's cursor), and a key's home bucket is the low bits of its hash. Reversing the
 bits and storing them big-endian makes RocksDB's bytewise order the same as that cursor
 order, so one SCAN cursor can walk the hot table and a RocksDB iterator side by side:
 `position(hash32:)` is the key's place on the cursor's scale, and `seekKey` turns a cursor
 back into where the iterator should start.

 The hash comes from `KeyHash`, whose seed is kept in the data directory (StorageMetadata)
 so that a restarted server names keys the same way. Storage id 255 is never a database's:
 its keys are the server's own records (StorageMetadata).
*/
public enum ColdKeyFormat {
    /// Bytes before the key's own bytes.
    public static let headerLength = 5

    /// The RocksDB key of `key` in database `storageID`.
    public static func encode(storageID: UInt8, key: UnsafeRawBufferPointer) -> [UInt8] {
        encode(storageID: storageID, hash32: Keyspace.hash32(KeyHash.hash(key)), key: key)
    }

    public static func encode(storageID: UInt8, key: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { encode(storageID: storageID, key: $0) }
    }

    /// The RocksDB key of `key` whose table hash (`Keyspace.hash32`) is already known.
    public static func encode(storageID: UInt8, hash32: UInt32, key: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: headerLength + key.count) { out, count in
            out[0] = storageID
            UnsafeMutableRawPointer(out.baseAddress! + 1).storeBytes(of: reverse32(hash32).bigEndian, as: UInt32.self)
            if key.count > 0 {
                UnsafeMutableRawPointer(out.baseAddress! + headerLength).copyMemory(from: key.baseAddress!, byteCount: key.count)
            }
            count = headerLength + key.count
        }
    }

    /// Splits a RocksDB key; nil when it is shorter than the header.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> (storageID: UInt8, reversedHash: UInt32, key: [UInt8])? {
        guard bytes.count >= headerLength else { return nil }
        let reversed = UInt32(bigEndian: bytes.baseAddress!.loadUnaligned(fromByteOffset: 1, as: UInt32.self))
        return (bytes[0], reversed, Array(UnsafeRawBufferPointer(rebasing: bytes[headerLength...])))
    }

    public static func decode(_ bytes: [UInt8]) -> (storageID: UInt8, reversedHash: UInt32, key: [UInt8])? {
        bytes.withUnsafeBytes { decode($0) }
    }

    /// A key's place in SCAN order: its reverse-binary cursor scaled to 64 bits.
    @inline(__always)
    public static func position(hash32: UInt32) -> UInt64 {
        UInt64(reverse32(hash32)) << 32
    }

    /// The first byte of every key of `storageID` (the inclusive lower bound of its range).
    public static func prefix(storageID: UInt8) -> [UInt8] {
        [storageID]
    }

    /// The exclusive upper bound of `storageID`'s keys, or nil for storage id 255, whose keys
    /// run to the end of the keyspace (no finite byte string is greater than all of them).
    /// nil matches the "to the end" meaning of `ColdStorage.forEach(to:)` and `compact(to:)`.
    public static func prefixEnd(storageID: UInt8) -> [UInt8]? {
        storageID == UInt8.max ? nil : [storageID + 1]
    }

    /// The smallest RocksDB key of `storageID` at or after SCAN position `position`: the
    /// storage id and the top 32 bits of the position, big-endian.
    public static func seekKey(storageID: UInt8, position: UInt64) -> [UInt8] {
        let top = UInt32(truncatingIfNeeded: position >> 32)
        return [storageID, UInt8(truncatingIfNeeded: top >> 24), UInt8(truncatingIfNeeded: top >> 16),
                UInt8(truncatingIfNeeded: top >> 8), UInt8(truncatingIfNeeded: top)]
    }

    /// `x` with its bit order reversed (bit 0 becomes bit 31).
    @inline(__always)
    public static func reverse32(_ x: UInt32) -> UInt32 {
        var v = x
        v = ((v >> 1) & 0x5555_5555) | ((v & 0x5555_5555) << 1)
        v = ((v >> 2) & 0x3333_3333) | ((v & 0x3333_3333) << 2)
        v = ((v >> 4) & 0x0F0F_0F0F) | ((v & 0x0F0F_0F0F) << 4)
        return v.byteSwapped
    }
}

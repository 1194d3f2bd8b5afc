/*
 The server's own records in RocksDB, under the prefix byte 255 (no database uses it):

     255 "hash-seed"    u64 LE: KeyHash's seed, chosen when the directory was created
     255 "checkpoint"   the last completed checkpoint (CheckpointMark)
     255 "move-seq"     u64 LE: the sequence number of the last cold move written
                        (ColdTierMoves.swift)
*/
public enum StorageMetadata {
    public static let prefix: UInt8 = 0xFF
    public static let seedKey: [UInt8] = [prefix] + Array("hash-seed".utf8)
    public static let checkpointKey: [UInt8] = [prefix] + Array("checkpoint".utf8)
    public static let moveSequenceKey: [UInt8] = [prefix] + Array("move-seq".utf8)
    /// The highest change sequence (LogChange.swift) a value in RocksDB was written with:
    /// start-up numbers new changes above it, even when the log lost its tail.
    public static let changeSequenceKey: [UInt8] = [prefix] + Array("change-seq".utf8)

    static func encodeSeed(_ seed: UInt64) -> [UInt8] { withUnsafeBytes(of: seed.littleEndian) { Array($0) } }

    static func decodeSeed(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }
}

/// What a completed checkpoint left: replay starts at log segment `segment` (0: every
/// segment present), `mapping[storageID]` is the database that owned each RocksDB
/// storage id then (SWAPDB exchanges them; later swaps are in the log), and `token`
/// names this checkpoint (a shutdown's index snapshot carries it: IndexSnapshot).
///
///     u8 version (1), u64 LE segment, u64 LE token, u16 LE count, count x u8 database
struct CheckpointMark: Equatable {
    var segment: Int
    var token: UInt64
    var mapping: [Int]

    func encoded() -> [UInt8] {
        var out: [UInt8] = [1]
        withUnsafeBytes(of: UInt64(segment).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: token.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(mapping.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: mapping.map { UInt8(truncatingIfNeeded: $0) })
        return out
    }

    init(segment: Int, token: UInt64, mapping: [Int]) {
        self.segment = segment
        self.token = token
        self.mapping = mapping
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 19, bytes[0] == 1 else { return nil }
        let (segment, token, count) = bytes.withUnsafeBytes { raw in
            (UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: UInt64.self)),
             UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 9, as: UInt64.self)),
             Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 17, as: UInt16.self))))
        }
        guard bytes.count == 19 + count, segment <= UInt64(Int.max) else { return nil }
        self.segment = Int(segment)
        self.token = token
        self.mapping = bytes[19...].map { Int($0) }
    }
}

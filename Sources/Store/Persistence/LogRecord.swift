import CShims

/*
 The append-only log's format.

 A segment file starts with `AppendLog.magic` (16 bytes), then frames:

     u32 LE   payload length
     u32 LE   CRC-32C of the payload
     payload  one or more records

 One frame per command (a whole MULTI/EXEC is one command), so a command is replayed
 entirely or not at all. Records say what a key *became*, not what the command did:

     1 SET      u8 db, u32 LE key length, key, u32 LE value length, value (ValueCodec,
                uncompressed: type, absolute expiry, payload)
     2 DELETE   u8 db, u32 LE key length, key
     3 FLUSHDB  u8 db
     4 SWAPDB   u8 db, u8 db
     5 EXPIRE   u8 db, u32 LE key length, key, i64 LE expiry (Unix ms, 0 = none): the key
                keeps its value and now has this expiry (an EXPIRE or PERSIST of a cold
                key, whose value the command never read)
     6 MOVE     u8 db, u32 LE length, source key, u8 db, u32 LE length, target key,
                u8 keep source (1: COPY), u64 LE sequence: a cold key's value moved or was
                copied inside RocksDB (ColdTierMoves.swift); replayed only if RocksDB's
                move sequence is below this one
     7 CHANGE   u8 db, u32 LE key length, key, u64 LE sequence, u8 op, u32 LE count, then
                count x (u32 LE length, bytes): part of a list, hash or set changed
                (LogChange.swift); replayed only onto a value older than the sequence

 Why states (for strings and whole values) and not commands: RocksDB holds the checkpoint, but demotion also writes keys
 into it between checkpoints, so on recovery a key's RocksDB value may be newer than the
 log's start. Replaying "INCR k" over it would count twice; replaying "k is now 5" is
 right whatever RocksDB holds, since the key's last record in the log is its final state.
 A key with no record did not change since the log started, so RocksDB's copy is right.
 The cost: a command that edits a large string in place (APPEND, SETRANGE, SETBIT) logs
 the whole value. Collections, whose values grow far larger, log their changes instead,
 made idempotent by a sequence number (LogChange.swift).
*/
public enum LogRecord {
    public static let set: UInt8 = 1
    public static let delete: UInt8 = 2
    public static let flushDatabase: UInt8 = 3
    public static let swapDatabases: UInt8 = 4
    public static let expire: UInt8 = 5
    public static let move: UInt8 = 6
    public static let change: UInt8 = 7

    /// Frame header bytes.
    public static let headerLength = 8

    /// A decoded record; byte ranges point into the frame's payload.
    public enum Operation {
        case set(db: Int, key: Range<Int>, value: Range<Int>)
        case delete(db: Int, key: Range<Int>)
        case flushDatabase(db: Int)
        case swapDatabases(Int, Int)
        case expire(db: Int, key: Range<Int>, expireAt: Int64)
        case move(sourceDB: Int, source: Range<Int>, targetDB: Int, target: Range<Int>, keepSource: Bool,
                  sequence: UInt64)
        case change(db: Int, key: Range<Int>, sequence: UInt64, op: ChangeOp, arguments: [Range<Int>])
    }

    // MARK: - Writing (into the log's buffer, inside an open frame)

    @inline(__always)
    static func appendLength(_ n: Int, to out: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: n).littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendSet(db: Int, key: UnsafeRawBufferPointer, value: Value, expireAt: Int64, rawEncoding: Bool,
                          to out: inout [UInt8]) {
        value.withPayload {
            appendSet(db: db, key: key, type: $0, payload: $1, expireAt: expireAt, rawEncoding: rawEncoding, to: &out)
        }
    }

    static func appendSet(db: Int, key: UnsafeRawBufferPointer, type: ValueType, payload: UnsafeRawBufferPointer,
                          expireAt: Int64, rawEncoding: Bool, to out: inout [UInt8]) {
        out.append(set)
        out.append(UInt8(truncatingIfNeeded: db))
        appendLength(key.count, to: &out)
        out.append(contentsOf: key)
        let lengthAt = out.count
        appendLength(0, to: &out)
        ValueCodec.appendUncompressed(type: type, payload: payload, expireAt: expireAt, rawEncoding: rawEncoding,
                                      to: &out)
        let length = UInt32(truncatingIfNeeded: out.count - lengthAt - 4).littleEndian
        out.withUnsafeMutableBytes { $0.storeBytes(of: length, toByteOffset: lengthAt, as: UInt32.self) }
    }

    static func appendExpire(db: Int, key: UnsafeRawBufferPointer, expireAt: Int64, to out: inout [UInt8]) {
        out.append(expire)
        out.append(UInt8(truncatingIfNeeded: db))
        appendLength(key.count, to: &out)
        out.append(contentsOf: key)
        withUnsafeBytes(of: expireAt.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendMove(sourceDB: Int, source: UnsafeRawBufferPointer, targetDB: Int,
                           target: UnsafeRawBufferPointer, keepSource: Bool, sequence: UInt64, to out: inout [UInt8]) {
        out.append(move)
        out.append(UInt8(truncatingIfNeeded: sourceDB))
        appendLength(source.count, to: &out)
        out.append(contentsOf: source)
        out.append(UInt8(truncatingIfNeeded: targetDB))
        appendLength(target.count, to: &out)
        out.append(contentsOf: target)
        out.append(keepSource ? 1 : 0)
        withUnsafeBytes(of: sequence.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendDelete(db: Int, key: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(delete)
        out.append(UInt8(truncatingIfNeeded: db))
        appendLength(key.count, to: &out)
        out.append(contentsOf: key)
    }

    // MARK: - Reading

    /// Decodes the records of one frame's payload; nil when they are malformed.
    public static func operations(_ payload: UnsafeRawBufferPointer) -> [Operation]? {
        var result: [Operation] = []
        var at = 0
        func byte() -> Int? {
            guard at < payload.count else { return nil }
            defer { at += 1 }
            return Int(payload[at])
        }
        func range() -> Range<Int>? {
            guard at + 4 <= payload.count else { return nil }
            let n = Int(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            at += 4
            guard n <= payload.count - at else { return nil }
            defer { at += n }
            return at..<(at + n)
        }
        while at < payload.count {
            guard let kind = byte() else { return nil }
            switch UInt8(kind) {
            case set:
                guard let db = byte(), let key = range(), let value = range() else { return nil }
                result.append(.set(db: db, key: key, value: value))
            case delete:
                guard let db = byte(), let key = range() else { return nil }
                result.append(.delete(db: db, key: key))
            case flushDatabase:
                guard let db = byte() else { return nil }
                result.append(.flushDatabase(db: db))
            case swapDatabases:
                guard let a = byte(), let b = byte() else { return nil }
                result.append(.swapDatabases(a, b))
            case expire:
                guard let db = byte(), let key = range(), at + 8 <= payload.count else { return nil }
                let expireAt = Int64(littleEndian: payload.loadUnaligned(fromByteOffset: at, as: Int64.self))
                at += 8
                result.append(.expire(db: db, key: key, expireAt: expireAt))
            case move:
                guard let sourceDB = byte(), let source = range(), let targetDB = byte(), let target = range(),
                      let keep = byte(), keep <= 1, at + 8 <= payload.count else { return nil }
                let sequence = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                at += 8
                result.append(.move(sourceDB: sourceDB, source: source, targetDB: targetDB, target: target,
                                    keepSource: keep == 1, sequence: sequence))
            case change:
                guard let db = byte(), let key = range(), at + 9 <= payload.count,
                      let op = ChangeOp(rawValue: payload[at + 8]) else { return nil }
                let sequence = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                at += 9
                guard at + 4 <= payload.count else { return nil }
                let count = Int(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                at += 4
                guard count <= (payload.count - at) / 4 else { return nil }
                var arguments: [Range<Int>] = []
                arguments.reserveCapacity(count)
                for _ in 0..<count {
                    guard let argument = range() else { return nil }
                    arguments.append(argument)
                }
                result.append(.change(db: db, key: key, sequence: sequence, op: op, arguments: arguments))
            default:
                return nil
            }
        }
        return result
    }

    /// What the frame at `offset` of a segment is.
    public enum FrameScan {
        /// A whole, intact frame: its payload, and where the next one starts.
        case frame(payload: Range<Int>, next: Int)
        /// The file ends inside this frame (a write cut short).
        case truncated
        /// The checksum does not match (the frame reaches `end`).
        case badChecksum(end: Int)
    }

    public static func scanFrame(_ file: UnsafeRawBufferPointer, at offset: Int) -> FrameScan {
        guard offset + headerLength <= file.count else { return .truncated }
        let length = Int(UInt32(littleEndian: file.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let crc = UInt32(littleEndian: file.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let start = offset + headerLength
        guard length <= file.count - start else { return .truncated }
        let actual = strata_crc32c(0, file.baseAddress! + start, length)
        guard actual == crc else { return .badChecksum(end: start + length) }
        return .frame(payload: start..<(start + length), next: start + length)
    }
}

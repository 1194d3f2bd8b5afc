/*
 Changes in the log (DESIGN.md "Values"): a command that changes part of a list, hash or
 set logs what it did to it, not the whole value, so that one HSET on a hash of a million
 fields appends about the size of that field. Each change is deterministic given the value
 it was made to: pops and trims are counts, LINSERT and LSET name a position, SPOP logs
 the members it removed.

 Replay must apply each change exactly once, whatever RocksDB already holds: demotion and
 checkpoints write values to RocksDB between log records, so a value there may already
 hold some of the changes the log replays. Every change therefore takes the next number of
 `Store.changeSequence`, and every collection written to RocksDB carries the sequence it
 was taken at (ValueCodec, flag 0x08): the value holds every change numbered up to it and
 none after. Replay applies a change only to a value older than it (Recovery.swift). A
 key whose value the log gave (a state record) holds every change before that record, so
 the changes after it apply; the numbers need no per-key memory while serving.

 A checkpoint that logs the hot keys' states into a new segment (Checkpoint.swift) lets the
 older segments go once its walk is done; a change made to a key before the walk reached it
 would then be replayed onto a value no longer there. So while such a walk runs, the first
 change of each key logs the key's state instead (about what the walk writes for it
 anyway), and its later changes apply on top of that. A collection of 4 MB or more is
 copied into RocksDB instead, as the walk copies it (Checkpoint.swift).

 One command is one frame, replayed whole or not at all. When a command both changed a
 key and gave it a new state (EXEC with DEL then RPUSH), the key's final state is logged
 and its changes in that frame are dropped: the state already holds them.

 Record (LogRecord.change):
     7, u8 db, u32 LE key length, key, u64 LE sequence, u8 ChangeOp,
     u32 LE argument count, then per argument u32 LE length and the bytes
 Counts and positions are arguments of 8 bytes, Int64 little-endian.
*/
public enum ChangeOp: UInt8 {
    /// field, value, field, value...
    case hashSet = 1
    /// fields
    case hashDelete = 2
    /// members
    case setAdd = 3
    /// members
    case setRemove = 4
    /// elements, pushed at the head one after the other (LPUSH's order)
    case listPushFront = 5
    /// elements, pushed at the tail
    case listPushBack = 6
    /// count: that many elements removed from the head (pops, LTRIM)
    case listRemoveFront = 7
    /// count: removed from the tail
    case listRemoveBack = 8
    /// position, element (LSET)
    case listSet = 9
    /// position, element: inserted before what is at position (LINSERT)
    case listInsert = 10
    /// count, element: LREM's rule (`QuickList.removeMatching`)
    case listRemoveMatching = 11

    /// The type of value the change applies to.
    public var valueType: ValueType {
        switch self {
        case .hashSet, .hashDelete: return .hash
        case .setAdd, .setRemove: return .set
        default: return .list
        }
    }
}

/// Writes a change's arguments (`Database.modified(_:by:_:)`).
public struct ChangeWriter {
    var bytes: [UInt8]
    var count = 0

    @inline(__always)
    public mutating func argument(_ value: UnsafeRawBufferPointer) {
        LogRecord.appendLength(value.count, to: &bytes)
        bytes.append(contentsOf: value)
        count += 1
    }

    public mutating func argument(_ value: [UInt8]) { value.withUnsafeBytes { argument($0) } }

    public mutating func argument(_ number: Int) {
        withUnsafeBytes(of: Int64(number).littleEndian) { argument($0) }
    }
}

extension Database {
    /// Records a change of collection `key` described by `op`, its arguments written by
    /// `body`: aborts transactions watching the key, counts a change for the save rules,
    /// and with a log, logs the change instead of the key's value.
    @inline(__always)
    public func modified(_ key: UnsafeRawBufferPointer, by op: ChangeOp, _ body: (inout ChangeWriter) -> Void) {
        modified(key, logged: false)
        if store.log != nil { store.noteChange(self, key, op, body) }
    }
}

/*
 The notes of the running command (`Store.changeNotes`), written as one frame after it:
     0, u8 db, u32 LE key length, key             the key's state is logged
     2, u8 db, u32 LE key length, key             the key's expiry is logged (EXPIRE record)
     1, u32 LE record length, the change record   the change is logged as it is
*/
enum ChangeNote {
    static let state: UInt8 = 0
    static let change: UInt8 = 1
    static let expiry: UInt8 = 2

    /// Where the note after the one at `at` starts, and its kind.
    @inline(__always)
    static func next(_ notes: UnsafeRawBufferPointer, _ at: Int) -> (next: Int, kind: UInt8) {
        let kind = notes[at]
        if kind == change {
            return (at + 5 + Int(UInt32(littleEndian: notes.loadUnaligned(fromByteOffset: at + 1, as: UInt32.self))), kind)
        }
        return (at + 6 + Int(UInt32(littleEndian: notes.loadUnaligned(fromByteOffset: at + 2, as: UInt32.self))), kind)
    }

    /// The db byte and key that start at `at` (u8 db, u32 LE length, key) as one array.
    static func keyID(_ bytes: UnsafeRawBufferPointer, at: Int) -> [UInt8] {
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 1, as: UInt32.self)))
        var id = [bytes[at]]
        id.append(contentsOf: bytes[(at + 5)..<(at + 5 + length)])
        return id
    }
}

extension Store {
    func noteChange(_ db: Database, _ key: UnsafeRawBufferPointer, _ op: ChangeOp,
                    _ body: (inout ChangeWriter) -> Void) {
        changeSequence += 1
        if persistence.walkIntoLog && checkpointRunning,
           persistence.walkChangedKeys.insert(PersistenceState.keyID(db.storageID, key)).inserted {
            // A large collection's state is copied into RocksDB after this command instead
            // (packing it for the log would hold the loop), taken at a sequence past this
            // change, which replay then skips; the change is logged as it is meanwhile.
            guard let slot = db.keys.find(key, hash: KeyHash.hash(key)), ColdTier.isLarge(slot) else {
                return noteChange(db, key)
            }
            persistence.largeCopiesAfterCommand.append(PersistenceState.keyID(db.storageID, key))
        }
        noteHasChanges = true
        var writer = ChangeWriter(bytes: [])
        swap(&writer.bytes, &changeNotes)  // written in place, without a copy
        writer.bytes.append(ChangeNote.change)
        let lengthAt = writer.bytes.count
        LogRecord.appendLength(0, to: &writer.bytes)
        let start = writer.bytes.count
        writer.bytes.append(LogRecord.change)
        writer.bytes.append(UInt8(truncatingIfNeeded: db.index))
        LogRecord.appendLength(key.count, to: &writer.bytes)
        writer.bytes.append(contentsOf: key)
        withUnsafeBytes(of: changeSequence.littleEndian) { writer.bytes.append(contentsOf: $0) }
        writer.bytes.append(op.rawValue)
        let countAt = writer.bytes.count
        LogRecord.appendLength(0, to: &writer.bytes)
        body(&writer)
        let count = writer.count, length = writer.bytes.count - start
        writer.bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian, toByteOffset: lengthAt, as: UInt32.self)
            raw.storeBytes(of: UInt32(truncatingIfNeeded: count).littleEndian, toByteOffset: countAt, as: UInt32.self)
        }
        swap(&writer.bytes, &changeNotes)
    }
}

// MARK: - Replay

/// Applies a logged change to a value of its type; false when its arguments do not fit it
/// (a damaged log).
enum ChangeReplay {
    static func integer(_ argument: UnsafeRawBufferPointer) -> Int? {
        guard argument.count == 8 else { return nil }
        return Int(Int64(littleEndian: argument.loadUnaligned(as: Int64.self)))
    }

    static func apply(_ op: ChangeOp, _ arguments: [UnsafeRawBufferPointer], to hash: inout HashValue,
                      limits: CollectionLimits) -> Bool {
        switch op {
        case .hashSet:
            guard arguments.count % 2 == 0 else { return false }
            for index in stride(from: 0, to: arguments.count, by: 2) {
                hash.set(arguments[index], arguments[index + 1], limits: limits)
            }
        case .hashDelete:
            for field in arguments { hash.remove(field) }
        default:
            return false
        }
        return true
    }

    static func apply(_ op: ChangeOp, _ arguments: [UnsafeRawBufferPointer], to set: inout SetValue,
                      limits: CollectionLimits) -> Bool {
        switch op {
        case .setAdd: for member in arguments { set.add(member, limits: limits) }
        case .setRemove: for member in arguments { set.remove(member) }
        default: return false
        }
        return true
    }

    static func apply(_ op: ChangeOp, _ arguments: [UnsafeRawBufferPointer], to list: QuickList,
                      limit: ListNodeLimit) -> Bool {
        switch op {
        case .listPushFront, .listPushBack:
            for element in arguments { list.push(element, front: op == .listPushFront, limit: limit) }
        case .listRemoveFront, .listRemoveBack:
            guard arguments.count == 1, let n = integer(arguments[0]), n >= 0, n <= list.count else { return false }
            list.remove(n, front: op == .listRemoveFront)
        case .listSet:
            guard arguments.count == 2, let at = integer(arguments[0]), at >= 0, at < list.count else { return false }
            list.set(at, to: arguments[1], limit: limit)
        case .listInsert:
            guard arguments.count == 2, let at = integer(arguments[0]), at >= 0, at <= list.count else { return false }
            list.insert(arguments[1], at: at, limit: limit)
        case .listRemoveMatching:
            guard arguments.count == 2, let count = integer(arguments[0]) else { return false }
            list.removeMatching(arguments[1], count: count, limit: limit)
        default:
            return false
        }
        return true
    }
}

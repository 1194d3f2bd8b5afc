#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RESP
import Store

/// APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE and the INCR family: the string commands
/// that read or change part of a value, or treat it as a number.
enum StringEditCommands {
    // MARK: - APPEND, STRLEN

    /// APPEND key value: the new length.
    static func append(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(1)
        let suffix = args.bytes(2)
        guard let slot = db.lookupWrite(key) else {
            // A new key gets the argument as SET would store it (not marked raw).
            db.add(key, string: args.bytes(2))
            db.modified(key)
            return client.reply.integer(suffix.count)
        }
        guard let length = StringMutation.length(slot) else { return client.error(ErrorReplies.wrongType) }
        guard fitsBulkLimit(client, length, suffix.count) else { return }
        let newLength = StringMutation.edit(slot, growingTo: length + suffix.count) { bytes in
            StringMutation.write(suffix, at: length, into: bytes)
        }
        db.modified(key)
        client.reply.integer(newLength)
    }

    /// STRLEN key: 0 for a missing key.
    static func strlen(_ client: Client, _ args: CommandArguments) {
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.integer(0) }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        client.reply.integer(bytes.count)
    }

    /// Redis's checkStringLength: a string may not grow beyond proto-max-bulk-len.
    static func fitsBulkLimit(_ client: Client, _ size: Int, _ append: Int) -> Bool {
        let (total, overflow) = size.addingReportingOverflow(append)
        if overflow || total > client.server.config.protoMaxBulkLength {
            client.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            return false
        }
        return true
    }

    // MARK: - GETRANGE, SETRANGE

    /// GETRANGE and its old name SUBSTR.
    static func getrange(_ client: Client, _ args: CommandArguments) {
        guard let start = args.integer(2), let end = args.integer(3) else {
            return client.error(ErrorReplies.notInteger)
        }
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.bulk([UInt8]()) }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        guard let range = StringRange.resolve(start: start, end: end, length: bytes.count) else {
            return client.reply.bulk([UInt8]())
        }
        client.reply.bulk(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    /// SETRANGE key offset value: zero-pads up to offset; the new length.
    static func setrange(_ client: Client, _ args: CommandArguments) {
        guard let offset = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        guard offset >= 0 else { return client.error("ERR offset is out of range") }
        let db = client.db
        let key = args.bytes(1)
        let patch = args.bytes(3)
        guard let slot = db.lookupWrite(key) else {
            if patch.isEmpty { return client.reply.integer(0) }
            guard fitsBulkLimit(client, offset, patch.count) else { return }
            // Exactly sized, like Redis's new string; growth slack only comes with edits.
            let created = db.add(key, zeroedString: offset + patch.count)
            StringMutation.write(patch, at: offset, into: created.pointee.record.mutableValueBytes)
            db.modified(key)
            return client.reply.integer(offset + patch.count)
        }
        guard let length = StringMutation.length(slot) else { return client.error(ErrorReplies.wrongType) }
        if patch.isEmpty { return client.reply.integer(length) }
        guard fitsBulkLimit(client, offset, patch.count) else { return }
        let newLength = StringMutation.edit(slot, growingTo: offset + patch.count) { bytes in
            StringMutation.write(patch, at: offset, into: bytes)
        }
        db.modified(key)
        client.reply.integer(newLength)
    }

    // MARK: - INCR family

    /// INCR key.
    static func incr(_ client: Client, _ args: CommandArguments) { incrDecr(client, args, by: 1) }

    /// DECR key.
    static func decr(_ client: Client, _ args: CommandArguments) { incrDecr(client, args, by: -1) }

    /// INCRBY key increment.
    static func incrby(_ client: Client, _ args: CommandArguments) {
        guard let increment = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        incrDecr(client, args, by: increment)
    }

    /// DECRBY key decrement.
    static func decrby(_ client: Client, _ args: CommandArguments) {
        guard let decrement = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        // Negating the smallest integer has no result: Redis refuses it with its own text.
        guard decrement != Int.min else { return client.error("ERR decrement would overflow") }
        incrDecr(client, args, by: -decrement)
    }

    /// Adds `increment` to the integer at the key (0 when missing). The result is stored
    /// as its decimal text, which Redis keeps "int"-encoded: the raw mark is cleared.
    static func incrDecr(_ client: Client, _ args: CommandArguments, by increment: Int) {
        let db = client.db
        let key = args.bytes(1)
        let slot = db.lookupWrite(key)
        var current = 0
        if let slot {
            guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
            guard let value = StrictInteger.parse(bytes) else { return client.error(ErrorReplies.notInteger) }
            current = value
        }
        let (result, overflow) = current.addingReportingOverflow(increment)
        guard !overflow else { return client.error(ErrorReplies.overflow) }
        storeNumber(DecimalText.bytes(result), at: slot, key, in: db)
        client.reply.integer(result)
    }

    /// Stores the text of a number computed from the key's value (INCR family): in place
    /// when the key exists (no longer "raw" for OBJECT ENCODING), else as a new key.
    static func storeNumber(_ text: [UInt8], at slot: SlotPointer?, _ key: UnsafeRawBufferPointer, in db: Database) {
        if let slot {
            slot.pointee.value = .string(text)
            slot.pointee.meta &= ~KeyFlags.rawString
        } else {
            db.add(key, .string(text))
        }
        db.modified(key)
    }

    /// INCRBYFLOAT key increment: long double arithmetic, replied and stored in Redis's human-friendly format.
    static func incrbyfloat(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(1)
        let slot = db.lookupWrite(key)
        var current: LongDouble = 0
        if let slot {
            guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
            guard let value = bytes.withUnsafeBytes({ DoubleFormat.parseLongDouble($0) }) else {
                return client.error(ErrorReplies.notFloat)
            }
            current = value
        }
        guard let increment = DoubleFormat.parseLongDouble(args.bytes(2)) else { return client.error(ErrorReplies.notFloat) }
        let result = current + increment
        guard result.isFinite else { return client.error("ERR increment would produce NaN or Infinity") }
        let text = Array(DoubleFormat.humanFriendly(result).utf8)
        storeNumber(text, at: slot, key, in: db)
        client.reply.bulk(text)
    }
}

/// Redis's start/end rules for GETRANGE and BITCOUNT (Redis 7.0): negative indexes count
/// from the end; when both are negative and start > end the range is empty; otherwise
/// both are clamped to [0, length - 1], so a negative end beyond the start becomes 0.
enum StringRange {
    /// The byte range `start...end` selects in a string of `length` bytes, nil if empty.
    static func resolve(start: Int, end: Int, length: Int) -> ClosedRange<Int>? {
        if start < 0 && end < 0 && start > end { return nil }
        return clamp(start: start, end: end, length: length)
    }

    /// The same without the both-negative check (BITPOS has none).
    static func clamp(start: Int, end: Int, length: Int) -> ClosedRange<Int>? {
        // Wrapping as in C: length is small, so length + start cannot overflow anyway.
        var first = start < 0 ? length &+ start : start
        var last = end < 0 ? length &+ end : end
        if first < 0 { first = 0 }
        if last < 0 { last = 0 }
        if last >= length { last = length - 1 }
        guard first <= last else { return nil }
        return first...last
    }
}

/// In-place edits of a stored string (its record grows with slack, as Redis's sds does).
enum StringMutation {
    /// The length of the string at `slot`, or nil when the value is not a string.
    static func length(_ slot: SlotPointer) -> Int? {
        slot.pointee.stringBytes?.count
    }

    /// Grows the string at `slot` (the caller checked it is a string) to at least `count`
    /// bytes with zeros, runs `body` on all of its bytes and marks the key raw-encoded, as
    /// Redis does for strings edited in place. Returns the new length.
    @discardableResult
    static func edit(_ slot: SlotPointer, growingTo count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> Int {
        let bytes = slot.pointee.growString(to: count)
        body(bytes)
        slot.pointee.meta |= KeyFlags.rawString
        return bytes.count
    }

    /// Copies `patch` at `offset` of `bytes` (which is long enough).
    static func write(_ patch: UnsafeRawBufferPointer, at offset: Int, into bytes: UnsafeMutableRawBufferPointer) {
        guard patch.count > 0 else { return }
        (bytes.baseAddress! + offset).copyMemory(from: patch.baseAddress!, byteCount: patch.count)
    }
}

/// Decimal text of integers, as stored by the INCR family.
enum DecimalText {
    /// The decimal digits of `value` (with '-' when negative).
    static func bytes(_ value: Int) -> [UInt8] {
        var digits = [UInt8](repeating: 0, count: 20)
        var magnitude = value.magnitude
        var position = 20
        repeat {
            position -= 1
            digits[position] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
            magnitude /= 10
        } while magnitude > 0
        var result = [UInt8]()
        result.reserveCapacity(21 - position)
        if value < 0 { result.append(UInt8(ascii: "-")) }
        result.append(contentsOf: digits[position...])
        return result
    }
}

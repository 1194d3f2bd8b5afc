import RESP
import Store

/*
 Bitmaps are strings addressed bit by bit, most significant bit of each byte first (bit 0
 is 0x80 of byte 0), as in Redis. A write beyond the end zero-extends the string; a read
 beyond the end sees zeros. Commands that edit bits in place mark the key raw-encoded.
*/

/// SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
public enum BitmapCommands {
    /// The specs of the bitmap family, with Redis 7.0.15's arity, flags and key positions.
    public static var specs: [CommandSpec] { [
        CommandSpec("setbit", arity: 4, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "bitmap",
                    summary: "Sets or clears the bit at offset in the string value stored at key", handler: setbit),
        CommandSpec("getbit", arity: 3, flags: [.readonly, .fast], keys: (1, 1, 1), group: "bitmap",
                    summary: "Returns the bit value at offset in the string value stored at key", handler: getbit),
        CommandSpec("bitcount", arity: -2, flags: [.readonly], keys: (1, 1, 1), group: "bitmap",
                    summary: "Count set bits in a string", handler: bitcount),
        CommandSpec("bitpos", arity: -3, flags: [.readonly], keys: (1, 1, 1), group: "bitmap",
                    summary: "Find first bit set or clear in a string", handler: bitpos),
        CommandSpec("bitop", arity: -4, flags: [.write, .denyOOM], keys: (2, -1, 1), group: "bitmap",
                    summary: "Perform bitwise operations between strings", handler: bitop),
        CommandSpec("bitfield", arity: -2, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "bitmap",
                    summary: "Perform arbitrary bitfield integer operations on strings",
                    handler: BitfieldCommand.bitfield),
        CommandSpec("bitfield_ro", arity: -2, flags: [.readonly, .fast], keys: (1, 1, 1), group: "bitmap",
                    summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
                    handler: BitfieldCommand.bitfieldReadOnly),
    ] }

    /// Error for a bad bit offset (also used by BITFIELD).
    static let offsetError = "ERR bit offset is not an integer or out of range"
    /// Error for a SETBIT value other than 0 or 1.
    static let bitValueError = "ERR bit is not an integer or out of range"

    // MARK: - Shared helpers

    /// Parses a bit offset argument; nil when invalid. With `hashWidth` > 0 (BITFIELD) the
    /// form "#N" means N * hashWidth. Offsets whose byte lies at or beyond
    /// proto-max-bulk-len are refused, so a bitmap never outgrows a string's limit.
    static func parseOffset(_ arg: UnsafeRawBufferPointer, hashWidth: Int = 0, byteLimit: Int) -> Int? {
        var digits = arg
        let hashed = hashWidth > 0 && arg.count > 0 && arg[0] == UInt8(ascii: "#")
        if hashed { digits = UnsafeRawBufferPointer(rebasing: arg[1...]) }
        guard var offset = StrictInteger.parse(digits) else { return nil }
        if hashed {
            let (product, overflow) = offset.multipliedReportingOverflow(by: hashWidth)
            if overflow { return nil }
            offset = product
        }
        if offset < 0 || (offset >> 3) >= byteLimit { return nil }
        return offset
    }

    /// Redis's lookupStringForBitCommand for writers: the string at `key`, created or
    /// zero-extended to at least `minimumBytes`, handed to `body` uniquely owned together
    /// with whether it was created or grown. Returns false after replying WRONGTYPE. The
    /// caller signals the change (only when something changed, as Redis 7.0 does).
    static func withStringForWrite(_ client: Client, _ key: UnsafeRawBufferPointer, minimumBytes: Int,
                                   _ body: (UnsafeMutableRawBufferPointer, _ grown: Bool) -> Void) -> Bool {
        let db = client.db
        guard let slot = db.lookupWrite(key) else {
            let created = db.add(key, zeroedString: minimumBytes)
            body(created.pointee.record.mutableValueBytes, true)
            return true
        }
        guard let length = StringMutation.length(slot) else {
            client.error(ErrorReplies.wrongType)
            return false
        }
        StringMutation.edit(slot, growingTo: minimumBytes) { body($0, length < minimumBytes) }
        return true
    }

    // MARK: - SETBIT, GETBIT

    /// SETBIT key offset 0|1: the previous bit.
    static func setbit(_ client: Client, _ args: CommandArguments) {
        guard let offset = parseOffset(args.bytes(2), byteLimit: client.server.config.protoMaxBulkLength) else {
            return client.error(offsetError)
        }
        guard let on = args.integer(3), on & ~1 == 0 else { return client.error(bitValueError) }
        let key = args.bytes(1)
        let byte = offset >> 3
        let mask = UInt8(0x80) >> UInt8(offset & 7)
        var previous = 0
        var changed = false
        let done = withStringForWrite(client, key, minimumBytes: byte + 1) { bytes, grown in
            previous = bytes[byte] & mask != 0 ? 1 : 0
            if on == 1 { bytes[byte] |= mask } else { bytes[byte] &= ~mask }
            changed = grown || previous != on
        }
        guard done else { return }
        if changed { client.db.modified(key) }
        client.reply.integer(previous)
    }

    /// GETBIT key offset.
    static func getbit(_ client: Client, _ args: CommandArguments) {
        guard let offset = parseOffset(args.bytes(2), byteLimit: client.server.config.protoMaxBulkLength) else {
            return client.error(offsetError)
        }
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.integer(0) }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        let byte = offset >> 3
        let set = byte < bytes.count && bytes[byte] & (UInt8(0x80) >> UInt8(offset & 7)) != 0
        client.reply.integer(set ? 1 : 0)
    }

    // MARK: - BITCOUNT, BITPOS

    /// BYTE or BIT at `index`; nil (syntax error) for anything else.
    static func parseUnit(_ args: CommandArguments, _ index: Int) -> Bool? {
        if args.matches(index, "bit") { return true }
        if args.matches(index, "byte") { return false }
        return nil
    }

    /// BITCOUNT key [start end [BYTE | BIT]].
    static func bitcount(_ client: Client, _ args: CommandArguments) {
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.integer(0) }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        var bitRange: ClosedRange<Int>? = nil
        switch args.count {
        case 2:
            bitRange = bytes.isEmpty ? nil : 0...(bytes.count * 8 - 1)
        case 4, 5:
            guard let start = args.integer(2), let end = args.integer(3) else {
                return client.error(ErrorReplies.notInteger)
            }
            var inBits = false
            if args.count == 5 {
                guard let unit = parseUnit(args, 4) else { return client.error(ErrorReplies.syntax) }
                inBits = unit
            }
            if inBits {
                bitRange = StringRange.resolve(start: start, end: end, length: bytes.count * 8)
            } else if let range = StringRange.resolve(start: start, end: end, length: bytes.count) {
                bitRange = (range.lowerBound * 8)...(range.upperBound * 8 + 7)
            }
        default:
            return client.error(ErrorReplies.syntax)
        }
        guard let bitRange else { return client.reply.integer(0) }
        let count = bytes.withUnsafeBytes { BitOps.countOnes($0, bits: bitRange) }
        client.reply.integer(count)
    }

    /// BITPOS key bit [start [end [BYTE | BIT]]].
    static func bitpos(_ client: Client, _ args: CommandArguments) {
        guard let bit = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        guard bit == 0 || bit == 1 else { return client.error("ERR The bit argument must be 1 or 0.") }
        // A missing key is an endless run of zeros.
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.integer(bit == 1 ? -1 : 0) }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        var bitRange: ClosedRange<Int>? = nil
        var endGiven = false
        switch args.count {
        case 3:
            bitRange = bytes.isEmpty ? nil : 0...(bytes.count * 8 - 1)
        case 4, 5, 6:
            // Redis's order: start, then the unit, then end.
            guard let start = args.integer(3) else { return client.error(ErrorReplies.notInteger) }
            var inBits = false
            if args.count == 6 {
                guard let unit = parseUnit(args, 5) else { return client.error(ErrorReplies.syntax) }
                inBits = unit
            }
            let length = inBits ? bytes.count * 8 : bytes.count
            var end = length - 1
            if args.count >= 5 {
                guard let value = args.integer(4) else { return client.error(ErrorReplies.notInteger) }
                end = value
                endGiven = true
            }
            if let range = StringRange.clamp(start: start, end: end, length: length) {
                bitRange = inBits ? range : (range.lowerBound * 8)...(range.upperBound * 8 + 7)
            }
        default:
            return client.error(ErrorReplies.syntax)
        }
        // An empty range holds neither a 0 nor a 1.
        guard let bitRange else { return client.reply.integer(-1) }
        if let found = bytes.withUnsafeBytes({ BitOps.firstBit(bit == 1, in: $0, bits: bitRange) }) {
            return client.reply.integer(found)
        }
        // No clear bit: without an explicit end the string counts as padded with zeros on
        // the right, so the answer is the first bit past it; with an end, there is none.
        if bit == 0 && !endGiven { return client.reply.integer(bytes.count * 8) }
        client.reply.integer(-1)
    }

    // MARK: - BITOP

    /// BITOP AND | OR | XOR | NOT destkey key [key ...]: the length of the stored result.
    static func bitop(_ client: Client, _ args: CommandArguments) {
        guard let operation = BitOps.Operation(args, 1) else { return client.error(ErrorReplies.syntax) }
        if operation == .not && args.count != 4 {
            return client.error("ERR BITOP NOT must be called with a single source key.")
        }
        let db = client.db
        var sources: [[UInt8]] = []
        sources.reserveCapacity(args.count - 3)
        for index in 3..<args.count {
            guard let slot = db.lookupRead(args.bytes(index)) else {
                sources.append([])
                continue
            }
            guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
            sources.append([UInt8](bytes))  // a copy: the destination may be one of them
        }
        let result = BitOps.combine(operation, sources)
        let destination = args.bytes(2)
        if result.isEmpty {
            // Nothing to store: the destination is deleted (delete() signals if it existed).
            db.delete(destination)
            return client.reply.integer(0)
        }
        let count = result.count
        let slot: SlotPointer
        if let existing = db.lookupWrite(destination) {
            existing.pointee.value = .string(result)
            db.setExpiry(existing, 0)
            slot = existing
        } else {
            slot = db.add(destination, .string(result))
        }
        slot.pointee.meta |= KeyFlags.rawString
        db.modified(destination)
        client.reply.integer(count)
    }
}

/// Bit-level algorithms on byte strings (MSB-first bit order), free of server state.
enum BitOps {
    /// Number of set bits among the bits `bits` (bit positions, inclusive) of `bytes`.
    /// The range must lie inside the string.
    static func countOnes(_ bytes: UnsafeRawBufferPointer, bits: ClosedRange<Int>) -> Int {
        let firstByte = bits.lowerBound >> 3, lastByte = bits.upperBound >> 3
        var count = popcount(UnsafeRawBufferPointer(rebasing: bytes[firstByte...lastByte]))
        // Remove the bits of the edge bytes that lie outside the range.
        let headMask = UInt8(truncatingIfNeeded: 0xFF00 >> (bits.lowerBound & 7))  // bits before the start
        let tailMask = UInt8(0xFF) >> UInt8((bits.upperBound & 7) + 1)  // bits after the end
        count -= (bytes[firstByte] & headMask).nonzeroBitCount
        count -= (bytes[lastByte] & tailMask).nonzeroBitCount
        return count
    }

    /// Number of set bits in `bytes`, eight bytes at a time.
    static func popcount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var count = 0
        var index = 0
        let n = bytes.count
        while index + 8 <= n {
            count += bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self).nonzeroBitCount
            index += 8
        }
        while index < n {
            count += bytes[index].nonzeroBitCount
            index += 1
        }
        return count
    }

    /// The position of the first bit equal to `one` among `bits` of `bytes`, or nil.
    /// The range must lie inside the string.
    static func firstBit(_ one: Bool, in bytes: UnsafeRawBufferPointer, bits: ClosedRange<Int>) -> Int? {
        var position = bits.lowerBound
        let last = bits.upperBound
        @inline(__always) func bitAt(_ p: Int) -> Bool { bytes[p >> 3] & (UInt8(0x80) >> UInt8(p & 7)) != 0 }
        // Head, up to a byte boundary.
        while position <= last && position & 7 != 0 {
            if bitAt(position) == one { return position }
            position += 1
        }
        // Whole bytes: skip runs of the uninteresting byte a word at a time.
        let boring: UInt8 = one ? 0x00 : 0xFF
        let boringWord: UInt64 = one ? 0 : ~0
        var byte = position >> 3
        let endByte = (last + 1) >> 3  // bytes before this one lie entirely in the range
        while byte < endByte {
            if byte + 8 <= endByte && bytes.loadUnaligned(fromByteOffset: byte, as: UInt64.self) == boringWord {
                byte += 8
                continue
            }
            let value = bytes[byte]
            if value != boring {
                return byte * 8 + (one ? value : ~value).leadingZeroBitCount
            }
            byte += 1
        }
        // Tail, inside the last partial byte.
        position = max(position, byte * 8)
        while position <= last {
            if bitAt(position) == one { return position }
            position += 1
        }
        return nil
    }

    /// The BITOP operations.
    enum Operation {
        case and, or, xor, not

        /// The operation named by argument `index` (any case), or nil.
        init?(_ args: CommandArguments, _ index: Int) {
            if args.matches(index, "and") { self = .and }
            else if args.matches(index, "or") { self = .or }
            else if args.matches(index, "xor") { self = .xor }
            else if args.matches(index, "not") { self = .not }
            else { return nil }
        }
    }

    /// BITOP's result: as long as the longest source, shorter sources (and missing keys,
    /// given as empty arrays) padded with zero bytes. Empty when every source is empty.
    static func combine(_ operation: Operation, _ sources: [[UInt8]]) -> [UInt8] {
        let longest = sources.reduce(0) { max($0, $1.count) }
        guard longest > 0 else { return [] }
        if operation == .not {
            return sources[0].map { ~$0 }
        }
        if operation == .and && sources.contains(where: { $0.count < longest }) {
            // Some source is zero-padded: AND is zero there. Compute only the common prefix.
            let shortest = sources.reduce(longest) { min($0, $1.count) }
            var result = [UInt8](repeating: 0, count: longest)
            if shortest > 0 {
                for index in 0..<shortest { result[index] = sources[0][index] }
                for source in sources.dropFirst() { apply(.and, source, prefix: shortest, to: &result) }
            }
            return result
        }
        var result = operation == .and ? sources[0] : [UInt8](repeating: 0, count: longest)
        for source in operation == .and ? Array(sources.dropFirst()) : sources {
            apply(operation, source, prefix: source.count, to: &result)
        }
        return result
    }

    /// result[i] = result[i] (op) source[i] for i < prefix.
    private static func apply(_ operation: Operation, _ source: [UInt8], prefix: Int, to result: inout [UInt8]) {
        source.withUnsafeBytes { s in
            result.withUnsafeMutableBytes { r in
                var i = 0
                while i + 8 <= prefix {
                    let a = r.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    let b = s.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    let c: UInt64
                    switch operation {
                    case .and: c = a & b
                    case .or: c = a | b
                    case .xor: c = a ^ b
                    case .not: c = ~b
                    }
                    r.storeBytes(of: c, toByteOffset: i, as: UInt64.self)
                    i += 8
                }
                while i < prefix {
                    switch operation {
                    case .and: r[i] &= s[i]
                    case .or: r[i] |= s[i]
                    case .xor: r[i] ^= s[i]
                    case .not: r[i] = ~s[i]
                    }
                    i += 1
                }
            }
        }
    }
}

import RESP
import Store

/// BITFIELD and BITFIELD_RO: integers of 1 to 64 bits (signed) or 1 to 63 bits (unsigned)
/// at any bit offset of a string, read and written MSB first.
///
/// Every operation is parsed before anything runs, so a bad argument anywhere rejects the
/// whole command without side effects.
enum BitfieldCommand {
    /// Error for a type other than i1..i64 / u1..u63.
    static let typeError =
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

    /// What INCRBY and SET do when the result does not fit the field.
    enum Overflow { case wrap, sat, fail }

    /// One parsed GET, SET or INCRBY.
    struct Operation {
        /// GET, SET or INCRBY.
        enum Kind { case get, set, incrby }
        var kind: Kind
        var type: BitfieldType
        var offset: Int
        /// The SET value or INCRBY increment.
        var value: Int
        var overflow: Overflow
    }

    /// BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment |
    /// OVERFLOW WRAP|SAT|FAIL] ...
    static func bitfield(_ client: Client, _ args: CommandArguments) { run(client, args, readOnly: false) }

    /// BITFIELD_RO key [GET type offset] ...: refuses SET and INCRBY.
    static func bitfieldReadOnly(_ client: Client, _ args: CommandArguments) { run(client, args, readOnly: true) }

    /// Parses every operation; nil after replying the error.
    static func parse(_ client: Client, _ args: CommandArguments) -> [Operation]? {
        var operations: [Operation] = []
        var overflow = Overflow.wrap
        var index = 2
        let byteLimit = client.server.config.protoMaxBulkLength
        while index < args.count {
            let remaining = args.count - index - 1
            let kind: Operation.Kind
            if args.matches(index, "get") && remaining >= 2 {
                kind = .get
            } else if args.matches(index, "set") && remaining >= 3 {
                kind = .set
            } else if args.matches(index, "incrby") && remaining >= 3 {
                kind = .incrby
            } else if args.matches(index, "overflow") && remaining >= 1 {
                if args.matches(index + 1, "wrap") { overflow = .wrap }
                else if args.matches(index + 1, "sat") { overflow = .sat }
                else if args.matches(index + 1, "fail") { overflow = .fail }
                else {
                    client.error("ERR Invalid OVERFLOW type specified")
                    return nil
                }
                index += 2
                continue
            } else {
                client.error(ErrorReplies.syntax)
                return nil
            }
            guard let type = BitfieldType(args.bytes(index + 1)) else {
                client.error(typeError)
                return nil
            }
            guard let offset = BitmapCommands.parseOffset(args.bytes(index + 2), hashWidth: type.bits,
                                                          byteLimit: byteLimit) else {
                client.error(BitmapCommands.offsetError)
                return nil
            }
            var value = 0
            if kind != .get {
                guard let number = args.integer(index + 3) else {
                    client.error(ErrorReplies.notInteger)
                    return nil
                }
                value = number
            }
            operations.append(Operation(kind: kind, type: type, offset: offset, value: value, overflow: overflow))
            index += kind == .get ? 3 : 4
        }
        return operations
    }

    /// Runs the parsed operations in order, creating or growing the key first when any writes.
    static func run(_ client: Client, _ args: CommandArguments, readOnly: Bool) {
        guard let operations = parse(client, args) else { return }
        let key = args.bytes(1)
        let writes = operations.contains { $0.kind != .get }
        guard writes else {
            // Reads only: a missing key reads as zeros and is not created.
            var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            if let slot = client.db.lookupRead(key) {
                guard let stored = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
                bytes = stored
            }
            client.reply.arrayHeader(operations.count)
            for operation in operations {
                client.reply.integer(operation.type.read(bytes, at: operation.offset))
            }
            return
        }
        if readOnly { return client.error("ERR BITFIELD_RO only supports the GET subcommand") }
        let highestBit = operations.filter { $0.kind != .get }.map { $0.offset + $0.type.bits - 1 }.max() ?? 0
        var changes = 0
        let done = BitmapCommands.withStringForWrite(client, key, minimumBytes: (highestBit >> 3) + 1) { buffer, grown in
            client.reply.arrayHeader(operations.count)
            for operation in operations {
                let type = operation.type
                if operation.kind == .get {
                    client.reply.integer(type.read(UnsafeRawBufferPointer(buffer), at: operation.offset))
                    continue
                }
                let old = type.read(UnsafeRawBufferPointer(buffer), at: operation.offset)
                let outcome = operation.kind == .incrby
                    ? type.add(old, operation.value, operation.overflow)
                    : type.add(operation.value, 0, operation.overflow)
                guard let stored = outcome else {
                    client.reply.null()  // OVERFLOW FAIL: nothing written
                    continue
                }
                client.reply.integer(operation.kind == .incrby ? stored : old)
                type.write(stored, into: buffer, at: operation.offset)
                // Redis 7.0 counts a change only when the key was created or grown, or
                // the field's value changed.
                if grown || stored != old { changes += 1 }
            }
        }
        guard done, changes > 0 else { return }
        client.db.modified(key)
        client.server.store.dirty += changes - 1
    }
}

/// A BITFIELD type: "i1".."i64" or "u1".."u63" (lowercase letter only, as Redis 7.0
/// accepts: "I8" is an invalid type).
struct BitfieldType: Equatable {
    /// True for iN types (two's complement), false for uN.
    var signed: Bool
    /// Width, 1 to 64.
    var bits: Int

    /// A type from its parts.
    init(signed: Bool, bits: Int) {
        self.signed = signed
        self.bits = bits
    }

    /// Parses "i8", "u16"...; nil when invalid.
    init?(_ text: UnsafeRawBufferPointer) {
        guard text.count >= 2 else { return nil }
        switch text[0] {
        case UInt8(ascii: "i"): signed = true
        case UInt8(ascii: "u"): signed = false
        default: return nil
        }
        guard let bits = StrictInteger.parse(UnsafeRawBufferPointer(rebasing: text[1...])),
              bits >= 1, bits <= (signed ? 64 : 63) else { return nil }
        self.bits = bits
    }

    /// The field at bit `offset`; bits beyond the end of `bytes` read as zero.
    func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        var raw: UInt64 = 0
        for position in offset..<(offset + bits) {
            let byte = position >> 3
            let bit: UInt64 = byte < bytes.count && bytes[byte] & (UInt8(0x80) >> UInt8(position & 7)) != 0 ? 1 : 0
            raw = (raw << 1) | bit
        }
        if signed && bits < 64 && raw & (1 << UInt64(bits - 1)) != 0 {
            raw |= ~0 << UInt64(bits)  // sign-extend
        }
        return Int(bitPattern: UInt(raw))
    }

    /// Writes the low `bits` bits of `value` at bit `offset` (inside `bytes`).
    func write(_ value: Int, into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        let raw = UInt64(bitPattern: Int64(value))
        for index in 0..<bits {
            let position = offset + index
            let mask = UInt8(0x80) >> UInt8(position & 7)
            if raw & (1 << UInt64(bits - 1 - index)) != 0 {
                bytes[position >> 3] |= mask
            } else {
                bytes[position >> 3] &= ~mask
            }
        }
    }

    /// `value + increment` in this type under `overflow`: the result to store, or nil when
    /// it overflows under FAIL. SET uses it with increment 0 to bring its value in range.
    func add(_ value: Int, _ increment: Int, _ overflow: BitfieldCommand.Overflow) -> Int? {
        signed ? addSigned(value, increment, overflow) : addUnsigned(value, increment, overflow)
    }

    private func addSigned(_ value: Int, _ increment: Int, _ overflow: BitfieldCommand.Overflow) -> Int? {
        let maximum = bits == 64 ? Int.max : (1 << (bits - 1)) - 1
        let minimum = -maximum - 1
        // As in Redis, these may wrap; they are only used once `value` is known in range.
        let maxIncrement = maximum &- value
        let minIncrement = minimum &- value
        let tooBig = value > maximum || (bits != 64 && increment > maxIncrement)
            || (value >= 0 && increment > 0 && increment > maxIncrement)
        let tooSmall = !tooBig && (value < minimum || (bits != 64 && increment < minIncrement)
            || (value < 0 && increment < 0 && increment < minIncrement))
        guard tooBig || tooSmall else { return value + increment }
        switch overflow {
        case .fail: return nil
        case .sat: return tooBig ? maximum : minimum
        case .wrap:
            var sum = UInt64(bitPattern: Int64(value)) &+ UInt64(bitPattern: Int64(increment))
            if bits < 64 {
                let high: UInt64 = ~0 << UInt64(bits)
                sum = sum & (1 << UInt64(bits - 1)) != 0 ? sum | high : sum & ~high
            }
            return Int(Int64(bitPattern: sum))
        }
    }

    private func addUnsigned(_ value: Int, _ increment: Int, _ overflow: BitfieldCommand.Overflow) -> Int? {
        // The value is taken as unsigned, as C does with the uint64_t field (a negative SET
        // value is a huge number: it overflows upwards).
        let current = UInt64(bitPattern: Int64(value))
        let maximum: UInt64 = (1 << UInt64(bits)) - 1
        let maxIncrement = Int64(bitPattern: maximum &- current)
        let minIncrement = Int64(bitPattern: 0 &- current)
        let delta = Int64(increment)
        let tooBig = current > maximum || (delta > 0 && delta > maxIncrement)
        let tooSmall = !tooBig && delta < 0 && delta < minIncrement
        guard tooBig || tooSmall else { return Int(bitPattern: UInt(current &+ UInt64(bitPattern: delta))) }
        switch overflow {
        case .fail: return nil
        case .sat: return tooBig ? Int(maximum) : 0
        case .wrap:
            let sum = (current &+ UInt64(bitPattern: delta)) & maximum
            return Int(sum)
        }
    }
}

import RESP
import Store

/*
 The hash family. Every command reaches the hash through `Database.hash` (a small hash
 comes as a copy of its listpack, a large one as the record's own FieldTable, changed in
 place without a copy) and puts a changed one back with `Database.store`, which writes the
 form and deletes an emptied key.
*/
enum HashCommands {
    static var specs: [CommandSpec] { [
        CommandSpec("hset", arity: -4, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Set the string value of a hash field", handler: { hset($0, $1, hmset: false) }),
        CommandSpec("hmset", arity: -4, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Set multiple hash fields to multiple values", handler: { hset($0, $1, hmset: true) }),
        CommandSpec("hsetnx", arity: 4, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Set the value of a hash field, only if the field does not exist", handler: hsetnx),
        CommandSpec("hget", arity: 3, flags: [.readonly, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Get the value of a hash field", handler: hget),
        CommandSpec("hmget", arity: -3, flags: [.readonly, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Get the values of all the given hash fields", handler: hmget),
        CommandSpec("hdel", arity: -3, flags: [.write, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Delete one or more hash fields", handler: hdel),
        CommandSpec("hexists", arity: 3, flags: [.readonly, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Determine if a hash field exists", handler: hexists),
        CommandSpec("hlen", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Get the number of fields in a hash", handler: hlen),
        CommandSpec("hstrlen", arity: 3, flags: [.readonly, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Get the length of the value of a hash field", handler: hstrlen),
        CommandSpec("hkeys", arity: 2, flags: [.readonly], keys: (1, 1, 1), group: "hash",
                    summary: "Get all the fields in a hash", handler: { all($0, $1, fields: true, values: false) }),
        CommandSpec("hvals", arity: 2, flags: [.readonly], keys: (1, 1, 1), group: "hash",
                    summary: "Get all the values in a hash", handler: { all($0, $1, fields: false, values: true) }),
        CommandSpec("hgetall", arity: 2, flags: [.readonly], keys: (1, 1, 1), group: "hash",
                    summary: "Get all the fields and values in a hash", handler: { all($0, $1, fields: true, values: true) }),
        CommandSpec("hincrby", arity: 4, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Increment the integer value of a hash field by the given number", handler: hincrby),
        CommandSpec("hincrbyfloat", arity: 4, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hash",
                    summary: "Increment the float value of a hash field by the given amount", handler: hincrbyfloat),
        CommandSpec("hrandfield", arity: -2, flags: [.readonly], keys: (1, 1, 1), group: "hash",
                    summary: "Get one or multiple random fields from a hash", handler: hrandfield),
        CommandSpec("hscan", arity: -3, flags: [.readonly], keys: (1, 1, 1), group: "hash",
                    summary: "Incrementally iterate hash fields and associated values", handler: hscan),
    ] }

    // MARK: - Reading

    enum Lookup {
        case found(HashValue)
        case missing
        case wrongType
    }

    /// The hash at `key` for a command that only reads it: `.missing`, or `.wrongType`
    /// after replying WRONGTYPE.
    static func readHash(_ client: Client, _ key: UnsafeRawBufferPointer) -> Lookup {
        guard let slot = client.db.lookupRead(key) else { return .missing }
        guard let hash = client.db.hash(slot) else {
            client.error(ErrorReplies.wrongType)
            return .wrongType
        }
        return .found(hash)
    }

    /// HGET key field: the value, or nil.
    static func hget(_ client: Client, _ args: CommandArguments) {
        switch readHash(client, args.bytes(1)) {
        case .found(let hash):
            if !hash.withValue(args.bytes(2), { client.reply.bulk($0) }) { client.reply.null() }
        case .missing: client.reply.null()
        case .wrongType: break
        }
    }

    /// HMGET key field [field ...]: each field's value or nil.
    static func hmget(_ client: Client, _ args: CommandArguments) {
        let hash: HashValue?
        switch readHash(client, args.bytes(1)) {
        case .found(let found): hash = found
        case .missing: hash = nil
        case .wrongType: return
        }
        client.reply.arrayHeader(args.count - 2)
        for index in 2..<args.count {
            if hash?.withValue(args.bytes(index), { client.reply.bulk($0) }) != true { client.reply.null() }
        }
    }

    /// HEXISTS key field: 1 or 0.
    static func hexists(_ client: Client, _ args: CommandArguments) {
        switch readHash(client, args.bytes(1)) {
        case .found(let hash): client.reply.integer(hash.contains(args.bytes(2)) ? 1 : 0)
        case .missing: client.reply.integer(0)
        case .wrongType: break
        }
    }

    /// HLEN key: the number of fields (0 for a missing key).
    static func hlen(_ client: Client, _ args: CommandArguments) {
        switch readHash(client, args.bytes(1)) {
        case .found(let hash): client.reply.integer(hash.count)
        case .missing: client.reply.integer(0)
        case .wrongType: break
        }
    }

    /// HSTRLEN key field: the length of the field's value (0 when it is missing).
    static func hstrlen(_ client: Client, _ args: CommandArguments) {
        switch readHash(client, args.bytes(1)) {
        case .found(let hash):
            var length = 0
            hash.withValue(args.bytes(2)) { length = $0.count }
            client.reply.integer(length)
        case .missing: client.reply.integer(0)
        case .wrongType: break
        }
    }

    /// HKEYS, HVALS and HGETALL: the fields, the values, or both (a RESP3 map).
    static func all(_ client: Client, _ args: CommandArguments, fields: Bool, values: Bool) {
        switch readHash(client, args.bytes(1)) {
        case .found(let hash):
            if fields && values { client.reply.mapHeader(hash.count) } else { client.reply.arrayHeader(hash.count) }
            hash.forEach { field, value in
                if fields { client.reply.bulk(field) }
                if values { client.reply.bulk(value) }
            }
        case .missing:
            if fields && values { client.reply.mapHeader(0) } else { client.reply.arrayHeader(0) }
        case .wrongType: break
        }
    }

    // MARK: - Writing

    /// The hash at `key` to change, created empty when the key is missing (`slot` nil: the
    /// caller adds it), or nil after a WRONGTYPE reply.
    static func writableHash(_ client: Client, _ key: UnsafeRawBufferPointer) -> (HashValue, SlotPointer?)? {
        guard let slot = client.db.lookupWrite(key) else { return (.empty, nil) }
        guard let hash = client.db.hash(slot) else {
            client.error(ErrorReplies.wrongType)
            return nil
        }
        return (hash, slot)
    }

    /// Puts a changed `hash` back (or adds the key when `slot` is nil) and signals the
    /// change: the fields and values `body` writes were set.
    static func save(_ hash: HashValue, at slot: SlotPointer?, _ key: UnsafeRawBufferPointer, in db: Database,
                     _ body: (inout ChangeWriter) -> Void) {
        if let slot { db.store(hash, at: slot) } else { db.add(key, hash: hash) }
        db.modified(key, by: .hashSet, body)
    }

    /// HSET key field value [field value ...]: how many fields were new. HMSET is the same
    /// command replying +OK.
    static func hset(_ client: Client, _ args: CommandArguments, hmset: Bool) {
        guard args.count % 2 == 0 else { return client.error(ErrorReplies.wrongArity(hmset ? "hmset" : "hset")) }
        let key = args.bytes(1)
        guard case (var hash, let slot)? = writableHash(client, key) else { return }
        let limits = client.db.limits
        var added = 0
        for index in stride(from: 2, to: args.count, by: 2)
        where hash.set(args.bytes(index), args.bytes(index + 1), limits: limits) {
            added += 1
        }
        save(hash, at: slot, key, in: client.db) { change in
            for index in 2..<args.count { change.argument(args.bytes(index)) }
        }
        if hmset { client.reply.ok() } else { client.reply.integer(added) }
    }

    /// HSETNX key field value: 1 when the field was set, 0 when it was already there.
    static func hsetnx(_ client: Client, _ args: CommandArguments) {
        let key = args.bytes(1)
        guard case (var hash, let slot)? = writableHash(client, key) else { return }
        if hash.contains(args.bytes(2)) { return client.reply.integer(0) }
        hash.set(args.bytes(2), args.bytes(3), limits: client.db.limits)
        save(hash, at: slot, key, in: client.db) { $0.argument(args.bytes(2)); $0.argument(args.bytes(3)) }
        client.reply.integer(1)
    }

    /// HDEL key field [field ...]: how many fields were removed; an emptied hash goes.
    static func hdel(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else { return client.reply.integer(0) }
        guard var hash = db.hash(slot) else { return client.error(ErrorReplies.wrongType) }
        var removed = 0
        for index in 2..<args.count where hash.remove(args.bytes(index)) { removed += 1 }
        if removed > 0 {
            db.store(hash, at: slot)
            db.modified(key, by: .hashDelete) { change in
                for index in 2..<args.count { change.argument(args.bytes(index)) }
            }
        }
        client.reply.integer(removed)
    }

    /// HINCRBY key field increment: the field's new integer value (a missing field is 0).
    static func hincrby(_ client: Client, _ args: CommandArguments) {
        guard let increment = args.integer(3) else { return client.error(ErrorReplies.notInteger) }
        let key = args.bytes(1), field = args.bytes(2)
        guard case (var hash, let slot)? = writableHash(client, key) else { return }
        var current = 0
        var valid = true
        hash.withValue(field) { value in
            if let number = StrictInteger.parse(value) { current = number } else { valid = false }
        }
        guard valid else { return client.error("ERR hash value is not an integer") }
        let (result, overflow) = current.addingReportingOverflow(increment)
        guard !overflow else { return client.error(ErrorReplies.overflow) }
        let text = DecimalText.bytes(result)
        text.withUnsafeBytes { _ = hash.set(field, $0, limits: client.db.limits) }
        save(hash, at: slot, key, in: client.db) { $0.argument(field); $0.argument(text) }
        client.reply.integer(result)
    }

    /// HINCRBYFLOAT key field increment: long double arithmetic, stored and replied in
    /// Redis's human-friendly format, as INCRBYFLOAT.
    static func hincrbyfloat(_ client: Client, _ args: CommandArguments) {
        guard let increment = DoubleFormat.parseLongDouble(args.bytes(3)) else {
            return client.error(ErrorReplies.notFloat)
        }
        guard increment.isFinite else { return client.error("ERR value is NaN or Infinity") }
        let key = args.bytes(1), field = args.bytes(2)
        guard case (var hash, let slot)? = writableHash(client, key) else { return }
        var current: LongDouble = 0
        var valid = true
        hash.withValue(field) { value in
            if let number = DoubleFormat.parseLongDouble(value) { current = number } else { valid = false }
        }
        guard valid else { return client.error("ERR hash value is not a float") }
        let result = current + increment
        guard result.isFinite else { return client.error("ERR increment would produce NaN or Infinity") }
        let text = Array(DoubleFormat.humanFriendly(result).utf8)
        text.withUnsafeBytes { _ = hash.set(field, $0, limits: client.db.limits) }
        save(hash, at: slot, key, in: client.db) { $0.argument(field); $0.argument(text) }
        client.reply.bulk(text)
    }

    // MARK: - HRANDFIELD

    /*
     HRANDFIELD key [count [WITHVALUES]]. Without a count: one field, or nil. With a count
     (checked before the key, as Redis does): count > 0 gives up to count distinct fields,
     count < 0 exactly -count drawn independently. WITHVALUES pairs each field with its
     value: flat in RESP2, a two-element array per field in RESP3.
    */
    static func hrandfield(_ client: Client, _ args: CommandArguments) {
        guard args.count >= 3 else {
            switch readHash(client, args.bytes(1)) {
            case .found(let hash): client.reply.bulk(hash.randomPair().field)
            case .missing: client.reply.null()
            case .wrongType: break
            }
            return
        }
        guard let count = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        guard count != Int.min else { return client.error(SetCommands.randomCountRange) }
        guard args.count == 3 || (args.count == 4 && args.matches(3, "withvalues")) else {
            return client.error(ErrorReplies.syntax)
        }
        let withValues = args.count == 4
        if withValues && (count < -(Int.max / 2) || count > Int.max / 2) {
            return client.error("ERR value is out of range")
        }
        let hash: HashValue
        switch readHash(client, args.bytes(1)) {
        case .found(let found): hash = found
        case .missing: return client.reply.arrayHeader(0)
        case .wrongType: return
        }
        let resp3 = client.reply.resp3
        func header(_ n: Int) { client.reply.arrayHeader(withValues && !resp3 ? n * 2 : n) }
        func pair(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
            if withValues && resp3 { client.reply.arrayHeader(2) }
            client.reply.bulk(field)
            if withValues { client.reply.bulk(value) }
        }
        if count < 0 {
            header(-count)
            hash.forEachRandomPair(-count, pair)
        } else if count == 0 {
            client.reply.arrayHeader(0)
        } else if count >= hash.count {
            header(hash.count)
            hash.forEach(pair)
        } else {
            let chosen = hash.randomPairs(distinct: count)
            header(chosen.count)
            for (field, value) in chosen {
                field.withUnsafeBytes { f in value.withUnsafeBytes { pair(f, $0) } }
            }
        }
    }

    // MARK: - HSCAN

    /// HSCAN key cursor [MATCH pattern] [COUNT count]: fields and values, flat
    /// (`KeyCommands.scanCollection`). MATCH tests the field.
    static func hscan(_ client: Client, _ args: CommandArguments) {
        guard let cursor = KeyCommands.parseCursor(args.bytes(2)) else { return client.error("ERR invalid cursor") }
        switch readHash(client, args.bytes(1)) {
        case .found(let hash):
            let table: FieldTable? = if case .table(let table) = hash { table } else { nil }
            KeyCommands.scanCollection(client, args, from: cursor, table: table, withValues: true, small: hash.forEach)
        case .missing: KeyCommands.replyEmptyScan(client)
        case .wrongType: break
        }
    }
}

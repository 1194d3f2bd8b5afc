import RESP
import Store

/*
 The set family. Every command reaches the set through `Database.set` (a small set comes as
 a copy of its intset or listpack bytes, a large one as the record's own FieldTable, changed
 in place without a copy) and puts a changed one back with `Database.store`, which writes
 the form and deletes an emptied key.

 The commands over several keys (SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD)
 look every key up before any work, as Redis 7.0 does: a missing key is an empty set, and
 a key of another type is WRONGTYPE wherever it stands, even after a missing one.
*/
enum SetCommands {
    static var specs: [CommandSpec] { [
        CommandSpec("sadd", arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "set",
                    summary: "Add one or more members to a set", handler: sadd),
        CommandSpec("srem", arity: -3, flags: [.write, .fast], keys: (1, 1, 1), group: "set",
                    summary: "Remove one or more members from a set", handler: srem),
        CommandSpec("smembers", arity: 2, flags: [.readonly], keys: (1, 1, 1), group: "set",
                    summary: "Get all the members in a set", handler: smembers),
        CommandSpec("sismember", arity: 3, flags: [.readonly, .fast], keys: (1, 1, 1), group: "set",
                    summary: "Determine if a given value is a member of a set", handler: sismember),
        CommandSpec("smismember", arity: -3, flags: [.readonly, .fast], keys: (1, 1, 1), group: "set",
                    summary: "Returns the membership associated with the given elements for a set",
                    handler: smismember),
        CommandSpec("scard", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), group: "set",
                    summary: "Get the number of members in a set", handler: scard),
        CommandSpec("spop", arity: -2, flags: [.write, .fast], keys: (1, 1, 1), group: "set",
                    summary: "Remove and return one or multiple random members from a set", handler: spop),
        CommandSpec("srandmember", arity: -2, flags: [.readonly], keys: (1, 1, 1), group: "set",
                    summary: "Get one or multiple random members from a set", handler: srandmember),
        CommandSpec("smove", arity: 4, flags: [.write, .fast], keys: (1, 2, 1), group: "set",
                    summary: "Move a member from one set to another", handler: smove),
        CommandSpec("sinter", arity: -2, flags: [.readonly], keys: (1, -1, 1), group: "set",
                    summary: "Intersect multiple sets", handler: { combine($0, $1, .intersection) }),
        CommandSpec("sintercard", arity: -3, flags: [.readonly], group: "set",
                    summary: "Intersect multiple sets and return the cardinality of the result",
                    keySearch: { ListCommands.numkeysPositions($0, at: 1) }, handler: sintercard),
        CommandSpec("sunion", arity: -2, flags: [.readonly], keys: (1, -1, 1), group: "set",
                    summary: "Add multiple sets", handler: { combine($0, $1, .union) }),
        CommandSpec("sdiff", arity: -2, flags: [.readonly], keys: (1, -1, 1), group: "set",
                    summary: "Subtract multiple sets", handler: { combine($0, $1, .difference) }),
        CommandSpec("sinterstore", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 1), group: "set",
                    summary: "Intersect multiple sets and store the resulting set in a key",
                    handler: { combineAndStore($0, $1, .intersection) }),
        CommandSpec("sunionstore", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 1), group: "set",
                    summary: "Add multiple sets and store the resulting set in a key",
                    handler: { combineAndStore($0, $1, .union) }),
        CommandSpec("sdiffstore", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 1), group: "set",
                    summary: "Subtract multiple sets and store the resulting set in a key",
                    handler: { combineAndStore($0, $1, .difference) }),
        CommandSpec("sscan", arity: -3, flags: [.readonly], keys: (1, 1, 1), group: "set",
                    summary: "Incrementally iterate Set elements", handler: sscan),
    ] }

    /// SRANDMEMBER's count range is -LONG_MAX...LONG_MAX: |count| must fit.
    static let randomCountRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"

    // MARK: - One key

    /// SADD key member [member ...]: how many members were new.
    static func sadd(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(1)
        let limits = db.limits
        guard let slot = db.lookupWrite(key) else {
            var set = SetValue.empty
            for index in 2..<args.count { set.add(args.bytes(index), limits: limits) }
            db.add(key, set: set)
            logMembers(db, key, args, .setAdd)
            return client.reply.integer(set.count)
        }
        guard var set = db.set(slot) else { return client.error(ErrorReplies.wrongType) }
        var added = 0
        for index in 2..<args.count where set.add(args.bytes(index), limits: limits) { added += 1 }
        if added > 0 {
            db.store(set, at: slot)
            logMembers(db, key, args, .setAdd)
        }
        client.reply.integer(added)
    }

    /// SREM key member [member ...]: how many members were removed; an emptied set goes.
    static func srem(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else { return client.reply.integer(0) }
        guard var set = db.set(slot) else { return client.error(ErrorReplies.wrongType) }
        var removed = 0
        for index in 2..<args.count where set.remove(args.bytes(index)) { removed += 1 }
        if removed > 0 {
            db.store(set, at: slot)
            logMembers(db, key, args, .setRemove)
        }
        client.reply.integer(removed)
    }

    /// Signals that arguments 2... were added to or removed from `key` (logged as such).
    static func logMembers(_ db: Database, _ key: UnsafeRawBufferPointer, _ args: CommandArguments, _ op: ChangeOp) {
        db.modified(key, by: op) { change in
            for index in 2..<args.count { change.argument(args.bytes(index)) }
        }
    }

    /// The set at `key` for a command that only reads it: `.missing`, or `.wrongType`
    /// after replying WRONGTYPE.
    static func readSet(_ client: Client, _ key: UnsafeRawBufferPointer) -> Lookup {
        guard let slot = client.db.lookupRead(key) else { return .missing }
        guard let set = client.db.set(slot) else {
            client.error(ErrorReplies.wrongType)
            return .wrongType
        }
        return .found(set)
    }

    enum Lookup {
        case found(SetValue)
        case missing
        case wrongType
    }

    /// SMEMBERS key: every member (a RESP3 set).
    static func smembers(_ client: Client, _ args: CommandArguments) {
        switch readSet(client, args.bytes(1)) {
        case .found(let set): replyMembers(client, set)
        case .missing: client.reply.setHeader(0)
        case .wrongType: break
        }
    }

    /// Writes every member of `set` as a RESP3 set (an array in RESP2).
    static func replyMembers(_ client: Client, _ set: SetValue) {
        client.reply.setHeader(set.count)
        set.forEach { client.reply.bulk($0) }
    }

    /// SISMEMBER key member: 1 or 0.
    static func sismember(_ client: Client, _ args: CommandArguments) {
        switch readSet(client, args.bytes(1)) {
        case .found(let set): client.reply.integer(set.contains(args.bytes(2)) ? 1 : 0)
        case .missing: client.reply.integer(0)
        case .wrongType: break
        }
    }

    /// SMISMEMBER key member [member ...]: 1 or 0 for each member.
    static func smismember(_ client: Client, _ args: CommandArguments) {
        let set: SetValue?
        switch readSet(client, args.bytes(1)) {
        case .found(let found): set = found
        case .missing: set = nil
        case .wrongType: return
        }
        client.reply.arrayHeader(args.count - 2)
        for index in 2..<args.count { client.reply.integer(set?.contains(args.bytes(index)) == true ? 1 : 0) }
    }

    /// SCARD key: the number of members (0 for a missing key).
    static func scard(_ client: Client, _ args: CommandArguments) {
        switch readSet(client, args.bytes(1)) {
        case .found(let set): client.reply.integer(set.count)
        case .missing: client.reply.integer(0)
        case .wrongType: break
        }
    }

    // MARK: - Random members

    /// SPOP key [count]: one random member removed (nil for a missing key), or with a count
    /// up to count distinct ones (a RESP3 set). Popping the last member deletes the key.
    static func spop(_ client: Client, _ args: CommandArguments) {
        guard args.count <= 3 else { return client.error(ErrorReplies.syntax) }
        let (valid, count) = ListCommands.optionalCount(client, args)
        guard valid else { return }
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else {
            return count == nil ? client.reply.null() : client.reply.setHeader(0)
        }
        guard var set = db.set(slot) else { return client.error(ErrorReplies.wrongType) }
        guard let count else {
            let member = set.randomMember()
            member.withUnsafeBytes { _ = set.remove($0) }
            db.store(set, at: slot)
            db.modified(key, by: .setRemove) { $0.argument(member) }  // logged by its effect
            return client.reply.bulk(member)
        }
        if count == 0 { return client.reply.setHeader(0) }
        if count >= set.count {
            replyMembers(client, set)
            db.remove(slot)
            db.modified(key)
            return
        }
        let popped = set.popRandom(count)
        db.store(set, at: slot)
        db.modified(key, by: .setRemove) { change in
            for member in popped { change.argument(member) }
        }
        client.reply.setHeader(popped.count)
        for member in popped { client.reply.bulk(member) }
    }

    /// SRANDMEMBER key [count]: one random member (nil for a missing key), or an array: for
    /// count > 0 up to count distinct members, for count < 0 exactly -count members drawn
    /// independently (repeats allowed).
    static func srandmember(_ client: Client, _ args: CommandArguments) {
        guard args.count <= 3 else { return client.error(ErrorReplies.syntax) }
        var count: Int?
        if args.count == 3 {
            guard let n = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
            guard n != Int.min else { return client.error(randomCountRange) }
            count = n
        }
        let set: SetValue
        switch readSet(client, args.bytes(1)) {
        case .found(let found): set = found
        case .missing: return count == nil ? client.reply.null() : client.reply.arrayHeader(0)
        case .wrongType: return
        }
        guard let count else { return client.reply.bulk(set.randomMember()) }
        if count < 0 {
            client.reply.arrayHeader(-count)
            set.forEachRandomMember(-count) { client.reply.bulk($0) }
        } else if count == 0 {
            client.reply.arrayHeader(0)
        } else if count >= set.count {
            client.reply.arrayHeader(set.count)
            set.forEach { client.reply.bulk($0) }
        } else {
            let chosen = set.randomMembers(distinct: count)
            client.reply.arrayHeader(chosen.count)
            for member in chosen { client.reply.bulk(member) }
        }
    }

    // MARK: - Two keys

    /// SMOVE source destination member: 1 when the member left source (and is now in
    /// destination), 0 when source lacks it. A missing source is 0 whatever destination
    /// holds; otherwise both must be sets.
    static func smove(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let source = args.bytes(1), destination = args.bytes(2), member = args.bytes(3)
        guard db.lookupWrite(source) != nil else { return client.reply.integer(0) }
        let destinationIsSet = db.lookupWrite(destination).map { $0.pointee.valueType == .set } ?? true
        // Looking destination up may have deleted it (expired), which moves slots: the
        // source's slot is found again rather than kept from the first lookup.
        guard let sourceSlot = db.find(source), var sourceSet = db.set(sourceSlot), destinationIsSet else {
            return client.error(ErrorReplies.wrongType)
        }
        if source.elementsEqual(destination) { return client.reply.integer(sourceSet.contains(member) ? 1 : 0) }
        guard sourceSet.remove(member) else { return client.reply.integer(0) }
        db.store(sourceSet, at: sourceSlot)
        db.modified(source, by: .setRemove) { $0.argument(member) }
        // Storing the source may have deleted its key, which invalidates the other slot.
        let limits = db.limits
        if let slot = db.find(destination), var destinationSet = db.set(slot) {
            if destinationSet.add(member, limits: limits) { db.store(destinationSet, at: slot) }
        } else {
            var set = SetValue.empty
            set.add(member, limits: limits)
            db.add(destination, set: set)
        }
        db.modified(destination, by: .setAdd) { $0.argument(member) }
        client.reply.integer(1)
    }

    // MARK: - Several keys

    enum Operation {
        case union, intersection, difference
    }

    /// The sets at argument positions `keys` (nil for a missing key), or nil after a
    /// WRONGTYPE reply.
    static func readSets(_ client: Client, _ args: CommandArguments, _ keys: Range<Int>) -> [SetValue?]? {
        var sets: [SetValue?] = []
        sets.reserveCapacity(keys.count)
        for index in keys {
            switch readSet(client, args.bytes(index)) {
            case .found(let set): sets.append(set)
            case .missing: sets.append(nil)
            case .wrongType: return nil
            }
        }
        return sets
    }

    /*
     The members of the union, intersection or difference of `sets`, each once (nil is an
     empty set). The intersection walks the smallest set and probes the others, smallest
     first, so a probe that fails fails early; the difference walks the first set. Their
     members are distinct by construction; the union deduplicates through a Swift set.
    */
    static func members(of sets: [SetValue?], _ operation: Operation) -> [[UInt8]] {
        var result: [[UInt8]] = []
        switch operation {
        case .union:
            var seen = Set<[UInt8]>()
            for case let set? in sets {
                set.forEach { member in
                    let bytes = [UInt8](member)
                    if seen.insert(bytes).inserted { result.append(bytes) }
                }
            }
        case .intersection:
            forEachCommonMember(sets) { result.append([UInt8]($0)) }
        case .difference:
            guard let first = sets.first, let first else { return [] }
            let others = sets.dropFirst().compactMap { $0 }
            first.forEach { member in
                if !others.contains(where: { $0.contains(member) }) { result.append([UInt8](member)) }
            }
        }
        return result
    }

    /// Calls `body` with every member all of `sets` hold (none when one is missing).
    static func forEachCommonMember(_ sets: [SetValue?], _ body: (UnsafeRawBufferPointer) -> Void) {
        guard !sets.isEmpty, !sets.contains(where: { $0 == nil }) else { return }
        let bySize = sets.map { $0! }.sorted { $0.count < $1.count }
        let others = bySize.dropFirst()
        bySize[0].forEach { member in
            if others.allSatisfy({ $0.contains(member) }) { body(member) }
        }
    }

    /// SINTER / SUNION / SDIFF key [key ...]: the members of the result (a RESP3 set).
    static func combine(_ client: Client, _ args: CommandArguments, _ operation: Operation) {
        guard let sets = readSets(client, args, 1..<args.count) else { return }
        let result = members(of: sets, operation)
        client.reply.setHeader(result.count)
        for member in result { client.reply.bulk(member) }
    }

    /// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the size of the
    /// result, which replaces destination whatever it held (its expiry goes too); an empty
    /// result deletes destination.
    static func combineAndStore(_ client: Client, _ args: CommandArguments, _ operation: Operation) {
        guard let sets = readSets(client, args, 2..<args.count) else { return }
        let db = client.db
        let destination = args.bytes(1)
        let result = members(of: sets, operation)
        guard !result.isEmpty else {
            db.delete(destination)
            return client.reply.integer(0)
        }
        // The result is built apart from the sources, so destination may be one of them.
        let set = SetValue.make(result, limits: db.limits)
        db.removeAnyTier(destination)
        db.add(destination, set: set)
        db.modified(destination)
        client.reply.integer(set.count)
    }

    /// SINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the intersection, counted
    /// up to limit when limit > 0.
    static func sintercard(_ client: Client, _ args: CommandArguments) {
        guard let n = args.integer(1), n > 0 else { return client.error("ERR numkeys should be greater than 0") }
        guard n <= args.count - 2 else { return client.error("ERR Number of keys can't be greater than number of args") }
        var limit = 0
        var index = 2 + n
        while index < args.count {
            guard args.matches(index, "limit"), index + 1 < args.count else { return client.error(ErrorReplies.syntax) }
            guard let value = args.integer(index + 1), value >= 0 else {
                return client.error("ERR LIMIT can't be negative")
            }
            limit = value
            index += 2
        }
        guard let sets = readSets(client, args, 2..<(2 + n)) else { return }
        var count = 0
        // The walk cannot stop early; past the limit it only skips.
        forEachCommonMember(sets) { _ in
            if limit == 0 || count < limit { count += 1 }
        }
        client.reply.integer(count)
    }

    // MARK: - SSCAN

    /// SSCAN key cursor [MATCH pattern] [COUNT count]: members (`KeyCommands.scanCollection`).
    static func sscan(_ client: Client, _ args: CommandArguments) {
        guard let cursor = KeyCommands.parseCursor(args.bytes(2)) else { return client.error("ERR invalid cursor") }
        switch readSet(client, args.bytes(1)) {
        case .found(let set):
            let table: FieldTable? = if case .table(let table) = set { table } else { nil }
            KeyCommands.scanCollection(client, args, from: cursor, table: table, withValues: false) { visit in
                set.forEach { visit($0, UnsafeRawBufferPointer(start: nil, count: 0)) }
            }
        case .missing: KeyCommands.replyEmptyScan(client)
        case .wrongType: break
        }
    }
}

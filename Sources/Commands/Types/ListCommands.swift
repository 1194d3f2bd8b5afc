import RESP
import Store

/*
 The list family. Every command reaches the list through `Database.list` (a packed small
 list comes as a one-node QuickList, a large one is the record's own object, changed in
 place) and puts it back with `Database.store`, which picks the form and deletes an
 emptied key. The blocking forms are in BlockingListCommands.swift.
*/
enum ListCommands {
    static var specs: [CommandSpec] { [
        CommandSpec("lpush", arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "list",
                    summary: "Prepend one or multiple elements to a list", handler: { push($0, $1, front: true, onlyExisting: false) }),
        CommandSpec("rpush", arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "list",
                    summary: "Append one or multiple elements to a list", handler: { push($0, $1, front: false, onlyExisting: false) }),
        CommandSpec("lpushx", arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "list",
                    summary: "Prepend an element to a list, only if the list exists",
                    handler: { push($0, $1, front: true, onlyExisting: true) }),
        CommandSpec("rpushx", arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "list",
                    summary: "Append an element to a list, only if the list exists",
                    handler: { push($0, $1, front: false, onlyExisting: true) }),
        CommandSpec("lpop", arity: -2, flags: [.write, .fast], keys: (1, 1, 1), group: "list",
                    summary: "Remove and get the first elements in a list", handler: { pop($0, $1, front: true) }),
        CommandSpec("rpop", arity: -2, flags: [.write, .fast], keys: (1, 1, 1), group: "list",
                    summary: "Remove and get the last elements in a list", handler: { pop($0, $1, front: false) }),
        CommandSpec("llen", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), group: "list",
                    summary: "Get the length of a list", handler: llen),
        CommandSpec("lrange", arity: 4, flags: [.readonly], keys: (1, 1, 1), group: "list",
                    summary: "Get a range of elements from a list", handler: lrange),
        CommandSpec("lindex", arity: 3, flags: [.readonly], keys: (1, 1, 1), group: "list",
                    summary: "Get an element from a list by its index", handler: lindex),
        CommandSpec("lset", arity: 4, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "list",
                    summary: "Set the value of an element in a list by its index", handler: lset),
        CommandSpec("linsert", arity: 5, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "list",
                    summary: "Insert an element before or after another element in a list", handler: linsert),
        CommandSpec("lrem", arity: 4, flags: [.write], keys: (1, 1, 1), group: "list",
                    summary: "Remove elements from a list", handler: lrem),
        CommandSpec("ltrim", arity: 4, flags: [.write], keys: (1, 1, 1), group: "list",
                    summary: "Trim a list to the specified range", handler: ltrim),
        CommandSpec("lpos", arity: -3, flags: [.readonly], keys: (1, 1, 1), group: "list",
                    summary: "Return the index of matching elements on a list", handler: lpos),
        CommandSpec("lmove", arity: 5, flags: [.write, .denyOOM], keys: (1, 2, 1), group: "list",
                    summary: "Pop an element from a list, push it to another list and return it", handler: lmove),
        CommandSpec("rpoplpush", arity: 3, flags: [.write, .denyOOM], keys: (1, 2, 1), group: "list",
                    summary: "Remove the last element in a list, prepend it to another list and return it",
                    handler: rpoplpush),
        CommandSpec("lmpop", arity: -4, flags: [.write], group: "list",
                    summary: "Pop elements from a list", keySearch: { numkeysPositions($0, at: 1) }, handler: lmpop),
    ] + BlockingListCommands.specs }

    // MARK: - Push and pop

    /// LPUSH / RPUSH / LPUSHX / RPUSHX key element [element ...]: the new length.
    static func push(_ client: Client, _ args: CommandArguments, front: Bool, onlyExisting: Bool) {
        let db = client.db
        let key = args.bytes(1)
        let limit = db.limits.listNode
        guard let slot = db.lookupWrite(key) else {
            if onlyExisting { return client.reply.integer(0) }
            let list = QuickList()
            for index in 2..<args.count { list.push(args.bytes(index), front: front, limit: limit) }
            db.add(key, list: list)
            logPush(db, key, args, front: front)
            return client.reply.integer(list.count)
        }
        guard let list = db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        for index in 2..<args.count { list.push(args.bytes(index), front: front, limit: limit) }
        db.store(list, at: slot)
        logPush(db, key, args, front: front)
        client.reply.integer(list.count)
    }

    /// Signals a push of arguments 2... onto `key` (logged as that push).
    static func logPush(_ db: Database, _ key: UnsafeRawBufferPointer, _ args: CommandArguments, front: Bool) {
        db.modified(key, by: front ? .listPushFront : .listPushBack) { change in
            for index in 2..<args.count { change.argument(args.bytes(index)) }
        }
    }

    /// Signals a push of `element` onto `key`.
    static func logPush(_ db: Database, _ key: UnsafeRawBufferPointer, _ element: [UInt8], front: Bool) {
        db.modified(key, by: front ? .listPushFront : .listPushBack) { $0.argument(element) }
    }

    /// Signals that `count` elements left one end of `key` (a pop, LTRIM).
    static func logRemoval(_ db: Database, _ key: UnsafeRawBufferPointer, _ count: Int, front: Bool) {
        db.modified(key, by: front ? .listRemoveFront : .listRemoveBack) { $0.argument(count) }
    }

    /// The optional count of LPOP, RPOP and SPOP at argument 2: `valid` false after the
    /// error reply (Redis answers a non-integer count as a negative one).
    static func optionalCount(_ client: Client, _ args: CommandArguments) -> (valid: Bool, count: Int?) {
        guard args.count == 3 else { return (true, nil) }
        guard let n = args.integer(2), n >= 0 else {
            client.error(ErrorReplies.mustBePositive)
            return (false, nil)
        }
        return (true, n)
    }

    /// LPOP / RPOP key [count]: one element (or nil), or with a count an array of up to
    /// count elements (nil when the key is missing).
    static func pop(_ client: Client, _ args: CommandArguments, front: Bool) {
        guard args.count <= 3 else { return client.error(ErrorReplies.wrongArity(front ? "lpop" : "rpop")) }
        let (valid, count) = optionalCount(client, args)
        guard valid else { return }
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else {
            return count == nil ? client.reply.null() : client.reply.nullArray()
        }
        guard let list = db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        guard let count else {
            client.reply.bulk(list.pop(front: front)!)
            db.store(list, at: slot)
            return logRemoval(db, key, 1, front: front)
        }
        let n = Swift.min(count, list.count)
        client.reply.arrayHeader(n)
        guard n > 0 else { return }
        for _ in 0..<n { client.reply.bulk(list.pop(front: front)!) }
        db.store(list, at: slot)
        logRemoval(db, key, n, front: front)
    }

    // MARK: - Reading

    static func llen(_ client: Client, _ args: CommandArguments) {
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.integer(0) }
        guard let list = client.db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        client.reply.integer(list.count)
    }

    /// Redis's range rule (LRANGE, LTRIM): negative indexes count from the end, then both
    /// ends are clamped; nil when the range is empty.
    static func resolveRange(_ start: Int, _ end: Int, count: Int) -> ClosedRange<Int>? {
        var start = start < 0 ? start &+ count : start
        var end = end < 0 ? end &+ count : end
        if start < 0 { start = 0 }
        guard start <= end, start < count else { return nil }
        if end >= count { end = count - 1 }
        return start...end
    }

    static func lrange(_ client: Client, _ args: CommandArguments) {
        guard let start = args.integer(2), let end = args.integer(3) else {
            return client.error(ErrorReplies.notInteger)
        }
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.arrayHeader(0) }
        guard let list = client.db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        guard let range = resolveRange(start, end, count: list.count) else { return client.reply.arrayHeader(0) }
        client.reply.arrayHeader(range.count)
        list.forEach(from: range.lowerBound, through: range.upperBound) { client.reply.bulk($0); return true }
    }

    /// The position a list index names (negative from the end), or nil when out of range.
    static func position(_ index: Int, count: Int) -> Int? {
        let position = index < 0 ? index &+ count : index
        return position >= 0 && position < count ? position : nil
    }

    static func lindex(_ client: Client, _ args: CommandArguments) {
        guard let index = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.null() }
        guard let list = client.db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        guard let position = position(index, count: list.count) else { return client.reply.null() }
        client.reply.bulk(list.element(at: position))
    }

    /// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
    static func lpos(_ client: Client, _ args: CommandArguments) {
        var rank = 1
        var count: Int?
        var maxLength = 0
        var index = 3
        while index < args.count {
            guard index + 1 < args.count else { return client.error(ErrorReplies.syntax) }
            guard let value = args.integer(index + 1) else { return client.error(ErrorReplies.notInteger) }
            if args.matches(index, "rank") {
                guard value != 0 else {
                    return client.error("ERR RANK can't be zero: use 1 to start from the first match, "
                                        + "2 from the second ... or use negative to start from the end of the list")
                }
                rank = value
            } else if args.matches(index, "count") {
                guard value >= 0 else { return client.error("ERR COUNT can't be negative") }
                count = value
            } else if args.matches(index, "maxlen") {
                guard value >= 0 else { return client.error("ERR MAXLEN can't be negative") }
                maxLength = value
            } else {
                return client.error(ErrorReplies.syntax)
            }
            index += 2
        }
        guard let slot = client.db.lookupRead(args.bytes(1)) else {
            return count == nil ? client.reply.null() : client.reply.arrayHeader(0)
        }
        guard let list = client.db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        let wanted = args.bytes(2)
        let limit = count.map { $0 == 0 ? Int.max : $0 } ?? 1
        // Redis 7.0 takes RANK -2^63 as "from the end, the first match" (its negation
        // overflows to itself).
        var skip = rank == Int.min ? 0 : abs(rank) - 1
        var matches: [Int] = []
        var compared = 0
        let visit: (Int, UnsafeRawBufferPointer) -> Bool = { position, element in
            if maxLength > 0 && compared >= maxLength { return false }
            compared += 1
            if element.elementsEqual(wanted) {
                if skip > 0 {
                    skip -= 1
                } else {
                    matches.append(position)
                    if matches.count >= limit { return false }
                }
            }
            return true
        }
        if rank > 0 {
            var position = 0
            list.forEach(from: 0, through: list.count - 1) { element in
                defer { position += 1 }
                return visit(position, element)
            }
        } else {
            list.forEachFromBack(visit)
        }
        guard count != nil else { return matches.first.map { client.reply.integer($0) } ?? client.reply.null() }
        client.reply.arrayHeader(matches.count)
        for match in matches { client.reply.integer(match) }
    }

    // MARK: - Changing inside

    static func lset(_ client: Client, _ args: CommandArguments) {
        guard let index = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else { return client.error(ErrorReplies.noSuchKey) }
        guard let list = db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        guard let position = position(index, count: list.count) else { return client.error("ERR index out of range") }
        list.set(position, to: args.bytes(3), limit: db.limits.listNode)
        db.store(list, at: slot)
        db.modified(key, by: .listSet) { $0.argument(position); $0.argument(args.bytes(3)) }
        client.reply.ok()
    }

    /// LINSERT key BEFORE|AFTER pivot element: the new length, -1 when the pivot is not
    /// there, 0 when the key is missing.
    static func linsert(_ client: Client, _ args: CommandArguments) {
        let after: Bool
        if args.matches(2, "after") {
            after = true
        } else if args.matches(2, "before") {
            after = false
        } else {
            return client.error(ErrorReplies.syntax)
        }
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else { return client.reply.integer(0) }
        guard let list = db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        let pivot = args.bytes(3)
        var found: Int?
        var position = 0
        list.forEach(from: 0, through: list.count - 1) { element in
            if element.elementsEqual(pivot) {
                found = position
                return false
            }
            position += 1
            return true
        }
        guard let found else { return client.reply.integer(-1) }
        let at = after ? found + 1 : found
        list.insert(args.bytes(4), at: at, limit: db.limits.listNode)
        db.store(list, at: slot)
        db.modified(key, by: .listInsert) { $0.argument(at); $0.argument(args.bytes(4)) }
        client.reply.integer(list.count)
    }

    /// LREM key count element: removes the first `count` matches (from the tail when
    /// negative, all when 0); the number removed.
    static func lrem(_ client: Client, _ args: CommandArguments) {
        guard let count = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else { return client.reply.integer(0) }
        guard let list = db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        let removed = list.removeMatching(args.bytes(3), count: count, limit: db.limits.listNode)
        guard removed > 0 else { return client.reply.integer(0) }
        db.store(list, at: slot)
        db.modified(key, by: .listRemoveMatching) { $0.argument(count); $0.argument(args.bytes(3)) }
        client.reply.integer(removed)
    }

    static func ltrim(_ client: Client, _ args: CommandArguments) {
        guard let start = args.integer(2), let end = args.integer(3) else {
            return client.error(ErrorReplies.notInteger)
        }
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupWrite(key) else { return client.reply.ok() }
        guard let list = db.list(slot) else { return client.error(ErrorReplies.wrongType) }
        let n = list.count
        var (fromFront, fromBack) = (n, 0)
        if let range = resolveRange(start, end, count: n) { (fromFront, fromBack) = (range.lowerBound, n - 1 - range.upperBound) }
        list.remove(fromBack, front: false)
        list.remove(fromFront, front: true)
        if list.count != n {
            db.store(list, at: slot)
            if fromBack > 0 { logRemoval(db, key, fromBack, front: false) }
            if fromFront > 0 { logRemoval(db, key, fromFront, front: true) }
        }
        client.reply.ok()
    }

    // MARK: - Moving between lists

    /// LEFT or RIGHT at `index`: true for LEFT; nil (syntax error sent) otherwise.
    static func end(_ client: Client, _ args: CommandArguments, _ index: Int) -> Bool? {
        if args.matches(index, "left") { return true }
        if args.matches(index, "right") { return false }
        client.error(ErrorReplies.syntax)
        return nil
    }

    static func lmove(_ client: Client, _ args: CommandArguments) {
        guard let from = end(client, args, 3), let to = end(client, args, 4) else { return }
        if let element = move(client, args.bytes(1), args.bytes(2), fromFront: from, toFront: to) {
            client.reply.bulk(element)
        }
    }

    static func rpoplpush(_ client: Client, _ args: CommandArguments) {
        if let element = move(client, args.bytes(1), args.bytes(2), fromFront: false, toFront: true) {
            client.reply.bulk(element)
        }
    }

    /// Pops from `source`, pushes onto `destination` (which may be the same list) and
    /// returns the element; nil after replying null (missing source) or WRONGTYPE. The
    /// destination's type is checked before anything is popped, as in Redis.
    @discardableResult
    static func move(_ client: Client, _ source: UnsafeRawBufferPointer, _ destination: UnsafeRawBufferPointer,
                     fromFront: Bool, toFront: Bool) -> [UInt8]? {
        let db = client.db
        guard let sourceSlot = db.lookupWrite(source) else {
            client.reply.null()
            return nil
        }
        guard let list = db.list(sourceSlot) else {
            client.error(ErrorReplies.wrongType)
            return nil
        }
        let limit = db.limits.listNode
        if source.elementsEqual(destination) {
            let element = list.pop(front: fromFront)!
            element.withUnsafeBytes { list.push($0, front: toFront, limit: limit) }
            db.store(list, at: sourceSlot)
            logRemoval(db, source, 1, front: fromFront)
            logPush(db, source, element, front: toFront)
            return element
        }
        if let target = db.find(destination), target.pointee.valueType != .list {
            client.error(ErrorReplies.wrongType)
            return nil
        }
        let element = list.pop(front: fromFront)!
        db.store(list, at: sourceSlot)
        logRemoval(db, source, 1, front: fromFront)
        // The source's removal (when emptied) may have moved other slots: look up again.
        push(element, to: destination, front: toFront, client)
        return element
    }

    /// Pushes one element onto `key` (a list or missing), serving clients blocked on it.
    static func push(_ element: [UInt8], to key: UnsafeRawBufferPointer, front: Bool, _ client: Client) {
        let db = client.db
        let limit = db.limits.listNode
        if let slot = db.lookupWrite(key), let list = db.list(slot) {
            element.withUnsafeBytes { list.push($0, front: front, limit: limit) }
            db.store(list, at: slot)
        } else {
            let list = QuickList()
            element.withUnsafeBytes { list.push($0, front: front, limit: limit) }
            db.add(key, list: list)
        }
        logPush(db, key, element, front: front)
    }

    // MARK: - LMPOP

    /// The key positions of a command whose argument at `at` is numkeys (LMPOP, BLMPOP).
    static func numkeysPositions(_ args: CommandArguments, at index: Int) -> [Int] {
        guard index < args.count, let n = args.integer(index), n > 0, index + n < args.count else { return [] }
        return Array((index + 1)...(index + n))
    }

    /// The parsed arguments of LMPOP / BLMPOP from `at` (numkeys): nil after an error reply.
    static func parseMultiPop(_ client: Client, _ args: CommandArguments, at index: Int)
        -> (keys: [Int], front: Bool, count: Int)? {
        guard let n = args.integer(index), n > 0 else {
            client.error("ERR numkeys should be greater than 0")
            return nil
        }
        let endIndex = n > args.count ? args.count : index + 1 + n
        guard endIndex < args.count, let front = end(client, args, endIndex) else {
            if endIndex >= args.count { client.error(ErrorReplies.syntax) }
            return nil
        }
        var count = 1
        var at = endIndex + 1
        var sawCount = false
        while at < args.count {
            guard args.matches(at, "count"), !sawCount, at + 1 < args.count else {
                client.error(ErrorReplies.syntax)
                return nil
            }
            guard let value = args.integer(at + 1), value > 0 else {
                client.error("ERR count should be greater than 0")
                return nil
            }
            count = value
            sawCount = true
            at += 2
        }
        return (Array((index + 1)..<endIndex), front, count)
    }

    static func lmpop(_ client: Client, _ args: CommandArguments) {
        guard let parsed = parseMultiPop(client, args, at: 1) else { return }
        if !popFirstNonEmpty(client, args, parsed) { client.reply.nullArray() }
    }

    /// Pops up to `count` elements from the first non-empty list of `keys` and replies
    /// [key, [elements]]; false (nothing replied) when every key is empty. WRONGTYPE is
    /// replied (true) for a key of another type met before a non-empty list.
    static func popFirstNonEmpty(_ client: Client, _ args: CommandArguments,
                                 _ parsed: (keys: [Int], front: Bool, count: Int)) -> Bool {
        let db = client.db
        for index in parsed.keys {
            let key = args.bytes(index)
            guard let slot = db.lookupWrite(key) else { continue }
            guard let list = db.list(slot) else {
                client.error(ErrorReplies.wrongType)
                return true
            }
            let n = Swift.min(parsed.count, list.count)
            client.reply.arrayHeader(2)
            client.reply.bulk(key)
            client.reply.arrayHeader(n)
            for _ in 0..<n { client.reply.bulk(list.pop(front: parsed.front)!) }
            db.store(list, at: slot)
            logRemoval(db, key, n, front: parsed.front)
            return true
        }
        return false
    }
}

import RESP
import Store

/*
 BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP: the list commands that wait. Each first does
 what its non-blocking form does; with nothing to pop it asks to block
 (`Client.block(on:deadline:)`, see Blocking.swift) and is dispatched again, from the
 start, when a list appears under one of its keys or the wait ends. Inside MULTI (and
 later scripts) they answer at once, as on a timeout.
*/
enum BlockingListCommands {
    static var specs: [CommandSpec] { [
        CommandSpec("blpop", arity: -3, flags: [.write, .noscript, .blocking], keys: (1, -2, 1), group: "list",
                    summary: "Remove and get the first element in a list, or block until one is available",
                    handler: { pop($0, $1, front: true) }),
        CommandSpec("brpop", arity: -3, flags: [.write, .noscript, .blocking], keys: (1, -2, 1), group: "list",
                    summary: "Remove and get the last element in a list, or block until one is available",
                    handler: { pop($0, $1, front: false) }),
        CommandSpec("blmove", arity: 6, flags: [.write, .denyOOM, .noscript, .blocking], keys: (1, 2, 1),
                    group: "list",
                    summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
                    handler: blmove),
        CommandSpec("brpoplpush", arity: 4, flags: [.write, .denyOOM, .noscript, .blocking], keys: (1, 2, 1),
                    group: "list",
                    summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
                    handler: brpoplpush),
        CommandSpec("blmpop", arity: -5, flags: [.write, .blocking], group: "list",
                    summary: "Pop elements from a list, or block until one is available",
                    keySearch: { ListCommands.numkeysPositions($0, at: 2) }, handler: blmpop),
    ] }

    /// The deadline (Unix ms, 0 = none) a timeout argument in seconds asks for, as Redis
    /// reads it (a float; milliseconds rounded up); nil after an error reply.
    static func deadline(_ client: Client, _ args: CommandArguments, _ index: Int) -> Int64? {
        guard let seconds = args.double(index) else {
            client.error("ERR timeout is not a float or out of range")
            return nil
        }
        let millis = (seconds * 1000).rounded(.up)
        guard millis >= 0 else {
            client.error("ERR timeout is negative")
            return nil
        }
        guard millis == 0 || millis < Double(Int64.max - client.server.store.nowMillis) else {
            client.error("ERR timeout is out of range")
            return nil
        }
        return millis == 0 ? 0 : client.server.store.nowMillis + Int64(millis)
    }

    /// Handles a wait that ended by timeout or CLIENT UNBLOCK: true when it replied. Every
    /// blocking command, BLMOVE too, answers a timeout with a null array (Redis 7.0).
    static func endedWait(_ client: Client) -> Bool {
        guard let outcome = client.takeBlockOutcome() else { return false }
        switch outcome {
        case .timedOut:
            client.reply.nullArray()
        case .unblockedWithError:
            client.error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
        }
        return true
    }

    /// BLPOP / BRPOP key [key ...] timeout: [key, element] from the first non-empty list.
    static func pop(_ client: Client, _ args: CommandArguments, front: Bool) {
        guard let deadline = deadline(client, args, args.count - 1) else { return }
        if endedWait(client) { return }
        let db = client.db
        for index in 1..<(args.count - 1) {
            let key = args.bytes(index)
            guard let slot = db.lookupWrite(key) else { continue }
            guard let list = db.list(slot) else { return client.error(ErrorReplies.wrongType) }
            client.reply.arrayHeader(2)
            client.reply.bulk(key)
            client.reply.bulk(list.pop(front: front)!)
            db.store(list, at: slot)
            ListCommands.logRemoval(db, key, 1, front: front)
            return
        }
        guard client.mayBlock else { return client.reply.nullArray() }
        client.block(on: (1..<(args.count - 1)).map { args.array($0) }, deadline: deadline)
    }

    static func blmove(_ client: Client, _ args: CommandArguments) {
        guard let from = ListCommands.end(client, args, 3), let to = ListCommands.end(client, args, 4),
              let deadline = deadline(client, args, 5) else { return }
        move(client, args, fromFront: from, toFront: to, deadline: deadline)
    }

    static func brpoplpush(_ client: Client, _ args: CommandArguments) {
        guard let deadline = deadline(client, args, 3) else { return }
        move(client, args, fromFront: false, toFront: true, deadline: deadline)
    }

    static func move(_ client: Client, _ args: CommandArguments, fromFront: Bool, toFront: Bool, deadline: Int64) {
        if endedWait(client) { return }
        let source = args.bytes(1)
        if client.db.find(source) == nil && client.mayBlock {
            return client.block(on: [args.array(1)], deadline: deadline)
        }
        // LMOVE's rules from here (a missing source inside MULTI replies null).
        if let element = ListCommands.move(client, source, args.bytes(2), fromFront: fromFront, toFront: toFront) {
            client.reply.bulk(element)
        }
    }

    /// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].
    static func blmpop(_ client: Client, _ args: CommandArguments) {
        guard let deadline = deadline(client, args, 1),
              let parsed = ListCommands.parseMultiPop(client, args, at: 2) else { return }
        if endedWait(client) { return }
        if ListCommands.popFirstNonEmpty(client, args, parsed) { return }
        guard client.mayBlock else { return client.reply.nullArray() }
        client.block(on: parsed.keys.map { args.array($0) }, deadline: deadline)
    }
}

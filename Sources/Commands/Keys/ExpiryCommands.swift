import RESP
import Store

/*
 EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.

 Expiry times are absolute Unix milliseconds in the slot (0 = none). Every change goes
 through `Database.setExpiry` (it keeps INFO's `expires` count right), and a time that has
 already passed deletes the key at once, as Redis does on a master: such a key could never
 be read again, and keeping it would only make DBSIZE and INFO lie.
*/

/// The EXPIRE and TTL families and PERSIST.
public enum ExpiryCommands {
    public static var specs: [CommandSpec] { [
        CommandSpec("expire", arity: -3, flags: [.write, .fast], keys: (1, 1, 1),
                    summary: "Set a key's time to live in seconds", coldNeed: .metadata,
                    handler: { expire($0, $1, relative: true, seconds: true, name: "expire") }),
        CommandSpec("pexpire", arity: -3, flags: [.write, .fast], keys: (1, 1, 1),
                    summary: "Set a key's time to live in milliseconds", coldNeed: .metadata,
                    handler: { expire($0, $1, relative: true, seconds: false, name: "pexpire") }),
        CommandSpec("expireat", arity: -3, flags: [.write, .fast], keys: (1, 1, 1),
                    summary: "Set the expiration for a key as a UNIX timestamp", coldNeed: .metadata,
                    handler: { expire($0, $1, relative: false, seconds: true, name: "expireat") }),
        CommandSpec("pexpireat", arity: -3, flags: [.write, .fast], keys: (1, 1, 1),
                    summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
                    coldNeed: .metadata,
                    handler: { expire($0, $1, relative: false, seconds: false, name: "pexpireat") }),
        CommandSpec("ttl", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1),
                    summary: "Get the time to live for a key in seconds", coldNeed: .metadata,
                    handler: { ttl($0, $1, milliseconds: false, absolute: false) }),
        CommandSpec("pttl", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1),
                    summary: "Get the time to live for a key in milliseconds", coldNeed: .metadata,
                    handler: { ttl($0, $1, milliseconds: true, absolute: false) }),
        CommandSpec("expiretime", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1),
                    summary: "Get the expiration Unix timestamp for a key", coldNeed: .metadata,
                    handler: { ttl($0, $1, milliseconds: false, absolute: true) }),
        CommandSpec("pexpiretime", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1),
                    summary: "Get the expiration Unix timestamp for a key in milliseconds", coldNeed: .metadata,
                    handler: { ttl($0, $1, milliseconds: true, absolute: true) }),
        CommandSpec("persist", arity: 2, flags: [.write, .fast], keys: (1, 1, 1),
                    summary: "Remove the expiration from a key", coldNeed: .metadata, handler: persist),
    ] }

    /// The NX / XX / GT / LT conditions of the EXPIRE family.
    struct Conditions {
        var nx = false, xx = false, gt = false, lt = false
    }

    /// Parses the options after the time. Returns nil after an error reply.
    static func parseConditions(_ client: Client, _ args: CommandArguments) -> Conditions? {
        var c = Conditions()
        for index in 3..<max(3, args.count) {
            if args.matches(index, "nx") {
                c.nx = true
            } else if args.matches(index, "xx") {
                c.xx = true
            } else if args.matches(index, "gt") {
                c.gt = true
            } else if args.matches(index, "lt") {
                c.lt = true
            } else {
                client.error("ERR Unsupported option \(KeyCommands.cString(args.bytes(index)))")
                return nil
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            client.error("ERR NX and XX, GT or LT options at the same time are not compatible")
            return nil
        }
        if c.gt && c.lt {
            client.error("ERR GT and LT options at the same time are not compatible")
            return nil
        }
        return c
    }

    /// The absolute expiry time (Unix ms) an EXPIRE-family argument asks for, checked for
    /// overflow the way Redis checks it. Returns nil after an error reply.
    static func requestedTime(_ client: Client, _ args: CommandArguments, relative: Bool, seconds: Bool,
                              name: String) -> Int64? {
        guard var when = args.integer(2) else {
            client.error(ErrorReplies.notInteger)
            return nil
        }
        if seconds {
            guard when <= Int.max / 1000 && when >= Int.min / 1000 else {
                client.error(ErrorReplies.invalidExpire(name))
                return nil
            }
            when *= 1000
        }
        if relative {
            let base = Int(client.server.store.nowMillis)
            guard when <= Int.max - base else {
                client.error(ErrorReplies.invalidExpire(name))
                return nil
            }
            when += base
        }
        return Int64(when)
    }

    /// EXPIRE key time [NX | XX | GT | LT] and its three variants. A key without expiry
    /// counts as an infinite TTL: GT never applies to it, LT always does.
    static func expire(_ client: Client, _ args: CommandArguments, relative: Bool, seconds: Bool, name: String) {
        guard let conditions = parseConditions(client, args),
              let when = requestedTime(client, args, relative: relative, seconds: seconds, name: name) else { return }
        let db = client.db
        let key = args.bytes(1)
        // A cold key's expiry is changed in the cold index (its value is not read).
        let slot = db.lookupWrite(key)
        let cold = slot == nil ? db.coldEntry(key) : nil
        guard slot != nil || cold != nil else { return client.reply.integer(0) }
        let current = slot?.pointee.expireAt ?? cold!.expireAt  // 0: none
        if conditions.nx && current != 0 { return client.reply.integer(0) }
        if conditions.xx && current == 0 { return client.reply.integer(0) }
        if conditions.gt && (current == 0 || when <= current) { return client.reply.integer(0) }
        if conditions.lt && current != 0 && when >= current { return client.reply.integer(0) }
        if when <= client.server.store.nowMillis {
            if let slot {
                db.remove(slot)
                db.modified(key)
            } else {
                db.delete(key)  // signals the change itself
            }
            return client.reply.integer(1)
        }
        if let slot {
            db.setExpiry(slot, when)
        } else {
            db.setColdExpiry(key, when)
        }
        db.expiryModified(key)
        client.reply.integer(1)
    }

    /// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without expiry. TTL
    /// rounds to the nearest second, as Redis does ((ms + 500) / 1000).
    static func ttl(_ client: Client, _ args: CommandArguments, milliseconds: Bool, absolute: Bool) {
        guard let found = KeyCommands.inspectMetadata(client, args.bytes(1)) else { return client.reply.integer(-2) }
        let expireAt = found.expireAt
        guard expireAt != 0 else { return client.reply.integer(-1) }
        var value = absolute ? expireAt : expireAt - client.server.store.nowMillis
        if value < 0 { value = 0 }
        // value / 1000 rounded half up, without overflowing near Int64.max.
        client.reply.integer(Int(milliseconds ? value : value / 1000 + (value % 1000 + 500) / 1000))
    }

    static func persist(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(1)
        if let slot = db.lookupWrite(key) {
            guard slot.pointee.expireAt != 0 else { return client.reply.integer(0) }
            db.setExpiry(slot, 0)
        } else if let cold = db.coldEntry(key), cold.expireAt != 0 {
            db.setColdExpiry(key, 0)
        } else {
            return client.reply.integer(0)
        }
        db.expiryModified(key)
        client.reply.integer(1)
    }
}

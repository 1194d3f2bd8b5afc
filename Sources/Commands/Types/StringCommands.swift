import RESP
import Store

/*
 The string family: SET and its variants, GET and its variants, MSET/MGET.

 GET and plain SET are the benchmarked hot path: they look the key up straight from the
 argument bytes, reply from the stored array (a retain, not a copy), and store the one
 copy of the value SET must keep. Options are only looked at when there are any.

 The numeric and range commands (INCR family, APPEND, STRLEN, GETRANGE, SETRANGE) live in
 StringEditCommands.swift, LCS in LCSCommand.swift.
*/

/// SET, GET, GETEX, GETDEL, GETSET, SETNX, SETEX, PSETEX, MSET, MSETNX, MGET, APPEND,
/// STRLEN, GETRANGE, SUBSTR, SETRANGE, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, LCS.
public enum StringCommands {
    /// The specs of the string family, with Redis 7.0.15's arity, flags and key positions.
    public static var specs: [CommandSpec] { [
        CommandSpec("set", arity: -3, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "string",
                    summary: "Set the string value of a key", coldNeedOf: setColdNeed, handler: set),
        CommandSpec("get", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Get the value of a key", handler: get),
        CommandSpec("getex", arity: -2, flags: [.write, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Get the value of a key and optionally set its expiration", handler: getex),
        CommandSpec("getdel", arity: 2, flags: [.write, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Get the value of a key and delete the key", handler: getdel),
        CommandSpec("getset", arity: 3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Set the string value of a key and return its old value", handler: getset),
        CommandSpec("setnx", arity: 3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Set the value of a key, only if the key does not exist", coldNeed: .metadata,
                    handler: setnx),
        CommandSpec("setex", arity: 4, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "string",
                    summary: "Set the value and expiration of a key", coldNeed: .nothing, handler: setex),
        CommandSpec("psetex", arity: 4, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "string",
                    summary: "Set the value and expiration in milliseconds of a key", coldNeed: .nothing,
                    handler: psetex),
        CommandSpec("mset", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 2), group: "string",
                    summary: "Set multiple keys to multiple values", coldNeed: .nothing, handler: mset),
        CommandSpec("msetnx", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 2), group: "string",
                    summary: "Set multiple keys to multiple values, only if none of the keys exist",
                    coldNeed: .metadata, handler: msetnx),
        CommandSpec("mget", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1), group: "string",
                    summary: "Get the values of all the given keys", handler: mget),
        CommandSpec("append", arity: 3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Append a value to a key", handler: StringEditCommands.append),
        CommandSpec("strlen", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Get the length of the value stored in a key", handler: StringEditCommands.strlen),
        CommandSpec("getrange", arity: 4, flags: [.readonly], keys: (1, 1, 1), group: "string",
                    summary: "Get a substring of the string stored at a key", handler: StringEditCommands.getrange),
        CommandSpec("substr", arity: 4, flags: [.readonly], keys: (1, 1, 1), group: "string",
                    summary: "Get a substring of the string stored at a key", handler: StringEditCommands.getrange),
        CommandSpec("setrange", arity: 4, flags: [.write, .denyOOM], keys: (1, 1, 1), group: "string",
                    summary: "Overwrite part of a string at key starting at the specified offset",
                    handler: StringEditCommands.setrange),
        CommandSpec("incr", arity: 2, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Increment the integer value of a key by one", handler: StringEditCommands.incr),
        CommandSpec("decr", arity: 2, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Decrement the integer value of a key by one", handler: StringEditCommands.decr),
        CommandSpec("incrby", arity: 3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Increment the integer value of a key by the given amount",
                    handler: StringEditCommands.incrby),
        CommandSpec("decrby", arity: 3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Decrement the integer value of a key by the given number",
                    handler: StringEditCommands.decrby),
        CommandSpec("incrbyfloat", arity: 3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string",
                    summary: "Increment the float value of a key by the given amount",
                    handler: StringEditCommands.incrbyfloat),
        CommandSpec("lcs", arity: -3, flags: [.readonly], keys: (1, 2, 1), group: "string",
                    summary: "Find longest common substring", handler: LCSCommand.lcs),
    ] }

    // MARK: - GET

    /// GET key.
    static func get(_ client: Client, _ args: CommandArguments) {
        guard let slot = client.db.lookupRead(args.bytes(1)) else { return client.reply.null() }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        client.reply.bulk(bytes)
    }

    /// Replies the string at `key` (null when missing). Returns false after replying
    /// WRONGTYPE. Redis's getGenericCommand: used by SET ... GET and GETSET.
    static func replyCurrentValue(_ client: Client, _ key: UnsafeRawBufferPointer) -> Bool {
        guard let slot = client.db.lookupRead(key) else {
            client.reply.null()
            return true
        }
        guard let bytes = slot.pointee.stringBytes else {
            client.error(ErrorReplies.wrongType)
            return false
        }
        client.reply.bulk(bytes)
        return true
    }

    // MARK: - SET and its options

    /// SET needs a cold key's value only to return it (GET); NX, XX and KEEPTTL need its
    /// existence and expiry, which the cold index holds.
    static func setColdNeed(_ args: CommandArguments) -> ColdNeed {
        for index in 3..<max(3, args.count) where args.matches(index, "get") { return .value }
        return .metadata
    }

    /// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL].
    static func set(_ client: Client, _ args: CommandArguments) {
        if args.count == 3 {
            client.db.set(args.bytes(1), string: args.bytes(2))
            client.reply.ok()
            return
        }
        guard let options = ExpireOptions.parse(args, from: 3, forSet: true) else {
            return client.error(ErrorReplies.syntax)
        }
        setGeneric(client, args, valueIndex: 2, options: options, command: "set", reply: .ok)
    }

    /// SETNX key value: :1 when stored, :0 when the key exists.
    static func setnx(_ client: Client, _ args: CommandArguments) {
        var options = ExpireOptions()
        options.nx = true
        setGeneric(client, args, valueIndex: 2, options: options, command: "setnx", reply: .integer)
    }

    /// SETEX key seconds value.
    static func setex(_ client: Client, _ args: CommandArguments) {
        setGeneric(client, args, valueIndex: 3, options: ExpireOptions(expire: (.ex, 2)), command: "setex",
                   reply: .ok)
    }

    /// PSETEX key milliseconds value.
    static func psetex(_ client: Client, _ args: CommandArguments) {
        setGeneric(client, args, valueIndex: 3, options: ExpireOptions(expire: (.px, 2)), command: "psetex",
                   reply: .ok)
    }

    /// How a SET variant answers when it stores (`+OK` or `:1`) or refuses (null or `:0`).
    enum SetReply { case ok, integer }

    /// Redis's setGenericCommand: expiry validated first, then the GET reply, then the
    /// NX/XX condition, then the write.
    static func setGeneric(_ client: Client, _ args: CommandArguments, valueIndex: Int, options: ExpireOptions,
                           command: String, reply: SetReply) {
        let db = client.db
        let key = args.bytes(1)
        var expireAt: Int64 = 0
        if let (kind, index) = options.expire {
            guard let at = ExpireOptions.absoluteMillis(client, args, index, kind, command: command) else { return }
            expireAt = at
        }
        if options.get && !replyCurrentValue(client, key) { return }
        if options.nx || options.xx {
            let found = db.existsForWrite(key)
            if (options.nx && found) || (options.xx && !found) {
                if !options.get {
                    if reply == .integer { client.reply.integer(0) } else { client.reply.null() }
                }
                return
            }
        }
        db.set(key, string: args.bytes(valueIndex), expireAt: expireAt, keepTTL: options.keepTTL)
        // EXAT/PXAT in the past: the key is collected at once (and counted as expired, as
        // Redis does), rather than lingering until the next access.
        if expireAt != 0 && expireAt <= client.server.store.nowMillis { _ = db.find(key) }
        if options.get { return }
        if reply == .integer { client.reply.integer(1) } else { client.reply.ok() }
    }

    // MARK: - GETEX, GETDEL, GETSET

    /// GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]: the value, and the expiry changed.
    static func getex(_ client: Client, _ args: CommandArguments) {
        guard let options = ExpireOptions.parse(args, from: 2, forSet: false) else {
            return client.error(ErrorReplies.syntax)
        }
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupRead(key) else { return client.reply.null() }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        var expireAt: Int64 = 0
        if let (kind, index) = options.expire {
            guard let at = ExpireOptions.absoluteMillis(client, args, index, kind, command: "getex") else { return }
            expireAt = at
        }
        client.reply.bulk(bytes)
        if let (kind, _) = options.expire {
            if (kind == .exat || kind == .pxat) && expireAt <= client.server.store.nowMillis {
                db.delete(key)
            } else {
                db.setExpiry(slot, expireAt)
                db.expiryModified(key)
            }
        } else if options.persist && slot.pointee.expireAt != 0 {
            db.setExpiry(slot, 0)
            db.expiryModified(key)
        }
    }

    /// GETDEL key: the value, and the key deleted.
    static func getdel(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(1)
        guard let slot = db.lookupRead(key) else { return client.reply.null() }
        guard let bytes = slot.pointee.stringBytes else { return client.error(ErrorReplies.wrongType) }
        client.reply.bulk(bytes)
        db.remove(slot)
        db.modified(key)
    }

    /// GETSET key value: the old value; the new one is stored without expiry.
    static func getset(_ client: Client, _ args: CommandArguments) {
        let key = args.bytes(1)
        guard replyCurrentValue(client, key) else { return }
        client.db.set(key, string: args.bytes(2))
    }

    // MARK: - MSET, MSETNX, MGET

    /// MSET key value [key value ...].
    static func mset(_ client: Client, _ args: CommandArguments) {
        guard args.count % 2 == 1 else { return client.error(ErrorReplies.wrongArity("mset")) }
        storePairs(client, args)
        client.reply.ok()
    }

    /// MSETNX key value [key value ...]: stores all only when none of the keys exists.
    static func msetnx(_ client: Client, _ args: CommandArguments) {
        guard args.count % 2 == 1 else { return client.error(ErrorReplies.wrongArity("msetnx")) }
        let db = client.db
        for index in stride(from: 1, to: args.count, by: 2) where db.existsForWrite(args.bytes(index)) {
            return client.reply.integer(0)
        }
        storePairs(client, args)
        client.reply.integer(1)
    }

    /// Stores every key/value pair of MSET (later pairs win over earlier ones).
    static func storePairs(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        for index in stride(from: 1, to: args.count, by: 2) {
            db.set(args.bytes(index), string: args.bytes(index + 1))
        }
    }

    /// MGET key [key ...]: null for missing keys and for keys of other types.
    static func mget(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        client.reply.arrayHeader(args.count - 1)
        for index in 1..<args.count {
            if let slot = db.lookupRead(args.bytes(index)), let bytes = slot.pointee.stringBytes {
                client.reply.bulk(bytes)
            } else {
                client.reply.null()
            }
        }
    }
}

/// The expiry flavours of SET and GETEX.
enum ExpireKind {
    /// Relative seconds, relative milliseconds, absolute seconds, absolute milliseconds.
    case ex, px, exat, pxat

    /// True for EX and EXAT.
    var inSeconds: Bool { self == .ex || self == .exat }
    /// True for EX and PX (added to the current time).
    var isRelative: Bool { self == .ex || self == .px }
}

/// The options of SET (NX XX GET KEEPTTL EX PX EXAT PXAT) and GETEX (EX PX EXAT PXAT
/// PERSIST), with Redis's rules about which may be combined.
struct ExpireOptions {
    /// Only when the key is missing (NX) / exists (XX).
    var nx = false
    var xx = false
    /// Reply with the previous value (GET).
    var get = false
    /// Keep the current expiry (KEEPTTL, SET only).
    var keepTTL = false
    /// Remove the expiry (PERSIST, GETEX only).
    var persist = false
    /// The expiry kind and the index of its argument.
    var expire: (kind: ExpireKind, index: Int)?

    /// Options with only an expiry (SETEX, PSETEX) or none.
    init(expire: (ExpireKind, Int)? = nil) {
        self.expire = expire.map { (kind: $0.0, index: $0.1) }
    }

    /// Parses the options from `start` on; nil means a syntax error. Like Redis, an
    /// option conflicting with one seen before is a syntax error, and repeating an
    /// option (EX 1 EX 2, NX NX) is allowed.
    static func parse(_ args: CommandArguments, from start: Int, forSet: Bool) -> ExpireOptions? {
        var options = ExpireOptions()
        var index = start
        while index < args.count {
            let hasNext = index + 1 < args.count
            let kind = options.expire?.kind
            if forSet && args.matches(index, "nx") && !options.xx {
                options.nx = true
            } else if forSet && args.matches(index, "xx") && !options.nx {
                options.xx = true
            } else if forSet && args.matches(index, "get") {
                options.get = true
            } else if forSet && args.matches(index, "keepttl") && !options.persist && kind == nil {
                options.keepTTL = true
            } else if !forSet && args.matches(index, "persist") && kind == nil && !options.keepTTL {
                options.persist = true
            } else if let wanted = expireKind(args, index), hasNext, !options.keepTTL, !options.persist,
                      kind == nil || kind == wanted {
                options.expire = (wanted, index + 1)
                index += 1
            } else {
                return nil
            }
            index += 1
        }
        return options
    }

    private static func expireKind(_ args: CommandArguments, _ index: Int) -> ExpireKind? {
        if args.matches(index, "ex") { return .ex }
        if args.matches(index, "px") { return .px }
        if args.matches(index, "exat") { return .exat }
        if args.matches(index, "pxat") { return .pxat }
        return nil
    }

    /// The absolute expiry (Unix ms) the argument at `index` asks for, or nil after
    /// replying the error: not an integer, not positive, or overflowing once converted to
    /// absolute milliseconds ("invalid expire time in '<command>' command").
    static func absoluteMillis(_ client: Client, _ args: CommandArguments, _ index: Int, _ kind: ExpireKind,
                               command: String) -> Int64? {
        guard let value = args.integer(index) else {
            client.error(ErrorReplies.notInteger)
            return nil
        }
        guard let millis = absoluteMillis(value, kind, now: client.server.store.nowMillis) else {
            client.error(ErrorReplies.invalidExpire(command))
            return nil
        }
        return millis
    }

    /// Pure form of the conversion above: nil when the time is invalid.
    static func absoluteMillis(_ value: Int, _ kind: ExpireKind, now: Int64) -> Int64? {
        if value <= 0 || (kind.inSeconds && value > Int.max / 1000) { return nil }
        var millis = Int64(kind.inSeconds ? value * 1000 : value)
        // Wrapping like Redis's signed addition: an overflow turns negative and is refused.
        if kind.isRelative { millis = millis &+ now }
        return millis > 0 ? millis : nil
    }
}

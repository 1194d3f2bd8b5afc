import RESP
import Store

/// PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET.
public enum ConnectionCommands {
    /// The Redis version Strata reports (INFO redis_version, HELLO): clients pick features
    /// by it, and Strata implements Redis 7.0's behaviour.
    public static let redisVersion = "7.0.15"

    public static var specs: [CommandSpec] { [
        CommandSpec("ping", arity: -1, flags: [.fast], group: "connection", handler: ping),
        CommandSpec("echo", arity: 2, flags: [.loading, .stale, .fast], group: "connection", handler: echo),
        CommandSpec("quit", arity: -1, flags: [.noscript, .loading, .stale, .fast, .noAuth, .allowBusy, .noQueue], group: "connection", handler: quit),
        CommandSpec("hello", arity: -1, flags: [.noscript, .loading, .stale, .fast, .noAuth, .allowBusy], group: "connection", handler: hello),
        // Not skip_monitor/skip_slowlog (Redis 7.0 shows AUTH there, its arguments redacted).
        CommandSpec("auth", arity: -2, flags: [.noAuth, .fast, .noscript, .loading, .stale, .allowBusy],
                    group: "connection", handler: auth),
        CommandSpec("select", arity: 2, flags: [.fast, .loading, .stale], group: "connection", handler: select),
        CommandSpec("reset", arity: 1, flags: [.noscript, .loading, .stale, .fast, .noAuth, .allowBusy, .noQueue], group: "connection",
                    handler: reset),
    ] }

    static func ping(_ client: Client, _ args: CommandArguments) {
        switch args.count {
        case 1: client.reply.status("PONG")
        case 2: client.reply.bulk(args.bytes(1))
        default: client.error(ErrorReplies.wrongArity("ping"))
        }
    }

    static func echo(_ client: Client, _ args: CommandArguments) {
        client.reply.bulk(args.bytes(1))
    }

    static func quit(_ client: Client, _ args: CommandArguments) {
        client.reply.ok()
        client.closeAfterReply = true
    }

    /// Checks a password for `user` (only the default user exists). Returns an error
    /// text, or nil when accepted.
    static func checkPassword(_ client: Client, user: String, password: [UInt8]) -> String? {
        let required = client.server.config.requirepass
        guard user == "default" else { return ErrorReplies.wrongPass }
        if required.isEmpty { return nil }  // the default user has no password: anything goes
        return password == Array(required.utf8) ? nil : ErrorReplies.wrongPass
    }

    static func auth(_ client: Client, _ args: CommandArguments) {
        guard args.count <= 3 else { return client.error(ErrorReplies.syntax) }
        if args.count == 2 && client.server.config.requirepass.isEmpty {
            return client.error("""
                ERR AUTH <password> called without any password configured for the default user. \
                Are you sure your configuration is correct?
                """)
        }
        let user = args.count == 3 ? args.string(1) : "default"
        if let failure = checkPassword(client, user: user, password: args.array(args.count - 1)) {
            return client.error(failure)
        }
        client.authenticated = true
        client.reply.ok()
    }

    static func hello(_ client: Client, _ args: CommandArguments) {
        var version = client.protocolVersion
        var index = 1
        if args.count >= 2 {
            guard let requested = args.integer(1) else {
                return client.error("ERR Protocol version is not an integer or out of range")
            }
            guard requested == 2 || requested == 3 else { return client.error("NOPROTO unsupported protocol version") }
            version = requested
            index = 2
        }
        var newName: String? = nil
        var credentials: (String, [UInt8])? = nil
        while index < args.count {
            let more = args.count - index - 1
            if args.matches(index, "auth") && more >= 2 {
                credentials = (args.string(index + 1), args.array(index + 2))
                index += 3
            } else if args.matches(index, "setname") && more >= 1 {
                newName = args.string(index + 1)
                index += 2
            } else {
                return client.error("ERR Syntax error in HELLO option '\(args.string(index))'")
            }
        }
        if let (user, password) = credentials {
            if let failure = checkPassword(client, user: user, password: password) { return client.error(failure) }
            client.authenticated = true
        }
        guard client.authenticated else {
            return client.error("""
                NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
                AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol \
                version at the same time
                """)
        }
        if let newName {
            guard ClientCommands.isValidName(newName) else {
                return client.error("ERR Client names cannot contain spaces, newlines or special characters.")
            }
            client.name = newName
        }
        client.reply.resp3 = version == 3
        client.reply.mapHeader(7)
        client.reply.bulk("server"); client.reply.bulk("redis")
        client.reply.bulk("version"); client.reply.bulk(redisVersion)
        client.reply.bulk("proto"); client.reply.integer(version)
        client.reply.bulk("id"); client.reply.integer(client.id)
        client.reply.bulk("mode"); client.reply.bulk("standalone")
        client.reply.bulk("role"); client.reply.bulk("master")
        client.reply.bulk("modules"); client.reply.arrayHeader(0)
    }

    static func select(_ client: Client, _ args: CommandArguments) {
        guard let index = args.integer(1) else { return client.error(ErrorReplies.notInteger) }
        // Redis reads the index as a C int first (its message says "must between").
        guard index >= Int(Int32.min) && index <= Int(Int32.max) else {
            return client.error("ERR value is out of range, value must between -2147483648 and 2147483647")
        }
        guard index >= 0 && index < client.server.store.databases.count else {
            return client.error(ErrorReplies.dbIndexOutOfRange)
        }
        client.select(index)
        client.reply.ok()
    }

    static func reset(_ client: Client, _ args: CommandArguments) {
        client.transaction = nil
        client.transactionFailed = false
        client.unwatchAll()
        client.select(0)
        client.reply.resp3 = false
        client.name = ""
        if client.isMonitor {
            client.isMonitor = false
            client.server.monitors.removeAll { $0 === client }
        }
        client.authenticated = client.server.config.requirepass.isEmpty
        client.reply.status("RESET")
    }
}

import RESP
import Store

/// CLIENT and its subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, NO-EVICT, HELP.
///
/// Not implemented (they answer the unknown-subcommand error): TRACKING, CACHING,
/// GETREDIR, TRACKINGINFO (no client-side caching), PAUSE, UNPAUSE, UNBLOCK (no blocking
/// commands yet), REPLY, and SETINFO (a Redis 7.2 addition; 7.0 does not know it).
public enum ClientCommands {
    static let flags: CommandFlags = [.noscript, .loading, .stale]
    static let adminFlags: CommandFlags = [.admin, .noscript, .loading, .stale]

    public static var specs: [CommandSpec] { [
        CommandSpec("client", arity: -2, group: "connection", summary: "A container for client connection commands",
                    subcommands: [
                        CommandSpec("id", arity: 2, flags: flags, group: "connection",
                                    summary: "Returns the client ID for the current connection", handler: id),
                        CommandSpec("setname", arity: 3, flags: flags, group: "connection",
                                    summary: "Set the current connection name", handler: setName),
                        CommandSpec("getname", arity: 2, flags: flags, group: "connection",
                                    summary: "Get the current connection name", handler: getName),
                        CommandSpec("list", arity: -2, flags: adminFlags, group: "connection",
                                    summary: "Get the list of client connections", handler: list),
                        CommandSpec("info", arity: 2, flags: flags, group: "connection",
                                    summary: "Returns information about the current client connection.", handler: info),
                        CommandSpec("kill", arity: -3, flags: adminFlags, group: "connection",
                                    summary: "Kill the connection of a client", handler: kill),
                        CommandSpec("unblock", arity: -3, flags: adminFlags, group: "connection",
                                    summary: "Unblock a client blocked in a blocking command from a different connection",
                                    handler: unblock),
                        CommandSpec("no-evict", arity: 3, flags: adminFlags, group: "connection",
                                    summary: "Set client eviction mode for the current connection", handler: noEvict),
                        CommandSpec("help", arity: 2, flags: [.loading, .stale], group: "connection",
                                    summary: "Show helpful text about the different subcommands", handler: help),
                    ]),
    ] }

    /// Redis refuses client names with spaces, newlines or other special characters
    /// (anything outside '!'...'~').
    public static func isValidName(_ name: String) -> Bool {
        name.utf8.allSatisfy { $0 >= 33 && $0 <= 126 }
    }

    static func id(_ client: Client, _ args: CommandArguments) {
        client.reply.integer(client.id)
    }

    static func setName(_ client: Client, _ args: CommandArguments) {
        let name = args.string(2)
        guard args.bytes(2).allSatisfy({ $0 >= 33 && $0 <= 126 }) else {
            return client.error("ERR Client names cannot contain spaces, newlines or special characters.")
        }
        client.name = name
        client.reply.ok()
    }

    static func getName(_ client: Client, _ args: CommandArguments) {
        if client.name.isEmpty { client.reply.null() } else { client.reply.bulk(client.name) }
    }

    static func info(_ client: Client, _ args: CommandArguments) {
        client.reply.verbatim(describe(client, caller: client) + "\n")
    }

    /// CLIENT LIST [TYPE type] | [ID id ...]
    static func list(_ client: Client, _ args: CommandArguments) {
        let server = client.server
        var selected: [Client]
        if args.count == 4 && args.matches(2, "type") {
            guard let type = clientType(args.lowercased(3)) else {
                return client.error("ERR Unknown client type '\(args.string(3))'")
            }
            selected = server.clients.values.filter { $0.type == type }.sorted { $0.id < $1.id }
        } else if args.count > 3 && args.matches(2, "id") {
            selected = []
            for index in 3..<args.count {
                guard let id = args.integer(index) else { return client.error("ERR Invalid client ID") }
                if let found = server.clients[id] { selected.append(found) }
            }
        } else if args.count != 2 {
            return client.error(ErrorReplies.syntax)
        } else {
            selected = server.clients.values.sorted { $0.id < $1.id }
        }
        client.reply.verbatim(selected.map { describe($0, caller: client) + "\n" }.joined())
    }

    /// Client types as CLIENT LIST/KILL TYPE name them; Strata's clients are all normal
    /// (no replicas, no pub/sub yet; a MONITOR client counts as normal in Redis too).
    enum ClientType { case normal, master, replica, pubsub }

    static func clientType(_ name: String) -> ClientType? {
        switch name {
        case "normal": return .normal
        case "master": return .master
        case "replica", "slave": return .replica
        case "pubsub": return .pubsub
        default: return nil
        }
    }

    /// CLIENT KILL addr:port (old form: OK or an error) or CLIENT KILL with filters (ID,
    /// ADDR, LADDR, TYPE, USER, SKIPME): the number of clients killed. Killing yourself
    /// closes the connection after the reply.
    static func kill(_ client: Client, _ args: CommandArguments) {
        var address: String? = nil, localAddress: String? = nil, type: ClientType? = nil
        var id: Int? = nil
        var skipMe = true
        if args.count == 3 {
            address = args.string(2)
            skipMe = false
        } else {
            var index = 2
            while index < args.count {
                guard index + 1 < args.count else { return client.error(ErrorReplies.syntax) }
                let value = args.string(index + 1)
                if args.matches(index, "id") {
                    guard let number = args.integer(index + 1), number >= 1 else {
                        return client.error("ERR client-id should be greater than 0")
                    }
                    id = number
                } else if args.matches(index, "type") {
                    guard let parsed = clientType(value.lowercased()) else {
                        return client.error("ERR Unknown client type '\(value)'")
                    }
                    type = parsed
                } else if args.matches(index, "addr") {
                    address = value
                } else if args.matches(index, "laddr") {
                    localAddress = value
                } else if args.matches(index, "user") {
                    guard value == "default" else { return client.error("ERR No such user '\(value)'") }
                } else if args.matches(index, "skipme") {
                    if args.matches(index + 1, "yes") { skipMe = true }
                    else if args.matches(index + 1, "no") { skipMe = false }
                    else { return client.error(ErrorReplies.syntax) }
                } else {
                    return client.error(ErrorReplies.syntax)
                }
                index += 2
            }
        }
        var killed = 0
        var killSelf = false
        for other in client.server.clients.values.sorted(by: { $0.id < $1.id }) {
            if let address, other.address != address { continue }
            if let localAddress, other.localAddress != localAddress { continue }
            if let type, other.type != type { continue }
            if let id, other.id != id { continue }
            if other === client {
                if skipMe { continue }
                killSelf = true
            } else {
                other.closeConnection()
            }
            killed += 1
        }
        if args.count == 3 {
            if killed == 0 { client.error("ERR No such client") } else { client.reply.ok() }
        } else {
            client.reply.integer(killed)
        }
        if killSelf { client.closeAfterReply = true }
    }

    static func noEvict(_ client: Client, _ args: CommandArguments) {
        if args.matches(2, "on") { client.noEvict = true }
        else if args.matches(2, "off") { client.noEvict = false }
        else { return client.error(ErrorReplies.syntax) }
        client.reply.ok()
    }

    /// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when that client was blocked and is not any more.
    static func unblock(_ client: Client, _ args: CommandArguments) {
        guard let id = args.integer(2) else { return client.error(ErrorReplies.notInteger) }
        var withError = false
        if args.count == 4 {
            if args.matches(3, "error") {
                withError = true
            } else if !args.matches(3, "timeout") {
                return client.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
            }
        } else if args.count > 4 {
            return client.error(ErrorReplies.syntax)
        }
        guard let target = client.server.clients[id] else { return client.reply.integer(0) }
        client.reply.integer(client.server.blocking.unblock(target, withError: withError) ? 1 : 0)
    }

    static func help(_ client: Client, _ args: CommandArguments) {
        ServerCommands.replyHelp(client, "CLIENT", [
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ])
    }

    // MARK: - The CLIENT LIST line

    /*
     One client as Redis's CLIENT LIST line describes it, field for field. Values Strata
     does not track are reported as what they are here: no pub/sub (sub/psub/ssub 0).
     Replies go to one buffer (its size is rbs, its pending bytes obl); what the socket
     did not take yet waits in one more (omem, and oll 1 while it holds any).
    */
    static func describe(_ target: Client, caller: Client) -> String {
        let now = Clock.nowMillis()
        let queued = target.transaction
        let multiMemory = queued?.reduce(0) { sum, entry in sum + entry.arguments.ranges.reduce(0) { $0 + $1.count } } ?? 0
        let queryBuffer = target.queryBufferBytes()
        let replyCapacity = target.reply.buffer.capacity
        let pending = target.reply.buffer.readableBytes
        let unsent = target.unsentReplyBytes()
        let total = queryBuffer + replyCapacity + multiMemory + unsent
        let fields: [(String, String)] = [
            ("id", String(target.id)), ("addr", target.address), ("laddr", target.localAddress),
            ("fd", String(target.fd)),
            ("name", target.name), ("age", String((now - target.createdAt) / 1000)),
            ("idle", String(max(0, now - target.lastInteraction) / 1000)), ("flags", flags(target)),
            ("db", String(target.db.index)), ("sub", "0"), ("psub", "0"), ("ssub", "0"),
            ("multi", String(queued?.count ?? -1)), ("qbuf", String(queryBuffer)), ("qbuf-free", "0"),
            ("argv-mem", "0"), ("multi-mem", String(multiMemory)), ("rbs", String(replyCapacity)),
            ("rbp", String(replyCapacity)), ("obl", String(pending)), ("oll", unsent > 0 ? "1" : "0"),
            ("omem", String(unsent)),
            ("tot-mem", String(total)), ("events", (pending > 0 && target !== caller) || unsent > 0 ? "rw" : "r"),
            ("cmd", target.lastCommandName), ("user", "default"), ("redir", "-1"),
            ("resp", String(target.protocolVersion)),
        ]
        return fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }

    /// Redis's flag letters, in its order: O monitor, x in MULTI, d watched key touched, b blocked,
    /// c closing after reply, U unix socket, e no-evict; N when none.
    static func flags(_ client: Client) -> String {
        var letters = ""
        if client.isMonitor { letters += "O" }
        if client.transaction != nil { letters += "x" }
        if client.watch.dirty { letters += "d" }
        if client.server.blocking.isBlocked(client) { letters += "b" }
        if client.closeAfterReply { letters += "c" }
        if !client.address.contains(":") { letters += "U" }
        if client.noEvict { letters += "e" }
        return letters.isEmpty ? "N" : letters
    }
}

extension Client {
    /// The client's type for CLIENT LIST/KILL TYPE.
    var type: ClientCommands.ClientType { .normal }
}

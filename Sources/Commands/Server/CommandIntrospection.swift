import RESP

/// COMMAND [COUNT | LIST | INFO | DOCS | GETKEYS | HELP]: the command table described to
/// clients (redis-cli and client libraries read it at startup).
public enum CommandIntrospection {
    static let flags: CommandFlags = [.loading, .stale]

    public static var specs: [CommandSpec] { [
        CommandSpec("command", arity: -1, flags: flags, group: "server", summary: "Get array of Redis command details",
                    subcommands: [
                        CommandSpec("count", arity: 2, flags: flags, group: "server",
                                    summary: "Get total number of Redis commands", handler: count),
                        CommandSpec("list", arity: -2, flags: flags, group: "server",
                                    summary: "Get an array of Redis command names", handler: list),
                        CommandSpec("info", arity: -2, flags: flags, group: "server",
                                    summary: "Get array of specific Redis command details, or all when no argument is given",
                                    handler: info),
                        CommandSpec("docs", arity: -2, flags: flags, group: "server",
                                    summary: "Get array of specific Redis command documentation", handler: docs),
                        CommandSpec("getkeys", arity: -4, flags: flags, group: "server",
                                    summary: "Extract keys given a full Redis command", handler: getKeys),
                        CommandSpec("help", arity: 2, flags: flags, group: "server",
                                    summary: "Show helpful text about the different subcommands", handler: help),
                    ], handler: all),
    ] }

    // MARK: - Lookup

    /// The visible top-level commands (renamed ones under their real name, disabled ones
    /// left out), sorted by name.
    static func visible(_ server: ServerContext) -> [CommandSpec] {
        server.commands.all.filter { server.commands.publicNames[$0.name] != nil }
    }

    /// The command named `name` as clients call it ("get", "config|get"), or nil.
    static func lookup(_ server: ServerContext, _ name: String) -> CommandSpec? {
        let parts = name.lowercased().split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count <= 2, let top = server.commands.lookup(String(parts[0])) else { return nil }
        return parts.count == 2 ? top.subcommands[String(parts[1])] : top
    }

    // MARK: - COMMAND, COUNT, LIST

    static func all(_ client: Client, _ args: CommandArguments) {
        let specs = visible(client.server)
        client.reply.arrayHeader(specs.count)
        for spec in specs { writeInfo(spec, client) }
    }

    static func count(_ client: Client, _ args: CommandArguments) {
        client.reply.integer(client.server.commands.publicNames.count)
    }

    /// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: names of
    /// commands and subcommands ("config|get").
    static func list(_ client: Client, _ args: CommandArguments) {
        var keep: (CommandSpec) -> Bool = { _ in true }
        if args.count == 5 && args.matches(2, "filterby") {
            let value = args.string(4)
            if args.matches(3, "module") {
                keep = { _ in false }  // no modules
            } else if args.matches(3, "aclcat") {
                let category = "@" + value.lowercased()
                keep = { categories(of: $0).contains(category) }
            } else if args.matches(3, "pattern") {
                keep = { ConfigCommand.configNameMatches(value, $0.fullName) }
            } else {
                return client.error(ErrorReplies.syntax)
            }
        } else if args.count != 2 {
            return client.error(ErrorReplies.syntax)
        }
        var names: [String] = []
        for spec in visible(client.server) {
            if keep(spec) { names.append(spec.fullName) }
            for sub in spec.subcommands.values.sorted(by: { $0.name < $1.name }) where keep(sub) {
                names.append(sub.fullName)
            }
        }
        client.reply.arrayHeader(names.count)
        for name in names { client.reply.bulk(name) }
    }

    // MARK: - INFO

    /// COMMAND INFO [name ...]: one entry per name (null when unknown), all without names.
    static func info(_ client: Client, _ args: CommandArguments) {
        guard args.count > 2 else { return all(client, args) }
        client.reply.arrayHeader(args.count - 2)
        for index in 2..<args.count {
            if let spec = lookup(client.server, args.string(index)) {
                writeInfo(spec, client)
            } else {
                client.reply.null()
            }
        }
    }

    /// Redis 7.0's COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL
    /// categories, tips, key specs, subcommands.
    static func writeInfo(_ spec: CommandSpec, _ client: Client) {
        let entry = CommandDocs.entries[spec.fullName]
        client.reply.arrayHeader(10)
        client.reply.bulk(spec.fullName)
        client.reply.integer(spec.arity)
        let flagNames = spec.flags.names.filter { $0 != "protected" }  // hidden by Redis too
        client.reply.setHeader(flagNames.count)
        for name in flagNames { client.reply.status(name) }
        client.reply.integer(spec.firstKey)
        client.reply.integer(spec.lastKey)
        client.reply.integer(spec.keyStep)
        let categories = categories(of: spec)
        client.reply.setHeader(categories.count)
        for category in categories { client.reply.status(category) }
        let tips = entry?.tips ?? []
        client.reply.setHeader(tips.count)
        for tip in tips { client.reply.bulk(tip) }
        CommandDocs.write(entry?.keySpecs ?? defaultKeySpecs(spec), to: &client.reply, asSet: true)
        let subcommands = spec.subcommands.values.sorted { $0.name < $1.name }
        if subcommands.isEmpty { client.reply.setHeader(0) } else { client.reply.arrayHeader(subcommands.count) }
        for sub in subcommands { writeInfo(sub, client) }
    }

    /// A key spec for a command without metadata, from its (first, last, step) positions.
    static func defaultKeySpecs(_ spec: CommandSpec) -> CommandDocs.Value {
        guard spec.firstKey > 0 else { return .array([]) }
        let last = spec.lastKey < 0 ? spec.lastKey : spec.lastKey - spec.firstKey
        return .array([.object([
            ("flags", .array([])),
            ("begin_search", .object([("type", .string("index")), ("spec", .object([("index", .int(spec.firstKey))]))])),
            ("find_keys", .object([("type", .string("range")), ("spec", .object([
                ("lastkey", .int(last)), ("keystep", .int(spec.keyStep)), ("limit", .int(0))]))])),
        ])])
    }

    /// Redis's ACL category order (COMMAND INFO lists them in it).
    static let categoryOrder = ["@keyspace", "@read", "@write", "@set", "@sortedset", "@list", "@hash", "@string",
                                "@bitmap", "@hyperloglog", "@geo", "@stream", "@pubsub", "@admin", "@fast", "@slow",
                                "@blocking", "@dangerous", "@connection", "@transaction", "@scripting"]

    /// Categories from the flags (as Redis's setImplicitACLCategories), plus the explicit
    /// ones from the metadata, or for commands without metadata, the group's category.
    static func categories(of spec: CommandSpec) -> [String] {
        var set = Set<String>()
        let flags = spec.flags
        if flags.contains(.write) { set.insert("@write") }
        if flags.contains(.readonly) { set.insert("@read") }
        if flags.contains(.admin) { set.formUnion(["@admin", "@dangerous"]) }
        if flags.contains(.pubsub) { set.insert("@pubsub") }
        if flags.contains(.blocking) { set.insert("@blocking") }
        set.insert(flags.contains(.fast) ? "@fast" : "@slow")
        if let entry = CommandDocs.entries[spec.fullName] {
            set.formUnion(entry.categories)
        } else {
            let byGroup = ["string": "@string", "bitmap": "@bitmap", "generic": "@keyspace", "list": "@list",
                           "hash": "@hash", "set": "@set", "sorted-set": "@sortedset", "hyperloglog": "@hyperloglog",
                           "geo": "@geo", "stream": "@stream", "pubsub": "@pubsub", "scripting": "@scripting",
                           "connection": "@connection", "transactions": "@transaction"]
            if let category = byGroup[spec.group] { set.insert(category) }
        }
        return categoryOrder.filter { set.contains($0) }
    }

    // MARK: - DOCS

    /// COMMAND DOCS [name ...]: a map of name to documentation; unknown names are left out.
    static func docs(_ client: Client, _ args: CommandArguments) {
        var specs: [CommandSpec]
        if args.count == 2 {
            specs = visible(client.server)
        } else {
            specs = (2..<args.count).compactMap { lookup(client.server, args.string($0)) }
        }
        client.reply.mapHeader(specs.count)
        for spec in specs {
            client.reply.bulk(spec.fullName)
            writeDocs(spec, client)
        }
    }

    static func writeDocs(_ spec: CommandSpec, _ client: Client) {
        var pairs: [(String, CommandDocs.Value)]
        if case .object(let documented)? = CommandDocs.entries[spec.fullName]?.docs {
            pairs = documented
        } else {
            pairs = [("summary", .string(spec.summary)), ("group", .string(spec.group))]
        }
        let subcommands = spec.subcommands.values.sorted { $0.name < $1.name }
        client.reply.mapHeader(pairs.count + (subcommands.isEmpty ? 0 : 1))
        for (key, value) in pairs {
            client.reply.bulk(key)
            CommandDocs.write(value, to: &client.reply, key: key)
        }
        if !subcommands.isEmpty {
            client.reply.bulk("subcommands")
            client.reply.mapHeader(subcommands.count)
            for sub in subcommands {
                client.reply.bulk(sub.fullName)
                writeDocs(sub, client)
            }
        }
    }

    // MARK: - GETKEYS, HELP

    /// COMMAND GETKEYS command [arg ...]: the keys the command would touch, from the same
    /// key positions the server uses.
    static func getKeys(_ client: Client, _ args: CommandArguments) {
        guard var spec = client.server.commands.lookup(args.bytes(2)) else {
            return client.error("ERR Invalid command specified")
        }
        if spec.isContainer && args.count >= 4 {
            guard let sub = spec.subcommands[args.lowercased(3)] else {
                return client.error("ERR Invalid command specified")
            }
            spec = sub
        }
        guard spec.firstKey > 0 || spec.keySearch != nil else {
            return client.error("ERR The command has no key arguments")
        }
        let call = CommandArguments(buffer: args.buffer, ranges: Array(args.ranges[2...]))
        guard spec.acceptsArgumentCount(call.count) else {
            return client.error("ERR Invalid number of arguments specified for command")
        }
        let positions = spec.keyPositions(call)
        guard !positions.isEmpty else { return client.error("ERR Invalid arguments specified for command") }
        client.reply.arrayHeader(positions.count)
        for position in positions { client.reply.bulk(call.bytes(position)) }
    }

    static func help(_ client: Client, _ args: CommandArguments) {
        ServerCommands.replyHelp(client, "COMMAND", [
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ])
    }
}

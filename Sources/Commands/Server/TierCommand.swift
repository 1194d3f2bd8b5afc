import Store

/*
 TIER: see and force a key's tier (Strata only; operators pre-warm with it, tests force
 demotion with it).

   TIER GET key             hot | cold | none
   TIER DEMOTE key [key..]  writes the hot ones to RocksDB and drops them from RAM; replies
                            how many left RAM
   TIER PROMOTE key [key..] reads the cold ones back into RAM; replies how many are in RAM
   TIER DEMOTE-ALL          demotes every key of every database
*/
public enum TierCommand {
    static let disabled = "ERR tiering is disabled (tiering no)"

    public static var specs: [CommandSpec] { [CommandSpec(
        "tier", arity: -2, group: "server", summary: "See and force the tier (RAM or RocksDB) of keys",
        subcommands: [
            CommandSpec("get", arity: 3, flags: [.readonly, .fast], summary: "The tier of a key", handler: get),
            CommandSpec("demote", arity: -3, flags: [.write], summary: "Move keys to the cold tier", handler: demote),
            CommandSpec("promote", arity: -3, flags: [.readonly], keys: (2, -1, 1),
                        summary: "Bring keys back into RAM", handler: promote),
            CommandSpec("demote-all", arity: 2, flags: [.write], summary: "Move every key to the cold tier",
                        handler: demoteAll),
            CommandSpec("help", arity: 2, flags: [.loading, .stale], summary: "Show helpful text", handler: help),
        ])] }

    static func get(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let key = args.bytes(2)
        if db.find(key) != nil { return client.reply.bulk("hot") }
        if db.mayExist(key) { return client.reply.bulk("cold") }
        client.reply.bulk("none")
    }

    static func demote(_ client: Client, _ args: CommandArguments) {
        guard let tier = client.server.store.activeTier else { return client.error(disabled) }
        let db = client.db
        var demoted = 0
        // Inside MULTI/EXEC no key may leave RAM: none is demoted.
        if tier.atomicUnits > 0 { return client.reply.integer(0) }
        for index in 2..<args.count {
            guard let slot = db.find(args.bytes(index)) else { continue }
            tier.demote(db, slot)
            demoted += 1
        }
        tier.flushDemotions(wait: true)
        client.reply.integer(demoted)
    }

    /// The admission step already read the cold keys back (as a write would: they stay).
    static func promote(_ client: Client, _ args: CommandArguments) {
        guard client.server.store.activeTier != nil else { return client.error(disabled) }
        let db = client.db
        var hot = 0
        for index in 2..<args.count where db.find(args.bytes(index)) != nil { hot += 1 }
        client.reply.integer(hot)
    }

    static func demoteAll(_ client: Client, _ args: CommandArguments) {
        guard let tier = client.server.store.activeTier else { return client.error(disabled) }
        tier.demoteEverything()
        client.reply.ok()
    }

    static func help(_ client: Client, _ args: CommandArguments) {
        let lines = [
            "TIER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <key>", "    Return the tier of the key: hot, cold or none.",
            "DEMOTE <key> [<key> ...]", "    Move keys from RAM to RocksDB.",
            "PROMOTE <key> [<key> ...]", "    Read keys from RocksDB back into RAM.",
            "DEMOTE-ALL", "    Move every key of every database to RocksDB.",
            "HELP", "    Print this help.",
        ]
        client.reply.arrayHeader(lines.count)
        for line in lines { client.reply.status(line) }
    }
}

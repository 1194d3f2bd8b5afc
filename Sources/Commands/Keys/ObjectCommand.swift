import RESP
import Store

/// OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT | HELP.
///
/// Strata does not keep Redis's object headers, so the answers are derived: the encoding
/// from the value's bytes (and the raw flag in-place edits set), the reference count from
/// Redis's shared-integer rule, idle time and frequency from the slot's metadata.
extension KeyCommands {
    /// Redis's OBJ_SHARED_REFCOUNT (INT_MAX): the count OBJECT REFCOUNT reports for the
    /// shared small integers.
    static let sharedRefcount = Int(Int32.max)
    /// Integers 0..<10000 are shared objects in Redis (OBJ_SHARED_INTEGERS).
    static let sharedIntegerLimit = 10000
    /// Longest string Redis stores "embstr" (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
    public static let embstrLimit = 44

    static var objectSpec: CommandSpec { CommandSpec(
        "object", arity: -2, summary: "A container for object introspection commands",
        subcommands: [
            CommandSpec("encoding", arity: 3, flags: [.readonly], keys: (2, 2, 1),
                        summary: "Inspect the internal encoding of a Redis object", handler: objectEncoding),
            CommandSpec("freq", arity: 3, flags: [.readonly], keys: (2, 2, 1),
                        summary: "Get the logarithmic access frequency counter of a Redis object",
                        coldNeed: .metadata, handler: objectFreq),
            CommandSpec("idletime", arity: 3, flags: [.readonly], keys: (2, 2, 1),
                        summary: "Get the time since a Redis object was last accessed", coldNeed: .metadata,
                        handler: objectIdletime),
            CommandSpec("refcount", arity: 3, flags: [.readonly], keys: (2, 2, 1),
                        summary: "Get the number of references to the value of the key", handler: objectRefcount),
            CommandSpec("help", arity: 2, flags: [.loading, .stale],
                        summary: "Show helpful text about the different subcommands", handler: objectHelp),
        ]) }

    /// The encoding Redis would report for a string value: "int" for the canonical
    /// decimal form of an int64 (at most 20 bytes), "embstr" up to 44 bytes, else "raw";
    /// always "raw" once the string was edited in place (APPEND, SETRANGE, SETBIT...), which
    /// `KeyFlags.rawString` in `meta` records.
    public static func stringEncoding(_ bytes: [UInt8], meta: UInt32) -> String {
        if meta & KeyFlags.rawString != 0 { return "raw" }
        if bytes.count <= 20 && StrictInteger.parse(bytes) != nil { return "int" }
        return bytes.count <= embstrLimit ? "embstr" : "raw"
    }

    /// OBJECT ENCODING of a collection, from the form byte of its record's payload (the
    /// stored one: a large collection's is `owned`, never packed for the question).
    public static func collectionEncoding(_ record: KeyRecord) -> String {
        record.valueType.encodingName(record.valueBytes.first.flatMap(PackedForm.init(rawValue:)) ?? .listpack)
    }

    static func objectEncoding(_ client: Client, _ args: CommandArguments) {
        guard let slot = inspect(client, args.bytes(2)) else { return client.reply.null() }
        if let bytes = slot.pointee.stringBytes {
            client.reply.bulk(stringEncoding([UInt8](bytes), meta: slot.pointee.meta))
        } else {
            client.reply.bulk(collectionEncoding(slot.pointee.record))
        }
    }

    /// OBJECT REFCOUNT: Redis shares the objects of the integers 0...9999 (reported as
    /// INT_MAX) unless maxmemory is set with an LRU or LFU policy, which needs per-key
    /// access data; every other value has one reference.
    static func objectRefcount(_ client: Client, _ args: CommandArguments) {
        guard let slot = inspect(client, args.bytes(2)) else { return client.reply.null() }
        let config = client.server.config
        let policy = config.maxmemoryPolicy
        let sharingAllowed = config.maxmemory == 0 || !(policy.hasSuffix("lru") || policy.hasSuffix("lfu"))
        if let bytes = slot.pointee.stringBytes, sharingAllowed && stringEncoding([UInt8](bytes), meta: slot.pointee.meta) == "int",
           let value = StrictInteger.parse(bytes), value >= 0 && value < sharedIntegerLimit {
            return client.reply.integer(sharedRefcount)
        }
        client.reply.integer(1)
    }

    /// OBJECT IDLETIME: seconds since the last recorded access; meaningless (an error)
    /// under an LFU policy, whose metadata holds a counter instead.
    static func objectIdletime(_ client: Client, _ args: CommandArguments) {
        guard let found = inspectMetadata(client, args.bytes(2)) else { return client.reply.null() }
        let store = client.server.store
        if store.lfuPolicy {
            return client.error("""
                ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching \
                between policies at runtime LRU and LFU data will take some time to adjust.
                """)
        }
        client.reply.integer(AccessTracking.idleSeconds(meta: found.access, nowMillis: store.nowMillis))
    }

    /// OBJECT FREQ: the decayed LFU counter; only tracked under an LFU policy.
    static func objectFreq(_ client: Client, _ args: CommandArguments) {
        guard let found = inspectMetadata(client, args.bytes(2)) else { return client.reply.null() }
        let store = client.server.store
        if !store.lfuPolicy {
            return client.error("""
                ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
                switching between policies at runtime LRU and LFU data will take some time to adjust.
                """)
        }
        let counter = AccessTracking.lfuDecayedCounter(meta: found.access, nowMillis: store.nowMillis,
                                                       decayMinutes: store.config.lfuDecayTime)
        client.reply.integer(Int(counter))
    }

    static let objectHelpLines = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ]

    static func objectHelp(_ client: Client, _ args: CommandArguments) {
        client.reply.arrayHeader(objectHelpLines.count)
        for line in objectHelpLines { client.reply.status(line) }
    }
}

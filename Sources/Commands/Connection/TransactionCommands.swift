import RESP
import Store

/// MULTI, EXEC, DISCARD, WATCH, UNWATCH.
///
/// Queueing happens in the dispatcher (a command inside MULTI is checked, then stored with
/// its arguments detached from the receive buffer). EXEC runs the queue in one go: commands
/// run one at a time on the execution thread, so nothing can interleave.
public enum TransactionCommands {
    public static var specs: [CommandSpec] { [
        CommandSpec("multi", arity: 1, flags: [.noQueue, .noscript, .loading, .stale, .fast, .allowBusy],
                    group: "transactions", handler: multi),
        CommandSpec("exec", arity: 1, flags: [.noQueue, .noscript, .loading, .stale, .skipSlowlog],
                    group: "transactions", handler: exec),
        CommandSpec("discard", arity: 1, flags: [.noQueue, .noscript, .loading, .stale, .fast, .allowBusy],
                    group: "transactions", handler: discard),
        CommandSpec("watch", arity: -2, flags: [.noQueue, .noscript, .loading, .stale, .fast, .allowBusy],
                    keys: (1, -1, 1), group: "transactions", handler: watch),
        CommandSpec("unwatch", arity: 1, flags: [.noscript, .loading, .stale, .fast, .allowBusy],
                    group: "transactions", handler: unwatch),
    ] }

    static func multi(_ client: Client, _ args: CommandArguments) {
        guard client.transaction == nil else { return client.error("ERR MULTI calls can not be nested") }
        client.transaction = []
        client.transactionFailed = false
        client.reply.ok()
    }

    static func discard(_ client: Client, _ args: CommandArguments) {
        guard client.transaction != nil else { return client.error("ERR DISCARD without MULTI") }
        client.transaction = nil
        client.transactionFailed = false
        client.unwatchAll()
        client.reply.ok()
    }

    static func exec(_ client: Client, _ args: CommandArguments) {
        guard let queued = client.transaction else { return client.error("ERR EXEC without MULTI") }
        defer { client.unwatchAll() }
        if client.transactionFailed {
            client.transaction = nil
            client.transactionFailed = false
            return client.error(ErrorReplies.execAbort)
        }
        if client.watch.dirty || watchedKeyExpired(client) {
            client.transaction = nil
            client.reply.nullArray()
            return
        }
        client.reply.arrayHeader(queued.count)
        let server = client.server
        // The client stays "in MULTI" while the queue runs, as in Redis (CLIENT LIST shows
        // flags=x and multi=N from inside the transaction). Queued commands run through
        // run(), not dispatch(), so nothing is queued again.
        // An atomic unit: no key leaves RAM until the queue has run (ColdTier.atomicUnits).
        let tier = server.store.tier
        tier?.beginAtomicUnit()
        for (spec, arguments) in queued {
            server.run(client, spec, arguments)
        }
        tier?.endAtomicUnit()
        client.transaction = nil
        client.currentCommandFailed = false
    }

    /// A watched key that was alive at WATCH time and has expired since counts as changed.
    static func watchedKeyExpired(_ client: Client) -> Bool {
        let store = client.server.store
        store.refreshClock()
        return client.watch.keys.contains { store.databases[$0.db].isExpiredNow($0.key) }
    }

    static func watch(_ client: Client, _ args: CommandArguments) {
        guard client.transaction == nil else { return client.error("ERR WATCH inside MULTI is not allowed") }
        for index in 1..<args.count {
            let key = args.array(index)
            if client.watch.keys.contains(where: { $0.db == client.db.index && $0.key == key }) { continue }
            client.db.watch(key, by: client.watch)
        }
        client.reply.ok()
    }

    static func unwatch(_ client: Client, _ args: CommandArguments) {
        client.unwatchAll()
        client.reply.ok()
    }
}

import NIOCore
import RESP
import Store

/*
 SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF. All of them start a checkpoint (Checkpoint.swift):
 dirty hot keys are written to RocksDB and the log before it is deleted. BGREWRITEAOF is
 the same thing under its AOF name: a checkpoint is what shrinks the log.

 SAVE waits for the checkpoint, as Redis's does, but only its own connection waits (it is
 parked like a command whose keys are cold); the server goes on serving the others.
*/
enum PersistenceCommands {
    static var specs: [CommandSpec] { [
        {
            let spec = CommandSpec("save", arity: 1, flags: [.admin, .noscript, .noMulti], group: "server",
                                   summary: "Synchronously save the dataset to disk", handler: save)
            spec.waitsForCheckpoint = true
            return spec
        }(),
        CommandSpec("bgsave", arity: -1, flags: [.admin, .noscript], group: "server",
                    summary: "Asynchronously save the dataset to disk", handler: bgsave),
        CommandSpec("bgrewriteaof", arity: 1, flags: [.admin, .noscript], group: "server",
                    summary: "Asynchronously rewrite the append-only file", handler: bgrewriteaof),
        CommandSpec("lastsave", arity: 1, flags: [.loading, .stale, .fast], group: "server",
                    summary: "Get the UNIX time stamp of the last successful save to disk", handler: lastsave),
    ] }

    /// Before SAVE runs: starts the checkpoint and parks the connection until it ends.
    /// Returns nil when SAVE can reply now (it has its outcome, or must refuse).
    static func saveAdmission(_ client: Client) -> EventLoopFuture<Void>? {
        let store = client.server.store
        guard client.checkpointOutcome == nil, !store.checkpointRunning, store.tier != nil,
              let loop = client.server.eventLoop else { return nil }
        let promise = loop.makePromise(of: Void.self)
        store.checkpoint { ok in
            client.checkpointOutcome = ok
            promise.succeed(())
        }
        return promise.futureResult
    }

    static func save(_ client: Client, _ args: CommandArguments) {
        let store = client.server.store
        guard let outcome = client.checkpointOutcome else {
            if store.checkpointRunning { return client.error("ERR Background save already in progress") }
            return client.error(noPersistence)
        }
        client.checkpointOutcome = nil
        outcome ? client.reply.ok() : client.error("ERR")
    }

    /// BGSAVE [SCHEDULE].
    static func bgsave(_ client: Client, _ args: CommandArguments) {
        let store = client.server.store
        let schedule = args.count == 2 && args.matches(1, "schedule")
        guard args.count == 1 || schedule else { return client.error(ErrorReplies.syntax) }
        guard store.tier != nil else { return client.error(noPersistence) }
        if store.checkpointRunning {
            if schedule { return client.reply.status("Background saving scheduled") }
            return client.error("ERR Background save already in progress")
        }
        store.checkpoint()
        client.reply.status("Background saving started")
    }

    static func bgrewriteaof(_ client: Client, _ args: CommandArguments) {
        let store = client.server.store
        guard store.tier != nil else { return client.error(noPersistence) }
        if store.checkpointRunning {
            // It starts after the running one (a checkpoint is what shortens the log).
            store.checkpoint { _ in store.checkpoint() }
            return client.reply.status("Background append only file rewriting scheduled")
        }
        store.checkpoint()
        client.reply.status("Background append only file rewriting started")
    }

    static func lastsave(_ client: Client, _ args: CommandArguments) {
        client.reply.integer(Int(client.server.store.persistence.lastSaveTime))
    }

    /// Without RocksDB (tiering no and no persistence configured) there is nowhere to save.
    static let noPersistence = "ERR Persistence is not available: the server runs with tiering no, save \"\" and "
        + "appendonly no"
}

import NIOCore
import Store

/// How a blocked command's wait ended, other than by its keys becoming ready.
public enum BlockOutcome {
    /// The timeout passed, or CLIENT UNBLOCK ... TIMEOUT: the command replies as on a timeout.
    case timedOut
    /// CLIENT UNBLOCK ... ERROR.
    case unblockedWithError
}

/// What a blocking command asks for when it has nothing to serve yet.
public struct BlockRequest {
    public let keys: [[UInt8]]
    /// Absolute deadline (Unix ms), 0 for none.
    public let deadline: Int64
}

/*
 Blocking commands (DESIGN.md "Admission"): a handler that finds nothing to serve leaves a
 `BlockRequest` on the client instead of a reply; the dispatcher parks the connection on
 the future `block` returns, with the request unconsumed, and dispatches it again when the
 wait ends. The handler then runs from the start: it finds its element, or its outcome
 (`takeBlockOutcome`) says the wait timed out or was ended by CLIENT UNBLOCK.

 - Clients blocked on a key are served first come first served: a list created under the
   key (a push, LMOVE, RENAME, COPY... `Store.createdLists`, gathered while a command or a
   whole EXEC runs) wakes the longest-waiting client, and when its command is done, if
   the list still holds elements, the next one. A woken client that finds nothing (another
   client took the element first) blocks again in its old place (`sequence`).
 - Waking goes through the event loop (`execute`), never re-entering the command that
   pushed.
 - An idle blocked client costs nothing: no polling, one scheduled task for its deadline.
*/
public final class BlockingRegistry {
    struct WaitKey: Hashable {
        let db: Int
        let key: [UInt8]
    }

    final class Wait {
        unowned(unsafe) let client: Client
        let keys: [WaitKey]
        let sequence: UInt64
        let promise: EventLoopPromise<Void>
        var timer: Scheduled<Void>?

        init(client: Client, keys: [WaitKey], sequence: UInt64, promise: EventLoopPromise<Void>) {
            self.client = client
            self.keys = keys
            self.sequence = sequence
            self.promise = promise
        }
    }

    unowned(unsafe) let server: ServerContext
    private var queues: [WaitKey: [Wait]] = [:]
    private var byClient: [Int: Wait] = [:]
    private var nextSequence: UInt64 = 1

    init(server: ServerContext) { self.server = server }

    /// Clients blocked now (INFO blocked_clients).
    public var blockedClients: Int { byClient.count }

    /// Whether `client` is blocked.
    public func isBlocked(_ client: Client) -> Bool { byClient[client.id] != nil }

    /// Parks `client` on `request`; the future completes when it should run again.
    func block(_ client: Client, _ request: BlockRequest) -> EventLoopFuture<Void> {
        let loop = server.eventLoop!
        let sequence = client.blockSequence ?? nextSequence
        if client.blockSequence == nil {
            client.blockSequence = sequence
            nextSequence += 1
        }
        var keys: [WaitKey] = []
        for key in request.keys {
            let waitKey = WaitKey(db: client.db.index, key: key)
            if !keys.contains(waitKey) { keys.append(waitKey) }
        }
        let wait = Wait(client: client, keys: keys, sequence: sequence, promise: loop.makePromise(of: Void.self))
        for key in keys {
            var queue = queues[key] ?? []
            // In arrival order: a client blocking again after a wake keeps its old place.
            let position = queue.firstIndex { $0.sequence > sequence } ?? queue.count
            queue.insert(wait, at: position)
            queues[key] = queue
        }
        byClient[client.id] = wait
        server.store.blockedKeys = queues.count
        if request.deadline > 0 {
            let delay = max(0, request.deadline - Clock.nowMillis())
            wait.timer = loop.scheduleTask(in: .milliseconds(delay)) { [weak self] in
                self?.end(wait, outcome: .timedOut)
            }
        }
        return wait.promise.futureResult
    }

    /// Ends `client`'s wait as CLIENT UNBLOCK asks; false when it is not blocked.
    public func unblock(_ client: Client, withError: Bool) -> Bool {
        guard let wait = byClient[client.id] else { return false }
        end(wait, outcome: withError ? .unblockedWithError : .timedOut)
        return true
    }

    /// Forgets a client that disconnected while blocked.
    public func remove(_ client: Client) {
        if let wait = byClient[client.id] {
            detach(wait)
            wait.promise.succeed(())  // the connection is closing: nothing runs
        }
        // A client woken for a key that leaves before running passes the turn on.
        if let key = client.wokenFor {
            client.wokenFor = nil
            wakeFirst(key)
        }
    }

    private func end(_ wait: Wait, outcome: BlockOutcome) {
        guard byClient[wait.client.id] === wait else { return }
        detach(wait)
        wait.client.blockOutcome = outcome
        let promise = wait.promise
        server.eventLoop!.execute { promise.succeed(()) }
    }

    private func detach(_ wait: Wait) {
        wait.timer?.cancel()
        byClient[wait.client.id] = nil
        for key in wait.keys {
            queues[key]?.removeAll { $0 === wait }
            if queues[key]?.isEmpty == true { queues[key] = nil }
        }
        server.store.blockedKeys = queues.count
    }

    /// After a command (or a whole EXEC): wakes the first client blocked on each list
    /// created meanwhile.
    func serveCreatedLists() {
        let created = server.store.createdLists
        server.store.createdLists.removeAll()
        for (db, key) in created { wakeFirst(WaitKey(db: db, key: key)) }
    }

    private func wakeFirst(_ key: WaitKey) {
        guard let wait = queues[key]?.first else { return }
        detach(wait)
        wait.client.wokenFor = key
        let promise = wait.promise
        server.eventLoop!.execute { promise.succeed(()) }
    }

    /// After the command of a client that was woken for a key: if the list there still has
    /// elements, the next client blocked on it gets its turn.
    func afterWokenCommand(_ client: Client) {
        guard let key = client.wokenFor else { return }
        client.wokenFor = nil
        let db = server.store.databases[key.db]
        let holdsList = key.key.withUnsafeBytes { bytes -> Bool in
            if let slot = db.find(bytes) { return slot.pointee.valueType == .list }
            guard let cold = db.coldEntry(bytes) else { return false }
            return ColdIndex.typeTag(meta: cold.meta) == ValueType.list.rawValue
        }
        if holdsList { wakeFirst(key) }
    }

    /// SWAPDB: every client blocked in either database may now find its keys; each
    /// blocked key gets checked as if a list had been created there.
    public func databasesSwapped(_ a: Int, _ b: Int) {
        for key in queues.keys where key.db == a || key.db == b { wakeFirst(key) }
    }
}

extension Client {
    /// Asks the dispatcher to park this client until one of `keys` (in the selected
    /// database) holds a list, or `deadline` (Unix ms, 0: never) passes.
    public func block(on keys: [[UInt8]], deadline: Int64) {
        blockRequest = BlockRequest(keys: keys, deadline: deadline)
    }

    /// How the last wait ended, if not by a key (read once).
    public func takeBlockOutcome() -> BlockOutcome? {
        defer { blockOutcome = nil }
        return blockOutcome
    }

    /// True when a blocking command may block: not inside MULTI/EXEC (there it behaves as
    /// its non-blocking form, as in Redis).
    public var mayBlock: Bool { transaction == nil }
}

import Commands
import Config
import Dispatch
import Logging
import NIOCore
import Store
#if canImport(Glibc)
import Glibc
#endif

/*
 The running server: one loop (ExecutionLoop) runs every connection and every command,
 as Redis's main thread does, so commands are atomic without locks (FACTS.md: at
 pipeline 1 a second loop with a lock-striped table lost 15-30%; the client, not the
 server, is the bottleneck there). Background work (active expiry, incremental
 resizing) runs from a cron on the same loop, `hz` times per second, each step bounded
 in time.
*/
public final class StrataServer {
    public let context: ServerContext
    public let logger: Logger
    private let executionLoop: ExecutionLoop
    private var listeners: [Listener] = []
    private var cron: RepeatedTask?
    private var signalSources: [DispatchSourceSignal] = []
    private let stopped: EventLoopPromise<Void>
    /// Connections whose replies wait for the log to reach the disk (appendfsync always).
    let durability = DurabilityGate()
    private var shuttingDown = false

    static let stallLogger = Logger(label: "strata.cron")

    /// The event loop that executes commands.
    public var loop: EventLoop { executionLoop }

    public init(config: ServerConfig, logger: Logger) {
        self.executionLoop = ExecutionLoop()
        self.context = ServerContext(config: config)
        context.store.memoryNotCountedForLimit = { Connection.heldInputBytes + Connection.queuedReplyBytes }
        self.logger = logger
        self.stopped = executionLoop.makePromise()
        self.context.eventLoop = executionLoop
    }

    /// Binds every configured address and starts the cron. Throws when an address could
    /// not be bound; the server is then stopped.
    public func start() throws {
        do {
            try bindAndStart()
        } catch {
            let listeners = self.listeners
            try? loop.submit { for listener in listeners { listener.close() } }.wait()
            self.listeners.removeAll()
            stopped.succeed(())
            throw error
        }
    }

    private func bindAndStart() throws {
        let config = context.config
        // The execution thread allocates from an arena of its own: maxmemory counts what
        // it holds, apart from RocksDB's caches and the background threads' buffers.
        _ = try? context.eventLoop!.submit { MemoryStats.useOwnArena() }.wait()
        try openStorage()
        let server = context
        let logger = self.logger
        let durability = self.durability
        let executionLoop = self.executionLoop
        let accept = { (fd: Int32) in
            Connection(fd: fd, loop: executionLoop, server: server, logger: logger, durability: durability).start()
        }
        for address in config.bind {
            // "-addr" marks an optional address, as in redis.conf ("bind 127.0.0.1 -::1").
            let optional = address.hasPrefix("-") || address == "::1"
            let host = address.hasPrefix("-") ? String(address.dropFirst()) : address
            do {
                // Listening starts now, accepting only once every address is bound (below):
                // a client that reached the first address must not be served before the
                // others exist. Port 0 (tests) binds every address to the first one's port.
                let port = listeners.first?.port ?? config.port
                let listener = try Listener(host: host, port: port, backlog: config.tcpBacklog,
                                            keepaliveSeconds: config.tcpKeepalive, loop: executionLoop,
                                            accepted: accept)
                listeners.append(listener)
                context.listeningPort = listener.port
            } catch {
                if optional {
                    logger.warning("Could not bind \(host):\(config.port) (optional address): \(error)")
                } else {
                    throw StartupError("Could not create server TCP listening socket \(host):\(config.port): "
                                       + "\(error). Failed listening on port \(config.port) (TCP), aborting.")
                }
            }
        }
        guard !listeners.isEmpty else { throw StartupError("No address could be bound") }
        context.requestShutdown = { [weak self] request in
            guard let self else { return false }
            let save = request == .save || (request == .defaultMode && self.context.config.persistenceEnabled)
            self.shutdown(reason: "User requested shutdown...", save: save)
            return true
        }
        let boundPort = config.port, boundAddresses = config.bind
        context.applyConfigChanges = { [weak self] names in
            guard let self else { return nil }
            if names.contains("hz") { self.restartCron() }
            if let refused = self.applyPersistenceChanges(names) { return refused }
            // Listeners are bound once, at start (rebinding would have to wait on a bind
            // from the execution loop itself): refuse rather than pretend.
            if self.context.config.port != boundPort {
                return ("port", "changing the port at run time is not supported, restart the server")
            }
            if self.context.config.bind != boundAddresses {
                return ("bind", "changing bind addresses at run time is not supported, restart the server")
            }
            return nil
        }
        // Clients come in only now that SHUTDOWN and CONFIG SET have their hooks.
        let listeners = self.listeners
        try loop.submit { for listener in listeners { listener.start() } }.wait()
        startCron()
        installSignalHandlers()
        logger.notice("Ready to accept connections tcp on port \(context.listeningPort)")
    }

    /// Blocks until the server has stopped.
    public func waitUntilStopped() throws {
        try stopped.futureResult.wait()
        executionLoop.stop()
    }

    /// CONFIG SET hz: the cron's period follows the new value.
    private func restartCron() {
        guard cron != nil else { return }
        cron?.cancel()
        startCron()
    }

    private func startCron() {
        let hz = max(1, min(context.config.hz, 500))
        let period = TimeAmount.milliseconds(Int64(1000 / hz))
        let context = self.context
        cron = loop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            Cron.run(context, periodMicros: 1_000_000 / hz)
        }
    }

    private func installSignalHandlers() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let name = sig == SIGTERM ? "SIGTERM" : "SIGINT"
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.loop.execute {
                    // As Redis: a signal saves when save points or the log are configured.
                    self.shutdown(reason: "Received \(name) scheduling shutdown...",
                                  save: self.context.config.persistenceEnabled)
                }
            }
            source.resume()
            signalSources.append(source)
        }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Stops accepting, closes every connection, saves (a checkpoint, unless `save` is
    /// false or nothing is persisted) and completes `waitUntilStopped`. Runs on the loop.
    public func shutdown(reason: String, save: Bool) {
        guard !shuttingDown else { return }
        shuttingDown = true
        logger.notice("\(reason)")
        cron?.cancel()
        cron = nil
        for listener in listeners { listener.close() }
        listeners.removeAll()
        for client in context.clients.values { client.closeConnection() }
        let pidfile = context.config.pidfile
        if !pidfile.isEmpty { unlink(pidfile) }
        let stopped = self.stopped
        let logger = self.logger
        let store = context.store
        let finish = {
            store.logChanges()
            store.log?.close()
            store.closeColdTier()
            logger.notice("Strata is now ready to exit, bye bye...")
            stopped.succeed(())
        }
        // Connections close on the loop's next turn; the checkpoint starts after that.
        loop.execute {
            store.logChanges()
            guard save, store.tier != nil else { return finish() }
            logger.notice("Saving the final checkpoint before exiting.")
            store.checkpoint(intoRocksDB: true) { ok in
                if ok {
                    logger.notice("Checkpoint done: \(store.persistence.keysWritten) keys written.")
                    if store.finishIndexSnapshot() {
                        logger.notice("Cold index saved for a fast start.")
                    }
                } else if store.log != nil {
                    logger.warning("The final checkpoint failed; the append-only log holds every write.")
                } else {
                    logger.warning("The final checkpoint failed: writes since the last one are lost.")
                }
                finish()
            }
        }
    }
}

/// Socket reading limits. Fairness: one busy connection (a mass import) handles at most
/// `readsPerEvent` x `maxReadBytes` before the loop serves the others, as Redis reads one
/// buffer per event; 16 reads of up to 1 MB let a `redis-cli --pipe` import hold everyone
/// else up for over 100 ms. With one read (16 KB, up to 64 KB inside a large request)
/// instead of two, a client pinging during a 10 M-key import saw p99 5.7 ms instead of
/// 9-11, and the import was no slower (Benchmarks/RESULTS.md).
enum Network {
    /// Reads per readiness event and connection.
    static let readsPerEvent = 1
    /// Largest single read, in bytes.
    static let maxReadBytes = 64 * 1024
}

/// A reason the server could not start.
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Periodic background work, each part bounded in time (Redis's serverCron).
enum Cron {
    /// Share of each cron period the active expiry may use (Redis: 25%).
    static let activeExpireShare = 4
    /// Time per period given to incremental resizing (Redis: 1 ms).
    static let resizeBudgetMicros = 1000

    /// When the cron last started (monotonic ns), to notice a loop that was held up.
    nonisolated(unsafe) static var lastRun: UInt64 = 0

    static func run(_ context: ServerContext, periodMicros: Int) {
        let start = Clock.monotonicNanos()
        if lastRun != 0 {
            // The cron fires every period; starting much later means the loop was busy.
            let lateMillis = Int((start &- lastRun) / 1_000_000) - periodMicros / 1000
            if lateMillis >= 50 {
                StrataServer.stallLogger.warning("event loop was held up for \(lateMillis) ms")
            }
        }
        lastRun = start
        context.store.activeExpireCycle(budgetMicros: periodMicros / activeExpireShare)
        context.store.resizeStep(budgetMicros: resizeBudgetMicros)
        if let tier = context.store.tier {
            tier.sampleRocksDBMemory()
            tier.flushPendingDeletes()
        }
        Persistence.cron(context)
        // Demotion also runs without writes (after CONFIG SET maxmemory, say).
        if context.config.maxmemory > 0 { _ = context.store.checkMemory(adding: false, fresh: true) }
        context.metrics.sample(context.stats, nowMillis: Clock.nowMillis())
        closeIdleClients(context)
    }

    static func closeIdleClients(_ context: ServerContext) {
        let timeout = context.config.timeout
        guard timeout > 0 else { return }
        let now = Clock.nowMillis()
        for client in context.clients.values
        where !client.isMonitor && now - client.lastInteraction > Int64(timeout) * 1000 {
            client.closeConnection()
        }
    }
}

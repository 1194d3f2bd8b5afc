import Config
import NIOCore
import Store

/// Server-wide counters for INFO.
public struct ServerStats {
    public var connectionsReceived = 0
    public var commandsProcessed = 0
    public var rejectedConnections = 0
    public var inputBytes = 0
    public var outputBytes = 0
    /// Error replies by their first word (ERR, WRONGTYPE...).
    public var errorCounts: [String: Int] = [:]
    public var totalErrorReplies = 0
    public init() {}
}

/// How SHUTDOWN asked the server to stop.
public enum ShutdownRequest {
    case save, noSave, defaultMode
}

/// Everything commands share: config, store, command table, connected clients, stats.
/// Lives on the execution thread.
public final class ServerContext {
    public let config: ServerConfig
    public let store: Store
    public private(set) var commands: CommandTable!
    public var clients: [Int: Client] = [:]
    public var monitors: [Client] = []
    public var stats = ServerStats()
    public let slowlog = SlowLog()
    public let latency = LatencyMonitor()
    /// Sampled rates and the memory peak for INFO.
    public let metrics = ServerMetrics()
    /// Process start (Unix ms).
    public let startedAt = Clock.nowMillis()
    /// A random 40-hex-digit id for this run (INFO run_id).
    public let runID: String = (0..<40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    private var nextClientID = 1
    /// Set by the network layer: stops the server.
    public var requestShutdown: (ShutdownRequest) -> Bool = { _ in false }
    /// Set by the network layer: applies CONFIG SET changes that need more than a new
    /// value (rescheduling the cron for hz, listeners for port/bind). Gets the changed
    /// directive names; returns the directive and reason when they cannot be applied.
    public var applyConfigChanges: (Set<String>) -> (name: String, reason: String)? = { _ in nil }
    /// The executable's path (INFO executable).
    public var executablePath = ""
    /// Checks whether a command must wait before it runs (nil: every command runs at once).
    public var admissionGate: AdmissionGate?
    /// The event loop that executes commands (set by the network layer); waits that park a
    /// command complete on it.
    public var eventLoop: EventLoop?
    /// The port actually listened on.
    public var listeningPort = 0
    /// Clients blocked by BLPOP and the rest.
    public private(set) lazy var blocking = BlockingRegistry(server: self)

    public init(config: ServerConfig) {
        self.config = config
        self.store = Store(config: config)
        self.commands = CommandTable(renames: config.renamedCommands)
    }

    /// Registers a new connection's client.
    public func makeClient(address: String, localAddress: String, isLocal: Bool, outputBuffer: ByteBuffer) -> Client {
        let client = Client(id: nextClientID, server: self, address: address, localAddress: localAddress,
                            isLocal: isLocal, outputBuffer: outputBuffer)
        nextClientID += 1
        clients[client.id] = client
        stats.connectionsReceived += 1
        return client
    }

    /// Forgets a closed connection's client.
    public func removeClient(_ client: Client) {
        client.unwatchAll()
        blocking.remove(client)
        if !client.coldPins.isEmpty { store.tier?.releasePins(&client.coldPins) }
        clients[client.id] = nil
        if client.isMonitor { monitors.removeAll { $0 === client } }
    }

    func countError(_ text: String) {
        let code = text.prefix { $0 != " " }
        stats.errorCounts[String(code), default: 0] += 1
        stats.totalErrorReplies += 1
    }

    /// CONFIG RESETSTAT.
    public func resetStats() {
        stats = ServerStats()
        store.stats = KeyspaceStats()
        commands.resetStats()
        slowlog.reset()
        metrics.reset()
    }
}

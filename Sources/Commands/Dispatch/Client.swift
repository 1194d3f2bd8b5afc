import NIOCore
import RESP
import Store

/// The state of one connection as commands see it: selected database, protocol version,
/// authentication, transaction, names, and the reply buffer.
public final class Client {
    public let id: Int
    /// The server outlives its clients; unowned(unsafe) avoids an atomic retain/release
    /// on every access from the command path.
    public unowned(unsafe) let server: ServerContext
    /// Replies not yet flushed to the socket.
    public var reply: ReplyWriter
    public private(set) var db: Database
    public var authenticated: Bool
    public var name = ""
    public var libraryName = ""
    public var libraryVersion = ""
    /// "ip:port" of the peer and of our side.
    public let address: String
    public let localAddress: String
    /// The socket's descriptor, as CLIENT LIST shows it (-1: none).
    public var fd: Int32 = -1
    /// True for connections from a loopback address (protected mode, `local` settings).
    public let isLocal: Bool
    public let createdAt: Int64
    public var lastInteraction: Int64
    public var lastCommandName = "NULL"

    /// Commands queued after MULTI; nil when no transaction is open.
    public var transaction: [(spec: CommandSpec, arguments: CommandArguments)]?
    /// A command failed to queue: EXEC will answer EXECABORT.
    public var transactionFailed = false
    public let watch = WatchState()

    /// Cold keys listed for the command being dispatched (KEYS, SCAN, RANDOMKEY).
    public var coldListing: ColdListing?
    /// Keys read back for the command waiting to run (ColdTier.releasePins after it).
    public var coldPins: [RocksKey] = []
    /// Blocking commands (Blocking.swift): what the handler asks to wait for, how the last
    /// wait ended, the client's place in the queues while it is being served, and the
    /// key whose turn it was woken for.
    public var blockRequest: BlockRequest?
    var blockOutcome: BlockOutcome?
    var blockSequence: UInt64?
    var wokenFor: BlockingRegistry.WaitKey?
    /// When this client's write started waiting for memory (monotonic ns; 0: it is not).
    var memoryStallStart: UInt64 = 0

    public var isMonitor = false
    /// CLIENT NO-EVICT: exempt from client eviction (flag `e` in CLIENT LIST).
    public var noEvict = false
    /// Close the connection once the pending replies are written (QUIT, protocol errors).
    public var closeAfterReply = false
    /// The outcome of the checkpoint this client's SAVE waited for (see PersistenceCommands).
    public var checkpointOutcome: Bool?
    /// With `appendfsync always`: the log position this client's writes need on disk
    /// before their replies go, and the one its reads saw.
    public var logPosition: UInt64 = 0
    public var readLogPosition: UInt64 = 0

    // Hooks the network layer installs.
    /// Closes the connection (CLIENT KILL).
    public var closeConnection: () -> Void = {}
    /// Sends bytes outside the request/reply flow (MONITOR).
    public var sendOutOfBand: (ByteBuffer) -> Void = { _ in }
    /// Receive-buffer bytes waiting to be parsed (CLIENT LIST qbuf).
    public var queryBufferBytes: () -> Int = { 0 }
    /// Reply bytes the socket has not taken yet (CLIENT LIST omem).
    public var unsentReplyBytes: () -> Int = { 0 }

    public init(id: Int, server: ServerContext, address: String, localAddress: String, isLocal: Bool,
                outputBuffer: ByteBuffer) {
        self.id = id
        self.server = server
        self.address = address
        self.localAddress = localAddress
        self.isLocal = isLocal
        self.reply = ReplyWriter(buffer: outputBuffer)
        self.db = server.store.databases[0]
        self.authenticated = server.config.requirepass.isEmpty
        self.createdAt = Clock.nowMillis()
        self.lastInteraction = createdAt
    }

    public var protocolVersion: Int { reply.resp3 ? 3 : 2 }

    public func select(_ index: Int) { db = server.store.databases[index] }

    /// Writes an error reply and counts it for INFO errorstats.
    public func error(_ text: String) {
        server.countError(text)
        currentCommandFailed = true
        reply.error(text)
    }

    /// Set when the running command replied with an error (failed_calls).
    public var currentCommandFailed = false

    /// Drops WATCHed keys.
    public func unwatchAll() {
        for (dbIndex, key) in watch.keys { server.store.databases[dbIndex].unwatch(key, by: watch) }
        watch.keys.removeAll()
        watch.dirty = false
    }
}

/// Every setting of a running server, typed. Directives (the names users write in
/// `strata.conf`, on the command line and in CONFIG GET/SET) are mapped onto these fields
/// by `ConfigDirectives`; this class only holds values and their defaults.
///
/// Accessed on the execution thread only.
public final class ServerConfig {
    // MARK: Network
    public var port = 6379
    public var bind = ["127.0.0.1", "::1"]
    public var protectedMode = true
    public var tcpBacklog = 511
    public var tcpKeepalive = 300
    /// Close idle clients after this many seconds (0: never).
    public var timeout = 0
    public var maxclients = 10000

    // MARK: Protocol limits
    public var protoMaxBulkLength = 512 * 1024 * 1024
    public var clientQueryBufferLimit = 1024 * 1024 * 1024

    // MARK: Security
    public var requirepass = ""
    public var enableDebugCommand = ProtectedSetting.no
    public var enableProtectedConfigs = ProtectedSetting.no
    /// `rename-command NAME NEWNAME` pairs (NEWNAME "" disables the command).
    public var renamedCommands: [(from: String, to: String)] = []

    // MARK: General
    public var databases = 16
    public var loglevel = "notice"
    public var logfile = ""
    public var daemonize = false
    public var pidfile = ""
    public var dir = "."
    public var dbfilename = "dump.rdb"
    public var hz = 10

    // MARK: Persistence (accepted now, honoured by the durability work)
    /// `save` rules as (seconds, changes).
    public var saveRules: [(seconds: Int, changes: Int)] = [(3600, 1), (300, 100), (60, 10000)]
    public var appendonly = false
    public var appendfsync = "everysec"
    public var appendfilename = "appendonly.aof"
    public var appenddirname = "appendonlydir"
    public var stopWritesOnBgsaveError = true

    // MARK: Memory (accepted now, honoured by the tiering work)
    public var maxmemory = 0
    public var maxmemoryPolicy = "noeviction" {
        didSet { isLFUPolicy = maxmemoryPolicy.hasSuffix("lfu") }
    }
    /// True for allkeys-lfu and volatile-lfu (read on every key access, so kept as a flag).
    public private(set) var isLFUPolicy = false
    public var maxmemorySamples = 5
    public var lfuLogFactor = 10
    public var lfuDecayTime = 1

    // MARK: Diagnostics
    public var slowlogLogSlowerThan = 10000
    public var slowlogMaxLen = 128
    public var latencyMonitorThreshold = 0

    /// The config file the server started from ("" when none), for CONFIG REWRITE.
    public var configFile = ""

    public init() {}
}

/// `yes`, `no` or `local` (allowed only from loopback connections), as Redis's
/// enable-debug-command and enable-protected-configs take.
public enum ProtectedSetting: String, CaseIterable {
    case no, yes, local
}

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

    // MARK: Persistence
    /// `save` rules as (seconds, changes).
    public var saveRules: [(seconds: Int, changes: Int)] = [(3600, 1), (300, 100), (60, 10000)]
    public var appendonly = false
    public var appendfsync = "everysec"
    public var appendfilename = "appendonly.aof"
    public var appenddirname = "appendonlydir"
    public var stopWritesOnBgsaveError = true
    /// Start a checkpoint when the log has grown by this percentage since the last one
    /// (0: never by size), once it holds at least `autoAofRewriteMinSize` bytes.
    public var autoAofRewritePercentage = 100
    public var autoAofRewriteMinSize = 64 << 20
    /// A log ending in a truncated record loads without it (yes) or stops start-up (no).
    public var aofLoadTruncated = true
    /// Strata: a log damaged in the middle loads up to the damage (yes) or stops start-up.
    public var aofLoadCorruptTail = false
    /// True when anything is persisted: the data directory then survives restarts.
    public var persistenceEnabled: Bool { appendonly || !saveRules.isEmpty }

    // MARK: Memory (accepted now, honoured by the tiering work)
    public var maxmemory = 0
    public var maxmemoryPolicy = "noeviction" {
        didSet {
            isLFUPolicy = maxmemoryPolicy.hasSuffix("lfu")
            evictionPolicy = EvictionPolicy(maxmemoryPolicy)
        }
    }
    /// `maxmemoryPolicy` parsed once (eviction sampling reads it in a loop).
    public private(set) var evictionPolicy = EvictionPolicy("noeviction")
    /// True for allkeys-lfu and volatile-lfu (read on every key access, so kept as a flag).
    public private(set) var isLFUPolicy = false
    public var maxmemorySamples = 5
    public var lfuLogFactor = 10
    public var lfuDecayTime = 1
    /// Collections: how large a packed (listpack / intset) form may grow before the value
    /// takes its large form (Redis's directives and defaults). A list's node limit: a
    /// positive number of elements, or -1...-5 for 4...64 KB.
    public var listMaxListpackSize = -2
    /// List nodes more than this many from either end are compressed (QuickList.swift).
    public var listCompressDepth = 0
    public var hashMaxListpackEntries = 512
    public var hashMaxListpackValue = 64
    public var setMaxIntsetEntries = 512
    /// Sets of strings stay packed up to these (Redis 7.2's directives; 7.0 had no packed
    /// form for them).
    public var setMaxListpackEntries = 128
    public var setMaxListpackValue = 64
    /// Free large values on a background thread (UNLINK and FLUSHALL ASYNC always do).
    /// Strata frees every large collection in the background whatever these say; they are
    /// kept so that configurations written for Redis load.
    public var lazyfreeLazyEviction = false
    public var lazyfreeLazyExpire = false
    public var lazyfreeLazyServerDel = false
    public var lazyfreeLazyUserDel = false
    public var lazyfreeLazyUserFlush = false

    // MARK: Cold tier (RocksDB)
    /// Demote evicted keys to RocksDB instead of dropping them.
    public var tiering = true
    /// The cold tier's RocksDB directory, relative to `dir`.
    public var tieringDirname = "cold"
    public var tieringBlockCacheSize = 64 << 20
    public var tieringWriteBufferSize = 16 << 20
    /// Demotion stops while the filesystem under RocksDB has less free space than this
    /// (writes that need room then get an error): RocksDB must never meet a full disk.
    public var tieringMinFreeDisk = 0
    public var tieringCompression = "zstd"
    /// Values at least this long are zstd-compressed by the value codec (0: never).
    public var tieringValueCompressionThreshold = 4096
    /// Threads that read cold keys (RocksDB point reads block).
    public var tieringIOThreads = 4
    /// Added to the server's nice value for the threads that read and write cold keys
    /// (0-19; 0 = as the server).
    public var tieringIONice = 10
    /// When a read of a cold key brings it back to RAM: always, on its second read within
    /// `tieringPromoteWindow` seconds, or never (writes always bring keys back).
    public var tieringPromote = "second-touch"
    public var tieringPromoteWindow = 60
    /// Upper bound of one demotion batch (one RocksDB write).
    public var tieringDemoteBatchBytes = 4 << 20
    /// Test knob: demote every key after every command (all-cold test mode).
    public var tieringDemoteAll = false

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

/// A maxmemory-policy value: which keys qualify and in what order they go.
public struct EvictionPolicy: Equatable {
    public enum Order { case lru, lfu, ttl, random, none }
    public let order: Order
    /// volatile-*: only keys with an expiry.
    public let volatileOnly: Bool

    public init(_ name: String) {
        volatileOnly = name.hasPrefix("volatile")
        if name.hasSuffix("lru") { order = .lru }
        else if name.hasSuffix("lfu") { order = .lfu }
        else if name.hasSuffix("ttl") { order = .ttl }
        else if name.hasSuffix("random") { order = .random }
        else { order = .none }
    }
}

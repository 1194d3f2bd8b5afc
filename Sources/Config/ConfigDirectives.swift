/// One configuration directive: its name as users write it, how to read and write it on a
/// `ServerConfig`, and whether CONFIG SET may change it at run time.
public struct ConfigDirective {
    public enum Mutability {
        /// CONFIG SET may change it.
        case mutable
        /// Only the config file or the command line can set it.
        case immutable
        /// Changeable at run time only with `enable-protected-configs yes` (the 2015 lesson:
        /// `CONFIG SET dir` + `SAVE` must not let a client write files anywhere).
        case protected
    }

    public let name: String
    public let mutability: Mutability
    /// The current value as CONFIG GET prints it.
    public let get: (ServerConfig) -> String
    /// Sets the value from its words (most directives take exactly one).
    public let set: (ServerConfig, [String]) throws -> Void
    /// Accepts any number of words (save, bind) instead of exactly one.
    public let variadic: Bool
    /// For an old name kept as an alias (`hash-max-ziplist-entries`), the directive's own
    /// name. CONFIG GET lists both, as Redis 7.0 does; CONFIG REWRITE writes the own name.
    public let aliasOf: String?

    init(_ name: String, _ mutability: Mutability = .mutable, variadic: Bool = false, aliasOf: String? = nil,
         get: @escaping (ServerConfig) -> String,
         set: @escaping (ServerConfig, [String]) throws -> Void) {
        self.name = name
        self.mutability = mutability
        self.get = get
        self.set = set
        self.variadic = variadic
        self.aliasOf = aliasOf
    }

    /// The directive's own name (an alias's target).
    public var canonicalName: String { aliasOf ?? name }

    /// The same setting under an old name.
    func alias(_ oldName: String) -> ConfigDirective {
        ConfigDirective(oldName, mutability, variadic: variadic, aliasOf: name, get: get, set: set)
    }
}

extension ConfigDirective {
    static func bool(_ name: String, _ path: ReferenceWritableKeyPath<ServerConfig, Bool>,
                     _ m: Mutability = .mutable) -> ConfigDirective {
        ConfigDirective(name, m, get: { $0[keyPath: path] ? "yes" : "no" },
                        set: { $0[keyPath: path] = try ConfigValueParsing.bool($1[0]) })
    }

    static func int(_ name: String, min: Int, max: Int,
                    _ path: ReferenceWritableKeyPath<ServerConfig, Int>, _ m: Mutability = .mutable) -> ConfigDirective {
        ConfigDirective(name, m, get: { String($0[keyPath: path]) },
                        set: { $0[keyPath: path] = try ConfigValueParsing.integer($1[0], min: min, max: max) })
    }

    static func memory(_ name: String, min: Int = 0,
                       _ path: ReferenceWritableKeyPath<ServerConfig, Int>, _ m: Mutability = .mutable) -> ConfigDirective {
        ConfigDirective(name, m, get: { String($0[keyPath: path]) }, set: {
            let value = try ConfigValueParsing.memory($1[0])
            guard value >= min else {
                throw ConfigValueParsing.Failure("argument must be a memory value")
            }
            $0[keyPath: path] = value
        })
    }

    static func choice(_ name: String, _ choices: [String],
                       _ path: ReferenceWritableKeyPath<ServerConfig, String>, _ m: Mutability = .mutable) -> ConfigDirective {
        ConfigDirective(name, m, get: { $0[keyPath: path] },
                        set: { $0[keyPath: path] = try ConfigValueParsing.oneOf($1[0], choices) })
    }

    static func string(_ name: String, _ path: ReferenceWritableKeyPath<ServerConfig, String>,
                       _ m: Mutability = .mutable) -> ConfigDirective {
        ConfigDirective(name, m, get: { $0[keyPath: path] }, set: { $0[keyPath: path] = $1[0] })
    }

    static func protectedSetting(_ name: String,
                                 _ path: ReferenceWritableKeyPath<ServerConfig, ProtectedSetting>) -> ConfigDirective {
        ConfigDirective(name, .immutable, get: { $0[keyPath: path].rawValue }, set: {
            let word = try ConfigValueParsing.oneOf($1[0], ProtectedSetting.allCases.map(\.rawValue))
            $0[keyPath: path] = ProtectedSetting(rawValue: word)!
        })
    }
}

/// The table of every directive Strata understands. Adding a setting = a field in
/// `ServerConfig` + a line here + its documentation in `conf/strata.conf`.
public enum ConfigDirectives {
    public static let evictionPolicies = ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                          "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]

    public static let all: [ConfigDirective] = [
        .int("port", min: 0, max: 65535, \.port),
        ConfigDirective("bind", variadic: true, get: { $0.bind.joined(separator: " ") },
                        set: { config, words in
                            let addresses = words.flatMap { $0.split(separator: " ").map(String.init) }
                            config.bind = addresses
                        }),
        .bool("protected-mode", \.protectedMode),
        .int("tcp-backlog", min: 0, max: Int(Int32.max), \.tcpBacklog, .immutable),
        .int("tcp-keepalive", min: 0, max: Int(Int32.max), \.tcpKeepalive),
        .int("timeout", min: 0, max: Int(Int32.max), \.timeout),
        .int("maxclients", min: 1, max: 4294967295, \.maxclients),
        .memory("proto-max-bulk-len", min: 1024 * 1024, \.protoMaxBulkLength),
        .memory("client-query-buffer-limit", min: 1024 * 1024, \.clientQueryBufferLimit),
        .string("requirepass", \.requirepass),
        .protectedSetting("enable-debug-command", \.enableDebugCommand),
        .protectedSetting("enable-protected-configs", \.enableProtectedConfigs),
        .int("databases", min: 1, max: Int(Int32.max), \.databases, .immutable),
        .choice("loglevel", ["debug", "verbose", "notice", "warning"], \.loglevel),
        .string("logfile", \.logfile, .immutable),
        ConfigDirective("daemonize", .immutable, get: { $0.daemonize ? "yes" : "no" }, set: { config, words in
            // Strata stays in the foreground; supervisors (systemd, CI) manage it.
            guard try !ConfigValueParsing.bool(words[0]) else {
                throw ConfigValueParsing.Failure("daemonize yes is not supported: run under a supervisor")
            }
            config.daemonize = false
        }),
        .string("pidfile", \.pidfile, .immutable),
        .string("dir", \.dir, .protected),
        .string("dbfilename", \.dbfilename, .protected),
        .int("hz", min: 0, max: Int(Int32.max), \.hz),
        ConfigDirective("save", variadic: true,
                        get: { $0.saveRules.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ") },
                        set: { config, words in
                            let split = words.count == 1 && !words[0].isEmpty
                                ? words[0].split(separator: " ").map(String.init) : words
                            config.saveRules = try ConfigValueParsing.saveRules(split)
                        }),
        .bool("appendonly", \.appendonly),
        .choice("appendfsync", ["always", "everysec", "no"], \.appendfsync),
        .string("appendfilename", \.appendfilename, .immutable),
        .string("appenddirname", \.appenddirname, .immutable),
        .bool("stop-writes-on-bgsave-error", \.stopWritesOnBgsaveError),
        .int("auto-aof-rewrite-percentage", min: 0, max: Int(Int32.max), \.autoAofRewritePercentage),
        .memory("auto-aof-rewrite-min-size", \.autoAofRewriteMinSize),
        .bool("aof-load-truncated", \.aofLoadTruncated),
        .bool("aof-load-corrupt-tail", \.aofLoadCorruptTail),
        .memory("maxmemory", \.maxmemory),
        .choice("maxmemory-policy", evictionPolicies, \.maxmemoryPolicy),
        .int("maxmemory-samples", min: 1, max: 64, \.maxmemorySamples),
        .int("lfu-log-factor", min: 0, max: Int(Int32.max), \.lfuLogFactor),
        .int("lfu-decay-time", min: 0, max: Int(Int32.max), \.lfuDecayTime),
        .bool("tiering", \.tiering, .immutable),
        .string("tiering-dirname", \.tieringDirname, .immutable),
        .memory("tiering-block-cache-size", \.tieringBlockCacheSize, .immutable),
        .memory("tiering-write-buffer-size", min: 1 << 20, \.tieringWriteBufferSize, .immutable),
        .memory("tiering-min-free-disk", \.tieringMinFreeDisk),
        .choice("tiering-compression", ["zstd", "lz4", "snappy", "none"], \.tieringCompression, .immutable),
        .memory("tiering-value-compression-threshold", \.tieringValueCompressionThreshold),
        .int("tiering-io-threads", min: 1, max: 64, \.tieringIOThreads, .immutable),
        .int("tiering-io-nice", min: 0, max: 19, \.tieringIONice, .immutable),
        .choice("tiering-promote", ["always", "second-touch", "never"], \.tieringPromote),
        .int("tiering-promote-window", min: 1, max: Int(Int32.max), \.tieringPromoteWindow),
        .memory("tiering-demote-batch-bytes", min: 4096, \.tieringDemoteBatchBytes),
        .bool("tiering-demote-all", \.tieringDemoteAll, .immutable),
        .int("slowlog-log-slower-than", min: -1, max: Int(Int64.max), \.slowlogLogSlowerThan),
        .int("slowlog-max-len", min: 0, max: Int(Int64.max), \.slowlogMaxLen),
        .int("latency-monitor-threshold", min: 0, max: Int(Int64.max), \.latencyMonitorThreshold),
    ] + collectionDirectives

    /// The thresholds between the packed and the large forms of collections (Redis's
    /// ranges and defaults), each also under its pre-7.0 `ziplist` name.
    static let collectionDirectives: [ConfigDirective] = {
        let own: [ConfigDirective] = [
            .int("list-max-listpack-size", min: Int(Int32.min), max: Int(Int32.max), \.listMaxListpackSize),
            .int("hash-max-listpack-entries", min: 0, max: Int(Int64.max), \.hashMaxListpackEntries),
            .int("hash-max-listpack-value", min: 0, max: Int(Int64.max), \.hashMaxListpackValue),
        ]
        let aliases: [ConfigDirective] = [
            own[0].alias("list-max-ziplist-size"), own[1].alias("hash-max-ziplist-entries"),
            own[2].alias("hash-max-ziplist-value"),
        ]
        let rest: [ConfigDirective] = [
            .int("list-compress-depth", min: 0, max: Int(Int32.max), \.listCompressDepth),
            .int("set-max-intset-entries", min: 0, max: Int(Int64.max), \.setMaxIntsetEntries),
            .int("set-max-listpack-entries", min: 0, max: Int(Int64.max), \.setMaxListpackEntries),
            .int("set-max-listpack-value", min: 0, max: Int(Int64.max), \.setMaxListpackValue),
            .bool("lazyfree-lazy-eviction", \.lazyfreeLazyEviction),
            .bool("lazyfree-lazy-expire", \.lazyfreeLazyExpire),
            .bool("lazyfree-lazy-server-del", \.lazyfreeLazyServerDel),
            .bool("lazyfree-lazy-user-del", \.lazyfreeLazyUserDel),
            .bool("lazyfree-lazy-user-flush", \.lazyfreeLazyUserFlush),
        ]
        return own + aliases + rest
    }()

    private static let byName: [String: ConfigDirective] = {
        var table: [String: ConfigDirective] = [:]
        for directive in all { table[directive.name] = directive }
        return table
    }()

    public static func named(_ name: String) -> ConfigDirective? { byName[name.lowercased()] }
}

import Foundation
import RESP
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Rates and peaks that INFO reports and that need sampling over time
/// (instantaneous_ops_per_sec, instantaneous_*_kbps, used_memory_peak).
public final class ServerMetrics {
    /// Samples kept per metric (Redis: STATS_METRIC_SAMPLES).
    static let sampleCount = 16
    /// Minimum time between two samples (Redis samples every 100 ms from its cron).
    static let samplePeriodMillis: Int64 = 100

    private struct Series {
        var samples = [Double](repeating: 0, count: ServerMetrics.sampleCount)
        var next = 0
        var lastReading = 0
        mutating func add(_ value: Double) {
            samples[next] = value
            next = (next + 1) % ServerMetrics.sampleCount
        }
        var average: Double { samples.reduce(0, +) / Double(samples.count) }
    }

    private var lastSampleAt: Int64 = 0
    private var ops = Series(), input = Series(), output = Series()
    /// Highest `used_memory` seen (updated by the cron and by INFO).
    public private(set) var peakMemory = 0

    public init() {}

    /// Takes one sample of the counters if the sample period has passed. Called from the
    /// server cron and before INFO renders rates.
    public func sample(_ stats: ServerStats, nowMillis: Int64) {
        notePeak(MemoryStats.allocatedBytes())
        if lastSampleAt == 0 {
            lastSampleAt = nowMillis
            ops.lastReading = stats.commandsProcessed
            input.lastReading = stats.inputBytes
            output.lastReading = stats.outputBytes
            return
        }
        let elapsed = nowMillis - lastSampleAt
        guard elapsed >= ServerMetrics.samplePeriodMillis else { return }
        func rate(_ series: inout Series, _ reading: Int) {
            series.add(Double(reading - series.lastReading) * 1000 / Double(elapsed))
            series.lastReading = reading
        }
        rate(&ops, stats.commandsProcessed)
        rate(&input, stats.inputBytes)
        rate(&output, stats.outputBytes)
        lastSampleAt = nowMillis
    }

    public func notePeak(_ used: Int) { if used > peakMemory { peakMemory = used } }

    public var opsPerSecond: Int { Int(ops.average) }
    public var inputKbps: Double { input.average / 1024 }
    public var outputKbps: Double { output.average / 1024 }

    /// CONFIG RESETSTAT: forgets samples and the peak.
    public func reset() {
        lastSampleAt = 0
        ops = Series(); input = Series(); output = Series()
        peakMemory = 0
    }
}

/// INFO [section ...]: Redis's report, section by section, in Redis's order and layout
/// ("# Title" headers, `key:value` lines ending in CRLF, a blank line between sections).
public enum InfoCommand {
    /// Sections in output order; `default` prints those marked, `all` adds the others,
    /// `everything` is `all` plus module sections (there are none).
    static let sections: [(name: String, title: String, inDefault: Bool)] = [
        ("server", "Server", true), ("clients", "Clients", true), ("memory", "Memory", true),
        ("persistence", "Persistence", true), ("stats", "Stats", true), ("replication", "Replication", true),
        ("cpu", "CPU", true), ("modules", "Modules", true), ("commandstats", "Commandstats", false),
        ("errorstats", "Errorstats", true), ("latencystats", "Latencystats", false), ("cluster", "Cluster", true),
        ("keyspace", "Keyspace", true),
    ]
    /// Strata's own sections, printed only when asked for by name (`all` and `everything`
    /// keep Redis's list, which clients and tools parse).
    static let ownSections: [(name: String, title: String, inDefault: Bool)] = [("tiering", "Tiering", false)]

    /// A random replication id, fixed for the life of the process (INFO master_replid).
    static let replicationID: String = (0..<40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()

    static func info(_ client: Client, _ args: CommandArguments) {
        let requested = args.count == 1 ? ["default"] : (1..<args.count).map { args.lowercased($0) }
        client.reply.verbatim(report(client.server, sections: requested))
    }

    /// The names of the sections `requested` selects, in output order.
    static func selectedSections(_ requested: [String]) -> [String] {
        var wanted = Set<String>()
        for name in requested {
            switch name {
            case "default": wanted.formUnion(sections.filter(\.inDefault).map(\.name))
            case "all", "everything": wanted.formUnion(sections.map(\.name))
            default: wanted.insert(name)
            }
        }
        return (sections + ownSections).map(\.name).filter { wanted.contains($0) }
    }

    /// The INFO text for the requested section names (lowercase).
    public static func report(_ server: ServerContext, sections requested: [String]) -> String {
        var text = ""
        for name in selectedSections(requested) {
            guard let section = (sections + ownSections).first(where: { $0.name == name }) else { continue }
            if !text.isEmpty { text += "\r\n" }
            text += "# \(section.title)\r\n"
            for (key, value) in lines(name, server) { text += "\(key):\(value)\r\n" }
        }
        return text
    }

    static func lines(_ section: String, _ server: ServerContext) -> [(String, String)] {
        switch section {
        case "server": return serverLines(server)
        case "clients": return clientLines(server)
        case "memory": return memoryLines(server)
        case "persistence": return persistenceLines(server)
        case "stats": return statsLines(server)
        case "replication": return replicationLines()
        case "cpu": return cpuLines()
        case "commandstats": return commandStatLines(server)
        case "errorstats":
            return server.stats.errorCounts.sorted { $0.key < $1.key }.map { ("errorstat_\($0.key)", "count=\($0.value)") }
        case "latencystats": return latencyStatLines(server)
        case "cluster": return [("cluster_enabled", "0")]
        case "keyspace": return keyspaceLines(server)
        case "tiering": return tieringLines(server)
        default: return []  // modules: none are loaded
        }
    }

    // MARK: - Sections

    static func serverLines(_ server: ServerContext) -> [(String, String)] {
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let os = "\(field(names.sysname)) \(field(names.release)) \(field(names.machine))"
        let now = Clock.nowMicros()
        let uptime = Int((now / 1000 - server.startedAt) / 1000)
        let config = server.config
        return [
            ("redis_version", ConnectionCommands.redisVersion), ("redis_git_sha1", "00000000"),
            ("redis_git_dirty", "0"), ("redis_build_id", "0"), ("redis_mode", "standalone"), ("os", os),
            ("arch_bits", String(MemoryLayout<Int>.size * 8)), ("monotonic_clock", "POSIX clock_gettime"),
            ("multiplexing_api", "epoll"), ("atomicvar_api", "c11-builtin"), ("gcc_version", "0.0.0"),
            ("process_id", String(getpid())), ("process_supervised", "no"), ("run_id", server.runID),
            ("tcp_port", String(server.listeningPort)), ("server_time_usec", String(now)),
            ("uptime_in_seconds", String(uptime)), ("uptime_in_days", String(uptime / 86400)),
            ("hz", String(config.hz)), ("configured_hz", String(config.hz)),
            ("lru_clock", String(AccessTracking.lruClock(nowMillis: now / 1000))),
            ("executable", executable(server)), ("config_file", config.configFile), ("io_threads_active", "0"),
        ]
    }

    /// The absolute path of the running binary, as Redis prints it.
    static func executable(_ server: ServerContext) -> String {
        if server.executablePath.hasPrefix("/") { return server.executablePath }
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return length > 0 ? String(cString: buffer) : server.executablePath
    }

    static func clientLines(_ server: ServerContext) -> [(String, String)] {
        let maxInput = server.clients.values.map { $0.queryBufferBytes() }.max() ?? 0
        let maxOutput = server.clients.values.map { $0.reply.buffer.readableBytes + $0.unsentReplyBytes() }.max() ?? 0
        return [
            ("connected_clients", String(server.clients.count)), ("cluster_connections", "0"),
            ("maxclients", String(server.config.maxclients)),
            ("client_recent_max_input_buffer", String(maxInput)),
            ("client_recent_max_output_buffer", String(maxOutput)),
            ("blocked_clients", String(server.blocking.blockedClients)), ("tracking_clients", "0"), ("clients_in_timeout_table", "0"),
        ]
    }

    static func memoryLines(_ server: ServerContext) -> [(String, String)] {
        let used = MemoryStats.allocatedBytes()
        server.metrics.notePeak(used)
        let peak = server.metrics.peakMemory
        let rss = MemoryStats.residentBytes()
        let system = MemoryStats.totalSystemBytes()
        let config = server.config
        return [
            ("used_memory", String(used)), ("used_memory_human", humanBytes(used)),
            ("used_memory_rss", String(rss)), ("used_memory_rss_human", humanBytes(rss)),
            ("used_memory_peak", String(peak)), ("used_memory_peak_human", humanBytes(peak)),
            ("used_memory_peak_perc", percent(used, of: peak)),
            ("total_system_memory", String(system)), ("total_system_memory_human", humanBytes(system)),
            ("maxmemory", String(config.maxmemory)), ("maxmemory_human", humanBytes(config.maxmemory)),
            ("maxmemory_policy", config.maxmemoryPolicy),
            ("mem_fragmentation_ratio", twoDecimals(used > 0 ? Double(rss) / Double(used) : 0)),
            ("mem_fragmentation_bytes", String(rss - used)),
            // RocksDB's caches and the background threads' buffers: bounded by the tiering
            // settings, not by maxmemory.
            ("mem_not_counted_for_evict", String(max(0, used - server.store.usedMemoryForLimit()))), ("mem_replication_backlog", "0"),
            ("mem_total_replication_buffers", "0"), ("mem_clients_slaves", "0"), ("mem_aof_buffer", "0"),
            ("mem_allocator", "jemalloc"), ("active_defrag_running", "0"), ("lazyfree_pending_objects", "0"),
        ]
    }

    /*
     A checkpoint is both Redis's BGSAVE and its AOF rewrite here, so the rdb_* and aof_*
     rewrite fields describe the same thing; aof_* write fields describe the log.
    */
    static func persistenceLines(_ server: ServerContext) -> [(String, String)] {
        let store = server.store
        let state = store.persistence
        let running = state.runningSince.map { Int((Clock.nowMillis() - $0) / 1000) }
        let status = state.lastSaveOK ? "ok" : "err"
        var lines: [(String, String)] = [
            ("loading", "0"), ("async_loading", "0"), ("current_cow_peak", "0"), ("current_cow_size", "0"),
            ("current_fork_perc", "0.00"), ("current_save_keys_processed", String(running != nil ? state.keysWritten : 0)),
            ("current_save_keys_total", "0"),
            ("rdb_changes_since_last_save", String(store.dirty)),
            ("rdb_bgsave_in_progress", running != nil ? "1" : "0"),
            ("rdb_last_save_time", String(state.lastSaveTime)), ("rdb_last_bgsave_status", status),
            ("rdb_last_bgsave_time_sec", String(state.lastDurationSeconds)),
            ("rdb_current_bgsave_time_sec", String(running ?? -1)), ("rdb_saves", String(state.saves)),
            ("aof_enabled", store.log != nil ? "1" : "0"),
            ("aof_rewrite_in_progress", running != nil && store.log != nil ? "1" : "0"), ("aof_rewrite_scheduled", "0"),
            ("aof_last_rewrite_time_sec", String(state.lastDurationSeconds)),
            ("aof_current_rewrite_time_sec", String(running ?? -1)),
            ("aof_last_bgrewrite_status", status), ("aof_rewrites", String(state.saves)),
            ("aof_last_write_status", store.log?.lastError == nil ? "ok" : "err"),
        ]
        if let log = store.log {
            lines += [
                ("aof_current_size", String(store.checkpointBaseBytes + store.logGrowthSinceCheckpoint)),
                ("aof_base_size", String(store.checkpointBaseBytes)), ("aof_pending_rewrite", "0"),
                ("aof_buffer_length", String(log.buffer.count)),
                ("aof_pending_bio_fsync", "0"), ("aof_delayed_fsync", "0"),
            ]
        }
        return lines
    }

    static func statsLines(_ server: ServerContext) -> [(String, String)] {
        server.metrics.sample(server.stats, nowMillis: Clock.nowMillis())
        let stats = server.stats, keyspace = server.store.stats
        return [
            ("total_connections_received", String(stats.connectionsReceived)),
            ("total_commands_processed", String(stats.commandsProcessed)),
            ("instantaneous_ops_per_sec", String(server.metrics.opsPerSecond)),
            ("total_net_input_bytes", String(stats.inputBytes)),
            ("total_net_output_bytes", String(stats.outputBytes)),
            ("instantaneous_input_kbps", twoDecimals(server.metrics.inputKbps)),
            ("instantaneous_output_kbps", twoDecimals(server.metrics.outputKbps)),
            ("rejected_connections", String(stats.rejectedConnections)),
            ("sync_full", "0"), ("sync_partial_ok", "0"), ("sync_partial_err", "0"),
            ("expired_keys", String(keyspace.expiredKeys)), ("evicted_keys", String(keyspace.evictedKeys)),
            ("evicted_clients", "0"),
            ("keyspace_hits", String(keyspace.keyspaceHits)), ("keyspace_misses", String(keyspace.keyspaceMisses)),
            ("pubsub_channels", "0"), ("pubsub_patterns", "0"), ("latest_fork_usec", "0"), ("total_forks", "0"),
            ("total_error_replies", String(stats.totalErrorReplies)),
        ]
    }

    static func replicationLines() -> [(String, String)] {
        [
            ("role", "master"), ("connected_slaves", "0"), ("master_failover_state", "no-failover"),
            ("master_replid", replicationID), ("master_replid2", String(repeating: "0", count: 40)),
            ("master_repl_offset", "0"), ("second_repl_offset", "-1"), ("repl_backlog_active", "0"),
            ("repl_backlog_size", "1048576"), ("repl_backlog_first_byte_offset", "0"), ("repl_backlog_histlen", "0"),
        ]
    }

    static func cpuLines() -> [(String, String)] {
        func seconds(_ time: timeval) -> String {
            "\(time.tv_sec).\(String(time.tv_usec).leftPadded(6))"
        }
        var me = rusage(), children = rusage(), thread = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &me)
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &children)
        // INFO runs on the execution thread, so RUSAGE_THREAD (1 on Linux; Glibc does not
        // export the name) is the "main thread" figure.
        getrusage(1, &thread)
        return [
            ("used_cpu_sys", seconds(me.ru_stime)), ("used_cpu_user", seconds(me.ru_utime)),
            ("used_cpu_sys_children", seconds(children.ru_stime)), ("used_cpu_user_children", seconds(children.ru_utime)),
            ("used_cpu_sys_main_thread", seconds(thread.ru_stime)), ("used_cpu_user_main_thread", seconds(thread.ru_utime)),
        ]
    }

    /// Every command (and subcommand) that was called or refused since the last reset.
    static func commandStatLines(_ server: ServerContext) -> [(String, String)] {
        allSpecs(server).compactMap { spec in
            guard spec.calls > 0 || spec.failedCalls > 0 || spec.rejectedCalls > 0 else { return nil }
            let perCall = spec.calls > 0 ? Double(spec.microseconds) / Double(spec.calls) : 0
            return ("cmdstat_\(spec.fullName)",
                    "calls=\(spec.calls),usec=\(spec.microseconds),usec_per_call=\(twoDecimals(perCall)),"
                    + "rejected_calls=\(spec.rejectedCalls),failed_calls=\(spec.failedCalls)")
        }
    }

    /// Latency percentiles per command that ran (Redis's latency-tracking defaults:
    /// p50, p99, p99.9), from each command's histogram.
    static func latencyStatLines(_ server: ServerContext) -> [(String, String)] {
        allSpecs(server).compactMap { spec in
            guard let histogram = spec.latencyHistogram, histogram.count > 0 else { return nil }
            let values = [(50.0, "p50"), (99.0, "p99"), (99.9, "p99.9")].map { percentile, label in
                "\(label)=\(threeDecimals(histogram.percentile(percentile)))"
            }
            return ("latency_percentiles_usec_\(spec.fullName)", values.joined(separator: ","))
        }
    }

    /// All specs and their subcommands, containers first.
    static func allSpecs(_ server: ServerContext) -> [CommandSpec] {
        server.commands.all.flatMap { spec in
            [spec] + spec.subcommands.values.sorted { $0.name < $1.name }
        }
    }

    /// INFO tiering: where the keys are and what moving them cost.
    static func tieringLines(_ server: ServerContext) -> [(String, String)] {
        let store = server.store
        let hot = store.hotKeys, cold = store.coldKeys
        let indexBytes = store.coldIndexBytes
        guard let tier = store.activeTier else {
            return [("tiering_enabled", "0"), ("hot_keys", String(hot)), ("cold_keys", "0")]
        }
        let stats = tier.stats
        let storage = tier.storage
        let total = hot + cold
        return [
            ("tiering_enabled", "1"), ("hot_keys", String(hot)), ("cold_keys", String(cold)),
            ("cold_expires", String(store.databases.reduce(0) { $0 + $1.cold.expiresCount })),
            ("hot_keys_percent", total > 0 ? twoDecimals(Double(hot) * 100 / Double(total)) : "100.00"),
            ("cold_index_bytes", String(indexBytes)),
            ("cold_index_bytes_per_key", cold > 0 ? twoDecimals(Double(indexBytes) / Double(cold)) : "0.00"),
            ("promotions", String(stats.promotions)), ("transient_loads", String(stats.transientLoads)),
            ("demotions", String(stats.demotions)), ("demoted_bytes", String(stats.demotedBytes)),
            ("demotions_in_flight", String(tier.inFlightKeys)),
            ("tiering_write_stalls", String(store.writeStalls)),
            ("tiering_write_stall_usec", String(store.writeStallMicros)),
            ("cold_reads", String(stats.coldReads)), ("cold_read_keys", String(stats.coldReadKeys)),
            ("cold_read_hits", String(stats.coldReadHits)), ("cold_read_misses", String(stats.coldReadMisses)),
            ("cold_read_latency_p50_usec", String(tier.readLatencyPercentile(50))),
            ("cold_read_latency_p99_usec", String(tier.readLatencyPercentile(99))),
            ("pending_cold_reads", String(tier.pendingReads)),
            ("cold_expired_keys", String(stats.expiredColdKeys)),
            ("cold_write_errors", String(stats.writeErrors)), ("cold_read_errors", String(stats.readErrors)),
            ("cold_last_write_error", tier.lastWriteError ?? ""),
            ("rocksdb_sst_bytes", String(storage.integerProperty("rocksdb.total-sst-files-size") ?? 0)),
            ("rocksdb_live_sst_bytes", String(storage.integerProperty("rocksdb.live-sst-files-size") ?? 0)),
            ("rocksdb_pending_compaction_bytes",
             String(storage.integerProperty("rocksdb.estimate-pending-compaction-bytes") ?? 0)),
            ("rocksdb_memtable_bytes", String(storage.integerProperty("rocksdb.cur-size-all-mem-tables") ?? 0)),
            ("rocksdb_block_cache_bytes", String(storage.blockCacheUsage)),
            ("rocksdb_memory", String(tier.rocksDBMemory)),
            ("used_memory_for_maxmemory", String({ MemoryStats.flushThreadCache(); return store.usedMemoryForLimit() }())),
        ]
    }

    static func keyspaceLines(_ server: ServerContext) -> [(String, String)] {
        server.store.databases.compactMap { db in
            guard db.count > 0 else { return nil }
            return ("db\(db.index)", "keys=\(db.count),expires=\(db.totalExpires),avg_ttl=\(averageTTL(db, server))")
        }
    }

    /// Average remaining time to live of the keys with an expiry, in milliseconds: exact
    /// for small databases, from a bounded sweep of the table for large ones (Redis also
    /// reports an estimate, from its expiry cycle's samples).
    static func averageTTL(_ db: Database, _ server: ServerContext) -> Int {
        guard db.expiresCount > 0 else { return 0 }
        let now = Clock.nowMillis()
        var total = 0, counted = 0
        if db.count <= 10_000 {
            db.keys.forEach { slot in
                let at = slot.pointee.expireAt
                if at > now { total += Int(at - now); counted += 1 }
            }
        } else {
            var position = 0
            var visited = 0
            repeat {
                position = db.keys.sweep(from: position, slots: 1024) { slot in
                    let at = slot.pointee.expireAt
                    if at > now { total += Int(at - now); counted += 1 }
                }
                visited += 1024
            } while position != 0 && visited < 65_536 && counted < 1000
        }
        return counted > 0 ? total / counted : 0
    }

    // MARK: - Formatting

    /// Redis's bytesToHuman: B, K, M, G, T, P with two decimals.
    public static func humanBytes(_ bytes: Int) -> String {
        let value = Double(bytes)
        let units: [(Double, String)] = [(1024, "K"), (1024 * 1024, "M"), (1024 * 1024 * 1024, "G"),
                                         (1024.0 * 1024 * 1024 * 1024, "T"), (1024.0 * 1024 * 1024 * 1024 * 1024, "P")]
        if value < 1024 { return "\(bytes)B" }
        for (index, (size, unit)) in units.enumerated() where index == units.count - 1 || value < size * 1024 {
            return twoDecimals(value / size) + unit
        }
        return "\(bytes)B"
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        twoDecimals(whole > 0 ? Double(part) * 100 / Double(whole) : 0) + "%"
    }

    public static func twoDecimals(_ value: Double) -> String { String(format: "%.2f", value) }
    static func threeDecimals(_ value: Double) -> String { String(format: "%.3f", value) }
}

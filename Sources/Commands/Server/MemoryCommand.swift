#if canImport(Glibc)
import Glibc
#endif
import CShims
import RESP
import Store

/*
 MEMORY USAGE | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP: Redis 7.0's memory
 introspection, answered from what Strata measures.

 - USAGE counts a key's real allocations: its table slot, its record (key and value in one
   block, at the allocator's size class) and, for a large collection, the object the record
   owns. That object keeps its size up to date as it changes (`heapBytes`), so nothing is
   sampled: SAMPLES is checked as Redis checks it, and every count means "all".
 - STATS fills Redis's map with jemalloc's figures and Strata's own buffers; what Strata
   does not have (replication, Lua, functions, cluster links) is 0.
 - A cold key answers as if it were hot: its spec names the key, so the admission step
   reads it into RAM before the handler runs (as for OBJECT ENCODING).
*/
public enum MemoryCommand {
    public static var specs: [CommandSpec] { [CommandSpec(
        "memory", arity: -2, group: "server", summary: "A container for memory diagnostics commands",
        subcommands: [
            CommandSpec("usage", arity: -3, flags: [.readonly], keys: (2, 2, 1), group: "server",
                        summary: "Estimate the memory usage of a key", handler: usage),
            CommandSpec("stats", arity: 2, group: "server", summary: "Show memory usage details", handler: stats),
            CommandSpec("doctor", arity: 2, group: "server", summary: "Outputs memory problems report",
                        handler: doctor),
            CommandSpec("malloc-stats", arity: 2, group: "server", summary: "Show allocator internal stats",
                        handler: mallocStats),
            CommandSpec("purge", arity: 2, group: "server", summary: "Ask the allocator to release memory",
                        handler: purge),
            CommandSpec("help", arity: 2, flags: [.loading, .stale], group: "server",
                        summary: "Show helpful text about the different subcommands", handler: help),
        ])] }

    // MARK: - USAGE

    /// MEMORY USAGE key [SAMPLES count]. The options are checked before the key is looked
    /// up, as in Redis (a bad SAMPLES is an error even for a missing key).
    static func usage(_ client: Client, _ args: CommandArguments) {
        var index = 3
        while index < args.count {
            guard args.matches(index, "samples"), index + 1 < args.count else { return client.error(ErrorReplies.syntax) }
            guard let samples = args.integer(index + 1) else { return client.error(ErrorReplies.notInteger) }
            if samples < 0 { return client.error(ErrorReplies.syntax) }
            index += 2
        }
        // No keyspace hit or miss and no access recorded: Redis looks the key up directly.
        guard let slot = client.db.find(args.bytes(2)) else { return client.reply.null() }
        client.reply.integer(usageBytes(slot))
    }

    /// RAM the key at `slot` holds: its slot in the table, its record block as allocated
    /// (the packed form of a small collection lives in it) and a large collection's object.
    static func usageBytes(_ slot: SlotPointer) -> Int {
        let record = slot.pointee.record
        return MemoryLayout<KeySlot>.stride + strata_usable_size(record.base) + (record.ownedValue?.heapBytes ?? 0)
    }

    // MARK: - STATS

    /// Redis's redisMemOverhead: where the allocated memory goes.
    struct Overhead {
        struct DatabaseOverhead {
            let index: Int
            /// The key table's slots, plus the cold index's entries for the keys on disk.
            let mainTable: Int
        }

        var peak = 0
        var total = 0
        var clients = 0
        var clientCount = 0
        var appendLogBuffer = 0
        /// Allocations outside the execution thread's arena: RocksDB's caches and memtables,
        /// the background threads' buffers.
        var coldTierAndThreads = 0
        var databases: [DatabaseOverhead] = []
        var overheadTotal = 0
        var keyCount = 0
        var allocatorAllocated = 0
        var allocatorActive = 0
        var allocatorResident = 0
        var processResident = 0

        var dataset: Int { max(0, total - overheadTotal) }
        /// Redis leaves the start-up memory out of these; Strata does not record it (0).
        var netUsage: Int { max(1, total) }
        var datasetPercentage: Double { Double(dataset) * 100 / Double(netUsage) }
        var bytesPerKey: Int { keyCount > 0 ? netUsage / keyCount : 0 }
        var peakPercentage: Double { ratio(Double(total) * 100, peak) }
        var allocatorFragmentation: Double { ratio(Double(allocatorActive), allocatorAllocated) }
        var allocatorFragmentationBytes: Int { allocatorActive - allocatorAllocated }
        var allocatorRSS: Double { ratio(Double(allocatorResident), allocatorActive) }
        var allocatorRSSBytes: Int { allocatorResident - allocatorActive }
        var rssOverhead: Double { ratio(Double(processResident), allocatorResident) }
        var rssOverheadBytes: Int { processResident - allocatorResident }
        var fragmentation: Double { ratio(Double(processResident), total) }
        var fragmentationBytes: Int { processResident - total }

        func ratio(_ numerator: Double, _ denominator: Int) -> Double {
            denominator > 0 ? numerator / Double(denominator) : 0
        }
    }

    static func overhead(_ server: ServerContext) -> Overhead {
        var figures = Overhead()
        // Refreshes jemalloc's statistics, which the allocator figures below are read from.
        figures.total = MemoryStats.allocatedBytes()
        var allocated = 0, active = 0, resident = 0
        strata_malloc_allocator_stats(&allocated, &active, &resident)
        // The keyspace tables Strata maps itself (TableMemory) count as the allocator's
        // pages: otherwise they would show as RSS the allocator does not explain.
        let tables = strata_table_bytes()
        figures.allocatorAllocated = allocated + tables
        figures.allocatorActive = active + tables
        figures.allocatorResident = resident + tables
        figures.processResident = MemoryStats.residentBytes()
        server.metrics.notePeak(figures.total)
        figures.peak = server.metrics.peakMemory

        // The bytes buffered for each connection, as INFO clients counts them.
        for client in server.clients.values {
            figures.clients += client.queryBufferBytes() + client.reply.buffer.readableBytes + client.unsentReplyBytes()
        }
        figures.clientCount = server.clients.count
        let store = server.store
        figures.appendLogBuffer = store.log?.buffer.count ?? 0
        figures.coldTierAndThreads = max(0, figures.total - MemoryStats.executionThreadBytes())

        var keyTables = 0
        for db in store.databases where db.count > 0 {
            let main = db.keys.slotCapacity * MemoryLayout<KeySlot>.stride + db.cold.allocatedBytes
            figures.databases.append(.init(index: db.index, mainTable: main))
            figures.keyCount += db.count
            keyTables += main
        }
        figures.overheadTotal = figures.clients + figures.appendLogBuffer + figures.coldTierAndThreads + keyTables
        return figures
    }

    /// One value of the MEMORY STATS map.
    enum Figure {
        case integer(Int)
        case double(Double)
        /// A db.N entry: the overhead of its tables.
        case database(main: Int)
    }

    /// MEMORY STATS: Redis 7.0's map, in its order (a flat array in RESP2).
    static func stats(_ client: Client, _ args: CommandArguments) {
        let figures = overhead(client.server)
        var entries: [(String, Figure)] = [
            ("peak.allocated", .integer(figures.peak)), ("total.allocated", .integer(figures.total)),
            ("startup.allocated", .integer(0)), ("replication.backlog", .integer(0)),
            ("clients.slaves", .integer(0)), ("clients.normal", .integer(figures.clients)),
            ("cluster.links", .integer(0)), ("aof.buffer", .integer(figures.appendLogBuffer)),
            ("lua.caches", .integer(0)), ("functions.caches", .integer(0)),
        ]
        entries += figures.databases.map { ("db.\($0.index)", .database(main: $0.mainTable)) }
        entries += [
            ("overhead.total", .integer(figures.overheadTotal)), ("keys.count", .integer(figures.keyCount)),
            ("keys.bytes-per-key", .integer(figures.bytesPerKey)), ("dataset.bytes", .integer(figures.dataset)),
            ("dataset.percentage", .double(figures.datasetPercentage)),
            ("peak.percentage", .double(figures.peakPercentage)),
            ("allocator.allocated", .integer(figures.allocatorAllocated)),
            ("allocator.active", .integer(figures.allocatorActive)),
            ("allocator.resident", .integer(figures.allocatorResident)),
            ("allocator-fragmentation.ratio", .double(figures.allocatorFragmentation)),
            ("allocator-fragmentation.bytes", .integer(figures.allocatorFragmentationBytes)),
            ("allocator-rss.ratio", .double(figures.allocatorRSS)),
            ("allocator-rss.bytes", .integer(figures.allocatorRSSBytes)),
            ("rss-overhead.ratio", .double(figures.rssOverhead)),
            ("rss-overhead.bytes", .integer(figures.rssOverheadBytes)),
            ("fragmentation", .double(figures.fragmentation)),
            ("fragmentation.bytes", .integer(figures.fragmentationBytes)),
        ]
        client.reply.mapHeader(entries.count)
        for (name, figure) in entries {
            client.reply.bulk(name)
            switch figure {
            case .integer(let value): client.reply.integer(value)
            case .double(let value): client.reply.double(value)
            case .database(let main):
                client.reply.mapHeader(3)
                client.reply.bulk("overhead.hashtable.main")
                client.reply.integer(main)
                // The expiry time lives in the key's slot: there is no second table.
                client.reply.bulk("overhead.hashtable.expires")
                client.reply.integer(0)
                client.reply.bulk("overhead.hashtable.slot-to-keys")
                client.reply.integer(0)
            }
        }
    }

    // MARK: - DOCTOR

    /// MEMORY DOCTOR: Redis's checks on the same figures as STATS (replicas and scripts,
    /// which Strata does not have, never raise an issue).
    static func doctor(_ client: Client, _ args: CommandArguments) {
        client.reply.verbatim(doctorReport(overhead(client.server)))
    }

    static func doctorReport(_ figures: Overhead) -> String {
        let tenMB = 10 << 20
        // Below 5 MB the ratios say nothing (a few allocator pages dominate them).
        if figures.total < 5 << 20 {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used "
                + "in these conditions. Please, leave for your mission on Earth and fill it with some data. The new "
                + "Sam and I will be back to our programming as soon as I finished rebooting.\n"
        }
        var issues: [String] = []
        if Double(figures.peak) / Double(figures.total) > 1.5 {
            issues.append("Peak memory: In the past this instance used more than 150% the memory that is currently "
                + "using. The allocator is normally not able to release memory after a peak, so you can expect to "
                + "see a big fragmentation ratio; this is harmless, and the memory will be used again as the "
                + "instance fills up. To try to reclaim it now, use the MEMORY PURGE command.")
        }
        if figures.fragmentation > 1.4 && figures.fragmentationBytes > tenMB {
            issues.append("High total RSS: This instance has a memory fragmentation and RSS overhead greater than "
                + "1.4 (the Resident Set Size of the process is much larger than the sum of the allocations it "
                + "made). This is usually due to a large peak memory (see above), or to a workload that fragments "
                + "memory a lot. Note: The currently used allocator is \"jemalloc\".")
        }
        if figures.allocatorFragmentation > 1.1 && figures.allocatorFragmentationBytes > tenMB {
            issues.append("High allocator fragmentation: This instance has an allocator external fragmentation "
                + "greater than 1.1. This is usually due to a large peak memory (see above), or to a workload that "
                + "fragments memory a lot.")
        }
        if figures.allocatorRSS > 1.1 && figures.allocatorRSSBytes > tenMB {
            issues.append("High allocator RSS overhead: This instance has an RSS memory overhead greater than 1.1 "
                + "(the allocator holds many more resident pages than it has handed out). This is usually due to "
                + "a large peak memory (see above); the MEMORY PURGE command may reclaim it.")
        }
        if figures.rssOverhead > 1.1 && figures.rssOverheadBytes > tenMB {
            issues.append("High process RSS overhead: This instance has non-allocator RSS memory overhead greater "
                + "than 1.1 (the Resident Set Size of the process is much larger than what the allocator holds). "
                + "This may be memory that libraries or thread stacks hold outside the allocator.")
        }
        if figures.clientCount > 0 && figures.clients / figures.clientCount > 200 * 1024 {
            issues.append("Big client buffers: The clients output buffers in this instance are greater than 200K "
                + "per client (on average). This may come from clients that do not read their replies fast "
                + "enough, from commands with large replies, or from very long pipelines. Use the CLIENT LIST "
                + "command to find the clients that hold the memory.")
        }
        if issues.isEmpty {
            return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs "
                + "on this base.\n"
        }
        return "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
            + issues.map { " * \($0)\n\n" }.joined()
            + "I'm here to keep you safe, Sam. I want to help you.\n"
    }

    // MARK: - MALLOC-STATS, PURGE, HELP

    /// MEMORY MALLOC-STATS: jemalloc's own report (malloc_stats_print).
    static func mallocStats(_ client: Client, _ args: CommandArguments) {
        guard let text = strata_malloc_stats_text() else { return client.error("ERR out of memory") }
        defer { free(text) }
        client.reply.verbatim(String(cString: text))
    }

    /// MEMORY PURGE: jemalloc returns the dirty pages of every arena to the system.
    static func purge(_ client: Client, _ args: CommandArguments) {
        guard strata_malloc_purge() == 0 else { return client.error("ERR Error purging dirty pages") }
        client.reply.ok()
    }

    static func help(_ client: Client, _ args: CommandArguments) {
        ServerCommands.replyHelp(client, "MEMORY", [
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ])
    }
}

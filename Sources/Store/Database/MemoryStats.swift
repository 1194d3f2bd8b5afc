#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CShims

/// Process memory as INFO reports it.
public enum MemoryStats {
    /// Bytes the allocator has handed out and not got back (jemalloc's stats.allocated),
    /// plus the keyspace tables mapped directly (`TableMemory`).
    /// This is what Redis calls used_memory: real allocations, not an estimate. Costs a
    /// statistics refresh (microseconds), so callers sample it, not call it per command.
    public static func allocatedBytes() -> Int {
        Int(strata_malloc_used_bytes()) + strata_table_bytes()
    }

    /// Bytes the execution thread's own allocator arena has handed out plus the keyspace
    /// tables: the memory `maxmemory` limits (RocksDB's and the background threads'
    /// allocations come from other arenas). Equals `allocatedBytes()` minus those until
    /// `useOwnArena()` ran. Refreshes the statistics like `allocatedBytes()`.
    public static func executionThreadBytes() -> Int {
        let total = Int(strata_malloc_used_bytes())
        let own = Int(strata_own_arena_allocated_bytes())
        return (own > 0 ? own : total) + strata_table_bytes()
    }

    /// Returns the calling thread's cached free blocks to the allocator, so that the next
    /// reading counts only live allocations.
    public static func flushThreadCache() { strata_flush_thread_cache() }

    /// Moves the calling thread's allocations to an arena of their own (call it on the
    /// execution thread at start).
    @discardableResult
    public static func useOwnArena() -> Bool { strata_use_own_arena() == 0 }

    /// True on the thread that `useOwnArena()` moved (the execution thread).
    public static var onOwnArena: Bool { strata_thread_has_own_arena() != 0 }

    /// Runs `body`, on another thread, allocating from the execution thread's arena: what
    /// it builds for the keyspace (a large collection read from RocksDB) is then counted
    /// as the keyspace's memory.
    static func buildingForKeyspace<T>(_ body: () throws -> T) rethrows -> T {
        let previous = strata_enter_own_arena()
        defer { strata_leave_own_arena(previous) }
        return try body()
    }

    /// Resident set size in bytes, from /proc/self/statm.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Physical memory of the machine.
    public static func totalSystemBytes() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Peak resident set size (VmHWM) in bytes.
    public static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.filter(\.isNumber)
            return (Int(digits) ?? 0) * 1024
        }
        return 0
    }
}

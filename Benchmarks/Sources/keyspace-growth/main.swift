import Config
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Store

/*
 Grows one database to N keys (default 10 M, 100-byte values) and reports the longest
 time any single insert took, plus the distribution of slow inserts. The server runs one
 command at a time, so the longest insert is the longest pause a client can see from the
 keyspace. The cron's background resize step is simulated every 100 ms as the server runs it.
 usage: keyspace-growth [keys]
*/
let total = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 10_000_000
let store = Store(config: ServerConfig())
let db = store.databases[0]
let value = [UInt8](repeating: 120, count: 100)
/// CPU time of this thread: a long wall time with little CPU time is preemption by other
/// processes on a shared machine, not work the server did.
func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
var worst: UInt64 = 0
var worstAt = 0
var over1ms = 0
var worstCPU: UInt64 = 0
var slowest: [(wall: UInt64, cpu: UInt64, at: Int)] = []
var lastCron = Clock.monotonicNanos()
let start = Clock.monotonicNanos()
for i in 0..<total {
    let key = Array("key:\(i)".utf8)
    let c0 = threadCPUNanos()
    let t0 = Clock.monotonicNanos()
    key.withUnsafeBytes { db.set($0, .string(value)) }
    let t1 = Clock.monotonicNanos()
    let spent = t1 - t0
    if spent > worst { worst = spent; worstAt = i }
    if spent > 1_000_000 {
        over1ms += 1
        let cpu = threadCPUNanos() - c0
        worstCPU = max(worstCPU, cpu)
        slowest.append((spent, cpu, i))
    }
    if t1 - lastCron > 100_000_000 {
        let c0 = Clock.monotonicNanos()
        store.resizeStep(budgetMicros: 1000)
        let c1 = Clock.monotonicNanos()
        if c1 - c0 > worst { worst = c1 - c0; worstAt = i }
        lastCron = c1
    }
}
let seconds = Double(Clock.monotonicNanos() - start) / 1e9
print("keys=\(db.count) seconds=\(String(format: "%.1f", seconds)) inserts_per_sec=\(Int(Double(total) / seconds))")
print("longest_single_operation_ms=\(String(format: "%.3f", Double(worst) / 1e6)) at_key=\(worstAt) operations_over_1ms=\(over1ms)")
print("longest_single_operation_cpu_ms=\(String(format: "%.3f", Double(worstCPU) / 1e6)) (thread CPU time of the slow operations)")
for entry in slowest.sorted(by: { $0.wall > $1.wall }).prefix(8) {
    print("  slow: wall_ms=\(String(format: "%.2f", Double(entry.wall) / 1e6)) cpu_ms=\(String(format: "%.2f", Double(entry.cpu) / 1e6)) key=\(entry.at)")
}
print("rss_mb=\(MemoryStats.residentBytes() >> 20) allocated_mb=\(MemoryStats.allocatedBytes() >> 20)")

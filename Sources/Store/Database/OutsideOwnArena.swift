import Dispatch

/*
 The execution thread allocates from an arena of its own, and that arena is what
 maxmemory limits (MemoryStats). Work it asks for whose memory is not data, and is
 bounded otherwise, runs on a helper thread while the execution thread waits:
 - RocksDB's own allocations (memtable blocks, block cache entries) during recovery and
   synchronous demotions: four 1 MB memtable blocks allocated by a crash replay held a
   4 MB maxmemory full with no key left in RAM, and writes got -OOM;
 - the index snapshot a checkpoint writes (17 bytes per cold key, until written).
 The execution thread is blocked meanwhile, so `body` may read its state.
*/
enum OutsideOwnArena {
    private static let helper = DispatchQueue(label: "strata.outside-own-arena")

    /// Runs `body` on the helper thread when called on the execution thread, else here.
    static func run<T>(_ body: () throws -> T) throws -> T {
        guard MemoryStats.onOwnArena else { return try body() }
        return try withoutActuallyEscaping(body) { body in
            let job = Job(body)
            let done = DispatchSemaphore(value: 0)
            helper.async {
                job.result = Result { try job.body!() }
                job.body = nil  // the closure must not outlive withoutActuallyEscaping
                done.signal()
            }
            done.wait()
            return try job.result!.get()
        }
    }

    private final class Job<T>: @unchecked Sendable {
        var body: (() throws -> T)?
        var result: Result<T, Error>?
        init(_ body: @escaping () throws -> T) { self.body = body }
    }
}

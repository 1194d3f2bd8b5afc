import ArgumentParser
import Foundation
import LoadSupport

/*
 rocksdb-gets: the raw point-get throughput of RocksDB on this machine, with the settings a
 cold tier would use (zstd, 10-bit bloom filter, a small block cache). It is the ceiling for
 Strata's cold reads: a server that reads cold keys from RocksDB cannot beat it, and the gap
 between the two is the cost of the server around the store.

   rocksdb-gets --path /tmp/rocksdb-gets --keys 10000000 --load
   rocksdb-gets --path /tmp/rocksdb-gets --keys 10000000 --threads 4 --duration 10 --json
   rocksdb-gets ... --multiget 16          (rocksdb_multi_get batches of 16 keys)
*/
@main
struct RocksDBGets: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rocksdb-gets",
        abstract: "Raw RocksDB point-get throughput and latency (uniform random keys).")

    @Option(help: "Database directory.") var path = "/tmp/rocksdb-gets"
    @Option(help: "Key space size: key numbers 0..<keys.") var keys = 10_000_000
    @Option(help: "Key name format; %d is the key number.") var keyFormat = "key:%d"
    @Option(help: "Value size in bytes (values are a function of the key).") var valueSize = 100
    @Option(help: "Reader threads.") var threads = 4
    @Option(help: "Measured seconds.") var duration: Double = 10
    @Option(help: "Seconds read before measuring (not recorded).") var warmup: Double = 2
    @Option(help: "Block cache size in MB.") var blockCacheMB = 64
    @Option(help: "Keys per rocksdb_multi_get (1: rocksdb_get per key).") var multiget = 1
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Fill the database (WriteBatch per 10k keys, then flush and compact), then exit.") var load = false
    @Flag(help: "Read with O_DIRECT (bypass the OS page cache).") var directReads = false
    @Flag(help: "Check every value against the key's deterministic value.") var verify = false
    @Flag(help: "Also print one JSON line.") var json = false

    func validate() throws {
        guard keys > 0, valueSize > 0, threads > 0, multiget > 0, blockCacheMB >= 0 else {
            throw ValidationError("--keys, --value-size, --threads, --multiget must be positive")
        }
        guard KeyFormat(keyFormat) != nil else { throw ValidationError("--key-format must contain %d exactly once") }
    }

    func run() throws {
        let format = KeyFormat(keyFormat)!
        let db = try RocksDB(path: path, tuning: RocksDBTuning(blockCacheMB: blockCacheMB, directReads: directReads))
        defer { db.close() }
        if load {
            let (loadSeconds, compactSeconds) = try loadKeys(db, keys: keys, valueSize: valueSize, format: format)
            print("rocksdb-gets: loaded \(keys) keys x \(valueSize) B into \(path) in \(fmt(loadSeconds, 2)) s "
                + "(\(fmt(Double(keys) / loadSeconds, 0)) keys/s), flush+compact \(fmt(compactSeconds, 2)) s")
            print("  estimate-num-keys \(db.property("rocksdb.estimate-num-keys") ?? "?"), "
                + "sst bytes \(db.property("rocksdb.total-sst-files-size") ?? "?")")
            return
        }

        let start = monotonicNanos()
        let measureFrom = start + UInt64(warmup * 1e9)
        let stopAt = measureFrom + UInt64(duration * 1e9)
        let plans = (0..<threads).map { i in
            ReaderPlan(keys: keys, valueSize: valueSize, format: format, batch: multiget, verify: verify,
                       seed: SplitMix64.streamSeed(seed, i), measureFrom: measureFrom, stopAt: stopAt)
        }
        let results = runReaders(count: threads) { runReader(db, plans[$0]) }
        report(results, seconds: Double(monotonicNanos() - measureFrom) / 1e9, db: db)
    }

    private func report(_ results: [ReaderResult], seconds: Double, db: RocksDB) {
        var summary = RunSummary()
        var latency = makeLatencyHistogram(highest: 60_000_000_000)
        var firstError: String?
        for r in results {
            summary.gets += r.gets
            summary.hits += r.hits
            summary.misses += r.misses
            summary.mismatches += r.mismatches
            summary.errors += r.errors
            firstError = firstError ?? r.firstError
            latency.add(r.latency)
        }
        summary.requests = summary.gets
        summary.seconds = seconds
        summary.setLatencies(latency, unitsPerMicrosecond: 1000)
        let how = multiget == 1 ? "rocksdb_get" : "rocksdb_multi_get x\(multiget) (latency per batch)"
        print(summary.humanReadable(title: "rocksdb-gets \(path): \(threads) threads, \(how), uniform keys [0, \(keys)), "
            + "block cache \(blockCacheMB) MB\(directReads ? ", direct reads" : "")"))
        if let firstError { print("  error: \(firstError)") }
        if let usage = db.property("rocksdb.block-cache-usage") { print("  block cache usage \(usage) bytes") }
        if json { print(summary.jsonLine) }
    }
}

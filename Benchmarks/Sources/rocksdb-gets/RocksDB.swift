import CRocksDBBench
import Foundation

/// A RocksDB failure, with RocksDB's message.
struct RocksDBError: Error, CustomStringConvertible {
    let description: String
}

/// Runs a C call that reports failure through `char** errptr`, throwing its message.
private func check<T>(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> T) throws -> T {
    var err: UnsafeMutablePointer<CChar>?
    let result = body(&err)
    if let err {
        defer { rocksdb_free(err) }
        throw RocksDBError(description: String(cString: err))
    }
    return result
}

/// The table settings under test: what a cold tier would plausibly use.
struct RocksDBTuning {
    var blockCacheMB: Int
    /// Bits per key of the bloom filter: 10 gives about 1% false positives, so a get of
    /// an absent key rarely reads a data block.
    var bloomBitsPerKey: Double = 10
    /// O_DIRECT reads: bypass the OS page cache so the block cache is the only cache and
    /// a miss is a real device read (otherwise a data set smaller than RAM is read from
    /// the page cache and the figure is a memory figure).
    var directReads: Bool
}

/*
 A thin owner of an open database and its option objects, for this benchmark only. RocksDB's
 DB handle is safe for concurrent reads from many threads (documented in rocksdb/db.h), which
 is what @unchecked Sendable claims; option objects are only read after open.
*/
final class RocksDB: @unchecked Sendable {
    let db: OpaquePointer
    private let options: OpaquePointer
    private let tableOptions: OpaquePointer
    private let cache: OpaquePointer
    private let filter: OpaquePointer
    let readOptions: OpaquePointer
    private let writeOptions: OpaquePointer

    init(path: String, tuning: RocksDBTuning) throws {
        options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_increase_parallelism(options, Int32(ProcessInfo.processInfo.activeProcessorCount))
        rocksdb_options_set_compression(options, Int32(rocksdb_zstd_compression))
        rocksdb_options_set_max_open_files(options, -1)
        rocksdb_options_set_use_direct_reads(options, tuning.directReads ? 1 : 0)

        tableOptions = rocksdb_block_based_options_create()
        cache = rocksdb_cache_create_lru(tuning.blockCacheMB << 20)
        rocksdb_block_based_options_set_block_cache(tableOptions, cache)
        filter = rocksdb_filterpolicy_create_bloom(tuning.bloomBitsPerKey)
        rocksdb_block_based_options_set_filter_policy(tableOptions, filter)
        rocksdb_options_set_block_based_table_factory(options, tableOptions)

        readOptions = rocksdb_readoptions_create()
        writeOptions = rocksdb_writeoptions_create()
        // The load is reproducible from scratch, so it skips the WAL and flushes at the end.
        rocksdb_writeoptions_disable_WAL(writeOptions, 1)

        let options = self.options
        guard let db = try check({ rocksdb_open(options, path, $0) }) else {
            throw RocksDBError(description: "rocksdb_open returned nil")
        }
        self.db = db
    }

    private var closed = false

    /// Closes the database. Called explicitly by the owner on the main thread: left to
    /// deinit, the last release could come from a reader thread's closure while the process
    /// is already exiting and RocksDB's static objects are being destroyed (seen as
    /// "pthread lock: Invalid argument" and an abort at exit).
    func close() {
        guard !closed else { return }
        closed = true
        rocksdb_close(db)
    }

    deinit {
        close()
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_options_destroy(options)
        rocksdb_block_based_options_destroy(tableOptions)  // also releases the filter policy
        rocksdb_cache_destroy(cache)
    }

    /// Applies a write batch (no WAL).
    func write(_ batch: OpaquePointer) throws {
        try check { rocksdb_write(db, writeOptions, batch, $0) }
    }

    /// Flushes the memtable and compacts everything into the bottom level, so reads see
    /// the settled shape of a loaded store (one sorted run), not a pile of L0 files.
    func flushAndCompact() throws {
        let flush = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(flush) }
        rocksdb_flushoptions_set_wait(flush, 1)
        try check { rocksdb_flush(db, flush, $0) }
        rocksdb_compact_range(db, nil, 0, nil, 0)
    }

    /// A DB property such as "rocksdb.estimate-num-keys".
    func property(_ name: String) -> String? {
        guard let value = rocksdb_property_value(db, name) else { return nil }
        defer { rocksdb_free(value) }
        return String(cString: value)
    }
}

import CRocksDB
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RocksDB's compression for SST files.
public enum ColdCompression: String, CaseIterable {
    case none, snappy, lz4, zstd

    /// The `rocksdb_*_compression` constant of c.h.
    var rocksDBType: Int32 {
        switch self {
        case .none: return 0     // rocksdb_no_compression
        case .snappy: return 1   // rocksdb_snappy_compression
        case .lz4: return 4      // rocksdb_lz4_compression
        case .zstd: return 7     // rocksdb_zstd_compression
        }
    }
}

/// How the cold tier's RocksDB database is opened.
public struct ColdStorageOptions {
    /// Directory of the database (created, with its parents, if missing).
    public var path: String
    /// Capacity of the LRU cache of uncompressed data blocks.
    public var blockCacheBytes = 64 << 20
    /// Size of one memtable before it is flushed to an SST file.
    public var writeBufferBytes = 16 << 20
    /// Compression of every level, the bottommost one included.
    public var compression: ColdCompression = .zstd
    /// Background flush + compaction threads.
    public var maxBackgroundJobs = 2
    /// Open SST files kept by RocksDB (each costs a file descriptor and its index/filter memory).
    public var maxOpenFiles = 256
    /// Drop values whose codec header says they expired, during compaction.
    public var dropExpiredInCompaction = true
    /// Skip RocksDB's write-ahead log for non-sync writes (the cold tier does until it is a
    /// durable image: its directory is emptied at start anyway).
    public var disableWAL = false

    public init(path: String) {
        self.path = path
    }
}

/// A RocksDB (or file system) failure, with RocksDB's message.
public struct ColdStorageError: Error, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "cold storage: \(message)" }
}

/// Operations applied together, atomically, by `ColdStorage.write`.
public struct ColdBatch {
    enum Operation {
        case put([UInt8], [UInt8])
        case delete([UInt8])
        case deleteRange([UInt8], [UInt8])
    }

    private(set) var operations: [Operation] = []
    /// Bytes of keys and values.
    public private(set) var byteCount = 0

    public init() {}

    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        operations.append(.put(key, value))
        byteCount += key.count + value.count
    }

    public mutating func delete(_ key: [UInt8]) {
        operations.append(.delete(key))
        byteCount += key.count
    }

    /// Deletes every key in [from, to).
    public mutating func deleteRange(from: [UInt8], to: [UInt8]) {
        operations.append(.deleteRange(from, to))
        byteCount += from.count + to.count
    }

    /// Number of operations.
    public var count: Int { operations.count }
    public var isEmpty: Bool { operations.isEmpty }
}

/// The cold tier's RocksDB database. RocksDB handles are thread-safe, so every method may be
/// called from any thread. A reader-writer lock only guards the handles against `close()`:
/// operations share it, `close()` takes it exclusively, and operations after `close()` throw
/// (or return nil/0) instead of touching freed memory. Consequently `close()` must not be
/// called from inside a `forEach` body (it would wait for itself).
public final class ColdStorage: @unchecked Sendable {
    public let options: ColdStorageOptions

    private var db: OpaquePointer?
    private var dbOptions: OpaquePointer?
    private var cache: OpaquePointer?
    private var compactionFilter: OpaquePointer?
    private var readOptions: OpaquePointer?
    private var writeOptions: OpaquePointer?
    private var syncWriteOptions: OpaquePointer?
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init(options: ColdStorageOptions) throws {
        self.options = options
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
        // Every stored property is initialized by now, so if either call throws Swift runs
        // deinit, which frees whatever `open()` had created (all handles are optional).
        try FileSystem.makeDirectories(options.path)
        try open()
    }

    deinit {
        close()
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    private func open() throws {
        let opts = rocksdb_options_create()
        dbOptions = opts
        rocksdb_options_set_create_if_missing(opts, 1)
        // increase_parallelism sizes the shared thread pools; max_background_jobs is the
        // number of those jobs this database may run at once.
        rocksdb_options_increase_parallelism(opts, Int32(clamping: options.maxBackgroundJobs))
        rocksdb_options_set_max_background_jobs(opts, Int32(clamping: options.maxBackgroundJobs))
        rocksdb_options_set_max_open_files(opts, Int32(clamping: options.maxOpenFiles))
        rocksdb_options_set_write_buffer_size(opts, options.writeBufferBytes)
        rocksdb_options_set_compaction_style(opts, 0)   // rocksdb_level_compaction
        rocksdb_options_set_level_compaction_dynamic_level_bytes(opts, 1)
        // The configured compression holds for the bottommost level, where nearly all the
        // data ends up. The levels above are rewritten again and again by compaction: with
        // zstd there they took more CPU than the demotion writes themselves, so they use
        // LZ4 (about a fifth of the cost; their data is recompressed with zstd on its way down).
        let upper = options.compression == .zstd ? ColdCompression.lz4 : options.compression
        rocksdb_options_set_compression(opts, upper.rocksDBType)
        rocksdb_options_set_bottommost_compression(opts, options.compression.rocksDBType)
        // A bloom filter over the memtable's keys (2% of its size): most cold reads look
        // for keys written long ago, and without it each one searched the memtable's skip
        // list first, dozens of cache misses (the reader threads' top cost in a profile).
        rocksdb_options_set_memtable_prefix_bloom_size_ratio(opts, 0.02)
        rocksdb_options_set_memtable_whole_key_filtering(opts, 1)

        // Block-based tables: an LRU cache of data blocks and a full bloom filter per SST.
        // optimize_filters_for_hits stays off: lookups of keys that are not cold (misses) are
        // common, and they need the bottommost level's filter too.
        let cache = rocksdb_cache_create_lru(options.blockCacheBytes)
        self.cache = cache
        let table = rocksdb_block_based_options_create()
        rocksdb_block_based_options_set_block_cache(table, cache)
        // The table options take ownership of the filter policy.
        rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom_full(10))
        rocksdb_options_set_block_based_table_factory(opts, table)   // copies `table`
        rocksdb_block_based_options_destroy(table)

        if options.dropExpiredInCompaction {
            // The options keep a raw pointer: the filter must outlive the database (close()).
            let filter = rocksdb_compactionfilter_create(nil, ColdStorage.noStateDestructor, ColdStorage.expiryFilter,
                                                         ColdStorage.expiryFilterName)
            compactionFilter = filter
            rocksdb_options_set_compaction_filter(opts, filter)
        }

        readOptions = rocksdb_readoptions_create()
        writeOptions = rocksdb_writeoptions_create()
        if options.disableWAL { rocksdb_writeoptions_disable_WAL(writeOptions, 1) }
        syncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWriteOptions, 1)

        var error: UnsafeMutablePointer<CChar>?
        let handle = rocksdb_open(opts, options.path, &error)
        try ColdStorage.check(error)
        guard let handle else { throw ColdStorageError("rocksdb_open returned no handle") }
        db = handle
    }

    // MARK: - Compaction filter

    /// Removes values whose codec header says they expired. The cold index is the
    /// authority on expiry: an EXPIRE or PERSIST of a cold key changes it at once, and the
    /// writer rewrites the header after the writes queued before. While such a rewrite is
    /// pending (`headerLags` > 0) a header may say "expired" of a key that lives on, so
    /// only values expired over a minute ago go then. RocksDB turns a removed entry into a
    /// deletion marker (kept until the bottommost level), so an older version of the key in
    /// a lower level cannot resurface. Runs on compaction threads, possibly several at
    /// once: it touches no state but the counter.
    private static let expiryFilter: @convention(c) (
        UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<Int>?,
        UnsafeMutablePointer<UInt8>?
    ) -> UInt8 = { _, _, key, keyLength, value, valueLength, _, _, valueChanged in
        valueChanged?.pointee = 0
        guard let value else { return 0 }
        // The server's own records (StorageMetadata) are not values.
        if keyLength > 0, let key, UInt8(bitPattern: key.pointee) == StorageMetadata.prefix { return 0 }
        guard let header = ValueCodec.header(UnsafeRawBufferPointer(start: value, count: valueLength)) else {
            return 0   // not ours to judge: keep it
        }
        guard header.expireAt != 0 else { return 0 }
        let grace = ColdStorage.headerLags.load(ordering: .sequentiallyConsistent) > 0 ? ColdStorage.expiredGraceMillis : 0
        return header.expireAt <= Clock.nowMillis() - grace ? 1 : 0
    }

    static let expiredGraceMillis: Int64 = 60_000

    /// Expiry rewrites queued and not yet in RocksDB, plus one per cold tier whose start-up
    /// replay of the log (which may hold EXPIRE records RocksDB lacks) is not done. A
    /// rewrite counts from the moment its EXPIRE changes the index, before the old expiry
    /// has passed (an expired key cannot be given a new one), so the filter never sees a
    /// lagging header with the count at zero.
    static let headerLags = Atomic<Int>(0)

    /// RocksDB calls the state destructor unconditionally, so it must not be null even
    /// though the filter has no state.
    private static let noStateDestructor: @convention(c) (UnsafeMutableRawPointer?) -> Void = { _ in }

    private static let expiryFilterName: @convention(c) (UnsafeMutableRawPointer?) -> UnsafePointer<CChar>? = { _ in
        // A static string lives for the whole process, as RocksDB requires of the name.
        UnsafeRawPointer(("StrataExpiredValueFilter" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
    }

    // MARK: - Disk space

    /// Why a write must not go to RocksDB now: its filesystem has less than `minFree`
    /// bytes free (nil: there is room, or `minFree` is 0).
    public func diskSpaceProblem(minFree: Int) -> String? {
        guard minFree > 0 else { return nil }
        var stats = statvfs()
        guard statvfs(options.path, &stats) == 0 else { return nil }
        let free = Int(stats.f_bavail) * Int(stats.f_frsize)
        guard free < minFree else { return nil }
        // No comma: INFO shows it, and clients split INFO values at commas.
        return "No space left on device: \(free) bytes free under \(options.path) (tiering-min-free-disk \(minFree))"
    }

    // MARK: - Closing

    /// Closes the database and frees every RocksDB object. Idempotent.
    public func close() {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        releaseHandles()
    }

    private func releaseHandles() {
        if let db { rocksdb_close(db) }
        db = nil
        // Only now that the database is closed: it used all of these.
        if let compactionFilter { rocksdb_compactionfilter_destroy(compactionFilter) }
        compactionFilter = nil
        if let dbOptions { rocksdb_options_destroy(dbOptions) }
        dbOptions = nil
        if let cache { rocksdb_cache_destroy(cache) }
        cache = nil
        if let readOptions { rocksdb_readoptions_destroy(readOptions) }
        readOptions = nil
        if let writeOptions { rocksdb_writeoptions_destroy(writeOptions) }
        writeOptions = nil
        if let syncWriteOptions { rocksdb_writeoptions_destroy(syncWriteOptions) }
        syncWriteOptions = nil
    }

    /// Deletes the database at `path` (its files, then the directory if empty).
    public static func destroy(path: String) throws {
        let opts = rocksdb_options_create()
        defer { rocksdb_options_destroy(opts) }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_destroy_db(opts, path, &error)
        try check(error)
    }

    // MARK: - Writes

    /// Applies `batch` atomically. `sync` waits for the write-ahead log to reach the disk.
    public func write(_ batch: ColdBatch, sync: Bool = false) throws {
        if batch.isEmpty { return }
        try withOpenDatabase { db in
            let wb = rocksdb_writebatch_create()
            defer { rocksdb_writebatch_destroy(wb) }
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value):
                    ColdStorage.withCBytes(key) { k, kn in
                        ColdStorage.withCBytes(value) { v, vn in rocksdb_writebatch_put(wb, k, kn, v, vn) }
                    }
                case .delete(let key):
                    ColdStorage.withCBytes(key) { k, kn in rocksdb_writebatch_delete(wb, k, kn) }
                case .deleteRange(let from, let to):
                    ColdStorage.withCBytes(from) { f, fn in
                        ColdStorage.withCBytes(to) { t, tn in rocksdb_writebatch_delete_range(wb, f, fn, t, tn) }
                    }
                }
            }
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_write(db, sync ? syncWriteOptions : writeOptions, wb, &error)
            try ColdStorage.check(error)
        }
    }

    // MARK: - Reads

    /// The value of `key`, or nil when absent.
    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try withOpenDatabase { db in
            var error: UnsafeMutablePointer<CChar>?
            // A pinnable slice points into the block cache or memtable: one copy, into Swift.
            let slice = ColdStorage.withCBytes(key) { k, kn in rocksdb_get_pinned(db, readOptions, k, kn, &error) }
            try ColdStorage.check(error)
            guard let slice else { return nil }
            defer { rocksdb_pinnableslice_destroy(slice) }
            var length = 0
            guard let value = rocksdb_pinnableslice_value(slice, &length), length > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: value, count: length))
        }
    }

    /// The values of `keys` (nil where absent), read in one call.
    public func multiGet(_ keys: [[UInt8]]) throws -> [[UInt8]?] {
        if keys.isEmpty { return [] }
        return try withOpenDatabase { db in
            let n = keys.count
            // Keys are copied into one buffer so every pointer stays valid during the call.
            var offsets = [Int](repeating: 0, count: n + 1)
            for (i, key) in keys.enumerated() { offsets[i + 1] = offsets[i] + key.count }
            var joined = [CChar](repeating: 0, count: max(offsets[n], 1))
            joined.withUnsafeMutableBytes { out in
                for (i, key) in keys.enumerated() where !key.isEmpty {
                    UnsafeMutableRawBufferPointer(rebasing: out[offsets[i]...]).copyBytes(from: key)
                }
            }
            var sizes = keys.map(\.count)
            var values = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            var valueSizes = [Int](repeating: 0, count: n)
            var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            joined.withUnsafeBufferPointer { base in
                let pointers: [UnsafePointer<CChar>?] = (0..<n).map { base.baseAddress! + offsets[$0] }
                pointers.withUnsafeBufferPointer { keyPointers in
                    rocksdb_multi_get(db, readOptions, n, keyPointers.baseAddress, &sizes,
                                      &values, &valueSizes, &errors)
                }
            }
            // Free everything RocksDB allocated before reporting the first error.
            var firstError: String?
            var results = [[UInt8]?](repeating: nil, count: n)
            for i in 0..<n {
                if let error = errors[i] {
                    if firstError == nil { firstError = String(cString: error) }
                    rocksdb_free(error)
                }
                if let value = values[i] {
                    results[i] = Array(UnsafeRawBufferPointer(start: value, count: valueSizes[i]))
                    rocksdb_free(value)
                }
            }
            if let firstError { throw ColdStorageError(firstError) }
            return results
        }
    }

    /// Visits keys in [start, end) in order (end nil = to the end); body returns false to stop.
    /// The buffers are only valid during the call to `body`.
    public func forEach(from start: [UInt8], to end: [UInt8]?,
                        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) throws {
        try withOpenDatabase { db in
            let iterOptions = rocksdb_readoptions_create()
            defer { rocksdb_readoptions_destroy(iterOptions) }
            // RocksDB keeps a pointer to the upper bound: `bound` must outlive the iterator.
            let bound = end ?? []
            try ColdStorage.withCBytes(bound) { upper, upperLength in
                if end != nil { rocksdb_readoptions_set_iterate_upper_bound(iterOptions, upper, upperLength) }
                let iterator = rocksdb_create_iterator(db, iterOptions)
                defer { rocksdb_iter_destroy(iterator) }
                ColdStorage.withCBytes(start) { s, sn in rocksdb_iter_seek(iterator, s, sn) }
                while rocksdb_iter_valid(iterator) != 0 {
                    var keyLength = 0
                    var valueLength = 0
                    let key = rocksdb_iter_key(iterator, &keyLength)
                    let value = rocksdb_iter_value(iterator, &valueLength)
                    if !body(UnsafeRawBufferPointer(start: key, count: keyLength),
                             UnsafeRawBufferPointer(start: value, count: valueLength)) { break }
                    rocksdb_iter_next(iterator)
                }
                var error: UnsafeMutablePointer<CChar>?
                rocksdb_iter_get_error(iterator, &error)
                try ColdStorage.check(error)
            }
        }
    }

    // MARK: - Maintenance

    /// Compacts the keys in [from, to] (nil = unbounded) down to the bottommost level, which
    /// also runs the expiry filter over them. Blocks until done.
    public func compact(from: [UInt8]?, to: [UInt8]?) {
        try? withOpenDatabase { db in
            ColdStorage.withOptionalCBytes(from) { f, fn in
                ColdStorage.withOptionalCBytes(to) { t, tn in rocksdb_compact_range(db, f, fn, t, tn) }
            }
        }
    }

    /// Writes the memtables to SST files and waits for it.
    public func flush() throws {
        try withOpenDatabase { db in
            let flushOptions = rocksdb_flushoptions_create()
            defer { rocksdb_flushoptions_destroy(flushOptions) }
            rocksdb_flushoptions_set_wait(flushOptions, 1)
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_flush(db, flushOptions, &error)
            try ColdStorage.check(error)
        }
    }

    /// An integer RocksDB property ("rocksdb.total-sst-files-size", ...), nil when unknown
    /// or closed.
    public func integerProperty(_ name: String) -> UInt64? {
        try? withOpenDatabase { db in
            var value: UInt64 = 0
            return rocksdb_property_int(db, name, &value) == 0 ? value : nil
        } ?? nil
    }

    /// Bytes currently held by the block cache (0 when closed).
    public var blockCacheUsage: Int {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard let cache else { return 0 }
        return Int(rocksdb_cache_get_usage(cache))
    }

    // MARK: - Helpers

    /// Runs `body` with the database handle, holding the lock shared; throws when closed.
    private func withOpenDatabase<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        // RocksDB's allocations must not land in the execution thread's arena.
        try OutsideOwnArena.run { try withOpenDatabaseHere(body) }
    }

    private func withOpenDatabaseHere<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard let db else { throw ColdStorageError("the database is closed") }
        // RocksDB's per-thread perf counters are on by default (kEnableCount): every key
        // comparison then updates a thread-local counter, a tenth of a memtable insert.
        // Nothing reads them. The level is per thread, and work queues move between threads.
        rocksdb_set_perf_level(1)  // kDisable
        return try body(db)
    }

    /// Turns a RocksDB error string into a thrown error, freeing it.
    private static func check(_ error: UnsafeMutablePointer<CChar>?) throws {
        guard let error else { return }
        let message = String(cString: error)
        rocksdb_free(error)
        throw ColdStorageError(message)
    }

    /// A one-byte buffer for empty arrays: RocksDB then gets a real pointer with length 0.
    private static let emptyByte = UnsafeMutablePointer<CChar>.allocate(capacity: 1)

    /// Calls `body` with `bytes` as a C pointer and length, valid only during the call.
    @inline(__always)
    private static func withCBytes<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>, Int) throws -> T) rethrows -> T {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return try body(UnsafePointer(emptyByte), 0) }
            return try body(base.assumingMemoryBound(to: CChar.self), raw.count)
        }
    }

    /// Like `withCBytes`, passing a null pointer for nil (RocksDB's "unbounded").
    private static func withOptionalCBytes<T>(_ bytes: [UInt8]?, _ body: (UnsafePointer<CChar>?, Int) -> T) -> T {
        guard let bytes else { return body(nil, 0) }
        return withCBytes(bytes) { body($0, $1) }
    }
}

import Foundation
@testable import Store
import XCTest

/// The RocksDB wrapper of the cold tier, each test in its own temporary directory.
final class ColdStorageTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        super.setUp()
        directory = NSTemporaryDirectory() + "strata-cold-\(getpid())-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
        super.tearDown()
    }

    private func open(_ name: String = "db", configure: (inout ColdStorageOptions) -> Void = { _ in }) throws -> ColdStorage {
        var options = ColdStorageOptions(path: directory + "/" + name)
        configure(&options)
        return try ColdStorage(options: options)
    }

    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Every (key, value) visited in [start, end).
    private func entries(_ storage: ColdStorage, from start: [UInt8] = [], to end: [UInt8]? = nil) throws -> [([UInt8], [UInt8])] {
        var result: [([UInt8], [UInt8])] = []
        try storage.forEach(from: start, to: end) { key, value in
            result.append((Array(key), Array(value)))
            return true
        }
        return result
    }

    func testCreatesMissingParentDirectories() throws {
        let storage = try open("a/b/c")
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/a/b/c", isDirectory: &isDirectory))
        XCTAssertTrue(isDirectory.boolValue)
        storage.close()
    }

    func testBatchPutGetDelete() throws {
        let storage = try open()
        var batch = ColdBatch()
        XCTAssertTrue(batch.isEmpty)
        batch.put(b("a"), b("1"))
        batch.put(b("b"), b("22"))
        batch.put(b("c"), [])
        batch.put(b("d"), b("4"))
        XCTAssertEqual(batch.count, 4)
        XCTAssertEqual(batch.byteCount, 4 + 1 + 2 + 0 + 1)
        XCTAssertFalse(batch.isEmpty)
        try storage.write(batch)

        XCTAssertEqual(try storage.get(b("a")), b("1"))
        XCTAssertEqual(try storage.get(b("b")), b("22"))
        XCTAssertEqual(try storage.get(b("c")), [], "an empty value is present, not absent")
        XCTAssertNil(try storage.get(b("zz")))
        XCTAssertNil(try storage.get([]))

        let many = try storage.multiGet([b("a"), b("missing"), b("c"), b("d"), []])
        XCTAssertEqual(many.count, 5)
        XCTAssertEqual(many[0], b("1"))
        XCTAssertNil(many[1])
        XCTAssertEqual(many[2], [])
        XCTAssertEqual(many[3], b("4"))
        XCTAssertNil(many[4])
        XCTAssertEqual(try storage.multiGet([]).count, 0)

        var deletes = ColdBatch()
        deletes.delete(b("a"))
        deletes.put(b("b"), b("overwritten"))
        try storage.write(deletes, sync: true)
        XCTAssertNil(try storage.get(b("a")))
        XCTAssertEqual(try storage.get(b("b")), b("overwritten"))
        try storage.write(ColdBatch())   // empty: a no-op
    }

    func testDeleteRangeIsHalfOpen() throws {
        let storage = try open()
        var batch = ColdBatch()
        for i in 0..<10 { batch.put([UInt8(i)], [UInt8(i)]) }
        try storage.write(batch)
        var range = ColdBatch()
        range.deleteRange(from: [3], to: [7])
        try storage.write(range)
        XCTAssertEqual(try entries(storage).map { $0.0 }, [[0], [1], [2], [7], [8], [9]])
        // Survives a flush and compaction too.
        try storage.flush()
        storage.compact(from: nil, to: nil)
        XCTAssertEqual(try entries(storage).map { $0.0 }, [[0], [1], [2], [7], [8], [9]])
    }

    func testForEachRangesAndEarlyStop() throws {
        let storage = try open()
        var batch = ColdBatch()
        for i in 0..<100 { batch.put(b(String(format: "k%03d", i)), b("v\(i)")) }
        batch.put([0x02, 0xFF], b("other prefix"))
        try storage.write(batch)

        let all = try entries(storage)
        XCTAssertEqual(all.count, 101)
        XCTAssertEqual(all.first?.0, [0x02, 0xFF])   // bytewise order
        let range = try entries(storage, from: b("k010"), to: b("k020"))
        XCTAssertEqual(range.map { String(decoding: $0.0, as: UTF8.self) }, (10..<20).map { String(format: "k%03d", $0) })
        XCTAssertEqual(range.first?.1, b("v10"))
        XCTAssertEqual(try entries(storage, from: b("k095")).count, 5)
        XCTAssertEqual(try entries(storage, from: b("k050"), to: b("k050")).count, 0)
        XCTAssertEqual(try entries(storage, from: b("l")).count, 0)

        var seen = 0
        try storage.forEach(from: b("k"), to: nil) { _, _ in
            seen += 1
            return seen < 7
        }
        XCTAssertEqual(seen, 7)
    }

    /// Storage ids keep databases apart: a prefix range sees only its own keys.
    func testStoragePrefixRanges() throws {
        let storage = try open()
        var batch = ColdBatch()
        for id: UInt8 in [0, 1, 254, 255] {
            for i in 0..<10 { batch.put(ColdKeyFormat.encode(storageID: id, key: b("key\(i)")), [id]) }
        }
        try storage.write(batch)
        for id: UInt8 in [0, 1, 254, 255] {
            let found = try entries(storage, from: ColdKeyFormat.prefix(storageID: id), to: ColdKeyFormat.prefixEnd(storageID: id))
            XCTAssertEqual(found.count, 10)
            XCTAssertTrue(found.allSatisfy { $0.1 == [id] && $0.0.first == id })
            XCTAssertEqual(Set(found.compactMap { ColdKeyFormat.decode($0.0)?.key }), Set((0..<10).map { b("key\($0)") }))
        }
        var drop = ColdBatch()
        drop.deleteRange(from: ColdKeyFormat.prefix(storageID: 1), to: ColdKeyFormat.prefixEnd(storageID: 1)!)
        try storage.write(drop)
        XCTAssertEqual(try entries(storage).count, 30)
    }

    func testReopenKeepsData() throws {
        var storage: ColdStorage? = try open()
        var batch = ColdBatch()
        for i in 0..<500 { batch.put(b("key\(i)"), b("value\(i)")) }
        try storage!.write(batch)
        storage!.close()
        storage!.close()   // idempotent
        XCTAssertThrowsError(try storage!.get(b("key1")))
        XCTAssertThrowsError(try storage!.write(batch))
        XCTAssertNil(storage!.integerProperty("rocksdb.total-sst-files-size"))
        XCTAssertEqual(storage!.blockCacheUsage, 0)
        storage = nil

        let reopened = try open()
        XCTAssertEqual(try reopened.get(b("key1")), b("value1"))
        XCTAssertEqual(try reopened.get(b("key499")), b("value499"))
        XCTAssertEqual(try entries(reopened).count, 500)
        reopened.close()

        try ColdStorage.destroy(path: directory + "/db")
        let fresh = try open()
        XCTAssertEqual(try entries(fresh).count, 0)
    }

    func testSecondOpenOfSameDirectoryFails() throws {
        let storage = try open()
        XCTAssertThrowsError(try open()) { error in
            XCTAssertTrue(error is ColdStorageError)
            XCTAssertFalse((error as! ColdStorageError).message.isEmpty)
        }
        storage.close()
    }

    func testEveryCompressionOpens() throws {
        for compression in ColdCompression.allCases {
            let storage = try open("c-\(compression.rawValue)") { $0.compression = compression }
            var batch = ColdBatch()
            for i in 0..<200 { batch.put(b("key\(i)"), b(String(repeating: "x", count: 100))) }
            try storage.write(batch)
            try storage.flush()
            XCTAssertEqual(try storage.get(b("key7")), b(String(repeating: "x", count: 100)))
            storage.close()
        }
    }

    func testProperties() throws {
        let storage = try open()
        var batch = ColdBatch()
        for i in 0..<1000 { batch.put(b("key\(i)"), [UInt8](repeating: UInt8(i & 0xFF), count: 200)) }
        try storage.write(batch)
        XCTAssertGreaterThan(storage.integerProperty("rocksdb.cur-size-all-mem-tables") ?? 0, 0)
        try storage.flush()
        XCTAssertGreaterThan(storage.integerProperty("rocksdb.total-sst-files-size") ?? 0, 0)
        XCTAssertNotNil(storage.integerProperty("rocksdb.estimate-pending-compaction-bytes"))
        XCTAssertNil(storage.integerProperty("rocksdb.no-such-property"))
        _ = try storage.get(b("key5"))   // reads a data block into the cache
        XCTAssertGreaterThan(storage.blockCacheUsage, 0)
    }

    /// Values whose codec header says they expired vanish in compaction; the rest stay.
    func testCompactionDropsExpiredValues() throws {
        let now = Clock.nowMillis()
        func fill(_ storage: ColdStorage) throws {
            var batch = ColdBatch()
            var rng = SystemRandomNumberGenerator()
            for i in 0..<2000 {
                let payload = (0..<100).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let expireAt: Int64
                switch i % 4 {
                case 0, 2: expireAt = now - 120_000      // expired two minutes ago (past the grace)
                case 1: expireAt = 0                      // never expires
                default: expireAt = now + 3_600_000       // expires in an hour
                }
                let key = ColdKeyFormat.encode(storageID: 0, key: b("key\(i)"))
                batch.put(key, ValueCodec.encode(.string(payload), expireAt: expireAt, compressionThreshold: 0))
            }
            try storage.write(batch)
            try storage.flush()
            storage.compact(from: nil, to: nil)
        }
        let filtered = try open("filtered")
        let control = try open("control") { $0.dropExpiredInCompaction = false }
        try fill(filtered)
        try fill(control)

        var survivors = 0
        try filtered.forEach(from: [], to: nil) { key, value in
            survivors += 1
            let header = ValueCodec.header(value)
            XCTAssertNotNil(header)
            XCTAssertTrue(header!.expireAt == 0 || header!.expireAt > now)
            let index = Int(String(decoding: ColdKeyFormat.decode(key)!.key.dropFirst(3), as: UTF8.self))!
            XCTAssertTrue(index % 2 == 1)
            return true
        }
        XCTAssertEqual(survivors, 1000)
        XCTAssertEqual(try entries(control).count, 2000)
        XCTAssertNil(try filtered.get(ColdKeyFormat.encode(storageID: 0, key: b("key0"))))
        XCTAssertNotNil(try filtered.get(ColdKeyFormat.encode(storageID: 0, key: b("key1"))))

        let filteredSize = try XCTUnwrap(filtered.integerProperty("rocksdb.total-sst-files-size"))
        let controlSize = try XCTUnwrap(control.integerProperty("rocksdb.total-sst-files-size"))
        XCTAssertLessThan(Double(filteredSize), Double(controlSize) * 0.75,
                          "filtered \(filteredSize) bytes, control \(controlSize)")
    }

    /// An expired value that overwrote an older, unexpiring one must not let the old one
    /// resurface when the filter drops it.
    func testDroppedValueDoesNotResurrectOlderVersion() throws {
        let storage = try open()
        let key = ColdKeyFormat.encode(storageID: 0, key: b("k"))
        var old = ColdBatch()
        old.put(key, ValueCodec.encode(.string(b("old")), expireAt: 0, compressionThreshold: 0))
        try storage.write(old)
        try storage.flush()
        storage.compact(from: nil, to: nil)   // the old version now sits in the bottommost level
        var new = ColdBatch()
        new.put(key, ValueCodec.encode(.string(b("new")), expireAt: Clock.nowMillis() - 120_000, compressionThreshold: 0))
        try storage.write(new)
        try storage.flush()
        storage.compact(from: nil, to: nil)
        XCTAssertNil(try storage.get(key))
    }

    func testConcurrentReadersAndWriters() throws {
        let storage = try open()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for round in 0..<50 {
                var batch = ColdBatch()
                for i in 0..<20 { batch.put(Array("w\(worker)-\(round)-\(i)".utf8), Array("\(i)".utf8)) }
                do {
                    try storage.write(batch)
                    let value = try storage.get(Array("w\(worker)-\(round)-7".utf8))
                    XCTAssertEqual(value, Array("7".utf8))
                } catch {
                    XCTFail("\(error)")
                }
            }
        }
        XCTAssertEqual(try entries(storage).count, 4 * 50 * 20)
    }
}

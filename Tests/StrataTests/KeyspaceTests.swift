import Config
import Store
import XCTest

/// The keyspace hash table: lookups across incremental resizes, tombstones, SCAN's
/// guarantee, and the Database rules built on it.
final class KeyspaceTests: XCTestCase {
    private func key(_ i: Int, _ prefix: String = "key:") -> [UInt8] { Array("\(prefix)\(i)".utf8) }

    @discardableResult
    private func insert(_ ks: Keyspace, _ k: [UInt8], value: String = "v") -> SlotPointer {
        ks.insert(key: k, hash: KeyHash.hash(k), value: .string(Array(value.utf8)))
    }

    private func find(_ ks: Keyspace, _ k: [UInt8]) -> SlotPointer? {
        k.withUnsafeBytes { ks.find($0) }
    }

    @discardableResult
    private func remove(_ ks: Keyspace, _ k: [UInt8]) -> Bool {
        guard let slot = find(ks, k) else { return false }
        ks.remove(slot)
        return true
    }

    private func finishResize(_ ks: Keyspace) {
        while !ks.migrate(slots: 1 << 20) {}
    }

    /// Every key visited by `forEach`, which also checks that none is visited twice.
    private func allKeys(_ ks: Keyspace) -> Set<[UInt8]> {
        var seen = Set<[UInt8]>()
        ks.forEach { slot in XCTAssertTrue(seen.insert(slot.pointee.key).inserted, "forEach repeated a key") }
        return seen
    }

    // MARK: - Basics

    func testInsertFindRemove() {
        let ks = Keyspace()
        XCTAssertNil(find(ks, key(1)))
        let slot = insert(ks, key(1), value: "one")
        slot.pointee.expireAt = 1234
        XCTAssertEqual(ks.count, 1)
        let found = find(ks, key(1))
        XCTAssertNotNil(found)
        XCTAssertEqual(found?.pointee.value.stringBytes, Array("one".utf8))
        XCTAssertEqual(found?.pointee.expireAt, 1234)
        XCTAssertNil(find(ks, key(2)))
        let record = ks.take(found!)
        XCTAssertEqual(record.key, key(1))
        XCTAssertEqual(record.value.stringBytes, Array("one".utf8))
        record.release()
        XCTAssertEqual(ks.count, 0)
        XCTAssertNil(find(ks, key(1)))
        // A reinserted key is found again (it may reuse the tombstone).
        insert(ks, key(1), value: "again")
        XCTAssertEqual(find(ks, key(1))?.pointee.value.stringBytes, Array("again".utf8))
    }

    func testEmptyAndBinaryKeys() {
        let ks = Keyspace()
        let keys: [[UInt8]] = [[], [0], [0, 0], [0xFF, 0xFE], Array("a\r\nb".utf8)]
        for k in keys { insert(ks, k) }
        for k in keys { XCTAssertNotNil(find(ks, k), "\(k)") }
        XCTAssertNil(find(ks, [0, 0, 0]))
        XCTAssertEqual(allKeys(ks), Set(keys))
    }

    func testMetadataIsKept() {
        let ks = Keyspace()
        let k = key(7)
        let slot = ks.insert(key: k, hash: KeyHash.hash(k), value: .string([1]), expireAt: 99, meta: 0xABCDEF)
        XCTAssertEqual(slot.pointee.meta, 0xABCDEF)
        for i in 0..<5000 { insert(ks, key(i, "other:")) }  // moves the record through resizes
        finishResize(ks)
        XCTAssertEqual(find(ks, k)?.pointee.meta, 0xABCDEF)
        XCTAssertEqual(find(ks, k)?.pointee.expireAt, 99)
    }

    // MARK: - Growth and shrink

    func testGrowthKeepsEveryKeyFindableDuringResize() {
        let ks = Keyspace()
        let n = 20000
        var sawResize = false
        for i in 0..<n {
            insert(ks, key(i))
            if ks.isResizing {
                sawResize = true
                // Mid-resize, earlier keys live in either table.
                if i % 97 == 0 { for j in stride(from: 0, through: i, by: 13) { XCTAssertNotNil(find(ks, key(j))) } }
            }
        }
        XCTAssertTrue(sawResize)
        XCTAssertEqual(ks.count, n)
        for i in 0..<n { XCTAssertNotNil(find(ks, key(i)), "key \(i)") }
        XCTAssertNil(find(ks, key(n)))
        finishResize(ks)
        XCTAssertFalse(ks.isResizing)
        XCTAssertGreaterThanOrEqual(ks.slotCapacity * 3, n * 4, "load factor must stay under 75%")
        XCTAssertEqual(allKeys(ks).count, n)
    }

    func testShrinkAfterMassRemoval() {
        let ks = Keyspace()
        let n = 20000
        for i in 0..<n { insert(ks, key(i)) }
        finishResize(ks)
        let grown = ks.slotCapacity
        for i in 0..<(n - 100) {
            XCTAssertTrue(remove(ks, key(i)))
            if i % 1009 == 0 {
                for j in stride(from: i + 1, to: n, by: 211) { XCTAssertNotNil(find(ks, key(j)), "key \(j)") }
            }
        }
        finishResize(ks)
        XCTAssertEqual(ks.count, 100)
        XCTAssertLessThan(ks.slotCapacity, grown / 16)
        for i in (n - 100)..<n { XCTAssertNotNil(find(ks, key(i))) }
        for i in stride(from: 0, to: n - 100, by: 7) { XCTAssertNil(find(ks, key(i))) }
        XCTAssertEqual(allKeys(ks).count, 100)
        // Down to empty and back.
        for i in (n - 100)..<n { XCTAssertTrue(remove(ks, key(i))) }
        finishResize(ks)
        XCTAssertEqual(ks.count, 0)
        XCTAssertTrue(allKeys(ks).isEmpty)
        insert(ks, key(1))
        XCTAssertNotNil(find(ks, key(1)))
    }

    /// Insert/remove churn on a stable population leaves tombstones behind; they must be
    /// reclaimed (a table full of tombstones would make misses probe forever).
    func testTombstoneChurnStaysBounded() {
        let ks = Keyspace()
        for i in 0..<50 { insert(ks, key(i, "stable:")) }
        for round in 0..<200_000 {
            let k = key(round, "churn:")
            insert(ks, k)
            XCTAssertTrue(remove(ks, k))
            if round % 10_000 == 0 {
                XCTAssertNil(find(ks, key(round + 1, "churn:")))  // a miss terminates
                XCTAssertLessThanOrEqual(ks.slotCapacity, 1024)
            }
        }
        XCTAssertEqual(ks.count, 50)
        for i in 0..<50 { XCTAssertNotNil(find(ks, key(i, "stable:"))) }
        XCTAssertLessThanOrEqual(ks.slotCapacity, 1024)
    }

    func testRemoveDuringResizeFromBothTables() {
        let ks = Keyspace()
        var live = Set<[UInt8]>()
        var i = 0
        // Grow until a resize is in progress, then remove keys old and new.
        while !ks.isResizing || i < 100 {
            insert(ks, key(i)); live.insert(key(i)); i += 1
        }
        XCTAssertTrue(ks.isResizing)
        for j in stride(from: 0, to: i, by: 3) {
            XCTAssertTrue(remove(ks, key(j)))
            live.remove(key(j))
        }
        XCTAssertEqual(ks.count, live.count)
        XCTAssertEqual(allKeys(ks), live)
        finishResize(ks)
        XCTAssertEqual(allKeys(ks), live)
    }

    func testRemoveAll() {
        for background in [false, true] {
            let ks = Keyspace()
            for i in 0..<5000 { insert(ks, key(i)) }
            XCTAssertTrue(ks.isResizing || ks.count == 5000)
            ks.removeAll(freeInBackground: background)
            XCTAssertEqual(ks.count, 0)
            XCTAssertFalse(ks.isResizing)
            XCTAssertNil(find(ks, key(1)))
            XCTAssertTrue(allKeys(ks).isEmpty)
            var cursor: UInt64 = 0
            var scanned = 0
            repeat { cursor = ks.scan(cursor: cursor) { _ in scanned += 1 } } while cursor != 0
            XCTAssertEqual(scanned, 0)
            insert(ks, key(1))
            XCTAssertEqual(ks.count, 1)
            XCTAssertNotNil(find(ks, key(1)))
        }
    }

    func testRandomSlotAndSweep() {
        let ks = Keyspace()
        XCTAssertNil(ks.randomSlot())
        for i in 0..<300 { insert(ks, key(i)) }
        var seen = Set<[UInt8]>()
        for _ in 0..<3000 {
            let slot = ks.randomSlot()!
            XCTAssertNotNil(find(ks, slot.pointee.key))
            seen.insert(slot.pointee.key)
        }
        XCTAssertGreaterThan(seen.count, 200)
        finishResize(ks)
        var swept = Set<[UInt8]>()
        var position = 0
        repeat {
            position = ks.sweep(from: position, slots: 17) { swept.insert($0.pointee.key) }
        } while position != 0
        XCTAssertEqual(swept.count, 300)
    }

    // MARK: - SCAN

    private func fullScan(_ ks: Keyspace) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var cursor: UInt64 = 0
        repeat { cursor = ks.scan(cursor: cursor) { out.append($0.pointee.key) } } while cursor != 0
        return out
    }

    func testScanWithoutChangesReturnsEachKeyOnce() {
        for n in [0, 1, 5, 12, 13, 100, 4000] {
            let ks = Keyspace()
            for i in 0..<n { insert(ks, key(i)) }
            finishResize(ks)
            let keys = fullScan(ks)
            XCTAssertEqual(keys.count, n, "n=\(n)")
            XCTAssertEqual(Set(keys).count, n)
        }
    }

    func testScanMidResizeReturnsEveryKey() {
        let ks = Keyspace()
        var i = 0
        while !ks.isResizing || i < 1000 { insert(ks, key(i)); i += 1 }
        XCTAssertTrue(ks.isResizing)
        XCTAssertEqual(Set(fullScan(ks)).count, i)
    }

    /// Keys present for the whole scan come back at least once even when the table grows
    /// and shrinks (and resizes are caught mid-way) between SCAN calls.
    func testScanGuaranteeAcrossGrowthAndShrink() {
        var generator = FastRandom(seed: 42)
        for trial in 0..<9 {
            let ks = Keyspace()
            let stableCount = [10, 200, 2000][trial % 3]
            let stable = (0..<stableCount).map { key($0, "stable:") }
            for k in stable { insert(ks, k) }
            var churn: [[UInt8]] = []
            var nextChurn = 0
            var seen = Set<[UInt8]>()
            var cursor: UInt64 = 0
            var calls = 0
            var sawResizing = false
            var grew = false, shrank = false
            var lastCapacity = ks.slotCapacity
            repeat {
                cursor = ks.scan(cursor: cursor) { slot in seen.insert(slot.pointee.key) }
                calls += 1
                // Between some calls: grow a lot, shrink a lot, move part of a resize, or
                // make a single change. (Bursts are rare: the scan visits about one bucket
                // per call, and a debug build is slow.)
                switch generator.next() % 100 {
                case 0, 1:
                    for _ in 0..<Int(generator.next() % UInt64(max(1, 6000 - churn.count))) {
                        let k = key(nextChurn, "churn:"); nextChurn += 1
                        insert(ks, k); churn.append(k)
                    }
                case 2, 3:
                    let drop = Int(generator.next() % UInt64(churn.count + 1))
                    for _ in 0..<drop { XCTAssertTrue(removeRandom(ks, &churn, &generator)) }
                case 4..<10:
                    ks.migrate(slots: Int(generator.next() % 256))
                case 10..<15:
                    let k = key(nextChurn, "churn:"); nextChurn += 1
                    insert(ks, k); churn.append(k)
                case 15..<20:
                    if !churn.isEmpty { XCTAssertTrue(removeRandom(ks, &churn, &generator)) }
                default:
                    break
                }
                if ks.isResizing { sawResizing = true }
                grew = grew || ks.slotCapacity > lastCapacity
                shrank = shrank || ks.slotCapacity < lastCapacity
                lastCapacity = ks.slotCapacity
                XCTAssertLessThan(calls, 1_000_000)
            } while cursor != 0
            let missing = stable.filter { !seen.contains($0) }
            XCTAssertTrue(missing.isEmpty, "trial \(trial): \(missing.count) stable keys never returned")
            // A 16-slot table is scanned in a few calls, often before any burst.
            if stableCount > 10 { XCTAssertTrue(sawResizing && grew && shrank, "trial \(trial) did not exercise resizes") }
        }
    }

    private func removeRandom(_ ks: Keyspace, _ churn: inout [[UInt8]], _ generator: inout FastRandom) -> Bool {
        let index = Int(generator.next() % UInt64(churn.count))
        churn.swapAt(index, churn.count - 1)
        return remove(ks, churn.removeLast())
    }

    // MARK: - Database rules on top of the table

    func testDatabaseLazyExpiryAndExpiresCount() {
        let store = Store(config: ServerConfig())
        let db = store.databases[0]
        store.nowMillis = 1_000_000
        Array("a".utf8).withUnsafeBytes { db.set($0, .string([1]), expireAt: 1_000_500) }
        Array("b".utf8).withUnsafeBytes { db.set($0, .string([2])) }
        XCTAssertEqual(db.expiresCount, 1)
        XCTAssertEqual(db.count, 2)
        store.nowMillis = 1_000_500
        XCTAssertNil(Array("a".utf8).withUnsafeBytes { db.find($0) })  // expired: collected
        XCTAssertEqual(db.count, 1)
        XCTAssertEqual(db.expiresCount, 0)
        XCTAssertEqual(store.stats.expiredKeys, 1)
        let slot = Array("b".utf8).withUnsafeBytes { db.find($0) }!
        db.setExpiry(slot, 2_000_000)
        XCTAssertEqual(db.expiresCount, 1)
        db.setExpiry(slot, 0)
        XCTAssertEqual(db.expiresCount, 0)
        db.removeAll(async: false)
        XCTAssertEqual(db.count, 0)
    }
}

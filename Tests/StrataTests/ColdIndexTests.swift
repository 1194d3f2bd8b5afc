import XCTest
@testable import Store

final class ColdIndexTests: XCTestCase {
    func testInsertContainsRemoveAndCounts() {
        let index = ColdIndex()
        var rng = SystemRandomNumberGenerator()
        let fps = (0..<50_000).map { _ in ColdIndex.fingerprint(rng.next()) }
        for (i, fp) in fps.enumerated() {
            index.insert(fp, expireAt: i % 3 == 0 ? 100_123 : 0, meta: UInt32(i & 0xFFFF))
        }
        XCTAssertEqual(index.count, fps.count)
        XCTAssertEqual(index.expiresCount, (fps.count + 2) / 3)
        for (i, fp) in fps.enumerated() {
            XCTAssertTrue(index.contains(fp))
            XCTAssertEqual(index.meta(fp), UInt32(i & 0xFFFF))
            XCTAssertEqual(index.expireAt(fp), i % 3 == 0 ? 100_123 : 0)
        }
        for _ in 0..<1000 { XCTAssertFalse(index.contains(ColdIndex.fingerprint(rng.next()))) }
        for fp in fps[..<25_000] { XCTAssertTrue(index.remove(fp)) }
        XCTAssertEqual(index.count, 25_000)
        for fp in fps[..<25_000] { XCTAssertFalse(index.contains(fp)) }
        for fp in fps[25_000...] { XCTAssertTrue(index.contains(fp)) }
        XCTAssertFalse(index.remove(fps[0]))
        index.removeAll()
        XCTAssertEqual(index.count, 0)
        XCTAssertEqual(index.allocatedBytes, 0)
    }

    func testDuplicateFingerprintsAreCountedOnce() {
        let index = ColdIndex()
        index.insert(42, expireAt: 0)
        index.insert(42, expireAt: 7000)
        XCTAssertEqual(index.count, 2)
        XCTAssertTrue(index.remove(42))
        XCTAssertTrue(index.contains(42))
        XCTAssertTrue(index.remove(42))
        XCTAssertFalse(index.contains(42))
        XCTAssertEqual(index.expiresCount, 0)
    }

    /// The budget of the cold tier: at most 32 bytes of RAM a cold key (20-byte entries at a
    /// load of at least 2/3, 30 bytes, plus what jemalloc's size classes round the three
    /// arrays up to), at any size, while growing and while shrinking.
    func testAtMost32BytesPerKey() {
        let index = ColdIndex()
        var rng = SystemRandomNumberGenerator()
        var fps: [UInt64] = []
        for n in 1...1_000_000 {
            let fp = ColdIndex.fingerprint(rng.next())
            fps.append(fp)
            index.insert(fp, expireAt: 0)
            if n >= 100_000 && n % 50_000 == 0 {
                XCTAssertLessThanOrEqual(Double(index.allocatedBytes) / Double(index.count), 32.0, "at \(n)")
            }
        }
        while fps.count > 100_000 {
            index.remove(fps.removeLast())
            if fps.count % 50_000 == 0 {
                XCTAssertLessThanOrEqual(Double(index.allocatedBytes) / Double(index.count), 32.0, "at \(fps.count)")
            }
        }
        for fp in fps { XCTAssertTrue(index.contains(fp)) }
    }

    func testTypeAndAccessShareTheMeta() {
        let meta = ColdIndex.meta(access: 0x12_3456, typeTag: ValueType.hash.rawValue)
        XCTAssertEqual(ColdIndex.typeTag(meta: meta), ValueType.hash.rawValue)
        XCTAssertEqual(meta & AccessTracking.lruMask, 0x12_3456)
        let index = ColdIndex()
        index.insert(99, expireAt: 0, meta: meta)
        index.setAccess(99, 0x00_0042)
        XCTAssertEqual(index.meta(99), ColdIndex.meta(access: 0x42, typeTag: ValueType.hash.rawValue))
        index.setExpiry(99, expireAt: 5_000)
        XCTAssertEqual(index.expireAt(99), 5_000)
        XCTAssertEqual(index.expiresCount, 1)
    }

    func testSweepRemovesOnlyExpiredEntries() {
        let index = ColdIndex()
        for i in 1...10_000 {
            index.insert(UInt64(i) &* 0x9E37_79B9_7F4A_7C15, expireAt: i % 2 == 0 ? 1_999_999 : 2_000_001)
        }
        index.insert(7, expireAt: 0)
        var removed: [UInt64] = []
        var position = 0
        repeat {
            position = index.sweepExpired(from: position, slots: 100, nowMillis: 2_000_000) { removed.append($0) }
        } while position != 0
        XCTAssertEqual(removed.count, 5000)
        XCTAssertEqual(index.count, 5001)
        XCTAssertEqual(index.expiresCount, 5000)
        XCTAssertTrue(index.contains(7))
        XCTAssertEqual(index.expireAt(UInt64(1) &* 0x9E37_79B9_7F4A_7C15), 2_000_001)  // one ms later: kept
    }
}

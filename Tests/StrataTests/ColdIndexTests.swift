import XCTest
@testable import Store

final class ColdIndexTests: XCTestCase {
    func testInsertContainsRemoveAndCounts() {
        let index = ColdIndex()
        var rng = SystemRandomNumberGenerator()
        let fps = (0..<50_000).map { _ in ColdIndex.fingerprint(rng.next()) }
        for (i, fp) in fps.enumerated() {
            index.insert(fp, expirySeconds: i % 3 == 0 ? 100 : 0, accessMeta: UInt32(i & 0xFFFF))
        }
        XCTAssertEqual(index.count, fps.count)
        XCTAssertEqual(index.expiresCount, (fps.count + 2) / 3)
        for (i, fp) in fps.enumerated() {
            XCTAssertTrue(index.contains(fp))
            XCTAssertEqual(index.accessMeta(fp), UInt32(i & 0xFFFF))
            XCTAssertEqual(index.expiry(fp), i % 3 == 0 ? 100 : 0)
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
        index.insert(42, expirySeconds: 0)
        index.insert(42, expirySeconds: 7)
        XCTAssertEqual(index.count, 2)
        XCTAssertTrue(index.remove(42))
        XCTAssertTrue(index.contains(42))
        XCTAssertTrue(index.remove(42))
        XCTAssertFalse(index.contains(42))
        XCTAssertEqual(index.expiresCount, 0)
    }

    /// The budget of the cold tier: at most 24 bytes of RAM a cold key, at any size, while
    /// growing and while shrinking.
    func testAtMost24BytesPerKey() {
        let index = ColdIndex()
        var rng = SystemRandomNumberGenerator()
        var fps: [UInt64] = []
        for n in 1...1_000_000 {
            let fp = ColdIndex.fingerprint(rng.next())
            fps.append(fp)
            index.insert(fp, expirySeconds: 0)
            if n >= 100_000 && n % 50_000 == 0 {
                XCTAssertLessThanOrEqual(Double(index.allocatedBytes) / Double(index.count), 24.0, "at \(n)")
            }
        }
        while fps.count > 100_000 {
            index.remove(fps.removeLast())
            if fps.count % 50_000 == 0 {
                XCTAssertLessThanOrEqual(Double(index.allocatedBytes) / Double(index.count), 24.0, "at \(fps.count)")
            }
        }
        for fp in fps { XCTAssertTrue(index.contains(fp)) }
    }

    func testSweepRemovesOnlyExpiredEntries() {
        let index = ColdIndex()
        for i in 1...10_000 {
            index.insert(UInt64(i) &* 0x9E37_79B9_7F4A_7C15, expirySeconds: i % 2 == 0 ? 1000 : 5000)
        }
        index.insert(7, expirySeconds: 0)
        var removed: [UInt64] = []
        var position = 0
        repeat {
            position = index.sweepExpired(from: position, slots: 100, nowMillis: 2_000_000) { removed.append($0) }
        } while position != 0
        XCTAssertEqual(removed.count, 5000)
        XCTAssertEqual(index.count, 5001)
        XCTAssertEqual(index.expiresCount, 5000)
        XCTAssertTrue(index.contains(7))
        XCTAssertEqual(ColdIndex.expirySeconds(1001), 2)  // rounded up: never early
        XCTAssertEqual(ColdIndex.expirySeconds(0), 0)
    }
}

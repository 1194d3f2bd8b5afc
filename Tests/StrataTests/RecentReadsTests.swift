import XCTest
@testable import Store

final class RecentReadsTests: XCTestCase {
    func testSecondReadWithinTheWindowPromotesOnce() {
        var reads = RecentReads(maxmemory: 0)
        let hash: UInt64 = 0x1234_5678_9ABC_DEF0
        XCTAssertFalse(reads.secondTouch(hash: hash, nowMillis: 10_000, windowSeconds: 60))
        XCTAssertTrue(reads.secondTouch(hash: hash, nowMillis: 20_000, windowSeconds: 60))
        // The entry was cleared: the next read starts over.
        XCTAssertFalse(reads.secondTouch(hash: hash, nowMillis: 21_000, windowSeconds: 60))
    }

    func testSecondReadAfterTheWindowDoesNot() {
        var reads = RecentReads(maxmemory: 0)
        let hash: UInt64 = 42
        XCTAssertFalse(reads.secondTouch(hash: hash, nowMillis: 0, windowSeconds: 5))
        XCTAssertFalse(reads.secondTouch(hash: hash, nowMillis: 6_000, windowSeconds: 5))
        XCTAssertTrue(reads.secondTouch(hash: hash, nowMillis: 7_000, windowSeconds: 5))
    }

    func testAnotherKeyOnTheSameEntryIsNotASecondTouch() {
        var reads = RecentReads(maxmemory: 4 << 20)  // 2 048 entries
        let first: UInt64 = 0x0000_0001_0000_0007
        let second: UInt64 = 0x0000_0002_0000_0007  // same entry, different tag
        XCTAssertFalse(reads.secondTouch(hash: first, nowMillis: 1_000, windowSeconds: 60))
        XCTAssertFalse(reads.secondTouch(hash: second, nowMillis: 2_000, windowSeconds: 60))
        XCTAssertTrue(reads.secondTouch(hash: second, nowMillis: 3_000, windowSeconds: 60))
    }
}

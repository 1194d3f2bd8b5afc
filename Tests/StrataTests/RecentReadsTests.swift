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

    func testAnotherKeyInTheSameBucketIsNotASecondTouch() {
        var reads = RecentReads(maxmemory: 4 << 20)  // 2 048 entries
        let first: UInt64 = 0x0000_0001_0000_0007
        let second: UInt64 = 0x0000_0002_0000_0007  // same bucket, different tag
        XCTAssertFalse(reads.secondTouch(hash: first, nowMillis: 1_000, windowSeconds: 60))
        XCTAssertFalse(reads.secondTouch(hash: second, nowMillis: 2_000, windowSeconds: 60))
        XCTAssertTrue(reads.secondTouch(hash: second, nowMillis: 3_000, windowSeconds: 60))
        XCTAssertTrue(reads.secondTouch(hash: first, nowMillis: 4_000, windowSeconds: 60))
    }

    func testFourKeysShareABucketAndAFifthPushesOutTheOldest() {
        var reads = RecentReads(maxmemory: 4 << 20)
        let keys: [UInt64] = (1...5).map { UInt64(2 * $0 + 1) << 32 | 7 }  // bucket 7, distinct tags
        for (i, key) in keys.prefix(4).enumerated() {
            XCTAssertFalse(reads.secondTouch(hash: key, nowMillis: Int64(i) * 1_000, windowSeconds: 60))
        }
        XCTAssertFalse(reads.secondTouch(hash: keys[4], nowMillis: 5_000, windowSeconds: 60))
        // keys[0] was the oldest and is forgotten; the other four are still there.
        for key in keys[1...] {
            XCTAssertTrue(reads.secondTouch(hash: key, nowMillis: 6_000, windowSeconds: 60))
        }
        XCTAssertFalse(reads.secondTouch(hash: keys[0], nowMillis: 6_000, windowSeconds: 60))
    }
}

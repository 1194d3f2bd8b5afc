import Foundation
@testable import Store
import XCTest

/// The checkpoint's index snapshot file: what is written is read back, and a file that is
/// damaged, cut short or of another checkpoint is refused (start-up then lists RocksDB).
final class IndexSnapshotTests: XCTestCase {
    private var path = ""

    override func setUp() {
        path = NSTemporaryDirectory() + "strata-index-\(UUID().uuidString)"
    }

    override func tearDown() {
        unlink(path)
    }

    private func sampleBytes(token: UInt64) -> [UInt8] {
        var builder = IndexSnapshot.Builder(token: token, capacity: 3)
        builder.append(storageID: 0, fingerprint: 0x1122_3344_5566_7788, expireAt: 0, meta: 7)
        builder.append(storageID: 3, fingerprint: 42, expireAt: 1_900_000_000_123, meta: 0)
        return builder.finish(pending: [
            .init(storageID: 1, key: Array("being demoted".utf8), expireAt: 5_001, meta: 9),
            .init(storageID: 2, key: [], expireAt: 0, meta: 0),
        ])
    }

    func testWrittenSnapshotReadsBack() throws {
        XCTAssertTrue(IndexSnapshot.writeFile(sampleBytes(token: 77), path: path))
        let read = try XCTUnwrap(IndexSnapshot.read(path: path, token: 77))
        XCTAssertEqual(read.entries.map(\.storageID), [0, 3])
        XCTAssertEqual(read.entries.map(\.fingerprint), [0x1122_3344_5566_7788, 42])
        XCTAssertEqual(read.entries.map(\.expireAt), [0, 1_900_000_000_123])
        XCTAssertEqual(read.entries.map(\.meta), [7, 0])
        XCTAssertEqual(read.pending.map(\.key), [Array("being demoted".utf8), []])
        XCTAssertEqual(read.pending.map(\.storageID), [1, 2])
        XCTAssertEqual(read.pending.map(\.expireAt), [5_001, 0])
        XCTAssertEqual(read.pending.map(\.meta), [9, 0])
    }

    func testAnotherCheckpointsSnapshotIsRefused() {
        XCTAssertTrue(IndexSnapshot.writeFile(sampleBytes(token: 77), path: path))
        XCTAssertNil(IndexSnapshot.read(path: path, token: 78))
    }

    func testDamagedOrShortSnapshotIsRefused() {
        let bytes = sampleBytes(token: 5)
        for cut in [0, 10, bytes.count / 2, bytes.count - 1] {
            XCTAssertTrue(IndexSnapshot.writeFile(Array(bytes[..<cut]), path: path))
            XCTAssertNil(IndexSnapshot.read(path: path, token: 5), "cut at \(cut)")
        }
        for position in [3, 20, 40, bytes.count - 10] {
            var damaged = bytes
            damaged[position] ^= 0x40
            XCTAssertTrue(IndexSnapshot.writeFile(damaged, path: path))
            XCTAssertNil(IndexSnapshot.read(path: path, token: 5), "byte \(position) flipped")
        }
        XCTAssertNil(IndexSnapshot.read(path: path + ".missing", token: 5))
    }

    func testEmptySnapshot() throws {
        var builder = IndexSnapshot.Builder(token: 1, capacity: 0)
        XCTAssertTrue(IndexSnapshot.writeFile(builder.finish(pending: []), path: path))
        let read = try XCTUnwrap(IndexSnapshot.read(path: path, token: 1))
        XCTAssertTrue(read.entries.isEmpty && read.pending.isEmpty)
    }
}

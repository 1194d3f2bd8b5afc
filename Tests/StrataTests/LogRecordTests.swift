import CShims
import Config
@testable import Store
import XCTest

/// The append-only log's format: golden bytes of records and frames, the checksum, and how
/// a reader tells a cut-short tail from damage.
final class LogRecordTests: XCTestCase {
    func testCRC32CKnownValues() {
        // The check value of CRC-32C (RFC 3720, appendix B.4) and the empty input.
        let digits = Array("123456789".utf8)
        XCTAssertEqual(strata_crc32c(0, digits, digits.count), 0xE306_9283)
        XCTAssertEqual(strata_crc32c(0, [], 0), 0)
        // Incremental use gives the same result as one call.
        let first = strata_crc32c(0, digits, 4)
        XCTAssertEqual(digits[4...].withUnsafeBytes { strata_crc32c(first, $0.baseAddress, 5) }, 0xE306_9283)
        // 32 zero bytes (RFC 3720 B.4).
        XCTAssertEqual(strata_crc32c(0, [UInt8](repeating: 0, count: 32), 32), 0x8A91_36AA)
    }

    func testSetRecordGoldenBytes() {
        var out: [UInt8] = []
        Array("k".utf8).withUnsafeBytes {
            LogRecord.appendSet(db: 3, key: $0, value: .string(Array("v".utf8)), expireAt: 0, rawEncoding: false,
                                to: &out)
        }
        XCTAssertEqual(out, [1, 3, 1, 0, 0, 0, 0x6B, 4, 0, 0, 0, 1, 0, 0, 0x76])
    }

    func testSetRecordWithExpiryAndRawFlag() throws {
        var out: [UInt8] = []
        Array("key".utf8).withUnsafeBytes {
            LogRecord.appendSet(db: 0, key: $0, value: .string(Array("value".utf8)), expireAt: 0x0102_0304_0506,
                                rawEncoding: true, to: &out)
        }
        let operations = try XCTUnwrap(out.withUnsafeBytes { LogRecord.operations($0) })
        XCTAssertEqual(operations.count, 1)
        guard case .set(let db, let key, let value) = operations[0] else { return XCTFail("not a SET") }
        XCTAssertEqual(db, 0)
        XCTAssertEqual(Array(out[key]), Array("key".utf8))
        let decoded = try Array(out[value]).withUnsafeBytes { try ValueCodec.decodeRecord($0) }
        XCTAssertEqual(decoded.value.stringBytes, Array("value".utf8))
        XCTAssertEqual(decoded.expireAt, 0x0102_0304_0506)
        XCTAssertTrue(decoded.rawEncoding)
    }

    /// A CHANGE record (LogChange.swift), built as `Store.noteChange` writes it.
    static func changeRecord(db: UInt8, key: String, sequence: UInt64, op: ChangeOp, _ arguments: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [LogRecord.change, db]
        LogRecord.appendLength(key.utf8.count, to: &out)
        out += Array(key.utf8)
        withUnsafeBytes(of: sequence.littleEndian) { out += $0 }
        out.append(op.rawValue)
        var writer = ChangeWriter(bytes: out)
        LogRecord.appendLength(arguments.count, to: &writer.bytes)
        for argument in arguments { writer.argument(argument) }
        return writer.bytes
    }

    func testChangeRecordGoldenBytesAndDecoding() throws {
        let record = LogRecordTests.changeRecord(db: 2, key: "h", sequence: 5, op: .hashSet,
                                                 [Array("f".utf8), Array("v".utf8)])
        XCTAssertEqual(record, [7, 2, 1, 0, 0, 0, 0x68, 5, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0,
                                1, 0, 0, 0, 0x66, 1, 0, 0, 0, 0x76])
        let operations = try XCTUnwrap(record.withUnsafeBytes { LogRecord.operations($0) })
        guard case .change(2, let key, 5, .hashSet, let arguments) = operations.first else {
            return XCTFail("\(operations)")
        }
        XCTAssertEqual(Array(record[key]), Array("h".utf8))
        XCTAssertEqual(arguments.map { Array(record[$0]) }, [Array("f".utf8), Array("v".utf8)])
        // Cut anywhere, or with an unknown op, it is refused.
        for end in 1..<record.count {
            XCTAssertNil(Array(record[..<end]).withUnsafeBytes { LogRecord.operations($0) }, "cut at \(end)")
        }
        var unknownOp = record
        unknownOp[15] = 0xEE
        XCTAssertNil(unknownOp.withUnsafeBytes { LogRecord.operations($0) })
    }

    func testChangesReplayOntoEachType() {
        let limits = CollectionLimits(ServerConfig())
        func with(_ items: [String], _ body: ([UnsafeRawBufferPointer]) -> Bool) -> Bool {
            items.map { Array($0.utf8) }.withUnsafeBufferPointers(body)
        }
        func number(_ n: Int) -> [UInt8] { withUnsafeBytes(of: Int64(n).littleEndian) { Array($0) } }

        var hash = HashValue.empty
        XCTAssertTrue(with(["a", "1", "b", "2"]) { ChangeReplay.apply(.hashSet, $0, to: &hash, limits: limits) })
        XCTAssertTrue(with(["a", "zz"]) { ChangeReplay.apply(.hashDelete, $0, to: &hash, limits: limits) })
        XCTAssertEqual(hash.pairs.map { String(decoding: $0.field, as: UTF8.self) }, ["b"])
        XCTAssertFalse(with(["odd"]) { ChangeReplay.apply(.hashSet, $0, to: &hash, limits: limits) })
        XCTAssertFalse(with(["m"]) { ChangeReplay.apply(.setAdd, $0, to: &hash, limits: limits) })

        var set = SetValue.empty
        XCTAssertTrue(with(["1", "2", "x"]) { ChangeReplay.apply(.setAdd, $0, to: &set, limits: limits) })
        XCTAssertTrue(with(["2"]) { ChangeReplay.apply(.setRemove, $0, to: &set, limits: limits) })
        XCTAssertEqual(Set(set.members.map { String(decoding: $0, as: UTF8.self) }), ["1", "x"])

        let list = QuickList()
        let limit = limits.listNode
        XCTAssertTrue(with(["a", "b", "a", "c"]) { ChangeReplay.apply(.listPushBack, $0, to: list, limit: limit) })
        XCTAssertTrue(with(["x", "y"]) { ChangeReplay.apply(.listPushFront, $0, to: list, limit: limit) })  // y x a b a c
        let removeOne = [number(1), Array("a".utf8)]
        XCTAssertTrue(removeOne.withUnsafeBufferPointers { ChangeReplay.apply(.listRemoveMatching, $0, to: list, limit: limit) })
        let insert = [number(1), Array("i".utf8)], set0 = [number(0), Array("z".utf8)]
        XCTAssertTrue(insert.withUnsafeBufferPointers { ChangeReplay.apply(.listInsert, $0, to: list, limit: limit) })
        XCTAssertTrue(set0.withUnsafeBufferPointers { ChangeReplay.apply(.listSet, $0, to: list, limit: limit) })
        XCTAssertTrue([number(1)].withUnsafeBufferPointers { ChangeReplay.apply(.listRemoveBack, $0, to: list, limit: limit) })
        XCTAssertEqual(list.elements.map { String(decoding: $0, as: UTF8.self) }, ["z", "i", "x", "b", "a"])
        // A change that does not fit the list is refused, not clamped.
        XCTAssertFalse([number(6)].withUnsafeBufferPointers { ChangeReplay.apply(.listRemoveFront, $0, to: list, limit: limit) })
        XCTAssertFalse([number(5), Array("q".utf8)].withUnsafeBufferPointers {
            ChangeReplay.apply(.listSet, $0, to: list, limit: limit)
        })
    }

    func testDeleteFlushSwapRecords() throws {
        var out: [UInt8] = []
        Array("gone".utf8).withUnsafeBytes { LogRecord.appendDelete(db: 7, key: $0, to: &out) }
        out += [LogRecord.flushDatabase, 2, LogRecord.swapDatabases, 0, 1]
        XCTAssertEqual(Array(out[0..<6]), [2, 7, 4, 0, 0, 0])
        let operations = try XCTUnwrap(out.withUnsafeBytes { LogRecord.operations($0) })
        XCTAssertEqual(operations.count, 3)
        guard case .delete(7, let key) = operations[0], case .flushDatabase(2) = operations[1],
              case .swapDatabases(0, 1) = operations[2] else { return XCTFail("\(operations)") }
        XCTAssertEqual(Array(out[key]), Array("gone".utf8))
    }

    func testExpireAndMoveRecords() throws {
        var out: [UInt8] = []
        Array("k".utf8).withUnsafeBytes { LogRecord.appendExpire(db: 1, key: $0, expireAt: 0x0102, to: &out) }
        XCTAssertEqual(out, [5, 1, 1, 0, 0, 0, UInt8(ascii: "k"), 0x02, 0x01, 0, 0, 0, 0, 0, 0])
        let moveStart = out.count
        Array("ab".utf8).withUnsafeBytes { source in
            Array("c".utf8).withUnsafeBytes { target in
                LogRecord.appendMove(sourceDB: 0, source: source, targetDB: 3, target: target, keepSource: true,
                                     sequence: 9, to: &out)
            }
        }
        XCTAssertEqual(Array(out[moveStart...]), [6, 0, 2, 0, 0, 0, UInt8(ascii: "a"), UInt8(ascii: "b"),
                                                  3, 1, 0, 0, 0, UInt8(ascii: "c"), 1, 9, 0, 0, 0, 0, 0, 0, 0])
        let operations = try XCTUnwrap(out.withUnsafeBytes { LogRecord.operations($0) })
        guard operations.count == 2, case .expire(1, let key, 0x0102) = operations[0],
              case .move(0, let source, 3, let target, true, 9) = operations[1] else { return XCTFail("\(operations)") }
        XCTAssertEqual(Array(out[key]), Array("k".utf8))
        XCTAssertEqual(Array(out[source]), Array("ab".utf8))
        XCTAssertEqual(Array(out[target]), Array("c".utf8))
        // Cut short, and a keep-source byte that is neither 0 nor 1.
        XCTAssertNil(Array(out[..<(out.count - 1)]).withUnsafeBytes { LogRecord.operations($0) })
        var bad = Array(out[moveStart...])
        bad[14] = 2
        XCTAssertNil(bad.withUnsafeBytes { LogRecord.operations($0) })
    }

    func testMalformedRecordsAreRejected() {
        // Unknown kind, a length past the end, a record cut in its header.
        for bad: [UInt8] in [[9], [1, 0, 200, 0, 0, 0, 1], [2, 0, 1], [4, 1]] {
            XCTAssertNil(bad.withUnsafeBytes { LogRecord.operations($0) }, "\(bad)")
        }
    }

    private func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { out += $0 }
        withUnsafeBytes(of: strata_crc32c(0, payload, payload.count).littleEndian) { out += $0 }
        return out + payload
    }

    func testFrameScan() {
        let payload: [UInt8] = [LogRecord.flushDatabase, 0]
        let file = frame(payload) + frame(payload)
        file.withUnsafeBytes { raw in
            guard case .frame(let range, let next) = LogRecord.scanFrame(raw, at: 0) else { return XCTFail() }
            XCTAssertEqual(range, 8..<10)
            XCTAssertEqual(next, 10)
            guard case .frame(_, 20) = LogRecord.scanFrame(raw, at: 10) else { return XCTFail() }
        }
        // Cut anywhere inside the second frame: truncated.
        for cut in 11..<20 {
            Array(file[..<cut]).withUnsafeBytes { raw in
                guard case .truncated = LogRecord.scanFrame(raw, at: 10) else { return XCTFail("cut at \(cut)") }
            }
        }
        // A flipped payload byte: checksum mismatch, reported with the frame's end.
        var damaged = file
        damaged[9] ^= 0xFF
        damaged.withUnsafeBytes { raw in
            guard case .badChecksum(let end) = LogRecord.scanFrame(raw, at: 0) else { return XCTFail() }
            XCTAssertEqual(end, 10)
        }
    }

    func testCheckpointMarkRoundTrip() {
        let mark = CheckpointMark(segment: 42, token: 0x0807_0605_0403_0201, mapping: [1, 0, 2, 15])
        let bytes = mark.encoded()
        XCTAssertEqual(bytes, [1, 42, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 4, 0, 1, 0, 2, 15])
        XCTAssertEqual(CheckpointMark(bytes), mark)
        XCTAssertNil(CheckpointMark(Array(bytes.dropLast())))
        XCTAssertNil(CheckpointMark([2] + bytes.dropFirst()))
    }
}

extension Array where Element == [UInt8] {
    /// Calls `body` with every array as raw bytes.
    func withUnsafeBufferPointers<R>(_ body: ([UnsafeRawBufferPointer]) -> R) -> R {
        let copies = map { bytes -> UnsafeMutableRawBufferPointer in
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 1)
            p.copyBytes(from: bytes)
            return p
        }
        defer { copies.forEach { $0.deallocate() } }
        return body(zip(copies, self).map { UnsafeRawBufferPointer(rebasing: $0.0[..<$0.1.count]) })
    }
}

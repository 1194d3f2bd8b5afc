@testable import Store
import XCTest

/// The on-disk value format (golden bytes, so an accidental change of the format fails here)
/// and the RocksDB key layout.
final class ValueCodecTests: XCTestCase {
    private func randomBytes(_ count: Int, _ rng: inout FastRandom) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    private func compressible(_ count: Int) -> [UInt8] {
        let text = Array("the quick brown fox jumps over the lazy dog; ".utf8)
        return (0..<count).map { text[$0 % text.count] }
    }

    private func string(_ decoded: (value: Value, expireAt: Int64)) -> [UInt8]? {
        decoded.value.stringBytes
    }

    // MARK: - Golden bytes

    func testEmptyStringNoExpiry() throws {
        let bytes = ValueCodec.encode(.string([]), expireAt: 0, compressionThreshold: 1024)
        XCTAssertEqual(bytes, [1, 0, 0])
        let decoded = try ValueCodec.decode(bytes)
        XCTAssertEqual(string(decoded), [])
        XCTAssertEqual(decoded.expireAt, 0)
    }

    func testHelloNoExpiry() throws {
        let bytes = ValueCodec.encode(.string(Array("hello".utf8)), expireAt: 0, compressionThreshold: 1024)
        XCTAssertEqual(bytes, [1, 0, 0, 0x68, 0x65, 0x6C, 0x6C, 0x6F])
        let decoded = try ValueCodec.decode(bytes)
        XCTAssertEqual(string(decoded), Array("hello".utf8))
        XCTAssertEqual(decoded.expireAt, 0)
    }

    func testRawEncodingFlag() throws {
        let bytes = ValueCodec.encode(.string(Array("hi".utf8)), expireAt: 0, compressionThreshold: 0, rawEncoding: true)
        XCTAssertEqual(bytes, [1, 0, 4, 0x68, 0x69])
        let record = try bytes.withUnsafeBytes { try ValueCodec.decodeRecord($0) }
        XCTAssertTrue(record.rawEncoding)
        let plain = ValueCodec.encode(.string(Array("hi".utf8)), expireAt: 0, compressionThreshold: 0)
        XCTAssertFalse(try plain.withUnsafeBytes { try ValueCodec.decodeRecord($0) }.rawEncoding)
    }

    func testHelloWithExpiry() throws {
        let bytes = ValueCodec.encode(.string(Array("hello".utf8)), expireAt: 1_700_000_000_123, compressionThreshold: 1024)
        // 1_700_000_000_123 = 0x0000_018B_CFE5_687B, little-endian.
        XCTAssertEqual(bytes, [1, 0, 1, 0x7B, 0x68, 0xE5, 0xCF, 0x8B, 0x01, 0x00, 0x00,
                               0x68, 0x65, 0x6C, 0x6C, 0x6F])
        let decoded = try ValueCodec.decode(bytes)
        XCTAssertEqual(string(decoded), Array("hello".utf8))
        XCTAssertEqual(decoded.expireAt, 1_700_000_000_123)
        let header = try XCTUnwrap(bytes.withUnsafeBytes { ValueCodec.header($0) })
        XCTAssertEqual(header.typeTag, 0)
        XCTAssertEqual(header.expireAt, 1_700_000_000_123)
    }

    func testReplacingExpiryKeepsThePayload() throws {
        let plain = ValueCodec.encode(.string(Array("hello".utf8)), expireAt: 0, compressionThreshold: 1024,
                                      rawEncoding: true)
        let timed = try XCTUnwrap(plain.withUnsafeBytes { ValueCodec.replacingExpiry($0, expireAt: 1_700_000_000_123) })
        XCTAssertEqual(timed, [1, 0, 5, 0x7B, 0x68, 0xE5, 0xCF, 0x8B, 0x01, 0x00, 0x00,
                               0x68, 0x65, 0x6C, 0x6C, 0x6F])
        let back = try XCTUnwrap(timed.withUnsafeBytes { ValueCodec.replacingExpiry($0, expireAt: 0) })
        XCTAssertEqual(back, plain)
        // A compressed payload is copied as it is.
        let big = ValueCodec.encode(.string(compressible(4000)), expireAt: 5, compressionThreshold: 64)
        let moved = try XCTUnwrap(big.withUnsafeBytes { ValueCodec.replacingExpiry($0, expireAt: 77) })
        let decoded = try ValueCodec.decode(moved)
        XCTAssertEqual(string(decoded), compressible(4000))
        XCTAssertEqual(decoded.expireAt, 77)
        XCTAssertNil([UInt8]([9, 0, 0]).withUnsafeBytes { ValueCodec.replacingExpiry($0, expireAt: 1) })
    }

    func testCompressibleValueIsCompressed() throws {
        let payload = compressible(10 * 1024)
        let bytes = ValueCodec.encode(.string(payload), expireAt: 0, compressionThreshold: 1024)
        // version, tag, flags = compressed, then 10240 as UInt32 little-endian.
        XCTAssertEqual(Array(bytes.prefix(7)), [1, 0, 2, 0x00, 0x28, 0x00, 0x00])
        XCTAssertLessThan(bytes.count, payload.count / 4)
        let decoded = try ValueCodec.decode(bytes)
        XCTAssertEqual(string(decoded), payload)
        XCTAssertEqual(decoded.expireAt, 0)
    }

    func testCompressedWithExpiryPutsExpiryFirst() throws {
        let payload = compressible(4096)
        let bytes = ValueCodec.encode(.string(payload), expireAt: 1_700_000_000_123, compressionThreshold: 1024)
        XCTAssertEqual(Array(bytes.prefix(15)), [1, 0, 3, 0x7B, 0x68, 0xE5, 0xCF, 0x8B, 0x01, 0x00, 0x00,
                                                 0x00, 0x10, 0x00, 0x00])
        let decoded = try ValueCodec.decode(bytes)
        XCTAssertEqual(string(decoded), payload)
        XCTAssertEqual(decoded.expireAt, 1_700_000_000_123)
    }

    func testIncompressibleValueStaysRaw() throws {
        var rng = FastRandom(seed: 42)
        let payload = randomBytes(2048, &rng)
        let bytes = ValueCodec.encode(.string(payload), expireAt: 0, compressionThreshold: 1024)
        XCTAssertEqual(Array(bytes.prefix(3)), [1, 0, 0])
        XCTAssertEqual(Array(bytes.dropFirst(3)), payload)
        XCTAssertEqual(string(try ValueCodec.decode(bytes)), payload)
    }

    func testThresholdRules() throws {
        let payload = compressible(2000)
        // Threshold 0 disables compression; a threshold above the length does too.
        XCTAssertEqual(ValueCodec.encode(.string(payload), expireAt: 0, compressionThreshold: 0)[2], 0)
        XCTAssertEqual(ValueCodec.encode(.string(payload), expireAt: 0, compressionThreshold: 2001)[2], 0)
        // Exactly at the threshold compresses.
        XCTAssertEqual(ValueCodec.encode(.string(payload), expireAt: 0, compressionThreshold: 2000)[2], 2)
        // A tiny payload never compresses smaller, whatever the threshold.
        XCTAssertEqual(ValueCodec.encode(.string(Array("ab".utf8)), expireAt: 0, compressionThreshold: 1), [1, 0, 0, 0x61, 0x62])
    }

    func testNegativeExpiryRoundTrips() throws {
        let bytes = ValueCodec.encode(.string([9]), expireAt: -2, compressionThreshold: 0)
        XCTAssertEqual(bytes[2], 1)
        XCTAssertEqual(try ValueCodec.decode(bytes).expireAt, -2)
    }

    func testTypeTagsAndNames() {
        XCTAssertEqual(ValueCodec.typeTag(of: .string([])), 0)
        let names = (0...5).map { ValueCodec.typeName(tag: UInt8($0)) }
        XCTAssertEqual(names, ["string", "list", "set", "zset", "hash", "stream"])
        XCTAssertNil(ValueCodec.typeName(tag: 6))
        XCTAssertNil(ValueCodec.typeName(tag: 255))
    }

    // MARK: - Collections (tags 1 list, 2 set, 4 hash): a PackedForm byte, then the form

    func testListGoldenBytes() throws {
        let list = Value.collection(.list, [PackedForm.listpack.rawValue] + Listpack.make([[0x61], [], [0x62, 0x63]]))
        let bytes = ValueCodec.encode(list, expireAt: 0, compressionThreshold: 0)
        // version, tag 1, flags; form 0; count 3; "a" (len 1, back 1); "" (0, 0); "bc" (2, 2)
        XCTAssertEqual(bytes, [1, 1, 0, 0, 3, 0, 0, 0, 1, 0x61, 1, 0, 0, 2, 0x62, 0x63, 2])
        let decoded = try ValueCodec.decode(bytes)
        guard case .collection(.list, let payload) = decoded.value else { return XCTFail("\(decoded.value)") }
        XCTAssertEqual(payload, [0] + Listpack.make([[0x61], [], [0x62, 0x63]]))
    }

    func testIntsetGoldenBytesWithExpiry() throws {
        let set = Value.collection(.set, [PackedForm.intset.rawValue] + IntSet.make([3, -1]))
        let bytes = ValueCodec.encode(set, expireAt: 0x0102, compressionThreshold: 0)
        // version, tag 2, flags (expiry); expiry LE; form 1; width 2, count 2; -1, 3 (LE int16)
        XCTAssertEqual(bytes, [1, 2, 1, 2, 1, 0, 0, 0, 0, 0, 0, 1, 2, 2, 0, 0, 0, 0xFF, 0xFF, 3, 0])
        let decoded = try ValueCodec.decode(bytes)
        XCTAssertEqual(decoded.expireAt, 0x0102)
        guard case .collection(.set, let payload) = decoded.value else { return XCTFail("\(decoded.value)") }
        payload.withUnsafeBytes { XCTAssertEqual(IntSet.members(UnsafeRawBufferPointer(rebasing: $0[1...])), [-1, 3]) }
    }

    func testHashGoldenBytesAndCompressedRoundTrip() throws {
        let small = Value.collection(.hash, [0] + Listpack.make([[0x66], [0x76]]))
        XCTAssertEqual(ValueCodec.encode(small, expireAt: 0, compressionThreshold: 0),
                       [1, 4, 0, 0, 2, 0, 0, 0, 1, 0x66, 1, 1, 0x76, 1])
        // A large compressible hash goes through zstd and comes back the same.
        let fields = (0..<500).flatMap { i in [Array("field:\(i)".utf8), Array(repeating: UInt8(i % 7), count: 40)] }
        let big = [PackedForm.listpack.rawValue] + Listpack.make(fields)
        let bytes = ValueCodec.encode(.collection(.hash, big), expireAt: 0, compressionThreshold: 64)
        XCTAssertEqual(bytes[2] & ValueCodec.flagCompressed, ValueCodec.flagCompressed)
        XCTAssertLessThan(bytes.count, big.count / 2)
        guard case .collection(.hash, let payload) = try ValueCodec.decode(bytes).value else { return XCTFail() }
        XCTAssertEqual(payload, big)
    }

    func testCorruptCollectionPayloadsAreRejected() {
        let good = Listpack.make([[1], [2]])
        assertThrows([1, 1, 0], .badPayload(1))                            // no form byte
        assertThrows([1, 1, 0, 9] + good, .badPayload(1))                  // unknown form
        assertThrows([1, 4, 0, 0] + Listpack.make([[1]]), .badPayload(4))  // a hash with an odd count
        assertThrows([1, 1, 0, 0] + good.dropLast(), .badPayload(1))       // a cut listpack
        assertThrows([1, 4, 0, 1] + IntSet.make([1, 2]), .badPayload(4))   // an intset is for sets only
        assertThrows([1, 2, 0, 1, 2, 2, 0, 0, 0, 5, 0, 4, 0], .badPayload(2))  // intset out of order
        // The raw-encoding flag is for strings: a collection never carries it.
        let list = ValueCodec.encode(.collection(.list, [0] + good), expireAt: 0, compressionThreshold: 0,
                                     rawEncoding: true)
        XCTAssertEqual(list[2], 0)
    }

    // MARK: - Robustness

    private func assertThrows(_ bytes: [UInt8], _ expected: ValueCodecError? = nil,
                              file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try ValueCodec.decode(bytes)
            XCTFail("decoded \(bytes.prefix(16))", file: file, line: line)
        } catch let error as ValueCodecError {
            if let expected { XCTAssertEqual(error, expected, file: file, line: line) }
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    /// A collection written to RocksDB carries the log's change sequence (flag 0x08, after
    /// the expiry); a string never does; changing the expiry keeps it.
    func testChangeSequenceGoldenBytes() throws {
        let listpack = Listpack.make([Array("a".utf8)])
        let payload = [PackedForm.listpack.rawValue] + listpack
        let encoded = payload.withUnsafeBytes {
            ValueCodec.encode(type: .list, payload: $0, expireAt: 0x0102, compressionThreshold: 0,
                              sequence: 0x0A0B_0C0D)
        }
        XCTAssertEqual(Array(encoded[0..<19]), [1, 1, 0x09, 0x02, 0x01, 0, 0, 0, 0, 0, 0,
                                               0x0D, 0x0C, 0x0B, 0x0A, 0, 0, 0, 0])
        XCTAssertEqual(Array(encoded[19...]), payload)
        let decoded = try encoded.withUnsafeBytes { try ValueCodec.decodeRecord($0) }
        XCTAssertEqual(decoded.sequence, 0x0A0B_0C0D)
        XCTAssertEqual(decoded.expireAt, 0x0102)
        XCTAssertEqual(ValueCodec.header(encoded)?.expireAt, 0x0102)

        let untimed = try XCTUnwrap(encoded.withUnsafeBytes { ValueCodec.replacingExpiry($0, expireAt: 0) })
        XCTAssertEqual(Array(untimed[0..<11]), [1, 1, 0x08, 0x0D, 0x0C, 0x0B, 0x0A, 0, 0, 0, 0])
        XCTAssertEqual(try untimed.withUnsafeBytes { try ValueCodec.decodeRecord($0) }.sequence, 0x0A0B_0C0D)

        let string = Array("v".utf8).withUnsafeBytes {
            ValueCodec.encode(type: .string, payload: $0, expireAt: 0, compressionThreshold: 0, sequence: 9)
        }
        XCTAssertEqual(string, [1, 0, 0, 0x76])
        // Compressed: the sequence sits before the zstd length.
        let big = [PackedForm.listpack.rawValue] + Listpack.make((0..<2000).map { _ in Array("abcdef".utf8) })
        let packed = big.withUnsafeBytes {
            ValueCodec.encode(type: .list, payload: $0, expireAt: 0, compressionThreshold: 64, sequence: 77)
        }
        XCTAssertEqual(packed[2], ValueCodec.flagSequence | ValueCodec.flagCompressed)
        let back = try packed.withUnsafeBytes { try ValueCodec.decodeRecord($0) }
        XCTAssertEqual(back.sequence, 77)
        guard case .collection(.list, let bytes) = back.value else { return XCTFail("not a list") }
        XCTAssertEqual(bytes, big)
    }

    func testBadHeaders() {
        assertThrows([], .truncated)
        assertThrows([1], .truncated)
        assertThrows([1, 0], .truncated)
        assertThrows([0, 0, 0], .unknownVersion(0))
        assertThrows([2, 0, 0, 65], .unknownVersion(2))
        assertThrows([1, 6, 0], .unknownTypeTag(6))
        assertThrows([1, 0xFF, 0], .unknownTypeTag(0xFF))
        assertThrows([1, 1, 0, 1, 2], .badPayload(1))      // a list whose form is intset
        assertThrows([1, 3, 0, 0, 0, 0, 0, 0], .unsupportedType(3))  // sorted sets: not yet
        assertThrows([1, 0, 0x10], .badFlags(0x10))
        assertThrows([1, 1, 8, 0, 0, 0], .truncated)  // a sequence needs 8 bytes
        assertThrows([1, 0, 0x80, 1], .badFlags(0x80))
        assertThrows([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], .truncated)
        assertThrows([1, 0, 2, 0, 0, 0], .truncated)
        for count in 0..<3 {
            XCTAssertNil(ValueCodec.header([1, 0, 0].prefix(count).map { $0 }))
        }
        XCTAssertNil(ValueCodec.header([1, 0, 1, 0, 0]))
        XCTAssertNil(ValueCodec.header([1, 9, 0]))
        XCTAssertNil(ValueCodec.header([1, 0, 8]))
        XCTAssertNil(ValueCodec.header([1, 0, 0x10]))
        XCTAssertNil(ValueCodec.header([3, 0, 0]))
        XCTAssertEqual(ValueCodec.header([1, 4, 0])?.typeTag, 4)
    }

    func testDeclaredLengthIsCheckedAndCapped() throws {
        let payload = compressible(4096)
        let good = ValueCodec.encode(.string(payload), expireAt: 0, compressionThreshold: 1)
        XCTAssertEqual(good[2], 2)
        func withLength(_ n: UInt32) -> [UInt8] {
            var bytes = good
            withUnsafeBytes(of: n.littleEndian) { bytes.replaceSubrange(3..<7, with: $0) }
            return bytes
        }
        assertThrows(withLength(4095), .lengthMismatch(declared: 4095, actual: 4096))
        assertThrows(withLength(4097), .lengthMismatch(declared: 4097, actual: 4096))
        assertThrows(withLength(0))
        let tooLarge = UInt32(ValueCodec.maxUncompressedLength + 1)
        assertThrows(withLength(tooLarge), .lengthTooLarge(tooLarge))
        assertThrows(withLength(.max), .lengthTooLarge(.max))
        // A compressed flag over bytes that are no zstd frame.
        assertThrows([1, 0, 2, 5, 0, 0, 0, 1, 2, 3, 4, 5])
        assertThrows([1, 0, 2, 0, 0, 0, 0])
    }

    /// Cutting a compressed encoding anywhere fails; cutting a raw one fails inside the header
    /// and otherwise yields the shorter payload (a raw payload carries no length of its own).
    func testEveryTruncation() throws {
        var rng = FastRandom(seed: 7)
        let encodings: [[UInt8]] = [
            ValueCodec.encode(.string(compressible(3000)), expireAt: 0, compressionThreshold: 64),
            ValueCodec.encode(.string(compressible(3000)), expireAt: 1_700_000_000_123, compressionThreshold: 64),
            ValueCodec.encode(.string(randomBytes(300, &rng)), expireAt: 0, compressionThreshold: 64),
            ValueCodec.encode(.string(randomBytes(300, &rng)), expireAt: 123_456, compressionThreshold: 64),
            ValueCodec.encode(.string([]), expireAt: 99, compressionThreshold: 64),
        ]
        for encoding in encodings {
            XCTAssertNoThrow(try ValueCodec.decode(encoding))
            let compressed = encoding[2] & 2 != 0
            let headerLength = 3 + (encoding[2] & 1 != 0 ? 8 : 0)
            for cut in 0..<encoding.count {
                let prefix = Array(encoding.prefix(cut))
                if compressed || cut < headerLength {
                    assertThrows(prefix)
                } else {
                    XCTAssertEqual(string(try ValueCodec.decode(prefix)), Array(encoding[headerLength..<cut]))
                }
                _ = prefix.withUnsafeBytes { ValueCodec.header($0) }
            }
        }
    }

    func testRandomGarbageNeverCrashes() {
        var rng = FastRandom(seed: 2024)
        var decoded = 0
        for i in 0..<10_000 {
            var bytes = randomBytes(Int.random(in: 0...64, using: &rng), &rng)
            // Steer a share of the buffers past the header checks, into the zstd path.
            if i % 2 == 0, bytes.count >= 3 {
                bytes[0] = 1
                bytes[1] = 0
                bytes[2] &= 3
            }
            if i % 4 == 0, bytes.count >= 7 + 8 {
                // A zstd magic number after the length field, then garbage.
                bytes.replaceSubrange(bytes.count - 8..<bytes.count - 4, with: [0x28, 0xB5, 0x2F, 0xFD])
            }
            if (try? ValueCodec.decode(bytes)) != nil { decoded += 1 }
            _ = bytes.withUnsafeBytes { ValueCodec.header($0) }
        }
        // Half the buffers were steered to a valid raw header: many decode.
        XCTAssertGreaterThan(decoded, 1000)
    }

    // MARK: - ColdKeyFormat

    /// Bit reversal written the slow, obvious way, to check the fast one.
    private func slowReverse(_ x: UInt32) -> UInt32 {
        var r: UInt32 = 0
        for bit in 0..<32 where x & (1 << bit) != 0 { r |= 1 << (31 - bit) }
        return r
    }

    func testReverse32() {
        XCTAssertEqual(ColdKeyFormat.reverse32(1), 0x8000_0000)
        XCTAssertEqual(ColdKeyFormat.reverse32(0x1234_5678), 0x1E6A_2C48)
        var rng = FastRandom(seed: 5)
        for _ in 0..<1000 {
            let x = UInt32.random(in: 0...UInt32.max, using: &rng)
            XCTAssertEqual(ColdKeyFormat.reverse32(x), slowReverse(x))
        }
    }

    func testColdKeyGoldenLayout() throws {
        let key = Array("user:1000".utf8)
        let hash32 = Keyspace.hash32(KeyHash.hash(key))
        let reversed = slowReverse(hash32)
        let expected: [UInt8] = [7, UInt8(reversed >> 24), UInt8((reversed >> 16) & 0xFF),
                                 UInt8((reversed >> 8) & 0xFF), UInt8(reversed & 0xFF)] + key
        let encoded = key.withUnsafeBytes { ColdKeyFormat.encode(storageID: 7, key: $0) }
        XCTAssertEqual(encoded, expected)
        XCTAssertEqual(key.withUnsafeBytes { ColdKeyFormat.encode(storageID: 7, hash32: hash32, key: $0) }, expected)

        let decoded = try XCTUnwrap(encoded.withUnsafeBytes { ColdKeyFormat.decode($0) })
        XCTAssertEqual(decoded.storageID, 7)
        XCTAssertEqual(decoded.reversedHash, reversed)
        XCTAssertEqual(decoded.key, key)

        // The seek key of the key's own position is its 5-byte header.
        let position = ColdKeyFormat.position(hash32: hash32)
        XCTAssertEqual(position, UInt64(reversed) << 32)
        XCTAssertEqual(ColdKeyFormat.seekKey(storageID: 7, position: position), Array(expected.prefix(5)))

        // Empty key, and too-short input.
        let empty = ColdKeyFormat.encode(storageID: 0, hash32: 0x0000_0001, key: UnsafeRawBufferPointer(start: nil, count: 0))
        XCTAssertEqual(empty, [0, 0x80, 0, 0, 0])
        XCTAssertEqual(ColdKeyFormat.decode(empty)?.key, [])
        XCTAssertNil(ColdKeyFormat.decode([1, 2, 3, 4]))
    }

    func testPrefixBounds() {
        XCTAssertEqual(ColdKeyFormat.prefix(storageID: 3), [3])
        XCTAssertEqual(ColdKeyFormat.prefixEnd(storageID: 3), [4])
        XCTAssertEqual(ColdKeyFormat.prefixEnd(storageID: 254), [255])
        XCTAssertNil(ColdKeyFormat.prefixEnd(storageID: 255))
        XCTAssertEqual(ColdKeyFormat.seekKey(storageID: 9, position: 0), [9, 0, 0, 0, 0])
        XCTAssertEqual(ColdKeyFormat.seekKey(storageID: 9, position: 0xDEAD_BEEF_1234_5678), [9, 0xDE, 0xAD, 0xBE, 0xEF])
    }

    /// RocksDB's bytewise order over encoded keys is SCAN order: (position, key bytes).
    func testEncodedOrderIsScanOrder() {
        var rng = FastRandom(seed: 99)
        struct Entry { var encoded: [UInt8]; var position: UInt64; var key: [UInt8] }
        var entries: [Entry] = []
        for _ in 0..<1000 {
            let key = randomBytes(Int.random(in: 0...24, using: &rng), &rng)
            let hash32 = Keyspace.hash32(KeyHash.hash(key))
            entries.append(Entry(encoded: ColdKeyFormat.encode(storageID: 2, key: key),
                                 position: ColdKeyFormat.position(hash32: hash32), key: key))
        }
        let byBytes = entries.sorted { $0.encoded.lexicographicallyPrecedes($1.encoded) }.map(\.key)
        let byScan = entries.sorted {
            $0.position != $1.position ? $0.position < $1.position : $0.key.lexicographicallyPrecedes($1.key)
        }.map(\.key)
        XCTAssertEqual(byBytes, byScan)
        // Every key lies in its storage id's [prefix, prefixEnd) range and after its seek key.
        for entry in entries {
            XCTAssertFalse(entry.encoded.lexicographicallyPrecedes(ColdKeyFormat.prefix(storageID: 2)))
            XCTAssertTrue(entry.encoded.lexicographicallyPrecedes(ColdKeyFormat.prefixEnd(storageID: 2)!))
            XCTAssertFalse(entry.encoded.lexicographicallyPrecedes(
                ColdKeyFormat.seekKey(storageID: 2, position: entry.position)))
        }
    }
}

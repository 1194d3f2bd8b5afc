import CShims
import Store
import XCTest

/// A hot key's record (key and value in one block) and the slot operations on it.
final class KeyRecordTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func insert(_ ks: Keyspace, _ key: String, _ value: String, meta: UInt32 = 0) -> SlotPointer {
        let k = bytes(key)
        return ks.insert(key: k, hash: KeyHash.hash(k), value: .string(bytes(value)), meta: meta)
    }

    func testKeyAndValueRoundTrip() {
        let binary: [UInt8] = [0, 0xFF, 13, 10, 0]
        let record = binary.withUnsafeBytes { k in bytes("value").withUnsafeBytes { KeyRecord.make(key: k, value: $0) } }
        defer { record.free() }
        XCTAssertEqual([UInt8](record.keyBytes), binary)
        XCTAssertEqual([UInt8](record.valueBytes), bytes("value"))
        let empty = [UInt8]().withUnsafeBytes { KeyRecord.make(key: $0, value: $0) }
        defer { empty.free() }
        XCTAssertEqual(empty.keyCount, 0)
        XCTAssertEqual(empty.valueCount, 0)
    }

    /// The type sits in the header's top byte: a value of another type replaces it and
    /// sets it, the length stays exact, and only strings show their bytes as a string.
    func testTheTypeTravelsWithTheRecord() {
        let ks = Keyspace()
        let slot = insert(ks, "k", "text")
        XCTAssertEqual(slot.pointee.valueType, .string)
        let packed = [PackedForm.listpack.rawValue] + Listpack.make([bytes("a"), bytes("b")])
        slot.pointee.value = .collection(.list, packed)
        XCTAssertEqual(slot.pointee.valueType, .list)
        XCTAssertEqual(slot.pointee.typeName, "list")
        XCTAssertEqual(slot.pointee.record.valueCount, packed.count)
        XCTAssertNil(slot.pointee.stringBytes)
        guard case .collection(.list, let back) = slot.pointee.value else { return XCTFail() }
        XCTAssertEqual(back, packed)
        // A string over the list: the type goes back to string (a same-size-class rewrite
        // in place must not keep the old type).
        bytes("0123456789").withUnsafeBytes { slot.pointee.setString($0) }
        XCTAssertEqual(slot.pointee.valueType, .string)
        XCTAssertEqual(slot.pointee.stringBytes.map { [UInt8]($0) }, bytes("0123456789"))
        // A large length and a type share the word without touching each other.
        let big = [UInt8](repeating: 1, count: 70_000)
        big.withUnsafeBytes { slot.pointee.setValue(.hash, $0) }
        XCTAssertEqual(slot.pointee.valueType, .hash)
        XCTAssertEqual(slot.pointee.record.valueCount, 70_000)
        _ = slot.pointee.growString(to: 70_010)
        XCTAssertEqual(slot.pointee.valueType, .hash)
        XCTAssertEqual(slot.pointee.record.valueCount, 70_010)
    }

    func testSetStringKeepsTheKey() {
        let ks = Keyspace()
        let slot = insert(ks, "k", "short")
        let long = [UInt8](repeating: 7, count: 5000)
        long.withUnsafeBytes { slot.pointee.setString($0) }
        XCTAssertEqual(slot.pointee.key, bytes("k"))
        XCTAssertEqual(slot.pointee.value.stringBytes, long)
        bytes("x").withUnsafeBytes { slot.pointee.setString($0) }
        XCTAssertEqual(bytes("k").withUnsafeBytes { ks.find($0)?.pointee.value.stringBytes }, bytes("x"))
    }

    /// Overwriting with a value of the same size class reuses the block; a much smaller
    /// value moves to a smaller block (no memory kept for a value that shrank).
    func testSetStringReusesTheBlockOnlyForTheSameSizeClass() {
        let ks = Keyspace()
        let slot = insert(ks, "k", String(repeating: "a", count: 1000))
        let block = slot.pointee.storage
        let sameClass = [UInt8](repeating: 1, count: 1001)
        sameClass.withUnsafeBytes { slot.pointee.setString($0) }
        XCTAssertEqual(slot.pointee.storage, block)
        XCTAssertEqual(slot.pointee.value.stringBytes, sameClass)
        XCTAssertEqual(slot.pointee.key, bytes("k"))
        bytes("tiny").withUnsafeBytes { slot.pointee.setString($0) }
        XCTAssertEqual(slot.pointee.value.stringBytes, bytes("tiny"))
        XCTAssertLessThan(strata_usable_size(slot.pointee.storage!), 64)
    }

    func testGrowStringZeroFillsAndLeavesSlack() {
        let ks = Keyspace()
        let slot = insert(ks, "bits", "ab")
        let view = slot.pointee.growString(to: 10)
        XCTAssertEqual(view.count, 10)
        XCTAssertEqual([UInt8](view), bytes("ab") + [UInt8](repeating: 0, count: 8))
        // Grown with slack (double below 1 MB): the next small growth stays in the block.
        let before = slot.pointee.storage
        _ = slot.pointee.growString(to: 12)
        XCTAssertEqual(slot.pointee.storage, before)
        XCTAssertEqual(slot.pointee.value.stringBytes, bytes("ab") + [UInt8](repeating: 0, count: 10))
        // Never shrinks.
        XCTAssertEqual(slot.pointee.growString(to: 3).count, 12)
    }

    /// A record shared with a demotion batch is neither edited in place nor freed: the slot
    /// gets a copy and leaves the batch, and removal leaves the record to the batch.
    func testRecordInABatchIsLeftAlone() {
        let ks = Keyspace()
        let slot = insert(ks, "k", "old", meta: KeyFlags.inBatch | KeyFlags.demoting | KeyFlags.clean)
        let shared = slot.pointee.record
        bytes("new").withUnsafeBytes { slot.pointee.setString($0) }
        XCTAssertNotEqual(slot.pointee.storage, shared.base)
        XCTAssertEqual([UInt8](shared.valueBytes), bytes("old"))
        XCTAssertEqual(slot.pointee.meta & (KeyFlags.inBatch | KeyFlags.demoting | KeyFlags.clean), 0)
        XCTAssertEqual(slot.pointee.value.stringBytes, bytes("new"))
        shared.free()  // what the batch's commit does

        let other = insert(ks, "j", "kept", meta: KeyFlags.inBatch | KeyFlags.demoting)
        let record = other.pointee.record
        ks.remove(other)
        XCTAssertEqual([UInt8](record.valueBytes), bytes("kept"))  // still allocated
        record.free()

        let grown = insert(ks, "g", "ab", meta: KeyFlags.inBatch | KeyFlags.demoting)
        let original = grown.pointee.record
        _ = grown.pointee.growString(to: 4)
        XCTAssertNotEqual(grown.pointee.storage, original.base)
        XCTAssertEqual([UInt8](original.valueBytes), bytes("ab"))
        XCTAssertEqual(grown.pointee.value.stringBytes, bytes("ab") + [0, 0])
        original.free()
    }
}

import Store
import XCTest

/// The table of a large hash or set (FieldTable over FieldSlots and FieldEntry): lookups
/// across incremental resizes, values of every length, tombstones, HSCAN's guarantee,
/// random draws and the packed form.
final class FieldTableTests: XCTestCase {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    private func set(_ table: FieldTable, _ field: [UInt8], _ value: [UInt8]) -> Bool {
        field.withUnsafeBytes { f in value.withUnsafeBytes { table.set(f, $0) } }
    }

    private func value(_ table: FieldTable, _ field: [UInt8]) -> [UInt8]? {
        field.withUnsafeBytes { table.value($0).map { [UInt8]($0) } }
    }

    private func remove(_ table: FieldTable, _ field: [UInt8]) -> Bool {
        field.withUnsafeBytes { table.remove($0) }
    }

    private func contents(_ table: FieldTable) -> [[UInt8]: [UInt8]] {
        var all: [[UInt8]: [UInt8]] = [:]
        table.forEach { field, value in
            XCTAssertNil(all.updateValue([UInt8](value), forKey: [UInt8](field)), "forEach repeated a field")
        }
        return all
    }

    func testSetGetOverwriteRemoveAcrossResizes() {
        let table = FieldTable(type: .hash)
        let n = 50_000
        for i in 0..<n { XCTAssertTrue(set(table, bytes("f:\(i)"), bytes("v:\(i)"))) }
        XCTAssertEqual(table.count, n)
        for i in stride(from: 0, to: n, by: 7) { XCTAssertEqual(value(table, bytes("f:\(i)")), bytes("v:\(i)")) }
        XCTAssertNil(value(table, bytes("f:\(n)")))
        // Overwrites keep the count and change the value, also to other lengths.
        for i in stride(from: 0, to: n, by: 3) {
            XCTAssertFalse(set(table, bytes("f:\(i)"), bytes(String(repeating: "x", count: i % 300))))
        }
        XCTAssertEqual(table.count, n)
        XCTAssertEqual(value(table, bytes("f:297")), bytes(String(repeating: "x", count: 297)))
        XCTAssertEqual(value(table, bytes("f:300")), [])
        XCTAssertEqual(value(table, bytes("f:301")), bytes("v:301"))
        let grown = table.slotCapacity
        for i in 0..<n where i % 100 != 0 { XCTAssertTrue(remove(table, bytes("f:\(i)"))) }
        XCTAssertFalse(remove(table, bytes("f:1")))
        XCTAssertEqual(table.count, n / 100)
        XCTAssertLessThan(table.slotCapacity, grown, "the table shrinks after mass removal")
        XCTAssertEqual(Set(contents(table).keys), Set((0..<n / 100).map { bytes("f:\($0 * 100)") }))
        for i in stride(from: 0, to: n, by: 100) { XCTAssertTrue(remove(table, bytes("f:\(i)"))) }
        XCTAssertEqual(table.count, 0)
        XCTAssertTrue(contents(table).isEmpty)
    }

    /// Lengths around each varint width (1, 2 and 3 bytes), empty and binary fields.
    func testEveryLengthAndBinaryBytes() {
        let table = FieldTable(type: .hash)
        var expected: [[UInt8]: [UInt8]] = [:]
        for length in [0, 1, 127, 128, 129, 16_383, 16_384, 70_000] {
            let field = [UInt8](repeating: 0, count: length % 200) + [UInt8(length & 0xFF), 0xFF]
            let value = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            XCTAssertTrue(set(table, field, value))
            expected[field] = value
        }
        XCTAssertTrue(set(table, [], bytes("empty field")))
        expected[[]] = bytes("empty field")
        XCTAssertEqual(contents(table), expected)
        for (field, value) in expected { XCTAssertEqual(self.value(table, field), value) }
    }

    func testTombstoneChurnStaysBounded() {
        let table = FieldTable(type: .set)
        for round in 0..<20_000 {
            XCTAssertTrue(set(table, bytes("m:\(round)"), []))
            if round >= 100 { XCTAssertTrue(remove(table, bytes("m:\(round - 100)"))) }
        }
        XCTAssertEqual(table.count, 100)
        XCTAssertLessThanOrEqual(table.slotCapacity, 1024)
    }

    private func fullScan(_ table: FieldTable) -> [[UInt8]] {
        var fields: [[UInt8]] = []
        var cursor: UInt64 = 0
        repeat { cursor = table.scan(cursor: cursor) { field, _ in fields.append([UInt8](field)) } } while cursor != 0
        return fields
    }

    func testScanWithoutChangesReturnsEachFieldOnce() {
        for n in [1, 12, 13, 100, 4000] {
            let table = FieldTable(type: .set)
            for i in 0..<n { _ = set(table, bytes("m:\(i)"), []) }
            let fields = fullScan(table)
            XCTAssertEqual(fields.count, n, "n=\(n)")
            XCTAssertEqual(Set(fields).count, n)
        }
    }

    /// Fields present for the whole scan come back at least once while others are added and
    /// removed between the calls (the table grows, shrinks and is caught mid-resize).
    func testScanGuaranteeAcrossGrowthAndShrink() {
        var generator = FastRandom(seed: 7)
        for trial in 0..<6 {
            let table = FieldTable(type: .hash)
            let stable = (0..<[200, 2000][trial % 2]).map { bytes("stable:\($0)") }
            for field in stable { _ = set(table, field, bytes("v")) }
            var churn: [[UInt8]] = []
            var next = 0
            var seen = Set<[UInt8]>()
            var cursor: UInt64 = 0
            var grew = false, shrank = false
            var last = table.slotCapacity
            repeat {
                cursor = table.scan(cursor: cursor) { field, _ in seen.insert([UInt8](field)) }
                switch generator.next() % 100 {
                case 0, 1:
                    for _ in 0..<Int(generator.next() % UInt64(max(1, 6000 - churn.count))) {
                        let field = bytes("churn:\(next)"); next += 1
                        _ = set(table, field, bytes("c")); churn.append(field)
                    }
                case 2, 3:
                    for _ in 0..<Int(generator.next() % UInt64(churn.count + 1)) {
                        let index = Int(generator.next() % UInt64(churn.count))
                        churn.swapAt(index, churn.count - 1)
                        XCTAssertTrue(remove(table, churn.removeLast()))
                    }
                default:
                    break
                }
                grew = grew || table.slotCapacity > last
                shrank = shrank || table.slotCapacity < last
                last = table.slotCapacity
            } while cursor != 0
            XCTAssertEqual(stable.filter { !seen.contains($0) }.count, 0, "trial \(trial)")
            XCTAssertTrue(grew && shrank, "trial \(trial) did not exercise resizes")
        }
    }

    func testRandomEntriesReachEveryField() {
        let table = FieldTable(type: .hash)
        for i in 0..<20 { _ = set(table, bytes("f:\(i)"), bytes("v:\(i)")) }
        var drawn = Set<[UInt8]>()
        for _ in 0..<2000 {
            let entry = table.randomEntry()
            XCTAssertEqual(entry.value, bytes("v:") + entry.field.dropFirst(2))
            drawn.insert(entry.field)
        }
        XCTAssertEqual(drawn.count, 20)
    }

    func testPackedPayloadAndCopyHoldTheSameContents() {
        for type in [ValueType.hash, .set] {
            let table = FieldTable(type: type)
            for i in 0..<3000 { _ = set(table, bytes("f:\(i)"), type == .hash ? bytes("v:\(i)") : []) }
            let packed = table.packedPayload()
            XCTAssertEqual(packed.first, PackedForm.listpack.rawValue)
            let elements = packed.withUnsafeBytes { Listpack.elements(UnsafeRawBufferPointer(rebasing: $0[1...])) }
            let expected = contents(table)
            if type == .hash {
                XCTAssertEqual(elements.count, 6000)
                var decoded: [[UInt8]: [UInt8]] = [:]
                for pair in stride(from: 0, to: elements.count, by: 2) { decoded[elements[pair]] = elements[pair + 1] }
                XCTAssertEqual(decoded, expected)
            } else {
                XCTAssertEqual(Set(elements), Set(expected.keys))
            }
            let copy = table.copy() as! FieldTable
            _ = set(table, bytes("f:0"), bytes("changed"))
            XCTAssertEqual(contents(copy), expected, "the copy is independent")
            XCTAssertGreaterThan(table.heapBytes, 3000 * 16)
        }
    }
}

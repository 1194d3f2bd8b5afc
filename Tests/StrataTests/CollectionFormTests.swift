import XCTest
@testable import Store

/// The large forms and the form conversions: QuickList against an array model under
/// random edits (with tiny nodes, so that every edit crosses node boundaries), the
/// packed-payload round trip, and the set's integer rule.
final class CollectionFormTests: XCTestCase {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testQuickListMatchesAnArrayUnderRandomEdits() {
        var random = SystemRandomNumberGenerator()
        // list-compress-depth too: the edits then decompress and compress interior nodes.
        for (setting, depth) in [(1, 0), (3, 0), (5, 0), (-1, 0), (3, 1), (5, 2), (-1, 1)] {
            let limit = ListNodeLimit(setting, compressDepth: depth)
            let list = QuickList()
            var model: [[UInt8]] = []
            for step in 0..<3000 {
                let element = bytes("e\(step)-" + String(repeating: "x", count: Int.random(in: 0...40, using: &random)))
                switch Int.random(in: 0..<9, using: &random) {
                case 0, 1:
                    element.withUnsafeBytes { list.push($0, front: true, limit: limit) }
                    model.insert(element, at: 0)
                case 2, 3:
                    element.withUnsafeBytes { list.push($0, front: false, limit: limit) }
                    model.append(element)
                case 5 where !model.isEmpty:
                    let index = Int.random(in: 0..<model.count, using: &random)
                    element.withUnsafeBytes { list.set(index, to: $0, limit: limit) }
                    model[index] = element
                case 6:
                    let index = Int.random(in: 0...model.count, using: &random)
                    element.withUnsafeBytes { list.insert($0, at: index, limit: limit) }
                    model.insert(element, at: index)
                case 7 where !model.isEmpty:
                    let n = Int.random(in: 0...min(3, model.count), using: &random)
                    let front = Bool.random(using: &random)
                    list.remove(n, front: front)
                    if front { model.removeFirst(n) } else { model.removeLast(n) }
                default:
                    let front = Bool.random(using: &random)
                    let popped = list.pop(front: front)
                    XCTAssertEqual(popped, model.isEmpty ? nil : (front ? model.removeFirst() : model.removeLast()))
                }
                XCTAssertEqual(list.count, model.count)
                if step % 97 == 0 {
                    XCTAssertEqual(list.elements, model)
                    for (index, expected) in model.enumerated() where index % 7 == 0 {
                        XCTAssertEqual(list.element(at: index), expected)
                    }
                    for (position, node) in list.nodes.enumerated() {
                        let raw = QuickList.isCompressed(node) ? QuickList.decompressed(node) : node
                        let n = raw.withUnsafeBytes { Listpack.count($0) }
                        XCTAssertGreaterThan(n, 0)
                        XCTAssertEqual(QuickList.count(node), n)
                        XCTAssertTrue(limit.allows(bytes: raw.count, count: n), "node over the limit")
                        let interior = position >= depth && position < list.nodes.count - depth
                        if !interior || depth == 0 { XCTAssertFalse(QuickList.isCompressed(node), "end node compressed") }
                    }
                    // The elements ("e<step>-xxx...") compress: some interior node is.
                    if depth > 0 && list.nodes.count > 2 * depth + 4 && setting != 1 {
                        XCTAssertTrue(list.nodes.contains { QuickList.isCompressed($0) }, "no node compressed")
                    }
                }
            }
            // The packed payload is one listpack of every element, in order.
            let payload = list.packedPayload()
            XCTAssertEqual(payload[0], PackedForm.listpack.rawValue)
            payload.withUnsafeBytes { raw in
                let listpack = UnsafeRawBufferPointer(rebasing: raw[1...])
                XCTAssertTrue(Listpack.isValid(listpack))
                XCTAssertEqual(Listpack.elements(listpack), model)
            }
        }
    }

    func testBackwardWalkGivesIndexes() {
        let list = QuickList()
        for i in 0..<50 { bytes("\(i)").withUnsafeBytes { list.push($0, front: false, limit: ListNodeLimit(4)) } }
        var seen: [(Int, [UInt8])] = []
        list.forEachFromBack { index, element in
            seen.append((index, [UInt8](element)))
            return index > 10
        }
        XCTAssertEqual(seen.map(\.0), Array((10...49).reversed()))
        XCTAssertEqual(seen.map(\.1), (10...49).reversed().map { bytes("\($0)") })
    }

    func testHashConvertsAtTheLimits() {
        var limits = CollectionLimits.defaults
        limits.hashEntries = 4
        limits.hashValue = 8
        var hash = HashValue.packed(Listpack.empty())
        for i in 0..<4 { _ = bytes("f\(i)").withUnsafeBytes { f in bytes("v").withUnsafeBytes { hash.set(f, $0, limits: limits) } } }
        guard case .packed = hash else { return XCTFail("4 fields stay packed") }
        _ = bytes("f4").withUnsafeBytes { f in bytes("v").withUnsafeBytes { hash.set(f, $0, limits: limits) } }
        guard case .table(let table) = hash else { return XCTFail("5 fields make a table") }
        XCTAssertEqual(table.count, 5)
        var long = HashValue.packed(Listpack.empty())
        _ = bytes("f").withUnsafeBytes { f in bytes("123456789").withUnsafeBytes { long.set(f, $0, limits: limits) } }
        guard case .table = long else { return XCTFail("a long value makes a table") }
    }

    func testSetIntegerRule() {
        for text in ["0", "-1", "123", "9223372036854775807", "-9223372036854775808"] {
            XCTAssertNotNil(bytes(text).withUnsafeBytes { SetValue.integer($0) }, text)
        }
        for text in ["", "-", "-0", "01", "+1", "1.0", " 1", "9223372036854775808", "-9223372036854775809"] {
            XCTAssertNil(bytes(text).withUnsafeBytes { SetValue.integer($0) }, text)
        }
    }
}

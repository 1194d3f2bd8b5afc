import XCTest
@testable import Store

/// The packed forms of small collections: Listpack and IntSet (round trips, edits at every
/// position, lengths across varint boundaries, corrupt input rejected).
final class PackedEncodingTests: XCTestCase {
    /// Lengths around every varint boundary, and empty entries.
    let lengths = [0, 1, 2, 126, 127, 128, 129, 300, 16_383, 16_384, 70_000]

    func element(_ length: Int, _ seed: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    func testListpackRoundTripAndBothDirections() {
        let elements = lengths.enumerated().map { element($1, $0) }
        let bytes = Listpack.make(elements)
        bytes.withUnsafeBytes { raw in
            XCTAssertTrue(Listpack.isValid(raw))
            XCTAssertEqual(Listpack.count(raw), elements.count)
            XCTAssertEqual(Listpack.elements(raw), elements)
            // From the back: each entry found from its end.
            var end = raw.count
            for expected in elements.reversed() {
                let (range, start) = Listpack.entry(raw, endingAt: end)
                XCTAssertEqual([UInt8](raw[range]), expected)
                end = start
            }
            XCTAssertEqual(end, Listpack.headerBytes)
            for index in 0...elements.count {
                let offset = Listpack.offset(raw, of: index)
                if index < elements.count {
                    XCTAssertEqual([UInt8](raw[Listpack.entry(raw, at: offset).0]), elements[index])
                } else {
                    XCTAssertEqual(offset, raw.count)
                }
            }
        }
        XCTAssertEqual(bytes.count, Listpack.headerBytes + lengths.map(Listpack.entryBytes).reduce(0, +))
    }

    func testListpackEditsMatchAnArray() {
        var model: [[UInt8]] = []
        var bytes = Listpack.empty()
        var rng = SystemRandomNumberGenerator()
        for step in 0..<2000 {
            let e = element(Int(rng.next() % 200), step)
            switch rng.next() % 5 {
            case 0, 1:
                let at = Int(rng.next() % UInt64(model.count + 1))
                model.insert(e, at: at)
                e.withUnsafeBytes { Listpack.insert($0, at: at, in: &bytes) }
            case 2:
                model.append(e)
                e.withUnsafeBytes { Listpack.append($0, to: &bytes) }
            case 3 where !model.isEmpty:
                let at = Int(rng.next() % UInt64(model.count))
                let n = min(model.count - at, Int(rng.next() % 3) + 1)
                model.removeSubrange(at..<(at + n))
                Listpack.remove(at: at, count: n, in: &bytes)
            case 4 where !model.isEmpty:
                let at = Int(rng.next() % UInt64(model.count))
                model[at] = e
                e.withUnsafeBytes { Listpack.replace(at: at, with: $0, in: &bytes) }
            default:
                break
            }
        }
        bytes.withUnsafeBytes { raw in
            XCTAssertTrue(Listpack.isValid(raw))
            XCTAssertEqual(Listpack.elements(raw), model)
        }
    }

    func testListpackRejectsCorruptBytes() {
        let good = Listpack.make([element(5, 1), element(200, 2), element(0, 3)])
        good.withUnsafeBytes { XCTAssertTrue(Listpack.isValid($0)) }
        var cases: [[UInt8]] = [[], [1, 0, 0], Array(good.dropLast()), good + [0]]
        var wrongCount = good
        wrongCount[0] = 4
        cases.append(wrongCount)
        var wrongBack = good
        wrongBack[Listpack.headerBytes + 1 + 5] ^= 0x01  // the first entry's backward length
        cases.append(wrongBack)
        var hugeLength = good
        hugeLength[Listpack.headerBytes] = 0xFF  // a varint that runs on
        cases.append(hugeLength)
        for bytes in cases {
            bytes.withUnsafeBytes { XCTAssertFalse(Listpack.isValid($0), "\(bytes.prefix(12))") }
        }
        // Random garbage never crashes the check.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let garbage = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = garbage.withUnsafeBytes { Listpack.isValid($0) }
        }
    }

    func testIntSetInsertRemoveAndUpgrade() {
        var bytes = IntSet.empty()
        var model = Set<Int64>()
        var rng = SystemRandomNumberGenerator()
        let ranges: [ClosedRange<Int64>] = [-300...300, Int64(Int16.min)...Int64(Int32.max), Int64.min...Int64.max]
        for range in ranges {
            for _ in 0..<500 {
                let v = Int64.random(in: range, using: &rng)
                XCTAssertEqual(IntSet.insert(v, into: &bytes), model.insert(v).inserted)
                if rng.next() % 4 == 0 {
                    let r = Int64.random(in: range, using: &rng)
                    XCTAssertEqual(IntSet.remove(r, from: &bytes), model.remove(r) != nil)
                }
            }
            bytes.withUnsafeBytes { raw in
                XCTAssertTrue(IntSet.isValid(raw))
                XCTAssertEqual(IntSet.members(raw), model.sorted())
                for v in model { XCTAssertTrue(IntSet.contains(raw, v)) }
            }
        }
        bytes.withUnsafeBytes { XCTAssertEqual(IntSet.width($0), 8) }
        XCTAssertEqual(IntSet.make([3, 1, 2, 3]), IntSet.make([1, 2, 3]))
        IntSet.make([1, 2, 3]).withUnsafeBytes { XCTAssertEqual(IntSet.width($0), 2) }
        IntSet.make([1, 70_000]).withUnsafeBytes { XCTAssertEqual(IntSet.width($0), 4) }
    }

    func testIntSetRejectsCorruptBytes() {
        let good = IntSet.make([1, 5, 9])
        var badWidth = good
        badWidth[0] = 3
        var unsorted = good
        unsorted[IntSet.headerBytes] = 7  // 7, 5, 9
        var short = good
        short.removeLast()
        for bytes in [badWidth, unsorted, short, [2, 1, 0]] {
            bytes.withUnsafeBytes { XCTAssertFalse(IntSet.isValid($0)) }
        }
        good.withUnsafeBytes { XCTAssertTrue(IntSet.isValid($0)) }
    }
}

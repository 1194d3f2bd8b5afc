import XCTest

@testable import Commands

final class BitmapCommandsTests: XCTestCase {
    // MARK: - Pure helpers

    private func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> T) -> T {
        bytes.withUnsafeBytes(body)
    }

    func testCountOnesOverBitRanges() {
        let foobar = Array("foobar".utf8)
        withBytes(foobar) { p in
            XCTAssertEqual(BitOps.countOnes(p, bits: 0...47), 26)
            XCTAssertEqual(BitOps.countOnes(p, bits: 8...15), 6)
            XCTAssertEqual(BitOps.countOnes(p, bits: 5...30), 17)
            XCTAssertEqual(BitOps.countOnes(p, bits: 46...47), 1)
            XCTAssertEqual(BitOps.countOnes(p, bits: 0...0), 0)
        }
        let big = [UInt8](repeating: 0xFF, count: 100) + [0, 0, 0, 1]
        withBytes(big) { p in
            XCTAssertEqual(BitOps.countOnes(p, bits: 0...(big.count * 8 - 1)), 801)
            XCTAssertEqual(BitOps.countOnes(p, bits: 799...800), 1)
            XCTAssertEqual(BitOps.countOnes(p, bits: 3...798), 796)
        }
    }

    func testFirstBitSearch() {
        withBytes([0xFF, 0xF0, 0x00]) { p in
            XCTAssertEqual(BitOps.firstBit(false, in: p, bits: 0...23), 12)
            XCTAssertEqual(BitOps.firstBit(true, in: p, bits: 0...23), 0)
            XCTAssertEqual(BitOps.firstBit(true, in: p, bits: 7...15), 7)
            XCTAssertNil(BitOps.firstBit(true, in: p, bits: 12...15))
            XCTAssertNil(BitOps.firstBit(false, in: p, bits: 0...11))
            XCTAssertNil(BitOps.firstBit(true, in: p, bits: 16...23))
        }
        // Long runs exercise the word-at-a-time skip.
        var zeros = [UInt8](repeating: 0, count: 64)
        zeros[41] = 0x04
        withBytes(zeros) { p in
            XCTAssertEqual(BitOps.firstBit(true, in: p, bits: 0...511), 41 * 8 + 5)
            XCTAssertEqual(BitOps.firstBit(true, in: p, bits: 3...333), 333)
            XCTAssertNil(BitOps.firstBit(true, in: p, bits: 0...332))
            XCTAssertNil(BitOps.firstBit(true, in: p, bits: 334...511))
        }
    }

    func testBitopCombine() {
        let a: [UInt8] = [0xFF, 0x0F], b: [UInt8] = [0x0F]
        XCTAssertEqual(BitOps.combine(.and, [a, b]), [0x0F, 0x00])
        XCTAssertEqual(BitOps.combine(.or, [a, b]), [0xFF, 0x0F])
        XCTAssertEqual(BitOps.combine(.xor, [a, b]), [0xF0, 0x0F])
        XCTAssertEqual(BitOps.combine(.xor, [a, a, b]), [0x0F, 0x00])
        XCTAssertEqual(BitOps.combine(.not, [a]), [0x00, 0xF0])
        XCTAssertEqual(BitOps.combine(.and, [a, []]), [0x00, 0x00])
        XCTAssertEqual(BitOps.combine(.or, [[], []]), [])
        let long = (0..<37).map { UInt8($0 * 7 & 0xFF) }
        XCTAssertEqual(BitOps.combine(.and, [long, long]), long)
        XCTAssertEqual(BitOps.combine(.xor, [long, long]), [UInt8](repeating: 0, count: 37))
    }

    func testOffsetParsing() {
        func parse(_ text: String, hash: Int = 0, limit: Int = 512 << 20) -> Int? {
            Array(text.utf8).withUnsafeBytes { BitmapCommands.parseOffset($0, hashWidth: hash, byteLimit: limit) }
        }
        XCTAssertEqual(parse("7"), 7)
        XCTAssertEqual(parse("4294967295"), 4_294_967_295)
        XCTAssertNil(parse("4294967296"))
        XCTAssertNil(parse("-1"))
        XCTAssertNil(parse(""))
        XCTAssertNil(parse("#2"))  // '#' only for BITFIELD
        XCTAssertEqual(parse("#2", hash: 8), 16)
        XCTAssertNil(parse("#536870912", hash: 8))
        XCTAssertNil(parse("#1152921504606846976", hash: 8))  // product overflows
        XCTAssertNil(parse("80", limit: 10))
        XCTAssertEqual(parse("79", limit: 10), 79)
    }

    func testBitfieldTypes() {
        func type(_ text: String) -> BitfieldType? { Array(text.utf8).withUnsafeBytes { BitfieldType($0) } }
        XCTAssertEqual(type("i64"), BitfieldType(signed: true, bits: 64))
        XCTAssertEqual(type("u63"), BitfieldType(signed: false, bits: 63))
        XCTAssertNil(type("u64"))
        XCTAssertNil(type("i65"))
        XCTAssertNil(type("i0"))
        XCTAssertNil(type("I8"))
        XCTAssertNil(type("u08"))
        XCTAssertNil(type("8"))
    }

    func testBitfieldReadWrite() {
        var bytes: [UInt8] = [0x0F, 0xF0]
        let u8 = BitfieldType(signed: false, bits: 8), i4 = BitfieldType(signed: true, bits: 4)
        let u4 = BitfieldType(signed: false, bits: 4)
        bytes.withUnsafeBytes { p in
            XCTAssertEqual(u8.read(p, at: 4), 255)
            XCTAssertEqual(u4.read(p, at: 2), 3)
            XCTAssertEqual(i4.read(p, at: 6), -1)
            XCTAssertEqual(u8.read(p, at: 12), 0)  // beyond the end reads zeros
        }
        bytes.withUnsafeMutableBytes { p in i4.write(-3, into: p, at: 2) }
        XCTAssertEqual(bytes, [0x37, 0xF0])
        var wide = [UInt8](repeating: 0, count: 9)
        let i64 = BitfieldType(signed: true, bits: 64)
        wide.withUnsafeMutableBytes { p in i64.write(Int.min, into: p, at: 3) }
        wide.withUnsafeBytes { p in XCTAssertEqual(i64.read(p, at: 3), Int.min) }
    }

    func testBitfieldOverflow() {
        let u8 = BitfieldType(signed: false, bits: 8), i8 = BitfieldType(signed: true, bits: 8)
        let i64 = BitfieldType(signed: true, bits: 64), u2 = BitfieldType(signed: false, bits: 2)
        XCTAssertEqual(u8.add(255, 10, .wrap), 9)
        XCTAssertEqual(u8.add(255, 10, .sat), 255)
        XCTAssertNil(u8.add(255, 1, .fail))
        XCTAssertEqual(u8.add(0, -1, .sat), 0)
        XCTAssertEqual(u8.add(-5, 0, .wrap), 251)  // SET u8 -5
        XCTAssertEqual(u8.add(-5, 0, .sat), 255)
        XCTAssertEqual(u8.add(256, 0, .wrap), 0)
        XCTAssertEqual(i8.add(-129, 0, .wrap), 127)
        XCTAssertEqual(i8.add(200, 0, .sat), 127)
        XCTAssertEqual(i8.add(0, -200, .sat), -128)
        XCTAssertEqual(i8.add(100, 27, .fail), 127)
        XCTAssertEqual(i64.add(Int.min, -1, .wrap), Int.max)
        XCTAssertEqual(i64.add(Int.max, 1, .sat), Int.max)
        XCTAssertNil(i64.add(Int.max, 1, .fail))
        XCTAssertNil(u2.add(3, 10, .fail))
    }

    // MARK: - Handlers

    func testSetbitGetbitAndErrors() {
        let h = StringsTestHarness()
        XCTAssertEqual(h.call("SETBIT", "k", "7", "1"), ":0\r\n")
        XCTAssertEqual(h.call("SETBIT", "k", "7", "1"), ":1\r\n")
        XCTAssertEqual(h.call("GETBIT", "k", "7"), ":1\r\n")
        XCTAssertEqual(h.call("SETBIT", "k", "100", "1"), ":0\r\n")
        XCTAssertEqual(h.value("k")?.count, 13)
        XCTAssertEqual(h.call("SETBIT", "k", "0", "2"), "-ERR bit is not an integer or out of range\r\n")
        XCTAssertEqual(h.call("GETBIT", "k", "-1"), "-ERR bit offset is not an integer or out of range\r\n")
    }

    func testSetbitOnlyCountsRealChanges() {
        let h = StringsTestHarness()
        h.call("SETBIT", "k", "3", "1")
        let dirty = h.server.store.dirty
        h.call("SETBIT", "k", "3", "1")
        XCTAssertEqual(h.server.store.dirty, dirty)
        h.call("SETBIT", "k", "3", "0")
        XCTAssertEqual(h.server.store.dirty, dirty + 1)
    }

    func testBitcountBitposBitop() {
        let h = StringsTestHarness()
        h.call("SET", "k", "foobar")
        XCTAssertEqual(h.call("BITCOUNT", "k"), ":26\r\n")
        XCTAssertEqual(h.call("BITCOUNT", "k", "5", "30", "BIT"), ":17\r\n")
        XCTAssertEqual(h.call("BITCOUNT", "k", "0", "-100"), ":4\r\n")
        XCTAssertEqual(h.call("BITCOUNT", "k", "0"), "-ERR syntax error\r\n")
        h.call("SET", "a", "\u{7F}")
        XCTAssertEqual(h.call("BITPOS", "a", "0"), ":0\r\n")
        XCTAssertEqual(h.call("BITPOS", "nokey", "1"), ":-1\r\n")
        XCTAssertEqual(h.call("BITPOS", "a", "2"), "-ERR The bit argument must be 1 or 0.\r\n")
        XCTAssertEqual(h.call("BITOP", "NOT", "d", "a", "k"), "-ERR BITOP NOT must be called with a single source key.\r\n")
        XCTAssertEqual(h.call("BITOP", "OR", "d", "a", "k"), ":6\r\n")
        XCTAssertEqual(h.call("BITOP", "AND", "d", "nokey"), ":0\r\n")
        XCTAssertNil(h.value("d"))
    }

    func testBitfieldCommand() {
        let h = StringsTestHarness()
        XCTAssertEqual(h.call("BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0", "GET", "i8", "0"),
                       "*3\r\n:0\r\n:255\r\n:-1\r\n")
        XCTAssertEqual(h.call("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1"), "*1\r\n$-1\r\n")
        XCTAssertEqual(h.call("BITFIELD", "bf", "SET", "u8", "0", "1", "GET", "u64", "0"),
                       "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n")
        XCTAssertEqual(h.value("bf"), [0xFF])
        XCTAssertEqual(h.call("BITFIELD_RO", "bf", "INCRBY", "u8", "0", "1"),
                       "-ERR BITFIELD_RO only supports the GET subcommand\r\n")
        XCTAssertEqual(h.call("BITFIELD_RO", "nokey", "GET", "u8", "100"), "*1\r\n:0\r\n")
        XCTAssertNil(h.value("nokey"))
        XCTAssertEqual(h.call("BITFIELD", "new", "SET", "u8", "100", "1"), "*1\r\n:0\r\n")
        XCTAssertEqual(h.value("new")?.count, 14)
    }
}

import Store
import XCTest

/// Glob matching against Redis 7.0.15's observed answers (checked with KEYS on a real
/// server, including the quirks).
final class GlobMatchTests: XCTestCase {
    private func match(_ pattern: [UInt8], _ subject: [UInt8], nocase: Bool = false) -> Bool {
        GlobMatch.matches(pattern: pattern, subject: subject, caseInsensitive: nocase)
    }

    private func match(_ pattern: String, _ subject: String, nocase: Bool = false) -> Bool {
        GlobMatch.matches(pattern: pattern, subject: subject, caseInsensitive: nocase)
    }

    /// The keys of the integration test's KEYS table.
    private let keys = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo",
                        "h[a]llo", "a", "b", "c", "d", "h\\llo", "HELLO", "h]llo"]

    private func matching(_ pattern: String) -> [String] {
        keys.filter { match(pattern, $0) }.sorted()
    }

    func testKeysTable() {
        let cases: [(String, [String])] = [
            ("h?llo", ["h*llo", "h?llo", "h\\llo", "h]llo", "hallo", "hello", "hxllo"]),
            ("h*llo", ["h*llo", "h?llo", "h[a]llo", "h\\llo", "h]llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]),
            ("h[ae]llo", ["hallo", "hello"]),
            ("h[^e]llo", ["h*llo", "h?llo", "h\\llo", "h]llo", "hallo", "hxllo"]),
            ("h[a-b]llo", ["hallo"]),
            ("[a-c]", ["a", "b", "c"]),
            ("[c-a]", ["a", "b", "c"]),
            ("h\\*llo", ["h*llo"]),
            ("h\\?llo", ["h?llo"]),
            ("h\\[a\\]llo", ["h[a]llo"]),
            ("h\\\\llo", ["h\\llo"]),
            ("h[\\]]llo", ["h]llo"]),
            ("\\a", ["a"]),
            ("H*", ["HELLO"]),
            ("hello", ["hello"]),
            ("x", []),
            ("", []),
            ("*e*o", ["heeeello", "hello"]),
            ("?", ["a", "b", "c", "d"]),
            ("[bd]", ["b", "d"]),
        ]
        for (pattern, expected) in cases {
            XCTAssertEqual(matching(pattern), expected.sorted(), "pattern \(pattern)")
        }
    }

    func testStars() {
        XCTAssertTrue(match("*", "anything"))
        XCTAssertTrue(match("**", "x"))
        XCTAssertTrue(match("a*", "a"))
        XCTAssertTrue(match("a**", "a"))
        XCTAssertTrue(match("a*b*", "ab"))
        XCTAssertFalse(match("a*?", "a"))
        XCTAssertTrue(match("*b", "aaab"))
        XCTAssertFalse(match("*b", "aaa"))
        XCTAssertTrue(match("*a*b*c*", "xxaxxbxxcxx"))
        XCTAssertFalse(match("*a*b*c*", "xxcxxbxxaxx"))
        // The empty subject matches only the empty pattern: once the subject is used up,
        // the loop that skips trailing stars never runs (callers special-case "*").
        XCTAssertTrue(match("", ""))
        XCTAssertFalse(match("*", ""))
        XCTAssertFalse(match("**", ""))
        XCTAssertFalse(match("", "a"))
    }

    func testClassQuirks() {
        let subjects: [[UInt8]] = [[0xFE], [0x80], Array("b".utf8), [0x00], Array("]".utf8), Array("x".utf8),
                                   Array("-".utf8), Array("^".utf8), Array("\\".utf8), Array("a".utf8),
                                   Array("A".utf8)]
        func hits(_ pattern: [UInt8]) -> Set<[UInt8]> { Set(subjects.filter { match(pattern, $0) }) }
        func set(_ items: [UInt8]...) -> Set<[UInt8]> { Set(items) }
        let a = UInt8(ascii: "a")
        // Range ends are signed bytes: "\xff" is -1, so [a-\xff] is -1...97.
        XCTAssertEqual(hits([UInt8(ascii: "["), a, UInt8(ascii: "-"), 0xFF, UInt8(ascii: "]")]),
                       set([0x00], [45], [65], [92], [93], [94], [97]))
        XCTAssertEqual(hits([UInt8(ascii: "["), 0x00, UInt8(ascii: "-"), 0xFF, UInt8(ascii: "]")]), set([0x00]))
        XCTAssertEqual(hits([UInt8(ascii: "["), 0x80, UInt8(ascii: "-"), 0xFF, UInt8(ascii: "]")]), set([0x80], [0xFE]))
        // "[a-]" is the range ']'...'a'; what follows stays in the class until a ']'.
        XCTAssertEqual(hits(Array("[a-]".utf8)), set([93], [94], [97]))
        XCTAssertEqual(hits(Array("[a-]x]".utf8)), set([93], [94], [97], [120]))
        XCTAssertEqual(hits(Array("[]".utf8)), [])
        XCTAssertEqual(hits(Array("[".utf8)), [])
        XCTAssertEqual(hits(Array("[]]".utf8)), [])
        XCTAssertEqual(hits(Array("[^]".utf8)), Set(subjects))
        XCTAssertEqual(hits(Array("[!a]".utf8)), set([97]))
        XCTAssertEqual(hits(Array("[\\".utf8)), set([92]))  // unterminated: the lone '\' is literal
        XCTAssertEqual(hits(Array("[a-c".utf8)), set([97], [98]))
        XCTAssertEqual(hits(Array("\\".utf8)), set([92]))
        XCTAssertEqual(hits(Array("[-a]".utf8)), set([45], [97]))
        XCTAssertEqual(hits(Array("[a-c-e]".utf8)), set([45], [97], [98]))
        XCTAssertEqual(hits(Array("[\\]".utf8)), set([93]))
        XCTAssertEqual(hits(Array("[^a-z]".utf8)), set([0x00], [45], [65], [92], [93], [94], [0x80], [0xFE]))
    }

    func testBinarySafe() {
        XCTAssertTrue(match(Array("bin*".utf8), [98, 105, 110, 0, 107, 0xFF]))
        XCTAssertTrue(match([98, 105, 110, 0, 42], [98, 105, 110, 0, 107, 0xFF]))
        XCTAssertFalse(match([98, 105, 110, 0, 42], Array("bin\r\nkey".utf8)))
        XCTAssertTrue(match([0x00, 0x3F, 0xFF], [0x00, 0x01, 0xFF]))
        XCTAssertTrue(match(Array("a\0?".utf8), Array("a\0b".utf8)))
    }

    func testCaseInsensitive() {
        XCTAssertTrue(match("HeLLo", "hello", nocase: true))
        XCTAssertFalse(match("HeLLo", "hello"))
        XCTAssertTrue(match("h[A-Z]llo", "hello", nocase: true))
        XCTAssertTrue(match("h[E]llo", "hello", nocase: true))
        XCTAssertTrue(match("\\H*", "hello", nocase: true))
        XCTAssertFalse(match("h[\\E]llo", "hello", nocase: true))  // escapes inside a class compare exactly
    }

    /// Redis 7.0 gives up past 1000 nested star attempts.
    func testNestingLimit() {
        let subject = [UInt8](repeating: UInt8(ascii: "a"), count: 1200)
        func starA(_ n: Int) -> [UInt8] { Array(String(repeating: "*a", count: n).utf8) }
        func aStar(_ n: Int) -> [UInt8] { Array(String(repeating: "a*", count: n).utf8) }
        XCTAssertTrue(match(starA(999), subject))
        XCTAssertTrue(match(starA(1000), subject))
        XCTAssertFalse(match(starA(1001), subject))
        XCTAssertTrue(match(aStar(1001), subject))  // the last star is trailing: no attempt
        XCTAssertFalse(match(aStar(1002), subject))
    }

    /// Patterns that backtrack exponentially in a naive matcher finish at once.
    func testPathologicalPatternsAreFast() {
        let subject = [UInt8](repeating: UInt8(ascii: "a"), count: 5000) + [UInt8(ascii: "b")]
        let start = Date()
        XCTAssertFalse(match(Array((String(repeating: "a*", count: 30) + "c").utf8), subject))
        XCTAssertFalse(match(Array((String(repeating: "*a", count: 1000) + "*c").utf8), subject))
        XCTAssertFalse(match(Array((String(repeating: "*?", count: 200) + "c").utf8), subject))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0)
    }

    func testMatchAll() {
        Array("*".utf8).withUnsafeBytes { XCTAssertTrue(GlobMatch.isMatchAll($0)) }
        Array("**".utf8).withUnsafeBytes { XCTAssertFalse(GlobMatch.isMatchAll($0)) }
        Array("".utf8).withUnsafeBytes { XCTAssertFalse(GlobMatch.isMatchAll($0)) }
    }
}

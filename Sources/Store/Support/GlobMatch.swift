/*
 Glob-style matching with the semantics of Redis's `stringmatchlen` (KEYS, SCAN MATCH, and
 later CONFIG GET, PSUBSCRIBE...). Both pattern and subject are raw bytes.

   *        any run of bytes (consecutive stars act as one)
   ?        exactly one byte
   [abc]    one byte of the set; [^abc] one byte not in it; [a-z] a range (the ends may
            come in either order); \x inside a class is the literal x
   \x       the literal x (a trailing lone backslash is a literal backslash)

 Quirks kept on purpose, because clients see them through KEYS and SCAN:
 - An unterminated class ("[abc" at the end of the pattern) is closed by the end of the
   pattern; "[]" is an empty class that matches nothing; "[a-]" is the range 'a'...']'.
 - Range ends compare as *signed* bytes, as C `char` does on the x86-64 Redis builds
   clients compare against: "[a-\xff]" covers -1...97, so it matches "\x00" but not "\xfe".
 - Once the subject is used up only trailing stars may remain, so "*" does not match the
   empty string (KEYS * and SCAN without MATCH do not use the matcher at all).
 - Each non-trailing star starts one nested attempt; beyond `maximumNesting` nested
   attempts the match fails, as in Redis 7.0, so that a hostile pattern cannot exhaust the
   stack. Together with the "give up on longer matches" rule (once the rest of the pattern
   failed from every position of the subject, an earlier star cannot help by matching
   more), this keeps the cost of a pattern with many stars polynomial.
*/

/// Redis-compatible glob matching of byte strings.
public enum GlobMatch {
    /// Nested star attempts allowed before a match is abandoned (Redis 7.0's limit).
    public static let maximumNesting = 1000

    /// True when `subject` matches `pattern`. `caseInsensitive` folds ASCII letters.
    public static func matches(pattern: UnsafeRawBufferPointer, subject: UnsafeRawBufferPointer,
                               caseInsensitive: Bool = false) -> Bool {
        var matcher = Matcher(pattern: pattern, subject: subject, fold: caseInsensitive)
        return matcher.match(patternIndex: 0, subjectIndex: 0, depth: 0)
    }

    /// Convenience form over byte arrays.
    public static func matches(pattern: [UInt8], subject: [UInt8], caseInsensitive: Bool = false) -> Bool {
        pattern.withUnsafeBytes { p in
            subject.withUnsafeBytes { s in matches(pattern: p, subject: s, caseInsensitive: caseInsensitive) }
        }
    }

    /// Convenience form over text (tests, config patterns).
    public static func matches(pattern: String, subject: String, caseInsensitive: Bool = false) -> Bool {
        matches(pattern: Array(pattern.utf8), subject: Array(subject.utf8), caseInsensitive: caseInsensitive)
    }

    /// True when `pattern` is exactly "*", which matches every key including the empty
    /// one: callers then skip matching altogether, as Redis does.
    public static func isMatchAll(_ pattern: UnsafeRawBufferPointer) -> Bool {
        pattern.count == 1 && pattern[0] == star
    }

    static let star = UInt8(ascii: "*")
    static let question = UInt8(ascii: "?")
    static let open = UInt8(ascii: "[")
    static let close = UInt8(ascii: "]")
    static let backslash = UInt8(ascii: "\\")
    static let caret = UInt8(ascii: "^")
    static let dash = UInt8(ascii: "-")

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte | 0x20 : byte
    }

    struct Matcher {
        let pattern: UnsafeRawBufferPointer
        let subject: UnsafeRawBufferPointer
        let fold: Bool
        /// Set when the rest of the pattern after some star failed from every position:
        /// every enclosing star attempt can stop too.
        var giveUp = false

        init(pattern: UnsafeRawBufferPointer, subject: UnsafeRawBufferPointer, fold: Bool) {
            self.pattern = pattern
            self.subject = subject
            self.fold = fold
        }

        @inline(__always)
        func same(_ a: UInt8, _ b: UInt8) -> Bool {
            fold ? GlobMatch.lower(a) == GlobMatch.lower(b) : a == b
        }

        mutating func match(patternIndex: Int, subjectIndex: Int, depth: Int) -> Bool {
            if depth > GlobMatch.maximumNesting { return false }
            var p = patternIndex
            var s = subjectIndex
            let pEnd = pattern.count, sEnd = subject.count
            while p < pEnd && s < sEnd {
                let token = pattern[p]
                if token == GlobMatch.star {
                    while p + 1 < pEnd && pattern[p + 1] == GlobMatch.star { p += 1 }
                    if p + 1 == pEnd { return true }  // a trailing star takes everything left
                    // Try the rest of the pattern against each non-empty suffix.
                    while s < sEnd {
                        if match(patternIndex: p + 1, subjectIndex: s, depth: depth + 1) { return true }
                        if giveUp { return false }
                        s += 1
                    }
                    giveUp = true
                    return false
                } else if token == GlobMatch.question {
                    s += 1
                } else if token == GlobMatch.open {
                    let (inClass, last) = matchClass(from: p + 1, byte: subject[s])
                    if !inClass { return false }
                    p = last
                    s += 1
                } else {
                    if token == GlobMatch.backslash && p + 1 < pEnd { p += 1 }
                    if !same(pattern[p], subject[s]) { return false }
                    s += 1
                }
                p += 1
                if s == sEnd {
                    while p < pEnd && pattern[p] == GlobMatch.star { p += 1 }
                    break
                }
            }
            return p == pEnd && s == sEnd
        }

        /// Tests `byte` against the class whose body starts at `start` (just after '[').
        /// Returns the verdict and the index of the class's last pattern byte (its ']',
        /// or the pattern's last byte when the class is unterminated).
        func matchClass(from start: Int, byte: UInt8) -> (Bool, Int) {
            let pEnd = pattern.count
            var i = start
            let negated = i < pEnd && pattern[i] == GlobMatch.caret
            if negated { i += 1 }
            var found = false
            while true {
                if i >= pEnd { return (found != negated, pEnd - 1) }
                let c = pattern[i]
                if c == GlobMatch.backslash && i + 1 < pEnd {
                    i += 1
                    if pattern[i] == byte { found = true }  // escapes compare exactly, even folded
                } else if c == GlobMatch.close {
                    return (found != negated, i)
                } else if i + 2 < pEnd && pattern[i + 1] == GlobMatch.dash {
                    var low = Int(Int8(bitPattern: c))
                    var high = Int(Int8(bitPattern: pattern[i + 2]))
                    if low > high { swap(&low, &high) }
                    var value = Int(Int8(bitPattern: byte))
                    if fold {
                        low = Int(Int8(bitPattern: GlobMatch.lower(UInt8(bitPattern: Int8(low)))))
                        high = Int(Int8(bitPattern: GlobMatch.lower(UInt8(bitPattern: Int8(high)))))
                        value = Int(Int8(bitPattern: GlobMatch.lower(byte)))
                    }
                    if value >= low && value <= high { found = true }
                    i += 2
                } else if same(c, byte) {
                    found = true
                }
                i += 1
            }
        }
    }
}

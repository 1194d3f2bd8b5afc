#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if arch(x86_64) || arch(i386)
/// The C `long double` Redis uses for INCRBYFLOAT (80-bit on x86).
public typealias LongDouble = Float80
#else
public typealias LongDouble = Double
#endif

/// Redis's ways of printing and reading floating point numbers.
public enum DoubleFormat {
    /// Like Redis's addReplyDouble: "%.17g", with "inf" and "-inf".
    public static func reply(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return format("%.17g", value)
    }

    /// Like Redis's ld2string(..., LD_STR_HUMAN) used by INCRBYFLOAT: "%.17Lf" on a long
    /// double, then trailing zeros and a trailing '.' removed.
    public static func humanFriendly(_ value: LongDouble) -> String {
        #if arch(x86_64) || arch(i386)
        var text = format("%.17Lf", value)
        #else
        var text = format("%.17f", value)
        #endif
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if text == "-0" { text = "0" }
        return text
    }

    /// Parses like Redis's string2ld (strtold): no leading space, the whole input consumed,
    /// not NaN, and no overflow or underflow (ERANGE with an infinite or zero result is
    /// refused, so "1e5000" is not a valid float although strtold returns inf for it).
    /// Returns nil otherwise.
    public static func parseLongDouble(_ bytes: UnsafeRawBufferPointer) -> LongDouble? {
        guard bytes.count > 0, bytes.count < 5120 else { return nil }
        let first = bytes[0]
        if first == 0x20 || (first >= 0x09 && first <= 0x0D) { return nil }
        var cString = [CChar](repeating: 0, count: bytes.count + 1)
        for i in 0..<bytes.count { cString[i] = CChar(bitPattern: bytes[i]) }
        return cString.withUnsafeBufferPointer { p -> LongDouble? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            #if arch(x86_64) || arch(i386)
            let value = strtold(p.baseAddress!, &end)
            #else
            let value = strtod(p.baseAddress!, &end)
            #endif
            let failure = errno
            guard let end, end - UnsafeMutablePointer(mutating: p.baseAddress!) == bytes.count else { return nil }
            if value.isNaN || failure == EINVAL { return nil }
            if failure == ERANGE && (value.isInfinite || value == 0) { return nil }
            return value
        }
    }

    /// Parses like Redis's string2d (strtod): no leading space, all consumed, not NaN.
    public static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard bytes.count > 0, bytes.count < 5120 else { return nil }
        let first = bytes[0]
        if first == 0x20 || (first >= 0x09 && first <= 0x0D) { return nil }
        var cString = [CChar](repeating: 0, count: bytes.count + 1)
        for i in 0..<bytes.count { cString[i] = CChar(bitPattern: bytes[i]) }
        return cString.withUnsafeBufferPointer { p -> Double? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(p.baseAddress!, &end)
            guard let end, end - UnsafeMutablePointer(mutating: p.baseAddress!) == bytes.count else { return nil }
            if value.isNaN { return nil }
            return value
        }
    }

    static func format(_ format: String, _ value: some CVarArg) -> String {
        var storage = [CChar](repeating: 0, count: 5200)
        let count = storage.withUnsafeMutableBufferPointer { buf in
            withVaList([value]) { vsnprintf(buf.baseAddress, buf.count, format, $0) }
        }
        let length = Int(min(max(count, 0), 5199))
        return String(decoding: storage[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

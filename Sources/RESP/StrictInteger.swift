/// Integer parsing with exactly the rules of Redis's `string2ll`: an optional '-', then
/// digits with no leading zero (except "0" itself), no '+', no spaces, within Int64.
/// Used for protocol lengths and for every integer argument.
public enum StrictInteger {
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        if count == 0 || count > 20 { return nil }
        if count == 1 && bytes[0] == UInt8(ascii: "0") { return 0 }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
            if count == 1 { return nil }
        }
        let first = bytes[index]
        guard first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") else { return nil }
        // Accumulate as a negative number so that Int64.min is representable.
        var value = 0
        while index < count {
            let digit = Int(bytes[index]) &- 48
            guard digit >= 0 && digit <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(digit)
            if o1 || o2 { return nil }
            value = s
            index += 1
        }
        if negative { return value }
        if value == Int.min { return nil }
        return -value
    }

    @inlinable
    public static func parse(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { parse($0) }
    }
}

/// Parsers for redis.conf value syntax, shared by the config file, the command line and
/// CONFIG SET. Errors carry Redis's exact explanation text.
public enum ConfigValueParsing {
    public struct Failure: Error, Equatable {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
    }

    public static func bool(_ text: String) throws -> Bool {
        switch text.lowercased() {
        case "yes": return true
        case "no": return false
        default: throw Failure("argument must be 'yes' or 'no'")
        }
    }

    public static func integer(_ text: String, min: Int, max: Int) throws -> Int {
        guard let value = Int(text) else { throw Failure("argument couldn't be parsed into an integer") }
        guard value >= min && value <= max else {
            throw Failure("argument must be between \(min) and \(max) inclusive")
        }
        return value
    }

    /// A byte count with an optional unit: b, k (1000), kb (1024), m, mb, g, gb;
    /// case-insensitive, as Redis's memtoull.
    public static func memory(_ text: String) throws -> Int {
        let lower = text.lowercased()
        let units: [(String, Int)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10),
                                      ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1)]
        var digits = Substring(lower)
        var multiplier = 1
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            digits = lower.dropLast(suffix.count)
            multiplier = factor
            break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else {
            throw Failure("argument must be a memory value")
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw Failure("argument must be a memory value") }
        return product
    }

    public static func oneOf(_ text: String, _ choices: [String]) throws -> String {
        let lower = text.lowercased()
        guard choices.contains(lower) else {
            throw Failure("argument(s) must be one of the following: " + choices.joined(separator: ", "))
        }
        return lower
    }

    /// `save` rules: pairs of seconds and changes, or "" for none.
    public static func saveRules(_ words: [String]) throws -> [(seconds: Int, changes: Int)] {
        if words.count == 1 && words[0].isEmpty { return [] }
        guard words.count % 2 == 0 else { throw Failure("Invalid save parameters") }
        var rules: [(Int, Int)] = []
        var index = 0
        while index < words.count {
            guard let seconds = Int(words[index]), let changes = Int(words[index + 1]),
                  seconds >= 0, changes >= 0 else { throw Failure("Invalid save parameters") }
            rules.append((seconds, changes))
            index += 2
        }
        return rules
    }
}

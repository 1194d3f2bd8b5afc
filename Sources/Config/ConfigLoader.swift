import NIOCore
import RESP

/// Reads redis.conf-style configuration: one directive per line, `#` comments, words split
/// with Redis's quoting rules. Used for the config file and for `--name value` arguments,
/// which redis-server also turns into config lines.
public enum ConfigLoader {
    /// A directive that could not be applied, with enough context to fix it.
    public struct LoadError: Error, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let text: String
        public let reason: String

        /// Redis's fatal config error layout, plus the file name.
        public var description: String {
            """

            *** FATAL CONFIG FILE ERROR (Strata) ***
            Reading the configuration file \(file), at line \(line)
            >>> '\(text)'
            \(reason)
            """
        }
    }

    /// Applies `text` (the whole file or argument-built lines) to `config`.
    public static func apply(_ text: String, fileName: String, to config: ServerConfig) throws {
        var sawSave = false
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(rawLine).trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fail = { (reason: String) in
                LoadError(file: fileName, line: lineNumber, text: line, reason: reason)
            }
            guard let words = splitWords(line), !words.isEmpty else {
                throw fail("Unbalanced quotes in configuration line")
            }
            let name = words[0].lowercased()
            let arguments = Array(words.dropFirst())
            if name == "rename-command" {
                guard arguments.count == 2 else { throw fail("Bad directive or wrong number of arguments") }
                config.renamedCommands.append((arguments[0].lowercased(), arguments[1]))
                continue
            }
            guard let directive = ConfigDirectives.named(name),
                  directive.variadic ? !arguments.isEmpty : arguments.count == 1 else {
                throw fail("Bad directive or wrong number of arguments")
            }
            do {
                if name == "save" {
                    // The first `save` line replaces the defaults; later ones add rules.
                    let before = sawSave ? config.saveRules : []
                    try directive.set(config, arguments)
                    config.saveRules = before + config.saveRules
                    sawSave = true
                } else {
                    try directive.set(config, arguments)
                }
            } catch let failure as ConfigValueParsing.Failure {
                throw fail(failure.reason)
            }
        }
    }

    /// Turns `strata-server [file] --name value ... --name2 value` arguments into a file name
    /// and config text, the way redis-server does.
    public static func parseArguments(_ arguments: [String]) -> (configFile: String?, text: String) {
        var arguments = arguments[...]
        var file: String? = nil
        if let first = arguments.first, !first.hasPrefix("--") {
            file = first
            arguments = arguments.dropFirst()
        }
        var lines: [String] = []
        for argument in arguments {
            if argument.hasPrefix("--") && argument.count > 2 {
                lines.append(String(argument.dropFirst(2)))
            } else if lines.isEmpty {
                lines.append(quote(argument))  // a stray word: reported as a bad directive
            } else {
                lines[lines.count - 1] += " " + quote(argument)
            }
        }
        return (file, lines.joined(separator: "\n"))
    }

    /// Quotes a word so that `splitWords` gives it back unchanged: double quotes, with
    /// control bytes and every byte of a non-ASCII character escaped as \xHH (appending
    /// such a byte as a character would re-encode it as two).
    public static func quote(_ word: String) -> String {
        var out = "\""
        for byte in word.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            default:
                if byte < 0x20 || byte >= 0x7F {
                    out += "\\x" + String(byte, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                }
            }
        }
        return out + "\""
    }

    /// Splits a line into words with Redis's quoting rules; nil when quotes are unbalanced.
    public static func splitWords(_ line: String) -> [String]? {
        var buffer = ByteBuffer()
        buffer.writeString(line)
        guard let words = InlineSplitter.split(buffer) else { return nil }
        return words.ranges.map { range in
            words.storage.getString(at: range.lowerBound, length: range.count) ?? ""
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }

    fileprivate func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

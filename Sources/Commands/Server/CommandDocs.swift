import RESP

/*
 Command metadata that CommandSpec does not carry: what COMMAND DOCS and COMMAND INFO
 report beyond name, arity, flags and key positions (summary, since, complexity, history,
 argument grammar, key specs, tips, explicit ACL categories). The data is Redis 7.0's
 description of its public interface, generated into CommandDocsData.swift by
 scripts/gen_command_docs.py; it is read once, on first use, with a small JSON reader that
 keeps object key order (the replies must list fields in Redis's order).
*/
public enum CommandDocs {
    /// A JSON value with ordered objects.
    public indirect enum Value {
        case string(String)
        case int(Int)
        case array([Value])
        case object([(String, Value)])
        case bool(Bool)
        case null

        public subscript(key: String) -> Value? {
            if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
            return nil
        }

        var strings: [String] {
            guard case .array(let items) = self else { return [] }
            return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        }
    }

    /// One command's metadata.
    public struct Entry {
        /// The COMMAND DOCS map (without subcommands).
        public let docs: Value
        public let tips: [String]
        /// COMMAND INFO key specs.
        public let keySpecs: Value
        /// ACL categories beyond those the flags imply.
        public let categories: [String]
    }

    /// Metadata by full command name ("get", "config|get").
    public static let entries: [String: Entry] = {
        guard case .object(let pairs)? = parse(json) else { return [:] }
        var table: [String: Entry] = [:]
        for (name, value) in pairs {
            table[name] = Entry(docs: value["docs"] ?? .object([]), tips: value["tips"]?.strings ?? [],
                                keySpecs: value["keys"] ?? .array([]), categories: value["acl"]?.strings ?? [])
        }
        return table
    }()

    /// Writes a metadata value as RESP, shaped as Redis sends it: objects as maps,
    /// strings as bulk strings except inside `flags`/`doc_flags` (status replies), and the
    /// `flags`, `doc_flags` and `history` lists as sets (plain arrays in RESP2).
    static func write(_ value: Value, to reply: inout ReplyWriter, key: String = "", asSet: Bool = false) {
        let flagList = key == "flags" || key == "doc_flags"
        switch value {
        case .string(let text): if flagList { reply.status(text) } else { reply.bulk(text) }
        case .int(let number): reply.integer(number)
        case .bool(let flag): reply.boolean(flag)
        case .null: reply.null()
        case .array(let items):
            if asSet || flagList || key == "history" { reply.setHeader(items.count) } else { reply.arrayHeader(items.count) }
            for item in items { write(item, to: &reply, key: flagList ? key : "") }
        case .object(let pairs):
            reply.mapHeader(pairs.count)
            for (name, item) in pairs {
                reply.bulk(name)
                write(item, to: &reply, key: name)
            }
        }
    }

    // MARK: - JSON reader

    /// Parses JSON text (objects keep their key order); nil when malformed.
    public static func parse(_ text: String) -> Value? {
        var reader = Reader(bytes: Array(text.utf8))
        guard let value = reader.value() else { return nil }
        reader.skipSpace()
        return reader.position == reader.bytes.count ? value : nil
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
        }

        mutating func value() -> Value? {
            skipSpace()
            guard position < bytes.count else { return nil }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var pairs: [(String, Value)] = []
                skipSpace()
                if position < bytes.count && bytes[position] == UInt8(ascii: "}") { position += 1; return .object(pairs) }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                    position += 1
                    guard let item = value() else { return nil }
                    pairs.append((key, item))
                    skipSpace()
                    guard position < bytes.count else { return nil }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "}") { return .object(pairs) }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { return nil }
                }
            case UInt8(ascii: "["):
                position += 1
                var items: [Value] = []
                skipSpace()
                if position < bytes.count && bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                while true {
                    guard let item = value() else { return nil }
                    items.append(item)
                    skipSpace()
                    guard position < bytes.count else { return nil }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "]") { return .array(items) }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { return nil }
                }
            case UInt8(ascii: "\""):
                return string().map(Value.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default:
                let start = position
                while position < bytes.count, bytes[position] == UInt8(ascii: "-")
                        || (bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9")) {
                    position += 1
                }
                return Int(String(decoding: bytes[start..<position], as: UTF8.self)).map(Value.int)
            }
        }

        mutating func literal(_ word: String, _ result: Value) -> Value? {
            let utf8 = Array(word.utf8)
            guard position + utf8.count <= bytes.count, Array(bytes[position..<position + utf8.count]) == utf8 else {
                return nil
            }
            position += utf8.count
            return result
        }

        mutating func string() -> String? {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            position += 1
            var out: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if scalar >= 0xD800 && scalar < 0xDC00 {  // surrogate pair
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u") else { return nil }
                        position += 2
                        guard let low = hex4() else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "?").utf8)
                default: out.append(escape)  // \" \\ \/
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard position + 4 <= bytes.count,
                  let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
                return nil
            }
            position += 4
            return value
        }
    }
}

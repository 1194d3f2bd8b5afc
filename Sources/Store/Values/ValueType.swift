/*
 The one table of Redis's data types (DESIGN.md, "Values"). Each type's raw value is its
 tag everywhere a type is stored: the value codec's byte 1 on disk, the cold index's
 metadata, and the hot record's header. TYPE's names and OBJECT ENCODING's names come from
 here and are spelled nowhere else.

 The raw values are fixed for ever (bytes on disk carry them): a new type takes the next
 free one.
*/
public enum ValueType: UInt8, CaseIterable, Sendable {
    case string = 0
    case list = 1
    case set = 2
    case zset = 3
    case hash = 4
    case stream = 5

    /// The name TYPE answers (and SCAN's TYPE option matches).
    public var name: String {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .set: return "set"
        case .zset: return "zset"
        case .hash: return "hash"
        case .stream: return "stream"
        }
    }

    /// OBJECT ENCODING's name for a collection of this type in this form: Redis 7.0's
    /// names (its lists are always a "quicklist", of listpack nodes).
    public func encodingName(_ form: PackedForm) -> String {
        switch (self, form) {
        case (.list, _): return "quicklist"
        case (.set, .intset): return "intset"
        case (_, .owned): return "hashtable"
        default: return "listpack"
        }
    }

    /// The type whose TYPE name is `name` (lowercase, as Redis compares it), if any.
    public init?(name: String) {
        guard let type = ValueType.allCases.first(where: { $0.name == name }) else { return nil }
        self = type
    }
}

/// A value stored under a key, as it travels between the hot record, the value codec and
/// the log: a string's bytes, or a collection's payload in its packed form.
public enum Value {
    /// A string: raw bytes (integers are stored as their decimal text).
    case string([UInt8])
    /// A list, set or hash in a packed form: the form's byte (`PackedForm`), then its bytes
    /// (a `Listpack` or an `IntSet`). The same bytes are the hot record's value part and
    /// the codec's payload.
    case collection(ValueType, [UInt8])

    /// The value's type.
    public var type: ValueType {
        switch self {
        case .string: return .string
        case .collection(let type, _): return type
        }
    }

    /// The name TYPE reports.
    public var typeName: String { type.name }

    /// Calls `body` with the value's type and its payload bytes (what the record and the
    /// codec store).
    @inlinable
    public func withPayload<R>(_ body: (ValueType, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .string(let bytes): return try bytes.withUnsafeBytes { try body(.string, $0) }
        case .collection(let type, let bytes): return try bytes.withUnsafeBytes { try body(type, $0) }
        }
    }
}

/// How a collection's payload is laid out: its first byte. Fixed for ever (bytes on disk
/// carry them). 0x7F is kept for the later form of a very large collection whose elements
/// are RocksDB records of their own (DESIGN.md "Values"): the payload then holds only the
/// metadata.
public enum PackedForm: UInt8, Sendable {
    /// A `Listpack`: a list's elements; a hash's fields and values, alternating; a set's members.
    case listpack = 0
    /// An `IntSet` (sets whose members are all integers).
    case intset = 1
    /// A large collection's object, owned by the hot record (`OwnedValue`); never stored.
    case owned = 2
}

/// Bytes of a string value, or nil when the value is not a string.
extension Value {
    @inlinable
    public var stringBytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }
}

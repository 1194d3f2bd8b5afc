/// A value stored under a key. One case per Redis data type; each later data type adds a
/// case (and its codec tag) here.
public enum Value {
    /// A string: raw bytes (integers are stored as their decimal text).
    case string([UInt8])

    /// The name TYPE reports.
    public var typeName: String {
        switch self {
        case .string: return "string"
        }
    }
}

/// Bytes of a string value, or nil when the value is not a string.
extension Value {
    @inlinable
    public var stringBytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }
}

/// Redis's error texts, copied exactly: clients and tests match on them.
public enum ErrorReplies {
    public static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
    public static let syntax = "ERR syntax error"
    public static let notInteger = "ERR value is not an integer or out of range"
    public static let notFloat = "ERR value is not a valid float"
    public static let overflow = "ERR increment or decrement would overflow"
    public static let noSuchKey = "ERR no such key"
    public static let mustBePositive = "ERR value is out of range, must be positive"
    public static let outOfRangeIndex = "ERR index out of range"
    public static let dbIndexOutOfRange = "ERR DB index is out of range"
    public static let noAuth = "NOAUTH Authentication required."
    public static let wrongPass = "WRONGPASS invalid username-password pair or user is disabled."
    public static let notPositive = "ERR value is out of range, must be positive"
    public static let oom = "OOM command not allowed when used memory > 'maxmemory'."
    public static let execAbort = "EXECABORT Transaction discarded because of previous errors."

    public static func wrongArity(_ name: String) -> String {
        "ERR wrong number of arguments for '\(name)' command"
    }

    public static func invalidExpire(_ command: String) -> String {
        "ERR invalid expire time in '\(command)' command"
    }

    public static func unknownSubcommand(_ sub: String, _ container: String) -> String {
        "ERR unknown subcommand '\(sub.prefix(128))'. Try \(container.uppercased()) HELP."
    }
}

import RESP

/// Redis command flags (the subset Strata uses to make decisions, plus those that COMMAND
/// reports).
public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    /// May grow memory: refused with -OOM when over maxmemory under noeviction.
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    public static let admin = CommandFlags(rawValue: 1 << 3)
    public static let pubsub = CommandFlags(rawValue: 1 << 4)
    public static let noscript = CommandFlags(rawValue: 1 << 5)
    public static let blocking = CommandFlags(rawValue: 1 << 6)
    public static let loading = CommandFlags(rawValue: 1 << 7)
    public static let stale = CommandFlags(rawValue: 1 << 8)
    public static let skipMonitor = CommandFlags(rawValue: 1 << 9)
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 10)
    public static let fast = CommandFlags(rawValue: 1 << 11)
    /// Allowed before authentication (AUTH, HELLO, QUIT, RESET).
    public static let noAuth = CommandFlags(rawValue: 1 << 12)
    /// Runs immediately even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
    public static let noQueue = CommandFlags(rawValue: 1 << 13)
    /// Not allowed inside MULTI.
    public static let noMulti = CommandFlags(rawValue: 1 << 14)
    /// Key positions depend on the arguments (`keySearch`).
    public static let movableKeys = CommandFlags(rawValue: 1 << 15)
    /// Needs `enable-debug-command`.
    public static let protected = CommandFlags(rawValue: 1 << 16)
    public static let allowBusy = CommandFlags(rawValue: 1 << 17)

    /// Names as COMMAND INFO prints them.
    public var names: [String] {
        let table: [(CommandFlags, String)] = [
            (.write, "write"), (.readonly, "readonly"), (.denyOOM, "denyoom"), (.admin, "admin"),
            (.pubsub, "pubsub"), (.noscript, "noscript"), (.blocking, "blocking"), (.loading, "loading"),
            (.stale, "stale"), (.skipMonitor, "skip_monitor"), (.skipSlowlog, "skip_slowlog"),
            (.fast, "fast"), (.noAuth, "no_auth"), (.noMulti, "no_multi"), (.movableKeys, "movablekeys"),
            (.protected, "protected"), (.allowBusy, "allow_busy"),
        ]
        return table.filter { contains($0.0) }.map(\.1)
    }
}

/// What a command needs of a cold key it names (DESIGN.md, "Execution model"). Only
/// `value` makes the command wait for a RocksDB read; the cold index answers the rest.
public enum ColdNeed: Sendable {
    /// The key's value (GET, APPEND, INCR): read from RocksDB first.
    case value
    /// Whether it exists, and its metadata: type, expiry, access history (EXISTS, TYPE,
    /// the TTL and EXPIRE families, PERSIST, TOUCH, SET NX/XX/KEEPTTL, MSETNX).
    case metadata
    /// Its metadata, and its value inside a transaction (RENAME, RENAMENX, MOVE, COPY): the
    /// value moves inside the cold tier, and a target moved there could not be read by a
    /// later command of the same EXEC.
    case movedValue
    /// Nothing: a blind write replaces or removes it (SET, SETEX, MSET, DEL, UNLINK).
    case nothing
}

/// A command handler: parses its arguments, runs against the store, writes the reply.
public typealias CommandHandler = (Client, CommandArguments) -> Void

/*
 A command described as data, as Redis's command table does: name, arity (negative =
 "at least"), flags, key positions (first, last, step; last -1 = up to the end), and the
 handler. The dispatcher checks arity, authentication and MULTI rules once from this spec,
 so handlers never repeat them; the key positions are also what makes cold keys resident
 before the command runs, so they must be right for every command.
*/
public final class CommandSpec {
    public let name: String
    public let arity: Int
    public let flags: CommandFlags
    public let firstKey: Int
    public let lastKey: Int
    public let keyStep: Int
    public let group: String
    public let summary: String
    public let handler: CommandHandler
    /// Key positions for commands whose keys move with the arguments.
    public let keySearch: ((CommandArguments) -> [Int])?
    /// Subcommands of a container command (CONFIG, CLIENT...), by lowercase name.
    public private(set) var subcommands: [String: CommandSpec] = [:]
    /// The container's name for a subcommand ("config"), else nil.
    public private(set) var parentName: String?
    /// What the command needs of its cold keys (for every key position)...
    public let coldNeed: ColdNeed
    /// ...or, for a command whose need depends on its arguments (SET ... GET), this.
    let coldNeedOf: ((CommandArguments) -> ColdNeed)?
    /// SAVE: the connection waits for a checkpoint before the handler replies.
    public var waitsForCheckpoint = false
    /// What the cold tier must do before this command runs (ColdAdmission), worked out
    /// once rather than from the name on every command.
    lazy var coldRole: ColdRole = ColdRole(self)

    // Statistics for INFO commandstats.
    public var calls = 0
    public var microseconds = 0
    public var rejectedCalls = 0
    public var failedCalls = 0
    /// Latency distribution for INFO latencystats; created on the first call.
    public var latencyHistogram: LatencyHistogram?

    public init(_ name: String, arity: Int, flags: CommandFlags = [], keys: (Int, Int, Int) = (0, 0, 0),
                group: String = "generic", summary: String = "",
                keySearch: ((CommandArguments) -> [Int])? = nil,
                coldNeed: ColdNeed = .value,
                coldNeedOf: ((CommandArguments) -> ColdNeed)? = nil,
                subcommands: [CommandSpec] = [],
                handler: @escaping CommandHandler = { _, _ in }) {
        self.name = name
        self.arity = arity
        self.flags = keySearch == nil ? flags : flags.union(.movableKeys)
        self.firstKey = keys.0
        self.lastKey = keys.1
        self.keyStep = keys.2
        self.group = group
        self.summary = summary
        self.keySearch = keySearch
        self.coldNeed = coldNeed
        self.coldNeedOf = coldNeedOf
        self.handler = handler
        for sub in subcommands {
            sub.parentName = name
            self.subcommands[sub.name] = sub
        }
    }

    /// What this call needs of the cold keys it names.
    @inline(__always)
    public func coldNeed(_ arguments: CommandArguments) -> ColdNeed {
        coldNeedOf?(arguments) ?? coldNeed
    }

    /// "config|get" for subcommands, else the name.
    public var fullName: String { parentName.map { "\($0)|\(name)" } ?? name }

    public var isContainer: Bool { !subcommands.isEmpty }

    /// True when `count` arguments (command name included) satisfy the arity.
    @inlinable
    public func acceptsArgumentCount(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// The positions of the key arguments of a call of this command.
    public func keyPositions(_ arguments: CommandArguments) -> [Int] {
        if let keySearch { return keySearch(arguments) }
        guard firstKey > 0 else { return [] }
        let last = lastKey < 0 ? arguments.count + lastKey : lastKey
        guard firstKey <= last else { return [] }
        return Array(stride(from: firstKey, through: Swift.min(last, arguments.count - 1), by: Swift.max(keyStep, 1)))
    }

    public func resetStats() {
        calls = 0; microseconds = 0; rejectedCalls = 0; failedCalls = 0
        latencyHistogram = nil
        for sub in subcommands.values { sub.resetStats() }
    }
}

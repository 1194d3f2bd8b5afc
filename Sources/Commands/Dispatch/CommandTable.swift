/// Every command, found by name without allocating: names are bucketed by length and
/// first/last letter, then compared ignoring ASCII case.
public final class CommandTable {
    static let bucketCount = 1024
    private var buckets: [[(name: [UInt8], spec: CommandSpec)]]
    /// Specs by their real lowercase name (COMMAND INFO, DOCS, stats), renamed or not.
    public private(set) var byName: [String: CommandSpec] = [:]
    /// The names clients must use, after `rename-command`, by real name.
    public private(set) var publicNames: [String: String] = [:]

    /// Every command family's specs, as new instances on each call: a spec carries its
    /// statistics, so each server (and each test) gets its own. A new family adds its list here.
    public static func allSpecs() -> [CommandSpec] {
        ConnectionCommands.specs + TransactionCommands.specs + StringCommands.specs + BitmapCommands.specs
            + ListCommands.specs + HashCommands.specs + SetCommands.specs + KeyCommands.specs + ExpiryCommands.specs + ServerCommands.specs + ClientCommands.specs
            + CommandIntrospection.specs + TierCommand.specs + PersistenceCommands.specs + MemoryCommand.specs
    }

    /// Builds the table; `renames` applies `rename-command` (an empty new name disables).
    public init(renames: [(from: String, to: String)] = [], specs: [CommandSpec] = CommandTable.allSpecs()) {
        buckets = Array(repeating: [], count: CommandTable.bucketCount)
        for spec in specs {
            byName[spec.name] = spec
            var visibleName = spec.name
            if let rename = renames.last(where: { $0.from == spec.name }) { visibleName = rename.to.lowercased() }
            guard !visibleName.isEmpty else { continue }
            publicNames[spec.name] = visibleName
            let bytes = Array(visibleName.utf8)
            buckets[CommandTable.bucket(bytes.withUnsafeBytes { $0 })].append((bytes, spec))
        }
    }

    @inline(__always)
    static func bucket(_ name: UnsafeRawBufferPointer) -> Int {
        guard name.count > 0 else { return 0 }
        let first = Int(name[0] | 0x20), last = Int(name[name.count - 1] | 0x20)
        return (first &* 31 &+ last &* 7 &+ name.count &* 131) & (bucketCount - 1)
    }

    /// The command named by `name` (any case), or nil.
    public func lookup(_ name: UnsafeRawBufferPointer) -> CommandSpec? {
        let candidates = buckets[CommandTable.bucket(name)]
        for (candidate, spec) in candidates where candidate.count == name.count {
            var equal = true
            for i in 0..<name.count {
                var c = name[i]
                if c >= 65 && c <= 90 { c |= 0x20 }
                if c != candidate[i] { equal = false; break }
            }
            if equal { return spec }
        }
        return nil
    }

    public func lookup(_ name: String) -> CommandSpec? {
        var name = name
        return name.withUTF8 { lookup(UnsafeRawBufferPointer($0)) }
    }

    /// All specs, sorted by name.
    public var all: [CommandSpec] { byName.values.sorted { $0.name < $1.name } }

    public func resetStats() { for spec in byName.values { spec.resetStats() } }
}

import Config

/// The thresholds between the packed and the large forms of collections, read from the
/// configuration once per command (Redis's directives; CONFIG SET changes them for later
/// writes, as in Redis).
public struct CollectionLimits: Sendable {
    public var listNode: ListNodeLimit
    public var hashEntries: Int
    public var hashValue: Int
    public var setIntsetEntries: Int
    public var setListpackEntries: Int
    public var setListpackValue: Int

    public init(_ config: ServerConfig) {
        listNode = ListNodeLimit(config.listMaxListpackSize, compressDepth: config.listCompressDepth)
        hashEntries = config.hashMaxListpackEntries
        hashValue = config.hashMaxListpackValue
        setIntsetEntries = config.setMaxIntsetEntries
        setListpackEntries = config.setMaxListpackEntries
        setListpackValue = config.setMaxListpackValue
    }

    /// Redis's defaults.
    public static let defaults = CollectionLimits(ServerConfig())
}

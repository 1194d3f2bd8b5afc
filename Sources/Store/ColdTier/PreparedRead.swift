/*
 A value read from RocksDB is decoded on the reader thread that read it, not on the
 execution thread: decompression, validation and, for a collection over the thresholds,
 building its object (a QuickList or a FieldTable). A 100 MB hash took the event loop
 hundreds of milliseconds to decode and build; now `install` only links the result into
 the keyspace. The object is allocated from the execution thread's arena, so that it
 counts toward maxmemory as the keyspace's other memory does.
*/
enum PreparedRead {
    /// RocksDB holds no value under the key.
    case missing
    /// The bytes did not decode (counted as a read error, like a failed read).
    case undecodable
    /// The value, in the form the hot record holds: a large collection's payload is an
    /// owned form, whose reference whoever drops the value must release (`discard`).
    case value(Value, expireAt: Int64, rawEncoding: Bool)

    /// Runs on a reader thread.
    static func prepare(_ bytes: [UInt8]?, limits: CollectionLimits) -> PreparedRead {
        guard let bytes else { return .missing }
        guard let decoded = try? bytes.withUnsafeBytes({ try ValueCodec.decodeRecord($0) }) else {
            return .undecodable
        }
        guard case .collection(let type, let payload) = decoded.value else {
            return .value(decoded.value, expireAt: decoded.expireAt, rawEncoding: decoded.rawEncoding)
        }
        let resident = MemoryStats.buildingForKeyspace {
            payload.withUnsafeBytes { raw in
                Database.withResidentPayload(type, raw, limits: limits) { [UInt8]($0) }
            }
        }
        return .value(.collection(type, resident), expireAt: decoded.expireAt, rawEncoding: decoded.rawEncoding)
    }

    /// Drops a value that will not be installed (the key changed or went meanwhile).
    func discard() {
        guard case .value(.collection(_, let payload), _, _) = self else { return }
        payload.withUnsafeBytes { OwnedValue.release($0) }
    }
}

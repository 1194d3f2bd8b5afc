/*
 How commands reach a list, hash or set at a slot whichever its form (DESIGN.md "Values"):
 `list(_:)`, `hash(_:)` and `set(_:)` give the value to read or change, and `store` puts a
 changed one back in the form its size calls for (a packed form in the record, or the
 record owning the large object); an emptied collection removes its key, as in Redis. A
 large collection is changed in place, so storing it back costs nothing.

 A value that arrives packed from elsewhere (RocksDB, the log, COPY, RESTORE) is turned
 into its large form here when it is over the limits (`residentPayload`).
*/
extension Database {
    /// The thresholds of the current configuration.
    @inline(__always)
    public var limits: CollectionLimits { CollectionLimits(store.config) }

    // MARK: - Lists

    /// The list at `slot`, or nil when the key holds another type. A packed list comes as a
    /// new one-node QuickList (a copy): changes reach the key only through `store`.
    public func list(_ slot: SlotPointer) -> QuickList? {
        let record = slot.pointee.record
        guard record.valueType == .list else { return nil }
        if let owned = record.ownedValue { return unsafeDowncast(owned, to: QuickList.self) }
        return QuickList(listpack: [UInt8](record.valueBytes[1...]))
    }

    /// Puts `list` back at `slot` after a change (the slot came from `lookupWrite`);
    /// removes the key when it is empty. The caller signals the change (`modified`).
    public func store(_ list: QuickList, at slot: SlotPointer) {
        if list.count == 0 { return remove(slot) }
        let owned = slot.pointee.record.ownedValue
        if let node = list.singleNode {
            let n = list.count
            // An owned list goes back to the packed form only at half the limit, so that a
            // list at the threshold does not convert on every push and pop.
            let limit = limits.listNode
            if owned == nil ? limit.allows(bytes: node.count, count: n)
                : limit.allows(bytes: node.count * 2, count: n * 2) {
                return setPacked(slot, .list, .listpack, node)
            }
        }
        if owned !== list { setOwned(slot, .list, list) }
    }

    /// Creates `key` (absent) holding `list`, which is not empty.
    public func add(_ key: UnsafeRawBufferPointer, list: QuickList) {
        if let node = list.singleNode, limits.listNode.allows(bytes: node.count, count: list.count) {
            Database.packedPayload(.listpack, node).withUnsafeBytes { add(key, type: .list, payload: $0) }
        } else {
            OwnedValue.payload(list).withUnsafeBytes { add(key, type: .list, payload: $0) }
        }
    }

    // MARK: - Hashes

    /// The table of the large hash or set at `slot`, or nil for any other value.
    public static func fieldTable(_ slot: SlotPointer) -> FieldTable? {
        let record = slot.pointee.record
        guard record.valueType == .hash || record.valueType == .set, let owned = record.ownedValue else { return nil }
        return unsafeDowncast(owned, to: FieldTable.self)
    }

    public func hash(_ slot: SlotPointer) -> HashValue? {
        let record = slot.pointee.record
        guard record.valueType == .hash else { return nil }
        if let owned = record.ownedValue { return .table(unsafeDowncast(owned, to: FieldTable.self)) }
        return .packed([UInt8](record.valueBytes[1...]))
    }

    public func store(_ hash: HashValue, at slot: SlotPointer) {
        if hash.count == 0 { return remove(slot) }
        switch hash {
        case .packed(let bytes): setPacked(slot, .hash, .listpack, bytes)
        case .table(let table): if slot.pointee.record.ownedValue !== table { setOwned(slot, .hash, table) }
        }
    }

    public func add(_ key: UnsafeRawBufferPointer, hash: HashValue) {
        switch hash {
        case .packed(let bytes): Database.packedPayload(.listpack, bytes).withUnsafeBytes { add(key, type: .hash, payload: $0) }
        case .table(let table): OwnedValue.payload(table).withUnsafeBytes { add(key, type: .hash, payload: $0) }
        }
    }

    // MARK: - Sets

    public func set(_ slot: SlotPointer) -> SetValue? {
        let record = slot.pointee.record
        guard record.valueType == .set else { return nil }
        if let owned = record.ownedValue { return .table(unsafeDowncast(owned, to: FieldTable.self)) }
        let bytes = [UInt8](record.valueBytes[1...])
        return record.valueBytes[0] == PackedForm.intset.rawValue ? .intset(bytes) : .packed(bytes)
    }

    public func store(_ set: SetValue, at slot: SlotPointer) {
        if set.count == 0 { return remove(slot) }
        switch set {
        case .intset(let bytes): setPacked(slot, .set, .intset, bytes)
        case .packed(let bytes): setPacked(slot, .set, .listpack, bytes)
        case .table(let table): if slot.pointee.record.ownedValue !== table { setOwned(slot, .set, table) }
        }
    }

    public func add(_ key: UnsafeRawBufferPointer, set: SetValue) {
        switch set {
        case .intset(let bytes): Database.packedPayload(.intset, bytes).withUnsafeBytes { add(key, type: .set, payload: $0) }
        case .packed(let bytes): Database.packedPayload(.listpack, bytes).withUnsafeBytes { add(key, type: .set, payload: $0) }
        case .table(let table): OwnedValue.payload(table).withUnsafeBytes { add(key, type: .set, payload: $0) }
        }
    }

    // MARK: - Forms

    static func packedPayload(_ form: PackedForm, _ bytes: [UInt8]) -> [UInt8] {
        var payload = [form.rawValue]
        payload.append(contentsOf: bytes)
        return payload
    }

    private func setPacked(_ slot: SlotPointer, _ type: ValueType, _ form: PackedForm, _ bytes: [UInt8]) {
        Database.packedPayload(form, bytes).withUnsafeBytes { slot.pointee.setValue(type, $0) }
    }

    private func setOwned(_ slot: SlotPointer, _ type: ValueType, _ object: OwnedCollection) {
        OwnedValue.payload(object).withUnsafeBytes { slot.pointee.setValue(type, $0) }
    }

    /// Calls `body` with the payload a record should hold for `type` and a stored
    /// `payload`: the same bytes, or, for a collection over the limits, an owned form
    /// (whose reference the record that stores it takes over).
    func withResidentPayload<R>(_ type: ValueType, _ payload: UnsafeRawBufferPointer,
                                _ body: (UnsafeRawBufferPointer) -> R) -> R {
        Database.withResidentPayload(type, payload, limits: limits, body)
    }

    /// The same, for the given limits: also runs on a cold-tier reader thread, which builds
    /// a large collection's object there (`ColdTier.prepare`).
    static func withResidentPayload<R>(_ type: ValueType, _ payload: UnsafeRawBufferPointer, limits: CollectionLimits,
                                       _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard type != .string, payload.count > 0, let form = PackedForm(rawValue: payload[0]), form != .owned else {
            return body(payload)
        }
        let bytes = [UInt8](payload[1...])
        switch type {
        case .list:
            let list = QuickList(listpack: bytes)
            if limits.listNode.allows(bytes: bytes.count, count: list.count) { return body(payload) }
            let nodes = QuickList()
            nodes.replaceAll(with: list.elements, limit: limits.listNode)
            return OwnedValue.payload(nodes).withUnsafeBytes(body)
        case .hash:
            if case .table(let table) = HashValue.loaded(bytes, limits: limits) {
                return OwnedValue.payload(table).withUnsafeBytes(body)
            }
        case .set:
            if case .table(let table) = SetValue.loaded(form: form, bytes, limits: limits) {
                return OwnedValue.payload(table).withUnsafeBytes(body)
            }
        default:
            break
        }
        return body(payload)
    }

    /// Creates `key` (absent) with the value, expiry and metadata of a record taken from
    /// another key (RENAME, MOVE): a large collection's object moves with it, uncopied.
    public func add(_ key: UnsafeRawBufferPointer, moving taken: KeySlot) {
        let record = taken.record
        add(key, type: record.valueType, payload: record.valueBytes, expireAt: taken.expireAt, meta: taken.meta)
        taken.releaseKeepingValue()
    }

    /// Replaces the value at `slot` with `value` (log replay).
    public func replaceValue(_ slot: SlotPointer, _ value: Value) {
        value.withPayload { type, payload in
            withResidentPayload(type, payload) { slot.pointee.setValue(type, $0) }
        }
    }
}

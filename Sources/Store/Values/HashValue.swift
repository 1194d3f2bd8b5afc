#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/*
 A hash, whichever its form, as commands read and change it: packed (a listpack of field,
 value, field, value...) while it has at most `hash-max-listpack-entries` fields and no
 field or value longer than `hash-max-listpack-value`, then a `FieldTable` for good (Redis
 never converts back either, except when a value is loaded again).
*/
public enum HashValue {
    case packed([UInt8])
    case table(FieldTable)

    /// A hash with no fields yet (a key being created), in the packed form.
    public static var empty: HashValue { .packed(Listpack.empty()) }

    public var count: Int {
        switch self {
        case .packed(let bytes): return bytes.withUnsafeBytes { Listpack.count($0) } / 2
        case .table(let table): return table.count
        }
    }

    /// Calls `body` with the value of `field` if it is there; returns whether it was.
    @discardableResult
    public func withValue(_ field: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        switch self {
        case .packed(let bytes):
            return bytes.withUnsafeBytes { raw in
                guard let offset = HashValue.fieldOffset(raw, field) else { return false }
                let valueStart = Listpack.entry(raw, at: offset).next
                body(UnsafeRawBufferPointer(rebasing: raw[Listpack.entry(raw, at: valueStart).0]))
                return true
            }
        case .table(let table):
            guard let value = table.value(field) else { return false }
            body(value)
            return true
        }
    }

    public func value(_ field: UnsafeRawBufferPointer) -> [UInt8]? {
        var result: [UInt8]?
        withValue(field) { result = [UInt8]($0) }
        return result
    }

    public func contains(_ field: UnsafeRawBufferPointer) -> Bool { withValue(field) { _ in } }

    /// The offset of the entry holding `field` in a packed hash (fields are the even entries).
    static func fieldOffset(_ raw: UnsafeRawBufferPointer, _ field: UnsafeRawBufferPointer) -> Int? {
        var offset = Listpack.headerBytes
        let pairs = Listpack.count(raw) / 2
        for _ in 0..<pairs {
            let (range, next) = Listpack.entry(raw, at: offset)
            if range.count == field.count && memcmpEqual(raw, range, field) { return offset }
            offset = Listpack.entry(raw, at: next).next
        }
        return nil
    }

    /// Index (in entries) of `field` in a packed hash.
    static func fieldIndex(_ bytes: [UInt8], _ field: UnsafeRawBufferPointer) -> Int? {
        bytes.withUnsafeBytes { raw -> Int? in
            var offset = Listpack.headerBytes
            let n = Listpack.count(raw)
            var index = 0
            while index < n {
                let (range, next) = Listpack.entry(raw, at: offset)
                if range.count == field.count && memcmpEqual(raw, range, field) { return index }
                offset = Listpack.entry(raw, at: next).next
                index += 2
            }
            return nil
        }
    }

    /// Calls `body` with every field and value.
    public func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        switch self {
        case .packed(let bytes):
            bytes.withUnsafeBytes { raw in
                var offset = Listpack.headerBytes
                for _ in 0..<(Listpack.count(raw) / 2) {
                    let (field, next) = Listpack.entry(raw, at: offset)
                    let (value, after) = Listpack.entry(raw, at: next)
                    body(UnsafeRawBufferPointer(rebasing: raw[field]), UnsafeRawBufferPointer(rebasing: raw[value]))
                    offset = after
                }
            }
        case .table(let table):
            table.forEach(body)
        }
    }

    /// Every field and value, in the hash's order.
    public var pairs: [(field: [UInt8], value: [UInt8])] {
        var result: [(field: [UInt8], value: [UInt8])] = []
        result.reserveCapacity(count)
        forEach { result.append(([UInt8]($0), [UInt8]($1))) }
        return result
    }

    /// Stores `value` under `field`; true when the field is new. Converts to the table form
    /// past the limits.
    @discardableResult
    public mutating func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                             limits: CollectionLimits) -> Bool {
        switch self {
        case .table(let table):
            return table.set(field, value)
        case .packed(var bytes):
            let existing = HashValue.fieldIndex(bytes, field)
            let fits = field.count <= limits.hashValue && value.count <= limits.hashValue
                && (existing != nil || count + 1 <= limits.hashEntries)
            guard fits else {
                let table = toTable()
                self = .table(table)
                return table.set(field, value)
            }
            self = .packed([])  // let `bytes` be the array's only reference: edits in place
            if let existing {
                Listpack.replace(at: existing + 1, with: value, in: &bytes)
            } else {
                Listpack.append(field, to: &bytes)
                Listpack.append(value, to: &bytes)
            }
            self = .packed(bytes)
            return existing == nil
        }
    }

    /// Removes `field`; true when it was there.
    @discardableResult
    public mutating func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .table(let table):
            return table.remove(field)
        case .packed(var bytes):
            guard let index = HashValue.fieldIndex(bytes, field) else { return false }
            self = .packed([])
            Listpack.remove(at: index, count: 2, in: &bytes)
            self = .packed(bytes)
            return true
        }
    }

    /// The table form with the same contents.
    func toTable() -> FieldTable {
        let table = FieldTable(type: .hash)
        forEach { table.set($0, $1) }
        return table
    }

    /// The form a hash loaded from `payload` (a packed listpack) takes under `limits`.
    static func loaded(_ listpack: [UInt8], limits: CollectionLimits) -> HashValue {
        let packed = HashValue.packed(listpack)
        var fits = packed.count <= limits.hashEntries
        if fits {
            packed.forEach { field, value in
                if field.count > limits.hashValue || value.count > limits.hashValue { fits = false }
            }
        }
        return fits ? packed : .table(packed.toTable())
    }
}

// MARK: - Random fields (HRANDFIELD)

/*
 HRANDFIELD draws from a table with `FieldTable.withRandomEntry` (no copy of the hash); a packed
 hash has at most `hash-max-listpack-entries` pairs, so it is decoded to an array first.
 Distinct draws follow Redis's hrandfieldWithCountCommand: when the count is small next
 to the size (Redis's CASE 4, count * 3 <= size) fields are drawn until enough distinct
 ones came, otherwise (CASE 3) a partial shuffle of all pairs picks them, which needs no
 retries however close the count is to the size.
*/
extension HashValue {
    /// Above this ratio of size to count, distinct fields are drawn by rejection rather
    /// than by shuffling a copy of the hash (Redis's HRANDFIELD_SUB_STRATEGY_MUL).
    static let distinctDrawRatio = 3

    /// One field and its value chosen at random (the hash is not empty).
    public func randomPair() -> (field: [UInt8], value: [UInt8]) {
        if case .table(let table) = self { return table.randomEntry() }
        let all = pairs
        return all[Int.random(in: 0..<all.count, using: &FastRandom.shared)]
    }

    /// Calls `body` with `count` pairs chosen independently (repeats allowed; the hash is
    /// not empty).
    public func forEachRandomPair(_ count: Int,
                                  _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        if case .table(let table) = self {
            for _ in 0..<count { table.withRandomEntry(body) }
            return
        }
        let all = pairs
        for _ in 0..<count {
            let pair = all[Int.random(in: 0..<all.count, using: &FastRandom.shared)]
            pair.field.withUnsafeBytes { field in pair.value.withUnsafeBytes { body(field, $0) } }
        }
    }

    /// `count` distinct pairs chosen at random (0 < count < self.count).
    public func randomPairs(distinct count: Int) -> [(field: [UInt8], value: [UInt8])] {
        if case .table(let table) = self, count * HashValue.distinctDrawRatio <= table.count {
            var seen = Set<[UInt8]>(minimumCapacity: count)
            var chosen: [(field: [UInt8], value: [UInt8])] = []
            chosen.reserveCapacity(count)
            while chosen.count < count {
                let pair = table.randomEntry()
                if seen.insert(pair.field).inserted { chosen.append(pair) }
            }
            return chosen
        }
        // A partial Fisher-Yates shuffle: the first `count` places are a uniform choice.
        var all = pairs
        for index in 0..<count {
            all.swapAt(index, Int.random(in: index..<all.count, using: &FastRandom.shared))
        }
        return Array(all[..<count])
    }
}

/// True when `raw[range]` holds the same bytes as `other` (same count checked by the caller).
@inline(__always)
func memcmpEqual(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ other: UnsafeRawBufferPointer) -> Bool {
    range.isEmpty || memcmp(raw.baseAddress! + range.lowerBound, other.baseAddress!, range.count) == 0
}

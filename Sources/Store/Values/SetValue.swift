/*
 A set, whichever its form, as commands read and change it:
 - an `IntSet` while every member is an integer (in Redis's canonical decimal form) and
   there are at most `set-max-intset-entries`;
 - a listpack of members while there are at most `set-max-listpack-entries`, none longer
   than `set-max-listpack-value` (Redis 7.2's form; 7.0 went straight to a hash table);
 - then a `FieldTable` (members with empty values).
*/
public enum SetValue {
    case intset([UInt8])
    case packed([UInt8])
    case table(FieldTable)

    public var count: Int {
        switch self {
        case .intset(let bytes): return bytes.withUnsafeBytes { IntSet.count($0) }
        case .packed(let bytes): return bytes.withUnsafeBytes { Listpack.count($0) }
        case .table(let table): return table.count
        }
    }

    /// The member as an intset integer: canonical decimal (no sign but a leading '-', no
    /// leading zeros, not "-0") that fits 64 bits, as Redis's string2ll accepts.
    public static func integer(_ member: UnsafeRawBufferPointer) -> Int64? {
        let n = member.count
        guard n > 0, n <= 20 else { return nil }
        var index = 0
        let negative = member[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < n else { return nil }
        if member[index] == UInt8(ascii: "0") { return n == 1 ? 0 : nil }
        var value: UInt64 = 0
        while index < n {
            let digit = member[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(digit))
            guard !o1, !o2 else { return nil }
            value = sum
            index += 1
        }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return Int64(value)
    }

    public func contains(_ member: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .intset(let bytes):
            guard let value = SetValue.integer(member) else { return false }
            return bytes.withUnsafeBytes { IntSet.contains($0, value) }
        case .packed(let bytes):
            return SetValue.index(bytes, member) != nil
        case .table(let table):
            return table.contains(member)
        }
    }

    static func index(_ bytes: [UInt8], _ member: UnsafeRawBufferPointer) -> Int? {
        bytes.withUnsafeBytes { raw -> Int? in
            var offset = Listpack.headerBytes
            for index in 0..<Listpack.count(raw) {
                let (range, next) = Listpack.entry(raw, at: offset)
                if range.count == member.count && memcmpEqual(raw, range, member) { return index }
                offset = next
            }
            return nil
        }
    }

    /// Calls `body` with every member.
    public func forEach(_ body: (UnsafeRawBufferPointer) -> Void) {
        switch self {
        case .intset(let bytes):
            bytes.withUnsafeBytes { raw in
                for index in 0..<IntSet.count(raw) { SetValue.withDecimal(IntSet.member(raw, index), body) }
            }
        case .packed(let bytes):
            bytes.withUnsafeBytes { Listpack.forEach($0, body) }
        case .table(let table):
            table.forEach { member, _ in body(member) }
        }
    }

    /// Every member.
    public var members: [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        forEach { result.append([UInt8]($0)) }
        return result
    }

    /// Adds `member`; true when it is new. Converts forms past the limits.
    @discardableResult
    public mutating func add(_ member: UnsafeRawBufferPointer, limits: CollectionLimits) -> Bool {
        switch self {
        case .table(let table):
            return table.insert(member, UnsafeRawBufferPointer(start: nil, count: 0))
        case .intset(var bytes):
            if let value = SetValue.integer(member) {
                if bytes.withUnsafeBytes({ IntSet.contains($0, value) }) { return false }
                if count + 1 <= limits.setIntsetEntries {
                    self = .intset([])
                    IntSet.insert(value, into: &bytes)
                    self = .intset(bytes)
                    return true
                }
                self = .table(toTable())
                return add(member, limits: limits)
            }
            // A string member: a listpack if the set still fits one, else the table.
            if count + 1 <= limits.setListpackEntries && member.count <= limits.setListpackValue
                && maxMemberLength <= limits.setListpackValue {
                self = .packed(Listpack.make(members))
            } else {
                self = .table(toTable())
            }
            return add(member, limits: limits)
        case .packed(var bytes):
            if SetValue.index(bytes, member) != nil { return false }
            guard count + 1 <= limits.setListpackEntries && member.count <= limits.setListpackValue else {
                self = .table(toTable())
                return add(member, limits: limits)
            }
            self = .packed([])
            Listpack.append(member, to: &bytes)
            self = .packed(bytes)
            return true
        }
    }

    /// Removes `member`; true when it was there.
    @discardableResult
    public mutating func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .table(let table):
            return table.remove(member)
        case .intset(var bytes):
            guard let value = SetValue.integer(member) else { return false }
            self = .intset([])
            let removed = IntSet.remove(value, from: &bytes)
            self = .intset(bytes)
            return removed
        case .packed(var bytes):
            guard let index = SetValue.index(bytes, member) else { return false }
            self = .packed([])
            Listpack.remove(at: index, in: &bytes)
            self = .packed(bytes)
            return true
        }
    }

    /// A uniformly chosen member (the set is not empty).
    public func randomMember() -> [UInt8] {
        switch self {
        case .intset(let bytes):
            let value = bytes.withUnsafeBytes {
                IntSet.member($0, Int.random(in: 0..<IntSet.count($0), using: &FastRandom.shared))
            }
            return SetValue.withDecimal(value) { [UInt8]($0) }
        case .packed(let bytes):
            return bytes.withUnsafeBytes { raw in
                let offset = Listpack.offset(raw, of: Int.random(in: 0..<Listpack.count(raw), using: &FastRandom.shared))
                return [UInt8](raw[Listpack.entry(raw, at: offset).0])
            }
        case .table(let table):
            return table.randomEntry().field
        }
    }

    private var maxMemberLength: Int {
        var longest = 0
        forEach { longest = Swift.max(longest, $0.count) }
        return longest
    }

    func toTable() -> FieldTable {
        let table = FieldTable(type: .set)
        forEach { table.set($0, UnsafeRawBufferPointer(start: nil, count: 0)) }
        return table
    }

    /// A set with no members, in the form every set starts in (SADD grows it from there).
    public static var empty: SetValue { .intset(IntSet.empty()) }

    /// A new set of `members` in the smallest form `limits` allow.
    public static func make(_ members: [[UInt8]], limits: CollectionLimits) -> SetValue {
        var set = SetValue.empty
        for member in members { member.withUnsafeBytes { _ = set.add($0, limits: limits) } }
        return set
    }

    /*
     The form a set loaded from a packed payload takes under `limits`: the one its contents
     call for, as Redis's RDB load picks it. A large set is written out as a listpack
     (`FieldTable.packedPayload`), so a listpack of integers only is read as a plain set of
     integers: an intset up to `set-max-intset-entries`, past it the table (never a listpack,
     as SADD would not make one either), which keeps a set's form the same after a trip
     through RocksDB.
    */
    static func loaded(form: PackedForm, _ bytes: [UInt8], limits: CollectionLimits) -> SetValue {
        let set: SetValue = form == .intset ? .intset(bytes) : .packed(bytes)
        if case .packed = set, let integers = set.integers {
            guard integers.count <= limits.setIntsetEntries else { return .table(set.toTable()) }
            return .intset(IntSet.make(integers))
        }
        switch set {
        case .intset where set.count <= limits.setIntsetEntries:
            return set
        case .packed where set.count <= limits.setListpackEntries && set.maxMemberLength <= limits.setListpackValue:
            return set
        default:
            return .table(set.toTable())
        }
    }

    /// The members as integers when every one is an intset integer, else nil.
    private var integers: [Int64]? {
        var values: [Int64] = []
        var all = true
        forEach { member in
            guard all, let value = SetValue.integer(member) else { all = false; return }
            values.append(value)
        }
        return all ? values : nil
    }

    /// Calls `body` with the decimal text of `value`: an intset member as commands see it.
    static func withDecimal<R>(_ value: Int64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var magnitude = value.magnitude
            var start = 20
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            return body(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[start...])))
        }
    }
}

// MARK: - Random members

/*
 SPOP and SRANDMEMBER. A large set draws from its table (`FieldTable.withRandomEntry`); a small
 one is decoded once and drawn from as an array. When many distinct members of a large set
 are asked for, drawing until enough distinct ones came would repeat a lot, so the
 members are shuffled instead (Redis switches strategy at the same ratios: SRANDMEMBER at
 count * 3 > size, SPOP at remaining * 5 <= count).
*/
extension SetValue {
    /// Draws past which SRANDMEMBER shuffles all the members instead of drawing at random.
    static let distinctDrawRatio = 3
    /// SPOP pops one random member at a time while the members left outnumber 1/5 of
    /// those popped; past that it shuffles them all.
    static let popOneByOneRatio = 5

    /// `count` distinct members chosen at random (0 < count < self.count).
    public func randomMembers(distinct count: Int) -> [[UInt8]] {
        if case .table(let table) = self, count * SetValue.distinctDrawRatio <= table.count {
            var seen = Set<[UInt8]>(minimumCapacity: count)
            var chosen: [[UInt8]] = []
            chosen.reserveCapacity(count)
            while chosen.count < count {
                let member = table.randomEntry().field
                if seen.insert(member).inserted { chosen.append(member) }
            }
            return chosen
        }
        // A partial Fisher-Yates shuffle: the first `count` places are a uniform choice.
        var all = members
        for index in 0..<count {
            all.swapAt(index, Int.random(in: index..<all.count, using: &FastRandom.shared))
        }
        return Array(all[..<count])
    }

    /// Calls `body` with `count` members chosen independently (repeats allowed; the set is
    /// not empty).
    public func forEachRandomMember(_ count: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        if case .table(let table) = self {
            for _ in 0..<count { table.withRandomEntry { member, _ in body(member) } }
            return
        }
        let all = members
        for _ in 0..<count {
            all[Int.random(in: 0..<all.count, using: &FastRandom.shared)].withUnsafeBytes(body)
        }
    }

    /// Removes and returns `count` distinct members chosen at random (0 < count < self.count).
    public mutating func popRandom(_ count: Int) -> [[UInt8]] {
        if case .table(let table) = self, (table.count - count) * SetValue.popOneByOneRatio > count {
            var popped: [[UInt8]] = []
            popped.reserveCapacity(count)
            for _ in 0..<count {
                let member = table.randomEntry().field
                member.withUnsafeBytes { _ = table.remove($0) }
                popped.append(member)
            }
            return popped
        }
        let popped = randomMembers(distinct: count)
        for member in popped { member.withUnsafeBytes { _ = remove($0) } }
        return popped
    }
}

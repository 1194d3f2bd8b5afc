import NIOCore

/// How large one node of a list may grow: `list-max-listpack-size`, a positive number of
/// elements (then also at most 8 KB, Redis's safety limit) or -1...-5 for 4...64 KB.
public struct ListNodeLimit: Sendable {
    public let setting: Int
    public init(_ setting: Int) { self.setting = setting }

    static let safetyBytes = 8192
    /// What a Swift array spends before its elements (object header, count, capacity).
    static let arrayHeaderBytes = 32

    /// A size-limited node's listpack bytes: the setting's size less the array's header,
    /// so that the node, reserved at this capacity when it is made, is one allocation of
    /// exactly the allocator's size class (4, 8 ... 64 KB). Grown by doubling, a node of
    /// 8 KB ended in a 10 KB block: a quarter more memory than Redis's listpacks.
    /// nil for a count limit, whose nodes' sizes are not known in advance.
    public var nodeCapacity: Int? {
        setting >= 0 ? nil : (4096 << (Swift.min(-setting, 5) - 1)) - ListNodeLimit.arrayHeaderBytes
    }

    /// True when a node of `bytes` bytes holding `count` elements is within the limit (a
    /// node of one element always is: a large element gets a node of its own).
    @inline(__always)
    public func allows(bytes: Int, count: Int) -> Bool {
        if count <= 1 { return true }
        if let capacity = nodeCapacity { return bytes <= capacity }
        return count <= setting && bytes <= ListNodeLimit.safetyBytes
    }
}

/*
 A list as Redis's quicklist: a deque of listpack nodes, each within `ListNodeLimit`. Push
 and pop at either end touch one node (O(1)); an index walks node counts from the nearer
 end. A small list is not this object but one listpack packed in its key's record
 (`ListStore` converts); commands work on this type either way, a packed list being
 unpacked into a one-node QuickList for the command.
*/
public final class QuickList: OwnedCollection {
    public private(set) var nodes: CircularBuffer<[UInt8]>
    private var total: Int
    /// Bytes in nodes (for memory accounting).
    private var nodeBytes: Int

    override public init() {
        nodes = CircularBuffer(initialCapacity: 4)
        total = 0
        nodeBytes = 0
    }

    /// A list of one node: a packed list's listpack.
    public init(listpack: [UInt8]) {
        nodes = CircularBuffer(initialCapacity: 4)
        total = listpack.withUnsafeBytes { Listpack.count($0) }
        nodeBytes = listpack.count
        if total > 0 { nodes.append(listpack) }
    }

    override public var count: Int { total }
    override public var heapBytes: Int { nodeBytes + nodes.count * 48 + 96 }

    override public func packedPayload() -> [UInt8] {
        var bytes: [UInt8] = [PackedForm.listpack.rawValue]
        bytes.reserveCapacity(nodeBytes + 1)
        bytes.append(contentsOf: Listpack.empty())
        for node in nodes { bytes.append(contentsOf: node[Listpack.headerBytes...]) }
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(total).littleEndian, toByteOffset: 1, as: UInt32.self) }
        return bytes
    }

    override public func copy() -> OwnedCollection {
        let list = QuickList()
        list.nodes = nodes
        list.total = total
        list.nodeBytes = nodeBytes
        return list
    }

    /// The only node's listpack when the list has one node (or an empty one), else nil.
    public var singleNode: [UInt8]? {
        if nodes.isEmpty { return Listpack.empty() }
        return nodes.count == 1 ? nodes.first! : nil
    }

    @inline(__always)
    static func count(_ node: [UInt8]) -> Int { node.withUnsafeBytes { Listpack.count($0) } }

    /// A copy of `node` in an array of its own size (the allocator rounds it to a class).
    static func fitted(_ node: [UInt8]) -> [UInt8] {
        guard node.capacity > node.count + node.count / 8 else { return node }
        return [UInt8](unsafeUninitializedCapacity: node.count) { buffer, initialized in
            _ = buffer.initialize(from: node)
            initialized = node.count
        }
    }

    // MARK: - Ends

    /// Adds `element` at the front or the back.
    public func push(_ element: UnsafeRawBufferPointer, front: Bool, limit: ListNodeLimit) {
        let added = Listpack.entryBytes(element.count)
        let index = front ? nodes.startIndex : (nodes.isEmpty ? nodes.startIndex : nodes.index(before: nodes.endIndex))
        if !nodes.isEmpty,
           limit.allows(bytes: nodes[index].count + added, count: QuickList.count(nodes[index]) + 1) {
            nodes.modify(index) { node in
                if front { Listpack.insert(element, at: 0, in: &node) } else { Listpack.append(element, to: &node) }
            }
        } else {
            var node = Listpack.empty()
            if let capacity = limit.nodeCapacity, added + Listpack.headerBytes <= capacity {
                node.reserveCapacity(capacity)
            } else if !nodes.isEmpty {
                // The end node is full and stays so: give back the slack its growth by
                // doubling left (up to half of it).
                nodes.modify(index) { $0 = QuickList.fitted($0) }
            }
            Listpack.append(element, to: &node)
            nodeBytes += Listpack.headerBytes
            if front { nodes.prepend(node) } else { nodes.append(node) }
        }
        nodeBytes += added
        total += 1
    }

    /// Removes and returns the first or last element.
    public func pop(front: Bool) -> [UInt8]? {
        guard !nodes.isEmpty else { return nil }
        let index = front ? nodes.startIndex : nodes.index(before: nodes.endIndex)
        var element: [UInt8] = []
        var emptied = false
        nodes.modify(index) { node in
            node.withUnsafeBytes { raw in
                let range = front ? Listpack.entry(raw, at: Listpack.headerBytes).0
                    : Listpack.entry(raw, endingAt: raw.count).0
                element = [UInt8](raw[range])
            }
            let n = QuickList.count(node)
            Listpack.remove(at: front ? 0 : n - 1, in: &node)
            emptied = n == 1
        }
        nodeBytes -= Listpack.entryBytes(element.count)
        total -= 1
        if emptied {
            nodeBytes -= Listpack.headerBytes
            if front { nodes.removeFirst() } else { nodes.removeLast() }
        }
        return element
    }

    // MARK: - Positions

    /// The node holding element `index` (0 ≤ index < count) and the element's index in it,
    /// walking node counts from the nearer end.
    func locate(_ index: Int) -> (node: Int, within: Int) {
        if index < total / 2 {
            var rest = index
            var position = 0
            while true {
                let n = QuickList.count(nodes[offset: position])
                if rest < n { return (position, rest) }
                rest -= n
                position += 1
            }
        }
        var rest = total - 1 - index  // from the back
        var position = nodes.count - 1
        while true {
            let n = QuickList.count(nodes[offset: position])
            if rest < n { return (position, n - 1 - rest) }
            rest -= n
            position -= 1
        }
    }

    /// The storage index of node `position` (0 = the first node).
    @inline(__always)
    func nodeIndex(_ position: Int) -> CircularBuffer<[UInt8]>.Index {
        nodes.index(nodes.startIndex, offsetBy: position)
    }

    /// Element `index` (0 ≤ index < count).
    public func element(at index: Int) -> [UInt8] {
        let (node, within) = locate(index)
        return nodes[offset: node].withUnsafeBytes { raw in
            [UInt8](raw[Listpack.entry(raw, at: Listpack.offset(raw, of: within)).0])
        }
    }

    /// Calls `body` with the elements from `start` through `end` (valid indexes, in
    /// order); `body` returns false to stop.
    public func forEach(from start: Int, through end: Int, _ body: (UnsafeRawBufferPointer) -> Bool) {
        guard start <= end, start < total else { return }
        var (node, within) = locate(start)
        var remaining = end - start + 1
        while remaining > 0 {
            let stop = nodes[offset: node].withUnsafeBytes { raw -> Bool in
                var offset = Listpack.offset(raw, of: within)
                let n = Listpack.count(raw)
                while within < n && remaining > 0 {
                    let (range, next) = Listpack.entry(raw, at: offset)
                    if !body(UnsafeRawBufferPointer(rebasing: raw[range])) { return true }
                    offset = next
                    within += 1
                    remaining -= 1
                }
                return false
            }
            if stop { return }
            node += 1
            within = 0
        }
    }

    /// Calls `body` with the elements from the last backwards, with their indexes; `body`
    /// returns false to stop.
    public func forEachFromBack(_ body: (Int, UnsafeRawBufferPointer) -> Bool) {
        var index = total - 1
        var node = nodes.endIndex
        while node != nodes.startIndex {
            node = nodes.index(before: node)
            let stop = nodes[node].withUnsafeBytes { raw -> Bool in
                var end = raw.count
                for _ in 0..<Listpack.count(raw) {
                    let (range, start) = Listpack.entry(raw, endingAt: end)
                    if !body(index, UnsafeRawBufferPointer(rebasing: raw[range])) { return true }
                    end = start
                    index -= 1
                }
                return false
            }
            if stop { return }
        }
    }

    /// Every element, in order (conversions, tests).
    public var elements: [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(total)
        forEach(from: 0, through: total - 1) { result.append([UInt8]($0)); return true }
        return result
    }

    // MARK: - Changes inside

    /// Replaces element `index` (0 ≤ index < count).
    public func set(_ index: Int, to element: UnsafeRawBufferPointer, limit: ListNodeLimit) {
        let (node, within) = locate(index)
        let before = nodes[offset: node].count
        nodes.modify(nodeIndex(node)) { Listpack.replace(at: within, with: element, in: &$0) }
        nodeBytes += nodes[offset: node].count - before
        splitIfOver(node, limit: limit)
    }

    /// Inserts `element` before element `index` (`count` appends).
    public func insert(_ element: UnsafeRawBufferPointer, at index: Int, limit: ListNodeLimit) {
        if index == total || nodes.isEmpty { return push(element, front: false, limit: limit) }
        let (node, within) = locate(index)
        nodes.modify(nodeIndex(node)) { Listpack.insert(element, at: within, in: &$0) }
        nodeBytes += Listpack.entryBytes(element.count)
        total += 1
        splitIfOver(node, limit: limit)
    }

    /// Splits node `position` in two halves when it has grown past the limit.
    private func splitIfOver(_ position: Int, limit: ListNodeLimit) {
        let node = nodes[offset: position]
        let n = QuickList.count(node)
        guard n > 1, !limit.allows(bytes: node.count, count: n) else { return }
        let all = node.withUnsafeBytes { Listpack.elements($0) }
        let half = n / 2
        nodes[nodeIndex(position)] = Listpack.make(all[half...])
        nodes.insert(Listpack.make(all[..<half]), at: nodeIndex(position))
        nodeBytes += Listpack.headerBytes
    }

    /// Removes `count` elements from the front or the back.
    public func remove(_ count: Int, front: Bool) {
        var rest = Swift.min(count, total)
        while rest > 0 {
            let index = front ? nodes.startIndex : nodes.index(before: nodes.endIndex)
            let n = QuickList.count(nodes[index])
            if n <= rest {
                nodeBytes -= nodes[index].count
                if front { nodes.removeFirst() } else { nodes.removeLast() }
                total -= n
                rest -= n
            } else {
                let before = nodes[index].count
                nodes.modify(index) { Listpack.remove(at: front ? 0 : n - rest, count: rest, in: &$0) }
                nodeBytes -= before - nodes[index].count
                total -= rest
                rest = 0
            }
        }
    }

    /// LREM: removes the first `count` elements equal to `element` (the last ones when
    /// `count` is negative, every one when 0); returns how many went.
    @discardableResult
    public func removeMatching(_ element: UnsafeRawBufferPointer, count: Int, limit: ListNodeLimit) -> Int {
        let wanted = count == 0 ? Int.max : count.magnitude > UInt(Int.max) ? Int.max : abs(count)
        var removing = Set<Int>()
        if count >= 0 {
            var position = 0
            forEach(from: 0, through: total - 1) { candidate in
                if candidate.elementsEqual(element) { removing.insert(position) }
                position += 1
                return removing.count < wanted
            }
        } else {
            forEachFromBack { position, candidate in
                if candidate.elementsEqual(element) { removing.insert(position) }
                return removing.count < wanted
            }
        }
        guard !removing.isEmpty else { return 0 }
        var kept: [[UInt8]] = []
        kept.reserveCapacity(total - removing.count)
        var position = 0
        forEach(from: 0, through: total - 1) { candidate in
            if !removing.contains(position) { kept.append([UInt8](candidate)) }
            position += 1
            return true
        }
        replaceAll(with: kept, limit: limit)
        return removing.count
    }

    /// Rebuilds the list from `elements` (LREM), in nodes within `limit`.
    public func replaceAll<S: Sequence>(with elements: S, limit: ListNodeLimit) where S.Element == [UInt8] {
        nodes = CircularBuffer(initialCapacity: 4)
        total = 0
        nodeBytes = 0
        for element in elements { element.withUnsafeBytes { push($0, front: false, limit: limit) } }
    }
}

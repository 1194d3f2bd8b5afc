import CZstd
import NIOCore

/// How large one node of a list may grow: `list-max-listpack-size`, a positive number of
/// elements (then also at most 8 KB, Redis's safety limit) or -1...-5 for 4...64 KB.
public struct ListNodeLimit: Sendable {
    public let setting: Int
    /// `list-compress-depth`: nodes this many from either end stay as they are, the ones
    /// between are compressed (0: none is).
    public let compressDepth: Int
    public init(_ setting: Int, compressDepth: Int = 0) {
        self.setting = setting
        self.compressDepth = compressDepth
    }

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
    /// Bytes in nodes as stored, compressed or not (for memory accounting).
    private var nodeBytes: Int
    /// The `list-compress-depth` of the last change that gave one.
    private var compressDepth = 0
    /// How many nodes are compressed.
    private var compressedNodes = 0

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
        for node in nodes {
            if QuickList.isCompressed(node) {
                bytes.append(contentsOf: QuickList.decompressed(node)[Listpack.headerBytes...])
            } else {
                bytes.append(contentsOf: node[Listpack.headerBytes...])
            }
        }
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(total).littleEndian, toByteOffset: 1, as: UInt32.self) }
        return bytes
    }

    override public func copy() -> OwnedCollection {
        let list = QuickList()
        list.nodes = nodes
        list.total = total
        list.nodeBytes = nodeBytes
        list.compressDepth = compressDepth
        list.compressedNodes = compressedNodes
        return list
    }

    /// The only node's listpack when the list has one node (or an empty one), else nil.
    public var singleNode: [UInt8]? {
        if nodes.isEmpty { return Listpack.empty() }
        return nodes.count == 1 ? nodes.first! : nil
    }

    @inline(__always)
    static func count(_ node: [UInt8]) -> Int {
        node.withUnsafeBytes { Listpack.count($0) } & ~QuickList.compressedFlag
    }

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
        compressDepth = limit.compressDepth
        let nodesBefore = nodes.count
        if compressedNodes > 0 && !nodes.isEmpty { makeRaw(front ? 0 : nodes.count - 1) }
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
        if nodes.count != nodesBefore && (compressDepth > 0 || compressedNodes > 0) { settleCompression() }
    }

    /// Removes and returns the first or last element.
    public func pop(front: Bool) -> [UInt8]? {
        guard !nodes.isEmpty else { return nil }
        if compressedNodes > 0 { makeRaw(front ? 0 : nodes.count - 1) }  // the ends stay raw; to be sure
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
            if compressDepth > 0 { settleCompression() }
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
        return QuickList.withRaw(nodes[offset: node]) { raw in
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
            let stop = QuickList.withRaw(nodes[offset: node]) { raw -> Bool in
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
            let stop = QuickList.withRaw(nodes[node]) { raw -> Bool in
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
        compressDepth = limit.compressDepth
        let (node, within) = locate(index)
        makeRaw(node)
        let before = nodes[offset: node].count
        nodes.modify(nodeIndex(node)) { Listpack.replace(at: within, with: element, in: &$0) }
        nodeBytes += nodes[offset: node].count - before
        splitIfOver(node, limit: limit)
        settleCompression(all: true)
    }

    /// Inserts `element` before element `index` (`count` appends).
    public func insert(_ element: UnsafeRawBufferPointer, at index: Int, limit: ListNodeLimit) {
        if index == total || nodes.isEmpty { return push(element, front: false, limit: limit) }
        compressDepth = limit.compressDepth
        let (node, within) = locate(index)
        makeRaw(node)
        nodes.modify(nodeIndex(node)) { Listpack.insert(element, at: within, in: &$0) }
        nodeBytes += Listpack.entryBytes(element.count)
        total += 1
        splitIfOver(node, limit: limit)
        settleCompression(all: true)
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
                if QuickList.isCompressed(nodes[index]) { compressedNodes -= 1 }
                nodeBytes -= nodes[index].count
                if front { nodes.removeFirst() } else { nodes.removeLast() }
                total -= n
                rest -= n
            } else {
                makeRaw(front ? 0 : nodes.count - 1)
                let before = nodes[index].count
                nodes.modify(index) { Listpack.remove(at: front ? 0 : n - rest, count: rest, in: &$0) }
                nodeBytes -= before - nodes[index].count
                total -= rest
                rest = 0
            }
        }
        if compressDepth > 0 || compressedNodes > 0 { settleCompression() }
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
        compressedNodes = 0
        compressDepth = limit.compressDepth
        for element in elements { element.withUnsafeBytes { push($0, front: false, limit: limit) } }
    }

    // MARK: - Compressed nodes (list-compress-depth)

    /*
     Redis's list-compress-depth: the nodes more than `depth` from either end are
     compressed (Redis uses LZF; here zstd at level 1, which the value codec links anyway),
     since a queue is pushed and popped at its ends and its middle rests. A compressed node:

         u32 LE   number of entries | compressedFlag
         u32 LE   the listpack's length
         zstd frame of the listpack

     A node that would not shrink by 8 bytes or more, or is under 48 bytes, stays as it is
     (Redis's limits). Reading one (LINDEX, LRANGE) decompresses a copy; changing one
     (LSET, LINSERT) decompresses it in place and compresses it again afterwards.
    */
    static let compressedFlag = 1 << 31
    static let compressedHeaderBytes = 8

    @inline(__always)
    static func isCompressed(_ node: [UInt8]) -> Bool {
        node.withUnsafeBytes { Listpack.count($0) } & compressedFlag != 0
    }

    /// Calls `body` with the listpack of `node`, decompressed if need be.
    @inline(__always)
    static func withRaw<R>(_ node: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if isCompressed(node) { return decompressed(node).withUnsafeBytes(body) }
        return node.withUnsafeBytes(body)
    }

    static func decompressed(_ node: [UInt8]) -> [UInt8] {
        node.withUnsafeBytes { raw in
            let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            return [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
                let frame = UnsafeRawBufferPointer(rebasing: raw[compressedHeaderBytes...])
                let written = ZSTD_decompress(out.baseAddress, length, frame.baseAddress, frame.count)
                // Our own bytes, compressed by `compressed`: a failure is a bug, not bad input.
                precondition(ZSTD_isError(written) == 0 && written == length, "list node failed to decompress")
                initialized = length
            }
        }
    }

    /// `node` compressed, or nil when that does not save enough.
    static func compressed(_ node: [UInt8]) -> [UInt8]? {
        guard node.count >= 48 else { return nil }
        let bound = ZSTD_compressBound(node.count)
        var result = [UInt8](repeating: 0, count: compressedHeaderBytes + bound)
        let written = result.withUnsafeMutableBytes { out in
            node.withUnsafeBytes { raw in
                ZSTD_compress(out.baseAddress! + compressedHeaderBytes, bound, raw.baseAddress, raw.count, 1)
            }
        }
        guard ZSTD_isError(written) == 0, compressedHeaderBytes + written + 8 <= node.count else { return nil }
        let count = UInt32(count(node) | compressedFlag).littleEndian
        let length = UInt32(node.count).littleEndian
        result.withUnsafeMutableBytes {
            $0.storeBytes(of: count, toByteOffset: 0, as: UInt32.self)
            $0.storeBytes(of: length, toByteOffset: 4, as: UInt32.self)
        }
        return Array(result[..<(compressedHeaderBytes + written)])  // an array of its own size
    }

    /// Node `position` decompressed in place.
    private func makeRaw(_ position: Int) {
        let node = nodes[offset: position]
        guard QuickList.isCompressed(node) else { return }
        let raw = QuickList.decompressed(node)
        nodeBytes += raw.count - node.count
        compressedNodes -= 1
        nodes[nodeIndex(position)] = raw
    }

    /// Node `position` compressed in place, when that saves enough.
    private func makeCompressed(_ position: Int) {
        let node = nodes[offset: position]
        guard !QuickList.isCompressed(node), let small = QuickList.compressed(node) else { return }
        nodeBytes += small.count - node.count
        compressedNodes += 1
        nodes[nodeIndex(position)] = small
    }

    /// Keeps the nodes within the depth of either end as they are and compresses the ones
    /// between. After a change at an end only the nodes at the depth can be wrong; `all`
    /// (after a change in the middle) looks at every node.
    private func settleCompression(all: Bool = false) {
        let depth = compressDepth, n = nodes.count
        if depth == 0 || n <= 2 * depth {
            // Nothing is interior: every node as it is (also after CONFIG SET ... 0).
            if compressedNodes > 0 { for position in 0..<n { makeRaw(position) } }
            return
        }
        for position in 0..<depth {
            makeRaw(position)
            makeRaw(n - 1 - position)
        }
        if all {
            for position in depth..<(n - depth) { makeCompressed(position) }
        } else {
            makeCompressed(depth)
            makeCompressed(n - 1 - depth)
        }
    }
}

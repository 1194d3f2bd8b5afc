import CShims
import Commands
import Logging
import NIOCore
import RESP
import Store
#if canImport(Glibc)
import Glibc
#endif

/*
 One client connection. The whole request path runs here, on the execution loop, with
 the shape FACTS.md measured fastest: requests are parsed in place in the receive buffer,
 replies go into one reused output buffer, and that buffer is written once per readiness
 event, not once per command.

 A command that cannot run yet (its keys are cold, later: it blocks) parks the
 connection: the request stays unconsumed in `input`, reading continues into the same
 buffer, and when the wait ends the same request is dispatched again. So pipelined
 commands keep their order, and only this connection waits.

 Replies are written straight from the reply buffer; bytes the socket does not take at
 once move to `unsent`, and the connection waits for the socket to become writable
 before it writes anything else, so replies keep their order.
*/
final class Connection: ExecutionLoop.Handler, ExecutionLoop.DeferredWriter {
    let fd: Int32
    private let loop: ExecutionLoop
    private let server: ServerContext
    private let logger: Logger
    private var client: Client!
    /// Received bytes not yet consumed by a complete request.
    private var input = ByteBuffer()
    private var parser: RequestParser
    private var ranges: [Range<Int>] = []
    /// Commands left before the pipelined input is looked ahead again (`prefetchKeys`).
    private var prefetchedCommands = 0
    private var scoutRanges: [Range<Int>] = []
    /// Where the scouted commands' first arguments are in `input`, and their hashes.
    private var prefetchKeyRanges: [Range<Int>] = []
    private var prefetchHashes: [UInt64] = []
    /// Argument 2 of the scouted commands that take a field or member there (nil for the
    /// others), and the tables and hashes of those that hit a large hash or set.
    private var prefetchFieldRanges: [Range<Int>?] = []
    private var prefetchFields: [(table: FieldTable, hash: UInt64)] = []
    private var parked = false
    /// No more requests are read or run; the connection closes once `unsent` is out.
    private var closing = false
    private var closed = false
    /// The peer shut its side down: nothing more to read, replies still go out.
    private var peerClosed = false
    /// Reply bytes the socket did not take yet (it was full): sent when it is writable.
    private var unsent = ByteBuffer()
    /// The readiness events the loop watches for (`updateInterest`).
    private var interest = UInt32(STRATA_POLL_IN)
    private let durability: DurabilityGate
    /// appendfsync always: replies not sent yet because the log is not on disk up to the
    /// commands they answer: (bytes of the reply buffer, log position they need), in order.
    private var heldReplies: [(bytes: Int, position: UInt64, hasWrite: Bool)] = []
    /// A close asked for while replies were held: done once they are sent.
    private var closeWhenReleased = false
    var waitsForDurability = false

    init(fd: Int32, loop: ExecutionLoop, server: ServerContext, logger: Logger, durability: DurabilityGate) {
        self.fd = fd
        self.loop = loop
        self.server = server
        self.logger = logger
        self.durability = durability
        self.parser = RequestParser(limits: RequestLimits(maxBulkLength: server.config.protoMaxBulkLength))
        ranges.reserveCapacity(16)
    }

    /// Registers the new connection with the loop, or refuses it (protected mode,
    /// maxclients) with Redis's error text.
    func start() {
        let remote = Connection.address(fd, peer: true)
        let isLocal = ProtectedMode.isLoopback(remote?.ip)
        if server.config.protectedMode && server.config.requirepass.isEmpty && !isLocal {
            return refuse(ProtectedMode.deniedReply)
        }
        if server.clients.count >= server.config.maxclients {
            return refuse("-ERR max number of clients reached\r\n")
        }
        guard loop.register(fd, self) else {
            Glibc.close(fd)
            return
        }
        client = server.makeClient(address: Connection.describe(remote),
                                   localAddress: Connection.describe(Connection.address(fd, peer: false)),
                                   isLocal: isLocal,
                                   outputBuffer: ByteBuffer())
        client.fd = fd
        let loop = self.loop
        client.closeConnection = { [weak self] in
            guard let self else { return }
            loop.execute { [weak self] in self?.close() }
        }
        client.sendOutOfBand = { [weak self] bytes in
            guard let self, let client = self.client, !self.closing else { return }
            var bytes = bytes
            self.borrowReplyBuffer()
            client.reply.buffer.writeBuffer(&bytes)
            self.flush()
        }
        client.queryBufferBytes = { [weak self] in self?.input.readableBytes ?? 0 }
        client.unsentReplyBytes = { [weak self] in self?.unsent.readableBytes ?? 0 }
    }

    /// Writes `text` (best effort: it is short and the socket new) and closes.
    private func refuse(_ text: String) {
        server.stats.rejectedConnections += 1
        var bytes = Array(text.utf8)
        _ = Glibc.write(fd, &bytes, bytes.count)
        Glibc.close(fd)
    }

    // MARK: Events

    func pollEvent(_ events: UInt32) {
        if events & UInt32(STRATA_POLL_OUT) != 0 { writeUnsent() }
        guard events & UInt32(STRATA_POLL_IN | STRATA_POLL_HUP | STRATA_POLL_ERR) != 0, !closed else { return }
        if !closing && !peerClosed && !inputPaused {
            readable()
        } else if events & UInt32(STRATA_POLL_HUP | STRATA_POLL_ERR) != 0 {
            abort()  // the peer is gone before it got what was left for it (or while paused)
        }
    }

    /// True while the connection is parked with enough input behind its parked request:
    /// it is not read until the request has run. This is the backpressure a write waiting
    /// for memory needs (a `redis-cli --pipe` import kept being read while its SET waited
    /// for demotion, and its query buffer grew by 64 KB an event); a command parked on a
    /// cold read waits the same way. The kernel's socket buffers then fill and the
    /// client's own writes block, as they do against a busy redis-server.
    private var inputPaused: Bool { parked && input.readableBytes >= Connection.parkedInputLimit }

    /// Input a parked connection may hold before reading stops (the parked request
    /// included).
    static let parkedInputLimit = Network.maxReadBytes

    /// What the loop watches the socket for: input until the connection closes (paused
    /// while a parked command has enough input behind it), and room to write while
    /// replies wait for it. Hang-ups and errors are reported whatever is asked for.
    private func updateInterest() {
        guard !closed else { return }
        var events: UInt32 = closing || peerClosed || inputPaused ? 0 : UInt32(STRATA_POLL_IN)
        if unsent.readableBytes > 0 { events |= UInt32(STRATA_POLL_OUT) }
        if events != interest {
            interest = events
            loop.changeInterest(fd, events: events)
        }
    }

    /// Reads what the socket has (at most `Network.readsPerEvent` reads, for fairness),
    /// runs the complete requests and writes their replies.
    private func readable() {
        borrowReplyBuffer()
        for _ in 0..<Network.readsPerEvent {
            guard !closing && !inputPaused else { break }
            let wanted = prepareInputForRead()
            let count = input.withUnsafeMutableWritableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if count > 0 {
                input.moveWriterIndex(forwardBy: count)
                server.stats.inputBytes += count
                if input.readableBytes > server.config.clientQueryBufferLimit {
                    logger.warning("Closing client that reached max query buffer length: \(client.address)")
                    close()
                    return
                }
                processInput()
                if count < wanted { break }  // the socket is drained
            } else if count == 0 {
                // The peer closed (or half-closed): answer what it sent before, then
                // close; a parked command finishes first (`park`).
                peerClosed = true
                flush()
                // A command blocked on a key (BLPOP) has nobody left to answer: it goes
                // with the connection (removeClient takes it out of the queues).
                if parked && !server.blocking.isBlocked(client) { updateInterest() } else { close() }
                return
            } else {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { break }
                logger.debug("Connection error: \(String(cString: strerror(error)))")
                close()
                return
            }
        }
        if !writeQueued && !closed {
            writeQueued = true
            queuedReplyBytes = client.reply.buffer.capacity
            Connection.queuedReplyBytes += queuedReplyBytes
            loop.deferWrite(self)
        }
    }

    /// Writes the replies of the commands `readable` ran, once the loop has read every
    /// ready socket (`ExecutionLoop.deferWrite`).
    func writeDeferred() {
        writeQueued = false
        Connection.queuedReplyBytes -= queuedReplyBytes
        queuedReplyBytes = 0
        flush()
        updateInterest()
    }

    /// Makes room for one read and returns its size. An empty input borrows the loop's
    /// shared receive buffer (`compactInput` gives it back), so idle connections hold no
    /// receive buffer; a partial request keeps it, growing up to `maxReadBytes` a read.
    private func prepareInputForRead() -> Int {
        let held = input.capacity
        defer { Connection.heldInputBytes += input.capacity - held }
        if input.capacity == 0 {
            input = Connection.receiveBuffers.lend()
        }
        let wanted = input.readableBytes >= Connection.receiveBuffers.size
            ? Network.maxReadBytes : Connection.receiveBuffers.size
        if input.writableBytes < wanted {
            // Drop what earlier requests used, also in the middle of a request: a stream of
            // pipelined SETs seldom ends a read on a request boundary, and a buffer that
            // only discarded there grew by doubling to tens of MB (counted in maxmemory)
            // while holding a few KB of input.
            let consumed = input.readerIndex
            if consumed > 0 {
                input.discardReadBytes()
                parser.rebase(discarding: consumed)
                if parser.isInsideRequest {
                    for index in ranges.indices {
                        ranges[index] = (ranges[index].lowerBound - consumed)..<(ranges[index].upperBound - consumed)
                    }
                }
            }
            input.reserveCapacity(minimumWritableBytes: wanted)
        }
        return min(input.writableBytes, Network.maxReadBytes)
    }

    /// Capacity of the receive buffers connections hold (execution loop only): outside
    /// maxmemory (Store.usedMemoryForLimit).
    nonisolated(unsafe) static var heldInputBytes = 0

    /// Capacity of the reply buffers of connections whose replies wait for the end of the
    /// loop's batch (execution loop only): outside maxmemory too, as they are gone by then.
    nonisolated(unsafe) static var queuedReplyBytes = 0
    private var writeQueued = false
    private var queuedReplyBytes = 0

    /// The receive buffer lent to whichever connection reads next (execution loop only).
    nonisolated(unsafe) private static var receiveBuffers =
        BufferLender(size: 16 * 1024, keptCapacity: Network.maxReadBytes)

    /// Parses and dispatches complete requests until the input runs out, the connection
    /// parks, or it must close.
    private func processInput() {
        while !parked && !closing {
            let request: ParsedRequest?
            do {
                request = try parser.next(input, ranges: &ranges, authenticated: client.authenticated)
            } catch let error as ProtocolError {
                protocolError(error)
                return
            } catch {
                close()
                return
            }
            guard let request else { break }
            let arguments: CommandArguments
            let end: Int
            switch request {
            case .empty(let next):
                input.moveReaderIndex(to: next)
                continue
            case .command(let next):
                // More bytes behind this command (pipelining): look ahead at the next ones.
                // At pipeline 1 there are none, and the look-ahead's parse is not paid.
                if prefetchedCommands <= 0 && next < input.writerIndex {
                    prefetchedCommands = prefetchKeys()
                }
                prefetchedCommands -= 1
                arguments = CommandArguments(buffer: input, ranges: ranges)
                end = next
            case .inline(let storage, let next):
                arguments = CommandArguments(buffer: storage, ranges: ranges)
                end = next
            }
            switch server.dispatch(client, arguments) {
            case .completed:
                input.moveReaderIndex(to: end)
                if client.closeAfterReply {
                    flush()
                    close()
                    return
                }
            case .parked(let ready):
                park(until: ready)
            }
        }
        compactInput()
    }

    /// Looks ahead at up to 32 complete commands in `input` (the one just parsed first)
    /// and, when there are several, starts loading their keys' records (argument 1;
    /// Keyspace, "Prefetching") so that the lookups overlap: at pipeline 16, GETs spent a
    /// third of their time waiting for those loads one after another. Returns how many
    /// commands it looked at (at least 1).
    private func prefetchKeys() -> Int {
        var view = input
        var scout = parser
        prefetchKeyRanges.removeAll(keepingCapacity: true)
        prefetchFieldRanges.removeAll(keepingCapacity: true)
        var commands = 0
        scouting: while commands < 32 {
            guard let request = try? scout.next(view, ranges: &scoutRanges, authenticated: client.authenticated)
            else { break }
            switch request {
            case .empty(let next):
                view.moveReaderIndex(to: next)
            case .command(let next):
                commands += 1
                if scoutRanges.count >= 2 {
                    prefetchKeyRanges.append(scoutRanges[1])
                    let takesField = scoutRanges.count >= 3
                        && input.withVeryUnsafeBytes { Connection.namesFieldCommand(UnsafeRawBufferPointer(rebasing: $0[scoutRanges[0]])) }
                    prefetchFieldRanges.append(takesField ? scoutRanges[2] : nil)
                }
                view.moveReaderIndex(to: next)
            case .inline:
                break scouting  // telnet-style input: not worth it
            }
        }
        // One command (pipeline 1): nothing to overlap, so nothing is hashed.
        guard prefetchKeyRanges.count >= 2 else { return max(commands, 1) }
        let keys = client.db.keys
        prefetchHashes.removeAll(keepingCapacity: true)
        input.withVeryUnsafeBytes { all in
            for range in prefetchKeyRanges {
                let hash = KeyHash.hash(UnsafeRawBufferPointer(rebasing: all[range]))
                prefetchHashes.append(hash)
                keys.prefetchSlot(hash: hash)
            }
        }
        for hash in prefetchHashes { keys.prefetchRecord(hash: hash) }
        prefetchFieldEntries(keys)
        return max(commands, 1)
    }

    /// The same two steps one level down, for commands on a large hash or set (HSET, HGET,
    /// SADD, SISMEMBER...): the field's slot in the key's table, then its entry. Those two
    /// loads were what SADD and HSET waited for at pipeline 16 (a sixth of their time).
    /// Consecutive commands on one key look it up once.
    private func prefetchFieldEntries(_ keys: Keyspace) {
        prefetchFields.removeAll(keepingCapacity: true)
        var lastKeyHash: UInt64? = nil
        var lastTable: FieldTable? = nil
        input.withVeryUnsafeBytes { all in
            for (index, range) in prefetchFieldRanges.enumerated() {
                guard let range else { continue }
                let keyHash = prefetchHashes[index]
                if keyHash != lastKeyHash {
                    lastKeyHash = keyHash
                    let key = UnsafeRawBufferPointer(rebasing: all[prefetchKeyRanges[index]])
                    lastTable = keys.find(key, hash: keyHash).flatMap(Database.fieldTable)
                }
                guard let table = lastTable else { continue }
                let hash = KeyHash.hash(UnsafeRawBufferPointer(rebasing: all[range]))
                table.prefetchSlot(hash: hash)
                prefetchFields.append((table, hash))
            }
        }
        for field in prefetchFields { field.table.prefetchEntry(hash: field.hash) }
        prefetchFields.removeAll(keepingCapacity: true)
    }

    /// True for the names of commands that may take a field or member as argument 2: every
    /// hash command (H...), and the set commands SADD, SREM, SISMEMBER, SMISMEMBER (and a
    /// few others starting SA, SR, SI, SM, for which the hint is wasted). No string command
    /// starts with H, SA, SR, SI or SM.
    static func namesFieldCommand(_ name: UnsafeRawBufferPointer) -> Bool {
        guard name.count >= 4 else { return false }
        switch name[0] | 0x20 {
        case UInt8(ascii: "h"): return true
        case UInt8(ascii: "s"):
            let second = name[1] | 0x20
            return second == UInt8(ascii: "a") || second == UInt8(ascii: "r")
                || second == UInt8(ascii: "i") || second == UInt8(ascii: "m")
        default: return false
        }
    }

    private func park(until ready: EventLoopFuture<Void>) {
        parked = true
        // The request stays in `input`; the parser must start it again from its beginning.
        parser.reset()
        ready.hop(to: loop).whenComplete { [weak self] _ in
            guard let self, !self.closing else { return }
            self.parked = false
            self.borrowReplyBuffer()
            self.processInput()
            self.flush()
            if self.peerClosed && !self.parked { self.close() } else { self.updateInterest() }
        }
    }

    /// Keeps the input buffer from growing: drops consumed bytes once no request is in
    /// progress (argument ranges of a partial request are absolute indices).
    private func compactInput() {
        if input.readableBytes == 0 && !parser.isInsideRequest {
            // The receive buffer goes back for the next connection that reads.
            Connection.heldInputBytes -= input.capacity
            Connection.receiveBuffers.giveBack(&input)
        } else if !parser.isInsideRequest && !parked && input.readerIndex > 64 * 1024 {
            input.discardReadBytes()
        }
    }

    private func protocolError(_ error: ProtocolError) {
        client.error("ERR Protocol error: \(error.message)")
        flush()
        close()
    }

    private func flush() {
        guard let client, !closed else { return }
        let pending = client.reply.buffer.readableBytes
        guard pending > 0 else {
            // Nothing to say (a partial request): the buffer goes back to the loop.
            if client.reply.buffer.capacity > 0 && heldReplies.isEmpty {
                Connection.replyBuffers.giveBack(&client.reply.buffer)
            }
            return
        }
        if let log = server.store.log, log.policy == .always {
            let durable = log.durableEnd
            let needsWrite = client.logPosition > durable
            let needsRead = client.readLogPosition > durable && log.lastError == nil
            if needsWrite || needsRead || !heldReplies.isEmpty {
                // Sent once the log is on disk up to the commands answered (DurabilityGate).
                if pending > (heldReplies.last?.bytes ?? 0) {
                    heldReplies.append((pending, max(client.logPosition, client.readLogPosition), needsWrite))
                }
                if releaseHeldReplies() { durability.wait(self) }
                return
            }
        }
        send(pending)
    }

    /// Sends the held replies whose commands' log records are on disk now (and replies
    /// to reads while the log is failing). Returns true when some must still wait.
    func releaseHeldReplies() -> Bool {
        guard client != nil, !closed else { return false }
        let durable = server.store.log?.durableEnd ?? .max
        let failing = server.store.log?.lastError != nil
        var ready = 0
        var released = 0
        while released < heldReplies.count
                && (heldReplies[released].position <= durable || (failing && !heldReplies[released].hasWrite)) {
            ready = heldReplies[released].bytes
            released += 1
        }
        if ready > 0 {
            send(ready)
            heldReplies.removeFirst(released)
            for index in heldReplies.indices { heldReplies[index].bytes -= ready }
        }
        if heldReplies.isEmpty {
            if closeWhenReleased { close() }
            return false
        }
        return true
    }

    /// Writes the first `count` bytes of the reply buffer: straight from it when nothing
    /// is waiting for the socket, else after what is.
    private func send(_ count: Int) {
        server.stats.outputBytes += count
        if unsent.readableBytes == 0 {
            let fd = self.fd
            let written = client.reply.buffer.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, count) }
            if written == count {
                client.reply.buffer.moveReaderIndex(forwardBy: count)
            } else if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                // The peer is gone (EPIPE, ECONNRESET): nothing more can be sent.
                client.reply.buffer.moveReaderIndex(forwardBy: count)
                return abort()
            } else {
                let taken = max(written, 0)
                client.reply.buffer.moveReaderIndex(forwardBy: taken)
                var rest = client.reply.buffer.readSlice(length: count - taken)!
                unsent = ByteBufferAllocator().buffer(capacity: rest.readableBytes)
                unsent.writeBuffer(&rest)
                updateInterest()
            }
        } else {
            var slice = client.reply.buffer.readSlice(length: count)!
            unsent.writeBuffer(&slice)
        }
        if client.reply.buffer.readableBytes == 0 {
            Connection.replyBuffers.giveBack(&client.reply.buffer)
        }
    }

    /// The socket is writable again: sends what waited for it.
    private func writeUnsent() {
        while unsent.readableBytes > 0 {
            let written = unsent.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                unsent.moveReaderIndex(forwardBy: written)
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                return abort()
            }
        }
        unsent = ByteBuffer()
        if closing && heldReplies.isEmpty {
            abort()
        } else {
            updateInterest()
        }
    }

    /// Takes the loop's reply buffer before replies are written, if this connection has
    /// none (one that holds replies back for the log keeps its own).
    private func borrowReplyBuffer() {
        guard let client, client.reply.buffer.capacity == 0 else { return }
        client.reply.buffer = Connection.replyBuffers.lend()
    }

    /// The reply buffer lent to whichever connection replies next (execution loop only).
    /// One that a large reply grew is not kept: that memory would count against maxmemory
    /// (an 8 MB MGET reply left 8 MB behind per connection, and writes got -OOM with no
    /// key left to demote).
    nonisolated(unsafe) private static var replyBuffers =
        BufferLender(size: 16 * 1024, keptCapacity: 256 * 1024, keptCount: 16)

    /// Stops serving the connection; it closes once the replies already due are sent.
    private func close() {
        guard !closed else { return }
        if !heldReplies.isEmpty && !closeWhenReleased {
            // QUIT after writes: their replies go first, once they are on disk.
            closeWhenReleased = true
            closing = true
            return updateInterest()
        }
        closing = true
        if unsent.readableBytes == 0 { abort() } else { updateInterest() }
    }

    /// Closes the socket now and forgets the client.
    private func abort() {
        guard !closed else { return }
        closed = true
        closing = true
        loop.closeDescriptor(fd)
        if let client { server.removeClient(client) }
        // The client's closures hold this connection weakly; dropping the client and the
        // buffers here frees them even while a parked command's future still holds us.
        client = nil
        Connection.heldInputBytes -= input.capacity
        input = ByteBuffer()
        unsent = ByteBuffer()
    }

    static func address(_ fd: Int32, peer: Bool) -> (ip: String, port: Int)? {
        var ip = [CChar](repeating: 0, count: 64)
        var port: Int32 = 0
        guard strata_socket_address(fd, peer ? 1 : 0, &ip, ip.count, &port) == 0 else { return nil }
        return (String(cString: ip), Int(port))
    }

    static func describe(_ address: (ip: String, port: Int)?) -> String {
        guard let address else { return "?:0" }
        return "\(address.ip):\(address.port)"
    }
}

/// Buffers that the execution loop lends to the connections it is serving, so that idle
/// connections hold none (300 connections with a 16 KB reply buffer each filled the mixed
/// mode's 4 MB maxmemory). A connection keeps what it borrowed only while it is part-way
/// through a request or has replies waiting (until the end of the loop's batch, when the
/// replies are written: `writeDeferred`), so a few spares are kept.
struct BufferLender {
    /// The capacity of a buffer lent.
    let size: Int
    /// A buffer given back larger than this (a large request or reply grew it) is freed.
    let keptCapacity: Int
    /// Spares kept at most.
    let keptCount: Int
    private var spares: [ByteBuffer] = []

    init(size: Int, keptCapacity: Int, keptCount: Int = 1) {
        self.size = size
        self.keptCapacity = keptCapacity
        self.keptCount = keptCount
        spares.reserveCapacity(keptCount)
        spares.append(ByteBufferAllocator().buffer(capacity: size))
    }

    /// A spare buffer, or a new one when all are out on loan.
    mutating func lend() -> ByteBuffer {
        spares.popLast() ?? ByteBufferAllocator().buffer(capacity: size)
    }

    /// Takes `buffer` back, emptied, and leaves a buffer without storage in its place.
    mutating func giveBack(_ buffer: inout ByteBuffer) {
        if buffer.capacity > 0 && buffer.capacity <= keptCapacity && spares.count < keptCount {
            buffer.clear()
            spares.append(buffer)
        }
        buffer = ByteBuffer()
    }
}

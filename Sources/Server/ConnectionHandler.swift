import Commands
import Logging
import NIOCore
import RESP
import Store

/*
 One connection. The whole request path runs here, on the server's single execution event
 loop, with the shape FACTS.md measured fastest: requests are parsed in place in the
 receive buffer, replies go into one reused output buffer, and that buffer is written and
 flushed once per read batch (channelReadComplete), not once per command.

 A command that cannot run yet (its keys are cold, later: it blocks) parks the
 connection: the request stays unconsumed in `input`, reading continues into the same
 buffer, and when the wait ends the same request is dispatched again. So pipelined
 commands keep their order, and only this connection waits.
*/
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerContext
    private let logger: Logger
    private var client: Client!
    /// Received bytes not yet consumed by a complete request.
    private var input = ConnectionHandler.emptyBuffer
    private static let emptyBuffer = ByteBuffer()
    private var parser: RequestParser
    private var ranges: [Range<Int>] = []
    /// Commands left before the pipelined input is looked ahead again (`prefetchKeys`).
    private var prefetchedCommands = 0
    private var scoutRanges: [Range<Int>] = []
    /// Where the scouted commands' first arguments are in `input`, and their hashes.
    private var prefetchKeyRanges: [Range<Int>] = []
    private var prefetchHashes: [UInt64] = []
    private var parked = false
    private var closing = false
    private var context: ChannelHandlerContext!
    private let durability: DurabilityGate
    /// appendfsync always: replies not sent yet because the log is not on disk up to the
    /// commands they answer: (bytes of the reply buffer, log position they need), in order.
    private var heldReplies: [(bytes: Int, position: UInt64, hasWrite: Bool)] = []
    /// A close asked for while replies were held: done once they are sent.
    private var closeWhenReleased = false
    var waitsForDurability = false

    init(server: ServerContext, logger: Logger, durability: DurabilityGate) {
        self.server = server
        self.logger = logger
        self.durability = durability
        self.parser = RequestParser(limits: RequestLimits(maxBulkLength: server.config.protoMaxBulkLength))
        ranges.reserveCapacity(16)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        let channel = context.channel
        let remoteIP = channel.remoteAddress?.ipAddress
        let isLocal = ProtectedMode.isLoopback(remoteIP) || channel.remoteAddress?.protocol == .unix
        if server.config.protectedMode && server.config.requirepass.isEmpty && !isLocal {
            refuse(context, ProtectedMode.deniedReply)
            return
        }
        if server.clients.count >= server.config.maxclients {
            refuse(context, "-ERR max number of clients reached\r\n")
            return
        }
        client = server.makeClient(address: Self.describe(channel.remoteAddress),
                                   localAddress: Self.describe(channel.localAddress), isLocal: isLocal,
                                   outputBuffer: channel.allocator.buffer(capacity: 16 * 1024))
        let loop = context.eventLoop
        client.closeConnection = { [weak self] in
            loop.execute { self?.close() }
        }
        client.sendOutOfBand = { [weak self] bytes in
            guard let self, let client = self.client, !self.closing else { return }
            var bytes = bytes
            client.reply.buffer.writeBuffer(&bytes)
            self.flush()
        }
        client.queryBufferBytes = { [weak self] in self?.input.readableBytes ?? 0 }
        context.fireChannelActive()
    }

    private func refuse(_ context: ChannelHandlerContext, _ text: String) {
        server.stats.rejectedConnections += 1
        closing = true
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client { server.removeClient(client) }
        closing = true
        context.fireChannelInactive()
        // The handler keeps its context (and the context its handler): break the cycle, or
        // every closed connection would keep its buffers (measured: 17 KB each).
        self.context = nil
        self.client = nil
        input = ConnectionHandler.emptyBuffer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, client != nil else { return }
        var incoming = unwrapInboundIn(data)
        server.stats.inputBytes += incoming.readableBytes
        if input.readableBytes == 0 && !parser.isInsideRequest {
            input = incoming
        } else {
            input.writeBuffer(&incoming)
        }
        if input.readableBytes > server.config.clientQueryBufferLimit {
            logger.warning("Closing client that reached max query buffer length: \(client.address)")
            close()
            return
        }
        processInput()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("Connection error: \(error)")
        close()
    }

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
        var commands = 0
        scouting: while commands < 32 {
            guard let request = try? scout.next(view, ranges: &scoutRanges, authenticated: client.authenticated)
            else { break }
            switch request {
            case .empty(let next):
                view.moveReaderIndex(to: next)
            case .command(let next):
                commands += 1
                if scoutRanges.count >= 2 { prefetchKeyRanges.append(scoutRanges[1]) }
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
        return max(commands, 1)
    }

    private func park(until ready: EventLoopFuture<Void>) {
        parked = true
        // The request stays in `input`; the parser must start it again from its beginning.
        parser.reset()
        let loop = context.eventLoop
        ready.hop(to: loop).whenComplete { [weak self] _ in
            guard let self, !self.closing else { return }
            self.parked = false
            self.processInput()
            self.flush()
        }
    }

    /// Keeps the input buffer from growing: drops consumed bytes once no request is in
    /// progress (argument ranges of a partial request are absolute indices).
    private func compactInput() {
        if input.readableBytes == 0 && !parser.isInsideRequest {
            // Let go of the receive buffer so that NIO can reuse it for the next read.
            input = ConnectionHandler.emptyBuffer
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
        guard let client, let context else { return }
        let pending = client.reply.buffer.readableBytes
        guard pending > 0 else { return }
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
        server.stats.outputBytes += pending
        context.writeAndFlush(wrapOutboundOut(client.reply.buffer), promise: nil)
        // After the write the buffer is normally unshared again, so clear() keeps its storage.
        resetReplyBuffer(client)
    }

    /// Sends the held replies whose commands' log records are on disk now (and replies
    /// to reads while the log is failing). Returns true when some must still wait.
    func releaseHeldReplies() -> Bool {
        guard let client, let context else { return false }
        let durable = server.store.log?.durableEnd ?? .max
        let failing = server.store.log?.lastError != nil
        var ready = 0
        var released = 0
        while released < heldReplies.count
                && (heldReplies[released].position <= durable || (failing && !heldReplies[released].hasWrite)) {
            ready = heldReplies[released].bytes
            released += 1
        }
        if ready > 0, let slice = client.reply.buffer.readSlice(length: ready) {
            server.stats.outputBytes += ready
            context.writeAndFlush(wrapOutboundOut(slice), promise: nil)
            heldReplies.removeFirst(released)
            for index in heldReplies.indices { heldReplies[index].bytes -= ready }
        }
        if heldReplies.isEmpty {
            if client.reply.buffer.readableBytes == 0 { resetReplyBuffer(client) }
            if closeWhenReleased { close() }
            return false
        }
        return true
    }

    /// Empties the reply buffer once it is sent. Its storage is kept for the next replies,
    /// unless one large reply grew it: that memory counts against maxmemory for as long
    /// as the connection lives (an 8 MB MGET reply left 8 MB behind, and writes got -OOM
    /// with no key left to demote).
    private func resetReplyBuffer(_ client: Client) {
        if client.reply.buffer.capacity > ConnectionHandler.keptReplyCapacity {
            client.reply.buffer = ByteBufferAllocator().buffer(capacity: 16 * 1024)
        } else {
            client.reply.buffer.clear()
        }
    }

    static let keptReplyCapacity = 256 * 1024

    private func close() {
        guard !closing || context != nil else { return }
        if !heldReplies.isEmpty && !closeWhenReleased {
            // QUIT after writes: their replies go first, once they are on disk.
            closeWhenReleased = true
            closing = true
            return
        }
        closing = true
        context?.close(promise: nil)
    }

    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "?:0" }
        switch address {
        case .v4, .v6: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: return address.pathname ?? "unix"
        }
    }
}

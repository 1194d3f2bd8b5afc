import Foundation
import LoadSupport
import NIOCore

/*
 One connection's closed loop: send a batch of `pipeline` requests in one write, wait for
 all of its replies, send the next batch. A request's latency is from the moment its batch
 was written to the moment its own reply was parsed, so with pipelining later replies in a
 batch include the time the server spent on the earlier ones (as redis-benchmark counts).

 The handler lives on one event loop and touches nothing shared; its result goes back
 through `done` when the work is over (deadline passed, quota used, keys loaded) or the
 connection dies.
*/
final class LoadClientHandler: ChannelInboundHandler {
    typealias InboundIn = RESPReply
    typealias OutboundOut = ByteBuffer

    /// A request in flight: its key and whether it is a GET.
    private struct Pending {
        var key: Int
        var isGet: Bool
    }

    private let plan: ClientPlan
    private let done: EventLoopPromise<ClientResult>
    private var rng: SplitMix64
    private var timeline = Timeline(measureFrom: 0, stopAt: nil)
    private var pending = CircularBuffer<Pending>()
    private var batchSentAt: UInt64 = 0
    private var batchRecorded = false
    /// Requests sent in the measured phase (for the quota).
    private var measuredSent = 0
    /// Next key to SET when loading.
    private var nextLoadKey = 0
    private var result = ClientResult()
    private var finished = false
    /// The expected value of the key being verified.
    private var expected: [UInt8]

    init(plan: ClientPlan, done: EventLoopPromise<ClientResult>) {
        self.plan = plan
        self.done = done
        rng = SplitMix64(seed: plan.seed)
        expected = [UInt8](repeating: 0, count: plan.valueSize)
        if case .load(let range) = plan.work { nextLoadKey = range.lowerBound }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let start = event as? StartSignal {
            timeline = start.timeline
            sendBatch(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let request = pending.popFirst() else {
            result.noteError("reply without a request")
            return
        }
        if batchRecorded {
            let now = monotonicNanos()
            result.latency.record(max(1, (now &- batchSentAt) / 1000))
            result.endedAt = now
            account(reply, for: request)
        }
        if pending.isEmpty { sendBatch(context: context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            result.noteError("connection closed by the server with \(pending.count) requests in flight")
            finish(context: context)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        result.noteError("connection error: \(error)")
        finish(context: context)
    }

    /// Counts one recorded reply.
    private func account(_ reply: RESPReply, for request: Pending) {
        result.requests += 1
        if request.isGet { result.gets += 1 } else { result.sets += 1 }
        switch reply {
        case .error(let text):
            result.noteError(text)
        case .bulk(nil) where request.isGet:
            result.misses += 1
        case .bulk(let body?) where request.isGet:
            result.hits += 1
            if plan.verify && !matchesExpected(body, key: request.key) {
                result.mismatches += 1
                if result.firstMismatches.count < ClientResult.keptExamples { result.firstMismatches.append(request.key) }
            }
        case .status where !request.isGet:
            break
        default:
            result.noteError("unexpected reply \(reply) to \(request.isGet ? "GET" : "SET")")
        }
    }

    private func matchesExpected(_ body: ByteBuffer, key: Int) -> Bool {
        guard body.readableBytes == plan.valueSize else { return false }
        expected.withUnsafeMutableBytes { DeterministicValue.fill(key: key, into: $0) }
        return body.withUnsafeReadableBytes { got in
            expected.withUnsafeBytes { want in memcmp(got.baseAddress!, want.baseAddress!, want.count) == 0 }
        }
    }

    /// Writes the next batch, or finishes if the work is over.
    private func sendBatch(context: ChannelHandlerContext) {
        guard !finished else { return }
        let now = monotonicNanos()
        var count = plan.pipeline
        switch plan.work {
        case .load(let range):
            count = min(count, range.upperBound - nextLoadKey)
        case .mix(_, _, let quota):
            if let stopAt = timeline.stopAt, now >= stopAt { count = 0 }
            if let quota, now >= timeline.measureFrom { count = min(count, quota - measuredSent) }
        }
        guard count > 0 else { return finish(context: context) }

        batchSentAt = now
        batchRecorded = now >= timeline.measureFrom
        if batchRecorded { measuredSent += count }
        var buffer = context.channel.allocator.buffer(capacity: count * (plan.valueSize + 64))
        for _ in 0..<count {
            let request = nextRequest()
            if request.isGet {
                buffer.writeGET(key: request.key, format: plan.keyFormat)
            } else {
                buffer.writeSET(key: request.key, format: plan.keyFormat, valueSize: plan.valueSize)
            }
            pending.append(request)
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func nextRequest() -> Pending {
        switch plan.work {
        case .load:
            defer { nextLoadKey += 1 }
            return Pending(key: nextLoadKey, isGet: false)
        case .mix(let chooser, let readRatio, _):
            let key = chooser.next(using: &rng)
            let isGet = readRatio >= 1 || rng.unitDouble() < readRatio
            return Pending(key: key, isGet: isGet)
        }
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(result)
        context.close(promise: nil)
    }
}

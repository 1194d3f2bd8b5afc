import ArgumentParser
import Foundation
import LoadSupport
import NIOCore
import NIOPosix

/*
 strata-load: a closed-loop Redis load generator with the key distributions redis-benchmark
 lacks (zipf), deterministic values that every GET can be checked against, and key ranges so
 that several processes can play different roles (hot readers, cold readers) at once.

   strata-load --port 6379 --keys 10000000 --load --pipeline 64
   strata-load --port 6379 --keys 10000000 --distribution zipf --duration 10 --verify --json
   strata-load --port 6379 --keys 10000000 --key-range 0:100000 --distribution zipf   (hot)
*/
@main
struct StrataLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata-load",
        abstract: "Redis load generator: uniform or zipf keys, GET/SET mix, verified values.")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 6379
    @Option(help: "Connections.") var clients = 50
    @Option(help: "Requests per batch on a connection (1 = no pipelining).") var pipeline = 1
    @Option(help: "Event loop threads.") var threads = 2
    @Option(help: "Key space size: key numbers 0..<keys.") var keys = 10_000_000
    @Option(help: "Key name format; %d is the key number.") var keyFormat = "key:%d"
    @Option(help: "Restrict keys to [a, b), as a:b.") var keyRange: String?
    @Option(help: "Value size in bytes (values are a function of the key).") var valueSize = 100
    @Option(help: "uniform or zipf.") var distribution: DistributionArgument = .uniform
    @Option(help: "Zipf exponent s.") var zipfS = 0.99
    @Option(help: "Fraction of requests that are GETs; the rest SET the same key.") var readRatio = 1.0
    @Option(help: "Measured seconds (unless --requests is given).") var duration: Double = 10
    @Option(help: "Measured requests in total, over all connections (instead of --duration).") var requests: Int?
    @Option(help: "Seconds run before measuring (not recorded).") var warmup: Double = 2
    @Option(help: "Random seed (each connection derives its own).") var seed: UInt64 = 1
    @Flag(help: "SET every key of the range once, then exit.") var load = false
    @Flag(help: "Check every GET reply against the key's value.") var verify = false
    @Flag(help: "Also print one JSON line.") var json = false

    func validate() throws {
        guard clients > 0, pipeline > 0, threads > 0, keys > 0 else {
            throw ValidationError("--clients, --pipeline, --threads and --keys must be positive")
        }
        guard valueSize > 0 else { throw ValidationError("--value-size must be positive") }
        guard KeyFormat(keyFormat) != nil else { throw ValidationError("--key-format must contain %d exactly once") }
        guard (0...1).contains(readRatio) else { throw ValidationError("--read-ratio must be in [0, 1]") }
        guard zipfS > 0 else { throw ValidationError("--zipf-s must be positive") }
        if let keyRange {
            guard let r = parseKeyRange(keyRange), r.upperBound <= keys else {
                throw ValidationError("--key-range must be a:b with 0 <= a < b <= --keys")
            }
        }
        if let requests, requests <= 0 { throw ValidationError("--requests must be positive") }
    }

    func run() throws {
        let range = keyRange.flatMap(parseKeyRange) ?? 0..<keys
        let plans = makePlans(range: range)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { try? group.syncShutdownGracefully() }

        var channels: [Channel] = []
        var futures: [EventLoopFuture<ClientResult>] = []
        for plan in plans {
            let loop = group.next()
            let done = loop.makePromise(of: ClientResult.self)
            let channel = try ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(RESPReplyDecoder()),
                            LoadClientHandler(plan: plan, done: done))
                    }
                }
                .connect(host: host, port: port).wait()
            channels.append(channel)
            futures.append(done.futureResult)
        }

        let start = monotonicNanos()
        let measureFrom = load ? start : start + UInt64(warmup * 1e9)
        let stopAt: UInt64? = (load || requests != nil) ? nil : measureFrom + UInt64(duration * 1e9)
        let timeline = Timeline(measureFrom: measureFrom, stopAt: stopAt)
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(StartSignal(timeline: timeline))
        }
        let results = try EventLoopFuture.whenAllSucceed(futures, on: group.next()).wait()
        report(results, measureFrom: measureFrom, range: range)
    }

    /// One plan per connection: the load splits the range into contiguous chunks; the mix
    /// splits `--requests` evenly.
    private func makePlans(range: Range<Int>) -> [ClientPlan] {
        let format = KeyFormat(keyFormat)!
        let chooser = load ? nil : KeyChooser(range: range, distribution: distribution.value, zipfExponent: zipfS)
        return (0..<clients).map { i in
            let work: ClientPlan.Work
            if let chooser {
                let quota = requests.map { $0 / clients + (i < $0 % clients ? 1 : 0) }
                work = .mix(chooser: chooser, readRatio: readRatio, quota: quota)
            } else {
                let lo = range.lowerBound + range.count * i / clients
                let hi = range.lowerBound + range.count * (i + 1) / clients
                work = .load(lo..<hi)
            }
            return ClientPlan(work: work, pipeline: pipeline, valueSize: valueSize, keyFormat: format,
                              verify: verify, seed: SplitMix64.streamSeed(seed, i))
        }
    }

    private func report(_ results: [ClientResult], measureFrom: UInt64, range: Range<Int>) {
        var total = ClientResult()
        for r in results { total.merge(r) }
        var summary = RunSummary()
        summary.seconds = Double(total.endedAt &- measureFrom) / 1e9
        summary.requests = total.requests
        summary.gets = total.gets
        summary.sets = total.sets
        summary.hits = total.hits
        summary.misses = total.misses
        summary.mismatches = total.mismatches
        summary.errors = total.errors
        summary.setLatencies(total.latency, unitsPerMicrosecond: 1)

        let what = load
            ? "load: SET keys [\(range.lowerBound), \(range.upperBound)), \(valueSize) B values"
            : "\(distribution.rawValue) keys [\(range.lowerBound), \(range.upperBound))"
                + (distribution == .zipf ? " s=\(zipfS)" : "") + ", read ratio \(readRatio), \(valueSize) B values"
        print(summary.humanReadable(title: "strata-load \(host):\(port), \(clients) clients, pipeline \(pipeline): \(what)"))
        if load { print("  \(fmt(summary.opsPerSecond, 0)) keys/s") }
        for text in total.firstErrors { print("  error: \(text)") }
        let format = KeyFormat(keyFormat)!
        for key in total.firstMismatches { print("  mismatch: \(format.name(key))") }
        if json { print(summary.jsonLine) }
    }
}

/// `--distribution` values.
enum DistributionArgument: String, ExpressibleByArgument, CaseIterable {
    case uniform, zipf
    var value: KeyDistribution { KeyDistribution(rawValue: rawValue)! }
}

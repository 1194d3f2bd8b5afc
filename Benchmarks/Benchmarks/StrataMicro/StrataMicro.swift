import Benchmark
import Commands
import Config
import NIOCore
import RESP
import Store

/// Micro-benchmarks of the per-command work: parsing, encoding, keyspace access, and a
/// whole GET/SET through the dispatcher (no sockets).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           maxDuration: .seconds(2))

    Benchmark("RESP parse SET (16 per buffer)") { benchmark in
        var stream = ByteBuffer()
        for i in 0..<16 { stream.writeString("*3\r\n$3\r\nSET\r\n$8\r\nkey:\(1000 + i)\r\n$10\r\nvalue-0123\r\n") }
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(8)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var parser = RequestParser()
            var buffer = stream
            while let request = try parser.next(buffer, ranges: &ranges) {
                guard case .command(let end) = request else { break }
                buffer.moveReaderIndex(to: end)
            }
            blackHole(ranges.count)
        }
    }

    Benchmark("RESP encode bulk + integer") { benchmark in
        var writer = ReplyWriter(buffer: ByteBuffer())
        let value = [UInt8](repeating: 65, count: 64)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            writer.buffer.clear()
            writer.bulk(value)
            writer.integer(123456)
            blackHole(writer.buffer.readableBytes)
        }
    }

    Benchmark("Keyspace find (100k keys)") { benchmark in
        let keyspace = Keyspace()
        let keys = (0..<100_000).map { Array("key:\($0)".utf8) }
        for key in keys { keyspace.insert(key: key, hash: KeyHash.hash(key), value: .string([1, 2, 3])) }
        var i = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let found = keys[i % keys.count].withUnsafeBytes { keyspace.find($0) }
            blackHole(found)
            i &+= 7919
        }
    }

    Benchmark("Dispatch SET+GET (no network)") { benchmark in
        let server = ServerContext(config: ServerConfig())
        let client = server.makeClient(address: "127.0.0.1:1", localAddress: "127.0.0.1:6379", isLocal: true,
                                       outputBuffer: ByteBuffer())
        let set = CommandArguments(["SET", "key:1", "value-0123"])
        let get = CommandArguments(["GET", "key:1"])
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = server.dispatch(client, set)
            _ = server.dispatch(client, get)
            client.reply.buffer.clear()
        }
    }
}

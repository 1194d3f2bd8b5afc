import CShims
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on the execution loop: accepts connections and hands each
/// descriptor to `accepted`.
final class Listener: ExecutionLoop.Handler {
    let fd: Int32
    let port: Int
    private let loop: ExecutionLoop
    private let keepaliveSeconds: Int32
    private let accepted: (Int32) -> Void
    private var closed = false

    /// Accepts per readiness event, so that a burst of connections does not hold up the
    /// clients already connected (Redis: 1000).
    static let acceptsPerEvent = 1000

    /// Binds and listens; throws with the system's reason when it cannot.
    init(host: String, port: Int, backlog: Int, keepaliveSeconds: Int, loop: ExecutionLoop,
         accepted: @escaping (Int32) -> Void) throws {
        var error = [CChar](repeating: 0, count: 256)
        var boundPort: Int32 = 0
        let fd = strata_listen(host, Int32(port), Int32(backlog), &boundPort, &error, error.count)
        guard fd >= 0 else { throw StartupError(String(cString: error)) }
        self.fd = fd
        self.port = Int(boundPort)
        self.loop = loop
        self.keepaliveSeconds = Int32(clamping: keepaliveSeconds)
        self.accepted = accepted
    }

    /// Starts accepting (on the loop).
    func start() {
        _ = loop.register(fd, self)
    }

    func pollEvent(_ events: UInt32) {
        for _ in 0..<Listener.acceptsPerEvent where !closed {
            let connection = strata_accept(fd, keepaliveSeconds)
            // None waiting (-1), or out of descriptors (EMFILE) and the like (-2): then the
            // connection stays queued, as in Redis, and is retried on the next event.
            guard connection >= 0 else { return }
            accepted(connection)
        }
    }

    /// Stops listening (on the loop).
    func close() {
        guard !closed else { return }
        closed = true
        loop.closeDescriptor(fd)
    }
}

import NIOCore

/*
 A test knob for the parked-command path (`DEBUG PARK-KEYS <prefix> <milliseconds>`,
 Strata only, behind enable-debug-command): a command whose keys start with the prefix
 waits that long before it runs, exactly as a command whose keys are cold waits for the
 background read. It lets the tests check, before the cold tier exists and then
 independently of it, that only the waiting connection waits, that its pipelined commands
 keep their order, and that MULTI/EXEC waits for all its keys at once.

 Each key access parks once: after the wait the key counts as "resident" for the
 re-dispatch of that command, then it parks again next time.
*/
public final class ParkingProbe {
    let prefix: [UInt8]
    let delay: TimeAmount
    /// Keys whose wait is over, waiting for their command to be dispatched again.
    private var released: [[UInt8]: Int] = [:]

    init(prefix: [UInt8], milliseconds: Int64) {
        self.prefix = prefix
        self.delay = .milliseconds(milliseconds)
    }

    /// Installs the probe as `server`'s admission gate (an empty prefix removes it).
    public static func install(on server: ServerContext, prefix: [UInt8], milliseconds: Int64) {
        guard !prefix.isEmpty, let loop = server.eventLoop else {
            server.admissionGate = nil
            return
        }
        let probe = ParkingProbe(prefix: prefix, milliseconds: milliseconds)
        server.admissionGate = { _, keys in probe.admit(keys, loop: loop) }
    }

    func admit(_ keys: [UnsafeRawBufferPointer], loop: EventLoop) -> EventLoopFuture<Void>? {
        let matching = keys.filter { $0.starts(with: prefix) }.map { [UInt8]($0) }
        guard !matching.isEmpty else { return nil }
        if matching.allSatisfy({ (released[$0] ?? 0) > 0 }) {
            for key in matching {
                released[key]! -= 1
                if released[key] == 0 { released[key] = nil }
            }
            return nil
        }
        return loop.scheduleTask(in: delay) { [self] in
            for key in matching { released[key, default: 0] += 1 }
        }.futureResult
    }
}

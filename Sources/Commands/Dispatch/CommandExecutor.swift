import Config
import NIOCore
import RESP
import Store

/// What happened to a request handed to `CommandExecutor.dispatch`.
public enum DispatchResult {
    /// The command ran (or was rejected, or queued) and its reply is in the client's buffer.
    case completed
    /// The command cannot run yet (its keys are being made resident, or it blocks). Nothing
    /// of it has run. The connection stops processing its input and dispatches the same
    /// request again when `ready` completes, so pipelined commands keep their order while
    /// other connections are served.
    case parked(ready: EventLoopFuture<Void>)
}

/// Decides, before a command runs, whether it must wait: returns nil when it can run now,
/// else a future that completes when it can be dispatched again. The cold tier installs
/// one (keys in RocksDB are read on a background pool first).
public typealias AdmissionGate = (_ client: Client, _ keys: [UnsafeRawBufferPointer]) -> EventLoopFuture<Void>?

/*
 The path every request takes, in Redis's processCommand order:

   look up the command (rename-command applied) -> container subcommand -> arity ->
   protected (DEBUG) -> authentication -> MULTI queueing -> admission gate (cold keys) ->
   run, then statistics, SLOWLOG, latency and MONITOR.

 Rejections before the handler runs count as `rejected_calls`; a handler that replies with
 an error counts as `failed_calls`. Inside MULTI a rejection also dooms the transaction
 (EXECABORT).
*/
extension ServerContext {
    /// Handles one request of `client`.
    public func dispatch(_ client: Client, _ arguments: CommandArguments) -> DispatchResult {
        let result = admitAndRun(client, arguments)
        // Keys read back for this request may leave RAM once it is done, however it ended.
        if case .completed = result, !client.coldPins.isEmpty { store.tier?.releasePins(&client.coldPins) }
        return result
    }

    private func admitAndRun(_ client: Client, _ arguments: CommandArguments) -> DispatchResult {
        guard arguments.count > 0 else { return .completed }
        guard var spec = commands.lookup(arguments.bytes(0)) else {
            rejectUnknown(client, arguments)
            return .completed
        }
        // A container called alone runs itself if its arity allows it (COMMAND), else
        // fails the arity check below (CONFIG), as Redis's lookupCommand does.
        if spec.isContainer && arguments.count >= 2 {
            guard let sub = spec.subcommands[arguments.lowercased(1)] else {
                reject(client, spec, ErrorReplies.unknownSubcommand(arguments.string(1), spec.name))
                return .completed
            }
            spec = sub
        }
        guard spec.acceptsArgumentCount(arguments.count) else {
            reject(client, spec, ErrorReplies.wrongArity(spec.fullName))
            return .completed
        }
        if spec.flags.contains(.protected) && !allowsProtected(config.enableDebugCommand, client) {
            reject(client, spec, """
                ERR \(spec.name.uppercased()) command not allowed. If the enable-debug-command option is set to \
                "local", you can run it from a local connection, otherwise you need to set this option in the \
                configuration file, and then restart the server.
                """)
            return .completed
        }
        if !client.authenticated && !spec.flags.contains(.noAuth) {
            reject(client, spec, ErrorReplies.noAuth)
            return .completed
        }
        // Writes stop while the log or a checkpoint cannot reach the disk (and PING, as
        // in Redis, so that health checks notice).
        if store.hasDiskTrouble && (spec.flags.contains(.write) || spec.name == "ping"),
           let reason = store.diskErrorReply() {
            reject(client, spec, reason)
            return .completed
        }
        // Resumed after its cold keys were read back, the command passed this check before
        // the read: what memory is over by now is its own keys, pinned in RAM until it has
        // run. Checking again refused it for them (every write to a list larger than
        // maxmemory got -OOM); they leave RAM again after it, as any key does.
        let verdict = client.coldPins.isEmpty ? memoryAdmission(client, spec) : .proceed
        if client.memoryStallStart != 0, !verdict.isWait {
            store.writeStallMicros += Int((Clock.monotonicNanos() &- client.memoryStallStart) / 1000)
            client.memoryStallStart = 0
        }
        switch verdict {
        case .proceed: break
        case .wait(let ready):
            // Backpressure: this connection is not read until demotion has made room.
            if client.memoryStallStart == 0 {
                client.memoryStallStart = Clock.monotonicNanos()
                store.writeStalls += 1
            }
            return .parked(ready: ready)
        case .outOfMemory:
            reject(client, spec, ErrorReplies.oom)
            return .completed
        case .diskFull(let reason):
            reject(client, spec, ServerContext.coldTierFullError(reason))
            return .completed
        }
        if client.transaction != nil && !spec.flags.contains(.noQueue) {
            if spec.flags.contains(.noMulti) {
                reject(client, spec, "ERR Command not allowed inside a transaction")
                return .completed
            }
            client.transaction!.append((spec, arguments.detached()))
            client.reply.status("QUEUED")
            return .completed
        }
        let tier = store.tier
        if let tier, let ready = coldAdmission(client, spec, arguments, tier) { return .parked(ready: ready) }
        if let gate = admissionGate {
            let keys = spec.name == "exec" ? queuedKeys(client) : spec.keyPositions(arguments).map { arguments.bytes($0) }
            if !keys.isEmpty, let ready = gate(client, keys) { return .parked(ready: ready) }
        }
        if spec.waitsForCheckpoint, let ready = PersistenceCommands.saveAdmission(client) { return .parked(ready: ready) }
        let logged = store.log?.appendedEnd
        run(client, spec, arguments)
        if let log = store.log {
            store.logChanges()
            // With appendfsync always this reply waits until the log is on disk up to here:
            // a write's for its own records, a read's because it may show others' writes
            // not on disk yet (while the log is failing, reads are answered anyway).
            if log.appendedEnd != logged {
                client.logPosition = log.appendedEnd
            } else {
                client.readLogPosition = log.appendedEnd
            }
        }
        if let tier {
            client.coldListing = nil
            // Before afterCommand: a transient key read for this command goes back now.
            if !client.coldPins.isEmpty { tier.releasePins(&client.coldPins) }
            tier.afterCommand()
        }
        return afterBlockingCheck(client)
    }

    /// After a command ran: parks the client if its handler asked to block, and serves
    /// clients blocked on lists the command created (Blocking.swift).
    private func afterBlockingCheck(_ client: Client) -> DispatchResult {
        var result = DispatchResult.completed
        if let request = client.blockRequest {
            client.blockRequest = nil
            result = .parked(ready: blocking.block(client, request))
        } else {
            client.blockSequence = nil
        }
        if client.wokenFor != nil { blocking.afterWokenCommand(client) }
        if !store.createdLists.isEmpty { blocking.serveCreatedLists() }
        return result
    }

    /// Runs an admitted command and records its statistics.
    public func run(_ client: Client, _ spec: CommandSpec, _ arguments: CommandArguments) {
        store.refreshClock()
        client.currentCommandFailed = false
        // Set before the handler, as Redis does, so CLIENT LIST shows the running command.
        client.lastCommandName = spec.fullName
        let start = Clock.monotonicNanos()
        spec.handler(client, arguments)
        let nanos = Clock.monotonicNanos() &- start
        let micros = Int(nanos / 1000)
        spec.calls += 1
        spec.microseconds += micros
        if spec.latencyHistogram == nil { spec.latencyHistogram = LatencyHistogram() }
        spec.latencyHistogram!.record(nanoseconds: nanos)
        if client.currentCommandFailed { spec.failedCalls += 1 }
        stats.commandsProcessed += 1
        client.lastInteraction = store.nowMillis
        if config.slowlogLogSlowerThan >= 0 && micros >= config.slowlogLogSlowerThan
            && !spec.flags.contains(.skipSlowlog) {
            slowlog.record(arguments, redacted: ArgumentRedaction.positions(spec, arguments), microseconds: micros,
                           address: client.address, name: client.name,
                           timestamp: Int(store.nowMillis / 1000), maxLength: config.slowlogMaxLen)
        }
        if config.latencyMonitorThreshold > 0 && micros / 1000 >= config.latencyMonitorThreshold {
            latency.record(spec.flags.contains(.fast) ? "fast-command" : "command",
                           milliseconds: micros / 1000, timestamp: Int(store.nowMillis / 1000))
        }
        if !monitors.isEmpty && !spec.flags.contains(.skipMonitor) && !spec.flags.contains(.admin) {
            feedMonitors(client, spec, arguments)
        }
    }

    /// The keys of every command queued in `client`'s transaction.
    func queuedKeys(_ client: Client) -> [UnsafeRawBufferPointer] {
        guard let queued = client.transaction else { return [] }
        return queued.flatMap { entry in entry.spec.keyPositions(entry.arguments).map { entry.arguments.bytes($0) } }
    }

    func allowsProtected(_ setting: ProtectedSetting, _ client: Client) -> Bool {
        setting == .yes || (setting == .local && client.isLocal)
    }

    private func reject(_ client: Client, _ spec: CommandSpec?, _ text: String) {
        spec?.rejectedCalls += 1
        if client.transaction != nil {
            // A refused EXEC ends the transaction with the reason (Redis's execCommandAbort).
            if spec?.name == "exec" && spec?.parentName == nil {
                client.transaction = nil
                client.transactionFailed = false
                client.unwatchAll()
                let reason = text.hasPrefix("ERR ") ? String(text.dropFirst(4)) : text
                let abort = "EXECABORT Transaction discarded because of: \(reason)"
                countError(abort)
                client.reply.error(abort)
                return
            }
            client.transactionFailed = true
        }
        countError(text)
        client.reply.error(text)
    }

    private func rejectUnknown(_ client: Client, _ arguments: CommandArguments) {
        var args = ""
        var index = 1
        while index < arguments.count && args.utf8.count < 128 {
            let room = 128 - args.utf8.count
            args += "'" + String(decoding: arguments.bytes(index).prefix(room), as: UTF8.self) + "' "
            index += 1
        }
        let name = String(decoding: arguments.bytes(0).prefix(128), as: UTF8.self)
        reject(client, nil, "ERR unknown command '\(name)', with args beginning with: \(args)")
    }

    /// MONITOR line: +<unix.micros> [<db> <addr>] "arg" "arg"..., sent after the command
    /// ran (so the db is the one selected after it, as Redis shows it), passwords redacted.
    func feedMonitors(_ client: Client, _ spec: CommandSpec, _ arguments: CommandArguments) {
        let micros = Clock.nowMicros()
        var line = "+\(micros / 1_000_000).\(String(micros % 1_000_000).leftPadded(6)) [\(client.db.index) \(client.address)]"
        let redacted = ArgumentRedaction.positions(spec, arguments)
        for index in 0..<arguments.count {
            if redacted.contains(index) {
                line += " \"(redacted)\""
            } else {
                line += " " + MonitorFormat.quote(arguments.bytes(index))
            }
        }
        line += "\r\n"
        var buffer = ByteBuffer()
        buffer.writeString(line)
        for monitor in monitors where monitor !== client { monitor.sendOutOfBand(buffer) }
    }
}

/// Redis's sdscatrepr quoting, used by MONITOR and CLIENT LIST.
public enum MonitorFormat {
    public static func quote(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x07: out += "\\a"
            case 0x08: out += "\\b"
            default:
                if byte >= 0x20 && byte < 0x7F {
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let hex = String(byte, radix: 16)
                    out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}

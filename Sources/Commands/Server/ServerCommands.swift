import NIOCore
import RESP
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Server-level commands: INFO, CONFIG, TIME, SHUTDOWN, SLOWLOG, LATENCY, MONITOR, DEBUG.
/// Each family lives in its own file (InfoCommand, ConfigCommand, SlowlogLatencyCommands,
/// DebugCommand); this file gathers their specs and holds the small ones.
public enum ServerCommands {
    public static var specs: [CommandSpec] { [
        CommandSpec("info", arity: -1, flags: [.loading, .stale], group: "server",
                    summary: "Get information and statistics about the server", handler: InfoCommand.info),
        ConfigCommand.spec,
        CommandSpec("time", arity: 1, flags: [.loading, .stale, .fast], group: "server",
                    summary: "Return the current server time", handler: time),
        CommandSpec("shutdown", arity: -1, flags: [.admin, .noscript, .loading, .stale, .noMulti, .allowBusy],
                    group: "server", summary: "Synchronously save the dataset to disk and then shut down the server",
                    handler: shutdown),
        SlowlogLatencyCommands.slowlogSpec,
        SlowlogLatencyCommands.latencySpec,
        CommandSpec("monitor", arity: 1, flags: [.admin, .noscript, .loading, .stale], group: "server",
                    summary: "Listen for all requests received by the server in real time", handler: monitor),
        DebugCommand.spec,
    ] }

    /// TIME: seconds and microseconds of the wall clock, as two bulk strings.
    static func time(_ client: Client, _ args: CommandArguments) {
        let micros = Clock.nowMicros()
        client.reply.arrayHeader(2)
        client.reply.bulk(decimal: Int(micros / 1_000_000))
        client.reply.bulk(decimal: Int(micros % 1_000_000))
    }

    /*
     SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. Strata has no persistence yet, so there
     is nothing to save: SHUTDOWN, SHUTDOWN SAVE and SHUTDOWN NOSAVE all stop the server
     at once (SAVE with nothing to write succeeds trivially). NOW and FORCE only matter
     for waiting on replicas and for save failures, neither of which exists; ABORT cancels
     a pending shutdown, and since a shutdown here is never pending it answers Redis's
     "no shutdown in progress" error. When the persistence work lands, SAVE must really
     save first (and fail the shutdown on error unless FORCE).
    */
    static func shutdown(_ client: Client, _ args: CommandArguments) {
        var save = false, noSave = false, otherFlags = false, abort = false
        for index in 1..<args.count {
            if args.matches(index, "nosave") { noSave = true }
            else if args.matches(index, "save") { save = true }
            else if args.matches(index, "now") || args.matches(index, "force") { otherFlags = true }
            else if args.matches(index, "abort") { abort = true }
            else { return client.error(ErrorReplies.syntax) }
        }
        if (abort && (save || noSave || otherFlags)) || (save && noSave) { return client.error(ErrorReplies.syntax) }
        if abort { return client.error("ERR No shutdown in progress.") }
        let request: ShutdownRequest = save ? .save : (noSave ? .noSave : .defaultMode)
        if client.server.requestShutdown(request) {
            // The connection is closed by the shutdown; like Redis, no reply is sent.
            client.closeAfterReply = true
        } else {
            client.error("ERR Errors trying to SHUTDOWN. Check logs.")
        }
    }

    /// MONITOR: from now on the client receives every command the server runs.
    static func monitor(_ client: Client, _ args: CommandArguments) {
        guard !client.isMonitor else { return client.reply.ok() }
        client.isMonitor = true
        client.server.monitors.append(client)
        client.reply.ok()
    }

    /// Writes Redis's HELP layout: a header line, the given lines, then HELP itself, each
    /// as a status reply.
    static func replyHelp(_ client: Client, _ command: String, _ lines: [String]) {
        let all = ["\(command) <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"] + lines
            + ["HELP", "    Prints this help."]
        client.reply.arrayHeader(all.count)
        for line in all { client.reply.status(line) }
    }

    /// "ERR unknown subcommand or wrong number of arguments for 'x'. Try DEBUG HELP." and
    /// friends: the reply of commands that check their subcommands themselves.
    static func subcommandError(_ client: Client, _ args: CommandArguments, _ command: String) {
        client.error("ERR unknown subcommand or wrong number of arguments for '\(args.string(1).prefix(128))'. "
                     + "Try \(command) HELP.")
    }
}

/// Arguments that must not be shown in MONITOR or SLOWLOG (passwords), as Redis's
/// redactClientCommandArgument marks them.
public enum ArgumentRedaction {
    public static let placeholder: [UInt8] = Array("(redacted)".utf8)

    /// Positions of the arguments of this call to show as "(redacted)".
    public static func positions(_ spec: CommandSpec, _ args: CommandArguments) -> [Int] {
        switch spec.fullName {
        case "auth":
            return Array(1..<args.count)
        case "hello":
            var result: [Int] = []
            var index = 2
            while index < args.count {
                let more = args.count - 1 - index
                if args.matches(index, "auth") && more >= 2 {
                    result += [index + 1, index + 2]
                    index += 3
                } else if args.matches(index, "setname") && more >= 1 {
                    index += 2
                } else {
                    break
                }
            }
            return result
        case "config|set":
            return stride(from: 2, to: args.count - 1, by: 2).compactMap { index in
                ConfigCommand.sensitive.contains(args.lowercased(index)) ? index + 1 : nil
            }
        default:
            return []
        }
    }
}

import Foundation
import RESP
import Store

/// SLOWLOG and LATENCY: the two diagnostic logs of slow commands.
public enum SlowlogLatencyCommands {
    static let adminFlags: CommandFlags = [.admin, .loading, .stale]
    static let latencyFlags: CommandFlags = [.admin, .noscript, .loading, .stale]

    static var slowlogSpec: CommandSpec { CommandSpec(
        "slowlog", arity: -2, group: "server", summary: "A container for slow log commands",
        subcommands: [
            CommandSpec("get", arity: -2, flags: adminFlags, group: "server",
                        summary: "Get the slow log's entries", handler: slowlogGet),
            CommandSpec("len", arity: 2, flags: adminFlags, group: "server",
                        summary: "Get the slow log's length", handler: slowlogLen),
            CommandSpec("reset", arity: 2, flags: adminFlags, group: "server",
                        summary: "Clear all entries from the slow log", handler: slowlogReset),
            CommandSpec("help", arity: 2, flags: [.loading, .stale], group: "server",
                        summary: "Show helpful text about the different subcommands", handler: slowlogHelp),
        ]) }

    static var latencySpec: CommandSpec { CommandSpec(
        "latency", arity: -2, group: "server", summary: "A container for latency diagnostics commands",
        subcommands: [
            CommandSpec("latest", arity: 2, flags: latencyFlags, group: "server",
                        summary: "Return the latest latency samples for all events", handler: latencyLatest),
            CommandSpec("history", arity: 3, flags: latencyFlags, group: "server",
                        summary: "Return timestamp-latency samples for the event", handler: latencyHistory),
            CommandSpec("reset", arity: -2, flags: latencyFlags, group: "server",
                        summary: "Reset latency data for one or more events", handler: latencyReset),
            CommandSpec("doctor", arity: 2, flags: latencyFlags, group: "server",
                        summary: "Return a human readable latency analysis report", handler: latencyDoctor),
            CommandSpec("histogram", arity: -2, flags: latencyFlags, group: "server",
                        summary: "Return the cumulative distribution of latencies of a subset of commands or all commands",
                        handler: latencyHistogram),
            CommandSpec("help", arity: 2, flags: [.loading, .stale], group: "server",
                        summary: "Show helpful text about the different subcommands", handler: latencyHelp),
        ]) }

    // MARK: - SLOWLOG

    static func slowlogGet(_ client: Client, _ args: CommandArguments) {
        guard args.count <= 3 else { return ServerCommands.subcommandError(client, args, "SLOWLOG") }
        var count = 10
        if args.count == 3 {
            guard let requested = args.integer(2), requested >= -1 else {
                return client.error("ERR count should be greater than or equal to -1")
            }
            count = requested == -1 ? Int.max : requested
        }
        let entries = client.server.slowlog.entries.prefix(count)
        client.reply.arrayHeader(entries.count)
        for entry in entries {
            client.reply.arrayHeader(6)
            client.reply.integer(entry.id)
            client.reply.integer(entry.timestamp)
            client.reply.integer(entry.microseconds)
            client.reply.arrayHeader(entry.arguments.count)
            for argument in entry.arguments { client.reply.bulk(argument) }
            client.reply.bulk(entry.clientAddress)
            client.reply.bulk(entry.clientName)
        }
    }

    static func slowlogLen(_ client: Client, _ args: CommandArguments) {
        client.reply.integer(client.server.slowlog.entries.count)
    }

    static func slowlogReset(_ client: Client, _ args: CommandArguments) {
        client.server.slowlog.reset()
        client.reply.ok()
    }

    static func slowlogHelp(_ client: Client, _ args: CommandArguments) {
        ServerCommands.replyHelp(client, "SLOWLOG", [
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ])
    }

    // MARK: - LATENCY

    static func latencyLatest(_ client: Client, _ args: CommandArguments) {
        let events = client.server.latency.events.sorted { $0.key < $1.key }.filter { !$0.value.samples.isEmpty }
        client.reply.arrayHeader(events.count)
        for (name, event) in events {
            let last = event.samples[event.samples.count - 1]
            client.reply.arrayHeader(4)
            client.reply.bulk(name)
            client.reply.integer(last.timestamp)
            client.reply.integer(last.milliseconds)
            client.reply.integer(event.maxMilliseconds)
        }
    }

    static func latencyHistory(_ client: Client, _ args: CommandArguments) {
        let samples = client.server.latency.events[args.string(2)]?.samples ?? []
        client.reply.arrayHeader(samples.count)
        for sample in samples {
            client.reply.arrayHeader(2)
            client.reply.integer(sample.timestamp)
            client.reply.integer(sample.milliseconds)
        }
    }

    static func latencyReset(_ client: Client, _ args: CommandArguments) {
        client.reply.integer(client.server.latency.reset((2..<args.count).map { args.string($0) }))
    }

    static func latencyDoctor(_ client: Client, _ args: CommandArguments) {
        client.reply.verbatim(doctorReport(client.server))
    }

    /// LATENCY HISTOGRAM [command ...]: per command, its calls and the cumulative
    /// distribution of its run times. A container name selects its subcommands.
    static func latencyHistogram(_ client: Client, _ args: CommandArguments) {
        var selected: [CommandSpec] = []
        if args.count == 2 {
            selected = InfoCommand.allSpecs(client.server)
        } else {
            for index in 2..<args.count {
                guard let spec = CommandIntrospection.lookup(client.server, args.lowercased(index)) else { continue }
                selected.append(spec)
                selected += spec.subcommands.values.sorted { $0.name < $1.name }
            }
        }
        let withData = selected.filter { ($0.latencyHistogram?.count ?? 0) > 0 }
        client.reply.mapHeader(withData.count)
        for spec in withData {
            let histogram = spec.latencyHistogram!
            client.reply.bulk(spec.fullName)
            client.reply.mapHeader(2)
            client.reply.bulk("calls")
            client.reply.integer(histogram.count)
            client.reply.bulk("histogram_usec")
            let buckets = histogram.powerOfTwoBuckets()
            client.reply.mapHeader(buckets.count)
            for (bound, cumulative) in buckets {
                client.reply.integer(bound)
                client.reply.integer(cumulative)
            }
        }
    }

    static func latencyHelp(_ client: Client, _ args: CommandArguments) {
        ServerCommands.replyHelp(client, "LATENCY", [
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ])
    }

    /*
     The LATENCY DOCTOR report, in Redis's voice: one line per event with its statistics
     (average, mean deviation, period between spikes, worst case), then the advice that
     applies to the events Strata records ("command" and "fast-command").
    */
    static func doctorReport(_ server: ServerContext) -> String {
        let threshold = server.config.latencyMonitorThreshold
        let events = server.latency.events.sorted { $0.key < $1.key }.filter { !$0.value.samples.isEmpty }
        if threshold == 0 && events.isEmpty {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
                + "You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. "
                + "If we weren't in a deep space mission I'd suggest to take a look at "
                + "https://redis.io/topics/latency-monitor.\n"
        }
        if events.isEmpty {
            return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
                + "slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think "
                + "things over.\n"
        }
        var report = "Dave, I have observed latency spikes in this Redis instance. "
            + "You don't mind talking about it, do you Dave?\n\n"
        var slowlogEnable = false, slowlogTuning = false, slowlogInspect = false
        var largeObjects = false, scheduler = false
        let now = Int(Clock.nowMillis() / 1000)
        for (number, (name, event)) in events.enumerated() {
            let samples = event.samples
            let average = samples.reduce(0) { $0 + $1.milliseconds } / samples.count
            let deviation = samples.reduce(0) { $0 + abs($1.milliseconds - average) } / samples.count
            let oldest = samples.map(\.timestamp).min() ?? now
            let period = max(1, now - oldest)
            report += "\(number + 1). \(name): \(samples.count) latency spikes (average \(average)ms, "
                + "mean deviation \(deviation)ms, period \(String(format: "%.2f", Double(period) / Double(samples.count))) sec). "
                + "Worst all time event \(event.maxMilliseconds)ms.\n"
            if name == "command" {
                if server.config.slowlogLogSlowerThan < 0 {
                    slowlogEnable = true
                } else if server.config.slowlogLogSlowerThan / 1000 > threshold {
                    slowlogTuning = true
                }
                slowlogInspect = true
                largeObjects = true
            } else if name == "fast-command" {
                scheduler = true
            }
        }
        report += "\nI have a few advices for you:\n\n"
        if slowlogEnable {
            report += "- There are latency issues with potentially slow commands you are using. Try to enable the "
                + "Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than \(threshold * 1000)'. "
                + "If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"
        }
        if slowlogTuning {
            report += "- Your current Slow Log configuration only logs events that are slower than your configured "
                + "latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than \(threshold * 1000)'.\n"
        }
        if slowlogInspect {
            report += "- Check your Slow Log to understand what are the commands you are running which are too slow "
                + "to execute. Please check https://redis.io/commands/slowlog for more information.\n"
        }
        if scheduler {
            report += "- The system is slow to execute Redis code paths not containing system calls. This usually "
                + "means the system does not provide Redis CPU time to run for long periods. You should try to:\n"
                + "  1) Lower the system load.\n"
                + "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
                + "  3) Check if you have a \"noisy neighbour\" problem.\n"
                + "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
        }
        if largeObjects {
            report += "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking "
                + "operation. If you have very large objects that are often deleted, expired, or evicted, try to "
                + "fragment those objects into multiple smaller objects.\n"
        }
        return report
    }
}

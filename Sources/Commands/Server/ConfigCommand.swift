import Config
import Foundation
import RESP
import Store

/// CONFIG GET / SET / RESETSTAT / REWRITE / HELP over `ConfigDirectives.all`.
public enum ConfigCommand {
    static let adminFlags: CommandFlags = [.admin, .noscript, .loading, .stale]

    static var spec: CommandSpec { CommandSpec(
        "config", arity: -2, group: "server", summary: "A container for server configuration commands",
        subcommands: [
            CommandSpec("get", arity: -3, flags: adminFlags, group: "server",
                        summary: "Get the values of configuration parameters", handler: get),
            CommandSpec("set", arity: -4, flags: adminFlags, group: "server",
                        summary: "Set configuration parameters to the given values", handler: set),
            CommandSpec("resetstat", arity: 2, flags: adminFlags, group: "server",
                        summary: "Reset the stats returned by INFO", handler: resetStat),
            CommandSpec("rewrite", arity: 2, flags: adminFlags, group: "server",
                        summary: "Rewrite the configuration file with the in memory configuration", handler: rewrite),
            CommandSpec("help", arity: 2, flags: [.loading, .stale], group: "server",
                        summary: "Show helpful text about the different subcommands", handler: help),
        ]) }

    /// Directives whose values are secrets: CONFIG SET shows them as "(redacted)" in
    /// MONITOR and SLOWLOG.
    static let sensitive: Set<String> = ["requirepass", "masterauth"]

    // MARK: - GET

    /// CONFIG GET pattern [pattern ...]: every directive matching any pattern, once, as a
    /// map (RESP2: flat array of name, value).
    static func get(_ client: Client, _ args: CommandArguments) {
        var matched: [ConfigDirective] = []
        var seen = Set<String>()
        for index in 2..<args.count {
            let pattern = args.string(index)
            let candidates: [ConfigDirective]
            if pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
                candidates = ConfigDirectives.all.filter { configNameMatches(pattern, $0.name) }
            } else {
                candidates = ConfigDirectives.named(pattern).map { [$0] } ?? []
            }
            for directive in candidates where seen.insert(directive.name).inserted {
                matched.append(directive)
            }
        }
        let config = client.server.config
        client.reply.mapHeader(matched.count)
        for directive in matched {
            client.reply.bulk(directive.name)
            client.reply.bulk(directive.get(config))
        }
    }

    // MARK: - SET

    /*
     CONFIG SET name value [name value ...], all or nothing (Redis 7.0's order of checks):
     every name is looked up first (an unknown one wins the error), then immutability,
     protection and duplicates; then all values are set, and if one fails (or applying
     them to the running server fails) every earlier one is restored.
    */
    static func set(_ client: Client, _ args: CommandArguments) {
        guard args.count % 2 == 0 else { return client.error(ErrorReplies.syntax) }
        let server = client.server
        var unknown: String? = nil
        var failure: (name: String, reason: String)? = nil
        var changes: [(directive: ConfigDirective, value: String)] = []
        for index in stride(from: 2, to: args.count, by: 2) {
            let name = args.string(index)
            guard let directive = ConfigDirectives.named(name) else {
                if unknown == nil && failure == nil { unknown = name }
                continue
            }
            if unknown != nil || failure != nil { continue }
            if directive.mutability == .immutable {
                failure = (name, "can't set immutable config")
            } else if directive.mutability == .protected
                        && !server.allowsProtected(server.config.enableProtectedConfigs, client) {
                failure = (name, "can't set protected config")
            } else if changes.contains(where: { $0.directive.name == directive.name }) {
                failure = (name, "duplicate parameter")
            }
            changes.append((directive, args.string(index + 1)))
        }
        if let unknown {
            return client.error("ERR Unknown option or number of arguments for CONFIG SET - '\(unknown)'")
        }
        if let failure {
            return client.error("ERR CONFIG SET failed (possibly related to argument '\(failure.name)') - \(failure.reason)")
        }
        let config = server.config
        let previous = changes.map { $0.directive.get(config) }
        func restore(upTo end: Int) {
            for index in stride(from: end, through: 0, by: -1) {
                try? changes[index].directive.set(config, [previous[index]])
            }
        }
        for (index, change) in changes.enumerated() {
            do {
                try change.directive.set(config, [change.value])
            } catch {
                restore(upTo: index)
                let reason = (error as? ConfigValueParsing.Failure)?.reason
                return client.error("ERR CONFIG SET failed (possibly related to argument '\(change.directive.name)')"
                                    + (reason.map { " - \($0)" } ?? ""))
            }
        }
        let names = Set(changes.map(\.directive.name))
        if let problem = server.applyConfigChanges(names) {
            restore(upTo: changes.count - 1)
            _ = server.applyConfigChanges(names)
            return client.error("ERR CONFIG SET failed (possibly related to argument '\(problem.name)') - \(problem.reason)")
        }
        if names.contains("slowlog-max-len") { server.slowlog.trim(to: config.slowlogMaxLen) }
        client.reply.ok()
    }

    // MARK: - RESETSTAT, REWRITE, HELP

    static func resetStat(_ client: Client, _ args: CommandArguments) {
        client.server.resetStats()
        client.reply.ok()
    }

    static func rewrite(_ client: Client, _ args: CommandArguments) {
        let config = client.server.config
        guard !config.configFile.isEmpty else {
            return client.error("ERR The server is running without a config file")
        }
        do {
            let original = (try? String(contentsOfFile: config.configFile, encoding: .utf8)) ?? ""
            let text = ConfigRewrite.rewrite(original, config: config)
            try writeAtomically(text, to: config.configFile)
            client.reply.ok()
        } catch {
            client.error("ERR Rewriting config file: \(error.localizedDescription)")
        }
    }

    /// Writes through a temporary file renamed over the original, so that a crash never
    /// leaves a half-written config.
    static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else {
            throw CocoaError(.fileWriteNoPermission)
        }
        let handle = open(temporary, O_WRONLY)
        if handle >= 0 { fsync(handle); close(handle) }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }

    static func help(_ client: Client, _ args: CommandArguments) {
        ServerCommands.replyHelp(client, "CONFIG", [
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ])
    }

    // MARK: - Glob

    /// Case-insensitive glob match of a directive name, as Redis's stringmatch with nocase.
    static func configNameMatches(_ pattern: String, _ name: String) -> Bool {
        GlobMatch.matches(pattern: pattern, subject: name, caseInsensitive: true)
    }
}

/*
 CONFIG REWRITE: the config file with every directive brought up to date, Redis's way.
 Comments, blank lines, rename-command and unknown lines stay where they are. A directive
 that appears in the file is rewritten in place (its first occurrence; later occurrences
 are dropped); one that is not in the file is appended at the end, only if its value
 differs from the default, after a "# Generated by CONFIG REWRITE" marker unless the file
 already has one.
*/
public enum ConfigRewrite {
    static let marker = "# Generated by CONFIG REWRITE"

    public static func rewrite(_ original: String, config: ServerConfig) -> String {
        let defaults = ServerConfig()
        var lines = original.isEmpty ? [] : original.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var output: [String] = []
        var written = Set<String>()
        var hasMarker = false
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == marker { hasMarker = true }
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"),
                  let words = ConfigLoader.splitWords(trimmed), let first = words.first,
                  let directive = ConfigDirectives.named(first) else {
                output.append(line)
                continue
            }
            if written.insert(directive.canonicalName).inserted {
                output += renderedLines(directive, config)
            }
        }
        var appended: [String] = []
        for directive in ConfigDirectives.all where directive.aliasOf == nil && !written.contains(directive.name) {
            if directive.get(config) != directive.get(defaults) {
                appended += renderedLines(directive, config)
            }
        }
        if !appended.isEmpty {
            if !hasMarker { output.append(marker) }
            output += appended
        }
        return output.map { $0 + "\n" }.joined()
    }

    /// The config lines that set `directive` to its current value.
    static func renderedLines(_ directive: ConfigDirective, _ config: ServerConfig) -> [String] {
        switch directive.name {
        case "save":
            if config.saveRules.isEmpty { return ["save \"\""] }
            return config.saveRules.map { "save \($0.seconds) \($0.changes)" }
        case "bind":
            return ["bind " + config.bind.map(quoted).joined(separator: " ")]
        default:
            return ["\(directive.name) \(quoted(directive.get(config)))"]
        }
    }

    /// A value as a config word: bare when safe, else double-quoted with escapes.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "'")
                && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "#")
        }
        return plain ? value : ConfigLoader.quote(value)
    }
}

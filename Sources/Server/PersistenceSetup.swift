import Commands
import Config
import Logging
import NIOCore
import Store

/*
 Start-up and run-time handling of the data directory: RocksDB (cold tier and
 checkpoints), recovery, the append-only log, and the replies that wait for it.
 Paths are relative to `dir`: main() has made it the working directory, as Redis does.
*/
extension StrataServer {
    /// Opens RocksDB (when tiering or persistence needs it), recovers the data, and opens
    /// the log. Runs before the server listens: it answers once the log is replayed.
    func openStorage() throws {
        let config = context.config
        let store = context.store
        let loop = context.eventLoop!
        // RocksDB is opened whatever the settings: with tiering no it still holds the
        // checkpoints (SAVE works, and a saved dataset loads at start, as an RDB file does).
        do {
            try store.openColdTier(path: config.tieringDirname, loop: loop)
        } catch {
            throw StartupError("cannot open RocksDB in \(config.dir)/\(config.tieringDirname): \(error)")
        }
        let started = Clock.monotonicNanos()
        let report: RecoveryReport
        do {
            report = try loop.submit {
                let report = try store.recover(logDirectory: config.appenddirname,
                                               allowTruncated: config.aofLoadTruncated,
                                               allowCorrupt: config.aofLoadCorruptTail)
                _ = store.checkpointBaseBytes  // auto-aof-rewrite's base: the dataset as loaded
                return report
            }.wait()
        } catch {
            throw StartupError("Cannot load the data: \(error)")
        }
        for warning in report.warnings { logger.warning("\(warning)") }
        let millis = (Clock.monotonicNanos() - started) / 1_000_000
        if report.startedEmpty {
            logger.notice("Nothing saved in \(config.dir): starting with an empty dataset")
        } else {
            logger.notice("""
                Data loaded in \(millis) ms: \(report.coldKeys) keys on disk\
                \(report.indexFromSnapshot ? " (index of the last checkpoint)" : ""), \(report.loadedKeys) read into RAM, \
                \(report.records) log records replayed from \(report.segments.count) segment(s), \
                \(report.coldValuesRead) collections read from RocksDB for them
                """)
        }
        if config.appendonly {
            try openLog(segment: report.appendSegment, validLength: report.appendValidLength)
        }
    }

    /// Starts logging every change to segment `segment` of the log.
    func openLog(segment: Int, validLength: Int?) throws {
        let config = context.config
        let store = context.store
        let log: AppendLog
        do {
            log = try AppendLog(directory: config.appenddirname, baseName: config.appendfilename, segment: segment,
                                validLength: validLength, policy: FsyncPolicy(rawValue: config.appendfsync) ?? .everysec,
                                loop: context.eventLoop!)
        } catch {
            throw StartupError("cannot open the append-only log: \(error)")
        }
        let gate = durability
        log.onDurable = { gate.release() }
        if context.eventLoop!.inEventLoop {
            store.attachLog(log)
        } else {
            try context.eventLoop!.submit { store.attachLog(log) }.wait()
        }
    }

    /// CONFIG SET appendonly / appendfsync. Returns the directive and reason when the
    /// change cannot be made.
    func applyPersistenceChanges(_ names: Set<String>) -> (name: String, reason: String)? {
        let config = context.config
        let store = context.store
        if names.contains("appendfsync") { store.log?.policy = FsyncPolicy(rawValue: config.appendfsync) ?? .everysec }
        guard names.contains("appendonly") else { return nil }
        if config.appendonly && store.log == nil {
            guard store.tier != nil else { return ("appendonly", "RocksDB is not open") }
            let next = (AppendLog.segments(directory: config.appenddirname, baseName: config.appendfilename).last ?? 0) + 1
            do {
                try openLog(segment: next, validLength: nil)
            } catch {
                config.appendonly = false
                return ("appendonly", "\(error)")
            }
            // Until this checkpoint ends, RocksDB and the log together do not hold the
            // writes made before the log started (as Redis's AOF before its first rewrite).
            store.checkpoint()
        } else if !config.appendonly, let log = store.log {
            store.logChanges()
            store.detachLog()
            log.close()
        }
        return nil
    }
}

/// Periodic persistence work (from the cron).
enum Persistence {
    nonisolated(unsafe) static var lastFsync: Int64 = 0

    static func cron(_ context: ServerContext) {
        let store = context.store
        // Evictions by the cron are changes too.
        store.logChanges()
        if let log = store.log {
            let now = Clock.nowMillis()
            if now - lastFsync >= 1000 {
                lastFsync = now
                if log.lastError != nil {
                    log.retry()
                } else if log.policy == .everysec {
                    log.fsyncInBackground()
                }
            }
        }
        store.checkpointIfDue()
    }
}

/// Connections whose replies wait for the log to be on disk (`appendfsync always`): each
/// is told when the log's durable position moves.
final class DurabilityGate {
    private var waiting: [Connection] = []

    func wait(_ handler: Connection) {
        guard !handler.waitsForDurability else { return }
        handler.waitsForDurability = true
        waiting.append(handler)
    }

    func release() {
        guard !waiting.isEmpty else { return }
        let handlers = waiting
        waiting.removeAll(keepingCapacity: true)
        for handler in handlers {
            handler.waitsForDurability = false
            if handler.releaseHeldReplies() { wait(handler) }
        }
    }
}

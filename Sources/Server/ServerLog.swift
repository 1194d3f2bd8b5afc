import Foundation
import Logging

/// Log lines in Redis's layout (`pid:M dd Mon yyyy hh:mm:ss.mmm * message`), to a file or
/// standard output, filtered by `loglevel`.
public struct ServerLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let sink: LogSink

    /// `path` "" means standard output.
    public init(level: String, path: String) {
        self.logLevel = ServerLogHandler.level(level)
        self.sink = LogSink.shared(path: path)
    }

    /// redis loglevels: debug, verbose, notice, warning.
    public static func level(_ name: String) -> Logger.Level {
        switch name {
        case "debug": return .debug
        case "verbose": return .info
        case "warning": return .warning
        default: return .notice
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let mark: String
        switch event.level {
        case .trace, .debug: mark = "."
        case .info: mark = "-"
        case .notice: mark = "*"
        default: mark = "#"
        }
        sink.write("\(getpid()):M \(LogSink.timestamp()) \(mark) \(event.message)\n")
    }
}

final class LogSink: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()
    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var sinks: [String: LogSink] = [:]

    private init(handle: FileHandle) { self.handle = handle }

    static func shared(path: String) -> LogSink {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let sink = sinks[path] { return sink }
        var handle = FileHandle.standardOutput
        if !path.isEmpty {
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil)
            }
            if let file = FileHandle(forWritingAtPath: path) {
                file.seekToEndOfFile()
                handle = file
            }
        }
        let sink = LogSink(handle: handle)
        sinks[path] = sink
        return sink
    }

    func write(_ line: String) {
        lock.lock()
        handle.write(Data(line.utf8))
        lock.unlock()
    }

    static func timestamp() -> String {
        var now = timeval()
        gettimeofday(&now, nil)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        strftime(&buffer, buffer.count, "%d %b %Y %H:%M:%S", &parts)
        let millis = Int(now.tv_usec) / 1000
        return String(cString: buffer) + "." + String(format: "%03d", millis)
    }
}

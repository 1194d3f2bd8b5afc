import Config
import Foundation
import Logging
import Server

/// strata-server [config-file] [--directive value ...], as redis-server takes them.
func runServer() -> Int32 {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "-v" || arguments.first == "--version" {
        print("Strata server v=0.1.0 (Redis 7.0 compatible) bits=64")
        return 0
    }
    if arguments.first == "-h" || arguments.first == "--help" {
        print("Usage: strata-server [/path/to/strata.conf] [--directive value ...]")
        return 0
    }
    let config = ServerConfig()
    let (file, overrides) = ConfigLoader.parseArguments(arguments)
    do {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                FileHandle.standardError.write(Data("Fatal error, can't open config file '\(file)'\n".utf8))
                return 1
            }
            config.configFile = URL(fileURLWithPath: file).standardizedFileURL.path
            try ConfigLoader.apply(text, fileName: file, to: config)
        }
        try ConfigLoader.apply(overrides, fileName: "(command line)", to: config)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        return 1
    }
    if !config.dir.isEmpty && !FileManager.default.changeCurrentDirectoryPath(config.dir) {
        FileHandle.standardError.write(Data("Can't chdir to '\(config.dir)'\n".utf8))
        return 1
    }
    let level = config.loglevel, path = config.logfile
    LoggingSystem.bootstrap { _ in ServerLogHandler(level: level, path: path) }
    let logger = Logger(label: "strata")
    if !config.pidfile.isEmpty {
        try? "\(getpid())\n".write(toFile: config.pidfile, atomically: true, encoding: .utf8)
    }
    let server = StrataServer(config: config, logger: logger)
    server.context.executablePath = CommandLine.arguments[0]
    do {
        try server.start()
        try server.waitUntilStopped()
    } catch {
        logger.critical("\(error)")
        return 1
    }
    return 0
}

exit(runServer())

import Config
import XCTest

final class ConfigLoaderTests: XCTestCase {
    func testUnitsAndDirectives() throws {
        let config = ServerConfig()
        try ConfigLoader.apply("""
            # comment
            port 7000
            maxmemory 100mb
            maxmemory-policy ALLKEYS-LRU
            save 900 1
            save 300 10
            bind 127.0.0.1 ::1
            rename-command FLUSHALL ""
            """, fileName: "t.conf", to: config)
        XCTAssertEqual(config.port, 7000)
        XCTAssertEqual(config.maxmemory, 100 * 1024 * 1024)
        XCTAssertEqual(config.maxmemoryPolicy, "allkeys-lru")
        XCTAssertEqual(config.saveRules.map { [$0.seconds, $0.changes] }, [[900, 1], [300, 10]])
        XCTAssertEqual(config.bind, ["127.0.0.1", "::1"])
        XCTAssertEqual(config.renamedCommands.first?.from, "flushall")
        XCTAssertEqual(try ConfigValueParsing.memory("1k"), 1000)
        XCTAssertEqual(try ConfigValueParsing.memory("1GB"), 1 << 30)
    }

    func testErrorsNameFileLineAndReason() {
        let config = ServerConfig()
        XCTAssertThrowsError(try ConfigLoader.apply("port 1\n\nmaxmemory 10xb", fileName: "x.conf", to: config)) { error in
            let e = error as! ConfigLoader.LoadError
            XCTAssertEqual(e.line, 3)
            XCTAssertEqual(e.reason, "argument must be a memory value")
            XCTAssertTrue(e.description.contains("x.conf"))
        }
        XCTAssertThrowsError(try ConfigLoader.apply("nosuch 1", fileName: "x", to: config))
        XCTAssertThrowsError(try ConfigLoader.apply("port 70000", fileName: "x", to: config))
    }

    func testQuotedWordsRoundTrip() throws {
        for word in ["pässword", "a b", "\"q\"", "back\\slash", "tab\tnew\nline", "", "日本"] {
            XCTAssertEqual(ConfigLoader.splitWords(ConfigLoader.quote(word)), [word], word)
        }
        let (_, text) = ConfigLoader.parseArguments(["--requirepass", "pässword"])
        let config = ServerConfig()
        try ConfigLoader.apply(text, fileName: "args", to: config)
        XCTAssertEqual(config.requirepass, "pässword")
    }

    func testCommandLineArguments() throws {
        let (file, text) = ConfigLoader.parseArguments(["my.conf", "--port", "1234", "--save", "", "--bind", "127.0.0.1", "::1"])
        XCTAssertEqual(file, "my.conf")
        let config = ServerConfig()
        try ConfigLoader.apply(text, fileName: "args", to: config)
        XCTAssertEqual(config.port, 1234)
        XCTAssertTrue(config.saveRules.isEmpty)
        XCTAssertEqual(config.bind, ["127.0.0.1", "::1"])
    }
}

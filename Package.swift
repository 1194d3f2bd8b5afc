// swift-tools-version:6.1
import PackageDescription

// Hot-path modules skip Swift's dynamic exclusivity checks in release builds: FACTS.md
// measured -16% instructions per command; every access they guard happens on the one
// execution thread anyway.
let hotPathFlags: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "strata-server", targets: ["strata-server"]),
        .library(name: "StrataServer", targets: ["Server"]),
        .library(name: "StrataCore", targets: ["RESP", "Config", "Store", "Commands"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "RESP", dependencies: [.product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: hotPathFlags),
        .target(name: "Config", dependencies: ["RESP", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "CShims", linkerSettings: [.linkedLibrary("jemalloc")]),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb",
                       providers: [.apt(["librocksdb-dev", "libzstd-dev"])]),
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "Store",
                dependencies: ["Config", "CShims", "CRocksDB", "CZstd", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: hotPathFlags),
        .target(name: "Commands",
                dependencies: ["RESP", "Store", "Config", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: hotPathFlags),
        .target(name: "Server",
                dependencies: ["Commands", "RESP", "Store", "Config", "CShims",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: hotPathFlags),
        .executableTarget(name: "strata-server", dependencies: ["Server", "Config"]),
        .testTarget(name: "StrataTests",
                    dependencies: ["RESP", "Store", "Config", "Commands", "Server",
                                   .product(name: "NIOCore", package: "swift-nio"),
                                   .product(name: "NIOEmbedded", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v5]
)

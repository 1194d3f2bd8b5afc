// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks (ordo-one/benchmark) and load tools. A package of its own so that the
// server's build and CI do not compile the benchmark framework.
//   cd Benchmarks && swift package benchmark            (micro-benchmarks)
//   swift run -c release keyspace-growth                 (longest stall while growing)
//   swift build -c release --product strata-load         (RESP load generator, zipf keys)
//   swift build -c release --product rocksdb-gets        (raw RocksDB point-get reference)
let package = Package(
    name: "StrataBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Strata", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "StrataMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StrataCore", package: "Strata"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/StrataMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "keyspace-growth",
            dependencies: [.product(name: "StrataCore", package: "Strata")],
            path: "Sources/keyspace-growth"
        ),
        // What both load tools share: key names, deterministic values, key distributions,
        // the report format. No NIO and no RocksDB here.
        .target(
            name: "LoadSupport",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Sources/LoadSupport"
        ),
        .executableTarget(
            name: "strata-load",
            dependencies: [
                "LoadSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/strata-load"
        ),
        // RocksDB's C API for rocksdb-gets. A module of its own (not the server's CRocksDB)
        // so the benchmark does not depend on the server's targets.
        .systemLibrary(name: "CRocksDBBench", path: "Sources/CRocksDBBench"),
        .executableTarget(
            name: "rocksdb-gets",
            dependencies: [
                "LoadSupport", "CRocksDBBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/rocksdb-gets"
        ),
    ]
)

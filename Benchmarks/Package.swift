// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks (ordo-one/benchmark) and load tools. A package of its own so that the
// server's build and CI do not compile the benchmark framework.
//   cd Benchmarks && swift package benchmark            (micro-benchmarks)
//   swift run -c release keyspace-growth                 (longest stall while growing)
let package = Package(
    name: "StrataBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Strata", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
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
    ]
)

// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "alveo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "alveo", targets: ["alveo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // The control API on a Unix socket (HTTP/1.1): Hummingbird 2 serves it, swift-nio's HTTP client
        // codec reads it in the CLI. Hummingbird's swift-configuration trait is not used.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already built for Hummingbird: its HTTP parts, for the control API's connection guard.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.0"),
        // Metrics (counters, gauges, timers) and their Prometheus text exposition.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The trend store: SQLite (Debian's libsqlite3) in WAL mode.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // System C libraries: linked from Debian's packages, never vendored.
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CSerialPort", pkgConfig: "libserialport", providers: [.apt(["libserialport-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // Kernel interfaces Glibc's module does not export (adjtimex).
        .systemLibrary(name: "CKernel"),

        // Pure clinical core: no I/O, no clock, no threads, no C.
        .target(name: "AlveoCore", swiftSettings: strictSettings),
        // Protocol decoders and poll plans; no C, transports injected so replay drives them too.
        .target(name: "AlveoDevices", dependencies: ["AlveoCore"], swiftSettings: strictSettings),
        // Outputs: the alarm journal and the forwarders to the central station.
        .target(
            name: "AlveoOutput",
            dependencies: ["AlveoCore", "AlveoIO", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: strictSettings
        ),
        // Scenario CSV and raw trace formats (AlveoIO for trace files created private).
        .target(name: "AlveoTrace", dependencies: ["AlveoCore", "AlveoIO"], swiftSettings: strictSettings),
        // The trend store (SQLite through GRDB) and the HTML report drawn from it.
        .target(
            name: "AlveoTrends",
            dependencies: ["AlveoCore", "AlveoIO", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        // The only module that calls the C libraries.
        .target(name: "AlveoIO", dependencies: ["AlveoCore", "CModbus", "CSerialPort", "COpenSSL", "CKernel"], swiftSettings: strictSettings),
        // Wiring: configuration, replay runner, output sinks.
        .target(
            name: "AlveoAgent",
            dependencies: [
                "AlveoCore", "AlveoTrace", "AlveoIO", "AlveoDevices", "AlveoOutput", "AlveoTrends",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "alveo",
            // The CLI parses options and calls AlveoAgent, the only module of ours it imports.
            dependencies: ["AlveoAgent", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        // Every parser of outside input as a fuzz target (make fuzz; the seeds and findings run in the tests).
        .target(
            name: "AlveoFuzzTargets",
            dependencies: ["AlveoAgent", "AlveoCore", "AlveoDevices", "AlveoIO", "AlveoOutput", "AlveoTrace", "AlveoTrends"],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "alveo-fuzz", dependencies: ["AlveoFuzzTargets"], swiftSettings: strictSettings),
        .executableTarget(
            name: "alveo-bench",
            dependencies: [
                "AlveoAgent", "AlveoTrace", "AlveoCore", "AlveoDevices", "AlveoIO", "AlveoOutput", "AlveoTrends",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),

        .testTarget(name: "AlveoCoreTests", dependencies: ["AlveoCore"], swiftSettings: strictSettings),
        .testTarget(name: "AlveoOutputTests", dependencies: ["AlveoOutput", "AlveoCore", "AlveoIO", .product(name: "Logging", package: "swift-log")],
                    exclude: ["Fixtures"], swiftSettings: strictSettings),
        .testTarget(name: "AlveoIOTests", dependencies: ["AlveoIO", "CModbus"], swiftSettings: strictSettings),
        .testTarget(name: "AlveoDevicesTests", dependencies: ["AlveoDevices", "AlveoCore"], exclude: ["Fixtures"], swiftSettings: strictSettings),
        // What the end-to-end tests share: child processes, the real peers, paths, waits, traits.
        .target(name: "AlveoTestKit", path: "Tests/AlveoTestKit", swiftSettings: strictSettings),
        .testTarget(
            name: "AlveoAgentTests",
            dependencies: ["AlveoAgent", "AlveoTrace", "AlveoCore", "AlveoIO", "AlveoDevices", "AlveoOutput", "AlveoTrends", "AlveoFuzzTargets", "alveo",
                           "AlveoTestKit"],
            exclude: ["Scenarios"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)

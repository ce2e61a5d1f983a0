// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "orchestrate",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "orchestrate", targets: ["orchestrate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C libraries, found through pkg-config; each has a tiny shim.h.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CLibGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),

        // Safe Swift over the C libraries. No C type is public.
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        .target(name: "Git", dependencies: ["CLibGit2"]),

        // Pure logic: parser, checksum, graph, planner, SQL splitter.
        .target(name: "Migrations", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // Config, environments, ledger, locks, promotion, audit, policy.
        .target(name: "OrchestrateCore", dependencies: [
            "Postgres", "Git", "Migrations", "TOMLKit",
        ]),

        // The commands: argument parsing and rendering only.
        .target(name: "OrchestrateCLI", dependencies: [
            "OrchestrateCore", "Migrations",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "orchestrate", dependencies: ["OrchestrateCLI"]),

        // Shared test helpers: a real PostgreSQL server, scratch databases, temporary projects and git repositories.
        .target(name: "TestSupport", dependencies: ["Postgres", "OrchestrateCore"], path: "Tests/TestSupport"),

        .testTarget(name: "MigrationsTests", dependencies: ["Migrations", "TestSupport"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "GitTests", dependencies: ["Git", "TestSupport"]),
        .testTarget(name: "OrchestrateCoreTests", dependencies: ["OrchestrateCore", "Migrations", "TestSupport"]),
        .testTarget(name: "OrchestrateCLITests", dependencies: [
            "OrchestrateCLI", "orchestrate", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// A path dependency is known by its directory's name: the checkout's, whatever it is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The clients Scripts/bench-client compares, each an executable that makes unary calls to
/// grpc.health.v1.Health/Check on one connection, N at a time, and prints what it measured:
/// this project's client (the EgressClient product of the package two levels up) and
/// grpc-swift-2's. Built by the benchmark only, never by the tests or CI.
let package = Package(
    name: "bench-client-peers",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: root.path),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    ],
    targets: [
        .target(name: "BenchSupport"),
        .executableTarget(name: "bench-ours", dependencies: [
            "BenchSupport", .product(name: "EgressClient", package: root.lastPathComponent),
        ]),
        .executableTarget(name: "bench-grpc-swift", dependencies: [
            "BenchSupport",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
        ]),
    ]
)

// swift-tools-version: 6.0
import PackageDescription

/// The egress server: records the participants of a room individually, driven by a gRPC and
/// Twirp API that is wire-compatible with LiveKit's `livekit.Egress` service.
///
/// Layers, bottom to top (each a target, each knowing only the ones below it):
/// - foundations: C libraries (module maps), Support, JSON, RTP;
/// - the wire: Protobuf (protobuf-c underneath; descriptors, the dynamic JSON mapping) →
///   APIMessages (a generated Swift type per message, with its JSON mapping); GRPCWire (status
///   codes, metadata, framing, shared by server and client); HTTP (the API port's HTTP/2 over
///   nghttp2 and HTTP/1.1, TLS; the client's HTTP/2 connection; HTTP/1.1 out for webhooks and Twirp;
///   a WebSocket client for a Track egress);
/// - server side: RPC (one call path for gRPC and Twirp) → APIServices (a generated protocol per
///   service) → GRPCServices (health, reflection), RoomAPI, EgressAPI; Auth (tokens);
///   SessionManager (egress records and states, no wire types) → EgressWire (a record as
///   EgressInfo) → Webhooks; Rooms (rooms, tracks, the MediaSource protocol) → Ingest (the room
///   hub: RTP in, a MediaSource) and Recorder (Media: FFmpeg; HTTP: WebSockets); all of it → Server → egress-server;
/// - client side: RPCClient (gRPC and Twirp transports, tokens) → APIClients (a generated client
///   per service) = the EgressClient library; `egress`, the command-line client, is built on it.
let package = Package(
    name: "egress-server",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "egress-server", targets: ["egress-server"]),
        .executable(name: "egress", targets: ["egress"]),
        // For Swift services that call an egress server: the typed messages and a typed client
        // per service, over gRPC (HTTP/2, nghttp2) or Twirp.
        .library(name: "EgressClient", targets: ["APIMessages", "APIClients", "RPCClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // System libraries (Debian -dev packages), one module map each.
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // glibc's malloc.h (mallopt), part of libc: nothing to link.
        .systemLibrary(name: "CMalloc"),
        // glibc's GNU socket calls (recvmmsg, receive timestamps) for the hub's UDP port: nothing to link.
        .systemLibrary(name: "CSocket"),

        // protoc-c's output for Protos/, compiled as it is.
        .target(name: "CProtos", dependencies: ["CProtobufC"], path: "Generated", exclude: ["Swift"], publicHeadersPath: "."),
        // A typed Swift struct or enum per message and enum of Protos/ (Generated/Swift, made by
        // generate-messages), over the Protobuf module's protobuf-c plumbing.
        .target(name: "APIMessages", dependencies: ["JSON", "Protobuf"], path: "Generated/Swift/Messages"),
        // Scripts/generate-protos runs it: Protos/'s descriptor set in, Generated/Swift out.
        .executableTarget(name: "generate-messages", dependencies: ["Protobuf"]),

        .target(name: "Support"),
        // A JSON reader and writer (tokens, webhooks, Twirp, the protobuf JSON mapping).
        .target(name: "JSON"),
        .target(name: "Protobuf", dependencies: ["CProtobufC", "CProtos", "JSON", "Support"]),
        // RTP packets, jitter buffer, depacketizers: pure Swift, no sockets.
        .target(name: "RTP", dependencies: ["Support"]),
        // What recordings read: rooms, participants, tracks, their events and media frames, and the
        // MediaSource protocol that delivers them (no sockets).
        .target(name: "Rooms", dependencies: ["RTP"]),
        // Media into rooms: the embedded room hub (a MediaSource), with the UDP port RTP arrives on.
        .target(
            name: "Ingest",
            dependencies: [
                "Rooms", "RTP", "Support", "WebRTC", "CSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "HTTP",
            dependencies: [
                "CNGHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // gRPC's wire format, shared by the server and the client: status codes, metadata,
        // errors, message framing and compression, timeouts, Twirp's codes.
        .target(name: "GRPCWire", dependencies: ["CZlib", "Support", .product(name: "NIOCore", package: "swift-nio")]),
        .target(
            name: "RPC",
            dependencies: [
                "GRPCWire", "HTTP", "JSON", "Protobuf", "Support", "CZlib",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // LiveKit access tokens: JWT HS256, API keys, grants.
        .target(name: "Auth", dependencies: ["JSON", "Support", .product(name: "Crypto", package: "swift-crypto")]),
        // WebRTC ingest without sockets: STUN (ICE-lite), DTLS 1.2 (OpenSSL), SRTP (libsrtp2), SDP
        // offer/answer, RTCP feedback.
        .target(name: "WebRTC", dependencies: ["COpenSSL", "CSRTP", "CZlib", "RTP", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "SessionManager",
            dependencies: ["Support", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        // A Redis client: hiredis wrapped (blocking connections, pipelines, transactions).
        .target(name: "Redis", dependencies: ["CHiredis", "Support"]),
        // Where rooms and egresses go in a cluster: the nodes' records and the choices made from them
        // (no I/O: the servers and the simulation share them).
        .target(name: "Placement"),
        // Servers as a cluster on Redis: the node registry (heartbeats, loss, leases), a node's membership.
        .target(name: "Cluster", dependencies: ["Placement", "RecordStore", "Redis", "SessionManager", "Support", .product(name: "Logging", package: "swift-log")]),
        // The placement and failure logic at 1,000 nodes on a simulated clock (Scripts/sim-cluster).
        .executableTarget(name: "sim-cluster", dependencies: ["Placement"]),
        // The session manager's records: on disk in SQLite (GRDB, WAL), one file per server, or in
        // Redis, shared by the servers of a cluster.
        .target(
            name: "RecordStore",
            dependencies: ["Redis", "SessionManager", "Support", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(name: "Media", dependencies: ["CFFmpeg", "Support"]),
        // An egress record as the wire's EgressInfo, for the API and the webhooks alike.
        .target(name: "EgressWire", dependencies: ["APIMessages", "SessionManager"]),
        .target(
            name: "EgressAPI",
            dependencies: [
                "APIMessages", "APIServices", "EgressWire", "HTTP", "RPC", "SessionManager", "Media", "Support",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Uploads of finished files to S3 and S3-compatible storage (libcurl's AWS Signature V4).
        .target(name: "Storage", dependencies: ["CCurl", "SessionManager", "Support", .product(name: "CoreMetrics", package: "swift-metrics")]),
        // The EgressBackend that records: track selection, timeline, writers (FFmpeg via Media).
        .target(
            name: "Recorder",
            dependencies: [
                "SessionManager", "Rooms", "RTP", "Media", "HTTP", "Storage", "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Egress events POSTed as LiveKit WebhookEvents, signed, queued per endpoint.
        .target(
            name: "Webhooks",
            dependencies: [
                "APIMessages", "Auth", "EgressWire", "HTTP", "Protobuf", "SessionManager", "Support",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The generated `ServiceProtocol` of every service of Protos/ (Generated/Swift/Services),
        // and how a conforming value becomes the `RPCService` the router serves.
        .target(name: "APIServices", dependencies: ["APIMessages", "Protobuf", "RPC"], path: "Generated/Swift/Services"),
        // The client side: gRPC over a client HTTP/2 connection (nghttp2), and Twirp; tokens signed per call.
        .target(
            name: "RPCClient",
            dependencies: [
                "Auth", "GRPCWire", "HTTP", "JSON", "Protobuf", "Support",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A typed client per service of Protos/ (Generated/Swift/Clients, made by generate-messages).
        .target(name: "APIClients", dependencies: ["APIMessages", "RPCClient"], path: "Generated/Swift/Clients"),
        // The gRPC ecosystem's standard services: health checking and server reflection.
        .target(name: "GRPCServices", dependencies: ["APIMessages", "APIServices", "Protobuf", "RPC"]),
        .target(name: "RoomAPI", dependencies: ["APIMessages", "APIServices", "RPC", "Ingest", "Rooms", "RTP"]),
        .target(
            name: "Server",
            dependencies: [
                "HTTP", "RPC", "Auth", "JSON", "Protobuf", "Webhooks", "EgressAPI", "SessionManager", "RecordStore", "Media", "Recorder", "RoomAPI",
                "Ingest", "Rooms", "RTP", "Support", "WebRTC", "Redis", "Cluster", "Placement", "RPCClient", "APIClients",
                "APIMessages", "APIServices", "GRPCServices",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The page at `/`, compiled in: plain HTML, CSS and JavaScript, no build step.
            resources: [.embedInCode("Page/Files/index.html"), .embedInCode("Page/Files/page.js"), .embedInCode("Page/Files/page.css")]
        ),
        // The config file: YAML (Yams) read key by key, unknown keys reported with their lines.
        .target(name: "ConfigFile", dependencies: [.product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "egress-server",
            dependencies: [
                // The modules whose configuration types it sets, named so that a change to their
                // layout rebuilds it.
                "Server", "HTTP", "RPC", "Auth", "SessionManager", "Ingest", "JSON", "CMalloc", "ConfigFile", "Webhooks", "Redis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Documentation of every config file key, read by the tests.
            exclude: ["egress.example.yaml"]
        ),
        // The command-line client.
        .executableTarget(
            name: "egress",
            dependencies: [
                "APIClients", "APIMessages", "GRPCWire", "HTTP", "Protobuf", "RPCClient", "SessionManager", "Storage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The README's client example, as a program (a test checks that the two are the same
        // text, and runs it against a server).
        .executableTarget(name: "ReadmeExample", dependencies: ["APIClients", "APIMessages", "RPCClient"], path: "Tests/ReadmeExample"),

        .testTarget(name: "ProtobufTests", dependencies: ["Protobuf", "APIMessages", "JSON", "Support"]),
        .testTarget(name: "RTPTests", dependencies: ["RTP"]),
        .testTarget(
            name: "IngestTests",
            dependencies: [
                "Ingest", "Rooms", "RTP", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "JSON", "Support", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTP"]),
        .testTarget(
            name: "WebhooksTests",
            dependencies: [
                "Webhooks", "APIMessages", "HTTP", "JSON", "Protobuf", "SessionManager", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "RecorderTests", dependencies: ["Recorder", "SessionManager", "Rooms", "Media", "RTP", "Support"]),
        .testTarget(
            name: "RPCTests",
            dependencies: [
                "RPC", "GRPCServices", "HTTP", "Protobuf", "APIMessages", "APIServices", "Support", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ClientTests",
            dependencies: [
                "APIClients", "APIMessages", "Auth", "GRPCWire", "HTTP", "RPC", "RPCClient", "Server",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ConfigFileTests", dependencies: ["ConfigFile"]),
        .testTarget(name: "RecordStoreTests", dependencies: ["RecordStore", "Redis", "RedisTestServer", "SessionManager"]),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "RedisTestServer"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Placement", "RecordStore", "Redis", "RedisTestServer", "SessionManager", .product(name: "Logging", package: "swift-log")]),
        // For tests: a redis-server of their own.
        .target(name: "RedisTestServer", dependencies: ["Redis"], path: "Tests/RedisTestServer"),
        .testTarget(name: "SessionManagerTests", dependencies: ["SessionManager", "Protobuf", "Support", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "EgressAPITests",
            dependencies: ["APIMessages", "EgressAPI", "EgressWire", "RPC", "Protobuf", "SessionManager", "Media", .product(name: "Logging", package: "swift-log")]
        ),

        // Fuzzing (Tests/Fuzz): a harness for every parser of network input, in one executable
        // (libFuzzer's entry point when Scripts/fuzz builds it with -DFUZZING and the sanitizers;
        // otherwise a replay of the files it is given), and a test that replays the committed inputs.
        .target(
            name: "FuzzHarnesses",
            dependencies: [
                "Auth", "JSON", "Protobuf", "RPC", "GRPCServices", "HTTP", "RTP", "Support", "WebRTC",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Fuzz/Harnesses"
        ),
        .executableTarget(name: "fuzz", dependencies: ["FuzzHarnesses"], path: "Tests/Fuzz/Executable"),
        .testTarget(name: "WebRTCTests", dependencies: ["WebRTC", "RTP"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Rooms", "RTP", "APIMessages", "Auth", "RPCClient", "GRPCWire", "Support"]),
        .testTarget(name: "FuzzReplayTests", dependencies: ["FuzzHarnesses"], path: "Tests/Fuzz/ReplayTests"),
    ],
    swiftLanguageModes: [.v6]
)

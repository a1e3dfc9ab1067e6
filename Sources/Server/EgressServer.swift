import APIServices
import Auth
import EgressAPI
import GRPCServices
import HTTP
import Logging
import Media
import NIOCore
import NIOPosix
import Recorder
import RecordStore
import Redis
import RoomAPI
import Ingest
import Rooms
import RPC
import ServiceLifecycle
import SessionManager
import Support
import Webhooks
#if canImport(Glibc)
import Glibc
#endif

/// The egress server as a `Service`: listens, serves `livekit.Egress`, `livekit.RoomService`,
/// `egress.ingest.RoomIngest` and `grpc.health.v1.Health`, receives RTP on the hub's UDP port,
/// and on graceful shutdown says NOT_SERVING, sends GOAWAY, lets in-flight calls finish, stops
/// the egresses so that their files are closed, and exits.
public final class EgressServer: Service {
    let configuration: ServerConfiguration
    let logger: Logger
    public let health = HealthStatus()
    /// This server's id in the cluster (with Redis).
    let nodeID: String

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        nodeID = configuration.nodeID.isEmpty ? RandomID.make(prefix: "ND_") : configuration.nodeID
    }

    public func run() async throws {
        guard let keys = configuration.keys else {
            throw ServerError("no API keys: set LIVEKIT_KEYS, --keys or --key-file (or --dev for devkey: secret)")
        }
        for key in keys.weakKeys {
            logger.warning("the secret of API key \(key) is shorter than 32 characters; use a longer one")
        }
        if configuration.redis != nil, configuration.nodeLostAfter < .seconds(1) {
            throw ServerError("--node-lost-after must be at least 1 second (a node beats 4 times in it)")
        }
        let outputDirectory = try Self.prepareOutputDirectory(configuration.outputDirectory)
        let capabilities = MediaCapabilities.probe()
        FFmpegLogging.errorsOnly()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        // The hub gets a loop of its own, so RTP never waits behind RPC work (or the reverse).
        let hubLoop: HubEventLoop
        do {
            hubLoop = try HubEventLoop()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let parts: Parts
        do {
            parts = try assemble(keys: keys, outputDirectory: outputDirectory, capabilities: capabilities, group: group, hubLoop: hubLoop)
        } catch {
            try? await group.shutdownGracefully()
            await hubLoop.shutdown()
            throw error
        }
        let (hub, sessions, http, operations) = (parts.hub, parts.sessions, parts.http, parts.operations)
        do {
            // Before anything is served: the records of an earlier run back, its interrupted
            // recordings closed, its undelivered events sent again.
            let restored = try await sessions.restore()
            if restored.records > 0 || restored.redelivered > 0 {
                logger.info("egress records restored", metadata: [
                    "records": "\(restored.records)", "interrupted": "\(restored.recovered.joined(separator: ","))",
                    "events_resent": "\(restored.redelivered)", "pruned": "\(restored.pruned)",
                ])
            }
        } catch {
            logger.error("could not start", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            await hubLoop.shutdown()
            throw ServerError("\(error)")
        }

        let ingest: RTPIngest
        let apiPort: Int, mediaPort: Int
        do {
            ingest = try await RTPIngest.start(hub: hub)
            let address = try await http.bind(host: configuration.host, port: configuration.port)
            health.set("", .serving)
            health.set("livekit.Egress", .serving)
            logger.info("egress-server listening", metadata: [
                "address": "\(address)", "output_dir": "\(outputDirectory)", "ffmpeg": "\(capabilities.versions)",
                "max_concurrent_streams": "\(configuration.http2.maxConcurrentStreams)",
                "max_receive_message_size": "\(configuration.rpc.maxReceiveMessageSize)",
                "max_live_egresses": "\(configuration.sessions.maxLiveEgresses)",
                "rtp_port": "\(ingest.port)",
                "tls": "\(configuration.tls != nil)", "webhooks": "\(configuration.webhooks.urls.joined(separator: ","))", "api_keys": "\(keys.keys.joined(separator: ","))",
            ])
            for (port, server) in operations {
                let address = try await server.bind(host: configuration.host, port: port)
                logger.info("health check listening", metadata: ["address": "\(address)", "serves": "\(Self.operationsServed(on: port, configuration))"])
            }
            (apiPort, mediaPort) = (address.port ?? 0, ingest.port)
            if let portFile = configuration.portFile {
                try Self.write("\(address.port ?? 0)\n\(ingest.port)\n", to: portFile)
            }
        } catch {
            logger.error("could not start", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            await hubLoop.shutdown()
            throw error
        }

        // What runs until graceful shutdown, then stops in this order (a ServiceGroup stops its
        // services last to first): the API (NOT_SERVING, GOAWAY, in-flight calls finish), the
        // egresses (their files closed), the RTP port, the last webhooks.
        let webhooks = parts.webhooks
        let stopTimeout = configuration.egressStopTimeout, drainTimeout = configuration.http2.shutdownTimeout
        // With Redis, the node's place in the cluster: first, so that it stops last.
        let declaredLost = DeclaredLost()
        let cluster: [ServiceGroupConfiguration.ServiceConfiguration] = parts.clusterRecords.flatMap { records in parts.router.map { router in
            [.init(service: ClusterNode(member: clusterMember(records: records, sessions: sessions, hub: hub, cpu: parts.cpu, apiPort: apiPort,
                                                               mediaPort: mediaPort, claims: router.claims), logger: logger, declaredLost: declaredLost),
                   failureTerminationBehavior: .gracefullyShutdownGroup)]
        } } ?? []
        let stages = ServiceGroup(configuration: .init(services: cluster + [
            .init(service: Stage { for (_, server) in operations { await server.shutdownGracefully() } }),
            .init(service: Periodic(interval: .seconds(3600)) { sessions.pruneExpired() }, successTerminationBehavior: .ignore),
            .init(service: Stage { [logger] in
                let delivered = await webhooks.drain(timeout: drainTimeout)
                let statistics = webhooks.statistics
                logger.info("webhooks", metadata: [
                    "delivered": "\(statistics.delivered)", "failed": "\(statistics.failed)",
                    "dropped": "\(statistics.dropped)", "undelivered_at_exit": "\(!delivered)",
                ])
            }),
            .init(service: Stage { await ingest.close() }),
            .init(service: Stage { await sessions.stopAll(timeout: stopTimeout) }),
            .init(service: Stage { [logger, health, drainDelay = configuration.drainDelay] in
                // Health says 503 and starts are refused before the API's listener closes.
                sessions.beginDraining()
                if drainDelay > .zero {
                    logger.info("draining: new egresses are refused for \(drainDelay) before the listener closes")
                    try? await Task.sleep(for: drainDelay)
                }
                logger.info("shutting down: GOAWAY sent, waiting for in-flight calls")
                health.setAllNotServing()
                await http.shutdownGracefully()
            }),
        ], gracefulShutdownSignals: [], logger: logger))
        try? await withGracefulShutdownHandler {
            try await stages.run()
        } onGracefulShutdown: {
            Task { await stages.triggerGracefulShutdown() }
        }
        await parts.router?.peers.close()
        try? await group.shutdownGracefully()
        await hubLoop.shutdown()
        logger.info("stopped")
        if declaredLost.isSet { throw ServerError("node \(nodeID) was declared lost by the cluster") }
    }

    /// One part of the running server: waits for graceful shutdown (or cancellation), then stops.
    private struct Stage: Service {
        let stop: @Sendable () async -> Void

        func run() async throws {
            try? await gracefulShutdown()
            await stop()
        }
    }

    /// Work done every `interval` until graceful shutdown.
    private struct Periodic: Service {
        let interval: Duration
        let work: @Sendable () -> Void

        func run() async throws {
            while true {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                } catch {
                    return
                }
                work()
            }
        }
    }

    /// What `run` starts and stops.
    private struct Parts {
        let hub: RoomHub
        let sessions: EgressStore
        let http: HTTPServer
        let webhooks: WebhookNotifier
        /// The servers of the health and metrics ports, by port.
        let operations: [(Int, HTTPServer)]
        let cpu: MachineCPU
        /// The records' store when they are in a cluster's Redis.
        let clusterRecords: RedisRecordStore?
        /// Where calls go in a cluster, with the connections to the other nodes.
        let router: ClusterRouter?
    }

    /// The hub, the recorder, the session manager with its webhooks, the services behind access
    /// control, and the HTTP server that carries them; throws when TLS or webhooks are unusable.
    private func assemble(keys: APIKeys, outputDirectory: String, capabilities: MediaCapabilities,
                          group: MultiThreadedEventLoopGroup, hubLoop: HubEventLoop) throws -> Parts {
        var hubConfiguration = configuration.hub
        hubConfiguration.rtpHost = configuration.host
        let hub = RoomHub(loop: hubLoop, configuration: hubConfiguration, logger: logger)
        var recorderConfiguration = RecorderConfiguration(outputDirectory: outputDirectory)
        recorderConfiguration.participantWaitTimeout = configuration.participantWaitTimeout
        recorderConfiguration.uploadPartSize = Int64(configuration.uploadPartSizeMiB) << 20
        let limit = { (duration: Duration) in duration > .zero ? duration : nil }
        recorderConfiguration.limits.fileOutputMaxDuration = limit(configuration.fileOutputMaxDuration)
        recorderConfiguration.limits.streamOutputMaxDuration = limit(configuration.streamOutputMaxDuration)
        recorderConfiguration.limits.segmentOutputMaxDuration = limit(configuration.segmentOutputMaxDuration)
        recorderConfiguration.limits.imageOutputMaxDuration = limit(configuration.imageOutputMaxDuration)
        recorderConfiguration.limits.fileOutputMaxSize = configuration.fileOutputMaxSize > 0 ? configuration.fileOutputMaxSize : nil
        let records = try recordStore(outputDirectory: outputDirectory)
        // In a cluster, each call is answered where its room or egress is (see ClusterRouter),
        // and an egress may follow a room on another node.
        let cluster = try clusterRouting(records: records, group: group)
        let source: any MediaSource = cluster.map {
            ClusterMediaSource(hub: hub, router: $0.router, logger: logger, limits: RelayMessages.Limits(hubConfiguration))
        } ?? hub
        let backend = RecordingBackend(source: source, configuration: recorderConfiguration, logger: logger)
        let webhooks: WebhookNotifier
        do {
            webhooks = try WebhookNotifier(configuration: configuration.webhooks, keys: keys, client: try HTTPClient(group: group),
                                           logger: logger)
        } catch {
            throw ServerError("\(error)")
        }
        var sessionsConfiguration = configuration.sessions
        sessionsConfiguration.retention = .seconds(Int64(configuration.recordRetentionDays) * 86_400)
        let cpu = MachineCPU()
        if configuration.maxCPUUtilization > 0 {
            sessionsConfiguration.cpuCosts = configuration.cpuCosts
            sessionsConfiguration.cpuCosts?.maxCPUUtilization = configuration.maxCPUUtilization
        }
        let sessions = EgressStore(backend: backend, configuration: sessionsConfiguration, logger: logger, observer: webhooks,
                                   recordStore: records, cpuMeter: cpu)
        let access = AccessControl(keys: keys)
        var egressConfiguration = EgressAPIConfiguration(outputDirectory: outputDirectory, capabilities: capabilities, apiKeys: Set(keys.keys))
        egressConfiguration.defaultUpload = configuration.defaultStorage
        let egress = EgressService(sessions: sessions, configuration: egressConfiguration)
        let autoEgress = AutoEgress(hub: hub, egress: egress, logger: logger)
        let rooms = RoomService(hub: hub, roomsRecording: { sessions.roomsRecording() }, autoEgress: autoEgress)
        let ingestService = RoomIngestService(hub: hub)
        let api = cluster.map { cluster in
            [ClusterEgressService(local: egress, router: cluster.router, pageSize: sessionsConfiguration.pageSize,
                                 costs: configuration.cpuCosts).limitedService,
             ClusterRoomService(local: rooms, router: cluster.router).rpcService,
             ClusterRoomIngestService(local: ingestService, router: cluster.router).rpcService]
        } ?? [egress.limitedService, rooms.rpcService, ingestService.rpcService]
        var services = [
            access.protect(api[0], AccessControl.egress, before: AccessControl.egress),
            access.protect(api[1], AccessControl.roomService, before: AccessControl.roomService),
            access.protect(api[2], AccessControl.ingest, before: AccessControl.ingest),
            // Open to load balancers without a token: its requests are a service name.
            HealthService(health).rpcService.limitingRequests(to: 4096),
        ]
        let reflectionNames = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]
        services += ReflectionService.make(listing: services.map(\.descriptor.fullName) + reflectionNames)
            .map { access.requireToken($0.limitingRequests(to: 4096)) }
        // The nodes' own service: behind the cluster secret, not listed by reflection.
        if let cluster { services += nodeServices(cluster, local: [egress.limitedService, rooms.rpcService, ingestService.rpcService], hub: hub) }
        let router = RPCRouter(services: services)
        let grpc = GRPCServer(router: router, configuration: configuration.rpc, logger: logger)
        let twirp = TwirpServer(router: router, configuration: configuration.rpc, logger: logger)
        let minting = configuration.pageMintsTokens ? keys.keys.first.flatMap { key in keys.secret(for: key).map { (key, $0) } } : nil
        let scheme = configuration.tls == nil ? "http" : "https"
        let whip = WHIPEndpoint(hub: hub, verifier: access.verifier, cluster: cluster.map { ($0.router, scheme) })
        let routes = HTTPRoutes(twirp: twirp, whip: whip, page: PageEndpoint(minting: minting),
                                files: RecordingFiles(sessions: sessions, outputDirectory: outputDirectory, verifier: access.verifier))
        let http = try HTTPServer(
            configuration: configuration.http2, http1: configuration.http1, tls: configuration.tls, group: group, logger: logger,
            application: routes.application(streams: grpc.streamHandlerFactory))
        var operations: [(Int, HTTPServer)] = []
        let health = configuration.healthPort > 0 ? HealthEndpoint(sessions: sessions, cpu: cpu) : nil
        let metrics = configuration.metricsRegistry.flatMap { registry in
            configuration.prometheusPort > 0 ? MetricsEndpoint(registry: registry, sessions: sessions, hub: hub, cpu: cpu) : nil
        }
        for port in Set([configuration.healthPort, configuration.prometheusPort].filter { $0 > 0 }).sorted() {
            let health = port == configuration.healthPort ? health : nil
            let metrics = port == configuration.prometheusPort ? metrics : nil
            let responder: HTTPResponder = { request in
                if let metrics, health == nil || request.path.prefix(while: { $0 != "?" }) == "/metrics" { return await metrics.respond(request) }
                return health?.respond(request) ?? HTTPResponse(status: 404)
            }
            let admit: HTTPAdmitter = { method, path, headers in
                (health?.admit(method: method, path: path, headers: headers)) ?? metrics?.admit(method: method, path: path, headers: headers) ?? .admitted
            }
            operations.append((port, try HTTPServer(
                configuration: HTTP2Configuration(), http1: HTTP1Configuration(), tls: nil, group: group, logger: logger,
                application: HTTPApplication(streams: grpc.streamHandlerFactory, responder: responder, bufferedPathPrefix: "/", admit: admit))))
        }
        return Parts(hub: hub, sessions: sessions, http: http, webhooks: webhooks, operations: operations, cpu: cpu,
                     clusterRecords: records as? RedisRecordStore, router: cluster?.router)
    }

    /// What the operations port `port` answers, for the log.
    private static func operationsServed(on port: Int, _ configuration: ServerConfiguration) -> String {
        [port == configuration.healthPort ? "health at /" : nil, port == configuration.prometheusPort ? "metrics at /metrics" : nil]
            .compactMap { $0 }.joined(separator: ", ")
    }

    /// The records' store: the cluster's Redis, SQLite in the state directory, or none ("none":
    /// memory only).
    private func recordStore(outputDirectory: String) throws -> (any EgressRecordStore)? {
        if let redis = configuration.redis {
            do {
                let store = try RedisRecordStore(redis: RedisClient(endpoint: redis), node: nodeID)
                logger.info("egress records in Redis \(redis), node \(nodeID)")
                return store
            } catch {
                throw ServerError("\(error)")
            }
        }
        let directory = configuration.stateDirectory.isEmpty ? outputDirectory + "-state" : configuration.stateDirectory
        guard directory != "none" else { return nil }
        do {
            let store = try SQLiteRecordStore(directory: directory)
            logger.info("egress records in \(store.path)")
            return store
        } catch {
            throw ServerError("\(error)")
        }
    }

    /// Creates the output directory and returns its absolute path.
    static func prepareOutputDirectory(_ path: String) throws -> String {
        var absolute = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: 4096)
            guard getcwd(&buffer, buffer.count) != nil else { throw ServerError("cannot read the working directory") }
            absolute = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
        }
        try Directories.create(absolute)
        return "/" + absolute.split(separator: "/").joined(separator: "/")
    }

    private static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else { throw ServerError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        fputs(text, file)
    }
}

/// A start-up failure, with what went wrong.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

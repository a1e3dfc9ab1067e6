import ArgumentParser
import Auth
import CMalloc
import CoreMetrics
import Prometheus
import HTTP
import Logging
import Ingest
import RPC
import Server
import SessionManager
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `egress-server`: runs the server until SIGTERM or SIGINT. Every option also reads an
/// environment variable (shown in --help); a flag wins over the environment.
@main
struct EgressServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress-server",
        abstract: "Records room participants individually; serves LiveKit's livekit.Egress gRPC API.")

    @Option(help: "A YAML config file (LiveKit egress's key names where they apply; see egress.example.yaml); flags and environment variables win over it. [EGRESS_CONFIG_FILE, or the YAML itself in EGRESS_CONFIG_BODY]")
    var config: String?

    @Flag(help: "Read the flags, environment and config file, print the settings in effect as a config file, and exit (0 when they are valid).")
    var checkConfig = false

    @Option(help: ServerSettings.host.help)
    var host: String?

    @Option(help: ServerSettings.port.help)
    var port: Int?

    @Option(help: "Write the bound port to this file once listening. [EGRESS_PORT_FILE]")
    var portFile: String?

    @Option(help: ServerSettings.outputDir.help)
    var outputDir: String?

    @Option(help: ServerSettings.stateDir.help)
    var stateDir: String?

    @Option(help: ServerSettings.recordRetention.help)
    var recordRetentionDays: Int?

    @Option(help: "A cluster's Redis, redis://host[:port][/db] (its password from EGRESS_REDIS_PASSWORD or the config file's redis.password): records kept there, this server a node of the cluster [EGRESS_REDIS_URL, default none]")
    var redis: String?

    @Option(help: ServerSettings.nodeID.help)
    var nodeId: String?

    @Option(help: ServerSettings.nodeAddress.help)
    var nodeAddress: String?

    @Option(help: ServerSettings.nodeLostAfter.help)
    var nodeLostAfter: Double?

    @Option(help: ServerSettings.healthPort.help)
    var healthPort: Int?

    @Option(help: ServerSettings.prometheusPort.help)
    var prometheusPort: Int?

    @Option(help: ServerSettings.drainDelay.help)
    var drainDelay: Double?

    @Option(help: ServerSettings.maxCPUUtilization.help)
    var maxCpuUtilization: Double?

    @Option(help: ServerSettings.participantCPUCost.help)
    var participantCpuCost: Double?

    @Option(help: ServerSettings.trackCompositeCPUCost.help)
    var trackCompositeCpuCost: Double?

    @Option(help: ServerSettings.trackCPUCost.help)
    var trackCpuCost: Double?

    @Option(help: ServerSettings.maxConcurrentStreams.help)
    var maxConcurrentStreams: UInt32?

    @Option(help: ServerSettings.maxReceiveMessageSize.help)
    var maxReceiveMessageSize: Int?

    @Option(help: ServerSettings.maxHeaderListSize.help)
    var maxHeaderListSize: Int?

    @Option(help: ServerSettings.shutdownTimeout.help)
    var shutdownTimeout: Double?

    @Option(help: ServerSettings.maxLiveEgresses.help)
    var maxLiveEgresses: Int?

    @Option(help: ServerSettings.rtpPort.help)
    var rtpPort: Int?

    @Option(help: ServerSettings.rtpIngest.help)
    var rtpIngest: Switch?

    @Option(help: ServerSettings.webRTCHosts.help)
    var webrtcHost: String?

    @Option(help: ServerSettings.participantTimeout.help)
    var participantTimeout: Double?

    @Option(help: ServerSettings.participantWaitTimeout.help)
    var participantWaitTimeout: Double?

    @Option(help: ServerSettings.fileOutputMaxDuration.help)
    var fileOutputMaxDuration: Double?

    @Option(help: ServerSettings.streamOutputMaxDuration.help)
    var streamOutputMaxDuration: Double?

    @Option(help: ServerSettings.segmentOutputMaxDuration.help)
    var segmentOutputMaxDuration: Double?

    @Option(help: ServerSettings.imageOutputMaxDuration.help)
    var imageOutputMaxDuration: Double?

    @Option(help: ServerSettings.fileOutputMaxSize.help)
    var fileOutputMaxSize: Int64?

    @Option(help: ServerSettings.uploadPartSize.help)
    var uploadPartSize: Int?

    @Option(help: "Default storage: the S3 bucket outputs go to when a request names no storage. [EGRESS_S3_BUCKET]")
    var s3Bucket: String?

    @Option(help: "Its region. [EGRESS_S3_REGION, default us-east-1]")
    var s3Region: String?

    @Option(help: "S3-compatible storage's http(s)://host[:port]; without it, AWS. [EGRESS_S3_ENDPOINT]")
    var s3Endpoint: String?

    @Option(help: "Its access key. [EGRESS_S3_ACCESS_KEY, else AWS_ACCESS_KEY_ID]")
    var s3AccessKey: String?

    @Flag(help: "Address the bucket as endpoint/bucket rather than bucket.endpoint. [EGRESS_S3_FORCE_PATH_STYLE=true]")
    var s3ForcePathStyle = false

    @Option(help: "API keys and secrets, \"key1: secret1, key2: secret2\". [LIVEKIT_KEYS]")
    var keys: String?

    @Option(help: "A YAML file of \"key: secret\" lines; must not be readable by group or others. [LIVEKIT_KEY_FILE]")
    var keyFile: String?

    @Flag(help: "Development mode: accept tokens signed by API key devkey with secret \"secret\" when no keys are given.")
    var dev = false

    @Flag(help: "Echo the x-grpc-test-echo-* metadata that gRPC's interop test suites send (for those suites; off in production).")
    var grpcInteropEcho = false

    @Option(help: "An endpoint every egress event is POSTed to; repeatable. [EGRESS_WEBHOOK_URLS, comma-separated]")
    var webhookUrl: [String] = []

    @Option(help: "The API key whose secret signs webhooks. [EGRESS_WEBHOOK_KEY, default: the first key]")
    var webhookKey: String?

    @Option(help: "TLS certificate chain (PEM) for the API port; with --tls-key. [EGRESS_TLS_CERT]")
    var tlsCert: String?

    @Option(help: "TLS private key (PEM). [EGRESS_TLS_KEY]")
    var tlsKey: String?

    @Option(help: ServerSettings.requestReadTimeout.help)
    var requestReadTimeout: Double?

    @Option(help: ServerSettings.idleTimeout.help)
    var idleTimeout: Double?

    @Option(help: ServerSettings.sendTimeout.help)
    var sendTimeout: Double?

    @Option(help: ServerSettings.threads.help)
    var threads: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical. [EGRESS_LOG_LEVEL, default info]")
    var logLevel: Logger.Level?

    @Option(help: "text, or json: one JSON object per line for log shippers. [EGRESS_LOG_FORMAT, default text]")
    var logFormat: LogFormat?

    func run() async throws {
        // glibc gives each thread that allocates its own malloc arena (up to 8 per core), and the
        // encoders' threads come and go with egresses: each leaves an arena holding freed memory,
        // and the resident size creeps up (Scripts/soak: +170 MiB over 150 egresses; flat with two
        // arenas). MALLOC_ARENA_MAX, when set, is glibc's own and wins.
        if getenv("MALLOC_ARENA_MAX") == nil { _ = mallopt(M_ARENA_MAX, 2) }
        let config = try loadConfigFile()
        let level = try logLevel(config)
        switch try logFormat(config) {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        }
        var configuration = ServerConfiguration()
        for setting in ServerSettings.all {
            try setting.apply(config, to: &configuration)
        }
        for setting in ServerSettings.all {
            try setting.apply(self, to: &configuration)
        }
        configuration.portFile = try Environment.value(portFile, "EGRESS_PORT_FILE", flag: "--port-file")
        configuration.http1.maxBodySize = configuration.rpc.maxReceiveMessageSize
        configuration.rpc.echoesInteropMetadata = grpcInteropEcho
        // Room for a few of the largest requests at once on one connection.
        configuration.http2.connectionRequestBudget = max(configuration.http2.connectionRequestBudget,
                                                          2 * configuration.rpc.maxReceiveMessageSize + (1 << 20))
        configuration.keys = try loadKeys(config)
        configuration.pageMintsTokens = dev
        configuration.defaultStorage = try loadStorage(config)
        configuration.redis = try loadRedis(config)
        configuration.clusterSecret = try loadClusterSecret(config, redis: configuration.redis != nil)
        if configuration.redis != nil, configuration.nodeAddress.isEmpty, ServerConfiguration.isWildcard(configuration.host) {
            throw ValidationError("--host \(configuration.host) listens on every address: with --redis, say which one the other nodes reach this node at with --node-address (EGRESS_NODE_ADDRESS, node_address)")
        }
        configuration.webhooks = try loadWebhooks(config)
        configuration.tls = try loadTLS(config)
        if let unknown = config.unknownKeys() { throw ValidationError(unknown.description) }
        if checkConfig {
            guard configuration.keys != nil else {
                throw ValidationError("no API keys: set LIVEKIT_KEYS, --keys, --key-file or the config file's api_key and api_secret (or --dev)")
            }
            print(effectiveConfig(configuration, logLevel: level, logFormat: try logFormat(config)))
            return
        }
        if configuration.prometheusPort > 0 {
            // The process's one metrics backend: what swift-metrics records lands in this registry.
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
            ]
            MetricsSystem.bootstrap(factory)
            configuration.metricsRegistry = registry
        }

        let logger = Logger(label: "egress-server")
        let server = EgressServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LogFormat: String, ExpressibleByArgument, LosslessStringConvertible {
    case text, json

    init?(_ description: String) { self.init(rawValue: description) }
    var description: String { rawValue }
}

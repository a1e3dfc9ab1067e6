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
        let level = try Environment.value(logLevel, "EGRESS_LOG_LEVEL", as: Logger.Level.self, flag: "--log-level") ?? .info
        switch try Environment.value(logFormat, "EGRESS_LOG_FORMAT", flag: "--log-format") ?? .text {
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
            try setting.apply(self, to: &configuration)
        }
        configuration.portFile = try Environment.value(portFile, "EGRESS_PORT_FILE", flag: "--port-file")
        guard (1024...(1 << 30)).contains(configuration.rpc.maxReceiveMessageSize) else {
            throw ValidationError("--max-receive-message-size \(configuration.rpc.maxReceiveMessageSize) is not from 1024 to 1073741824 bytes")
        }
        guard configuration.maxCPUUtilization.isFinite, (0...1).contains(configuration.maxCPUUtilization) else {
            throw ValidationError("--max-cpu-utilization \(configuration.maxCPUUtilization) is not from 0 to 1")
        }
        for (flag, cost) in [("--participant-cpu-cost", configuration.cpuCosts.participant),
                             ("--track-composite-cpu-cost", configuration.cpuCosts.trackComposite), ("--track-cpu-cost", configuration.cpuCosts.track)]
        where !(cost.isFinite && (0...1024).contains(cost)) {
            throw ValidationError("\(flag) \(cost) is not a number of cores from 0 to 1024")
        }
        for (flag, port) in [("--health-port", configuration.healthPort), ("--prometheus-port", configuration.prometheusPort)]
        where !(0...65535).contains(port) {
            throw ValidationError("\(flag) \(port) is not a port number")
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
        guard (1...3650).contains(configuration.recordRetentionDays) else {
            throw ValidationError("--record-retention-days \(configuration.recordRetentionDays) is not from 1 to 3650")
        }
        guard configuration.fileOutputMaxSize >= 0 else {
            throw ValidationError("--file-output-max-size \(configuration.fileOutputMaxSize) is negative")
        }
        guard (5...1024).contains(configuration.uploadPartSizeMiB) else {
            throw ValidationError("--upload-part-size \(configuration.uploadPartSizeMiB) is not from 5 to 1024 MiB (S3's parts are at least 5 MiB)")
        }
        configuration.http1.maxBodySize = configuration.rpc.maxReceiveMessageSize
        configuration.rpc.echoesInteropMetadata = grpcInteropEcho
        // Room for a few of the largest requests at once on one connection.
        configuration.http2.connectionRequestBudget = max(configuration.http2.connectionRequestBudget,
                                                          2 * configuration.rpc.maxReceiveMessageSize + (1 << 20))
        configuration.keys = try loadKeys()
        configuration.pageMintsTokens = dev
        configuration.defaultStorage = try loadStorage()
        configuration.webhooks.urls = webhookUrl.isEmpty
            ? (try Environment.value(nil as String?, "EGRESS_WEBHOOK_URLS", flag: "--webhook-url") ?? "").split(separator: ",").map(String.init)
            : webhookUrl
        configuration.webhooks.apiKey = try Environment.value(webhookKey, "EGRESS_WEBHOOK_KEY", flag: "--webhook-key")
        let cert = try Environment.value(tlsCert, "EGRESS_TLS_CERT", flag: "--tls-cert")
        let key = try Environment.value(tlsKey, "EGRESS_TLS_KEY", flag: "--tls-key")
        switch (cert, key) {
        case let (cert?, key?): configuration.tls = TLSSettings(certificatePath: cert, privateKeyPath: key)
        case (nil, nil): break
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }

        let logger = Logger(label: "egress-server")
        let server = EgressServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension EgressServerCommand {
    /// The API keys: --key-file, else --keys, else LIVEKIT_KEYS, else devkey with --dev.
    func loadKeys() throws -> APIKeys? {
        do {
            if let path = try Environment.value(keyFile, "LIVEKIT_KEY_FILE", flag: "--key-file") {
                var info = stat()
                guard stat(path, &info) == 0 else {
                    throw ValidationError("cannot read the key file \(path): \(String(cString: strerror(errno)))")
                }
                guard info.st_mode & 0o077 == 0 else {
                    throw ValidationError("the key file \(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
                }
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ValidationError("cannot read the key file \(path)")
                }
                return try APIKeys.parse(text)
            }
            if let text = try Environment.value(keys, "LIVEKIT_KEYS", flag: "--keys") {
                return try APIKeys.parse(text)
            }
        } catch let error as AuthError {
            throw ValidationError("API keys: \(error)")
        }
        return dev ? .development : nil
    }
}

extension EgressServerCommand {
    /// The default storage: --s3-bucket (or EGRESS_S3_BUCKET) and its credentials. The secret
    /// is read from the environment only (EGRESS_S3_SECRET, else AWS_SECRET_ACCESS_KEY), never
    /// from a flag other users could see in the process list.
    func loadStorage() throws -> S3Upload? {
        let bucket = try Environment.value(s3Bucket, "EGRESS_S3_BUCKET", flag: "--s3-bucket")
        let accessKeyGiven = try Environment.value(s3AccessKey, "EGRESS_S3_ACCESS_KEY", flag: "--s3-access-key")
        guard let bucket else {
            for (flag, given) in [("--s3-access-key", accessKeyGiven), ("--s3-region", s3Region), ("--s3-endpoint", s3Endpoint)] where given != nil {
                throw ValidationError("\(flag) without --s3-bucket: there is no default storage to use it for")
            }
            return nil
        }
        let accessKey = try accessKeyGiven ?? Environment.value(nil as String?, "AWS_ACCESS_KEY_ID", flag: "--s3-access-key") ?? ""
        let secret = try Environment.value(nil as String?, "EGRESS_S3_SECRET", flag: "EGRESS_S3_SECRET")
            ?? Environment.value(nil as String?, "AWS_SECRET_ACCESS_KEY", flag: "EGRESS_S3_SECRET") ?? ""
        let region = try Environment.value(s3Region, "EGRESS_S3_REGION", flag: "--s3-region") ?? ""
        let endpoint = try Environment.value(s3Endpoint, "EGRESS_S3_ENDPOINT", flag: "--s3-endpoint") ?? ""
        let pathStyle = try s3ForcePathStyle || (Environment.value(nil as Bool?, "EGRESS_S3_FORCE_PATH_STYLE", flag: "--s3-force-path-style") ?? false)
        guard !accessKey.isEmpty, !secret.isEmpty else {
            throw ValidationError("--s3-bucket needs an access key (--s3-access-key, EGRESS_S3_ACCESS_KEY) and a secret (EGRESS_S3_SECRET)")
        }
        // Letters, digits, "-", "_" and ".": it becomes part of a host name or a path.
        let bucketBytes = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)
        guard !bucket.isEmpty, bucket.utf8.count <= S3Upload.maxBucketLength, bucket.utf8.allSatisfy(bucketBytes.contains) else {
            throw ValidationError("--s3-bucket \(bucket.debugDescription) is not a bucket name (letters, digits, -_. and at most \(S3Upload.maxBucketLength) of them)")
        }
        for (flag, value) in [("--s3-access-key", accessKey), ("EGRESS_S3_SECRET", secret), ("--s3-region", region), ("--s3-endpoint", endpoint)]
        where value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) || value.utf8.count > S3Upload.maxFieldLength {
            throw ValidationError("\(flag) has a control character or is over \(S3Upload.maxFieldLength) bytes")
        }
        if !endpoint.isEmpty, HTTPURL(endpoint) == nil || !(endpoint.lowercased().hasPrefix("http://") || endpoint.lowercased().hasPrefix("https://")) {
            // Not repeated: it may hold a password.
            throw ValidationError("--s3-endpoint is not an http:// or https:// URL with a host (and no user or password)")
        }
        if let problem = S3Upload.problem(accessKey: accessKey, region: region) { throw ValidationError(problem) }
        return S3Upload(accessKey: accessKey, secret: secret, region: region, endpoint: endpoint, bucket: bucket, forcePathStyle: pathStyle)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LogFormat: String, ExpressibleByArgument, LosslessStringConvertible {
    case text, json

    init?(_ description: String) { self.init(rawValue: description) }
    var description: String { rawValue }
}

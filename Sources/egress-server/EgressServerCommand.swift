import ArgumentParser
import Auth
import HTTP
import Logging
import RoomHub
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

    @Option(help: "Address to listen on. [EGRESS_HOST, default 127.0.0.1]")
    var host: String?

    @Option(help: "API port (gRPC and Twirp, HTTP/2 and HTTP/1.1); 0 picks a free one. [EGRESS_PORT, default 7880]")
    var port: Int?

    @Option(help: "Write the bound port to this file once listening. [EGRESS_PORT_FILE]")
    var portFile: String?

    @Option(help: "Directory recordings are written under. [EGRESS_OUTPUT_DIR, default ./recordings]")
    var outputDir: String?

    @Option(help: "SETTINGS_MAX_CONCURRENT_STREAMS per connection. [EGRESS_MAX_CONCURRENT_STREAMS, default 100]")
    var maxConcurrentStreams: UInt32?

    @Option(help: "Largest request message in bytes. [EGRESS_MAX_RECEIVE_MESSAGE_SIZE, default 4194304]")
    var maxReceiveMessageSize: Int?

    @Option(help: "SETTINGS_MAX_HEADER_LIST_SIZE in bytes. [EGRESS_MAX_HEADER_LIST_SIZE, default 16384]")
    var maxHeaderListSize: Int?

    @Option(help: "Seconds in-flight calls get after SIGTERM. [EGRESS_SHUTDOWN_TIMEOUT, default 10]")
    var shutdownTimeout: Double?

    @Option(help: "Live egresses at once. [EGRESS_MAX_LIVE_EGRESSES, default 64]")
    var maxLiveEgresses: Int?

    @Option(help: "UDP port RTP and RTCP are received on; 0 picks a free one. [EGRESS_RTP_PORT, default 7882]")
    var rtpPort: Int?

    @Option(help: "Seconds without RTP or calls after which a participant has left. [EGRESS_PARTICIPANT_TIMEOUT, default 20]")
    var participantTimeout: Double?

    @Option(help: "Seconds a participant egress waits for its participant to join. [EGRESS_PARTICIPANT_WAIT_TIMEOUT, default 30]")
    var participantWaitTimeout: Double?

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

    @Option(help: "Seconds an HTTP/1.1 request may take to arrive whole. [EGRESS_REQUEST_READ_TIMEOUT, default 10]")
    var requestReadTimeout: Double?

    @Option(help: "Seconds an idle HTTP/1.1 keep-alive connection stays open. [EGRESS_IDLE_TIMEOUT, default 60]")
    var idleTimeout: Double?

    @Option(help: "Seconds a connection may take none of the bytes waiting for it before it is closed. [EGRESS_SEND_TIMEOUT, default 30]")
    var sendTimeout: Double?

    @Option(help: "Event loop threads. [EGRESS_THREADS, default: one per core]")
    var threads: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical. [EGRESS_LOG_LEVEL, default info]")
    var logLevel: Logger.Level?

    func run() async throws {
        let env = Environment()
        let level = try env.value(logLevel, "EGRESS_LOG_LEVEL", as: Logger.Level.self, flag: "--log-level") ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = ServerConfiguration()
        configuration.host = try env.value(host, "EGRESS_HOST", flag: "--host") ?? configuration.host
        configuration.port = try env.value(port, "EGRESS_PORT", flag: "--port") ?? configuration.port
        configuration.portFile = try env.value(portFile, "EGRESS_PORT_FILE", flag: "--port-file")
        configuration.outputDirectory = try env.value(outputDir, "EGRESS_OUTPUT_DIR", flag: "--output-dir") ?? configuration.outputDirectory
        configuration.http2.maxConcurrentStreams = try env.value(maxConcurrentStreams, "EGRESS_MAX_CONCURRENT_STREAMS", flag: "--max-concurrent-streams")
            ?? configuration.http2.maxConcurrentStreams
        configuration.rpc.maxReceiveMessageSize = try env.value(maxReceiveMessageSize, "EGRESS_MAX_RECEIVE_MESSAGE_SIZE", flag: "--max-receive-message-size")
            ?? configuration.rpc.maxReceiveMessageSize
        configuration.http2.maxHeaderListSize = try env.value(maxHeaderListSize, "EGRESS_MAX_HEADER_LIST_SIZE", flag: "--max-header-list-size")
            ?? configuration.http2.maxHeaderListSize
        configuration.http2.shutdownTimeout = try env.duration(shutdownTimeout, "EGRESS_SHUTDOWN_TIMEOUT", flag: "--shutdown-timeout") ?? configuration.http2.shutdownTimeout
        configuration.sessions.maxLiveEgresses = try env.value(maxLiveEgresses, "EGRESS_MAX_LIVE_EGRESSES", flag: "--max-live-egresses")
            ?? configuration.sessions.maxLiveEgresses
        configuration.hub.rtpPort = try env.value(rtpPort, "EGRESS_RTP_PORT", flag: "--rtp-port") ?? configuration.hub.rtpPort
        configuration.hub.participantTimeout = try env.duration(participantTimeout, "EGRESS_PARTICIPANT_TIMEOUT", flag: "--participant-timeout") ?? configuration.hub.participantTimeout
        configuration.participantWaitTimeout = try env.duration(participantWaitTimeout, "EGRESS_PARTICIPANT_WAIT_TIMEOUT", flag: "--participant-wait-timeout") ?? configuration.participantWaitTimeout
        configuration.eventLoopThreads = try env.value(threads, "EGRESS_THREADS", flag: "--threads") ?? configuration.eventLoopThreads
        configuration.http1.requestReadTimeout = try env.duration(requestReadTimeout, "EGRESS_REQUEST_READ_TIMEOUT", flag: "--request-read-timeout") ?? configuration.http1.requestReadTimeout
        configuration.http1.idleTimeout = try env.duration(idleTimeout, "EGRESS_IDLE_TIMEOUT", flag: "--idle-timeout") ?? configuration.http1.idleTimeout
        configuration.http2.sendTimeout = try env.duration(sendTimeout, "EGRESS_SEND_TIMEOUT", flag: "--send-timeout") ?? configuration.http2.sendTimeout
        guard (1024...(1 << 30)).contains(configuration.rpc.maxReceiveMessageSize) else {
            throw ValidationError("--max-receive-message-size \(configuration.rpc.maxReceiveMessageSize) is not from 1024 to 1073741824 bytes")
        }
        configuration.http1.maxBodySize = configuration.rpc.maxReceiveMessageSize
        configuration.rpc.echoesInteropMetadata = grpcInteropEcho
        // Room for a few of the largest requests at once on one connection.
        configuration.http2.connectionRequestBudget = max(configuration.http2.connectionRequestBudget,
                                                          2 * configuration.rpc.maxReceiveMessageSize + (1 << 20))
        configuration.keys = try loadKeys(env)
        configuration.webhooks.urls = webhookUrl.isEmpty
            ? (try env.value(nil as String?, "EGRESS_WEBHOOK_URLS", flag: "--webhook-url") ?? "").split(separator: ",").map(String.init)
            : webhookUrl
        configuration.webhooks.apiKey = try env.value(webhookKey, "EGRESS_WEBHOOK_KEY", flag: "--webhook-key")
        let cert = try env.value(tlsCert, "EGRESS_TLS_CERT", flag: "--tls-cert")
        let key = try env.value(tlsKey, "EGRESS_TLS_KEY", flag: "--tls-key")
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
    func loadKeys(_ env: Environment) throws -> APIKeys? {
        do {
            if let path = try env.value(keyFile, "LIVEKIT_KEY_FILE", flag: "--key-file") {
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
            if let text = try env.value(keys, "LIVEKIT_KEYS", flag: "--keys") {
                return try APIKeys.parse(text)
            }
        } catch let error as AuthError {
            throw ValidationError("API keys: \(error)")
        }
        return dev ? .development : nil
    }
}

/// Reads options from the environment when no flag gives them.
struct Environment {
    func value<T: LosslessStringConvertible>(_ flag: T?, _ name: String, as: T.Type = T.self, flag flagName: String) throws -> T? {
        if let flag { return flag }
        guard let raw = getenv(name).map({ String(cString: $0) }), !raw.isEmpty else { return nil }
        guard let value = T(raw) else {
            throw ValidationError("\(name)=\(raw) is not a valid value for \(flagName)")
        }
        return value
    }
}

extension Environment {
    /// A number of seconds (a fraction allowed) as a Duration; refused unless it is between 0
    /// and a year, so that no value can trap on the way.
    func duration(_ flag: Double?, _ name: String, flag flagName: String) throws -> Duration? {
        guard let seconds = try value(flag, name, flag: flagName) else { return nil }
        guard seconds.isFinite, seconds >= 0, seconds <= 365 * 86_400 else {
            throw ValidationError("\(flagName) \(seconds) is not a number of seconds between 0 and a year")
        }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

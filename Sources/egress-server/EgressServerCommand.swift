import ArgumentParser
import HTTP2
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

    @Option(help: "gRPC port; 0 picks a free one. [EGRESS_PORT, default 7880]")
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
        if let seconds = try env.value(shutdownTimeout, "EGRESS_SHUTDOWN_TIMEOUT", flag: "--shutdown-timeout") {
            configuration.http2.shutdownTimeout = .milliseconds(Int64(seconds * 1000))
        }
        configuration.sessions.maxLiveEgresses = try env.value(maxLiveEgresses, "EGRESS_MAX_LIVE_EGRESSES", flag: "--max-live-egresses")
            ?? configuration.sessions.maxLiveEgresses
        configuration.hub.rtpPort = try env.value(rtpPort, "EGRESS_RTP_PORT", flag: "--rtp-port") ?? configuration.hub.rtpPort
        if let seconds = try env.value(participantTimeout, "EGRESS_PARTICIPANT_TIMEOUT", flag: "--participant-timeout") {
            configuration.hub.participantTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let seconds = try env.value(participantWaitTimeout, "EGRESS_PARTICIPANT_WAIT_TIMEOUT", flag: "--participant-wait-timeout") {
            configuration.participantWaitTimeout = .milliseconds(Int64(seconds * 1000))
        }
        configuration.eventLoopThreads = try env.value(threads, "EGRESS_THREADS", flag: "--threads") ?? configuration.eventLoopThreads

        let logger = Logger(label: "egress-server")
        let server = EgressServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
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

extension Logger.Level: @retroactive ExpressibleByArgument {}

import APIClients
import APIMessages
import NIOCore
import NIOPosix
import RPCClient
import Synchronization
import Testing

/// The client against servers that misbehave: each call ends with a clear status, soon, and the
/// client goes on working (no crash, no call left hanging).
@Suite(.serialized, .timeLimit(.minutes(1))) struct HostileServerTests {
    enum Behaviour: Sendable {
        /// Reads everything, answers nothing (not even its SETTINGS).
        case silent
        /// Answers with bytes that are not HTTP/2.
        case garbage
        /// Closes the connection on the first bytes.
        case hangUp
        /// Answers its SETTINGS and a GOAWAY that takes no stream, and keeps the socket open.
        case goAway
    }

    /// Whether the client closed a connection to the misbehaving server.
    static let clientClosed = Mutex(false)

    final class Misbehaving: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let behaviour: Behaviour

        init(_ behaviour: Behaviour) {
            self.behaviour = behaviour
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch behaviour {
            case .silent:
                break
            case .garbage:
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: Array("HTTP/1.1 400 Bad Request\r\n\r\nnot http/2 at all".utf8))), promise: nil)
            case .hangUp:
                context.close(promise: nil)
            case .goAway:
                let settings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
                let goAway: [UInt8] = [0, 0, 8, 7, 0, 0, 0, 0, 0] + [0, 0, 0, 0] + [0, 0, 0, 0]
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: settings + goAway)), promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            HostileServerTests.clientClosed.withLock { $0 = true }
        }
    }

    func withServer(_ behaviour: Behaviour, _ body: (Int) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Misbehaving(behaviour)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        try await body(channel.localAddress!.port!)
        try await channel.close()
        try await group.shutdownGracefully()
    }

    func outcome(port: Int, timeout: Duration?) async throws -> (RPCError?, Duration) {
        let client = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: port))
        let started = ContinuousClock.now
        var failure: RPCError?
        do {
            _ = try await Grpc_Health_V1_HealthClient(client).check(Grpc_Health_V1_HealthCheckRequest(), options: CallOptions(timeout: timeout))
        } catch let error as RPCError {
            failure = error
        }
        await client.close()
        return (failure, ContinuousClock.now - started)
    }

    /// Only the client's own deadline can end this call: the server never sees its grpc-timeout.
    @Test func aServerThatNeverAnswersIsCutOffAtTheDeadline() async throws {
        try await withServer(.silent) { port in
            let (error, took) = try await outcome(port: port, timeout: .milliseconds(300))
            #expect(error?.code == .deadlineExceeded)
            #expect(took >= .milliseconds(300) && took < .seconds(3))
        }
    }

    @Test func bytesThatAreNotHTTP2EndTheCallUnavailable() async throws {
        try await withServer(.garbage) { port in
            let (error, took) = try await outcome(port: port, timeout: .seconds(10))
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            #expect(took < .seconds(3))
        }
    }

    @Test func aServerThatHangsUpEndsTheCallUnavailable() async throws {
        try await withServer(.hangUp) { port in
            let (error, took) = try await outcome(port: port, timeout: .seconds(10))
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            #expect(took < .seconds(3))
        }
    }

    /// A GOAWAY that takes no stream: the call is refused (UNAVAILABLE), and the client closes
    /// the connection that can carry no more calls instead of keeping its socket.
    @Test func aGoAwayRefusesTheCallAndTheDeadConnectionIsClosed() async throws {
        Self.clientClosed.withLock { $0 = false }
        try await withServer(.goAway) { port in
            let client = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: port))
            await #expect(throws: RPCError.self) {
                _ = try await Grpc_Health_V1_HealthClient(client).check(Grpc_Health_V1_HealthCheckRequest(), options: CallOptions(timeout: .seconds(10)))
            }
            for _ in 0..<200 where !Self.clientClosed.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(Self.clientClosed.withLock { $0 }, "the client closed the connection")
            await client.close()
        }
    }

    @Test func nobodyListeningIsUnavailableAndTheNextAttemptWaitsOutTheBackoff() async throws {
        // A port that was just free.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        try await group.shutdownGracefully()
        let client = try GRPCClient(configuration: GRPCClientConfiguration(host: "127.0.0.1", port: port))
        let health = Grpc_Health_V1_HealthClient(client)
        for _ in 0..<3 {
            await #expect(throws: RPCError.self) { _ = try await health.check(Grpc_Health_V1_HealthCheckRequest()) }
        }
        #expect(client.statistics.connectionsFailed == 1, "calls during the back-off do not try again")
        await client.close()
    }
}

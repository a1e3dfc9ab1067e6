import Foundation
import APIClients
import APIMessages
import HTTP
import Logging
import NIOPosix
import RPC
import RPCClient
import Synchronization
import Testing

/// The gRPC client's transport against handlers of the test's own (a Health service whose
/// methods do what each test needs), served in process over real sockets.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ClientTransportTests {
    typealias Request = Grpc_Health_V1_HealthCheckRequest
    typealias Response = Grpc_Health_V1_HealthCheckResponse

    final class Served: Sendable {
        let port: Int
        let stop: @Sendable () async -> Void

        init(port: Int, stop: @escaping @Sendable () async -> Void) {
            self.port = port
            self.stop = stop
        }
    }

    /// Serves the handlers on `port` (0: any).
    static func serve(_ handlers: [String: RPCHandler], port: Int = 0) async throws -> Served {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = Logger(label: "test")
        let grpc = GRPCServer(router: RPCRouter(services: [RPCService("grpc.health.v1.Health", handlers: handlers)]),
                              configuration: RPCConfiguration(), logger: logger)
        var configuration = HTTP2Configuration()
        configuration.shutdownTimeout = .seconds(1)
        let server = HTTPServer(configuration: configuration, group: group, logger: logger, makeHandler: grpc.streamHandlerFactory)
        let address = try await server.bind(host: "127.0.0.1", port: port)
        return Served(port: address.port!) {
            await server.shutdownGracefully()
            try? await group.shutdownGracefully()
        }
    }

    static let check = MethodTarget(service: "grpc.health.v1.Health", method: "Check")

    func client(_ port: Int, _ edit: (inout GRPCClientConfiguration) -> Void = { _ in }) throws -> GRPCClient {
        var configuration = GRPCClientConfiguration(host: "127.0.0.1", port: port)
        edit(&configuration)
        return try GRPCClient(configuration: configuration)
    }

    @Test func metadataGoesOutAndHeadersAndTrailersComeBack() async throws {
        let served = try await Self.serve(["Check": .unary { (request: Request, context: ServerContext) in
            var headers = Metadata()
            headers.add("x-seen", context.metadata["x-user"] ?? "none")
            var trailers = Metadata()
            trailers.add("x-trace-bin", binary: context.metadata.binary("x-trace-bin") ?? [])
            var response = Response()
            response.status = request.service == "ping" ? .serving : .notServing
            return ServerResponse(response, metadata: headers, trailers: trailers)
        }])
        let client = try client(served.port)
        var metadata = Metadata()
        metadata.add("x-user", "alice")
        metadata.add("x-trace-bin", binary: [0, 1, 255])
        var request = Request()
        request.service = "ping"
        let response = try await client.unary(Self.check, request: request.wireBytes(), options: CallOptions(metadata: metadata))
        #expect(try Response(wireBytes: response.message).status == .serving)
        #expect(response.metadata["x-seen"] == "alice")
        #expect(response.trailers.binary("x-trace-bin") == [0, 1, 255])
        await client.close()
        await served.stop()
    }

    /// A task cancelled mid-call: the caller gets CANCELLED at once, and the server's handler is
    /// cancelled too (the stream was reset), long before its 10 s.
    @Test func cancellingTheTaskCancelsTheCallOnBothSides() async throws {
        let handlerCancelled = Mutex(false)
        let served = try await Self.serve(["Check": .unary { (_: Request, _: ServerContext) -> Response in
            do {
                try await Task.sleep(for: .seconds(10))
            } catch {
                handlerCancelled.withLock { $0 = true }
                throw error
            }
            return Response()
        }])
        let client = try client(served.port)
        let started = ContinuousClock.now
        let call = Task { try await Grpc_Health_V1_HealthClient(client).check(Request()) }
        try await Task.sleep(for: .milliseconds(200))
        call.cancel()
        await #expect(throws: RPCError(.cancelled, "the call was cancelled")) { _ = try await call.value }
        #expect(ContinuousClock.now - started < .seconds(3))
        for _ in 0..<300 where !handlerCancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(handlerCancelled.withLock { $0 }, "the server's handler was cancelled")
        await client.close()
        await served.stop()
    }

    /// Many calls at once share one connection (one HTTP/2 stream each).
    @Test func sixtyFourConcurrentCallsShareOneConnection() async throws {
        let inFlight = Mutex((now: 0, most: 0))
        let served = try await Self.serve(["Check": .unary { (request: Request, _: ServerContext) -> Response in
            inFlight.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            try await Task.sleep(for: .milliseconds(100))
            inFlight.withLock { $0.now -= 1 }
            var response = Response()
            response.status = request.service.hasSuffix("0") ? .serving : .notServing
            return response
        }])
        let client = try client(served.port)
        let health = Grpc_Health_V1_HealthClient(client)
        _ = try await health.check(Request())  // connected; the calls below reuse the connection
        let statuses = try await withThrowingTaskGroup(of: (Int, Grpc_Health_V1_HealthCheckResponse.ServingStatus).self) { group in
            for i in 0..<64 {
                group.addTask {
                    var request = Request()
                    request.service = "s\(i)"
                    return (i, try await health.check(request).status)
                }
            }
            return try await group.reduce(into: [Int: Grpc_Health_V1_HealthCheckResponse.ServingStatus]()) { $0[$1.0] = $1.1 }
        }
        #expect(statuses.count == 64)
        #expect(statuses.allSatisfy { ($0.key % 10 == 0) == ($0.value == .serving) }, "each call got its own answer")
        #expect(inFlight.withLock { $0.most } > 32, "the calls ran concurrently")
        for _ in 0..<5 { _ = try await health.check(Request()) }
        #expect(client.statistics.connectionsOpened == 1)
        await client.close()
        await served.stop()
    }

    /// A response over the client's limit ends the call with RESOURCE_EXHAUSTED; the connection
    /// stays usable.
    @Test func aResponseOverTheLimitIsResourceExhausted() async throws {
        let served = try await Self.serve(["List": .unary { (_: Grpc_Health_V1_HealthListRequest, _: ServerContext) in
            var list = Grpc_Health_V1_HealthListResponse()
            for i in 0..<2000 { list.statuses["service-\(i)"] = Response() }
            return list
        }, "Check": .unary { (_: Request, _: ServerContext) in Response() }])
        let client = try client(served.port) { $0.maxResponseMessageSize = 1024 }
        let health = Grpc_Health_V1_HealthClient(client)
        await #expect(throws: RPCError(.resourceExhausted, "received message larger than max (34890 vs. 1024)")) {
            _ = try await health.list(Grpc_Health_V1_HealthListRequest())
        }
        _ = try await health.check(Request())
        #expect(client.statistics.connectionsOpened == 1)
        await client.close()
        await served.stop()
    }

    /// With gzip the request goes compressed and the server reads it whole.
    @Test func gzipRequestsAreReadByTheServer() async throws {
        let served = try await Self.serve(["Check": .unary { (request: Request, context: ServerContext) in
            var response = Response()
            response.status = request.service == String(repeating: "a", count: 10_000) ? .serving : .notServing
            return ServerResponse(response, trailers: Metadata([("x-request-size", String(context.requestSize))]))
        }])
        let client = try client(served.port) { $0.compression = .gzip }
        var request = Request()
        request.service = String(repeating: "a", count: 10_000)
        let response = try await client.unary(Self.check, request: request.wireBytes(), options: CallOptions())
        #expect(try Response(wireBytes: response.message).status == .serving)
        #expect(response.trailers["x-request-size"] == "10003")
        await client.close()
        await served.stop()
    }

    /// The server goes away: calls fail UNAVAILABLE (after back-off, without a new attempt each
    /// time), and once it is back the client connects again by itself.
    @Test func theClientReconnectsAfterTheServerReturns() async throws {
        let handlers: [String: RPCHandler] = ["Check": .unary { (_: Request, _: ServerContext) in Response() }]
        let first = try await Self.serve(handlers)
        let port = first.port
        let client = try client(port) { $0.backoff.initial = .milliseconds(200); $0.backoff.jitter = 0 }
        let health = Grpc_Health_V1_HealthClient(client)
        _ = try await health.check(Request())
        await first.stop()
        var codes: [StatusCode] = []
        for _ in 0..<3 {
            do { _ = try await health.check(Request()) } catch let error as RPCError { codes.append(error.code) }
        }
        #expect(codes == [.unavailable, .unavailable, .unavailable])
        let second = try await Self.serve(handlers, port: port)
        try await Task.sleep(for: .milliseconds(400))
        _ = try await health.check(Request())
        #expect(client.statistics.connectionsOpened == 2)
        await client.close()
        await second.stop()
    }

    /// A proxy in front of `port` whose first connection reads the client's request HEADERS and
    /// answers a GOAWAY that takes no stream (as a server shutting down does); the connections
    /// after it are passed through. Stops when its stdin closes.
    static let refusingProxy = #"""
import asyncio, sys
target, first = int(sys.argv[1]), [True]

async def refuse(reader, writer):
    data = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        data += chunk
        at = 24  # the client preface, then frames: length(3) type(1) flags(1) stream(4)
        seen = False
        while at + 9 <= len(data):
            length = int.from_bytes(data[at:at + 3], "big")
            seen = seen or data[at + 3] == 1  # HEADERS
            at += 9 + length
        if seen:
            break
    writer.write(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) + bytes([0, 0, 8, 7, 0, 0, 0, 0, 0]) + bytes(8))
    await writer.drain()
    await reader.read()

async def handle(reader, writer):
    if first[0]:
        first[0] = False
        await refuse(reader, writer)
        writer.close()
        return
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target)
    async def pipe(source, sink):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
        sink.close()
    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""#

    /// A call whose stream the server refuses unprocessed (a GOAWAY below it) is sent again, on a
    /// new connection, and succeeds; the caller sees nothing of it.
    @Test func aStreamRefusedUnprocessedIsSentAgainOnANewConnection() async throws {
        let served = try await Self.serve(["Check": .unary { (_: Request, _: ServerContext) in
            var response = Response()
            response.status = .serving
            return response
        }])
        try await PythonServer.run(Self.refusingProxy, arguments: [String(served.port)]) { port in
            let client = try client(port)
            let response = try await Grpc_Health_V1_HealthClient(client).check(Request(), options: CallOptions(timeout: .seconds(10)))
            #expect(response.status == .serving)
            #expect(client.statistics.transparentRetries == 1)
            #expect(client.statistics.connectionsOpened == 2)
            await client.close()
        }
        await served.stop()
    }

    /// A server that refuses every stream (RST_STREAM REFUSED_STREAM to each HEADERS), keeping
    /// its connection open. Stops when its stdin closes.
    static let refusingServer = #"""
import asyncio, sys

async def handle(reader, writer):
    writer.write(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))  # SETTINGS
    data = b""
    while chunk := await reader.read(65536):
        data += chunk
        at = 24 if data.startswith(b"PRI") else 0
        while at + 9 <= len(data) and at + 9 + int.from_bytes(data[at:at + 3], "big") <= len(data):
            length, kind, flags = int.from_bytes(data[at:at + 3], "big"), data[at + 3], data[at + 4]
            stream = data[at + 5:at + 9]
            if kind == 4 and not flags & 1:
                writer.write(bytes([0, 0, 0, 4, 1, 0, 0, 0, 0]))  # SETTINGS ACK
            if kind == 1:
                writer.write(bytes([0, 0, 4, 3, 0]) + stream + (7).to_bytes(4, "big"))  # RST_STREAM REFUSED_STREAM
            at += 9 + length
        data = data[at:] if at > 24 or not data.startswith(b"PRI") else data
        await writer.drain()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""#

    /// A server that refuses every stream gets the call three times in all, on the one connection
    /// (it is still usable): then UNAVAILABLE, with no connection opened per attempt.
    @Test func aServerThatRefusesEveryStreamGetsThreeAttemptsOnOneConnection() async throws {
        try await PythonServer.run(Self.refusingServer) { port in
            let client = try client(port)
            await #expect(throws: RPCError(.unavailable, "the server refused the stream before processing it")) {
                _ = try await Grpc_Health_V1_HealthClient(client).check(Request(), options: CallOptions(timeout: .seconds(10)))
            }
            #expect(client.statistics.transparentRetries == 2)
            #expect(client.statistics.connectionsOpened == 1)
            await client.close()
        }
    }
}

import APIMessages
import Foundation
import HTTP
import Logging
import NIOCore
import NIOPosix
import Protobuf
import Synchronization
import Testing
@testable import RPC

/// Handlers of this test's own, served over real sockets and called by grpcio (Python): what
/// a handler sees of the call and what it can say back.
@Suite(.serialized) struct InProcessServerTests {
    /// Runs `body` against a server whose Health service has the given handlers.
    func withServer(_ handlers: [String: RPCHandler], _ body: (Int) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = Logger(label: "test")
        let grpc = GRPCServer(router: RPCRouter(services: [RPCService("grpc.health.v1.Health", handlers: handlers)]),
                              configuration: RPCConfiguration(), logger: logger)
        var http2Configuration = HTTP2Configuration()
        http2Configuration.shutdownTimeout = .seconds(2)
        let server = HTTPServer(configuration: http2Configuration, group: group, logger: logger, makeHandler: grpc.streamHandlerFactory)
        let address = try await server.bind(host: "127.0.0.1", port: 0)
        defer { Task { await server.shutdownGracefully(); try? await group.shutdownGracefully() } }
        try await body(address.port!)
    }

    /// Calls /grpc.health.v1.Health/<method> with grpcio; prints code, details and metadata as JSON.
    func grpcio(port: Int, method: String, metadata: String, timeout: Double = 10) async throws -> [String: Any] {
        let script = """
        import grpc, json, sys
        channel = grpc.insecure_channel("127.0.0.1:\(port)")
        call = channel.unary_unary("/grpc.health.v1.Health/\(method)")
        out = {}
        try:
            response, state = call.with_call(b"", metadata=\(metadata), timeout=\(timeout))
            out["code"] = "OK"
            out["initial"] = [[k, v if isinstance(v, str) else v.hex()] for k, v in state.initial_metadata()]
            out["trailing"] = [[k, v if isinstance(v, str) else v.hex()] for k, v in state.trailing_metadata()]
        except grpc.RpcError as e:
            out["code"] = e.code().name
            out["details"] = e.details()
        print(json.dumps(out))
        """
        return try await runPythonClient(script)
    }

    @Test func handlersSeeMetadataAndSetHeadersAndTrailers() async throws {
        let check = RPCHandler.unary { (_: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) in
            var headers = Metadata()
            headers.add("x-seen-user", context.metadata["x-user"] ?? "none")
            var trailers = Metadata()
            trailers.add("x-seen-trace-bin", binary: context.metadata.binary("x-trace-bin") ?? [])
            trailers.add("x-method", context.method.name)
            return ServerResponse(Grpc_Health_V1_HealthCheckResponse(), metadata: headers, trailers: trailers)
        }
        try await withServer(["Check": check]) { port in
            let out = try await grpcio(port: port, method: "Check", metadata: #"[("x-user", "alice"), ("x-trace-bin", b"\x00\x01\xff")]"#)
            #expect(out["code"] as? String == "OK")
            let initial = out["initial"] as? [[String]] ?? []
            let trailing = out["trailing"] as? [[String]] ?? []
            #expect(initial.contains(["x-seen-user", "alice"]))
            #expect(trailing.contains(["x-seen-trace-bin", "0001ff"]))
            #expect(trailing.contains(["x-method", "Check"]))
        }
    }

    /// Calls /grpc.health.v1.Health/<method> over raw HTTP/2 (the `h2` library) with the given
    /// extra headers and no timer of the client's own (a socket timeout of 20 s only): prints the
    /// trailers' grpc-status and grpc-message, and the seconds until the stream ended, as JSON.
    func rawCall(port: Int, method: String, headers: String) async throws -> [String: Any] {
        let script = """
        import h2.config, h2.connection, h2.events, json, socket, time
        sock = socket.create_connection(("127.0.0.1", \(port)), timeout=20)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        started = time.monotonic()
        conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/\(method)"),
                              (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")] + \(headers))
        conn.send_data(1, b"\\x00\\x00\\x00\\x00\\x00", end_stream=True)
        sock.sendall(conn.data_to_send())
        out = {}
        while "seconds" not in out:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    for name, value in event.headers:
                        if name in ("grpc-status", "grpc-message"):
                            out[name] = value
                if isinstance(event, h2.events.StreamEnded):
                    out["seconds"] = time.monotonic() - started
            sock.sendall(conn.data_to_send())
        print(json.dumps(out))
        """
        return try await runPythonClient(script)
    }

    /// The server's own deadline ends the call: the client sends `grpc-timeout` and keeps no timer
    /// of its own, so without the server's deadline code the call would run its 10 s and answer OK.
    @Test func aHandlerPastItsDeadlineIsCancelledAndTheCallerGetsDeadlineExceeded() async throws {
        let sawDeadline = Mutex(false)
        let sawCancellation = Mutex(false)
        let slow = RPCHandler.unary { (_: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) in
            sawDeadline.withLock { $0 = context.deadline != nil }
            do {
                try await Task.sleep(for: .seconds(10))
            } catch {
                sawCancellation.withLock { $0 = true }
                throw error
            }
            return Grpc_Health_V1_HealthCheckResponse()
        }
        try await withServer(["Check": slow]) { port in
            let out = try await rawCall(port: port, method: "Check", headers: #"[("grpc-timeout", "300m")]"#)
            #expect(out["grpc-status"] as? String == "4", "DEADLINE_EXCEEDED: \(out)")
            #expect(out["grpc-message"] as? String == "deadline exceeded")
            let seconds = out["seconds"] as? Double ?? -1
            #expect(seconds >= 0.25 && seconds < 3, "ended after \(seconds) s")
        }
        for _ in 0..<200 where !sawCancellation.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(sawDeadline.withLock { $0 }, "the handler saw the call's deadline")
        #expect(sawCancellation.withLock { $0 }, "the handler's task was cancelled")
    }

    @Test func anErrorThatIsNotAnRPCErrorIsInternalWithoutLeakingDetails() async throws {
        struct Secret: Error {}
        let failing = RPCHandler.unary { (_: Grpc_Health_V1_HealthCheckRequest, _: ServerContext) -> Grpc_Health_V1_HealthCheckResponse in
            throw Secret()
        }
        try await withServer(["Check": failing]) { port in
            let out = try await grpcio(port: port, method: "Check", metadata: "[]")
            #expect(out["code"] as? String == "INTERNAL")
            #expect(out["details"] as? String == "internal error")
        }
    }
}

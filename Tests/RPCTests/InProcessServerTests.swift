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
    func withServer(_ handlers: [String: RPCHandler], _ body: (Int) throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = Logger(label: "test")
        let grpc = GRPCServer(router: RPCRouter(services: [RPCService("grpc.health.v1.Health", handlers: handlers)]),
                              configuration: RPCConfiguration(), logger: logger)
        var http2Configuration = HTTP2Configuration()
        http2Configuration.shutdownTimeout = .seconds(2)
        let server = HTTPServer(configuration: http2Configuration, group: group, logger: logger, makeHandler: grpc.streamHandlerFactory)
        let address = try await server.bind(host: "127.0.0.1", port: 0)
        defer { Task { await server.shutdownGracefully(); try? await group.shutdownGracefully() } }
        try body(address.port!)
    }

    /// Calls /grpc.health.v1.Health/<method> with grpcio; prints code, details and metadata as JSON.
    func grpcio(port: Int, method: String, metadata: String, timeout: Double = 10) throws -> [String: Any] {
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    @Test func handlersSeeMetadataAndSetHeadersAndTrailers() async throws {
        let check = RPCHandler.unary { request in
            var headers = Metadata()
            headers.add("x-seen-user", request.metadata["x-user"] ?? "none")
            var trailers = Metadata()
            trailers.add("x-seen-trace-bin", binary: request.metadata.binary("x-trace-bin") ?? [])
            trailers.add("x-method", request.context.method.name)
            return ServerResponse(ProtoMessage("grpc.health.v1.HealthCheckResponse"), metadata: headers, trailers: trailers)
        }
        try await withServer(["Check": check]) { port in
            let out = try grpcio(port: port, method: "Check", metadata: #"[("x-user", "alice"), ("x-trace-bin", b"\x00\x01\xff")]"#)
            #expect(out["code"] as? String == "OK")
            let initial = out["initial"] as? [[String]] ?? []
            let trailing = out["trailing"] as? [[String]] ?? []
            #expect(initial.contains(["x-seen-user", "alice"]))
            #expect(trailing.contains(["x-seen-trace-bin", "0001ff"]))
            #expect(trailing.contains(["x-method", "Check"]))
        }
    }

    @Test func aHandlerPastItsDeadlineIsCancelledAndTheCallerGetsDeadlineExceeded() async throws {
        let sawCancellation = Mutex(false)
        let slow = RPCHandler.unary { request in
            #expect(request.context.deadline != nil)
            do {
                try await Task.sleep(for: .seconds(10))
            } catch {
                sawCancellation.withLock { $0 = true }
                throw error
            }
            return ServerResponse(ProtoMessage("grpc.health.v1.HealthCheckResponse"))
        }
        try await withServer(["Check": slow]) { port in
            let started = ContinuousClock.now
            let out = try grpcio(port: port, method: "Check", metadata: "[]", timeout: 0.3)
            #expect(out["code"] as? String == "DEADLINE_EXCEEDED")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
        for _ in 0..<100 where !sawCancellation.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(sawCancellation.withLock { $0 })
    }

    @Test func anErrorThatIsNotAnRPCErrorIsInternalWithoutLeakingDetails() async throws {
        struct Secret: Error {}
        try await withServer(["Check": .unary { _ in throw Secret() }]) { port in
            let out = try grpcio(port: port, method: "Check", metadata: "[]")
            #expect(out["code"] as? String == "INTERNAL")
            #expect(out["details"] as? String == "internal error")
        }
    }
}
